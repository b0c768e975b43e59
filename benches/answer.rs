//! The answer path per query type on a synthetic 1,000-service / 10,000-pod zone,
//! and the write path: rebuilding one service with 1,000 endpoints.
//!
//! `cargo bench --bench answer` (numbers in `benches/README.md`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ordinal::cache::{Cache, Object, ZoneConfig};
use ordinal::dns::answer::{Limits, Outcome, Transport, answer};
use ordinal::synthetic::{CASES, DumpSize, dump_yaml, query, zone_from_yaml};

fn answer_path(c: &mut Criterion) {
    let yaml = dump_yaml(DumpSize { services: 1000, pods: 10_000 });
    let (_cache, zone) = zone_from_yaml(&yaml, ZoneConfig::default());
    drop(yaml);
    let limits = Limits::default();
    let mut out = Vec::with_capacity(65535);
    let mut g = c.benchmark_group("answer");
    g.throughput(Throughput::Elements(1));
    for &(label, name, qtype) in CASES {
        let msg = query(0x1234, name, qtype, true);
        let outcome = answer(&msg, &zone, Transport::Udp, &limits, &mut out);
        assert!(matches!(outcome, Outcome::Reply { .. }), "{label}: {outcome:?}");
        g.bench_function(label, |b| {
            b.iter(|| answer(black_box(&msg), &zone, Transport::Udp, &limits, &mut out));
        });
    }
    g.finish();
}

/// One headless service whose single EndpointSlice holds `n` endpoints.
fn big_service(n: usize, ready_flip: bool) -> String {
    let mut y = String::from(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: big, namespace: prod}\n  spec:\n    clusterIP: None\n    ports: [{name: http, port: 80, protocol: TCP}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: big-x, namespace: prod, labels: {kubernetes.io/service-name: big}}\n  addressType: IPv4\n  ports: [{name: http, port: 80, protocol: TCP}]\n  endpoints:\n",
    );
    for i in 0..n {
        let ready = !(ready_flip && i == 0);
        y.push_str(&format!(
            "  - {{addresses: [{}], hostname: big-{i}, conditions: {{ready: {ready}}}}}\n",
            ordinal::synthetic::pod_ip(i)
        ));
    }
    y
}

fn slice_of(yaml: &str) -> Object {
    let docs = ordinal::manifest::load_str(std::path::Path::new("big.yaml"), yaml).expect("loads");
    docs.into_iter()
        .find_map(|d| match d.object {
            ordinal::manifest::Object::EndpointSlice(s) => Some(Object::EndpointSlice(s)),
            _ => None,
        })
        .expect("a slice")
}

fn write_path(c: &mut Criterion) {
    let a = big_service(1000, false);
    let (mut cache, _zone): (Cache, _) = zone_from_yaml(&a, ZoneConfig::default());
    let slices = [slice_of(&a), slice_of(&big_service(1000, true))];
    let mut i = 0;
    c.bench_function("rebuild service with 1000 endpoints", |b| {
        b.iter(|| {
            i ^= 1;
            cache.upsert(&slices[i]).expect("converts");
            black_box(cache.flush())
        });
    });
}

criterion_group!(benches, answer_path, write_path);
criterion_main!(benches);
