//! The watch cache: slim objects in, prebuilt DNS names out.
//!
//! **One writer, many readers.** A [`Cache`] is owned by exactly one task: the
//! active source (manifest files, the embedded cluster, or API-server watchers).
//! It applies object changes to its slim indices with `&mut self`, marks the
//! affected services dirty, and on [`Cache::flush`] recomputes just those services
//! and publishes their names into the shared [`Zone`], which DNS workers read
//! without ever waiting on the writer for more than one shard.
//!
//! Sans-IO: no sockets, files or clocks beyond the SOA serial's wall time, so it
//! is tested by applying synthetic objects and reading the zone.

pub mod entry;
pub mod records;
pub mod wire;
pub mod zone;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use dashmap::DashMap;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Pod as K8sPod, Service as K8sService};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use smallvec::SmallVec;

use crate::cluster::{ConvertError, EndpointSet, ObjectKey, Pod, Service, ServiceKind};
use crate::dns::name::reverse_name;
use entry::{NameEntry, ZoneEntry};
use records::{PtrPart, PtrParts};
pub use zone::{PodsMode, SoaWire, Zone, ZoneConfig};

/// A Kubernetes object the cache understands.
#[derive(Debug, Clone)]
pub enum Object {
    /// core/v1 Namespace.
    Namespace(Namespace),
    /// core/v1 Service.
    Service(K8sService),
    /// discovery.k8s.io/v1 EndpointSlice.
    EndpointSlice(EndpointSlice),
    /// core/v1 Endpoints (legacy; used only for services without slices).
    Endpoints(Endpoints),
    /// core/v1 Pod with status.
    Pod(K8sPod),
}

/// Kinds of objects, for whole-kind replacement (relists, file reloads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Namespaces.
    Namespace,
    /// Services.
    Service,
    /// EndpointSlices.
    EndpointSlice,
    /// Legacy Endpoints.
    Endpoints,
    /// Pods.
    Pod,
}

impl Object {
    /// The kind of this object.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Namespace(_) => Kind::Namespace,
            Object::Service(_) => Kind::Service,
            Object::EndpointSlice(_) => Kind::EndpointSlice,
            Object::Endpoints(_) => Kind::Endpoints,
            Object::Pod(_) => Kind::Pod,
        }
    }

    /// `namespace/name` (namespaces use their own name as both).
    pub fn key(&self) -> Option<ObjectKey> {
        let meta = match self {
            Object::Namespace(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::EndpointSlice(o) => &o.metadata,
            Object::Endpoints(o) => &o.metadata,
            Object::Pod(o) => &o.metadata,
        };
        let name = meta.name.as_deref()?;
        Some(match self {
            Object::Namespace(_) => ObjectKey { namespace: name.to_string(), name: name.to_string() },
            _ => ObjectKey::new(meta.namespace.as_deref(), name),
        })
    }
}

/// Counts of cached objects, for `/metrics` and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Services.
    pub services: usize,
    /// EndpointSlices plus legacy Endpoints.
    pub endpoint_sets: usize,
    /// Pods.
    pub pods: usize,
    /// Namespaces known (explicit or referenced).
    pub namespaces: usize,
    /// DNS names served.
    pub names: usize,
}

/// What the cache keeps of a pod: what `pods verified` indexes (readiness is the
/// endpoints' business). The pod's key is the map's.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CachedPod {
    /// `status.podIPs`, kept only with `pods verified` (the one reader): empty, and
    /// no allocation, otherwise.
    ips: Box<[IpAddr]>,
    /// Phase is Running, Pending or Unknown.
    active: bool,
    /// `metadata.deletionTimestamp` is set.
    terminating: bool,
}

impl CachedPod {
    fn new(p: &Pod, keep_ips: bool) -> Self {
        let ips = if keep_ips { p.ips.iter().copied().collect() } else { Box::default() };
        CachedPod { ips, active: p.active, terminating: p.terminating }
    }
}

/// What one service last published, so the next rebuild can retract it.
#[derive(Debug, Default)]
struct Published {
    /// Forward names it owns.
    names: NameList,
    /// Addresses whose reverse names it contributes to.
    ptrs: Box<[IpAddr]>,
}

