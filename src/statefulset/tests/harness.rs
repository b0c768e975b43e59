//! A deterministic in-memory harness: a fake object store (one namespace), a fake clock, a
//! driver applying [`Plan`]s with [`Plan::execute`], failure injection, a garbage collector,
//! upstream's pod-state helpers (`setPodPending/Running/Ready/Terminated`, `addTerminatingPod`),
//! and invariant checks run on every write and after every step.
//!
//! Invariants (ref §8 "Harness pattern", plus the at-most-one rule of ref §6):
//! - **identity**: a created pod has its identity, storage, labels, hostname/subdomain and
//!   owner ref; its claims exist before it; no pod is created while a pod of the set holds that
//!   name, and no two live pods of the set ever share an ordinal;
//! - **monotonic creation** (OrderedReady): pod N is created only when every in-range pod below N
//!   exists, is not terminating, Running+Ready and Available; at most one creation and (gate off)
//!   one deletion per sync. With [`Harness::strict`] also upstream's state form
//!   (`assertMonotonicInvariants`: sorted ordinals contiguous from start, no pod Ready while its
//!   predecessor is not) — on in the creation/scaling scenarios; it cannot hold in scenarios
//!   whose script itself deletes pods or breaks readiness (rolling updates, e2e probes), which
//!   is why the per-write form above is the one every test runs;
//! - **reverse-ordinal termination**: a condemned pod is deleted only when no condemned pod
//!   with a higher ordinal remains (OrderedReady: not even terminating; Parallel: not live);
//!   a rolling-update deletion targets the highest-ordinal pod ≥ partition not at the update
//!   revision, every pod above it being updated and available;
//! - **claims**: Running+Ready in-range pods' claims carry the owner refs of ref §5.2
//!   (`checkClaimInvarients`); a condemned pod's claims are fixed before it is deleted;
//! - **update** (RollingUpdate): the first `status.currentReplicas` pods carry
//!   `currentRevision`, the last `status.updatedReplicas` carry `updateRevision`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Container, PersistentVolumeClaim, Pod, PodCondition, PodStatus, VolumeMount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::statefulset::defaults::default_statefulset;
use crate::statefulset::identity::{
    get_ordinal, get_pod_revision, identity_matches, is_member_of, is_pod_available, is_running_and_ready,
    is_terminating, min_ready_seconds, new_persistent_volume_claims, pod_in_ordinal_range, spec_replicas,
    start_ordinal, storage_matches,
};
use crate::statefulset::plan::{Action, ErrorKind, EventType, ExecError, Options, Plan, plan};
use crate::statefulset::retention::{has_pod_ref, has_set_ref, is_claim_owner_up_to_date, policy};
use crate::statefulset::{PARALLEL, POD_INDEX_LABEL, POD_NAME_LABEL, selector};

pub const NS: &str = "default";
pub const SET_UID: &str = "uid-set";

/// A StatefulSet like upstream's `newStatefulSet(replicas)`: selector/labels `foo=bar`,
/// container `nginx`, claim template `datadir` mounted at /data, a plain `home` volume, service
/// `governingsvc`; defaulted as the API server would.
pub fn new_set(name: &str, replicas: i32) -> StatefulSet {
    let mut set: StatefulSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NS, "uid": SET_UID, "generation": 1},
        "spec": {
            "replicas": replicas,
            "serviceName": "governingsvc",
            "selector": {"matchLabels": {"foo": "bar"}},
            "template": {
                "metadata": {"labels": {"foo": "bar"}},
                "spec": {
                    "containers": [{"name": "nginx", "image": "nginx",
                        "volumeMounts": [{"name": "datadir", "mountPath": "/data"}, {"name": "home", "mountPath": "/home"}]}],
                    "volumes": [{"name": "home", "hostPath": {"path": "/tmp/home"}}]
                }
            },
            "volumeClaimTemplates": [{"metadata": {"name": "datadir"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
        }
    }))
    .expect("valid set");
    default_statefulset(&mut set, false);
    set
}

/// A set without claim templates (e2e "[Conformance]" variants without PVCs).
pub fn new_set_without_claims(name: &str, replicas: i32) -> StatefulSet {
    let mut set = new_set(name, replicas);
    let spec = set.spec.as_mut().unwrap();
    spec.volume_claim_templates = None;
    let c = &mut spec.template.spec.as_mut().unwrap().containers[0];
    c.volume_mounts = Some(vec![VolumeMount { name: "home".into(), mount_path: "/home".into(), ..Default::default() }]);
    set
}

/// An injected failure: the next `times` writes whose summary starts with `prefix` fail.
pub struct Fault {
    pub prefix: String,
    pub kind: ErrorKind,
    pub times: usize,
}

