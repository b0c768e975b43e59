//! `persistentVolumeClaimRetentionPolicy` encoded as owner references on claims (ref §5.2, §5.3).
//!
//! Upstream: `stateful_set_utils.go` (`getPersistentVolumeClaimRetentionPolicy`,
//! `isClaimOwnerUpToDate`, `updateClaimOwnerRefForSetAndPod`, `hasUnexpectedController`,
//! `hasNonControllerOwner`, `hasStaleOwnerRef`, `matchesRef`, `addControllerRef`) and
//! `stateful_pod_control.go` (`PodClaimIsStale`).
//!
//! | whenDeleted / whenScaled | in-range pod's claims | condemned pod's claims |
//! |---|---|---|
//! | Retain / Retain | none | none |
//! | Delete / Retain | set ref | set ref |
//! | Retain / Delete | none | pod ref |
//! | Delete / Delete | set ref | pod ref |

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::identity::{obj_name, pod_controller_ref, pod_in_ordinal_range, set_controller_ref, set_name, set_uid};
use super::{DELETE, RETAIN};

/// The effective policy: `(whenDeleted, whenScaled)`, nil ⇒ Retain/Retain; unknown values are
/// treated as Retain (upstream logs "Unknown policy, treating as Retain").
pub fn policy(set: &StatefulSet) -> (bool, bool) {
    let p = set.spec.as_ref().and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    let when_deleted = p.and_then(|p| p.when_deleted.as_deref()).unwrap_or(RETAIN) == DELETE;
    let when_scaled = p.and_then(|p| p.when_scaled.as_deref()).unwrap_or(RETAIN) == DELETE;
    (when_deleted, when_scaled)
}

fn refs(claim: &PersistentVolumeClaim) -> &[OwnerReference] {
    claim.metadata.owner_references.as_deref().unwrap_or(&[])
}

/// `matchesRef(ref, owner, gvk)`: same apiVersion, kind and name (UID not compared).
fn matches_set_ref(r: &OwnerReference, set: &StatefulSet) -> bool {
    r.api_version == "apps/v1" && r.kind == "StatefulSet" && r.name == set_name(set)
}
fn matches_pod_ref(r: &OwnerReference, pod: &Pod) -> bool {
    r.api_version == "v1" && r.kind == "Pod" && r.name == obj_name(&pod.metadata)
}
fn pod_uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

/// `hasOwnerRef(target, owner)`: any ref with the owner's UID.
fn has_uid(claim: &PersistentVolumeClaim, uid: &str) -> bool {
    refs(claim).iter().any(|r| r.uid == uid)
}
/// `hasOwnerRef(claim, set)`.
pub fn has_set_ref(claim: &PersistentVolumeClaim, set: &StatefulSet) -> bool {
    has_uid(claim, set_uid(set))
}
/// `hasOwnerRef(claim, pod)`.
pub fn has_pod_ref(claim: &PersistentVolumeClaim, pod: &Pod) -> bool {
    has_uid(claim, pod_uid(pod))
}

/// `hasStaleOwnerRef`: the first ref matching by (apiVersion, kind, name) has another UID.
fn has_stale_set_ref(claim: &PersistentVolumeClaim, set: &StatefulSet) -> bool {
    refs(claim).iter().find(|r| matches_set_ref(r, set)).is_some_and(|r| r.uid != set_uid(set))
}
/// `hasStaleOwnerRef(claim, pod, podKind)`; used by `PodClaimIsStale` too, where the pod has
/// no UID yet, so any ref to a pod of that name is stale.
pub fn has_stale_pod_ref(claim: &PersistentVolumeClaim, pod: &Pod) -> bool {
    refs(claim).iter().find(|r| matches_pod_ref(r, pod)).is_some_and(|r| r.uid != pod_uid(pod))
}