/// Wire names packed back to back in one allocation (each ends with its root label,
/// none is compressed): a `Vec<Box<[u8]>>` spent a pointer and an allocation per name.
#[derive(Debug, Default)]
struct NameList(Box<[u8]>);

impl NameList {
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.0[..];
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let mut i = 0;
            while let Some(&len) = rest.get(i) {
                i += 1 + usize::from(len);
                if len == 0 {
                    break;
                }
            }
            let (name, tail) = rest.split_at(i.min(rest.len()));
            rest = tail;
            Some(name)
        })
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The single-writer cache. See the module docs.
pub struct Cache {
    /// The shared read side.
    zone: Arc<Zone>,
    /// Services by key.
    services: HashMap<ObjectKey, Service>,
    /// Endpoint sets from EndpointSlices, by slice key.
    slices: HashMap<ObjectKey, EndpointSet>,
    /// Slice keys per service key (a service's slices are merged).
    /// (Sorted; nearly always one, held inline: a one-key `BTreeSet` was a 540-byte node.)
    slices_of: HashMap<ObjectKey, SmallVec<[ObjectKey; 1]>>,
    /// Endpoint sets from legacy Endpoints, by service key (used when a service has no slices).
    legacy: HashMap<ObjectKey, EndpointSet>,
    /// Pods by namespace and name (`pods verified`, counts, namespace existence):
    /// compact, the key stored once.
    pods: HashMap<Box<str>, HashMap<Box<str>, CachedPod>>,
    /// Number of pods in `pods`.
    pod_count: usize,
    /// Namespaces declared by Namespace objects.
    namespaces: BTreeSet<String>,
    /// Live pods per (namespace, IP), so `pods verified` drops an address only when
    /// its last pod goes.
    pod_ip_refs: HashMap<(String, IpAddr), usize>,
    /// Objects per namespace that imply it exists (a dump may omit Namespace objects).
    ns_refs: HashMap<String, usize>,
    /// What each service last published.
    /// (The key is shared with every `ptr_parts` entry of the service.)
    published: HashMap<Arc<ObjectKey>, Published>,
    /// Reverse names → each service's contribution.
    /// (Keyed by address: the reverse name is derived when the entry is rebuilt.)
    ptr_parts: HashMap<IpAddr, PtrParts>,
    /// Services to rebuild at the next flush.
    dirty: BTreeSet<ObjectKey>,
    /// Reverse names to rebuild at the next flush.
    dirty_ptrs: HashSet<IpAddr>,
    /// Namespaces whose existence may have changed.
    dirty_ns: BTreeSet<String>,
    /// Whether anything DNS-visible changed since the last serial bump.
    changed: bool,
}

impl Cache {
    /// A new, empty, unsynced cache and its shared read side.
    pub fn new(config: ZoneConfig) -> (Cache, Arc<Zone>) {
        let apex = crate::dns::name::to_wire(&config.domain).unwrap_or_else(|_| vec![0]).into_boxed_slice();
        let zone = Arc::new(Zone {
            config,
            apex,
            names: DashMap::new(),
            pod_ips: DashMap::new(),
            soa: ArcSwap::from_pointee(SoaWire { cluster: Box::new([]), in_addr: Box::new([]), ip6: Box::new([]) }),
            serial: Default::default(),
            synced: Default::default(),
            serving_unsynced: Default::default(),
            stats: Default::default(),
        });
        let mut cache = Cache {
            zone: Arc::clone(&zone),
            services: HashMap::new(),
            slices: HashMap::new(),
            slices_of: HashMap::new(),
            legacy: HashMap::new(),
            pods: HashMap::new(),
            pod_count: 0,
            namespaces: BTreeSet::new(),
            pod_ip_refs: HashMap::new(),
            ns_refs: HashMap::new(),
            published: HashMap::new(),
            ptr_parts: HashMap::new(),
            dirty: BTreeSet::new(),
            dirty_ptrs: HashSet::new(),
            dirty_ns: BTreeSet::new(),
            changed: true,
        };
        cache.flush();
        (cache, zone)
    }

