//! The embedded cluster end to end: the real `ordinal serve` binary, its control API over HTTP
//! (via `curl`), DNS checked with `dig`. Every server runs on free loopback ports with a temporary
//! state dir and is killed at the end. No timing assertions: everything polls with a deadline.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(30);

fn seed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seeds").join(name)
}

fn seed_path(name: &str) -> PathBuf {
    let local = seed(name);
    if local.exists() { local } else { Path::new("/work/shared/fixtures/seeds").join(name) }
}

/// A port free for both UDP and TCP right now.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

struct Server {
    child: Child,
    admin: String,
    dns: SocketAddr,
}

impl Server {
    fn start(state_dir: &Path, extra: &[&str]) -> Server {
        let (dns_port, admin_port) = (free_port(), free_port());
        let dns: SocketAddr = format!("127.0.0.1:{dns_port}").parse().unwrap();
        let admin = format!("127.0.0.1:{admin_port}");
        let child = Command::new(env!("CARGO_BIN_EXE_ordinal"))
            .args(["serve", "--listen", &dns.to_string(), "--admin", &admin, "--state-dir"])
            .arg(state_dir)
            .args(["--udp-workers", "1", "--log", "warn"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ordinal");
        let s = Server { child, admin, dns };
        wait_for("admin /ready", || s.http("GET", "/ready", None, &[]).0 == 200);
        s
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// (status, body)
    fn http(&self, method: &str, path: &str, body: Option<&str>, headers: &[&str]) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-X", method, "-w", "\n%{http_code}", "--max-time", "10"]);
        for h in headers {
            cmd.args(["-H", h]);
        }
        if body.is_some() {
            cmd.args(["--data-binary", "@-"]);
        }
        cmd.arg(self.url(path)).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("curl");
        if let Some(b) = body {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b.as_bytes()).unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    fn get(&self, path: &str) -> Option<Value> {
        let (code, body) = self.http("GET", path, None, &[]);
        (code == 200).then(|| serde_json::from_str(&body).unwrap())
    }

    fn apply(&self, file: &Path) -> (u16, Value) {
        let text = std::fs::read_to_string(file).unwrap();
        let (code, body) =
            self.http("POST", "/apply", Some(&text), &[&format!("X-Ordinal-Source: {}", file.display())]);
        (code, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    fn pods(&self) -> Vec<Value> {
        self.get("/api/v1/namespaces/default/pods").map(|l| l["items"].as_array().unwrap().clone()).unwrap_or_default()
    }

    fn pod(&self, name: &str) -> Option<Value> {
        self.get(&format!("/api/v1/namespaces/default/pods/{name}"))
    }

    fn inject(&self, req: Value) -> u16 {
        self.http("POST", "/ordinal/v1/inject", Some(&req.to_string()), &["Content-Type: application/json"]).0
    }

    fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn running_and_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["status"]["conditions"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn name(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or("")
}

fn pod_ip(pod: &Value) -> String {
    pod["status"]["podIP"].as_str().unwrap_or("").to_string()
}

/// `kubectl get pods -w`: every watch line, as it arrives.
fn watch(server: &Server, path: &str) -> (Child, mpsc::Receiver<Value>) {
    let mut child = Command::new("curl").args(["-sN", &server.url(path)]).stdout(Stdio::piped()).spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && tx.send(v).is_err()
            {
                return;
            }
        }
    });
    (child, rx)
}

fn dig_a(server: &Server, qname: &str) -> (String, Vec<String>) {
    let a = common::dig(server.dns, qname, "A", &[]);
    let ips = a.answer.iter().filter(|(_, t, _)| t == "A").map(|(_, _, d)| d.clone()).collect();
    (a.status, ips)
}

#[test]
fn web_is_created_in_order_and_dns_follows_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (mut watcher, events) = watch(&server, "/api/v1/namespaces/default/pods?watch=true");

    let (code, res) = server.apply(&seed_path("web.yaml"));
    assert_eq!(code, 200, "{res}");
    let actions: Vec<String> = res["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}/{} {}", r["kind"], r["name"], r["action"]))
        .collect();
    assert_eq!(actions, ["\"Service\"/\"nginx\" \"created\"", "\"StatefulSet\"/\"web\" \"created\""]);

    // Ordered creation, seen through the watch: web-1 appears only after web-0 is Running and Ready.
    let mut web0_ready = false;
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < DEADLINE, "web-1 never created");
        let Ok(ev) = events.recv_timeout(Duration::from_secs(1)) else { continue };
        let obj = &ev["object"];
        match name(obj) {
            "web-0" => web0_ready |= running_and_ready(obj),
            "web-1" if ev["type"] == "ADDED" => {
                assert!(web0_ready, "web-1 was created before web-0 was Running and Ready");
                break;
            }
            other => assert!(other == "web-0" || other == "web-1", "unexpected pod {other}"),
        }
    }
    let _ = watcher.kill();
    let _ = watcher.wait();