/// `hasUnexpectedController` (ref §5.2 case 2).
pub fn has_unexpected_controller(claim: &PersistentVolumeClaim, set: &StatefulSet, pod: &Pod) -> bool {
    let (when_deleted, when_scaled) = policy(set);
    if !when_deleted && !when_scaled {
        return false;
    }
    for r in refs(claim) {
        if matches_set_ref(r, set) {
            if r.uid != set_uid(set) {
                return true;
            }
            continue;
        }
        if matches_pod_ref(r, pod) {
            if r.uid != pod_uid(pod) {
                return true;
            }
            continue;
        }
        if r.controller == Some(true) {
            return true;
        }
    }
    false
}

/// `hasNonControllerOwner`: a ref to the set or pod (by UID) that is not a controller ref.
fn has_non_controller_owner(claim: &PersistentVolumeClaim, set: &StatefulSet, pod: &Pod) -> bool {
    refs(claim).iter().any(|r| (r.uid == set_uid(set) || r.uid == pod_uid(pod)) && r.controller != Some(true))
}

/// `isClaimOwnerUpToDate` (ref §5.2).
pub fn is_claim_owner_up_to_date(claim: &PersistentVolumeClaim, set: &StatefulSet, pod: &Pod) -> bool {
    if has_stale_set_ref(claim, set) || has_stale_pod_ref(claim, pod) {
        // Managed by a previous, presumably deleted, incarnation: don't touch.
        return true;
    }
    if has_unexpected_controller(claim, set, pod) {
        return !(has_set_ref(claim, set) || has_pod_ref(claim, pod));
    }
    if has_non_controller_owner(claim, set, pod) {
        return false;
    }
    let (when_deleted, when_scaled) = policy(set);
    let set_ref = has_set_ref(claim, set);
    let pod_ref = has_pod_ref(claim, pod);
    let scaled_down = !pod_in_ordinal_range(pod, set);
    match (when_deleted, when_scaled) {
        (false, false) => !set_ref && !pod_ref,
        (true, false) => set_ref && !pod_ref,
        (false, true) => !set_ref && scaled_down == pod_ref,
        (true, true) => scaled_down != set_ref && scaled_down == pod_ref,
    }
}

/// `addControllerRef`: append a controller ref unless one with the owner's UID is present.
fn add_controller_ref(refs: &mut Vec<OwnerReference>, r: OwnerReference) {
    if !refs.iter().any(|x| x.uid == r.uid) {
        refs.push(r);
    }
}

/// `updateClaimOwnerRefForSetAndPod`: scrub refs to our set/pod (by apiVersion+kind+name),
/// then add what the policy requires (nothing if an unexpected controller is present).
/// Returns the new owner-reference list.
pub fn updated_claim_owner_refs(claim: &PersistentVolumeClaim, set: &StatefulSet, pod: &Pod) -> Vec<OwnerReference> {
    let unexpected = has_unexpected_controller(claim, set, pod);
    let mut out: Vec<OwnerReference> =
        refs(claim).iter().filter(|r| !(matches_set_ref(r, set) || matches_pod_ref(r, pod))).cloned().collect();
    if unexpected {
        return out;
    }
    let (when_deleted, when_scaled) = policy(set);
    let scaled_down = !pod_in_ordinal_range(pod, set);
    match (when_deleted, when_scaled) {
        (false, false) => {}
        (true, false) => add_controller_ref(&mut out, set_controller_ref(set)),
        (false, true) => {
            if scaled_down {
                add_controller_ref(&mut out, pod_controller_ref(pod));
            }
        }
        (true, true) => {
            if scaled_down {
                add_controller_ref(&mut out, pod_controller_ref(pod));
            } else {
                add_controller_ref(&mut out, set_controller_ref(set));
            }
        }
    }
    out
}

/// `PodClaimIsStale` (ref §5.3): only when whenScaled=Delete; a claim of the (not yet created)
/// pod carrying a ref to a pod of that name with another UID.
pub fn pod_claim_is_stale<'a>(
    set: &StatefulSet,
    pod: &Pod,
    existing_claims: impl IntoIterator<Item = &'a PersistentVolumeClaim>,
) -> bool {
    let (_, when_scaled) = policy(set);
    when_scaled && existing_claims.into_iter().any(|c| has_stale_pod_ref(c, pod))
}
