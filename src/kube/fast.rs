//! The fast readiness path: Pod status reaches DNS without waiting for the
//! EndpointSlice controller.
//!
//! On a real cluster a pod's Ready transition reaches DNS only after the
//! EndpointSlice controller has noticed it and written a slice (tens to hundreds
//! of milliseconds, more under load). With Pods watched, the writer applies the
//! controller's own rules itself, the moment the pod event arrives:
//!
//! - **Readiness of existing endpoints.** A slice endpoint whose `targetRef` is a
//!   Pod we know takes its readiness from the pod:
//!   `ready = publishNotReadyAddresses || (podReady && !terminating)`; an endpoint
//!   whose pod is gone, or now has another IP (a recreated StatefulSet pod), is not
//!   ready. Endpoints of pods we never saw keep the slice's value.
//! - **Provisional endpoints.** A pod that matches a Service's selector, has an IP,
//!   and is ready (or the service publishes not-ready addresses) but is in none of
//!   the service's slices yet gets a provisional slice built by
//!   [`endpointslice::slices_for`] (so the hostname is set only when
//!   `pod.spec.subdomain` equals the service name, ports resolve as upstream).
//!   It disappears as soon as a real slice holds that address.
//!
//! EndpointSlices stay the source of membership: provisional endpoints exist only
//! for pods the controller is about to add, and every slice or pod event
//! re-derives both rules, so the two never disagree for longer than one watch event.
//!
//! **Memory.** Everything here is kept compact, never as `k8s_openapi` objects (a
//! slimmed `EndpointSlice` or `Service` is still kilobytes of inline optional fields
//! and B-tree nodes): services as [`FastService`], slices as the cache's own
//! [`EndpointSet`] plus each endpoint's pod name, pods as [`PodState`] (labels in one
//! allocation), nested by namespace with the pod→slice references inline. For 1,000
//! services × 10 pods this is ~4 MB where the `k8s_openapi` form was 27 MB
//! (`cargo run --release --example mem_kube`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use smallvec::SmallVec;

use crate::cache::{Cache, Kind, Object};
use crate::cluster::{EndpointSet, ObjectKey, SERVICE_NAME_LABEL, endpointslice, is_pod_ready};

/// Name prefix of provisional slices (never produced by the API: real slice names
/// are `<service>-<random>`; a `.` after this prefix keeps them apart anyway).
pub const PROVISIONAL_PREFIX: &str = "ordinal-provisional.";

/// A label map in one allocation: `key\0value\0key\0value` (label keys and values
/// cannot hold NUL). Pods of one service all carry the same few labels, and a
/// `BTreeMap` spent a ~500-byte node per pod on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Labels(Box<str>);

impl Labels {
    fn new(map: Option<&BTreeMap<String, String>>) -> Labels {
        let mut s = String::new();
        for (k, v) in map.into_iter().flatten() {
            if !s.is_empty() {
                s.push('\0');
            }
            s.push_str(k);
            s.push('\0');
            s.push_str(v);
        }
        Labels(s.into_boxed_str())
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut it = self.0.split('\0');
        std::iter::from_fn(move || Some((it.next()?, it.next()?)))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether every pair of an equality-based selector is among these labels
    /// (as [`endpointslice::selector_matches`]).
    fn matches(&self, selector: &Labels) -> bool {
        selector.pairs().all(|(k, v)| self.get(k) == Some(v))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn to_map(&self) -> BTreeMap<String, String> {
        self.pairs().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }
}

/// What the fast path keeps of a Service: what selects pods and what
/// [`endpointslice::slices_for`] reads (the rest of the slimmed object is dropped).
#[derive(Debug)]
struct FastService {
    /// `spec.selector`; empty when the service has none (no provisional endpoints).
    selector: Labels,
    /// `spec.publishNotReadyAddresses`.
    publish_not_ready: bool,
    /// `spec.type` is ExternalName (no endpoints at all).
    external_name: bool,
    /// `spec.ports` as slimmed (name, port, protocol, targetPort).
    ports: Box<[ServicePort]>,
}

impl FastService {
    fn new(svc: &Service) -> FastService {
        let spec = svc.spec.as_ref();
        FastService {
            selector: Labels::new(spec.and_then(|s| s.selector.as_ref())),
            publish_not_ready: spec.and_then(|s| s.publish_not_ready_addresses).unwrap_or(false),
            external_name: spec.and_then(|s| s.type_.as_deref()) == Some("ExternalName"),
            ports: spec.and_then(|s| s.ports.clone()).unwrap_or_default().into(),
        }
    }

    /// Back to the `Service` [`endpointslice::slices_for`] reads.
    fn to_service(&self, key: &ObjectKey) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some(key.name.clone()),
                namespace: Some(key.namespace.clone()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                selector: Some(self.selector.to_map()),
                publish_not_ready_addresses: Some(self.publish_not_ready),
                type_: self.external_name.then(|| "ExternalName".to_string()),
                ports: (!self.ports.is_empty()).then(|| self.ports.to_vec()),
                ..Default::default()
            }),
            status: None,
        }
    }
}

