//! `rusts`: the RusTs server binary. Reads `rusts.yml` and the command line, installs
//! tracing, opens the engine, serves HTTP (InfluxDB line protocol and monitoring) and the
//! Postgres wire protocol (SQL), and on SIGINT or SIGTERM stops accepting, finishes HTTP
//! requests in flight, closes SQL connections, flushes and exits 0.

mod config;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use rusts_planner::Engine;
use rusts_wire::{HttpOptions, PgServerOptions, SessionFactory};

use crate::config::Config;

/// mimalloc instead of the system allocator: the write path makes short-lived allocations
/// per point and glibc's malloc/free took about a third of the server's CPU under ingest.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The documented default configuration, written by `--generate-config`.
const DEFAULT_CONFIG: &str = include_str!("../rusts.yml");

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
    /// Address to bind (overrides `server.host`).
    #[arg(long)]
    host: Option<String>,
    /// HTTP port (overrides `server.port`; 0 picks a free port).
    #[arg(long)]
    port: Option<u16>,
    /// Postgres wire protocol port (overrides `server.pg_port`; 0 picks a free port).
    #[arg(long)]
    pg_port: Option<u16>,
    /// Write the default configuration to `--config` (or `rusts.yml`) and exit; refuses to
    /// overwrite an existing file.
    #[arg(long)]
    generate_config: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.generate_config {
        return generate_config(args.config.as_deref().unwrap_or(Path::new("rusts.yml")));
    }
    let config = load_config(&args)?;
    install_tracing(&config.log.level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rusts-worker")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(config))
}

fn generate_config(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        bail!("{} already exists; not overwriting it", path.display());
    }
    std::fs::write(path, DEFAULT_CONFIG).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote the default configuration to {}", path.display());
    Ok(())
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None if Path::new("rusts.yml").exists() => Config::load(Path::new("rusts.yml"))?,
        None => Config::default(),
    };
    if let Some(dir) = &args.data_dir {
        config.storage.data_dir = dir.clone();
    }
    if let Some(host) = &args.host {
        config.server.host = host.clone();
    }
    if let Some(port) = args.port {
        config.server.port = port;
    }
    if let Some(port) = args.pg_port {
        config.server.pg_port = port;
    }
    config.validate().context("invalid command-line value")?;
    Ok(config)
}

async fn run(config: Config) -> anyhow::Result<()> {
    let options = config.storage_options();
    let data_dir = config.storage.data_dir.clone();
    let engine = tokio::task::spawn_blocking(move || Engine::open(options))
        .await
        .context("opening the engine")?
        .with_context(|| format!("opening data directory {}", data_dir.display()))?;
    let engine = Arc::new(engine);
    let host = if config.server.host == "localhost" {
        "127.0.0.1"
    } else {
        &config.server.host
    };
    let shutdown = shutdown_signal()?;
    let bind = |port: u16, what: &'static str| {
        let address = (host.to_owned(), port);
        async move {
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("binding {what} to {host}:{port}"))
        }
    };
    let http_listener = bind(config.server.port, "HTTP").await?;
    let pg_listener = bind(config.server.pg_port, "Postgres").await?;
    let http_address = http_listener
        .local_addr()
        .context("reading the bound HTTP address")?;
    let pg_address = pg_listener
        .local_addr()
        .context("reading the bound Postgres address")?;
    tracing::info!(
        http = %http_address,
        postgres = %pg_address,
        data_dir = %config.storage.data_dir.display(),
        wal_durability = ?config.storage.wal_durability,
        version = env!("CARGO_PKG_VERSION"),
        "rusts listening"
    );
    warn_if_exposed(http_address, "HTTP", "write");
    warn_if_exposed(pg_address, "Postgres", "read and write with SQL");
    let on_stop = broadcast(shutdown);
    let http = HttpOptions {
        body_bytes_max: config.server.max_body_size,
    };
    let pg = PgServerOptions {
        connections_max: config.server.max_connections,
        ..PgServerOptions::default()
    };
    let sessions: Arc<dyn SessionFactory> = Arc::clone(&engine) as Arc<dyn SessionFactory>;
    let (http_result, pg_result) = tokio::join!(
        rusts_wire::serve_http(http_listener, Arc::clone(&engine), http, on_stop()),
        rusts_wire::serve_pg(pg_listener, sessions, pg, on_stop()),
    );
    http_result.context("serving HTTP")?;
    pg_result.context("serving Postgres")?;
    tracing::info!("listeners stopped; flushing");
    tokio::task::spawn_blocking(move || close(engine))
        .await
        .context("closing the engine")??;
    tracing::info!("stopped");
    Ok(())
}

fn warn_if_exposed(address: SocketAddr, listener: &str, what: &str) {
    if !address.ip().is_loopback() {
        tracing::warn!(
            address = %address,
            "the {listener} listener accepts connections from the network and authentication \
             is not available yet: anyone who reaches this port can {what}; bind 127.0.0.1 \
             (server.host or --host) unless the network is trusted"
        );
    }
}

/// Lets one signal stop several listeners: each call of the returned closure gives a future
/// that completes once `signal` has.
fn broadcast(
    signal: impl Future<Output = ()> + Send + 'static,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        let _ = stop.send(true);
    });
    move || {
        let mut stopped = stopped.clone();
        Box::pin(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
    }
}

/// How long closing waits for the last SQL sessions (aborted at shutdown) to let go of the
/// engine before giving up on the flush.
const SESSIONS_GONE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn close(mut engine: Arc<Engine>) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + SESSIONS_GONE_TIMEOUT;
    loop {
        match Arc::try_unwrap(engine) {
            Ok(engine) => return engine.close().context("closing the engine"),
            Err(shared) if std::time::Instant::now() < deadline => {
                engine = shared;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            // Nothing is lost: the WAL holds everything acknowledged and is replayed at the
            // next start.
            Err(_) => bail!(
                "engine still in use {}s after shutdown; not flushed, the WAL keeps \
                 acknowledged writes",
                SESSIONS_GONE_TIMEOUT.as_secs()
            ),
        }
    }
}

/// Installs the SIGINT and SIGTERM handlers now, so a signal that arrives before the
/// listeners poll the returned future still shuts down gracefully (tokio registers a handler
/// only when the stream is created; until then the default action kills the process).
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received; shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received; shutting down"),
        }
    })
}

fn install_tracing(level: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) => tracing_subscriber::EnvFilter::try_new(from_env),
        Err(_) => tracing_subscriber::EnvFilter::try_new(level),
    }
    .context("invalid log filter (log.level or RUST_LOG)")?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .init();
    Ok(())
}
