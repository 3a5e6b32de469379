//! `POST /write` (InfluxDB 1.x: `db`, `rp`, `precision`, `u`/`p`) and `POST /api/v2/write`
//! (InfluxDB 2.x: `bucket`, `org`, `precision`, `Authorization: Token`). Both parse the body as
//! line protocol, write every good line and answer `204`; when some lines are bad (unparsable
//! or refused, e.g. a field type conflict) the good ones are still written and the answer is
//! `400` naming each bad line (InfluxDB's partial write).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rusts_planner::{DEFAULT_DATABASE, FieldRef, WriteBatch};

use super::AppState;
use super::body::read_body;
use super::error::HttpError;
use crate::line_protocol::{self, FieldValue as LineValue};

/// Bad lines named in one error answer; the rest are counted.
const REPORTED_LINE_ERRORS_MAX: usize = 10;

/// Nanoseconds per unit of a `precision` parameter.
fn precision_ns(precision: Option<&str>, v2: bool) -> Result<i64, HttpError> {
    Ok(match precision.unwrap_or("ns") {
        "ns" | "n" => 1,
        "us" | "u" | "µ" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" if !v2 => 60_000_000_000,
        "h" if !v2 => 3_600_000_000_000,
        other => {
            let allowed = if v2 {
                "ns, us, ms, s"
            } else {
                "ns, u, ms, s, m, h"
            };
            return Err(HttpError::new(
                StatusCode::BAD_REQUEST,
                format!("invalid precision {other:?}: expected one of {allowed}"),
            ));
        }
    })
}

pub(crate) async fn write_v1(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let database = query
        .get("db")
        .map_or(DEFAULT_DATABASE, String::as_str)
        .to_owned();
    respond(
        write(
            &state,
            database,
            query.get("precision").map(String::as_str),
            false,
            &headers,
            body,
        )
        .await,
    )
}

pub(crate) async fn write_v2(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(bucket) = query.get("bucket").filter(|b| !b.is_empty()) else {
        return HttpError::new(StatusCode::BAD_REQUEST, "missing bucket query parameter")
            .into_response();
    };
    // A v1 compatibility bucket may be "db/rp"; the retention policy part is accepted and ignored.
    let database = bucket.split('/').next().unwrap_or(bucket).to_owned();
    respond(
        write(
            &state,
            database,
            query.get("precision").map(String::as_str),
            true,
            &headers,
            body,
        )
        .await,
    )
}

fn respond(result: Result<(), HttpError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn write(
    state: &Arc<AppState>,
    database: String,
    precision: Option<&str>,
    v2: bool,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), HttpError> {
    let unit_ns = precision_ns(precision, v2)?;
    let body = read_body(headers, body, state.options.body_bytes_max).await?;
    state.counters.add_body_bytes(body.len());
    let engine = Arc::clone(&state.engine);
    tokio::task::spawn_blocking(move || ingest(&engine, database, &body, unit_ns))
        .await
        .map_err(|_| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "write task failed"))?
}

/// A refused line: its number and the reason (already naming the line).
type BadLine = (usize, String);

fn ingest(
    engine: &rusts_planner::Engine,
    database: String,
    body: &[u8],
    unit_ns: i64,
) -> Result<(), HttpError> {
    let now_ns = now_ns();
    let mut batch = WriteBatch::new(&database).map_err(|error| HttpError::from_engine(&error))?;
    let (line_numbers, mut bad) = decode(body, unit_ns, now_ns, &mut batch)?;
    if !batch.is_empty() {
        let summary = engine
            .ingest_batch(batch)
            .map_err(|error| HttpError::from_engine(&error))?;
        for (index, error) in summary.rejected {
            let line = line_numbers.get(index).copied().unwrap_or(0);
            bad.push((line, format!("line {line}: {error}")));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    bad.sort_by_key(|(line, _)| *line);
    Err(HttpError::new(
        StatusCode::BAD_REQUEST,
        partial_write_message(&bad),
    ))
}

fn partial_write_message(bad: &[BadLine]) -> String {
    let mut message = String::from("partial write: ");
    let shown: Vec<&str> = bad
        .iter()
        .take(REPORTED_LINE_ERRORS_MAX)
        .map(|(_, text)| text.as_str())
        .collect();
    message.push_str(&shown.join("; "));
    if bad.len() > REPORTED_LINE_ERRORS_MAX {
        message.push_str(&format!(
            "; and {} more",
            bad.len() - REPORTED_LINE_ERRORS_MAX
        ));
    }
    message.push_str(&format!(" dropped={}", bad.len()));
    message
}

fn now_ns() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}

/// Parses the body into `batch`; returns the line number of each point pushed, and the
/// lines refused by the parser or by the timestamp conversion.
fn decode(
    body: &[u8],
    unit_ns: i64,
    now_ns: i64,
    batch: &mut WriteBatch,
) -> Result<(Vec<usize>, Vec<BadLine>), HttpError> {
    let mut line_numbers = Vec::new();
    let mut bad = Vec::new();
    let mut failure = None;
    line_protocol::parse_lines(body, |parsed| match parsed {
        Err(error) => bad.push((error.line_number, error.to_string())),
        Ok(_) if failure.is_some() => {}
        Ok(line) => {
            let timestamp_ns = match line
                .timestamp
                .map(|value| (value, value.checked_mul(unit_ns)))
            {
                None => now_ns,
                Some((_, Some(ns))) => ns,
                Some((value, None)) => {
                    let number = line.line_number;
                    bad.push((
                        number,
                        format!(
                            "line {number}: timestamp {value} out of range at this precision: {}",
                            line.text
                        ),
                    ));
                    return;
                }
            };
            let pushed = batch.push(
                &line.measurement,
                line.tags.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
                line.fields
                    .iter()
                    .map(|(k, v)| (k.as_ref(), field_value(v))),
                timestamp_ns,
            );
            match pushed {
                Ok(()) => line_numbers.push(line.line_number),
                Err(error) => failure = Some(error),
            }
        }
    });
    match failure {
        Some(error) => Err(HttpError::from_engine(&error)),
        None => Ok((line_numbers, bad)),
    }
}

fn field_value<'a>(value: &'a LineValue<'_>) -> FieldRef<'a> {
    match value {
        LineValue::Float(v) => FieldRef::Float(*v),
        LineValue::Integer(v) => FieldRef::Integer(*v),
        LineValue::Unsigned(v) => FieldRef::Unsigned(*v),
        LineValue::Boolean(v) => FieldRef::Boolean(*v),
        LineValue::String(v) => FieldRef::String(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_follow_influxdb() {
        assert_eq!(precision_ns(None, false).unwrap(), 1);
        assert_eq!(precision_ns(Some("u"), false).unwrap(), 1_000);
        assert_eq!(precision_ns(Some("us"), true).unwrap(), 1_000);
        assert_eq!(precision_ns(Some("h"), false).unwrap(), 3_600_000_000_000);
        assert!(precision_ns(Some("h"), true).is_err());
        let error = precision_ns(Some("days"), false).unwrap_err();
        assert_eq!(
            error.message,
            "invalid precision \"days\": expected one of ns, u, ms, s, m, h"
        );
    }

    #[test]
    fn partial_write_message_lists_at_most_ten_lines() {
        let bad: Vec<BadLine> = (1..=12).map(|n| (n, format!("line {n}: bad"))).collect();
        let message = partial_write_message(&bad);
        assert!(message.starts_with("partial write: line 1: bad; line 2: bad"));
        assert!(
            message.ends_with("line 10: bad; and 2 more dropped=12"),
            "{message}"
        );
    }
}
