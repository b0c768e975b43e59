//! The read side of the cache: what DNS workers look at.
//!
//! One writer (the cache, owned by the active source's task) publishes here; many
//! DNS workers read. Names live in a sharded map keyed by lowercased wire name, so a
//! write to one service never blocks lookups of another; the zone's SOA (whose
//! serial moves on every change) sits behind an `ArcSwap` so negative answers read
//! it wait-free. Nothing here is held across an `.await`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use dashmap::DashMap;

use super::entry::{EntryView, NameEntry, ZoneEntry};

/// How `<a-b-c-d>.<ns>.pod.<zone>` queries are answered (CoreDNS `pods`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PodsMode {
    /// No pod records: NXDOMAIN.
    Disabled,
    /// Any well-formed dashed IP answers, unchecked (kube-dns compatible; kubeadm's default).
    #[default]
    Insecure,
    /// Only if a pod with that IP exists in that namespace.
    Verified,
}

/// Settings that shape answers; fixed for the life of a zone.
#[derive(Debug, Clone)]
pub struct ZoneConfig {
    /// The cluster domain, e.g. `cluster.local` (no trailing dot).
    pub domain: String,
    /// TTL of every cluster record (CoreDNS default 5); also the SOA minimum.
    pub ttl: u32,
    /// Pod record mode.
    pub pods: PodsMode,
    /// CoreDNS `ignore empty_service`: ClusterIP services with no ready endpoints answer NXDOMAIN.
    pub ignore_empty_service: bool,
    /// The Service whose cluster IPs are `ns.dns.<zone>` (the NS glue), if it exists.
    pub dns_service: Option<crate::cluster::ObjectKey>,
    /// Addresses to publish for `ns.dns.<zone>` when the DNS service is unknown.
    pub local_ips: Vec<IpAddr>,
}

impl Default for ZoneConfig {
    fn default() -> Self {
        ZoneConfig {
            domain: "cluster.local".into(),
            ttl: 5,
            pods: PodsMode::Insecure,
            ignore_empty_service: false,
            dns_service: Some(crate::cluster::ObjectKey::new(Some("kube-system"), "kube-dns")),
            local_ips: vec![IpAddr::from([127, 0, 0, 1])],
        }
    }
}

/// A negative-answer authority record, pre-encoded (owner name uncompressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoaWire {
    /// The encoded SOA RR for the cluster zone.
    pub cluster: Box<[u8]>,
    /// The encoded SOA RR for `in-addr.arpa.`.
    pub in_addr: Box<[u8]>,
    /// The encoded SOA RR for `ip6.arpa.`.
    pub ip6: Box<[u8]>,
}

/// The shared, readable zone.
pub struct Zone {
    /// Answer-shaping settings.
    pub config: ZoneConfig,
    /// The zone apex in lowercased wire form.
    pub apex: Box<[u8]>,
    /// Every existing name and what it holds, one allocation each, looked up by the
    /// lowercased wire name (no `Arc` per name: readers read bytes under the shard's
    /// read lock).
    pub names: DashMap<ZoneEntry, ()>,
    /// Namespaces holding a live pod with each IP, for `pods verified`.
    pub pod_ips: DashMap<IpAddr, Vec<Box<str>>>,
    /// SOA records for negative answers; swapped when the serial moves.
    pub soa: ArcSwap<SoaWire>,
    /// Current SOA serial (unix seconds of the last change, CoreDNS style).
    pub serial: AtomicU32,
    /// True once the source delivered its first complete view (CoreDNS: before
    /// that, what would be NXDOMAIN is SERVFAIL).
    pub synced: AtomicBool,
    /// True while negative answers are served although the first complete view
    /// has not arrived (the source's startup timeout passed, CoreDNS style);
    /// `/ready` stays 503 meanwhile.
    pub serving_unsynced: AtomicBool,
    /// Object counts as of the last flush, for `/metrics`.
    pub stats: ZoneStats,
}

/// Object counts published by the writer at each flush.
#[derive(Debug, Default)]
pub struct ZoneStats {
    /// Services cached.
    pub services: AtomicU64,
    /// EndpointSlices and legacy Endpoints cached.
    pub endpoint_sets: AtomicU64,
    /// Pods cached.
    pub pods: AtomicU64,
    /// Namespaces known.
    pub namespaces: AtomicU64,
}

impl Zone {
    /// Whether the source has completed its first sync.
    #[inline]
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Whether the first complete view has really arrived (not just the startup
    /// timeout): what `/ready` reports.
    #[inline]
    pub fn is_ready(&self) -> bool {
        self.is_synced() && !self.serving_unsynced.load(Ordering::Acquire)
    }

    /// Looks a lowercased wire name up and copies its entry (slow paths and tests;
    /// the answer path uses [`Zone::with`] and [`Zone::contains`]).
    pub fn get(&self, name: &[u8]) -> Option<NameEntry> {
        self.names.get(name).map(|e| e.key().view().to_entry())
    }

    /// Whether a lowercased wire name exists.
    #[inline]
    pub fn contains(&self, name: &[u8]) -> bool {
        self.names.contains_key(name)
    }

    /// Runs `f` on the entry for `name` while holding only the shard's read lock,
    /// so the hot path copies nothing.
    #[inline]
    pub fn with<R>(&self, name: &[u8], f: impl FnOnce(Option<EntryView<'_>>) -> R) -> R {
        match self.names.get(name) {
            Some(e) => f(Some(e.key().view())),
            None => f(None),
        }
    }

    /// Whether a pod with `ip` exists in `namespace` (for `pods verified`).
    pub fn pod_exists(&self, namespace: &str, ip: IpAddr) -> bool {
        self.pod_ips.get(&ip).is_some_and(|nss| nss.iter().any(|ns| &**ns == namespace))
    }
}
