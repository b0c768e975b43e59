//! `--manage-statefulsets` metrics, appended to `/metrics` (only once the controller started):
//!
//! - `ordinal_statefulset_leader`: 1 while this replica holds the Lease and runs the
//!   controller, else 0 (exactly one replica should show 1);
//! - `ordinal_statefulset_syncs_total{result="success"|"error"}`: syncs, by whether every write
//!   succeeded (an error requeues the set with backoff);
//! - `ordinal_statefulset_writes_total`: API writes made by syncs (events included);
//! - `ordinal_statefulset_queue_depth`: sets waiting for or in a sync.
//!
//! Process-wide atomics: one controller runs per process.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// The controller's counters.
pub struct ControllerMetrics {
    /// Set when `--manage-statefulsets` starts: render nothing before.
    enabled: AtomicBool,
    /// Whether this replica leads.
    pub leader: AtomicBool,
    /// Syncs whose writes all succeeded.
    pub syncs_ok: AtomicU64,
    /// Syncs with a failed write or a planner error.
    pub syncs_err: AtomicU64,
    /// Writes attempted.
    pub writes: AtomicU64,
    /// Queue length after the last change.
    pub queue_depth: AtomicU64,
}

/// The process's controller metrics.
pub static METRICS: ControllerMetrics = ControllerMetrics {
    enabled: AtomicBool::new(false),
    leader: AtomicBool::new(false),
    syncs_ok: AtomicU64::new(0),
    syncs_err: AtomicU64::new(0),
    writes: AtomicU64::new(0),
    queue_depth: AtomicU64::new(0),
};

impl ControllerMetrics {
    /// Starts rendering.
    pub fn enable(&self) {
        self.enabled.store(true, Relaxed);
    }

    /// Appends the Prometheus text format (nothing unless the controller was started).
    pub fn render(&self, out: &mut String) {
        if !self.enabled.load(Relaxed) {
            return;
        }
        let gauge = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            out,
            "ordinal_statefulset_leader",
            "1 while this replica holds the Lease and runs the StatefulSet controller.",
            u64::from(self.leader.load(Relaxed)),
        );
        let name = "ordinal_statefulset_syncs_total";
        let _ = writeln!(out, "# HELP {name} StatefulSet syncs by outcome.\n# TYPE {name} counter");
        let _ = writeln!(out, "{name}{{result=\"success\"}} {}", self.syncs_ok.load(Relaxed));
        let _ = writeln!(out, "{name}{{result=\"error\"}} {}", self.syncs_err.load(Relaxed));
        let name = "ordinal_statefulset_writes_total";
        let _ = writeln!(out, "# HELP {name} API writes made by StatefulSet syncs.\n# TYPE {name} counter");
        let _ = writeln!(out, "{name} {}", self.writes.load(Relaxed));
        gauge(
            out,
            "ordinal_statefulset_queue_depth",
            "StatefulSets waiting for or in a sync.",
            self.queue_depth.load(Relaxed),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_only_once_enabled_and_in_prometheus_text_format() {
        let m = ControllerMetrics {
            enabled: AtomicBool::new(false),
            leader: AtomicBool::new(true),
            syncs_ok: AtomicU64::new(3),
            syncs_err: AtomicU64::new(1),
            writes: AtomicU64::new(7),
            queue_depth: AtomicU64::new(0),
        };
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.is_empty());
        m.enable();
        m.render(&mut out);
        for line in [
            "# TYPE ordinal_statefulset_leader gauge",
            "ordinal_statefulset_leader 1",
            "ordinal_statefulset_syncs_total{result=\"success\"} 3",
            "ordinal_statefulset_syncs_total{result=\"error\"} 1",
            "ordinal_statefulset_writes_total 7",
            "ordinal_statefulset_queue_depth 0",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} missing in\n{out}");
        }
    }
}
