//! Upstream `stateful_pod_control_test.go`: pod/claim writes and their events, identity and
//! storage repair, retention-policy owner refs and the stale-claim check, expressed through the
//! planner (one pod, one sync) rather than upstream's `StatefulPodControl` object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

use super::harness::{Harness, new_set, orphan_pod};
use crate::statefulset::identity::{new_statefulset_pod, storage_matches};
use crate::statefulset::plan::{ErrorKind, EventType};
use crate::statefulset::retention::{has_set_ref, pod_claim_is_stale};
use crate::statefulset::{POD_NAME_LABEL, new_persistent_volume_claims};

fn kinds(h: &Harness) -> Vec<(EventType, String)> {
    h.events.iter().map(|(t, r, _)| (*t, r.clone())).collect()
}

#[test]
fn test_stateful_pod_control_creates_pods() {
    let mut h = Harness::new(new_set("foo", 1));
    h.sync();
    assert!(h.pods.contains_key("foo-0") && h.pvcs.contains_key("datadir-foo-0"));
    assert_eq!(kinds(&h), vec![(EventType::Normal, "SuccessfulCreate".into()); 2]);
}

#[test]
fn test_stateful_pod_control_create_pod_exists() {
    let mut h = Harness::new(new_set("foo", 1));
    for c in new_persistent_volume_claims(&h.set, 0) {
        h.pvcs.insert(c.metadata.name.clone().unwrap(), c);
    }
    let mut other = orphan_pod("foo-0", &[("other", "x")]);
    other.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ReplicationController".into(),
        name: "rc".into(),
        uid: "uid-rc".into(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    h.insert_pod(other);
    h.sync();
    assert!(h.events.is_empty(), "pod and PVC exist: no events, got {:?}", h.events);
}

#[test]
fn test_stateful_pod_control_create_pod_pvc_create_failure() {
    let mut h = Harness::new(new_set("foo", 1));
    h.fail_next("create pvc", ErrorKind::Other, 1);
    h.sync();
    assert!(h.pods.is_empty(), "no pod without its claim");
    assert_eq!(kinds(&h), vec![(EventType::Warning, "FailedCreate".into()); 2]);
}

#[test]
fn test_stateful_pod_control_create_pod_pvc_deleting() {
    let mut h = Harness::new(new_set("foo", 1));
    for mut c in new_persistent_volume_claims(&h.set, 0) {
        c.metadata.deletion_timestamp = Some(Time(h.now));
        c.metadata.finalizers = Some(vec!["kubernetes.io/pvc-protection".into()]);
        h.pvcs.insert(c.metadata.name.clone().unwrap(), c);
    }
    let p = h.sync();
    assert!(!p.errors.is_empty());
    assert!(h.pods.is_empty());
    assert_eq!(kinds(&h), vec![(EventType::Warning, "FailedCreate".into())]);
}

#[test]
fn test_stateful_pod_control_create_pod_failed() {
    let mut h = Harness::new(new_set("foo", 1));
    h.fail_next("create pod", ErrorKind::Other, 1);
    h.sync();
    assert_eq!(
        kinds(&h),
        vec![(EventType::Normal, "SuccessfulCreate".into()), (EventType::Warning, "FailedCreate".into())]
    );
}

#[test]
fn test_stateful_pod_control_no_op_update() {
    let mut h = Harness::new(new_set("foo", 1));
    h.run_until_settled();
    h.events.clear();
    let p = h.sync();
    assert!(p.summaries().is_empty(), "no writes: {:?}", p.summaries());
    assert!(h.events.is_empty());
}

#[test]
fn test_stateful_pod_control_updates_identity() {
    let mut h = Harness::new(new_set("foo", 1));
    h.run_until_settled();
    h.events.clear();
    h.check_identity = false;
    h.pods.get_mut("foo-0").unwrap().metadata.labels.as_mut().unwrap().remove(POD_NAME_LABEL);
    let p = h.sync();
    assert_eq!(p.summaries(), vec!["update pod foo-0"]);
    assert_eq!(kinds(&h), vec![(EventType::Normal, "SuccessfulUpdate".into())]);
    assert_eq!(h.pod("foo-0").metadata.labels.as_ref().unwrap()[POD_NAME_LABEL], "foo-0");
}

#[test]
fn test_stateful_pod_control_update_identity_failure() {
    let mut h = Harness::new(new_set("foo", 1));
    h.run_until_settled();
    h.events.clear();
    h.check_identity = false;
    h.pods.get_mut("foo-0").unwrap().metadata.labels.as_mut().unwrap().remove(POD_NAME_LABEL);
    h.fail_next("update pod", ErrorKind::Other, 1);
    h.sync();
    assert_eq!(kinds(&h), vec![(EventType::Warning, "FailedUpdate".into())]);
}

#[test]
fn test_stateful_pod_control_updates_pod_storage() {
    let mut h = Harness::new(new_set("foo", 1));
    h.run_until_settled();
    h.events.clear();
    h.check_identity = false;
    h.pvcs.clear();
    h.pods.get_mut("foo-0").unwrap().spec.as_mut().unwrap().volumes.as_mut().unwrap().retain(|v| v.name != "datadir");
    h.sync();
    assert_eq!(
        kinds(&h),
        vec![(EventType::Normal, "SuccessfulCreate".into()), (EventType::Normal, "SuccessfulUpdate".into())]
    );
    assert!(storage_matches(&h.set, h.pod("foo-0")));
}

#[test]
fn test_stateful_pod_control_update_pod_storage_failure() {
    let mut h = Harness::new(new_set("foo", 1));
    h.run_until_settled();
    h.events.clear();
    h.check_identity = false;
    h.pvcs.clear();
    h.pods.get_mut("foo-0").unwrap().spec.as_mut().unwrap().volumes.as_mut().unwrap().retain(|v| v.name != "datadir");
    h.fail_next("create pvc", ErrorKind::Other, 1);
    h.sync();
    assert!(h.events.iter().all(|(t, _, _)| *t == EventType::Warning) && !h.events.is_empty());
    assert!(!storage_matches(&h.set, h.pod("foo-0")));
}

#[test]
fn test_stateful_pod_control_deletes_stateful_pod() {
    let mut h = Harness::new(new_set("foo", 1));
    h.run_until_settled();
    h.events.clear();
    h.scale(0);
    h.sync();
    assert_eq!(kinds(&h), vec![(EventType::Normal, "SuccessfulDelete".into())]);
}

#[test]
fn test_stateful_pod_control_delete_failure() {
    let mut h = Harness::new(new_set("foo", 1));
    h.run_until_settled();
    h.events.clear();
    h.scale(0);
    h.fail_next("delete pod", ErrorKind::Other, 1);
    h.sync();
    assert_eq!(kinds(&h), vec![(EventType::Warning, "FailedDelete".into())]);
    assert!(h.pods.contains_key("foo-0"));
}

/// `TestStatefulPodControlRetentionPolicyUpdate` / `…RetainDeletionPolicyUpdate`: a policy
/// change re-labels the claims of a live pod, with one (no-op) pod update event.
#[test]
fn test_stateful_pod_control_retention_policy_update() {
    for (to, want_set_ref) in [("Delete", true), ("Retain", false)] {
        let mut h = Harness::new(new_set("foo", 1));
        let from = if to == "Delete" { "Retain" } else { "Delete" };
        h.set_policy(from, "Retain");
        h.run_until_settled();
        assert_eq!(has_set_ref(&h.pvcs["datadir-foo-0"], &h.set), !want_set_ref);
        h.events.clear();
        h.set_policy(to, "Retain");
        let p = h.sync();
        assert_eq!(p.summaries(), vec!["set pvc owners datadir-foo-0", "update pod foo-0", "update status"]);
        assert_eq!(has_set_ref(&h.pvcs["datadir-foo-0"], &h.set), want_set_ref);
        assert_eq!(kinds(&h), vec![(EventType::Normal, "SuccessfulUpdate".into())]);
    }
}

/// `TestStatefulPodControlRetentionPolicyUpdateMissingClaims`: a missing claim is skipped (no
/// error); once it exists its owner ref is added.
#[test]
fn test_stateful_pod_control_retention_policy_update_missing_claims() {
    let mut h = Harness::new(new_set("foo", 1));
    h.set_policy("Delete", "Retain");
    h.run_until_settled();
    h.pvcs.clear(); // the pod is Running: missing claims are not recreated, just skipped
    let p = h.sync();
    assert!(p.errors.is_empty() && p.summaries().is_empty());
    let claim = new_persistent_volume_claims(&h.set, 0).remove(0);
    h.pvcs.insert(claim.metadata.name.clone().unwrap(), claim);
    h.events.clear();
    h.sync();
    assert!(has_set_ref(&h.pvcs["datadir-foo-0"], &h.set), "ownerRef added");
    assert_eq!(kinds(&h), vec![(EventType::Normal, "SuccessfulUpdate".into())]);
}

/// `TestPodClaimIsStale`: with whenScaled=Delete a claim is stale when it carries a ref to a pod
/// of that name with another UID (any ref, when the pod has no UID yet).
#[test]
fn test_pod_claim_is_stale() {
    let mut set = new_set("set", 4);
    set.spec.as_mut().unwrap().persistent_volume_claim_retention_policy.as_mut().unwrap().when_scaled =
        Some("Delete".into());
    let pod_ref = |uid: &str| OwnerReference {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: "set-3".into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let claim = |state: &str| {
        let mut c = new_persistent_volume_claims(&set, 3).remove(0);
        match state {
            "stale" => c.metadata.owner_references = Some(vec![pod_ref("uid-old")]),
            "with-ref" => c.metadata.owner_references = Some(vec![pod_ref("uid-pod")]),
            _ => {}
        }
        c
    };
    for (states, skip_uid, want) in [
        (vec![], false, false),
        (vec!["exists"], false, false),
        (vec!["with-ref", "with-ref"], false, false),
        (vec!["stale", "exists"], false, true),
        (vec!["stale"], false, true),
        (vec!["with-ref", "stale"], false, true),
        (vec!["with-ref"], true, true),
    ] {
        let mut pod = new_statefulset_pod(&set, 3, true);
        if !skip_uid {
            pod.metadata.uid = Some("uid-pod".into());
        }
        let claims: Vec<_> = states.iter().map(|s| claim(s)).collect();
        assert_eq!(pod_claim_is_stale(&set, &pod, &claims), want, "{states:?} skip uid {skip_uid}");
    }
    // whenScaled=Retain: never stale.
    let mut retain = set.clone();
    retain.spec.as_mut().unwrap().persistent_volume_claim_retention_policy.as_mut().unwrap().when_scaled =
        Some("Retain".into());
    let pod = new_statefulset_pod(&retain, 3, true);
    assert!(!pod_claim_is_stale(&retain, &pod, &[claim("stale")]));
}
