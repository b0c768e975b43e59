//! The answer path: query bytes × zone → response bytes. Pure and allocation-free.
//!
//! Parses only what it needs (header, the one question, an OPT record), looks the
//! lowercased name up, and writes the response into a caller-owned buffer: header
//! (patched from the query), the query's question copied verbatim (so the client's
//! case is echoed, RFC 4343 §4.1), then a prebuilt body or a negative answer with
//! the zone's SOA. Transports (UDP workers, TCP through hickory-server) call
//! [`answer`] and only move bytes. Nothing here can panic on client input: every
//! read is bounds-checked and every malformed query gets FORMERR or is dropped.

use std::net::IpAddr;

use super::name::{MAX_NAME_LEN, parse_dashed_ip, strip_zone};
use crate::cache::entry::{EntryView, HEADER_LEN, Rrset};
use crate::cache::{PodsMode, Zone};

/// Response codes used here (RFC 1035 §4.1.1, RFC 6891 §9).
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error: the query could not be interpreted.
    pub const FORMERR: u8 = 1;
    /// Server failure (cache not yet synced).
    pub const SERVFAIL: u8 = 2;
    /// The name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Opcode not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused (zone transfers, names outside our zones without an upstream).
    pub const REFUSED: u8 = 5;
    /// Bad EDNS version (extended rcode 16).
    pub const BADVERS: u16 = 16;
}

/// Record types the answer path treats specially.
pub mod qtype {
    /// A.
    pub const A: u16 = 1;
    /// CNAME.
    pub const CNAME: u16 = 5;
    /// AAAA.
    pub const AAAA: u16 = 28;
    /// OPT pseudo-record (RFC 6891).
    pub const OPT: u16 = 41;
    /// IXFR.
    pub const IXFR: u16 = 251;
    /// AXFR.
    pub const AXFR: u16 = 252;
    /// ANY (RFC 8482: answered with one RRset).
    pub const ANY: u16 = 255;
}

/// The transport a query came over: it decides the size limit (RFC 1035 §4.2.1,
/// RFC 6891 §6.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: 512 bytes, or the client's EDNS payload size clamped to `max_udp`.
    Udp,
    /// TCP: up to 65535 bytes.
    Tcp,
}

/// Server-wide answer settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest UDP response we send, whatever the client offers.
    pub max_udp: u16,
    /// The UDP payload size we advertise in our OPT record.
    pub advertised_payload: u16,
    /// Whether names outside our zones are forwarded (else REFUSED).
    pub forward: bool,
}

impl Default for Limits {
    fn default() -> Self {
        // 1232: the DNS Flag Day 2020 size that avoids IP fragmentation.
        Limits { max_udp: 4096, advertised_payload: 1232, forward: false }
    }
}

/// What the transport should do with a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Send `out[..len]`.
    Reply {
        /// Response length.
        len: usize,
        /// Response code (for metrics).
        rcode: u8,
        /// Query type (for metrics).
        qtype: u16,
    },
    /// Send nothing (too short to answer, or a response packet: no reflection).
    Drop,
    /// Not ours: hand the query to the forwarder.
    Forward {
        /// Query type (for metrics).
        qtype: u16,
    },
}

/// The parsed parts of a query the answer path needs.
struct Query {
    /// End of the question section in the query.
    question_end: usize,
    /// Lowercased query name, wire form.
    lname: [u8; MAX_NAME_LEN],
    /// Length of `lname`.
    lname_len: usize,
    qtype: u16,
    qclass: u16,
    /// The client's EDNS, if any.
    edns: Option<Edns>,
}

#[derive(Clone, Copy)]
struct Edns {
    payload: u16,
    version: u8,
    dnssec_ok: bool,
}

