//! Runs every `.slt` file under `tests/sqllogictest/` against the real binary over the
//! Postgres wire (tokio-postgres, simple query protocol, text results). Each file gets its
//! own database, named after the file, loaded first with the line protocol of the `.lp` file
//! beside it if there is one. Values are compared as Postgres prints them: NULL as `NULL`,
//! the empty string as `(empty)`. Of an `EXPLAIN` plan, only the physical plan's scan and
//! filter lines come back (one per row): they pin what was pushed down and what DataFusion
//! still filters, without depending on the core count (repartitioning) or on DataFusion's
//! logical-plan wording.

#[path = "../common/mod.rs"]
mod common;
// The corpus runner's parsing and result rendering, for their unit tests (the runner itself,
// `corpus/main.rs`, is a test without libtest's harness).
#[path = "corpus/result.rs"]
mod result;
#[path = "corpus/script.rs"]
mod script;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use common::{Server, post};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// A statement's error: its SQLSTATE and the server's message (tokio-postgres displays only
/// "db error"). It displays as `SQLSTATE message`, so `statement error 42P07 relation "t"
/// already exists` pins both; `statement error (42P07)` pins the SQLSTATE alone.
#[derive(Debug)]
struct WireError {
    code: Option<String>,
    message: String,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(formatter, "{code} {}", self.message),
            None => formatter.write_str(&self.message),
        }
    }
}

impl std::error::Error for WireError {}

impl From<tokio_postgres::Error> for WireError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self {
            code: error.code().map(|code| code.code().to_owned()),
            message: error
                .as_db_error()
                .map_or_else(|| error.to_string(), |db| db.message().to_owned()),
        }
    }
}

/// A connection as the sqllogictest runner sees it.
struct Wire {
    client: Client,
}

#[async_trait]
impl AsyncDB for Wire {
    type Error = WireError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Self::Error> {
        let messages = self.client.simple_query(sql).await?;
        let explain = sql.trim_start().to_ascii_lowercase().starts_with("explain");
        let mut columns = None;
        let mut rows = Vec::new();
        let mut count = 0;
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(description) => {
                    columns = Some(description.len());
                }
                SimpleQueryMessage::Row(row) => {
                    columns = Some(row.len());
                    let values: Vec<String> = (0..row.len())
                        .map(|i| match row.get(i) {
                            None => "NULL".to_owned(),
                            Some("") => "(empty)".to_owned(),
                            Some(text) => text.to_owned(),
                        })
                        .collect();
                    if explain {
                        explain_rows(&values, &mut rows);
                    } else {
                        rows.push(values);
                    }
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        Ok(match columns {
            Some(width) => DBOutput::Rows {
                types: vec![DefaultColumnType::Any; if explain { 1 } else { width }],
                rows,
            },
            None => DBOutput::StatementComplete(count),
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "rusts"
    }

    async fn sleep(duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }

    fn error_sql_state(error: &Self::Error) -> Option<String> {
        error.code.clone()
    }
}

/// The scan and filter lines of an `EXPLAIN` row (plan type, plan text), trimmed.
fn explain_rows(values: &[String], rows: &mut Vec<Vec<String>>) {
    if values
        .first()
        .is_none_or(|plan_type| plan_type != "physical_plan")
    {
        return;
    }
    for value in values.iter().skip(1) {
        for line in value.lines().map(str::trim) {
            let kept = ["MeasurementScanExec", "FilterExec", "DeleteExec"];
            if kept.iter().any(|prefix| line.starts_with(prefix)) {
                rows.push(vec![line.to_owned()]);
            }
        }
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sqllogictest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/sqllogictest")
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    files
}

async fn run_file(server: &Server, file: &Path) -> Result<(), String> {
    let database = file
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or("file name")?
        .to_owned();
    let fixture = file.with_extension("lp");
    if fixture.exists() {
        let body = std::fs::read(&fixture).map_err(|e| e.to_string())?;
        let (status, answer) = post(&format!("{}/write?db={database}", server.http), &[], &body);
        if status != 204 {
            return Err(format!("loading {}: {status} {answer}", fixture.display()));
        }
    }
    let config = server.pg_config(&database);
    let mut runner = Runner::new(move || {
        let config = config.clone();
        async move {
            let (client, connection) = tokio_postgres::connect(&config, NoTls).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(Wire { client })
        }
    });
    runner
        .run_file_async(file)
        .await
        .map_err(|error| error.display(true).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_files_pass_over_the_postgres_wire() {
    let server = Server::start("");
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files found");
    let mut failures = Vec::new();
    for file in &files {
        match run_file(&server, file).await {
            Ok(()) => eprintln!("ok   {}", file.display()),
            Err(error) => {
                eprintln!("FAIL {}\n{error}", file.display());
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "failed: {failures:#?}");
}
