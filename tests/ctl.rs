//! `ordinal ctl` end to end: the real binary against an in-test fake control API
//! (axum on 127.0.0.1:0) serving canned, kubectl-shaped objects. Checks what is sent
//! (method, path, content type, body) and what is printed.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// One request the fake saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query, as sent.
    uri: String,
    content_type: String,
    source: String,
    body: String,
}

#[derive(Default)]
struct Fake {
    seen: Mutex<Vec<Seen>>,
    deleted: Mutex<HashSet<String>>,
}

fn ts(secs_ago: u64) -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() - secs_ago;
    let days = (t / 86400) as i64;
    // civil_from_days
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let r = t % 86400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", r / 3600, r % 3600 / 60, r % 60)
}

fn pod(name: &str, ns: &str, ready: bool, age: u64) -> Value {
    let state = if ready {
        json!({"running": {"startedAt": ts(age)}})
    } else {
        json!({"waiting": {"reason": "ContainerCreating"}})
    };
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "resourceVersion": "7", "creationTimestamp": ts(age),
            "labels": {"app": "nginx"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "uid-web", "controller": true}]},
        "spec": {"nodeName": "node-0", "containers": [{"name": "nginx", "image": "registry.k8s.io/nginx-slim:0.24"}]},
        "status": {"phase": if ready { "Running" } else { "Pending" }, "podIP": if ready { "10.244.0.5" } else { "" },
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "containerStatuses": [{"name": "nginx", "ready": ready, "restartCount": 0, "state": state}]}})
}

fn sts(ready: i64, updated: i64, current_rev: &str, update_rev: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "generation": 2, "resourceVersion": "9", "creationTimestamp": ts(600)},
        "spec": {"replicas": 3, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "registry.k8s.io/nginx-slim:0.24"}, {"name": "sidecar", "image": "busybox"}]}}},
        "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": ready, "updatedReplicas": updated, "currentReplicas": 3 - updated,
            "currentRevision": current_rev, "updateRevision": update_rev}})
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code, "message": message});
    (StatusCode::from_u16(code).unwrap(), [(header::CONTENT_TYPE, "application/json")], body.to_string())
        .into_response()
}

