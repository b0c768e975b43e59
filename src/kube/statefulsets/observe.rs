//! The controller's informers and listers: one kube-rs watcher per kind and scope feeding a
//! reflector store (the only writer of that store; syncs read it), and the event handlers that
//! queue StatefulSets the way upstream's do (`pkg/controller/statefulset/stateful_set.go`):
//!
//! - a StatefulSet added, updated or deleted queues itself;
//! - a pod with a StatefulSet controller reference queues that set (`addPod`, `updatePod`,
//!   `deletePod`), and, when the pod turned Ready and the set has `minReadySeconds`, queues it
//!   again after that long ([`statefulset::requeue_after_pod_update`]);
//! - an orphan pod queues every set of its namespace whose selector matches it (adoption);
//! - PVCs and ControllerRevisions are listers only (upstream has no handlers for them).
//!
//! Stores keep full objects minus `metadata.managedFields` (never needed by the controller, and
//! often the bulk of an object). Watch errors are retried with the DNS watches' backoff.

use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::queue::{Queue, SetKey};
use crate::statefulset::{self, identity::controller_of, selector};

/// Stores of one kind, one per watched scope (all namespaces, or each `--namespaces` entry).
pub struct Lister<K: Resource<DynamicType = ()> + Clone + 'static> {
    /// `(namespace or None for all, store)`.
    stores: Vec<(Option<String>, Store<K>)>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Clone for Lister<K> {
    fn clone(&self) -> Self {
        Lister { stores: self.stores.clone() }
    }
}

impl<K> Lister<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    fn store_for(&self, ns: &str) -> Option<&Store<K>> {
        self.stores.iter().find(|(scope, _)| scope.as_deref().is_none_or(|s| s == ns)).map(|(_, s)| s)
    }

    /// Objects of namespace `ns` (owned copies for the planner).
    pub fn in_namespace(&self, ns: &str) -> Vec<K> {
        self.store_for(ns)
            .map(|s| {
                s.state_filter(|o| o.meta().namespace.as_deref() == Some(ns)).iter().map(|o| (**o).clone()).collect()
            })
            .unwrap_or_default()
    }

    /// One object.
    pub fn get(&self, ns: &str, name: &str) -> Option<Arc<K>> {
        self.store_for(ns)?.get(&ObjectRef::new(name).within(ns))
    }

    /// Every object of every scope.
    pub fn all(&self) -> Vec<Arc<K>> {
        self.stores.iter().flat_map(|(_, s)| s.state()).collect()
    }

    async fn wait_until_ready(&self) {
        for (_, s) in &self.stores {
            // Err only if the writer is gone, i.e. the term is being aborted.
            let _ = s.wait_until_ready().await;
        }
    }
}

/// The controller's listers.
pub struct Listers {
    /// StatefulSets.
    sets: Lister<StatefulSet>,
    /// Pods (all of them: orphans can be adopted).
    pods: Lister<Pod>,
    /// PersistentVolumeClaims.
    pvcs: Lister<PersistentVolumeClaim>,
    /// ControllerRevisions.
    revisions: Lister<ControllerRevision>,
}

impl Listers {
    /// Waits until every store holds its first complete list.
    pub async fn wait_until_ready(&self) {
        self.sets.wait_until_ready().await;
        self.pods.wait_until_ready().await;
        self.pvcs.wait_until_ready().await;
        self.revisions.wait_until_ready().await;
    }

    /// Every set's key.
    pub fn all_sets(&self) -> Vec<SetKey> {
        self.sets.all().iter().map(|s| (s.namespace().unwrap_or_default(), s.name_any())).collect()
    }

    /// One set (an owned copy: the planner and the writes take it by reference).
    pub fn set(&self, ns: &str, name: &str) -> Option<StatefulSet> {
        self.sets.get(ns, name).map(|s| (*s).clone())
    }

    /// Pods of a namespace.
    pub fn pods(&self, ns: &str) -> Vec<Pod> {
        self.pods.in_namespace(ns)
    }

