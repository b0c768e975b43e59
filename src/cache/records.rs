//! Record construction: slim objects → the DNS names and RRsets they produce.
//!
//! Pure functions from a Service and its endpoints to `(name, NameEntry)` pairs and
//! PTR contributions, following kubernetes/dns `docs/specification.md` (schema
//! 1.1.0) and CoreDNS's `kubernetes` plugin where the spec is silent. Section
//! numbers below refer to the specification. Names are lowercased wire form.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use smallvec::{SmallVec, smallvec};

use super::entry::{NameEntry, Prebuilt};
use super::wire::{Rdata, Rr, Writer};
use crate::cluster::{EndpointSet, ObjectKey, Port, Service, ServiceKind};
use crate::dns::name::{dashed_ip, to_wire};

/// TTL of `dns-version.<zone>` TXT (spec §2.2 example; CoreDNS hard-codes it).
pub const DNS_VERSION_TTL: u32 = 28800;
/// The schema version served at `dns-version.<zone>` (spec §2.2).
pub const SCHEMA_VERSION: &str = "1.1.0";

/// A name in lowercased wire form; `None` for names DNS cannot carry (a label over
/// 63 bytes): such objects get no records.
pub fn fqdn(text: &str) -> Option<Box<[u8]>> {
    to_wire(text).ok().map(Vec::into_boxed_slice)
}

/// One service's contribution to a reverse name (spec §2.3.3, §2.4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtrPart {
    /// The address is this service's cluster IP: PTR → the service name.
    ClusterIp(Box<[u8]>),
    /// The address is a ready endpoint of this service: PTR → the endpoint name(s)
    /// (nearly always one: inline, no allocation of its own).
    Endpoint(SmallVec<[Box<[u8]>; 1]>),
}

/// The services contributing to one reverse name, sorted by service key. Nearly
/// always exactly one, so a sorted list holding one part inline: a `BTreeMap`
/// allocated a ~1 KB node per reverse name (10 MB for a 10,000-pod cluster), and a
/// `Vec` a 4-slot, 320-byte buffer (3.5 MB for 11,000 reverse names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
/// The service key is shared with the cache's `published` index (one allocation per
/// service, not two strings per reverse name).
pub struct PtrParts(SmallVec<[(Arc<ObjectKey>, PtrPart); 1]>);

impl PtrParts {
    fn find(&self, key: &ObjectKey) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The part `key` contributes.
    pub fn get_mut(&mut self, key: &ObjectKey) -> Option<&mut PtrPart> {
        let i = self.find(key).ok()?;
        Some(&mut self.0[i].1)
    }

    /// Sets the part `key` contributes.
    pub fn insert(&mut self, key: Arc<ObjectKey>, part: PtrPart) {
        match self.find(&key) {
            Ok(i) => self.0[i].1 = part,
            Err(i) => self.0.insert(i, (key, part)),
        }
    }

    /// Drops the part of `key`.
    pub fn remove(&mut self, key: &ObjectKey) {
        if let Ok(i) = self.find(key) {
            self.0.remove(i);
        }
    }

    /// No service contributes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parts, in service-key order.
    pub fn values(&self) -> impl Iterator<Item = &PtrPart> {
        self.0.iter().map(|(_, p)| p)
    }
}

/// Everything one Service produces.
#[derive(Debug, Default)]
pub struct ServiceOutput {
    /// Forward names this service owns outright.
    pub names: Vec<(Box<[u8]>, NameEntry)>,
    /// Reverse names it contributes to (shared with other services).
    pub ptrs: Vec<(IpAddr, PtrPart)>,
}

/// Collects one name's RRsets, de-duplicated (RFC 2181 §5: no duplicate RRs).
pub struct EntryBuilder {
    owner: Box<[u8]>,
    /// Per type: answers, additionals, and what was already added.
    sets: BTreeMap<u16, (Vec<Rr>, Vec<Rr>, HashSet<Rr>)>,
    cname_target: Option<Box<[u8]>>,
}

impl EntryBuilder {
    /// Starts an entry for `owner`.
    pub fn new(owner: Box<[u8]>) -> Self {
        EntryBuilder { owner, sets: BTreeMap::new(), cname_target: None }
    }

    /// Adds an answer record owned by this name.
    pub fn answer(&mut self, ttl: u32, data: Rdata) -> &mut Self {
        let rr = Rr { owner: self.owner.clone(), ttl, data };
        let (answers, _, seen) = self.sets.entry(rr.data.rtype()).or_default();
        if seen.insert(rr.clone()) {
            answers.push(rr);
        }
        self
    }

