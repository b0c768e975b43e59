//! The conformance checklist of reference k8s-dns.md §1.5, cases 1–45, against the
//! real server on 127.0.0.1:0: every case over UDP and TCP with a Rust client, and a
//! representative subset through `dig` and `kdig`.

mod common;

use std::sync::OnceLock;

use common::{TestServer, Via, ask, dig, dig_tool, fixture, have, owners, rdatas};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType as T};
use ordinal::cache::{PodsMode, ZoneConfig};

fn server() -> std::net::SocketAddr {
    static S: OnceLock<TestServer> = OnceLock::new();
    S.get_or_init(TestServer::conformance).addr
}

const Z: &str = "svc.cluster.local.";

/// Runs `check` over UDP and over TCP.
fn both(name: &str, rtype: T, check: impl Fn(&Message)) {
    for via in [Via::Udp, Via::Tcp] {
        let m = ask(server(), via, name, rtype);
        assert!(m.metadata.authoritative, "{name} {rtype} over {via:?}: AA must be set");
        check(&m);
    }
}

fn ok(m: &Message, want: &[&str]) {
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m}");
    assert_eq!(rdatas(&m.answers), want.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{m}");
}

/// NODATA: NOERROR, no answer, the zone SOA in authority (RFC 2308 §2.2).
fn nodata(m: &Message) {
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m}");
    assert!(m.answers.is_empty(), "{m}");
    assert_eq!(m.authorities.len(), 1, "{m}");
    assert_eq!(m.authorities[0].record_type(), T::SOA, "{m}");
}

fn nxdomain(m: &Message) {
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{m}");
    assert!(m.answers.is_empty(), "{m}");
    assert_eq!(m.authorities.first().map(|r| r.record_type()), Some(T::SOA), "{m}");
}

#[test]
fn case_01_dns_version_txt() {
    both("dns-version.cluster.local.", T::TXT, |m| {
        ok(m, &["TXT 1.1.0"]);
        assert_eq!(m.answers[0].ttl, 28800);
    });
}

#[test]
fn case_02_clusterip_service_a() {
    both(&format!("kubernetes.default.{Z}"), T::A, |m| {
        ok(m, &["A 10.96.0.1"]);
        assert_eq!(m.answers[0].ttl, 5, "default TTL");
    });
}

#[test]
fn case_03_case_insensitive_and_question_case_echoed() {
    both("KUBERNETES.Default.SVC.cluster.local.", T::A, |m| {
        ok(m, &["A 10.96.0.1"]);
        assert_eq!(m.queries[0].name().to_string(), "KUBERNETES.Default.SVC.cluster.local.");
        assert_eq!(owners(&m.answers), vec!["KUBERNETES.Default.SVC.cluster.local."]);
    });
}

#[test]
fn case_04_clusterip_v4_aaaa_is_nodata() {
    both(&format!("web.prod.{Z}"), T::AAAA, nodata);
}

#[test]
fn case_05_v6_service() {
    both(&format!("v6.prod.{Z}"), T::AAAA, |m| ok(m, &["AAAA fd00::40"]));
    both(&format!("v6.prod.{Z}"), T::A, nodata);
}

#[test]
fn case_06_dual_stack_service() {
    both(&format!("dual.prod.{Z}"), T::A, |m| ok(m, &["A 10.96.0.30"]));
    both(&format!("dual.prod.{Z}"), T::AAAA, |m| ok(m, &["AAAA fd00::30"]));
}

#[test]
fn case_07_clusterip_srv_with_additional() {
    both(&format!("_https._tcp.kubernetes.default.{Z}"), T::SRV, |m| {
        ok(m, &["SRV 0 100 443 kubernetes.default.svc.cluster.local."]);
        assert_eq!(rdatas(&m.additionals), vec!["A 10.96.0.1"]);
    });
}

#[test]
fn case_08_named_port_srv_only() {
    both(&format!("_http._tcp.web.prod.{Z}"), T::SRV, |m| ok(m, &["SRV 0 100 80 web.prod.svc.cluster.local."]));
    // An unnamed port has no _port._proto name, but the service-name SRV (CoreDNS
    // extension) lists it.
    both(&format!("solo.prod.{Z}"), T::SRV, |m| ok(m, &["SRV 0 100 8080 solo.prod.svc.cluster.local."]));
}

#[test]
fn case_09_unknown_port_nxdomain() {
    both(&format!("_nope._tcp.web.prod.{Z}"), T::SRV, nxdomain);
}

#[test]
fn case_10_protocol_mismatch_nxdomain() {
    both(&format!("_http._udp.web.prod.{Z}"), T::SRV, nxdomain);
}