fn ok(v: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

/// A chunked newline-delimited JSON stream of `events`, then (if `hang`) never ending.
fn stream(events: Vec<Value>, hang: bool) -> Response {
    let lines = futures_util::stream::iter(events.into_iter().map(|e| Ok::<_, std::io::Error>(format!("{e}\n"))));
    let body =
        if hang { Body::from_stream(lines.chain(futures_util::stream::pending())) } else { Body::from_stream(lines) };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn handle(State(fake): State<Arc<Fake>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri = req.uri().to_string();
    let headers: HeaderMap = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
    let body = String::from_utf8_lossy(&body).to_string();
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    fake.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        uri: uri.clone(),
        content_type: h("content-type"),
        source: h("x-ordinal-source"),
        body: body.clone(),
    });
    let path = uri.split('?').next().unwrap().to_string();
    let query = uri.split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default();
    let watch = query.contains("watch=true");
    match (method, path.as_str()) {
        (Method::GET, "/api/v1/namespaces/default/pods") if watch => {
            let mut p = pod("web-1", "default", true, 5);
            p["metadata"]["resourceVersion"] = json!("8");
            stream(vec![json!({"type": "ADDED", "object": pod("web-0", "default", true, 600)}), json!({"type": "MODIFIED", "object": p})], false)
        }
        (Method::GET, "/api/v1/namespaces/default/pods") => ok(json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
            "items": [pod("web-0", "default", true, 600), pod("web-1", "default", false, 2 * 86400 + 3 * 3600)]})),
        (Method::GET, "/api/v1/pods") => ok(json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
            "items": [pod("web-0", "default", true, 600), pod("mysql-0", "p1-dev", true, 600)]})),
        (Method::GET, "/api/v1/namespaces/default/persistentvolumeclaims") => {
            ok(json!({"kind": "PersistentVolumeClaimList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": []}))
        }
        (Method::GET, p) if p.starts_with("/api/v1/namespaces/default/pods/") => {
            let name = p.rsplit('/').next().unwrap();
            if name == "web-0" && !fake.deleted.lock().unwrap().contains(name) {
                ok(pod("web-0", "default", true, 600))
            } else {
                status(404, "NotFound", &format!("pods {name:?} not found"))
            }
        }
        (Method::DELETE, p) if p.starts_with("/api/v1/namespaces/default/pods/") => {
            fake.deleted.lock().unwrap().insert(p.rsplit('/').next().unwrap().to_string());
            ok(pod("web-0", "default", true, 600))
        }
        (Method::DELETE, "/apis/apps/v1/namespaces/default/statefulsets/web") => ok(sts(3, 3, "web-a", "web-a")),
        (Method::DELETE, "/api/v1/namespaces/default/services/nginx") => ok(json!({"kind": "Service", "metadata": {"name": "nginx", "uid": "uid-svc"}})),
        (Method::GET, "/apis/apps/v1/namespaces/default/statefulsets" | "/apis/apps/v1/namespaces/slow/statefulsets") if watch => {
            let mut events = vec![
                json!({"type": "ADDED", "object": sts(2, 0, "web-a", "web-b")}),
                json!({"type": "MODIFIED", "object": sts(3, 2, "web-a", "web-b")}),
            ];
            if !path.contains("/slow/") {
                let mut done = sts(3, 3, "web-b", "web-b");
                done["status"]["currentReplicas"] = json!(3);
                events.push(json!({"type": "MODIFIED", "object": done}));
            }
            stream(events, true)
        }
        (Method::GET, "/apis/apps/v1/namespaces/default/statefulsets/web" | "/apis/apps/v1/namespaces/slow/statefulsets/web") => {
            ok(sts(3, 3, "web-a", "web-a"))
        }
        (Method::PATCH, "/apis/apps/v1/namespaces/default/statefulsets/web") => {
            let mut s = sts(3, 3, "web-a", "web-a");
            s["metadata"]["resourceVersion"] = json!("10");
            ok(s)
        }
        (Method::GET, "/api/v1/namespaces/default/events") => ok(json!({"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"}, "items": [
            {"metadata": {"name": "web.1", "namespace": "default"}, "involvedObject": {"kind": "StatefulSet", "name": "web", "uid": "uid-web"},
             "type": "Normal", "reason": "SuccessfulCreate", "message": "create Pod web-0 in StatefulSet web successful",
             "source": {"component": "statefulset-controller"}, "firstTimestamp": ts(600), "lastTimestamp": ts(600), "count": 1},
            {"metadata": {"name": "web-0.1", "namespace": "default"}, "involvedObject": {"kind": "Pod", "name": "web-0"},
             "type": "Normal", "reason": "Scheduled", "message": "elsewhere", "firstTimestamp": ts(600), "lastTimestamp": ts(600), "count": 1}]})),
        (Method::POST, "/apply") if body.contains("name: kubia") => (
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
                "message": "StatefulSet.apps \"kubia\" is invalid: [spec.selector: Required value, spec.template.spec.volumeMounts: Invalid value: \"volumeMounts\": field not declared in schema]",
                "details": {"name": "kubia", "kind": "StatefulSet", "causes": [
                    {"field": "spec.selector", "message": "Required value"},
                    {"field": "spec.template.spec.volumeMounts", "message": "Invalid value: \"volumeMounts\": field not declared in schema"}]}})
            .to_string(),
        )
            .into_response(),
        (Method::POST, "/apply") => ok(json!({"results": [
            {"kind": "StatefulSet", "apiVersion": "apps/v1", "namespace": "default", "name": "web", "action": "created"},
            {"kind": "Service", "apiVersion": "v1", "namespace": "default", "name": "nginx", "action": "unchanged"}]})),
        (Method::POST, "/ordinal/v1/inject") => ok(json!({"ok": true})),
        _ => status(404, "NotFound", &format!("no route {uri}")),
    }
}

