//! ordinal: Kubernetes cluster DNS and StatefulSet identity.
#![forbid(unsafe_code)]

pub mod cache;
pub mod cluster;
pub mod dns;
pub mod manifest;
pub mod metrics;
