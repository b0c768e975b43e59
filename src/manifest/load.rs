//! Files → documents: discovery, parsing, `List` expansion, version conversion, typed decoding,
//! strict field checking and validation, every error located.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::tree::{Node, Seg, Value, parse_path, render_path};
use super::{Document, ManifestError, Object, qualified_kind, validate};

/// Expand files and directories into the manifest files to load, like `kubectl apply -f`:
/// a file is taken as is (whatever its extension); a directory contributes its `*.yaml`,
/// `*.yml` and `*.json` files (not recursive, dotfiles skipped), sorted by name.
/// A path that does not exist is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ManifestError> {
    let mut out = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|e| io_error(path, "cannot read manifest path", &e))?;
        if meta.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| io_error(path, "cannot list directory", &e))?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| io_error(path, "cannot list directory", &e))?;
                let file = entry.path();
                if is_manifest_name(&file) && std::fs::metadata(&file).is_ok_and(|m| m.is_file()) {
                    files.push(file);
                }
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(path.clone());
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

/// Whether a file in a manifest directory is loaded: `*.yaml|*.yml|*.json`, not a dotfile.
pub(crate) fn is_manifest_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.')
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> ManifestError {
    let detail = match e.kind() {
        std::io::ErrorKind::NotFound => "the path does not exist".to_string(),
        _ => e.to_string(),
    };
    ManifestError::new(path, None, format!("{what}: {detail}"))
}

/// Load every object of one file. All or nothing: on any error, all errors of the file (each
/// with its line) and no documents.
pub fn load_file(path: &Path) -> Result<Vec<Document>, Vec<ManifestError>> {
    let bytes =
        std::fs::read(path).map_err(|e| vec![io_error(path, "cannot read manifest", &e)])?;
    let text = String::from_utf8(bytes).map_err(|_| {
        vec![ManifestError::new(
            path,
            None,
            "not a text file: manifests must be UTF-8 YAML or JSON",
        )]
    })?;
    load_str(path, &text)
}

/// Load every object of `text`, reporting errors against `file`. See [`load_file`].
///
/// YAML goes through [`stream`] first, which decodes `List` items one at a time as the
/// parser yields them, so a 10,000-pod dump never exists as one located tree (that
/// tree peaked at ~140 MB and glibc kept it resident). Anything unusual — a syntax
/// error, an invalid object, a typed list whose items rely on the list's defaults —
/// falls back to the whole-file path below, which produces every located message.
pub fn load_str(file: &Path, text: &str) -> Result<Vec<Document>, Vec<ManifestError>> {
    if !looks_like_json(text)
        && let Some(docs) = stream::load(file, text)
    {
        log_warnings(&docs);
        return Ok(docs);
    }
    load_str_located(file, text)
}

fn log_warnings(docs: &[Document]) {
    for doc in docs {
        for w in &doc.warnings {
            tracing::warn!("{w} (ignored)");
        }
    }
}