/// What the fast path keeps of a real EndpointSlice.
#[derive(Debug)]
struct FastSlice {
    /// The slice as DNS sees it, readiness as the slice says (the cache's own slim form).
    set: EndpointSet,
    /// Per endpoint of `set`: the name of the Pod its `targetRef` names (same namespace).
    pods: Box<[Option<Box<str>>]>,
}

impl FastSlice {
    /// The compact form of a slimmed slice; `None` for slices DNS ignores (no service
    /// label, FQDN addresses) or cannot use (a malformed address: the cache rejects
    /// the same slice and says why).
    fn new(slice: &EndpointSlice) -> Option<FastSlice> {
        let set = EndpointSet::from_slice(slice).ok()??;
        let pods = slice
            .endpoints
            .iter()
            .map(|ep| {
                let r = ep.target_ref.as_ref().filter(|r| r.kind.as_deref() == Some("Pod"))?;
                r.name.as_deref().map(Box::from)
            })
            .collect();
        Some(FastSlice { set, pods })
    }
}

/// What the fast path keeps of a pod: ~150 bytes, where a `k8s_openapi` `Pod` is
/// kilobytes even when slimmed (every optional field of its spec and status is
/// inline). Rebuilt into a `Pod` only for provisional endpoints.
#[derive(Debug, Clone)]
pub(crate) struct PodState {
    /// `metadata.labels`.
    labels: Labels,
    /// `status.podIPs` (or `status.podIP`), parsed.
    ips: SmallVec<[IpAddr; 1]>,
    /// The Ready condition is True.
    ready: bool,
    /// `metadata.deletionTimestamp` is set.
    terminating: bool,
    /// Deleted (or terminal), kept while a slice still references it.
    gone: bool,
    /// `spec.hostname`.
    hostname: Option<Box<str>>,
    /// `spec.subdomain`.
    subdomain: Option<Box<str>>,
    /// What few pods have, boxed to keep the common entry small.
    extra: Option<Box<PodExtra>>,
}

/// The rare parts of a [`PodState`].
#[derive(Debug, Clone, Default)]
struct PodExtra {
    /// The first address that does not parse, kept so the cache rejects the pod as before.
    bad_ip: Option<Box<str>>,
    /// Named container ports (for named targetPorts).
    ports: Box<[NamedPort]>,
}

/// A named container port: (name, number, protocol).
type NamedPort = (Box<str>, i32, Option<Box<str>>);