enum Parse {
    Ok(Query),
    /// FORMERR; `question_end` is set when the question itself was readable.
    FormErr(Option<usize>),
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Reads an uncompressed name at `pos`, lowercasing it into `dst`.
/// Returns (end position, length in dst).
fn read_qname(msg: &[u8], mut pos: usize, dst: &mut [u8; MAX_NAME_LEN]) -> Option<(usize, usize)> {
    let mut n = 0;
    loop {
        let len = *msg.get(pos)? as usize;
        if len & 0xC0 != 0 {
            return None; // compression or extended labels: not in a question
        }
        if n + len + 1 > MAX_NAME_LEN {
            return None;
        }
        dst[n] = len as u8;
        let label = msg.get(pos + 1..pos + 1 + len)?;
        super::name::lowercase_into(label, &mut dst[n + 1..n + 1 + len]);
        n += len + 1;
        pos += len + 1;
        if len == 0 {
            return Some((pos, n));
        }
    }
}

/// Skips any name (compressed or not) at `pos`; returns the position after it.
fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    for _ in 0..128 {
        let len = *msg.get(pos)?;
        match len & 0xC0 {
            0xC0 => return Some(pos + 2),
            0 if len == 0 => return Some(pos + 1),
            0 => pos += 1 + len as usize,
            _ => return None,
        }
    }
    None
}

fn parse(msg: &[u8]) -> Parse {
    let counts = (be16(msg, 4), be16(msg, 6), be16(msg, 8), be16(msg, 10));
    let (Some(qd), Some(an), Some(ns), Some(ar)) = counts else { return Parse::FormErr(None) };
    if qd != 1 {
        return Parse::FormErr(None);
    }
    let mut lname = [0u8; MAX_NAME_LEN];
    let Some((pos, lname_len)) = read_qname(msg, HEADER_LEN, &mut lname) else { return Parse::FormErr(None) };
    let (Some(qtype), Some(qclass)) = (be16(msg, pos), be16(msg, pos + 2)) else { return Parse::FormErr(None) };
    let question_end = pos + 4;
    if an != 0 || ns != 0 {
        return Parse::FormErr(Some(question_end));
    }
    let mut edns = None;
    let mut at = question_end;
    for _ in 0..ar {
        let Some(name_end) = skip_name(msg, at) else { return Parse::FormErr(Some(question_end)) };
        let fixed = (
            be16(msg, name_end),
            be16(msg, name_end + 2),
            msg.get(name_end + 4..name_end + 8),
            be16(msg, name_end + 8),
        );
        let (Some(rtype), Some(class), Some(ttl), Some(rdlen)) = fixed else {
            return Parse::FormErr(Some(question_end));
        };
        let end = name_end + 10 + rdlen as usize;
        if end > msg.len() {
            return Parse::FormErr(Some(question_end));
        }
        if rtype == qtype::OPT {
            // RFC 6891 §6.1.1: one OPT, owned by the root.
            if edns.is_some() || name_end != at + 1 || msg[at] != 0 {
                return Parse::FormErr(Some(question_end));
            }
            edns = Some(Edns { payload: class, version: ttl[1], dnssec_ok: ttl[2] & 0x80 != 0 });
        }
        at = end;
    }
    Parse::Ok(Query { question_end, lname, lname_len, qtype, qclass, edns })
}

