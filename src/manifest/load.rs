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
pub fn load_str(file: &Path, text: &str) -> Result<Vec<Document>, Vec<ManifestError>> {
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
    for doc in &docs {
        for w in &doc.warnings {
            tracing::warn!("{w} (ignored)");
        }
    }
    Ok(docs)
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
