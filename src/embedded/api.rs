//! The control API over HTTP (`docs/control-api.md`): Kubernetes-shaped paths and payloads on
//! the admin listener. Handlers are thin: each turns a request into one step on the cluster task
//! ([`Handle::call`]) and the result into JSON. Watches subscribe inside the step that lists the
//! current objects, so no change falls between the list and the stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::controller::Propagation;
use super::labels::Selector;
use super::store::{EventType, Key, Kind};
use super::{ApiError, Cluster, Handle, WatchEvent};

/// The control API router (merge it into the admin router).
pub fn router(handle: Handle) -> Router {
    Router::new()
        .route("/apply", post(apply))
        .route("/ordinal/v1/inject", post(inject))
        .route("/api/v1/namespaces", get(get_any))
        .route("/api/v1/namespaces/{name}", get(get_any).delete(delete_any).patch(patch_any))
        .route("/api/v1/namespaces/{ns}/{res}", get(get_any))
        .route("/api/v1/namespaces/{ns}/{res}/{name}", get(get_any).delete(delete_any).patch(patch_any))
        .route("/api/v1/{res}", get(get_any))
        .route("/apis/{group}/{version}/namespaces/{ns}/{res}", get(get_any))
        .route("/apis/{group}/{version}/namespaces/{ns}/{res}/{name}", get(get_any).delete(delete_any).patch(patch_any))
        .route("/apis/{group}/{version}/{res}", get(get_any))
        .method_not_allowed_fallback(|method: axum::http::Method, uri: axum::http::Uri| async move {
            ApiError::new(
                405,
                "MethodNotAllowed",
                format!("the server does not allow this method on the requested resource ({method} {})", uri.path()),
            )
        })
        .layer(DefaultBodyLimit::max(256 << 20))
        .with_state(handle)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.status())).into_response()
    }
}

fn stopped() -> ApiError {
    ApiError::new(503, "ServiceUnavailable", "the embedded cluster is shutting down")
}

/// What a path names.
struct Target {
    kind: Kind,
    ns: Option<String>,
    name: Option<String>,
}

fn resolve(uri_path: &str, p: &HashMap<String, String>) -> Result<Target, ApiError> {
    let group = p.get("group").map(String::as_str).unwrap_or("");
    let version = p.get("version").map(String::as_str).unwrap_or("v1");
    let not_found =
        || ApiError::new(404, "NotFound", format!("the server could not find the requested resource ({uri_path})"));
    let (res, ns, name) = if uri_path.starts_with("/api/v1/namespaces") && !p.contains_key("res") {
        ("namespaces", None, p.get("name").cloned())
    } else {
        (p.get("res").map(String::as_str).ok_or_else(not_found)?, p.get("ns").cloned(), p.get("name").cloned())
    };
    let kind = Kind::from_resource(group, res).filter(|_| version == "v1").ok_or_else(not_found)?;
    if !kind.namespaced() && ns.is_some() {
        return Err(not_found());
    }
    Ok(Target { kind, ns, name })
}

fn list_kind(kind: Kind) -> String {
    format!("{}List", kind.name())
}

