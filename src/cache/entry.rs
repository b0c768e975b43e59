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

    /// Decodes this body back into records (see [`Rrset::records`]).
    pub fn records(&self, qname_wire: &[u8]) -> Result<Message, DecodeError> {
        self.as_rrset().records(qname_wire)
    }

    /// The borrowed view [`NameEntry`] hands out.
    pub fn as_rrset(&self) -> Rrset<'_> {
        Rrset { rtype: self.rtype, counts: self.counts, body: &self.body, additional_at: self.additional_at }
    }
}

/// One prebuilt RRset response as a [`NameEntry`] holds it, borrowed from the
/// entry's packed buffer. Same fields as [`Prebuilt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rrset<'a> {
    /// Record type this answers (the query type it matches).
    pub rtype: u16,
    /// Answer, authority and additional record counts for the header.
    pub counts: [u16; 3],
    /// The encoded sections following the question.
    pub body: &'a [u8],
    /// Where the additional section starts in `body`.
    pub additional_at: u32,
}

impl Rrset<'_> {
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
        bytes.extend_from_slice(self.body);
        Message::from_vec(&bytes)
    }
}

/// Everything a name owns. A name present in the map *exists* (RFC 8020): a type
/// it has no RRset for answers NODATA, never NXDOMAIN.
///
/// One allocation per name (a zone has one entry per pod, service, port and
/// address): `[n, flags]`, then `n` descriptors of 16 bytes (type, the three
/// counts, body length, additional offset; little-endian), then the `n` bodies, then
/// the CNAME target if `flags & 1`. A boxed slice of [`Prebuilt`]s plus one box per
/// body cost ~50 bytes more per name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameEntry {
    /// The packed RRsets and CNAME target, as described above; empty for a name
    /// that exists without records (an empty non-terminal).
    packed: Box<[u8]>,
}

/// Bytes of one RRset descriptor in [`NameEntry`]'s buffer.
const DESCRIPTOR: usize = 16;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl NameEntry {
    /// Packs one prebuilt answer per record type (sorted by type, at most 255) and,
    /// for an ExternalName service, the CNAME target in lowercased wire form.
    pub fn new(rrsets: &[Prebuilt], cname_target: Option<&[u8]>) -> NameEntry {
        if rrsets.is_empty() && cname_target.is_none() {
            return NameEntry::default();
        }
        let n = rrsets.len().min(255);
        let bodies: usize = rrsets[..n].iter().map(|p| p.body.len()).sum();
        let mut b = Vec::with_capacity(2 + n * DESCRIPTOR + bodies + cname_target.map_or(0, <[u8]>::len));
        b.extend_from_slice(&[n as u8, u8::from(cname_target.is_some())]);
        for p in &rrsets[..n] {
            b.extend_from_slice(&p.rtype.to_le_bytes());
            for c in p.counts {
                b.extend_from_slice(&c.to_le_bytes());
            }
            b.extend_from_slice(&(p.body.len() as u32).to_le_bytes());
            b.extend_from_slice(&p.additional_at.to_le_bytes());
        }
        for p in &rrsets[..n] {
            b.extend_from_slice(&p.body);
        }
        b.extend_from_slice(cname_target.unwrap_or_default());
        NameEntry { packed: b.into_boxed_slice() }
    }

    /// The borrowed view readers use.
    #[inline]
    pub fn view(&self) -> EntryView<'_> {
        EntryView(&self.packed)
    }
}

/// A packed entry (see [`NameEntry`]) borrowed from wherever it is stored: a
/// [`NameEntry`] or the zone's [`ZoneEntry`]. What the answer path reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryView<'a>(&'a [u8]);

impl<'a> EntryView<'a> {
    fn count(&self) -> usize {
        self.0.first().map_or(0, |&n| usize::from(n))
    }

