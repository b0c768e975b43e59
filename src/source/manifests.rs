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

use crate::cache::{Cache, Kind, Object};
use crate::cluster::{EndpointSet, ObjectKey, Pod, Service, endpointslice};
use crate::manifest::{self, Document, ManifestError};

/// The last good objects of every file.
#[derive(Default)]
pub struct ManifestSource {
    /// Paths given by the user (files or directories).
    roots: Vec<PathBuf>,
    /// Last good DNS-relevant objects per file, in file order.
    files: BTreeMap<PathBuf, Vec<Object>>,
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
        match manifest::load_file(file).map_err(|e| e).and_then(|docs| dns_objects(docs, report)) {
            Ok(objects) => {
                report.loaded += 1;
                self.files.insert(file.to_path_buf(), objects);
            }
            Err(errors) => report.errors.extend(errors),
        }
    }

    /// All objects of all files, plus derived EndpointSlices.
    pub fn objects(&self) -> Vec<Object> {
        let mut all: Vec<Object> = self.files.values().flatten().cloned().collect();
        all.extend(derived_slices(&all));
        all
    }

    /// Replaces the cache's contents with the files' objects and publishes them.
    pub fn apply(&self, cache: &mut Cache) {
        let objects = self.objects();
        for kind in [Kind::Namespace, Kind::Service, Kind::EndpointSlice, Kind::Endpoints, Kind::Pod] {
            for (key, err) in cache.replace(kind, &objects) {
                tracing::warn!(object = %key, error = %err, "object skipped");
            }
        }
        cache.flush();
    }
}

/// Keeps the DNS-relevant objects of a file, checking each converts to its slim
/// form, so a file is rejected whole with located errors rather than half-served.
fn dns_objects(docs: Vec<Document>, report: &mut LoadReport) -> Result<Vec<Object>, Vec<ManifestError>> {
    let mut objects = Vec::new();
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
            Ok(()) => objects.push(obj),
            Err(e) => errors.push(ManifestError {
                file: doc.file.clone(),
                line: Some(doc.line),
                field: None,
                message: e.to_string(),
                object: obj.key().map(|k| format!("{} {:?}", kind_name(&obj), k.name)),
            }),
        }
    }
    if errors.is_empty() { Ok(objects) } else { Err(errors) }
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
pub async fn run(mut source: ManifestSource, mut cache: Cache, shutdown: impl std::future::Future<Output = ()>) -> Result<(), ManifestError> {
    let started = std::time::Instant::now();
    let report = source.load_all();
    log_report(&report);
    source.apply(&mut cache);
    cache.mark_synced();
    let c = cache.counts();
    tracing::info!(
        files = report.loaded, services = c.services, endpoint_sets = c.endpoint_sets, pods = c.pods,
        names = c.names, elapsed_ms = started.elapsed().as_millis() as u64, "manifests loaded; cache synced"
    );
    let (_watcher, mut changes) = manifest::watch(source.roots().to_vec())?;
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