    /// The shared read side.
    pub fn zone(&self) -> &Arc<Zone> {
        &self.zone
    }

    /// Marks the first complete view as delivered: negative answers stop being SERVFAIL.
    pub fn mark_synced(&mut self) {
        self.flush();
        self.zone.serving_unsynced.store(false, Ordering::Release);
        self.zone.synced.store(true, Ordering::Release);
    }

    /// The startup timeout passed before the first complete view: answer from what
    /// is cached (NXDOMAIN instead of SERVFAIL) while `/ready` stays unready until
    /// [`Cache::mark_synced`].
    pub fn serve_unsynced(&mut self) {
        if self.zone.is_synced() {
            return;
        }
        self.flush();
        self.zone.serving_unsynced.store(true, Ordering::Release);
        self.zone.synced.store(true, Ordering::Release);
    }

    /// Adds or replaces an object. Takes effect at the next [`Cache::flush`].
    pub fn upsert(&mut self, obj: &Object) -> Result<(), ConvertError> {
        match obj {
            Object::Namespace(ns) => {
                let name = ns.metadata.name.clone().ok_or(ConvertError::MissingName)?;
                if self.namespaces.insert(name.clone()) {
                    self.dirty_ns.insert(name);
                }
            }
            Object::Service(svc) => {
                let s = Service::from_k8s(svc)?;
                let key = s.key.clone();
                if self.services.get(&key) != Some(&s) {
                    if self.services.insert(key.clone(), s).is_none() {
                        self.ns_ref(&key.namespace, 1);
                    }
                    self.dirty.insert(key);
                }
            }
            Object::EndpointSlice(slice) => {
                let key = obj.key().ok_or(ConvertError::MissingName)?;
                match EndpointSet::from_slice(slice)? {
                    Some(set) => self.put_slice(key, set),
                    None => self.remove(Kind::EndpointSlice, &key),
                }
            }
            Object::Endpoints(eps) => {
                let set = EndpointSet::from_endpoints(eps)?;
                let key = set.service.clone();
                if self.legacy.get(&key) != Some(&set) {
                    self.legacy.insert(key.clone(), set);
                    self.dirty.insert(key);
                }
            }
            Object::Pod(pod) => {
                let p = Pod::from_k8s(pod)?;
                let new = CachedPod::new(&p, self.indexes_pod_ips());
                let (ns, name) = (p.key.namespace.as_str(), p.key.name.as_str());
                if self.pods.get(ns).and_then(|m| m.get(name)) == Some(&new) {
                    return Ok(());
                }
                let old = match self.pods.get_mut(ns) {
                    Some(m) => m.insert(name.into(), new.clone()),
                    None => {
                        self.pods.insert(ns.into(), HashMap::from([(name.into(), new.clone())]));
                        None
                    }
                };
                match old {
                    Some(old) => self.unindex_pod(ns, &old),
                    None => {
                        self.pod_count += 1;
                        self.ns_ref(ns, 1);
                    }
                }
                self.index_pod(ns, &new);
            }
        }
        Ok(())
    }

    /// Adds or replaces the endpoints of EndpointSlice `key`, already in slim form (the
    /// cluster source's fast path keeps its slices that way). Takes effect at the next
    /// [`Cache::flush`].
    pub fn upsert_endpoint_set(&mut self, key: ObjectKey, set: EndpointSet) {
        self.put_slice(key, set);
    }

    fn put_slice(&mut self, key: ObjectKey, set: EndpointSet) {
        if self.slices.get(&key) == Some(&set) {
            return;
        }
        if let Some(old) = self.slices.get(&key) {
            if old.service != set.service {
                let old_service = old.service.clone();
                self.detach_slice(&old_service, &key);
            }
        }
        let keys = self.slices_of.entry(set.service.clone()).or_default();
        if let Err(i) = keys.binary_search(&key) {
            keys.insert(i, key.clone());
        }
        self.dirty.insert(set.service.clone());
        self.slices.insert(key, set);
    }

