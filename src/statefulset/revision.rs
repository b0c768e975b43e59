//! ControllerRevisions (ref §4.1): the versioned pod template, its upstream hash and name,
//! equality, rollback and history truncation.
//!
//! Upstream: `stateful_set_utils.go` (`getPatch`, `newRevision`, `ApplyRevision`,
//! `nextRevision`), `history/controller_history.go` (`NewControllerRevision`,
//! `HashControllerRevision`, `ControllerRevisionName`, `EqualRevision`, `FindEqualRevisions`,
//! `SortControllerRevisions`), `stateful_set_control.go` (`getStatefulSetRevisions`,
//! `truncateHistory`).
//!
//! Revision data is `{"spec":{"template":{…,"$patch":"replace"}}}` encoded like Go's
//! `json.Marshal` of a `map[string]interface{}`: keys sorted, compact, HTML characters escaped
//! ([`go_json`]). The template goes through [`go_template_value`], which adds what Go's struct
//! encoding always emits (containers' `resources: {}`, and up to 1.33 `metadata.creationTimestamp:
//! null`, see [`RevisionEncoding`]) and drops what Go's `omitempty` would drop, so a template
//! defaulted by [`super::defaults`] hashes to the same name upstream gives it: golden vectors
//! `test-c77f6d978` (1.33) and `test-776999688b` (1.35), and the tutorial manifests, checked
//! against names computed with k8s.io/kubernetes v1.35.8 (see the unit tests).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Map, Value};

use super::REVISION_HASH_LABEL;
use super::identity::{obj_name, set_controller_ref, set_name, set_namespace};

/// A revision whose data cannot be applied back onto the set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevisionError {
    #[error("ControllerRevision {0} has no spec.template in its data")]
    NoTemplate(String),
    #[error("ControllerRevision {name}: cannot decode spec.template: {error}")]
    Decode { name: String, error: String },
}

// ---------------------------------------------------------------------------------------------
// Go-compatible JSON.

/// Encode a JSON value as Go's `encoding/json` encodes the equivalent `interface{}`: object keys
/// sorted bytewise, no whitespace, `<`, `>`, `&`, U+2028, U+2029 escaped as `\u…`, `\b`/`\f`
/// short escapes (Go ≥ 1.22), other control characters as `\u00XX`.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_go_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                write_go_json(&m[k], out);
            }
            out.push('}');
        }
    }
}

fn write_go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Keys whose Go type is a map with `omitempty` (dropped when empty).
const MAP_KEYS: &[&str] = &["labels", "annotations", "nodeSelector", "limits", "requests", "overhead"];
/// Non-pointer `bool` fields with `omitempty` in the pod template (dropped when false).
const BOOL_KEYS: &[&str] = &["stdin", "stdinOnce", "tty", "hostNetwork", "hostPID", "hostIPC", "readOnly"];
/// Non-pointer integer fields with `omitempty` (dropped when 0). Pointer fields such as
/// `runAsUser` or `terminationGracePeriodSeconds` keep their 0.
const ZERO_INT_KEYS: &[&str] =
    &["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold", "hostPort"];
/// String fields without `omitempty` (an empty value is still emitted); every other string
/// field of the pod template is `omitempty`.
const KEEP_EMPTY_STRING_KEYS: &[&str] =
    &["name", "mountPath", "key", "path", "fieldPath", "topologyKey", "operator", "resource", "server", "type"];

