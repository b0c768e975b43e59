//! Planner behaviour the reference specifies beyond the named upstream scenarios: set deletion
//! (ref §6), orphan delete and re-adoption, name collisions, node loss, identity and storage
//! repair (ref §1.3), revision collisions and history (ref §4.1), the stale-claim guard
//! (ref §5.3), conflicting controllers (ref §5.2), events and the tutorial's legacy manifest.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;

use super::harness::{Harness, SET_UID, new_set, orphan_pod};
use crate::statefulset::identity::{controller_of, is_terminating};
use crate::statefulset::plan::{Action, EventType, Options, plan};
use crate::statefulset::{PARALLEL, POD_INDEX_LABEL, POD_NAME_LABEL, legacy_to_apps_v1};

fn settled(name: &str, replicas: i32) -> Harness {
    let mut h = Harness::new(new_set(name, replicas));
    h.graceful = true;
    h.run_until_settled();
    h
}

#[test]
fn set_being_deleted_makes_no_pod_mutations_but_writes_status() {
    let mut h = settled("web", 3);
    h.set.metadata.deletion_timestamp = Some(Time(h.now));
    h.scale(5);
    h.set_image("nginx:new");
    h.set_pod_failed("web-1");
    let p = h.sync();
    assert!(
        p.actions()
            .all(|a| matches!(a, Action::UpdateStatus(_) | Action::CreateRevision(_) | Action::DeleteRevision { .. })),
        "only status/revision writes: {:?}",
        p.summaries()
    );
    assert_eq!(h.pods.len(), 3);
    assert_eq!(h.status().observed_generation, h.set.metadata.generation);
}

#[test]
fn orphan_delete_then_recreate_adopts_pods_and_revision_without_rollout() {
    let mut h = settled("web", 3);
    let rev = h.status().current_revision.unwrap();
    let uids: Vec<_> = (0..3).map(|i| h.pod(&format!("web-{i}")).metadata.uid.clone()).collect();
    h.delete_set(true);
    assert_eq!(h.pods.len(), 3, "orphaned pods keep running");
    assert!(h.pods.values().all(|p| controller_of(&p.metadata).is_none()));
    // Re-apply with 2 replicas: adopt everything, terminate the surplus, no rollout.
    let set = new_set("web", 2);
    h.recreate_set(set, "uid-set-2");
    let p = h.sync();
    let s = p.summaries();
    assert_eq!(
        &s[..4],
        [
            "adopt revision ".to_string() + &rev,
            "adopt pod web-0".into(),
            "adopt pod web-1".into(),
            "adopt pod web-2".into()
        ]
    );
    assert!(s.contains(&"delete pod web-2".to_string()));
    h.run_until_settled();
    assert_eq!(h.pod_names(), vec!["web-0", "web-1"]);
    for i in 0..2 {
        assert_eq!(h.pod(&format!("web-{i}")).metadata.uid, uids[i], "same pods, adopted");
        assert_eq!(h.revision_of(&format!("web-{i}")), rev, "identical template ⇒ same revision name");
    }
    assert_eq!(h.deleted, vec!["web-2"]);
    assert_eq!(h.revisions.len(), 1);
}

#[test]
fn orphan_recreate_with_different_template_rolls_adopted_pods() {
    let mut h = settled("web", 2);
    h.delete_set(true);
    let mut set = new_set("web", 2);
    set.spec.as_mut().unwrap().template.spec.as_mut().unwrap().containers[0].image = Some("nginx:new".into());
    h.recreate_set(set, "uid-set-2");
    h.run_until_settled();
    assert_eq!(h.deleted, vec!["web-1", "web-0"]);
    assert_eq!(h.image_of("web-0"), "nginx:new");
}

#[test]
fn a_different_set_name_never_adopts() {
    let mut h = settled("web", 1);
    h.delete_set(true);
    let set = new_set("db", 1);
    h.recreate_set(set, "uid-set-2");
    let p = h.sync();
    assert!(!p.summaries().iter().any(|s| s.starts_with("adopt pod")));
    assert!(controller_of(&h.pod("web-0").metadata).is_none());
}

