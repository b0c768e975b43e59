//! `--manage-statefulsets`: the bundled StatefulSet controller ([`crate::statefulset`]) driven
//! against a real API server, in place of kube-controller-manager's `statefulset-controller`
//! (run that with `--controllers=*,-statefulset-controller`; never both: two controllers
//! would fight over the same pods).
//!
//! What this module owns:
//! - leader election on a `coordination.k8s.io/v1` Lease (kube-lease-manager): every replica
//!   serves DNS, only the holder runs the controller; losing the lease stops its writes at once;
//! - the controller's informers ([`observe`]): StatefulSets, Pods, PVCs and ControllerRevisions
//!   in kube-rs reflector stores (full objects minus `managedFields`; these are the
//!   controller's listers and are separate from the DNS cache's slim copies), and the event
//!   handlers that queue sets as upstream's do (`addPod`/`updatePod`/`deletePod`, set events);
//! - the work queue ([`queue`]) and `--concurrent-statefulset-syncs` workers: one sync plans with
//!   the pure [`crate::statefulset::plan()`] over the listers' view of the set's namespace and
//!   executes the plan with upstream's failure semantics through [`write`];
//! - requeues: `requeue_after` (minReadySeconds) on success, per-key exponential backoff on
//!   failure, `requeue_after_pod_update` on a pod's Ready flip.
//!
//! Garbage collection (cascading deletes, PVC retention via ownerReferences) stays with
//! kube-controller-manager's garbage collector, as upstream.
//!
//! ControllerRevision name collisions (same name, different data): the planner sees every
//! revision of the namespace, not only the set's, so it bumps `status.collisionCount` and takes
//! the next name within the plan, as upstream's `CreateControllerRevision` loop does
//! (`tests/cluster/sts.sh` compares the two on a foreign revision holding the name). Only if
//! the clashing revision is newer than the lister does the create fail; the set is then
//! requeued and the next sync bumps the count: one extra round, the same outcome.

pub mod metrics;
pub mod observe;
pub mod queue;
pub mod write;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;

use crate::statefulset;
use observe::Listers;
use queue::{Queue, SetKey};
use write::{Events, Writes};

/// Reporting controller of Events and field manager name, as upstream's.
pub const CONTROLLER_NAME: &str = "statefulset-controller";

/// What `--manage-statefulsets` needs.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Namespaces to manage (empty: all), the same scope as the DNS watches.
    pub namespaces: Vec<String>,
    /// Sets synced concurrently (`--concurrent-statefulset-syncs`, upstream default 5).
    pub workers: usize,
    /// The Lease's namespace.
    pub lease_namespace: String,
    /// The Lease's name.
    pub lease_name: String,
    /// This replica's holder identity (default: pod name, else host name and pid).
    pub identity: String,
    /// Seconds a lease stays valid without renewal (kube-controller-manager: 15).
    pub lease_duration: u64,
    /// The holder renews this many seconds before expiry (also the tolerated clock skew).
    pub lease_grace: u64,
    /// Planner feature gates (defaults: Kubernetes 1.35's).
    pub planner: statefulset::Options,
}

impl ControllerOptions {
    /// Defaults for everything but the scope.
    pub fn new(namespaces: Vec<String>) -> Self {
        ControllerOptions {
            namespaces,
            workers: 5,
            lease_namespace: "kube-system".into(),
            lease_name: "ordinal-statefulset-controller".into(),
            identity: default_identity(),
            lease_duration: 15,
            lease_grace: 5,
            planner: statefulset::Options::default(),
        }
    }
}

/// `$POD_NAME` (set from the downward API in deploy/), else `<hostname>-<pid>`.
pub fn default_identity() -> String {
    if let Ok(name) = std::env::var("POD_NAME")
        && !name.is_empty()
    {
        return name;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    format!("{}-{}", if host.is_empty() { "ordinal" } else { host }, std::process::id())
}

/// Delay before retrying to set up leader election after an API error.
const LEASE_RETRY: Duration = Duration::from_secs(2);

/// Runs leader election until `shutdown`, and the controller whenever this replica leads.
/// Never fails: API errors are logged and retried, so DNS keeps serving.
pub async fn run(client: Client, opts: ControllerOptions, shutdown: impl std::future::Future<Output = ()>) {
    metrics::METRICS.enable();
    tokio::pin!(shutdown);
    loop {
        let built = LeaseManagerBuilder::new(client.clone(), &opts.lease_name)
            .with_namespace(&opts.lease_namespace)
            .with_identity(&opts.identity)
            .with_duration(opts.lease_duration)
            .with_grace(opts.lease_grace)
            .with_field_manager(format!("ordinal-{}", opts.identity))
            .build();
        let manager = tokio::select! {
            _ = &mut shutdown => return,
            m = built => m,
        };
        let manager = match manager {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, lease = %opts.lease_name, namespace = %opts.lease_namespace,
                    "cannot set up leader election; retrying");
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tokio::time::sleep(LEASE_RETRY) => continue,
                }
            }
        };
        let (mut leading, lease_task) = manager.watch().await;
        let stopping = lead(&client, &opts, &mut leading, &mut shutdown).await;
        drop(leading); // closes the channel: the lease task releases the lease and ends
        match tokio::time::timeout(Duration::from_secs(5), lease_task).await {
            Ok(Ok(Ok(_))) => tracing::info!(identity = %opts.identity, "lease released"),
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "lease task ended with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "lease task panicked"),
            Err(_) => tracing::warn!("lease not released within 5 s; it expires on its own"),
        }
        if stopping {
            return;
        }
        tokio::time::sleep(LEASE_RETRY).await;
    }
}

