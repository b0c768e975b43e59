//! Pod identity and storage (ref §1): names and ordinals, the pod object the controller
//! creates, identity/storage checks used for repair, PVC objects per claim template, and the
//! pod-state predicates (ready, available, terminating, …) the planner is built on.
//!
//! Upstream: `stateful_set_utils.go` (`getParentNameAndOrdinal`, `getPodName`, `isMemberOf`,
//! `identityMatches`, `storageMatches`, `updateIdentity`, `initIdentity`, `updateStorage`,
//! `getPersistentVolumeClaims`, `newStatefulSetPod`, `newVersionedStatefulSetPod`) and
//! `controller_utils.go` (`GetPodFromTemplate`), `podutil` (`IsPodReady`, `IsPodAvailable`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodSpec, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::{POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL};

// ---------------------------------------------------------------------------------------------
// Set accessors (defaults applied as the API server would have; see `defaults.rs`).

/// `set.Name`.
pub fn set_name(set: &StatefulSet) -> &str {
    set.metadata.name.as_deref().unwrap_or("")
}
/// `set.Namespace`.
pub fn set_namespace(set: &StatefulSet) -> &str {
    set.metadata.namespace.as_deref().unwrap_or("")
}
/// `set.UID`.
pub fn set_uid(set: &StatefulSet) -> &str {
    set.metadata.uid.as_deref().unwrap_or("")
}
/// `*set.Spec.Replicas` (defaulted to 1).
pub fn spec_replicas(set: &StatefulSet) -> i64 {
    i64::from(set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1))
}
/// `set.Spec.MinReadySeconds`.
pub fn min_ready_seconds(set: &StatefulSet) -> i64 {
    i64::from(set.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0))
}
/// `getStartOrdinal`: `spec.ordinals.start` if `spec.ordinals` is set, else 0 (ref §1.1).
pub fn start_ordinal(set: &StatefulSet) -> i64 {
    set.spec.as_ref().and_then(|s| s.ordinals.as_ref()).and_then(|o| o.start).map_or(0, i64::from)
}
/// `getEndOrdinal` = start + replicas − 1 (inclusive).
pub fn end_ordinal(set: &StatefulSet) -> i64 {
    start_ordinal(set) + spec_replicas(set) - 1
}
/// `podInOrdinalRange`.
pub fn pod_in_ordinal_range(pod: &Pod, set: &StatefulSet) -> bool {
    let ord = get_ordinal(pod);
    start_ordinal(set) <= ord && ord <= end_ordinal(set)
}
/// `set.Spec.VolumeClaimTemplates`.
pub fn claim_templates(set: &StatefulSet) -> &[PersistentVolumeClaim] {
    set.spec.as_ref().and_then(|s| s.volume_claim_templates.as_deref()).unwrap_or(&[])
}

// ---------------------------------------------------------------------------------------------
// Names and ordinals (ref §1.1).

/// `getPodName`: `<set>-<ordinal>`, decimal, no padding.
pub fn pod_name(set_name: &str, ordinal: i64) -> String {
    format!("{set_name}-{ordinal}")
}

/// `getParentNameAndOrdinal` on a name: regex `(.*)-([0-9]+)$`, greedy; no match ⇒ `("", -1)`;
/// an ordinal that does not fit int32 ⇒ `(parent, -1)`.
pub fn parse_name(name: &str) -> (String, i64) {
    let Some(dash) = name.rfind('-') else {
        return (String::new(), -1);
    };
    let digits = &name[dash + 1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return (String::new(), -1);
    }
    let parent = name[..dash].to_string();
    match digits.parse::<i32>() {
        Ok(n) => (parent, i64::from(n)),
        Err(_) => (parent, -1),
    }
}

/// Name of any object.
pub fn obj_name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

/// `getOrdinal(pod)`.
pub fn get_ordinal(pod: &Pod) -> i64 {
    parse_name(obj_name(&pod.metadata)).1
}
/// `getParentName(pod)`.
pub fn get_parent_name(pod: &Pod) -> String {
    parse_name(obj_name(&pod.metadata)).0
}
/// `isMemberOf(set, pod)`: a pure name check (labels are checked by the selector separately).
pub fn is_member_of(set: &StatefulSet, pod: &Pod) -> bool {
    get_parent_name(pod) == set_name(set)
}

/// `getPersistentVolumeClaimName`: `<template>-<set>-<ordinal>` (ref §1.4).
pub fn claim_name(set: &StatefulSet, template: &PersistentVolumeClaim, ordinal: i64) -> String {
    format!("{}-{}-{}", obj_name(&template.metadata), set_name(set), ordinal)
}

// ---------------------------------------------------------------------------------------------
// Owner references.

