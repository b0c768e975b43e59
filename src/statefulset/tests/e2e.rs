//! Upstream e2e `test/e2e/apps/statefulset.go` (ref §8.1), re-expressed as deterministic planner
//! tests. The kubelet is the harness: `PauseNewPods` = pods stay Running but unready until the
//! test makes them Ready (`ResumeNextPod`); deletions are graceful (Terminating until the
//! "kubelet" confirms) unless forced.
//!
//! Skipped, being API-server behaviour only: "should have a working scale subresource"
//! (§8.1.11), "should list, patch and delete a collection of StatefulSets" and "should validate
//! Statefulset Status endpoints" (§8.1.12); the clustered-application tests (zookeeper, redis,
//! mysql, cockroachdb) are application tests.

use k8s_openapi::api::apps::v1::StatefulSetOrdinals;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

use super::harness::{Harness, SET_UID, new_set, new_set_without_claims};
use crate::statefulset::identity::{controller_of, is_terminating};
use crate::statefulset::{PARALLEL, REVISION_LABEL};

/// The e2e set: `ss`, labels foo=bar,baz=blah, claim template `datadir` (or none).
fn ss(replicas: i32, claims: bool) -> Harness {
    let mut set = if claims { new_set("ss", replicas) } else { new_set_without_claims("ss", replicas) };
    let spec = set.spec.as_mut().unwrap();
    spec.service_name = Some("test".into());
    spec.selector.match_labels.as_mut().unwrap().insert("baz".into(), "blah".into());
    spec.template.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert("baz".into(), "blah".into());
    let mut h = Harness::new(set);
    h.graceful = true;
    h
}

/// `PauseNewPods` + saturate: create pods one by one, each Running (unready), then resumed.
fn saturate_paused(h: &mut Harness) {
    let want = h.set.spec.as_ref().unwrap().replicas.unwrap() as usize;
    for i in 0..want {
        h.sync();
        let name = format!("ss-{i}");
        assert!(h.pods.contains_key(&name), "{name} created");
        h.set_pod_unready(&name);
        h.sync();
        assert!(!h.pods.contains_key(&format!("ss-{}", i + 1)), "no successor while {name} is paused");
        h.set_pod_ready(&name); // ResumeNextPod
    }
    h.run_until_settled();
}

/// `Restart`: scale to 0, wait, scale back.
fn restart(h: &mut Harness) {
    let replicas = h.set.spec.as_ref().unwrap().replicas.unwrap();
    h.scale(0);
    h.run_until_settled();
    assert!(h.pods.is_empty());
    h.scale(replicas);
    h.run_until_settled();
}

#[test]
fn should_provide_basic_identity() {
    let mut h = ss(3, true);
    saturate_paused(&mut h);
    for i in 0..3 {
        let name = format!("ss-{i}");
        let spec = h.pod(&name).spec.clone().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some(name.as_str()));
        assert_eq!(spec.subdomain.as_deref(), Some("test"));
        let vol = spec.volumes.unwrap().into_iter().find(|v| v.name == "datadir").unwrap();
        assert_eq!(vol.persistent_volume_claim.unwrap().claim_name, format!("datadir-ss-{i}"));
    }
    let pvc_uids: Vec<_> = h.pvcs.values().map(|c| c.metadata.uid.clone()).collect();
    restart(&mut h);
    // Same claims (data persists), same hostnames.
    assert_eq!(h.pvcs.values().map(|c| c.metadata.uid.clone()).collect::<Vec<_>>(), pvc_uids);
    assert!(!h.log.iter().skip_while(|l| *l != "delete pod ss-0").any(|l| l.starts_with("create pvc")));
    for i in 0..3 {
        assert_eq!(h.pod(&format!("ss-{i}")).spec.as_ref().unwrap().hostname, Some(format!("ss-{i}")));
    }
}