fn drop_go_omitempty(v: &mut Value, parent: &str) {
    match v {
        Value::Object(m) => {
            m.retain(|k, x| match x {
                Value::Array(a) => !(a.is_empty() && k != "containers"),
                Value::Object(o) => !(o.is_empty() && MAP_KEYS.contains(&k.as_str())),
                Value::Bool(false) => !BOOL_KEYS.contains(&k.as_str()),
                Value::Number(n) => !(n.as_i64() == Some(0) && ZERO_INT_KEYS.contains(&k.as_str())),
                // `HTTPHeader.value` has no omitempty; `EnvVar.value` has.
                Value::String(st) => {
                    !st.is_empty()
                        || KEEP_EMPTY_STRING_KEYS.contains(&k.as_str())
                        || (k == "value" && parent == "httpHeaders")
                }
                Value::Null => false,
                _ => true,
            });
            for (k, x) in m.iter_mut() {
                drop_go_omitempty(x, k);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| drop_go_omitempty(x, parent)),
        _ => {}
    }
}

/// Which upstream encoding of the pod template revision data follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevisionEncoding {
    /// Kubernetes ≥ 1.34: `metav1.Time` is `omitzero`, so no `creationTimestamp` is emitted.
    #[default]
    Current,
    /// Kubernetes ≤ 1.33: `metadata.creationTimestamp: null` is emitted (the reference's golden
    /// vector `test-c77f6d978`).
    V1_33,
}

/// The pod template as Go's `json.Marshal` of the typed struct would render it (see module doc).
pub fn go_template_value(template: &PodTemplateSpec, encoding: RevisionEncoding) -> Value {
    let mut v = serde_json::to_value(template).unwrap_or(Value::Object(Map::new()));
    drop_go_omitempty(&mut v, "");
    let obj = v.as_object_mut().expect("a PodTemplateSpec encodes as an object");
    let meta = obj.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        match encoding {
            RevisionEncoding::V1_33 => {
                meta.entry("creationTimestamp").or_insert(Value::Null);
            }
            RevisionEncoding::Current => {
                meta.remove("creationTimestamp");
            }
        }
    }
    let spec = obj.entry("spec").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(spec) = spec {
        for key in ["containers", "initContainers", "ephemeralContainers"] {
            if let Some(Value::Array(cs)) = spec.get_mut(key) {
                for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                    c.entry("resources").or_insert_with(|| Value::Object(Map::new()));
                }
            }
        }
    }
    v
}

/// `getPatch(set)`: `{"spec":{"template":{…,"$patch":"replace"}}}`.
pub fn get_patch(set: &StatefulSet, encoding: RevisionEncoding) -> Value {
    let template = set.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let mut t = go_template_value(&template, encoding);
    if let Value::Object(m) = &mut t {
        m.insert("$patch".into(), Value::String("replace".into()));
    }
    serde_json::json!({ "spec": { "template": t } })
}

/// The revision's `data.raw` bytes: Go encoding of its data.
pub fn raw_data(rev: &ControllerRevision) -> String {
    rev.data.as_ref().map(|d| go_json(&d.0)).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Hash and name.

/// 32-bit FNV-1 (not 1a), as Go's `hash/fnv.New32`.
pub fn fnv1_32(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h = h.wrapping_mul(0x0100_0193);
        h ^= u32::from(*b);
    }
    h
}

/// `rand.SafeEncodeString`: each byte mapped into `bcdfghjklmnpqrstvwxz2456789`.
pub fn safe_encode_string(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes().map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char).collect()
}

/// `HashControllerRevision(rev, &collisionCount)`: FNV-1 over raw data ++ decimal probe.
pub fn hash_revision_data(raw: &str, collision_count: i32) -> String {
    hash_revision_data_probe(raw, Some(collision_count))
}

/// `HashControllerRevision(rev, probe)` with an optional probe (`nil` ⇒ nothing appended).
pub fn hash_revision_data_probe(raw: &str, probe: Option<i32>) -> String {
    let mut bytes = raw.as_bytes().to_vec();
    if let Some(p) = probe {
        bytes.extend_from_slice(p.to_string().as_bytes());
    }
    safe_encode_string(&fnv1_32(&bytes).to_string())
}

/// `ControllerRevisionName`: `<prefix[:223]>-<hash>`.
pub fn revision_name(prefix: &str, hash: &str) -> String {
    let mut end = prefix.len().min(223);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{}", &prefix[..end], hash)
}

/// `newRevision(set, revision, &collisionCount)` (`NewControllerRevision`): labels = template
/// labels + hash label, controller ref to the set, annotations = the set's, name from the hash.
pub fn new_revision(
    set: &StatefulSet,
    revision: i64,
    collision_count: i32,
    encoding: RevisionEncoding,
) -> ControllerRevision {
    new_revision_probe(set, revision, Some(collision_count), encoding)
}

