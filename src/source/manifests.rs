//! The manifests source: a cluster's DNS replayed from files.
//!
//! Loads Namespaces, Services, EndpointSlices, legacy Endpoints and Pods (with
//! status) from files or directories, e.g. a `kubectl get ... -o yaml` dump. Each
//! file is all-or-nothing: a file that fails to parse or holds an object DNS cannot
//! use is reported precisely (file, line, field, what is wrong) and its **last good
//! version keeps serving**. Files are watched; an edit is applied without restart.
//!
//! When a Service has a selector but the files hold no EndpointSlice or Endpoints
//! for it, its endpoints are derived from the files' Pods with the EndpointSlice
//! controller's rules ([`crate::cluster::endpointslice`]), so hand-written
//! manifests with pods answer like a cluster would.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    Container, Endpoints, Namespace, Pod as K8sPod, PodCondition, PodSpec, PodStatus, Service as K8sService,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cache::{Cache, Kind, Object};
use crate::cluster::{EndpointSet, ObjectKey, Pod, Service, endpointslice};
use crate::manifest::{self, Document, ManifestError};

/// The last good objects of every file.
#[derive(Default)]
pub struct ManifestSource {
    /// Paths given by the user (files or directories).
    roots: Vec<PathBuf>,
    /// Last good DNS-relevant objects per file, in file order, slimmed and packed (see
    /// [`RetainedFile`]).
    files: BTreeMap<PathBuf, RetainedFile>,
}

/// One file's last good objects as the source keeps them between (re)loads: only the
/// fields DNS and endpoint derivation read, as compact JSON, concatenated and compressed
/// (LZ4). A typed k8s `Pod` is 2.2 KB before its first string (a `Container` another
/// 2.1 KB), so keeping 10,000 of them typed cost ~25 MB; as separate JSON strings they
/// were ~550 B each (6.8 MB of a 12,010-object dump); compressed together, a tenth of
/// that, since a dump's objects repeat each other's keys and values. Objects are
/// unpacked and decoded again only when the cache is (re)built: at load and on file
/// changes.
struct RetainedFile {
    /// Each object's kind and the end of its JSON in the unpacked text, in file order.
    index: Vec<(Kind, u32)>,
    /// The concatenated JSON as an LZ4 block, its length prepended.
    packed: Box<[u8]>,
}

/// A file's objects being collected by [`dns_objects`] before they are packed.
#[derive(Default)]
struct RetainedBuilder {
    /// As [`RetainedFile::index`].
    index: Vec<(Kind, u32)>,
    /// The objects' JSON so far, back to back.
    json: Vec<u8>,
}

impl RetainedBuilder {
    /// Appends `obj`, slimmed. Fails only past 4 GiB of JSON in one file.
    fn push(&mut self, obj: Object) -> Result<(), String> {
        let kind = obj.kind();
        // k8s-openapi types always serialize to a Vec.
        let _ = match slim(obj) {
            Object::Namespace(o) => serde_json::to_writer(&mut self.json, &o),
            Object::Service(o) => serde_json::to_writer(&mut self.json, &o),
            Object::EndpointSlice(o) => serde_json::to_writer(&mut self.json, &o),
            Object::Endpoints(o) => serde_json::to_writer(&mut self.json, &o),
            Object::Pod(o) => serde_json::to_writer(&mut self.json, &o),
        };
        let end = u32::try_from(self.json.len())
            .map_err(|_| "the file's DNS objects exceed 4 GiB even slimmed; split it into several files".to_string())?;
        self.index.push((kind, end));
        Ok(())
    }

    fn finish(self) -> RetainedFile {
        let packed = lz4_flex::block::compress_prepend_size(&self.json).into_boxed_slice();
        RetainedFile { index: self.index, packed }
    }
}

impl RetainedFile {
    /// The JSON again, for one rebuild (it was packed by [`RetainedBuilder::finish`], so
    /// it unpacks; should it not, the file's objects are missing from this rebuild only).
    fn unpack(&self) -> Unpacked<'_> {
        let json = lz4_flex::block::decompress_size_prepended(&self.packed).unwrap_or_else(|e| {
            tracing::error!(error = %e, "retained manifest objects do not unpack; they are left out");
            Vec::new()
        });
        Unpacked { index: if json.is_empty() { &[] } else { &self.index }, json }
    }
}

