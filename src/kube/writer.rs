//! The single writer: watch events of every stream in, cache changes out.
//!
//! Sans-IO. Each watch stream (one per kind, or one per kind and namespace when
//! scoped with `--namespaces`) delivers kube-runtime watcher events, mapped to
//! [`Change`]. A (re)list is `Init`, `InitApply`*, `InitDone`: the objects are
//! buffered and applied at `InitDone` with [`Cache::replace`], so objects deleted
//! while the watch was down disappear then, and the previous view keeps serving
//! until the new list is complete (no NXDOMAIN blip). `Apply`/`Delete` are
//! upserts/removals. The cache counts as synced (negative answers stop being
//! SERVFAIL, `/ready` turns 200) once every stream delivered its first `InitDone`.
//!
//! When several streams share a kind (per-namespace watches), `replace` would drop
//! the other namespaces' objects, so each such stream remembers the keys it
//! delivered and removes only its own at a relist (kubert's `index::namespaced`).
//!
//! With Pods watched, Service, EndpointSlice and Pod changes also pass through the
//! fast readiness path ([`super::fast`]): slices reach the cache with endpoint
//! readiness taken from the pods, plus provisional endpoints for ready pods the
//! EndpointSlice controller has not added yet.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering;

use super::fast::{FastPath, PodState};
use super::metrics::{METRICS, ServiceKindLabel};
use crate::cache::{Cache, Kind, Object};
use crate::cluster::ObjectKey;

/// Identifies one watch stream (its index in [`Writer::new`]'s list).
pub type StreamId = usize;

/// One watcher event, kind-erased.
#[derive(Debug, Clone)]
pub enum Change {
    /// A (re)list starts.
    Init,
    /// An object of the (re)list.
    InitApply(Object),
    /// The (re)list is complete.
    InitDone,
    /// An object was added or modified.
    Apply(Object),
    /// An object was deleted.
    Delete(Object),
}

/// What one stream watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// The kind.
    pub kind: Kind,
    /// The namespace, or all.
    pub namespace: Option<String>,
}

struct Stream {
    kind: Kind,
    namespace: Option<String>,
    /// Objects of a relist in progress.
    buffer: Option<Vec<Object>>,
    /// Pods of a relist in progress, compact (a slimmed `Pod` is still kilobytes inline,
    /// and a relist of 10,000 would double the memory for a moment).
    pod_buffer: Option<Vec<(ObjectKey, PodState)>>,
    /// Whether the first list completed.
    listed: bool,
    /// Keys this stream delivered, when it shares its kind with other streams.
    owned: Option<HashSet<ObjectKey>>,
    /// Relists completed (for logs and tests).
    relists: u64,
}

/// What applying a change did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The cache has unflushed changes.
    pub dirty: bool,
    /// This change completed the first sync of all streams.
    pub synced_now: bool,
    /// This change completed a relist (not the first list).
    pub relisted: bool,
}

/// Owns the cache and applies watch events to it. See the module docs.
pub struct Writer {
    cache: Cache,
    streams: Vec<Stream>,
    synced: bool,
    /// The fast readiness path, when Pods are watched.
    fast: Option<FastPath>,
    /// Each Service's kind, for the programming-latency metric's label.
    svc_kinds: HashMap<ObjectKey, ServiceKindLabel>,
}