    /// Every RRset, sorted by type.
    #[inline]
    pub fn rrsets(self) -> impl Iterator<Item = Rrset<'a>> {
        let p = self.0;
        let n = self.count();
        let mut off = 2 + n * DESCRIPTOR;
        (0..n).map(move |i| {
            let d = 2 + i * DESCRIPTOR;
            let len = u32_at(p, d + 8) as usize;
            let body = &p[off..off + len];
            off += len;
            Rrset {
                rtype: u16_at(p, d),
                counts: [u16_at(p, d + 2), u16_at(p, d + 4), u16_at(p, d + 6)],
                body,
                additional_at: u32_at(p, d + 12),
            }
        })
    }

    /// The prebuilt answer for `rtype`, if this name holds that type.
    #[inline]
    pub fn rrset(self, rtype: u16) -> Option<Rrset<'a>> {
        self.rrsets().find(|r| r.rtype == rtype)
    }

    /// For an ExternalName service: the CNAME target in lowercased wire form. Any
    /// query type other than CNAME answers the CNAME plus, when the target lies in
    /// the zone, the target's records (spec §2.5).
    #[inline]
    pub fn cname_target(self) -> Option<&'a [u8]> {
        if self.0.get(1).is_none_or(|f| f & 1 == 0) {
            return None;
        }
        let n = self.count();
        let bodies: usize = (0..n).map(|i| u32_at(self.0, 2 + i * DESCRIPTOR + 8) as usize).sum();
        self.0.get(2 + n * DESCRIPTOR + bodies..)
    }

    /// An owned copy.
    pub fn to_entry(self) -> NameEntry {
        NameEntry { packed: self.0.into() }
    }
}

/// One name of the zone and its entry in a single allocation: `[name length]`, the
/// lowercased wire name, then the packed entry. Hashed, compared and borrowed as its
/// name, so the zone's map is keyed by it directly (a separate key box and an inline
/// `NameEntry` cost ~40 bytes more per name: ~1.4 MB for 22,500 names).
#[derive(Clone)]
pub struct ZoneEntry {
    /// `[len, name.., entry..]`.
    packed: Box<[u8]>,
}

impl ZoneEntry {
    /// Stores `entry` under `name` (a wire name: at most 255 bytes, RFC 1035 §3.1).
    pub fn new(name: &[u8], entry: &NameEntry) -> ZoneEntry {
        let len = u8::try_from(name.len()).expect("wire names are at most 255 bytes");
        let mut b = Vec::with_capacity(1 + name.len() + entry.packed.len());
        b.push(len);
        b.extend_from_slice(name);
        b.extend_from_slice(&entry.packed);
        ZoneEntry { packed: b.into_boxed_slice() }
    }

    /// The lowercased wire name.
    #[inline]
    pub fn name(&self) -> &[u8] {
        &self.packed[1..1 + usize::from(self.packed[0])]
    }

    /// The entry.
    #[inline]
    pub fn view(&self) -> EntryView<'_> {
        EntryView(&self.packed[1 + usize::from(self.packed[0])..])
    }
}

impl std::borrow::Borrow<[u8]> for ZoneEntry {
    fn borrow(&self) -> &[u8] {
        self.name()
    }
}

impl std::hash::Hash for ZoneEntry {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state); // as `[u8]` hashes, so lookups by name find it
    }
}

impl PartialEq for ZoneEntry {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for ZoneEntry {}

impl std::fmt::Debug for ZoneEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneEntry").field("name", &self.name()).field("entry", &self.view()).finish()
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
    fn entries_pack_and_unpack() {
        let q = to_wire("ext.prod.svc.cluster.local").unwrap();
        let t: Box<[u8]> = to_wire("www.example.com").unwrap().into();
        let a = Rr { owner: q.clone().into(), ttl: 5, data: Rdata::A("10.96.0.20".parse().unwrap()) };
        let cname = Rr { owner: q.clone().into(), ttl: 5, data: Rdata::Cname(t.clone()) };
        let sets = [Prebuilt::encode(&q, 1, &[a], &[]), Prebuilt::encode(&q, 5, &[cname], &[])];
        let e = NameEntry::new(&sets, Some(&t));
        let got: Vec<Rrset<'_>> = e.view().rrsets().collect();
        assert_eq!(got, vec![sets[0].as_rrset(), sets[1].as_rrset()]);
        assert_eq!(e.view().rrset(5), Some(sets[1].as_rrset()));
        assert_eq!(e.view().rrset(28), None);
        assert_eq!(e.view().cname_target(), Some(&t[..]));
        let plain = NameEntry::new(&sets[..1], None);
        assert_eq!((plain.view().rrsets().count(), plain.view().cname_target()), (1, None));
        let empty = NameEntry::new(&[], None);
        assert_eq!((empty.view().rrsets().count(), empty.view().cname_target()), (0, None));
        assert_eq!(empty, NameEntry::default());
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
