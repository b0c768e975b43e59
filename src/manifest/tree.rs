//! A located value tree: YAML or JSON parsed once into nodes that remember their source line.
//!
//! The tree is built straight from the YAML parser's events (granit-parser, which serde-saphyr
//! is built on), so every line comes from the parser itself, block and flow style and JSON alike,
//! rather than from re-scanning the text. Going through events rather than serde-saphyr's
//! deserializer is also what makes a 40 MB cluster dump parse in well under a second. Typed
//! objects are then decoded from the tree (`de.rs`), and any field path — from a decode error, a
//! validation error or an unknown field — maps back to its line here.

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

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries.iter_mut().find(|e| e.key == key).map(|e| &mut e.node),
            _ => None,
        }
    }

    /// Set `key` in a map node (replacing its value, or adding it on this node's line).
    pub fn set(&mut self, key: &str, value: Value) {
        let line = self.line;
        if let Value::Map(entries) = &mut self.value {
            match entries.iter_mut().find(|e| e.key == key) {
                Some(e) => e.node.value = value,
                None => entries.push(Entry { key: key.into(), key_line: line, node: Node { line, value } }),
            }
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

    /// The node's type with its article, for messages: "an integer", "a list".
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
}

/// Render a path the way the API server writes field paths: `spec.ports[0].port`; map keys that
/// are not plain identifiers (label keys, say) in brackets: `metadata.labels[app.kubernetes.io/name]`.
pub(crate) fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        let in_map = i > 0 && matches!(&path[i - 1], Seg::Key(k) if MAP_FIELDS.contains(&k.as_str()));
        match seg {
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            Seg::Key(k)
                if !in_map && !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
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
const MAP_FIELDS: &[&str] = &["labels", "annotations", "matchLabels", "nodeSelector", "requests", "limits", "data"];

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

// ---- building the tree from parser events ----

/// A syntax (or resource) error while parsing, with its 1-based line when known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParseError {
    pub line: Option<usize>,
    pub message: String,
}

/// Nesting limit for block and flow collections each (Kubernetes objects nest ~30 deep at most);
/// keeps the recursive consumers of the tree far from the stack's end.
const NESTING_LIMIT: usize = 100;

enum Pending {
    None,
    Key(String, usize),
    Merge,
}

enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<Entry>,
        pending: Pending,
        merges: Vec<Node>,
        /// Key → index, built once a map is big enough that scanning for duplicates would cost.
        index: Option<std::collections::HashMap<String, usize>>,
    },
}

/// Parse a YAML stream (JSON included: it is YAML flow syntax) into one node per non-empty
/// document. Scalars resolve as kubectl's YAML reader (go-yaml v2, YAML 1.1) resolves them;
/// anchors, aliases and `<<` merge keys are expanded; duplicate keys are errors.
/// `max_nodes` caps the tree, alias expansions included (alias bombs).
#[cfg(test)]
pub(crate) fn parse_documents(text: &str, max_nodes: usize) -> Result<Vec<Node>, ParseError> {
    let mut docs = Vec::new();
    parse_stream(text, max_nodes, false, &mut |parsed| {
        if let Parsed::Root(node) = parsed {
            docs.push(node);
        }
    })?;
    Ok(docs)
}

/// What [`parse_stream`] hands over, in source order.
pub(crate) enum Parsed {
    /// An element of the top-level `items` list of the document being parsed (when streaming
    /// items); handed over as soon as it is complete, and left out of its document.
    Item(Node),
    /// A complete, non-empty document.
    Root(Node),
}

