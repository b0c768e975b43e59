//! One planner [`Action`] as Kubernetes API calls, the way upstream's
//! `StatefulPodControl`/`controller_history`/`ClaimPods` make them (k8s v1.35.8,
//! `pkg/controller/statefulset`, `pkg/controller/history`, `pkg/controller/controller_ref_manager.go`):
//!
//! - adopt/release: strategic-merge patches of `metadata.ownerReferences` carrying the object's
//!   `metadata.uid` (the API server rejects the patch if the UID changed), after a live re-read of
//!   the set for adoptions (`RecheckDeletionTimestamp`);
//! - creates and deletes as plain POST/DELETE; a pod update is a PUT of the observed object
//!   (optimistic concurrency on its resourceVersion);
//! - a revision that already exists with the same data counts as created (upstream's
//!   `CreateControllerRevision` returns the existing one); with different data the write fails
//!   and the set is requeued: the planner sees every revision of the namespace, so this happens
//!   only when its lister has not yet seen the clashing one, and the next sync bumps
//!   `collisionCount` in the plan (see the module doc of [`super`]);
//! - status: PUT of the status subresource, re-read and retried on conflict
//!   (`RetryOnConflict`, as `UpdateStatefulSetStatus`);
//! - events: core/v1 Events with source component `statefulset-controller`, as client-go's
//!   legacy recorder that upstream uses writes them ([`Events`]).
//!
//! API errors map to the planner's [`ErrorKind`]s, which decide its failure semantics.

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::statefulset::{Action, ErrorKind, EventType, ExecError};

/// How often a status write is retried after a conflict (client-go's `DefaultRetry` steps).
const STATUS_RETRIES: usize = 5;

/// Writes for one namespace.
pub struct Writes {
    /// Pods of the set's namespace.
    pods: Api<Pod>,
    /// PersistentVolumeClaims of the set's namespace.
    pvcs: Api<PersistentVolumeClaim>,
    /// ControllerRevisions of the set's namespace.
    revisions: Api<ControllerRevision>,
    /// StatefulSets of the namespace (status writes, live re-reads before adoption).
    sets: Api<StatefulSet>,
    /// Event sink shared by all syncs.
    events: Events,
}

impl Writes {
    /// Writes into namespace `ns`.
    pub fn new(client: &Client, ns: &str, events: Events) -> Self {
        Writes {
            pods: Api::namespaced(client.clone(), ns),
            pvcs: Api::namespaced(client.clone(), ns),
            revisions: Api::namespaced(client.clone(), ns),
            sets: Api::namespaced(client.clone(), ns),
            events,
        }
    }

    /// Performs one write for `set`.
    pub async fn apply(&self, set: &StatefulSet, action: &Action) -> Result<(), ExecError> {
        let pp = PostParams::default();
        match action {
            Action::AdoptRevision { name, uid, owner_ref } => {
                self.recheck(set).await?;
                let patch = json!({"metadata": {"ownerReferences": [owner_ref], "uid": uid}});
                self.revisions.patch(name, &PatchParams::default(), &Patch::Strategic(patch)).await.map(drop)
            }
            Action::AdoptPod { name, uid, owner_ref } => {
                self.recheck(set).await?;
                let patch = json!({"metadata": {"ownerReferences": [owner_ref], "uid": uid}});
                self.pods.patch(name, &PatchParams::default(), &Patch::Strategic(patch)).await.map(drop)
            }
            Action::ReleasePod { name, uid, set_uid } => {
                let patch =
                    json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": set_uid}], "uid": uid}});
                self.pods.patch(name, &PatchParams::default(), &Patch::Strategic(patch)).await.map(drop)
            }
            Action::CreateRevision(rev) => return self.create_revision(rev).await,
            Action::UpdateRevision { name, revision } => {
                let patch = json!({"revision": revision});
                self.revisions.patch(name, &PatchParams::default(), &Patch::Merge(patch)).await.map(drop)
            }
            Action::DeleteRevision { name } => self.revisions.delete(name, &DeleteParams::default()).await.map(drop),
            Action::CreatePvc { claim, .. } => self.pvcs.create(&pp, claim).await.map(drop),
            Action::CreatePod(pod) => self.pods.create(&pp, pod).await.map(drop),
            Action::DeletePod { name, .. } => self.pods.delete(name, &DeleteParams::default()).await.map(drop),
            Action::UpdatePod(pod) => self.pods.replace(&pod.name_any(), &pp, pod).await.map(drop),
            Action::SetPvcOwnerRefs { name, owner_references } => {
                let patch = json!({"metadata": {"ownerReferences": owner_references}});
                self.pvcs.patch(name, &PatchParams::default(), &Patch::Merge(patch)).await.map(drop)
            }
            Action::UpdateStatus(status) => return self.update_status(set, status).await,
            Action::Event { type_, reason, message } => {
                self.events.record(set, *type_, reason, message).await;
                return Ok(());
            }
        }
        .map_err(to_exec)
    }

