//! Protocol hygiene over real sockets: EDNS0 (RFC 6891), truncation and the TCP
//! retry (RFC 7766), FORMERR/NOTIMP/REFUSED, forwarding, and hostile input.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::{TestServer, Via, ask, dig, fixture, query_bytes, tcp_raw, udp_raw};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType as T;
use ordinal::cache::ZoneConfig;

/// A headless service with `n` ready pods, written as a manifest.
fn big_headless(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let mut y = String::from(
        "apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: default}\nspec:\n  clusterIP: None\n  ports: [{name: peer, port: 7000, protocol: TCP}]\n---\n",
    );
    y.push_str("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: big-1, namespace: default, labels: {kubernetes.io/service-name: big}}\naddressType: IPv4\nports: [{name: peer, port: 7000, protocol: TCP}]\nendpoints:\n");
    for i in 0..n {
        y.push_str(&format!(
            "- {{addresses: [10.2.{}.{}], hostname: big-{i}, conditions: {{ready: true}}}}\n",
            i / 250,
            i % 250 + 1
        ));
    }
    let path = dir.join("big.yaml");
    std::fs::write(&path, y).unwrap();
    path
}

#[test]
fn edns_is_echoed_only_when_asked_and_badvers_for_version_1() {
    let s = TestServer::conformance();
    let with = ask(s.addr, Via::Udp, "web.prod.svc.cluster.local.", T::A);
    let edns = with.edns.expect("OPT echoed");
    assert_eq!((edns.max_payload(), edns.version()), (1232, 0));

    let plain =
        Message::from_vec(&udp_raw(s.addr, &query_bytes("web.prod.svc.cluster.local.", T::A, None)).unwrap()).unwrap();
    assert!(plain.edns.is_none(), "no OPT in a reply to a query without one");

    // EDNS version 1 → BADVERS (extended rcode 16: OPT TTL high byte 1, header rcode 0).
    let mut q = query_bytes("web.prod.svc.cluster.local.", T::A, Some(1232));
    let opt = q.len() - 11; // OPT: root(1) type(2) class(2) ttl(4) rdlen(2)
    q[opt + 6] = 1; // version byte of the OPT TTL
    let r = udp_raw(s.addr, &q).unwrap();
    assert_eq!(r[3] & 0x0F, 0);
    let ropt = r.len() - 11;
    assert_eq!((r[ropt + 1], r[ropt + 2]), (0, 41), "reply ends in an OPT");
    assert_eq!(r[ropt + 5], 1, "extended rcode high bits = 1 (BADVERS)");
}

#[test]
fn large_answer_sets_tc_over_udp_and_comes_whole_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&[big_headless(dir.path(), 500)], ZoneConfig::default(), true);
    let name = "big.default.svc.cluster.local.";

    let udp = ask(s.addr, Via::Udp, name, T::A);
    assert!(udp.metadata.truncation, "500 A records do not fit 1232 bytes");
    assert!(udp.answers.is_empty(), "no partial RRset (RFC 2181 §9)");
    let tcp = ask(s.addr, Via::Tcp, name, T::A);
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 500);

    let srv = ask(s.addr, Via::Tcp, "_peer._tcp.big.default.svc.cluster.local.", T::SRV);
    assert!(!srv.metadata.truncation);
    assert_eq!((srv.answers.len(), srv.additionals.len()), (500, 500), "the whole SRV set with its targets' addresses");
    // Over UDP, an SRV set whose additionals do not fit is sent without them, untruncated.
    let small = ask(s.addr, Via::Udp, "_peer._tcp.big.default.svc.cluster.local.", T::SRV);
    assert!(small.metadata.truncation, "500 SRV answers alone exceed 1232 bytes");

    // A query without EDNS is limited to 512 bytes.
    let plain =
        Message::from_vec(&udp_raw(s.addr, &query_bytes("big-7.big.default.svc.cluster.local.", T::A, None)).unwrap())
            .unwrap();
    assert_eq!(plain.answers.len(), 1, "small answers fit 512 bytes");

    // dig retries over TCP on TC by itself; +tcp goes straight there.
    for extra in [&[][..], &["+tcp"][..]] {
        let a = dig(s.addr, "big.default.svc.cluster.local", "A", extra);
        assert_eq!((a.status.as_str(), a.answer.len()), ("NOERROR", 500), "{extra:?}");
    }
}

#[test]
fn client_udp_size_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&[big_headless(dir.path(), 100)], ZoneConfig::default(), true);
    let q = |size| {
        Message::from_vec(&udp_raw(s.addr, &query_bytes("big.default.svc.cluster.local.", T::A, Some(size))).unwrap())
            .unwrap()
    };
    // 100 A records ≈ 1.7 KB: truncated at 1232 and at 512 (the floor), whole at 4096.
    assert!(q(1232).metadata.truncation);
    assert!(q(100).metadata.truncation, "sizes under 512 count as 512");
    let big = q(4096);
    assert!(!big.metadata.truncation);
    assert_eq!(big.answers.len(), 100);
}

fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    [id, flags, qd, an, ns, ar].iter().flat_map(|v| v.to_be_bytes()).collect()
}