#[test]
fn case_11_clusterip_ptr_v4() {
    both("20.0.96.10.in-addr.arpa.", T::PTR, |m| ok(m, &["PTR web.prod.svc.cluster.local."]));
}

#[test]
fn case_12_clusterip_ptr_v6() {
    let name = "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.";
    both(name, T::PTR, |m| ok(m, &["PTR dual.prod.svc.cluster.local."]));
}

#[test]
fn case_13_headless_ready_endpoints_only() {
    both(&format!("db.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.10", "A 10.1.0.11"]));
}

#[test]
fn case_14_statefulset_pod_name() {
    both(&format!("db-0.db.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.10"]));
}

#[test]
fn case_15_not_ready_pod_nxdomain() {
    both(&format!("db-2.db.prod.{Z}"), T::A, nxdomain);
}

#[test]
fn case_16_publish_not_ready_addresses() {
    both(&format!("db-peers.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.10", "A 10.1.0.11", "A 10.1.0.12"]));
}

#[test]
fn case_17_dashed_ip_endpoint_name() {
    both(&format!("10-1-0-12.db-peers.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.12"]));
}

#[test]
fn case_18_headless_srv_per_endpoint() {
    both(&format!("_pg._tcp.db.prod.{Z}"), T::SRV, |m| {
        ok(m, &["SRV 0 50 5432 db-0.db.prod.svc.cluster.local.", "SRV 0 50 5432 db-1.db.prod.svc.cluster.local."]);
        assert_eq!(rdatas(&m.additionals), vec!["A 10.1.0.10", "A 10.1.0.11"]);
        assert_eq!(owners(&m.additionals), vec!["db-0.db.prod.svc.cluster.local.", "db-1.db.prod.svc.cluster.local."]);
    });
}

#[test]
fn case_19_headless_srv_dashed_targets() {
    both(&format!("_pg._tcp.db-peers.prod.{Z}"), T::SRV, |m| {
        ok(
            m,
            &[
                "SRV 0 33 5432 10-1-0-10.db-peers.prod.svc.cluster.local.",
                "SRV 0 33 5432 10-1-0-11.db-peers.prod.svc.cluster.local.",
                "SRV 0 33 5432 10-1-0-12.db-peers.prod.svc.cluster.local.",
            ],
        )
    });
}

#[test]
fn case_20_headless_without_hostnames() {
    both(&format!("anon.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.20"]));
}

#[test]
fn case_21_headless_dashed_name() {
    both(&format!("10-1-0-20.anon.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.20"]));
}

#[test]
fn case_22_one_a_per_ip_of_a_hostname() {
    both(&format!("multi.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.30", "A 10.1.0.31"]));
    both(&format!("m-0.multi.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.30", "A 10.1.0.31"]));
}

#[test]
fn case_23_dual_stack_headless() {
    both(&format!("db6.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.40"]));
    both(&format!("db6.prod.{Z}"), T::AAAA, |m| ok(m, &["AAAA fd00:1::40"]));
    both(&format!("db6-0.db6.prod.{Z}"), T::AAAA, |m| ok(m, &["AAAA fd00:1::40"]));
}

#[test]
fn case_24_empty_headless_nxdomain() {
    both(&format!("empty.prod.{Z}"), T::A, nxdomain);
}

#[test]
fn case_25_endpoint_ptr() {
    both("20.0.1.10.in-addr.arpa.", T::PTR, |m| ok(m, &["PTR 10-1-0-20.anon.prod.svc.cluster.local."]));
}

#[test]
fn case_26_ptr_per_selecting_service() {
    both("10.0.1.10.in-addr.arpa.", T::PTR, |m| {
        ok(m, &["PTR 10-1-0-10.db-peers.prod.svc.cluster.local.", "PTR db-0.db.prod.svc.cluster.local."])
    });
}

#[test]
fn case_27_ptr_only_where_ready() {
    both("12.0.1.10.in-addr.arpa.", T::PTR, |m| ok(m, &["PTR 10-1-0-12.db-peers.prod.svc.cluster.local."]));
    // 10.1.0.50 is a not-ready endpoint of `empty` only: no publishing service.
    both("50.0.1.10.in-addr.arpa.", T::PTR, nxdomain);
}

#[test]
fn case_28_externalname_cname() {
    both(&format!("ext.prod.{Z}"), T::CNAME, |m| ok(m, &["CNAME www.example.com."]));
}

