//! Prebuilt answers: what one name holds, already encoded for the wire.
//!
//! A [`Prebuilt`] is the answer, authority and additional sections of a response
//! for one (name, type), encoded by hickory-proto at cache-write time as if the
//! query name sat at offset 12 (right after the header, where it always is). Name
//! compression pointers therefore point into the *query's own* question, which the
//! answer path copies verbatim, so the client's case is echoed (RFC 4343 §4.1) and
//! the hot path only has to copy bytes and patch the header.

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, Record, RecordType};

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
}

/// Why a record set could not be encoded (only on absurd data: a name over 255
/// bytes, a message over 64 KiB). The cache logs it and serves the rest.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode records for {name}: {source}")]
pub struct EncodeError {
    /// The owner name.
    pub name: String,
    /// hickory's reason.
    #[source]
    pub source: hickory_proto::ProtoError,
}

impl Prebuilt {
    /// Encodes `answers`/`additionals` for a query of `qname`/`rtype`.
    pub fn encode(qname: &Name, rtype: RecordType, answers: Vec<Record>, additionals: Vec<Record>) -> Result<Self, EncodeError> {
        let mut msg = Message::new(0, MessageType::Response, OpCode::Query);
        msg.add_query(Query::query(qname.clone(), rtype));
        let counts = [answers.len() as u16, 0, additionals.len() as u16];
        msg.insert_answers(answers);
        msg.insert_additionals(additionals);
        let bytes = msg.to_vec().map_err(|source| EncodeError { name: qname.to_string(), source })?;
        let skip = HEADER_LEN + wire_len(qname) + 4;
        Ok(Prebuilt { rtype: u16::from(rtype), counts, body: bytes[skip..].into() })
    }

    /// Decodes this body back into records, for the slow paths (TCP through
    /// hickory-server, CNAME chasing, zone export). `qname_wire` is the lowercased
    /// wire name the body was built for.
    pub fn records(&self, qname_wire: &[u8]) -> Result<Message, hickory_proto::serialize::binary::DecodeError> {
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

/// Length of a name in wire form (labels plus the root byte).
pub fn wire_len(name: &Name) -> usize {
    name.iter().map(|l| l.len() + 1).sum::<usize>() + 1
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

    /// Approximate heap bytes held, for the memory gauge.
    pub fn heap_bytes(&self) -> usize {
        self.rrsets.iter().map(|r| r.body.len() + std::mem::size_of::<Prebuilt>()).sum::<usize>()
            + self.cname_target.as_ref().map_or(0, |t| t.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::{A, SRV};

    #[test]
    fn body_round_trips_through_hickory() {
        let qname = Name::from_ascii("_pg._tcp.db.prod.svc.cluster.local.").unwrap();
        let target = Name::from_ascii("db-0.db.prod.svc.cluster.local.").unwrap();
        let srv = Record::from_rdata(qname.clone(), 5, RData::SRV(SRV::new(0, 100, 5432, target.clone())));
        let a = Record::from_rdata(target.clone(), 5, RData::A(A::new(10, 1, 0, 10)));
        let p = Prebuilt::encode(&qname, RecordType::SRV, vec![srv.clone()], vec![a.clone()]).unwrap();
        assert_eq!(p.counts, [1, 0, 1]);
        let wire = crate::dns::name::to_wire("_pg._tcp.db.prod.svc.cluster.local").unwrap();
        let msg = p.records(&wire).unwrap();
        assert_eq!(msg.answers, vec![srv]);
        assert_eq!(msg.additionals, vec![a]);
    }

    #[test]
    fn owner_names_are_compressed_against_the_question() {
        let qname = Name::from_ascii("web.prod.svc.cluster.local.").unwrap();
        let a = Record::from_rdata(qname.clone(), 5, RData::A(A::new(10, 96, 0, 20)));
        let p = Prebuilt::encode(&qname, RecordType::A, vec![a], vec![]).unwrap();
        // pointer to offset 12, type A, class IN, ttl 5, rdlen 4, address.
        assert_eq!(&p.body[..], &[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 96, 0, 20]);
    }
}
