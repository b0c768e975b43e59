//! One upstream StatefulSet `sync`, as data (ref §2–§6).
//!
//! [`plan()`] takes what upstream's listers would hold (the set, the pods, PVCs and
//! ControllerRevisions of its namespace), a clock value and [`Options`], and returns a [`Plan`]:
//! the writes upstream's `sync` would make, in order, grouped the way upstream runs them:
//!
//! - [`Phase::Prelude`]: `adoptOrphanRevisions`, `ClaimPods` (adopt/release), and the revision
//!   write of `getStatefulSetRevisions`. A failure here ends the sync (no status write).
//! - [`Phase::Pods`]: `runForAll(replicas, processReplica)`, `runForAll(condemned, fixPodClaim)`,
//!   `runForAll(condemned, processCondemned)`, then the rolling update. In OrderedReady each
//!   slot is its own batch (sequential, stop at the first error); in Parallel the slots are cut
//!   into `slowStartBatch` batches of 1, 2, 4, … (≤ [`MAX_BATCH_SIZE`]): every group of a batch
//!   runs, and a batch with any failure stops all later Pods batches.
//! - [`Phase::Finally`]: the status write (only when `inconsistentStatus`) and `truncateHistory`,
//!   which upstream performs even when a pod write failed.
//!
//! [`Plan::execute`] implements exactly those semantics over a driver-supplied write function.
//! The plan is computed assuming every earlier write succeeds (e.g. a PVC created for pod N is
//! seen by pod N's owner-reference fix), as a fresh lister would; after any failure the driver
//! re-observes and plans again, which is what upstream's requeue does.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use super::identity::{
    self, claim_templates, controller_of, get_ordinal, get_pod_revision, identity_matches, is_created, is_failed,
    is_member_of, is_pending, is_running_and_available, is_running_and_ready, is_succeeded, is_terminating,
    is_unavailable, min_ready_seconds, new_persistent_volume_claims, new_versioned_pod, obj_name, set_controller_ref,
    set_name, set_namespace, set_uid, spec_replicas, start_ordinal, storage_matches,
};
use super::retention::{
    has_unexpected_controller, is_claim_owner_up_to_date, pod_claim_is_stale, updated_claim_owner_refs,
};
use super::revision::{
    RevisionEncoding, apply_revision, equal_revision, hash_revision_data, new_revision, next_revision, raw_data,
    revision_name, set_matches_latest_existing_revision, sort_revisions,
};
use super::status::{apply_counts, complete_rolling_update, count, inconsistent_status};
use super::{ON_DELETE, PARALLEL, selector};

/// `MaxBatchSize` of `slowStartBatch`.
pub const MAX_BATCH_SIZE: usize = 500;

/// Controller options (upstream feature gates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Gate `MaxUnavailableStatefulSet` (ref §4.3). Default off: one pod at a time.
    pub max_unavailable_statefulset: bool,
    /// PR kubernetes#136833: OnDelete also promotes `status.currentRevision` once every pod is
    /// updated (ref §4.4). Default off, as upstream before that PR.
    pub on_delete_promotes_current_revision: bool,
    /// Gate `PodIndexLabel` (on by default since 1.28): label `apps.kubernetes.io/pod-index`.
    pub pod_index_label: bool,
    /// Gate `StatefulSetSemanticRevisionComparison` (beta, on by default in 1.35): before
    /// creating a revision, reuse the latest one if it is semantically the same template
    /// (`setMatchesLatestExistingRevision`).
    pub semantic_revision_comparison: bool,
    /// Which upstream encoding new revisions' data follows (≥ 1.34 by default).
    pub revision_encoding: RevisionEncoding,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_unavailable_statefulset: false,
            on_delete_promotes_current_revision: false,
            pod_index_label: true,
            semantic_revision_comparison: true,
            revision_encoding: RevisionEncoding::Current,
        }
    }
}

/// Kubernetes event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// One write. All objects live in the set's namespace ([`Plan::namespace`]) and are referred to
/// by name.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Adopt an orphan ControllerRevision: add `owner_ref` (controller) to it. Upstream first
    /// re-reads the set live (`RecheckDeletionTimestamp`): the driver must fail this action if the
    /// set's UID changed or it is being deleted.
    AdoptRevision { name: String, uid: String, owner_ref: OwnerReference },
    /// Adopt an orphan pod: patch adding `owner_ref` with a `metadata.uid == uid` precondition
    /// (same live recheck of the set as [`Action::AdoptRevision`]). NotFound is not a failure.
    AdoptPod { name: String, uid: String, owner_ref: OwnerReference },
    /// Release a pod we own that no longer matches: remove the owner ref with UID `set_uid`
    /// (`{"$patch":"delete"}`), precondition `metadata.uid == uid`. NotFound is not a failure.
    ReleasePod { name: String, uid: String, set_uid: String },
    /// Create a ControllerRevision (the driver assigns UID/creationTimestamp).
    CreateRevision(ControllerRevision),
    /// Rollback: set an existing revision's `.revision`.
    UpdateRevision { name: String, revision: i64 },
    /// Delete a ControllerRevision (history truncation).
    DeleteRevision { name: String },
    /// Create a PVC for `pod` (AlreadyExists is a failure without an event).
    CreatePvc { claim: PersistentVolumeClaim, pod: String },
    /// Create a pod (fully built; the API server sets `status.phase = Pending`). AlreadyExists
    /// is a failure without an event.
    CreatePod(Pod),
    /// Delete a pod (graceful, no preconditions). NotFound is not a failure.
    /// `rolling_update`: this deletion is a rolling-update step; upstream decrements
    /// `status.currentReplicas` only once it succeeded ([`Plan::execute`] adjusts the status
    /// write when it did not).
    DeletePod { name: String, rolling_update: bool },
    /// Full update of an existing pod (identity/storage repair, or the no-op update upstream
    /// issues after fixing claim owner refs). Optimistic concurrency on its resourceVersion.
    UpdatePod(Pod),
    /// Replace a PVC's owner references (retention policy, ref §5.2).
    SetPvcOwnerRefs { name: String, owner_references: Vec<OwnerReference> },
    /// Write the set's status subresource (whole status; conditions cleared).
    UpdateStatus(StatefulSetStatus),
    /// Record an event on the set. Failures to record are ignored.
    Event { type_: EventType, reason: String, message: String },
}

