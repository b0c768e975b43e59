//! Synthetic cluster dumps, shaped like `kubectl get ... -o yaml`, for benchmarks
//! and scale tests: `services` Services (every other one headless) in 10
//! namespaces, `pods` Pods spread evenly over them with status and Ready
//! conditions, and one EndpointSlice per service listing its pods.

use std::fmt::Write as _;

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