struct Server {
    addr: SocketAddr,
    fake: Arc<Fake>,
    _rt: tokio::runtime::Runtime,
}

fn server() -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let fake = Arc::new(Fake::default());
    let app = Router::new().fallback(handle).with_state(fake.clone());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { addr, fake, _rt: rt }
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Server {
    fn ctl(&self, args: &[&str]) -> Run {
        let o = Command::new(env!("CARGO_BIN_EXE_ordinal"))
            .arg("ctl")
            .args(args)
            .env("ORDINAL_SERVER", format!("http://{}", self.addr))
            .output()
            .unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            out: String::from_utf8(o.stdout).unwrap(),
            err: String::from_utf8(o.stderr).unwrap(),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.fake.seen.lock().unwrap())
    }
}

#[test]
fn get_tables_like_kubectl() {
    let s = server();
    let r = s.ctl(&["get", "pods"]);
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    assert_eq!(
        r.out,
        "NAME    READY   STATUS              RESTARTS   AGE\n\
         web-0   1/1     Running             0          10m\n\
         web-1   0/1     ContainerCreating   0          2d3h\n"
    );
    let seen = s.seen();
    assert_eq!((seen[0].method.as_str(), seen[0].uri.as_str()), ("GET", "/api/v1/namespaces/default/pods"));

    let r = s.ctl(&["get", "pods", "--show-labels", "-L", "app"]);
    assert_eq!(
        r.out,
        "NAME    READY   STATUS              RESTARTS   AGE    APP     LABELS\n\
         web-0   1/1     Running             0          10m    nginx   app=nginx\n\
         web-1   0/1     ContainerCreating   0          2d3h   nginx   app=nginx\n"
    );
    s.seen();

    let r = s.ctl(&["get", "po", "-A", "-l", "app=nginx", "-o", "wide"]);
    assert_eq!(
        r.out,
        "NAMESPACE   NAME      READY   STATUS    RESTARTS   AGE   IP           NODE     NOMINATED NODE   READINESS GATES\n\
         default     web-0     1/1     Running   0          10m   10.244.0.5   node-0   <none>           <none>\n\
         p1-dev      mysql-0   1/1     Running   0          10m   10.244.0.5   node-0   <none>           <none>\n"
    );
    assert_eq!(s.seen()[0].uri, "/api/v1/pods?labelSelector=app%3Dnginx");

    let r = s.ctl(&["get", "pvc"]);
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (0, "", "No resources found in default namespace.\n"));

    let r = s.ctl(&["get", "pod", "web-9"]);
    assert_eq!((r.code, r.err.as_str()), (1, "Error from server (NotFound): pods \"web-9\" not found\n"));

    let r = s.ctl(&["get", "pods", "web-0", "web-9"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.out, "NAME    READY   STATUS    RESTARTS   AGE\nweb-0   1/1     Running   0          10m\n");
    assert_eq!(r.err, "Error from server (NotFound): pods \"web-9\" not found\n");

    let r = s.ctl(&["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"]);
    assert_eq!(r.out, "web-0 web-1");
    let r = s.ctl(&["get", "pod", "web-0", "-o", "jsonpath={.status.podIP}"]);
    assert_eq!(r.out, "10.244.0.5");

    let r = s.ctl(&["get", "pod", "web-0", "--template", "{{range $i, $c := .spec.containers}}{{$c.image}}{{end}}"]);
    assert_eq!(r.out, "registry.k8s.io/nginx-slim:0.24");
    let r = s.ctl(&["get", "pods", "-o", "go-template={{range .items}}{{.metadata.name}} {{end}}"]);
    assert_eq!(r.out, "web-0 web-1 ");

    let r = s.ctl(&["get", "sts", "web", "-o", "name"]);
    assert_eq!(r.out, "statefulset.apps/web\n");
    let r = s.ctl(&["get", "statefulset/web", "-o", "yaml"]);
    assert!(
        r.out.starts_with("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  creationTimestamp: \""),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("\n      containers:\n      - image: registry.k8s.io/nginx-slim:0.24\n        name: nginx\n"),
        "{}",
        r.out
    );
    let r = s.ctl(&["get", "pods", "-o", "json"]);
    let v: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!((v["kind"].as_str(), v["items"].as_array().unwrap().len()), (Some("List"), 2));
    let r = s.ctl(&["get", "sts", "-o", "wide"]);
    assert_eq!(r.code, 1, "the fake has no sts list: {r:?}", r = r.err);
}