pub struct Harness {
    pub set: StatefulSet,
    pub pods: BTreeMap<String, Pod>,
    pub pvcs: BTreeMap<String, PersistentVolumeClaim>,
    pub revisions: BTreeMap<String, ControllerRevision>,
    /// Pods of other owners / leftovers are just pods in `pods`.
    pub now: Timestamp,
    pub opts: Options,
    /// Every successful write, in order (`Action::summary`).
    pub log: Vec<String>,
    /// Names of pods created, in order.
    pub created: Vec<String>,
    /// Names of pods deleted by the controller, in order.
    pub deleted: Vec<String>,
    pub events: Vec<(EventType, String, String)>,
    pub faults: Vec<Fault>,
    /// User/controller pod deletions leave the pod Terminating until [`Harness::finish_terminating`]
    /// (e2e-like graceful deletion) instead of removing it at once (upstream unit fake).
    pub graceful: bool,
    /// Run the garbage collector after every step.
    pub auto_gc: bool,
    /// Check upstream's strict monotonic state invariant after every step (OrderedReady sets).
    pub strict: bool,
    /// Check the update invariant after every step.
    pub check_update: bool,
    /// Check identity/storage of Running+Ready pods after every step (tests that break a pod's
    /// identity on purpose turn it off until the repair).
    pub check_identity: bool,
    /// Check Running+Ready in-range pods' claim owner refs after every step (upstream's
    /// `checkClaimInvarients`; they are repaired by the next *unblocked* sync, so random walks
    /// check them only once converged).
    pub check_claims: bool,
    /// A predicate pods must satisfy to be created (simulated admission); `None` admits all.
    pub admit: Option<fn(&Pod) -> bool>,
    pub last_plan: Option<Plan>,
    pub syncs: usize,
    uid_counter: u64,
    set_deleted: bool,
}

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

impl Harness {
    pub fn new(set: StatefulSet) -> Self {
        Self {
            set,
            pods: BTreeMap::new(),
            pvcs: BTreeMap::new(),
            revisions: BTreeMap::new(),
            now: t0(),
            opts: Options::default(),
            log: Vec::new(),
            created: Vec::new(),
            deleted: Vec::new(),
            events: Vec::new(),
            faults: Vec::new(),
            graceful: false,
            auto_gc: true,
            strict: false,
            check_update: true,
            check_identity: true,
            check_claims: true,
            admit: None,
            last_plan: None,
            syncs: 0,
            uid_counter: 0,
            set_deleted: false,
        }
    }

    pub fn with_opts(mut self, opts: Options) -> Self {
        self.opts = opts;
        self
    }

    fn uid(&mut self, kind: &str) -> String {
        self.uid_counter += 1;
        format!("uid-{kind}-{}", self.uid_counter)
    }

    pub fn monotonic(&self) -> bool {
        self.set.spec.as_ref().unwrap().pod_management_policy.as_deref() != Some(PARALLEL)
    }

    // -----------------------------------------------------------------------------------------
    // Clock.

    pub fn advance(&mut self, secs: i64) {
        self.now += SignedDuration::from_secs(secs);
    }

    // -----------------------------------------------------------------------------------------
    // Spec changes (the API server bumps generation on spec changes).

    pub fn update_spec(&mut self, f: impl FnOnce(&mut k8s_openapi::api::apps::v1::StatefulSetSpec)) {
        f(self.set.spec.as_mut().unwrap());
        let g = self.set.metadata.generation.unwrap_or(0);
        self.set.metadata.generation = Some(g + 1);
    }
    pub fn scale(&mut self, replicas: i32) {
        self.update_spec(|s| s.replicas = Some(replicas));
    }
    pub fn set_image(&mut self, image: &str) {
        self.update_spec(|s| s.template.spec.as_mut().unwrap().containers[0].image = Some(image.into()));
    }
    pub fn set_partition(&mut self, p: i32) {
        self.update_spec(|s| {
            s.update_strategy.as_mut().unwrap().rolling_update.as_mut().unwrap().partition = Some(p);
        });
    }
    pub fn set_policy(&mut self, when_deleted: &str, when_scaled: &str) {
        self.update_spec(|s| {
            let p = s.persistent_volume_claim_retention_policy.as_mut().unwrap();
            p.when_deleted = Some(when_deleted.into());
            p.when_scaled = Some(when_scaled.into());
        });
    }

    // -----------------------------------------------------------------------------------------
    // Pod state helpers (upstream `setPodPending/Running/Ready/Terminated`, `addTerminatingPod`).

