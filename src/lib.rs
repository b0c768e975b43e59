//! ordinal: Kubernetes cluster DNS and StatefulSet identity.
#![forbid(unsafe_code)]
pub mod statefulset;
