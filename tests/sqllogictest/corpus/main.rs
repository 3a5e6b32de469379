//! Runs the SQLite sqllogictest corpus (`tests/sqllogictest/sqlite/`, 38 files, 302,731
//! records) over the Postgres wire, the way SQLite's C harness ran it: the `postgresql` label,
//! values rendered by type letter, sort modes, MD5 hashes past the hash threshold, and each
//! file in a fresh database (`CREATE DATABASE`, dropped afterwards).
//!
//! With no `--url` it starts the `rusts` binary of this build, runs every file and fails on
//! any record that fails and is not listed in `tests/sqllogictest/sqlite-known-failures.tsv`:
//! conformance only goes up. Records failing that PostgreSQL 15 passes (from
//! `sqlite/postgresql15-failures.tsv`, produced by this runner against PostgreSQL 15.18) are
//! counted as regressions against PostgreSQL. See `tests/sqllogictest/README.md`.
//!
//! ```text
//! cargo test --release --test sqlite_corpus             # the whole corpus and the gate
//! cargo test --test sqlite_corpus                       # a debug build: a smoke subset
//! cargo test --test sqlite_corpus -- select1 evidence/  # only files whose path contains these
//! cargo test --test sqlite_corpus -- --record tests/sqllogictest/sqlite-known-failures.tsv
//! cargo test --release --test sqlite_corpus -- --url 'host=127.0.0.1 port=5433 user=postgres dbname=postgres' \
//!     --record tests/sqllogictest/sqlite/postgresql15-failures.tsv
//! ```

#[path = "../../common/mod.rs"]
mod common;
mod failures;
// Their unit tests run in the `sqllogictest` test, which has libtest's harness.
#[allow(unused_imports)]
mod result;
mod run;
#[allow(unused_imports)]
mod script;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use failures::{Failures, FileOutcome};

/// Command-line options. `cargo test` passes libtest's own flags to every test binary; they
/// are accepted and ignored.
#[derive(Debug)]
struct Options {
    /// A server to run against (a libpq key-value string naming the admin database); without
    /// it the `rusts` binary of this build is started.
    url: Option<String>,
    corpus: PathBuf,
    /// Substrings of corpus-relative paths; a file runs when it contains any (all when empty).
    filters: Vec<String>,
    jobs: usize,
    step_timeout: Duration,
    /// Failures not listed here fail the run.
    gate: Option<PathBuf>,
    /// Where this run's failures are written (other files' entries kept).
    record: Option<PathBuf>,
    /// PostgreSQL 15's failures, per record, to count regressions against PostgreSQL.
    postgres_failures: PathBuf,
    /// A TSV report in the baseline's columns.
    report: Option<PathBuf>,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sqllogictest");
        let mut options = Self {
            url: None,
            corpus: root.join("sqlite"),
            filters: Vec::new(),
            jobs: 2,
            step_timeout: Duration::from_secs(120),
            gate: Some(root.join("sqlite-known-failures.tsv")),
            record: None,
            postgres_failures: root.join("sqlite/postgresql15-failures.tsv"),
            report: None,
        };
        let mut arguments = std::env::args().skip(1);
        while let Some(argument) = arguments.next() {
            let mut value = |name: &str| {
                arguments
                    .next()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match argument.as_str() {
                "--url" => {
                    options.url = Some(value("--url")?);
                    options.gate = None;
                }
                "--corpus" => options.corpus = value("--corpus")?.into(),
                "--jobs" => options.jobs = parse_number::<usize>(&value("--jobs")?)?.max(1),
                "--timeout" => {
                    options.step_timeout = Duration::from_secs(parse_number(&value("--timeout")?)?);
                }
                "--gate" => options.gate = Some(value("--gate")?.into()),
                "--no-gate" => options.gate = None,
                "--record" => options.record = Some(value("--record")?.into()),
                "--postgres-failures" => {
                    options.postgres_failures = value("--postgres-failures")?.into();
                }
                "--report" => options.report = Some(value("--report")?.into()),
                "--nocapture" | "--quiet" | "-q" | "--show-output" | "--exact" => {}
                flag if flag.starts_with("--test-threads") || flag.starts_with("--format") => {}
                flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
                filter => options.filters.push(filter.to_owned()),
            }
        }
        if options.filters.is_empty() && options.url.is_none() && cfg!(debug_assertions) {
            // An unoptimised server takes about 30 ms a record: the whole corpus would take
            // hours, so `cargo test` runs a smoke subset and `.ci/run` the whole corpus with
            // `--release`.
            options.filters = DEBUG_SUBSET.iter().map(|&f| f.to_owned()).collect();
        }
        Ok(options)
    }
}

/// The files a debug build runs when none are named.
const DEBUG_SUBSET: &[&str] = &["select1.test", "evidence/"];

fn parse_number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("not a number: {text}"))
}