/// One file's retained objects, unpacked for a rebuild of the cache.
struct Unpacked<'a> {
    /// As [`RetainedFile::index`].
    index: &'a [(Kind, u32)],
    /// The concatenated JSON.
    json: Vec<u8>,
}

impl Unpacked<'_> {
    /// The file's objects of `kind`, decoded one at a time, in file order.
    fn objects(&self, kind: Kind) -> impl Iterator<Item = Object> + '_ {
        let starts = std::iter::once(0).chain(self.index.iter().map(|&(_, end)| end as usize));
        self.index.iter().zip(starts).filter(move |((k, _), _)| *k == kind).filter_map(|(&(kind, end), start)| {
            let json = self.json.get(start..end as usize)?;
            let obj = match kind {
                Kind::Namespace => Object::Namespace(serde_json::from_slice(json).ok()?),
                Kind::Service => Object::Service(serde_json::from_slice(json).ok()?),
                Kind::EndpointSlice => Object::EndpointSlice(serde_json::from_slice(json).ok()?),
                Kind::Endpoints => Object::Endpoints(serde_json::from_slice(json).ok()?),
                Kind::Pod => Object::Pod(serde_json::from_slice(json).ok()?),
            };
            Some(obj)
        })
    }
}

/// The kinds a file holds, in the order the cache is rebuilt.
const KINDS: [Kind; 5] = [Kind::Namespace, Kind::Service, Kind::EndpointSlice, Kind::Endpoints, Kind::Pod];

/// Metadata DNS uses: identity, labels (selectors, the slice's service label),
/// deletion; annotations and managedFields (most of a real dump's bytes) go.
fn slim_meta(m: ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        labels: m.labels,
        uid: m.uid,
        deletion_timestamp: m.deletion_timestamp,
        ..ObjectMeta::default()
    }
}

/// Drops what neither the cache's conversions nor endpoint derivation read.
fn slim(obj: Object) -> Object {
    match obj {
        Object::Namespace(o) => {
            Object::Namespace(Namespace { metadata: slim_meta(o.metadata), ..Namespace::default() })
        }
        Object::Service(o) => {
            Object::Service(K8sService { metadata: slim_meta(o.metadata), spec: o.spec, status: None })
        }
        Object::EndpointSlice(o) => Object::EndpointSlice(EndpointSlice { metadata: slim_meta(o.metadata), ..o }),
        Object::Endpoints(o) => Object::Endpoints(Endpoints { metadata: slim_meta(o.metadata), ..o }),
        Object::Pod(o) => {
            let spec = o.spec.map(|s| PodSpec {
                hostname: s.hostname,
                subdomain: s.subdomain,
                node_name: s.node_name,
                // Container ports resolve named targetPorts; nothing else of a container matters.
                containers: s
                    .containers
                    .into_iter()
                    .filter(|c| c.ports.as_ref().is_some_and(|p| !p.is_empty()))
                    .map(|c| Container { name: c.name, ports: c.ports, ..Container::default() })
                    .collect(),
                ..PodSpec::default()
            });
            let status = o.status.map(|s| PodStatus {
                phase: s.phase,
                pod_ip: s.pod_ip,
                pod_ips: s.pod_ips,
                conditions: s.conditions.map(|cs| {
                    cs.into_iter()
                        .filter(|c| c.type_ == "Ready")
                        .map(|c| PodCondition { type_: c.type_, status: c.status, ..PodCondition::default() })
                        .collect()
                }),
                ..PodStatus::default()
            });
            Object::Pod(K8sPod { metadata: slim_meta(o.metadata), spec, status })
        }
    }
}

/// What a (re)load did, for logs and tests.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Files loaded successfully.
    pub loaded: usize,
    /// Errors of files that were rejected (their previous version is kept).
    pub errors: Vec<ManifestError>,
    /// Objects of kinds DNS does not use (StatefulSet, ConfigMap, ...).
    pub ignored: usize,
}

