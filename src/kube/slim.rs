//! Slimming on arrival: each watched object is cut down to the fields DNS (and the
//! fast readiness path) read, before it is buffered or cached, as CoreDNS's
//! `object.To*` transforms and kube's `.modify()` examples do. A full Pod from a
//! real kubelet is 5–15 KiB of JSON; what survives here is a few hundred bytes.
//!
//! Kept per kind (everything else is dropped, including managedFields, status of
//! Services, node names, zones and hints of slices):
//! - all: `metadata.{name, namespace, resourceVersion, deletionTimestamp}`
//! - Service: `metadata.labels`; `spec.{type, clusterIP(s), externalName, ports,
//!   publishNotReadyAddresses, selector}`
//! - EndpointSlice: `metadata.labels` (service-name), the annotation
//!   `endpoints.kubernetes.io/last-change-trigger-time` (programming-latency metric),
//!   `addressType`, `ports`, endpoint `addresses`, `conditions`, `hostname`, `targetRef` (kind, name)
//! - Pod: `metadata.labels` (selector matching for the fast path); `spec.{hostname,
//!   subdomain}` and container port names/numbers (named targetPorts);
//!   `status.{phase, podIP, podIPs}` and the `Ready` condition
//! - Namespace: metadata only.

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Namespace, ObjectReference, Pod, PodCondition, PodSpec, PodStatus, Service, ServiceSpec,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Annotation the EndpointSlice controller sets to when the change that caused
/// this slice version happened.
pub const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

fn meta(m: &mut ObjectMeta, keep_labels: bool, keep_annotation: Option<&str>) {
    let old = std::mem::take(m);
    m.name = old.name;
    m.namespace = old.namespace;
    m.resource_version = old.resource_version;
    m.deletion_timestamp = old.deletion_timestamp;
    if keep_labels {
        m.labels = old.labels;
    }
    if let (Some(key), Some(mut ann)) = (keep_annotation, old.annotations)
        && let Some(v) = ann.remove(key)
    {
        m.annotations = Some([(key.to_string(), v)].into());
    }
}

/// Slims a Service.
pub fn service(s: &mut Service) {
    meta(&mut s.metadata, true, None);
    s.status = None;
    if let Some(old) = s.spec.take() {
        let ports = old.ports.map(|ps| {
            ps.into_iter()
                .map(|p| k8s_openapi::api::core::v1::ServicePort {
                    name: p.name,
                    port: p.port,
                    protocol: p.protocol,
                    target_port: p.target_port,
                    ..Default::default()
                })
                .collect()
        });
        s.spec = Some(ServiceSpec {
            type_: old.type_,
            cluster_ip: old.cluster_ip,
            cluster_ips: old.cluster_ips,
            external_name: old.external_name,
            ports,
            publish_not_ready_addresses: old.publish_not_ready_addresses,
            selector: old.selector,
            ..Default::default()
        });
    }
}

/// Slims an EndpointSlice.
pub fn endpoint_slice(s: &mut EndpointSlice) {
    meta(&mut s.metadata, true, Some(TRIGGER_TIME));
    for ep in &mut s.endpoints {
        ep.deprecated_topology = None;
        ep.hints = None;
        ep.node_name = None;
        ep.zone = None;
        if let Some(r) = ep.target_ref.take() {
            ep.target_ref = Some(ObjectReference { kind: r.kind, name: r.name, ..Default::default() });
        }
    }
    if let Some(ports) = &mut s.ports {
        for p in ports {
            p.app_protocol = None;
        }
    }
}

/// Slims a Pod.
pub fn pod(p: &mut Pod) {
    meta(&mut p.metadata, true, None);
    if let Some(old) = p.spec.take() {
        let containers = old
            .containers
            .into_iter()
            .filter_map(|c| {
                let ports: Vec<ContainerPort> = c
                    .ports?
                    .into_iter()
                    .filter(|cp| cp.name.is_some())
                    .map(|cp| ContainerPort {
                        name: cp.name,
                        container_port: cp.container_port,
                        protocol: cp.protocol,
                        ..Default::default()
                    })
                    .collect();
                (!ports.is_empty()).then(|| Container { name: c.name, ports: Some(ports), ..Default::default() })
            })
            .collect();
        p.spec = Some(PodSpec { hostname: old.hostname, subdomain: old.subdomain, containers, ..Default::default() });
    }
    if let Some(old) = p.status.take() {
        let conditions: Vec<PodCondition> = old
            .conditions
            .into_iter()
            .flatten()
            .filter(|c| c.type_ == "Ready")
            .map(|c| PodCondition { type_: c.type_, status: c.status, ..Default::default() })
            .collect();
        p.status = Some(PodStatus {
            phase: old.phase,
            pod_ip: old.pod_ip,
            pod_ips: old.pod_ips,
            conditions: (!conditions.is_empty()).then_some(conditions),
            ..Default::default()
        });
    }
}

/// Slims a Namespace.
pub fn namespace(n: &mut Namespace) {
    meta(&mut n.metadata, false, None);
    n.spec = None;
    n.status = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_keeps_what_dns_reads_and_nothing_else() {
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "nginx"},
                "annotations": {"big": "x"}, "managedFields": [{"manager": "kubelet"}], "uid": "u1", "resourceVersion": "7"},
            "spec": {"hostname": "web-0", "subdomain": "nginx", "nodeName": "n1",
                "containers": [{"name": "c", "image": "nginx", "ports": [{"name": "web", "containerPort": 80}, {"containerPort": 81}],
                                "env": [{"name": "A", "value": "B"}]}]},
            "status": {"phase": "Running", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}], "hostIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                               {"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{"name": "c", "image": "nginx", "imageID": "", "ready": true, "restartCount": 0}]}
        }))
        .unwrap();
        let before = crate::cluster::Pod::from_k8s(&p).unwrap();
        pod(&mut p);
        assert_eq!(crate::cluster::Pod::from_k8s(&p).unwrap(), before);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "nginx"}, "resourceVersion": "7"},
                "spec": {"hostname": "web-0", "subdomain": "nginx", "containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 80}]}]},
                "status": {"phase": "Running", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}], "conditions": [{"type": "Ready", "status": "True"}]}
            })
        );
    }

    #[test]
    fn slice_keeps_trigger_time_and_target_ref() {
        let mut s: EndpointSlice = serde_json::from_value(json!({
            "metadata": {"name": "nginx-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "nginx"},
                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2026-01-01T00:00:00Z", "other": "y"},
                "managedFields": [{"manager": "kcm"}]},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": true}, "hostname": "web-0", "nodeName": "n1", "zone": "z",
                "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "default", "uid": "u1", "resourceVersion": "9"}}],
            "ports": [{"name": "web", "port": 80, "protocol": "TCP", "appProtocol": "http"}]
        }))
        .unwrap();
        let before = crate::cluster::EndpointSet::from_slice(&s).unwrap();
        endpoint_slice(&mut s);
        assert_eq!(crate::cluster::EndpointSet::from_slice(&s).unwrap(), before);
        let ann = s.metadata.annotations.as_ref().unwrap();
        assert_eq!(ann.len(), 1);
        assert!(s.metadata.managed_fields.is_none());
        let r = s.endpoints[0].target_ref.as_ref().unwrap();
        assert_eq!((r.kind.as_deref(), r.name.as_deref(), r.uid.as_deref()), (Some("Pod"), Some("web-0"), None));
    }
}