/// Like [`parse_documents`], handing each document to `sink` as it completes. With
/// `stream_items`, each element of a document's top-level `items` list is handed over as soon as
/// it is complete (and that list is left empty in the document): a `kind: List` dump of 10,000
/// objects is then never held as one tree.
pub(crate) fn parse_stream(
    text: &str,
    max_nodes: usize,
    stream_items: bool,
    sink: &mut dyn FnMut(Parsed),
) -> Result<(), ParseError> {
    use serde_saphyr::granit_parser::{Event, Parser};
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.block_nesting_limit = NESTING_LIMIT;
    options.flow_nesting_limit = NESTING_LIMIT;
    options.set_emit_comments(false);
    let parser = Parser::new_from_str_with_options(text, options);

    let mut b = Builder {
        stack: Vec::new(),
        anchors: std::collections::HashMap::new(),
        sink,
        stream_items,
        nodes: 0,
        max_nodes,
    };
    for next in parser {
        let (event, span) = next.map_err(|e| ParseError {
            line: Some(e.marker().line()),
            message: format!("{} (column {})", e.info(), e.marker().col() + 1),
        })?;
        let line = span.start.line();
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let plain = matches!(style, serde_saphyr::granit_parser::ScalarStyle::Plain);
                if plain
                    && value == "<<"
                    && tag.is_none()
                    && let Some(Frame::Map { pending: pending @ Pending::None, .. }) = b.stack.last_mut()
                {
                    *pending = Pending::Merge;
                    continue;
                }
                let value = resolve_scalar(&value, plain, tag.as_deref())
                    .map_err(|message| ParseError { line: Some(line), message })?;
                let node = Node { line, value };
                b.count(1, line)?;
                if anchor != 0 {
                    b.anchors.insert(anchor, (node.clone(), 1));
                }
                b.push(node)?;
            }
            Event::Alias(id) => {
                let Some((node, size)) = b.anchors.get(&id).cloned() else {
                    return Err(ParseError { line: Some(line), message: "unknown alias".into() });
                };
                b.count(size, line)?;
                b.push(Node { line, value: node.value })?;
            }
            Event::SequenceStart(_, anchor, _) => b.stack.push(Frame::Seq { line, anchor, items: Vec::new() }),
            Event::MappingStart(_, anchor, _) => b.stack.push(Frame::Map {
                line,
                anchor,
                entries: Vec::new(),
                pending: Pending::None,
                merges: Vec::new(),
                index: None,
            }),
            Event::SequenceEnd => {
                let Some(Frame::Seq { line, anchor, items }) = b.stack.pop() else {
                    return Err(unbalanced(line));
                };
                b.count(1, line)?;
                b.finish(Node { line, value: Value::Seq(items) }, anchor)?;
            }
            Event::MappingEnd => {
                let Some(Frame::Map { line, anchor, mut entries, pending: _, merges, index: _ }) = b.stack.pop() else {
                    return Err(unbalanced(line));
                };
                for source in merges {
                    merge_into(&mut entries, source, line)?;
                }
                b.count(1, line)?;
                b.finish(Node { line, value: Value::Map(entries) }, anchor)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn unbalanced(line: usize) -> ParseError {
    ParseError { line: Some(line), message: "unbalanced YAML events".into() }
}

struct Builder<'s> {
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, (Node, usize)>,
    sink: &'s mut dyn FnMut(Parsed),
    stream_items: bool,
    nodes: usize,
    max_nodes: usize,
}

impl Builder<'_> {
    fn count(&mut self, n: usize, line: usize) -> Result<(), ParseError> {
        self.nodes += n;
        if self.nodes > self.max_nodes {
            return Err(ParseError {
                line: Some(line),
                message: format!("document too large: more than {} nodes (alias expansions included)", self.max_nodes),
            });
        }
        Ok(())
    }

    /// A collection ended: remember it if anchored (with its size, for alias accounting).
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), ParseError> {
        if anchor != 0 {
            let size = node.size();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.push(node)
    }

    fn push(&mut self, node: Node) -> Result<(), ParseError> {
        let top_level_item = self.stream_items
            && self.stack.len() == 2
            && matches!(&self.stack[0], Frame::Map { pending: Pending::Key(key, _), .. } if key == "items");
        match self.stack.last_mut() {
            None => {
                // An empty document (or one holding only comments or `null`) yields nothing.
                if node.value != Value::Null {
                    (self.sink)(Parsed::Root(node));
                }
            }
            Some(Frame::Seq { .. }) if top_level_item => (self.sink)(Parsed::Item(node)),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, pending, merges, index, .. }) => match std::mem::replace(pending, Pending::None)
            {
                Pending::None => {
                    let key = match node.value {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::UInt(u) => u.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_string(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(ParseError {
                                line: Some(node.line),
                                message: "a mapping key must be a scalar, not a list or map".into(),
                            });
                        }
                    };
                    *pending = Pending::Key(key, node.line);
                }
                Pending::Key(key, key_line) => {
                    let first = if entries.len() < 32 {
                        entries.iter().position(|e| e.key == key)
                    } else {
                        let index = index.get_or_insert_with(|| {
                            entries.iter().enumerate().map(|(i, e)| (e.key.clone(), i)).collect()
                        });
                        match index.entry(key.clone()) {
                            std::collections::hash_map::Entry::Occupied(o) => Some(*o.get()),
                            std::collections::hash_map::Entry::Vacant(v) => {
                                v.insert(entries.len());
                                None
                            }
                        }
                    };
                    if let Some(first) = first {
                        return Err(ParseError {
                            line: Some(key_line),
                            message: format!("duplicate key {key:?} (first on line {})", entries[first].key_line),
                        });
                    }
                    entries.push(Entry { key, key_line, node });
                }
                Pending::Merge => merges.push(node),
            },
        }
        Ok(())
    }
}

