//! Synthetic cluster dumps, shaped like `kubectl get ... -o yaml`, for benchmarks
//! and scale tests: `services` Services (every other one headless) in 10
//! namespaces, `pods` Pods spread evenly over them with status and Ready
//! conditions, and one EndpointSlice per service listing its pods.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::cache::{Cache, Zone, ZoneConfig};
use crate::source::manifests::ManifestSource;

/// Sizes of a synthetic dump.
#[derive(Debug, Clone, Copy)]
pub struct DumpSize {
    /// Number of Services.
    pub services: usize,
    /// Number of Pods (spread over the services).
    pub pods: usize,
}

/// The dump as one `kind: List` YAML document.
pub fn dump_yaml(size: DumpSize) -> String {
    let mut y = String::with_capacity(size.pods * 700 + size.services * 900);
    y.push_str("apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\nitems:\n");
    for ns in 0..10 {
        let _ = writeln!(y, "- apiVersion: v1\n  kind: Namespace\n  metadata: {{name: ns-{ns}}}");
    }
    let per = size.pods / size.services.max(1);
    for s in 0..size.services {
        let ns = s % 10;
        let headless = s % 2 == 1;
        let cluster_ip = if headless { "None".to_string() } else { format!("10.96.{}.{}", s / 250, s % 250 + 1) };
        let _ = writeln!(
            y,
            "- apiVersion: v1\n  kind: Service\n  metadata: {{name: svc-{s}, namespace: ns-{ns}}}\n  spec:\n    clusterIP: {cluster_ip}\n    selector: {{app: app-{s}}}\n    ports:\n    - {{name: http, port: 80, protocol: TCP, targetPort: 8080}}\n    - {{name: grpc, port: 9090, protocol: TCP}}"
        );
        let _ = writeln!(
            y,
            "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata:\n    name: svc-{s}-abcde\n    namespace: ns-{ns}\n    labels: {{kubernetes.io/service-name: svc-{s}, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}}\n  addressType: IPv4\n  ports:\n  - {{name: http, port: 8080, protocol: TCP}}\n  - {{name: grpc, port: 9090, protocol: TCP}}\n  endpoints:"
        );
        for p in 0..per {
            let ip = pod_ip(s * per + p);
            let _ = writeln!(
                y,
                "  - addresses: [{ip}]\n    conditions: {{ready: true, serving: true, terminating: false}}\n    hostname: svc-{s}-{p}\n    nodeName: node-{}\n    targetRef: {{kind: Pod, name: svc-{s}-{p}, namespace: ns-{ns}}}",
                p % 50
            );
        }
        for p in 0..per {
            let ip = pod_ip(s * per + p);
            let _ = writeln!(
                y,
                "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: svc-{s}-{p}\n    namespace: ns-{ns}\n    labels: {{app: app-{s}}}\n  spec:\n    hostname: svc-{s}-{p}\n    subdomain: svc-{s}\n    nodeName: node-{}\n    containers:\n    - name: app\n      image: registry.example/app:1.0\n      ports: [{{containerPort: 8080, name: http}}]\n  status:\n    phase: Running\n    podIP: {ip}\n    podIPs: [{{ip: {ip}}}]\n    hostIP: 10.240.0.{}\n    conditions:\n    - {{type: Ready, status: \"True\"}}\n    - {{type: ContainersReady, status: \"True\"}}",
                p % 50,
                p % 50 + 1
            );
        }
    }
    y
}

/// The i-th pod IP, from 10.128.0.0/9.
pub fn pod_ip(i: usize) -> String {
    let n = i as u32 + 1;
    format!("10.{}.{}.{}", 128 + (n >> 16), (n >> 8) & 0xff, n & 0xff)
}

/// A synced cache and zone holding the manifests in `yaml` (panics on a load error:
/// benchmark and test fixtures only).
pub fn zone_from_yaml(yaml: &str, config: ZoneConfig) -> (Cache, Arc<Zone>) {
    let (mut cache, zone) = Cache::new(config);
    let mut source = ManifestSource::new(Vec::new());
    let report = source.load_text(std::path::Path::new("<synthetic>"), yaml);
    assert!(report.errors.is_empty(), "synthetic manifests do not load: {:?}", report.errors);
    source.apply(&mut cache);
    cache.mark_synced();
    (cache, zone)
}

/// A DNS query in wire form: `id`, RD set, one question (`name` in presentation
/// form, its case kept), and an EDNS OPT advertising 1232 bytes when `edns`.
pub fn query(id: u16, name: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    for label in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    if edns {
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]);
    }
    q
}

/// The answer-path cases benchmarked (`benches/answer.rs`) and proven allocation-free
/// (`tests/alloc.rs`) against a [`dump_yaml`] zone of at least 2 services and 20 pods:
/// (label, query name, query type).
pub const CASES: &[(&str, &str, u16)] = &[
    ("A clusterip", "svc-0.ns-0.svc.cluster.local", 1),
    ("A headless 10 endpoints", "svc-1.ns-1.svc.cluster.local", 1),
    ("A per-pod", "svc-1-3.svc-1.ns-1.svc.cluster.local", 1),
    ("SRV named port headless", "_http._tcp.svc-1.ns-1.svc.cluster.local", 33),
    ("PTR clusterip", "1.0.96.10.in-addr.arpa", 12),
    ("PTR endpoint", "14.0.128.10.in-addr.arpa", 12),
    ("AAAA nodata", "svc-0.ns-0.svc.cluster.local", 28),
    ("NXDOMAIN", "nope.ns-0.svc.cluster.local", 1),
    ("pod record insecure", "10-128-0-14.ns-1.pod.cluster.local", 1),
    ("A per-pod case-mixed", "SVC-1-3.Svc-1.NS-1.svc.Cluster.Local", 1),
];