    /// Adds an additional-section record to the RRset of `rtype`.
    pub fn additional(&mut self, rtype: u16, rr: Rr) -> &mut Self {
        let (_, additionals, seen) = self.sets.entry(rtype).or_default();
        if seen.insert(rr.clone()) {
            additionals.push(rr);
        }
        self
    }

    /// Makes this name an alias (ExternalName).
    pub fn cname(&mut self, target: Box<[u8]>, ttl: u32) -> &mut Self {
        self.cname_target = Some(target.clone());
        self.answer(ttl, Rdata::Cname(target))
    }

    /// Encodes every RRset.
    pub fn build(self) -> (Box<[u8]>, NameEntry) {
        let rrsets: Vec<Prebuilt> = self
            .sets
            .into_iter()
            .filter(|(_, (answers, _, _))| !answers.is_empty())
            .map(|(rtype, (answers, additionals, _))| Prebuilt::encode(&self.owner, rtype, &answers, &additionals))
            .collect();
        (self.owner, NameEntry::new(&rrsets, self.cname_target.as_deref()))
    }
}

fn addr(ip: IpAddr) -> Rdata {
    match ip {
        IpAddr::V4(v4) => Rdata::A(v4),
        IpAddr::V6(v6) => Rdata::Aaaa(v6),
    }
}

/// A named endpoint of a service: `<label>.<svc>.<ns>.svc.<zone>` and its addresses.
struct Target {
    name: Box<[u8]>,
    ips: Vec<IpAddr>,
}

/// Ready endpoints of a service, merged over all its slices and de-duplicated by
/// address (an endpoint can transiently sit in two slices), grouped by name:
/// the hostname if set, else the dashed IP (CoreDNS `endpointHostname`).
fn ready_targets(svc_text: &str, sets: &[&EndpointSet]) -> Vec<Target> {
    let mut seen = HashSet::new();
    let mut by_label: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for ep in sets.iter().flat_map(|s| s.endpoints.iter()).filter(|e| e.ready) {
        for &ip in &ep.addresses {
            if seen.insert(ip) {
                let label = ep.hostname.as_deref().map_or_else(|| dashed_ip(ip), str::to_string);
                by_label.entry(label).or_default().push(ip);
            }
        }
    }
    by_label
        .into_iter()
        .filter_map(|(label, ips)| Some(Target { name: fqdn(&format!("{label}.{svc_text}"))?, ips }))
        .collect()
}

/// Union of the ports of all slices (a headless service's SRV ports are the
/// slices' target ports, as CoreDNS serves them).
fn slice_ports(sets: &[&EndpointSet]) -> Vec<Port> {
    let mut ports: Vec<Port> = Vec::new();
    for p in sets.iter().flat_map(|s| s.ports.iter()) {
        if !ports.contains(p) {
            ports.push(p.clone());
        }
    }
    ports
}

/// SRV records for `ports` × every address of `targets`, weight as CoreDNS
/// computes it: `floor(100 / n)` over the n records it emits, one per address (so
/// a dual-stack target weighs 50); identical records then merge. Additional: the
/// targets' A/AAAA.
fn add_srv(b: &mut EntryBuilder, ttl: u32, ports: &[&Port], targets: &[(&[u8], &[IpAddr])]) {
    let n = ports.len() * targets.iter().map(|(_, ips)| ips.len()).sum::<usize>();
    let weight = (100 / n.max(1)) as u16;
    for port in ports {
        for (target, ips) in targets {
            for &ip in ips.iter() {
                b.answer(ttl, Rdata::Srv { priority: 0, weight, port: port.port, target: (*target).into() });
                b.additional(33, Rr { owner: (*target).into(), ttl, data: addr(ip) });
            }
        }
    }
}

/// The `_<port>._<proto>.<service>` name of a named port (spec §2.3.2).
fn port_name(port: &Port, svc_text: &str) -> Option<Box<[u8]>> {
    fqdn(&format!("_{}._{}.{svc_text}", port.name.as_deref()?, port.protocol))
}