/// Answers one query. `out` is cleared and receives the response; it never grows
/// past 65535 bytes, so a buffer reserved at that size is never reallocated.
pub fn answer(msg: &[u8], zone: &Zone, transport: Transport, limits: &Limits, out: &mut Vec<u8>) -> Outcome {
    out.clear();
    if msg.len() < HEADER_LEN || msg[2] & 0x80 != 0 {
        return Outcome::Drop; // RFC 1035 §4.1.1: too short, or a response (reflection guard)
    }
    let opcode = (msg[2] >> 3) & 0x0F;
    let query = match parse(msg) {
        Parse::Ok(q) => q,
        Parse::FormErr(question_end) => return error_reply(msg, question_end, rcode::FORMERR, out),
    };
    if opcode != 0 {
        return error_reply(msg, Some(query.question_end), rcode::NOTIMP, out);
    }
    let w = Writer::start(msg, &query, transport, limits, out);
    if let Some(e) = query.edns {
        if e.version > 0 {
            // RFC 6891 §6.1.3: BADVERS, with our version (0) in the OPT.
            return w.negative(rcode::BADVERS, None);
        }
    }
    let name = &query.lname[..query.lname_len];
    if query.qclass != 1 && query.qclass != qtype::ANY {
        return w.negative(u16::from(rcode::REFUSED), None);
    }
    if query.qtype == qtype::AXFR || query.qtype == qtype::IXFR {
        return w.negative(u16::from(rcode::REFUSED), None); // checklist case 43
    }
    let apex = &zone.apex[..];
    let soa = zone.soa.load();
    let (in_zone, soa_rr): (bool, &[u8]) = if strip_zone(name, apex).is_some() {
        (true, &soa.cluster)
    } else if strip_zone(name, IN_ADDR_ARPA).is_some() {
        (false, &soa.in_addr)
    } else if strip_zone(name, IP6_ARPA).is_some() {
        (false, &soa.ip6)
    } else if limits.forward {
        out.clear();
        return Outcome::Forward { qtype: query.qtype };
    } else {
        return w.negative(u16::from(rcode::REFUSED), None);
    };
    zone.with(name, |entry| match entry {
        Some(entry) => w.positive(entry, zone, soa_rr),
        None if in_zone => match pod_address(name, apex, zone) {
            Some(ip) => w.synthesized(ip, zone.config.ttl, soa_rr),
            None => w.nxdomain(zone, soa_rr),
        },
        None if limits.forward => {
            w.out.clear();
            Outcome::Forward { qtype: query.qtype }
        }
        None => w.nxdomain(zone, soa_rr),
    })
}

const IN_ADDR_ARPA: &[u8] = b"\x07in-addr\x04arpa\x00";
const IP6_ARPA: &[u8] = b"\x03ip6\x04arpa\x00";

/// Re-encodes a decoded record without compression (CNAME chase slow path).
fn standalone(rec: &hickory_proto::rr::Record) -> Option<Box<[u8]>> {
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
    let mut buf = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rec.emit(&mut enc).ok()?;
    Some(buf.into_boxed_slice())
}

/// `<dashed-ip>.<ns>.pod.<zone>` under `pods insecure|verified` (checklist case 41).
fn pod_address(name: &[u8], apex: &[u8], zone: &Zone) -> Option<IpAddr> {
    if zone.config.pods == PodsMode::Disabled {
        return None;
    }
    let prefix = strip_zone(name, apex)?;
    let mut labels = super::name::labels(prefix);
    let (ip_label, ns, kind) = (labels.next()?, labels.next()?, labels.next()?);
    if labels.next().is_some() || kind != b"pod" {
        return None;
    }
    let ip = parse_dashed_ip(ip_label)?;
    // As CoreDNS: only in a namespace that exists (`<ns>.pod.<zone>` is published per namespace).
    let parent = name.get(1 + usize::from(*name.first()?)..)?;
    if !zone.contains(parent) {
        return None;
    }
    if zone.config.pods == PodsMode::Verified {
        let ns = std::str::from_utf8(ns).ok()?;
        return zone.pod_exists(ns, ip).then_some(ip);
    }
    Some(ip)
}

/// FORMERR/NOTIMP for queries whose question may be unreadable: echo the header
/// (ID, opcode, RD) and the question when it was parsed.
fn error_reply(msg: &[u8], question_end: Option<usize>, code: u8, out: &mut Vec<u8>) -> Outcome {
    out.extend_from_slice(&msg[..2]);
    out.push(0x80 | (msg[2] & 0x79)); // QR, opcode, RD
    out.push(code);
    let qd = u16::from(question_end.is_some());
    out.extend_from_slice(&qd.to_be_bytes());
    out.extend_from_slice(&[0; 6]);
    if let Some(end) = question_end {
        out.extend_from_slice(&msg[HEADER_LEN..end]);
    }
    Outcome::Reply { len: out.len(), rcode: code, qtype: 0 }
}

