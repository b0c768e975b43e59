//! The API-server source: kube-rs watchers feeding the cache (cluster mode).
//!
//! Shape: one watcher task per stream (Services, EndpointSlices, Pods, Namespaces;
//! per namespace when scoped with `--namespaces`), each decoding objects slim on arrival
//! ([`slim`]) and sending kind-erased events down one channel to the single
//! writer task, which owns the [`Cache`] through a sans-IO [`writer::Writer`].
//!
//! Watch streams never end: errors (API server down, 410 Gone, network) are logged
//! and retried with backoff; kube-runtime's watcher relists after a 410 or a lost
//! resource version, and the writer applies a relist only once it is complete.
//! Before the first complete view, would-be NXDOMAIN answers are SERVFAIL; after
//! `--startup-timeout` the cache answers anyway (as CoreDNS does) while `/ready`
//! stays 503 until the real sync.

pub mod fast;
pub mod metrics;
pub mod slim;
pub mod statefulsets;
pub mod writer;

use std::fmt::Debug;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ::kube::api::Api;
use ::kube::runtime::watcher;
use ::kube::{Client, Resource};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::cache::{Cache, Kind, Object};
use slim::Slim;
use writer::{Change, StreamId, StreamSpec, Writer};

/// Label every Service-owned EndpointSlice carries (CoreDNS watches only those).
const SERVICE_NAME_LABEL: &str = crate::cluster::SERVICE_NAME_LABEL;
/// Pods in a terminal phase never serve (CoreDNS's pod field selector).
const POD_FIELDS: &str = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown";

/// Objects per page of a (re)list. kube's default is 500. Objects are decoded slim
/// ([`slim`]), but kube's `ObjectList` (a `#[serde(flatten)]` struct) first buffers a
/// whole page as a serde `Content` tree, and that freed peak stayed resident. 50 costs
/// 200 requests for 10,000 pods (served from the API server's watch cache). Measured
/// (before slim decoding) with [`CHANNEL_CAPACITY`], ordinal started on a cluster of
/// 1,000 services x 10 pods: VmHWM 95 -> 56 MiB, VmRSS 62 -> 49 MiB.
const LIST_PAGE_SIZE: u32 = 50;
/// Events in flight between the watchers and the writer. A `Change` is ~2.2 KB inline
/// (the largest `k8s_openapi` variant), so 4,096 of them were a 9 MB peak while the
/// writer worked through a first list; the writer takes 256 at a time anyway.
const CHANNEL_CAPACITY: usize = 256;

/// How to reach the API server and what to watch.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// A kubeconfig file (its current context), or None for in-cluster config.
    pub kubeconfig: Option<PathBuf>,
    /// Only these namespaces (empty: all). Scoped watches need only a namespaced Role.
    pub namespaces: Vec<String>,
    /// Label selector for Services and EndpointSlices (sidecar scope).
    pub labels: Option<String>,
    /// Answer without a complete first view after this long.
    pub startup_timeout: Duration,
}