/// `<<: *base` (or a list of them): keys of the merged maps that the map does not set itself.
fn merge_into(entries: &mut Vec<Entry>, source: Node, line: usize) -> Result<(), ParseError> {
    match source.value {
        Value::Map(merged) => {
            for e in merged {
                if !entries.iter().any(|x| x.key == e.key) {
                    entries.push(e);
                }
            }
            Ok(())
        }
        Value::Seq(items) => {
            for item in items {
                merge_into(entries, item, line)?;
            }
            Ok(())
        }
        _ => Err(ParseError { line: Some(line), message: "a merge key (<<) needs a map or a list of maps".into() }),
    }
}

impl Node {
    fn size(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::size).sum(),
            Value::Map(entries) => entries.iter().map(|e| 1 + e.node.size()).sum(),
            _ => 0,
        }
    }
}

/// Resolve a scalar. Quoted and block scalars are strings; plain scalars follow go-yaml v2
/// (what `kubectl` uses): null `~`, YAML 1.1 booleans (y/yes/on/true, n/no/off/false),
/// integers (decimal, `0x` hex, `0b` binary, leading-`0` octal, `_` separators), floats.
fn resolve_scalar(s: &str, plain: bool, tag: Option<&serde_saphyr::granit_parser::Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        match tag.core_suffix() {
            Some("str") | Some("binary") | Some("timestamp") => {
                return Ok(Value::Str(s.to_string()));
            }
            Some("null") => return Ok(Value::Null),
            Some("bool") => {
                return match resolve_plain(s) {
                    v @ Value::Bool(_) => Ok(v),
                    _ => Err(format!("invalid !!bool value {s:?}")),
                };
            }
            Some("int") => {
                return match resolve_plain(s) {
                    v @ (Value::Int(_) | Value::UInt(_)) => Ok(v),
                    _ => Err(format!("invalid !!int value {s:?}")),
                };
            }
            Some("float") => {
                return match resolve_plain(s) {
                    Value::Int(i) => Ok(Value::Float(i as f64)),
                    Value::UInt(u) => Ok(Value::Float(u as f64)),
                    v @ Value::Float(_) => Ok(v),
                    _ => Err(format!("invalid !!float value {s:?}")),
                };
            }
            // The non-specific tag `!` makes a plain scalar a string.
            _ if tag.handle() == "!" && tag.suffix().is_empty() => {
                return Ok(Value::Str(s.to_string()));
            }
            _ => {}
        }
    }
    Ok(if plain { resolve_plain(s) } else { Value::Str(s.to_string()) })
}

fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return Value::Str(s.to_string());
    }
    let cleaned;
    let n = if s.contains('_') {
        cleaned = s.replace('_', "");
        cleaned.as_str()
    } else {
        s
    };
    if let Some(v) = parse_int(n) {
        return v;
    }
    if n.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E'))
        && n.bytes().any(|c| c.is_ascii_digit())
        && let Ok(f) = n.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(s.to_string())
}

