//! The `ordinal` binary: parse flags, set up logging, run until a signal.
use clap::Parser;
use ordinal::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

/// jemalloc instead of glibc malloc. Cluster mode keeps ~15 MB of small long-lived
/// objects that are built while list pages and watch events are decoded; glibc left
/// the freed decode garbage as holes between them (8-10 MB it could not return, even
/// with `malloc_trim`), jemalloc's size-class slabs and page purging do not.
/// Measured on 1,000 services x 10 pods: see `benches/README.md` ("Cluster mode").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's compiled-in options (`_RJEM_MALLOC_CONF` in the environment still
/// overrides them):
/// - freed pages go back to the OS after 1 ms rather than after 10 s, so the transient
///   garbage of a list, relist or manifest load does not linger as RSS. A background
///   thread does the purging (without one, jemalloc purges only when it is next called,
///   and an idle server kept 31-35 MB after a 12,010-object load instead of 25). Purging
///   at once on every free (`dirty_decay_ms:0`, the earlier setting) unmapped a slab each
///   time a load emptied it, only to fault it in again: 138,000 page faults and 820 ms
///   of CPU for that load, against 51,000 and 470 ms now. The price is in cluster mode:
///   a full relist's garbage is purged by the background thread a little later instead
///   of at once, and the relist peak rose from 32.9 to 36.1 MiB (CoreDNS: 63 MiB;
///   `benches/README.md`, "Cluster mode");
/// - per-thread caches only for sizes up to 256 bytes: cached larger objects each
///   pinned a partly used slab, which kept a 10,000-pod manifest load at 53 instead of
///   33 MB resident (without any thread cache: 33 MB, but loading took twice the CPU).
// SAFETY: jemalloc reads this symbol, a `const char *` to a NUL-terminated option
// string, once at initialisation; a `&'static [u8; N]` has that exact layout and the
// bytes are immutable and live forever. Nothing else defines the symbol.
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8; 72] = b"background_thread:true,dirty_decay_ms:1,muzzy_decay_ms:0,tcache_max:256\0";

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Ctl(args) = &cli.command {
        std::process::exit(ordinal::ctl::run(&args.args));
    }
    let filter =
        EnvFilter::try_new(&cli.log).map_err(|e| anyhow::anyhow!("--log {:?} is not a valid filter: {e}", cli.log))?;
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(ordinal::run::serve(args, shutdown_signal(), |_, _| {}))?,
        Command::Ctl(_) => unreachable!("handled above"),
        Command::Export(args) => {
            for path in ordinal::run::export(&args)? {
                eprintln!("wrote {path}");
            }
        }
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
