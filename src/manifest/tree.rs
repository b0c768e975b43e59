//! A located value tree: YAML or JSON parsed once into nodes that remember their source line.
//!
//! Parsing goes through serde-saphyr's [`Spanned`] wrapper at every node, so lines come from the
//! YAML parser itself (block and flow style alike) rather than from re-scanning the text. The tree
//! is converted to `serde_json::Value` for typed decoding and kept for two later uses: mapping a
//! field path (from a decode error, a validation error or an unknown field) to a line, and
//! finding fields the typed decoder did not keep.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// One parsed node with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub value: Value,
}

/// A map entry: key, the line of the key, value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_line: usize,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.node)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The line of the deepest node on `path` that exists: the key's line for a map entry, the
    /// item's line for a sequence element. A path into a missing field thus points at its parent.
    pub fn line_of(&self, path: &[Seg]) -> usize {
        let mut node = self;
        let mut line = self.line;
        for seg in path {
            match (seg, &node.value) {
                (Seg::Key(k), Value::Map(entries)) => match entries.iter().find(|e| &e.key == k) {
                    Some(e) => {
                        line = e.key_line;
                        node = &e.node;
                    }
                    None => break,
                },
                (Seg::Index(i), Value::Seq(items)) => match items.get(*i) {
                    Some(item) => {
                        line = item.line;
                        node = item;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        line
    }

    /// A short description of the node's type for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// Convert to JSON for typed decoding. Map entries whose value is null are dropped, as Go's
    /// JSON decoder leaves a field at its zero value for `null`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .filter(|e| e.node.value != Value::Null)
                    .map(|e| (e.key.clone(), e.node.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Render a path the way the API server writes field paths: `spec.ports[0].port`; map keys that
/// are not plain identifiers (label keys, say) in brackets: `metadata.labels[app.kubernetes.io/name]`.
pub(crate) fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        let in_map =
            i > 0 && matches!(&path[i - 1], Seg::Key(k) if MAP_FIELDS.contains(&k.as_str()));
        match seg {
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            Seg::Key(k)
                if !in_map
                    && !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Key(k) => {
                out.push('[');
                out.push_str(k);
                out.push(']');
            }
        }
    }
    out
}

/// Fields whose keys are data (string maps), rendered `labels[key]` as the API server does.
const MAP_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "matchLabels",
    "nodeSelector",
    "requests",
    "limits",
    "data",
];

/// Parse a rendered field path back into segments (inverse of [`render_path`]).
pub(crate) fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !cur.is_empty() {
                    segs.push(Seg::Key(std::mem::take(&mut cur)));
                }
            }
            '[' => {
                if !cur.is_empty() {
                    segs.push(Seg::Key(std::mem::take(&mut cur)));
                }
                let inner: String = chars.by_ref().take_while(|&c| c != ']').collect();
                match inner.parse::<usize>() {
                    Ok(i) => segs.push(Seg::Index(i)),
                    Err(_) => segs.push(Seg::Key(inner)),
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        segs.push(Seg::Key(cur));
    }
    segs
}

// ---- deserialization from serde-saphyr with spans ----

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            line: s.referenced.line() as usize,
            value: s.value,
        })
    }
}

/// A map key: any scalar, stringified as sigs.k8s.io/yaml does when converting YAML to JSON.
pub(crate) struct Key(pub(crate) String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(Key(match v {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_string(),
            Value::Seq(_) | Value::Map(_) => {
                return Err(de::Error::custom(
                    "a mapping key must be a scalar, not a list or map",
                ));
            }
        }))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(v),
        })
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(|u| self.visit_u64::<E>(u).unwrap())
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        String::from_utf8(v.to_vec())
            .map(Value::Str)
            .map_err(|_| E::custom("binary value is not UTF-8"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<Entry> = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            let node = map.next_value::<Node>()?;
            entries.push(Entry {
                key: key.value.0,
                key_line: key.referenced.line() as usize,
                node,
            });
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_follow_the_source() {
        let text = "a: 1\nb:\n  c: [1, 2]\n  d:\n  - x: y\n    z: 0755\n---\n# c\n---\nq: null\n";
        let docs: Vec<Node> = serde_saphyr::from_multiple_with_options(
            text,
            serde_saphyr::options! { legacy_octal_numbers: true },
        )
        .unwrap();
        eprintln!("{docs:#?}");
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn paths_round_trip() {
        let p = "spec.template.metadata.labels[app.kubernetes.io/name]";
        assert_eq!(render_path(&parse_path(p)), p);
        assert_eq!(
            parse_path("spec.ports[0].port"),
            vec![
                Seg::Key("spec".into()),
                Seg::Key("ports".into()),
                Seg::Index(0),
                Seg::Key("port".into())
            ]
        );
    }
}
