//! The StatefulSet controller core: a **pure planner** that re-expresses one upstream
//! `kube-controller-manager` StatefulSet `sync` as data.
//!
//! What this module owns (see `shared/reference/statefulset.md`, cited as "ref §N"):
//! - [`identity`]: pod names/ordinals, pod construction (`newVersionedStatefulSetPod`),
//!   identity/storage checks and repair, PVC objects per claim template (ref §1).
//! - [`selector`]: `metav1.LabelSelector` matching (adoption, revision listing; ref §1.5).
//! - [`retention`]: `persistentVolumeClaimRetentionPolicy` encoded as claim owner refs (ref §5).
//! - [`revision`]: ControllerRevisions: Go-compatible revision data, the upstream FNV hash,
//!   equality, rollback, history truncation (ref §4.1).
//! - [`status`]: status counting, `completeRollingUpdate`, `inconsistentStatus` (ref §3.3, §4.5).
//! - [`mod@plan`]: the sync itself (`UpdateStatefulSet` and friends, ref §2–§6) returning a
//!   [`Plan`]: ordered actions grouped in the batches upstream's `runForAll`/`slowStartBatch`
//!   would run, the computed status, and the requeue delay.
//! - [`defaults`]: apps/v1 API defaulting of a StatefulSet and its pod template (so revision
//!   hashes match upstream's for the same manifest) and the legacy apps/v1beta1/v1beta2 forms.
//!
//! Why it is shaped so: the controller's decisions are a plain function of observed objects and
//! a clock value. No I/O, no clock reads, no randomness: the driver (embedded store or a real API
//! server) lists objects, calls [`plan()`], applies the actions with [`Plan::execute`], and calls
//! again after re-observing. UIDs, resourceVersions and creation timestamps of new objects are
//! the driver's job; actions refer to objects by name within the set's namespace.
//!
//! A driver's sync of one set, in outline:
//!
//! ```ignore
//! let p = statefulset::plan(&set, &pods_in_ns, &pvcs_in_ns, &revisions_in_ns, now, &opts);
//! let failures = p.execute(|action| store.apply(&p.namespace, action)); // ExecError on failure
//! if failures.is_empty() && p.errors.is_empty() {
//!     if let Some(d) = p.requeue_after { queue.add_after(key, d) }   // minReadySeconds
//! } else {
//!     queue.add_rate_limited(key)                                   // upstream's error requeue
//! }
//! ```
//!
//! Versions: the semantics are those of the reference, checked where it was unsure against
//! k8s.io/kubernetes v1.35.8 (`pkg/controller/statefulset`): `isUnavailable`, the 1.35 requeue
//! rules, `StatefulSetSemanticRevisionComparison`, capitalised event verbs, and the ≥ 1.34
//! revision encoding (see [`RevisionEncoding`]). Gates: [`Options`].
//!
//! Driver duties the planner cannot do: the API server's part of a write (Pending phase on pod
//! creation, UIDs, name uniqueness ⇒ `AlreadyExists`), the live re-read of the set before an
//! adoption (`RecheckDeletionTimestamp`), garbage collection of dependents, and the pod-update
//! requeue of [`requeue_after_pod_update`].

pub mod defaults;
pub mod identity;
pub mod plan;
pub mod retention;
pub mod revision;
pub mod selector;
pub mod status;

#[cfg(test)]
mod tests;

pub use defaults::{DefaultingError, default_pod_template, default_statefulset, legacy_to_apps_v1};
pub use identity::{
    get_ordinal, get_parent_name, identity_matches, is_pod_available, is_pod_ready, is_running_and_ready,
    new_persistent_volume_claims, pod_name, requeue_after_pod_update, storage_matches,
};
pub use plan::{Action, Batch, ErrorKind, EventType, ExecError, Options, Phase, Plan, plan};
pub use revision::RevisionEncoding;

/// Label carrying the pod's name (`apps.StatefulSetPodNameLabel`).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Label carrying the pod's ordinal (`apps.PodIndexLabel`, gate PodIndexLabel, on since 1.28).
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// Label carrying the full ControllerRevision name of the pod's revision
/// (`apps.ControllerRevisionHashLabelKey`).
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// Label on ControllerRevisions carrying the bare hash (`history.ControllerRevisionHashLabel`).
pub const REVISION_HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// `podManagementPolicy` values.
pub const ORDERED_READY: &str = "OrderedReady";
pub const PARALLEL: &str = "Parallel";
/// `updateStrategy.type` values.
pub const ROLLING_UPDATE: &str = "RollingUpdate";
pub const ON_DELETE: &str = "OnDelete";
/// `persistentVolumeClaimRetentionPolicy` values.
pub const RETAIN: &str = "Retain";
pub const DELETE: &str = "Delete";
