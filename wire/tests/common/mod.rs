//! A server on 127.0.0.1:0 backed by DataFusion memory tables, shared by the pg tests.

#![allow(dead_code, unreachable_pub)]

pub mod raw;

use std::sync::Arc;

use datafusion::catalog::CatalogProviderList;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use rusts_wire::{PgServerOptions, SessionFactory, serve_pg};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls};

/// Sessions share one catalog, so tables created by one connection are seen by the next.
struct SharedCatalog {
    catalogs: Arc<dyn CatalogProviderList>,
}

impl SessionFactory for SharedCatalog {
    fn new_session(&self, _database: &str, _user: &str) -> Result<SessionContext, String> {
        // The catalog list already holds `datafusion.public`; creating it again would
        // replace the shared catalog with an empty one.
        let config = SessionConfig::new().with_create_default_catalog_and_schema(false);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_catalog_list(Arc::clone(&self.catalogs))
            .build();
        Ok(SessionContext::new_with_state(state))
    }
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub port: u16,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server with a `metrics` table (3 rows) in its catalog.
    pub async fn start() -> Self {
        Self::start_with(PgServerOptions::default()).await
    }

    /// `start` with non-default options.
    pub async fn start_with(options: PgServerOptions) -> Self {
        let base = SessionContext::new();
        base.sql(
            "CREATE TABLE metrics (host VARCHAR, value DOUBLE, at TIMESTAMP) AS VALUES \
             ('a', 1.5, TIMESTAMP '2024-01-01 00:00:00'), \
             ('b', 2.5, TIMESTAMP '2024-01-01 00:01:00'), \
             ('c', NULL, TIMESTAMP '2024-01-01 00:02:00')",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
        let factory = SharedCatalog {
            catalogs: Arc::clone(base.state().catalog_list()),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, receiver) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = receiver.await;
        };
        let task = tokio::spawn(serve_pg(listener, Arc::new(factory), options, shutdown));
        Self {
            port,
            shutdown: Some(sender),
            task,
        }
    }

    pub fn config(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=tester dbname=rusts application_name=tests",
            self.port
        )
    }

    /// A tokio-postgres client; its connection runs on a spawned task.
    pub async fn connect(&self) -> Client {
        let (client, connection) = tokio_postgres::connect(&self.config(), NoTls)
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }
}

/// The SQLSTATE of a failed statement.
pub fn sqlstate(error: &tokio_postgres::Error) -> String {
    error
        .code()
        .map(|code| code.code().to_owned())
        .unwrap_or_else(|| format!("no code: {error}"))
}