    // DNS: the per-pod name answers with web-0's pod IP once Ready.
    wait_for("web-1 ready", || server.pod("web-1").is_some_and(|p| running_and_ready(&p)));
    let web0 = server.pod("web-0").unwrap();
    let ip = pod_ip(&web0);
    assert!(!ip.is_empty());
    wait_for("dig web-0", || dig_a(&server, "web-0.nginx.default.svc.cluster.local").1 == [ip.clone()]);
    let out = Command::new("dig")
        .args([
            &format!("@{}", server.dns.ip()),
            "-p",
            &server.dns.port().to_string(),
            "web-0.nginx.default.svc.cluster.local",
            "+short",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), ip);

    // A readiness flip via inject: NXDOMAIN for the per-pod name while unready, back after.
    assert_eq!(
        server.inject(json!({"action": "set-ready", "namespace": "default", "name": "web-0", "ready": false})),
        200
    );
    let (status, ips) = dig_a(&server, "web-0.nginx.default.svc.cluster.local");
    assert_eq!((status.as_str(), ips.len()), ("NXDOMAIN", 0), "the flip is in DNS when the inject is answered");
    assert_eq!(
        server.inject(json!({"action": "set-ready", "namespace": "default", "name": "web-0", "ready": true})),
        200
    );
    assert_eq!(dig_a(&server, "web-0.nginx.default.svc.cluster.local").1, [ip]);

    // The StatefulSet's status and the PVCs.
    let set = server.get("/apis/apps/v1/namespaces/default/statefulsets/web").unwrap();
    assert_eq!(set["status"]["readyReplicas"], 2, "{set}");
    let pvcs = server.get("/api/v1/persistentvolumeclaims").unwrap();
    let names: Vec<&str> = pvcs["items"].as_array().unwrap().iter().map(name).collect();
    assert_eq!(names, ["www-web-0", "www-web-1"]);