#[test]
fn should_adopt_matching_orphans_and_release_non_matching_pods() {
    let mut h = ss(1, true);
    h.run_until_settled();
    let r = controller_of(&h.pod("ss-0").metadata).cloned().unwrap();
    assert_eq!((r.kind.as_str(), r.name.as_str(), r.uid.as_str()), ("StatefulSet", "ss", SET_UID));
    // Orphan it: re-adopted.
    h.pods.get_mut("ss-0").unwrap().metadata.owner_references = None;
    let p = h.sync();
    assert_eq!(p.summaries(), vec!["adopt pod ss-0"]);
    assert_eq!(controller_of(&h.pod("ss-0").metadata).unwrap().uid, SET_UID);
    // Labels removed: released, and the name stays taken (create fails, nothing else happens).
    let labels = h.pods.get_mut("ss-0").unwrap().metadata.labels.take();
    let p = h.sync();
    assert_eq!(p.summaries()[0], "release pod ss-0");
    assert!(controller_of(&h.pod("ss-0").metadata).is_none());
    let uid = h.pod("ss-0").metadata.uid.clone();
    h.sync();
    assert_eq!(h.pod("ss-0").metadata.uid, uid, "never renamed or replaced");
    // Labels restored: re-adopted.
    h.pods.get_mut("ss-0").unwrap().metadata.labels = labels;
    let p = h.sync();
    assert_eq!(p.summaries()[0], "adopt pod ss-0");
    assert_eq!(controller_of(&h.pod("ss-0").metadata).unwrap().uid, SET_UID);
}

#[test]
fn should_not_deadlock_when_a_pods_predecessor_fails() {
    let mut h = ss(2, true);
    h.sync();
    h.set_pod_ready("ss-0"); // resume pod-0
    h.sync();
    h.set_pod_unready("ss-1"); // pod-1 Running, paused
    h.force_delete_pod("ss-0"); // grace period 0
    h.sync();
    assert!(h.pods.contains_key("ss-0"), "ss-0 recreated while ss-1 is unready");
    h.set_pod_ready("ss-0");
    h.set_pod_ready("ss-1");
    h.run_until_settled();
    assert_eq!(h.status().ready_replicas, Some(2));
}

/// `rollbackTest` (ref §8.1.4).
fn rollback_test(claims: bool) {
    let mut h = ss(3, claims);
    h.run_until_settled();
    let s = h.status();
    let original = s.current_revision.clone().unwrap();
    assert_eq!(s.current_revision, s.update_revision);
    for i in 0..3 {
        assert_eq!(h.revision_of(&format!("ss-{i}")), original);
    }
    // Break pod-1's readiness, change the image: the rollout is blocked.
    h.set_pod_unready("ss-1");
    h.set_image("nginx:new");
    h.sync_n(3);
    let updated = h.status().update_revision.unwrap();
    assert_ne!(updated, original);
    assert!(h.deleted.is_empty(), "blocked by the unready pod");
    h.set_pod_ready("ss-1");
    h.run_until_settled();
    assert_eq!(h.take_deleted(), vec!["ss-2", "ss-1", "ss-0"]);
    let s = h.status();
    assert_eq!(s.current_revision.as_deref(), Some(updated.as_str()));
    for i in 0..3 {
        assert_eq!(h.image_of(&format!("ss-{i}")), "nginx:new");
        assert_eq!(h.revision_of(&format!("ss-{i}")), updated);
    }
    // Roll back: the original revision is reused.
    h.set_pod_unready("ss-1");
    h.set_image("nginx");
    h.sync_n(2);
    let s = h.status();
    assert_eq!(s.update_revision.as_deref(), Some(original.as_str()), "rollback reuses the revision name");
    assert_ne!(s.current_revision, s.update_revision);
    h.set_pod_ready("ss-1");
    h.run_until_settled();
    assert_eq!(h.take_deleted(), vec!["ss-2", "ss-1", "ss-0"]);
    assert_eq!(h.status().current_revision.as_deref(), Some(original.as_str()));
    for i in 0..3 {
        assert_eq!(h.image_of(&format!("ss-{i}")), "nginx");
    }
}

#[test]
fn should_perform_rolling_updates_and_roll_backs_of_template_modifications_with_pvcs() {
    rollback_test(true);
}

#[test]
fn should_perform_rolling_updates_and_roll_backs_of_template_modifications() {
    rollback_test(false);
}

