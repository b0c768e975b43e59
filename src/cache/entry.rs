//! Prebuilt answers: what one name holds, already encoded for the wire.
//!
//! A [`Prebuilt`] is the answer and additional sections of a response for one
//! (name, type), encoded at cache-write time as if the query name sat at offset 12
//! (right after the header, where it always is). Compression pointers therefore
//! point into the *query's own* question, which the answer path copies verbatim,
//! so the client's case is echoed (RFC 4343 §4.1) and the hot path only copies
//! bytes and patches the header.

use hickory_proto::op::Message;
use hickory_proto::serialize::binary::DecodeError;

use super::wire::{Rr, Writer};

/// Offset of the question section in every DNS message (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;

/// One RRset response for one (name, type), pre-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prebuilt {
    /// Record type this answers (the query type it matches).
    pub rtype: u16,
    /// Answer, authority and additional record counts for the header.
    pub counts: [u16; 3],
    /// The encoded sections following the question.
    pub body: Box<[u8]>,
    /// Where the additional section starts in `body`: when the whole body does not
    /// fit the transport, the answer is sent without it before resorting to TC
    /// (RFC 2181 §9: missing additional data does not set TC).
    pub additional_at: u32,
}

impl Prebuilt {
    /// Encodes `answers` then `additionals` for a query of `qname` (wire, lowercased).
    pub fn encode(qname: &[u8], rtype: u16, answers: &[Rr], additionals: &[Rr]) -> Self {
        let mut w = Writer::after_question(qname);
        for rr in answers {
            w.rr(rr);
        }
        let additional_at = w.buf.len() as u32;
        for rr in additionals {
            w.rr(rr);
        }
        Prebuilt {
            rtype,
            counts: [answers.len() as u16, 0, additionals.len() as u16],
            body: w.buf.into_boxed_slice(),
            additional_at,
        }
    }

    /// Decodes this body back into records, for the slow paths (CNAME chasing,
    /// zone export) and tests. `qname_wire` is the name the body was built for.
    pub fn records(&self, qname_wire: &[u8]) -> Result<Message, DecodeError> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + qname_wire.len() + 4 + self.body.len());
        bytes.extend_from_slice(&[0, 0, 0x84, 0, 0, 1]);
        for c in self.counts {
            bytes.extend_from_slice(&c.to_be_bytes());
        }
        bytes.extend_from_slice(qname_wire);
        bytes.extend_from_slice(&self.rtype.to_be_bytes());
        bytes.extend_from_slice(&[0, 1]);
        bytes.extend_from_slice(&self.body);
        Message::from_vec(&bytes)
    }
}

/// Everything a name owns. A name present in the map *exists* (RFC 8020): a type
/// it has no RRset for answers NODATA, never NXDOMAIN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameEntry {
    /// One prebuilt answer per record type held, sorted by type.
    pub rrsets: Box<[Prebuilt]>,
    /// For an ExternalName service: the CNAME target in lowercased wire form. Any
    /// query type other than CNAME answers the CNAME plus, when the target lies in
    /// the zone, the target's records (spec §2.5).
    pub cname_target: Option<Box<[u8]>>,
}

impl NameEntry {
    /// The prebuilt answer for `rtype`, if this name holds that type.
    #[inline]
    pub fn rrset(&self, rtype: u16) -> Option<&Prebuilt> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::wire::Rdata;
    use crate::dns::name::to_wire;

    #[test]
    fn body_round_trips_and_additionals_can_be_cut() {
        let q = to_wire("_pg._tcp.db.prod.svc.cluster.local").unwrap();
        let t: Box<[u8]> = to_wire("db-0.db.prod.svc.cluster.local").unwrap().into();
        let srv = Rr {
            owner: q.clone().into(),
            ttl: 5,
            data: Rdata::Srv { priority: 0, weight: 100, port: 5432, target: t.clone() },
        };
        let a = Rr { owner: t, ttl: 5, data: Rdata::A("10.1.0.10".parse().unwrap()) };
        let p = Prebuilt::encode(&q, 33, &[srv], &[a]);
        assert_eq!(p.counts, [1, 0, 1]);
        let msg = p.records(&q).unwrap();
        assert_eq!(
            msg.answers[0].to_string(),
            "_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 100 5432 db-0.db.prod.svc.cluster.local."
        );
        assert_eq!(msg.additionals[0].to_string(), "db-0.db.prod.svc.cluster.local. 5 IN A 10.1.0.10");
        let cut = Prebuilt { counts: [1, 0, 0], body: p.body[..p.additional_at as usize].into(), ..p.clone() };
        assert_eq!(cut.records(&q).unwrap().answers.len(), 1);
    }

    #[test]
    fn owner_names_are_compressed_against_the_question() {
        let q = to_wire("web.prod.svc.cluster.local").unwrap();
        let a = Rr { owner: q.clone().into(), ttl: 5, data: Rdata::A("10.96.0.20".parse().unwrap()) };
        let p = Prebuilt::encode(&q, 1, &[a], &[]);
        // pointer to offset 12, type A, class IN, ttl 5, rdlen 4, address.
        assert_eq!(&p.body[..], &[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 96, 0, 20]);
    }
}
