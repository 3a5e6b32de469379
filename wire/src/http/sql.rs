//! SQL over HTTP for scripts and curl: `POST /sql` and InfluxDB 3's `/api/v3/query_sql`
//! (also `GET` with `q`). The query comes in the `q` parameter, a JSON body
//! `{"q": …, "db": …, "format": …}`, or as the plain-text body; `db` names the database
//! (default `rusts`). The answer is JSON (an array of objects, the default), JSON lines,
//! CSV with a header, or an Arrow IPC stream, chosen by `format` (`json`, `jsonl`, `csv`,
//! `arrow`) or else by the `Accept` header. Errors carry the Postgres SQLSTATE and the same
//! message as on the Postgres wire, with an HTTP status for the class of error.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use futures::StreamExt;
use rusts_planner::DEFAULT_DATABASE;

use super::AppState;
use super::body::read_body;
use super::error::HttpError;

/// Largest answer, counted as the Arrow memory of the result batches: a query that would
/// return more is refused (413) rather than buffered without bound. Use the Postgres wire,
/// which streams, for larger results.
const RESPONSE_BYTES_MAX: usize = 256 << 20;

/// How the rows are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    JsonLines,
    Csv,
    Arrow,
}

impl Format {
    fn parse(name: &str) -> Result<Self, HttpError> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "json" => Self::Json,
            "jsonl" | "ndjson" => Self::JsonLines,
            "csv" => Self::Csv,
            "arrow" | "ipc" => Self::Arrow,
            other => {
                return Err(HttpError::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown format {other:?}: expected json, jsonl, csv or arrow"),
                ));
            }
        })
    }

    fn from_accept(headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        if accept.contains("text/csv") {
            Self::Csv
        } else if accept.contains("application/vnd.apache.arrow") {
            Self::Arrow
        } else if accept.contains("application/jsonl") || accept.contains("ndjson") {
            Self::JsonLines
        } else {
            Self::Json
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::JsonLines => "application/jsonl",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Arrow => "application/vnd.apache.arrow.stream",
        }
    }
}

/// The request, from the query string and the body.
#[derive(Debug, Default, serde::Deserialize)]
struct SqlRequest {
    #[serde(alias = "query")]
    q: Option<String>,
    db: Option<String>,
    format: Option<String>,
}

pub(crate) async fn query_sql(
    State(state): State<Arc<AppState>>,
    Query(parameters): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match answer(&state, parameters, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn answer(
    state: &AppState,
    parameters: HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let bytes = read_body(headers, body, state.options.body_bytes_max).await?;
    let (sql, format, database) = request_of(parameters, headers, bytes)?;
    let context = state
        .engine
        .sql_session(&database)
        .map_err(|error| HttpError::from_engine(&error))?;
    let statement = one_statement(&sql)?;
    if let DFStatement::Statement(inner) = &statement
        && let Some(dml) = rusts_planner::plain_dml::PlainDml::recognize(&context, inner)
            .map_err(|error| HttpError::from_engine(&error))?
    {
        let changed = dml
            .execute(&context, None)
            .await
            .map_err(|error| query_error(&error))?;
        let body = serde_json::json!({ "command": dml.tag(), "rows": changed });
        return Ok((StatusCode::OK, axum::Json(body)).into_response());
    }
    if let DFStatement::Statement(inner) = &statement
        && rusts_planner::ddl::handles(&context, inner)
    {
        let tag = rusts_planner::ddl::execute_blocking(&context, inner)
            .await
            .map_err(|error| HttpError::from_engine(&error))?;
        let body = serde_json::json!({ "command": tag });
        return Ok((StatusCode::OK, axum::Json(body)).into_response());
    }
    let (schema, batches) = run(&context, statement).await?;
    let body = encode(format, &schema, &batches).map_err(|error| query_error(&error))?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], body).into_response())
}

