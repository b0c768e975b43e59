//! The StatefulSet tutorials replayed end to end on the embedded cluster: the real
//! binary, driven by `ordinal ctl`, observed through the API's watch stream, and
//! checked with `dig`. Seeds come from `../shared/fixtures/seeds` (CI has shared/
//! beside the repository); each test skips with a message when they are absent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn seeds() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seeds");
    dir.join("web.yaml").exists().then_some(dir)
}

macro_rules! seeds_or_skip {
    () => {
        match seeds() {
            Some(d) => d,
            None => {
                eprintln!("../shared/fixtures/seeds not found; skipped");
                return;
            }
        }
    };
}

fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// One watch event as the test records it.
#[derive(Debug, Clone)]
struct Seen {
    kind: String,
    name: String,
    ready: bool,
    deleting: bool,
    image: String,
}

struct Embedded {
    child: Child,
    dns: SocketAddr,
    admin: SocketAddr,
    state: tempfile::TempDir,
    log: PathBuf,
}

impl Embedded {
    fn start() -> Embedded {
        let state = tempfile::tempdir().unwrap();
        Self::start_in(state)
    }

    fn start_in(state: tempfile::TempDir) -> Embedded {
        let (dns, admin) = (free_port(), free_port());
        let log = state.path().join("ordinal.log");
        let child = Command::new(env!("CARGO_BIN_EXE_ordinal"))
            .args(["serve", "--listen", &format!("127.0.0.1:{dns}"), "--admin", &format!("127.0.0.1:{admin}")])
            .args(["--state-dir", state.path().join("state").to_str().unwrap()])
            .args(["--kubelet-start-delay", "30ms", "--kubelet-ready-delay", "30ms"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap())
            .spawn()
            .unwrap();
        let e =
            Embedded { child, dns: ([127, 0, 0, 1], dns).into(), admin: ([127, 0, 0, 1], admin).into(), state, log };
        e.wait("ready", Duration::from_secs(60), || e.http("GET", "/ready").0 == 200);
        e
    }

    fn kill9(mut self) -> tempfile::TempDir {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
        let dir = tempfile::tempdir().unwrap();
        let state = std::mem::replace(&mut self.state, dir);
        std::mem::forget(self);
        state
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait(&self, what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < limit, "timed out waiting for {what}; log tail:\n{}", tail(&self.log(), 30));
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn http(&self, method: &str, path: &str) -> (u16, String) {
        let Ok(mut s) = TcpStream::connect(self.admin) else { return (0, String::new()) };
        let _ = write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        let code = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = resp.split_once("\r\n\r\n").map(|(h, b)| {
            if h.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(b) } else { b.to_string() }
        });
        (code, body.unwrap_or_default())
    }

    fn list(&self, path: &str) -> Vec<Value> {
        let (code, body) = self.http("GET", path);
        assert_eq!(code, 200, "GET {path}: {body}");
        serde_json::from_str::<Value>(&body).unwrap()["items"].as_array().cloned().unwrap_or_default()
    }

    fn pods(&self, ns: &str) -> Vec<Value> {
        self.list(&format!("/api/v1/namespaces/{ns}/pods"))
    }

    fn pod_names(&self, ns: &str) -> Vec<String> {
        self.pods(ns).iter().map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string()).collect()
    }

    fn ready_pods(&self, ns: &str) -> Vec<String> {
        self.pods(ns)
            .into_iter()
            .filter(|p| seen_of(p).ready && !seen_of(p).deleting)
            .map(|p| seen_of(&p).name)
            .collect()
    }

    fn pvcs(&self, ns: &str) -> Vec<String> {
        self.list(&format!("/api/v1/namespaces/{ns}/persistentvolumeclaims"))
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn ctl(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_ordinal"))
            .args(["ctl", "--server", &format!("http://{}", self.admin)])
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }

    fn ctl_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.ctl(args);
        assert!(ok, "ctl {args:?} failed: {out}{err}");
        out
    }

