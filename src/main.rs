//! The `ordinal` binary: parse flags, set up logging, run until a signal.
use clap::Parser;
use ordinal::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Ctl(args) = &cli.command {
        std::process::exit(ordinal::ctl::run(&args.args));
    }
    let filter = EnvFilter::try_new(&cli.log)
        .map_err(|e| anyhow::anyhow!("--log {:?} is not a valid filter: {e}", cli.log))?;
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
