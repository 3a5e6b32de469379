//! Runs corpus files over the Postgres wire: `--jobs` workers take files from one queue, each
//! file in a database of its own created for it and dropped afterwards.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

use crate::Options;
use crate::failures::{Failure, FileOutcome};
use crate::result;
use crate::script::{self, Expect, Step};

/// A failure reason is cut to this many characters.
const REASON_CHARS_MAX: usize = 160;

type Outcomes = BTreeMap<String, FileOutcome>;

pub(crate) fn run_files(
    admin: &str,
    corpus: &Path,
    files: &[(String, u64)],
    options: &Options,
) -> Result<Outcomes, String> {
    let admin: Config = admin.parse().map_err(|error| format!("--url: {error}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let queue: Arc<Mutex<VecDeque<String>>> = Arc::new(Mutex::new(
        files.iter().map(|(name, _)| name.clone()).collect(),
    ));
    let outcomes: Arc<Mutex<Outcomes>> = Arc::default();
    runtime.block_on(async {
        let mut workers = Vec::new();
        for _ in 0..options.jobs {
            let worker = Worker {
                admin: admin.clone(),
                corpus: corpus.to_owned(),
                step_timeout: options.step_timeout,
            };
            let queue = Arc::clone(&queue);
            let outcomes = Arc::clone(&outcomes);
            workers.push(tokio::spawn(async move {
                loop {
                    let Some(name) = queue.lock().expect("queue").pop_front() else {
                        return Ok::<(), String>(());
                    };
                    let outcome = worker.run_file(&name).await?;
                    eprintln!(
                        "{} {name}: {} passed, {} failed, {} skipped, {:.1} s",
                        if outcome.failures.is_empty() {
                            "ok  "
                        } else {
                            "FAIL"
                        },
                        outcome.passed,
                        outcome.failures.len(),
                        outcome.skipped,
                        outcome.elapsed.as_secs_f64(),
                    );
                    outcomes.lock().expect("outcomes").insert(name, outcome);
                }
            }));
        }
        for worker in workers {
            worker.await.map_err(|error| error.to_string())??;
        }
        Ok::<(), String>(())
    })?;
    let outcomes = std::mem::take(&mut *outcomes.lock().expect("outcomes"));
    Ok(outcomes)
}

struct Worker {
    admin: Config,
    corpus: std::path::PathBuf,
    step_timeout: Duration,
}

async fn connect(config: &Config) -> Result<Client, String> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|error| format!("connecting to {:?}: {error}", config.get_dbname()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The database a file runs in: its path in lower-case letters, digits and `_`.
fn database_name(file: &str) -> String {
    let mut name: String = format!("slt_{}", file.trim_end_matches(".test"))
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    name.truncate(63);
    name
}

impl Worker {
    async fn run_file(&self, name: &str) -> Result<FileOutcome, String> {
        let path = self.corpus.join(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("reading {}: {error}", path.display()))?;
        let steps = script::steps(name, &text)?;
        let database = database_name(name);
        let admin = connect(&self.admin).await?;
        let drop_database = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        let dropped = admin.simple_query(&drop_database).await;
        dropped.map_err(|e| wire_error(&drop_database, &e))?;
        let create = format!("CREATE DATABASE {database}");
        admin
            .simple_query(&create)
            .await
            .map_err(|e| wire_error(&create, &e))?;
        let mut config = self.admin.clone();
        config.dbname(&database);

        let started = Instant::now();
        let mut outcome = FileOutcome::default();
        let mut client = Some(connect(&config).await?);
        for step in &steps {
            if !step.runs {
                outcome.skipped += 1;
                continue;
            }
            let verdict = match &client {
                Some(open) => self.run_step(open, step).await,
                None => Err("connection lost".to_owned()),
            };
            match verdict {
                Ok(()) => outcome.passed += 1,
                Err(reason) => outcome.failures.push(Failure {
                    line: step.line,
                    reason: reason.chars().take(REASON_CHARS_MAX).collect(),
                }),
            }
            if client.as_ref().is_some_and(Client::is_closed) {
                client = connect(&config).await.ok();
            }
        }
        outcome.elapsed = started.elapsed();
        drop(client);
        let dropped = admin.simple_query(&drop_database).await;
        dropped.map_err(|e| wire_error(&drop_database, &e))?;
        Ok(outcome)
    }

    /// Runs one step; `Err` says why it failed.
    async fn run_step(&self, client: &Client, step: &Step) -> Result<(), String> {
        let answer =
            match tokio::time::timeout(self.step_timeout, client.simple_query(&step.sql)).await {
                Ok(answer) => answer,
                Err(_) => {
                    let _ = client.cancel_token().cancel_query(NoTls).await;
                    return Err(format!("timed out after {} s", self.step_timeout.as_secs()));
                }
            };
        match (&step.expect, answer) {
            (Expect::Error, Ok(_)) => Err("succeeded, expected an error".to_owned()),
            (Expect::Error, Err(_)) | (Expect::Ok, Ok(_)) => Ok(()),
            (_, Err(error)) => Err(error_text(&error)),
            (
                Expect::Rows {
                    types,
                    sort,
                    values,
                    hash_threshold,
                },
                Ok(messages),
            ) => {
                let rows = rendered_rows(messages, types)?;
                compare(values, &result::values(rows, *sort, *hash_threshold))
            }
        }
    }
}

/// The rows of a query's answer, each value rendered by its column's type letter.
fn rendered_rows(
    messages: Vec<SimpleQueryMessage>,
    types: &[char],
) -> Result<Vec<Vec<String>>, String> {
    let mut width = None;
    let mut rows = Vec::new();
    for message in messages {
        match message {
            SimpleQueryMessage::RowDescription(columns) => width = Some(columns.len()),
            SimpleQueryMessage::Row(row) => {
                width = Some(row.len());
                rows.push(
                    types
                        .iter()
                        .enumerate()
                        .map(|(i, letter)| result::render(row.get(i), *letter))
                        .collect(),
                );
            }
            _ => {}
        }
    }
    match width {
        Some(width) if width == types.len() => Ok(rows),
        Some(width) => Err(format!("{width} columns, expected {}", types.len())),
        None => Err("no result set".to_owned()),
    }
}

fn compare(expected: &[String], actual: &[String]) -> Result<(), String> {
    if expected == actual {
        return Ok(());
    }
    if expected.len() != actual.len() {
        return Err(format!(
            "{} values, expected {} (first: {:?}, expected {:?})",
            actual.len(),
            expected.len(),
            actual.first(),
            expected.first()
        ));
    }
    let (index, (want, got)) = expected
        .iter()
        .zip(actual)
        .enumerate()
        .find(|(_, (want, got))| want != got)
        .expect("unequal lists of equal length differ somewhere");
    Err(format!("value {}: {got:?}, expected {want:?}", index + 1))
}

fn error_text(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}

fn wire_error(sql: &str, error: &tokio_postgres::Error) -> String {
    format!("{sql}: {}", error_text(error))
}