    // kubia is rejected whole: 422 naming both fields, nothing applied.
    let (code, status) = server.apply(&seed_path("kubia.yaml"));
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["reason"], "Invalid");
    let fields: Vec<&str> =
        status["details"]["causes"].as_array().unwrap().iter().filter_map(|c| c["field"].as_str()).collect();
    assert!(fields.contains(&"spec.selector") && fields.contains(&"spec.template.spec.volumeMounts"), "{status}");
    let msg = status["message"].as_str().unwrap();
    assert!(msg.contains("spec.selector") && msg.contains("spec.template.spec.volumeMounts"), "{msg}");
    assert_eq!(server.http("GET", "/api/v1/namespaces/default/services/kubia", None, &[]).0, 404);
    assert_eq!(server.http("GET", "/apis/apps/v1/namespaces/default/statefulsets/kubia", None, &[]).0, 404);
    let (code, body) = server.http("GET", "/api/v1/namespaces/default/pods/web-9", None, &[]);
    assert_eq!(code, 404);
    assert!(body.contains(r#"pods \"web-9\" not found"#), "{body}");
}

#[test]
fn delete_background_versus_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    assert_eq!(server.apply(&seed_path("web.yaml")).0, 200);
    wait_for("web-1 ready", || server.pod("web-1").is_some_and(|p| running_and_ready(&p)));
    let uids: Vec<String> = server.pods().iter().map(|p| p["metadata"]["uid"].as_str().unwrap().to_string()).collect();

    // Orphan: the set goes, its pods stay without our owner reference.
    let (code, _) =
        server.http("DELETE", "/apis/apps/v1/namespaces/default/statefulsets/web?propagationPolicy=Orphan", None, &[]);
    assert_eq!(code, 200);
    assert_eq!(server.http("GET", "/apis/apps/v1/namespaces/default/statefulsets/web", None, &[]).0, 404);
    let pods = server.pods();
    assert_eq!(pods.iter().map(name).collect::<Vec<_>>(), ["web-0", "web-1"]);
    assert!(pods.iter().all(|p| p["metadata"].get("ownerReferences").is_none()), "{pods:?}");

    // Re-apply adopts the same pods (same UIDs).
    assert_eq!(server.apply(&seed_path("web.yaml")).0, 200);
    wait_for("adoption", || {
        let pods = server.pods();
        pods.len() == 2 && pods.iter().all(|p| p["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet")
    });
    let now: Vec<String> = server.pods().iter().map(|p| p["metadata"]["uid"].as_str().unwrap().to_string()).collect();
    assert_eq!(now, uids);

    // Background: the pods are garbage-collected; the PVCs are kept (retention Retain).
    let (code, _) = server.http(
        "DELETE",
        "/apis/apps/v1/namespaces/default/statefulsets/web?propagationPolicy=Background",
        None,
        &[],
    );
    assert_eq!(code, 200);
    wait_for("pods gone", || server.pods().is_empty());
    let pvcs = server.get("/api/v1/namespaces/default/persistentvolumeclaims").unwrap();
    assert_eq!(pvcs["items"].as_array().unwrap().len(), 2);
    // DNS forgets the pods.
    wait_for("dns empty", || dig_a(&server, "web-0.nginx.default.svc.cluster.local").0 == "NXDOMAIN");
}

#[test]
fn kill_9_then_restart_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    assert_eq!(server.apply(&seed_path("web.yaml")).0, 200);
    wait_for("web-0 ready", || server.pod("web-0").is_some_and(|p| running_and_ready(&p)));
    // Acknowledged writes, then SIGKILL straight away (mid-rollout).
    let (code, body) = server.http(
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/web",
        Some(r#"{"spec":{"replicas":4}}"#),
        &["Content-Type: application/merge-patch+json"],
    );
    assert_eq!(code, 200, "{body}");
    let (code, _) = server.http(
        "POST",
        "/apply",
        Some("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acked\n"),
        &["X-Ordinal-Source: -"],
    );
    assert_eq!(code, 200);
    let web0_uid = server.pod("web-0").unwrap()["metadata"]["uid"].clone();
    server.kill9();
    // A crash mid-append leaves half a line: ignored with a warning.
    use std::io::Write;
    let mut wal = std::fs::OpenOptions::new().append(true).open(dir.path().join("wal.jsonl")).unwrap();
    wal.write_all(br#"{"rv":999999,"op":"put","object":{"kind":"Po"#).unwrap();
    drop(wal);

    let server = Server::start(dir.path(), &[]);
    assert!(server.get("/api/v1/namespaces/acked").is_some(), "acknowledged namespace lost");
    let set = server.get("/apis/apps/v1/namespaces/default/statefulsets/web").unwrap();
    assert_eq!(set["spec"]["replicas"], 4, "acknowledged scale lost");
    assert_eq!(server.pod("web-0").unwrap()["metadata"]["uid"], web0_uid, "web-0 must be the same pod");
    // The controller resumes: web-1..3 in order, each name once.
    wait_for("4 ready pods", || {
        let pods = server.pods();
        pods.len() == 4 && pods.iter().all(running_and_ready)
    });
    let names: Vec<String> = server.pods().iter().map(|p| name(p).to_string()).collect();
    assert_eq!(names, ["web-0", "web-1", "web-2", "web-3"]);
    let pvcs = server.get("/api/v1/namespaces/default/persistentvolumeclaims").unwrap();
    assert_eq!(pvcs["items"].as_array().unwrap().len(), 4);
}

#[test]
fn manifests_flag_applies_watches_and_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let mdir = tempfile::tempdir().unwrap();
    let file = mdir.path().join("app.yaml");
    let svc = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: x\n  ports:\n  - port: 80\n"
        )
    };
    std::fs::write(&file, format!("{}---\n{}", svc("one"), svc("two"))).unwrap();
    let kubia = mdir.path().join("kubia.yaml");
    std::fs::copy(seed_path("kubia.yaml"), &kubia).unwrap();
    let server = Server::start(dir.path(), &["-f", mdir.path().to_str().unwrap()]);
    let one = server.get("/api/v1/namespaces/default/services/one").expect("service one applied at startup");
    let ip = one["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(ip.starts_with("10.96."), "{ip}");
    assert_eq!(dig_a(&server, "one.default.svc.cluster.local").1, [ip]);
    assert_eq!(
        server.http("GET", "/api/v1/namespaces/default/services/kubia", None, &[]).0,
        404,
        "nothing from kubia.yaml"
    );

    // Edit: `two` removed from the file is deleted.
    std::fs::write(&file, svc("one")).unwrap();
    wait_for("prune of two", || server.http("GET", "/api/v1/namespaces/default/services/two", None, &[]).0 == 404);
    // A broken edit keeps the last good state.
    std::fs::write(&file, "apiVersion: v1\nkind: Service\nmetadata: [broken\n").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.get("/api/v1/namespaces/default/services/one").is_some());
}