#[test]
fn should_perform_canary_updates_and_phased_rolling_updates_of_template_modifications() {
    let mut h = ss(3, false);
    h.set_partition(3);
    h.run_until_settled();
    let current = h.status().current_revision.unwrap();
    h.set_image("nginx:new");
    h.run_until_settled();
    let update = h.status().update_revision.unwrap();
    assert_ne!(current, update, "a new revision");
    assert!(h.deleted.is_empty(), "partition 3: no pod changes");
    // Canary: partition 2 ⇒ only ss-2.
    h.set_partition(2);
    h.run_until_settled();
    assert_eq!(h.take_deleted(), vec!["ss-2"]);
    assert_eq!(
        (h.revision_of("ss-0"), h.revision_of("ss-1"), h.revision_of("ss-2")),
        (current.clone(), current.clone(), update.clone())
    );
    // Deleted pods come back at the right revision.
    h.user_delete_pod("ss-0");
    h.user_delete_pod("ss-2");
    h.run_until_settled();
    assert_eq!(h.revision_of("ss-0"), current);
    assert_eq!(h.image_of("ss-0"), "nginx");
    assert_eq!(h.revision_of("ss-2"), update);
    assert_eq!(h.image_of("ss-2"), "nginx:new");
    h.take_deleted();
    // Phased: partition 1, then 0.
    h.set_partition(1);
    h.run_until_settled();
    assert_eq!(h.take_deleted(), vec!["ss-1"]);
    assert_eq!(h.status().current_revision.as_deref(), Some(current.as_str()));
    h.set_partition(0);
    h.run_until_settled();
    assert_eq!(h.take_deleted(), vec!["ss-0"]);
    let s = h.status();
    assert_eq!(s.current_revision.as_deref(), Some(update.as_str()));
    assert_eq!(s.current_revision, s.update_revision);
}

/// ref §8.1.6.
fn partition_1_delete_pod_0(failing_container: bool) {
    let mut h = ss(3, false);
    h.set_partition(1);
    h.run_until_settled();
    let old = h.status().current_revision.unwrap();
    h.add_finalizer("ss-0");
    h.set_image("nginx:new");
    h.run_until_settled();
    let s = h.status();
    assert_eq!((s.updated_replicas, s.replicas, s.ready_replicas), (Some(2), 3, Some(3)));
    assert_eq!(h.image_of("ss-0"), "nginx");
    assert_eq!(h.image_of("ss-1"), "nginx:new");
    assert_eq!(h.image_of("ss-2"), "nginx:new");
    // Delete pod-0: the finalizer keeps it Terminating; its container stops (or fails).
    h.user_delete_pod("ss-0");
    if failing_container {
        h.set_pod_failed("ss-0");
    } else {
        h.set_pod_unready("ss-0");
    }
    h.sync_n(2);
    assert!(is_terminating(h.pod("ss-0")));
    assert_eq!(h.status().ready_replicas, Some(2));
    // Finalizer removed: recreated at the OLD revision (below the partition).
    h.remove_finalizers("ss-0");
    h.run_until_settled();
    assert_eq!(h.image_of("ss-0"), "nginx");
    assert_eq!(h.revision_of("ss-0"), old);
    assert_eq!(h.status().ready_replicas, Some(3));
}

#[test]
fn should_perform_rolling_updates_with_partition_1_and_delete_pod_0_without_failing_container() {
    partition_1_delete_pod_0(false);
}

#[test]
fn should_perform_rolling_updates_with_partition_1_and_delete_pod_0_with_failing_container() {
    partition_1_delete_pod_0(true);
}

#[test]
fn should_implement_legacy_replacement_when_the_update_strategy_is_on_delete() {
    let mut h = ss(3, false);
    h.update_spec(|s| {
        let st = s.update_strategy.as_mut().unwrap();
        st.type_ = Some("OnDelete".into());
        st.rolling_update = None;
    });
    h.run_until_settled();
    let current = h.status().current_revision.unwrap();
    for i in 0..3 {
        h.user_delete_pod(&format!("ss-{i}"));
    }
    h.run_until_settled();
    for i in 0..3 {
        assert_eq!(h.revision_of(&format!("ss-{i}")), current);
    }
    h.set_image("nginx:new");
    h.run_until_settled();
    let update = h.status().update_revision.unwrap();
    assert_ne!(update, current);
    for i in 0..3 {
        assert_eq!(h.image_of(&format!("ss-{i}")), "nginx", "pods unchanged");
    }
    for i in 0..3 {
        h.user_delete_pod(&format!("ss-{i}"));
    }
    h.run_until_settled();
    for i in 0..3 {
        assert_eq!(h.image_of(&format!("ss-{i}")), "nginx:new");
        assert_eq!(h.pod(&format!("ss-{i}")).metadata.labels.as_ref().unwrap()[REVISION_LABEL], update);
    }
}

