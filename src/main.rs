//! `rusts`: the RusTs server binary. Reads `rusts.yml` and the command line, installs
//! tracing, opens the storage engine, and shuts down cleanly on SIGINT or SIGTERM.
//!
//! The HTTP line-protocol and Postgres listeners arrive with their issues; today the binary
//! opens (and recovers) the storage engine in the data directory and keeps it open.

mod config;

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::config::Config;

/// RusTs: a time-series SQL database.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file. Default: `rusts.yml` in the working directory, if present.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Data directory (overrides `storage.data_dir`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None if std::path::Path::new("rusts.yml").exists() => Config::load("rusts.yml".as_ref())?,
        None => Config::default(),
    };
    if let Some(dir) = args.data_dir {
        config.storage.data_dir = dir;
    }
    install_tracing(&config.log.level)?;
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .context("installing signal handlers")?;
    let engine = rusts_storage::Engine::open(config.storage_options()).with_context(|| {
        format!(
            "opening data directory {}",
            config.storage.data_dir.display()
        )
    })?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        data_dir = %config.storage.data_dir.display(),
        "rusts started (storage engine only: the HTTP and Postgres listeners are not built yet)"
    );
    let signal = signals.forever().next();
    tracing::info!(?signal, "shutting down");
    engine.close().context("closing the storage engine")?;
    tracing::info!("stopped");
    Ok(())
}

fn install_tracing(level: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) => tracing_subscriber::EnvFilter::try_new(from_env),
        Err(_) => tracing_subscriber::EnvFilter::try_new(level),
    }
    .context("invalid log filter (log.level or RUST_LOG)")?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    Ok(())
}