    fn detach_slice(&mut self, service: &ObjectKey, slice: &ObjectKey) {
        if let Some(keys) = self.slices_of.get_mut(service) {
            keys.retain(|k| k != slice);
            if keys.is_empty() {
                self.slices_of.remove(service);
            }
        }
        self.dirty.insert(service.clone());
    }

    /// Removes an object. Takes effect at the next [`Cache::flush`].
    pub fn remove(&mut self, kind: Kind, key: &ObjectKey) {
        match kind {
            Kind::Namespace => {
                if self.namespaces.remove(&key.name) {
                    self.dirty_ns.insert(key.name.clone());
                }
            }
            Kind::Service => {
                if self.services.remove(key).is_some() {
                    self.ns_ref(&key.namespace, -1);
                    self.dirty.insert(key.clone());
                }
            }
            Kind::EndpointSlice => {
                if let Some(set) = self.slices.remove(key) {
                    self.detach_slice(&set.service, key);
                }
            }
            Kind::Endpoints => {
                if self.legacy.remove(key).is_some() {
                    self.dirty.insert(key.clone());
                }
            }
            Kind::Pod => {
                let ns = key.namespace.as_str();
                let Some(pods) = self.pods.get_mut(ns) else { return };
                if let Some(old) = pods.remove(key.name.as_str()) {
                    if pods.is_empty() {
                        self.pods.remove(ns);
                    }
                    self.pod_count -= 1;
                    self.unindex_pod(ns, &old);
                    self.ns_ref(ns, -1);
                }
            }
        }
    }

    /// Replaces every object of `kind` with `objects` (a relist or a file reload):
    /// objects absent from the new list are removed. Returns the conversion errors
    /// of objects that were skipped; the rest is applied.
    pub fn replace(&mut self, kind: Kind, objects: &[Object]) -> Vec<(ObjectKey, ConvertError)> {
        self.replace_iter(kind, objects)
    }

    /// [`Cache::replace`] over objects produced one at a time (a source that keeps
    /// its objects encoded decodes them as the cache consumes them).
    pub fn replace_iter<O: std::borrow::Borrow<Object>>(
        &mut self,
        kind: Kind,
        objects: impl IntoIterator<Item = O>,
    ) -> Vec<(ObjectKey, ConvertError)> {
        let mut errors = Vec::new();
        let mut keep = HashSet::new();
        for obj in objects {
            let obj = obj.borrow();
            if obj.kind() != kind {
                continue;
            }
            let Some(key) = obj.key() else {
                errors.push((ObjectKey::new(None, "<unnamed>"), ConvertError::MissingName));
                continue;
            };
            match self.upsert(obj) {
                Ok(()) => {
                    keep.insert(key);
                }
                Err(e) => errors.push((key, e)),
            }
        }
        for key in self.keys(kind) {
            if !keep.contains(&key) {
                self.remove(kind, &key);
            }
        }
        errors
    }

    fn keys(&self, kind: Kind) -> Vec<ObjectKey> {
        match kind {
            Kind::Namespace => {
                self.namespaces.iter().map(|n| ObjectKey { namespace: n.clone(), name: n.clone() }).collect()
            }
            Kind::Service => self.services.keys().cloned().collect(),
            Kind::EndpointSlice => self.slices.keys().cloned().collect(),
            Kind::Endpoints => self.legacy.keys().cloned().collect(),
            Kind::Pod => self
                .pods
                .iter()
                .flat_map(|(ns, m)| m.keys().map(|n| ObjectKey { namespace: ns.to_string(), name: n.to_string() }))
                .collect(),
        }
    }

    fn ns_ref(&mut self, ns: &str, delta: isize) {
        let count = self.ns_refs.entry(ns.to_string()).or_default();
        *count = count.saturating_add_signed(delta);
        if *count == 0 {
            self.ns_refs.remove(ns);
        }
        self.dirty_ns.insert(ns.to_string());
    }