/// Follows the lease: runs the controller while `leading` is true. Returns true at shutdown,
/// false when the lease task ended (the caller sets leader election up again).
async fn lead(
    client: &Client,
    opts: &ControllerOptions,
    leading: &mut tokio::sync::watch::Receiver<bool>,
    shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> bool {
    loop {
        tokio::select! {
            _ = shutdown.as_mut() => return true,
            r = leading.wait_for(|l| *l) => if r.is_err() { return false },
        }
        tracing::info!(identity = %opts.identity, lease = %opts.lease_name, "acquired the lease: managing StatefulSets");
        let controller = tokio::spawn(Controller::new(client.clone(), opts.clone()).run());
        let abort = controller.abort_handle();
        metrics::METRICS.leader.store(true, std::sync::atomic::Ordering::Relaxed);
        let outcome = tokio::select! {
            _ = shutdown.as_mut() => Some(true),
            r = leading.wait_for(|l| !*l) => r.is_err().then_some(false),
        };
        abort.abort();
        let _ = controller.await;
        metrics::METRICS.leader.store(false, std::sync::atomic::Ordering::Relaxed);
        match outcome {
            Some(stop) => return stop,
            None => tracing::warn!(identity = %opts.identity, "lost the lease: stopped managing StatefulSets"),
        }
    }
}

/// The controller of one leadership term.
struct Controller {
    /// API client for writes.
    client: Client,
    /// Options (scope, workers, gates).
    opts: ControllerOptions,
    /// Event sink shared by every sync (aggregates repeated events).
    events: Events,
}

impl Controller {
    fn new(client: Client, opts: ControllerOptions) -> Self {
        let events = Events::new(client.clone(), opts.identity.clone());
        Controller { client, opts, events }
    }

    /// Starts the informers, waits for their first lists, then syncs sets until aborted.
    async fn run(self) {
        let queue = Queue::default();
        let (listers, informers) = observe::start(&self.client, &self.opts.namespaces, queue.clone());
        listers.wait_until_ready().await;
        let sets = listers.all_sets();
        tracing::info!(statefulsets = sets.len(), "controller caches synced");
        for key in sets {
            queue.add(key);
        }
        let this = Arc::new(self);
        let listers = Arc::new(listers);
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..this.opts.workers.max(1) {
            let (this, listers, queue) = (Arc::clone(&this), Arc::clone(&listers), queue.clone());
            workers.spawn(async move {
                while let Some(key) = queue.get().await {
                    metrics::METRICS.queue_depth.store(queue.len() as u64, Relaxed);
                    this.sync(&listers, &queue, &key).await;
                    queue.done(&key);
                    metrics::METRICS.queue_depth.store(queue.len() as u64, Relaxed);
                }
            });
        }
        // Runs until the leadership term is aborted (dropping the JoinSets stops every task).
        let _keep = informers;
        while workers.join_next().await.is_some() {}
    }

    /// One upstream `sync` of one set.
    async fn sync(&self, listers: &Listers, queue: &Queue, key: &SetKey) {
        let (ns, name) = key;
        let Some(set) = listers.set(ns, name) else {
            return; // deleted: the garbage collector handles its dependents
        };
        let (pods, pvcs, revisions) = (listers.pods(ns), listers.pvcs(ns), listers.revisions(ns));
        let now = k8s_openapi::jiff::Timestamp::now();
        let plan = statefulset::plan(&set, &pods, &pvcs, &revisions, now, &self.opts.planner);
        let writes = Writes::new(&self.client, ns, self.events.clone());
        let (writes, set_ref) = (&writes, &set);
        let failures = plan
            .execute_async(|a| async move {
                metrics::METRICS.writes.fetch_add(1, Relaxed);
                writes.apply(set_ref, &a).await
            })
            .await;
        let actions: Vec<String> = plan.summaries();
        if !actions.is_empty() {
            tracing::info!(namespace = %ns, set = %name, ?actions, failed = failures.len(), "StatefulSet synced");
        }
        for e in &plan.errors {
            tracing::warn!(namespace = %ns, set = %name, error = %e, "StatefulSet sync error");
        }
        for e in &failures {
            tracing::info!(namespace = %ns, set = %name, error = %e, "StatefulSet write failed; requeued with backoff");
        }
        let ok = failures.is_empty() && plan.errors.is_empty();
        (if ok { &metrics::METRICS.syncs_ok } else { &metrics::METRICS.syncs_err }).fetch_add(1, Relaxed);
        if ok {
            queue.forget(key);
            if let Some(d) = plan.requeue_after {
                queue.add_after(key.clone(), d);
            }
        } else {
            queue.add_rate_limited(key.clone());
        }
    }
}
