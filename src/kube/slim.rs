//! Slimming on arrival: each watched object is decoded straight into the fields DNS
//! (and the fast readiness path) read; everything else is skipped by the JSON parser
//! and never allocated. A full Pod from a real kubelet is 5–15 KiB of JSON and
//! hundreds of allocations as a `k8s_openapi` object; what is built here is a few
//! hundred bytes in a dozen allocations, held in the same `k8s_openapi` types the
//! rest of ordinal reads (CoreDNS's `object.To*` transforms do this after a full
//! decode; decoding less also keeps the transient garbage of a 10,000-pod list,
//! and the code that would decode the rest, out of resident memory).
//!
//! Kept per kind:
//! - all: `metadata.{name, namespace, resourceVersion, deletionTimestamp}`
//! - Service: `metadata.labels`; `spec.{type, clusterIP(s), externalName, ports
//!   (name, port, protocol, targetPort), publishNotReadyAddresses, selector}`
//! - EndpointSlice: `metadata.labels` (service-name), the annotation
//!   `endpoints.kubernetes.io/last-change-trigger-time` (programming-latency metric),
//!   `addressType`, `ports` (name, port, protocol), endpoint `addresses`,
//!   `conditions`, `hostname`, `targetRef` (kind, name)
//! - Pod: `metadata.labels` (selector matching for the fast path); `spec.{hostname,
//!   subdomain}` and named container ports (named targetPorts);
//!   `status.{phase, podIP, podIPs}` and the `Ready` condition
//! - Namespace: metadata only.
//!
//! [`Slim`] wraps the result so kube-runtime's watcher can list and watch it: it is a
//! [`kube::Resource`] with the wrapped kind's group, version and plural.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Namespace, ObjectReference, Pod, PodCondition, PodIP, PodSpec, PodStatus, Service,
    ServicePort, ServiceSpec,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// Annotation the EndpointSlice controller sets to when the change that caused
/// this slice version happened.
pub const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// A watched object decoded slim (see the module docs). `Slim<K>` deserializes from
/// the JSON of a `K` and holds a `K` with only the kept fields set.
#[derive(Debug, Clone, PartialEq)]
pub struct Slim<K>(pub K);

impl<K> ::kube::Resource for Slim<K>
where
    K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(_: &()) -> Cow<'_, str> {
        K::KIND.into()
    }

    fn group(_: &()) -> Cow<'_, str> {
        K::GROUP.into()
    }

    fn version(_: &()) -> Cow<'_, str> {
        K::VERSION.into()
    }

    fn api_version(_: &()) -> Cow<'_, str> {
        K::API_VERSION.into()
    }

    fn plural(_: &()) -> Cow<'_, str> {
        K::URL_PATH_SEGMENT.into()
    }

    fn meta(&self) -> &ObjectMeta {
        self.0.metadata()
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.0.metadata_mut()
    }
}

/// `metadata` as kept. Unknown fields (managedFields, ownerReferences, uid, ...) are
/// skipped without allocating.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MetaIn {
    name: Option<String>,
    namespace: Option<String>,
    resource_version: Option<String>,
    deletion_timestamp: Option<Time>,
    labels: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "trigger_time")]
    annotations: Option<String>,
}

impl MetaIn {
    fn into_meta(self, keep_labels: bool, keep_trigger_time: bool) -> ObjectMeta {
        ObjectMeta {
            name: self.name,
            namespace: self.namespace,
            resource_version: self.resource_version,
            deletion_timestamp: self.deletion_timestamp,
            labels: self.labels.filter(|_| keep_labels),
            annotations: self
                .annotations
                .filter(|_| keep_trigger_time)
                .map(|v| BTreeMap::from([(TRIGGER_TIME.to_string(), v)])),
            ..Default::default()
        }
    }
}