/// Writes one response: header, question, sections, OPT, with the size limit.
struct Writer<'a> {
    msg: &'a [u8],
    question_end: usize,
    qtype: u16,
    edns: Option<Edns>,
    limit: usize,
    advertised: u16,
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    fn start(msg: &'a [u8], q: &Query, transport: Transport, limits: &Limits, out: &'a mut Vec<u8>) -> Self {
        let limit = match (transport, q.edns) {
            (Transport::Tcp, _) => 65535,
            (Transport::Udp, None) => 512,
            (Transport::Udp, Some(e)) => e.payload.clamp(512, limits.max_udp.max(512)) as usize,
        };
        Writer {
            msg,
            question_end: q.question_end,
            qtype: q.qtype,
            edns: q.edns,
            limit,
            advertised: limits.advertised_payload,
            out,
        }
    }

    /// Header + question, with the given rcode (low 4 bits) and counts.
    fn head(&mut self, code: u16, an: u16, ns: u16, ar: u16, tc: bool) {
        let m = self.msg;
        self.out.clear();
        self.out.extend_from_slice(&m[..2]);
        // QR | opcode 0 | AA | TC | RD copied; RA 0; CD copied (RFC 6840 §5.9).
        self.out.push(0x84 | if tc { 0x02 } else { 0 } | (m[2] & 0x01));
        self.out.push((m[3] & 0x10) | (code & 0x0F) as u8);
        let ar = ar + u16::from(self.edns.is_some());
        for c in [1, an, ns, ar] {
            self.out.extend_from_slice(&c.to_be_bytes());
        }
        self.out.extend_from_slice(&m[HEADER_LEN..self.question_end]);
    }

    /// Appends our OPT (RFC 6891 §6.1.2) when the client sent one.
    fn opt(&mut self, code: u16) {
        if let Some(e) = self.edns {
            let ext = (code >> 4) as u8;
            let do_bit = if e.dnssec_ok { 0x80 } else { 0 };
            self.out.extend_from_slice(&[0, 0, 41]);
            self.out.extend_from_slice(&self.advertised.to_be_bytes());
            self.out.extend_from_slice(&[ext, 0, do_bit, 0, 0, 0]);
        }
    }

    /// Finishes: adds the OPT, or replaces everything by a TC response when the
    /// message does not fit the transport (RFC 2181 §9: no partial RRsets).
    fn finish(mut self, code: u16) -> Outcome {
        let opt_len = if self.edns.is_some() { 11 } else { 0 };
        if self.out.len() + opt_len > self.limit {
            self.head(code, 0, 0, 0, true);
        }
        self.opt(code);
        Outcome::Reply { len: self.out.len(), rcode: (code & 0x0F) as u8, qtype: self.qtype }
    }

    fn positive(mut self, entry: EntryView<'_>, zone: &Zone, soa: &[u8]) -> Outcome {
        let rrset = match self.qtype {
            qtype::ANY => entry.rrsets().next(),
            t => entry.rrset(t),
        };
        if let (Some(target), true) = (entry.cname_target(), self.qtype != qtype::CNAME) {
            return self.alias(entry, target, zone);
        }
        match rrset {
            Some(p) => {
                self.body(p);
                self.finish(0)
            }
            None => self.negative(0, Some(soa)), // NODATA: the name exists (RFC 8020)
        }
    }

    fn body(&mut self, p: Rrset<'_>) {
        let opt_len = if self.edns.is_some() { 11 } else { 0 };
        let full = self.question_end + p.body.len() + opt_len;
        if full <= self.limit || p.counts[2] == 0 {
            self.head(0, p.counts[0], p.counts[1], p.counts[2], false);
            self.out.extend_from_slice(p.body);
        } else {
            // RFC 2181 §9: drop the additional section before truncating answers.
            self.head(0, p.counts[0], p.counts[1], 0, false);
            self.out.extend_from_slice(&p.body[..p.additional_at as usize]);
        }
    }

    fn negative(mut self, code: u16, soa: Option<&[u8]>) -> Outcome {
        let ns = u16::from(soa.is_some_and(|s| !s.is_empty()));
        self.head(code, 0, ns, 0, false);
        if ns == 1 {
            self.out.extend_from_slice(soa.unwrap_or_default());
        }
        self.finish(code)
    }

    fn nxdomain(self, zone: &Zone, soa: &[u8]) -> Outcome {
        if zone.is_synced() {
            self.negative(u16::from(rcode::NXDOMAIN), Some(soa))
        } else {
            self.negative(u16::from(rcode::SERVFAIL), None) // checklist case 42
        }
    }

    /// A pod record under `pods insecure|verified`, written in place.
    fn synthesized(mut self, ip: IpAddr, ttl: u32, soa: &[u8]) -> Outcome {
        let rtype = if ip.is_ipv4() { qtype::A } else { qtype::AAAA };
        if self.qtype != rtype && self.qtype != qtype::ANY {
            return self.negative(0, Some(soa));
        }
        self.head(0, 1, 0, 0, false);
        self.out.extend_from_slice(&[0xC0, HEADER_LEN as u8]);
        self.out.extend_from_slice(&rtype.to_be_bytes());
        self.out.extend_from_slice(&[0, 1]);
        self.out.extend_from_slice(&ttl.to_be_bytes());
        match ip {
            IpAddr::V4(v4) => {
                self.out.extend_from_slice(&4u16.to_be_bytes());
                self.out.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                self.out.extend_from_slice(&16u16.to_be_bytes());
                self.out.extend_from_slice(&v6.octets());
            }
        }
        self.finish(0)
    }

    /// ExternalName (spec §2.5): the CNAME, then the target's records of the
    /// query type when the target is a name in our zone. Slow path (allocates).
    fn alias(mut self, entry: EntryView<'_>, target: &[u8], zone: &Zone) -> Outcome {
        let Some(cname) = entry.rrset(qtype::CNAME) else { return self.negative(0, None) };
        let qtype = self.qtype;
        let chased: Vec<Box<[u8]>> = zone
            .with(target, |t| t.and_then(|t| t.rrset(qtype)).and_then(|p| p.records(target).ok()))
            .map(|m| m.answers.iter().filter_map(standalone).collect())
            .unwrap_or_default();
        self.head(0, 1 + chased.len() as u16, 0, 0, false);
        self.out.extend_from_slice(cname.body);
        for rr in &chased {
            self.out.extend_from_slice(rr);
        }
        self.finish(0)
    }
}

