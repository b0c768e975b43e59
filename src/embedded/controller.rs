//! The controllers of the embedded cluster, run inside the cluster task's steps:
//!
//! - admission: what the API server does to a write (Pending phase and a node for new pods,
//!   cluster IPs from `--service-cidr`, Bound PVCs, apps/v1 defaults for StatefulSets);
//! - the StatefulSet driver: per set, the pure [`statefulset::plan()`] over the namespace's pods,
//!   PVCs and revisions, executed through the store with upstream's failure semantics
//!   ([`statefulset::Plan::execute`]), requeued on `requeue_after` and on errors;
//! - garbage collection by ownerReferences (background cascade), orphaning, deletion;
//! - the EndpointSlice controller ([`crate::cluster::endpointslice::slices_for`]);
//! - Events for the planner's events.
//!
//! Everything here runs on the cluster task (`&mut Cluster`), so it needs no locking.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::store::{Key, Kind, meta_mut, new_uid, now_rfc3339};
use super::{ApiError, Cluster};
use crate::cluster::endpointslice::{MANAGED_BY, MANAGED_BY_LABEL, slices_for};
use crate::statefulset::{self, Action, ErrorKind, EventType, ExecError};

/// How a delete cascades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

/// Finalizer of an owner waiting for its dependents (`propagationPolicy=Foreground`).
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Events kept before the oldest are dropped.
const MAX_EVENTS: usize = 20_000;

/// Requeue delay after a failed sync.
const ERROR_REQUEUE: Duration = Duration::from_millis(500);

fn uid_of(v: &Value) -> &str {
    v.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("")
}