async fn get_any(
    State(h): State<Handle>,
    Path(p): Path<HashMap<String, String>>,
    Query(q): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response {
    let t = match resolve(uri.path(), &p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let selector = match Selector::parse(q.get("labelSelector").map(String::as_str).unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return ApiError::bad_request(e).into_response(),
    };
    if let Some(name) = t.name {
        let ns = t.ns.unwrap_or_default();
        let kind = t.kind;
        return match h
            .call(move |c| c.store().get(kind, &ns, &name).cloned().ok_or_else(|| ApiError::not_found(kind, &name)))
            .await
        {
            Ok(Ok(v)) => axum::Json(v).into_response(),
            Ok(Err(e)) => e.into_response(),
            Err(_) => stopped().into_response(),
        };
    }
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    let since: u64 = q.get("resourceVersion").and_then(|r| r.parse().ok()).unwrap_or(0);
    let (kind, ns) = (t.kind, t.ns);
    let sel = selector.clone();
    let ns2 = ns.clone();
    let listed = h
        .call(move |c: &mut Cluster| {
            let items: Vec<Value> =
                c.store().list(kind, ns2.as_deref()).filter(|v| sel.matches(labels(v))).cloned().collect();
            let rx = watch.then(|| c.events.subscribe());
            let replay = (watch && since > 0).then(|| c.changes_since(since));
            (items, c.store().resource_version(), rx, replay)
        })
        .await;
    let Ok((items, rv, rx, replay)) = listed else { return stopped().into_response() };
    if let Some(None) = replay {
        return ApiError::new(
            410,
            "Expired",
            format!("too old resource version: {since} (re-list and watch from the list's resourceVersion)"),
        )
        .into_response();
    }
    let Some(rx) = rx else {
        return axum::Json(json!({"kind": list_kind(kind), "apiVersion": kind.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": items}))
            .into_response();
    };
    let (tx, body_rx) = mpsc::channel::<Bytes>(256);
    tokio::spawn(watch_task(items, replay.flatten(), since, rx, tx, kind, ns, selector));
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::TRANSFER_ENCODING, "chunked")
        .body(Body::from_stream(RxStream(body_rx)))
        .unwrap_or_else(|_| ApiError::internal("response").into_response())
}

fn labels(v: &Value) -> Option<&serde_json::Map<String, Value>> {
    v.pointer("/metadata/labels").and_then(Value::as_object)
}

fn line(type_: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": type_, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

#[allow(clippy::too_many_arguments)]
async fn watch_task(
    initial: Vec<Value>,
    replay: Option<Vec<Arc<WatchEvent>>>,
    since: u64,
    mut rx: broadcast::Receiver<Arc<WatchEvent>>,
    tx: mpsc::Sender<Bytes>,
    kind: Kind,
    ns: Option<String>,
    selector: Selector,
) {
    let mut since = since;
    if since == 0 {
        for v in &initial {
            if tx.send(line("ADDED", v)).await.is_err() {
                return;
            }
        }
    }
    let mut replay = replay.unwrap_or_default().into_iter();
    loop {
        let ev = match replay.next() {
            Some(ev) => ev,
            None => {
                let ev = tokio::select! {
                    _ = tx.closed() => return,
                    ev = rx.recv() => ev,
                };
                match ev {
                    Ok(ev) => ev,
                    // A watcher that falls this far behind must re-list, as with the API server.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        };
        if ev.rv <= since {
            continue;
        }
        since = ev.rv;
        if ev.key.kind != kind || ns.as_deref().is_some_and(|n| kind.namespaced() && ev.key.ns != n) {
            continue;
        }
        let now = selector.matches(labels(&ev.object));
        let before = ev.old.as_ref().is_some_and(|o| selector.matches(labels(o)));
        let t = match ev.type_ {
            EventType::Added if now => "ADDED",
            EventType::Deleted if now => "DELETED",
            EventType::Modified if now && before => "MODIFIED",
            EventType::Modified if now => "ADDED",
            EventType::Modified if before => "DELETED",
            _ => continue,
        };
        if tx.send(line(t, &ev.object)).await.is_err() {
            return;
        }
    }
}

struct RxStream(mpsc::Receiver<Bytes>);

impl futures_core::Stream for RxStream {
    type Item = Result<Bytes, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|o| o.map(Ok))
    }
}

async fn delete_any(
    State(h): State<Handle>,
    Path(p): Path<HashMap<String, String>>,
    Query(q): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let t = match resolve(uri.path(), &p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    // DeleteOptions from the query, or a JSON body as kubectl sends it.
    let opts: Value = if body.is_empty() { json!({}) } else { serde_json::from_slice(&body).unwrap_or(json!({})) };
    let policy = q
        .get("propagationPolicy")
        .cloned()
        .or_else(|| opts.get("propagationPolicy").and_then(Value::as_str).map(str::to_string));
    let propagation = match policy.as_deref() {
        None | Some("Background") => Propagation::Background,
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some(other) => {
            return ApiError::bad_request(format!(
                "propagationPolicy {other:?} is not supported: use Background, Foreground or Orphan"
            ))
            .into_response();
        }
    };
    let grace = match q.get("gracePeriodSeconds").map(|g| g.parse::<i64>()) {
        Some(Ok(g)) => Some(g),
        Some(Err(_)) => return ApiError::bad_request("gracePeriodSeconds must be an integer").into_response(),
        None => opts.get("gracePeriodSeconds").and_then(Value::as_i64),
    };
    let force = q.get("force").is_some_and(|f| f == "true" || f == "1");
    let grace = if force { Some(grace.unwrap_or(0)) } else { grace };
    let key = Key::new(t.kind, t.ns.as_deref().unwrap_or(""), t.name.as_deref().unwrap_or(""));
    match h.call(move |c| c.delete_object(&key, propagation, grace).map(|v| (key.kind, v))).await {
        Ok(Ok((Kind::Namespace, v))) => {
            axum::Json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": v.pointer("/metadata/name"), "kind": "namespaces", "uid": v.pointer("/metadata/uid")}}))
            .into_response()
        }
        Ok(Ok((_, v))) => axum::Json(v).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(_) => stopped().into_response(),
    }
}

async fn patch_any(
    State(h): State<Handle>,
    Path(p): Path<HashMap<String, String>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let t = match resolve(uri.path(), &p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let json_patch = match ct.as_str() {
        "application/json-patch+json" => true,
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => false,
        other => {
            return ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format ({other:?}): accepted media types are application/merge-patch+json and application/json-patch+json")).into_response();
        }
    };
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return ApiError::bad_request(format!("the patch is not valid JSON: {e}")).into_response(),
    };
    let key = Key::new(t.kind, t.ns.as_deref().unwrap_or(""), t.name.as_deref().unwrap_or(""));
    match h.call(move |c| c.patch_object(&key, json_patch, &patch)).await {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(_) => stopped().into_response(),
    }
}

async fn apply(State(h): State<Handle>, headers: HeaderMap, body: Bytes) -> Response {
    let source = headers.get("x-ordinal-source").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let text = match String::from_utf8(body.to_vec()) {
        Ok(t) => t,
        Err(_) => return ApiError::bad_request("the manifest is not UTF-8 text").into_response(),
    };
    match h.call(move |c| c.apply_text(&source, &text)).await {
        Ok(Ok(results)) => axum::Json(json!({"results": results})).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(_) => stopped().into_response(),
    }
}

async fn inject(State(h): State<Handle>, body: Bytes) -> Response {
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return ApiError::bad_request(format!("the request is not valid JSON: {e}")).into_response(),
    };
    match h.call(move |c| c.inject(&req)).await {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(_) => stopped().into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Patches.

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn pointer_parts(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path.strip_prefix('/').ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    Ok(rest.split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect())
}

fn parent_mut<'a>(doc: &'a mut Value, parts: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for p in &parts[..parts.len().saturating_sub(1)] {
        cur = match cur {
            Value::Object(m) => m.get_mut(p).ok_or_else(|| format!("path element {p:?} does not exist"))?,
            Value::Array(a) => {
                let i: usize = p.parse().map_err(|_| format!("{p:?} is not an array index"))?;
                a.get_mut(i).ok_or_else(|| format!("index {i} is out of range"))?
            }
            _ => return Err(format!("{p:?}: not a container")),
        };
    }
    Ok(cur)
}

fn ptr_add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let parts = pointer_parts(path)?;
    let Some(last) = parts.last().cloned() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, &parts)? {
        Value::Object(m) => {
            m.insert(last, value);
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse().map_err(|_| format!("{last:?} is not an array index"))?
            };
            if i > a.len() {
                return Err(format!("index {i} is out of range"));
            }
            a.insert(i, value);
        }
        _ => return Err(format!("{path:?}: parent is not a container")),
    }
    Ok(())
}

fn ptr_remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let parts = pointer_parts(path)?;
    let last = parts.last().cloned().ok_or("cannot remove the whole document")?;
    match parent_mut(doc, &parts)? {
        Value::Object(m) => m.remove(&last).ok_or_else(|| format!("{path:?} does not exist")),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| format!("{last:?} is not an array index"))?;
            (i < a.len()).then(|| a.remove(i)).ok_or_else(|| format!("index {i} is out of range"))
        }
        _ => Err(format!("{path:?}: parent is not a container")),
    }
}

/// RFC 6902 JSON patch.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops.as_array().ok_or("a JSON patch must be an array of operations")?;
    for (i, op) in ops.iter().enumerate() {
        let at = |e: String| format!("operation {i}: {e}");
        let path = op.get("path").and_then(Value::as_str).ok_or_else(|| at("\"path\" is required".into()))?;
        let value = || op.get("value").cloned().ok_or_else(|| at("\"value\" is required".into()));
        let from = || op.get("from").and_then(Value::as_str).ok_or_else(|| at("\"from\" is required".into()));
        match op.get("op").and_then(Value::as_str).unwrap_or("") {
            "add" => ptr_add(doc, path, value()?).map_err(at)?,
            "remove" => drop(ptr_remove(doc, path).map_err(at)?),
            "replace" => {
                ptr_remove(doc, path).map_err(at)?;
                ptr_add(doc, path, value()?).map_err(at)?;
            }
            "move" => {
                let v = ptr_remove(doc, from()?).map_err(at)?;
                ptr_add(doc, path, v).map_err(at)?;
            }
            "copy" => {
                let v = doc.pointer(from()?).cloned().ok_or_else(|| at("\"from\" does not exist".into()))?;
                ptr_add(doc, path, v).map_err(at)?;
            }
            "test" => {
                if doc.pointer(path) != Some(&value()?) {
                    return Err(at(format!("test failed at {path:?}")));
                }
            }
            other => return Err(at(format!("unknown op {other:?}"))),
        }
    }
    Ok(())
}

