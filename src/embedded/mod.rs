//! The embedded cluster: a small, persistent Kubernetes in-process, run by the StatefulSet
//! controller and a simulated kubelet, feeding the DNS cache directly.
//!
//! Who owns what (**one writer, many readers**):
//! - [`Cluster`] owns the [`store::Store`], the DNS [`Cache`] writer, the IP allocators and the
//!   kubelet's node state. Exactly one task owns the `Cluster` ([`run`]); everything else —
//!   HTTP handlers, kubelet timers, the manifest watcher — sends it closures through a
//!   [`Handle`] and gets answers back. No lock, no shared mutable state.
//! - One **step** = the closures queued at that moment (at most [`MAX_BATCH`]) + [`Cluster::settle`]: the write, then the controllers to a fixed
//!   point (StatefulSets, EndpointSlices, garbage collection), then one durable commit (WAL,
//!   fsync), then the changes go to the DNS cache (`flush`) and to watchers. Only then is the
//!   request answered. So a readiness change, the EndpointSlice update it causes and the DNS
//!   answer that follows are one step.
//! - [`store`]: objects, resourceVersions, persistence. [`controller`]: the StatefulSet driver
//!   (around the pure [`crate::statefulset::plan()`]), EndpointSlices, GC, cluster IPs, events.
//!   [`kubelet`]: pod lifecycle timers and failure injection. [`api`]: the HTTP control API
//!   (`docs/control-api.md`). [`apply`]: manifests in (`/apply`, `-f` files).

pub mod api;
pub mod apply;
pub mod controller;
pub mod files;
pub mod kubelet;
pub mod labels;
pub mod store;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::cache::{self, Cache};
use store::{Change, EventType, Key, Kind, Store, StoreError};

/// Settings of the embedded cluster (from `ordinal serve` flags).
#[derive(Debug, Clone)]
pub struct Config {
    /// `None`: nothing on disk (tests).
    pub state_dir: Option<PathBuf>,
    pub service_cidr: (Ipv4Addr, u8),
    pub pod_cidr: (Ipv4Addr, u8),
    pub nodes: usize,
    pub start_delay: Duration,
    pub ready_delay: Duration,
    pub max_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_dir: None,
            service_cidr: (Ipv4Addr::new(10, 96, 0, 0), 16),
            pod_cidr: (Ipv4Addr::new(10, 244, 0, 0), 16),
            nodes: 3,
            start_delay: Duration::from_millis(200),
            ready_delay: Duration::from_millis(300),
            max_grace: Duration::from_secs(1),
        }
    }
}

/// An API error in the Kubernetes `Status` shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }
    pub fn not_found(kind: Kind, name: &str) -> Self {
        let mut e = Self::new(404, "NotFound", format!("{} {name:?} not found", kind.qualified_resource()));
        e.details = Some(json!({"name": name, "kind": kind.plural(), "group": kind.group()}));
        e
    }
    pub fn already_exists(kind: Kind, name: &str) -> Self {
        let mut e = Self::new(409, "AlreadyExists", format!("{} {name:?} already exists", kind.qualified_resource()));
        e.details = Some(json!({"name": name, "kind": kind.plural(), "group": kind.group()}));
        e
    }
    pub fn with_message(mut self, m: String) -> Self {
        self.message = m;
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }
    pub fn invalid(message: impl Into<String>, details: Value) -> Self {
        ApiError { code: 422, reason: "Invalid", message: message.into(), details: Some(details) }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }
    /// The `Status` object.
    pub fn status(&self) -> Value {
        let mut v = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code});
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }
    pub(crate) fn from_write(e: store::WriteError, kind: Kind, name: &str) -> Self {
        match e {
            store::WriteError::NotFound => Self::not_found(kind, name),
            store::WriteError::AlreadyExists => Self::already_exists(kind, name),
            store::WriteError::Conflict(m) => Self::new(409, "Conflict", m),
        }
    }
}