    /// `RecheckDeletionTimestamp`: adopt only for the live set with the same UID that is not
    /// being deleted.
    async fn recheck(&self, set: &StatefulSet) -> Result<(), ExecError> {
        let live = self.sets.get(&set.name_any()).await.map_err(to_exec)?;
        if live.metadata.uid != set.metadata.uid {
            return Err(ExecError::new(
                ErrorKind::Other,
                format!(
                    "original StatefulSet {}/{} is gone: got uid {}, wanted {}",
                    set.namespace().unwrap_or_default(),
                    set.name_any(),
                    live.metadata.uid.unwrap_or_default(),
                    set.metadata.uid.clone().unwrap_or_default()
                ),
            ));
        }
        if live.metadata.deletion_timestamp.is_some() {
            return Err(ExecError::new(
                ErrorKind::Other,
                format!(
                    "{}/{} has just been deleted at {:?}",
                    set.namespace().unwrap_or_default(),
                    set.name_any(),
                    live.metadata.deletion_timestamp
                ),
            ));
        }
        Ok(())
    }

    async fn create_revision(&self, rev: &ControllerRevision) -> Result<(), ExecError> {
        match self.revisions.create(&PostParams::default(), rev).await {
            Ok(_) => Ok(()),
            Err(e) if is_reason(&e, "AlreadyExists") => {
                // Our view lagged behind our own earlier write, or a hash collision.
                let existing = self.revisions.get(&rev.name_any()).await.map_err(to_exec)?;
                if existing.data == rev.data {
                    Ok(())
                } else {
                    Err(ExecError::new(
                        ErrorKind::AlreadyExists,
                        format!("controllerrevision {} exists with different data (hash collision)", rev.name_any()),
                    ))
                }
            }
            Err(e) => Err(to_exec(e)),
        }
    }

    async fn update_status(
        &self,
        set: &StatefulSet,
        status: &k8s_openapi::api::apps::v1::StatefulSetStatus,
    ) -> Result<(), ExecError> {
        let mut current = set.clone();
        let mut last = None;
        for _ in 0..STATUS_RETRIES {
            current.status = Some(status.clone());
            match self.sets.replace_status(&set.name_any(), &PostParams::default(), &current).await {
                Ok(_) => return Ok(()),
                Err(e) if is_reason(&e, "Conflict") => {
                    current = self.sets.get(&set.name_any()).await.map_err(to_exec)?;
                    if current.metadata.uid != set.metadata.uid {
                        return Err(ExecError::new(ErrorKind::NotFound, "the StatefulSet was replaced"));
                    }
                    last = Some(e);
                }
                Err(e) => return Err(to_exec(e)),
            }
        }
        Err(last.map_or_else(|| ExecError::new(ErrorKind::Conflict, "status conflict"), to_exec))
    }
}

/// Identical events within this window are one Event with a count (client-go's correlator).
const AGGREGATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);
/// Aggregation entries kept before the table is cleared (client-go's LRU holds 4096).
const AGGREGATE_ENTRIES: usize = 4096;

/// `(set uid, type, reason, message)`: what makes two events identical.
type EventKey = (String, String, String, String);
/// `(event name, count, first seen)`.
type Recorded = (String, i32, std::time::Instant);

/// The event recorder: core/v1 Events about StatefulSets, source component
/// `statefulset-controller`, named `<set>.<hex nanos>` as client-go names them. A repeat of an
/// identical event (same set, type, reason and message) within 10 minutes bumps `count` and
/// `lastTimestamp` of the first one instead of creating another (client-go's `EventLogger`).
#[derive(Clone)]
pub struct Events {
    /// The API client.
    client: Client,
    /// This replica's identity (`reportingInstance`).
    instance: String,
    /// Events recorded in the last 10 minutes, for aggregation.
    seen: Arc<Mutex<HashMap<EventKey, Recorded>>>,
}

