//! `ordinal export`: the served names as RFC 1035 master files.
//!
//! Every prebuilt RRset is decoded back into records and printed in presentation
//! form, grouped by zone (the cluster domain, `in-addr.arpa`, `ip6.arpa`), each
//! file opening with its SOA and NS so another authoritative server (the Knot
//! benchmark peer) can load it as is. Names sort canonically, so two exports diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hickory_proto::rr::{RData, Record};

use crate::cache::Zone;
use crate::cache::entry::Prebuilt;
use crate::cache::records::{fqdn, soa_rr};
use crate::cache::wire::{Rdata, Rr};
use crate::dns::name::{strip_zone, to_text};

/// One zone file: the zone's name and its text.
pub struct ZoneFile {
    /// Zone apex, e.g. `cluster.local.`.
    pub origin: String,
    /// Master-file text.
    pub text: String,
}

/// Renders every zone the cache serves.
pub fn zone_files(zone: &Zone) -> Vec<ZoneFile> {
    let origins: [String; 3] =
        [format!("{}.", zone.config.domain), "in-addr.arpa.".to_string(), "ip6.arpa.".to_string()];
    let mut per_zone: Vec<BTreeMap<String, Vec<Record>>> = vec![BTreeMap::new(); origins.len()];
    for item in zone.names.iter() {
        let (key, entry) = (item.key().name(), item.key().view());
        let Some(zi) = origins.iter().position(|o| fqdn(o).is_some_and(|f| strip_zone(key, &f).is_some())) else {
            continue;
        };
        for rrset in entry.rrsets() {
            let Ok(msg) = rrset.records(key) else { continue };
            let sort_key = canonical_key(key);
            per_zone[zi]
                .entry(sort_key)
                .or_default()
                .extend(msg.answers.into_iter().filter(|r| !matches!(r.data, RData::SOA(_) | RData::NS(_))));
        }
    }
    let serial = zone.serial.load(std::sync::atomic::Ordering::Relaxed);
    let ttl = zone.config.ttl;
    origins
        .iter()
        .zip(per_zone)
        .filter(|(i, names)| !names.is_empty() || *i == &origins[0])
        .map(|(origin, names)| {
            let apex = fqdn(origin).unwrap_or_else(|| Box::new([0]));
            let ns =
                Rr { owner: apex.clone(), ttl, data: Rdata::Ns(fqdn(&format!("ns.dns.{origin}")).unwrap_or_default()) };
            let head = Prebuilt::encode(&apex, 6, &[soa_rr(origin, serial, ttl), ns], &[]);
            let mut text = format!("; zone {origin} exported by ordinal (serial {serial})\n$ORIGIN {origin}\n");
            for rec in head.records(&apex).map(|m| m.answers).unwrap_or_default() {
                let _ = writeln!(text, "{rec}");
            }
            for rec in names.values().flatten() {
                let _ = writeln!(text, "{rec}");
            }
            ZoneFile { origin: origin.clone(), text }
        })
        .collect()
}

/// Sort key ordering names canonically (RFC 4034 §6.1): by labels from the right.
fn canonical_key(wire: &[u8]) -> String {
    let text = to_text(wire);
    let mut labels: Vec<&str> = text.trim_end_matches('.').split('.').collect();
    labels.reverse();
    labels.join("\u{1}")
}
