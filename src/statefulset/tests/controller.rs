//! More upstream unit tests, from `stateful_set_control_test.go` (the minReadySeconds family,
//! history limit, availability, status update) and `stateful_set_test.go` (the controller's
//! sync: termination, blocking, deletion timestamp, adoption and release of pods and revisions,
//! orphaned pods with a PVC delete policy, stale owner refs). Tests of `stateful_set_test.go`
//! that exercise informer event handlers and the work queue (`…AddPod…`, `…UpdatePod…`,
//! `…DeletePod…`, `…GetStatefulSetsForPod`, tombstones) are driver behaviour, not the planner's.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

use super::harness::{Harness, SET_UID, new_set, orphan_pod};
use crate::statefulset::identity::{controller_of, is_terminating};
use crate::statefulset::plan::{ErrorKind, Options};
use crate::statefulset::revision::new_revision;
use crate::statefulset::{ON_DELETE, PARALLEL};

fn with_min_ready(replicas: i32, secs: i32) -> Harness {
    let mut set = new_set("foo", replicas);
    set.spec.as_mut().unwrap().min_ready_seconds = Some(secs);
    Harness::new(set)
}

/// Bring `replicas` pods up, Ready since `ready_for` seconds (minReadySeconds would otherwise
/// hold OrderedReady creation back).
fn up_ready_since(h: &mut Harness, ready_for: i64) {
    let m = h.set.spec.as_ref().unwrap().min_ready_seconds;
    h.update_spec(|s| s.min_ready_seconds = Some(0));
    h.run_until_settled();
    h.update_spec(|s| s.min_ready_seconds = m);
    for n in h.pod_names() {
        h.set_pod_ready_since(&n, ready_for);
    }
}

#[test]
fn test_statefulset_rolling_update_respects_min_ready_seconds() {
    let mut h = with_min_ready(2, 30);
    up_ready_since(&mut h, 0);
    h.set_image("foo");
    h.sync();
    assert!(h.deleted.is_empty(), "pods not available for 30s yet");
    assert_eq!(h.status().available_replicas, Some(0));
    h.advance(60);
    h.sync();
    assert_eq!(h.status().available_replicas, Some(2));
    assert_eq!(h.deleted, vec!["foo-1"]);
}

#[test]
fn test_statefulset_scale_down_respects_min_ready_seconds() {
    let mut h = with_min_ready(3, 30);
    up_ready_since(&mut h, 10);
    h.scale(1);
    h.sync();
    assert_eq!(h.status().available_replicas, Some(0));
    assert_eq!(h.pods.len(), 3, "scale down blocked");
}

#[test]
fn test_statefulset_on_delete_strategy_ignores_min_ready_seconds() {
    let mut h = with_min_ready(2, 30);
    h.update_spec(|s| {
        let st = s.update_strategy.as_mut().unwrap();
        st.type_ = Some(ON_DELETE.into());
        st.rolling_update = None;
    });
    up_ready_since(&mut h, 10);
    let before = h.status().update_revision;
    h.set_image("foo");
    h.sync();
    let s = h.status();
    assert_eq!(s.available_replicas, Some(0));
    assert_ne!(s.update_revision, before, "the update revision is set regardless");
    assert!(h.deleted.is_empty());
}

#[test]
fn test_statefulset_zero_min_ready_seconds() {
    let mut h = with_min_ready(2, 0);
    h.run_until_settled();
    assert_eq!(h.status().available_replicas, Some(2));
}

#[test]
fn test_statefulset_partition_rolling_update_with_min_ready_seconds() {
    let mut h = with_min_ready(4, 30);
    h.update_spec(|s| s.update_strategy.as_mut().unwrap().rolling_update.as_mut().unwrap().partition = Some(2));
    up_ready_since(&mut h, 10);
    h.set_image("foo");
    h.sync();
    assert_eq!(h.status().available_replicas, Some(0));
    assert_eq!(h.pods.len(), 4, "partition update blocked");
    assert!(h.deleted.is_empty());
    h.advance(30);
    h.run_until_settled();
    assert_eq!(h.deleted, vec!["foo-3", "foo-2"]);
}

