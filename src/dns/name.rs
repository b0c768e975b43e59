//! Domain names in wire form, as the hot path sees them.
//!
//! Owns the one name representation the cache and the answer path share: the
//! **lowercased wire form** (RFC 1035 §3.1: length-prefixed labels, ending in the
//! root label). Keys are lowercased once at cache-write time, and a query name is
//! lowercased into a stack buffer, so lookups are case-insensitive (RFC 4343) with
//! no allocation. Also owns the naming rules of cluster DNS that are pure string
//! maths: dashed-IP endpoint names and reverse (`in-addr.arpa`/`ip6.arpa`) names.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Largest encoded domain name, RFC 1035 §2.3.4.
pub const MAX_NAME_LEN: usize = 255;
/// Largest label, RFC 1035 §2.3.4.
pub const MAX_LABEL_LEN: usize = 63;

/// Why a presentation-form name could not be encoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// A label was empty (two dots in a row) or longer than 63 bytes.
    #[error("label {0:?} is empty or longer than 63 bytes")]
    BadLabel(String),
    /// The whole name exceeds 255 bytes in wire form.
    #[error("name is longer than 255 bytes")]
    TooLong,
}

/// Encodes a presentation-form name (`web-0.nginx.default.svc.cluster.local`,
/// with or without the trailing dot) into lowercased wire form.
pub fn to_wire(name: &str) -> Result<Vec<u8>, NameError> {
    let mut out = Vec::with_capacity(name.len() + 2);
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return Err(NameError::BadLabel(label.to_string()));
            }
            out.push(label.len() as u8);
            out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
        }
    }
    out.push(0);
    if out.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    Ok(out)
}

/// Renders a wire-form name in presentation form with a trailing dot.
/// Bytes outside printable ASCII are escaped as `\DDD` (RFC 4343 §2.1).
pub fn to_text(wire: &[u8]) -> String {
    let mut out = String::with_capacity(wire.len() + 1);
    for label in labels(wire) {
        for &b in label {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                out.push(b as char);
            } else {
                let _ = write!(out, "\\{b:03}");
            }
        }
        out.push('.');
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// Iterates the labels of a well-formed wire name, leftmost first.
pub fn labels(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let len = *wire.get(pos)? as usize;
        if len == 0 {
            return None;
        }
        let label = wire.get(pos + 1..pos + 1 + len)?;
        pos += 1 + len;
        Some(label)
    })
}

/// Number of labels in a well-formed wire name (the root has none).
pub fn label_count(wire: &[u8]) -> usize {
    labels(wire).count()
}

/// If `name` lies in or at `zone` (both wire form, same case), returns the labels
/// in front of the zone, leftmost first, as a slice of `name`.
pub fn strip_zone<'a>(name: &'a [u8], zone: &[u8]) -> Option<&'a [u8]> {
    if name.len() < zone.len() || !name.ends_with(zone) {
        return None;
    }
    let prefix = &name[..name.len() - zone.len()];
    // The suffix must start on a label boundary: walk the prefix by lengths.
    let mut pos = 0;
    while pos < prefix.len() {
        pos += 1 + prefix[pos] as usize;
    }
    (pos == prefix.len()).then_some(prefix)
}

/// The endpoint label CoreDNS uses for an address without a hostname
/// (`endpointHostname`): `10.1.0.5` → `10-1-0-5`, `fd00::1` → `fd00--1`,
/// and a trailing `-` gets a `0` appended (`fd00::` → `fd00--0`).
pub fn dashed_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => {
            let mut s = v6.to_string().replace(':', "-");
            if s.ends_with('-') {
                s.push('0');
            }
            s
        }
    }
}