/// Why the source could not start.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig could not be read or used.
    #[error("--kubeconfig {path}: {source} (check the file and its current context)")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: ::kube::config::KubeconfigError,
    },
    /// No in-cluster environment.
    #[error("--in-cluster: {0} (run inside a pod with a ServiceAccount, or use --kubeconfig)")]
    InCluster(#[source] ::kube::config::InClusterError),
    /// The client could not be built (TLS material).
    #[error("cannot build the Kubernetes client: {0}")]
    Client(#[source] ::kube::Error),
}

/// Builds a client from the options. Does not contact the API server.
pub async fn client(opts: &KubeOptions) -> Result<Client, KubeError> {
    let config = match &opts.kubeconfig {
        Some(path) => {
            let kc = ::kube::config::Kubeconfig::read_from(path)
                .map_err(|source| KubeError::Kubeconfig { path: path.clone(), source })?;
            ::kube::Config::from_custom_kubeconfig(kc, &::kube::config::KubeConfigOptions::default())
                .await
                .map_err(|source| KubeError::Kubeconfig { path: path.clone(), source })?
        }
        None => ::kube::Config::incluster().map_err(KubeError::InCluster)?,
    };
    Client::try_from(config).map_err(KubeError::Client)
}

/// The streams the options ask for, in a fixed order.
pub fn streams(opts: &KubeOptions) -> Vec<StreamSpec> {
    let mut out = Vec::new();
    let scopes: Vec<Option<String>> =
        if opts.namespaces.is_empty() { vec![None] } else { opts.namespaces.iter().cloned().map(Some).collect() };
    for kind in [Kind::Service, Kind::EndpointSlice, Kind::Pod] {
        for ns in &scopes {
            out.push(StreamSpec { kind, namespace: ns.clone() });
        }
    }
    if opts.namespaces.is_empty() {
        out.push(StreamSpec { kind: Kind::Namespace, namespace: None });
    }
    out
}

/// Backoff for failed lists/watches: 250 ms doubling to 2 s, with jitter; reset only
/// by real progress (an object or the end of a list). client-go's reflector (and kube's
/// `default_backoff`) go up to 30 s; a cluster DNS must catch up within seconds once the
/// API server returns (issue 5: within 5 s), and a few watches retrying every 1–2 s are
/// no load. kube's `StreamBackoff` is not used: it resets on any `Ok`, and the watcher
/// yields `Ok(Init)` before every list attempt, so against a dead API server it never
/// backs off.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { next: MIN_BACKOFF }
    }

    /// The next delay (jittered to 50–100 %), doubling up to [`MAX_BACKOFF`].
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (d * 2).min(MAX_BACKOFF);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |t| t.subsec_nanos());
        d.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
    }

    pub(crate) fn reset(&mut self) {
        self.next = MIN_BACKOFF;
    }
}

type Sender = mpsc::Sender<(StreamId, Change)>;