#[test]
fn watch_prints_a_row_per_event() {
    let s = server();
    let r = s.ctl(&["get", "pods", "-w"]);
    assert_eq!(r.code, 0, "{}", r.err);
    // The list, then only the change (the re-sent ADDED of an already printed object is skipped).
    assert_eq!(
        r.out,
        "NAME    READY   STATUS              RESTARTS   AGE\n\
         web-0   1/1     Running             0          10m\n\
         web-1   0/1     ContainerCreating   0          2d3h\n\
         web-1   1/1     Running             0          5s\n"
    );
    let seen = s.seen();
    assert_eq!(seen[1].uri, "/api/v1/namespaces/default/pods?watch=true&resourceVersion=7");
}

#[test]
fn apply_sends_the_file_and_prints_results() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: nginx\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\n";
    std::fs::write(&file, text).unwrap();
    let r = s.ctl(&["apply", "-f", file.to_str().unwrap()]);
    assert_eq!(
        (r.code, r.out.as_str(), r.err.as_str()),
        (0, "statefulset.apps/web created\nservice/nginx unchanged\n", "")
    );
    let seen = s.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].method.as_str(), seen[0].uri.as_str(), seen[0].body.as_str()), ("POST", "/apply", text));
    assert_eq!(seen[0].source, file.to_str().unwrap());

    std::fs::write(dir.path().join("kubia.yaml"), "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: kubia\n")
        .unwrap();
    let r = s.ctl(&["apply", "-f", dir.path().join("kubia.yaml").to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.err,
        "The StatefulSet \"kubia\" is invalid: \n* spec.selector: Required value\n* spec.template.spec.volumeMounts: Invalid value: \"volumeMounts\": field not declared in schema\n"
    );
    // A directory: every manifest file, one request each, sorted.
    s.seen();
    let r = s.ctl(&["apply", "-f", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert_eq!(s.seen().len(), 2);

    let r = s.ctl(&["apply", "-f", "/nonexistent/x.yaml"]);
    assert_eq!((r.code, r.err.as_str()), (1, "error: the path \"/nonexistent/x.yaml\" does not exist\n"));
    assert!(s.seen().is_empty());
}

#[test]
fn writes_send_kubernetes_patches_and_deletes() {
    let s = server();
    let r = s.ctl(&["scale", "statefulset", "web", "--replicas", "5"]);
    assert_eq!((r.code, r.out.as_str()), (0, "statefulset.apps/web scaled\n"));
    let seen = s.seen();
    assert_eq!(seen[0].method, "PATCH");
    assert_eq!(seen[0].uri, "/apis/apps/v1/namespaces/default/statefulsets/web");
    assert_eq!(seen[0].content_type, "application/merge-patch+json");
    assert_eq!(serde_json::from_str::<Value>(&seen[0].body).unwrap(), json!({"spec": {"replicas": 5}}));

    let r =
        s.ctl(&["patch", "sts", "web", "--type=json", "-p", r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#]);
    assert_eq!((r.code, r.out.as_str()), (0, "statefulset.apps/web patched\n"));
    let seen = s.seen();
    let patch = seen.iter().find(|x| x.method == "PATCH").unwrap();
    assert_eq!(patch.content_type, "application/json-patch+json");

    let r = s.ctl(&[
        "patch",
        "statefulset",
        "web",
        "-p",
        r#"{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}"#,
    ]);
    assert_eq!(r.out, "statefulset.apps/web patched\n");
    assert_eq!(s.seen().iter().find(|x| x.method == "PATCH").unwrap().content_type, "application/merge-patch+json");

    let r = s.ctl(&["set", "image", "statefulset/web", "nginx=registry.k8s.io/nginx-slim:0.27"]);
    assert_eq!((r.code, r.out.as_str()), (0, "statefulset.apps/web image updated\n"));
    let seen = s.seen();
    let body: Value = serde_json::from_str(&seen.iter().find(|x| x.method == "PATCH").unwrap().body).unwrap();
    assert_eq!(
        body,
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "image": "registry.k8s.io/nginx-slim:0.27"}, {"name": "sidecar", "image": "busybox"}]}}}})
    );
    let r = s.ctl(&["set", "image", "sts/web", "nope=x"]);
    assert_eq!((r.code, r.err.as_str()), (1, "error: unable to find container named \"nope\"\n"));
    assert!(s.seen().iter().all(|x| x.method == "GET"));

    let r = s.ctl(&["delete", "pod", "web-0", "--force", "--grace-period=0"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out, "pod \"web-0\" force deleted\n");
    assert!(r.err.starts_with("Warning: Immediate deletion does not wait for confirmation"), "{}", r.err);
    let seen = s.seen();
    assert_eq!(seen[0].method, "DELETE");
    assert_eq!(seen[0].uri, "/api/v1/namespaces/default/pods/web-0?propagationPolicy=Background&gracePeriodSeconds=0");

    let r = s.ctl(&["delete", "sts", "web", "--cascade=orphan", "--wait=false"]);
    assert_eq!((r.code, r.out.as_str()), (0, "statefulset.apps \"web\" deleted\n"));
    assert_eq!(s.seen()[0].uri, "/apis/apps/v1/namespaces/default/statefulsets/web?propagationPolicy=Orphan");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: nginx\nspec:\n  clusterIP: None\n  selector: {app: nginx}\n  ports: [{port: 80}]\n",
    )
    .unwrap();
    let r = s.ctl(&["delete", "-f", file.to_str().unwrap(), "--wait=false"]);
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (0, "service \"nginx\" deleted\n", ""));
    assert_eq!(s.seen()[0].uri, "/api/v1/namespaces/default/services/nginx?propagationPolicy=Background");

    let r = s.ctl(&["inject", "set-ready", "web-1", "false"]);
    assert_eq!((r.code, r.out.as_str()), (0, "pod/web-1 condition Ready set to False\n"));
    let seen = s.seen();
    assert_eq!((seen[0].method.as_str(), seen[0].uri.as_str()), ("POST", "/ordinal/v1/inject"));
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].body).unwrap(),
        json!({"action": "set-ready", "namespace": "default", "name": "web-1", "ready": false})
    );
    let r = s.ctl(&["inject", "lose-node", "node-0"]);
    assert_eq!(r.out, "node/node-0 lost\n");
    assert_eq!(
        serde_json::from_str::<Value>(&s.seen()[0].body).unwrap(),
        json!({"action": "lose-node", "node": "node-0"})
    );
}