#[test]
fn malformed_queries_get_formerr_with_their_id() {
    let s = TestServer::conformance();
    let question = b"\x03web\x04prod\x03svc\x07cluster\x05local\x00\x00\x01\x00\x01";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no question", header(0x1111, 0x0100, 0, 0, 0, 0)),
        ("two questions", [header(0x2222, 0x0100, 2, 0, 0, 0), question.to_vec(), question.to_vec()].concat()),
        ("truncated question", [header(0x3333, 0x0100, 1, 0, 0, 0), question[..10].to_vec()].concat()),
        ("pointer in qname", [header(0x4444, 0x0100, 1, 0, 0, 0), b"\xC0\x0C\x00\x01\x00\x01".to_vec()].concat()),
        ("answer count in a query", [header(0x5555, 0x0100, 1, 1, 0, 0), question.to_vec()].concat()),
        ("additional count beyond the packet", [header(0x6666, 0x0100, 1, 0, 0, 3), question.to_vec()].concat()),
    ];
    for (what, q) in cases {
        for via in [Via::Udp, Via::Tcp] {
            let r = match via {
                Via::Udp => udp_raw(s.addr, &q),
                Via::Tcp => tcp_raw(s.addr, &q),
            }
            .unwrap_or_else(|| panic!("{what} over {via:?}: no reply"));
            assert_eq!(&r[..2], &q[..2], "{what}: id echoed");
            assert_eq!(r[2] & 0x80, 0x80, "{what}: QR set");
            assert_eq!(r[3] & 0x0F, 1, "{what} over {via:?}: FORMERR");
        }
    }
}

#[test]
fn other_opcodes_are_notimp_and_responses_and_runts_are_dropped() {
    let s = TestServer::conformance();
    let question = b"\x07cluster\x05local\x00\x00\x06\x00\x01";
    let update = [header(0x7777, 5 << 11, 1, 0, 0, 0), question.to_vec()].concat();
    let r = udp_raw(s.addr, &update).unwrap();
    assert_eq!(r[3] & 0x0F, 4, "NOTIMP");
    // A response (QR=1) is never answered (reflection), nor a packet under 12 bytes.
    let response = [header(0x8888, 0x8400, 1, 0, 0, 0), question.to_vec()].concat();
    assert!(udp_raw(s.addr, &response).is_none());
    assert!(udp_raw(s.addr, b"\x01\x02\x03").is_none());
    // The server is still answering.
    assert_eq!(ask(s.addr, Via::Udp, "web.prod.svc.cluster.local.", T::A).answers.len(), 1);
}

#[test]
fn names_outside_the_zone_are_refused_without_upstream() {
    let s = TestServer::conformance();
    let m = ask(s.addr, Via::Udp, "www.example.com.", T::A);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

/// xorshift64*: deterministic garbage without a rand dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
}

#[test]
fn hostile_packets_never_stop_the_server() {
    let s = TestServer::conformance();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let valid = query_bytes("_pg._tcp.db.prod.svc.cluster.local.", T::SRV, Some(1232));
    for i in 0..5000 {
        let pkt: Vec<u8> = if i % 2 == 0 {
            let len = (rng.next() % 600) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let mut p = valid.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % p.len();
                p[at] = rng.next() as u8;
            }
            p.truncate(12 + (rng.next() as usize) % (p.len() - 11));
            p
        };
        let _ = sock.send_to(&pkt, s.addr);
    }
    // Garbage over TCP too: a bogus length prefix and random bytes, then close.
    for _ in 0..50 {
        use std::io::Write;
        if let Ok(mut t) = std::net::TcpStream::connect(s.addr) {
            let junk: Vec<u8> = (0..(rng.next() % 300)).map(|_| rng.next() as u8).collect();
            let _ = t.write_all(&junk);
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    for via in [Via::Udp, Via::Tcp] {
        let m = ask(s.addr, via, "db-0.db.prod.svc.cluster.local.", T::A);
        assert_eq!(m.answers.len(), 1, "still answering over {via:?}");
    }
}

#[test]
fn forwarding_to_an_upstream_passes_bytes_through() {
    // A fake upstream on loopback that answers every query with REFUSED-free NOERROR
    // and one A record, echoing the id and question.
    let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
    let up_addr = upstream.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = upstream.recv_from(&mut buf) {
            let mut r = buf[..n].to_vec();
            r[2] = 0x81;
            r[3] = 0x80;
            r[6..8].copy_from_slice(&1u16.to_be_bytes());
            r[10..12].copy_from_slice(&0u16.to_be_bytes());
            let qend = 12 + r[12..].iter().position(|&b| b == 0).unwrap() + 5;
            r.truncate(qend);
            r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
            let _ = upstream.send_to(&r, from);
        }
    });
    let args = ordinal::config::Cli::try_parse_from_for_tests(&[
        "ordinal",
        "serve",
        "--replay",
        "--listen",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
        "--upstream",
        &up_addr.to_string(),
        "-f",
        fixture("conformance.yaml").to_str().unwrap(),
    ]);
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let t = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(ordinal::run::serve(
            args,
            async {
                let _ = stop_rx.await;
            },
            move |dns, _| addr_tx.send(dns[0]).unwrap(),
        ))
        .unwrap();
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for via in [Via::Udp, Via::Tcp] {
        let m = ask(addr, via, "www.example.com.", T::A);
        assert_eq!(common::rdatas(&m.answers), vec!["A 192.0.2.1"], "forwarded over {via:?}");
        if let Via::Udp = via {
            // Cluster names are still answered authoritatively.
            assert!(ask(addr, via, "web.prod.svc.cluster.local.", T::A).metadata.authoritative);
        }
    }
    let _ = stop_tx.send(());
    t.join().unwrap();
}
