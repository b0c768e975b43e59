//! Manifests into the embedded cluster: `POST /apply` and the `-f` files of `ordinal serve`.
//!
//! `kubectl apply` semantics, all-or-nothing: the text is loaded and validated by
//! [`crate::manifest`] (create rules), then every object that exists is checked with the update
//! rules ([`crate::manifest::validate_update`]); any error and nothing is written. Then each
//! object is created, or updated with the given fields replacing the stored ones while uid,
//! creationTimestamp, generation (bumped on spec change), status and server-assigned fields
//! (cluster IP, PVC volume, pod node) are kept. Objects are marked with the annotation
//! [`SOURCE_ANNOTATION`] (the file they came from), so a file's re-apply can prune what was
//! removed from it.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use super::controller::Propagation;
use super::store::{Key, Kind, meta_mut};
use super::{ApiError, Cluster};
use crate::manifest::{self, ManifestError, Object};

/// Annotation naming the manifest file an object was applied from.
pub const SOURCE_ANNOTATION: &str = "ordinal.dev/source";

/// Annotation with a hash of the file text an object was applied from: at startup, a file
/// whose objects all carry its current hash is not re-applied, so changes made since (`ctl
/// scale`) survive a restart as they would with a long-running API server.
pub const SOURCE_HASH_ANNOTATION: &str = "ordinal.dev/source-hash";

/// FNV-1a 64 of a file's text, as hex.
pub fn text_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// What apply did to one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApplyResult {
    pub kind: String,
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// `created`, `configured` or `unchanged`.
    pub action: &'static str,
}

/// The stored object as the manifest module's typed object (for update validation).
pub fn to_manifest_object(kind: Kind, v: &Value) -> Option<Object> {
    let v = v.clone();
    Some(match kind {
        Kind::Namespace => Object::Namespace(serde_json::from_value(v).ok()?),
        Kind::Service => Object::Service(serde_json::from_value(v).ok()?),
        Kind::EndpointSlice => Object::EndpointSlice(serde_json::from_value(v).ok()?),
        Kind::Pod => Object::Pod(serde_json::from_value(v).ok()?),
        Kind::PersistentVolumeClaim => Object::PersistentVolumeClaim(serde_json::from_value(v).ok()?),
        Kind::StatefulSet => Object::StatefulSet(serde_json::from_value(v).ok()?),
        Kind::ControllerRevision => Object::ControllerRevision(serde_json::from_value(v).ok()?),
        Kind::Event | Kind::ConfigMap => return None,
    })
}

fn object_value(obj: &Object) -> Option<Value> {
    match obj {
        Object::Namespace(o) => serde_json::to_value(o).ok(),
        Object::Service(o) => serde_json::to_value(o).ok(),
        Object::EndpointSlice(o) => serde_json::to_value(o).ok(),
        Object::Pod(o) => serde_json::to_value(o).ok(),
        Object::StatefulSet(o) => serde_json::to_value(o).ok(),
        Object::PersistentVolumeClaim(o) => serde_json::to_value(o).ok(),
        Object::ControllerRevision(o) => serde_json::to_value(o).ok(),
        Object::Endpoints(_) | Object::Other { .. } => None,
    }
}

/// The 422 for manifest errors: every error with its line, as causes.
pub fn invalid(errors: &[ManifestError]) -> ApiError {
    let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| {
            let mut c = json!({"message": e.message});
            if let Some(f) = &e.field {
                c["field"] = json!(f);
            }
            if let Some(l) = e.line {
                c["line"] = json!(l);
            }
            if let Some(o) = &e.object {
                c["object"] = json!(o);
            }
            c
        })
        .collect();
    let first_obj = errors.iter().find_map(|e| e.object.clone()).unwrap_or_default();
    // `StatefulSet.apps "kubia" is invalid` → kind, name.
    let (kind, name) = match first_obj.split_once(' ') {
        Some((k, rest)) => {
            (k.split('.').next().unwrap_or(k).to_string(), rest.split('"').nth(1).unwrap_or("").to_string())
        }
        None => (String::new(), String::new()),
    };
    ApiError::invalid(message, json!({"name": name, "kind": kind, "causes": causes}))
}

