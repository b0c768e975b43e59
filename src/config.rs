//! Command-line flags, validated in one place.
//!
//! Every flag a user can get wrong is checked here, before anything binds a port
//! or touches data, and the error names the flag and says what to do.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cache::{PodsMode, ZoneConfig};
use crate::cluster::ObjectKey;

/// ordinal: cluster DNS and StatefulSet identity for Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "ordinal", version, about, long_about = None)]
pub struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `ordinal=debug`.
    /// (kube's per-request error log is off by default: the watch loop logs each outage once, with context.)
    #[arg(long, global = true, env = "ORDINAL_LOG", default_value = "info,kube_client::client::builder=off")]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[allow(clippy::large_enum_variant)] // parsed once at startup; boxing buys nothing
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve DNS for the cluster zone, from an embedded cluster (default) or a static replay.
    ///
    /// Default (embedded cluster): objects live in a persistent store under --state-dir and are
    /// run in-process: the StatefulSet controller, EndpointSlices, a simulated kubelet. The
    /// control API (`ordinal ctl`, docs/control-api.md) is served on --admin. `-f FILE|DIR` is
    /// applied at startup like `kubectl apply` (all-or-nothing per file) and watched: an edit is
    /// re-applied and objects removed from the file are deleted; a broken edit is logged and the
    /// last good state keeps serving.
    ///
    /// `--replay -f DUMP`: serve DNS straight from manifest files (e.g. a `kubectl get -o yaml`
    /// dump of a real cluster) with no store, no controller and no control API; files are
    /// watched and reloaded.
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Write the served zone(s) as RFC 1035 zone files (for diffing, debugging, or another server).
    Export(ExportArgs),
    /// kubectl-like client of a running `ordinal serve` (embedded cluster): get, apply, scale, ...
    Ctl(crate::ctl::CtlArgs),
}

/// Flags that shape the zone's answers.
#[derive(Debug, Clone, Args)]
pub struct ZoneArgs {
    /// Cluster domain served authoritatively.
    #[arg(long, default_value = "cluster.local", value_parser = parse_zone)]
    pub zone: String,
    /// TTL of cluster records and the SOA minimum, in seconds (CoreDNS: 0..3600).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub ttl: u32,
    /// Pod records `a-b-c-d.<ns>.pod.<zone>`.
    #[arg(long, value_enum, default_value_t = PodsMode::Insecure)]
    pub pods: PodsMode,
    /// ClusterIP services with no ready endpoints answer NXDOMAIN (CoreDNS `ignore empty_service`).
    #[arg(long)]
    pub ignore_empty_service: bool,
    /// The Service (namespace/name) whose cluster IPs are published as `ns.dns.<zone>`.
    #[arg(long, default_value = "kube-system/kube-dns", value_parser = parse_object_key)]
    pub dns_service: ObjectKey,
    /// Manifest file or directory (YAML, multi-document, JSON, `kind: List`); repeatable.
    #[arg(long = "manifests", short = 'f')]
    pub manifests: Vec<PathBuf>,
}