#[test]
fn case_29_externalname_a_gives_cname_and_in_zone_target() {
    // Target outside the zone: the CNAME (the client's resolver follows it).
    both(&format!("ext.prod.{Z}"), T::A, |m| ok(m, &["CNAME www.example.com."]));
    // Target inside the zone: the CNAME plus the target's records.
    both(&format!("alias.prod.{Z}"), T::A, |m| ok(m, &["A 10.96.0.20", "CNAME web.prod.svc.cluster.local."]));
}

#[test]
fn case_30_no_subnames_under_externalname() {
    both(&format!("_x._tcp.ext.prod.{Z}"), T::SRV, nxdomain);
    both(&format!("foo.ext.prod.{Z}"), T::A, nxdomain);
}

#[test]
fn case_31_unknown_service_nxdomain_with_soa_minimum() {
    both(&format!("nosuch.prod.{Z}"), T::A, |m| {
        nxdomain(m);
        let RData::SOA(soa) = &m.authorities[0].data else { panic!() };
        assert_eq!(soa.minimum, 5, "negative TTL = SOA MINIMUM = TTL");
    });
}

#[test]
fn case_32_unknown_namespace_nxdomain() {
    both(&format!("web.nosuchns.{Z}"), T::A, nxdomain);
}

#[test]
fn case_33_namespace_name_is_nodata() {
    both(&format!("prod.{Z}"), T::A, nodata);
}

#[test]
fn case_34_zone_structure_names_are_nodata() {
    for name in ["svc.cluster.local.", "pod.cluster.local.", "cluster.local."] {
        both(name, T::A, nodata);
    }
}

#[test]
fn case_35_other_names_in_zone_nxdomain() {
    both("foo.cluster.local.", T::A, nxdomain);
}

#[test]
fn case_36_too_many_labels_nxdomain() {
    both(&format!("a.b.c.d.web.prod.{Z}"), T::A, nxdomain);
}

#[test]
fn case_37_existing_name_other_types_nodata() {
    for t in [T::TXT, T::MX, T::HINFO] {
        both(&format!("web.prod.{Z}"), t, nodata);
    }
}

#[test]
fn case_38_apex_soa() {
    both("cluster.local.", T::SOA, |m| {
        assert_eq!(m.answers.len(), 1);
        let RData::SOA(soa) = &m.answers[0].data else { panic!("{m}") };
        assert_eq!(soa.mname.to_string(), "ns.dns.cluster.local.");
        assert_eq!(soa.rname.to_string(), "hostmaster.cluster.local.");
        assert_eq!((soa.refresh, soa.retry, soa.expire, soa.minimum), (7200, 1800, 86400, 5));
        assert!(soa.serial > 1_700_000_000, "serial is the unix time of the last change");
    });
}

#[test]
fn case_39_apex_ns_with_glue() {
    both("cluster.local.", T::NS, |m| {
        ok(m, &["NS ns.dns.cluster.local."]);
        assert_eq!(rdatas(&m.additionals), vec!["A 10.96.0.10"], "glue = kube-dns cluster IP");
    });
}

#[test]
fn case_40_ns_dns_name() {
    both("ns.dns.cluster.local.", T::A, |m| ok(m, &["A 10.96.0.10"]));
}

#[test]
fn case_41_pod_records_per_mode() {
    both("10-1-0-5.prod.pod.cluster.local.", T::A, |m| ok(m, &["A 10.1.0.5"]));
    let cfg = |pods| ZoneConfig { pods, ..ZoneConfig::default() };
    let disabled = TestServer::start(&[fixture("conformance.yaml")], cfg(PodsMode::Disabled), true);
    let verified = TestServer::start(&[fixture("conformance.yaml")], cfg(PodsMode::Verified), true);
    for via in [Via::Udp, Via::Tcp] {
        nxdomain(&ask(disabled.addr, via, "10-1-0-5.prod.pod.cluster.local.", T::A));
        ok(&ask(verified.addr, via, "10-1-0-5.prod.pod.cluster.local.", T::A), &["A 10.1.0.5"]);
        nxdomain(&ask(verified.addr, via, "10-1-0-99.prod.pod.cluster.local.", T::A));
        nxdomain(&ask(verified.addr, via, "10-1-0-5.default.pod.cluster.local.", T::A));
    }
}

#[test]
fn case_42_servfail_before_sync() {
    let unsynced = TestServer::start(&[fixture("conformance.yaml")], ZoneConfig::default(), false);
    for via in [Via::Udp, Via::Tcp] {
        let m = ask(unsynced.addr, via, &format!("nosuch.prod.{Z}"), T::A);
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{m}");
        // Names already known answer normally.
        ok(&ask(unsynced.addr, via, &format!("web.prod.{Z}"), T::A), &["A 10.96.0.20"]);
    }
}