impl Cluster {
    /// Applies manifest text. `source` names the file (or `-`); it is recorded on each object.
    pub fn apply_text(&mut self, source: &str, text: &str) -> Result<Vec<ApplyResult>, ApiError> {
        self.apply_text_annotated(source, text, None)
    }

    /// [`Cluster::apply_text`], also recording `source_hash` ([`SOURCE_HASH_ANNOTATION`]).
    pub fn apply_text_annotated(
        &mut self,
        source: &str,
        text: &str,
        source_hash: Option<&str>,
    ) -> Result<Vec<ApplyResult>, ApiError> {
        let file = Path::new(if source.is_empty() { "-" } else { source });
        let docs = manifest::load_str(file, text).map_err(|errs| invalid(&errs))?;
        let new_namespaces: BTreeSet<String> = docs
            .iter()
            .filter(|d| matches!(d.object, Object::Namespace(_)))
            .map(|d| d.object.name().to_string())
            .collect();
        let mut errors = Vec::new();
        let raw = if docs.iter().any(|d| matches!(d.object, Object::Other { .. })) {
            raw_documents(text)
        } else {
            Vec::new()
        };
        let mut prepared: Vec<(Key, Value)> = Vec::new();
        for doc in &docs {
            let located = |field: Option<&str>, message: String| ManifestError {
                file: doc.file.clone(),
                line: Some(doc.line),
                field: field.map(str::to_string),
                message,
                object: Some(format!("{} {:?}", doc.object.qualified_kind(), doc.object.name())),
            };
            let Some(kind) = Kind::from_name(doc.object.kind())
                .filter(|k| *k != Kind::Event && k.api_version() == doc.object.api_version())
            else {
                errors.push(located(
                    None,
                    format!("no matches for kind {:?} in version {:?} (the embedded cluster stores Namespaces, Services, EndpointSlices, Pods, PersistentVolumeClaims, StatefulSets, ControllerRevisions and ConfigMaps)", doc.object.kind(), doc.object.api_version()),
                ));
                continue;
            };
            let value = match &doc.object {
                Object::Other { .. } => raw_object(&raw, doc.object.kind(), doc.object.name()),
                typed => object_value(typed),
            };
            let Some(mut v) = value else { continue };
            let ns = doc.object.namespace().unwrap_or("default").to_string();
            if kind.namespaced() {
                meta_mut(&mut v).insert("namespace".into(), json!(ns));
                if self.store.get(Kind::Namespace, "", &ns).is_none() && !new_namespaces.contains(&ns) {
                    errors.push(located(Some("metadata.namespace"), format!("namespaces {ns:?} not found")));
                    continue;
                }
            }
            let key = Key::new(kind, &ns, doc.object.name());
            if let Some(old) = self.store.get_key(&key) {
                if let Some(old_obj) = to_manifest_object(kind, old) {
                    let errs = manifest::validate_update(&old_obj, &doc.object);
                    if !errs.is_empty() {
                        let msg = manifest::invalid_message(&doc.object, &errs);
                        for e in &errs {
                            let mut me = located(Some(&e.field), e.message.clone());
                            me.object =
                                Some(format!("{} {:?} is invalid", doc.object.qualified_kind(), doc.object.name()));
                            errors.push(me);
                        }
                        tracing::debug!("{msg}");
                        continue;
                    }
                }
                if old.pointer("/metadata/deletionTimestamp").is_some() {
                    errors.push(located(None, "object is being deleted: try again once it is gone".into()));
                    continue;
                }
            }
            prepared.push((key, v));
        }
        if !errors.is_empty() {
            return Err(invalid(&errors));
        }
        prepared.sort_by_key(|(k, _)| k.kind != Kind::Namespace);
        let mut results = Vec::new();
        for (key, mut v) in prepared {
            if source != "-" && !source.is_empty() {
                let meta = meta_mut(&mut v);
                let ann = meta.entry("annotations").or_insert_with(|| json!({}));
                if !ann.is_object() {
                    *ann = json!({});
                }
                ann[SOURCE_ANNOTATION] = json!(source);
                if let Some(h) = source_hash {
                    ann[SOURCE_HASH_ANNOTATION] = json!(h);
                }
            }
            let old = self.store.get_key(&key).cloned();
            let action = match old {
                None => {
                    self.create(v)?;
                    "created"
                }
                Some(old) => {
                    merge_server_fields(&key, &old, &mut v);
                    let before = self.store.resource_version();
                    self.update(v)?;
                    if self.store.resource_version() == before { "unchanged" } else { "configured" }
                }
            };
            results.push(ApplyResult {
                kind: key.kind.name().into(),
                api_version: key.kind.api_version().into(),
                namespace: key.kind.namespaced().then(|| key.ns.clone()),
                name: key.name.clone(),
                action,
            });
        }
        Ok(results)
    }

