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

use std::collections::{BTreeSet, HashMap, HashSet};

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::cache::{Cache, Kind, Object};
use crate::cluster::{ObjectKey, SERVICE_NAME_LABEL, endpointslice, is_pod_ready};

/// Name prefix of provisional slices (never produced by the API: real slice names
/// are `<service>-<random>`; a `.` after this prefix keeps them apart anyway).
pub const PROVISIONAL_PREFIX: &str = "ordinal-provisional.";

/// What the fast path keeps of a pod: a few hundred bytes, where a `k8s_openapi`
/// `Pod` is kilobytes even when slimmed (every optional field of its spec and status
/// is inline). Rebuilt into a `Pod` only for provisional endpoints.
pub(crate) struct PodState {
    labels: std::collections::BTreeMap<String, String>,
    ips: Vec<String>,
    ready: bool,
    terminating: bool,
    /// Deleted (or terminal), kept while a slice still references it.
    gone: bool,
    hostname: Option<String>,
    subdomain: Option<String>,
    /// Named container ports (for named targetPorts): (name, port, protocol).
    ports: Vec<(String, i32, Option<String>)>,
}

impl PodState {
    /// The compact form of a (slimmed) pod.
    pub(crate) fn from_pod(pod: &Pod) -> PodState {
        let spec = pod.spec.as_ref();
        PodState {
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            ips: pod_ips(pod).into_iter().map(str::to_string).collect(),
            ready: is_pod_ready(pod),
            terminating: pod.metadata.deletion_timestamp.is_some(),
            gone: terminal(pod),
            hostname: spec.and_then(|s| s.hostname.clone()),
            subdomain: spec.and_then(|s| s.subdomain.clone()),
            ports: spec
                .into_iter()
                .flat_map(|s| s.containers.iter())
                .flat_map(|c| c.ports.iter().flatten())
                .filter_map(|p| Some((p.name.clone()?, p.container_port, p.protocol.clone())))
                .collect(),
        }
    }