/// `TestStatefulSetHonorRevisionHistoryLimit`: revisions never exceed the limit + the two live
/// ones (current and update), checked after every sync.
#[test]
fn test_statefulset_honor_revision_history_limit() {
    let mut set = new_set("foo", 3);
    set.spec.as_mut().unwrap().revision_history_limit = Some(1);
    let mut h = Harness::new(set);
    h.run_until_settled();
    for i in 0..6 {
        h.set_image(&format!("foo-{i}"));
        for _ in 0..100 {
            h.sync();
            assert!(h.revisions.len() <= 1 + 2, "{} revisions, limit 1", h.revisions.len());
            if h.settled() {
                break;
            }
            h.ready_all_pending();
        }
    }
}

/// `TestStatefulSetAvailability`: replicas Ready for the required time are available, others not.
#[test]
fn test_statefulset_availability() {
    for (ready_for, want) in [(61, 1), (10, 0)] {
        let mut h = with_min_ready(1, 60);
        up_ready_since(&mut h, ready_for);
        h.sync();
        assert_eq!(h.status().available_replicas, Some(want), "ready for {ready_for}s");
    }
}

/// `TestStatefulSetAvailabilityCheck`: one of 4 pods unready ⇒ ready 3; none available yet with
/// minReadySeconds 5 ⇒ the set is requeued after 5 s.
#[test]
fn test_statefulset_availability_check() {
    let mut h = with_min_ready(4, 5);
    up_ready_since(&mut h, 0);
    h.set_pod_unready("foo-0");
    let p = h.sync();
    let s = h.status();
    assert_eq!((s.ready_replicas, s.available_replicas), (Some(3), Some(0)));
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(5)));
}

/// `TestStatefulSetStatusUpdate`: the status is written even when a pod write failed; a status
/// write failure is reported.
#[test]
fn test_statefulset_status_update() {
    // Sync error: status still written.
    let mut h = Harness::new(new_set("foo", 3));
    h.fail_next("create pod", ErrorKind::Other, 1);
    let p = h.sync();
    assert!(h.log.contains(&"update status".to_string()), "status written despite the sync error");
    assert!(h.pods.is_empty());
    assert!(p.status.is_some());
    // Status error: reported; the pod writes before it stand; the next sync writes it.
    let mut h = Harness::new(new_set("foo", 3));
    let pods: Vec<_> = h.pods.values().cloned().collect();
    let p = crate::statefulset::plan(&h.set, &pods, &[], &[], h.now, &Options::default());
    let failures = p.execute(|a| {
        if a.summary() == "update status" {
            Err(crate::statefulset::ExecError::new(ErrorKind::Other, "status error"))
        } else {
            Ok(())
        }
    });
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].message, "status error");
    h.fail_next("update status", ErrorKind::Other, 1);
    h.sync();
    assert!(h.set.status.is_none(), "status write failed");
    assert_eq!(h.pods.len(), 1, "the pod write stands");
    h.sync();
    assert_eq!(h.status().replicas, 1);
}

#[test]
fn test_statefulset_controller_respects_termination() {
    let mut h = Harness::new(new_set("foo", 3));
    h.strict = true;
    h.run_until_settled();
    h.strict = false;
    h.add_terminating_pod(3);
    h.add_terminating_pod(4);
    h.sync();
    assert_eq!(h.pods.len(), 5, "terminating pods are waited on, not deleted again");
    assert!(h.deleted.is_empty());
    h.finish_all_terminating();
    h.scale(0);
    h.run_until_settled();
    assert_eq!(h.status().replicas, 0);
}

#[test]
fn test_statefulset_controller_blocks_scaling() {
    let mut h = Harness::new(new_set("foo", 3));
    h.run_until_settled();
    h.scale(5);
    h.set_pod_terminating("foo-0");
    h.sync_n(3);
    assert_eq!(h.pods.len(), 3, "blocked by the terminating pod");
    h.finish_terminating("foo-0");
    h.sync();
    assert_eq!(h.pods.len(), 3, "resumes: foo-0 recreated first");
    assert!(!is_terminating(h.pod("foo-0")));
}

#[test]
fn test_statefulset_controller_deletion_timestamp() {
    let mut h = Harness::new(new_set("foo", 3));
    h.set.metadata.deletion_timestamp = Some(Time(h.now));
    let p = h.sync();
    assert!(h.pods.is_empty(), "no pods for a set being deleted");
    assert!(p.summaries().iter().all(|s| !s.contains("pod")));
}