/// Kind of a driver failure, where the planner's semantics depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    Conflict,
    Other,
}

/// A failed write, as reported by the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ExecError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Action {
    /// A one-line description, e.g. `create pod web-0`, used by tests and logs.
    pub fn summary(&self) -> String {
        match self {
            Action::AdoptRevision { name, .. } => format!("adopt revision {name}"),
            Action::AdoptPod { name, .. } => format!("adopt pod {name}"),
            Action::ReleasePod { name, .. } => format!("release pod {name}"),
            Action::CreateRevision(r) => format!("create revision {}", obj_name(&r.metadata)),
            Action::UpdateRevision { name, revision } => {
                format!("update revision {name} to {revision}")
            }
            Action::DeleteRevision { name } => format!("delete revision {name}"),
            Action::CreatePvc { claim, .. } => format!("create pvc {}", obj_name(&claim.metadata)),
            Action::CreatePod(p) => format!("create pod {}", obj_name(&p.metadata)),
            Action::DeletePod { name, .. } => format!("delete pod {name}"),
            Action::UpdatePod(p) => format!("update pod {}", obj_name(&p.metadata)),
            Action::SetPvcOwnerRefs { name, .. } => format!("set pvc owners {name}"),
            Action::UpdateStatus(_) => "update status".into(),
            Action::Event { reason, .. } => format!("event {reason}"),
        }
    }

    /// Whether a NotFound answer counts as success for this write.
    fn tolerates_not_found(&self) -> bool {
        matches!(self, Action::DeletePod { .. } | Action::AdoptPod { .. } | Action::ReleasePod { .. })
    }

    /// The events upstream records when this write fails (`recordPodEvent`/`recordClaimEvent`
    /// with an error): reason `Failed<Verb>`, message `<Verb> Pod <pod> in StatefulSet <set>
    /// failed error: <err>`. A failed claim creation records the claim's event (not for
    /// AlreadyExists) and then the pod's `create` failure; AlreadyExists on a pod records nothing.
    pub fn failure_events(&self, set: &str, err: &ExecError) -> Vec<Action> {
        let warn =
            |reason: &str, message: String| Action::Event { type_: EventType::Warning, reason: reason.into(), message };
        match self {
            Action::CreatePod(p) if err.kind != ErrorKind::AlreadyExists => vec![warn(
                "FailedCreate",
                format!("Create Pod {} in StatefulSet {set} failed error: {err}", obj_name(&p.metadata)),
            )],
            Action::DeletePod { name, .. } => {
                vec![warn("FailedDelete", format!("Delete Pod {name} in StatefulSet {set} failed error: {err}"))]
            }
            Action::UpdatePod(p) => vec![warn(
                "FailedUpdate",
                format!("Update Pod {} in StatefulSet {set} failed error: {err}", obj_name(&p.metadata)),
            )],
            Action::CreatePvc { claim, pod } => {
                let cname = obj_name(&claim.metadata);
                let mut out = Vec::new();
                if err.kind != ErrorKind::AlreadyExists {
                    out.push(warn(
                        "FailedCreate",
                        format!("Create Claim {cname} for Pod {pod} in StatefulSet {set} failed error: {err}"),
                    ));
                }
                out.push(warn(
                    "FailedCreate",
                    format!("Create Pod {pod} in StatefulSet {set} failed error: failed to create PVC {cname}: {err}"),
                ));
                out
            }
            _ => Vec::new(),
        }
    }
}

/// Which part of the sync a batch belongs to (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Prelude,
    Pods,
    Finally,
}

/// A set of independent groups run "concurrently" (upstream goroutines of one
/// `slowStartBatch` step). Within a group, writes are sequential and stop at the first failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub phase: Phase,
    pub groups: Vec<Vec<Action>>,
}

/// The result of one sync.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Namespace of every object the actions name.
    pub namespace: String,
    /// The set's name (for event messages).
    pub set_name: String,
    /// Ordered batches.
    pub batches: Vec<Batch>,
    /// The status this sync computes (after `completeRollingUpdate`), assuming every write
    /// succeeds ([`Plan::execute`] re-adds `currentReplicas` for rolling-update deletions that did
    /// not happen, as upstream decrements only after a successful delete); `None` when the sync
    /// ends before status is computed (invalid selector, revision adoption refused, bad revision
    /// data). `conditions` is always empty: upstream's fresh status overwrites them.
    pub status: Option<StatefulSetStatus>,
    /// Upstream (1.35 `syncStatefulSet`): after a successful sync with `minReadySeconds > 0`
    /// and `readyReplicas != availableReplicas`, requeue when the next Ready pod becomes
    /// available (`FindMinNextPodAvailabilityCheck`), or after `minReadySeconds`.
    pub requeue_after: Option<Duration>,
    /// Errors the planner already knows the sync ends with (e.g. `pvc … is being deleted`,
    /// invalid selector); upstream would requeue with rate limiting (except invalid selectors).
    pub errors: Vec<String>,
}

