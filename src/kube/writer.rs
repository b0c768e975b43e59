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

use std::collections::HashSet;

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
    /// Objects of a relist in progress.
    buffer: Option<Vec<Object>>,
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
}

impl Writer {
    /// A writer over `cache` for the given streams. `namespaces` (scoped mode) are
    /// declared to exist, since a scoped watch has no Namespace stream.
    pub fn new(mut cache: Cache, specs: &[StreamSpec], namespaces: &[String]) -> Writer {
        let streams = specs
            .iter()
            .map(|s| {
                let shared = specs.iter().filter(|o| o.kind == s.kind).count() > 1;
                Stream { kind: s.kind, buffer: None, listed: false, owned: shared.then(HashSet::new), relists: 0 }
            })
            .collect();
        for ns in namespaces {
            let obj = Object::Namespace(k8s_openapi::api::core::v1::Namespace {
                metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta { name: Some(ns.clone()), ..Default::default() },
                ..Default::default()
            });
            let _ = cache.upsert(&obj);
        }
        Writer { cache, streams, synced: specs.is_empty() }
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
        let mut out = Applied::default();
        let Some(stream) = self.streams.get_mut(id) else {
            tracing::error!(stream = id, "event from an unknown stream; ignored");
            return out;
        };
        let kind = stream.kind;
        match change {
            Change::Init => stream.buffer = Some(Vec::new()),
            Change::InitApply(obj) => match &mut stream.buffer {
                Some(buf) => buf.push(obj),
                None => {
                    // Not expected from kube-runtime; treat as an upsert rather than lose it.
                    out.dirty = upsert(&mut self.cache, stream, &obj);
                }
            },
            Change::InitDone => {
                let objects = stream.buffer.take().unwrap_or_default();
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
                out.dirty = true;
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
        Object::Service(serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip}})).unwrap())
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
        for ch in [Change::Init, Change::InitApply(svc("a", "x", "10.96.0.1")), Change::InitApply(svc("a", "y", "10.96.0.2")), Change::InitDone] {
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
        let mut w = Writer::new(c, &specs(&[(Kind::Service, Some("a")), (Kind::Service, Some("b"))]), &["a".into(), "b".into()]);
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
}