fn name_of(v: &Value) -> &str {
    v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

fn to_exec(e: ApiError) -> ExecError {
    let kind = match (e.code, e.reason) {
        (404, _) => ErrorKind::NotFound,
        (_, "AlreadyExists") => ErrorKind::AlreadyExists,
        (_, "Conflict") => ErrorKind::Conflict,
        _ => ErrorKind::Other,
    };
    ExecError::new(kind, e.message)
}

impl Cluster {
    pub(crate) fn typed<T: DeserializeOwned>(&self, kind: Kind, ns: &str) -> Vec<T> {
        self.store
            .list(kind, Some(ns))
            .filter_map(|v| {
                serde_json::from_value(v.clone())
                    .map_err(|e| tracing::warn!(?kind, error = %e, "undecodable stored object"))
                    .ok()
            })
            .collect()
    }

    /// The API server's part of a create (`old == None`) or update.
    pub(crate) fn admit(&mut self, mut obj: Value, old: Option<&Value>) -> Result<Value, ApiError> {
        let key = Key::of(&obj).ok_or_else(|| ApiError::bad_request("object has no kind or name"))?;
        if key.kind.namespaced() {
            meta_mut(&mut obj).insert("namespace".into(), json!(key.ns));
        }
        match key.kind {
            Kind::Pod if old.is_none() => {
                if obj.pointer("/spec/nodeName").and_then(Value::as_str).is_none_or(str::is_empty) {
                    let node = self.schedule_node();
                    obj["spec"]["nodeName"] = json!(node);
                }
                obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort",
                    "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339()}]});
            }
            Kind::Service => self.admit_service(&mut obj, old)?,
            Kind::PersistentVolumeClaim if old.is_none() => {
                let spec = obj["spec"].take();
                let mut spec = if spec.is_object() { spec } else { json!({}) };
                if spec.get("volumeName").is_none() {
                    spec["volumeName"] = json!(format!("pvc-{}", new_uid()));
                }
                if spec.get("volumeMode").is_none() {
                    spec["volumeMode"] = json!("Filesystem");
                }
                if spec.get("storageClassName").is_none() {
                    spec["storageClassName"] = json!("standard");
                }
                obj["status"] = json!({"phase": "Bound", "accessModes": spec.get("accessModes").cloned().unwrap_or(json!([])),
                    "capacity": spec.pointer("/resources/requests").cloned().unwrap_or(json!({}))});
                obj["spec"] = spec;
            }
            Kind::StatefulSet => {
                let mut set: StatefulSet = serde_json::from_value(obj.clone())
                    .map_err(|e| ApiError::bad_request(format!("StatefulSet: {e}")))?;
                statefulset::default_statefulset(&mut set, false);
                let status = obj.get("status").cloned();
                obj = serde_json::to_value(&set).map_err(|e| ApiError::internal(e.to_string()))?;
                match (status, old) {
                    (Some(s), _) if !s.is_null() => obj["status"] = s,
                    (_, Some(o)) if o.get("status").is_some() => obj["status"] = o["status"].clone(),
                    _ => obj["status"] = json!({"replicas": 0, "availableReplicas": 0}),
                }
            }
            _ => {}
        }
        Ok(obj)
    }

    fn admit_service(&mut self, obj: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
        if obj.get("spec").is_none_or(|s| !s.is_object()) {
            obj["spec"] = json!({});
        }
        let spec = &mut obj["spec"];
        if spec.get("type").is_none() {
            spec["type"] = json!("ClusterIP");
        }
        if spec.get("sessionAffinity").is_none() {
            spec["sessionAffinity"] = json!("None");
        }
        let old_ip = old.and_then(|o| o.pointer("/spec/clusterIP")).and_then(Value::as_str).map(str::to_string);
        let given = spec.get("clusterIP").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let ip = match (given, old_ip) {
            (Some(ip), Some(old)) if ip == old => ip,
            (None, Some(old)) => old,
            (Some(ip), _) if ip == "None" => ip,
            (Some(ip), _) => {
                let addr: std::net::Ipv4Addr = ip.parse().map_err(|_| {
                    ApiError::invalid(format!("Service {:?} is invalid: spec.clusterIPs[0]: Invalid value: {ip:?}: must be a valid IP address", name_of(obj)), json!({}))
                })?;
                if !self.service_ips.contains(addr) {
                    return Err(ApiError::invalid(
                        format!(
                            "Service {:?} is invalid: spec.clusterIPs[0]: Invalid value: {ip:?}: provided IP is not in the valid range",
                            name_of(obj)
                        ),
                        json!({"name": name_of(obj), "kind": "Service", "causes": [{"field": "spec.clusterIPs[0]", "message": "provided IP is not in the valid range"}]}),
                    ));
                }
                if !self.service_ips.reserve(addr) {
                    return Err(ApiError::invalid(
                        format!(
                            "Service {:?} is invalid: spec.clusterIPs[0]: Invalid value: {ip:?}: provided IP is already allocated",
                            name_of(obj)
                        ),
                        json!({"name": name_of(obj), "kind": "Service", "causes": [{"field": "spec.clusterIPs[0]", "message": "provided IP is already allocated"}]}),
                    ));
                }
                ip
            }
            (None, None) => {
                if spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
                    return Ok(());
                }
                let ip = self
                    .service_ips
                    .allocate()
                    .ok_or_else(|| ApiError::internal("the service CIDR is exhausted (--service-cidr)"))?;
                ip.to_string()
            }
        };
        let spec = &mut obj["spec"];
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
        if ip != "None" || spec.get("ipFamilies").is_none() {
            spec["ipFamilies"] = json!(["IPv4"]);
            spec["ipFamilyPolicy"] = json!("SingleStack");
        }
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // StatefulSets.

    pub(crate) fn sync_statefulsets(&mut self, ns: &str) {
        let names: Vec<String> = self.store.list(Kind::StatefulSet, Some(ns)).map(|v| name_of(v).to_string()).collect();
        for name in names {
            self.sync_statefulset(ns, &name);
        }
    }

    fn sync_statefulset(&mut self, ns: &str, name: &str) {
        let Some(set_v) = self.store.get(Kind::StatefulSet, ns, name).cloned() else { return };
        let set: StatefulSet = match serde_json::from_value(set_v) {
            Ok(s) => s,
            Err(e) => return tracing::warn!(ns, name, error = %e, "undecodable StatefulSet"),
        };
        let pods: Vec<Pod> = self.typed(Kind::Pod, ns);
        let pvcs: Vec<PersistentVolumeClaim> = self.typed(Kind::PersistentVolumeClaim, ns);
        let revs: Vec<ControllerRevision> = self.typed(Kind::ControllerRevision, ns);
        let now = super::store::now_ts();
        let plan = statefulset::plan(&set, &pods, &pvcs, &revs, now, &statefulset::Options::default());
        let failures = plan.execute(|a| self.apply_action(ns, &set, a));
        for e in &plan.errors {
            tracing::warn!(ns, set = name, error = %e, "StatefulSet sync error");
        }
        for e in &failures {
            tracing::debug!(ns, set = name, error = %e, "StatefulSet write failed; requeued");
        }
        if failures.is_empty() && plan.errors.is_empty() {
            if let Some(d) = plan.requeue_after {
                self.requeue(ns, d);
            }
        } else {
            self.requeue(ns, ERROR_REQUEUE);
        }
    }

    /// Marks `ns` dirty after `delay` (one pending timer per namespace and delay bucket).
    pub(crate) fn requeue(&mut self, ns: &str, delay: Duration) {
        let key = (ns.to_string(), delay.as_millis() as u64);
        if !self.requeued.insert(key.clone()) {
            return;
        }
        self.after(delay, move |c| {
            c.requeued.remove(&key);
            c.dirty_ns.insert(key.0);
        });
    }

    fn set_is_live(&self, set: &StatefulSet) -> Result<(), ExecError> {
        let ns = statefulset::identity::set_namespace(set);
        let live = self.store.get(Kind::StatefulSet, ns, statefulset::identity::set_name(set));
        match live {
            Some(v)
                if uid_of(v) == statefulset::identity::set_uid(set)
                    && v.pointer("/metadata/deletionTimestamp").is_none() =>
            {
                Ok(())
            }
            _ => Err(ExecError::new(ErrorKind::Other, "the StatefulSet was deleted or replaced; not adopting")),
        }
    }

    fn get_for_write(&self, kind: Kind, ns: &str, name: &str, uid: Option<&str>) -> Result<Value, ExecError> {
        let v = self.store.get(kind, ns, name).cloned().ok_or_else(|| to_exec(ApiError::not_found(kind, name)))?;
        if let Some(uid) = uid
            && uid_of(&v) != uid
        {
            return Err(ExecError::new(
                ErrorKind::Conflict,
                format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", uid_of(&v)),
            ));
        }
        Ok(v)
    }

    /// One planner write.
    fn apply_action(&mut self, ns: &str, set: &StatefulSet, a: &Action) -> Result<(), ExecError> {
        let to_value = |x: &dyn erased::Ser| x.value().map_err(|e| ExecError::new(ErrorKind::Other, e));
        match a {
            Action::AdoptRevision { name, uid, owner_ref } | Action::AdoptPod { name, uid, owner_ref } => {
                self.set_is_live(set)?;
                let kind = if matches!(a, Action::AdoptPod { .. }) { Kind::Pod } else { Kind::ControllerRevision };
                let mut v = self.get_for_write(kind, ns, name, Some(uid))?;
                let r = serde_json::to_value(owner_ref).map_err(|e| ExecError::new(ErrorKind::Other, e.to_string()))?;
                let refs = meta_mut(&mut v).entry("ownerReferences").or_insert_with(|| json!([]));
                if let Some(arr) = refs.as_array_mut() {
                    arr.push(r);
                }
                self.update(v).map(drop).map_err(to_exec)
            }
            Action::ReleasePod { name, uid, set_uid } => {
                let mut v = self.get_for_write(Kind::Pod, ns, name, Some(uid))?;
                remove_owner(&mut v, set_uid);
                self.update(v).map(drop).map_err(to_exec)
            }
            Action::CreateRevision(rev) => {
                let mut v = to_value(rev)?;
                meta_mut(&mut v).insert("namespace".into(), json!(ns));
                self.create(v).map(drop).map_err(to_exec)
            }
            Action::UpdateRevision { name, revision } => {
                let mut v = self.get_for_write(Kind::ControllerRevision, ns, name, None)?;
                v["revision"] = json!(revision);
                self.update(v).map(drop).map_err(to_exec)
            }
            Action::DeleteRevision { name } => self
                .remove_now(&Key::new(Kind::ControllerRevision, ns, name))
                .map(drop)
                .ok_or_else(|| to_exec(ApiError::not_found(Kind::ControllerRevision, name))),
            Action::CreatePvc { claim, .. } => {
                let mut v = to_value(claim)?;
                meta_mut(&mut v).insert("namespace".into(), json!(ns));
                self.create(v).map(drop).map_err(to_exec)
            }
            Action::CreatePod(pod) => {
                let mut v = to_value(pod)?;
                meta_mut(&mut v).insert("namespace".into(), json!(ns));
                self.create(v).map(drop).map_err(to_exec)
            }
            Action::DeletePod { name, .. } => self.delete_pod(ns, name, None).map(drop).map_err(to_exec),
            Action::UpdatePod(pod) => {
                let mut v = to_value(pod)?;
                meta_mut(&mut v).insert("namespace".into(), json!(ns));
                let name = name_of(&v).to_string();
                let old = self.get_for_write(Kind::Pod, ns, &name, None)?;
                // A pod update does not change status (status subresource).
                v["status"] = old.get("status").cloned().unwrap_or(Value::Null);
                self.update(v).map(drop).map_err(to_exec)
            }
            Action::SetPvcOwnerRefs { name, owner_references } => {
                let mut v = self.get_for_write(Kind::PersistentVolumeClaim, ns, name, None)?;
                let refs = serde_json::to_value(owner_references)
                    .map_err(|e| ExecError::new(ErrorKind::Other, e.to_string()))?;
                meta_mut(&mut v).insert("ownerReferences".into(), refs);
                self.update(v).map(drop).map_err(to_exec)
            }
            Action::UpdateStatus(status) => {
                let mut v = self.get_for_write(Kind::StatefulSet, ns, statefulset::identity::set_name(set), None)?;
                v["status"] =
                    serde_json::to_value(status).map_err(|e| ExecError::new(ErrorKind::Other, e.to_string()))?;
                meta_mut(&mut v).remove("resourceVersion");
                self.store.update(v).map(drop).map_err(|e| to_exec(ApiError::from_write(e, Kind::StatefulSet, "")))
            }
            Action::Event { type_, reason, message } => {
                if let Some(v) = self.store.get(Kind::StatefulSet, ns, statefulset::identity::set_name(set)).cloned() {
                    let t = if *type_ == EventType::Normal { "Normal" } else { "Warning" };
                    self.record_event(&v, t, reason, message, "statefulset-controller");
                }
                Ok(())
            }
        }
    }

    /// Records an Event about `involved`.
    pub(crate) fn record_event(&mut self, involved: &Value, type_: &str, reason: &str, message: &str, component: &str) {
        let Some(key) = Key::of(involved) else { return };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let name = format!("{}.{:x}{:04x}", key.name, nanos as u64 / 1000, self.store.resource_version() & 0xffff);
        let now = now_rfc3339();
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": if key.ns.is_empty() { "default" } else { &key.ns }},
            "involvedObject": {"apiVersion": involved.get("apiVersion"), "kind": key.kind.name(), "name": key.name,
                "namespace": key.ns, "uid": uid_of(involved), "resourceVersion": involved.pointer("/metadata/resourceVersion")},
            "reason": reason, "message": message, "type": type_,
            "source": {"component": component}, "reportingComponent": component, "reportingInstance": "",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        });
        if let Err(e) = self.store.create(ev) {
            tracing::debug!(?e, "event not recorded");
        }
        self.events_stored += 1;
        if self.events_stored > MAX_EVENTS {
            self.trim_events();
        }
    }

    /// Drops the oldest quarter of the Events (the API server expires them after an hour).
    fn trim_events(&mut self) {
        let mut events: Vec<(u64, Key)> = self
            .store
            .list(Kind::Event, None)
            .filter_map(|v| Some((v.pointer("/metadata/resourceVersion")?.as_str()?.parse().ok()?, Key::of(v)?)))
            .collect();
        events.sort();
        let drop_n = events.len() / 4;
        for (_, k) in events.into_iter().take(drop_n) {
            self.store.remove(&k);
        }
        self.events_stored = self.store.list(Kind::Event, None).count();
    }

    // ---------------------------------------------------------------------------------------
    // Deletion and garbage collection.

    /// Deletes a pod gracefully (`grace` seconds, default the pod's
    /// `terminationGracePeriodSeconds`); `Some(0)` removes it at once.
    pub(crate) fn delete_pod(&mut self, ns: &str, name: &str, grace: Option<i64>) -> Result<Value, ApiError> {
        let key = Key::new(Kind::Pod, ns, name);
        let mut v = self.store.get_key(&key).cloned().ok_or_else(|| ApiError::not_found(Kind::Pod, name))?;
        let grace = grace
            .or_else(|| v.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64))
            .unwrap_or(30)
            .max(0);
        if grace == 0 {
            return Ok(self.remove_now(&key).unwrap_or(v));
        }
        if v.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(v);
        }
        let at = super::store::now_ts() + k8s_openapi::jiff::SignedDuration::from_secs(grace);
        let meta = meta_mut(&mut v);
        meta.insert("deletionTimestamp".into(), json!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
        meta.remove("resourceVersion");
        let stored = self.store.update(v).map_err(|e| ApiError::from_write(e, Kind::Pod, name))?;
        self.touch(&key);
        let container = stored.pointer("/spec/containers/0/name").and_then(Value::as_str).unwrap_or("").to_string();
        self.record_event(&stored, "Normal", "Killing", &format!("Stopping container {container}"), "kubelet");
        self.kubelet_terminate(&key, uid_of(&stored).to_string(), grace);
        Ok(stored)
    }

    /// `DELETE` of any object.
    pub fn delete_object(
        &mut self,
        key: &Key,
        propagation: Propagation,
        grace: Option<i64>,
    ) -> Result<Value, ApiError> {
        let v = self.store.get_key(key).cloned().ok_or_else(|| ApiError::not_found(key.kind, &key.name))?;
        match key.kind {
            Kind::Pod => return self.delete_pod(&key.ns, &key.name, grace),
            Kind::Namespace => {
                if matches!(key.name.as_str(), "default" | "kube-system") {
                    return Err(ApiError::new(
                        403,
                        "Forbidden",
                        format!("namespaces {:?} is forbidden: this namespace may not be deleted", key.name),
                    ));
                }
                let inside: Vec<Key> = self
                    .store
                    .all()
                    .filter(|(k, _)| k.kind.namespaced() && k.ns == key.name)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in inside {
                    self.remove_now(&k);
                }
            }
            _ => {}
        }
        if propagation == Propagation::Foreground && key.kind != Kind::Namespace {
            // Foreground: the owner stays (deletionTimestamp + finalizer) until GC has deleted
            // its dependents, then goes.
            if v.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(v);
            }
            let mut d = v.clone();
            let meta = meta_mut(&mut d);
            meta.insert("deletionTimestamp".into(), json!(now_rfc3339()));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            let fins = meta.entry("finalizers").or_insert_with(|| json!([]));
            if let Some(a) = fins.as_array_mut() {
                a.push(json!(FOREGROUND_FINALIZER));
            }
            meta.remove("resourceVersion");
            let stored = self.store.update(d).map_err(|e| ApiError::from_write(e, key.kind, &key.name))?;
            self.touch(key);
            self.gc_pending = true;
            return Ok(stored);
        }
        if propagation == Propagation::Orphan {
            let uid = uid_of(&v).to_string();
            let dependents: Vec<Value> = self
                .store
                .all()
                .filter(|(k, o)| k.ns == key.ns && owner_uids(o).any(|u| u == uid))
                .map(|(_, o)| o.clone())
                .collect();
            for mut d in dependents {
                remove_owner(&mut d, &uid);
                meta_mut(&mut d).remove("resourceVersion");
                if let Err(e) = self.update(d) {
                    tracing::warn!(error = %e.message, "orphaning a dependent failed");
                }
            }
        }
        Ok(self.remove_now(key).unwrap_or(v))
    }

    /// Background cascade: objects whose every owner is gone are deleted (pods gracefully).
    pub(crate) fn collect_garbage(&mut self) {
        let uids: HashSet<String> = self.store.all().map(|(_, v)| uid_of(v).to_string()).collect();
        let mut orphans: Vec<(Key, bool, Vec<String>)> = self
            .store
            .all()
            .filter(|(_, v)| {
                let mut owners = owner_uids(v).peekable();
                owners.peek().is_some() && owners.all(|u| !uids.contains(u))
            })
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.pointer("/metadata/deletionTimestamp").is_some(),
                    owner_uids(v).map(str::to_string).collect(),
                )
            })
            .collect();
        // Highest ordinal first, one at a time per former owner: a StatefulSet's pods
        // terminate in reverse ordinal order (what `kubectl delete statefulset` showed
        // when it scaled the set to 0 first), each after the previous one is gone.
        orphans.sort_by_key(|(k, _, _)| std::cmp::Reverse(reverse_ordinal_key(k)));
        // Foreground deletions: delete the dependents, then the owner once none is left.
        let foreground: Vec<(Key, String)> = self
            .store
            .all()
            .filter(|(_, v)| {
                v.pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .is_some_and(|f| f.iter().any(|x| x == FOREGROUND_FINALIZER))
            })
            .map(|(k, v)| (k.clone(), uid_of(v).to_string()))
            .collect();
        for (owner, uid) in foreground {
            let mut deps: Vec<(Key, bool)> = self
                .store
                .all()
                .filter(|(_, v)| owner_uids(v).any(|u| u == uid))
                .map(|(k, v)| (k.clone(), v.pointer("/metadata/deletionTimestamp").is_some()))
                .collect();
            deps.sort_by_key(|(k, _)| std::cmp::Reverse(reverse_ordinal_key(k)));
            if deps.is_empty() {
                self.remove_now(&owner);
                continue;
            }
            for (key, terminating) in deps {
                match key.kind {
                    Kind::Pod if terminating => {}
                    Kind::Pod => {
                        let _ = self.delete_pod(&key.ns, &key.name, None);
                    }
                    _ => {
                        self.remove_now(&key);
                    }
                }
            }
        }
        let mut busy: HashSet<String> = orphans
            .iter()
            .filter(|(k, terminating, _)| k.kind == Kind::Pod && *terminating)
            .flat_map(|(_, _, o)| o.clone())
            .collect();
        for (key, terminating, owners) in orphans {
            match key.kind {
                Kind::Pod if terminating => {}
                Kind::Pod => {
                    if owners.iter().any(|o| busy.contains(o)) {
                        continue; // a sibling is still terminating: next sweep
                    }
                    busy.extend(owners);
                    let _ = self.delete_pod(&key.ns, &key.name, None);
                }
                _ => {
                    self.remove_now(&key);
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // EndpointSlices.

    pub(crate) fn sync_endpoint_slices(&mut self, ns: &str) {
        let services: Vec<Service> = self.typed(Kind::Service, ns);
        let pods: Vec<Pod> = self.typed(Kind::Pod, ns);
        let refs: Vec<&Pod> = pods.iter().collect();
        let mut wanted: BTreeMap<String, Value> = BTreeMap::new();
        for svc in &services {
            for slice in slices_for(svc, &refs) {
                let mut v = match serde_json::to_value(&slice) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                meta_mut(&mut v).insert(
                    "ownerReferences".into(),
                    json!([{"apiVersion": "v1", "kind": "Service", "name": svc.metadata.name, "uid": svc.metadata.uid,
                        "controller": true, "blockOwnerDeletion": true}]),
                );
                wanted.insert(name_of(&v).to_string(), v);
            }
        }
        let managed: BTreeSet<String> = self
            .store
            .list(Kind::EndpointSlice, Some(ns))
            .filter(|v| {
                v.pointer(&format!("/metadata/labels/{}", MANAGED_BY_LABEL.replace('/', "~1"))).and_then(Value::as_str)
                    == Some(MANAGED_BY)
            })
            .map(|v| name_of(v).to_string())
            .collect();
        for name in managed.iter().filter(|n| !wanted.contains_key(*n)) {
            self.remove_now(&Key::new(Kind::EndpointSlice, ns, name));
        }
        for (name, want) in wanted {
            match self.store.get(Kind::EndpointSlice, ns, &name).cloned() {
                None => {
                    if let Err(e) = self.store.create(want) {
                        tracing::warn!(?e, ns, name, "EndpointSlice not created");
                    }
                }
                Some(mut have) => {
                    let same = ["addressType", "endpoints", "ports"].iter().all(|f| have.get(*f) == want.get(*f))
                        && have.pointer("/metadata/labels") == want.pointer("/metadata/labels")
                        && have.pointer("/metadata/ownerReferences") == want.pointer("/metadata/ownerReferences");
                    if same {
                        continue;
                    }
                    for f in ["addressType", "endpoints", "ports"] {
                        have[f] = want.get(f).cloned().unwrap_or(Value::Null);
                    }
                    let m = meta_mut(&mut have);
                    m.insert("labels".into(), want["metadata"]["labels"].clone());
                    m.insert("ownerReferences".into(), want["metadata"]["ownerReferences"].clone());
                    m.remove("resourceVersion");
                    let _ = self.store.update(have);
                }
            }
        }
    }
}

/// Sort key putting `web-10` after `web-9` (namespace, kind, parent name, ordinal).
fn reverse_ordinal_key(k: &Key) -> (String, Kind, String, i64) {
    let (parent, ord) = statefulset::identity::parse_name(&k.name);
    (k.ns.clone(), k.kind, parent, ord)
}

/// UIDs of an object's owners.
pub(crate) fn owner_uids(v: &Value) -> impl Iterator<Item = &str> {
    v.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
}

fn remove_owner(v: &mut Value, uid: &str) {
    let meta = meta_mut(v);
    if let Some(arr) = meta.get_mut("ownerReferences").and_then(Value::as_array_mut) {
        arr.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
        if arr.is_empty() {
            meta.remove("ownerReferences");
        }
    }
}

/// Serialise anything the planner hands over.
mod erased {
    pub trait Ser {
        fn value(&self) -> Result<serde_json::Value, String>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> Result<serde_json::Value, String> {
            serde_json::to_value(self).map_err(|e| e.to_string())
        }
    }
}