impl Plan {
    /// All actions in order (batches and groups flattened).
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.batches.iter().flat_map(|b| b.groups.iter().flatten())
    }

    /// [`Action::summary`] of every non-event action, in order.
    pub fn summaries(&self) -> Vec<String> {
        self.actions().filter(|a| !matches!(a, Action::Event { .. })).map(Action::summary).collect()
    }

    /// Apply the plan with upstream's failure semantics (module doc). `apply` performs one write.
    /// On a failed write the matching failure events ([`Action::failure_events`]) are passed to
    /// `apply` too. Returns the failures (empty = the sync succeeded as far as writes go; see
    /// also [`Plan::errors`]). For drivers whose writes are synchronous (the embedded store).
    pub fn execute<F>(&self, apply: F) -> Vec<ExecError>
    where
        F: FnMut(&Action) -> Result<(), ExecError>,
    {
        // Each call borrows `apply` only while it runs: the futures are ready when returned.
        let apply = std::cell::RefCell::new(apply);
        let run = std::pin::pin!(self.execute_async(|a: Action| std::future::ready((apply.borrow_mut())(&a))));
        // The closure never suspends, so the future completes on its first poll.
        match run.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(errors) => errors,
            std::task::Poll::Pending => unreachable!("a synchronous write closure never suspends"),
        }
    }

    /// [`Plan::execute`] for drivers whose writes are API calls (cluster mode). The groups of a
    /// batch run concurrently, as upstream's `slowStartBatch` goroutines do; writes within a
    /// group run in order. Each write gets its own copy of the action, so the returned futures
    /// borrow nothing from the plan (an `AsyncFnMut(&Action)` bound would make the caller's
    /// future not `Send`).
    pub async fn execute_async<F, W>(&self, apply: F) -> Vec<ExecError>
    where
        F: Fn(Action) -> W,
        W: Future<Output = Result<(), ExecError>>,
    {
        let mut errors = Vec::new();
        let mut failed: Option<Phase> = None;
        let planned_rolling = self.actions().filter(|a| is_rolling_delete(a)).count() as i32;
        let mut done_rolling = 0;
        for batch in &self.batches {
            match failed {
                Some(Phase::Prelude) => break,
                Some(_) if batch.phase != Phase::Finally => continue,
                _ => {}
            }
            // Upstream decrements currentReplicas only per successful rolling delete; the status
            // write runs in the Finally phase, after every Pods batch.
            let missed_rolling = planned_rolling - done_rolling;
            let groups = batch.groups.iter().map(|g| self.run_group(g, &apply, missed_rolling));
            let mut batch_failed = false;
            for (done, error) in futures::future::join_all(groups).await {
                done_rolling += done;
                if let Some(e) = error {
                    errors.push(e);
                    batch_failed = true;
                }
            }
            if batch_failed && batch.phase != Phase::Finally {
                failed = Some(batch.phase);
            }
        }
        errors
    }

    /// One group: its writes in order, stopping at the first failure (after recording that
    /// write's failure events). Returns the rolling-update deletions that happened and the
    /// failure. `missed_rolling`: rolling deletions planned but not (yet) done, re-added to a
    /// status write's `currentReplicas`.
    async fn run_group<F, W>(&self, group: &[Action], apply: &F, missed_rolling: i32) -> (i32, Option<ExecError>)
    where
        F: Fn(Action) -> W,
        W: Future<Output = Result<(), ExecError>>,
    {
        let mut done = 0;
        for action in group {
            let action = match action {
                Action::UpdateStatus(st) if missed_rolling > 0 => {
                    let mut st = st.clone();
                    st.current_replicas = Some(st.current_replicas.unwrap_or(0) + missed_rolling);
                    Action::UpdateStatus(st)
                }
                a => a.clone(),
            };
            let rolling = is_rolling_delete(&action);
            match apply(action.clone()).await {
                Ok(()) => done += i32::from(rolling),
                Err(_) if matches!(action, Action::Event { .. }) => {}
                Err(e) if e.kind == ErrorKind::NotFound && action.tolerates_not_found() => done += i32::from(rolling),
                Err(e) => {
                    for ev in action.failure_events(&self.set_name, &e) {
                        let _ = apply(ev).await;
                    }
                    return (done, Some(e));
                }
            }
        }
        (done, None)
    }
}

fn is_rolling_delete(a: &Action) -> bool {
    matches!(a, Action::DeletePod { rolling_update: true, .. })
}

// ---------------------------------------------------------------------------------------------
// Planning.

fn event(reason: &str, message: String) -> Action {
    Action::Event { type_: EventType::Normal, reason: reason.into(), message }
}

