//! Wiring: build the cache, bind sockets, start the source, the admin endpoint and
//! the DNS servers, and stop them all when the shutdown future resolves.
//!
//! Every background task runs in its own tracing span. If the source or the admin
//! server fails, the whole process stops with its error (no silent dead task).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::Instrument;

use crate::cache::Cache;
use crate::config::{ExportArgs, ServeArgs};
use crate::dns::answer::Limits;
use crate::dns::forward::Forwarder;
use crate::dns::server::{self, Bound, Shared};
use crate::metrics::QueryMetrics;
use crate::source::manifests::{self, ManifestSource};

/// Why `serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// DNS sockets.
    #[error(transparent)]
    Server(#[from] server::ServerError),
    /// Admin listener.
    #[error("cannot bind the admin endpoint {addr}: {source} (pick another with --admin)")]
    Admin {
        /// Address.
        addr: std::net::SocketAddr,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// The manifests source failed.
    #[error("manifests source failed: {0}")]
    Source(#[from] crate::manifest::ManifestError),
    /// The embedded cluster's store.
    #[error(transparent)]
    Store(#[from] crate::embedded::store::StoreError),
    /// The API-server source could not start.
    #[error(transparent)]
    Kube(#[from] crate::kube::KubeError),
    /// A task died.
    #[error("{0}")]
    Task(String),
}

fn local_ips(args: &ServeArgs) -> Vec<IpAddr> {
    let ips: Vec<IpAddr> = args.listen.iter().map(|a| a.ip()).filter(|ip| !ip.is_unspecified()).collect();
    if ips.is_empty() { vec![IpAddr::from([127, 0, 0, 1])] } else { ips }
}

/// Runs `ordinal serve` until `shutdown` resolves. `on_bound` receives the DNS and
/// admin addresses once bound (tests pass port 0 and read the real ports here).
pub async fn serve(
    args: ServeArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(Vec<std::net::SocketAddr>, std::net::SocketAddr),
) -> Result<(), RunError> {
    // Cluster mode: build the client first so a bad kubeconfig fails before anything binds.
    let kube = match args.kube.enabled() {
        true => {
            let opts = crate::kube::KubeOptions {
                kubeconfig: args.kube.kubeconfig.clone(),
                namespaces: args.kube.namespaces.clone(),
                labels: args.kube.labels.clone(),
                startup_timeout: args.kube.startup_timeout,
            };
            let client = crate::kube::client(&opts).await?;
            Some((opts, client))
        }
        false => None,
    };
    let workers =
        args.udp_workers.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from);
    let (cache, zone) = Cache::new(args.zone.zone_config(local_ips(&args)));
    let bound = Bound::bind(&args.listen, workers)?;
    let admin_listener = tokio::net::TcpListener::bind(args.admin)
        .await
        .map_err(|source| RunError::Admin { addr: args.admin, source })?;
    let admin_addr = admin_listener.local_addr().map_err(|source| RunError::Admin { addr: args.admin, source })?;
    on_bound(bound.local_addrs().to_vec(), admin_addr);
    tracing::info!(dns = ?bound.local_addrs(), admin = %admin_addr, workers, zone = %args.zone.zone, "ordinal serving");

    let metrics = Arc::new(QueryMetrics::new(workers * args.listen.len() + 1));
    let forwarder =
        (!args.upstream.is_empty()).then(|| Arc::new(Forwarder::new(args.upstream.clone(), Duration::from_secs(2))));
    let limits = Limits { forward: forwarder.is_some(), ..Limits::default() };
    let shared = Shared { zone: Arc::clone(&zone), limits, metrics: Arc::clone(&metrics), forwarder };

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    let mut app = crate::admin::router(crate::admin::AdminState { zone: Arc::clone(&zone), metrics });
    if let Some((opts, client)) = kube {
        // Cluster mode: watch a real API server (--kubeconfig / --in-cluster).
        let source_stop = stopped();
        if args.kube.manage_statefulsets {
            let mut copts = crate::kube::statefulsets::ControllerOptions::new(opts.namespaces.clone());
            copts.workers = usize::from(args.kube.concurrent_statefulset_syncs);
            copts.lease_namespace = args.kube.lease_namespace.clone();
            copts.lease_name = args.kube.lease_name.clone();
            if let Some(id) = &args.kube.lease_identity {
                copts.identity = id.clone();
            }
            let (client, controller_stop) = (client.clone(), stopped());
            tasks.spawn(
                async move {
                    crate::kube::statefulsets::run(client, copts, controller_stop).await;
                    Ok(())
                }
                .instrument(tracing::info_span!("statefulset-controller")),
            );
        }
        tasks.spawn(
            async move { crate::kube::run(opts, client, cache, source_stop).await.map_err(RunError::from) }
                .instrument(tracing::info_span!("source", kind = "kube")),
        );
    } else if args.replay {
        let source = ManifestSource::new(args.zone.manifests.clone());
        if source.roots().is_empty() {
            tracing::warn!("--replay without --manifests: serving an empty cluster zone");
        }
        let source_stop = stopped();
        tasks.spawn(
            async move { manifests::run(source, cache, source_stop).await.map_err(RunError::from) }
                .instrument(tracing::info_span!("source", kind = "manifests")),
        );
    } else {
        let cfg = args.embedded_config();
        let state_dir = args.state_dir.clone();
        let (cluster, handle, rx) = crate::embedded::Cluster::open(cfg, cache)?;
        tracing::info!(state_dir = %state_dir.display(), "embedded cluster opened");
        let cluster_stop = stopped();
        tasks.spawn(
            async move { crate::embedded::run(cluster, rx, cluster_stop).await.map_err(RunError::from) }
                .instrument(tracing::info_span!("embedded")),
        );
        app = app.merge(crate::embedded::api::router(handle.clone()));
        let roots = args.zone.manifests.clone();
        let files_stop = stopped();
        tasks.spawn(
            async move {
                crate::embedded::files::run(handle, roots, files_stop).await.map_err(|e| RunError::Task(e.to_string()))
            }
            .instrument(tracing::info_span!("manifests")),
        );
    }
    let admin_stop = stopped();
    tasks.spawn(
        async move {
            crate::admin::serve(admin_listener, app, admin_stop)
                .await
                .map_err(|e| RunError::Task(format!("admin endpoint failed: {e}")))
        }
        .instrument(tracing::info_span!("admin")),
    );
    let dns_stop = stopped();
    tasks.spawn(
        async move { server::serve(bound, shared, dns_stop).await.map_err(RunError::from) }
            .instrument(tracing::info_span!("dns")),
    );

    // Run until shutdown is requested or any task ends (a task ending early is a failure).
    let first = tokio::select! {
        _ = shutdown => None,
        res = tasks.join_next() => res,
    };
    let _ = stop_tx.send(true);
    let mut result = match first {
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) => Err(RunError::Task(format!("task panicked: {e}"))),
        Some(Ok(Ok(()))) => Err(RunError::Task("a background task stopped unexpectedly".into())),
        None => Ok(()),
    };
    while let Some(res) = tasks.join_next().await {
        if let (Ok(()), Ok(Err(e))) = (&result, res) {
            result = Err(e);
        }
    }
    result
}

/// Runs `ordinal export`: load the manifests once and print or write the zones.
pub fn export(args: &ExportArgs) -> Result<Vec<String>, RunError> {
    let (mut cache, zone) = Cache::new(args.zone.zone_config(vec![IpAddr::from([127, 0, 0, 1])]));
    let mut source = ManifestSource::new(args.zone.manifests.clone());
    let report = source.load_all();
    if let Some(e) = report.errors.into_iter().next() {
        return Err(RunError::Source(e));
    }
    source.apply(&mut cache);
    cache.mark_synced();
    let files = crate::export::zone_files(&zone);
    let mut written = Vec::new();
    match &args.output {
        None => {
            for f in &files {
                print!("{}\n", f.text);
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| RunError::Task(format!("cannot create {}: {e}", dir.display())))?;
            for f in &files {
                let path = dir.join(format!("{}zone", f.origin));
                std::fs::write(&path, &f.text)
                    .map_err(|e| RunError::Task(format!("cannot write {}: {e}", path.display())))?;
                written.push(path.display().to_string());
            }
        }
    }
    Ok(written)
}