#[test]
fn scaling_should_happen_in_predictable_order_and_halt_if_any_stateful_pod_is_unhealthy() {
    let mut h = ss(1, false);
    h.run_until_settled();
    h.set_pod_unready("ss-0");
    h.sync();
    assert_eq!(h.status().ready_replicas, Some(0));
    h.scale(3);
    h.sync_n(10);
    assert_eq!(h.pods.len(), 1, "scale-up halts on an unhealthy pod");
    h.set_pod_ready("ss-0");
    h.run_until_settled();
    assert_eq!(h.created, vec!["ss-0", "ss-1", "ss-2"]);
    // Break all; scale to 0 halts.
    for i in 0..3 {
        h.set_pod_unready(&format!("ss-{i}"));
    }
    h.scale(0);
    h.sync_n(10);
    assert_eq!(h.pods.len(), 3, "scale-down halts on unhealthy pods");
    for i in 0..3 {
        h.set_pod_ready(&format!("ss-{i}"));
    }
    h.run_until_settled();
    assert_eq!(h.deleted, vec!["ss-2", "ss-1", "ss-0"]);
}

#[test]
fn burst_scaling_should_run_to_completion_even_with_unhealthy_pods() {
    let mut h = ss(1, false);
    h.update_spec(|s| s.pod_management_policy = Some(PARALLEL.into()));
    h.run_until_settled();
    h.set_pod_unready("ss-0");
    h.scale(3);
    h.sync();
    assert_eq!(h.pods.len(), 3, "all created in one sync despite the unready pod");
    for i in 0..3 {
        h.set_pod_unready(&format!("ss-{i}"));
    }
    h.scale(0);
    h.sync();
    h.finish_all_terminating();
    h.sync();
    assert!(h.pods.is_empty());
    assert_eq!(h.status().replicas, 0);
}

#[test]
fn should_recreate_evicted_statefulset() {
    let mut h = ss(1, false);
    let mut uids = Vec::new();
    for _ in 0..3 {
        // ss-0 is rejected by the kubelet (conflicting hostPort): Failed.
        h.sync();
        uids.push(h.pod("ss-0").metadata.uid.clone());
        h.set_pod_failed("ss-0");
        let p = h.sync();
        assert!(p.summaries().contains(&"delete pod ss-0".to_string()), "failed pod deleted");
        h.finish_terminating("ss-0");
    }
    // Blocker removed.
    h.run_until_settled();
    let uid = h.pod("ss-0").metadata.uid.clone();
    assert!(!uids.contains(&uid), "Running with a new UID");
    uids.dedup();
    assert_eq!(uids.len(), 3);
}

#[test]
fn minreadyseconds_should_be_honored_when_enabled() {
    let mut h = ss(1, false);
    h.update_spec(|s| s.min_ready_seconds = Some(30));
    h.sync();
    h.set_pod_ready("ss-0");
    let p = h.sync();
    assert_eq!(h.status().available_replicas, Some(0));
    assert_eq!(p.requeue_after, Some(std::time::Duration::from_secs(30)));
    h.advance(31);
    let p = h.sync();
    assert_eq!(h.status().available_replicas, Some(1));
    assert_eq!(p.requeue_after, None);
}

#[test]
fn availablereplicas_should_get_updated_accordingly_when_minreadyseconds_is_enabled() {
    let mut h = ss(2, false);
    h.update_spec(|s| s.min_ready_seconds = Some(30));
    h.sync();
    h.set_pod_ready("ss-0");
    for _ in 0..5 {
        h.advance(1);
        h.sync();
        assert_eq!(h.status().available_replicas, Some(0));
        assert!(!h.pods.contains_key("ss-1"), "OrderedReady waits for ss-0 to be available");
    }
    h.run_until_settled();
    assert_eq!(h.status().available_replicas, Some(2));
    h.update_spec(|s| s.min_ready_seconds = Some(3600));
    h.sync();
    assert_eq!(h.status().available_replicas, Some(0));
    h.update_spec(|s| s.min_ready_seconds = Some(0));
    h.sync();
    assert_eq!(h.status().available_replicas, Some(2));
}