/// `TestGetPodsForStatefulSetAdopt`: only orphans matching both the selector and the name
/// pattern are adopted; pods of other controllers are ignored.
#[test]
fn test_get_pods_for_statefulset_adopt() {
    let mut h = Harness::new(new_set("foo", 3));
    h.insert_pod(orphan_pod("foo-0", &[("foo", "bar")])); // matching orphan
    h.insert_pod(orphan_pod("foo-1", &[("foo", "other")])); // labels do not match
    h.insert_pod(orphan_pod("bar-2", &[("foo", "bar")])); // name does not match
    let mut taken = orphan_pod("foo-2", &[("foo", "bar")]);
    taken.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: "other".into(),
        uid: "uid-other".into(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    h.insert_pod(taken);
    let p = h.sync();
    let adopted: Vec<_> = p.summaries().into_iter().filter(|s| s.starts_with("adopt pod")).collect();
    assert_eq!(adopted, vec!["adopt pod foo-0"]);
    assert_eq!(controller_of(&h.pod("foo-0").metadata).unwrap().uid, SET_UID);
    assert!(controller_of(&h.pod("foo-1").metadata).is_none());
    assert!(controller_of(&h.pod("bar-2").metadata).is_none());
    assert_eq!(controller_of(&h.pod("foo-2").metadata).unwrap().uid, "uid-other");
}

/// `TestGetPodsForStatefulSetRelease`: owned pods that no longer match the selector or the name
/// are released; matching ones kept.
#[test]
fn test_get_pods_for_statefulset_release() {
    let mut h = Harness::new(new_set("foo", 3));
    h.run_until_settled();
    h.check_identity = false;
    h.pods.get_mut("foo-1").unwrap().metadata.labels.as_mut().unwrap().insert("foo".into(), "nomatch".into());
    let mut renamed = h.pod("foo-2").clone();
    renamed.metadata.name = Some("bar-2".into());
    h.pods.remove("foo-2");
    h.pods.insert("bar-2".into(), renamed);
    let p = h.sync();
    let released: Vec<_> = p.summaries().into_iter().filter(|s| s.starts_with("release")).collect();
    assert_eq!(released, vec!["release pod bar-2", "release pod foo-1"]);
    assert!(controller_of(&h.pod("foo-1").metadata).is_none());
    assert!(controller_of(&h.pod("bar-2").metadata).is_none());
    assert_eq!(controller_of(&h.pod("foo-0").metadata).unwrap().uid, SET_UID);
}

/// `TestAdoptOrphanRevisions`: selector-matching revisions without a controller are adopted
/// before anything else; others are left alone.
#[test]
fn test_adopt_orphan_revisions() {
    let mut h = Harness::new(new_set("foo", 1));
    let mut r1 = new_revision(&h.set, 1, 0, Default::default());
    r1.metadata.owner_references = None;
    let mut other: StatefulSet = new_set("foo", 1);
    other.spec.as_mut().unwrap().template.spec.as_mut().unwrap().containers[0].image = Some("x".into());
    let mut r2 = new_revision(&other, 2, 0, Default::default());
    r2.metadata.owner_references = None;
    r2.metadata.labels.as_mut().unwrap().insert("foo".into(), "nomatch".into());
    let n1 = r1.metadata.name.clone().unwrap();
    let n2 = r2.metadata.name.clone().unwrap();
    h.revisions.insert(n1.clone(), r1);
    h.revisions.insert(n2.clone(), r2);
    let p = h.sync();
    assert_eq!(p.summaries()[0], format!("adopt revision {n1}"));
    assert_eq!(controller_of(&h.revisions[&n1].metadata).unwrap().uid, SET_UID);
    assert!(controller_of(&h.revisions[&n2].metadata).is_none());
    assert_eq!(h.status().update_revision.as_deref(), Some(n1.as_str()), "the adopted revision is reused");
}

/// `TestOrphanedPodsWithPVCDeletePolicy`: an orphan is adopted and its claims follow the policy
/// like any replica's; a pod owned by the set but wrongly named is released and its claim left
/// alone.
#[test]
fn test_orphaned_pods_with_pvc_delete_policy() {
    for when_scaled in ["Retain", "Delete"] {
        for when_deleted in ["Retain", "Delete"] {
            let mut h = Harness::new(new_set("foo", 3));
            h.set_policy(when_deleted, when_scaled);
            h.auto_gc = false;
            h.run_until_settled();
            h.check_identity = false;
            h.pods.get_mut("foo-1").unwrap().metadata.owner_references = None; // orphaned
            let mut wrong = h.pod("foo-2").clone(); // owned, but wrongly named
            wrong.metadata.name = Some("xfoo-2".into());
            h.pods.remove("foo-2");
            h.pods.insert("xfoo-2".into(), wrong);
            h.scale(2);
            let before = h.pvcs["datadir-foo-2"].metadata.owner_references.clone();
            h.sync(); // adopt/release
            h.scale(0);
            h.sync();
            let refs = |n: &str| h.pvcs[n].metadata.owner_references.clone().unwrap_or_default();
            for n in ["datadir-foo-0", "datadir-foo-1"] {
                let r = refs(n);
                let set_ref = r.iter().any(|x| x.kind == "StatefulSet");
                let pod_ref = r.iter().any(|x| x.kind == "Pod");
                // Both are condemned now (replicas 0); ref §5.2's condemned column.
                assert_eq!(
                    (set_ref, pod_ref),
                    (when_deleted == "Delete" && when_scaled == "Retain", when_scaled == "Delete"),
                    "{when_deleted}/{when_scaled} {n}"
                );
            }
            assert_eq!(
                h.pvcs["datadir-foo-2"].metadata.owner_references.clone(),
                before,
                "released pod's claim untouched"
            );
            assert!(controller_of(&h.pod("xfoo-2").metadata).is_none(), "released");
        }
    }
}

/// `TestStaleOwnerRefOnScaleup`: with whenScaled=Delete a claim still owned by the previous
/// (deleted) pod blocks that pod's re-creation and is not touched; once it goes away the scale
/// up completes.
#[test]
fn test_stale_owner_ref_on_scaleup() {
    for parallel in [false, true] {
        for when_deleted in ["Retain", "Delete"] {
            let mut set = new_set("foo", 3);
            if parallel {
                set.spec.as_mut().unwrap().pod_management_policy = Some(PARALLEL.into());
            }
            let mut h = Harness::new(set);
            h.set_policy(when_deleted, "Delete");
            h.run_until_settled();
            h.auto_gc = false;
            h.scale(2);
            h.run_until_settled();
            let refs = h.pvcs["datadir-foo-2"].metadata.owner_references.clone();
            assert!(refs.iter().flatten().any(|r| r.kind == "Pod" && r.name == "foo-2"));
            h.scale(3);
            for _ in 0..10 {
                h.sync();
                h.ready_all_pending();
            }
            assert!(!h.pods.contains_key("foo-2"), "blocked by the stale claim");
            assert_eq!(h.pvcs["datadir-foo-2"].metadata.owner_references, refs, "stale claim untouched");
            h.pvcs.remove("datadir-foo-2");
            h.auto_gc = true;
            h.run_until_settled();
            assert!(h.pods.contains_key("foo-2"));
        }
    }
}

/// 1.35 `syncStatefulSet`: the requeue targets the first Ready pod to become available
/// (`FindMinNextPodAvailabilityCheck`), not a flat minReadySeconds.
#[test]
fn test_statefulset_requeue_at_next_pod_availability() {
    let mut h = with_min_ready(2, 60);
    up_ready_since(&mut h, 0);
    h.set_pod_ready_since("foo-0", 50);
    h.set_pod_ready_since("foo-1", 10);
    let p = h.sync();
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(10)));
    h.advance(10);
    let p = h.sync();
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(40)));
    h.advance(41);
    let p = h.sync();
    assert_eq!(p.requeue_after, None, "all available");
    let old = h.pod("foo-0").clone();
    h.set_pod_unready("foo-0");
    let unready = h.pod("foo-0").clone();
    assert_eq!(
        crate::statefulset::requeue_after_pod_update(&h.set, &unready, &old),
        Some(std::time::Duration::from_secs(60))
    );
    assert_eq!(crate::statefulset::requeue_after_pod_update(&h.set, &old, &unready), None);
}