impl PodState {
    /// The compact form of a (slimmed) pod.
    pub(crate) fn from_pod(pod: &Pod) -> PodState {
        let spec = pod.spec.as_ref();
        let mut ips = SmallVec::new();
        let mut bad_ip = None;
        for ip in pod_ips(pod) {
            match ip.parse() {
                Ok(ip) => ips.push(ip),
                Err(_) => {
                    bad_ip.get_or_insert_with(|| ip.into());
                }
            }
        }
        let ports: Box<[_]> = spec
            .into_iter()
            .flat_map(|s| s.containers.iter())
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| Some((p.name.as_deref()?.into(), p.container_port, p.protocol.as_deref().map(Box::from))))
            .collect();
        PodState {
            labels: Labels::new(pod.metadata.labels.as_ref()),
            ips,
            ready: is_pod_ready(pod),
            terminating: pod.metadata.deletion_timestamp.is_some(),
            gone: terminal(pod),
            hostname: spec.and_then(|s| s.hostname.as_deref()).map(Box::from),
            subdomain: spec.and_then(|s| s.subdomain.as_deref()).map(Box::from),
            extra: (bad_ip.is_some() || !ports.is_empty()).then(|| Box::new(PodExtra { bad_ip, ports })),
        }
    }

    /// Back to a `Pod` with everything DNS and the EndpointSlice rules read.
    pub(crate) fn to_pod(&self, key: &ObjectKey) -> Pod {
        use k8s_openapi::api::core::v1::{Container, ContainerPort, PodCondition, PodIP, PodSpec, PodStatus};
        let extra = self.extra.as_deref();
        let ports: Vec<ContainerPort> = extra
            .into_iter()
            .flat_map(|e| e.ports.iter())
            .map(|(n, p, proto)| ContainerPort {
                name: Some(n.to_string()),
                container_port: *p,
                protocol: proto.as_deref().map(str::to_string),
                ..Default::default()
            })
            .collect();
        let mut ips: Vec<String> = self.ips.iter().map(IpAddr::to_string).collect();
        ips.extend(extra.and_then(|e| e.bad_ip.as_deref()).map(str::to_string));
        Pod {
            metadata: ObjectMeta {
                name: Some(key.name.clone()),
                namespace: Some(key.namespace.clone()),
                labels: (!self.labels.is_empty()).then(|| self.labels.to_map()),
                deletion_timestamp: self.terminating.then_some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
                )),
                ..Default::default()
            },
            spec: Some(PodSpec {
                hostname: self.hostname.as_deref().map(str::to_string),
                subdomain: self.subdomain.as_deref().map(str::to_string),
                containers: vec![Container {
                    name: "c".into(),
                    ports: (!ports.is_empty()).then_some(ports),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(if self.gone { "Failed" } else { "Running" }.into()),
                pod_ip: ips.first().cloned(),
                pod_ips: Some(ips.into_iter().map(|ip| PodIP { ip }).collect()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if self.ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    /// Whether this pod, now, holds every one of `addresses` and is still the pod the
    /// endpoint was made for.
    fn holds(&self, mut addresses: impl Iterator<Item = Option<IpAddr>>) -> bool {
        !self.gone && addresses.all(|a| a.is_some_and(|a| self.ips.contains(&a)))
    }
}

/// One pod name's entry: its state if known, and the real slices that reference it
/// (which may arrive before the pod does).
#[derive(Debug, Default)]
struct PodEntry {
    /// The pod as last seen; `None` if only slices reference it so far.
    state: Option<PodState>,
    /// Names of real slices (same namespace) with an endpoint whose `targetRef` is this pod.
    slices: SmallVec<[Box<str>; 1]>,
}

/// The fast path's slim indices. See the module docs.
#[derive(Default)]
pub struct FastPath {
    /// Services, compact.
    services: HashMap<ObjectKey, FastService>,
    /// Real slices, compact.
    slices: HashMap<ObjectKey, FastSlice>,
    /// Service → names of its real slices (same namespace), sorted.
    slices_of: HashMap<ObjectKey, SmallVec<[Box<str>; 1]>>,
    /// Namespace → pod name → state and referencing slices.
    /// Entries are boxed: a ~130-byte entry inline made the table (sized to a power of
    /// two, ~60 % full) 2.4 MB for 10,000 pods; boxed, table and entries are 1.7 MB.
    pods: HashMap<Box<str>, HashMap<Box<str>, Box<PodEntry>>>,
    /// Service → provisional slice keys currently in the cache.
    provisional: HashMap<ObjectKey, Vec<ObjectKey>>,
    /// Provisional endpoints published so far (for metrics and tests).
    pub provisional_published: u64,
    /// Endpoint readiness overrides applied so far (slice value differed from the pod's).
    pub overrides: u64,
}

fn key_of(meta: &ObjectMeta) -> Option<ObjectKey> {
    Some(ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref()?))
}

fn slice_service(slice: &EndpointSlice) -> Option<ObjectKey> {
    let svc = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    Some(ObjectKey::new(slice.metadata.namespace.as_deref(), svc))
}

fn pod_ips(pod: &Pod) -> Vec<&str> {
    let st = pod.status.as_ref();
    let mut ips: Vec<&str> = st.and_then(|s| s.pod_ips.as_ref()).into_iter().flatten().map(|p| p.ip.as_str()).collect();
    if ips.is_empty() {
        ips.extend(st.and_then(|s| s.pod_ip.as_deref()).filter(|ip| !ip.is_empty()));
    }
    ips
}

fn terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

impl FastPath {
    fn pod(&self, namespace: &str, name: &str) -> Option<&PodState> {
        self.pods.get(namespace)?.get(name)?.state.as_ref()
    }

    fn entry(&mut self, namespace: &str, name: &str) -> &mut PodEntry {
        if !self.pods.contains_key(namespace) {
            self.pods.insert(namespace.into(), HashMap::new());
        }
        let ns = self.pods.get_mut(namespace).expect("just inserted");
        if !ns.contains_key(name) {
            ns.insert(name.into(), Box::default());
        }
        ns.get_mut(name).expect("just inserted")
    }

    /// Drops a pod entry that holds nothing (no live state, no referencing slice).
    fn prune(&mut self, namespace: &str, name: &str) {
        let Some(ns) = self.pods.get_mut(namespace) else { return };
        if ns.get(name).is_some_and(|e| e.slices.is_empty() && e.state.as_ref().is_none_or(|s| s.gone)) {
            ns.remove(name);
            if ns.is_empty() {
                self.pods.remove(namespace);
            }
        }
    }

    fn publish_not_ready(&self, service: &ObjectKey) -> bool {
        self.services.get(service).is_some_and(|s| s.publish_not_ready)
    }

    /// The readiness the pod behind an endpoint gives it, if the pod is known:
    /// `publishNotReadyAddresses || (ready && !terminating)`, and never for a pod
    /// that is gone or no longer holds the endpoint's addresses.
    fn ready_of(
        &self,
        namespace: &str,
        pod: &str,
        pnr: bool,
        addresses: impl Iterator<Item = Option<IpAddr>>,
    ) -> Option<bool> {
        let state = self.pod(namespace, pod)?;
        Some(state.holds(addresses) && (pnr || (state.ready && !state.terminating)))
    }

    /// A slice with endpoint readiness taken from the pods we know.
    pub fn effective(&mut self, slice: &EndpointSlice) -> EndpointSlice {
        let mut out = slice.clone();
        let pnr = slice_service(slice).is_some_and(|k| self.publish_not_ready(&k));
        let ns = ObjectKey::new(slice.metadata.namespace.as_deref(), "").namespace;
        for ep in &mut out.endpoints {
            let Some(r) = ep.target_ref.as_ref().filter(|r| r.kind.as_deref() == Some("Pod")) else { continue };
            let Some(name) = r.name.as_deref() else { continue };
            let addresses = ep.addresses.iter().map(|a| a.parse().ok());
            let Some(ready) = self.ready_of(&ns, name, pnr, addresses) else { continue };
            let conditions = ep.conditions.get_or_insert_with(Default::default);
            if conditions.ready.unwrap_or(true) != ready {
                self.overrides += 1;
            }
            conditions.ready = Some(ready);
        }
        out
    }

    /// A stored slice with endpoint readiness taken from the pods we know.
    fn effective_set(&mut self, slice: &FastSlice) -> EndpointSet {
        let mut out = slice.set.clone();
        let pnr = self.publish_not_ready(&out.service);
        let ns = out.service.namespace.clone();
        for (ep, pod) in out.endpoints.iter_mut().zip(slice.pods.iter()) {
            let Some(pod) = pod else { continue };
            let Some(ready) = self.ready_of(&ns, pod, pnr, ep.addresses.iter().map(|a| Some(*a))) else { continue };
            if ep.ready != ready {
                self.overrides += 1;
            }
            ep.ready = ready;
        }
        out
    }

    /// Records a Service; returns it for syncing.
    pub fn put_service(&mut self, svc: &Service) -> Vec<ObjectKey> {
        let Some(key) = key_of(&svc.metadata) else { return Vec::new() };
        self.services.insert(key.clone(), FastService::new(svc));
        vec![key]
    }

    /// Forgets a Service.
    pub fn remove_service(&mut self, key: &ObjectKey) -> Vec<ObjectKey> {
        self.services.remove(key);
        vec![key.clone()]
    }

    /// Records a real slice; returns the services to sync.
    pub fn put_slice(&mut self, slice: &EndpointSlice) -> Vec<ObjectKey> {
        let Some(key) = key_of(&slice.metadata) else { return Vec::new() };
        let mut affected = self.remove_slice(&key);
        let Some(fast) = FastSlice::new(slice) else { return affected };
        for pod in fast.pods.iter().flatten() {
            let refs = &mut self.entry(&key.namespace, pod).slices;
            if !refs.iter().any(|s| **s == *key.name) {
                refs.push(key.name.as_str().into());
            }
        }
        let names = self.slices_of.entry(fast.set.service.clone()).or_default();
        if let Err(i) = names.binary_search_by(|n| (**n).cmp(key.name.as_str())) {
            names.insert(i, key.name.as_str().into());
        }
        affected.push(fast.set.service.clone());
        self.slices.insert(key, fast);
        affected
    }

    /// Forgets a real slice; returns the services to sync.
    pub fn remove_slice(&mut self, key: &ObjectKey) -> Vec<ObjectKey> {
        let Some(old) = self.slices.remove(key) else { return Vec::new() };
        for pod in old.pods.iter().flatten() {
            if let Some(e) = self.pods.get_mut(key.namespace.as_str()).and_then(|ns| ns.get_mut(&**pod)) {
                e.slices.retain(|s| **s != *key.name);
                if e.slices.is_empty() {
                    self.prune(&key.namespace, pod); // a tombstone is no longer needed
                }
            }
        }
        let svc = old.set.service;
        if let Some(names) = self.slices_of.get_mut(&svc) {
            names.retain(|n| **n != *key.name);
            if names.is_empty() {
                self.slices_of.remove(&svc);
            }
        }
        vec![svc]
    }

    /// Records a pod; returns the services to sync.
    pub fn put_pod(&mut self, pod: &Pod) -> Vec<ObjectKey> {
        let Some(key) = key_of(&pod.metadata) else { return Vec::new() };
        self.put_pod_state(&key, PodState::from_pod(pod))
    }

    /// Records a pod in its compact form; returns the services to sync.
    pub(crate) fn put_pod_state(&mut self, key: &ObjectKey, new: PodState) -> Vec<ObjectKey> {
        let old_labels = self.pod(&key.namespace, &key.name).map(|s| s.labels.clone());
        let mut affected = self.services_of(key, old_labels.as_ref());
        affected.extend(self.services_of(key, Some(&new.labels)));
        self.entry(&key.namespace, &key.name).state = Some(new);
        affected
    }

    /// A pod was deleted; returns the services to sync.
    pub fn remove_pod(&mut self, key: &ObjectKey) -> Vec<ObjectKey> {
        let Some(labels) = self.pod(&key.namespace, &key.name).map(|s| s.labels.clone()) else { return Vec::new() };
        let affected = self.services_of(key, Some(&labels));
        let e = self.entry(&key.namespace, &key.name);
        if e.slices.is_empty() {
            e.state = None;
            self.prune(&key.namespace, &key.name);
        } else if let Some(s) = &mut e.state {
            s.gone = true;
        }
        affected
    }

    /// Forgets the pods of `namespace` (None: all) that a relist no longer holds;
    /// returns the keys of the pods it dropped (gone ones included: the cache may
    /// still hold them) and the services to sync.
    pub fn remove_stale_pods(
        &mut self,
        namespace: Option<&str>,
        fresh: &HashSet<ObjectKey>,
    ) -> (Vec<ObjectKey>, Vec<ObjectKey>) {
        let mut stale = Vec::new();
        for (ns, pods) in &self.pods {
            if namespace.is_some_and(|n| n != &**ns) {
                continue;
            }
            for (name, e) in pods {
                if e.state.is_some() {
                    let key = ObjectKey { namespace: ns.to_string(), name: name.to_string() };
                    if !fresh.contains(&key) {
                        stale.push(key);
                    }
                }
            }
        }
        let mut affected = Vec::new();
        for k in &stale {
            if self.pod(&k.namespace, &k.name).is_some_and(|s| !s.gone) {
                affected.extend(self.remove_pod(k));
            }
        }
        (stale, affected)
    }

    /// Replaces every object of `kind` in `namespace` (None: all) with `objects`
    /// (a relist); returns the services to sync.
    pub fn replace(&mut self, kind: Kind, namespace: Option<&str>, objects: &[Object]) -> Vec<ObjectKey> {
        let in_scope = |k: &ObjectKey| namespace.is_none_or(|ns| k.namespace == ns);
        let fresh: HashSet<ObjectKey> = objects.iter().filter(|o| o.kind() == kind).filter_map(|o| o.key()).collect();
        let mut affected = Vec::new();
        match kind {
            Kind::Service => {
                let stale: Vec<ObjectKey> =
                    self.services.keys().filter(|k| in_scope(k) && !fresh.contains(k)).cloned().collect();
                for k in stale {
                    affected.extend(self.remove_service(&k));
                }
                for o in objects {
                    if let Object::Service(s) = o {
                        affected.extend(self.put_service(s));
                    }
                }
            }
            Kind::EndpointSlice => {
                let stale: Vec<ObjectKey> =
                    self.slices.keys().filter(|k| in_scope(k) && !fresh.contains(k)).cloned().collect();
                for k in stale {
                    affected.extend(self.remove_slice(&k));
                }
                for o in objects {
                    if let Object::EndpointSlice(s) = o {
                        affected.extend(self.put_slice(s));
                    }
                }
            }
            Kind::Pod => {
                affected.extend(self.remove_stale_pods(namespace, &fresh).1);
                for o in objects {
                    if let Object::Pod(p) = o {
                        affected.extend(self.put_pod(p));
                    }
                }
            }
            Kind::Namespace | Kind::Endpoints => {}
        }
        affected
    }

    /// Services a pod matters to: those whose selector matches it, and those whose slices reference it.
    fn services_of(&self, key: &ObjectKey, labels: Option<&Labels>) -> Vec<ObjectKey> {
        let refs = self.pods.get(key.namespace.as_str()).and_then(|ns| ns.get(key.name.as_str()));
        let mut out: Vec<ObjectKey> = refs
            .into_iter()
            .flat_map(|e| e.slices.iter())
            .filter_map(|s| {
                let slice = ObjectKey { namespace: key.namespace.clone(), name: s.to_string() };
                Some(self.slices.get(&slice)?.set.service.clone())
            })
            .collect();
        if let Some(labels) = labels {
            for (skey, svc) in &self.services {
                if skey.namespace == key.namespace && !svc.selector.is_empty() && labels.matches(&svc.selector) {
                    out.push(skey.clone());
                }
            }
        }
        out
    }

    /// Provisional slices for a service: ready pods it selects that no real slice holds yet.
    fn provisional_for(&self, key: &ObjectKey) -> Vec<EndpointSlice> {
        let Some(svc) = self.services.get(key) else { return Vec::new() };
        if svc.selector.is_empty() || svc.external_name {
            return Vec::new();
        }
        let pnr = svc.publish_not_ready;
        let known: HashSet<IpAddr> = self
            .slices_of
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|name| self.slices.get(&ObjectKey { namespace: key.namespace.clone(), name: name.to_string() }))
            .flat_map(|s| s.set.endpoints.iter().flat_map(|e| e.addresses.iter().copied()))
            .collect();
        let pods: Vec<Pod> = self
            .pods
            .get(key.namespace.as_str())
            .into_iter()
            .flatten()
            .filter_map(|(name, e)| Some((name, e.state.as_ref()?)))
            .filter(|(_, p)| !p.gone && !p.terminating && (pnr || p.ready))
            .filter(|(_, p)| p.labels.matches(&svc.selector))
            .filter(|(_, p)| !p.ips.is_empty() && !p.ips.iter().any(|ip| known.contains(ip)))
            .map(|(name, p)| p.to_pod(&ObjectKey { namespace: key.namespace.clone(), name: name.to_string() }))
            .collect();
        if pods.is_empty() {
            return Vec::new();
        }
        let refs: Vec<&Pod> = pods.iter().collect();
        let mut slices = endpointslice::slices_for(&svc.to_service(key), &refs);
        for (i, s) in slices.iter_mut().enumerate() {
            s.metadata.name = Some(format!("{PROVISIONAL_PREFIX}{}.{i}", key.name));
            s.metadata.namespace = Some(key.namespace.clone());
            s.metadata.labels.get_or_insert_with(Default::default).insert(SERVICE_NAME_LABEL.into(), key.name.clone());
        }
        slices
    }

    /// Publishes a service's endpoints as the fast path sees them: its real slices
    /// with readiness from pods, plus provisional slices. Takes effect at the next flush.
    pub fn sync(&mut self, cache: &mut Cache, key: &ObjectKey) {
        let real: Vec<Box<str>> = self.slices_of.get(key).into_iter().flatten().cloned().collect();
        for name in real {
            let k = ObjectKey { namespace: key.namespace.clone(), name: name.into() };
            let Some(slice) = self.slices.remove(&k) else { continue };
            let eff = self.effective_set(&slice);
            self.slices.insert(k.clone(), slice);
            cache.upsert_endpoint_set(k, eff);
        }
        let desired = self.provisional_for(key);
        let old = self.provisional.remove(key).unwrap_or_default();
        let mut keys = Vec::with_capacity(desired.len());
        for s in desired {
            let Some(k) = key_of(&s.metadata) else { continue };
            self.provisional_published += s.endpoints.len() as u64;
            if cache.upsert(&Object::EndpointSlice(s)).is_ok() {
                keys.push(k);
            }
        }
        for k in old {
            if !keys.contains(&k) {
                cache.remove(Kind::EndpointSlice, &k);
            }
        }
        if !keys.is_empty() {
            self.provisional.insert(key.clone(), keys);
        }
    }

    /// Every service the fast path knows (after a relist).
    pub fn all_services(&self) -> Vec<ObjectKey> {
        let mut all: std::collections::BTreeSet<ObjectKey> = self.services.keys().cloned().collect();
        all.extend(self.slices_of.keys().cloned());
        all.extend(self.provisional.keys().cloned());
        all.into_iter().collect()
    }

    /// Whether `key` names a provisional slice (a relist of real slices must keep them).
    pub fn is_provisional(key: &ObjectKey) -> bool {
        key.name.starts_with(PROVISIONAL_PREFIX)
    }
}
