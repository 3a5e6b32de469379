//! A corpus file as the runner executes it: its statements and queries in order, each with
//! the line it starts on and whether the `postgresql` label runs it.
//!
//! The `sqllogictest` crate parses the records. Two conventions of the SQLite corpus need
//! care around it: a condition line may end in a comment (`skipif mysql # not compatible`),
//! which is stripped before parsing; and a `halt` after a condition (`onlyif mssql` then
//! `halt`) halts only when the condition holds for this runner, so conditions are tracked
//! here, in record order, rather than taken from the parsed statement that follows.

use sqllogictest::{
    Condition, DefaultColumnType, QueryExpect, Record, SortMode, StatementExpect, parse_with_name,
};

/// The label this runner answers to: `onlyif postgresql` runs, `skipif postgresql` skips,
/// `onlyif` any other engine skips.
const LABEL: &str = "postgresql";

/// The hash threshold of the original harness, until a `hash-threshold` line changes it.
const HASH_THRESHOLD_DEFAULT: usize = 8;

/// What a record expects.
#[derive(Debug)]
pub(crate) enum Expect {
    /// A statement that must succeed.
    Ok,
    /// A statement or query that must fail.
    Error,
    /// A query's result: the type letter of each column (`I`, `R`, `T`), the sort mode, and
    /// the expected values, one per line as in the file.
    Rows {
        types: Vec<char>,
        sort: Sort,
        values: Vec<String>,
        /// Results with more values than this compare as an MD5 hash (0: never).
        hash_threshold: usize,
    },
}

/// How values are sorted before comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    None,
    Rows,
    Values,
}

/// A statement or query of a file.
#[derive(Debug)]
pub(crate) struct Step {
    /// The 1-based line of the `statement` or `query` line: the record's identity.
    pub(crate) line: u32,
    pub(crate) sql: String,
    pub(crate) expect: Expect,
    /// False when a condition or an earlier `halt` skips it.
    pub(crate) runs: bool,
}

/// Reads a corpus file into its steps.
pub(crate) fn steps(name: &str, text: &str) -> Result<Vec<Step>, String> {
    let records = parse_with_name::<DefaultColumnType>(&strip_condition_comments(text), name)
        .map_err(|error| format!("{name}: {error}"))?;
    let mut steps = Vec::new();
    let mut pending: Vec<Condition> = Vec::new();
    let mut halted = false;
    let mut hash_threshold = HASH_THRESHOLD_DEFAULT;
    for record in records {
        match record {
            Record::Condition(condition) => pending.push(condition),
            Record::Halt { .. } => {
                halted |= pending.iter().all(holds);
                pending.clear();
            }
            Record::HashThreshold { threshold, .. } => {
                hash_threshold = usize::try_from(threshold).unwrap_or(usize::MAX);
            }
            Record::Statement {
                loc, sql, expected, ..
            } => {
                let expect = match expected {
                    StatementExpect::Ok | StatementExpect::Count(_) => Expect::Ok,
                    StatementExpect::Error(_) => Expect::Error,
                };
                steps.push(Step {
                    line: loc.line(),
                    sql,
                    expect,
                    runs: runs(halted, &mut pending),
                });
            }
            Record::Query {
                loc, sql, expected, ..
            } => {
                let expect = match expected {
                    QueryExpect::Error(_) => Expect::Error,
                    QueryExpect::Results {
                        types,
                        sort_mode,
                        results,
                        ..
                    } => Expect::Rows {
                        types: types
                            .iter()
                            .map(sqllogictest::ColumnType::to_char)
                            .collect(),
                        sort: match sort_mode {
                            None | Some(SortMode::NoSort) => Sort::None,
                            Some(SortMode::RowSort) => Sort::Rows,
                            Some(SortMode::ValueSort) => Sort::Values,
                        },
                        values: results
                            .into_iter()
                            .map(|v| v.trim_end().to_owned())
                            .collect(),
                        hash_threshold,
                    },
                };
                steps.push(Step {
                    line: loc.line(),
                    sql,
                    expect,
                    runs: runs(halted, &mut pending),
                });
            }
            _ => {}
        }
    }
    Ok(steps)
}

/// Whether the record the `pending` conditions precede runs; the conditions are used up.
fn runs(halted: bool, pending: &mut Vec<Condition>) -> bool {
    let conditions_hold = pending.drain(..).all(|c| holds(&c));
    !halted && conditions_hold
}

/// Whether a condition lets this runner run the record it precedes.
fn holds(condition: &Condition) -> bool {
    match condition {
        Condition::OnlyIf { label } => label == LABEL,
        Condition::SkipIf { label } => label != LABEL,
    }
}

/// The file with the comment cut off every `skipif` / `onlyif` line.
fn strip_condition_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let condition = line.starts_with("skipif ") || line.starts_with("onlyif ");
        match line.split_once('#') {
            Some((head, _)) if condition => out.push_str(head.trim_end()),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_halts_and_thresholds_apply_in_order() {
        let text = "\
onlyif mssql
halt

hash-threshold 3

skipif postgresql # not here
statement ok
CREATE TABLE t(a INTEGER)

onlyif postgresql
query I rowsort label-1
SELECT a FROM t
----
1

onlyif mysql # other engine
statement error
SELECT x

query IT nosort
SELECT 1, 'a'
----
4 values hashing to abc

onlyif postgresql
halt

statement ok
SELECT 2
";
        let steps = steps("t.test", text).expect("parses");
        let shape: Vec<(u32, bool)> = steps.iter().map(|s| (s.line, s.runs)).collect();
        assert_eq!(
            shape,
            [(7, false), (11, true), (17, false), (20, true), (28, false)]
        );
        match &steps[1].expect {
            Expect::Rows {
                types,
                sort,
                values,
                hash_threshold,
            } => {
                assert_eq!(types, &['I']);
                assert_eq!(*sort, Sort::Rows);
                assert_eq!(values, &["1"]);
                assert_eq!(*hash_threshold, 3);
            }
            other => panic!("expected rows, got {other:?}"),
        }
        assert!(matches!(steps[2].expect, Expect::Error));
        assert_eq!(steps[3].sql, "SELECT 1, 'a'");
    }
}
