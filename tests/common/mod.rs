//! Test harness: real servers on 127.0.0.1:0, a Rust DNS client, and dig/kdig parsing.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use ordinal::cache::{Cache, ZoneConfig};
use ordinal::dns::answer::Limits;
use ordinal::dns::server::{Bound, Shared, serve};
use ordinal::metrics::QueryMetrics;
use ordinal::source::manifests::ManifestSource;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A DNS server (the real transports and answer path) on an ephemeral loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub cache: Arc<std::sync::Mutex<Cache>>,
}

impl TestServer {
    /// Serves `manifests` with `config`; `synced` false leaves the cache unsynced.
    pub fn start(manifests: &[PathBuf], config: ZoneConfig, synced: bool) -> TestServer {
        let (mut cache, zone) = Cache::new(config);
        let mut source = ManifestSource::new(manifests.to_vec());
        let report = source.load_all();
        assert!(report.errors.is_empty(), "fixture errors: {:?}", report.errors);
        source.apply(&mut cache);
        if synced {
            cache.mark_synced();
        }
        let bound = Bound::bind(&["127.0.0.1:0".parse().unwrap()], 2).unwrap();
        let addr = bound.local_addrs()[0];
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shared =
            Shared { zone, limits: Limits::default(), metrics: Arc::new(QueryMetrics::new(3)), forwarder: None };
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                serve(bound, shared, async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
        });
        TestServer { addr, stop: Some(tx), thread: Some(thread), cache: Arc::new(std::sync::Mutex::new(cache)) }
    }

    pub fn conformance() -> TestServer {
        TestServer::start(&[fixture("conformance.yaml")], ZoneConfig::default(), true)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Builds a query message.
pub fn query_bytes(name: &str, rtype: RecordType, edns: Option<u16>) -> Vec<u8> {
    let mut msg = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        msg.set_edns(e);
    }
    msg.to_vec().unwrap()
}

fn rand_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(4242);
    NEXT.fetch_add(7, Ordering::Relaxed)
}

/// Sends raw bytes over UDP and returns the raw reply (None on timeout).
pub fn udp_raw(addr: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    sock.send_to(bytes, addr).unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Sends raw bytes over TCP (length-prefixed) and returns the raw reply.
pub fn tcp_raw(addr: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(&(bytes.len() as u16).to_be_bytes()).unwrap();
    s.write_all(bytes).unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).ok()?;
    Some(buf)
}

#[derive(Clone, Copy, Debug)]
pub enum Via {
    Udp,
    Tcp,
}

/// Queries `name`/`rtype` (EDNS 1232) and parses the reply.
pub fn ask(addr: SocketAddr, via: Via, name: &str, rtype: RecordType) -> Message {
    let q = query_bytes(name, rtype, Some(1232));
    let raw = match via {
        Via::Udp => udp_raw(addr, &q),
        Via::Tcp => tcp_raw(addr, &q),
    }
    .unwrap_or_else(|| panic!("no reply to {name} {rtype} over {via:?}"));
    let msg = Message::from_vec(&raw).unwrap();
    assert_eq!(msg.metadata.id, u16::from_be_bytes([q[0], q[1]]), "reply id");
    msg
}

/// Record data of a section as `TYPE rdata` strings, sorted.
pub fn rdatas(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| format!("{} {}", r.record_type(), r.data)).collect();
    v.sort();
    v
}

/// Owner names of a section, as written (case preserved), sorted.
pub fn owners(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| r.name.to_string()).collect();
    v.sort();
    v
}

/// What dig/kdig printed, parsed.
#[derive(Debug, Default)]
pub struct ToolAnswer {
    pub status: String,
    pub flags: Vec<String>,
    /// (name, type, rdata) per section.
    pub answer: Vec<(String, String, String)>,
    pub authority: Vec<(String, String, String)>,
    pub additional: Vec<(String, String, String)>,
    pub raw: String,
}

impl ToolAnswer {
    pub fn answer_rdata(&self) -> Vec<String> {
        let mut v: Vec<String> = self.answer.iter().map(|(_, t, d)| format!("{t} {d}")).collect();
        v.sort();
        v
    }
}

pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

/// Runs `dig` (or `kdig`) against the server and parses its output.
pub fn dig_tool(tool: &str, addr: SocketAddr, name: &str, rtype: &str, extra: &[&str]) -> ToolAnswer {
    let retries = if tool == "kdig" { "+retry=0" } else { "+tries=1" };
    let out = Command::new(tool)
        .args([&format!("@{}", addr.ip()), "-p", &addr.port().to_string(), name, rtype, "+time=2", retries])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("{tool} not runnable: {e}"));
    parse_dig(&String::from_utf8_lossy(&out.stdout))
}

pub fn dig(addr: SocketAddr, name: &str, rtype: &str, extra: &[&str]) -> ToolAnswer {
    dig_tool("dig", addr, name, rtype, extra)
}

pub fn parse_dig(text: &str) -> ToolAnswer {
    let mut a = ToolAnswer { raw: text.to_string(), ..Default::default() };
    let mut section = "";
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.split("status: ").nth(1) {
            a.status = rest.split([',', ';']).next().unwrap_or("").trim().to_string();
        }
        if l.starts_with(";; flags:") || l.starts_with(";; Flags:") {
            let flags = l[";; flags:".len()..].split(';').next().unwrap_or("");
            a.flags = flags.split_whitespace().map(str::to_string).collect();
        }
        if l.starts_with(";; ANSWER SECTION") {
            section = "answer";
            continue;
        }
        if l.starts_with(";; AUTHORITY SECTION") {
            section = "authority";
            continue;
        }
        if l.starts_with(";; ADDITIONAL SECTION") {
            section = "additional";
            continue;
        }
        if l.is_empty() || l.starts_with(';') {
            if l.is_empty() {
                section = "";
            }
            continue;
        }
        let parts: Vec<&str> = l.split_whitespace().collect();
        // NAME TTL [CLASS] TYPE RDATA...
        let Some(ci) = parts.iter().position(|p| *p == "IN") else { continue };
        if parts.len() < ci + 2 {
            continue;
        }
        let rec = (parts[0].to_string(), parts[ci + 1].to_string(), parts[ci + 2..].join(" "));
        match section {
            "answer" => a.answer.push(rec),
            "authority" => a.authority.push(rec),
            "additional" => a.additional.push(rec),
            _ => {}
        }
    }
    a
}