/// The whole-file path: every root parsed into one located tree, then expanded and decoded.
fn load_str_located(file: &Path, text: &str) -> Result<Vec<Document>, Vec<ManifestError>> {
    let roots = if looks_like_json(text) {
        parse_json(file, text)?
    } else {
        parse_yaml(file, text)?
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for root in roots {
        expand(file, root, None, &mut items, &mut errors);
    }
    let mut docs = Vec::with_capacity(items.len());
    for (node, defaults) in items {
        match decode(file, &node, defaults) {
            Ok(doc) => docs.push(doc),
            Err(errs) => errors.extend(errs),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    log_warnings(&docs);
    Ok(docs)
}

/// Streaming YAML decoding: the happy path of [`load_str`].
///
/// A root document's `items` sequence is not built into the tree: each item is parsed
/// into its own located [`Node`], expanded and decoded at once, and dropped, so only
/// one item's tree is alive at a time. Lines still come from the parser, so decoded
/// documents and their warnings are exactly those of the whole-file path. Any error
/// returns `None` and [`load_str`] starts over on the whole-file path for its messages.
mod stream {
    use std::cell::RefCell;
    use std::fmt;
    use std::path::{Path, PathBuf};

    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_saphyr::Spanned;

    use super::super::tree::{Entry, Key, Node, Value};
    use super::super::Document;

    /// Where items decoded during parsing go (serde's `Deserialize` takes no context).
    struct Sink {
        file: PathBuf,
        docs: Vec<Document>,
        failed: bool,
    }

    thread_local! {
        static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
    }

    fn with_sink(f: impl FnOnce(&mut Sink)) {
        SINK.with(|s| {
            if let Some(sink) = s.borrow_mut().as_mut() {
                f(sink);
            }
        });
    }

    fn fail() {
        with_sink(|s| s.failed = true);
    }

    pub(super) fn load(file: &Path, text: &str) -> Option<Vec<Document>> {
        SINK.with(|s| *s.borrow_mut() = Some(Sink { file: file.to_path_buf(), docs: Vec::new(), failed: false }));
        let roots = serde_saphyr::from_multiple_with_options::<Root>(text, super::yaml_options());
        let sink = SINK.with(|s| s.borrow_mut().take())?;
        let roots = roots.ok()?;
        if sink.failed {
            return None;
        }
        let mut streamed = sink.docs.into_iter();
        let mut docs = Vec::with_capacity(streamed.len() + roots.len());
        for root in roots {
            match root.streamed {
                Some(n) => {
                    let kind = root.node.get("kind").and_then(Node::as_str).unwrap_or("");
                    if !kind.ends_with("List") {
                        return None; // `items` of something else: the whole-file path decides.
                    }
                    docs.extend(streamed.by_ref().take(n));
                }
                None => {
                    let mut items = Vec::new();
                    let mut errors = Vec::new();
                    super::expand(file, root.node, None, &mut items, &mut errors);
                    if !errors.is_empty() {
                        return None;
                    }
                    for (node, defaults) in items {
                        docs.push(super::decode(file, &node, defaults).ok()?);
                    }
                }
            }
        }
        Some(docs)
    }

    /// A root document: its tree without `items`, and how many items were streamed.
    struct Root {
        node: Node,
        streamed: Option<usize>,
    }

    impl<'de> Deserialize<'de> for Root {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = Spanned::<RootValue>::deserialize(d)?;
            Ok(Root { node: Node { line: s.referenced.line() as usize, value: s.value.0 }, streamed: s.value.1 })
        }
    }

    struct RootValue(Value, Option<usize>);

    impl<'de> Deserialize<'de> for RootValue {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(RootVisitor)
        }
    }

    /// Anything but a map at the root is for the whole-file path to report.
    macro_rules! unusual {
        ($($name:ident($($t:ty)?)),*) => {$(
            fn $name<E: de::Error>(self $(, _: $t)?) -> Result<RootValue, E> {
                fail();
                Ok(RootValue(Value::Null, None))
            }
        )*};
    }

    struct RootVisitor;

    impl<'de> Visitor<'de> for RootVisitor {
        type Value = RootValue;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a Kubernetes object")
        }
        unusual!(visit_unit(), visit_none(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str), visit_bytes(&[u8]));
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RootValue, D::Error> {
            RootValue::deserialize(d)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RootValue, A::Error> {
            fail();
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            Ok(RootValue(Value::Null, None))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RootValue, A::Error> {
            let mut entries = Vec::new();
            let mut streamed = None;
            while let Some(key) = map.next_key::<Spanned<Key>>()? {
                if key.value.0 == "items" && streamed.is_none() {
                    streamed = Some(map.next_value::<Items>()?.0);
                    continue;
                }
                let node = map.next_value::<Node>()?;
                entries.push(Entry { key: key.value.0, key_line: key.referenced.line() as usize, node });
            }
            Ok(RootValue(Value::Map(entries), streamed))
        }
    }

    /// A root's `items`: each item decoded into the sink as soon as it is parsed.
    struct Items(usize);

    impl<'de> Deserialize<'de> for Items {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ItemsVisitor)
        }
    }

    struct ItemsVisitor;

    macro_rules! not_a_list {
        ($($name:ident($($t:ty)?)),*) => {$(
            fn $name<E: de::Error>(self $(, _: $t)?) -> Result<Items, E> {
                fail();
                Ok(Items(0))
            }
        )*};
    }

    impl<'de> Visitor<'de> for ItemsVisitor {
        type Value = Items;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of objects")
        }
        not_a_list!(visit_unit(), visit_none(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str), visit_bytes(&[u8]));
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Items, D::Error> {
            Items::deserialize(d)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Items, A::Error> {
            fail();
            while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
            Ok(Items(0))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
            let mut n = 0;
            while let Some(item) = seq.next_element::<Node>()? {
                with_sink(|sink| {
                    if sink.failed {
                        return;
                    }
                    let mut items = Vec::new();
                    let mut errors = Vec::new();
                    super::expand(&sink.file, item, None, &mut items, &mut errors);
                    if !errors.is_empty() {
                        sink.failed = true;
                        return;
                    }
                    for (node, defaults) in items {
                        match super::decode(&sink.file, &node, defaults) {
                            Ok(doc) => {
                                sink.docs.push(doc);
                                n += 1;
                            }
                            Err(_) => sink.failed = true,
                        }
                    }
                });
            }
            Ok(Items(n))
        }
    }
}

