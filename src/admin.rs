//! The admin HTTP endpoint: `/health`, `/ready`, `/metrics`.
//!
//! `/health` is 200 while the process serves. `/ready` is 200 only once the cache
//! holds its first complete view (as CoreDNS's `ready` plugin reports after its
//! informers sync), so a Deployment's readiness probe keeps traffic away until
//! answers are right. `/metrics` is the Prometheus text format.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::cache::Zone;
use crate::metrics::QueryMetrics;

/// What the admin endpoint reads.
#[derive(Clone)]
pub struct AdminState {
    /// The zone (sync state, name and object counts).
    pub zone: Arc<Zone>,
    /// DNS query metrics.
    pub metrics: Arc<QueryMetrics>,
}

/// The admin router; other parts (the embedded cluster's control API) merge theirs in.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn ready(State(s): State<AdminState>) -> impl IntoResponse {
    if s.zone.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "cache not synced yet\n")
    }
}

async fn metrics(State(s): State<AdminState>) -> impl IntoResponse {
    let mut out = String::with_capacity(8192);
    s.metrics.render(&mut out);
    let st = &s.zone.stats;
    out.push_str("# HELP ordinal_cache_objects Objects held by the watch cache, by kind.\n");
    out.push_str("# TYPE ordinal_cache_objects gauge\n");
    for (kind, v) in
        [("service", &st.services), ("endpoints", &st.endpoint_sets), ("pod", &st.pods), ("namespace", &st.namespaces)]
    {
        let _ = writeln!(out, "ordinal_cache_objects{{kind=\"{kind}\"}} {}", v.load(Relaxed));
    }
    out.push_str("# HELP ordinal_cache_names DNS names served from the cache.\n# TYPE ordinal_cache_names gauge\n");
    let _ = writeln!(out, "ordinal_cache_names {}", s.zone.names.len());
    out.push_str("# HELP ordinal_cache_synced Whether the cache holds its first complete view.\n# TYPE ordinal_cache_synced gauge\n");
    let _ = writeln!(out, "ordinal_cache_synced {}", u8::from(s.zone.is_synced()));
    out.push_str(
        "# HELP ordinal_zone_serial The SOA serial (unix time of the last change).\n# TYPE ordinal_zone_serial gauge\n",
    );
    let _ = writeln!(out, "ordinal_zone_serial {}", s.zone.serial.load(Relaxed));
    crate::kube::metrics::METRICS.render(&mut out);
    crate::kube::statefulsets::metrics::METRICS.render(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
}

/// Serves the admin router on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
