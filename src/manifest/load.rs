//! Files → documents: discovery, parsing, `List` expansion, version conversion, typed decoding,
//! strict field checking and validation, every error located.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::de::{self, Ignored};
use super::tree::{Entry, Node, Parsed, Seg, Value, parse_path, parse_stream, render_path};
use super::{Document, ManifestError, Object, qualified_kind, validate};

/// Expand files and directories into the manifest files to load, like `kubectl apply -f`:
/// a file is taken as is (whatever its extension); a directory contributes its `*.yaml`,
/// `*.yml` and `*.json` files (not recursive, dotfiles skipped), sorted by name.
/// A path that does not exist is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ManifestError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| io_error(path, "cannot read manifest path", &e))?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| io_error(path, "cannot list directory", &e))?;
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
        && path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
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
    let bytes = std::fs::read(path).map_err(|e| vec![io_error(path, "cannot read manifest", &e)])?;
    let text = String::from_utf8(bytes)
        .map_err(|_| vec![ManifestError::new(path, None, "not a text file: manifests must be UTF-8 YAML or JSON")])?;
    load_str(path, &text)
}

/// Load every object of `text`, reporting errors against `file`. See [`load_file`].
pub fn load_str(file: &Path, text: &str) -> Result<Vec<Document>, Vec<ManifestError>> {
    let mut collected = collect(file, text, true)?;
    if collected.fallback {
        // A document that is not a List had a top-level `items` list, which was streamed as
        // if it were one: read the file again, whole.
        collected = collect(file, text, false)?;
    }
    let Collector { docs, mut errors, .. } = collected;
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line); // file order (stable: an object's errors keep theirs)
        return Err(errors);
    }
    log_warnings(&docs);
    Ok(docs)
}

/// Parse and decode, streaming the items of `List` documents (see [`Collector`]).
fn collect<'f>(file: &'f Path, text: &str, stream_items: bool) -> Result<Collector<'f>, Vec<ManifestError>> {
    // Text starting with `{` is JSON, as kubectl decides; if it is not valid JSON but is valid
    // YAML (a flow mapping), take the YAML, otherwise report the JSON error.
    if looks_like_json(text) {
        let mut c = Collector::new(file);
        match parse_json(file, text, stream_items, &mut |p| c.take(p)) {
            Ok(()) => return Ok(c),
            Err(json_errors) => {
                let mut c = Collector::new(file);
                return match parse_yaml(file, text, stream_items, &mut |p| c.take(p)) {
                    Ok(()) => Ok(c),
                    Err(_) => Err(json_errors),
                };
            }
        }
    }
    let mut c = Collector::new(file);
    parse_yaml(file, text, stream_items, &mut |p| c.take(p))?;
    Ok(c)
}

/// Decodes parsed documents as they arrive. Items of a `List` arrive before the list itself
/// (kubectl writes `kind: List` after `items`), each decoded at once so that only one object's
/// tree is alive at a time; they are kept aside until the list completes and confirms it is a
/// list (typed-list items without apiVersion/kind wait for it to learn them).
struct Collector<'f> {
    file: &'f Path,
    docs: Vec<Document>,
    errors: Vec<ManifestError>,
    item_docs: Vec<Document>,
    item_errors: Vec<ManifestError>,
    kindless_items: Vec<Node>,
    items_seen: bool,
    /// A document with streamed items turned out not to be a list.
    fallback: bool,
}

impl<'f> Collector<'f> {
    fn new(file: &'f Path) -> Self {
        Collector {
            file,
            docs: Vec::new(),
            errors: Vec::new(),
            item_docs: Vec::new(),
            item_errors: Vec::new(),
            kindless_items: Vec::new(),
            items_seen: false,
            fallback: false,
        }
    }

    fn take(&mut self, parsed: Parsed) {
        match parsed {
            Parsed::Item(node) => {
                self.items_seen = true;
                let has_kind = node.get("apiVersion").is_some() && node.get("kind").is_some();
                if has_kind || !matches!(node.value, Value::Map(_)) {
                    decode_all(self.file, node, None, &mut self.item_docs, &mut self.item_errors);
                } else {
                    self.kindless_items.push(node);
                }
            }
            Parsed::Root(root) if !self.items_seen => {
                decode_all(self.file, root, None, &mut self.docs, &mut self.errors);
            }
            Parsed::Root(root) => {
                self.items_seen = false;
                let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
                if kind != "List" && !kind.ends_with("List") {
                    self.fallback = true;
                    return;
                }
                let defaults = list_defaults(&root, kind);
                for node in std::mem::take(&mut self.kindless_items) {
                    decode_all(self.file, node, defaults.clone(), &mut self.item_docs, &mut self.item_errors);
                }
                self.item_docs.sort_by_key(|d| d.line);
                self.docs.append(&mut self.item_docs);
                self.errors.append(&mut self.item_errors);
            }
        }
    }
}