impl Events {
    /// A recorder writing as `instance`.
    pub fn new(client: Client, instance: String) -> Self {
        Events { client, instance, seen: Arc::default() }
    }

    /// Records one event; failures are logged only (upstream drops them too).
    pub async fn record(&self, set: &StatefulSet, type_: EventType, reason: &str, message: &str) {
        let ns = set.namespace().unwrap_or_default();
        let type_ = if type_ == EventType::Normal { "Normal" } else { "Warning" };
        let key = (set.uid().unwrap_or_default(), type_.to_string(), reason.to_string(), message.to_string());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let now = Timestamp::now();
        let repeat = {
            let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match seen.get_mut(&key) {
                Some((name, count, first)) if first.elapsed() < AGGREGATE_WINDOW => {
                    *count += 1;
                    Some((name.clone(), *count))
                }
                _ => None,
            }
        };
        let result = match repeat {
            Some((name, count)) => {
                let patch = json!({"count": count, "lastTimestamp": Time(now)});
                api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await.map(drop)
            }
            None => {
                let name = format!("{}.{:x}", set.name_any(), now.as_nanosecond());
                let ev = self.event(set, &name, type_, reason, message, now);
                let created = api.create(&PostParams::default(), &ev).await.map(drop);
                if created.is_ok() {
                    let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if seen.len() >= AGGREGATE_ENTRIES {
                        seen.clear();
                    }
                    seen.insert(key, (name, 1, std::time::Instant::now()));
                }
                created
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, reason, "event not recorded");
        }
    }

    fn event(&self, set: &StatefulSet, name: &str, type_: &str, reason: &str, message: &str, now: Timestamp) -> Event {
        Event {
            metadata: ObjectMeta { name: Some(name.into()), namespace: set.namespace(), ..ObjectMeta::default() },
            involved_object: reference(set),
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(type_.into()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            source: Some(EventSource { component: Some(super::CONTROLLER_NAME.into()), host: None }),
            reporting_component: Some(super::CONTROLLER_NAME.into()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        }
    }
}

fn reference(set: &StatefulSet) -> ObjectReference {
    ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("StatefulSet".into()),
        name: set.metadata.name.clone(),
        namespace: set.metadata.namespace.clone(),
        uid: set.metadata.uid.clone(),
        resource_version: set.metadata.resource_version.clone(),
        field_path: None,
    }
}

fn is_reason(e: &kube::Error, reason: &str) -> bool {
    matches!(e, kube::Error::Api(s) if s.reason == reason)
}

/// API error → planner error kind (`apierrors.IsNotFound`, `IsAlreadyExists`, `IsConflict`).
pub fn to_exec(e: kube::Error) -> ExecError {
    let kind = match &e {
        kube::Error::Api(s) if s.code == 404 => ErrorKind::NotFound,
        kube::Error::Api(s) if s.reason == "AlreadyExists" => ErrorKind::AlreadyExists,
        kube::Error::Api(s) if s.code == 409 => ErrorKind::Conflict,
        _ => ErrorKind::Other,
    };
    let message = match e {
        kube::Error::Api(s) => s.message,
        other => other.to_string(),
    };
    ExecError::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16, reason: &str) -> kube::Error {
        let status: kube::core::Status = serde_json::from_value(
            json!({"status": "Failure", "code": code, "reason": reason, "message": format!("{reason} message")}),
        )
        .expect("status");
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn api_errors_map_to_the_kinds_the_planner_acts_on() {
        assert_eq!(to_exec(api_error(404, "NotFound")).kind, ErrorKind::NotFound);
        assert_eq!(to_exec(api_error(409, "AlreadyExists")).kind, ErrorKind::AlreadyExists);
        assert_eq!(to_exec(api_error(409, "Conflict")).kind, ErrorKind::Conflict);
        let other = to_exec(api_error(422, "Invalid"));
        assert_eq!((other.kind, other.message.as_str()), (ErrorKind::Other, "Invalid message"));
    }
}
