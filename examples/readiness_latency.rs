//! Readiness change → DNS answer latency in the embedded cluster.
//!
//! Flips a pod's Ready condition through the cluster task (as `POST /ordinal/v1/inject` does)
//! and measures until the call returns — by then the pod write, the EndpointSlice update, the
//! durable commit (WAL fsync) and the DNS cache flush are done — then checks the zone agrees.
//! `cargo run --release --example readiness_latency [-- N] [--in-memory]`
use std::time::{Duration, Instant};

use ordinal::cache::{Cache, ZoneConfig};
use ordinal::embedded::store::Kind;
use ordinal::embedded::{Cluster, Config, run};
use serde_json::json;

const WEB: &str = "
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec: {clusterIP: None, selector: {app: nginx}, ports: [{port: 80, name: web}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 1
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: nginx}]}
";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(2000);
    let in_memory = args.iter().any(|a| a == "--in-memory");
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        state_dir: (!in_memory).then(|| dir.path().to_path_buf()),
        start_delay: Duration::from_millis(1),
        ready_delay: Duration::from_millis(1),
        ..Config::default()
    };
    let (cache, zone) = Cache::new(ZoneConfig::default());
    let (cluster, handle, rx) = Cluster::open(cfg, cache).unwrap();
    tokio::spawn(run(cluster, rx, std::future::pending()));
    handle.call(|c| c.apply_text("-", WEB)).await.unwrap().unwrap();
    let name = ordinal::dns::name::to_wire("web-0.nginx.default.svc.cluster.local").unwrap();
    while zone.get(&name).is_none() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = handle.call(|c| c.store().get(Kind::Pod, "default", "web-0").is_some()).await;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let ready = i % 2 == 1;
        let t0 = Instant::now();
        handle
            .call(move |c| {
                c.inject(&json!({"action": "set-ready", "namespace": "default", "name": "web-0", "ready": ready}))
            })
            .await
            .unwrap()
            .unwrap();
        samples.push(t0.elapsed());
        assert_eq!(zone.get(&name).is_some(), ready, "DNS must follow the flip when the call returns");
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "readiness flip → DNS ({}, {n} flips): p50 {:?}  p99 {:?}  max {:?}",
        if in_memory { "in-memory store" } else { "durable store, fsync per step" },
        pct(0.50),
        pct(0.99),
        samples[samples.len() - 1]
    );
}
