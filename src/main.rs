//! The `ordinal` binary: parse flags, set up logging, run until a signal.
use clap::Parser;
use ordinal::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Ctl(args) = &cli.command {
        std::process::exit(ordinal::ctl::run(&args.args));
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    ordinal::run::set_release_memory(trim_heap);
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

/// Returns freed heap to the OS after a manifest (re)load (see
/// `ordinal::run::set_release_memory`): glibc keeps a freed peak resident otherwise,
/// ~50 MB after loading a 10,000-pod dump. The one reviewed `unsafe` of the binary.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: malloc_trim(3) takes a plain integer, touches only the allocator's own
    // free lists under its locks, and is safe to call from any thread at any time.
    unsafe {
        malloc_trim(0);
    }
}
