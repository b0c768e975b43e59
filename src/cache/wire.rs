//! A small DNS wire encoder for prebuilt RRsets (RFC 1035 §4.1.3–4.1.4).
//!
//! Why not hickory-proto's encoder: its compression table is searched linearly, so
//! encoding a 1,000-endpoint service is quadratic, and the cache re-encodes a
//! service on every readiness change. This one keeps suffix → offset in a hash
//! map. hickory-proto remains the decoder, and the tests decode everything written
//! here with it. Names are lowercased wire form; compression pointers may target
//! the question name, which always starts at offset 12.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Largest offset a compression pointer can reach (14 bits).
const MAX_POINTER: usize = 0x3FFF;

/// Record data the cache serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rdata {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// SRV (RFC 2782); the target is never compressed.
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target name, wire form.
        target: Box<[u8]>,
    },
    /// PTR target.
    Ptr(Box<[u8]>),
    /// CNAME target.
    Cname(Box<[u8]>),
    /// NS host.
    Ns(Box<[u8]>),
    /// One TXT character-string.
    Txt(Box<str>),
    /// SOA (RFC 1035 §3.3.13).
    Soa {
        /// Primary server.
        mname: Box<[u8]>,
        /// Responsible mailbox.
        rname: Box<[u8]>,
        /// Serial.
        serial: u32,
        /// Refresh, retry, expire, minimum.
        timers: [u32; 4],
    },
}

impl Rdata {
    /// The record type code.
    pub fn rtype(&self) -> u16 {
        match self {
            Rdata::A(_) => 1,
            Rdata::Ns(_) => 2,
            Rdata::Cname(_) => 5,
            Rdata::Soa { .. } => 6,
            Rdata::Ptr(_) => 12,
            Rdata::Txt(_) => 16,
            Rdata::Aaaa(_) => 28,
            Rdata::Srv { .. } => 33,
        }
    }
}

/// A record to encode: owner (wire form), TTL, data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rr {
    /// Owner name, lowercased wire form.
    pub owner: Box<[u8]>,
    /// TTL in seconds.
    pub ttl: u32,
    /// Data.
    pub data: Rdata,
}

/// Encodes records into a message body that follows a question for `qname`.
pub struct Writer {
    /// The body bytes.
    pub buf: Vec<u8>,
    /// Offset in the message where `buf` starts.
    base: usize,
    /// Known name suffixes → their offset in the message.
    suffixes: HashMap<Box<[u8]>, u16>,
    /// Whether to compress at all (false for records spliced anywhere).
    compress: bool,
}

impl Writer {
    /// A writer for the sections after the question of `qname` (wire, lowercased),
    /// which sits at offset 12.
    pub fn after_question(qname: &[u8]) -> Self {
        let mut w = Writer { buf: Vec::new(), base: 12 + qname.len() + 4, suffixes: HashMap::new(), compress: true };
        w.remember(qname, 12, qname.len());
        w
    }

    /// A writer with no compression (records that are copied into other messages).
    pub fn standalone() -> Self {
        Writer { buf: Vec::new(), base: 0, suffixes: HashMap::new(), compress: false }
    }

    /// Records where each suffix of `name` (a full wire name) starts, for the
    /// labels written literally: those before `literal_end`.
    fn remember(&mut self, name: &[u8], at: usize, literal_end: usize) {
        let mut pos = 0;
        while pos < literal_end && name[pos] != 0 && at + pos <= MAX_POINTER {
            self.suffixes.entry(name[pos..].into()).or_insert((at + pos) as u16);
            pos += 1 + name[pos] as usize;
        }
    }

    /// Writes `name`, pointing at the longest suffix already written.
    fn name(&mut self, name: &[u8], compress: bool) {
        let start = self.base + self.buf.len();
        let mut pos = 0;
        while pos < name.len() && name[pos] != 0 {
            if compress && self.compress {
                if let Some(&off) = self.suffixes.get(&name[pos..]) {
                    self.buf.extend_from_slice(&name[..pos]);
                    self.buf.extend_from_slice(&(0xC000 | off).to_be_bytes());
                    self.remember(name, start, pos);
                    return;
                }
            }
            pos += 1 + name[pos] as usize;
        }
        self.buf.extend_from_slice(name);
        if self.compress {
            self.remember(name, start, name.len());
        }
    }

