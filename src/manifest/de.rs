//! Typed decoding straight from the located tree, with the failing field's path and a record of
//! every field the type ignored.
//!
//! A `serde::Deserializer` over [`Node`]: it tracks the path as it descends, so an error carries
//! `spec.ports[0].port` (what `serde_path_to_error` would give), and it notes each value the
//! target type skips (`deserialize_ignored_any`, which is how `k8s-openapi` passes over fields it
//! does not know): those are the unknown fields, found during the one decoding pass rather than by
//! serializing the object again and comparing. Map entries whose value is `null` are skipped, as
//! Go's JSON decoder leaves a field at its zero value for `null`.

use std::cell::RefCell;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::tree::{Entry, Node, Seg, Value};

/// A decode error and the path of the field it is about (root when `None`).
#[derive(Debug)]
pub(crate) struct DeError {
    pub path: Option<Vec<Seg>>,
    pub message: String,
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { path: None, message: msg.to_string() }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

/// Fields the target type did not take: path and line of the key.
#[derive(Default)]
pub(crate) struct Ignored(RefCell<Vec<(Vec<Seg>, usize)>>);

impl Ignored {
    pub fn into_inner(self) -> Vec<(Vec<Seg>, usize)> {
        self.0.into_inner()
    }
}

/// Decode `T` from `node`; unknown fields are collected into `ignored`.
pub(crate) fn decode<'a, T: de::Deserialize<'a>>(node: &'a Node, ignored: &'a Ignored) -> Result<T, DeError> {
    T::deserialize(De { node, path: PathRef::Root, key_line: node.line, ignored }).map_err(|mut e| {
        e.path.get_or_insert_with(Vec::new);
        e
    })
}

#[derive(Clone, Copy)]
enum PathRef<'p> {
    Root,
    Key(&'p PathRef<'p>, &'p str),
    Index(&'p PathRef<'p>, usize),
}

impl PathRef<'_> {
    fn to_vec(self) -> Vec<Seg> {
        let mut out = Vec::new();
        let mut cur = self;
        loop {
            match cur {
                PathRef::Root => break,
                PathRef::Key(parent, k) => {
                    out.push(Seg::Key(k.to_string()));
                    cur = *parent;
                }
                PathRef::Index(parent, i) => {
                    out.push(Seg::Index(i));
                    cur = *parent;
                }
            }
        }
        out.reverse();
        out
    }
}

/// An error from inside a child gets the child's path, unless a deeper one already set it.
fn at(mut e: DeError, path: PathRef<'_>) -> DeError {
    if e.path.is_none() {
        e.path = Some(path.to_vec());
    }
    e
}

struct De<'a, 'p> {
    node: &'a Node,
    path: PathRef<'p>,
    key_line: usize,
    ignored: &'a Ignored,
}

impl<'de> Deserializer<'de> for De<'de, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::UInt(u) => visitor.visit_u64(*u),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => {
                visitor.visit_seq(Seq { items: items.iter().enumerate(), path: self.path, ignored: self.ignored })
            }
            Value::Map(entries) => visitor.visit_map(Map {
                entries: entries.iter(),
                current: None,
                remaining: entries.len(),
                path: self.path,
                ignored: self.ignored,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Str(s) => visitor.visit_enum(BorrowedStrDeserializer::<DeError>::new(s)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if !matches!(self.node.value, Value::Null) {
            self.ignored.0.borrow_mut().push((self.path.to_vec(), self.key_line));
        }
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct Seq<'a, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: PathRef<'p>,
    ignored: &'a Ignored,
}

impl<'a> SeqAccess<'a> for Seq<'a, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        let Some((i, node)) = self.items.next() else {
            return Ok(None);
        };
        let path = PathRef::Index(&self.path, i);
        seed.deserialize(De { node, path, key_line: node.line, ignored: self.ignored })
            .map(Some)
            .map_err(|e| at(e, path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a, 'p> {
    entries: std::slice::Iter<'a, Entry>,
    current: Option<&'a Entry>,
    remaining: usize,
    path: PathRef<'p>,
    ignored: &'a Ignored,
}

impl<'a> MapAccess<'a> for Map<'a, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        for entry in self.entries.by_ref() {
            self.remaining -= 1;
            if matches!(entry.node.value, Value::Null) {
                continue;
            }
            self.current = Some(entry);
            let key = BorrowedStrDeserializer::<DeError>::new(&entry.key);
            return seed.deserialize(key).map(Some).map_err(|e| at(e, PathRef::Key(&self.path, &entry.key)));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let entry = self.current.take().ok_or_else(|| de::Error::custom("value requested before key"))?;
        let path = PathRef::Key(&self.path, &entry.key);
        seed.deserialize(De { node: &entry.node, path, key_line: entry.key_line, ignored: self.ignored })
            .map_err(|e| at(e, path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}