impl ManifestSource {
    /// A source over `roots` (nothing loaded yet).
    pub fn new(roots: Vec<PathBuf>) -> Self {
        ManifestSource { roots, files: BTreeMap::new() }
    }

    /// The paths being served.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Loads every file under the roots (files that vanished are dropped).
    pub fn load_all(&mut self) -> LoadReport {
        let mut report = LoadReport::default();
        let files = match manifest::discover(&self.roots) {
            Ok(f) => f,
            Err(e) => {
                report.errors.push(e);
                return report;
            }
        };
        let present: HashSet<&PathBuf> = files.iter().collect();
        self.files.retain(|f, _| present.contains(f));
        for file in &files {
            self.load_file(file, &mut report);
        }
        report
    }

    /// Reloads one file after a change notification. A deleted file drops its objects.
    pub fn reload(&mut self, file: &Path) -> LoadReport {
        let mut report = LoadReport::default();
        if !file.exists() {
            self.files.remove(file);
            return report;
        }
        let watched = manifest::discover(&self.roots).unwrap_or_default();
        if watched.iter().any(|f| f == file) {
            self.load_file(file, &mut report);
        }
        report
    }

    /// Loads manifests held in memory as if they were the file `file` (benchmarks,
    /// fuzzing and tests build zones without touching the filesystem).
    pub fn load_text(&mut self, file: &Path, text: &str) -> LoadReport {
        let mut report = LoadReport::default();
        match manifest::load_str(file, text).and_then(|docs| dns_objects(docs, &mut report)) {
            Ok(objects) => {
                report.loaded += 1;
                self.files.insert(file.to_path_buf(), objects);
            }
            Err(errors) => report.errors.extend(errors),
        }
        report
    }

    fn load_file(&mut self, file: &Path, report: &mut LoadReport) {
        // Parsed on a thread of its own: the allocator (jemalloc, or glibc for library
        // users) gives a new thread an arena of its own, so the parse's transient garbage
        // (~70 MB for 10,000 pods) lands where nothing long-lived does and goes back to
        // the OS whole when freed, instead of interleaving with the objects kept below
        // (in one shared arena, the same load kept 53 instead of 37 MB resident).
        let parsed = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("manifest-parse".into())
                .spawn_scoped(s, || manifest::load_file(file))
                .map(|t| t.join())
        });
        let parsed = match parsed {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => manifest::load_file(file), // no thread to be had: parse here
        };
        match parsed.and_then(|docs| dns_objects(docs, report)) {
            Ok(objects) => {
                report.loaded += 1;
                self.files.insert(file.to_path_buf(), objects);
            }
            Err(errors) => report.errors.extend(errors),
        }
    }

    fn unpack(&self) -> Vec<Unpacked<'_>> {
        self.files.values().map(RetainedFile::unpack).collect()
    }

    /// EndpointSlices derived for selector Services the files give no endpoints for.
    /// Only the pods of those Services' namespaces are decoded.
    fn derived(files: &[Unpacked<'_>]) -> Vec<Object> {
        let of = |kind| files.iter().flat_map(move |f| f.objects(kind));
        let mut some: Vec<Object> = Vec::new();
        for kind in [Kind::Service, Kind::EndpointSlice, Kind::Endpoints] {
            some.extend(of(kind));
        }
        let uncovered = uncovered_namespaces(&some);
        if uncovered.is_empty() {
            return Vec::new();
        }
        some.extend(of(Kind::Pod).filter(|p| p.key().is_some_and(|k| uncovered.contains(&k.namespace))));
        derived_slices(&some)
    }

    /// Replaces the cache's contents with the files' objects and publishes them,
    /// decoding one object at a time (never the whole set at once; the unpacked JSON
    /// is held only for the rebuild).
    pub fn apply(&self, cache: &mut Cache) {
        let files = self.unpack();
        let derived = Self::derived(&files);
        for kind in KINDS {
            let objects =
                files.iter().flat_map(|f| f.objects(kind)).chain(derived.iter().filter(|o| o.kind() == kind).cloned());
            for (key, err) in cache.replace_iter(kind, objects) {
                tracing::warn!(object = %key, error = %err, "object skipped");
            }
        }
        cache.flush();
    }
}