/// `cases.Title(verb)`: upstream (≥ 1.31) capitalises the verb in event messages.
fn title(verb: &str) -> String {
    let mut c = verb.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `recordPodEvent(verb, set, pod, nil)`: `Successful<Verb>`, `<Verb> Pod <pod> in StatefulSet
/// <set> successful`.
fn pod_event(verb: &str, set: &str, pod: &str) -> Action {
    let reason = match verb {
        "create" => "SuccessfulCreate",
        "delete" => "SuccessfulDelete",
        _ => "SuccessfulUpdate",
    };
    event(reason, format!("{} Pod {pod} in StatefulSet {set} successful", title(verb)))
}

/// Result of processing one slot (`processReplica`, `processCondemned`, `fixPodClaim`).
#[derive(Default)]
struct Slot {
    actions: Vec<Action>,
    exit: bool,
    error: Option<String>,
}

/// The planner's running view of the world, updated as writes are planned.
struct Ctx<'a> {
    set: &'a StatefulSet,
    update_set: &'a StatefulSet,
    name: String,
    claims: BTreeMap<String, PersistentVolumeClaim>,
    monotonic: bool,
    min_ready: i64,
    now: Timestamp,
    pod_index_label_opt: bool,
}

impl Ctx<'_> {
    /// `createPersistentVolumeClaims(set, pod)`: create missing claims (with the claim event);
    /// a claim being deleted is an error. Returns the errors.
    fn create_claims(&mut self, set: &StatefulSet, pod: &Pod, out: &mut Vec<Action>) -> Vec<String> {
        let mut errs = Vec::new();
        let pod_name = obj_name(&pod.metadata).to_string();
        for claim in new_persistent_volume_claims(set, get_ordinal(pod)) {
            let cname = obj_name(&claim.metadata).to_string();
            match self.claims.get(&cname) {
                None => {
                    out.push(Action::CreatePvc { claim: claim.clone(), pod: pod_name.clone() });
                    out.push(event(
                        "SuccessfulCreate",
                        format!("Create Claim {cname} Pod {pod_name} in StatefulSet {} success", self.name),
                    ));
                    self.claims.insert(cname, claim);
                }
                Some(c) if c.metadata.deletion_timestamp.is_some() => {
                    errs.push(format!("pvc {cname} is being deleted"));
                }
                Some(_) => {}
            }
        }
        errs
    }

    /// `ClaimsMatchRetentionPolicy(set, pod)`: missing claims are skipped.
    fn claims_match(&self, set: &StatefulSet, pod: &Pod) -> bool {
        let ord = get_ordinal(pod);
        claim_templates(set).iter().all(|t| {
            self.claims.get(&identity::claim_name(set, t, ord)).is_none_or(|c| is_claim_owner_up_to_date(c, set, pod))
        })
    }

    /// `UpdatePodClaimForRetentionPolicy(set, pod)`.
    fn fix_claims(&mut self, set: &StatefulSet, pod: &Pod, out: &mut Vec<Action>) {
        let ord = get_ordinal(pod);
        for t in claim_templates(set) {
            let cname = identity::claim_name(set, t, ord);
            let Some(claim) = self.claims.get_mut(&cname) else {
                continue;
            };
            if has_unexpected_controller(claim, set, pod) {
                out.push(Action::Event {
                    type_: EventType::Warning,
                    reason: "ConflictingController".into(),
                    message: format!(
                        "PersistentVolumeClaim {cname} has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim"
                    ),
                });
            }
            if !is_claim_owner_up_to_date(claim, set, pod) {
                let refs = updated_claim_owner_refs(claim, set, pod);
                claim.metadata.owner_references = Some(refs.clone());
                out.push(Action::SetPvcOwnerRefs { name: cname, owner_references: refs });
            }
        }
    }

    /// `CreateStatefulPod(set, pod)`: PVCs first, then the pod, then the claims' owner refs.
    fn create_pod(&mut self, pod: &Pod, out: &mut Vec<Action>) -> Option<String> {
        let set = self.set;
        let pod_name = obj_name(&pod.metadata).to_string();
        let errs = self.create_claims(set, pod, out);
        if !errs.is_empty() {
            let msg = errs.join(", ");
            out.push(Action::Event {
                type_: EventType::Warning,
                reason: "FailedCreate".into(),
                message: format!("Create Pod {pod_name} in StatefulSet {} failed error: {msg}", self.name),
            });
            return Some(msg);
        }
        out.push(Action::CreatePod(pod.clone()));
        self.fix_claims(set, pod, out);
        out.push(pod_event("create", &self.name, &pod_name));
        None
    }

    fn delete_pod(&self, pod: &Pod, rolling_update: bool, out: &mut Vec<Action>) {
        let name = obj_name(&pod.metadata).to_string();
        out.push(Action::DeletePod { name: name.clone(), rolling_update });
        out.push(pod_event("delete", &self.name, &name));
    }

    /// `processReplica` (ref §3.1).
    fn process_replica(&mut self, pod: &Pod) -> Slot {
        let mut s = Slot::default();
        if is_failed(pod) || is_succeeded(pod) {
            if !is_terminating(pod) {
                self.delete_pod(pod, false, &mut s.actions);
            }
            s.exit = true;
            return s;
        }
        if !is_created(pod) {
            let ord = get_ordinal(pod);
            let existing: Vec<&PersistentVolumeClaim> = claim_templates(self.set)
                .iter()
                .filter_map(|t| self.claims.get(&identity::claim_name(self.set, t, ord)))
                .collect();
            if pod_claim_is_stale(self.set, pod, existing) {
                s.exit = true;
                return s;
            }
            if let Some(e) = self.create_pod(pod, &mut s.actions) {
                s.exit = true;
                s.error = Some(e);
                return s;
            }
            s.exit = self.monotonic;
            return s;
        }
        if is_pending(pod) {
            let errs = self.create_claims(self.set, pod, &mut s.actions);
            if !errs.is_empty() {
                s.exit = true;
                s.error = Some(errs.join(", "));
                return s;
            }
            self.fix_claims(self.set, pod, &mut s.actions);
        }
        if self.monotonic
            && (is_terminating(pod)
                || !is_running_and_ready(pod)
                || !is_running_and_available(pod, self.min_ready, self.now))
        {
            s.exit = true;
            return s;
        }
        let update_set = self.update_set;
        let retention_match = self.claims_match(update_set, pod);
        if identity_matches(self.set, pod) && storage_matches(self.set, pod) && retention_match {
            return s;
        }
        // UpdateStatefulPod(updateSet, copy)
        let mut copy = pod.clone();
        let mut consistent = true;
        if !identity_matches(update_set, &copy) {
            identity::update_identity(update_set, &mut copy, self.pod_index_label());
            consistent = false;
        }
        if !storage_matches(update_set, &copy) {
            identity::update_storage(update_set, &mut copy);
            consistent = false;
            let errs = self.create_claims(update_set, &copy, &mut s.actions);
            if !errs.is_empty() {
                let msg = errs.join(", ");
                s.actions.push(Action::Event {
                    type_: EventType::Warning,
                    reason: "FailedUpdate".into(),
                    message: format!(
                        "Update Pod {} in StatefulSet {} failed error: {msg}",
                        obj_name(&copy.metadata),
                        self.name
                    ),
                });
                s.exit = true;
                s.error = Some(msg);
                return s;
            }
        }
        if !self.claims_match(update_set, &copy) {
            self.fix_claims(update_set, &copy, &mut s.actions);
            consistent = false;
        }
        if !consistent {
            let name = obj_name(&copy.metadata).to_string();
            s.actions.push(Action::UpdatePod(copy));
            s.actions.push(pod_event("update", &self.name, &name));
        }
        s
    }

    fn pod_index_label(&self) -> bool {
        self.pod_index_label_opt
    }
}