#[test]
fn name_collision_stalls_ordered_ready_at_that_ordinal() {
    let mut h = Harness::new(new_set("web", 3));
    let mut foreign = orphan_pod("web-1", &[("foo", "bar")]);
    foreign.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: "other".into(),
        uid: "uid-other".into(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    h.insert_pod(foreign);
    for _ in 0..5 {
        h.sync();
        h.ready_all_pending();
    }
    assert_eq!(h.created, vec!["web-0"], "web-1 create fails every sync; web-2 never created");
    assert!(h.pods["web-1"].metadata.owner_references.as_ref().unwrap()[0].uid == "uid-other", "never touched");
    assert!(!h.events.iter().any(|(_, r, _)| r == "FailedCreate"), "AlreadyExists records no event");
}

#[test]
fn node_loss_leaves_pod_terminating_until_force_deleted_and_never_duplicates() {
    for parallel in [false, true] {
        let mut set = new_set("web", 3);
        if parallel {
            set.spec.as_mut().unwrap().pod_management_policy = Some(PARALLEL.into());
        }
        let mut h = Harness::new(set);
        h.graceful = true;
        h.run_until_settled();
        // Node lost: web-1 goes Unknown/Terminating and stays so.
        h.user_delete_pod("web-1");
        h.set_pod_unready("web-1");
        h.scale(4);
        h.take_created();
        h.sync_n(5);
        assert!(is_terminating(h.pod("web-1")));
        if parallel {
            assert_eq!(h.take_created(), vec!["web-3"], "Parallel proceeds elsewhere");
        } else {
            assert!(h.take_created().is_empty(), "OrderedReady blocks");
        }
        h.force_delete_pod("web-1");
        h.run_until_settled();
        assert_eq!(h.pod_names(), vec!["web-0", "web-1", "web-2", "web-3"]);
    }
}

#[test]
fn identity_and_storage_are_repaired_but_not_the_pod_index_label_alone() {
    let mut h = settled("web", 2);
    h.check_identity = false;
    // Pod-index label removed alone: not repaired (identityMatches ignores it).
    h.pods.get_mut("web-0").unwrap().metadata.labels.as_mut().unwrap().remove(POD_INDEX_LABEL);
    let p = h.sync();
    assert!(p.summaries().is_empty());
    // Pod-name label wrong and the claim volume gone: one update repairs both, claim recreated.
    let pod = h.pods.get_mut("web-1").unwrap();
    pod.metadata.labels.as_mut().unwrap().insert(POD_NAME_LABEL.into(), "x".into());
    pod.spec.as_mut().unwrap().volumes.as_mut().unwrap().retain(|v| v.name != "datadir");
    h.pvcs.remove("datadir-web-1");
    let p = h.sync();
    assert_eq!(p.summaries(), vec!["create pvc datadir-web-1", "update pod web-1"]);
    let pod = h.pod("web-1");
    assert_eq!(pod.metadata.labels.as_ref().unwrap()[POD_NAME_LABEL], "web-1");
    assert_eq!(pod.metadata.labels.as_ref().unwrap()[POD_INDEX_LABEL], "1");
    assert!(pod.spec.as_ref().unwrap().volumes.as_ref().unwrap().iter().any(|v| v.name == "datadir"));
    h.check_identity = true;
    h.check_state();
}

#[test]
fn revision_name_collision_bumps_collision_count() {
    let set = new_set("web", 1);
    let candidate = crate::statefulset::revision::new_revision(&set, 1, 0, Default::default());
    let name = candidate.metadata.name.clone().unwrap();
    let mut h = Harness::new(set);
    // A foreign revision already holds the name with other data.
    h.revisions.insert(
        name.clone(),
        ControllerRevision {
            metadata: ObjectMeta { name: Some(name.clone()), namespace: Some("default".into()), ..Default::default() },
            data: Some(RawExtension(serde_json::json!({"other": true}))),
            revision: 1,
        },
    );
    let p = h.sync();
    let st = p.status.unwrap();
    assert_eq!(st.collision_count, Some(1));
    let update = st.update_revision.unwrap();
    assert_ne!(update, name);
    assert_eq!(
        update,
        format!(
            "web-{}",
            crate::statefulset::revision::hash_revision_data(&crate::statefulset::revision::raw_data(&candidate), 1)
        )
    );
    h.run_until_settled();
    assert_eq!(h.status().collision_count, Some(1));
    assert_eq!(h.revision_of("web-0"), update);
}

#[test]
fn truncate_history_respects_revision_history_limit() {
    let mut h = settled("web", 1);
    h.update_spec(|s| s.revision_history_limit = Some(2));
    let mut names = vec![h.status().current_revision.unwrap()];
    for i in 1..=5 {
        h.set_image(&format!("nginx:{i}"));
        h.run_until_settled();
        names.push(h.status().current_revision.unwrap());
    }
    // Live: the current/update revision; history: at most 2 others, the newest ones.
    let mut have: Vec<_> = h.revisions.keys().cloned().collect();
    have.sort();
    let mut want = names[3..].to_vec();
    want.sort();
    assert_eq!(have, want);
}

#[test]
fn stale_claim_guard_blocks_creation_until_the_claim_is_gone() {
    let mut h = Harness::new(new_set("web", 2));
    h.set_policy("Retain", "Delete");
    h.run_until_settled();
    h.auto_gc = false; // the GC has not caught up yet
    h.scale(1);
    h.run_until_settled();
    assert!(h.pvcs["datadir-web-1"].metadata.owner_references.iter().flatten().any(|r| r.kind == "Pod"));
    // Fast scale-up: web-1's claim still points at the old pod ⇒ not created.
    h.scale(2);
    h.sync_n(3);
    assert!(!h.pods.contains_key("web-1"));
    h.gc();
    h.auto_gc = true;
    h.run_until_settled();
    assert!(h.pods.contains_key("web-1"));
    assert!(!h.pvcs["datadir-web-1"].metadata.owner_references.iter().flatten().any(|r| r.kind == "Pod"));
}

#[test]
fn conflicting_controller_scrubs_our_ref_and_warns() {
    let mut h = Harness::new(new_set("web", 1));
    h.set_policy("Delete", "Retain");
    h.run_until_settled();
    let cm = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "cm".into(),
        uid: "uid-cm".into(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    h.pvcs.get_mut("datadir-web-0").unwrap().metadata.owner_references.as_mut().unwrap().insert(0, cm.clone());
    let p = h.sync();
    assert_eq!(p.summaries(), vec!["set pvc owners datadir-web-0", "update pod web-0"]);
    assert_eq!(h.pvcs["datadir-web-0"].metadata.owner_references, Some(vec![cm]));
    assert!(h.events.iter().any(|(t, r, m)| *t == EventType::Warning
        && r == "ConflictingController"
        && m.starts_with("PersistentVolumeClaim datadir-web-0 has a conflicting OwnerReference")));
}

#[test]
fn revision_adoption_is_refused_while_the_set_is_being_deleted() {
    let mut h = settled("web", 1);
    for r in h.revisions.values_mut() {
        r.metadata.owner_references = None;
    }
    h.set.metadata.deletion_timestamp = Some(Time(h.now));
    let pods: Vec<_> = h.pods.values().cloned().collect();
    let revs: Vec<_> = h.revisions.values().cloned().collect();
    let p = plan(&h.set, &pods, &[], &revs, h.now, &Options::default());
    assert!(p.actions().next().is_none());
    assert!(p.errors[0].starts_with("can't adopt ControllerRevisions"));
}

#[test]
fn invalid_selector_plans_nothing() {
    let mut set = new_set("web", 1);
    set.spec.as_mut().unwrap().selector.match_expressions =
        Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement {
            key: "a".into(),
            operator: "Bogus".into(),
            values: None,
        }]);
    let p = plan(&set, &[], &[], &[], "2026-01-01T00:00:00Z".parse().unwrap(), &Options::default());
    assert!(p.actions().next().is_none() && p.status.is_none());
    assert_eq!(p.errors.len(), 1);
}