#[test]
fn case_43_zone_transfer_refused() {
    for t in [T::AXFR, T::IXFR] {
        both("cluster.local.", t, |m| assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{m}"));
    }
}

#[test]
fn case_44_ignore_empty_service() {
    both(&format!("idle.prod.{Z}"), T::A, |m| ok(m, &["A 10.96.0.22"]));
    let cfg = ZoneConfig { ignore_empty_service: true, ..ZoneConfig::default() };
    let s = TestServer::start(&[fixture("conformance.yaml")], cfg, true);
    for via in [Via::Udp, Via::Tcp] {
        nxdomain(&ask(s.addr, via, &format!("idle.prod.{Z}"), T::A));
        ok(&ask(s.addr, via, &format!("web.prod.{Z}"), T::A), &["A 10.96.0.20"]);
    }
}

#[test]
fn case_45_endpoint_name_of_clusterip_service() {
    both(&format!("10-1-0-5.web.prod.{Z}"), T::A, |m| ok(m, &["A 10.1.0.5"]));
}

/// A representative subset checked through `dig`, over UDP and TCP.
#[test]
fn dig_subset() {
    let s = server();
    for tcp in [&[][..], &["+tcp"][..]] {
        let a = dig(s, "kubernetes.default.svc.cluster.local", "A", tcp);
        assert_eq!((a.status.as_str(), a.answer_rdata()), ("NOERROR", vec!["A 10.96.0.1".to_string()]), "{}", a.raw);
        assert!(a.flags.contains(&"aa".to_string()), "{}", a.raw);
        let a = dig(s, "_pg._tcp.db.prod.svc.cluster.local", "SRV", tcp);
        assert_eq!(
            a.answer_rdata(),
            vec!["SRV 0 50 5432 db-0.db.prod.svc.cluster.local.", "SRV 0 50 5432 db-1.db.prod.svc.cluster.local."],
            "{}",
            a.raw
        );
        assert_eq!(a.additional.iter().filter(|r| r.1 == "A").count(), 2, "{}", a.raw);
        let a = dig(s, "empty.prod.svc.cluster.local", "A", tcp);
        assert_eq!(a.status, "NXDOMAIN", "{}", a.raw);
        assert_eq!(a.authority[0].1, "SOA", "{}", a.raw);
        let a = dig(s, "web.prod.svc.cluster.local", "AAAA", tcp);
        assert_eq!((a.status.as_str(), a.answer.len()), ("NOERROR", 0), "{}", a.raw);
        let a = dig(s, "10.0.1.10.in-addr.arpa", "PTR", tcp);
        assert_eq!(a.answer.len(), 2, "{}", a.raw);
        let a = dig(s, "Db-0.DB.prod.svc.cluster.local", "A", tcp);
        assert_eq!(a.answer[0].0, "Db-0.DB.prod.svc.cluster.local.", "case echoed: {}", a.raw);
        let a = dig(s, "dns-version.cluster.local", "TXT", tcp);
        assert_eq!(a.answer_rdata(), vec!["TXT \"1.1.0\""], "{}", a.raw);
    }
    let a = dig(s, "-x", "10.96.0.20", &[]);
    let _ = a; // `dig -x` needs the name after -x; checked below with explicit args
    let out = std::process::Command::new("dig")
        .args([&format!("@{}", s.ip()), "-p", &s.port().to_string(), "-x", "10.96.0.20", "+short"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "web.prod.svc.cluster.local.");
}

/// The same subset through Knot's `kdig`, when installed (CI installs it).
#[test]
fn kdig_subset() {
    if !have("kdig") {
        eprintln!("kdig not installed; skipped (CI installs knot-dnsutils)");
        return;
    }
    let s = server();
    for tcp in [&[][..], &["+tcp"][..]] {
        let a = dig_tool("kdig", s, "db.prod.svc.cluster.local", "A", tcp);
        assert_eq!(a.answer_rdata(), vec!["A 10.1.0.10", "A 10.1.0.11"], "{}", a.raw);
        let a = dig_tool("kdig", s, "_https._tcp.kubernetes.default.svc.cluster.local", "SRV", tcp);
        assert_eq!(a.answer_rdata(), vec!["SRV 0 100 443 kubernetes.default.svc.cluster.local."], "{}", a.raw);
        let a = dig_tool("kdig", s, "nosuch.prod.svc.cluster.local", "A", tcp);
        assert_eq!(a.status, "NXDOMAIN", "{}", a.raw);
    }
}
