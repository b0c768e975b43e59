//! The embedded cluster's object store: every object by kind/namespace/name, as JSON.
//!
//! **One writer, many readers (through the writer).** A [`Store`] is owned by the embedded
//! cluster task ([`super::Cluster`]); nobody else holds it. Writes assign what the API server
//! assigns (uid, resourceVersion from one global counter, generation bumped on spec change,
//! creationTimestamp) and queue a change. [`Store::commit`] makes every queued change durable
//! with **one** `fsync` (group commit: all the writes of one cluster step) and hands the changes
//! back for the DNS cache and watchers; the cluster acknowledges a request only after that.
//!
//! On disk (`--state-dir`): `snapshot.jsonl` (a header line `{"rv":N}` then one object per line)
//! and `wal.jsonl`, an append-only log of `{"rv":N,"op":"put"|"del","object":{...}}` lines.
//! Opening replays snapshot + log (a torn last log line — a crash mid-write — is dropped with a
//! warning; any other bad line is an error naming file and line), then compacts: a new snapshot
//! is written to a temp file, fsynced, renamed over the old one, the directory fsynced, and the
//! log emptied. The log is compacted again when it grows past [`COMPACT_BYTES`].
//!
//! Objects are kept as `serde_json::Value` in their Kubernetes JSON form (with `apiVersion` and
//! `kind`), because most callers are generic (lists, watches, merge patches); typed views are
//! decoded where the controllers need them.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Compact the log into a snapshot once it is this large.
pub const COMPACT_BYTES: u64 = 64 * 1024 * 1024;

/// The kinds the embedded cluster stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    Service,
    EndpointSlice,
    Pod,
    PersistentVolumeClaim,
    StatefulSet,
    ControllerRevision,
    Event,
    /// Stored as given (the tutorials' configuration); nothing runs it.
    ConfigMap,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Namespace,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::Pod,
        Kind::PersistentVolumeClaim,
        Kind::StatefulSet,
        Kind::ControllerRevision,
        Kind::Event,
        Kind::ConfigMap,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Service => "Service",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Pod => "Pod",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::StatefulSet => "StatefulSet",
            Kind::ControllerRevision => "ControllerRevision",
            Kind::Event => "Event",
            Kind::ConfigMap => "ConfigMap",
        }
    }

    pub fn group(self) -> &'static str {
        match self {
            Kind::StatefulSet | Kind::ControllerRevision => "apps",
            Kind::EndpointSlice => "discovery.k8s.io",
            _ => "",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self.group() {
            "" => "v1",
            "apps" => "apps/v1",
            _ => "discovery.k8s.io/v1",
        }
    }

    /// Resource name in paths: `pods`, `statefulsets`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Service => "services",
            Kind::EndpointSlice => "endpointslices",
            Kind::Pod => "pods",
            Kind::PersistentVolumeClaim => "persistentvolumeclaims",
            Kind::StatefulSet => "statefulsets",
            Kind::ControllerRevision => "controllerrevisions",
            Kind::Event => "events",
            Kind::ConfigMap => "configmaps",
        }
    }

    /// Group-qualified resource as in API errors: `pods`, `statefulsets.apps`.
    pub fn qualified_resource(self) -> String {
        match self.group() {
            "" => self.plural().to_string(),
            g => format!("{}.{g}", self.plural()),
        }
    }

    pub fn namespaced(self) -> bool {
        self != Kind::Namespace
    }

    pub fn from_name(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == kind)
    }

    /// `(group, plural)` from a request path.
    pub fn from_resource(group: &str, plural: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.group() == group && k.plural() == plural)
    }

    /// Whether DNS uses this kind (the cache is fed these).
    pub fn feeds_dns(self) -> bool {
        matches!(self, Kind::Namespace | Kind::Service | Kind::EndpointSlice | Kind::Pod)
    }
}

/// Where an object lives. Cluster-scoped objects have `ns == ""`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub kind: Kind,
    pub ns: String,
    pub name: String,
}

impl Key {
    pub fn new(kind: Kind, ns: &str, name: &str) -> Key {
        let ns = if kind.namespaced() { ns } else { "" };
        Key { kind, ns: ns.to_string(), name: name.to_string() }
    }

    /// The key of a stored-form object (its `kind` and metadata).
    pub fn of(obj: &Value) -> Option<Key> {
        let kind = Kind::from_name(obj.get("kind")?.as_str()?)?;
        let name = obj.pointer("/metadata/name")?.as_str()?;
        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
        Some(Key::new(kind, ns, name))
    }
}