/// Namespaces holding a selector Service without EndpointSlices or Endpoints.
fn uncovered_namespaces(objects: &[Object]) -> HashSet<String> {
    let mut covered: HashSet<ObjectKey> = HashSet::new();
    for obj in objects {
        match obj {
            Object::EndpointSlice(s) => {
                if let Some(svc) = s.metadata.labels.as_ref().and_then(|l| l.get(crate::cluster::SERVICE_NAME_LABEL)) {
                    covered.insert(ObjectKey::new(s.metadata.namespace.as_deref(), svc));
                }
            }
            Object::Endpoints(_) => covered.extend(obj.key()),
            _ => {}
        }
    }
    objects
        .iter()
        .filter(|o| match o {
            Object::Service(s) => {
                s.spec.as_ref().and_then(|sp| sp.selector.as_ref()).is_some_and(|sel| !sel.is_empty())
            }
            _ => false,
        })
        .filter_map(Object::key)
        .filter(|k| !covered.contains(k))
        .map(|k| k.namespace)
        .collect()
}

/// Keeps the DNS-relevant objects of a file, checking each converts to its slim
/// form, so a file is rejected whole with located errors rather than half-served.
fn dns_objects(docs: Vec<Document>, report: &mut LoadReport) -> Result<RetainedFile, Vec<ManifestError>> {
    let mut objects = RetainedBuilder::default();
    let mut errors = Vec::new();
    for doc in docs {
        let obj = match doc.object {
            manifest::Object::Namespace(o) => Object::Namespace(o),
            manifest::Object::Service(o) => Object::Service(o),
            manifest::Object::EndpointSlice(o) => Object::EndpointSlice(o),
            manifest::Object::Endpoints(o) => Object::Endpoints(o),
            manifest::Object::Pod(o) => Object::Pod(o),
            other => {
                tracing::debug!(file = %doc.file.display(), line = doc.line, kind = other.kind(), name = other.name(), "kind not used by DNS; ignored");
                report.ignored += 1;
                continue;
            }
        };
        let check = match &obj {
            Object::Service(s) => Service::from_k8s(s).map(drop),
            Object::EndpointSlice(s) => EndpointSet::from_slice(s).map(drop),
            Object::Endpoints(e) => EndpointSet::from_endpoints(e).map(drop),
            Object::Pod(p) => Pod::from_k8s(p).map(drop),
            Object::Namespace(_) => Ok(()),
        };
        match check {
            Ok(()) => {
                if let Err(message) = objects.push(obj) {
                    errors.push(ManifestError {
                        file: doc.file,
                        line: Some(doc.line),
                        field: None,
                        message,
                        object: None,
                    });
                    break;
                }
            }
            Err(e) => errors.push(ManifestError {
                file: doc.file.clone(),
                line: Some(doc.line),
                field: None,
                message: e.to_string(),
                object: obj.key().map(|k| format!("{} {:?}", kind_name(&obj), k.name)),
            }),
        }
    }
    if errors.is_empty() { Ok(objects.finish()) } else { Err(errors) }
}

fn kind_name(obj: &Object) -> &'static str {
    match obj {
        Object::Namespace(_) => "Namespace",
        Object::Service(_) => "Service",
        Object::EndpointSlice(_) => "EndpointSlice",
        Object::Endpoints(_) => "Endpoints",
        Object::Pod(_) => "Pod",
    }
}