/// `metav1.NewControllerRef(set, apps/v1 StatefulSet)`.
pub fn set_controller_ref(set: &StatefulSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        name: set_name(set).into(),
        uid: set_uid(set).into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// `metav1.NewControllerRef(pod, v1 Pod)`.
pub fn pod_controller_ref(pod: &Pod) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: obj_name(&pod.metadata).into(),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// `metav1.GetControllerOf`: the first owner reference with `controller: true`.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.iter().flatten().find(|r| r.controller == Some(true))
}

// ---------------------------------------------------------------------------------------------
// Pod construction (ref §1.2).

/// `getPodRevision`: the `controller-revision-hash` label ("" if absent).
pub fn get_pod_revision(pod: &Pod) -> &str {
    pod.metadata.labels.as_ref().and_then(|l| l.get(REVISION_LABEL)).map_or("", String::as_str)
}

/// `setPodRevision`: label `controller-revision-hash = <revision name>`.
pub fn set_pod_revision(pod: &mut Pod, revision: &str) {
    pod.metadata.labels.get_or_insert_with(BTreeMap::new).insert(REVISION_LABEL.into(), revision.into());
}

/// `updateIdentity`: name, namespace, pod-name label and (gate PodIndexLabel) pod-index label.
pub fn update_identity(set: &StatefulSet, pod: &mut Pod, pod_index_label: bool) {
    let ordinal = get_ordinal(pod);
    let name = pod_name(set_name(set), ordinal);
    pod.metadata.name = Some(name.clone());
    pod.metadata.namespace = Some(set_namespace(set).to_string());
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.into(), name);
    if pod_index_label {
        labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    }
}

/// `initIdentity`: `updateIdentity` + hostname = pod name, subdomain = `serviceName`
/// (both immutable pod fields, so only set at creation).
pub fn init_identity(set: &StatefulSet, pod: &mut Pod, pod_index_label: bool) {
    update_identity(set, pod, pod_index_label);
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    spec.hostname = pod.metadata.name.clone();
    spec.subdomain = set.spec.as_ref().and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty());
}

/// `getPersistentVolumeClaims(set, pod)` for an ordinal, in claim-template order (upstream
/// iterates a Go map; we pick the template order so plans are deterministic). Each claim is a
/// copy of its template named `<template>-<set>-<ordinal>` in the set's namespace, labels =
/// template labels overlaid with `selector.matchLabels` (ref §1.4). No owner refs.
pub fn new_persistent_volume_claims(set: &StatefulSet, ordinal: i64) -> Vec<PersistentVolumeClaim> {
    let match_labels = set.spec.as_ref().and_then(|s| s.selector.match_labels.clone());
    claim_templates(set)
        .iter()
        .map(|t| {
            let mut claim = t.clone();
            claim.metadata.name = Some(claim_name(set, t, ordinal));
            claim.metadata.namespace = Some(set_namespace(set).to_string());
            match (&mut claim.metadata.labels, &match_labels) {
                (Some(l), Some(m)) => l.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
                (l @ None, m) => *l = m.clone(),
                (Some(_), None) => {}
            }
            claim.status = None;
            claim
        })
        .collect()
}

/// `updateStorage`: one PVC volume per claim template (template order), then every template
/// volume whose name is not a claim-template name.
pub fn update_storage(set: &StatefulSet, pod: &mut Pod) {
    let ordinal = get_ordinal(pod);
    let templates = claim_templates(set);
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    let current = spec.volumes.take().unwrap_or_default();
    let mut volumes: Vec<Volume> = templates
        .iter()
        .map(|t| Volume {
            name: obj_name(&t.metadata).to_string(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name(set, t, ordinal),
                read_only: None, // Go: `ReadOnly: false`, omitted on the wire
            }),
            ..Volume::default()
        })
        .collect();
    volumes.extend(current.into_iter().filter(|v| !templates.iter().any(|t| obj_name(&t.metadata) == v.name)));
    spec.volumes = if volumes.is_empty() { None } else { Some(volumes) };
}

/// `newStatefulSetPod`: `GetPodFromTemplate` (labels, annotations, finalizers, spec copied;
/// `generateName = "<set>-"`; the set's controller ref) + name + `initIdentity` + `updateStorage`.
pub fn new_statefulset_pod(set: &StatefulSet, ordinal: i64, pod_index_label: bool) -> Pod {
    let template = set.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut pod = Pod {
        metadata: ObjectMeta {
            labels: Some(tmeta.labels.unwrap_or_default()),
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            generate_name: Some(format!("{}-", set_name(set))),
            owner_references: Some(vec![set_controller_ref(set)]),
            name: Some(pod_name(set_name(set), ordinal)),
            ..ObjectMeta::default()
        },
        spec: Some(template.spec.unwrap_or_default()),
        status: None,
    };
    init_identity(set, &mut pod, pod_index_label);
    update_storage(set, &mut pod);
    pod
}

