//! The slim object model: what DNS needs of Kubernetes objects, and nothing else.
//!
//! Owns the conversion from k8s-openapi types (as delivered by a manifest file, the
//! embedded cluster or a real API server) into small structs. Full objects are never
//! kept by the cache: CoreDNS's OOMs at scale came from keeping them (coredns#2095).
//! Also owns the EndpointSlice controller's rules (`endpointslice`), because the
//! embedded cluster and the manifests source both derive endpoints from pods.

pub mod endpointslice;

use std::net::IpAddr;

use smallvec::SmallVec;

use k8s_openapi::api::core::v1::{Endpoints, Pod as K8sPod, Service as K8sService};
use k8s_openapi::api::discovery::v1::EndpointSlice as K8sSlice;

/// `namespace/name` of an object; the key of every index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// Namespace; `default` when the object omitted it.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl ObjectKey {
    /// Builds a key, defaulting an empty namespace to `default` as kubectl does.
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        let namespace = match namespace {
            Some(ns) if !ns.is_empty() => ns.to_string(),
            _ => "default".to_string(),
        };
        Self { namespace, name: name.to_string() }
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A service port as DNS sees it (SRV records, RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Port name; unnamed ports get no `_port._proto` SRV name (spec §2.3.2).
    pub name: Option<String>,
    /// Port number served in SRV rdata.
    pub port: u16,
    /// `tcp`, `udp` or `sctp`, lowercased for the `_proto` label.
    pub protocol: String,
}

/// What kind of DNS a Service gets (spec §2.3–§2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceKind {
    /// Has cluster IPs: A/AAAA answer with them (spec §2.3).
    ClusterIp(Vec<IpAddr>),
    /// `clusterIP: None`: A/AAAA answer with ready endpoints (spec §2.4).
    Headless,
    /// `type: ExternalName`: a CNAME to this (lowercased, dot-free) target (spec §2.5).
    ExternalName(String),
}

/// The slim Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Namespace and name.
    pub key: ObjectKey,
    /// Cluster IP(s), headless, or ExternalName.
    pub kind: ServiceKind,
    /// Ports from `spec.ports` (SRV for ClusterIP services).
    pub ports: Vec<Port>,
    /// `spec.publishNotReadyAddresses`: not-ready endpoints count as ready.
    pub publish_not_ready: bool,
}

/// One endpoint (a pod's addresses) within a service, as DNS sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Addresses; one A/AAAA per address (spec §2.4.1). Nearly always one, inline.
    pub addresses: SmallVec<[IpAddr; 1]>,
    /// Ready per EndpointSlice rules (nil condition means ready).
    pub ready: bool,
    /// Hostname; set only when pod.spec.subdomain equals the service name.
    pub hostname: Option<Box<str>>,
}

/// All endpoints of one service from one source object (a slice or an Endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSet {
    /// The service these endpoints belong to (label `kubernetes.io/service-name`).
    pub service: ObjectKey,
    /// Endpoints of this slice.
    pub endpoints: Vec<Endpoint>,
    /// Slice ports (target ports: these are what headless SRV records carry).
    pub ports: Vec<Port>,
}

/// The slim Pod: what `pods verified` and endpoint derivation need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// Namespace and name.
    pub key: ObjectKey,
    /// `status.podIPs` (or `status.podIP`).
    pub ips: Vec<IpAddr>,
    /// Phase is Running, Pending or Unknown (CoreDNS drops Succeeded/Failed).
    pub active: bool,
    /// Ready condition is True.
    pub ready: bool,
    /// `metadata.deletionTimestamp` is set.
    pub terminating: bool,
}

/// Why an object could not be turned into its slim form.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    /// `metadata.name` is missing.
    #[error("metadata.name: Required value")]
    MissingName,
    /// A field holds a value DNS cannot use.
    #[error("{field}: Invalid value: {value:?}: {reason}")]
    Invalid {
        /// Field path.
        field: String,
        /// Offending value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Result<ObjectKey, ConvertError> {
    let name = meta.name.as_deref().filter(|n| !n.is_empty()).ok_or(ConvertError::MissingName)?;
    Ok(ObjectKey::new(meta.namespace.as_deref(), name))
}

fn parse_ip(field: &str, value: &str) -> Result<IpAddr, ConvertError> {
    value.parse().map_err(|_| ConvertError::Invalid {
        field: field.to_string(),
        value: value.to_string(),
        reason: "must be a valid IP address",
    })
}