fn looks_like_json(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('{')
}

fn yaml_options() -> serde_saphyr::Options {
    // As kubectl reads YAML (go-yaml v2, YAML 1.1 scalars): `0755` is octal, yes/no are booleans.
    // serde-saphyr's default budget (250k nodes, 1k documents) guards against YAML
    // bombs but rejects a real cluster dump (10k pods ≈ 400k nodes). Manifests are
    // local files the operator chose, so the caps are raised to what a 100k-object
    // dump needs; the input-size cap (256 MiB) and alias limits stay.
    serde_saphyr::options! {
        legacy_octal_numbers: true,
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_nodes: 50_000_000,
            max_events: 200_000_000,
            max_documents: 1_000_000,
            max_total_scalar_bytes: 256 * 1024 * 1024,
        },
    }
}

fn parse_yaml(file: &Path, text: &str) -> Result<Vec<Node>, Vec<ManifestError>> {
    serde_saphyr::from_multiple_with_options::<Node>(text, yaml_options()).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize).filter(|&l| l > 0);
        vec![ManifestError::new(
            file,
            line,
            format!("YAML syntax error: {}", strip_position(&e.to_string())),
        )]
    })
}

/// JSON: checked with serde_json first (precise syntax errors), then each value of the stream is
/// parsed into the located tree (JSON is YAML flow syntax), its lines offset to the file.
fn parse_json(file: &Path, text: &str) -> Result<Vec<Node>, Vec<ManifestError>> {
    let mut roots = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    loop {
        match stream.next() {
            None => break,
            Some(Err(e)) => {
                let msg = strip_position(&e.to_string());
                return Err(vec![ManifestError::new(
                    file,
                    Some(e.line()).filter(|&l| l > 0),
                    format!("JSON syntax error: {msg} (column {})", e.column()),
                )]);
            }
            Some(Ok(_)) => {
                let end = stream.byte_offset();
                let chunk = &text[start..end];
                let offset = text[..start].matches('\n').count();
                let mut node: Node = serde_saphyr::from_str_with_options(chunk, yaml_options())
                    .map_err(|e| {
                        let line = e.location().map(|l| l.line() as usize + offset);
                        vec![ManifestError::new(
                            file,
                            line,
                            format!("cannot read JSON: {}", strip_position(&e.to_string())),
                        )]
                    })?;
                shift_lines(&mut node, offset);
                roots.push(node);
                start = end;
            }
        }
    }
    Ok(roots)
}

fn shift_lines(node: &mut Node, offset: usize) {
    if offset == 0 {
        return;
    }
    node.line += offset;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| shift_lines(n, offset)),
        Value::Map(entries) => entries.iter_mut().for_each(|e| {
            e.key_line += offset;
            shift_lines(&mut e.node, offset);
        }),
        _ => {}
    }
}

/// serde-saphyr and serde_json append the position to their messages; the line is reported
/// separately, so drop it.
fn strip_position(msg: &str) -> String {
    let msg = msg.trim();
    for marker in [" at line ", " at position "] {
        if let Some(i) = msg.rfind(marker) {
            return msg[..i].trim_end_matches(',').to_string();
        }
    }
    msg.to_string()
}

type Defaults = Option<(String, String)>;