/// All names and PTR contributions of one service.
pub fn service_output(
    svc: &Service,
    sets: &[&EndpointSet],
    domain: &str,
    ttl: u32,
    ignore_empty: bool,
) -> ServiceOutput {
    let mut out = ServiceOutput::default();
    let svc_text = format!("{}.{}.svc.{domain}", svc.key.name, svc.key.namespace);
    let Some(svc_name) = fqdn(&svc_text) else { return out };
    let targets = ready_targets(&svc_text, sets);
    match &svc.kind {
        ServiceKind::ExternalName(target) => {
            // CoreDNS only aliases hostnames; an IP-literal target gives NXDOMAIN.
            if let (Err(_), Some(t)) = (target.parse::<IpAddr>(), fqdn(target)) {
                let mut b = EntryBuilder::new(svc_name);
                b.cname(t, ttl);
                out.names.push(b.build());
            }
            return out; // no endpoint names or SRV under an ExternalName (checklist case 30)
        }
        ServiceKind::ClusterIp(ips) => {
            // CoreDNS `ignore empty_service`: NXDOMAIN so the search path continues.
            if !(ignore_empty && targets.is_empty()) {
                cluster_ip_names(&mut out, svc, &svc_name, &svc_text, ips, ttl);
            }
            for &ip in ips {
                out.ptrs.push((ip, PtrPart::ClusterIp(svc_name.clone())));
            }
        }
        ServiceKind::Headless => {
            if !targets.is_empty() {
                headless_names(&mut out, &svc_name, &svc_text, &targets, &slice_ports(sets), ttl);
            }
        }
    }
    // Endpoint names and PTRs: for headless services (spec §2.4) and, as CoreDNS
    // does, for ClusterIP services too (checklist case 45).
    for t in &targets {
        let mut b = EntryBuilder::new(t.name.clone());
        for &ip in &t.ips {
            b.answer(ttl, addr(ip));
            out.ptrs.push((ip, PtrPart::Endpoint(smallvec![t.name.clone()])));
        }
        out.names.push(b.build());
    }
    out
}

/// Spec §2.3: A/AAAA from the cluster IPs, SRV per named port pointing at the
/// service; the service-name SRV covers every port (CoreDNS extension).
fn cluster_ip_names(out: &mut ServiceOutput, svc: &Service, svc_name: &[u8], svc_text: &str, ips: &[IpAddr], ttl: u32) {
    let mut b = EntryBuilder::new(svc_name.into());
    for &ip in ips {
        b.answer(ttl, addr(ip));
    }
    let all: Vec<&Port> = svc.ports.iter().collect();
    add_srv(&mut b, ttl, &all, &[(svc_name, ips)]);
    out.names.push(b.build());
    for port in &svc.ports {
        let Some(name) = port_name(port, svc_text) else { continue };
        let mut b = EntryBuilder::new(name);
        add_srv(&mut b, ttl, &[port], &[(svc_name, ips)]);
        push_unique(out, b.build());
    }
}

/// Spec §2.4: A/AAAA of every ready endpoint; SRV per named port × endpoint.
fn headless_names(
    out: &mut ServiceOutput,
    svc_name: &[u8],
    svc_text: &str,
    targets: &[Target],
    ports: &[Port],
    ttl: u32,
) {
    let mut b = EntryBuilder::new(svc_name.into());
    for t in targets {
        for &ip in &t.ips {
            b.answer(ttl, addr(ip));
        }
    }
    let pairs: Vec<(&[u8], &[IpAddr])> = targets.iter().map(|t| (&*t.name, t.ips.as_slice())).collect();
    let all: Vec<&Port> = ports.iter().collect();
    add_srv(&mut b, ttl, &all, &pairs);
    out.names.push(b.build());
    for port in ports {
        let Some(name) = port_name(port, svc_text) else { continue };
        let mut b = EntryBuilder::new(name);
        add_srv(&mut b, ttl, &[port], &pairs);
        push_unique(out, b.build());
    }
}

/// Two ports may share a name and protocol across slices; keep the first.
fn push_unique(out: &mut ServiceOutput, (key, entry): (Box<[u8]>, NameEntry)) {
    if !out.names.iter().any(|(k, _)| *k == key) {
        out.names.push((key, entry));
    }
}

/// Builds the PTR entry of a reverse name from all services' contributions.
/// CoreDNS (reverse.go): a cluster IP wins and answers with its one service;
/// otherwise every ready endpoint with that address answers, one PTR per
/// selecting service (checklist case 26).
pub fn ptr_entry(owner: Box<[u8]>, parts: &PtrParts, ttl: u32) -> (Box<[u8]>, NameEntry) {
    let mut b = EntryBuilder::new(owner);
    let cluster = parts.values().find_map(|p| match p {
        PtrPart::ClusterIp(n) => Some(n),
        PtrPart::Endpoint(_) => None,
    });
    match cluster {
        Some(n) => {
            b.answer(ttl, Rdata::Ptr(n.clone()));
        }
        None => {
            for p in parts.values() {
                if let PtrPart::Endpoint(names) = p {
                    for n in names {
                        b.answer(ttl, Rdata::Ptr(n.clone()));
                    }
                }
            }
        }
    }
    b.build()
}

