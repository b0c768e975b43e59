//! The EndpointSlice controller's rules, as a pure function of a Service and Pods.
//!
//! Upstream `staging/src/k8s.io/endpointslice/utils.go` (`podToEndpoint`,
//! `ShouldSetHostname`) and `pkg/api/v1/endpoints` decide which pods become
//! endpoints and how. The embedded cluster uses this to maintain EndpointSlices,
//! and the manifests source uses it when a dump holds pods but no slices.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{SERVICE_NAME_LABEL, is_pod_ready};

/// Label marking slices this controller manages.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`] for slices we generate (the upstream value, so
/// tools that filter on it keep working).
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

/// Whether `labels` satisfy an equality-based selector (`spec.selector` of a Service).
pub fn selector_matches(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// `ShouldPodBeInEndpoints` with terminating pods included (as the EndpointSlice
/// controller calls it): pods without an IP or in a terminal phase are left out.
fn should_be_endpoint(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    let has_ip = status.and_then(|s| s.pod_ip.as_deref()).is_some_and(|ip| !ip.is_empty())
        || status.and_then(|s| s.pod_ips.as_ref()).is_some_and(|ips| !ips.is_empty());
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
    has_ip && phase != "Failed" && phase != "Succeeded"
}

/// `ShouldSetHostname`: the pod has a hostname and its subdomain is this service.
fn hostname_for(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    let same_ns = pod.metadata.namespace == svc.metadata.namespace;
    (spec.subdomain.as_deref() == svc.metadata.name.as_deref() && same_ns).then(|| hostname.to_string())
}

fn pod_ips(pod: &Pod) -> Vec<IpAddr> {
    let status = pod.status.as_ref();
    let mut ips: Vec<IpAddr> =
        status.and_then(|s| s.pod_ips.as_ref()).into_iter().flatten().filter_map(|ip| ip.ip.parse().ok()).collect();
    if ips.is_empty() {
        ips.extend(status.and_then(|s| s.pod_ip.as_deref()).and_then(|ip| ip.parse::<IpAddr>().ok()));
    }
    ips
}

/// Resolves a service port's `targetPort` against a pod's container ports
/// (`podutil.FindPort`): numbers pass through, names look up `containerPort`.
fn target_port(port: &k8s_openapi::api::core::v1::ServicePort, pod: Option<&Pod>) -> Option<i32> {
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let containers = pod?.spec.as_ref()?.containers.iter();
            containers
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port)
        }
    }
}

/// The EndpointSlices the upstream controller would maintain for `svc` given the
/// pods of its namespace: one slice per address family, endpoints sorted by pod
/// name. Returns nothing for services without a selector (their slices are
/// managed by someone else) or of type ExternalName.
pub fn slices_for(svc: &Service, pods: &[&Pod]) -> Vec<EndpointSlice> {
    let Some(spec) = svc.spec.as_ref() else { return Vec::new() };
    let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { return Vec::new() };
    if spec.type_.as_deref() == Some("ExternalName") {
        return Vec::new();
    }
    let svc_name = svc.metadata.name.clone().unwrap_or_default();
    let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
    let mut members: Vec<&Pod> = pods
        .iter()
        .copied()
        .filter(|p| p.metadata.namespace == svc.metadata.namespace)
        .filter(|p| selector_matches(selector, p.metadata.labels.as_ref()) && should_be_endpoint(p))
        .collect();
    members.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));

    let ports: Vec<EndpointPort> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| EndpointPort {
            name: Some(p.name.clone().unwrap_or_default()),
            port: target_port(p, members.first().copied()),
            protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
            app_protocol: p.app_protocol.clone(),
        })
        .collect();

    let mut slices = Vec::new();
    for (family, is_v4) in [("IPv4", true), ("IPv6", false)] {
        let endpoints: Vec<Endpoint> = members
            .iter()
            .flat_map(|pod| {
                pod_ips(pod).into_iter().filter(|ip| ip.is_ipv4() == is_v4).take(1).map(|ip| {
                    // podToEndpoint: ready = publishNotReadyAddresses || (serving && !terminating).
                    let serving = is_pod_ready(pod);
                    let terminating = pod.metadata.deletion_timestamp.is_some();
                    Endpoint {
                        addresses: vec![ip.to_string()],
                        conditions: Some(EndpointConditions {
                            ready: Some(publish_not_ready || (serving && !terminating)),
                            serving: Some(serving),
                            terminating: Some(terminating),
                        }),
                        hostname: hostname_for(pod, svc),
                        node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                        target_ref: Some(ObjectReference {
                            kind: Some("Pod".into()),
                            name: pod.metadata.name.clone(),
                            namespace: pod.metadata.namespace.clone(),
                            uid: pod.metadata.uid.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }
                })
            })
            .collect();
        let family_wanted = match spec.ip_families.as_ref() {
            Some(fams) if !fams.is_empty() => fams.iter().any(|f| f == family),
            _ => !endpoints.is_empty() || is_v4,
        };
        if !family_wanted {
            continue;
        }
        let labels = BTreeMap::from([
            (SERVICE_NAME_LABEL.to_string(), svc_name.clone()),
            (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        ]);
        slices.push(EndpointSlice {
            metadata: ObjectMeta {
                name: Some(format!("{svc_name}-{}", family.to_ascii_lowercase())),
                namespace: svc.metadata.namespace.clone(),
                labels: Some(labels),
                ..Default::default()
            },
            address_type: family.to_string(),
            endpoints,
            ports: Some(ports.clone()),
        });
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ip: &str, ready: bool, subdomain: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "prod", "labels": {"app": "db"}},
            "spec": {"hostname": name, "subdomain": subdomain,
                     "containers": [{"name": "c", "ports": [{"name": "pg", "containerPort": 5432}]}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        }))
        .unwrap()
    }

    fn svc(name: &str, publish: bool) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "prod"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}, "publishNotReadyAddresses": publish,
                     "ports": [{"name": "pg", "port": 5432, "targetPort": "pg"}]}
        }))
        .unwrap()
    }

    #[test]
    fn readiness_and_hostname_follow_upstream_rules() {
        let pods = [pod("db-0", "10.1.0.10", true, "db"), pod("db-2", "10.1.0.12", false, "db")];
        let refs: Vec<&Pod> = pods.iter().collect();
        let slices = slices_for(&svc("db", false), &refs);
        assert_eq!(slices.len(), 1);
        let eps = &slices[0].endpoints;
        assert_eq!(eps[0].hostname.as_deref(), Some("db-0"));
        assert_eq!(eps[0].conditions.as_ref().unwrap().ready, Some(true));
        assert_eq!(eps[1].conditions.as_ref().unwrap().ready, Some(false));
        assert_eq!(slices[0].ports.as_ref().unwrap()[0].port, Some(5432));

        // Another service selecting the same pods: no hostname; publishNotReady makes db-2 ready.
        let peers = slices_for(&svc("db-peers", true), &refs);
        assert!(peers[0].endpoints.iter().all(|e| e.hostname.is_none()));
        assert_eq!(peers[0].endpoints[1].conditions.as_ref().unwrap().ready, Some(true));
    }

    #[test]
    fn terminating_pods_are_not_ready_unless_published() {
        let mut p = pod("db-0", "10.1.0.10", true, "db");
        p.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        let slices = slices_for(&svc("db", false), &[&p]);
        let c = slices[0].endpoints[0].conditions.clone().unwrap();
        assert_eq!((c.ready, c.serving, c.terminating), (Some(false), Some(true), Some(true)));
    }
}