    /// The `Pod` the EndpointSlice rules read (for [`endpointslice::slices_for`]).
    /// Back to a `Pod` with everything DNS and the EndpointSlice rules read.
    pub(crate) fn to_pod(&self, key: &ObjectKey) -> Pod {
        use k8s_openapi::api::core::v1::{Container, ContainerPort, PodCondition, PodIP, PodSpec, PodStatus};
        let ports: Vec<ContainerPort> = self
            .ports
            .iter()
            .map(|(n, p, proto)| ContainerPort {
                name: Some(n.clone()),
                container_port: *p,
                protocol: proto.clone(),
                ..Default::default()
            })
            .collect();
        Pod {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(key.name.clone()),
                namespace: Some(key.namespace.clone()),
                labels: Some(self.labels.clone()),
                deletion_timestamp: self.terminating.then_some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
                )),
                ..Default::default()
            },
            spec: Some(PodSpec {
                hostname: self.hostname.clone(),
                subdomain: self.subdomain.clone(),
                containers: vec![Container {
                    name: "c".into(),
                    ports: (!ports.is_empty()).then_some(ports),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(if self.gone { "Failed" } else { "Running" }.into()),
                pod_ip: self.ips.first().cloned(),
                pod_ips: Some(self.ips.iter().map(|ip| PodIP { ip: ip.clone() }).collect()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if self.ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }
}

/// The fast path's slim indices. See the module docs.
#[derive(Default)]
pub struct FastPath {
    services: HashMap<ObjectKey, Service>,
    /// Real slices as received (slimmed).
    slices: HashMap<ObjectKey, EndpointSlice>,
    /// Service → its real slices.
    slices_of: HashMap<ObjectKey, BTreeSet<ObjectKey>>,
    pods: HashMap<ObjectKey, PodState>,
    pods_in_ns: HashMap<String, BTreeSet<ObjectKey>>,
    /// Pod → real slices whose endpoints reference it.
    pod_refs: HashMap<ObjectKey, BTreeSet<ObjectKey>>,
    /// Service → provisional slice keys currently in the cache.
    provisional: HashMap<ObjectKey, Vec<ObjectKey>>,
    /// Provisional endpoints published so far (for metrics and tests).
    pub provisional_published: u64,
    /// Endpoint readiness overrides applied so far (slice value differed from the pod's).
    pub overrides: u64,
}

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<ObjectKey> {
    Some(ObjectKey::new(meta.namespace.as_deref(), meta.name.as_deref()?))
}

fn slice_service(slice: &EndpointSlice) -> Option<ObjectKey> {
    let svc = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    Some(ObjectKey::new(slice.metadata.namespace.as_deref(), svc))
}

fn pod_targets(slice: &EndpointSlice) -> impl Iterator<Item = ObjectKey> + '_ {
    slice.endpoints.iter().filter_map(move |ep| {
        let r = ep.target_ref.as_ref()?;
        (r.kind.as_deref() == Some("Pod")).then_some(())?;
        Some(ObjectKey::new(slice.metadata.namespace.as_deref(), r.name.as_deref()?))
    })
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
    /// A slice with endpoint readiness taken from the pods we know.
    pub fn effective(&mut self, slice: &EndpointSlice) -> EndpointSlice {
        let mut out = slice.clone();
        let pnr = slice_service(slice)
            .and_then(|k| self.services.get(&k))
            .and_then(|s| s.spec.as_ref()?.publish_not_ready_addresses)
            .unwrap_or(false);
        for ep in &mut out.endpoints {
            let Some(r) = ep.target_ref.as_ref().filter(|r| r.kind.as_deref() == Some("Pod")) else { continue };
            let Some(name) = r.name.as_deref() else { continue };
            let Some(state) = self.pods.get(&ObjectKey::new(slice.metadata.namespace.as_deref(), name)) else {
                continue;
            };
            let same_pod = !state.gone && ep.addresses.iter().all(|a| state.ips.contains(a));
            let ready = same_pod && (pnr || (state.ready && !state.terminating));
            let conditions = ep.conditions.get_or_insert_with(Default::default);
            if conditions.ready.unwrap_or(true) != ready {
                self.overrides += 1;
            }
            conditions.ready = Some(ready);
        }
        out
    }

    /// Records a Service; returns it for syncing.
    pub fn put_service(&mut self, svc: &Service) -> Vec<ObjectKey> {
        let Some(key) = key_of(&svc.metadata) else { return Vec::new() };
        self.services.insert(key.clone(), svc.clone());
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
        for pod in pod_targets(slice) {
            self.pod_refs.entry(pod).or_default().insert(key.clone());
        }
        if let Some(svc) = slice_service(slice) {
            self.slices_of.entry(svc.clone()).or_default().insert(key.clone());
            affected.push(svc);
        }
        self.slices.insert(key, slice.clone());
        affected
    }

    /// Forgets a real slice; returns the services to sync.
    pub fn remove_slice(&mut self, key: &ObjectKey) -> Vec<ObjectKey> {
        let Some(old) = self.slices.remove(key) else { return Vec::new() };
        for pod in pod_targets(&old) {
            if let Some(refs) = self.pod_refs.get_mut(&pod) {
                refs.remove(key);
                if refs.is_empty() {
                    self.pod_refs.remove(&pod);
                    if self.pods.get(&pod).is_some_and(|p| p.gone) {
                        self.pods.remove(&pod); // tombstone no longer needed
                    }
                }
            }
        }
        let svc = slice_service(&old);
        if let Some(svc) = &svc
            && let Some(keys) = self.slices_of.get_mut(svc)
        {
            keys.remove(key);
            if keys.is_empty() {
                self.slices_of.remove(svc);
            }
        }
        svc.into_iter().collect()
    }

    /// Records a pod; returns the services to sync.
    pub fn put_pod(&mut self, pod: &Pod) -> Vec<ObjectKey> {
        let Some(key) = key_of(&pod.metadata) else { return Vec::new() };
        let old = self.pods.remove(&key);
        let new = PodState::from_pod(pod);
        let mut affected = self.services_of(&key, old.as_ref().map(|o| &o.labels));
        affected.extend(self.services_of(&key, Some(&new.labels)));
        self.pods_in_ns.entry(key.namespace.clone()).or_default().insert(key.clone());
        self.pods.insert(key, new);
        affected
    }

    /// A pod was deleted; returns the services to sync.
    pub fn remove_pod(&mut self, key: &ObjectKey) -> Vec<ObjectKey> {
        let Some(mut state) = self.pods.remove(key) else { return Vec::new() };
        let affected = self.services_of(key, Some(&state.labels));
        if let Some(set) = self.pods_in_ns.get_mut(&key.namespace) {
            set.remove(key);
        }
        if self.pod_refs.contains_key(key) {
            state.gone = true;
            self.pods.insert(key.clone(), state);
        }
        affected
    }

    /// Forgets the pods of `namespace` (None: all) that a relist no longer holds.
    pub fn remove_stale_pods(&mut self, namespace: Option<&str>, fresh: &HashSet<ObjectKey>) -> Vec<ObjectKey> {
        let stale: Vec<ObjectKey> = self
            .pods
            .iter()
            .filter(|(k, p)| namespace.is_none_or(|ns| k.namespace == ns) && !p.gone && !fresh.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        stale.iter().flat_map(|k| self.remove_pod(k)).collect()
    }

    /// Replaces every object of `kind` in `namespace` (None: all) with `objects`
    /// (a relist); returns the services to sync.
    pub fn replace(&mut self, kind: Kind, namespace: Option<&str>, objects: &[Object]) -> Vec<ObjectKey> {
        let in_scope = |k: &ObjectKey| namespace.is_none_or(|ns| k.namespace == ns);
        let mut affected = Vec::new();
        match kind {
            Kind::Service => {
                let fresh: HashSet<ObjectKey> = objects.iter().filter_map(|o| o.key()).collect();
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
                let fresh: HashSet<ObjectKey> = objects.iter().filter_map(|o| o.key()).collect();
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
                let fresh: HashSet<ObjectKey> = objects.iter().filter_map(|o| o.key()).collect();
                let stale: Vec<ObjectKey> = self
                    .pods
                    .iter()
                    .filter(|(k, p)| in_scope(k) && !p.gone && !fresh.contains(*k))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in stale {
                    affected.extend(self.remove_pod(&k));
                }
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
    fn services_of(
        &self,
        key: &ObjectKey,
        labels: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Vec<ObjectKey> {
        let mut out: Vec<ObjectKey> = self
            .pod_refs
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|s| self.slices.get(s).and_then(slice_service))
            .collect();
        if let Some(labels) = labels {
            for (skey, svc) in &self.services {
                if skey.namespace != key.namespace {
                    continue;
                }
                let sel = svc.spec.as_ref().and_then(|s| s.selector.as_ref()).filter(|s| !s.is_empty());
                if sel.is_some_and(|sel| endpointslice::selector_matches(sel, Some(labels))) {
                    out.push(skey.clone());
                }
            }
        }
        out
    }

    /// Provisional slices for a service: ready pods it selects that no real slice holds yet.
    fn provisional_for(&self, key: &ObjectKey) -> Vec<EndpointSlice> {
        let Some(svc) = self.services.get(key) else { return Vec::new() };
        let Some(spec) = svc.spec.as_ref() else { return Vec::new() };
        let Some(sel) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { return Vec::new() };
        if spec.type_.as_deref() == Some("ExternalName") {
            return Vec::new();
        }
        let pnr = spec.publish_not_ready_addresses.unwrap_or(false);
        let known: HashSet<&str> = self
            .slices_of
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|k| self.slices.get(k))
            .flat_map(|s| s.endpoints.iter().flat_map(|e| e.addresses.iter().map(String::as_str)))
            .collect();
        let pods: Vec<Pod> = self
            .pods_in_ns
            .get(&key.namespace)
            .into_iter()
            .flatten()
            .filter_map(|k| Some((k, self.pods.get(k)?)))
            .filter(|(_, p)| !p.gone && !p.terminating && (pnr || p.ready))
            .filter(|(_, p)| endpointslice::selector_matches(sel, Some(&p.labels)))
            .filter(|(_, p)| !p.ips.is_empty() && !p.ips.iter().any(|ip| known.contains(ip.as_str())))
            .map(|(k, p)| p.to_pod(k))
            .collect();
        if pods.is_empty() {
            return Vec::new();
        }
        let refs: Vec<&Pod> = pods.iter().collect();
        let mut slices = endpointslice::slices_for(svc, &refs);
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
        let real: Vec<ObjectKey> = self.slices_of.get(key).into_iter().flatten().cloned().collect();
        for k in real {
            let Some(slice) = self.slices.get(&k).cloned() else { continue };
            let eff = self.effective(&slice);
            if let Err(e) = cache.upsert(&Object::EndpointSlice(eff)) {
                tracing::warn!(slice = %k, error = %e, "slice skipped");
            }
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
        let mut all: BTreeSet<ObjectKey> = self.services.keys().cloned().collect();
        all.extend(self.slices_of.keys().cloned());
        all.extend(self.provisional.keys().cloned());
        all.into_iter().collect()
    }

    /// Whether `key` names a provisional slice (a relist of real slices must keep them).
    pub fn is_provisional(key: &ObjectKey) -> bool {
        key.name.starts_with(PROVISIONAL_PREFIX)
    }
}