#[test]
fn failed_pods_are_replaced_and_node_loss_needs_a_force_delete() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    assert_eq!(server.apply(&seed_path("web.yaml")).0, 200);
    wait_for("web-1 ready", || server.pod("web-1").is_some_and(|p| running_and_ready(&p)));

    // fail-pod: the controller deletes the Failed pod and re-creates the same identity.
    let old_uid = server.pod("web-1").unwrap()["metadata"]["uid"].clone();
    assert_eq!(server.inject(json!({"action": "fail-pod", "namespace": "default", "name": "web-1"})), 200);
    wait_for("web-1 replaced", || {
        server.pod("web-1").is_some_and(|p| p["metadata"]["uid"] != old_uid && running_and_ready(&p))
    });

    // lose-node: web-0 goes Ready=Unknown and out of DNS.
    let web0 = server.pod("web-0").unwrap();
    let node = web0["spec"]["nodeName"].as_str().unwrap().to_string();
    assert_eq!(server.inject(json!({"action": "lose-node", "node": node})), 200);
    let web0 = server.pod("web-0").unwrap();
    let ready =
        web0["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap()["status"]
            .clone();
    assert_eq!(ready, "Unknown");
    assert_eq!(dig_a(&server, "web-0.nginx.default.svc.cluster.local").0, "NXDOMAIN");

    // A graceful delete leaves it Terminating (its kubelet is gone); never a second web-0.
    assert_eq!(server.http("DELETE", "/api/v1/namespaces/default/pods/web-0", None, &[]).0, 200);
    std::thread::sleep(Duration::from_millis(1500)); // longer than --kubelet-max-grace
    let web0 = server.pod("web-0").expect("still there");
    assert!(web0["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(web0["metadata"]["uid"], server.pod("web-0").unwrap()["metadata"]["uid"]);
    assert_eq!(server.pods().iter().filter(|p| name(p) == "web-0").count(), 1);

    // Force delete: gone at once; the controller re-creates web-0 on a live node.
    let uid = web0["metadata"]["uid"].clone();
    assert_eq!(
        server.http("DELETE", "/api/v1/namespaces/default/pods/web-0?gracePeriodSeconds=0&force=true", None, &[]).0,
        200
    );
    wait_for("new web-0 ready", || {
        server.pod("web-0").is_some_and(|p| p["metadata"]["uid"] != uid && running_and_ready(&p))
    });
    assert_ne!(server.pod("web-0").unwrap()["spec"]["nodeName"], node.as_str());
    assert_eq!(server.inject(json!({"action": "restore-node", "node": node})), 200);
    assert_eq!(server.inject(json!({"action": "explode"})), 400);
}

#[test]
fn startup_manifests_do_not_undo_later_changes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let web = seed_path("web.yaml");
    let mut server = Server::start(dir.path(), &["-f", web.to_str().unwrap()]);
    let (code, _) = server.http(
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/web",
        Some(r#"[{"op":"replace","path":"/spec/replicas","value":1}]"#),
        &["Content-Type: application/json-patch+json"],
    );
    assert_eq!(code, 200);
    server.kill9();
    let server = Server::start(dir.path(), &["-f", web.to_str().unwrap()]);
    let set = server.get("/apis/apps/v1/namespaces/default/statefulsets/web").unwrap();
    assert_eq!(set["spec"]["replicas"], 1);
    wait_for("one pod", || server.pods().len() == 1);
}

#[test]
fn sigkill_mid_rolling_update_then_the_rollout_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    assert_eq!(server.apply(&seed_path("web.yaml")).0, 200);
    // apps/v1beta1 defaults to OnDelete: switch to RollingUpdate and 3 replicas.
    let (code, body) = server.http(
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/web",
        Some(r#"{"spec":{"replicas":3,"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}}}}"#),
        &["Content-Type: application/merge-patch+json"],
    );
    assert_eq!(code, 200, "{body}");
    wait_for("3 ready", || {
        let pods = server.pods();
        pods.len() == 3 && pods.iter().all(running_and_ready)
    });
    let image = |p: &Value| p["spec"]["containers"][0]["image"].as_str().unwrap_or("").to_string();
    let (code, _) = server.http(
        "PATCH",
        "/apis/apps/v1/namespaces/default/statefulsets/web",
        Some(r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:2"}]"#),
        &["Content-Type: application/json-patch+json"],
    );
    assert_eq!(code, 200);
    // Mid-rollout: web-2 replaced, the others not yet.
    wait_for("web-2 updated", || server.pod("web-2").is_some_and(|p| image(&p) == "nginx:2"));
    server.kill9();

    let server = Server::start(dir.path(), &[]);
    wait_for("rollout complete", || {
        let pods = server.pods();
        pods.len() == 3 && pods.iter().all(|p| running_and_ready(p) && image(p) == "nginx:2")
    });
    let names: Vec<String> = server.pods().iter().map(|p| name(p).to_string()).collect();
    assert_eq!(names, ["web-0", "web-1", "web-2"]);
    let pvcs = server.get("/api/v1/namespaces/default/persistentvolumeclaims").unwrap();
    let pvc_names: Vec<&str> = pvcs["items"].as_array().unwrap().iter().map(name).collect();
    assert_eq!(pvc_names, ["www-web-0", "www-web-1", "www-web-2"]);
    wait_for("status", || {
        let set = server.get("/apis/apps/v1/namespaces/default/statefulsets/web").unwrap();
        set["status"]["updatedReplicas"] == 3 && set["status"]["currentRevision"] == set["status"]["updateRevision"]
    });
}

#[test]
fn pvc_retention_policy_delete_is_honoured_by_garbage_collection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    assert_eq!(server.apply(&seed_path("web.yaml")).0, 200);
    let patch = |body: &str| {
        let (code, out) = server.http(
            "PATCH",
            "/apis/apps/v1/namespaces/default/statefulsets/web",
            Some(body),
            &["Content-Type: application/merge-patch+json"],
        );
        assert_eq!(code, 200, "{out}");
    };
    patch(
        r#"{"spec":{"replicas":3,"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete","whenDeleted":"Delete"}}}"#,
    );
    let pvcs = || -> Vec<String> {
        server.get("/api/v1/namespaces/default/persistentvolumeclaims").unwrap()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| name(p).to_string())
            .collect()
    };
    wait_for("3 ready", || {
        let pods = server.pods();
        pods.len() == 3 && pods.iter().all(running_and_ready)
    });
    assert_eq!(pvcs(), ["www-web-0", "www-web-1", "www-web-2"]);
    patch(r#"{"spec":{"replicas":1}}"#);
    wait_for("scaled-down claims deleted", || pvcs() == ["www-web-0"]);
    let (code, _) = server.http("DELETE", "/apis/apps/v1/namespaces/default/statefulsets/web", None, &[]);
    assert_eq!(code, 200);
    wait_for("everything gone", || pvcs().is_empty() && server.pods().is_empty());
}

#[test]
fn foreground_delete_keeps_the_set_until_its_pods_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    assert_eq!(server.apply(&seed_path("web.yaml")).0, 200);
    wait_for("web-1 ready", || server.pod("web-1").is_some_and(|p| running_and_ready(&p)));
    let (code, body) = server.http(
        "DELETE",
        "/apis/apps/v1/namespaces/default/statefulsets/web?propagationPolicy=Foreground",
        None,
        &[],
    );
    assert_eq!(code, 200, "{body}");
    let set: Value = serde_json::from_str(&body).unwrap();
    assert!(set["metadata"]["deletionTimestamp"].is_string(), "{set}");
    assert_eq!(set["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    // While any pod remains, the set is still there.
    wait_for("set gone", || {
        let set_there = server.http("GET", "/apis/apps/v1/namespaces/default/statefulsets/web", None, &[]).0 == 200;
        let pods = server.pods().len();
        assert!(set_there || pods == 0, "the set went before its pods");
        !set_there
    });
    assert!(server.pods().is_empty());
    assert_eq!(
        server.get("/api/v1/namespaces/default/persistentvolumeclaims").unwrap()["items"].as_array().unwrap().len(),
        2
    );
}