/// `newVersionedStatefulSetPod` (ref §4.2): built from the current revision's set when
/// `RollingUpdate && rollingUpdate == nil && ord < start + status.currentReplicas`, or when
/// `rollingUpdate != nil && ord < start + partition` (Go's `A && B || C` precedence kept);
/// otherwise from the update revision's set.
pub fn new_versioned_pod(
    current_set: &StatefulSet,
    update_set: &StatefulSet,
    current_revision: &str,
    update_revision: &str,
    ordinal: i64,
    pod_index_label: bool,
) -> Pod {
    let strategy = current_set.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    let is_rolling = strategy.and_then(|s| s.type_.as_deref()) == Some(super::ROLLING_UPDATE);
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
    let start = start_ordinal(current_set);
    let current_replicas = i64::from(current_set.status.as_ref().and_then(|s| s.current_replicas).unwrap_or(0));
    let use_current = (is_rolling && rolling.is_none() && ordinal < start + current_replicas)
        || rolling.is_some_and(|r| ordinal < start + i64::from(r.partition.unwrap_or(0)));
    let (set, rev) = if use_current { (current_set, current_revision) } else { (update_set, update_revision) };
    let mut pod = new_statefulset_pod(set, ordinal, pod_index_label);
    set_pod_revision(&mut pod, rev);
    pod
}

/// `identityMatches` (ref §1.3): ordinal ≥ 0, parent == set name, name == `<set>-<ord>`,
/// namespace == set namespace, pod-name label == name. The pod-index label, hostname,
/// subdomain and revision label are NOT checked.
pub fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let (parent, ordinal) = parse_name(obj_name(&pod.metadata));
    let name = obj_name(&pod.metadata);
    ordinal >= 0
        && parent == set_name(set)
        && name == pod_name(set_name(set), ordinal)
        && pod.metadata.namespace.as_deref().unwrap_or("") == set_namespace(set)
        && pod.metadata.labels.as_ref().and_then(|l| l.get(POD_NAME_LABEL)).map(String::as_str) == Some(name)
}

/// `storageMatches` (ref §1.3): for every claim template a same-named PVC volume whose
/// claimName is `<template>-<set>-<ordinal>`.
pub fn storage_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let ordinal = get_ordinal(pod);
    if ordinal < 0 {
        return false;
    }
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref()).unwrap_or(&[]);
    claim_templates(set).iter().all(|t| {
        volumes
            .iter()
            .find(|v| v.name == obj_name(&t.metadata))
            .and_then(|v| v.persistent_volume_claim.as_ref())
            .is_some_and(|c| c.claim_name == claim_name(set, t, ordinal))
    })
}

// ---------------------------------------------------------------------------------------------
// Pod state predicates (ref §3.1).

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}
/// `isCreated`: `status.phase != ""` (the API server sets Pending on creation).
pub fn is_created(pod: &Pod) -> bool {
    !phase(pod).is_empty()
}
/// `isPending`.
pub fn is_pending(pod: &Pod) -> bool {
    phase(pod) == "Pending"
}
/// `isFailed`.
pub fn is_failed(pod: &Pod) -> bool {
    phase(pod) == "Failed"
}
/// `isSucceeded`.
pub fn is_succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}
/// `isTerminating`: `deletionTimestamp != nil`.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn ready_condition(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")
}
/// `podutil.IsPodReady`: the Ready condition is `True`.
pub fn is_pod_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}
/// `isRunningAndReady`: phase Running and Ready.
pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && is_pod_ready(pod)
}
/// `podutil.IsPodAvailable`: Ready, and `minReadySeconds == 0` or the Ready condition's
/// lastTransitionTime + minReadySeconds is strictly before `now`.
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i64, now: Timestamp) -> bool {
    let Some(c) = ready_condition(pod).filter(|c| c.status == "True") else {
        return false;
    };
    if min_ready_seconds == 0 {
        return true;
    }
    match &c.last_transition_time {
        Some(t) => t.0 + SignedDuration::from_secs(min_ready_seconds) < now,
        None => false,
    }
}
/// `isRunningAndAvailable` (upstream: just `IsPodAvailable`).
pub fn is_running_and_available(pod: &Pod, min_ready_seconds: i64, now: Timestamp) -> bool {
    is_pod_available(pod, min_ready_seconds, now)
}
/// `isUnavailable` (PR #130909; body unverified, ref §9): not available, or terminating.
pub fn is_unavailable(pod: &Pod, min_ready_seconds: i64, now: Timestamp) -> bool {
    !is_running_and_available(pod, min_ready_seconds, now) || is_terminating(pod)
}

/// When a pod's readiness flips to Ready and `minReadySeconds > 0`, upstream's pod-update handler
/// also enqueues the set after `minReadySeconds` (1.35 `updatePod`; older versions added 1 s).
/// Drivers call this on pod updates.
pub fn requeue_after_pod_update(set: &StatefulSet, old: &Pod, new: &Pod) -> Option<std::time::Duration> {
    let m = min_ready_seconds(set);
    (m > 0 && !is_pod_ready(old) && is_pod_ready(new)).then(|| std::time::Duration::from_secs(m as u64))
}