/// Flatten `List` / `*List` objects into their items. Items of a typed list (`PodList`, as the
/// API returns it) may omit apiVersion and kind; they default from the list.
fn expand(
    file: &Path,
    node: Node,
    defaults: Defaults,
    out: &mut Vec<(Node, Defaults)>,
    errors: &mut Vec<ManifestError>,
) {
    let kind = node.get("kind").and_then(Node::as_str).unwrap_or("");
    let is_list = kind == "List" || (kind.ends_with("List") && node.get("items").is_some());
    if !is_list {
        out.push((node, defaults));
        return;
    }
    let item_defaults = if kind == "List" {
        None
    } else {
        node.get("apiVersion")
            .and_then(Node::as_str)
            .map(|v| (v.to_string(), kind.trim_end_matches("List").to_string()))
    };
    let Some(items) = node.get("items") else {
        return;
    };
    match &items.value {
        Value::Null => {}
        Value::Seq(list) => {
            for item in list {
                expand(file, item.clone(), item_defaults.clone(), out, errors);
            }
        }
        _ => errors.push(ManifestError {
            field: Some("items".into()),
            ..ManifestError::new(
                file,
                Some(items.line),
                format!("must be a list of objects, found a {}", items.type_name()),
            )
        }),
    }
}

/// Decode one object.
fn decode(file: &Path, node: &Node, defaults: Defaults) -> Result<Document, Vec<ManifestError>> {
    let err = |line: usize, field: Option<&str>, msg: String| ManifestError {
        field: field.map(str::to_string),
        ..ManifestError::new(file, Some(line), msg)
    };
    if !matches!(node.value, Value::Map(_)) {
        return Err(vec![err(
            node.line,
            None,
            format!(
                "expected a Kubernetes object (a map with apiVersion and kind), found a {}",
                node.type_name()
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut string_field = |key: &str, default: Option<&str>| -> Option<String> {
        match node.get(key) {
            Some(n) => match n.as_str() {
                Some(s) if !s.is_empty() => Some(s.to_string()),
                _ if n.value == Value::Null && default.is_some() => default.map(str::to_string),
                _ => {
                    errors.push(err(
                        node.line_of(&[Seg::Key(key.into())]),
                        Some(key),
                        format!("must be a non-empty string, found {}", describe(n)),
                    ));
                    None
                }
            },
            None => match default {
                Some(d) => Some(d.to_string()),
                None => {
                    errors.push(err(
                        node.line,
                        Some(key),
                        "Required value: every object needs apiVersion and kind".into(),
                    ));
                    None
                }
            },
        }
    };
    let api_version = string_field("apiVersion", defaults.as_ref().map(|d| d.0.as_str()));
    let kind = string_field("kind", defaults.as_ref().map(|d| d.1.as_str()));
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        return Err(errors);
    };

    let metadata = node.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_str)
        .map(str::to_string);
    let ident = if name.is_empty() {
        qualified_kind(&api_version, &kind)
    } else {
        format!("{} {name:?}", qualified_kind(&api_version, &kind))
    };
    let located = |path: &[Seg], msg: String, object: String| ManifestError {
        field: Some(render_path(path)).filter(|f| !f.is_empty()),
        object: Some(object),
        ..ManifestError::new(file, Some(node.line_of(path)), msg)
    };
    if name.is_empty() {
        return Err(vec![located(
            &[Seg::Key("metadata".into()), Seg::Key("name".into())],
            "Required value: name is required (generateName is not supported in manifest files, as with kubectl apply)".into(),
            format!("{ident} is invalid"),
        )]);
    }

    let (group, version) = api_version
        .rsplit_once('/')
        .unwrap_or(("", api_version.as_str()));
    let mut json = node.to_json();
    if let (Some((v, k)), Json::Object(map)) = (&defaults, &mut json) {
        map.entry("apiVersion")
            .or_insert_with(|| Json::String(v.clone()));
        map.entry("kind").or_insert_with(|| Json::String(k.clone()));
    }
    let no_match = |supported: &str| {
        vec![located(
            &[Seg::Key("apiVersion".into())],
            format!(
                "no matches for kind {kind:?} in version {api_version:?} (supported: {supported})"
            ),
            ident.clone(),
        )]
    };
    // Strict kinds reject unknown fields; the others (dumps of real clusters) only warn.
    let (decoded, strict) = match (group, kind.as_str()) {
        ("", "Namespace" | "Service" | "Endpoints" | "Pod" | "PersistentVolumeClaim")
            if version != "v1" =>
        {
            return Err(no_match("v1"));
        }
        ("", "Namespace") => (typed(json, Object::Namespace), false),
        ("", "Service") => (typed(json, Object::Service), false),
        ("", "Endpoints") => (typed(json, Object::Endpoints), false),
        ("", "Pod") => (typed(json, Object::Pod), false),
        ("", "PersistentVolumeClaim") => (typed(json, Object::PersistentVolumeClaim), false),
        ("discovery.k8s.io", "EndpointSlice") if version != "v1" => {
            return Err(no_match("discovery.k8s.io/v1"));
        }
        ("discovery.k8s.io", "EndpointSlice") => (typed(json, Object::EndpointSlice), false),
        ("apps", "StatefulSet" | "ControllerRevision")
            if !matches!(version, "v1" | "v1beta1" | "v1beta2") =>
        {
            return Err(no_match("apps/v1, apps/v1beta1, apps/v1beta2"));
        }
        ("apps", "StatefulSet") => {
            convert_statefulset(&mut json, version);
            (typed(json, Object::StatefulSet), true)
        }
        ("apps", "ControllerRevision") => {
            json["apiVersion"] = Json::String("apps/v1".into());
            (typed(json, Object::ControllerRevision), false)
        }
        _ => {
            let object = Object::Other {
                api_version,
                kind,
                namespace,
                name,
            };
            return Ok(Document {
                file: file.to_path_buf(),
                line: node.line,
                object,
                warnings: Vec::new(),
            });
        }
    };
    let (object, output) = match decoded {
        Ok(ok) => ok,
        Err((path, msg)) => return Err(vec![located(&path, msg, ident)]),
    };

    let mut warnings = Vec::new();
    let mut unknown = Vec::new();
    unknown_fields(node, &output, &mut Vec::new(), &mut unknown);
    for path in unknown {
        let Some(Seg::Key(leaf)) = path.last() else {
            continue;
        };
        let mut msg = format!("unknown field {leaf:?}");
        if let Some(hint) = hint(&object, &path) {
            msg.push_str("; ");
            msg.push_str(&hint);
        }
        let e = located(&path, msg, ident.clone());
        if strict {
            errors.push(e)
        } else {
            warnings.push(e)
        }
    }
    for fe in validate(&object) {
        let path = parse_path(&fe.field);
        errors.push(located(&path, fe.message, format!("{ident} is invalid")));
    }
    if errors.is_empty() {
        Ok(Document {
            file: file.to_path_buf(),
            line: node.line,
            object,
            warnings,
        })
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

fn describe(n: &Node) -> String {
    match &n.value {
        Value::Str(s) => format!("{s:?}"),
        _ => format!("a {}", n.type_name()),
    }
}

/// Decode into `T` with the failing field's path; return the object and `T` serialized again
/// (to find the fields `T` dropped).
fn typed<T>(json: Json, wrap: fn(T) -> Object) -> Result<(Object, Json), (Vec<Seg>, String)>
where
    T: DeserializeOwned + Serialize,
{
    let value: T = serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        (path, with_quote_hint(e.into_inner().to_string()))
    })?;
    let output = serde_json::to_value(&value)
        .map_err(|e| (Vec::new(), format!("cannot re-encode object: {e}")))?;
    Ok((wrap(value), output))
}

/// A scalar where a string belongs is almost always a YAML value that needs quotes.
fn with_quote_hint(msg: String) -> String {
    if !msg.ends_with("expected a string") {
        return msg;
    }
    if msg.starts_with("invalid type: boolean") {
        format!(
            "{msg}; quote the value to make it a string (YAML reads unquoted y, yes, on, n, no, off as booleans)"
        )
    } else if msg.starts_with("invalid type: integer")
        || msg.starts_with("invalid type: floating point")
    {
        format!("{msg}; quote the value to make it a string")
    } else {
        msg
    }
}

/// Fields present (and not null) in the source but absent from the typed object serialized
/// again: the fields the type does not know. Values are not compared (int-or-string,
/// quantities and timestamps may be spelled differently), only keys.
fn unknown_fields(input: &Node, output: &Json, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match (&input.value, output) {
        (Value::Map(entries), Json::Object(map)) => {
            for e in entries {
                if e.node.value == Value::Null {
                    continue;
                }
                path.push(Seg::Key(e.key.clone()));
                match map.get(&e.key) {
                    None => out.push(path.clone()),
                    Some(v) => unknown_fields(&e.node, v, path, out),
                }
                path.pop();
            }
        }
        (Value::Seq(items), Json::Array(list)) => {
            for (i, (item, v)) in items.iter().zip(list).enumerate() {
                path.push(Seg::Index(i));
                unknown_fields(item, v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

const CONTAINER_FIELDS: &[&str] = &[
    "image",
    "command",
    "args",
    "workingDir",
    "ports",
    "envFrom",
    "env",
    "resources",
    "volumeMounts",
    "volumeDevices",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "imagePullPolicy",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "stdin",
    "stdinOnce",
    "tty",
    "resizePolicy",
];

/// What to do about an unknown field, when the mistake is a common one.
fn hint(object: &Object, path: &[Seg]) -> Option<String> {
    let pod_spec_len = match object {
        Object::StatefulSet(_) => 3, // spec.template.spec
        Object::Pod(_) => 1,         // spec
        _ => return None,
    };
    if path.len() != pod_spec_len + 1 {
        return None;
    }
    let Some(Seg::Key(leaf)) = path.last() else {
        return None;
    };
    if !CONTAINER_FIELDS.contains(&leaf.as_str()) {
        return None;
    }
    let spec = render_path(&path[..pod_spec_len]);
    Some(format!(
        "{leaf} is a container field: move it into a container, under {spec}.containers[*].{leaf}"
    ))
}

/// Legacy StatefulSet versions → apps/v1, before decoding. apps/v1beta1 defaulted the selector
/// from the template labels and used `OnDelete` updates; apps/v1beta2 already required a
/// selector and defaulted to `RollingUpdate`, as apps/v1 does.
fn convert_statefulset(json: &mut Json, version: &str) {
    json["apiVersion"] = Json::String("apps/v1".into());
    if version != "v1beta1" {
        return;
    }
    let Some(spec) = json.get_mut("spec").and_then(Json::as_object_mut) else {
        return;
    };
    if !spec.contains_key("selector") {
        let labels = spec
            .get("template")
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("labels"));
        if let Some(labels) = labels.filter(|l| l.as_object().is_some_and(|o| !o.is_empty())) {
            let selector = serde_json::json!({ "matchLabels": labels });
            spec.insert("selector".into(), selector);
        }
    }
    match spec.get_mut("updateStrategy") {
        None => {
            spec.insert(
                "updateStrategy".into(),
                serde_json::json!({ "type": "OnDelete" }),
            );
        }
        Some(Json::Object(strategy)) if !strategy.contains_key("type") => {
            strategy.insert("type".into(), Json::String("OnDelete".into()));
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streaming path decodes exactly what the whole-file path does, lines and
    /// warnings included, and leaves anything unusual to it.
    #[test]
    fn streaming_matches_the_located_path() {
        let file = Path::new("dump.yaml");
        let list = crate::synthetic::dump_yaml(crate::synthetic::DumpSize { services: 4, pods: 8 });
        let mixed = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: a}}\n---\n{list}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: a}}\nspec:\n  containers: [{{name: c, image: i}}]\n  bogus: 1\n"
        );
        for text in [list.as_str(), mixed.as_str()] {
            let streamed = stream::load(file, text).expect("the happy path streams");
            assert_eq!(streamed, load_str_located(file, text).unwrap());
        }
        let streamed = stream::load(file, &mixed).unwrap();
        assert_eq!(streamed.last().unwrap().warnings.len(), 1, "unknown field warned, with its line");
        for unusual in [
            "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p}\n  spec: {containers: [{name: c, image: i}]}\n",
            "apiVersion: v1\nkind: List\nitems: {a: 1}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nitems: [1]\n",
            "- 1\n",
            "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n",
            "a: [\n",
        ] {
            assert!(stream::load(file, unusual).is_none(), "{unusual}");
        }
    }
}