/// The in-range slots `replicas[0..len)` of `updateStatefulSet`, kept sparse: an empty slot's
/// uncreated placeholder (`newVersionedStatefulSetPod`) is only built when looked at, so a huge
/// `replicas` with few pods costs what its pods cost.
struct Replicas<'a> {
    len: usize,
    start: i64,
    slots: BTreeMap<usize, Pod>,
    current_set: &'a StatefulSet,
    update_set: &'a StatefulSet,
    current_rev: &'a str,
    update_rev: &'a str,
    pod_index_label: bool,
}

impl Replicas<'_> {
    /// `replicas[i]`: the claimed pod, or the placeholder for the empty slot.
    fn get(&self, i: usize) -> std::borrow::Cow<'_, Pod> {
        match self.slots.get(&i) {
            Some(p) => std::borrow::Cow::Borrowed(p),
            None => std::borrow::Cow::Owned(new_versioned_pod(
                self.current_set,
                self.update_set,
                self.current_rev,
                self.update_rev,
                self.start + i as i64,
                self.pod_index_label,
            )),
        }
    }

    /// Index of the first unavailable slot (an empty slot's placeholder is unavailable).
    fn first_unavailable(&self, min_ready: i64, now: Timestamp) -> Option<usize> {
        (0..self.len).find(|i| self.slots.get(i).is_none_or(|p| is_unavailable(p, min_ready, now)))
    }

    /// Unavailable slots, placeholders included.
    fn count_unavailable(&self, min_ready: i64, now: Timestamp) -> usize {
        (self.len - self.slots.len()) + self.slots.values().filter(|p| is_unavailable(p, min_ready, now)).count()
    }
}

/// `runForAll` over slot results computed lazily by `f`: monotonic ⇒ one batch per slot, stop at
/// the first exit/error; Parallel ⇒ `slowStartBatch(1, n)`, stop after a batch with an error.
/// Returns `(batches, should_exit, errors)`.
fn run_for_all(n: usize, monotonic: bool, mut f: impl FnMut(usize) -> Slot) -> (Vec<Batch>, bool, Vec<String>) {
    let mut batches = Vec::new();
    let mut errors = Vec::new();
    if monotonic {
        for i in 0..n {
            let s = f(i);
            if !s.actions.is_empty() {
                batches.push(Batch { phase: Phase::Pods, groups: vec![s.actions] });
            }
            if let Some(e) = s.error {
                errors.push(e);
            }
            if s.exit || !errors.is_empty() {
                return (batches, true, errors);
            }
        }
        return (batches, false, errors);
    }
    let mut j = 0;
    let mut size = n.min(1);
    while size > 0 {
        let mut groups = Vec::new();
        for _ in 0..size {
            let s = f(j);
            j += 1;
            if !s.actions.is_empty() {
                groups.push(s.actions);
            }
            if let Some(e) = s.error {
                errors.push(e);
            }
        }
        if !groups.is_empty() {
            batches.push(Batch { phase: Phase::Pods, groups });
        }
        if !errors.is_empty() {
            return (batches, true, errors);
        }
        let remaining = n - j;
        size = (2 * size).min(remaining).min(MAX_BATCH_SIZE);
    }
    (batches, false, errors)
}

