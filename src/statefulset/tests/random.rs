//! Seeded random walks over the harness: scale, template changes, partitions, policies, pod
//! failures, readiness flips, user deletions, terminations and clock jumps, with every invariant
//! checked on every write and after every step; then, with the world made healthy again, the set
//! must converge (liveness): exactly `replicas` Ready pods at the update revision.

use super::harness::{Harness, new_set};
use crate::statefulset::identity::is_terminating;
use crate::statefulset::plan::ErrorKind;
use crate::statefulset::{ON_DELETE, PARALLEL};

/// xorshift64*: deterministic, no dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn walk(seed: u64, parallel: bool, steps: usize) {
    let mut rng = Rng(seed);
    let mut set = new_set("web", 3);
    if parallel {
        set.spec.as_mut().unwrap().pod_management_policy = Some(PARALLEL.into());
    }
    let mut h = Harness::new(set);
    h.graceful = rng.below(2) == 0;
    // Upstream's update invariant only holds in its scripted scenarios (e.g. a rollback in the
    // middle of a rollout legitimately breaks it); it is checked once the walk has converged.
    h.check_update = false;
    h.check_claims = false;
    let policies = [("Retain", "Retain"), ("Delete", "Retain"), ("Retain", "Delete"), ("Delete", "Delete")];
    for _ in 0..steps {
        let names: Vec<String> = h.pods.keys().cloned().collect();
        let pick = |rng: &mut Rng| (!names.is_empty()).then(|| names[rng.below(names.len() as u64) as usize].clone());
        match rng.below(16) {
            0 => h.scale(rng.below(6) as i32),
            1 => h.set_image(["nginx", "nginx:1", "nginx:2"][rng.below(3) as usize]),
            2 => h.set_partition(rng.below(4) as i32),
            3 => {
                let (d, s) = policies[rng.below(4) as usize];
                h.set_policy(d, s);
            }
            4 => {
                if let Some(n) = pick(&mut rng) {
                    h.set_pod_failed(&n);
                }
            }
            5 => {
                if let Some(n) = pick(&mut rng) {
                    h.set_pod_unready(&n);
                }
            }
            6 => {
                if let Some(n) = pick(&mut rng) {
                    h.user_delete_pod(&n);
                }
            }
            7 => h.finish_all_terminating(),
            8 => h.advance(rng.below(20) as i64),
            9 => h.update_spec(|s| s.min_ready_seconds = Some([0, 0, 5][rng.below(3) as usize])),
            10 => {
                let prefix = ["create pod", "delete pod", "update status", "create pvc", "create revision"]
                    [rng.below(5) as usize];
                h.fail_next(prefix, ErrorKind::Other, 1);
            }
            11 => {
                if let Some(n) = pick(&mut rng) {
                    h.force_delete_pod(&n);
                }
            }
            12 => h.update_spec(|s| {
                s.ordinals = Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(rng.below(3) as i32) })
            }),
            _ => h.ready_all_pending(),
        }
        h.sync();
        if rng.below(3) == 0 {
            // A healthy kubelet: bring Running-unready pods back.
            let unready: Vec<String> = h
                .pods
                .iter()
                .filter(|(_, p)| !is_terminating(p))
                .filter(|(_, p)| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .map(|(n, _)| n.clone())
                .collect();
            for n in unready {
                h.set_pod_ready(&n);
            }
        }
    }
    // Heal: no faults, every pod healthy, terminations complete.
    h.faults.clear();
    let names: Vec<String> = h.pods.keys().cloned().collect();
    for n in names {
        let terminal = h
            .pod(&n)
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Failed" || p == "Succeeded");
        if !is_terminating(h.pod(&n)) && !terminal {
            h.set_pod_ready(&n);
        }
    }
    h.finish_all_terminating();
    h.set_partition(0);
    h.run_until_settled();
    h.check_update = true;
    h.check_claims = true;
    h.check_state();
    let s = h.status();
    let strategy = h.set.spec.as_ref().unwrap().update_strategy.as_ref().unwrap().type_.clone();
    if strategy.as_deref() != Some(ON_DELETE) {
        assert_eq!(s.current_revision, s.update_revision, "seed {seed}: rollout completes");
        for n in h.pod_names() {
            assert_eq!(Some(h.revision_of(&n)), s.update_revision, "seed {seed}: {n} updated");
        }
    }
}

#[test]
fn random_walks_keep_invariants_and_converge_ordered_ready() {
    for seed in 1..=25u64 {
        walk(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), false, 150);
    }
}

#[test]
fn random_walks_keep_invariants_and_converge_parallel() {
    for seed in 1..=25u64 {
        walk(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xabcdef, true, 150);
    }
}
