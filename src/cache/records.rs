//! Record construction: slim objects → the DNS names and RRsets they produce.
//!
//! Pure functions from a Service and its endpoints to `(name, NameEntry)` pairs and
//! PTR contributions, following kubernetes/dns `docs/specification.md` (schema
//! 1.1.0) and CoreDNS's `kubernetes` plugin where the spec is silent. Section
//! numbers below refer to the specification.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::entry::{NameEntry, Prebuilt};
use crate::cluster::{EndpointSet, Port, Service, ServiceKind};
use crate::dns::name::{dashed_ip, to_wire};

/// TTL of `dns-version.<zone>` TXT (spec §2.2 example; CoreDNS hard-codes it).
pub const DNS_VERSION_TTL: u32 = 28800;
/// The schema version served at `dns-version.<zone>` (spec §2.2).
pub const SCHEMA_VERSION: &str = "1.1.0";

/// A name in both forms the cache needs: hickory's (to encode) and the key.
#[derive(Debug, Clone)]
pub struct Fqdn {
    /// For building records.
    pub name: Name,
    /// Lowercased wire form: the map key.
    pub key: Box<[u8]>,
}

impl Fqdn {
    /// Builds from presentation text (lowercased). Returns `None` for names DNS
    /// cannot carry (a label over 63 bytes): such objects get no records.
    pub fn new(text: &str) -> Option<Self> {
        let lower = text.to_ascii_lowercase();
        let key = to_wire(&lower).ok()?.into_boxed_slice();
        let mut name = Name::from_ascii(&lower).ok()?;
        name.set_fqdn(true);
        Some(Fqdn { name, key })
    }
}

/// One service's contribution to a reverse name (spec §2.3.3, §2.4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtrPart {
    /// The address is this service's cluster IP: PTR → the service name.
    ClusterIp(Name),
    /// The address is a ready endpoint of this service: PTR → the endpoint name(s).
    Endpoint(Vec<Name>),
}

/// Everything one Service produces.
#[derive(Debug, Default)]
pub struct ServiceOutput {
    /// Forward names this service owns outright.
    pub names: Vec<(Box<[u8]>, NameEntry)>,
    /// Reverse names it contributes to (shared with other services).
    pub ptrs: Vec<(Box<[u8]>, PtrPart)>,
}

/// Builder that turns records into a [`NameEntry`] (one prebuilt answer per type).
pub struct EntryBuilder {
    owner: Fqdn,
    sets: BTreeMap<u16, (Vec<Record>, Vec<Record>)>,
    cname_target: Option<Box<[u8]>>,
}

impl EntryBuilder {
    /// Starts an entry for `owner`.
    pub fn new(owner: Fqdn) -> Self {
        EntryBuilder { owner, sets: BTreeMap::new(), cname_target: None }
    }

    /// Adds an answer record (owner = this name) of `rdata`.
    pub fn answer(&mut self, ttl: u32, rdata: RData) -> &mut Self {
        let rtype = u16::from(rdata.record_type());
        let rec = Record::from_rdata(self.owner.name.clone(), ttl, rdata);
        let set = &mut self.sets.entry(rtype).or_default().0;
        if !set.contains(&rec) {
            set.push(rec);
        }
        self
    }

    /// Adds an additional-section record to the RRset of `rtype`.
    pub fn additional(&mut self, rtype: RecordType, rec: Record) -> &mut Self {
        let set = &mut self.sets.entry(u16::from(rtype)).or_default().1;
        if !set.contains(&rec) {
            set.push(rec);
        }
        self
    }

    /// Marks this name as an alias (ExternalName).
    pub fn cname(&mut self, target: &Fqdn, ttl: u32) -> &mut Self {
        self.cname_target = Some(target.key.clone());
        self.answer(ttl, RData::CNAME(CNAME(target.name.clone())))
    }