/// A watch event as sent to watchers.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub type_: EventType,
    pub key: Key,
    pub object: Value,
    /// The object before a `Modified` change (label-selector watches turn a change into or out
    /// of the selection into ADDED/DELETED, as the API server does).
    pub old: Option<Value>,
    pub rv: u64,
}

/// A step sent to the cluster task.
pub type Cmd = Box<dyn FnOnce(&mut Cluster) + Send>;

/// An answer held back until the step that made it is committed (`true`) or failed.
type Reply = Box<dyn FnOnce(bool) + Send>;

/// Committed changes kept for watches resuming from a resourceVersion.
pub const WATCH_HISTORY: usize = 16384;

/// Commands run together before one settle + commit (group commit).
pub const MAX_BATCH: usize = 256;

/// The cluster task stopped (shutdown or a fatal store error).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the embedded cluster has stopped")]
pub struct Stopped;

/// How everyone else talks to the [`Cluster`] task. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Cmd>,
    events: broadcast::Sender<Arc<WatchEvent>>,
}

impl Handle {
    /// Runs `f` on the cluster as one step (settled and committed before the answer).
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Cluster) -> R + Send + 'static,
    ) -> Result<R, Stopped> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Box::new(move |c: &mut Cluster| {
                let r = f(c);
                c.replies.push(Box::new(move |ok| {
                    if ok {
                        let _ = tx.send(r);
                    }
                }));
            }))
            .map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    /// Subscribes to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.events.subscribe()
    }
}

/// Simple sequential IPv4 allocator over a CIDR.
#[derive(Debug)]
pub struct Ipam {
    base: u32,
    size: u32,
    next: u32,
    used: BTreeSet<Ipv4Addr>,
}

impl Ipam {
    pub fn new((net, prefix): (Ipv4Addr, u8)) -> Ipam {
        let size = if prefix >= 32 { 1 } else { 1u32 << (32 - prefix) };
        let base = u32::from(net) & !(size.wrapping_sub(1));
        Ipam { base, size, next: 1, used: BTreeSet::new() }
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip).wrapping_sub(self.base) < self.size
    }
    pub fn reserve(&mut self, ip: Ipv4Addr) -> bool {
        self.used.insert(ip)
    }
    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&ip);
    }
    /// The next free address after the last one handed out (so a re-created pod gets a new IP).
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        for _ in 0..self.size {
            let off = self.next;
            self.next = if self.next + 2 >= self.size { 1 } else { self.next + 1 };
            let ip = Ipv4Addr::from(self.base + off);
            if self.used.insert(ip) {
                return Some(ip);
            }
        }
        None
    }
}

/// The embedded cluster's state, owned by one task. See the module docs.
pub struct Cluster {
    pub(crate) store: Store,
    cache: Cache,
    pub(crate) cfg: Config,
    tx: mpsc::UnboundedSender<Cmd>,
    pub(crate) events: broadcast::Sender<Arc<WatchEvent>>,
    pub(crate) service_ips: Ipam,
    pub(crate) kubelet: kubelet::Kubelet,
    /// Namespaces whose pods/sets/services changed since the controllers last looked.
    pub(crate) dirty_ns: BTreeSet<String>,
    /// Something was deleted: run garbage collection.
    pub(crate) gc_pending: bool,
    /// Pending requeue timers (namespace, delay in ms).
    pub(crate) requeued: std::collections::HashSet<(String, u64)>,
    /// Recent committed changes, for watches that resume from a resourceVersion.
    pub(crate) history: std::collections::VecDeque<Arc<WatchEvent>>,
    /// Events in the store (approximate; trimmed past a cap).
    pub(crate) events_stored: usize,
    /// Answers of the current batch, sent after its commit.
    replies: Vec<Reply>,
    fatal: Option<StoreError>,
}