fn error_plan(set: &StatefulSet, batches: Vec<Batch>, error: String) -> Plan {
    Plan {
        namespace: set_namespace(set).to_string(),
        set_name: set_name(set).to_string(),
        batches,
        status: None,
        requeue_after: None,
        errors: vec![error],
    }
}

/// `nextPodAvailabilityCheck`: time until a Ready pod's `lastTransitionTime + minReadySeconds`.
fn next_pod_availability_check(pod: &Pod, min_ready: i64, now: Timestamp) -> Option<Duration> {
    if !identity::is_pod_ready(pod) || min_ready <= 0 {
        return None;
    }
    let c = pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")?;
    let t = c.last_transition_time.as_ref()?.0;
    let next = t + k8s_openapi::jiff::SignedDuration::from_secs(min_ready);
    let d = next.duration_since(now);
    d.is_positive().then(|| Duration::try_from(d).ok()).flatten()
}

/// `GetScaledValueFromIntOrPercent(maxUnavailable or 1, replicas, roundUp=false)`, clamped ≥ 1.
fn max_unavailable(set: &StatefulSet) -> Result<i64, String> {
    let v = set
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.max_unavailable.clone())
        .unwrap_or(IntOrString::Int(1));
    let n = match v {
        IntOrString::Int(i) => i64::from(i),
        IntOrString::String(s) => {
            let pct = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()).ok_or_else(|| {
                format!("invalid value for IntOrString: invalid type: string is not a percentage: {s:?}")
            })?;
            pct * spec_replicas(set) / 100
        }
    };
    Ok(n.max(1))
}