/// The fuzzing oracle (`fuzz/fuzz_targets/answer.rs`, `tests/fuzz_smoke.rs`): answers
/// `msg` over both transports and panics if a property every client relies on fails.
/// Any reply must be within the transport's size limit, decode with hickory-proto,
/// be a response, and echo the query's ID (and its question when it has one); a
/// query is never forwarded when forwarding is off. Answering itself must not panic.
pub fn fuzz_check(msg: &[u8], zone: &Zone, out: &mut Vec<u8>) {
    use hickory_proto::op::{Message, MessageType};
    let limits = Limits::default();
    for transport in [Transport::Udp, Transport::Tcp] {
        match answer(msg, zone, transport, &limits, out) {
            Outcome::Drop => assert!(out.is_empty() || msg.len() < HEADER_LEN || msg[2] & 0x80 != 0),
            Outcome::Forward { .. } => panic!("forwarded with forwarding off: {msg:02x?}"),
            Outcome::Reply { len, .. } => {
                assert_eq!(len, out.len(), "reply length");
                let reply = Message::from_vec(out)
                    .unwrap_or_else(|e| panic!("reply does not decode ({e}): query {msg:02x?} reply {out:02x?}"));
                assert_eq!(reply.metadata.message_type, MessageType::Response, "QR bit");
                assert_eq!(&out[..2], &msg[..2], "ID echoed");
                let max = match (transport, reply.edns.is_some()) {
                    (Transport::Tcp, _) => 65535,
                    (Transport::Udp, false) => 512,
                    (Transport::Udp, true) => usize::from(limits.max_udp),
                };
                assert!(len <= max, "{len}-byte reply over {transport:?} exceeds {max}");
                if !reply.queries.is_empty() {
                    let end = skip_name(out, HEADER_LEN).map(|e| e + 4);
                    let question = end.and_then(|e| out.get(HEADER_LEN..e));
                    assert_eq!(question, end.and_then(|e| msg.get(HEADER_LEN..e)), "question echoed verbatim");
                }
            }
        }
    }
}