fn port_number(field: String, port: i32) -> Result<u16, ConvertError> {
    u16::try_from(port).ok().filter(|p| *p > 0).ok_or(ConvertError::Invalid {
        field,
        value: port.to_string(),
        reason: "must be between 1 and 65535, inclusive",
    })
}

impl Port {
    /// A port from the (name, number, protocol) triple every Kubernetes port type
    /// carries; an empty name counts as unnamed, a missing protocol as TCP.
    fn new(field: String, name: Option<&String>, port: i32, protocol: Option<&str>) -> Result<Port, ConvertError> {
        Ok(Port {
            name: name.filter(|n| !n.is_empty()).cloned(),
            port: port_number(field, port)?,
            protocol: protocol.unwrap_or("TCP").to_ascii_lowercase(),
        })
    }
}

impl Service {
    /// Converts a Service. Cluster IPs come from `spec.clusterIPs`, else `spec.clusterIP`.
    pub fn from_k8s(svc: &K8sService) -> Result<Self, ConvertError> {
        let key = name_of(&svc.metadata)?;
        let spec = svc.spec.clone().unwrap_or_default();
        let kind = if spec.type_.as_deref() == Some("ExternalName") {
            let target = spec.external_name.clone().unwrap_or_default();
            ServiceKind::ExternalName(target.trim_end_matches('.').to_ascii_lowercase())
        } else {
            let ips: Vec<String> = match (&spec.cluster_ips, &spec.cluster_ip) {
                (Some(ips), _) if !ips.is_empty() => ips.clone(),
                (_, Some(ip)) if !ip.is_empty() => vec![ip.clone()],
                _ => Vec::new(),
            };
            if ips.is_empty() || ips.iter().any(|ip| ip == "None") {
                ServiceKind::Headless
            } else {
                let parsed = ips
                    .iter()
                    .enumerate()
                    .map(|(i, ip)| parse_ip(&format!("spec.clusterIPs[{i}]"), ip))
                    .collect::<Result<Vec<_>, _>>()?;
                ServiceKind::ClusterIp(parsed)
            }
        };
        let ports = spec
            .ports
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, p)| Port::new(format!("spec.ports[{i}].port"), p.name.as_ref(), p.port, p.protocol.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Service { key, kind, ports, publish_not_ready: spec.publish_not_ready_addresses.unwrap_or(false) })
    }
}

/// Label naming the Service an EndpointSlice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

impl EndpointSet {
    /// Converts a discovery.k8s.io/v1 EndpointSlice. Returns `Ok(None)` for slices
    /// that belong to no service (no `kubernetes.io/service-name` label) or carry FQDN
    /// addresses, which DNS ignores, as CoreDNS does.
    pub fn from_slice(slice: &K8sSlice) -> Result<Option<Self>, ConvertError> {
        let key = name_of(&slice.metadata)?;
        let Some(service) = slice.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)) else {
            return Ok(None);
        };
        if slice.address_type == "FQDN" {
            return Ok(None);
        }
        let mut endpoints = Vec::with_capacity(slice.endpoints.len());
        for (i, ep) in slice.endpoints.iter().enumerate() {
            let addresses = ep
                .addresses
                .iter()
                .enumerate()
                .map(|(j, a)| parse_ip(&format!("endpoints[{i}].addresses[{j}]"), a))
                .collect::<Result<SmallVec<_>, _>>()?;
            // EndpointConditions: "nil should be interpreted as ready".
            let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            let hostname = ep.hostname.as_deref().filter(|h| !h.is_empty()).map(Box::from);
            endpoints.push(Endpoint { addresses, ready, hostname });
        }
        let ports = slice
            .ports
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, p)| {
                Some(Port::new(format!("ports[{i}].port"), p.name.as_ref(), p.port?, p.protocol.as_deref()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(EndpointSet { service: ObjectKey::new(Some(&key.namespace), service), endpoints, ports }))
    }

    /// Converts a legacy core/v1 Endpoints object (same name as its Service):
    /// `addresses` are ready, `notReadyAddresses` are not.
    pub fn from_endpoints(eps: &Endpoints) -> Result<Self, ConvertError> {
        let service = name_of(&eps.metadata)?;
        let mut endpoints = Vec::new();
        let mut ports = Vec::new();
        for (i, subset) in eps.subsets.iter().flatten().enumerate() {
            let groups = [(subset.addresses.as_ref(), true), (subset.not_ready_addresses.as_ref(), false)];
            for (list, ready) in groups {
                for (j, a) in list.into_iter().flatten().enumerate() {
                    let ip = parse_ip(&format!("subsets[{i}].addresses[{j}].ip"), &a.ip)?;
                    endpoints.push(Endpoint {
                        addresses: smallvec::smallvec![ip],
                        ready,
                        hostname: a.hostname.as_deref().filter(|h| !h.is_empty()).map(Box::from),
                    });
                }
            }
            for (j, p) in subset.ports.iter().flatten().enumerate() {
                let port =
                    Port::new(format!("subsets[{i}].ports[{j}].port"), p.name.as_ref(), p.port, p.protocol.as_deref())?;
                if !ports.contains(&port) {
                    ports.push(port);
                }
            }
        }
        Ok(EndpointSet { service, endpoints, ports })
    }
}