    /// Appends one resource record.
    pub fn rr(&mut self, rr: &Rr) {
        self.name(&rr.owner, true);
        self.buf.extend_from_slice(&rr.data.rtype().to_be_bytes());
        self.buf.extend_from_slice(&1u16.to_be_bytes()); // class IN
        self.buf.extend_from_slice(&rr.ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        match &rr.data {
            Rdata::A(ip) => self.buf.extend_from_slice(&ip.octets()),
            Rdata::Aaaa(ip) => self.buf.extend_from_slice(&ip.octets()),
            Rdata::Srv { priority, weight, port, target } => {
                for v in [priority, weight, port] {
                    self.buf.extend_from_slice(&v.to_be_bytes());
                }
                self.name(target, false); // RFC 2782: no compression of the target
            }
            Rdata::Ptr(n) | Rdata::Cname(n) | Rdata::Ns(n) => self.name(n, true),
            Rdata::Txt(s) => {
                for chunk in s.as_bytes().chunks(255) {
                    self.buf.push(chunk.len() as u8);
                    self.buf.extend_from_slice(chunk);
                }
            }
            Rdata::Soa { mname, rname, serial, timers } => {
                self.name(mname, true);
                self.name(rname, true);
                self.buf.extend_from_slice(&serial.to_be_bytes());
                for t in timers {
                    self.buf.extend_from_slice(&t.to_be_bytes());
                }
            }
        }
        let rdlen = (self.buf.len() - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::name::to_wire;
    use hickory_proto::op::Message;

    fn wire(s: &str) -> Box<[u8]> {
        to_wire(s).unwrap().into()
    }

    /// Builds a full message around a body and decodes it with hickory.
    fn decode(qname: &[u8], qtype: u16, counts: [u16; 3], body: &[u8]) -> Message {
        let mut m = vec![0, 0, 0x84, 0, 0, 1];
        for c in counts {
            m.extend_from_slice(&c.to_be_bytes());
        }
        m.extend_from_slice(qname);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(body);
        Message::from_vec(&m).unwrap()
    }

    #[test]
    fn every_type_decodes_with_hickory() {
        let q = wire("_pg._tcp.db.prod.svc.cluster.local");
        let t0 = wire("db-0.db.prod.svc.cluster.local");
        let mut w = Writer::after_question(&q);
        let rrs = [
            Rr {
                owner: q.clone(),
                ttl: 5,
                data: Rdata::Srv { priority: 0, weight: 50, port: 5432, target: t0.clone() },
            },
            Rr { owner: t0.clone(), ttl: 5, data: Rdata::A("10.1.0.10".parse().unwrap()) },
            Rr { owner: t0.clone(), ttl: 5, data: Rdata::Aaaa("fd00::1".parse().unwrap()) },
            Rr { owner: q.clone(), ttl: 5, data: Rdata::Ptr(t0.clone()) },
            Rr { owner: q.clone(), ttl: 5, data: Rdata::Cname(wire("www.example.com")) },
            Rr { owner: q.clone(), ttl: 9, data: Rdata::Txt("1.1.0".into()) },
            Rr {
                owner: wire("cluster.local"),
                ttl: 5,
                data: Rdata::Soa {
                    mname: wire("ns.dns.cluster.local"),
                    rname: wire("hostmaster.cluster.local"),
                    serial: 7,
                    timers: [7200, 1800, 86400, 5],
                },
            },
            Rr { owner: wire("cluster.local"), ttl: 5, data: Rdata::Ns(wire("ns.dns.cluster.local")) },
        ];
        for rr in &rrs {
            w.rr(rr);
        }
        let msg = decode(&q, 33, [rrs.len() as u16, 0, 0], &w.buf);
        let text: Vec<String> = msg.answers.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local.",
                "db-0.db.prod.svc.cluster.local. 5 IN A 10.1.0.10",
                "db-0.db.prod.svc.cluster.local. 5 IN AAAA fd00::1",
                "_pg._tcp.db.prod.svc.cluster.local. 5 IN PTR db-0.db.prod.svc.cluster.local.",
                "_pg._tcp.db.prod.svc.cluster.local. 5 IN CNAME www.example.com.",
                "_pg._tcp.db.prod.svc.cluster.local. 9 IN TXT 1.1.0",
                "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 7 7200 1800 86400 5",
                "cluster.local. 5 IN NS ns.dns.cluster.local.",
            ]
        );
    }

    #[test]
    fn compression_stays_within_pointer_range_on_huge_sets() {
        let q = wire("big.default.svc.cluster.local");
        let mut w = Writer::after_question(&q);
        let n = 2000;
        for i in 0..n {
            let t = wire(&format!("big-{i}.big.default.svc.cluster.local"));
            w.rr(&Rr {
                owner: q.clone(),
                ttl: 5,
                data: Rdata::Srv { priority: 0, weight: 0, port: 1, target: t.clone() },
            });
            w.rr(&Rr { owner: t, ttl: 5, data: Rdata::A(Ipv4Addr::from(i as u32)) });
        }
        let msg = decode(&q, 33, [2 * n as u16, 0, 0], &w.buf);
        assert_eq!(msg.answers.len(), 2 * n);
        assert_eq!(msg.answers[2 * n - 1].name.to_string(), format!("big-{}.big.default.svc.cluster.local.", n - 1));
    }
}