    /// Deletes objects applied from `source` that are not in `keep` (a file's re-apply).
    pub fn prune_source(&mut self, source: &str, keep: &BTreeSet<Key>) -> Vec<Key> {
        let ptr = format!("/metadata/annotations/{}", SOURCE_ANNOTATION.replace('/', "~1"));
        let gone: Vec<Key> = self
            .store
            .all()
            .filter(|(k, v)| !keep.contains(k) && v.pointer(&ptr).and_then(Value::as_str) == Some(source))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            if let Err(e) = self.delete_object(k, Propagation::Background, None) {
                tracing::warn!(object = ?k, error = %e.message, "prune failed");
            }
        }
        gone
    }
}

/// Every object of the text as plain JSON (for kinds the loader knows only by identity).
fn raw_documents(text: &str) -> Vec<Value> {
    let docs: Vec<Value> = if text.trim_start_matches('\u{feff}').trim_start().starts_with('{') {
        serde_json::Deserializer::from_str(text).into_iter::<Value>().filter_map(Result::ok).collect()
    } else {
        serde_saphyr::from_multiple::<Value>(text).unwrap_or_default()
    };
    let mut out = Vec::new();
    for d in docs {
        match d.get("items").and_then(Value::as_array) {
            Some(items) if d.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List")) => {
                out.extend(items.iter().cloned())
            }
            _ => out.push(d),
        }
    }
    out
}

fn raw_object(raw: &[Value], kind: &str, name: &str) -> Option<Value> {
    raw.iter()
        .find(|v| {
            v.get("kind").and_then(Value::as_str) == Some(kind)
                && v.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
        })
        .cloned()
}

/// Keeps what the server owns when a manifest replaces an object.
fn merge_server_fields(key: &Key, old: &Value, new: &mut Value) {
    let old_meta = &old["metadata"];
    {
        let meta = meta_mut(new);
        for f in ["ownerReferences", "finalizers"] {
            if meta.get(f).is_none()
                && let Some(v) = old_meta.get(f)
            {
                meta.insert(f.into(), v.clone());
            }
        }
        meta.remove("resourceVersion");
    }
    if let Some(s) = old.get("status") {
        new["status"] = s.clone();
    }
    match key.kind {
        Kind::Service => {
            for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                if new.pointer(&format!("/spec/{f}")).is_none()
                    && let Some(v) = old.pointer(&format!("/spec/{f}"))
                {
                    new["spec"][f] = v.clone();
                }
            }
        }
        Kind::PersistentVolumeClaim => {
            for f in ["volumeName", "volumeMode", "storageClassName"] {
                if new.pointer(&format!("/spec/{f}")).is_none()
                    && let Some(v) = old.pointer(&format!("/spec/{f}"))
                {
                    new["spec"][f] = v.clone();
                }
            }
        }
        Kind::Pod => {
            if new.pointer("/spec/nodeName").is_none()
                && let Some(v) = old.pointer("/spec/nodeName")
            {
                new["spec"]["nodeName"] = v.clone();
            }
            if let Some(v) = old_meta.get("deletionTimestamp") {
                meta_mut(new).insert("deletionTimestamp".into(), v.clone());
            }
        }
        _ => {}
    }
}
