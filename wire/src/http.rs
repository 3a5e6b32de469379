//! The HTTP listener (port 8086 by default): InfluxDB 1.x and 2.x write endpoints and the
//! monitoring endpoints clients and Telegraf probe. Handlers are thin: decode, call the
//! engine on a blocking thread (storage waits on fsync), encode.

mod body;
mod error;
mod monitor;
mod sql;
mod write;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use rusts_planner::Engine;

/// Settings of the HTTP listener.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest request body, counted after gzip decoding. Default 10 MiB.
    pub body_bytes_max: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            body_bytes_max: 10 << 20,
        }
    }
}

/// Response counts by status class, for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct RequestCounters {
    by_status: [AtomicU64; 6],
    body_bytes: AtomicU64,
}

impl RequestCounters {
    fn record(&self, status: u16) {
        let slot = match status {
            204 => 0,
            200..=299 => 1,
            400 => 2,
            401..=499 => 3,
            500..=599 => 4,
            _ => 5,
        };
        if let Some(counter) = self.by_status.get(slot) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_body_bytes(&self, bytes: usize) {
        self.body_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn body_bytes(&self) -> u64 {
        self.body_bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot(&self) -> [(&'static str, u64); 6] {
        let labels = ["204", "2xx", "400", "4xx", "5xx", "other"];
        let mut out = [("", 0); 6];
        for (slot, (label, counter)) in out.iter_mut().zip(labels.iter().zip(&self.by_status)) {
            *slot = (label, counter.load(Ordering::Relaxed));
        }
        out
    }
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) engine: Arc<Engine>,
    pub(crate) options: HttpOptions,
    pub(crate) counters: RequestCounters,
    pub(crate) started: Instant,
    pub(crate) started_at: std::time::SystemTime,
}

/// Serves HTTP on `listener` until `shutdown` completes, then stops accepting and waits for
/// requests in flight.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    engine: Arc<Engine>,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(AppState {
        engine,
        options,
        counters: RequestCounters::default(),
        started: Instant::now(),
        started_at: std::time::SystemTime::now(),
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/write", post(write::write_v1))
        .route("/api/v2/write", post(write::write_v2))
        .route("/sql", get(sql::query_sql).post(sql::query_sql))
        .route(
            "/api/v3/query_sql",
            get(sql::query_sql).post(sql::query_sql),
        )
        .route("/ping", get(monitor::ping).head(monitor::ping))
        .route("/health", get(monitor::health))
        .route("/ready", get(monitor::ready))
        .route("/metrics", get(monitor::metrics))
        .route("/stats", get(monitor::stats))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            count_responses,
        ))
        .with_state(state)
}

async fn count_responses(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    state.counters.record(response.status().as_u16());
    response
}