    /// Only `pods verified` reads the (namespace, IP) index: other modes skip it
    /// (about 250 bytes per pod). The mode is fixed for the life of a zone.
    fn indexes_pod_ips(&self) -> bool {
        self.zone.config.pods == PodsMode::Verified
    }

    fn index_pod(&mut self, ns: &str, p: &CachedPod) {
        if !p.active || p.terminating || !self.indexes_pod_ips() {
            return;
        }
        for &ip in &p.ips {
            let refs = self.pod_ip_refs.entry((ns.to_string(), ip)).or_default();
            *refs += 1;
            if *refs == 1 {
                self.zone.pod_ips.entry(ip).or_default().push(ns.into());
            }
        }
    }

    fn unindex_pod(&mut self, ns: &str, p: &CachedPod) {
        if !p.active || p.terminating || !self.indexes_pod_ips() {
            return;
        }
        for &ip in &p.ips {
            let key = (ns.to_string(), ip);
            let Some(refs) = self.pod_ip_refs.get_mut(&key) else { continue };
            *refs -= 1;
            if *refs > 0 {
                continue;
            }
            self.pod_ip_refs.remove(&key);
            self.zone.pod_ips.remove_if_mut(&ip, |_, nss| {
                nss.retain(|n| &**n != ns);
                nss.is_empty()
            });
        }
    }

    /// Publishes every pending change to the zone and moves the SOA serial if
    /// anything visible changed. Returns the number of services rebuilt.
    pub fn flush(&mut self) -> usize {
        let dirty = std::mem::take(&mut self.dirty);
        let rebuilt = dirty.len();
        for key in dirty {
            self.rebuild_service(&key);
        }
        for ip in std::mem::take(&mut self.dirty_ptrs) {
            self.rebuild_ptr(ip);
        }
        for ns in std::mem::take(&mut self.dirty_ns) {
            let exists = self.namespaces.contains(&ns) || self.ns_refs.contains_key(&ns);
            for key in records::namespace_names(&ns, &self.zone.config.domain) {
                self.publish(key, exists.then(NameEntry::default));
            }
        }
        if self.changed {
            self.bump_serial();
        }
        let c = self.counts();
        let st = &self.zone.stats;
        for (gauge, v) in [
            (&st.services, c.services),
            (&st.endpoint_sets, c.endpoint_sets),
            (&st.pods, c.pods),
            (&st.namespaces, c.namespaces),
        ] {
            gauge.store(v as u64, Ordering::Relaxed);
        }
        rebuilt
    }

    fn rebuild_service(&mut self, key: &ObjectKey) {
        let cfg = &self.zone.config;
        let output = match self.services.get(key) {
            Some(svc) => {
                let sets: Vec<&EndpointSet> = match self.slices_of.get(key) {
                    Some(keys) => keys.iter().filter_map(|k| self.slices.get(k)).collect(),
                    None => self.legacy.get(key).into_iter().collect(),
                };
                records::service_output(svc, &sets, &cfg.domain, cfg.ttl, cfg.ignore_empty_service)
            }
            None => records::ServiceOutput::default(),
        };
        let (shared, old) = match self.published.remove_entry(key) {
            Some((shared, old)) => (shared, old),
            None => (Arc::new(key.clone()), Published::default()),
        };
        let new_names: HashSet<&[u8]> = output.names.iter().map(|(k, _)| &**k).collect();
        for name in old.names.iter() {
            if !new_names.contains(name) {
                self.publish(name.into(), None);
            }
        }
        for &ip in &old.ptrs {
            if let Some(parts) = self.ptr_parts.get_mut(&ip) {
                parts.remove(key);
            }
            self.dirty_ptrs.insert(ip);
        }
        let (mut names, mut ptrs) = (Vec::new(), Vec::new());
        for (name, entry) in output.names {
            names.extend_from_slice(&name);
            self.publish(name, Some(entry));
        }
        for (ip, part) in output.ptrs {
            let parts = self.ptr_parts.entry(ip).or_default();
            match (parts.get_mut(key), part) {
                (Some(PtrPart::Endpoint(names)), PtrPart::Endpoint(more)) => names.extend(more),
                (_, part) => {
                    parts.insert(shared.clone(), part);
                }
            }
            ptrs.push(ip);
            self.dirty_ptrs.insert(ip);
        }
        let published = Published { names: NameList(names.into()), ptrs: ptrs.into() };
        if self.is_dns_service(key) {
            self.changed = true; // NS glue follows the DNS service's cluster IPs.
        }
        if !published.names.is_empty() || !published.ptrs.is_empty() {
            self.published.insert(shared, published);
        }
    }