    pub fn pod(&self, name: &str) -> &Pod {
        self.pods.get(name).unwrap_or_else(|| panic!("no pod {name}"))
    }
    fn pod_mut(&mut self, name: &str) -> &mut Pod {
        self.pods.get_mut(name).unwrap_or_else(|| panic!("no pod {name}"))
    }
    fn set_phase(&mut self, name: &str, phase: &str) {
        let p = self.pod_mut(name);
        p.status.get_or_insert_with(PodStatus::default).phase = Some(phase.into());
    }
    fn set_ready_condition(&mut self, name: &str, ready: bool) {
        let now = self.now;
        let st = self.pod_mut(name).status.get_or_insert_with(PodStatus::default);
        let conds = st.conditions.get_or_insert_with(Vec::new);
        let status = if ready { "True" } else { "False" };
        match conds.iter_mut().find(|c| c.type_ == "Ready") {
            Some(c) if c.status == status => {}
            Some(c) => {
                c.status = status.into();
                c.last_transition_time = Some(Time(now));
            }
            None => conds.push(PodCondition {
                type_: "Ready".into(),
                status: status.into(),
                last_transition_time: Some(Time(now)),
                ..Default::default()
            }),
        }
    }
    pub fn set_pod_pending(&mut self, name: &str) {
        self.set_phase(name, "Pending");
    }
    pub fn set_pod_running(&mut self, name: &str) {
        self.set_phase(name, "Running");
    }
    /// Running and Ready (Ready transition at `now`).
    pub fn set_pod_ready(&mut self, name: &str) {
        self.set_phase(name, "Running");
        self.set_ready_condition(name, true);
    }
    /// Ready with the transition `secs` ago.
    pub fn set_pod_ready_since(&mut self, name: &str, secs: i64) {
        self.set_pod_ready(name);
        let t = self.now - SignedDuration::from_secs(secs);
        let st = self.pod_mut(name).status.as_mut().unwrap();
        for c in st.conditions.iter_mut().flatten() {
            if c.type_ == "Ready" {
                c.last_transition_time = Some(Time(t));
            }
        }
    }
    /// Running but not Ready (readiness probe failing).
    pub fn set_pod_unready(&mut self, name: &str) {
        self.set_phase(name, "Running");
        self.set_ready_condition(name, false);
    }
    /// `setPodTerminated`: phase Failed.
    pub fn set_pod_failed(&mut self, name: &str) {
        self.set_phase(name, "Failed");
        self.set_ready_condition(name, false);
    }
    pub fn set_pod_succeeded(&mut self, name: &str) {
        self.set_phase(name, "Succeeded");
        self.set_ready_condition(name, false);
    }
    /// `addTerminatingPod` semantics on an existing pod: deletionTimestamp set, kept by a finalizer.
    pub fn set_pod_terminating(&mut self, name: &str) {
        let now = self.now;
        let p = self.pod_mut(name);
        p.metadata.deletion_timestamp = Some(Time(now));
        p.metadata.finalizers.get_or_insert_with(Vec::new).push("test/hold".into());
    }
    /// Upstream `addTerminatingPod(set, ordinal)`: a Running+Ready pod of the set at `ordinal`
    /// that is already Terminating (kept by a finalizer).
    pub fn add_terminating_pod(&mut self, ordinal: i64) -> String {
        let mut pod = crate::statefulset::identity::new_statefulset_pod(&self.set, ordinal, true);
        if let Some(rev) = self.set.status.as_ref().and_then(|s| s.current_revision.clone()) {
            crate::statefulset::identity::set_pod_revision(&mut pod, &rev);
        }
        let name = pod.metadata.name.clone().unwrap();
        self.insert_pod(pod);
        self.set_pod_ready(&name);
        self.set_pod_terminating(&name);
        name
    }
    pub fn add_finalizer(&mut self, name: &str) {
        self.pod_mut(name).metadata.finalizers.get_or_insert_with(Vec::new).push("test/hold".into());
    }
    /// Remove finalizers; a terminating pod then disappears.
    pub fn remove_finalizers(&mut self, name: &str) {
        let p = self.pod_mut(name);
        p.metadata.finalizers = None;
        if p.metadata.deletion_timestamp.is_some() {
            self.pods.remove(name);
        }
    }
    /// Graceful deletion completes (kubelet confirmed / force delete).
    pub fn finish_terminating(&mut self, name: &str) {
        if self.pods.get(name).is_some_and(is_terminating) {
            self.pods.remove(name);
        }
    }
    pub fn finish_all_terminating(&mut self) {
        let names: Vec<String> = self.pods.iter().filter(|(_, p)| is_terminating(p)).map(|(n, _)| n.clone()).collect();
        for n in names {
            self.pods.remove(&n);
        }
    }
    /// A user deletes a pod: with finalizers or in graceful mode it becomes Terminating.
    pub fn user_delete_pod(&mut self, name: &str) {
        self.delete_pod_object(name);
    }
    /// `kubectl delete --grace-period=0 --force`.
    pub fn force_delete_pod(&mut self, name: &str) {
        self.pods.remove(name);
    }
    fn delete_pod_object(&mut self, name: &str) -> bool {
        let graceful = self.graceful;
        let now = self.now;
        let Some(p) = self.pods.get_mut(name) else {
            return false;
        };
        let has_finalizers = p.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty());
        if has_finalizers || graceful {
            p.metadata.deletion_timestamp.get_or_insert(Time(now));
        } else {
            self.pods.remove(name);
        }
        true
    }
    /// Put an object into the store as a user would (e.g. an orphan pod).
    pub fn insert_pod(&mut self, mut pod: Pod) {
        if pod.metadata.uid.is_none() {
            pod.metadata.uid = Some(self.uid("pod"));
        }
        pod.metadata.namespace.get_or_insert_with(|| NS.into());
        self.pods.insert(pod.metadata.name.clone().unwrap(), pod);
    }

    // -----------------------------------------------------------------------------------------
    // Set lifecycle.

    /// Delete the set. `orphan`: GC strips the set's refs from dependents (cascade=orphan);
    /// otherwise dependents owned by it are deleted by the GC (background cascade).
    pub fn delete_set(&mut self, orphan: bool) {
        self.set_deleted = true;
        if orphan {
            let uid = SET_UID.to_string();
            let strip = |refs: &mut Option<Vec<OwnerReference>>| {
                if let Some(r) = refs.as_mut() {
                    r.retain(|x| x.uid != uid);
                }
            };
            self.pods.values_mut().for_each(|p| strip(&mut p.metadata.owner_references));
            self.pvcs.values_mut().for_each(|p| strip(&mut p.metadata.owner_references));
            self.revisions.values_mut().for_each(|p| strip(&mut p.metadata.owner_references));
        }
        self.gc();
    }
    /// Re-create a set with the same name (new UID) after [`Harness::delete_set`].
    pub fn recreate_set(&mut self, mut set: StatefulSet, uid: &str) {
        set.metadata.uid = Some(uid.into());
        self.set = set;
        self.set_deleted = false;
    }

    /// The garbage collector: deletes dependents all of whose owners are gone.
    pub fn gc(&mut self) {
        loop {
            let mut live: Vec<String> = self.pods.values().filter_map(|p| p.metadata.uid.clone()).collect();
            if !self.set_deleted {
                live.push(self.set.metadata.uid.clone().unwrap_or_default());
            }
            // Owners of kinds this store does not hold (ConfigMaps, …) are alive.
            let gone = |x: &OwnerReference| (x.kind == "Pod" || x.kind == "StatefulSet") && !live.contains(&x.uid);
            let dead =
                |refs: &Option<Vec<OwnerReference>>| refs.as_ref().is_some_and(|r| !r.is_empty() && r.iter().all(gone));
            let pods: Vec<String> =
                self.pods.iter().filter(|(_, p)| dead(&p.metadata.owner_references)).map(|(n, _)| n.clone()).collect();
            let pvcs: Vec<String> =
                self.pvcs.iter().filter(|(_, p)| dead(&p.metadata.owner_references)).map(|(n, _)| n.clone()).collect();
            let revs: Vec<String> = self
                .revisions
                .iter()
                .filter(|(_, p)| dead(&p.metadata.owner_references))
                .map(|(n, _)| n.clone())
                .collect();
            let pvcs: Vec<String> =
                pvcs.into_iter().filter(|n| self.pvcs[n].metadata.deletion_timestamp.is_none()).collect();
            if pvcs.is_empty() && revs.is_empty() && pods.iter().all(|n| is_terminating(&self.pods[n])) {
                // Terminating pods finish on their own schedule.
                return;
            }
            for n in pods {
                self.delete_pod_object(&n);
            }
            for n in pvcs {
                let has_fin = self.pvcs[&n].metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty());
                if has_fin {
                    self.pvcs.get_mut(&n).unwrap().metadata.deletion_timestamp.get_or_insert(Time(self.now));
                } else {
                    self.pvcs.remove(&n);
                }
            }
            for n in revs {
                self.revisions.remove(&n);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // The driver.

    fn fault(&mut self, a: &Action) -> Option<ExecError> {
        let s = a.summary();
        let f = self.faults.iter_mut().find(|f| f.times > 0 && s.starts_with(&f.prefix))?;
        f.times -= 1;
        Some(ExecError::new(f.kind, format!("injected failure: {s}")))
    }

    pub fn fail_next(&mut self, prefix: &str, kind: ErrorKind, times: usize) {
        self.faults.push(Fault { prefix: prefix.into(), kind, times });
    }

    /// Pods the set's selector and name select (what upstream's invariant checks list).
    pub fn set_pods(&self) -> Vec<&Pod> {
        let sel = self.set.spec.as_ref().map(|s| &s.selector);
        let mut v: Vec<&Pod> = self
            .pods
            .values()
            .filter(|p| is_member_of(&self.set, p) && get_ordinal(p) >= 0)
            .filter(|p| selector::matches(sel, p.metadata.labels.as_ref()))
            .collect();
        v.sort_by_key(|p| get_ordinal(p));
        v
    }

    fn owned_by_set(&self, p: &Pod) -> bool {
        p.metadata.owner_references.iter().flatten().any(|r| r.uid == self.set.metadata.uid.clone().unwrap_or_default())
    }

    /// Check one write against the state before it (action invariants).
    fn check_action(&self, a: &Action, plan: &Plan, creates: usize, deletes: usize) {
        let set = &self.set;
        let monotonic = self.monotonic();
        match a {
            Action::CreatePod(pod) => {
                let name = pod.metadata.name.clone().unwrap();
                let ord = get_ordinal(pod);
                assert!(
                    !self.pods.get(&name).is_some_and(|p| self.owned_by_set(p)),
                    "duplicate identity: {name} created while the set's pod of that name exists"
                );
                assert!(
                    !self.set_pods().iter().any(|p| get_ordinal(p) == ord && self.owned_by_set(p)),
                    "duplicate identity: ordinal {ord} already held"
                );
                assert!(identity_matches(set, pod), "created pod {name} lacks identity");
                assert!(storage_matches(set, pod), "created pod {name} lacks storage");
                let spec = pod.spec.as_ref().unwrap();
                assert_eq!(spec.hostname.as_deref(), Some(name.as_str()));
                assert_eq!(spec.subdomain, set.spec.as_ref().unwrap().service_name);
                let labels = pod.metadata.labels.as_ref().unwrap();
                assert_eq!(labels[POD_NAME_LABEL], name);
                if self.opts.pod_index_label {
                    assert_eq!(labels[POD_INDEX_LABEL], ord.to_string());
                }
                let rev = get_pod_revision(pod);
                let status = plan.status.as_ref().unwrap();
                assert!(
                    Some(rev) == status.current_revision.as_deref() || Some(rev) == status.update_revision.as_deref(),
                    "pod {name} created at revision {rev} which is neither current nor update"
                );
                assert!(self.revisions.contains_key(rev), "pod {name} created before its revision {rev}");
                let refs = pod.metadata.owner_references.as_ref().unwrap();
                assert_eq!(refs.len(), 1);
                assert_eq!(
                    (refs[0].kind.as_str(), refs[0].uid.as_str(), refs[0].controller),
                    ("StatefulSet", set_uid_of(set), Some(true))
                );
                for c in new_persistent_volume_claims(set, ord) {
                    assert!(
                        self.pvcs.contains_key(c.metadata.name.as_ref().unwrap()),
                        "pod {name} created before claim"
                    );
                }
                if monotonic {
                    assert_eq!(creates, 0, "OrderedReady created two pods in one sync");
                    let start = start_ordinal(set);
                    for o in start..ord {
                        let pname = format!("{}-{o}", set.metadata.name.as_ref().unwrap());
                        let p = self.pods.get(&pname).unwrap_or_else(|| panic!("{name} created before {pname} exists"));
                        assert!(
                            !is_terminating(p)
                                && is_running_and_ready(p)
                                && is_pod_available(p, min_ready_seconds(set), self.now),
                            "{name} created while predecessor {pname} is not Running, Ready and Available"
                        );
                    }
                }
            }
            Action::DeletePod { name, .. } => {
                // A second delete of a pod in one sync (upstream may issue one; NotFound is ignored).
                let Some(pod) = self.pods.get(name) else {
                    return;
                };
                assert!(self.owned_by_set(pod), "deleting a pod the set does not own: {name}");
                let ord = get_ordinal(pod);
                if monotonic && !self.opts.max_unavailable_statefulset {
                    assert_eq!(deletes, 0, "OrderedReady deleted two pods in one sync");
                }
                let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
                if !pod_in_ordinal_range(pod, set) {
                    // Reverse-ordinal termination of condemned pods.
                    for p in self.set_pods() {
                        if get_ordinal(p) > ord && !pod_in_ordinal_range(p, set) && self.owned_by_set(p) {
                            assert!(
                                !monotonic && is_terminating(p),
                                "condemned {name} deleted while higher ordinal {} remains",
                                p.metadata.name.as_ref().unwrap()
                            );
                        }
                    }
                    // Claims fixed before the pod goes (ref §5.2, `fixPodClaim`).
                    for c in new_persistent_volume_claims(set, ord) {
                        if let Some(claim) = self.pvcs.get(c.metadata.name.as_ref().unwrap()) {
                            assert!(
                                is_claim_owner_up_to_date(claim, set, pod),
                                "condemned {name} deleted before its claim's owner refs were fixed"
                            );
                        }
                    }
                } else if phase != "Failed" && phase != "Succeeded" {
                    // Rolling update: highest ordinal ≥ partition not at updateRevision.
                    let status = plan.status.as_ref().unwrap();
                    let update = status.update_revision.clone().unwrap_or_default();
                    assert_ne!(get_pod_revision(pod), update, "rolling update deleted an updated pod {name}");
                    let strategy = set.spec.as_ref().unwrap().update_strategy.as_ref().unwrap();
                    assert_ne!(
                        strategy.type_.as_deref(),
                        Some("OnDelete"),
                        "OnDelete set deleted {name} for an update"
                    );
                    let partition = strategy.rolling_update.as_ref().and_then(|r| r.partition).unwrap_or(0);
                    assert!(ord >= start_ordinal(set) + i64::from(partition), "{name} below the partition deleted");
                    if !self.opts.max_unavailable_statefulset {
                        for p in self.set_pods() {
                            if get_ordinal(p) > ord && pod_in_ordinal_range(p, set) {
                                assert_eq!(
                                    get_pod_revision(p),
                                    update,
                                    "{name} updated before higher {:?}",
                                    p.metadata.name
                                );
                                assert!(is_pod_available(p, min_ready_seconds(set), self.now) && !is_terminating(p));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        if self.set.metadata.deletion_timestamp.is_some() {
            assert!(
                !matches!(
                    a,
                    Action::CreatePod(_) | Action::DeletePod { .. } | Action::UpdatePod(_) | Action::CreatePvc { .. }
                ),
                "pod mutation {} while the set is being deleted",
                a.summary()
            );
        }
    }

    fn apply(&mut self, a: &Action) -> Result<(), ExecError> {
        if let Some(e) = self.fault(a) {
            return Err(e);
        }
        let not_found = |what: &str| ExecError::new(ErrorKind::NotFound, format!("{what} not found"));
        match a {
            Action::AdoptRevision { name, owner_ref, .. } => {
                self.recheck_set()?;
                let r = self.revisions.get_mut(name).ok_or_else(|| not_found(name))?;
                r.metadata.owner_references.get_or_insert_with(Vec::new).push(owner_ref.clone());
            }
            Action::AdoptPod { name, uid, owner_ref } => {
                self.recheck_set()?;
                let p = self.pods.get_mut(name).ok_or_else(|| not_found(name))?;
                if p.metadata.uid.as_deref() != Some(uid.as_str()) {
                    return Err(ExecError::new(ErrorKind::Conflict, "uid precondition failed"));
                }
                p.metadata.owner_references.get_or_insert_with(Vec::new).push(owner_ref.clone());
            }
            Action::ReleasePod { name, uid, set_uid } => {
                let p = self.pods.get_mut(name).ok_or_else(|| not_found(name))?;
                if p.metadata.uid.as_deref() != Some(uid.as_str()) {
                    return Err(ExecError::new(ErrorKind::Conflict, "uid precondition failed"));
                }
                if let Some(r) = p.metadata.owner_references.as_mut() {
                    r.retain(|x| &x.uid != set_uid);
                }
            }
            Action::CreateRevision(r) => {
                let name = r.metadata.name.clone().unwrap();
                if self.revisions.contains_key(&name) {
                    return Err(ExecError::new(ErrorKind::AlreadyExists, name));
                }
                let mut r = r.clone();
                r.metadata.uid = Some(self.uid("rev"));
                r.metadata.creation_timestamp = Some(Time(self.now));
                self.revisions.insert(name, r);
            }
            Action::UpdateRevision { name, revision } => {
                self.revisions.get_mut(name).ok_or_else(|| not_found(name))?.revision = *revision;
            }
            Action::DeleteRevision { name } => {
                self.revisions.remove(name).ok_or_else(|| not_found(name))?;
            }
            Action::CreatePvc { claim, .. } => {
                let name = claim.metadata.name.clone().unwrap();
                if self.pvcs.contains_key(&name) {
                    return Err(ExecError::new(ErrorKind::AlreadyExists, name));
                }
                let mut c = claim.clone();
                c.metadata.uid = Some(self.uid("pvc"));
                c.metadata.creation_timestamp = Some(Time(self.now));
                self.pvcs.insert(name, c);
            }
            Action::CreatePod(pod) => {
                let name = pod.metadata.name.clone().unwrap();
                if self.pods.contains_key(&name) {
                    return Err(ExecError::new(ErrorKind::AlreadyExists, format!("pods \"{name}\" already exists")));
                }
                if let Some(admit) = self.admit
                    && !admit(pod)
                {
                    return Err(ExecError::new(ErrorKind::Other, format!("pods \"{name}\" is forbidden")));
                }
                let mut p = pod.clone();
                p.metadata.uid = Some(self.uid("pod"));
                p.metadata.creation_timestamp = Some(Time(self.now));
                p.status = Some(PodStatus { phase: Some("Pending".into()), ..Default::default() });
                self.pods.insert(name.clone(), p);
                self.created.push(name);
            }
            Action::DeletePod { name, .. } => {
                if !self.delete_pod_object(name) {
                    return Err(not_found(name));
                }
                self.deleted.push(name.clone());
            }
            Action::UpdatePod(pod) => {
                let name = pod.metadata.name.clone().unwrap();
                let old = self.pods.get(&name).ok_or_else(|| not_found(&name))?;
                let mut p = pod.clone();
                p.status = old.status.clone();
                p.metadata.uid = old.metadata.uid.clone();
                p.metadata.deletion_timestamp = old.metadata.deletion_timestamp.clone();
                self.pods.insert(name, p);
            }
            Action::SetPvcOwnerRefs { name, owner_references } => {
                let c = self.pvcs.get_mut(name).ok_or_else(|| not_found(name))?;
                c.metadata.owner_references = Some(owner_references.clone());
            }
            Action::UpdateStatus(s) => {
                self.set.status = Some(s.clone());
            }
            Action::Event { type_, reason, message } => {
                self.events.push((*type_, reason.clone(), message.clone()));
                return Ok(());
            }
        }
        self.log.push(a.summary());
        Ok(())
    }

    /// `RecheckDeletionTimestamp`: adoption fails if the set is gone or being deleted.
    fn recheck_set(&self) -> Result<(), ExecError> {
        if self.set_deleted || self.set.metadata.deletion_timestamp.is_some() {
            return Err(ExecError::new(ErrorKind::Other, "set is being deleted"));
        }
        Ok(())
    }

    /// Plan one sync and apply it; invariants are checked on every write and after the step.
    pub fn sync(&mut self) -> Plan {
        assert!(!self.set_deleted, "sync of a deleted set");
        let pods: Vec<Pod> = self.pods.values().cloned().collect();
        let pvcs: Vec<PersistentVolumeClaim> = self.pvcs.values().cloned().collect();
        let revs: Vec<ControllerRevision> = self.revisions.values().cloned().collect();
        let p = plan(&self.set, &pods, &pvcs, &revs, self.now, &self.opts);
        let mut creates = 0;
        let mut deletes = 0;
        let errors = p.execute(|a| {
            self.check_action(a, &p, creates, deletes);
            let r = self.apply(a);
            if r.is_ok() {
                match a {
                    Action::CreatePod(_) => creates += 1,
                    Action::DeletePod { .. } => deletes += 1,
                    _ => {}
                }
            }
            r
        });
        let _ = errors;
        self.syncs += 1;
        if self.auto_gc {
            self.gc();
        }
        self.check_state();
        self.last_plan = Some(p.clone());
        p
    }

    /// Sync `n` times.
    pub fn sync_n(&mut self, n: usize) {
        for _ in 0..n {
            self.sync();
        }
    }

    /// After-step invariants.
    pub fn check_state(&self) {
        let set = &self.set;
        let pods = self.set_pods();
        // At most one live pod per ordinal.
        for w in pods.windows(2) {
            assert_ne!(get_ordinal(w[0]), get_ordinal(w[1]), "two pods share an ordinal");
        }
        for p in &pods {
            if self.check_identity && is_running_and_ready(p) && self.owned_by_set(p) {
                assert!(identity_matches(set, p), "{:?} lost its identity", p.metadata.name);
                assert!(storage_matches(set, p), "{:?} lost its storage", p.metadata.name);
                if self.check_claims && pod_in_ordinal_range(p, set) {
                    for c in new_persistent_volume_claims(set, get_ordinal(p)) {
                        if let Some(claim) = self.pvcs.get(c.metadata.name.as_ref().unwrap()) {
                            check_claim_invariants(set, p, claim);
                        }
                    }
                }
            }
        }
        if self.strict && self.monotonic() {
            let start = start_ordinal(set);
            for (i, p) in pods.iter().enumerate() {
                assert_eq!(get_ordinal(p), start + i as i64, "pods deployed in the wrong order: {:?}", p.metadata.name);
                if i > 0 && is_running_and_ready(p) && !is_running_and_ready(pods[i - 1]) {
                    panic!(
                        "successor {:?} is Running and Ready while {:?} is not",
                        p.metadata.name,
                        pods[i - 1].metadata.name
                    );
                }
            }
        }
        let strategy = set.spec.as_ref().unwrap().update_strategy.as_ref().and_then(|s| s.type_.clone());
        if self.check_update
            && strategy.as_deref() == Some("RollingUpdate")
            && let Some(status) = &set.status
        {
            let in_range: Vec<&&Pod> =
                pods.iter().filter(|p| pod_in_ordinal_range(p, set) && self.owned_by_set(p)).collect();
            let cur = status.current_replicas.unwrap_or(0).max(0) as usize;
            for p in in_range.iter().take(cur) {
                assert_eq!(
                    Some(get_pod_revision(p)),
                    status.current_revision.as_deref(),
                    "pod {:?} want current revision",
                    p.metadata.name
                );
            }
            let upd = status.updated_replicas.unwrap_or(0).max(0) as usize;
            for p in in_range.iter().rev().take(upd) {
                assert_eq!(
                    Some(get_pod_revision(p)),
                    status.update_revision.as_deref(),
                    "pod {:?} want update revision",
                    p.metadata.name
                );
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Drivers of whole scenarios.

    /// Make every Pending, non-terminating pod of the set Running+Ready.
    pub fn ready_all_pending(&mut self) {
        let names: Vec<String> = self
            .pods
            .iter()
            .filter(|(_, p)| {
                !is_terminating(p) && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
            })
            .map(|(n, _)| n.clone())
            .collect();
        for n in names {
            self.set_pod_ready(&n);
        }
    }

    /// Upstream `scaleUpStatefulSetControl`/`scaleDownStatefulSetControl` loop: sync, then make
    /// new pods Running+Ready and finish terminations, until the set is settled: exactly
    /// `replicas` pods, all Running+Ready at the update revision, status up to date.
    pub fn run_until_settled(&mut self) {
        for _ in 0..10_000 {
            self.sync();
            if self.settled() {
                return;
            }
            self.ready_all_pending();
            self.finish_all_terminating();
            let m = min_ready_seconds(&self.set);
            if m > 0 {
                self.advance(m + 1);
            }
        }
        panic!("set did not settle: pods {:?}, status {:?}", self.pods.keys().collect::<Vec<_>>(), self.set.status);
    }

    pub fn settled(&self) -> bool {
        let set = &self.set;
        let Some(status) = &set.status else {
            return false;
        };
        let pods = self.set_pods();
        let want = spec_replicas(set) as usize;
        pods.len() == want
            && pods.iter().all(|p| is_running_and_ready(p) && !is_terminating(p) && pod_in_ordinal_range(p, set))
            && i64::from(status.replicas) == want as i64
            && status.ready_replicas.unwrap_or(0) as usize == want
            && self.last_plan.as_ref().is_some_and(|p| p.summaries().is_empty())
    }

    pub fn pod_names(&self) -> Vec<String> {
        self.set_pods().iter().map(|p| p.metadata.name.clone().unwrap()).collect()
    }
    pub fn pvc_names(&self) -> Vec<String> {
        self.pvcs.keys().cloned().collect()
    }
    pub fn status(&self) -> k8s_openapi::api::apps::v1::StatefulSetStatus {
        self.set.status.clone().unwrap_or_default()
    }
    pub fn image_of(&self, name: &str) -> String {
        self.pod(name).spec.as_ref().unwrap().containers[0].image.clone().unwrap_or_default()
    }
    pub fn revision_of(&self, name: &str) -> String {
        get_pod_revision(self.pod(name)).to_string()
    }
    pub fn take_created(&mut self) -> Vec<String> {
        std::mem::take(&mut self.created)
    }
    pub fn take_deleted(&mut self) -> Vec<String> {
        std::mem::take(&mut self.deleted)
    }
}

fn set_uid_of(set: &StatefulSet) -> &str {
    set.metadata.uid.as_deref().unwrap_or("")
}

/// Upstream `checkClaimInvarients` (ref §8): owner refs per the policy table of ref §5.2.
pub fn check_claim_invariants(set: &StatefulSet, pod: &Pod, claim: &PersistentVolumeClaim) {
    let (when_deleted, when_scaled) = policy(set);
    if claim.metadata.deletion_timestamp.is_some() && when_scaled {
        return;
    }
    let name = claim.metadata.name.clone().unwrap_or_default();
    let in_range = pod_in_ordinal_range(pod, set);
    let (want_set, want_pod) = match (when_deleted, when_scaled) {
        (false, false) => (false, false),
        (true, false) => (true, false),
        (false, true) => (false, !in_range),
        (true, true) => (in_range, !in_range),
    };
    // A foreign controller or a stale ref: the claim is left alone (ref §5.2 cases 1–2).
    let foreign = claim.metadata.owner_references.iter().flatten().any(|r| {
        (r.controller == Some(true)
            && r.uid != set_uid_of(set)
            && r.uid != pod.metadata.uid.clone().unwrap_or_default())
            || (r.kind == "StatefulSet" && r.uid != set_uid_of(set))
    });
    if foreign {
        return;
    }
    assert_eq!(has_set_ref(claim, set), want_set, "claim {name}: set ref");
    assert_eq!(has_pod_ref(claim, pod), want_pod, "claim {name}: pod ref");
}

/// A bare pod named like a member of `set` (for orphan/adoption tests).
pub fn orphan_pod(name: &str, labels: &[(&str, &str)]) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            labels: Some(labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()),
            ..Default::default()
        },
        spec: Some(k8s_openapi::api::core::v1::PodSpec {
            containers: vec![Container { name: "nginx".into(), image: Some("nginx".into()), ..Default::default() }],
            ..Default::default()
        }),
        status: Some(PodStatus { phase: Some("Running".into()), ..Default::default() }),
    }
}