fn parse_int(s: &str) -> Option<Value> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some(Value::Int((magnitude as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else if let Ok(i) = i64::try_from(magnitude) {
        Some(Value::Int(i))
    } else {
        Some(Value::UInt(magnitude))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_follow_the_source() {
        let text = "a: 1\nb:\n  c: [1, 2]\n  d:\n  - x: y\n    z: 0755\n---\n# c\n---\nq: null\n";
        let docs = parse_documents(text, 1000).unwrap();
        assert_eq!(docs.len(), 2);
        let root = &docs[0];
        assert_eq!(root.line, 1);
        assert_eq!(root.entry("b").unwrap().key_line, 2);
        let d = root.get("b").unwrap().get("d").unwrap();
        assert_eq!(d.line, 5);
        let Value::Seq(items) = &d.value else { panic!() };
        assert_eq!(items[0].get("x").unwrap().value, Value::Bool(true));
        assert_eq!(items[0].get("z").unwrap().value, Value::Int(0o755));
        assert_eq!(items[0].entry("z").unwrap().key_line, 6);
        assert_eq!(docs[1].line, 10);
        assert_eq!(docs[1].get("q").unwrap().value, Value::Null);
    }

    #[test]
    fn scalars_resolve_like_kubectl() {
        for (text, want) in [
            ("1", Value::Int(1)),
            ("-12", Value::Int(-12)),
            ("0x1F", Value::Int(31)),
            ("0755", Value::Int(493)),
            ("1_000", Value::Int(1000)),
            ("08", Value::Float(8.0)),
            ("1.0", Value::Float(1.0)),
            ("1e3", Value::Float(1000.0)),
            ("18446744073709551615", Value::UInt(u64::MAX)),
            ("yes", Value::Bool(true)),
            ("Off", Value::Bool(false)),
            ("~", Value::Null),
            ("1.2.3", Value::Str("1.2.3".into())),
            ("100Mi", Value::Str("100Mi".into())),
            ("-", Value::Str("-".into())),
            ("2024-01-01T00:00:00Z", Value::Str("2024-01-01T00:00:00Z".into())),
        ] {
            assert_eq!(resolve_plain(text), want, "{text}");
        }
        let docs = parse_documents("a: '1'\nb: !!str 2\nc: \"yes\"\nd: |\n  x\n", 100).unwrap();
        let vals: Vec<&Value> = ["a", "b", "c", "d"].iter().map(|k| &docs[0].get(k).unwrap().value).collect();
        assert_eq!(
            vals,
            [&Value::Str("1".into()), &Value::Str("2".into()), &Value::Str("yes".into()), &Value::Str("x\n".into())]
        );
    }

    #[test]
    fn anchors_merges_duplicates_and_bombs() {
        let text = "base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  b: 3\nlist: [*b, *b]\n";
        let docs = parse_documents(text, 1000).unwrap();
        let used = docs[0].get("use").unwrap();
        assert_eq!(used.get("a").unwrap().value, Value::Int(1));
        assert_eq!(used.get("b").unwrap().value, Value::Int(3));
        assert_eq!(docs[0].get("list").unwrap().line, 5);

        let mut big: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        assert_eq!(parse_documents(&big, 1000).unwrap().len(), 1);
        big.push_str("k40: again\n");
        let err = parse_documents(&big, 1000).unwrap_err();
        assert_eq!(err, ParseError { line: Some(101), message: "duplicate key \"k40\" (first on line 41)".into() });
        let err = parse_documents("a: 1\nb: 2\na: 3\n", 100).unwrap_err();
        assert_eq!(err, ParseError { line: Some(3), message: "duplicate key \"a\" (first on line 1)".into() });

        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, prev) in ["b", "c", "d", "e", "f", "g"].iter().zip(["a", "b", "c", "d", "e", "f"]) {
            bomb.push_str(&format!(
                "{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = parse_documents(&bomb, 100_000).unwrap_err();
        assert!(err.message.starts_with("document too large"), "{err:?}");
    }

    #[test]
    fn paths_round_trip() {
        let p = "spec.template.metadata.labels[app.kubernetes.io/name]";
        assert_eq!(render_path(&parse_path(p)), p);
        assert_eq!(
            parse_path("spec.ports[0].port"),
            vec![Seg::Key("spec".into()), Seg::Key("ports".into()), Seg::Index(0), Seg::Key("port".into())]
        );
    }
}