/// Plan one sync of `set` (upstream `StatefulSetController.sync` → `UpdateStatefulSet`).
///
/// `pods`, `pvcs` and `revisions` are everything the listers hold; objects outside the set's
/// namespace are ignored, pods owned by another controller are ignored (`FilterPodsByOwner`).
/// `set` must be as stored, i.e. defaulted ([`super::defaults::default_statefulset`]).
pub fn plan(
    set: &StatefulSet,
    pods: &[Pod],
    pvcs: &[PersistentVolumeClaim],
    revisions: &[ControllerRevision],
    now: Timestamp,
    opts: &Options,
) -> Plan {
    let ns = set_namespace(set).to_string();
    let name = set_name(set).to_string();
    let uid = set_uid(set).to_string();
    let deleting = set.metadata.deletion_timestamp.is_some();
    let in_ns =
        |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| m.namespace.as_deref().unwrap_or("") == ns;
    let sel = set.spec.as_ref().map(|s| &s.selector);
    // sync: selector (invalid ⇒ error, not retried upstream).
    if let Some(s) = sel
        && let Err(e) = selector::validate(s)
    {
        return error_plan(set, vec![], e.to_string());
    }
    let mut batches = Vec::new();

    // adoptOrphanRevisions (ref §1.5): ListRevisions = selector-matching revisions whose
    // controller is nil or the set.
    let all_revisions: Vec<&ControllerRevision> = revisions.iter().filter(|r| in_ns(&r.metadata)).collect();
    let mut owned: Vec<ControllerRevision> = all_revisions
        .iter()
        .filter(|r| selector::matches(sel, r.metadata.labels.as_ref()))
        .filter(|r| controller_of(&r.metadata).is_none_or(|c| c.uid == uid))
        .map(|r| (*r).clone())
        .collect();
    let orphans: Vec<Action> = owned
        .iter_mut()
        .filter(|r| controller_of(&r.metadata).is_none())
        .map(|r| {
            let owner_ref = set_controller_ref(set);
            r.metadata.owner_references.get_or_insert_with(Vec::new).push(owner_ref.clone());
            Action::AdoptRevision {
                name: obj_name(&r.metadata).into(),
                uid: r.metadata.uid.clone().unwrap_or_default(),
                owner_ref,
            }
        })
        .collect();
    if !orphans.is_empty() {
        if deleting {
            return error_plan(
                set,
                vec![],
                format!(
                    "can't adopt ControllerRevisions: {ns}/{name} has just been deleted at {}",
                    set.metadata.deletion_timestamp.as_ref().map(|t| t.0.to_string()).unwrap_or_default()
                ),
            );
        }
        batches.push(Batch { phase: Phase::Prelude, groups: vec![orphans] });
    }

    // getPodsForStatefulSet: FilterPodsByOwner + ClaimPods(filter isMemberOf) (ref §1.5).
    let mut claimed: Vec<Pod> = Vec::new();
    let mut claim_groups = Vec::new();
    for pod in pods.iter().filter(|p| in_ns(&p.metadata)) {
        let matched = selector::matches(sel, pod.metadata.labels.as_ref()) && is_member_of(set, pod);
        let pod_uid = pod.metadata.uid.clone().unwrap_or_default();
        match controller_of(&pod.metadata) {
            Some(c) if c.uid != uid => {}
            Some(_) if matched => claimed.push(pod.clone()),
            Some(_) => {
                if !deleting {
                    claim_groups.push(vec![Action::ReleasePod {
                        name: obj_name(&pod.metadata).into(),
                        uid: pod_uid,
                        set_uid: uid.clone(),
                    }]);
                }
            }
            None => {
                if deleting || !matched || is_terminating(pod) {
                    continue;
                }
                let owner_ref = set_controller_ref(set);
                let mut adopted = pod.clone();
                adopted.metadata.owner_references.get_or_insert_with(Vec::new).push(owner_ref.clone());
                claim_groups.push(vec![Action::AdoptPod {
                    name: obj_name(&pod.metadata).into(),
                    uid: pod_uid,
                    owner_ref,
                }]);
                claimed.push(adopted);
            }
        }
    }
    if !claim_groups.is_empty() {
        batches.push(Batch { phase: Phase::Prelude, groups: claim_groups });
    }

    // getStatefulSetRevisions (ref §4.1).
    sort_revisions(&mut owned);
    let mut collision_count = set.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
    let candidate = new_revision(set, next_revision(&owned), collision_count, opts.revision_encoding);
    let equal: Vec<usize> = (0..owned.len()).filter(|&i| equal_revision(&owned[i], &candidate)).collect();
    let update: ControllerRevision = if let (Some(&last_eq), Some(newest)) = (equal.last(), owned.last())
        && equal_revision(newest, &owned[last_eq])
    {
        newest.clone()
    } else if let Some(&last_eq) = equal.last() {
        // Rollback: bump the equal revision's .revision.
        let mut r = owned[last_eq].clone();
        r.revision = candidate.revision;
        batches.push(Batch {
            phase: Phase::Prelude,
            groups: vec![vec![Action::UpdateRevision { name: obj_name(&r.metadata).into(), revision: r.revision }]],
        });
        r
    } else if let Some(latest) = owned.last()
        && opts.semantic_revision_comparison
        && set_matches_latest_existing_revision(set, &candidate, latest, opts.revision_encoding)
    {
        latest.clone()
    } else {
        // CreateControllerRevision: on a name clash with different data, collisionCount++.
        let raw = raw_data(&candidate);
        let mut clone = candidate.clone();
        loop {
            let rname = revision_name(&name, &hash_revision_data(&raw, collision_count));
            clone.metadata.name = Some(rname.clone());
            match all_revisions.iter().find(|r| obj_name(&r.metadata) == rname) {
                Some(existing) if raw_data(existing) == raw => break (*existing).clone(),
                Some(_) => collision_count += 1,
                None => {
                    batches.push(Batch {
                        phase: Phase::Prelude,
                        groups: vec![vec![Action::CreateRevision(clone.clone())]],
                    });
                    break clone;
                }
            }
        }
    };
    let current_name = set.status.as_ref().and_then(|s| s.current_revision.clone()).unwrap_or_default();
    let current =
        owned.iter().find(|r| obj_name(&r.metadata) == current_name).cloned().unwrap_or_else(|| update.clone());
    let current_rev = obj_name(&current.metadata).to_string();
    let update_rev = obj_name(&update.metadata).to_string();

    // updateStatefulSet (ref §2).
    let (current_set, update_set) = match (apply_revision(set, &current), apply_revision(set, &update)) {
        (Ok(c), Ok(u)) => (c, u),
        (Err(e), _) | (_, Err(e)) => return error_plan(set, batches, e.to_string()),
    };
    let min_ready = min_ready_seconds(set);
    let replica_count = spec_replicas(set).max(0);
    let start = start_ordinal(set);
    // Partition (ref §2 step 3): in range ⇒ its slot (a later pod wins a shared slot); valid
    // ordinal out of range ⇒ condemned; ordinal −1 ⇒ ignored.
    let mut slots: BTreeMap<usize, Pod> = BTreeMap::new();
    let mut condemned: Vec<Pod> = Vec::new();
    for pod in &claimed {
        let ord = get_ordinal(pod);
        if ord < 0 {
            continue;
        }
        if ord >= start && ord < start + replica_count {
            slots.insert((ord - start) as usize, pod.clone());
        } else {
            condemned.push(pod.clone());
        }
    }
    let replicas = Replicas {
        len: replica_count as usize,
        start,
        slots,
        current_set: &current_set,
        update_set: &update_set,
        current_rev: &current_rev,
        update_rev: &update_rev,
        pod_index_label: opts.pod_index_label,
    };
    condemned.sort_by_key(|p| std::cmp::Reverse(get_ordinal(p)));
    let first_unavailable: Option<(bool, usize)> = replicas
        .first_unavailable(min_ready, now)
        .map(|i| (false, i))
        .or_else(|| condemned.iter().rposition(|p| is_unavailable(p, min_ready, now)).map(|i| (true, i)));

    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        current_revision: Some(current_rev.clone()),
        update_revision: Some(update_rev.clone()),
        collision_count: Some(collision_count),
        ..StatefulSetStatus::default()
    };
    let counted = |status: &mut StatefulSetStatus| {
        apply_counts(
            status,
            count(replicas.slots.values().chain(condemned.iter()), min_ready, now, &current_rev, &update_rev),
        );
    };
    // `updateStatus(…, pods)` first counts every claimed pod (ordinal −1 ones included); every
    // later exit recounts over replicas ∪ condemned. Only a set being deleted keeps the former.
    if deleting {
        apply_counts(&mut status, count(claimed.iter(), min_ready, now, &current_rev, &update_rev));
    } else {
        counted(&mut status);
    }

    let monotonic = set.spec.as_ref().and_then(|s| s.pod_management_policy.as_deref()) != Some(PARALLEL);
    let mut ctx = Ctx {
        set,
        update_set: &update_set,
        name: name.clone(),
        claims: pvcs
            .iter()
            .filter(|c| in_ns(&c.metadata))
            .map(|c| (obj_name(&c.metadata).to_string(), c.clone()))
            .collect(),
        monotonic,
        min_ready,
        now,
        pod_index_label_opt: opts.pod_index_label,
    };
    let mut errors: Vec<String> = Vec::new();

    if !deleting {
        'pods: {
            // runForAll(replicas, processReplica)
            let (b, exit, errs) = run_for_all(replicas.len, monotonic, |i| ctx.process_replica(&replicas.get(i)));
            batches.extend(b);
            errors.extend(errs);
            if exit {
                break 'pods;
            }
            // runForAll(condemned, fixPodClaim)
            let (b, exit, errs) = run_for_all(condemned.len(), monotonic, |i| {
                let mut s = Slot::default();
                if !ctx.claims_match(&update_set, &condemned[i]) {
                    ctx.fix_claims(&update_set, &condemned[i], &mut s.actions);
                }
                s
            });
            batches.extend(b);
            errors.extend(errs);
            if exit {
                break 'pods;
            }
            // runForAll(condemned, processCondemned) (ref §3.2)
            let (b, exit, errs) = run_for_all(condemned.len(), monotonic, |i| {
                let pod = &condemned[i];
                let mut s = Slot { exit: true, ..Slot::default() };
                if is_terminating(pod) {
                    s.exit = monotonic;
                    return s;
                }
                let is_first = first_unavailable == Some((true, i));
                if monotonic
                    && !is_first
                    && (!is_running_and_ready(pod) || !is_running_and_available(pod, min_ready, now))
                {
                    return s;
                }
                ctx.delete_pod(pod, false, &mut s.actions);
                s
            });
            batches.extend(b);
            errors.extend(errs);
            if exit {
                break 'pods;
            }
            counted(&mut status);
            let strategy = set.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
            if strategy.and_then(|s| s.type_.as_deref()) == Some(ON_DELETE) {
                break 'pods;
            }
            // Rolling update (ref §4.2 / §4.3).
            let update_min =
                strategy.and_then(|s| s.rolling_update.as_ref()).map_or(0, |r| i64::from(r.partition.unwrap_or(0)));
            let mut deletes = Vec::new();
            let mut dec = 0;
            if opts.max_unavailable_statefulset {
                match max_unavailable(set) {
                    Err(e) => errors.push(e),
                    Ok(max) => {
                        let unavailable = replicas.count_unavailable(min_ready, now) as i64;
                        if unavailable < max {
                            let mut target = replicas.len as i64 - 1;
                            while target >= update_min && i64::from(dec) < max - unavailable {
                                let pod = &replicas.get(target as usize);
                                if get_pod_revision(pod) != update_rev && !is_terminating(pod) {
                                    ctx.delete_pod(pod, true, &mut deletes);
                                    dec += 1;
                                }
                                target -= 1;
                            }
                        }
                    }
                }
            } else {
                let mut target = replicas.len as i64 - 1;
                while target >= update_min {
                    let pod = &replicas.get(target as usize);
                    if get_pod_revision(pod) != update_rev && !is_terminating(pod) {
                        ctx.delete_pod(pod, true, &mut deletes);
                        dec += 1;
                        break;
                    }
                    if is_unavailable(pod, min_ready, now) {
                        break;
                    }
                    target -= 1;
                }
            }
            if !deletes.is_empty() {
                batches.push(Batch { phase: Phase::Pods, groups: vec![deletes] });
            }
            status.current_replicas = Some(status.current_replicas.unwrap_or(0) - dec);
        }
    }

    // updateStatefulSetStatus + truncateHistory (ref §4.5, §4.1).
    complete_rolling_update(set, &mut status, opts.on_delete_promotes_current_revision);
    let mut finally = Vec::new();
    if inconsistent_status(set, &status) {
        finally.push(vec![Action::UpdateStatus(status.clone())]);
    }
    let limit = set.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(10);
    if limit >= 0 {
        let mut live: Vec<&str> = vec![&current_rev, &update_rev];
        live.extend(claimed.iter().map(get_pod_revision));
        let history: Vec<&ControllerRevision> =
            owned.iter().filter(|r| !live.contains(&obj_name(&r.metadata))).collect();
        let excess = history.len().saturating_sub(limit as usize);
        let deletes: Vec<Action> =
            history[..excess].iter().map(|r| Action::DeleteRevision { name: obj_name(&r.metadata).into() }).collect();
        if !deletes.is_empty() {
            finally.push(deletes);
        }
    }
    if !finally.is_empty() {
        batches.push(Batch { phase: Phase::Finally, groups: finally });
    }
    // syncStatefulSet (1.35): with minReadySeconds and ready != available, requeue when the
    // first Ready pod becomes available (`FindMinNextPodAvailabilityCheck`), else after
    // minReadySeconds.
    let requeue_after = (min_ready > 0 && status.ready_replicas != status.available_replicas).then(|| {
        claimed
            .iter()
            .filter_map(|p| next_pod_availability_check(p, min_ready, now))
            .min()
            .unwrap_or(Duration::from_secs(min_ready as u64))
    });
    Plan { namespace: ns, set_name: name, batches, status: Some(status), requeue_after, errors }
}