impl Cluster {
    /// `PATCH` of an object: merge (RFC 7386) or JSON (RFC 6902) patch, validated as an update.
    pub fn patch_object(&mut self, key: &Key, is_json_patch: bool, patch: &Value) -> Result<Value, ApiError> {
        let old = self.store.get_key(key).cloned().ok_or_else(|| ApiError::not_found(key.kind, &key.name))?;
        let mut new = old.clone();
        if is_json_patch {
            json_patch(&mut new, patch).map_err(|e| ApiError::new(422, "Invalid", e))?;
        } else {
            merge_patch(&mut new, patch);
        }
        if Key::of(&new).as_ref() != Some(key) {
            return Err(ApiError::bad_request("a patch may not change the object's kind, name or namespace"));
        }
        if matches!(key.kind, Kind::ConfigMap | Kind::Event) {
            // Stored as given; nothing to validate beyond identity.
            return self.update(new);
        }
        let decode = |v: &Value| super::apply::to_manifest_object(key.kind, v);
        let new_obj = decode(&new).ok_or_else(|| {
            let err = match key.kind {
                Kind::StatefulSet => {
                    serde_json::from_value::<k8s_openapi::api::apps::v1::StatefulSet>(new.clone()).err()
                }
                Kind::Pod => serde_json::from_value::<k8s_openapi::api::core::v1::Pod>(new.clone()).err(),
                Kind::Service => serde_json::from_value::<k8s_openapi::api::core::v1::Service>(new.clone()).err(),
                _ => None,
            };
            ApiError::new(
                422,
                "Invalid",
                format!(
                    "{} {:?} is invalid: {}",
                    key.kind.name(),
                    key.name,
                    err.map_or("cannot decode".to_string(), |e| e.to_string())
                ),
            )
        })?;
        if let Some(old_obj) = decode(&old) {
            let errs = crate::manifest::validate_update(&old_obj, &new_obj);
            if !errs.is_empty() {
                let causes: Vec<Value> = errs.iter().map(|e| json!({"field": e.field, "message": e.message})).collect();
                return Err(ApiError::invalid(
                    crate::manifest::invalid_message(&new_obj, &errs),
                    json!({"name": key.name, "kind": key.kind.name(), "causes": causes}),
                ));
            }
        }
        self.update(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_json_patches() {
        let mut v = json!({"spec": {"replicas": 2, "template": {"x": 1}}, "keep": true});
        merge_patch(&mut v, &json!({"spec": {"replicas": 5, "template": null}}));
        assert_eq!(v, json!({"spec": {"replicas": 5}, "keep": true}));
        json_patch(&mut v, &json!([{"op": "replace", "path": "/spec/replicas", "value": 3}, {"op": "add", "path": "/a", "value": [1]},
            {"op": "add", "path": "/a/-", "value": 2}, {"op": "remove", "path": "/keep"}, {"op": "test", "path": "/a/1", "value": 2}]))
        .unwrap();
        assert_eq!(v, json!({"spec": {"replicas": 3}, "a": [1, 2]}));
        assert!(json_patch(&mut v, &json!([{"op": "remove", "path": "/nope"}])).is_err());
    }
}