/// The SQL text, the answer's format and the database, from parameters and body.
fn request_of(
    parameters: HashMap<String, String>,
    headers: &HeaderMap,
    bytes: Vec<u8>,
) -> Result<(String, Format, String), HttpError> {
    let mut request = SqlRequest {
        q: parameters.get("q").cloned(),
        db: parameters.get("db").cloned(),
        format: parameters.get("format").cloned(),
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json && !bytes.is_empty() {
        let body: SqlRequest = serde_json::from_slice(&bytes).map_err(|error| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                format!("invalid JSON body: {error}"),
            )
        })?;
        request.q = request.q.or(body.q);
        request.db = request.db.or(body.db);
        request.format = request.format.or(body.format);
    } else if request.q.is_none() && !bytes.is_empty() {
        let text = String::from_utf8(bytes)
            .map_err(|_| HttpError::new(StatusCode::BAD_REQUEST, "the SQL body is not UTF-8"))?;
        request.q = Some(text);
    }
    let Some(sql) = request.q.filter(|q| !q.trim().is_empty()) else {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            "no query: send it as the q parameter, a JSON body {\"q\": …} or the request body",
        ));
    };
    let format = match &request.format {
        Some(name) => Format::parse(name)?,
        None => Format::from_accept(headers),
    };
    let database = request.db.unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
    Ok((sql, format, database))
}

/// Plans and runs `statement`, collecting at most `RESPONSE_BYTES_MAX` of results.
async fn run(
    context: &datafusion::prelude::SessionContext,
    mut statement: DFStatement,
) -> Result<(SchemaRef, Vec<RecordBatch>), HttpError> {
    rusts_planner::views::expand(context, &mut statement)
        .and_then(|_| rusts_planner::pg_syntax::rewrite(&mut statement))
        .map_err(|error| HttpError::from_engine(&error))?;
    let plan = context
        .state()
        .statement_to_plan(statement)
        .await
        .map_err(|error| query_error(&error))?;
    let frame = context
        .execute_logical_plan(plan)
        .await
        .map_err(|error| query_error(&error))?;
    let mut stream = frame
        .execute_stream()
        .await
        .map_err(|error| query_error(&error))?;
    let schema = stream.schema();
    let mut batches = Vec::new();
    let mut bytes = 0usize;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|error| query_error(&error))?;
        bytes += batch.get_array_memory_size();
        if bytes > RESPONSE_BYTES_MAX {
            return Err(HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the result exceeds {RESPONSE_BYTES_MAX} bytes; add a LIMIT or query over \
                     the Postgres wire protocol, which streams"
                ),
            ));
        }
        batches.push(batch);
    }
    Ok((schema, batches))
}

fn one_statement(sql: &str) -> Result<DFStatement, HttpError> {
    let dialect = PostgreSqlDialect {};
    let mut statements = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .build()
        .and_then(|mut parser| parser.parse_statements())
        .map_err(|error| query_error(&error))?;
    if statements.len() != 1 {
        return Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            format!("expected one SQL statement, got {}", statements.len()),
        ));
    }
    Ok(statements.pop_front().expect("one statement"))
}

/// A DataFusion error with its Postgres SQLSTATE and message, as an HTTP error.
fn query_error(error: &DataFusionError) -> HttpError {
    let (code, message) = crate::pg::sqlstate_and_message(error);
    let status = match code {
        "42P01" => StatusCode::NOT_FOUND,
        "0A000" => StatusCode::NOT_IMPLEMENTED,
        "57014" => StatusCode::SERVICE_UNAVAILABLE,
        "54000" | "54001" => StatusCode::UNPROCESSABLE_ENTITY,
        code if code.starts_with("XX") || code.starts_with("58") => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    HttpError::new(status, format!("{message} (SQLSTATE {code})"))
}

fn encode(
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<u8>, DataFusionError> {
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    let mut out = Vec::new();
    match format {
        Format::Json => {
            let mut writer = arrow_json::ArrayWriter::new(&mut out);
            writer.write_batches(&refs)?;
            writer.finish()?;
            if batches.iter().all(|batch| batch.num_rows() == 0) {
                out = b"[]".to_vec();
            }
        }
        Format::JsonLines => {
            let mut writer = arrow_json::LineDelimitedWriter::new(&mut out);
            writer.write_batches(&refs)?;
            writer.finish()?;
        }
        Format::Csv => {
            let mut writer = arrow_csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            if batches.is_empty() {
                writer.write(&RecordBatch::new_empty(std::sync::Arc::clone(schema)))?;
            }
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::Arrow => {
            let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, schema)?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
    }
    Ok(out)
}