    /// PVCs of a namespace.
    pub fn pvcs(&self, ns: &str) -> Vec<PersistentVolumeClaim> {
        self.pvcs.in_namespace(ns)
    }

    /// ControllerRevisions of a namespace.
    pub fn revisions(&self, ns: &str) -> Vec<ControllerRevision> {
        self.revisions.in_namespace(ns)
    }
}

/// What an informer calls for each object event: the object before (if known) and after
/// (`None` for a delete).
type Handler<K> = Arc<dyn Fn(Option<&K>, Option<&K>) + Send + Sync>;

/// Starts every informer. The returned tasks run until dropped (end of a leadership term).
pub fn start(client: &Client, namespaces: &[String], queue: Queue) -> (Listers, JoinSet<()>) {
    let scopes: Vec<Option<String>> =
        if namespaces.is_empty() { vec![None] } else { namespaces.iter().cloned().map(Some).collect() };
    let mut tasks = JoinSet::new();
    let set_handler: Handler<StatefulSet> = {
        let queue = queue.clone();
        Arc::new(move |old, new| {
            if let Some(s) = new.or(old) {
                queue.add((s.namespace().unwrap_or_default(), s.name_any()));
            }
        })
    };
    let sets = informer(client, &scopes, &mut tasks, set_handler);
    let pod_handler: Handler<Pod> = {
        let (queue, sets) = (queue.clone(), sets.clone());
        Arc::new(move |old, new| on_pod(&queue, &sets, old, new))
    };
    let pods = informer(client, &scopes, &mut tasks, pod_handler);
    let pvcs = informer(client, &scopes, &mut tasks, Arc::new(|_, _| {}));
    let revisions = informer(client, &scopes, &mut tasks, Arc::new(|_, _| {}));
    (Listers { sets, pods, pvcs, revisions }, tasks)
}

/// Upstream's pod handlers.
fn on_pod(queue: &Queue, sets: &Lister<StatefulSet>, old: Option<&Pod>, new: Option<&Pod>) {
    let Some(pod) = new.or(old) else { return };
    let ns = pod.namespace().unwrap_or_default();
    match controller_of(&pod.metadata).filter(|r| r.kind == "StatefulSet" && r.api_version.starts_with("apps/")) {
        Some(owner) => {
            let Some(set) = sets.get(&ns, &owner.name).filter(|s| s.metadata.uid.as_ref() == Some(&owner.uid)) else {
                return;
            };
            let key = (ns, owner.name.clone());
            if let (Some(old), Some(new)) = (old, new)
                && let Some(delay) = statefulset::requeue_after_pod_update(&set, old, new)
            {
                queue.add_after(key.clone(), delay);
            }
            queue.add(key);
        }
        // A deleted orphan concerns nobody; a live one may be adopted.
        None if new.is_some() => {
            for set in sets.in_namespace(&ns) {
                let matches = set
                    .spec
                    .as_ref()
                    .is_some_and(|s| selector::matches(Some(&s.selector), pod.metadata.labels.as_ref()));
                if matches {
                    queue.add((ns.clone(), set.name_any()));
                }
            }
        }
        None => {}
    }
}

/// Starts one watcher per scope for `K`, each the single writer of its store.
fn informer<K>(client: &Client, scopes: &[Option<String>], tasks: &mut JoinSet<()>, handler: Handler<K>) -> Lister<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let mut stores = Vec::new();
    for scope in scopes {
        let api: Api<K> = match scope {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let writer = Writer::<K>::default();
        stores.push((scope.clone(), writer.as_reader()));
        let span = tracing::info_span!("informer", kind = %K::kind(&()), namespace = scope.as_deref().unwrap_or("*"));
        tasks.spawn(inform(api, writer, Arc::clone(&handler)).instrument(span));
    }
    Lister { stores }
}

