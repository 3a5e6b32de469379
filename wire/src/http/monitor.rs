//! `/ping`, `/health`, `/ready`, `/metrics` (Prometheus text format) and `/stats` (JSON).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The InfluxDB version RusTs answers to probes: the 1.x write API it implements (1.8 also
/// serves `/api/v2/write`). Clients such as Telegraf read the header to accept the server.
const INFLUXDB_COMPATIBLE_VERSION: &str = "1.8.10";

pub(crate) async fn ping() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        "X-Influxdb-Version",
        HeaderValue::from_static(INFLUXDB_COMPATIBLE_VERSION),
    );
    headers.insert("X-Influxdb-Build", HeaderValue::from_static("OSS"));
    headers.insert(
        "X-Rusts-Version",
        HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    response
}

pub(crate) async fn health() -> Response {
    Json(serde_json::json!({
        "name": "rusts",
        "message": "ready for writes",
        "status": "pass",
        "checks": [],
        "version": env!("CARGO_PKG_VERSION"),
        "commit": "",
    }))
    .into_response()
}

pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let started: chrono_free::Rfc3339 = state.started_at.into();
    Json(serde_json::json!({
        "status": "ready",
        "started": started.0,
        "up": format!("{:.3}s", state.started.elapsed().as_secs_f64()),
    }))
    .into_response()
}

pub(crate) async fn stats(State(state): State<Arc<AppState>>) -> Response {
    let engine = Arc::clone(&state.engine);
    let Ok(stats) = tokio::task::spawn_blocking(move || engine.stats()).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let requests: serde_json::Map<String, serde_json::Value> = state
        .counters
        .snapshot()
        .iter()
        .map(|(label, count)| (label.to_string(), (*count).into()))
        .collect();
    let storage = &stats.storage;
    Json(serde_json::json!({
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "databases": stats.databases,
        "points_written": stats.points_written,
        "points_rejected": stats.points_rejected,
        "requests_by_status": requests,
        "series": storage.series,
        "measurements": storage.measurements,
        "memtable_points": storage.memtable_points,
        "memtable_bytes": storage.memtable_bytes,
        "frozen_memtables": storage.frozen_memtables,
        "segments": storage.segments,
        "segment_bytes": storage.segment_bytes,
        "partitions": storage.partitions,
        "flushes": storage.flushes,
        "wal_syncs": storage.wal_syncs,
        "wal_synced_sequence": storage.wal_synced_sequence,
        "background_error": storage.background_error,
    }))
    .into_response()
}

pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let engine = Arc::clone(&state.engine);
    let Ok(stats) = tokio::task::spawn_blocking(move || engine.stats()).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = render_metrics(&stats, &state.counters).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Name, type, help and value of every plain metric.
// A flat table: one entry per metric, longer than a function should be but read at a glance.
#[allow(clippy::too_many_lines)]
fn metric_table(
    stats: &rusts_planner::EngineStats,
    counters: &super::RequestCounters,
) -> [(&'static str, &'static str, &'static str, u64); 10] {
    let storage = &stats.storage;
    [
        (
            "rusts_points_written_total",
            "counter",
            "Points written since start.",
            stats.points_written,
        ),
        (
            "rusts_points_rejected_total",
            "counter",
            "Points refused since start.",
            stats.points_rejected,
        ),
        (
            "rusts_http_request_body_bytes_total",
            "counter",
            "Decoded write body bytes.",
            counters.body_bytes(),
        ),
        ("rusts_series", "gauge", "Distinct series.", storage.series),
        (
            "rusts_memtable_points",
            "gauge",
            "Points in the active memtable.",
            storage.memtable_points,
        ),
        (
            "rusts_memtable_bytes",
            "gauge",
            "Estimated bytes of the active memtable.",
            storage.memtable_bytes,
        ),
        (
            "rusts_segments",
            "gauge",
            "Live segment files.",
            storage.segments,
        ),
        (
            "rusts_segment_bytes",
            "gauge",
            "Bytes of live segment files.",
            storage.segment_bytes,
        ),
        (
            "rusts_flushes_total",
            "counter",
            "Memtable flushes since start.",
            storage.flushes,
        ),
        (
            "rusts_wal_syncs_total",
            "counter",
            "WAL fsyncs since start.",
            storage.wal_syncs,
        ),
    ]
}

/// Prometheus text exposition format 0.0.4.
fn render_metrics(stats: &rusts_planner::EngineStats, counters: &super::RequestCounters) -> String {
    let metrics = metric_table(stats, counters);
    let mut out = String::new();
    for (name, kind, help, value) in metrics {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP rusts_http_requests_total HTTP responses by status."
    );
    let _ = writeln!(out, "# TYPE rusts_http_requests_total counter");
    for (label, count) in counters.snapshot() {
        let _ = writeln!(
            out,
            "rusts_http_requests_total{{status=\"{label}\"}} {count}"
        );
    }
    out
}

/// RFC 3339 formatting of a `SystemTime` without a date-time dependency.
mod chrono_free {
    use std::time::{SystemTime, UNIX_EPOCH};

    pub(crate) struct Rfc3339(pub(crate) String);

    impl From<SystemTime> for Rfc3339 {
        fn from(time: SystemTime) -> Self {
            let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let days = i64::try_from(seconds / 86_400).unwrap_or(0);
            let rest = seconds % 86_400;
            let (year, month, day) = civil_from_days(days);
            Self(format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
                rest / 3600,
                rest % 3600 / 60,
                rest % 60
            ))
        }
    }

    /// Howard Hinnant's days-to-civil algorithm.
    fn civil_from_days(days: i64) -> (i64, i64, i64) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(month <= 2), month, day)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn formats_known_dates() {
            let at = |s: u64| Rfc3339::from(UNIX_EPOCH + std::time::Duration::from_secs(s)).0;
            assert_eq!(at(0), "1970-01-01T00:00:00Z");
            assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
            assert_eq!(at(1_795_651_199), "2026-11-25T23:59:59Z");
        }
    }
}
