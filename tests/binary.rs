//! The real `ordinal` binary: serve a manifests directory, edit it live, break it,
//! read /health, /ready and /metrics, stop it with SIGTERM; bad flags fail fast.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Via, ask, rdatas};
use hickory_proto::rr::RecordType as T;

/// A loopback port free for both UDP and TCP right now.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

struct Ordinal {
    child: Child,
    dns: SocketAddr,
    admin: SocketAddr,
    log: std::path::PathBuf,
}

impl Ordinal {
    fn start(args: &[&str], log_dir: &Path) -> Ordinal {
        let (dns, admin) = (free_port(), free_port());
        let log = log_dir.join("ordinal.log");
        let child = Command::new(env!("CARGO_BIN_EXE_ordinal"))
            .args(["serve", "--listen", &format!("127.0.0.1:{dns}"), "--admin", &format!("127.0.0.1:{admin}")])
            .args(args)
            .env("ORDINAL_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let o = Ordinal { child, dns: ([127, 0, 0, 1], dns).into(), admin: ([127, 0, 0, 1], admin).into(), log };
        o.wait_until(Duration::from_secs(30), "ready", || o.http("/ready").0 == 200);
        o
    }

    fn http(&self, path: &str) -> (u16, String) {
        use std::io::Write;
        let Ok(mut s) = std::net::TcpStream::connect(self.admin) else { return (0, String::new()) };
        let _ = write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        let code = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (code, resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_until(&self, limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < limit, "timed out waiting for {what}; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
        start.elapsed()
    }

    fn a(&self, name: &str) -> Vec<String> {
        rdatas(&ask(self.dns, Via::Udp, name, T::A).answers)
    }

    fn sigterm(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Ordinal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pod(name: &str, ip: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default, labels: {{app: web}}}}\nspec:\n  hostname: {name}\n  subdomain: web\n  containers: [{{name: c, image: nginx}}]\nstatus:\n  phase: Running\n  podIP: {ip}\n  conditions: [{{type: Ready, status: \"True\"}}]\n"
    )
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  clusterIP: None\n  selector: {app: web}\n  ports: [{name: http, port: 80}]\n";

#[test]
fn edits_apply_live_and_broken_edits_keep_the_last_good_answers() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(manifests.join("svc.yaml"), SERVICE).unwrap();
    std::fs::write(manifests.join("pods.yaml"), pod("web-0", "10.1.0.10") + &pod("web-1", "10.1.0.11")).unwrap();
    let o = Ordinal::start(&["--replay", "-f", manifests.to_str().unwrap()], dir.path());
    assert_eq!(o.a("web-0.web.default.svc.cluster.local."), vec!["A 10.1.0.10"]);

    // An edit (atomic replace, as editors do) changes the answer without restart.
    let tmp = manifests.join(".pods.yaml.tmp");
    std::fs::write(&tmp, pod("web-0", "10.1.0.99") + &pod("web-1", "10.1.0.11")).unwrap();
    std::fs::rename(&tmp, manifests.join("pods.yaml")).unwrap();
    let took = o.wait_until(Duration::from_secs(10), "the edit", || {
        o.a("web-0.web.default.svc.cluster.local.") == vec!["A 10.1.0.99"]
    });
    eprintln!("edit → new answer in {took:?}");

    // A broken edit: precise error in the log, last good answers keep serving.
    std::fs::write(manifests.join("pods.yaml"), pod("web-0", "10.1.0.77") + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-2}\nspec:\n  containers: [{name: c, image: x, ports: [{containerPort: http}]}]\n").unwrap();
    o.wait_until(Duration::from_secs(10), "the error log line", || o.log().contains("pods.yaml:"));
    let log = o.log();
    let line = log.lines().find(|l| l.contains("pods.yaml:")).unwrap();
    assert!(line.contains("containerPort"), "the error names the field: {line}");
    assert!(line.contains("last good"), "{line}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(o.a("web-0.web.default.svc.cluster.local."), vec!["A 10.1.0.99"], "old answer still served");

    // A new file in the watched directory is picked up.
    std::fs::write(manifests.join("more.yaml"), pod("web-3", "10.1.0.13")).unwrap();
    o.wait_until(Duration::from_secs(10), "the new file", || o.a("web.default.svc.cluster.local.").len() == 3);

    // Admin endpoints.
    assert_eq!(o.http("/health").0, 200);
    let (code, metrics) = o.http("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("coredns_dns_requests_total{server=\"dns://\",zone=\".\",proto=\"udp\",type=\"A\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("ordinal_cache_objects{kind=\"pod\"} 3"), "{metrics}");
    assert!(metrics.contains("coredns_dns_request_duration_seconds_bucket"), "{metrics}");
    assert!(o.sigterm().success(), "clean exit on SIGTERM");
}

#[test]
fn bad_flags_and_missing_files_fail_with_a_precise_message() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ordinal")).args(args).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, err) = run(&["serve", "--ttl=99999"]);
    assert!(!ok && err.contains("--ttl"), "{err}");
    let (ok, err) = run(&["serve", "--listen", "localhost:53x"]);
    assert!(!ok && err.contains("--listen"), "{err}");
    let (ok, err) = run(&["export", "-f", "/nonexistent/dir"]);
    assert!(!ok && err.contains("/nonexistent/dir"), "{err}");
    // A port already taken: the bind error names the address and what to do.
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (ok, err) = run(&["serve", "--replay", "--listen", &addr]);
    assert!(!ok && err.contains(&addr) && err.contains("--listen"), "{err}");
}

#[test]
fn export_writes_loadable_zone_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ordinal"))
        .args(["export", "-o", dir.path().to_str().unwrap(), "-f"])
        .arg(common::fixture("conformance.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let zone = std::fs::read_to_string(dir.path().join("cluster.local.zone")).unwrap();
    for line in [
        "$ORIGIN cluster.local.",
        "cluster.local. 5 IN NS ns.dns.cluster.local.",
        "db-0.db.prod.svc.cluster.local. 5 IN A 10.1.0.10",
        "_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local.",
        "ext.prod.svc.cluster.local. 5 IN CNAME www.example.com.",
    ] {
        assert!(zone.lines().any(|l| l == line), "missing {line:?} in:\n{zone}");
    }
    let rev = std::fs::read_to_string(dir.path().join("in-addr.arpa.zone")).unwrap();
    assert!(rev.contains("20.0.96.10.in-addr.arpa. 5 IN PTR web.prod.svc.cluster.local."), "{rev}");
    // Knot's checker accepts it, when installed.
    if Command::new("kzonecheck").arg("--version").output().is_ok() {
        let check = Command::new("kzonecheck")
            .args(["-o", "cluster.local"])
            .arg(dir.path().join("cluster.local.zone"))
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn a_ten_thousand_pod_dump_loads_and_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump.yaml");
    let size = ordinal::synthetic::DumpSize { services: 1000, pods: 10000 };
    std::fs::write(&dump, ordinal::synthetic::dump_yaml(size)).unwrap();
    let started = Instant::now();
    let o = Ordinal::start(&["--replay", "-f", dump.to_str().unwrap()], dir.path());
    eprintln!("1,000 services / 10,000 pods: start → /ready in {:?} (this build's profile)", started.elapsed());
    // svc-3 is headless (odd), in ns-3, with pods svc-3-0..9; pod i of service s has IP pod_ip(s*10+i).
    assert_eq!(o.a("svc-3-4.svc-3.ns-3.svc.cluster.local."), vec![format!("A {}", ordinal::synthetic::pod_ip(34))]);
    assert_eq!(o.a("svc-3.ns-3.svc.cluster.local.").len(), 10);
    assert_eq!(o.a("svc-998.ns-8.svc.cluster.local."), vec!["A 10.96.3.249"]);
    let srv = ask(o.dns, Via::Tcp, "_grpc._tcp.svc-999.ns-9.svc.cluster.local.", T::SRV);
    assert_eq!(srv.answers.len(), 10);
    let (_, metrics) = o.http("/metrics");
    assert!(metrics.contains("ordinal_cache_objects{kind=\"pod\"} 10000"), "{metrics}");
    assert!(metrics.contains("ordinal_cache_objects{kind=\"service\"} 1000"), "{metrics}");
}
