//! Cluster-mode metrics, appended to `/metrics` by the admin endpoint.
//!
//! - `coredns_kubernetes_dns_programming_duration_seconds{service_kind}`: same name,
//!   labels and buckets as CoreDNS (2 ms … 524 s, exponential ×2 from 1 ms): on each
//!   EndpointSlice change delivered by the watch (not relists), now minus the slice's
//!   `endpoints.kubernetes.io/last-change-trigger-time`, labelled `cluster_ip`,
//!   `headless_with_selector` or `headless_without_selector` by its Service.
//! - `ordinal_kube_watch_events_total{kind}`, `ordinal_kube_watch_errors_total{kind}`,
//!   `ordinal_kube_relists_total{kind}`: watch health per kind.
//! - `ordinal_kube_fast_path_overrides_total`, `ordinal_kube_provisional_endpoints_total`:
//!   how often the fast readiness path answered ahead of the EndpointSlice controller.
//!
//! Process-wide atomics (one source runs per process), rendered only once cluster
//! mode has started.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::cache::Kind;

const BUCKETS: usize = 20;
const KINDS: [&str; 3] = ["cluster_ip", "headless_with_selector", "headless_without_selector"];
const WATCH_KINDS: [(Kind, &str); 4] = [
    (Kind::Service, "service"),
    (Kind::EndpointSlice, "endpointslice"),
    (Kind::Pod, "pod"),
    (Kind::Namespace, "namespace"),
];

/// Which kind of Service a slice belongs to (CoreDNS's `service_kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKindLabel {
    /// A ClusterIP service.
    ClusterIp = 0,
    /// Headless with a selector.
    HeadlessWithSelector = 1,
    /// Headless without a selector.
    HeadlessWithoutSelector = 2,
}

struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    sum_us: AtomicU64,
}

/// All cluster-mode metrics.
pub struct KubeMetrics {
    enabled: AtomicBool,
    programming: [Histogram; 3],
    events: [AtomicU64; 4],
    errors: [AtomicU64; 4],
    relists: [AtomicU64; 4],
    /// Fast-path readiness overrides.
    pub overrides: AtomicU64,
    /// Provisional endpoints published.
    pub provisional: AtomicU64,
}

// Array/struct initialisers for the static below (each use is a fresh atomic).
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const HIST: Histogram = Histogram { buckets: [ZERO; BUCKETS], count: ZERO, sum_us: ZERO };

/// The process's cluster-mode metrics.
pub static METRICS: KubeMetrics = KubeMetrics {
    enabled: AtomicBool::new(false),
    programming: [HIST, HIST, HIST],
    events: [ZERO; 4],
    errors: [ZERO; 4],
    relists: [ZERO; 4],
    overrides: ZERO,
    provisional: ZERO,
};

fn kind_index(kind: Kind) -> Option<usize> {
    WATCH_KINDS.iter().position(|(k, _)| *k == kind)
}

/// Upper bound of bucket `i` in seconds: 0.001 × 2^i (CoreDNS: `ExponentialBuckets(0.001, 2, 20)`).
fn bound(i: usize) -> f64 {
    0.001 * f64::from(1u32 << i)
}

impl KubeMetrics {
    /// Turns rendering on (cluster mode started).
    pub fn enable(&self) {
        self.enabled.store(true, Relaxed);
    }

    /// One watch event of `kind`.
    pub fn event(&self, kind: Kind) {
        if let Some(i) = kind_index(kind) {
            self.events[i].fetch_add(1, Relaxed);
        }
    }

    /// One watch error of `kind`.
    pub fn error(&self, kind: Kind) {
        if let Some(i) = kind_index(kind) {
            self.errors[i].fetch_add(1, Relaxed);
        }
    }

    /// One completed relist of `kind`.
    pub fn relist(&self, kind: Kind) {
        if let Some(i) = kind_index(kind) {
            self.relists[i].fetch_add(1, Relaxed);
        }
    }

    /// Observes one DNS programming latency.
    pub fn programming(&self, kind: ServiceKindLabel, secs: f64) {
        let h = &self.programming[kind as usize];
        let secs = secs.max(0.0);
        if let Some(i) = (0..BUCKETS).find(|&i| secs <= bound(i)) {
            h.buckets[i].fetch_add(1, Relaxed);
        }
        h.count.fetch_add(1, Relaxed);
        h.sum_us.fetch_add((secs * 1e6) as u64, Relaxed);
    }

    /// Appends the Prometheus text format (nothing unless cluster mode started).
    pub fn render(&self, out: &mut String) {
        if !self.enabled.load(Relaxed) {
            return;
        }
        let name = "coredns_kubernetes_dns_programming_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Histogram of the time (in seconds) it took to program a dns instance.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (k, h) in KINDS.iter().zip(&self.programming) {
            let mut cum = 0;
            for i in 0..BUCKETS {
                cum += h.buckets[i].load(Relaxed);
                let _ = writeln!(out, "{name}_bucket{{service_kind=\"{k}\",le=\"{}\"}} {cum}", bound(i));
            }
            let count = h.count.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{service_kind=\"{k}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "{name}_sum{{service_kind=\"{k}\"}} {}", h.sum_us.load(Relaxed) as f64 / 1e6);
            let _ = writeln!(out, "{name}_count{{service_kind=\"{k}\"}} {count}");
        }
        for (metric, help, vals) in [
            ("ordinal_kube_watch_events_total", "Watch events received from the API server, by kind.", &self.events),
            ("ordinal_kube_watch_errors_total", "Failed lists/watches (retried with backoff), by kind.", &self.errors),
            ("ordinal_kube_relists_total", "Completed relists after the first list, by kind.", &self.relists),
        ] {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} counter");
            for ((_, k), v) in WATCH_KINDS.iter().zip(vals) {
                let _ = writeln!(out, "{metric}{{kind=\"{k}\"}} {}", v.load(Relaxed));
            }
        }
        let _ = writeln!(
            out,
            "# HELP ordinal_kube_fast_path_overrides_total Endpoints whose readiness came from their Pod ahead of the EndpointSlice.\n# TYPE ordinal_kube_fast_path_overrides_total counter\nordinal_kube_fast_path_overrides_total {}",
            self.overrides.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP ordinal_kube_provisional_endpoints_total Provisional endpoints published for ready pods not yet in an EndpointSlice.\n# TYPE ordinal_kube_provisional_endpoints_total counter\nordinal_kube_provisional_endpoints_total {}",
            self.provisional.load(Relaxed)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_renders_cumulative_buckets() {
        let m = KubeMetrics {
            enabled: AtomicBool::new(true),
            programming: [HIST, HIST, HIST],
            events: [ZERO; 4],
            errors: [ZERO; 4],
            relists: [ZERO; 4],
            overrides: ZERO,
            provisional: ZERO,
        };
        m.programming(ServiceKindLabel::HeadlessWithSelector, 0.003);
        m.programming(ServiceKindLabel::HeadlessWithSelector, 0.0005);
        let mut out = String::new();
        m.render(&mut out);
        let k = "coredns_kubernetes_dns_programming_duration_seconds";
        assert!(
            out.contains(&format!("{k}_bucket{{service_kind=\"headless_with_selector\",le=\"0.001\"}} 1")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{k}_bucket{{service_kind=\"headless_with_selector\",le=\"0.004\"}} 2")),
            "{out}"
        );
        assert!(out.contains(&format!("{k}_count{{service_kind=\"headless_with_selector\"}} 2")), "{out}");
        assert!(out.contains(&format!("{k}_count{{service_kind=\"cluster_ip\"}} 0")), "{out}");
    }
}