#[test]
fn rollout_status_follows_the_watch() {
    let s = server();
    let r = s.ctl(&["rollout", "status", "statefulset", "web"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.out,
        "Waiting for 1 pods to be ready...\n\
         waiting for statefulset rolling update to complete 2 pods at revision web-b...\n\
         statefulset rolling update complete 3 pods at revision web-b...\n"
    );
}

#[test]
fn rollout_status_times_out() {
    let s = server();
    // Namespace "slow": the watch sends two events and then nothing.
    let start = std::time::Instant::now();
    let r = s.ctl(&["rollout", "status", "sts/web", "--timeout", "700ms", "-n", "slow"]);
    assert_eq!(r.code, 1);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(
        r.out,
        "Waiting for 1 pods to be ready...\nwaiting for statefulset rolling update to complete 2 pods at revision web-b...\n"
    );
    assert_eq!(r.err, "error: timed out waiting for the condition\n");
    let r = s.ctl(&["rollout", "status", "sts/web", "-n", "other"]);
    assert_eq!(
        (r.code, r.err.as_str()),
        (1, "Error from server (NotFound): no route /apis/apps/v1/namespaces/other/statefulsets/web\n")
    );
}

#[test]
fn wait_polls_until_the_condition() {
    let s = server();
    let r = s.ctl(&["wait", "--for=condition=Ready", "pod/web-0"]);
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (0, "pod/web-0 condition met\n", ""));
    let r = s.ctl(&["wait", "--for=delete", "pod", "web-9"]);
    assert_eq!((r.code, r.out.as_str()), (0, "pod/web-9 condition met\n"));
    let r = s.ctl(&["wait", "--for=jsonpath={.status.podIP}=10.244.0.5", "pod", "web-0"]);
    assert_eq!(r.out, "pod/web-0 condition met\n");
    let start = std::time::Instant::now();
    let r = s.ctl(&["wait", "--for=condition=Ready=False", "pod/web-0", "--timeout=300ms"]);
    assert_eq!((r.code, r.err.as_str()), (1, "error: timed out waiting for the condition on pods/web-0\n"));
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn describe_statefulset_with_events() {
    let s = server();
    let r = s.ctl(&["describe", "sts", "web"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.starts_with("Name:               web\nNamespace:          default\n"), "{}", r.out);
    assert!(r.out.contains("Replicas:           3 desired | 3 total\n"), "{}", r.out);
    assert!(r.out.contains("Pods Status:        1 Running / 1 Waiting / 0 Succeeded / 0 Failed\n"), "{}", r.out);
    assert!(
        r.out.ends_with(
            "Events:\n  Type    Reason            Age   From                    Message\n  \
             ----    ------            ----  ----                    -------\n  \
             Normal  SuccessfulCreate  10m   statefulset-controller  create Pod web-0 in StatefulSet web successful\n"
        ),
        "{}",
        r.out
    );
}

#[test]
fn bad_input_sends_nothing() {
    let s = server();
    for (args, err) in [
        (&["get", "pods", "--bogus"][..], "error: unknown flag: --bogus\nSee 'ordinal ctl get --help' for usage.\n"),
        (
            &["get", "foo"][..],
            "error: the server doesn't have a resource type \"foo\"\nRun 'ordinal ctl help' for usage.\n",
        ),
        (
            &["scale", "sts", "web"][..],
            "error: required flag(s) \"replicas\" not set\nSee 'ordinal ctl scale --help' for usage.\n",
        ),
        (
            &["get", "pods", "-l", "app in (a"][..],
            "error: unable to parse requirement: found '', expected: ')'\nSee 'ordinal ctl get --help' for usage.\n",
        ),
        (
            &["delete", "pod"][..],
            "error: resource(s) were provided, but no name was specified\nSee 'ordinal ctl delete --help' for usage.\n",
        ),
        (
            &["apply", "-f", "x.yaml", "-n", "p1-dev"][..],
            "error: apply -n is not supported by ordinal yet; set metadata.namespace in the manifest\nSee 'ordinal ctl apply --help' for usage.\n",
        ),
    ] {
        let r = s.ctl(args);
        assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (1, "", err), "{args:?}");
    }
    assert!(s.seen().is_empty());
}

#[test]
fn unreachable_server_says_so() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let o = Command::new(env!("CARGO_BIN_EXE_ordinal"))
        .args(["ctl", "--server", &format!("http://{addr}"), "get", "pods"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!("error: cannot reach ordinal at http://{addr}: connection refused (is \"ordinal serve\" running?)\n")
    );
}