impl Cluster {
    /// Opens the state dir and builds the cluster; [`run`] drives it.
    pub fn open(cfg: Config, cache: Cache) -> Result<(Cluster, Handle, mpsc::UnboundedReceiver<Cmd>), StoreError> {
        let store = match &cfg.state_dir {
            Some(dir) => Store::open(dir)?,
            None => Store::in_memory(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(16384);
        let mut c = Cluster {
            store,
            cache,
            service_ips: Ipam::new(cfg.service_cidr),
            kubelet: kubelet::Kubelet::new(&cfg),
            cfg,
            tx: tx.clone(),
            events: events.clone(),
            dirty_ns: BTreeSet::new(),
            gc_pending: true,
            requeued: Default::default(),
            replies: Vec::new(),
            events_stored: 0,
            history: std::collections::VecDeque::new(),
            fatal: None,
        };
        c.boot();
        Ok((c, Handle { tx, events }, rx))
    }

    /// After replay: load everything into the DNS cache, rebuild allocators, make sure the
    /// default namespaces exist, restart kubelet timers and let the controllers resume.
    fn boot(&mut self) {
        for kind in [Kind::Namespace, Kind::Service, Kind::EndpointSlice, Kind::Pod] {
            let objs: Vec<cache::Object> =
                self.store.list(kind, None).filter_map(|v| to_cache_object(kind, v)).collect();
            let ckind = match kind {
                Kind::Namespace => cache::Kind::Namespace,
                Kind::Service => cache::Kind::Service,
                Kind::EndpointSlice => cache::Kind::EndpointSlice,
                _ => cache::Kind::Pod,
            };
            for (key, err) in self.cache.replace(ckind, &objs) {
                tracing::warn!(object = %key, error = %err, "stored object not served by DNS");
            }
        }
        self.cache.flush();
        let ips: Vec<Ipv4Addr> = self
            .store
            .list(Kind::Service, None)
            .filter_map(|s| s.pointer("/spec/clusterIP").and_then(Value::as_str).and_then(|ip| ip.parse().ok()))
            .collect();
        for ip in ips {
            self.service_ips.reserve(ip);
        }
        for ns in ["default", "kube-system"] {
            if self.store.get(Kind::Namespace, "", ns).is_none() {
                let _ = self.store.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}));
            }
        }
        self.events_stored = self.store.list(Kind::Event, None).count();
        self.kubelet_boot();
        let namespaces: Vec<String> = self
            .store
            .list(Kind::Namespace, None)
            .filter_map(|n| n.pointer("/metadata/name")?.as_str().map(str::to_string))
            .collect();
        self.dirty_ns.extend(namespaces);
        self.gc_pending = true;
        let _ = self.settle();
    }

    /// The DNS cache is complete (after replay and startup manifests).
    pub fn mark_synced(&mut self) {
        self.cache.mark_synced();
    }

    /// A sender for delayed steps (kubelet timers, requeues).
    pub(crate) fn after(&self, delay: Duration, f: impl FnOnce(&mut Cluster) + Send + 'static) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(Box::new(move |c: &mut Cluster| f(c)));
        });
    }

    /// Changes after `rv`, or `None` if they are no longer all kept (the client must re-list).
    pub fn changes_since(&self, rv: u64) -> Option<Vec<Arc<WatchEvent>>> {
        if rv >= self.store.resource_version() {
            return Some(Vec::new());
        }
        let oldest = self.history.front()?.rv;
        if rv + 1 < oldest {
            return None;
        }
        Some(self.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    /// Read access to the store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs the controllers to a fixed point, then commits: WAL + fsync, DNS cache + flush,
    /// watchers. Errors are fatal (the cluster task stops; nothing more is acknowledged).
    pub fn settle(&mut self) -> Result<(), Stopped> {
        if self.fatal.is_some() {
            return Err(Stopped);
        }
        for _ in 0..8 {
            let before = self.store.resource_version();
            self.run_controllers();
            if self.store.resource_version() == before {
                break;
            }
        }
        let changes = match self.store.commit() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("{e}");
                self.fatal = Some(e);
                return Err(Stopped);
            }
        };
        self.publish(changes);
        Ok(())
    }

    fn publish(&mut self, changes: Vec<Change>) {
        let mut dns = false;
        for ch in changes {
            if ch.key.kind.feeds_dns() {
                dns = true;
                match ch.type_ {
                    EventType::Deleted => {
                        let ckey = crate::cluster::ObjectKey {
                            namespace: if ch.key.kind == Kind::Namespace {
                                ch.key.name.clone()
                            } else {
                                ch.key.ns.clone()
                            },
                            name: ch.key.name.clone(),
                        };
                        let ckind = match ch.key.kind {
                            Kind::Namespace => cache::Kind::Namespace,
                            Kind::Service => cache::Kind::Service,
                            Kind::EndpointSlice => cache::Kind::EndpointSlice,
                            _ => cache::Kind::Pod,
                        };
                        self.cache.remove(ckind, &ckey);
                    }
                    _ => {
                        if let Some(o) = to_cache_object(ch.key.kind, &ch.object)
                            && let Err(e) = self.cache.upsert(&o)
                        {
                            tracing::warn!(object = ?ch.key, error = %e, "object not served by DNS");
                        }
                    }
                }
            }
            let rv = ch
                .object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let ev = Arc::new(WatchEvent { type_: ch.type_, key: ch.key, object: ch.object, old: ch.old, rv });
            if self.history.len() >= WATCH_HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(Arc::clone(&ev));
            let _ = self.events.send(ev);
        }
        if dns {
            self.cache.flush();
        }
    }

    fn run_controllers(&mut self) {
        let dirty = std::mem::take(&mut self.dirty_ns);
        for ns in &dirty {
            self.sync_statefulsets(ns);
        }
        if self.gc_pending {
            self.gc_pending = false;
            self.collect_garbage();
        }
        let mut dirty = dirty;
        dirty.extend(std::mem::take(&mut self.dirty_ns));
        for ns in &dirty {
            self.sync_endpoint_slices(ns);
        }
        // Writes made by the slice controller do not need another StatefulSet pass, but pod
        // writes do: keep what was dirtied again for the next round.
    }

    /// Marks an object's namespace for the controllers.
    pub(crate) fn touch(&mut self, key: &Key) {
        if matches!(
            key.kind,
            Kind::Pod | Kind::PersistentVolumeClaim | Kind::StatefulSet | Kind::ControllerRevision | Kind::Service
        ) {
            self.dirty_ns.insert(key.ns.clone());
        }
    }

    /// Create through the store, with the API server's side effects.
    pub(crate) fn create(&mut self, obj: Value) -> Result<Value, ApiError> {
        let key = Key::of(&obj).ok_or_else(|| ApiError::bad_request("object has no kind or name"))?;
        let obj = self.admit(obj, None)?;
        let stored = self.store.create(obj).map_err(|e| ApiError::from_write(e, key.kind, &key.name))?;
        self.touch(&key);
        if key.kind == Kind::Pod {
            let node = stored.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("").to_string();
            let msg = format!("Successfully assigned {}/{} to {node}", key.ns, key.name);
            self.record_event(&stored, "Normal", "Scheduled", &msg, "default-scheduler");
            self.kubelet_track(&key);
        }
        Ok(stored)
    }

    /// Update through the store, with the API server's side effects.
    pub(crate) fn update(&mut self, obj: Value) -> Result<Value, ApiError> {
        let key = Key::of(&obj).ok_or_else(|| ApiError::bad_request("object has no kind or name"))?;
        let old = self.store.get_key(&key).cloned();
        let obj = self.admit(obj, old.as_ref())?;
        let stored = self.store.update(obj).map_err(|e| ApiError::from_write(e, key.kind, &key.name))?;
        self.touch(&key);
        Ok(stored)
    }

    /// Removes an object now (no grace), releasing what it held.
    pub(crate) fn remove_now(&mut self, key: &Key) -> Option<Value> {
        let obj = self.store.remove(key)?;
        self.touch(key);
        self.gc_pending = true;
        match key.kind {
            Kind::Pod => self.kubelet_forget(&obj),
            Kind::Service => {
                if let Some(ip) = obj.pointer("/spec/clusterIP").and_then(Value::as_str).and_then(|ip| ip.parse().ok())
                {
                    self.service_ips.release(ip);
                }
            }
            _ => {}
        }
        Some(obj)
    }
}