/// Expand (nested lists) and decode one parsed document or item.
fn decode_all(file: &Path, node: Node, defaults: Defaults, docs: &mut Vec<Document>, errors: &mut Vec<ManifestError>) {
    let mut items = Vec::new();
    expand(file, node, defaults, &mut items, errors);
    for (node, defaults) in items {
        match decode(file, node, defaults) {
            Ok(doc) => docs.push(doc),
            Err(errs) => errors.extend(errs),
        }
    }
}

/// apiVersion and kind for the items of a typed list (`PodList` → `Pod`); none for `List`.
fn list_defaults(list: &Node, kind: &str) -> Defaults {
    if kind == "List" {
        return None;
    }
    list.get("apiVersion").and_then(Node::as_str).map(|v| (v.to_string(), kind.trim_end_matches("List").to_string()))
}

/// Log each kind of warning once per file: a dump of 10,000 pods from a newer cluster has the
/// same new field 10,000 times, so the first is logged with a count of the others.
fn log_warnings(docs: &[Document]) {
    let mut groups: std::collections::BTreeMap<(&str, String), (usize, &ManifestError)> = Default::default();
    for doc in docs {
        for w in &doc.warnings {
            let field = w.field.as_deref().unwrap_or("");
            let mut pattern = String::with_capacity(field.len());
            let mut in_index = false;
            for c in field.chars() {
                match c {
                    '[' => in_index = true,
                    ']' => in_index = false,
                    c if in_index && c.is_ascii_digit() => {
                        if !pattern.ends_with('*') {
                            pattern.push('*');
                        }
                        continue;
                    }
                    _ => {}
                }
                pattern.push(c);
            }
            groups.entry((doc.object.kind(), pattern)).or_insert((0, w)).0 += 1;
        }
    }
    for ((kind, _), (count, first)) in groups {
        match count {
            1 => tracing::warn!("{first} (ignored)"),
            n => tracing::warn!("{first} (ignored; the same in {} more {kind} objects of this file)", n - 1),
        }
    }
}

fn looks_like_json(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('{')
}

/// Cap on tree nodes per parse, alias expansions included: generous for any real input (a node
/// takes at least a couple of bytes of text), fatal for alias bombs.
fn max_nodes(len: usize) -> usize {
    (2 * len).max(100_000)
}

fn parse_yaml(
    file: &Path,
    text: &str,
    stream_items: bool,
    sink: &mut dyn FnMut(Parsed),
) -> Result<(), Vec<ManifestError>> {
    parse_stream(text, max_nodes(text.len()), stream_items, sink)
        .map_err(|e| vec![ManifestError::new(file, e.line, format!("YAML syntax error: {}", e.message))])
}

/// JSON: checked with serde_json first (precise syntax errors), then each value of the stream is
/// parsed into the located tree (JSON is YAML flow syntax), its lines offset to the file.
fn parse_json(
    file: &Path,
    text: &str,
    stream_items: bool,
    sink: &mut dyn FnMut(Parsed),
) -> Result<(), Vec<ManifestError>> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    let (mut start, mut counted, mut offset) = (0, 0, 0);
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
                offset += text[counted..start].matches('\n').count();
                counted = start;
                let mut shifted = |parsed: Parsed| {
                    sink(match parsed {
                        Parsed::Item(mut node) => {
                            shift_lines(&mut node, offset);
                            Parsed::Item(node)
                        }
                        Parsed::Root(mut node) => {
                            shift_lines(&mut node, offset);
                            Parsed::Root(node)
                        }
                    })
                };
                parse_stream(chunk, max_nodes(chunk.len()), stream_items, &mut shifted).map_err(|e| {
                    vec![ManifestError::new(
                        file,
                        e.line.map(|l| l + offset),
                        format!("cannot read JSON: {}", e.message),
                    )]
                })?;
                start = end;
            }
        }
    }
    Ok(())
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