/// What happened to an object (watch event types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug, Clone)]
pub struct Change {
    pub type_: EventType,
    pub key: Key,
    /// The object after the change (before deletion for `Deleted`).
    pub object: Value,
    /// The object before a `Modified` change.
    pub old: Option<Value>,
}

/// A write the API server would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    NotFound,
    AlreadyExists,
    /// resourceVersion or uid precondition failed.
    Conflict(String),
}

/// The store cannot be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state dir {path}: {source} (check it exists and is writable, or pick another with --state-dir)")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state dir is corrupt: {path}:{line}: {message} (restore from backup or move it away to start empty)")]
    Corrupt { path: PathBuf, line: usize, message: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// RFC 3339 timestamp, second precision, as `metav1.Time` serialises.
pub fn now_rfc3339() -> String {
    now_ts().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The wall clock as a `jiff` timestamp.
pub fn now_ts() -> k8s_openapi::jiff::Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    k8s_openapi::jiff::Timestamp::new(d.as_secs() as i64, d.subsec_nanos() as i32)
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

/// A random UUID (version 4 layout).
pub fn new_uid() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let rs = std::collections::hash_map::RandomState::new();
    let mut a = rs.build_hasher();
    a.write_u64(n);
    a.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    let hi = a.finish();
    a.write_u64(hi ^ 0x9e37_79b9_7f4a_7c15);
    let lo = a.finish();
    let b = ((hi as u128) << 64) | lo as u128;
    let b = (b & !(0xf000u128 << 64)) | (0x4000u128 << 64); // version 4
    let b = (b & !(0xc000_0000_0000_0000u128)) | 0x8000_0000_0000_0000u128; // variant
    let h = format!("{b:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Append-only log file.
struct Wal {
    path: PathBuf,
    file: File,
    bytes: u64,
}

/// The object store. See the module docs.
pub struct Store {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    dir: Option<PathBuf>,
    wal: Option<Wal>,
    /// Changes since the last commit, in order, with their log lines.
    pending: Vec<(Change, String)>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("objects", &self.objects.len())
            .field("rv", &self.rv)
            .field("dir", &self.dir)
            .finish()
    }
}

impl Store {
    /// A store that keeps nothing on disk (tests).
    pub fn in_memory() -> Store {
        Store { objects: BTreeMap::new(), rv: 0, dir: None, wal: None, pending: Vec::new() }
    }

    /// Opens (creating if needed) the store under `dir`: replay, then compact.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut store = Store { dir: Some(dir.to_path_buf()), ..Store::in_memory() };
        let snap = dir.join("snapshot.jsonl");
        if snap.exists() {
            let f = File::open(&snap).map_err(io_err(&snap))?;
            for (i, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(io_err(&snap))?;
                if line.trim().is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(&line).map_err(|e| StoreError::Corrupt {
                    path: snap.clone(),
                    line: i + 1,
                    message: e.to_string(),
                })?;
                if i == 0 {
                    store.rv = v.get("rv").and_then(Value::as_u64).ok_or_else(|| StoreError::Corrupt {
                        path: snap.clone(),
                        line: 1,
                        message: "the first line must be {\"rv\":N}".into(),
                    })?;
                    continue;
                }
                let key = Key::of(&v).ok_or_else(|| StoreError::Corrupt {
                    path: snap.clone(),
                    line: i + 1,
                    message: "object without kind or metadata.name".into(),
                })?;
                store.objects.insert(key, v);
            }
        }
        let wal = dir.join("wal.jsonl");
        if wal.exists() {
            let text = std::fs::read(&wal).map_err(io_err(&wal))?;
            let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            let last_complete = text.last() == Some(&b'\n');
            let n = lines.len();
            for (i, line) in lines.iter().enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let torn_candidate = i + 1 == n && !last_complete;
                let parsed: Result<Value, String> = serde_json::from_slice(line).map_err(|e| e.to_string());
                let entry = match parsed {
                    Ok(v) if v.get("op").is_some() && v.get("object").is_some() => v,
                    Ok(_) if torn_candidate => break,
                    Err(e) if torn_candidate => {
                        tracing::warn!(path = %wal.display(), line = i + 1, error = %e, "ignoring a torn last log line (the write was never acknowledged)");
                        break;
                    }
                    Ok(_) => {
                        return Err(StoreError::Corrupt {
                            path: wal.clone(),
                            line: i + 1,
                            message: "not a log entry".into(),
                        });
                    }
                    Err(e) => return Err(StoreError::Corrupt { path: wal.clone(), line: i + 1, message: e }),
                };
                let obj = &entry["object"];
                let key = Key::of(obj).ok_or_else(|| StoreError::Corrupt {
                    path: wal.clone(),
                    line: i + 1,
                    message: "object without kind or metadata.name".into(),
                })?;
                if let Some(rv) = entry.get("rv").and_then(Value::as_u64) {
                    store.rv = store.rv.max(rv);
                }
                match entry["op"].as_str() {
                    Some("put") => {
                        store.objects.insert(key, obj.clone());
                    }
                    Some("del") => {
                        store.objects.remove(&key);
                    }
                    _ => {
                        return Err(StoreError::Corrupt {
                            path: wal.clone(),
                            line: i + 1,
                            message: "op must be put or del".into(),
                        });
                    }
                }
            }
        }
        store.compact()?;
        Ok(store)
    }

    /// Writes a snapshot of everything and empties the log.
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let Some(dir) = self.dir.clone() else { return Ok(()) };
        let tmp = dir.join("snapshot.jsonl.tmp");
        let snap = dir.join("snapshot.jsonl");
        {
            let f = File::create(&tmp).map_err(io_err(&tmp))?;
            let mut w = std::io::BufWriter::new(f);
            let mut write = || -> std::io::Result<()> {
                writeln!(w, "{}", json!({"rv": self.rv}))?;
                for v in self.objects.values() {
                    serde_json::to_writer(&mut w, v)?;
                    w.write_all(b"\n")?;
                }
                w.flush()?;
                w.get_ref().sync_all()
            };
            write().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, &snap).map_err(io_err(&snap))?;
        sync_dir(&dir)?;
        let wal_path = dir.join("wal.jsonl");
        let file =
            OpenOptions::new().create(true).write(true).truncate(true).open(&wal_path).map_err(io_err(&wal_path))?;
        file.sync_all().map_err(io_err(&wal_path))?;
        sync_dir(&dir)?;
        let file = OpenOptions::new().append(true).open(&wal_path).map_err(io_err(&wal_path))?;
        self.wal = Some(Wal { path: wal_path, file, bytes: 0 });
        Ok(())
    }

    /// The last resourceVersion handed out.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&Key::new(kind, ns, name))
    }

    pub fn get_key(&self, key: &Key) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of `kind`, in one namespace or all, sorted by namespace and name.
    pub fn list(&self, kind: Kind, ns: Option<&str>) -> impl Iterator<Item = &Value> {
        let start = Key { kind, ns: ns.unwrap_or("").to_string(), name: String::new() };
        let ns = ns.map(str::to_string);
        self.objects
            .range(start..)
            .take_while(move |(k, _)| k.kind == kind && ns.as_deref().is_none_or(|n| !kind.namespaced() || k.ns == n))
            .map(|(_, v)| v)
    }

    /// Every object (for GC).
    pub fn all(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.objects.iter()
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn queue(&mut self, type_: EventType, key: Key, object: Value, old: Option<Value>) {
        let op = if type_ == EventType::Deleted { "del" } else { "put" };
        let line = json!({"rv": self.rv, "op": op, "object": &object}).to_string();
        self.pending.push((Change { type_, key, object, old }, line));
    }

    /// Creates an object: assigns uid, resourceVersion, generation 1, creationTimestamp.
    pub fn create(&mut self, mut obj: Value) -> Result<Value, WriteError> {
        let key = Key::of(&obj).ok_or(WriteError::NotFound)?;
        if self.objects.contains_key(&key) {
            return Err(WriteError::AlreadyExists);
        }
        let rv = self.next_rv();
        let meta = meta_mut(&mut obj);
        meta.insert("uid".into(), json!(new_uid()));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.insert("generation".into(), json!(1));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        if !key.kind.namespaced() {
            meta.remove("namespace");
        }
        self.objects.insert(key.clone(), obj.clone());
        self.queue(EventType::Added, key, obj.clone(), None);
        Ok(obj)
    }

    /// Replaces an existing object, keeping uid and creationTimestamp; bumps resourceVersion,
    /// and generation when `spec` changed. A given `metadata.resourceVersion` is a precondition.
    /// Returns the stored object; an unchanged object is not written.
    pub fn update(&mut self, mut obj: Value) -> Result<Value, WriteError> {
        let key = Key::of(&obj).ok_or(WriteError::NotFound)?;
        let old = self.objects.get(&key).ok_or(WriteError::NotFound)?;
        if let Some(rv) = obj.pointer("/metadata/resourceVersion").and_then(Value::as_str)
            && Some(rv) != old.pointer("/metadata/resourceVersion").and_then(Value::as_str)
        {
            return Err(WriteError::Conflict(format!(
                "Operation cannot be fulfilled on {} {:?}: the object has been modified; please apply your changes to the latest version and try again",
                key.kind.qualified_resource(),
                key.name
            )));
        }
        let mut generation = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
        if old.get("spec") != obj.get("spec") {
            generation += 1;
        }
        let old_meta = old["metadata"].clone();
        {
            let meta = meta_mut(&mut obj);
            for f in ["uid", "creationTimestamp", "resourceVersion"] {
                match old_meta.get(f) {
                    Some(v) => meta.insert(f.into(), v.clone()),
                    None => meta.remove(f),
                };
            }
            meta.insert("generation".into(), json!(generation));
            if !key.kind.namespaced() {
                meta.remove("namespace");
            }
        }
        if obj == *old {
            return Ok(obj);
        }
        let rv = self.next_rv();
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        let old = self.objects.insert(key.clone(), obj.clone());
        self.queue(EventType::Modified, key, obj.clone(), old);
        Ok(obj)
    }

    /// Removes an object for good.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        let rv = self.next_rv();
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        self.queue(EventType::Deleted, key.clone(), obj.clone(), None);
        Some(obj)
    }

    /// Whether writes are waiting for [`Store::commit`].
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Makes every pending change durable (one fsync) and returns them in order.
    pub fn commit(&mut self) -> Result<Vec<Change>, StoreError> {
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let pending = std::mem::take(&mut self.pending);
        if let Some(wal) = &mut self.wal {
            let mut buf = String::new();
            for (_, line) in &pending {
                buf.push_str(line);
                buf.push('\n');
            }
            wal.file.write_all(buf.as_bytes()).map_err(io_err(&wal.path))?;
            wal.file.sync_data().map_err(io_err(&wal.path))?;
            wal.bytes += buf.len() as u64;
            if wal.bytes > COMPACT_BYTES {
                self.compact()?;
            }
        }
        Ok(pending.into_iter().map(|(c, _)| c).collect())
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// `metadata` as a mutable map (created when absent).
pub fn meta_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"].as_object_mut().expect("metadata is an object")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": {"containers": []}})
    }

    #[test]
    fn writes_survive_a_restart_and_a_torn_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let uid;
        {
            let mut s = Store::open(dir.path()).unwrap();
            uid = s.create(pod("a")).unwrap()["metadata"]["uid"].clone();
            s.create(pod("b")).unwrap();
            assert_eq!(s.create(pod("a")).unwrap_err(), WriteError::AlreadyExists);
            s.commit().unwrap();
            let mut b = s.get(Kind::Pod, "default", "b").unwrap().clone();
            b["spec"]["hostname"] = json!("b");
            let b = s.update(b).unwrap();
            assert_eq!(b["metadata"]["generation"], json!(2));
            s.remove(&Key::new(Kind::Pod, "default", "a"));
            s.create(pod("c")).unwrap();
            s.commit().unwrap();
        }
        // A crash mid-append: half a line at the end.
        let wal = dir.path().join("wal.jsonl");
        let mut f = OpenOptions::new().append(true).open(&wal).unwrap();
        f.write_all(b"{\"rv\":99,\"op\":\"put\",\"obj").unwrap();
        drop(f);
        let s = Store::open(dir.path()).unwrap();
        let names: Vec<&str> =
            s.list(Kind::Pod, Some("default")).map(|v| v["metadata"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["b", "c"]);
        assert_eq!(s.resource_version(), 5);
        assert_ne!(s.get(Kind::Pod, "default", "b").unwrap()["metadata"]["uid"], uid);
        // Replayed twice (snapshot now) gives the same.
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.list(Kind::Pod, None).count(), 2);
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_an_error_with_path_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("wal.jsonl"), "garbage\n{\"rv\":1,\"op\":\"put\",\"object\":{}}\n").unwrap();
        let err = Store::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("wal.jsonl:1"), "{err}");
    }

    #[test]
    fn an_unwritable_state_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        let err = Store::open(&file.join("sub")).unwrap_err().to_string();
        assert!(err.contains("state dir") && err.contains("sub"), "{err}");
    }
}
