//! The DNS front: names, the answer path, forwarding, and the servers.
//!
//! - [`name`]: wire-form names and the cluster naming maths (dashed IPs, reverse names).
//! - [`answer`]: pure, allocation-free query bytes × zone → response bytes.
//! - [`forward`]: proxying names outside our zones to upstream resolvers.
//! - [`server`]: UDP workers and the TCP listener, started and stopped by the caller.
pub mod answer;
pub mod forward;
pub mod name;
pub mod server;