/// One informer: watch (relisting as needed), update the store, call the handler.
async fn inform<K>(api: Api<K>, mut writer: Writer<K>, handler: Handler<K>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let reader = writer.as_reader();
    let strip = |o: &mut K| o.meta_mut().managed_fields = None;
    let mut stream = watcher::watcher(api, watcher::Config::default()).modify(strip).boxed();
    let mut backoff = crate::kube::Backoff::new();
    while let Some(item) = stream.next().await {
        let event = match item {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!(error = %e, "controller watch failed; retrying");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        if !matches!(event, watcher::Event::Init) {
            backoff.reset();
        }
        let old = match &event {
            // A delete's handler gets the deleted object itself; only updates need the old one.
            watcher::Event::Apply(o) | watcher::Event::InitApply(o) => reader.get(&ObjectRef::from_obj(o)),
            _ => None,
        };
        writer.apply_watcher_event(&event);
        match &event {
            watcher::Event::Apply(o) | watcher::Event::InitApply(o) => handler(old.as_deref(), Some(o)),
            watcher::Event::Delete(o) => handler(Some(o), None),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(name: &str, uid: &str, app: &str) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "uid": uid},
            "spec": {"serviceName": name, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": []}}}
        }))
        .expect("set")
    }

    fn pod(name: &str, app: &str, owner: Option<(&str, &str)>) -> Pod {
        let mut v = json!({"metadata": {"name": name, "namespace": "default", "labels": {"app": app}}});
        if let Some((set, uid)) = owner {
            v["metadata"]["ownerReferences"] =
                json!([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": set, "uid": uid, "controller": true}]);
        }
        serde_json::from_value(v).expect("pod")
    }

    fn lister(sets: Vec<StatefulSet>) -> Lister<StatefulSet> {
        let mut writer = Writer::<StatefulSet>::default();
        writer.apply_watcher_event(&watcher::Event::Init);
        for s in sets {
            writer.apply_watcher_event(&watcher::Event::InitApply(s));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
        Lister { stores: vec![(None, writer.as_reader())] }
    }

    async fn drained(q: &Queue) -> Vec<SetKey> {
        let mut out = Vec::new();
        while !q.is_empty() {
            let k = q.get().await.expect("key");
            q.done(&k);
            out.push(k);
        }
        out.sort();
        out
    }

    fn key(name: &str) -> SetKey {
        ("default".into(), name.into())
    }

    #[tokio::test]
    async fn owned_pods_queue_their_set_and_orphans_every_matching_set() {
        let sets = lister(vec![set("web", "u1", "nginx"), set("web2", "u2", "nginx"), set("db", "u3", "mysql")]);
        let q = Queue::default();
        on_pod(&q, &sets, None, Some(&pod("web-0", "nginx", Some(("web", "u1")))));
        assert_eq!(drained(&q).await, vec![key("web")]);
        // An owner reference to a replaced set (other UID) queues nothing.
        on_pod(&q, &sets, None, Some(&pod("web-0", "nginx", Some(("web", "old")))));
        assert!(drained(&q).await.is_empty());
        // An orphan may be adopted by every set whose selector matches it.
        on_pod(&q, &sets, None, Some(&pod("stray", "nginx", None)));
        assert_eq!(drained(&q).await, vec![key("web"), key("web2")]);
        // A deleted orphan concerns nobody; a deleted owned pod queues its set.
        on_pod(&q, &sets, Some(&pod("stray", "nginx", None)), None);
        assert!(drained(&q).await.is_empty());
        on_pod(&q, &sets, Some(&pod("db-0", "mysql", Some(("db", "u3")))), None);
        assert_eq!(drained(&q).await, vec![key("db")]);
    }

    #[tokio::test]
    async fn namespaced_scopes_only_see_their_namespace() {
        let mut writer = Writer::<Pod>::default();
        writer.apply_watcher_event(&watcher::Event::Apply(pod("web-0", "nginx", None)));
        let pods = Lister { stores: vec![(Some("default".to_string()), writer.as_reader())] };
        assert_eq!(pods.in_namespace("default").len(), 1);
        assert!(pods.in_namespace("other").is_empty());
        assert!(pods.get("other", "web-0").is_none());
        assert!(pods.get("default", "web-0").is_some());
    }
}