    /// Encodes every RRset. Encoding failures drop that RRset with a log line.
    pub fn build(self) -> (Box<[u8]>, NameEntry) {
        let mut rrsets = Vec::with_capacity(self.sets.len());
        for (rtype, (answers, additionals)) in self.sets {
            if answers.is_empty() {
                continue;
            }
            match Prebuilt::encode(&self.owner.name, RecordType::from(rtype), answers, additionals) {
                Ok(p) => rrsets.push(p),
                Err(e) => tracing::warn!(error = %e, "dropping an RRset that cannot be encoded"),
            }
        }
        (self.owner.key, NameEntry { rrsets: rrsets.into(), cname_target: self.cname_target })
    }
}

fn addr_rdata(ip: IpAddr) -> RData {
    match ip {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    }
}

fn addr_record(owner: &Name, ip: IpAddr, ttl: u32) -> Record {
    Record::from_rdata(owner.clone(), ttl, addr_rdata(ip))
}

/// A named endpoint of a service: `<label>.<svc>.<ns>.svc.<zone>` and its addresses.
struct Target {
    fqdn: Fqdn,
    ips: Vec<IpAddr>,
}

/// Ready endpoints of a service, merged over all its slices and de-duplicated by
/// address (an endpoint can transiently sit in two slices), grouped by name:
/// the hostname if set, else the dashed IP (CoreDNS `endpointHostname`).
fn ready_targets(svc_fqdn: &str, sets: &[&EndpointSet]) -> Vec<Target> {
    let mut seen = std::collections::HashSet::new();
    let mut by_label: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for ep in sets.iter().flat_map(|s| s.endpoints.iter()).filter(|e| e.ready) {
        for &ip in &ep.addresses {
            if !seen.insert(ip) {
                continue;
            }
            let label = ep.hostname.clone().unwrap_or_else(|| dashed_ip(ip));
            by_label.entry(label).or_default().push(ip);
        }
    }
    by_label
        .into_iter()
        .filter_map(|(label, ips)| Some(Target { fqdn: Fqdn::new(&format!("{label}.{svc_fqdn}"))?, ips }))
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

/// SRV weight as CoreDNS computes it: `floor(100 / n)` for n records of priority 0.
fn srv_weight(n: usize) -> u16 {
    (100 / n.max(1)) as u16
}

/// SRV records for `ports` × every address of `targets` (CoreDNS emits one per
/// address, so a dual-stack target weighs 50); identical records are then merged
/// (RFC 2181 §5: an RRset holds no duplicates). Additional: the targets' A/AAAA.
fn add_srv(b: &mut EntryBuilder, ttl: u32, ports: &[&Port], targets: &[(&Name, &[IpAddr])]) {
    let n = ports.len() * targets.iter().map(|(_, ips)| ips.len()).sum::<usize>();
    let weight = srv_weight(n);
    for port in ports {
        for (target, ips) in targets {
            for &ip in ips.iter() {
                b.answer(ttl, RData::SRV(SRV::new(0, weight, port.port, (*target).clone())));
                b.additional(RecordType::SRV, addr_record(target, ip, ttl));
            }
        }
    }
}

/// The `_<port>._<proto>.<service>` name of a named port (spec §2.3.2).
fn port_fqdn(port: &Port, svc_fqdn: &str) -> Option<Fqdn> {
    Fqdn::new(&format!("_{}._{}.{svc_fqdn}", port.name.as_deref()?, port.protocol))
}

/// All names and PTR contributions of one service.
pub fn service_output(svc: &Service, sets: &[&EndpointSet], domain: &str, ttl: u32, ignore_empty: bool) -> ServiceOutput {
    let mut out = ServiceOutput::default();
    let svc_text = format!("{}.{}.svc.{domain}", svc.key.name, svc.key.namespace);
    let Some(svc_fqdn) = Fqdn::new(&svc_text) else { return out };
    let targets = ready_targets(&svc_text, sets);
    match &svc.kind {
        ServiceKind::ExternalName(target) => {
            // CoreDNS only aliases hostnames; an IP-literal target gives NXDOMAIN.
            if target.parse::<IpAddr>().is_err() {
                if let Some(t) = Fqdn::new(target) {
                    let mut b = EntryBuilder::new(svc_fqdn);
                    b.cname(&t, ttl);
                    out.names.push(b.build());
                }
            }
        }
        ServiceKind::ClusterIp(ips) => {
            if ignore_empty && targets.is_empty() {
                // CoreDNS `ignore empty_service`: NXDOMAIN so the search path continues.
            } else {
                cluster_ip_names(&mut out, svc, &svc_fqdn, ips, ttl);
            }
            for &ip in ips {
                if let Some(rev) = Fqdn::new(&crate::dns::name::reverse_name(ip)) {
                    out.ptrs.push((rev.key, PtrPart::ClusterIp(svc_fqdn.name.clone())));
                }
            }
        }
        ServiceKind::Headless => {
            if !targets.is_empty() {
                headless_names(&mut out, &svc_fqdn, &svc_text, &targets, &slice_ports(sets), ttl);
            }
        }
    }
    // Endpoint names and PTRs: for headless services (spec §2.4) and, as CoreDNS
    // does, for ClusterIP services too (checklist case 45).
    if !matches!(svc.kind, ServiceKind::ExternalName(_)) {
        for t in &targets {
            let mut b = EntryBuilder::new(t.fqdn.clone());
            for &ip in &t.ips {
                b.answer(ttl, addr_rdata(ip));
                if let Some(rev) = Fqdn::new(&crate::dns::name::reverse_name(ip)) {
                    out.ptrs.push((rev.key, PtrPart::Endpoint(vec![t.fqdn.name.clone()])));
                }
            }
            out.names.push(b.build());
        }
    }
    out
}

/// Spec §2.3: A/AAAA from the cluster IPs, SRV per named port pointing at the
/// service; the service-name SRV covers every port (CoreDNS extension).
fn cluster_ip_names(out: &mut ServiceOutput, svc: &Service, svc_fqdn: &Fqdn, ips: &[IpAddr], ttl: u32) {
    let mut b = EntryBuilder::new(svc_fqdn.clone());
    for &ip in ips {
        b.answer(ttl, addr_rdata(ip));
    }
    let all: Vec<&Port> = svc.ports.iter().collect();
    add_srv(&mut b, ttl, &all, &[(&svc_fqdn.name, ips)]);
    out.names.push(b.build());
    let svc_text = svc_fqdn.name.to_ascii();
    for port in &svc.ports {
        let Some(pf) = port_fqdn(port, svc_text.trim_end_matches('.')) else { continue };
        let mut b = EntryBuilder::new(pf);
        add_srv(&mut b, ttl, &[port], &[(&svc_fqdn.name, ips)]);
        merge_or_push(out, b.build());
    }
}

/// Spec §2.4: A/AAAA of every ready endpoint; SRV per named port × endpoint.
fn headless_names(out: &mut ServiceOutput, svc_fqdn: &Fqdn, svc_text: &str, targets: &[Target], ports: &[Port], ttl: u32) {
    let mut b = EntryBuilder::new(svc_fqdn.clone());
    for t in targets {
        for &ip in &t.ips {
            b.answer(ttl, addr_rdata(ip));
        }
    }
    let pairs: Vec<(&Name, &[IpAddr])> = targets.iter().map(|t| (&t.fqdn.name, t.ips.as_slice())).collect();
    let all: Vec<&Port> = ports.iter().collect();
    add_srv(&mut b, ttl, &all, &pairs);
    out.names.push(b.build());
    for port in ports {
        let Some(pf) = port_fqdn(port, svc_text) else { continue };
        let mut b = EntryBuilder::new(pf);
        add_srv(&mut b, ttl, &[port], &pairs);
        merge_or_push(out, b.build());
    }
}

/// Two ports may share a name and protocol across slices; keep the first.
fn merge_or_push(out: &mut ServiceOutput, (key, entry): (Box<[u8]>, NameEntry)) {
    if !out.names.iter().any(|(k, _)| *k == key) {
        out.names.push((key, entry));
    }
}

/// Builds the PTR entry of a reverse name from all services' contributions.
/// CoreDNS (reverse.go): a cluster IP wins and answers with its one service;
/// otherwise every ready endpoint with that address answers, one PTR per
/// selecting service (checklist case 26).
pub fn ptr_entry(owner: Fqdn, parts: &BTreeMap<crate::cluster::ObjectKey, PtrPart>, ttl: u32) -> (Box<[u8]>, NameEntry) {
    let mut b = EntryBuilder::new(owner);
    let cluster = parts.values().find_map(|p| match p {
        PtrPart::ClusterIp(n) => Some(n),
        PtrPart::Endpoint(_) => None,
    });
    match cluster {
        Some(n) => {
            b.answer(ttl, RData::PTR(PTR(n.clone())));
        }
        None => {
            for p in parts.values() {
                if let PtrPart::Endpoint(names) = p {
                    for n in names {
                        b.answer(ttl, RData::PTR(PTR(n.clone())));
                    }
                }
            }
        }
    }
    b.build()
}

/// The SOA of a zone as CoreDNS writes it: `ns.dns.<zone>`, `hostmaster.<zone>`,
/// refresh 7200, retry 1800, expire 86400, minimum = TTL; RR TTL = min(TTL, 300).
pub fn soa_record(zone: &Name, serial: u32, ttl: u32) -> Record {
    let mname = Name::from_ascii("ns.dns.").unwrap().append_domain(zone).unwrap_or_else(|_| zone.clone());
    let rname = Name::from_ascii("hostmaster.").unwrap().append_domain(zone).unwrap_or_else(|_| zone.clone());
    let soa = SOA::new(mname, rname, serial, 7200, 1800, 86400, ttl);
    Record::from_rdata(zone.clone(), ttl.min(300), RData::SOA(soa))
}

/// Encodes one record without name compression, so it can be spliced anywhere.
pub fn encode_standalone(rec: &Record) -> Box<[u8]> {
    let mut buf = Vec::with_capacity(96);
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    // Encoding a well-formed SOA cannot fail; an empty slice is a safe fallback.
    if rec.emit(&mut enc).is_err() {
        return Box::new([]);
    }
    buf.into_boxed_slice()
}

/// The apex and fixed names of the cluster zone: SOA and NS at the apex, the
/// `dns-version` TXT (spec §2.2), `ns.dns.<zone>` with `ns_ips`, and the empty
/// non-terminals `svc.<zone>` and `pod.<zone>` (NODATA, checklist case 34).
pub fn apex_names(domain: &str, serial: u32, ttl: u32, ns_ips: &[IpAddr]) -> Vec<(Box<[u8]>, NameEntry)> {
    let Some(apex) = Fqdn::new(domain) else { return Vec::new() };
    let Some(ns) = Fqdn::new(&format!("ns.dns.{domain}")) else { return Vec::new() };
    let mut out = Vec::new();
    let mut b = EntryBuilder::new(apex.clone());
    b.answer(ttl.min(300), soa_record(&apex.name, serial, ttl).data.clone());
    b.answer(ttl, RData::NS(NS(ns.name.clone())));
    for &ip in ns_ips {
        b.additional(RecordType::NS, addr_record(&ns.name, ip, ttl));
    }
    out.push(b.build());
    let mut b = EntryBuilder::new(ns);
    for &ip in ns_ips {
        b.answer(ttl, addr_rdata(ip));
    }
    out.push(b.build());
    if let Some(v) = Fqdn::new(&format!("dns-version.{domain}")) {
        let mut b = EntryBuilder::new(v);
        b.answer(DNS_VERSION_TTL, RData::TXT(TXT::new(vec![SCHEMA_VERSION.to_string()])));
        out.push(b.build());
    }
    for ent in ["svc", "pod"] {
        if let Some(f) = Fqdn::new(&format!("{ent}.{domain}")) {
            out.push(EntryBuilder::new(f).build());
        }
    }
    out
}

/// The names a namespace makes exist: `<ns>.svc.<zone>` and `<ns>.pod.<zone>`
/// (NODATA, checklist case 33).
pub fn namespace_names(ns: &str, domain: &str) -> Vec<Box<[u8]>> {
    ["svc", "pod"].iter().filter_map(|t| Fqdn::new(&format!("{ns}.{t}.{domain}")).map(|f| f.key)).collect()
}