/// Runs one watch stream forever, sending its events to the writer.
async fn watch<K>(
    api: Api<Slim<K>>,
    config: watcher::Config,
    id: StreamId,
    kind: Kind,
    wrap: fn(K) -> Object,
    tx: Sender,
) where
    Slim<K>: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let wrap = |Slim(o): Slim<K>| wrap(o);
    let mut stream = watcher::watcher(api, config.page_size(LIST_PAGE_SIZE)).boxed();
    let mut backoff = Backoff::new();
    let mut failing: Option<(Instant, Instant, u64)> = None; // (since, last log, failures)
    while let Some(item) = stream.next().await {
        let change = match item {
            Ok(watcher::Event::Init) => Change::Init,
            Ok(ev) => {
                backoff.reset();
                metrics::METRICS.event(kind);
                if let Some((since, _, failures)) = failing.take() {
                    tracing::info!(down_for_ms = since.elapsed().as_millis() as u64, failures, "watch recovered");
                }
                match ev {
                    watcher::Event::Init => Change::Init,
                    watcher::Event::InitApply(o) => Change::InitApply(wrap(o)),
                    watcher::Event::InitDone => Change::InitDone,
                    watcher::Event::Apply(o) => Change::Apply(wrap(o)),
                    watcher::Event::Delete(o) => Change::Delete(wrap(o)),
                }
            }
            Err(e) => {
                // Keep serving the last view; the watcher retries (relisting after a 410).
                metrics::METRICS.error(kind);
                let now = Instant::now();
                match &mut failing {
                    None => {
                        failing = Some((now, now, 1));
                        tracing::warn!(error = %e, "watch failed; retrying with backoff (answers keep coming from the last view)");
                    }
                    Some((since, last_log, failures)) => {
                        *failures += 1;
                        if now.duration_since(*last_log) >= Duration::from_secs(30) {
                            *last_log = now;
                            tracing::warn!(error = %e, down_for_s = since.elapsed().as_secs(), failures = *failures, "watch still failing");
                        } else {
                            tracing::debug!(error = %e, "watch still failing");
                        }
                    }
                }
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        if tx.send((id, change)).await.is_err() {
            return; // the writer stopped: shutting down
        }
    }
}

fn api<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Starts every watch stream and runs the writer until `shutdown` resolves.
pub async fn run(
    opts: KubeOptions,
    client: Client,
    cache: Cache,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), KubeError> {
    let specs = streams(&opts);
    metrics::METRICS.enable();
    let (tx, mut rx) = mpsc::channel::<(StreamId, Change)>(CHANNEL_CAPACITY);
    let mut watchers = tokio::task::JoinSet::new();
    let labels = opts.labels.as_deref().filter(|l| !l.is_empty());
    for (id, spec) in specs.iter().enumerate() {
        let ns = spec.namespace.as_deref();
        let span = tracing::info_span!("watch", kind = ?spec.kind, namespace = ns.unwrap_or("*"));
        let tx = tx.clone();
        match spec.kind {
            Kind::Service => {
                let mut cfg = watcher::Config::default();
                if let Some(l) = labels {
                    cfg = cfg.labels(l);
                }
                watchers.spawn(
                    watch::<Service>(api(&client, ns), cfg, id, spec.kind, Object::Service, tx).instrument(span),
                );
            }
            Kind::EndpointSlice => {
                let sel = match labels {
                    Some(l) => format!("{SERVICE_NAME_LABEL},{l}"),
                    None => SERVICE_NAME_LABEL.to_string(),
                };
                let cfg = watcher::Config::default().labels(&sel);
                watchers.spawn(
                    watch::<EndpointSlice>(api(&client, ns), cfg, id, spec.kind, Object::EndpointSlice, tx)
                        .instrument(span),
                );
            }
            Kind::Pod => {
                let cfg = watcher::Config::default().fields(POD_FIELDS);
                watchers.spawn(watch::<Pod>(api(&client, ns), cfg, id, spec.kind, Object::Pod, tx).instrument(span));
            }
            Kind::Namespace => {
                let api: Api<Slim<Namespace>> = Api::all(client.clone());
                watchers.spawn(
                    watch::<Namespace>(api, watcher::Config::default(), id, spec.kind, Object::Namespace, tx)
                        .instrument(span),
                );
            }
            Kind::Endpoints => {}
        }
    }
    drop(tx);

    let started = Instant::now();
    let mut writer = Writer::new(cache, &specs, &opts.namespaces);
    let startup = tokio::time::sleep(opts.startup_timeout);
    tokio::pin!(startup, shutdown);
    let mut timed_out = false;
    let mut batch = Vec::with_capacity(256);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = &mut startup, if !timed_out && !writer.is_synced() => {
                timed_out = true;
                tracing::warn!(timeout_s = opts.startup_timeout.as_secs_f64(), pending = ?writer.pending(),
                    "startup timeout: the API server has not delivered a complete view; answering from what is cached (/ready stays 503)");
                writer.cache().serve_unsynced();
            }
            n = rx.recv_many(&mut batch, 256) => {
                if n == 0 {
                    break; // every watcher ended: only at shutdown
                }
                let mut dirty = false;
                for (id, change) in batch.drain(..) {
                    let applied = writer.apply(id, change);
                    dirty |= applied.dirty;
                    if applied.synced_now {
                        let c = writer.cache().counts();
                        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, services = c.services, endpoint_sets = c.endpoint_sets,
                            pods = c.pods, namespaces = c.namespaces, names = c.names, "cache synced with the API server");
                    }
                    if applied.relisted {
                        tracing::info!(stream = id, "relist applied");
                    }
                }
                if dirty {
                    writer.cache().flush();
                }
            }
        }
    }
    watchers.shutdown().await;
    Ok(())
}