fn with_policy(replicas: i32, when_deleted: &str, when_scaled: &str) -> Harness {
    let mut h = ss(replicas, true);
    h.set_policy(when_deleted, when_scaled);
    h
}

fn set_ref() -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        name: "ss".into(),
        uid: SET_UID.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn configmap_ref(controller: bool) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "cm".into(),
        uid: "uid-cm".into(),
        controller: controller.then_some(true),
        block_owner_deletion: None,
    }
}

#[test]
fn should_delete_pvcs_with_a_whendeleted_policy() {
    let mut h = with_policy(3, "Delete", "Retain");
    h.run_until_settled();
    for i in 0..3 {
        assert_eq!(h.pvcs[&format!("datadir-ss-{i}")].metadata.owner_references, Some(vec![set_ref()]));
    }
    h.delete_set(false);
    h.finish_all_terminating();
    h.gc();
    assert!(h.pvcs.is_empty());
}

#[test]
fn should_delete_pvcs_with_a_onscaledown_policy() {
    let mut h = with_policy(3, "Retain", "Delete");
    h.run_until_settled();
    h.scale(1);
    h.run_until_settled();
    assert_eq!(h.pvc_names(), vec!["datadir-ss-0"]);
}

#[test]
fn should_not_delete_pvc_with_onscaledown_policy_if_another_controller_owns_the_pvc() {
    let mut h = ss(3, true);
    h.run_until_settled();
    h.pvcs.get_mut("datadir-ss-1").unwrap().metadata.owner_references = Some(vec![configmap_ref(true)]);
    h.set_policy("Retain", "Delete");
    h.scale(0);
    h.run_until_settled();
    assert_eq!(h.pvc_names(), vec!["datadir-ss-1"]);
    // The claim carries no ref of ours, so it is "up to date" and left alone without an event.
    assert!(!h.events.iter().any(|(_, r, _)| r == "ConflictingController"));
    h.pvcs.get_mut("datadir-ss-1").unwrap().metadata.owner_references = None;
    h.scale(2);
    h.run_until_settled();
    h.scale(1);
    h.run_until_settled();
    assert_eq!(h.pvc_names(), vec!["datadir-ss-0"]);
}

#[test]
fn should_delete_pvcs_after_adopting_pod_when_deleted() {
    let mut h = with_policy(3, "Delete", "Retain");
    h.run_until_settled();
    h.pods.get_mut("ss-2").unwrap().metadata.owner_references = None;
    let p = h.sync();
    assert_eq!(p.summaries()[0], "adopt pod ss-2");
    h.delete_set(false);
    h.finish_all_terminating();
    h.gc();
    assert!(h.pvcs.is_empty());
    assert!(h.pods.is_empty());
}

#[test]
fn should_delete_pvcs_after_adopting_pod_when_scaled() {
    let mut h = with_policy(3, "Retain", "Delete");
    h.run_until_settled();
    h.pods.get_mut("ss-2").unwrap().metadata.owner_references = None;
    h.scale(1);
    h.run_until_settled();
    assert_eq!(h.pvc_names(), vec!["datadir-ss-0"]);
}