#[test]
fn events_use_upstream_reasons_and_messages() {
    let mut h = Harness::new(new_set("web", 1));
    h.sync();
    let ev: Vec<_> = h.events.iter().map(|(_, r, m)| (r.as_str(), m.as_str())).collect();
    assert_eq!(
        ev,
        vec![
            ("SuccessfulCreate", "Create Claim datadir-web-0 Pod web-0 in StatefulSet web success"),
            ("SuccessfulCreate", "Create Pod web-0 in StatefulSet web successful"),
        ]
    );
    h.set_pod_failed("web-0");
    h.sync();
    assert_eq!(h.events.last().unwrap().2, "Delete Pod web-0 in StatefulSet web successful");
}

/// The "StatefulSet Basics" tutorial manifest (`seeds/web.yaml`: apps/v1beta1, no selector).
#[test]
fn tutorial_web_manifest_in_apps_v1beta1_runs_in_order() {
    // `testdata/seed_statefulsets.json` holds the seeds' StatefulSets (see units.rs).
    let seeds: Vec<serde_json::Value> = serde_json::from_str(include_str!("testdata/seed_statefulsets.json")).unwrap();
    let value = seeds.into_iter().find(|s| s["metadata"]["name"] == "web").unwrap();
    assert_eq!(value["apiVersion"], "apps/v1beta1");
    let mut set = legacy_to_apps_v1(value, false).unwrap();
    set.metadata.namespace = Some("default".into());
    set.metadata.uid = Some(SET_UID.into());
    set.metadata.generation = Some(1);
    let strategy = set.spec.as_ref().unwrap().update_strategy.clone().unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("OnDelete"), "apps/v1beta1 default");
    let mut h = Harness::new(set);
    h.graceful = true;
    h.sync();
    h.sync();
    assert_eq!(h.created, vec!["web-0"], "web-1 not created before web-0 is Running and Ready");
    h.set_pod_running("web-0");
    h.sync();
    assert_eq!(h.created, vec!["web-0"], "Running but not Ready");
    h.set_pod_ready("web-0");
    h.run_until_settled();
    assert_eq!(h.created, vec!["web-0", "web-1"]);
    assert_eq!(h.pvc_names(), vec!["www-web-0", "www-web-1"]);
    assert_eq!(h.pod("web-0").spec.as_ref().unwrap().subdomain.as_deref(), Some("nginx"));
}

