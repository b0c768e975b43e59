//! Upstream integration tests `test/integration/statefulset/statefulset_test.go` (ref §8.2):
//! no kubelet (pods stay Pending unless the test writes their status); `newSTS` is Parallel,
//! RollingUpdate, with claim template `fake-pvc-name`.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetOrdinals};

use super::harness::{Harness, new_set};
use crate::statefulset::PARALLEL;
use crate::statefulset::identity::{get_ordinal, is_terminating};
use crate::statefulset::retention::{has_pod_ref, has_set_ref};

fn new_sts(name: &str, replicas: i32) -> StatefulSet {
    let mut set = new_set(name, replicas);
    let spec = set.spec.as_mut().unwrap();
    spec.pod_management_policy = Some(PARALLEL.into());
    let t = &mut spec.volume_claim_templates.as_mut().unwrap()[0];
    t.metadata.name = Some("fake-pvc-name".into());
    let c = &mut spec.template.spec.as_mut().unwrap().containers[0];
    c.volume_mounts.as_mut().unwrap()[0].name = "fake-pvc-name".into();
    set
}

/// Re-applying an identical spec (claim templates included) changes nothing.
#[test]
fn test_volume_template_noop_update() {
    let mut h = Harness::new(new_sts("sts", 2));
    h.sync_n(2);
    let revisions = h.revisions.clone();
    let log_len = h.log.len();
    h.update_spec(|_| {}); // identical PUT (generation bump only)
    let p = h.sync();
    assert_eq!(h.revisions, revisions);
    assert_eq!(p.summaries(), vec!["update status"], "only observedGeneration moves");
    assert_eq!(h.log.len(), log_len + 1);
    assert_eq!(h.status().observed_generation, h.set.metadata.generation);
}

#[test]
fn test_spec_replicas_change() {
    let mut h = Harness::new(new_sts("sts", 2));
    for replicas in [2, 3, 0, 2] {
        h.scale(replicas);
        h.sync_n(2);
        assert_eq!(h.status().replicas, replicas, "status.replicas follows spec.replicas");
    }
    h.update_spec(|s| {
        s.template.metadata.as_mut().unwrap().annotations =
            Some([("test".to_string(), "annotation".to_string())].into());
    });
    let g = h.set.metadata.generation;
    h.sync();
    assert_eq!(h.status().observed_generation, g);
}

#[test]
fn test_deleting_and_terminating_pods() {
    let mut h = Harness::new(new_sts("sts", 3));
    h.sync();
    h.add_finalizer("sts-0");
    h.user_delete_pod("sts-0");
    h.set_pod_failed("sts-1");
    h.set_pod_succeeded("sts-2");
    let uids: Vec<_> = (0..3).map(|i| h.pod(&format!("sts-{i}")).metadata.uid.clone()).collect();
    h.sync_n(3);
    assert_eq!(h.pods.len(), 3);
    assert_eq!(h.pod("sts-0").metadata.uid, uids[0], "terminating pod-0 untouched");
    assert!(is_terminating(h.pod("sts-0")));
    for i in 1..3 {
        let p = h.pod(&format!("sts-{i}"));
        assert_ne!(p.metadata.uid, uids[i], "terminal pod replaced");
        assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Pending"));
    }
    h.remove_finalizers("sts-0");
    h.sync();
    assert_ne!(h.pod("sts-0").metadata.uid, uids[0], "pod-0 replaced once gone");
    assert!(!is_terminating(h.pod("sts-0")));
}

#[test]
fn test_statefulset_available() {
    let mut h = Harness::new(new_sts("sts", 4));
    h.update_spec(|s| s.min_ready_seconds = Some(3600));
    h.sync();
    h.set_pod_unready("sts-0");
    h.set_pod_ready("sts-1");
    h.set_pod_ready_since("sts-2", 7200);
    h.set_pod_ready_since("sts-3", 7200);
    let p = h.sync();
    let s = h.status();
    assert_eq!((s.replicas, s.ready_replicas, s.available_replicas), (4, Some(3), Some(2)));
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(3600)));
}