/// The SOA of a zone as CoreDNS writes it: `ns.dns.<zone>`, `hostmaster.<zone>`,
/// refresh 7200, retry 1800, expire 86400, minimum = TTL; RR TTL = min(TTL, 300).
pub fn soa_rr(zone: &str, serial: u32, ttl: u32) -> Rr {
    let z = zone.trim_end_matches('.');
    Rr {
        owner: fqdn(z).unwrap_or_else(|| Box::new([0])),
        ttl: ttl.min(300),
        data: Rdata::Soa {
            mname: fqdn(&format!("ns.dns.{z}")).unwrap_or_else(|| Box::new([0])),
            rname: fqdn(&format!("hostmaster.{z}")).unwrap_or_else(|| Box::new([0])),
            serial,
            timers: [7200, 1800, 86400, ttl],
        },
    }
}

/// Encodes one record without name compression, so it can be spliced anywhere.
pub fn encode_standalone(rr: &Rr) -> Box<[u8]> {
    let mut w = Writer::standalone();
    w.rr(rr);
    w.buf.into_boxed_slice()
}

/// The apex and fixed names of the cluster zone: SOA and NS at the apex, the
/// `dns-version` TXT (spec §2.2), `ns.dns.<zone>` with `ns_ips`, and the empty
/// non-terminals `svc.<zone>` and `pod.<zone>` (NODATA, checklist case 34).
pub fn apex_names(domain: &str, serial: u32, ttl: u32, ns_ips: &[IpAddr]) -> Vec<(Box<[u8]>, NameEntry)> {
    let (Some(apex), Some(ns)) = (fqdn(domain), fqdn(&format!("ns.dns.{domain}"))) else { return Vec::new() };
    let mut out = Vec::new();
    let mut b = EntryBuilder::new(apex);
    let soa = soa_rr(domain, serial, ttl);
    b.answer(soa.ttl, soa.data);
    b.answer(ttl, Rdata::Ns(ns.clone()));
    for &ip in ns_ips {
        b.additional(2, Rr { owner: ns.clone(), ttl, data: addr(ip) });
    }
    out.push(b.build());
    let mut b = EntryBuilder::new(ns);
    for &ip in ns_ips {
        b.answer(ttl, addr(ip));
    }
    out.push(b.build());
    if let Some(v) = fqdn(&format!("dns-version.{domain}")) {
        let mut b = EntryBuilder::new(v);
        b.answer(DNS_VERSION_TTL, Rdata::Txt(SCHEMA_VERSION.into()));
        out.push(b.build());
    }
    for ent in ["svc", "pod"] {
        if let Some(f) = fqdn(&format!("{ent}.{domain}")) {
            out.push(EntryBuilder::new(f).build());
        }
    }
    out
}

/// The apexes of the reverse zones: `in-addr.arpa.` and `ip6.arpa.` hold their SOA,
/// and `ns.dns.<reverse zone>` exists without addresses (NODATA), as CoreDNS
/// answers when it serves those zones.
pub fn reverse_apex_names(serial: u32, ttl: u32) -> Vec<(Box<[u8]>, NameEntry)> {
    let mut out = Vec::new();
    for zone in ["in-addr.arpa", "ip6.arpa"] {
        let (Some(apex), Some(ns)) = (fqdn(zone), fqdn(&format!("ns.dns.{zone}"))) else { continue };
        let mut b = EntryBuilder::new(apex);
        let soa = soa_rr(zone, serial, ttl);
        b.answer(soa.ttl, soa.data);
        out.push(b.build());
        out.push(EntryBuilder::new(ns).build());
    }
    out
}

/// The names a namespace makes exist: `<ns>.svc.<zone>` and `<ns>.pod.<zone>`
/// (NODATA, checklist case 33).
pub fn namespace_names(ns: &str, domain: &str) -> Vec<Box<[u8]>> {
    ["svc", "pod"].iter().filter_map(|t| fqdn(&format!("{ns}.{t}.{domain}"))).collect()
}