impl Writer {
    /// A writer over `cache` for the given streams. `namespaces` (scoped mode) are
    /// declared to exist, since a scoped watch has no Namespace stream.
    pub fn new(mut cache: Cache, specs: &[StreamSpec], namespaces: &[String]) -> Writer {
        let streams = specs
            .iter()
            .map(|s| {
                // Pod relists go through the compact buffer; the fast path's index names the
                // pods a relist dropped, so Pod streams keep no key set of their own.
                let owned = s.kind != Kind::Pod && specs.iter().filter(|o| o.kind == s.kind).count() > 1;
                Stream {
                    kind: s.kind,
                    namespace: s.namespace.clone(),
                    buffer: None,
                    pod_buffer: None,
                    listed: false,
                    owned: owned.then(HashSet::new),
                    relists: 0,
                }
            })
            .collect();
        for ns in namespaces {
            let obj = Object::Namespace(k8s_openapi::api::core::v1::Namespace {
                metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    name: Some(ns.clone()),
                    ..Default::default()
                },
                ..Default::default()
            });
            let _ = cache.upsert(&obj);
        }
        let fast = specs.iter().any(|s| s.kind == Kind::Pod).then(FastPath::default);
        Writer { cache, streams, synced: specs.is_empty(), fast, svc_kinds: HashMap::new() }
    }

    /// The fast readiness path's state, if enabled.
    pub fn fast(&self) -> Option<&FastPath> {
        self.fast.as_ref()
    }

    /// Routes a change through the fast path: records the object, swaps a slice for
    /// its effective version, and returns the services to re-sync afterwards.
    fn fast_in(&mut self, change: Change) -> (Change, Vec<ObjectKey>) {
        let Some(fast) = &mut self.fast else { return (change, Vec::new()) };
        match change {
            Change::Apply(obj) => {
                let affected = match &obj {
                    Object::Service(s) => fast.put_service(s),
                    Object::Pod(p) => fast.put_pod(p),
                    Object::EndpointSlice(s) => {
                        let affected = fast.put_slice(s);
                        return (Change::Apply(Object::EndpointSlice(fast.effective(s))), affected);
                    }
                    _ => Vec::new(),
                };
                (Change::Apply(obj), affected)
            }
            Change::Delete(obj) => {
                let affected = match (obj.kind(), obj.key()) {
                    (Kind::Service, Some(k)) => fast.remove_service(&k),
                    (Kind::Pod, Some(k)) => fast.remove_pod(&k),
                    (Kind::EndpointSlice, Some(k)) => fast.remove_slice(&k),
                    _ => Vec::new(),
                };
                (Change::Delete(obj), affected)
            }
            // relists are handled at InitDone, where the whole list is known
            other => (other, Vec::new()),
        }
    }

    /// The cache (for flushing, counts, and the startup timeout).
    pub fn cache(&mut self) -> &mut Cache {
        &mut self.cache
    }

    /// Whether every stream delivered its first complete list.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Streams that have not completed their first list (for the startup-timeout log).
    pub fn pending(&self) -> Vec<Kind> {
        self.streams.iter().filter(|s| !s.listed).map(|s| s.kind).collect()
    }

    /// Applies one change of stream `id`. Does not flush.
    pub fn apply(&mut self, id: StreamId, change: Change) -> Applied {
        let Some(stream) = self.streams.get(id) else {
            tracing::error!(stream = id, "event from an unknown stream; ignored");
            return Applied::default();
        };
        let (kind, namespace) = (stream.kind, stream.namespace.clone());
        self.observe(kind, namespace.as_deref(), id, &change);
        let (change, affected) = self.fast_in(change);
        let relist_done = matches!(change, Change::InitDone);
        let mut out = self.apply_to_cache(id, change);
        if let Some(fast) = &mut self.fast {
            let resync = if relist_done { fast.all_services() } else { affected };
            let resync: BTreeSet<ObjectKey> = resync.into_iter().collect();
            out.dirty |= !resync.is_empty();
            for svc in &resync {
                fast.sync(&mut self.cache, svc);
            }
            METRICS.overrides.store(fast.overrides, Ordering::Relaxed);
            METRICS.provisional.store(fast.provisional_published, Ordering::Relaxed);
        }
        if out.relisted {
            METRICS.relist(kind);
        }
        out
    }

    /// Metrics bookkeeping: Service kinds, and the DNS programming latency of slice changes.
    fn observe(&mut self, kind: Kind, namespace: Option<&str>, id: StreamId, change: &Change) {
        match (kind, change) {
            (Kind::Service, Change::Apply(Object::Service(s))) => {
                if let Some(key) = Object::Service(s.clone()).key() {
                    self.svc_kinds.insert(key, service_kind(s));
                }
            }
            (Kind::Service, Change::Delete(obj)) => {
                if let Some(key) = obj.key() {
                    self.svc_kinds.remove(&key);
                }
            }
            (Kind::Service, Change::InitDone) => {
                self.svc_kinds.retain(|k, _| namespace.is_some_and(|ns| k.namespace != ns));
                for obj in self.streams[id].buffer.iter().flatten() {
                    if let (Object::Service(s), Some(key)) = (obj, obj.key()) {
                        self.svc_kinds.insert(key, service_kind(s));
                    }
                }
            }
            (Kind::EndpointSlice, Change::Apply(Object::EndpointSlice(s))) => {
                let trigger = s.metadata.annotations.as_ref().and_then(|a| a.get(super::slim::TRIGGER_TIME));
                let Some(t) = trigger.and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok()) else { return };
                let svc = s.metadata.labels.as_ref().and_then(|l| l.get(crate::cluster::SERVICE_NAME_LABEL));
                let Some(label) =
                    svc.and_then(|n| self.svc_kinds.get(&ObjectKey::new(s.metadata.namespace.as_deref(), n)))
                else {
                    return;
                };
                let secs = k8s_openapi::jiff::Timestamp::now().duration_since(t).as_secs_f64();
                METRICS.programming(*label, secs);
            }
            _ => {}
        }
    }

    /// Bookkeeping at the end of a (re)list of stream `id`.
    fn list_done(&mut self, id: StreamId) -> Applied {
        let mut out = Applied { dirty: true, ..Applied::default() };
        let stream = &mut self.streams[id];
        if stream.listed {
            stream.relists += 1;
            out.relisted = true;
        }
        stream.listed = true;
        if !self.synced && self.streams.iter().all(|s| s.listed) {
            self.synced = true;
            out.synced_now = true;
            self.cache.mark_synced();
        }
        out
    }

    fn apply_to_cache(&mut self, id: StreamId, change: Change) -> Applied {
        let mut out = Applied::default();
        let Some(stream) = self.streams.get_mut(id) else { return out };
        let kind = stream.kind;
        match change {
            Change::Init if kind == Kind::Pod => stream.pod_buffer = Some(Vec::new()),
            Change::Init => stream.buffer = Some(Vec::new()),
            Change::InitApply(Object::Pod(pod)) if stream.pod_buffer.is_some() => {
                let key = pod.metadata.name.as_deref().map(|n| ObjectKey::new(pod.metadata.namespace.as_deref(), n));
                if let (Some(buf), Some(key)) = (&mut stream.pod_buffer, key) {
                    buf.push((key, PodState::from_pod(&pod)));
                }
            }
            Change::InitApply(obj) => match &mut stream.buffer {
                Some(buf) => buf.push(obj),
                None => {
                    // Not expected from kube-runtime; treat as an upsert rather than lose it.
                    out.dirty = upsert(&mut self.cache, stream, &obj);
                }
            },
            Change::InitDone if stream.pod_buffer.is_some() => {
                // Pods one at a time: rebuilt from the compact form, recorded, dropped.
                let pods = stream.pod_buffer.take().unwrap_or_default();
                let fresh: HashSet<ObjectKey> = pods.iter().map(|(k, _)| k.clone()).collect();
                if let Some(fast) = &mut self.fast {
                    let (stale, _) = fast.remove_stale_pods(stream.namespace.as_deref(), &fresh);
                    for gone in &stale {
                        self.cache.remove(kind, gone);
                    }
                }
                drop(fresh);
                for (key, state) in pods {
                    let pod = state.to_pod(&key);
                    if let Some(fast) = &mut self.fast {
                        fast.put_pod_state(&key, state);
                    }
                    if let Err(err) = self.cache.upsert(&Object::Pod(pod)) {
                        tracing::warn!(?kind, object = %key, error = %err, "object skipped");
                    }
                }
                out = self.list_done(id);
            }
            Change::InitDone => {
                let mut objects = stream.buffer.take().unwrap_or_default();
                if let Some(fast) = &mut self.fast {
                    fast.replace(kind, stream.namespace.as_deref(), &objects);
                    if kind == Kind::EndpointSlice {
                        for obj in &mut objects {
                            if let Object::EndpointSlice(s) = obj {
                                *s = fast.effective(s);
                            }
                        }
                    }
                }
                match &mut stream.owned {
                    None => {
                        for (key, err) in self.cache.replace(kind, &objects) {
                            tracing::warn!(?kind, object = %key, error = %err, "object skipped");
                        }
                    }
                    Some(owned) => {
                        let mut fresh = HashSet::with_capacity(objects.len());
                        for obj in &objects {
                            let Some(key) = obj.key() else { continue };
                            match self.cache.upsert(obj) {
                                Ok(()) => {
                                    fresh.insert(key);
                                }
                                Err(err) => tracing::warn!(?kind, object = %key, error = %err, "object skipped"),
                            }
                        }
                        for gone in owned.difference(&fresh) {
                            self.cache.remove(kind, gone);
                        }
                        *owned = fresh;
                    }
                }
                out = self.list_done(id);
            }
            Change::Apply(obj) => out.dirty = upsert(&mut self.cache, stream, &obj),
            Change::Delete(obj) => {
                if let Some(key) = obj.key() {
                    self.cache.remove(kind, &key);
                    if let Some(owned) = &mut stream.owned {
                        owned.remove(&key);
                    }
                    out.dirty = true;
                }
            }
        }
        out
    }
}

