//! ordinal: Kubernetes cluster DNS and StatefulSet identity.
//!
//! One binary, three parts sharing one in-memory cache:
//!
//! ```text
//!   source ── objects ──▶ cache (single writer) ──▶ zone (many readers) ──▶ dns ──▶ client
//! ```
//!
//! - [`cluster`]: the slim object model (what DNS needs of Services, EndpointSlices,
//!   Pods) converted from k8s-openapi types, and the EndpointSlice controller's rules.
//! - [`manifest`]: Kubernetes manifests from files: located errors, validation, watching.
//! - [`source`]: what feeds the cache; exactly one source runs and owns the cache.
//! - [`embedded`]: the default source of `ordinal serve`: a persistent in-process cluster
//!   (object store under `--state-dir`, the [`statefulset`] controller, EndpointSlices, a
//!   simulated kubelet) whose single task owns the cache writer and feeds every change to DNS in
//!   the step that makes it; its control API (`docs/control-api.md`) is merged into [`admin`].
//! - [`statefulset`]: the pure StatefulSet planner the embedded cluster drives.
//! - [`cache`]: the single-writer watch cache; publishes prebuilt, wire-encoded answers
//!   keyed by lowercased name into the shared [`cache::Zone`].
//! - [`dns`]: the answer path (pure bytes → bytes), forwarding, UDP/TCP transports.
//! - [`admin`]: `/health`, `/ready`, `/metrics`; [`metrics`]: per-worker counters.
//! - [`config`] (flags), [`run`] (wiring and shutdown), [`export`] (zone files).
//! - [`ctl`]: `ordinal ctl`, the kubectl-like client of the embedded cluster's control API.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cache;
pub mod cluster;
pub mod config;
pub mod ctl;
pub mod dns;
pub mod duration;
pub mod embedded;
pub mod export;
pub mod kube;
pub mod manifest;
pub mod metrics;
pub mod run;
pub mod source;
pub mod statefulset;
pub mod synthetic;