/// Parses the label of a `pods insecure|verified` record (`10-1-0-5`, or a v6
/// address with `-` for `:`). CoreDNS: exactly three dashes and no `--` means v4.
pub fn parse_dashed_ip(label: &[u8]) -> Option<IpAddr> {
    // On the query path: rewritten in a stack buffer, never on the heap.
    let mut buf = [0u8; 63];
    let buf = buf.get_mut(..label.len())?;
    let dashes = label.iter().filter(|&&b| b == b'-').count();
    let v4 = dashes == 3 && !label.windows(2).any(|w| w == b"--");
    let sep = if v4 { b'.' } else { b':' };
    for (d, &s) in buf.iter_mut().zip(label) {
        *d = if s == b'-' { sep } else { s };
    }
    let text = std::str::from_utf8(buf).ok()?;
    if v4 {
        return text.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// The reverse-lookup name of an address: RFC 1035 §3.5 for v4
/// (`d.c.b.a.in-addr.arpa.`), RFC 3596 §2.5 for v6 (32 nibbles under `ip6.arpa.`).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(73);
            for byte in v6.octets().iter().rev() {
                let _ = write!(s, "{:x}.{:x}.", byte & 0xf, byte >> 4);
            }
            s.push_str("ip6.arpa.");
            s
        }
    }
}

/// Copies `src` (a wire name) lowercased into `dst`; returns its length.
/// The caller guarantees `dst` is at least `src.len()` long.
#[inline]
pub fn lowercase_into(src: &[u8], dst: &mut [u8]) -> usize {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_ascii_lowercase();
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trip_lowercases() {
        let w = to_wire("Web-0.Nginx.default.svc.cluster.local.").unwrap();
        assert_eq!(to_text(&w), "web-0.nginx.default.svc.cluster.local.");
        assert_eq!(label_count(&w), 6);
        assert_eq!(to_wire("").unwrap(), vec![0]);
        assert_eq!(to_text(&[0]), ".");
    }

    #[test]
    fn bad_names_are_rejected() {
        assert!(matches!(to_wire("a..b"), Err(NameError::BadLabel(_))));
        assert!(matches!(to_wire(&"a".repeat(64)), Err(NameError::BadLabel(_))));
        let long = vec!["abcdefghij"; 30].join(".");
        assert_eq!(to_wire(&long), Err(NameError::TooLong));
    }

    #[test]
    fn zone_stripping_respects_label_boundaries() {
        let zone = to_wire("cluster.local").unwrap();
        let name = to_wire("a.svc.cluster.local").unwrap();
        let prefix = strip_zone(&name, &zone).unwrap();
        assert_eq!(labels(prefix).collect::<Vec<_>>(), vec![b"a" as &[u8], b"svc"]);
        assert_eq!(strip_zone(&zone, &zone), Some(&[][..]));
        // "xcluster.local" must not match zone "cluster.local".
        let other = to_wire("xcluster.local").unwrap();
        assert_eq!(strip_zone(&other, &zone), None);
    }

    #[test]
    fn dashed_ips_match_coredns() {
        assert_eq!(dashed_ip("10.1.0.5".parse().unwrap()), "10-1-0-5");
        assert_eq!(dashed_ip("5678:abcd::1".parse().unwrap()), "5678-abcd--1");
        assert_eq!(dashed_ip("fd00::".parse().unwrap()), "fd00--0");
        assert_eq!(parse_dashed_ip(b"10-1-0-5"), Some("10.1.0.5".parse().unwrap()));
        assert_eq!(parse_dashed_ip(b"fd00--1"), Some("fd00::1".parse().unwrap()));
        assert_eq!(parse_dashed_ip(b"10-1-0"), None);
        assert_eq!(parse_dashed_ip(b"not-an-ip"), None);
    }

    #[test]
    fn reverse_names() {
        assert_eq!(reverse_name("10.96.0.20".parse().unwrap()), "20.0.96.10.in-addr.arpa.");
        let v6 = reverse_name("fd00::30".parse().unwrap());
        assert!(v6.starts_with("0.3.0.0.0.0.0.0."), "{v6}");
        assert!(v6.ends_with("0.0.d.f.ip6.arpa."), "{v6}");
        assert_eq!(v6.split('.').count(), 32 + 3);
    }
}