/// The typed form the DNS cache takes.
fn to_cache_object(kind: Kind, v: &Value) -> Option<cache::Object> {
    let r = match kind {
        Kind::Namespace => serde_json::from_value(v.clone()).map(cache::Object::Namespace),
        Kind::Service => serde_json::from_value(v.clone()).map(cache::Object::Service),
        Kind::EndpointSlice => serde_json::from_value(v.clone()).map(cache::Object::EndpointSlice),
        Kind::Pod => serde_json::from_value(v.clone()).map(cache::Object::Pod),
        _ => return None,
    };
    r.map_err(|e| tracing::warn!(?kind, error = %e, "cannot decode a stored object for DNS")).ok()
}

/// Drives the cluster: runs each step until `shutdown` resolves. Returns an error if the store
/// failed (nothing after that was acknowledged).
pub async fn run(
    mut cluster: Cluster,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StoreError> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { return Ok(()) };
                // Everything already queued runs in this step: one settle, one fsync.
                cmd(&mut cluster);
                let mut n = 1;
                while n < MAX_BATCH && let Ok(cmd) = rx.try_recv() {
                    cmd(&mut cluster);
                    n += 1;
                }
                let ok = cluster.settle().is_ok();
                for reply in std::mem::take(&mut cluster.replies) {
                    reply(ok);
                }
                if let Some(e) = cluster.fatal.take() {
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::ZoneConfig;

    const WEB: &str = "
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec: {clusterIP: None, selector: {app: nginx}, ports: [{port: 80, name: web}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: nginx}]}
";

    fn ready(v: &Value) -> bool {
        v.pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
    }

    #[tokio::test(start_paused = true)]
    async fn ordered_ready_creation_on_a_paused_clock() {
        let (cache, _zone) = Cache::new(ZoneConfig::default());
        let (cluster, handle, rx) = Cluster::open(Config::default(), cache).unwrap();
        tokio::spawn(run(cluster, rx, std::future::pending()));
        let res = handle.call(|c| c.apply_text("-", WEB)).await.unwrap().unwrap();
        assert_eq!(res.iter().map(|r| r.action).collect::<Vec<_>>(), ["created", "created"]);
        let mut seen = 0;
        for _ in 0..200 {
            let pods: Vec<Value> =
                handle.call(|c| c.store().list(Kind::Pod, Some("default")).cloned().collect()).await.unwrap();
            // Every pod but the newest is Running and Ready (OrderedReady).
            for p in pods.iter().take(pods.len().saturating_sub(1)) {
                assert!(ready(p), "a later pod exists before {} is ready", p["metadata"]["name"]);
            }
            seen = seen.max(pods.len());
            if pods.len() == 3 && pods.iter().all(ready) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen, 3);
        let set = handle.call(|c| c.store().get(Kind::StatefulSet, "default", "web").cloned()).await.unwrap().unwrap();
        assert_eq!(set["status"]["readyReplicas"], 3);
        let svc = handle.call(|c| c.store().get(Kind::Service, "default", "nginx").cloned()).await.unwrap().unwrap();
        assert_eq!(svc["spec"]["clusterIP"], "None");
        let slice = handle
            .call(|c| c.store().get(Kind::EndpointSlice, "default", "nginx-ipv4").cloned())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(slice["endpoints"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn ipam_hands_out_fresh_addresses_and_skips_used_ones() {
        let mut ipam = Ipam::new((Ipv4Addr::new(10, 96, 0, 0), 30));
        assert!(ipam.reserve(Ipv4Addr::new(10, 96, 0, 1)));
        assert_eq!(ipam.allocate(), Some(Ipv4Addr::new(10, 96, 0, 2)));
        assert_eq!(ipam.allocate(), None);
        ipam.release(Ipv4Addr::new(10, 96, 0, 1));
        assert_eq!(ipam.allocate(), Some(Ipv4Addr::new(10, 96, 0, 1)));
        assert!(ipam.contains(Ipv4Addr::new(10, 96, 0, 3)) && !ipam.contains(Ipv4Addr::new(10, 96, 0, 4)));
    }
}