    fn rebuild_ptr(&mut self, ip: IpAddr) {
        let Some(rev) = records::fqdn(&reverse_name(ip)) else { return };
        let parts = self.ptr_parts.get(&ip).filter(|p| !p.is_empty());
        let Some(parts) = parts else {
            self.ptr_parts.remove(&ip);
            self.publish(rev, None);
            return;
        };
        let (key, entry) = records::ptr_entry(rev, parts, self.zone.config.ttl);
        self.publish(key, Some(entry));
    }

    /// Sets or clears one name, noting whether anything changed.
    fn publish(&mut self, key: Box<[u8]>, entry: Option<NameEntry>) {
        match entry {
            Some(entry) => {
                if self.set_name(&key, &entry) {
                    self.changed = true;
                }
            }
            None => {
                if self.zone.names.remove(&key[..]).is_some() {
                    self.changed = true;
                }
            }
        }
    }

    /// Stores `entry` under `name` unless it is already there; true if it changed. A
    /// replaced name is swapped in place under its shard's write lock, so readers see
    /// the old entry or the new one, never no entry.
    fn set_name(&self, name: &[u8], entry: &NameEntry) -> bool {
        if self.zone.names.get(name).is_some_and(|old| old.key().view() == entry.view()) {
            return false;
        }
        match self.zone.names.entry(ZoneEntry::new(name, entry)) {
            dashmap::Entry::Occupied(old) => {
                old.replace_entry(());
            }
            dashmap::Entry::Vacant(slot) => {
                slot.insert(());
            }
        }
        true
    }

    fn is_dns_service(&self, key: &ObjectKey) -> bool {
        self.zone.config.dns_service.as_ref() == Some(key)
    }

    /// Addresses for `ns.dns.<zone>` and the apex NS glue: the DNS service's
    /// cluster IPs if it exists, else the configured local addresses.
    fn ns_ips(&self) -> Vec<IpAddr> {
        let cfg = &self.zone.config;
        let svc = cfg.dns_service.as_ref().and_then(|k| self.services.get(k));
        match svc.map(|s| &s.kind) {
            Some(ServiceKind::ClusterIp(ips)) => ips.clone(),
            _ => cfg.local_ips.clone(),
        }
    }

    fn bump_serial(&mut self) {
        self.changed = false;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as u32);
        let serial = now.max(self.zone.serial.load(Ordering::Relaxed));
        self.zone.serial.store(serial, Ordering::Relaxed);
        let cfg = &self.zone.config;
        let soa = |zone: &str| records::encode_standalone(&records::soa_rr(zone, serial, cfg.ttl));
        self.zone.soa.store(Arc::new(SoaWire {
            cluster: soa(&cfg.domain),
            in_addr: soa("in-addr.arpa"),
            ip6: soa("ip6.arpa"),
        }));
        let ns_ips = self.ns_ips();
        let reverse = records::reverse_apex_names(serial, cfg.ttl);
        for (key, entry) in records::apex_names(&cfg.domain, serial, cfg.ttl, &ns_ips).into_iter().chain(reverse) {
            self.set_name(&key, &entry);
        }
    }

    /// Object and name counts.
    pub fn counts(&self) -> Counts {
        let mut all_ns: BTreeSet<&String> = self.namespaces.iter().collect();
        all_ns.extend(self.ns_refs.keys());
        Counts {
            services: self.services.len(),
            endpoint_sets: self.slices.len() + self.legacy.len(),
            pods: self.pod_count,
            namespaces: all_ns.len(),
            names: self.zone.names.len(),
        }
    }
}