fn service_kind(s: &k8s_openapi::api::core::v1::Service) -> ServiceKindLabel {
    let spec = s.spec.as_ref();
    let headless = spec.and_then(|sp| sp.cluster_ip.as_deref()) == Some("None");
    let selector = spec.and_then(|sp| sp.selector.as_ref()).is_some_and(|m| !m.is_empty());
    match (headless, selector) {
        (false, _) => ServiceKindLabel::ClusterIp,
        (true, true) => ServiceKindLabel::HeadlessWithSelector,
        (true, false) => ServiceKindLabel::HeadlessWithoutSelector,
    }
}

fn upsert(cache: &mut Cache, stream: &mut Stream, obj: &Object) -> bool {
    let Some(key) = obj.key() else { return false };
    match cache.upsert(obj) {
        Ok(()) => {
            if let Some(owned) = &mut stream.owned {
                owned.insert(key);
            }
            true
        }
        Err(err) => {
            // A Service with a malformed IP, say: skip it, keep serving the rest.
            tracing::warn!(kind = ?stream.kind, object = %key, error = %err, "object skipped");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::ZoneConfig;
    use serde_json::json;

    fn cache() -> (Cache, std::sync::Arc<crate::cache::Zone>) {
        let cfg = ZoneConfig {
            domain: "cluster.local".into(),
            ttl: 5,
            pods: crate::cache::PodsMode::Insecure,
            ignore_empty_service: false,
            dns_service: None,
            local_ips: vec![],
        };
        Cache::new(cfg)
    }

    fn svc(ns: &str, name: &str, ip: &str) -> Object {
        Object::Service(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip}}))
                .unwrap(),
        )
    }

    fn ns(name: &str) -> Object {
        Object::Namespace(serde_json::from_value(json!({"metadata": {"name": name}})).unwrap())
    }

    fn has(zone: &crate::cache::Zone, name: &str) -> bool {
        zone.get(&crate::cache::records::fqdn(name).unwrap()).is_some()
    }

    fn specs(kinds: &[(Kind, Option<&str>)]) -> Vec<StreamSpec> {
        kinds.iter().map(|(k, n)| StreamSpec { kind: *k, namespace: n.map(str::to_string) }).collect()
    }

    #[test]
    fn synced_only_after_every_stream_listed() {
        let (c, zone) = cache();
        let mut w = Writer::new(c, &specs(&[(Kind::Service, None), (Kind::Namespace, None)]), &[]);
        for ch in [Change::Init, Change::InitApply(svc("a", "x", "10.96.0.1")), Change::InitDone] {
            assert!(!w.apply(0, ch).synced_now);
        }
        assert!(!zone.is_synced(), "namespaces not listed yet");
        assert_eq!(w.pending(), vec![Kind::Namespace]);
        w.apply(1, Change::Init);
        assert!(w.apply(1, Change::InitDone).synced_now);
        assert!(zone.is_synced() && zone.is_ready());
    }

    #[test]
    fn relist_keeps_old_view_until_done_then_drops_deleted() {
        let (c, zone) = cache();
        let mut w = Writer::new(c, &specs(&[(Kind::Service, None)]), &[]);
        for ch in [
            Change::Init,
            Change::InitApply(svc("a", "x", "10.96.0.1")),
            Change::InitApply(svc("a", "y", "10.96.0.2")),
            Change::InitDone,
        ] {
            w.apply(0, ch);
        }
        w.cache().flush();
        assert!(has(&zone, "x.a.svc.cluster.local") && has(&zone, "y.a.svc.cluster.local"));
        // watch gap: y deleted, z created; the relist arrives
        w.apply(0, Change::Init);
        w.apply(0, Change::InitApply(svc("a", "x", "10.96.0.1")));
        w.apply(0, Change::InitApply(svc("a", "z", "10.96.0.3")));
        w.cache().flush();
        assert!(has(&zone, "y.a.svc.cluster.local"), "old view serves during the relist");
        assert!(!has(&zone, "z.a.svc.cluster.local"), "nothing of the new list before it is complete");
        let applied = w.apply(0, Change::InitDone);
        assert!(applied.relisted && !applied.synced_now);
        w.cache().flush();
        assert!(has(&zone, "x.a.svc.cluster.local") && has(&zone, "z.a.svc.cluster.local"));
        assert!(!has(&zone, "y.a.svc.cluster.local"), "deleted during the gap: gone after the relist");
    }

    #[test]
    fn apply_and_delete() {
        let (c, zone) = cache();
        let mut w = Writer::new(c, &specs(&[(Kind::Service, None)]), &[]);
        w.apply(0, Change::Init);
        w.apply(0, Change::InitDone);
        assert!(w.apply(0, Change::Apply(svc("a", "x", "10.96.0.1"))).dirty);
        w.cache().flush();
        assert!(has(&zone, "x.a.svc.cluster.local"));
        w.apply(0, Change::Delete(svc("a", "x", "10.96.0.1")));
        w.cache().flush();
        assert!(!has(&zone, "x.a.svc.cluster.local"));
        // a malformed object is skipped, not fatal
        assert!(!w.apply(0, Change::Apply(svc("a", "bad", "10.96.0.300"))).dirty);
    }

    #[test]
    fn per_namespace_streams_relist_only_their_own_objects() {
        let (c, zone) = cache();
        let mut w = Writer::new(
            c,
            &specs(&[(Kind::Service, Some("a")), (Kind::Service, Some("b"))]),
            &["a".into(), "b".into()],
        );
        for (id, o) in [(0, svc("a", "x", "10.96.0.1")), (1, svc("b", "x", "10.96.0.2"))] {
            w.apply(id, Change::Init);
            w.apply(id, Change::InitApply(o));
            w.apply(id, Change::InitDone);
        }
        assert!(zone.is_synced());
        w.cache().flush();
        assert!(has(&zone, "a.svc.cluster.local"), "scoped namespaces exist without a Namespace stream");
        // stream a relists empty: only a's service goes
        w.apply(0, Change::Init);
        w.apply(0, Change::InitDone);
        w.cache().flush();
        assert!(!has(&zone, "x.a.svc.cluster.local"));
        assert!(has(&zone, "x.b.svc.cluster.local"));
    }

    #[test]
    fn namespaces_relist() {
        let (c, zone) = cache();
        let mut w = Writer::new(c, &specs(&[(Kind::Namespace, None)]), &[]);
        for ch in [Change::Init, Change::InitApply(ns("p")), Change::InitApply(ns("q")), Change::InitDone] {
            w.apply(0, ch);
        }
        w.cache().flush();
        assert!(has(&zone, "p.svc.cluster.local") && has(&zone, "q.svc.cluster.local"));
        for ch in [Change::Init, Change::InitApply(ns("p")), Change::InitDone] {
            w.apply(0, ch);
        }
        w.cache().flush();
        assert!(!has(&zone, "q.svc.cluster.local"));
    }

    #[test]
    fn startup_timeout_serves_but_is_not_ready() {
        let (mut c, zone) = cache();
        c.serve_unsynced();
        assert!(zone.is_synced() && !zone.is_ready());
        let mut w = Writer::new(c, &specs(&[(Kind::Service, None)]), &[]);
        w.apply(0, Change::Init);
        w.apply(0, Change::InitDone);
        assert!(zone.is_ready());
    }

    fn headless(ns: &str, name: &str, pnr: bool) -> Object {
        Object::Service(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns},
                "spec": {"clusterIP": "None", "selector": {"app": name}, "publishNotReadyAddresses": pnr,
                         "ports": [{"name": "web", "port": 80}]}}))
            .unwrap(),
        )
    }

    fn pod(ns: &str, name: &str, app: &str, ip: Option<&str>, ready: bool, deleting: bool) -> Object {
        let mut v = json!({"metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
            "spec": {"hostname": name, "subdomain": app, "containers": []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}});
        if let Some(ip) = ip {
            v["status"]["podIP"] = json!(ip);
        }
        if deleting {
            v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        }
        Object::Pod(serde_json::from_value(v).unwrap())
    }

    fn slice(ns: &str, name: &str, svc: &str, eps: &[(&str, &str, bool)]) -> Object {
        let endpoints: Vec<_> = eps
            .iter()
            .map(|(pod, ip, ready)| {
                json!({"addresses": [ip], "hostname": pod, "conditions": {"ready": ready},
                                           "targetRef": {"kind": "Pod", "name": pod}})
            })
            .collect();
        Object::EndpointSlice(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns, "labels": {"kubernetes.io/service-name": svc}},
                "addressType": "IPv4", "endpoints": endpoints, "ports": [{"name": "web", "port": 80, "protocol": "TCP"}]}))
            .unwrap(),
        )
    }

    fn answers(zone: &crate::cache::Zone, name: &str) -> bool {
        zone.get(&crate::cache::records::fqdn(name).unwrap()).is_some()
    }

    /// Service, EndpointSlice, Pod streams, all listed empty.
    fn fast_writer() -> (Writer, std::sync::Arc<crate::cache::Zone>) {
        let (c, zone) = cache();
        let mut w =
            Writer::new(c, &specs(&[(Kind::Service, None), (Kind::EndpointSlice, None), (Kind::Pod, None)]), &[]);
        for id in 0..3 {
            w.apply(id, Change::Init);
            w.apply(id, Change::InitDone);
        }
        (w, zone)
    }

    #[test]
    fn fast_path_pod_ready_before_the_slice_controller() {
        let (mut w, zone) = fast_writer();
        w.apply(0, Change::Apply(headless("a", "web", false)));
        // the pod turns Ready with an IP; no slice holds it yet
        w.apply(2, Change::Apply(pod("a", "web-0", "web", Some("10.1.0.1"), true, false)));
        w.cache().flush();
        assert!(
            answers(&zone, "web-0.web.a.svc.cluster.local"),
            "provisional endpoint (hostname: subdomain = service)"
        );
        assert!(answers(&zone, "web.a.svc.cluster.local"));
        // the controller's slice arrives: the provisional one goes, the answer stays
        w.apply(1, Change::Apply(slice("a", "web-x", "web", &[("web-0", "10.1.0.1", true)])));
        w.cache().flush();
        assert!(answers(&zone, "web-0.web.a.svc.cluster.local"));
        assert_eq!(w.cache().counts().endpoint_sets, 1, "only the real slice is left");
        // the pod turns not ready: gone at once, although the slice still says ready
        w.apply(2, Change::Apply(pod("a", "web-0", "web", Some("10.1.0.1"), false, false)));
        w.cache().flush();
        assert!(!answers(&zone, "web-0.web.a.svc.cluster.local"));
        // ready again before the controller updated the slice: back at once
        w.apply(2, Change::Apply(pod("a", "web-0", "web", Some("10.1.0.1"), true, false)));
        w.cache().flush();
        assert!(answers(&zone, "web-0.web.a.svc.cluster.local"));
        // terminating: not ready; deleted: still not ready while the slice lags
        w.apply(2, Change::Apply(pod("a", "web-0", "web", Some("10.1.0.1"), true, true)));
        w.cache().flush();
        assert!(!answers(&zone, "web-0.web.a.svc.cluster.local"));
        w.apply(2, Change::Delete(pod("a", "web-0", "web", Some("10.1.0.1"), true, true)));
        w.cache().flush();
        assert!(!answers(&zone, "web-0.web.a.svc.cluster.local"), "a deleted pod's stale endpoint stays out");
        // recreated with a new IP: the stale endpoint (old IP) stays out, the new one is provisional
        w.apply(2, Change::Apply(pod("a", "web-0", "web", Some("10.1.0.9"), true, false)));
        w.cache().flush();
        assert!(answers(&zone, "web-0.web.a.svc.cluster.local"));
        assert!(answers(&zone, "9.0.1.10.in-addr.arpa"), "the new incarnation's address");
        assert!(!answers(&zone, "1.0.1.10.in-addr.arpa"), "the old incarnation's address is not served");
    }

    #[test]
    fn fast_path_keeps_slice_rules_for_unknown_pods_and_publish_not_ready() {
        let (mut w, zone) = fast_writer();
        w.apply(0, Change::Apply(headless("a", "peers", true)));
        // not ready, but the service publishes not-ready addresses
        w.apply(2, Change::Apply(pod("a", "p-0", "peers", Some("10.1.0.2"), false, false)));
        w.cache().flush();
        assert!(answers(&zone, "p-0.peers.a.svc.cluster.local"));
        // a slice endpoint whose pod we never saw keeps the slice's readiness
        w.apply(0, Change::Apply(headless("a", "other", false)));
        w.apply(
            1,
            Change::Apply(slice(
                "a",
                "other-x",
                "other",
                &[("ghost", "10.1.0.3", true), ("ghost2", "10.1.0.4", false)],
            )),
        );
        w.cache().flush();
        assert!(answers(&zone, "ghost.other.a.svc.cluster.local"));
        assert!(!answers(&zone, "ghost2.other.a.svc.cluster.local"));
        // a pod without an IP gets no provisional endpoint
        w.apply(2, Change::Apply(pod("a", "other-0", "other", None, true, false)));
        w.cache().flush();
        assert!(!answers(&zone, "other-0.other.a.svc.cluster.local"));
    }

    #[test]
    fn fast_path_relist_of_slices_keeps_provisional_endpoints() {
        let (mut w, zone) = fast_writer();
        w.apply(0, Change::Apply(headless("a", "web", false)));
        w.apply(2, Change::Apply(pod("a", "web-0", "web", Some("10.1.0.1"), true, false)));
        w.apply(2, Change::Apply(pod("a", "web-1", "web", Some("10.1.0.2"), true, false)));
        w.apply(1, Change::Apply(slice("a", "web-x", "web", &[("web-1", "10.1.0.2", true)])));
        w.cache().flush();
        w.apply(1, Change::Init);
        w.apply(1, Change::InitApply(slice("a", "web-x", "web", &[("web-1", "10.1.0.2", true)])));
        w.apply(1, Change::InitDone);
        w.cache().flush();
        assert!(answers(&zone, "web-0.web.a.svc.cluster.local"), "provisional survives the slice relist");
        assert!(answers(&zone, "web-1.web.a.svc.cluster.local"));
    }

    #[test]
    fn pod_relist_is_compact_and_drops_pods_deleted_in_the_gap() {
        let (mut w, zone) = fast_writer();
        w.apply(0, Change::Apply(headless("a", "web", false)));
        for (n, ip) in [("web-0", "10.1.0.1"), ("web-1", "10.1.0.2")] {
            w.apply(2, Change::Apply(pod("a", n, "web", Some(ip), true, false)));
        }
        w.apply(
            1,
            Change::Apply(slice("a", "web-x", "web", &[("web-0", "10.1.0.1", true), ("web-1", "10.1.0.2", true)])),
        );
        w.cache().flush();
        assert!(answers(&zone, "web-0.web.a.svc.cluster.local"));
        assert_eq!(w.cache().counts().pods, 2);
        // web-0 deleted while the watch was down; web-1 turned not ready
        w.apply(2, Change::Init);
        w.apply(2, Change::InitApply(pod("a", "web-1", "web", Some("10.1.0.2"), false, false)));
        w.cache().flush();
        assert!(answers(&zone, "web-0.web.a.svc.cluster.local"), "old view until the relist completes");
        assert!(w.apply(2, Change::InitDone).relisted);
        w.cache().flush();
        assert_eq!(w.cache().counts().pods, 1);
        assert!(!answers(&zone, "web-0.web.a.svc.cluster.local"), "pod gone: its stale endpoint is out");
        assert!(!answers(&zone, "web-1.web.a.svc.cluster.local"), "not ready after the relist");
    }
}
