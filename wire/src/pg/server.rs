//! The listener: accepts connections, bounds how many are open, and serves each on its own
//! task until the shutdown future resolves.
//!
//! Shutdown is "fast" in Postgres terms: the listener stops accepting and open connections
//! are aborted (their sockets close, running statements stop), then `serve_pg` returns.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use datafusion::prelude::SessionContext;
use pgwire::api::RandomPidSecretKeyGenerator;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::pg::cancel::{CancelRegistry, RegistryCancelHandler};
use crate::pg::handlers::{Handlers, QueryHandler};
use crate::pg::startup::SessionStartup;

/// Pause after a failed `accept` (for example, out of file descriptors), so the loop waits
/// for resources to come back instead of spinning.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Gives each new connection its own DataFusion context: one session per connection, so
/// settings and temporary state never leak between clients.
pub trait SessionFactory: Send + Sync + 'static {
    /// A fresh context for `user` connected to `database` (the startup parameters; the
    /// database defaults to the user name, as in Postgres). `Err` refuses the connection
    /// with SQLSTATE 3D000 and the message given.
    fn new_session(&self, database: &str, user: &str) -> Result<SessionContext, String>;
}

/// How the server presents itself and what it allows.
#[derive(Debug, Clone)]
pub struct PgServerOptions {
    /// Postgres version announced in `ParameterStatus` and `server_version_num`; drivers parse
    /// it to pick protocol features. Default "15.0".
    pub server_version: String,
    /// Product and version shown by `version()`, e.g. "RusTs 0.1.0".
    pub product: String,
    /// Open connections at most; further ones are closed right after `accept`. Default 100,
    /// as Postgres's `max_connections`.
    pub connections_max: usize,
}

impl Default for PgServerOptions {
    fn default() -> Self {
        Self {
            server_version: "15.0".to_owned(),
            product: format!("RusTs {}", env!("CARGO_PKG_VERSION")),
            connections_max: 100,
        }
    }
}

/// Serves the Postgres protocol on `listener` until `shutdown` resolves.
pub async fn serve_pg(
    listener: TcpListener,
    factory: Arc<dyn SessionFactory>,
    options: PgServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(options.connections_max));
    let registry = Arc::new(CancelRegistry::default());
    let startup = SessionStartup {
        factory,
        options,
        registry: Arc::clone(&registry),
        pids: RandomPidSecretKeyGenerator::default(),
    };
    let handlers = Arc::new(Handlers {
        startup: Arc::new(startup),
        query: Arc::new(QueryHandler::default()),
        cancel: Arc::new(RegistryCancelHandler { registry }),
    });
    tracing::info!(address = ?listener.local_addr()?, "postgres listener started");
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a postgres connection failed");
                        tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    tracing::warn!(%peer, "postgres connection limit reached; closing connection");
                    continue;
                };
                let handlers = Arc::clone(&handlers);
                connections.spawn(async move {
                    let _permit = permit;
                    if let Err(error) = pgwire::tokio::process_socket(socket, None, handlers).await {
                        tracing::debug!(%peer, %error, "postgres connection ended with an error");
                    }
                });
            }
        }
    }
    tracing::info!(
        connections = connections.len(),
        "postgres listener shutting down"
    );
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(())
}
