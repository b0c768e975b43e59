//! Query metrics, kept per worker so the hot path never shares a cache line.
//!
//! Each UDP worker (and the TCP path) owns one [`Shard`] of relaxed atomic
//! counters; `/metrics` sums the shards when scraped and renders the Prometheus
//! text format. Names follow CoreDNS's where the meaning is the same
//! (`coredns_dns_requests_total`, `coredns_dns_responses_total`,
//! `coredns_dns_request_duration_seconds`), so existing dashboards chart ordinal.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Query types broken out by name; everything else is `other`.
const QTYPES: [(u16, &str); 11] = [
    (1, "A"),
    (28, "AAAA"),
    (33, "SRV"),
    (12, "PTR"),
    (5, "CNAME"),
    (16, "TXT"),
    (6, "SOA"),
    (2, "NS"),
    (255, "ANY"),
    (252, "AXFR"),
    (0, "other"),
];
const RCODES: [&str; 16] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
    "NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
];
/// Histogram bucket upper bounds in seconds (CoreDNS uses 0.00025 … 8.192).
const BUCKETS: [f64; 12] =
    [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25];
const PROTOS: [&str; 2] = ["udp", "tcp"];

/// Which transport a query used.
#[derive(Debug, Clone, Copy)]
pub enum Proto {
    /// UDP.
    Udp = 0,
    /// TCP.
    Tcp = 1,
}

/// One worker's counters, padded to its own cache lines.
#[repr(align(128))]
#[derive(Default)]
pub struct Shard {
    /// Requests per (proto, qtype index).
    requests: [[AtomicU64; QTYPES.len()]; 2],
    /// Responses per rcode.
    responses: [AtomicU64; 16],
    /// Latency histogram counts (non-cumulative) plus the +Inf bucket.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of latencies in nanoseconds.
    latency_ns: AtomicU64,
    /// Queries dropped unanswered (malformed beyond reply, or response packets).
    dropped: AtomicU64,
}

impl Shard {
    /// Records one answered query.
    #[inline]
    pub fn record(&self, proto: Proto, qtype: u16, rcode: u8, elapsed: Duration) {
        let qi = QTYPES.iter().position(|(t, _)| *t == qtype).unwrap_or(QTYPES.len() - 1);
        self.requests[proto as usize][qi].fetch_add(1, Relaxed);
        self.responses[usize::from(rcode & 0x0F)].fetch_add(1, Relaxed);
        let secs = elapsed.as_secs_f64();
        let bi = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        self.buckets[bi].fetch_add(1, Relaxed);
        self.latency_ns.fetch_add(elapsed.as_nanos() as u64, Relaxed);
    }

    /// Records a dropped packet.
    #[inline]
    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Relaxed);
    }
}

/// All shards; one per UDP worker plus one for TCP and forwarding.
pub struct QueryMetrics {
    shards: Box<[Shard]>,
}

impl QueryMetrics {
    /// Metrics with `n` shards.
    pub fn new(n: usize) -> Self {
        QueryMetrics { shards: (0..n.max(1)).map(|_| Shard::default()).collect() }
    }

    /// Shard `i` (wrapping).
    pub fn shard(&self, i: usize) -> &Shard {
        &self.shards[i % self.shards.len()]
    }

    /// The shard for TCP and forwarded queries (the last one).
    pub fn tcp_shard(&self) -> &Shard {
        &self.shards[self.shards.len() - 1]
    }

    /// Total answered queries (all shards, all types).
    pub fn total_requests(&self) -> u64 {
        self.shards.iter().flat_map(|s| s.requests.iter().flatten()).map(|c| c.load(Relaxed)).sum()
    }

    /// Renders the Prometheus text exposition format.
    pub fn render(&self, out: &mut String) {
        let sum = |f: &dyn Fn(&Shard) -> &AtomicU64| self.shards.iter().map(|s| f(s).load(Relaxed)).sum::<u64>();
        out.push_str("# HELP coredns_dns_requests_total Counter of DNS requests made per protocol and type.\n");
        out.push_str("# TYPE coredns_dns_requests_total counter\n");
        for (p, proto) in PROTOS.iter().enumerate() {
            for (i, (_, name)) in QTYPES.iter().enumerate() {
                let v = sum(&|s| &s.requests[p][i]);
                let _ = writeln!(
                    out,
                    "coredns_dns_requests_total{{server=\"dns://\",zone=\".\",proto=\"{proto}\",type=\"{name}\"}} {v}"
                );
            }
        }
        out.push_str("# HELP coredns_dns_responses_total Counter of response status codes.\n");
        out.push_str("# TYPE coredns_dns_responses_total counter\n");
        for (i, name) in RCODES.iter().enumerate() {
            let v = sum(&|s| &s.responses[i]);
            if v > 0 || i <= 5 {
                let _ = writeln!(
                    out,
                    "coredns_dns_responses_total{{server=\"dns://\",zone=\".\",rcode=\"{name}\",plugin=\"ordinal\"}} {v}"
                );
            }
        }
        out.push_str(
            "# HELP coredns_dns_request_duration_seconds Histogram of the time (in seconds) each request took.\n",
        );
        out.push_str("# TYPE coredns_dns_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += sum(&|s| &s.buckets[i]);
            let _ = writeln!(
                out,
                "coredns_dns_request_duration_seconds_bucket{{server=\"dns://\",zone=\".\",le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += sum(&|s| &s.buckets[BUCKETS.len()]);
        let _ = writeln!(
            out,
            "coredns_dns_request_duration_seconds_bucket{{server=\"dns://\",zone=\".\",le=\"+Inf\"}} {cumulative}"
        );
        let total_ns = sum(&|s| &s.latency_ns);
        let _ = writeln!(
            out,
            "coredns_dns_request_duration_seconds_sum{{server=\"dns://\",zone=\".\"}} {}",
            total_ns as f64 / 1e9
        );
        let _ =
            writeln!(out, "coredns_dns_request_duration_seconds_count{{server=\"dns://\",zone=\".\"}} {cumulative}");
        out.push_str("# HELP ordinal_dns_dropped_total Packets dropped without an answer (too short, or responses).\n");
        out.push_str("# TYPE ordinal_dns_dropped_total counter\n");
        let _ = writeln!(out, "ordinal_dns_dropped_total {}", sum(&|s| &s.dropped));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sums_across_shards() {
        let m = QueryMetrics::new(2);
        m.shard(0).record(Proto::Udp, 1, 0, Duration::from_micros(20));
        m.shard(1).record(Proto::Udp, 1, 3, Duration::from_millis(2));
        m.shard(1).record(Proto::Tcp, 33, 0, Duration::from_secs(1));
        let mut s = String::new();
        m.render(&mut s);
        assert!(s.contains("proto=\"udp\",type=\"A\"} 2\n"), "{s}");
        assert!(s.contains("proto=\"tcp\",type=\"SRV\"} 1\n"));
        assert!(s.contains("rcode=\"NXDOMAIN\",plugin=\"ordinal\"} 1\n"));
        assert!(s.contains("le=\"0.000025\"} 1\n"));
        assert!(s.contains("le=\"+Inf\"} 3\n"));
        assert_eq!(m.total_requests(), 3);
    }
}