/// Reads an annotations map, keeping only the value of [`TRIGGER_TIME`] (other keys
/// and values, e.g. a 10 KiB `last-applied-configuration`, are skipped unallocated).
fn trigger_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Annotations;
    impl<'de> Visitor<'de> for Annotations {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of annotations")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut kept = None;
            while let Some(is_trigger) = map.next_key_seed(KeyIs(TRIGGER_TIME))? {
                if is_trigger {
                    kept = Some(map.next_value::<String>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(kept)
        }
    }
    d.deserialize_option(Annotations)
}

/// A map key compared with a wanted key without allocating it.
struct KeyIs(&'static str);

impl<'de> DeserializeSeed<'de> for KeyIs {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceIn {
    #[serde(default)]
    metadata: MetaIn,
    spec: Option<ServiceSpecIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceSpecIn {
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(rename = "clusterIP")]
    cluster_ip: Option<String>,
    #[serde(rename = "clusterIPs")]
    cluster_ips: Option<Vec<String>>,
    external_name: Option<String>,
    ports: Option<Vec<ServicePortIn>>,
    publish_not_ready_addresses: Option<bool>,
    selector: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePortIn {
    name: Option<String>,
    port: i32,
    protocol: Option<String>,
    target_port: Option<IntOrString>,
}

impl<'de> Deserialize<'de> for Slim<Service> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = ServiceIn::deserialize(d)?;
        Ok(Slim(Service {
            metadata: s.metadata.into_meta(true, false),
            spec: s.spec.map(|spec| ServiceSpec {
                type_: spec.type_,
                cluster_ip: spec.cluster_ip,
                cluster_ips: spec.cluster_ips,
                external_name: spec.external_name,
                ports: spec.ports.map(|ps| {
                    ps.into_iter()
                        .map(|p| ServicePort {
                            name: p.name,
                            port: p.port,
                            protocol: p.protocol,
                            target_port: p.target_port,
                            ..Default::default()
                        })
                        .collect()
                }),
                publish_not_ready_addresses: spec.publish_not_ready_addresses,
                selector: spec.selector,
                ..Default::default()
            }),
            status: None,
        }))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SliceIn {
    #[serde(default)]
    metadata: MetaIn,
    address_type: String,
    endpoints: Option<Vec<EndpointIn>>,
    ports: Option<Vec<EndpointPortIn>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndpointIn {
    addresses: Vec<String>,
    conditions: Option<EndpointConditions>,
    hostname: Option<String>,
    target_ref: Option<TargetRefIn>,
}

#[derive(Deserialize)]
struct TargetRefIn {
    kind: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct EndpointPortIn {
    name: Option<String>,
    port: Option<i32>,
    protocol: Option<String>,
}

impl<'de> Deserialize<'de> for Slim<EndpointSlice> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = SliceIn::deserialize(d)?;
        let endpoints = s.endpoints.unwrap_or_default().into_iter().map(|ep| Endpoint {
            addresses: ep.addresses,
            conditions: ep.conditions,
            hostname: ep.hostname,
            target_ref: ep.target_ref.map(|r| ObjectReference { kind: r.kind, name: r.name, ..Default::default() }),
            ..Default::default()
        });
        let ports = s.ports.map(|ps| {
            ps.into_iter()
                .map(|p| EndpointPort { name: p.name, port: p.port, protocol: p.protocol, app_protocol: None })
                .collect()
        });
        Ok(Slim(EndpointSlice {
            metadata: s.metadata.into_meta(true, true),
            address_type: s.address_type,
            endpoints: endpoints.collect(),
            ports,
        }))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodIn {
    #[serde(default)]
    metadata: MetaIn,
    spec: Option<PodSpecIn>,
    status: Option<PodStatusIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpecIn {
    hostname: Option<String>,
    subdomain: Option<String>,
    containers: Option<Vec<ContainerIn>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerIn {
    #[serde(default)]
    name: String,
    ports: Option<Vec<ContainerPortIn>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerPortIn {
    name: Option<String>,
    container_port: i32,
    protocol: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodStatusIn {
    phase: Option<String>,
    #[serde(rename = "podIP")]
    pod_ip: Option<String>,
    #[serde(rename = "podIPs")]
    pod_ips: Option<Vec<PodIP>>,
    conditions: Option<Vec<ConditionIn>>,
}

#[derive(Deserialize)]
struct ConditionIn {
    #[serde(rename = "type")]
    type_: String,
    status: String,
}

impl<'de> Deserialize<'de> for Slim<Pod> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = PodIn::deserialize(d)?;
        let spec = p.spec.map(|spec| {
            let containers = spec
                .containers
                .into_iter()
                .flatten()
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
            PodSpec { hostname: spec.hostname, subdomain: spec.subdomain, containers, ..Default::default() }
        });
        let status = p.status.map(|st| {
            let conditions: Vec<PodCondition> = st
                .conditions
                .into_iter()
                .flatten()
                .filter(|c| c.type_ == "Ready")
                .map(|c| PodCondition { type_: c.type_, status: c.status, ..Default::default() })
                .collect();
            PodStatus {
                phase: st.phase,
                pod_ip: st.pod_ip,
                pod_ips: st.pod_ips,
                conditions: (!conditions.is_empty()).then_some(conditions),
                ..Default::default()
            }
        });
        Ok(Slim(Pod { metadata: p.metadata.into_meta(true, false), spec, status }))
    }
}

#[derive(Deserialize)]
struct NamespaceIn {
    #[serde(default)]
    metadata: MetaIn,
}

impl<'de> Deserialize<'de> for Slim<Namespace> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = NamespaceIn::deserialize(d)?;
        Ok(Slim(Namespace { metadata: n.metadata.into_meta(false, false), spec: None, status: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Decodes `v` both ways: in full (as `k8s_openapi` does) and slim.
    fn both<K>(v: serde_json::Value) -> (K, K)
    where
        K: serde::de::DeserializeOwned,
        Slim<K>: serde::de::DeserializeOwned,
    {
        let text = v.to_string();
        let full: K = serde_json::from_str(&text).unwrap();
        let Slim(slim) = serde_json::from_str(&text).unwrap();
        (full, slim)
    }

    #[test]
    fn pod_keeps_what_dns_reads_and_nothing_else() {
        let (full, slim) = both::<Pod>(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "nginx"},
                "annotations": {"big": "x"}, "managedFields": [{"manager": "kubelet"}], "uid": "u1", "resourceVersion": "7",
                "creationTimestamp": null},
            "spec": {"hostname": "web-0", "subdomain": "nginx", "nodeName": "n1",
                "containers": [{"name": "c", "image": "nginx", "ports": [{"name": "web", "containerPort": 80}, {"containerPort": 81}],
                                "env": [{"name": "A", "value": "B"}]}]},
            "status": {"phase": "Running", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}], "hostIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                               {"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [{"name": "c", "image": "nginx", "imageID": "", "ready": true, "restartCount": 0}]}
        }));
        assert_eq!(crate::cluster::Pod::from_k8s(&slim).unwrap(), crate::cluster::Pod::from_k8s(&full).unwrap());
        let v = serde_json::to_value(&slim).unwrap();
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
    fn terminating_pod_without_status_or_containers() {
        let (full, slim) = both::<Pod>(json!({
            "metadata": {"name": "web-1", "namespace": "default", "deletionTimestamp": "2026-01-01T00:00:00Z", "labels": null},
            "spec": {"containers": null}
        }));
        assert_eq!(slim.metadata.deletion_timestamp, full.metadata.deletion_timestamp);
        assert!(slim.metadata.deletion_timestamp.is_some());
        assert_eq!(crate::cluster::Pod::from_k8s(&slim).unwrap(), crate::cluster::Pod::from_k8s(&full).unwrap());
    }

    #[test]
    fn slice_keeps_trigger_time_and_target_ref() {
        let (full, slim) = both::<EndpointSlice>(json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "nginx-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "nginx"},
                "annotations": {"a": "x", "endpoints.kubernetes.io/last-change-trigger-time": "2026-01-01T00:00:00Z", "other": "y"},
                "managedFields": [{"manager": "kcm"}]},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": true}, "hostname": "web-0", "nodeName": "n1", "zone": "z",
                "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "default", "uid": "u1", "resourceVersion": "9"}}],
            "ports": [{"name": "web", "port": 80, "protocol": "TCP", "appProtocol": "http"}]
        }));
        assert_eq!(
            crate::cluster::EndpointSet::from_slice(&slim).unwrap(),
            crate::cluster::EndpointSet::from_slice(&full).unwrap()
        );
        let ann = slim.metadata.annotations.as_ref().unwrap();
        assert_eq!(ann.len(), 1);
        assert_eq!(ann[TRIGGER_TIME], "2026-01-01T00:00:00Z");
        assert!(slim.metadata.managed_fields.is_none());
        let r = slim.endpoints[0].target_ref.as_ref().unwrap();
        assert_eq!((r.kind.as_deref(), r.name.as_deref(), r.uid.as_deref()), (Some("Pod"), Some("web-0"), None));
        assert_eq!(slim.endpoints[0].node_name, None);
        assert_eq!(slim.ports.as_ref().unwrap()[0].app_protocol, None);
    }

    #[test]
    fn slice_without_endpoints_or_annotations() {
        let (full, slim) = both::<EndpointSlice>(json!({
            "metadata": {"name": "e", "namespace": "default", "annotations": null},
            "addressType": "IPv6", "endpoints": null
        }));
        assert!(slim.endpoints.is_empty() && slim.metadata.annotations.is_none());
        assert_eq!(
            crate::cluster::EndpointSet::from_slice(&slim).unwrap(),
            crate::cluster::EndpointSet::from_slice(&full).unwrap()
        );
    }

    #[test]
    fn service_keeps_spec_dns_reads() {
        for spec in [
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10", "fd00:10:96::a"],
                   "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns", "nodePort": 30053}],
                   "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None", "ipFamilies": ["IPv4", "IPv6"]}),
            json!({"type": "ExternalName", "externalName": "example.com"}),
            json!({"clusterIP": "None", "publishNotReadyAddresses": true, "ports": [{"port": 80, "targetPort": 8080}]}),
        ] {
            let (full, slim) = both::<Service>(json!({
                "metadata": {"name": "s", "namespace": "default", "labels": {"a": "b"}, "annotations": {"x": "y"}},
                "spec": spec, "status": {"loadBalancer": {}}
            }));
            assert_eq!(
                crate::cluster::Service::from_k8s(&slim).unwrap(),
                crate::cluster::Service::from_k8s(&full).unwrap()
            );
            assert_eq!(slim.metadata.labels, full.metadata.labels);
            assert_eq!(slim.spec.as_ref().unwrap().selector, full.spec.as_ref().unwrap().selector);
            assert!(slim.metadata.annotations.is_none() && slim.status.is_none());
        }
    }

    #[test]
    fn a_wrong_type_is_an_error_not_a_default() {
        let err = serde_json::from_str::<Slim<Pod>>(r#"{"metadata": {"name": 5}}"#).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
        let err = serde_json::from_str::<Slim<EndpointSlice>>(r#"{"metadata": {}}"#).unwrap_err();
        assert!(err.to_string().contains("addressType"), "{err}");
    }

    #[test]
    fn namespace_is_metadata_only() {
        let (full, slim) = both::<Namespace>(json!({
            "metadata": {"name": "p1-dev", "labels": {"kubernetes.io/metadata.name": "p1-dev"}, "resourceVersion": "3"},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}
        }));
        assert_eq!(slim.metadata.name, full.metadata.name);
        assert_eq!(
            slim,
            Namespace {
                metadata: ObjectMeta {
                    name: Some("p1-dev".into()),
                    resource_version: Some("3".into()),
                    ..Default::default()
                },
                ..Default::default()
            }
        );
    }

    #[test]
    fn resource_paths_match_the_wrapped_kind() {
        use ::kube::Resource;
        assert_eq!(Slim::<Pod>::url_path(&(), Some("ns")), Pod::url_path(&(), Some("ns")));
        assert_eq!(Slim::<EndpointSlice>::url_path(&(), None), EndpointSlice::url_path(&(), None));
        assert_eq!(Slim::<Namespace>::url_path(&(), None), "/api/v1/namespaces");
    }
}