impl Pod {
    /// Converts a Pod with its status.
    pub fn from_k8s(pod: &K8sPod) -> Result<Self, ConvertError> {
        let key = name_of(&pod.metadata)?;
        let status = pod.status.as_ref();
        let mut ips = Vec::new();
        if let Some(list) = status.and_then(|s| s.pod_ips.as_ref()) {
            for (i, ip) in list.iter().enumerate() {
                ips.push(parse_ip(&format!("status.podIPs[{i}].ip"), &ip.ip)?);
            }
        }
        if ips.is_empty() {
            if let Some(ip) = status.and_then(|s| s.pod_ip.as_deref()).filter(|ip| !ip.is_empty()) {
                ips.push(parse_ip("status.podIP", ip)?);
            }
        }
        let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
        Ok(Pod {
            key,
            ips,
            active: !matches!(phase, "Succeeded" | "Failed"),
            ready: is_pod_ready(pod),
            terminating: pod.metadata.deletion_timestamp.is_some(),
        })
    }
}

/// `podutil.IsPodReady`: the Ready condition is True.
pub fn is_pod_ready(pod: &K8sPod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_kinds() {
        let svc: K8sService = serde_json::from_value(json!({
            "metadata": {"name": "dual", "namespace": "prod"},
            "spec": {"clusterIP": "10.96.0.30", "clusterIPs": ["10.96.0.30", "fd00::30"],
                     "ports": [{"name": "http", "port": 80}]}
        }))
        .unwrap();
        let s = Service::from_k8s(&svc).unwrap();
        assert_eq!(s.kind, ServiceKind::ClusterIp(vec!["10.96.0.30".parse().unwrap(), "fd00::30".parse().unwrap()]));
        assert_eq!(s.ports[0].protocol, "tcp");

        let headless: K8sService =
            serde_json::from_value(json!({"metadata": {"name": "db"}, "spec": {"clusterIP": "None"}})).unwrap();
        let h = Service::from_k8s(&headless).unwrap();
        assert_eq!(h.kind, ServiceKind::Headless);
        assert_eq!(h.key.namespace, "default");

        let ext: K8sService = serde_json::from_value(json!({
            "metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "WWW.Example.com."}
        }))
        .unwrap();
        assert_eq!(Service::from_k8s(&ext).unwrap().kind, ServiceKind::ExternalName("www.example.com".into()));
    }

    #[test]
    fn bad_cluster_ip_names_the_field() {
        let svc: K8sService =
            serde_json::from_value(json!({"metadata": {"name": "x"}, "spec": {"clusterIP": "10.96.0.300"}})).unwrap();
        let err = Service::from_k8s(&svc).unwrap_err();
        assert_eq!(err.to_string(), "spec.clusterIPs[0]: Invalid value: \"10.96.0.300\": must be a valid IP address");
    }

    #[test]
    fn slice_conditions_default_to_ready() {
        let slice: K8sSlice = serde_json::from_value(json!({
            "metadata": {"name": "db-abc", "namespace": "prod", "labels": {"kubernetes.io/service-name": "db"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.1.0.10"], "hostname": "db-0"},
                {"addresses": ["10.1.0.12"], "hostname": "db-2", "conditions": {"ready": false}}
            ],
            "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]
        }))
        .unwrap();
        let set = EndpointSet::from_slice(&slice).unwrap().unwrap();
        assert_eq!(set.service, ObjectKey::new(Some("prod"), "db"));
        assert!(set.endpoints[0].ready);
        assert!(!set.endpoints[1].ready);
        assert_eq!(set.ports[0].port, 5432);
    }
}