#[test]
fn should_not_delete_pvcs_when_there_is_another_controller() {
    let mut h = ss(4, true);
    h.run_until_settled();
    let stale = OwnerReference {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        name: "unknown".into(),
        uid: "uid-random".into(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    h.pvcs.get_mut("datadir-ss-1").unwrap().metadata.owner_references = Some(vec![configmap_ref(false)]);
    let c3 = h.pvcs.get_mut("datadir-ss-3").unwrap();
    c3.metadata.owner_references = Some(vec![stale.clone()]);
    c3.metadata.finalizers = Some(vec!["test/hold".into()]);
    h.sync_n(2);
    assert_eq!(h.pvcs["datadir-ss-1"].metadata.owner_references, Some(vec![configmap_ref(false)]));
    assert_eq!(h.pvcs["datadir-ss-3"].metadata.owner_references, Some(vec![stale.clone()]));
    h.set_policy("Delete", "Retain");
    h.run_until_settled();
    let refs = |h: &Harness, n: &str| h.pvcs[&format!("datadir-ss-{n}")].metadata.owner_references.clone();
    assert_eq!(refs(&h, "0"), Some(vec![set_ref()]));
    assert_eq!(refs(&h, "2"), Some(vec![set_ref()]));
    assert_eq!(refs(&h, "1"), Some(vec![configmap_ref(false), set_ref()]));
    assert_eq!(refs(&h, "3"), Some(vec![stale.clone()]));
    // A non-controller ref to the set is reconciled back to a controller ref.
    h.pvcs.get_mut("datadir-ss-0").unwrap().metadata.owner_references.as_mut().unwrap()[0].controller = Some(false);
    h.set_policy("Delete", "Delete");
    h.run_until_settled();
    assert_eq!(refs(&h, "0"), Some(vec![set_ref()]));
    h.delete_set(false);
    h.finish_all_terminating();
    h.gc();
    assert_eq!(h.pvc_names(), vec!["datadir-ss-1", "datadir-ss-3"]);
}

#[test]
fn pvc_should_be_recreated_when_pod_is_pending_due_to_missing_pvc() {
    let mut h = ss(1, true);
    h.run_until_settled();
    // The PVC is deleted while in use (kept by pvc-protection), then the pod is deleted.
    let c = h.pvcs.get_mut("datadir-ss-0").unwrap();
    c.metadata.finalizers = Some(vec!["kubernetes.io/pvc-protection".into()]);
    c.metadata.deletion_timestamp = Some(Time(h.now));
    h.user_delete_pod("ss-0");
    h.finish_all_terminating();
    let p = h.sync();
    assert_eq!(p.errors, vec!["pvc datadir-ss-0 is being deleted"]);
    assert!(!h.pods.contains_key("ss-0"), "pod not created over a claim being deleted");
    assert!(h.events.iter().any(|(_, r, m)| r == "FailedCreate" && m.contains("is being deleted")));
    h.pvcs.remove("datadir-ss-0");
    // The node is cordoned: the new pod stays Pending; its claim goes missing again.
    h.sync();
    assert!(h.pods.contains_key("ss-0"));
    h.pvcs.remove("datadir-ss-0");
    let p = h.sync();
    assert!(p.summaries().contains(&"create pvc datadir-ss-0".to_string()), "recreated for the Pending pod");
    h.run_until_settled();
    assert_eq!(h.status().ready_replicas, Some(1));
}

fn start_ordinal_case(from: Option<i32>, to: Option<i32>, replicas: i32, before: &[&str], after: &[&str]) {
    let mut h = ss(2, false);
    h.update_spec(|s| s.ordinals = from.map(|f| StatefulSetOrdinals { start: Some(f) }));
    h.run_until_settled();
    assert_eq!(h.pod_names(), before);
    h.update_spec(|s| {
        s.ordinals = to.map(|t| StatefulSetOrdinals { start: Some(t) });
        s.replicas = Some(replicas);
    });
    h.take_created();
    h.take_deleted();
    h.run_until_settled();
    assert_eq!(h.pod_names(), after);
    let s = h.status();
    assert_eq!((s.replicas, s.ready_replicas), (replicas, Some(replicas)));
    // New in-range pods first (ascending), condemned removed high→low after.
    let created = h.take_created();
    let mut sorted = created.clone();
    sorted.sort_by_key(|n| crate::statefulset::identity::parse_name(n).1);
    assert_eq!(created, sorted);
    let deleted = h.take_deleted();
    let mut desc = deleted.clone();
    desc.sort_by_key(|n| std::cmp::Reverse(crate::statefulset::identity::parse_name(n).1));
    assert_eq!(deleted, desc);
}

#[test]
fn scaling_statefulset_start_ordinal_setting_start_ordinal() {
    start_ordinal_case(None, Some(2), 3, &["ss-0", "ss-1"], &["ss-2", "ss-3", "ss-4"]);
}
#[test]
fn scaling_statefulset_start_ordinal_increasing_start_ordinal() {
    start_ordinal_case(Some(2), Some(4), 2, &["ss-2", "ss-3"], &["ss-4", "ss-5"]);
}
#[test]
fn scaling_statefulset_start_ordinal_decreasing_start_ordinal() {
    start_ordinal_case(Some(3), Some(2), 2, &["ss-3", "ss-4"], &["ss-2", "ss-3"]);
}
#[test]
fn scaling_statefulset_start_ordinal_removing_start_ordinal() {
    start_ordinal_case(Some(3), None, 2, &["ss-3", "ss-4"], &["ss-0", "ss-1"]);
}
