//! Which records fail: a run's outcome per file, and the lists kept in files (`file`, `line`,
//! `reason`, tab-separated) that the gate and the comparison with PostgreSQL read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// A record that failed: the line it starts on and a short reason.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) line: u32,
    pub(crate) reason: String,
}

/// What one file's run gave.
#[derive(Debug, Default)]
pub(crate) struct FileOutcome {
    pub(crate) passed: usize,
    pub(crate) skipped: usize,
    pub(crate) failures: Vec<Failure>,
    pub(crate) elapsed: Duration,
}

impl FileOutcome {
    /// Records run (skipped ones are not counted, as in the baseline).
    pub(crate) fn total(&self) -> usize {
        self.passed + self.failures.len()
    }

    /// How many of this file's failures `other` does not list: records that fail here and
    /// pass there.
    pub(crate) fn failing_where_passing(&self, file: &str, other: &Failures) -> usize {
        self.failures
            .iter()
            .filter(|failure| !other.contains(file, failure.line))
            .count()
    }
}

/// A list of failing records by file.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    by_file: BTreeMap<String, BTreeMap<u32, String>>,
}

impl Failures {
    pub(crate) fn contains(&self, file: &str, line: u32) -> bool {
        self.by_file
            .get(file)
            .is_some_and(|lines| lines.contains_key(&line))
    }

    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("reading {}: {error}", path.display()))?;
        let mut failures = Self::default();
        for (index, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let mut parts = line.splitn(3, '\t');
            let (Some(file), Some(number)) = (parts.next(), parts.next()) else {
                return Err(format!(
                    "{}:{}: expected file<TAB>line",
                    path.display(),
                    index + 1
                ));
            };
            let number = number
                .parse()
                .map_err(|_| format!("{}:{}: bad line number", path.display(), index + 1))?;
            let reason = parts.next().unwrap_or_default().to_owned();
            failures
                .by_file
                .entry(file.to_owned())
                .or_default()
                .insert(number, reason);
        }
        Ok(failures)
    }

    pub(crate) fn load_if_present(path: &Path) -> Result<Option<Self>, String> {
        if path.exists() {
            Self::load(path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Writes the failures of `outcomes` to `path`, keeping the entries of files not run.
    pub(crate) fn record(
        path: &Path,
        outcomes: &BTreeMap<String, FileOutcome>,
    ) -> Result<(), String> {
        let mut failures = Self::load_if_present(path)?.unwrap_or_default();
        for (file, outcome) in outcomes {
            let lines = outcome
                .failures
                .iter()
                .map(|failure| (failure.line, failure.reason.clone()))
                .collect();
            failures.by_file.insert(file.clone(), lines);
        }
        let mut text = String::from(
            "# Records of the SQLite sqllogictest corpus that fail: file, line, reason.\n\
             # Written by `cargo test --test sqlite_corpus -- --record <this file>`.\n",
        );
        for (file, lines) in &failures.by_file {
            for (line, reason) in lines {
                text.push_str(&format!("{file}\t{line}\t{reason}\n"));
            }
        }
        std::fs::write(path, text).map_err(|error| format!("writing {}: {error}", path.display()))
    }
}

/// Prints regressions (failures `known` does not list) and records that now pass; true when
/// there are no regressions.
pub(crate) fn gate(
    known: &Failures,
    outcomes: &BTreeMap<String, FileOutcome>,
    path: &Path,
) -> bool {
    let mut regressions = Vec::new();
    let mut fixed = 0;
    for (file, outcome) in outcomes {
        let failing: BTreeSet<u32> = outcome.failures.iter().map(|f| f.line).collect();
        for failure in &outcome.failures {
            if !known.contains(file, failure.line) {
                regressions.push(format!("{file}:{}: {}", failure.line, failure.reason));
            }
        }
        if let Some(lines) = known.by_file.get(file) {
            fixed += lines.keys().filter(|line| !failing.contains(line)).count();
        }
    }
    if fixed > 0 {
        eprintln!(
            "{fixed} records listed in {} now pass: record them with --record {0}",
            path.display()
        );
    }
    if regressions.is_empty() {
        eprintln!("no regressions against {}", path.display());
        return true;
    }
    eprintln!(
        "{} regressions against {}:",
        regressions.len(),
        path.display()
    );
    for regression in &regressions {
        eprintln!("  {regression}");
    }
    false
}
