//! StatefulSet status (ref §3.3, §4.5): counting (`computeReplicaStatus`/`updateStatus`),
//! `completeRollingUpdate` and the write rule `inconsistentStatus`.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::identity::{
    get_pod_revision, is_created, is_running_and_available, is_running_and_ready, is_terminating, spec_replicas,
};

/// Counts over pods (`computeReplicaStatus`); uncreated placeholders are skipped by `isCreated`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub current_replicas: i32,
    pub updated_replicas: i32,
}

/// `computeReplicaStatus`: replicas += created (incl. terminating/failed); ready += Running &&
/// Ready; available += ready && available(minReadySeconds); for created && !terminating pods,
/// current/updated by revision label.
pub fn count<'a>(
    pods: impl IntoIterator<Item = &'a Pod>,
    min_ready_seconds: i64,
    now: Timestamp,
    current_revision: &str,
    update_revision: &str,
) -> Counts {
    let mut c = Counts::default();
    for pod in pods {
        if is_created(pod) {
            c.replicas += 1;
        }
        if is_running_and_ready(pod) {
            c.ready_replicas += 1;
            if is_running_and_available(pod, min_ready_seconds, now) {
                c.available_replicas += 1;
            }
        }
        if is_created(pod) && !is_terminating(pod) {
            let rev = get_pod_revision(pod);
            if rev == current_revision {
                c.current_replicas += 1;
            }
            if rev == update_revision {
                c.updated_replicas += 1;
            }
        }
    }
    c
}

/// Fill a status from counts (`updateStatus`).
pub fn apply_counts(status: &mut StatefulSetStatus, c: Counts) {
    status.replicas = c.replicas;
    status.ready_replicas = Some(c.ready_replicas);
    status.available_replicas = Some(c.available_replicas);
    status.current_replicas = Some(c.current_replicas);
    status.updated_replicas = Some(c.updated_replicas);
}

/// `completeRollingUpdate` (ref §4.5): RollingUpdate (or any strategy when
/// `promote_on_delete`, PR #136833) && updated == ready == replicas == spec.replicas ⇒
/// currentReplicas = updatedReplicas, currentRevision = updateRevision.
pub fn complete_rolling_update(set: &StatefulSet, status: &mut StatefulSetStatus, promote_on_delete: bool) {
    let rolling = set.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).and_then(|s| s.type_.as_deref())
        == Some(super::ROLLING_UPDATE);
    let want = spec_replicas(set);
    let g = |x: Option<i32>| i64::from(x.unwrap_or(0));
    if (rolling || promote_on_delete)
        && g(status.updated_replicas) == want
        && g(status.ready_replicas) == want
        && i64::from(status.replicas) == want
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
}

/// `inconsistentStatus` (ref §4.5): write only if observedGeneration advanced or any count or
/// revision differs. collisionCount and conditions alone never trigger a write.
pub fn inconsistent_status(set: &StatefulSet, status: &StatefulSetStatus) -> bool {
    let old = set.status.clone().unwrap_or_default();
    let n = |x: Option<i32>| x.unwrap_or(0);
    let s = |x: &Option<String>| x.clone().unwrap_or_default();
    status.observed_generation.unwrap_or(0) > old.observed_generation.unwrap_or(0)
        || status.replicas != old.replicas
        || n(status.current_replicas) != n(old.current_replicas)
        || n(status.ready_replicas) != n(old.ready_replicas)
        || n(status.updated_replicas) != n(old.updated_replicas)
        || s(&status.current_revision) != s(&old.current_revision)
        || n(status.available_replicas) != n(old.available_replicas)
        || s(&status.update_revision) != s(&old.update_revision)
}