/// `ordinal serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// DNS listen address (UDP and TCP); repeatable; IPv6 as `[::1]:5353`.
    #[arg(long = "listen", default_values_t = [SocketAddr::from(([127, 0, 0, 1], 5353))])]
    pub listen: Vec<SocketAddr>,
    /// Admin HTTP address for /health, /ready and /metrics.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub admin: SocketAddr,
    /// UDP worker threads per listen address (one SO_REUSEPORT socket each); default: CPU count.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub udp_workers: Option<u16>,
    /// Upstream resolver for names outside the cluster zones (`IP` or `IP:PORT`); repeatable.
    /// Without one, such names are REFUSED.
    #[arg(long = "upstream", value_parser = parse_upstream)]
    pub upstream: Vec<SocketAddr>,
    /// Serve the -f manifests as a static snapshot of a cluster (e.g. a `kubectl get -o yaml`
    /// dump): Services, EndpointSlices, Endpoints and Pods as written; no embedded
    /// cluster, no state dir, no control API.
    #[arg(long)]
    pub replay: bool,
    /// Embedded cluster: where the object store lives (created if missing).
    #[arg(long, default_value = "./.ordinal")]
    pub state_dir: PathBuf,
    /// Embedded cluster: cluster IPs for Services without one.
    #[arg(long, default_value = "10.96.0.0/16", value_parser = parse_cidr)]
    pub service_cidr: (std::net::Ipv4Addr, u8),
    /// Embedded cluster: pod IPs.
    #[arg(long, default_value = "10.244.0.0/16", value_parser = parse_cidr)]
    pub pod_cidr: (std::net::Ipv4Addr, u8),
    /// Embedded cluster: simulated nodes `node-0..N-1`.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub nodes: u16,
    /// Embedded cluster: Pending → Running delay (Go duration; annotation `ordinal.dev/start-delay` overrides per set).
    #[arg(long, default_value = "200ms", value_parser = crate::embedded::kubelet::parse_duration)]
    pub kubelet_start_delay: std::time::Duration,
    /// Embedded cluster: Running → Ready delay (annotation `ordinal.dev/ready-delay` overrides per set).
    #[arg(long, default_value = "300ms", value_parser = crate::embedded::kubelet::parse_duration)]
    pub kubelet_ready_delay: std::time::Duration,
    /// Embedded cluster: cap on a terminating pod's grace period, so tutorials run fast.
    #[arg(long, default_value = "1s", value_parser = crate::embedded::kubelet::parse_duration)]
    pub kubelet_max_grace: std::time::Duration,
    /// Zone flags.
    #[command(flatten)]
    pub zone: ZoneArgs,
    /// Cluster mode (watch a Kubernetes API server).
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// Cluster mode: serve from a Kubernetes API server's watch streams instead of files.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("kube_source").args(["kubeconfig", "in_cluster"])))]
pub struct KubeArgs {
    /// Watch the API server of this kubeconfig file (its current context).
    #[arg(long, conflicts_with_all = ["in_cluster", "manifests"])]
    pub kubeconfig: Option<PathBuf>,
    /// Watch the API server this pod runs in (ServiceAccount token and CA).
    #[arg(long, conflicts_with = "manifests")]
    pub in_cluster: bool,
    /// Also run the bundled StatefulSet controller against the API server, in place of
    /// kube-controller-manager's (start that with --controllers=*,-statefulset-controller;
    /// never run both). Leader election on a Lease makes several replicas safe.
    #[arg(long, requires = "kube_source")]
    pub manage_statefulsets: bool,
    /// StatefulSets synced concurrently (kube-controller-manager's flag of the same name).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100), requires = "manage_statefulsets")]
    pub concurrent_statefulset_syncs: u16,
    /// Namespace of the leader-election Lease.
    #[arg(long, default_value = "kube-system", value_parser = parse_namespace, requires = "manage_statefulsets")]
    pub lease_namespace: String,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "ordinal-statefulset-controller", requires = "manage_statefulsets")]
    pub lease_name: String,
    /// This replica's identity in the Lease (default: $POD_NAME, else <hostname>-<pid>).
    #[arg(long, requires = "manage_statefulsets")]
    pub lease_identity: Option<String>,
    /// Watch only these namespaces (comma-separated; default all). A sidecar scoped to its
    /// own namespace needs only a namespaced Role.
    #[arg(long, value_delimiter = ',', value_parser = parse_namespace)]
    pub namespaces: Vec<String>,
    /// Serve only Services (and their EndpointSlices) matching this label selector.
    #[arg(long)]
    pub labels: Option<String>,
    /// Before the first complete view, would-be NXDOMAIN answers are SERVFAIL; after this
    /// long (seconds) answer from what is cached anyway (CoreDNS: 5s). `/ready` waits for the sync.
    #[arg(long, default_value = "5", value_parser = parse_seconds)]
    pub startup_timeout: std::time::Duration,
}

impl KubeArgs {
    /// Whether cluster mode is selected.
    pub fn enabled(&self) -> bool {
        self.kubeconfig.is_some() || self.in_cluster
    }
}

fn parse_namespace(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a namespace name (RFC 1123 label, e.g. kube-system)"))
    }
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let t = s.strip_suffix('s').unwrap_or(s);
    t.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && *v <= 3600.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("{s:?} is not a number of seconds between 0 and 3600 (e.g. 5 or 2.5s)"))
}

impl ServeArgs {
    /// The embedded cluster's settings.
    pub fn embedded_config(&self) -> crate::embedded::Config {
        crate::embedded::Config {
            state_dir: Some(self.state_dir.clone()),
            service_cidr: self.service_cidr,
            pod_cidr: self.pod_cidr,
            nodes: usize::from(self.nodes),
            start_delay: self.kubelet_start_delay,
            ready_delay: self.kubelet_ready_delay,
            max_grace: self.kubelet_max_grace,
        }
    }
}