/// `newRevision(set, revision, collisionCount)` with a possibly nil collision count.
pub fn new_revision_probe(
    set: &StatefulSet,
    revision: i64,
    collision_count: Option<i32>,
    encoding: RevisionEncoding,
) -> ControllerRevision {
    let data = get_patch(set, encoding);
    let hash = hash_revision_data_probe(&go_json(&data), collision_count);
    let mut labels: BTreeMap<String, String> =
        set.spec.as_ref().and_then(|s| s.template.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert(REVISION_HASH_LABEL.into(), hash.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(set_name(set), &hash)),
            namespace: Some(set_namespace(set).to_string()),
            labels: Some(labels),
            annotations: set.metadata.annotations.clone(),
            owner_references: Some(vec![set_controller_ref(set)]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

// ---------------------------------------------------------------------------------------------
// Equality, ordering, selection.

/// `EqualRevision`: unequal if both hash labels parse as int32 and differ; else raw data equal.
pub fn equal_revision(lhs: &ControllerRevision, rhs: &ControllerRevision) -> bool {
    let h = |r: &ControllerRevision| {
        r.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).and_then(|s| s.parse::<i32>().ok())
    };
    if let (Some(a), Some(b)) = (h(lhs), h(rhs))
        && a != b
    {
        return false;
    }
    raw_data(lhs) == raw_data(rhs)
}

/// `SortControllerRevisions`: by `.revision`, then creationTimestamp, then name.
pub fn sort_revisions(revs: &mut [ControllerRevision]) {
    revs.sort_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then_with(|| match (&a.metadata.creation_timestamp, &b.metadata.creation_timestamp) {
                (Some(x), Some(y)) => x.0.cmp(&y.0),
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| obj_name(&a.metadata).cmp(obj_name(&b.metadata)))
    });
}

/// `nextRevision`: max `.revision` + 1 (1 when there is none). `revs` must be sorted.
pub fn next_revision(revs: &[ControllerRevision]) -> i64 {
    revs.last().map_or(1, |r| r.revision + 1)
}

/// `setMatchesLatestExistingRevision` (gate StatefulSetSemanticRevisionComparison, beta and on
/// since 1.35 to mitigate a 1.34 serialisation change): the latest revision, applied back onto
/// the set and re-defaulted, yields a revision equal to the proposed one. This makes revisions
/// written by another encoder (an upstream controller) match ours when the template is the same.
pub fn set_matches_latest_existing_revision(
    set: &StatefulSet,
    proposed: &ControllerRevision,
    latest: &ControllerRevision,
    encoding: RevisionEncoding,
) -> bool {
    let Ok(mut latest_set) = apply_revision(set, latest) else {
        return false;
    };
    super::defaults::default_statefulset(&mut latest_set, false);
    let reconstructed = new_revision_probe(&latest_set, -1, None, encoding);
    equal_revision(proposed, &reconstructed)
}

/// `ApplyRevision(set, revision)`: the set with the revision's pod template
/// (the stored patch is a `$patch: replace` of `spec.template`).
pub fn apply_revision(set: &StatefulSet, rev: &ControllerRevision) -> Result<StatefulSet, RevisionError> {
    let name = obj_name(&rev.metadata).to_string();
    let mut t = rev
        .data
        .as_ref()
        .and_then(|d| d.0.get("spec"))
        .and_then(|s| s.get("template"))
        .cloned()
        .ok_or_else(|| RevisionError::NoTemplate(name.clone()))?;
    if let Value::Object(m) = &mut t {
        m.remove("$patch");
    }
    let template: PodTemplateSpec =
        serde_json::from_value(t).map_err(|e| RevisionError::Decode { name, error: e.to_string() })?;
    let mut out = set.clone();
    if let Some(spec) = out.spec.as_mut() {
        spec.template = template;
    }
    Ok(out)
}