#[test]
fn test_statefulset_status_with_pod_fail() {
    let mut h = Harness::new(new_sts("sts", 4));
    h.admit = Some(|p| get_ordinal(p) < 2);
    h.sync_n(3);
    assert_eq!(h.status().replicas, 2, "status counts only pods that exist");
}

#[test]
fn test_autodelete_owner_refs() {
    for (when_deleted, when_scaled) in
        [("Retain", "Retain"), ("Delete", "Retain"), ("Retain", "Delete"), ("Delete", "Delete")]
    {
        let mut h = Harness::new(new_sts("sts", 3));
        h.auto_gc = false; // no garbage collector in this integration test
        h.set_policy(when_deleted, when_scaled);
        h.sync_n(2);
        for i in 0..3 {
            let c = &h.pvcs[&format!("fake-pvc-name-sts-{i}")];
            assert_eq!(has_set_ref(c, &h.set), when_deleted == "Delete", "{when_deleted}/{when_scaled} set ref");
            assert!(!c.metadata.owner_references.iter().flatten().any(|r| r.kind == "Pod"), "no pod refs");
        }
        let pods: Vec<_> = (0..3).map(|i| h.pod(&format!("sts-{i}")).clone()).collect();
        h.scale(1);
        h.sync();
        let c0 = &h.pvcs["fake-pvc-name-sts-0"];
        assert!(!has_pod_ref(c0, &pods[0]));
        assert_eq!(has_set_ref(c0, &h.set), when_deleted == "Delete");
        for i in 1..3 {
            let c = &h.pvcs[&format!("fake-pvc-name-sts-{i}")];
            assert_eq!(has_pod_ref(c, &pods[i]), when_scaled == "Delete", "{when_deleted}/{when_scaled} pod ref");
            // ref §5.2: a condemned pod's claim keeps the set ref only for Delete/Retain.
            assert_eq!(has_set_ref(c, &h.set), when_deleted == "Delete" && when_scaled == "Retain");
        }
    }
}

#[test]
fn test_deleting_pod_for_rolling_update_partition() {
    let mut h = Harness::new(new_sts("sts", 2));
    h.set_partition(1);
    h.sync();
    h.set_pod_ready("sts-0");
    h.set_pod_ready("sts-1");
    h.add_finalizer("sts-0");
    h.set_image("nginx:new");
    h.sync(); // deletes sts-1
    h.sync(); // recreates it at the update revision
    h.set_pod_ready("sts-1");
    h.sync();
    let s = h.status();
    assert_eq!((s.updated_replicas, s.replicas, s.ready_replicas), (Some(1), 2, Some(2)));
    h.set_pod_failed("sts-0");
    h.user_delete_pod("sts-0");
    h.sync();
    assert_eq!(h.status().ready_replicas, Some(1));
    h.remove_finalizers("sts-0");
    h.sync();
    assert_eq!(h.image_of("sts-0"), "nginx", "below the partition: old image");
    assert_eq!(h.image_of("sts-1"), "nginx:new");
}

#[test]
fn test_statefulset_start_ordinal() {
    let cases: [(Option<StatefulSetOrdinals>, i32, Vec<&str>); 4] = [
        (None, 3, vec!["sts-0", "sts-1", "sts-2"]),
        (Some(StatefulSetOrdinals { start: None }), 3, vec!["sts-0", "sts-1", "sts-2"]),
        (Some(StatefulSetOrdinals { start: Some(4) }), 4, vec!["sts-4", "sts-5", "sts-6", "sts-7"]),
        (
            Some(StatefulSetOrdinals { start: Some(2) }),
            7,
            vec!["sts-2", "sts-3", "sts-4", "sts-5", "sts-6", "sts-7", "sts-8"],
        ),
    ];
    for (ordinals, replicas, names) in cases {
        let mut set = new_sts("sts", replicas);
        set.spec.as_mut().unwrap().ordinals = ordinals;
        let mut h = Harness::new(set);
        h.sync();
        assert_eq!(h.pod_names(), names);
        h.scale(1);
        h.sync();
        assert_eq!(h.pod_names(), vec![names[0]]);
    }
}