fn parse_cidr(s: &str) -> Result<(std::net::Ipv4Addr, u8), String> {
    let bad = || format!("{s:?} is not an IPv4 CIDR with a prefix of /8 to /30 (e.g. 10.96.0.0/16)");
    let (ip, prefix) = s.split_once('/').ok_or_else(bad)?;
    let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if !(8..=30).contains(&prefix) {
        return Err(bad());
    }
    Ok((ip, prefix))
}

/// `ordinal export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Directory to write one `<zone>.zone` file per zone into; default: all zones to stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Zone flags.
    #[command(flatten)]
    pub zone: ZoneArgs,
}

fn parse_zone(s: &str) -> Result<String, String> {
    let zone = s.trim_end_matches('.').to_ascii_lowercase();
    crate::dns::name::to_wire(&zone).map_err(|e| format!("{s:?} is not a domain name: {e}"))?;
    if zone.is_empty() {
        return Err("the root zone cannot be the cluster domain; use e.g. cluster.local".into());
    }
    Ok(zone)
}

fn parse_object_key(s: &str) -> Result<ObjectKey, String> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(ObjectKey::new(Some(ns), name))
        }
        _ => Err(format!("{s:?} must be NAMESPACE/NAME, e.g. kube-system/kube-dns")),
    }
}

fn parse_upstream(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{s:?} is not an IP address or IP:PORT (e.g. 10.0.0.10 or [fd00::a]:53)"))
}

impl Cli {
    /// Parses `argv` as `ordinal serve ...` and returns its arguments (for tests
    /// that run the server in-process). Panics with clap's message on bad flags.
    pub fn try_parse_from_for_tests(argv: &[&str]) -> ServeArgs {
        match Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}")).command {
            Command::Serve(a) => a,
            other => panic!("not a serve command: {other:?}"),
        }
    }
}

impl ZoneArgs {
    /// The zone configuration these flags describe; `local_ips` are published as
    /// `ns.dns.<zone>` while the DNS service is unknown.
    pub fn zone_config(&self, local_ips: Vec<IpAddr>) -> ZoneConfig {
        ZoneConfig {
            domain: self.zone.clone(),
            ttl: self.ttl,
            pods: self.pods,
            ignore_empty_service: self.ignore_empty_service,
            dns_service: Some(self.dns_service.clone()),
            local_ips,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_issue() {
        let cli = Cli::try_parse_from(["ordinal", "serve"]).unwrap();
        let Command::Serve(a) = cli.command else { panic!() };
        assert_eq!(a.listen, vec!["127.0.0.1:5353".parse().unwrap()]);
        assert_eq!(a.admin, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((a.zone.zone.as_str(), a.zone.ttl, a.zone.pods), ("cluster.local", 5, PodsMode::Insecure));
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        let err = Cli::try_parse_from(["ordinal", "serve", "--ttl", "9999"]).unwrap_err().to_string();
        assert!(err.contains("9999") && err.contains("--ttl"), "{err}");
        let err = Cli::try_parse_from(["ordinal", "serve", "--upstream", "dns.google"]).unwrap_err().to_string();
        assert!(err.contains("not an IP address"), "{err}");
        let err = Cli::try_parse_from(["ordinal", "serve", "--zone", "a..b"]).unwrap_err().to_string();
        assert!(err.contains("not a domain name"), "{err}");
        let err = Cli::try_parse_from(["ordinal", "serve", "--dns-service", "kube-dns"]).unwrap_err().to_string();
        assert!(err.contains("NAMESPACE/NAME"), "{err}");
        assert_eq!(parse_upstream("10.0.0.10").unwrap(), "10.0.0.10:53".parse().unwrap());
    }

    #[test]
    fn the_controller_needs_an_api_server() {
        let err = Cli::try_parse_from(["ordinal", "serve", "--manage-statefulsets"]).unwrap_err().to_string();
        assert!(err.contains("--kubeconfig") && err.contains("--in-cluster"), "{err}");
        let err = Cli::try_parse_from(["ordinal", "serve", "--lease-name", "x"]).unwrap_err().to_string();
        assert!(err.contains("--manage-statefulsets"), "{err}");
        let cli = Cli::try_parse_from(["ordinal", "serve", "--kubeconfig", "k", "--manage-statefulsets"]).unwrap();
        let Command::Serve(a) = cli.command else { panic!() };
        assert!(a.kube.manage_statefulsets);
        assert_eq!((a.kube.lease_namespace.as_str(), a.kube.concurrent_statefulset_syncs), ("kube-system", 5));
    }
}