/// serde_json appends the position to its messages; the line is reported separately.
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
    let item_defaults = list_defaults(&node, kind);
    let Value::Map(entries) = node.value else {
        return;
    };
    let Some(items) = entries.into_iter().find(|e| e.key == "items") else {
        return;
    };
    match items.node.value {
        Value::Null => {}
        Value::Seq(list) => {
            for item in list {
                expand(file, item, item_defaults.clone(), out, errors);
            }
        }
        _ => errors.push(ManifestError {
            field: Some("items".into()),
            ..ManifestError::new(
                file,
                Some(items.key_line),
                format!("must be a list of objects, found {}", items.node.type_name()),
            )
        }),
    }
}

/// Decode one object.
fn decode(file: &Path, mut node: Node, defaults: Defaults) -> Result<Document, Vec<ManifestError>> {
    let err = |line: usize, field: Option<&str>, msg: String| ManifestError {
        field: field.map(str::to_string),
        ..ManifestError::new(file, Some(line), msg)
    };
    if !matches!(node.value, Value::Map(_)) {
        return Err(vec![err(
            node.line,
            None,
            format!("expected a Kubernetes object (a map with apiVersion and kind), found {}", node.type_name()),
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
    let name = metadata.and_then(|m| m.get("name")).and_then(Node::as_str).unwrap_or("").to_string();
    let namespace = metadata.and_then(|m| m.get("namespace")).and_then(Node::as_str).map(str::to_string);
    let ident = if name.is_empty() {
        qualified_kind(&api_version, &kind)
    } else {
        format!("{} {name:?}", qualified_kind(&api_version, &kind))
    };
    let located = |node: &Node, path: &[Seg], msg: String, object: String| ManifestError {
        field: Some(render_path(path)).filter(|f| !f.is_empty()),
        object: Some(object),
        ..ManifestError::new(file, Some(node.line_of(path)), msg)
    };
    if let Some(n) = metadata.and_then(|m| m.get("name")).filter(|n| !matches!(n.value, Value::Str(_) | Value::Null)) {
        return Err(vec![located(
            &node,
            &[Seg::Key("metadata".into()), Seg::Key("name".into())],
            format!("must be a string, found {}; quote the value to make it a string", n.type_name()),
            ident,
        )]);
    }
    if name.is_empty() {
        return Err(vec![located(
            &node,
            &[Seg::Key("metadata".into()), Seg::Key("name".into())],
            "Required value: name is required (generateName is not supported in manifest files, as with kubectl apply)"
                .into(),
            format!("{ident} is invalid"),
        )]);
    }

    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version.as_str()));
    let (group, version) = (group.to_string(), version.to_string());
    if defaults.is_some() {
        // Items of a typed list: the type checks apiVersion and kind, so write them in.
        node.set("apiVersion", Value::Str(api_version.clone()));
        node.set("kind", Value::Str(kind.clone()));
    }
    let no_match = |node: &Node, supported: &str| {
        vec![located(
            node,
            &[Seg::Key("apiVersion".into())],
            format!("no matches for kind {kind:?} in version {api_version:?} (supported: {supported})"),
            ident.clone(),
        )]
    };
    // Strict kinds reject unknown fields; the others (dumps of real clusters) only warn.
    let ignored = Ignored::default();
    let (decoded, strict) = match (group.as_str(), kind.as_str()) {
        ("", "Namespace" | "Service" | "Endpoints" | "Pod" | "PersistentVolumeClaim") if version != "v1" => {
            return Err(no_match(&node, "v1"));
        }
        ("", "Namespace") => (typed(&node, &ignored, Object::Namespace), false),
        ("", "Service") => (typed(&node, &ignored, Object::Service), false),
        ("", "Endpoints") => (typed(&node, &ignored, Object::Endpoints), false),
        ("", "Pod") => (typed(&node, &ignored, Object::Pod), false),
        ("", "PersistentVolumeClaim") => (typed(&node, &ignored, Object::PersistentVolumeClaim), false),
        ("discovery.k8s.io", "EndpointSlice") if version != "v1" => {
            return Err(no_match(&node, "discovery.k8s.io/v1"));
        }
        ("discovery.k8s.io", "EndpointSlice") => (typed(&node, &ignored, Object::EndpointSlice), false),
        ("apps", "StatefulSet" | "ControllerRevision") if !matches!(version.as_str(), "v1" | "v1beta1" | "v1beta2") => {
            return Err(no_match(&node, "apps/v1, apps/v1beta1, apps/v1beta2"));
        }
        ("apps", "StatefulSet") => {
            convert_statefulset(&mut node, &version);
            (typed(&node, &ignored, Object::StatefulSet), true)
        }
        ("apps", "ControllerRevision") => {
            node.set("apiVersion", Value::Str("apps/v1".into()));
            (typed(&node, &ignored, Object::ControllerRevision), false)
        }
        _ => {
            let object = Object::Other { api_version, kind, namespace, name };
            return Ok(Document { file: file.to_path_buf(), line: node.line, object, warnings: Vec::new() });
        }
    };
    let object = match decoded {
        Ok(object) => object,
        Err((path, msg)) => return Err(vec![located(&node, &path, msg, ident)]),
    };

    let mut warnings = Vec::new();
    for (path, _line) in ignored.into_inner() {
        let Some(Seg::Key(leaf)) = path.last() else {
            continue;
        };
        let mut msg = format!("unknown field {leaf:?}");
        if let Some(hint) = hint(&object, &path) {
            msg.push_str("; ");
            msg.push_str(&hint);
        }
        let e = located(&node, &path, msg, ident.clone());
        if strict { errors.push(e) } else { warnings.push(e) }
    }
    for fe in validate(&object) {
        let path = parse_path(&fe.field);
        let mut e = located(&node, &path, fe.message, format!("{ident} is invalid"));
        e.field = Some(fe.field); // as validation wrote it: `spec.resources[storage]`
        errors.push(e);
    }
    if errors.is_empty() {
        Ok(Document { file: file.to_path_buf(), line: node.line, object, warnings })
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

fn describe(n: &Node) -> String {
    match &n.value {
        Value::Str(s) => format!("{s:?}"),
        _ => n.type_name().to_string(),
    }
}

/// Decode into `T`: the object, or the failing field's path and the message.
fn typed<'a, T: serde::Deserialize<'a>>(
    node: &'a Node,
    ignored: &'a Ignored,
    wrap: fn(T) -> Object,
) -> Result<Object, (Vec<Seg>, String)> {
    de::decode(node, ignored).map(wrap).map_err(|e| (e.path.unwrap_or_default(), with_quote_hint(e.message)))
}

/// A scalar where a string belongs is almost always a YAML value that needs quotes.
fn with_quote_hint(msg: String) -> String {
    if !msg.ends_with("expected a string") {
        return msg;
    }
    if msg.starts_with("invalid type: boolean") {
        format!("{msg}; quote the value to make it a string (YAML reads unquoted y, yes, on, n, no, off as booleans)")
    } else if msg.starts_with("invalid type: integer") || msg.starts_with("invalid type: floating point") {
        format!("{msg}; quote the value to make it a string")
    } else {
        msg
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
    Some(format!("{leaf} is a container field: move it into a container, under {spec}.containers[*].{leaf}"))
}

/// Legacy StatefulSet versions → apps/v1, before decoding. apps/v1beta1 defaulted the selector
/// from the template labels and used `OnDelete` updates; apps/v1beta2 already required a
/// selector and defaulted to `RollingUpdate`, as apps/v1 does. Added fields take the line of
/// the map they are added to.
fn convert_statefulset(node: &mut Node, version: &str) {
    node.set("apiVersion", Value::Str("apps/v1".into()));
    if version != "v1beta1" {
        return;
    }
    let Some(spec) = node.get_mut("spec").filter(|s| matches!(s.value, Value::Map(_))) else {
        return;
    };
    let line = spec.line;
    if spec.get("selector").is_none() {
        let labels = spec.get("template").and_then(|t| t.get("metadata")).and_then(|m| m.get("labels"));
        if let Some(labels) = labels.filter(|l| matches!(&l.value, Value::Map(e) if !e.is_empty())) {
            let match_labels = Entry { key: "matchLabels".into(), key_line: labels.line, node: labels.clone() };
            spec.set("selector", Value::Map(vec![match_labels]));
        }
    }
    let on_delete =
        || Entry { key: "type".into(), key_line: line, node: Node { line, value: Value::Str("OnDelete".into()) } };
    match spec.get_mut("updateStrategy") {
        None => spec.set("updateStrategy", Value::Map(vec![on_delete()])),
        Some(Node { value: Value::Map(entries), .. }) if !entries.iter().any(|e| e.key == "type") => {
            entries.push(on_delete())
        }
        Some(_) => {}
    }
}