/// EndpointSlices for selector Services that have none in the files.
fn derived_slices(objects: &[Object]) -> Vec<Object> {
    let mut covered: HashSet<ObjectKey> = HashSet::new();
    let mut pods_by_ns: BTreeMap<String, Vec<&k8s_openapi::api::core::v1::Pod>> = BTreeMap::new();
    for obj in objects {
        match obj {
            Object::EndpointSlice(s) => {
                if let Some(svc) = s.metadata.labels.as_ref().and_then(|l| l.get(crate::cluster::SERVICE_NAME_LABEL)) {
                    covered.insert(ObjectKey::new(s.metadata.namespace.as_deref(), svc));
                }
            }
            Object::Endpoints(e) => {
                covered.extend(obj.key());
                let _ = e;
            }
            Object::Pod(p) => {
                let ns = ObjectKey::new(p.metadata.namespace.as_deref(), "").namespace;
                pods_by_ns.entry(ns).or_default().push(p);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for obj in objects {
        let Object::Service(svc) = obj else { continue };
        let Some(key) = obj.key() else { continue };
        if covered.contains(&key) {
            continue;
        }
        let mut svc = svc.clone();
        svc.metadata.namespace = Some(key.namespace.clone());
        let pods: Vec<k8s_openapi::api::core::v1::Pod> = pods_by_ns
            .get(&key.namespace)
            .into_iter()
            .flatten()
            .map(|p| {
                let mut p = (*p).clone();
                p.metadata.namespace = Some(key.namespace.clone());
                p
            })
            .collect();
        let refs: Vec<&k8s_openapi::api::core::v1::Pod> = pods.iter().collect();
        out.extend(endpointslice::slices_for(&svc, &refs).into_iter().map(Object::EndpointSlice));
    }
    out
}

/// Runs the source: initial load, mark synced, then apply file changes until
/// `shutdown` resolves. Owns the cache (the single writer).
pub async fn run(
    mut source: ManifestSource,
    mut cache: Cache,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ManifestError> {
    let started = std::time::Instant::now();
    // Watch before the first load: an edit made while loading (or right after
    // /ready turns 200) is then never missed, at worst re-read once.
    let (_watcher, mut changes) = manifest::watch(source.roots().to_vec())?;
    let report = source.load_all();
    log_report(&report);
    source.apply(&mut cache);
    cache.mark_synced();
    let c = cache.counts();
    tracing::info!(
        files = report.loaded,
        services = c.services,
        endpoint_sets = c.endpoint_sets,
        pods = c.pods,
        names = c.names,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "manifests loaded; cache synced"
    );
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            changed = changes.recv() => {
                let Some(file) = changed else { return Ok(()) };
                let mut report = source.reload(&file);
                // Coalesce a burst of changes into one publish.
                while let Ok(more) = changes.try_recv() {
                    let r = source.reload(&more);
                    report.loaded += r.loaded;
                    report.errors.extend(r.errors);
                }
                log_report(&report);
                source.apply(&mut cache);
                            tracing::info!(file = %file.display(), names = cache.counts().names, "manifests reloaded");
            }
        }
    }
}

fn log_report(report: &LoadReport) {
    for e in &report.errors {
        tracing::error!("{e} (the last good version of this file keeps serving)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TEXT: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x, annotations: {big: note}}\nspec: {clusterIP: None, selector: {app: a}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a-0, namespace: x, labels: {app: a}}\nspec:\n  hostname: a-0\n  subdomain: a\n  containers: [{name: c, image: i}]\nstatus: {phase: Running, podIP: 10.0.0.1, conditions: [{type: Ready, status: \"True\"}]}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: x}\nspec: {clusterIP: 10.96.0.2, ports: [{port: 80}]}\n";

    #[test]
    fn packed_objects_come_back_per_kind_in_file_order_and_slimmed() {
        let mut source = ManifestSource::new(vec![]);
        let report = source.load_text(Path::new("f.yaml"), TEXT);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let file = &source.files[Path::new("f.yaml")];
        assert_eq!(
            file.index.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [Kind::Service, Kind::Pod, Kind::Namespace, Kind::Service]
        );
        assert!(file.packed.len() < file.index.last().unwrap().1 as usize + 4, "the block is no larger than the text");
        let unpacked = file.unpack();
        let names = |kind| unpacked.objects(kind).map(|o| o.key().unwrap().name).collect::<Vec<_>>();
        assert_eq!(names(Kind::Service), ["a", "b"]);
        assert_eq!(names(Kind::Pod), ["a-0"]);
        assert_eq!(names(Kind::Endpoints), Vec::<String>::new());
        let Some(Object::Service(a)) = unpacked.objects(Kind::Service).next() else { panic!("a service") };
        assert_eq!(a.metadata.annotations, None, "annotations are not kept");
        // The selector service without slices gets one derived from the pod.
        let derived = ManifestSource::derived(std::slice::from_ref(&unpacked));
        assert!(derived.iter().any(|o| matches!(o, Object::EndpointSlice(_))), "{derived:?}");
    }
}