/// `setMatchesLatestExistingRevision`: a revision written by another encoder (bytes differ,
/// same template) is reused instead of starting a rollout; with the gate off a new revision and
/// a rolling update follow.
#[test]
fn semantically_equal_foreign_revision_is_reused() {
    for gate in [true, false] {
        let mut h = settled("web", 2);
        let name = h.status().update_revision.unwrap();
        // Re-encode the stored revision as an older encoder would: explicit empty/zero fields
        // that decode to the same template but change the raw bytes.
        let rev = h.revisions.get_mut(&name).unwrap();
        let data = &mut rev.data.as_mut().unwrap().0;
        data["spec"]["template"]["spec"]["containers"][0]["args"] = serde_json::json!([]);
        data["spec"]["template"]["spec"]["nodeSelector"] = serde_json::json!({});
        h.opts.semantic_revision_comparison = gate;
        h.set.metadata.generation = Some(h.set.metadata.generation.unwrap() + 1);
        let p = h.sync();
        if gate {
            assert!(p.summaries().iter().all(|s| !s.contains("revision")), "{:?}", p.summaries());
            assert_eq!(h.status().update_revision.as_deref(), Some(name.as_str()));
        } else {
            assert!(p.summaries().iter().any(|s| s.starts_with("create revision")));
            h.run_until_settled();
            assert_eq!(h.deleted, vec!["web-1", "web-0"], "a needless rollout without the gate");
        }
    }
}

/// Empty slots are not materialised: an OrderedReady set with an absurd `replicas` plans its one
/// creation without allocating per slot (a user cannot make the planner exhaust memory).
#[test]
fn huge_replica_count_ordered_ready_plans_one_creation() {
    let mut h = Harness::new(new_set("web", i32::MAX));
    let p = h.sync();
    assert_eq!(
        p.summaries()[..3],
        [
            "create revision ".to_string() + &h.status().update_revision.unwrap(),
            "create pvc datadir-web-0".into(),
            "create pod web-0".into()
        ]
    );
    h.ready_all_pending();
    h.sync();
    assert_eq!(h.created, vec!["web-0", "web-1"]);
}