    fn dig(&self, name: &str, rtype: &str) -> Vec<String> {
        let out = Command::new("dig")
            .args([
                &format!("@{}", self.dns.ip()),
                "-p",
                &self.dns.port().to_string(),
                name,
                rtype,
                "+short",
                "+time=2",
                "+tries=1",
            ])
            .output()
            .unwrap();
        let mut v: Vec<String> =
            String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).filter(|l| !l.is_empty()).collect();
        v.sort();
        v
    }

    fn pod_ip(&self, ns: &str, name: &str) -> Option<String> {
        self.pods(ns)
            .into_iter()
            .find(|p| p["metadata"]["name"] == name)
            .and_then(|p| p["status"]["podIP"].as_str().map(str::to_string))
    }

    /// Records pod watch events of `ns` in the background.
    fn watch_pods(&self, ns: &str) -> Arc<Mutex<Vec<Seen>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut s = TcpStream::connect(self.admin).unwrap();
        write!(s, "GET /api/v1/namespaces/{ns}/pods?watch=true HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let out = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut r = BufReader::new(s);
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if let Ok(ev) = serde_json::from_str::<Value>(line.trim()) {
                    if let Some(obj) = ev.get("object") {
                        let mut s = seen_of(obj);
                        s.kind = ev["type"].as_str().unwrap_or("").to_string();
                        out.lock().unwrap().push(s);
                    }
                }
                line.clear();
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        seen
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Decodes HTTP/1.1 chunked bodies (and tolerates the chunk framing of a stream).
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { return body.to_string() };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn seen_of(p: &Value) -> Seen {
    let ready = p["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
    Seen {
        kind: String::new(),
        name: p["metadata"]["name"].as_str().unwrap_or("").to_string(),
        ready: ready && p["status"]["phase"] == "Running",
        deleting: !p["metadata"]["deletionTimestamp"].is_null(),
        image: p["spec"]["containers"][0]["image"].as_str().unwrap_or("").to_string(),
    }
}

/// Index of the first event matching `f`.
fn first(events: &[Seen], f: impl Fn(&Seen) -> bool) -> Option<usize> {
    events.iter().position(f)
}

/// The watch's events from `mark` on, once `done` holds for them (or after `T`, and the
/// caller's assertion then says what is missing): the watch stream can trail the state
/// `ctl` reads by a few events, so reading it right after a `wait` raced.
fn watched(watch: &Mutex<Vec<Seen>>, mark: usize, done: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
    let start = Instant::now();
    loop {
        let ev = watch.lock().unwrap()[mark..].to_vec();
        if done(&ev) || start.elapsed() > T {
            return ev;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where the next step's events will start: once the watch has been quiet for 300 ms, so
/// events of the step before that it delivers late are not counted as the next step's.
fn quiet_mark(watch: &Mutex<Vec<Seen>>) -> usize {
    let mut n = watch.lock().unwrap().len();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = watch.lock().unwrap().len();
        if now == n {
            return n;
        }
        n = now;
    }
}

/// Names in the order of their first ADDED event.
fn creation_order(events: &[Seen]) -> Vec<String> {
    let mut names = Vec::new();
    for e in events.iter().filter(|e| e.kind == "ADDED") {
        if !names.contains(&e.name) {
            names.push(e.name.clone());
        }
    }
    names
}

/// Names in the order their DELETED events came.
fn deletion_order(events: &[Seen]) -> Vec<String> {
    events.iter().filter(|e| e.kind == "DELETED").map(|e| e.name.clone()).collect()
}

const T: Duration = Duration::from_secs(60);

#[test]
fn web_tutorial_ordered_creation_dns_scaling_and_updates() {
    let seeds = seeds_or_skip!();
    let c = Embedded::start();
    let watch = c.watch_pods("default");
    let out = c.ctl_ok(&["apply", "-f", seeds.join("web.yaml").to_str().unwrap()]);
    assert!(out.contains("service/nginx created") && out.contains("statefulset.apps/web created"), "{out}");
    c.wait("web-0 and web-1 ready", T, || c.ready_pods("default").len() == 2);

    // Ordered creation: web-1 is not created before web-0 is Running and Ready.
    let ev = watched(&watch, 0, |ev| {
        first(ev, |e| e.name == "web-0" && e.ready).is_some()
            && first(ev, |e| e.name == "web-1" && e.kind == "ADDED").is_some()
    });
    let web0_ready = first(&ev, |e| e.name == "web-0" && e.ready).expect("web-0 became ready");
    let web1_added = first(&ev, |e| e.name == "web-1" && e.kind == "ADDED").expect("web-1 created");
    assert!(web0_ready < web1_added, "web-1 created before web-0 was ready: {ev:#?}");

    // Stable network identity in DNS.
    let ip0 = c.pod_ip("default", "web-0").unwrap();
    assert_eq!(c.dig("web-0.nginx.default.svc.cluster.local", "A"), vec![ip0.clone()]);
    assert_eq!(c.dig("nginx.default.svc.cluster.local", "A").len(), 2);
    let table = c.ctl_ok(&["get", "pods"]);
    assert!(
        table.starts_with("NAME") && table.contains("READY") && table.contains("web-0") && table.contains("1/1"),
        "{table}"
    );

    // Deleting all pods brings back the same names; DNS follows.
    c.ctl_ok(&["delete", "pod", "web-0"]);
    c.ctl_ok(&["delete", "pod", "web-1"]);
    c.wait("pods back", T, || {
        let p = c.pods("default");
        p.len() == 2 && p.iter().all(|p| seen_of(p).ready && !seen_of(p).deleting)
    });
    assert_eq!(c.pod_names("default"), vec!["web-0", "web-1"]);
    c.wait("DNS follows web-0", T, || {
        c.dig("web-0.nginx.default.svc.cluster.local", "A") == vec![c.pod_ip("default", "web-0").unwrap()]
    });

    // Scale up to 5: web-2..4 created in order; scale down to 3: web-4 then web-3 go; 5 PVCs stay.
    let mark = quiet_mark(&watch);
    c.ctl_ok(&["scale", "statefulset", "web", "--replicas", "5"]);
    c.wait("5 ready", T, || c.ready_pods("default").len() == 5);
    let ev = watched(&watch, mark, |ev| creation_order(ev).len() >= 3);
    assert_eq!(creation_order(&ev), vec!["web-2", "web-3", "web-4"]);
    let mark = quiet_mark(&watch);
    c.ctl_ok(&["scale", "statefulset", "web", "--replicas", "3"]);
    c.wait("3 pods", T, || c.pod_names("default").len() == 3);
    let ev = watched(&watch, mark, |ev| deletion_order(ev).len() >= 2);
    assert_eq!(deletion_order(&ev), vec!["web-4", "web-3"]);
    let mut pvcs = c.pvcs("default");
    pvcs.sort();
    assert_eq!(pvcs, vec!["www-web-0", "www-web-1", "www-web-2", "www-web-3", "www-web-4"]);
    c.wait("web-4 gone from DNS", T, || c.dig("web-4.nginx.default.svc.cluster.local", "A").is_empty());

    // RollingUpdate: image update replaces web-2, then web-1, then web-0.
    c.ctl_ok(&["patch", "statefulset", "web", "-p", r#"{"spec":{"updateStrategy":{"type":"RollingUpdate"}}}"#]);
    let mark = quiet_mark(&watch);
    c.ctl_ok(&["set", "image", "statefulset/web", "nginx=registry.k8s.io/nginx-slim:0.24"]);
    c.wait("rolled out", T, || {
        let p = c.pods("default");
        p.len() == 3 && p.iter().all(|p| seen_of(p).image.ends_with(":0.24") && seen_of(p).ready)
    });
    let ev = watched(&watch, mark, |ev| deletion_order(ev).len() >= 3);
    assert_eq!(deletion_order(&ev), vec!["web-2", "web-1", "web-0"], "rolling update order");
    let (ok, out, _) = c.ctl(&["rollout", "status", "statefulset", "web"]);
    assert!(ok && out.contains("complete"), "{out}");

    // Partition: only ordinals ≥ partition update.
    c.ctl_ok(&[
        "patch",
        "statefulset",
        "web",
        "-p",
        r#"{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}"#,
    ]);
    c.ctl_ok(&["set", "image", "statefulset/web", "nginx=registry.k8s.io/nginx-slim:0.25"]);
    c.wait("web-2 updated", T, || {
        c.pods("default")
            .iter()
            .any(|p| seen_of(p).name == "web-2" && seen_of(p).image.ends_with(":0.25") && seen_of(p).ready)
    });
    std::thread::sleep(Duration::from_millis(500));
    let images: Vec<(String, String)> = c.pods("default").iter().map(|p| (seen_of(p).name, seen_of(p).image)).collect();
    assert!(
        images.iter().filter(|(n, _)| n != "web-2").all(|(_, i)| i.ends_with(":0.24")),
        "partition held lower ordinals back: {images:?}"
    );

    // OnDelete: nothing changes until a pod is deleted; the deleted one comes back updated.
    c.ctl_ok(&[
        "patch",
        "statefulset",
        "web",
        "-p",
        r#"{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}"#,
    ]);
    c.ctl_ok(&["set", "image", "statefulset/web", "nginx=registry.k8s.io/nginx-slim:0.26"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(c.pods("default").iter().all(|p| !seen_of(p).image.ends_with(":0.26")), "OnDelete replaced pods by itself");
    c.ctl_ok(&["delete", "pod", "web-1"]);
    c.wait("web-1 recreated at the new image", T, || {
        c.pods("default")
            .iter()
            .any(|p| seen_of(p).name == "web-1" && seen_of(p).image.ends_with(":0.26") && seen_of(p).ready)
    });
    assert!(
        c.pods("default").iter().filter(|p| seen_of(p).name != "web-1").all(|p| !seen_of(p).image.ends_with(":0.26"))
    );
}

#[test]
fn web_tutorial_orphan_delete_adoption_cascade_and_pvc_reuse() {
    let seeds = seeds_or_skip!();
    let c = Embedded::start();
    let web = seeds.join("web.yaml");
    c.ctl_ok(&["apply", "-f", web.to_str().unwrap()]);
    c.ctl_ok(&["scale", "statefulset", "web", "--replicas", "3"]);
    c.wait("3 ready", T, || c.ready_pods("default").len() == 3);

    // Orphan delete: the set goes, its pods stay; re-apply (2 replicas) adopts web-0/web-1
    // and terminates the surplus web-2.
    let out = c.ctl_ok(&["delete", "statefulset", "web", "--cascade=orphan"]);
    assert!(out.contains("statefulset.apps \"web\" deleted"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(c.pod_names("default").len(), 3, "orphaned pods keep running");
    let uids: Vec<String> =
        c.pods("default").iter().map(|p| p["metadata"]["uid"].as_str().unwrap().to_string()).collect();
    c.ctl_ok(&["apply", "-f", web.to_str().unwrap()]);
    c.wait("surplus web-2 terminated", T, || c.pod_names("default") == vec!["web-0", "web-1"]);
    let after: Vec<String> =
        c.pods("default").iter().map(|p| p["metadata"]["uid"].as_str().unwrap().to_string()).collect();
    assert_eq!(after, uids[..2].to_vec(), "web-0 and web-1 were adopted, not recreated");

    // Cascading delete: pods go (highest ordinal first), PVCs stay; re-creating reuses them.
    let watch = c.watch_pods("default");
    c.ctl_ok(&["delete", "statefulset", "web"]);
    c.wait("pods gone", T, || c.pods("default").is_empty());
    let ev = watched(&watch, 0, |ev| deletion_order(ev).len() >= 2);
    assert_eq!(deletion_order(&ev), vec!["web-1", "web-0"], "cascading delete terminates in reverse order");
    let pvcs = c.pvcs("default");
    assert_eq!(pvcs.len(), 3, "PVCs kept: {pvcs:?}");
    c.ctl_ok(&["apply", "-f", web.to_str().unwrap()]);
    c.wait("2 ready again", T, || c.ready_pods("default").len() == 2);
    assert_eq!(c.pvcs("default").len(), 3, "the same PVCs are reused, none created");
    let claim = c.pods("default")[0]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|v| v["persistentVolumeClaim"]["claimName"].as_str().map(str::to_string));
    assert_eq!(claim.as_deref(), Some("www-web-0"));
}

#[test]
fn parallel_redis_mysql_and_zookeeper_tutorials() {
    let seeds = seeds_or_skip!();
    let c = Embedded::start();

    // Parallel: all pods created at once (no waiting for readiness).
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(seeds.join("redis-cluster.yaml"))
        .unwrap()
        .replace("  replicas: 4\n", "  replicas: 4\n  podManagementPolicy: Parallel\n");
    let redis = dir.path().join("redis.yaml");
    std::fs::write(&redis, text).unwrap();
    let watch = c.watch_pods("default");
    c.ctl_ok(&["apply", "-f", redis.to_str().unwrap()]);
    c.wait("4 redis pods ready", T, || c.ready_pods("default").len() == 4);
    let ev = watched(&watch, 0, |ev| {
        ev.iter().filter(|e| e.ready).map(|e| e.name.as_str()).collect::<std::collections::HashSet<_>>().len() == 4
    });
    let last_added = ev.iter().rposition(|e| e.kind == "ADDED").unwrap();
    let first_ready = first(&ev, |e| e.ready).unwrap();
    assert!(last_added < first_ready, "Parallel: all 4 created before any became ready: {ev:#?}");
    // Two named ports → SRV records for both.
    assert_eq!(c.dig("_client._tcp.redis-cluster.default.svc.cluster.local", "SRV").len(), 4);
    let gossip = c.dig("_gossip._tcp.redis-cluster.default.svc.cluster.local", "SRV");
    assert_eq!(gossip.len(), 4);
    assert!(gossip.iter().all(|r| r.contains(" 16379 redis-cluster-")), "{gossip:?}");

    // mysql in p1-dev, with its second, load-balanced Service.
    c.ctl_ok(&["apply", "-f", seeds.join("mysql.yaml").to_str().unwrap()]);
    c.wait("3 mysql pods", T, || c.ready_pods("p1-dev").len() == 3);
    let ip = c.pod_ip("p1-dev", "mysql-2").unwrap();
    assert_eq!(c.dig("mysql-2.mysqlservice.p1-dev.svc.cluster.local", "A"), vec![ip]);
    let read = c.dig("mysql-read.p1-dev.svc.cluster.local", "A");
    assert_eq!(read.len(), 1, "ClusterIP service: one cluster IP");
    assert!(read[0].starts_with("10.96."), "{read:?}");

    // zookeeper: pod names only under the governing Service; the client Service has a cluster IP.
    c.ctl_ok(&["apply", "-f", seeds.join("zookeeper.yaml").to_str().unwrap()]);
    c.wait("3 zookeeper pods", T, || {
        c.pods("default").iter().filter(|p| seen_of(p).name.starts_with("zookeeper-") && seen_of(p).ready).count() == 3
    });
    let zk0 = c.pod_ip("default", "zookeeper-0").unwrap();
    assert_eq!(c.dig("zookeeper-0.zookeeper-server.default.svc.cluster.local", "A"), vec![zk0.clone()]);
    assert!(
        c.dig("zookeeper-0.zookeeper.default.svc.cluster.local", "A").is_empty(),
        "no hostname under a non-governing service"
    );
    assert_eq!(c.dig("_leader-election._tcp.zookeeper-server.default.svc.cluster.local", "SRV").len(), 3);
    assert_eq!(c.dig("zookeeper.default.svc.cluster.local", "A").len(), 1);
}

#[test]
fn kubia_is_rejected_and_nothing_applied() {
    let seeds = seeds_or_skip!();
    let c = Embedded::start();
    let (ok, out, err) = c.ctl(&["apply", "-f", seeds.join("kubia.yaml").to_str().unwrap()]);
    assert!(!ok, "kubia must be rejected: {out}");
    let all = format!("{out}{err}");
    assert!(all.contains("spec.selector"), "{all}");
    assert!(all.contains("spec.template.spec.volumeMounts"), "{all}");
    assert!(
        c.list("/api/v1/namespaces/default/services").iter().all(|s| s["metadata"]["name"] != "kubia"),
        "the Service from the same file was not applied"
    );
    assert!(c.list("/apis/apps/v1/namespaces/default/statefulsets").is_empty());
}

#[test]
fn node_loss_keeps_the_pod_terminating_until_forced_and_never_duplicates() {
    let seeds = seeds_or_skip!();
    let c = Embedded::start();
    c.ctl_ok(&["apply", "-f", seeds.join("web.yaml").to_str().unwrap()]);
    c.wait("2 ready", T, || c.ready_pods("default").len() == 2);
    let node = c.pods("default").into_iter().find(|p| p["metadata"]["name"] == "web-1").unwrap()["spec"]["nodeName"]
        .as_str()
        .unwrap()
        .to_string();
    let watch = c.watch_pods("default");
    c.ctl_ok(&["inject", "lose-node", &node]);
    // kubectl's delete waits for the pod to go, which it never does on a lost node.
    c.ctl_ok(&["delete", "pod", "web-1", "--wait=false"]);
    std::thread::sleep(Duration::from_secs(2));
    let p = c.pods("default");
    let web1: Vec<&Value> = p.iter().filter(|p| p["metadata"]["name"] == "web-1").collect();
    assert_eq!(web1.len(), 1, "exactly one web-1");
    assert!(seen_of(web1[0]).deleting, "web-1 stays Terminating while its node is lost");
    c.ctl_ok(&["delete", "pod", "web-1", "--force", "--grace-period=0"]);
    c.wait("web-1 recreated", T, || {
        c.pods("default").iter().any(|p| p["metadata"]["name"] == "web-1" && !seen_of(p).deleting)
    });
    let ev = watched(&watch, 0, |ev| {
        let deleted = first(ev, |e| e.name == "web-1" && e.kind == "DELETED");
        deleted.is_some_and(|d| ev[d..].iter().any(|e| e.name == "web-1" && e.kind == "ADDED"))
    });
    // Never two live web-1 at once: a new web-1 is ADDED only after the old one's DELETED.
    let deleted = first(&ev, |e| e.name == "web-1" && e.kind == "DELETED").expect("old web-1 deleted");
    let added = ev.iter().rposition(|e| e.name == "web-1" && e.kind == "ADDED").unwrap();
    assert!(deleted < added, "{ev:#?}");
}

#[test]
fn sigkill_mid_rollout_then_restart_completes_without_duplicates_or_lost_pvcs() {
    let seeds = seeds_or_skip!();
    let c = Embedded::start();
    c.ctl_ok(&["apply", "-f", seeds.join("web.yaml").to_str().unwrap()]);
    c.ctl_ok(&["scale", "statefulset", "web", "--replicas", "4"]);
    c.wait("4 ready", T, || c.ready_pods("default").len() == 4);
    c.ctl_ok(&["patch", "statefulset", "web", "-p", r#"{"spec":{"updateStrategy":{"type":"RollingUpdate"}}}"#]);
    c.ctl_ok(&["set", "image", "statefulset/web", "nginx=registry.k8s.io/nginx-slim:0.24"]);
    c.wait("rollout under way", T, || c.pods("default").iter().any(|p| seen_of(p).image.ends_with(":0.24")));
    let state = c.kill9();
    let c = Embedded::start_in(state);
    c.wait("rollout complete after restart", T, || {
        let p = c.pods("default");
        p.len() == 4 && p.iter().all(|p| seen_of(p).image.ends_with(":0.24") && seen_of(p).ready)
    });
    let mut names = c.pod_names("default");
    names.dedup();
    assert_eq!(names, vec!["web-0", "web-1", "web-2", "web-3"]);
    let mut pvcs = c.pvcs("default");
    pvcs.sort();
    assert_eq!(pvcs, vec!["www-web-0", "www-web-1", "www-web-2", "www-web-3"]);
    assert_eq!(c.dig("web.nginx.default.svc.cluster.local", "A").len(), 0, "no such name");
    assert_eq!(c.dig("nginx.default.svc.cluster.local", "A").len(), 4);
}
