//! Sources feed the cache. Exactly one runs, and it owns the cache (the single writer).
//!
//! - [`manifests`]: Kubernetes objects from files, watched and reloaded on change.
pub mod manifests;