/// The corpus files (corpus-relative, `/`-separated), largest first so parallel jobs end
/// together.
fn corpus_files(corpus: &Path, filters: &[String]) -> Result<Vec<(String, u64)>, String> {
    let mut files = Vec::new();
    let mut directories = vec![corpus.to_owned()];
    while let Some(directory) = directories.pop() {
        let entries = std::fs::read_dir(&directory)
            .map_err(|error| format!("reading {}: {error}", directory.display()))?;
        for entry in entries {
            let path = entry.map_err(|error| error.to_string())?.path();
            if path.is_dir() {
                directories.push(path);
            } else if path.extension().is_some_and(|e| e == "test") {
                let name = path
                    .strip_prefix(corpus)
                    .map_err(|error| error.to_string())?
                    .to_string_lossy()
                    .replace('\\', "/");
                if filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())) {
                    let bytes = path.metadata().map_err(|error| error.to_string())?.len();
                    files.push((name, bytes));
                }
            }
        }
    }
    files.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(files)
}

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("sqlite_corpus: {error}");
            return ExitCode::from(2);
        }
    };
    match run_corpus(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("sqlite_corpus: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the selected files and reports; `Ok(false)` when the gate finds regressions.
fn run_corpus(options: &Options) -> Result<bool, String> {
    let files = corpus_files(&options.corpus, &options.filters)?;
    if files.is_empty() {
        return Err(format!("no corpus file matches {:?}", options.filters));
    }
    let server = options.url.is_none().then(|| common::Server::start(""));
    let admin = match (&options.url, &server) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.pg_config("rusts"),
        (None, None) => unreachable!("a server is started without --url"),
    };
    let started = Instant::now();
    let outcomes = run::run_files(&admin, &options.corpus, &files, options)?;
    let elapsed = started.elapsed();
    drop(server);

    let postgres = Failures::load_if_present(&options.postgres_failures)?;
    report::print(&outcomes, postgres.as_ref(), elapsed);
    if let Some(path) = &options.report {
        report::write_tsv(path, &outcomes)?;
    }
    if let Some(path) = &options.record {
        Failures::record(path, &outcomes)?;
        eprintln!("recorded failures in {}", path.display());
    }
    match &options.gate {
        Some(path) => Ok(failures::gate(&Failures::load(path)?, &outcomes, path)),
        None => Ok(true),
    }
}

mod report {
    //! The per-file table and the TSV report.

    use super::{BTreeMap, Duration, Failures, FileOutcome, Path};

    pub(super) fn print(
        outcomes: &BTreeMap<String, FileOutcome>,
        postgres: Option<&Failures>,
        elapsed: Duration,
    ) {
        eprintln!(
            "\n{:<44} {:>7} {:>6} {:>6} {:>7} {:>8} {:>9}",
            "file", "passed", "failed", "skipped", "total", "secs", "vs pg15"
        );
        let (mut passed, mut failed, mut skipped, mut total, mut behind) = (0, 0, 0, 0, 0);
        for (name, outcome) in outcomes {
            let regressions = postgres.map(|pg| outcome.failing_where_passing(name, pg));
            eprintln!(
                "{name:<44} {:>7} {:>6} {:>6} {:>7} {:>8.1} {:>9}",
                outcome.passed,
                outcome.failures.len(),
                outcome.skipped,
                outcome.total(),
                outcome.elapsed.as_secs_f64(),
                regressions.map_or_else(|| "-".to_owned(), |n| n.to_string()),
            );
            passed += outcome.passed;
            failed += outcome.failures.len();
            skipped += outcome.skipped;
            total += outcome.total();
            behind += regressions.unwrap_or(0);
        }
        let files_passing = outcomes.values().filter(|o| o.failures.is_empty()).count();
        eprintln!(
            "{:<44} {passed:>7} {failed:>6} {skipped:>6} {total:>7} {:>8.1} {:>9}",
            "total",
            elapsed.as_secs_f64(),
            if postgres.is_some() {
                behind.to_string()
            } else {
                "-".to_owned()
            },
        );
        eprintln!(
            "files passing: {files_passing} of {}; records passing: {passed} of {total}; \
             failing where PostgreSQL 15 passes: {}",
            outcomes.len(),
            if postgres.is_some() {
                behind.to_string()
            } else {
                "unknown".to_owned()
            },
        );
    }

    /// Writes the report in `postgresql15-baseline.tsv`'s columns: `ok` and `fail` count
    /// records run, `skip` those a condition skipped, `total` is `ok + fail`.
    pub(super) fn write_tsv(
        path: &Path,
        outcomes: &BTreeMap<String, FileOutcome>,
    ) -> Result<(), String> {
        let mut text = String::from("file\tstatus\tok\tfail\tskip\ttotal\tsecs\terror\n");
        for (name, outcome) in outcomes {
            let failed = outcome.failures.len();
            text.push_str(&format!(
                "{name}\t{}\t{}\t{failed}\t{}\t{}\t{:.3}\t{}\n",
                if failed == 0 { "PASS" } else { "FAIL" },
                outcome.passed,
                outcome.skipped,
                outcome.total(),
                outcome.elapsed.as_secs_f64(),
                outcome.failures.first().map_or("", |f| f.reason.as_str()),
            ));
        }
        std::fs::write(path, text).map_err(|error| format!("writing {}: {error}", path.display()))
    }
}
