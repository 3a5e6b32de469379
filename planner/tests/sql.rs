//! SQL over measurements written by line-protocol ingestion: DataFusion sessions see each
//! database's measurements as tables, and time and tag filters reach the storage engine.

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use rusts_planner::{Engine, FieldValue, StorageOptions, WritePoint, WriteRequest};

const SECOND: i64 = 1_000_000_000;

fn engine(dir: &std::path::Path) -> Engine {
    Engine::open(StorageOptions {
        data_dir: dir.to_owned(),
        ..StorageOptions::default()
    })
    .unwrap()
}

/// Three hosts in two regions, one point per host every 10 s for 100 steps.
fn write_cpu(engine: &Engine, database: &str) {
    let mut points = Vec::new();
    for step in 0..100_i64 {
        for (host, region) in [("a", "eu"), ("b", "eu"), ("c", "us")] {
            points.push(WritePoint {
                measurement: "cpu".into(),
                tags: vec![
                    ("host".into(), host.into()),
                    ("region".into(), region.into()),
                ],
                fields: vec![
                    ("usage".into(), FieldValue::Float(step as f64)),
                    ("count".into(), FieldValue::Integer(step)),
                ],
                timestamp_ns: step * 10 * SECOND,
            });
        }
    }
    let summary = engine
        .ingest(WriteRequest {
            database: database.into(),
            points,
        })
        .unwrap();
    assert_eq!(summary.points_written, 300);
}

async fn query(context: &SessionContext, sql: &str) -> String {
    let batches = context.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measurements_are_tables_with_time_tags_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    write_cpu(&engine, "rusts");
    write_cpu(&engine, "other");
    let session = engine.sql_session("rusts").unwrap();
    let columns = query(
        &session,
        "SELECT column_name, data_type FROM information_schema.columns \
         WHERE table_name = 'cpu' ORDER BY ordinal_position",
    )
    .await;
    let expected = [
        "| time        | Timestamp(ns, \"UTC\") |",
        "| host        | Utf8                 |",
        "| region      | Utf8                 |",
        "| usage       | Float64              |",
        "| count       | Int64                |",
    ];
    for line in expected {
        assert!(columns.contains(line), "{line} missing from\n{columns}");
    }
    let result = query(
        &session,
        "SELECT host, count(*) AS n, max(usage) AS top FROM cpu \
         WHERE region = 'eu' AND time >= '1970-01-01T00:05:00Z' GROUP BY host ORDER BY host",
    )
    .await;
    assert_eq!(
        result,
        "+------+----+------+\n\
         | host | n  | top  |\n\
         +------+----+------+\n\
         | a    | 70 | 99.0 |\n\
         | b    | 70 | 99.0 |\n\
         +------+----+------+"
    );
    // The other database's copy is separate: its own session sees 300 rows, and this one's
    // catalog lists only its own tables.
    let other = engine.sql_session("other").unwrap();
    assert!(
        query(&other, "SELECT count(*) FROM cpu")
            .await
            .contains("| 300 ")
    );
    let tables = query(&session, "SHOW TABLES").await;
    assert!(
        tables.contains("| rusts         | public             | cpu "),
        "{tables}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_and_tag_filters_are_pushed_to_the_storage_and_shown_by_explain() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    write_cpu(&engine, "rusts");
    let session = engine.sql_session("rusts").unwrap();
    let plan = query(
        &session,
        "EXPLAIN SELECT usage FROM cpu WHERE host = 'c' AND time < '1970-01-01T00:01:00Z'",
    )
    .await;
    assert!(
        plan.contains("MeasurementScanExec: measurement=cpu, time=[-9223372036854775808, 59999999999], tags=[host = 'c']"),
        "{plan}"
    );
    let analyzed = query(
        &session,
        "EXPLAIN ANALYZE SELECT usage FROM cpu WHERE host = 'c' AND time < '1970-01-01T00:01:00Z'",
    )
    .await;
    assert!(analyzed.contains("series_total=3"), "{analyzed}");
    assert!(analyzed.contains("series_matched=1"), "{analyzed}");
    let rows = query(
        &session,
        "SELECT count(*) AS n FROM cpu WHERE host = 'c' AND time < '1970-01-01T00:01:00Z'",
    )
    .await;
    assert!(rows.contains("| 6 "), "{rows}");
    // A filter the storage cannot use still filters (DataFusion keeps every filter).
    let rows = query(
        &session,
        "SELECT count(*) AS n FROM cpu WHERE host = 'c' OR usage > 98",
    )
    .await;
    assert!(rows.contains("| 102 "), "{rows}");
}

async fn run(context: &SessionContext, sql: &str) -> datafusion::common::Result<String> {
    let batches = context.sql(sql).await?.collect().await?;
    Ok(pretty_format_batches(&batches)?.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_and_delete_in_sql_are_the_same_data_as_line_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    write_cpu(&engine, "rusts");
    let session = engine.sql_session("rusts").unwrap();
    // INSERT … VALUES: a new series (host d) and an overwrite of host a at t=0 (same series
    // and time: newest wins per field, the other field stays).
    let inserted = query(
        &session,
        "INSERT INTO cpu (time, host, region, usage) VALUES \
         ('1970-01-01T00:00:00Z', 'd', 'us', 1.5), ('1970-01-01T00:00:00Z', 'a', 'eu', 42.0)",
    )
    .await;
    assert!(inserted.contains("| 2     |"), "{inserted}");
    let rows = query(
        &session,
        "SELECT host, usage, count FROM cpu WHERE time = '1970-01-01T00:00:00Z' ORDER BY host",
    )
    .await;
    assert_eq!(
        rows,
        "+------+-------+-------+\n\
         | host | usage | count |\n\
         +------+-------+-------+\n\
         | a    | 42.0  | 0     |\n\
         | b    | 0.0   | 0     |\n\
         | c    | 0.0   | 0     |\n\
         | d    | 1.5   |       |\n\
         +------+-------+-------+"
    );
    // INSERT … SELECT copies host c's rows to a new host.
    query(
        &session,
        "INSERT INTO cpu SELECT time, 'e' AS host, region, usage, count FROM cpu WHERE host = 'c'",
    )
    .await;
    assert!(
        query(&session, "SELECT count(*) FROM cpu WHERE host = 'e'")
            .await
            .contains("| 100 ")
    );
    // DELETE by tag and time range; the count is the rows removed.
    let deleted = query(
        &session,
        "DELETE FROM cpu WHERE host = 'e' AND time < '1970-01-01T00:01:40Z'",
    )
    .await;
    assert!(deleted.contains("| 10    |"), "{deleted}");
    assert!(
        query(&session, "SELECT count(*) FROM cpu WHERE host = 'e'")
            .await
            .contains("| 90 ")
    );
    // What the storage cannot delete exactly is refused, and nothing is deleted.
    let error = run(&session, "DELETE FROM cpu WHERE usage > 50")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("DELETE on measurement cpu takes only time ranges"),
        "{error}"
    );
    // A row without time is refused with Postgres's not-null wording.
    let error = run(&session, "INSERT INTO cpu (host, usage) VALUES ('z', 1.0)")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("time"), "{error}");
    assert!(
        query(&session, "SELECT count(*) FROM cpu")
            .await
            .contains("| 391 ")
    );
}

/// `chunks_read=N` of the scan in an `EXPLAIN ANALYZE` result.
fn chunks_read(analyzed: &str) -> u64 {
    let line = analyzed
        .lines()
        .find(|line| line.contains("MeasurementScanExec"))
        .unwrap_or_else(|| panic!("no scan in\n{analyzed}"));
    let count = line
        .split("chunks_read=")
        .nth(1)
        .and_then(|rest| rest.split([',', ']']).next())
        .unwrap_or_else(|| panic!("no chunks_read in {line}"));
    count.trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_k_over_time_reads_only_the_newest_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    // Three hosts, one point every 10 s for 10 days, flushed to segments by a close.
    let steps = 86_400_i64;
    let points: Vec<WritePoint> = (0..steps)
        .flat_map(|step| {
            ["a", "b", "c"].map(|host| WritePoint {
                measurement: "cpu".into(),
                tags: vec![("host".into(), host.into())],
                fields: vec![("usage".into(), FieldValue::Float(step as f64))],
                timestamp_ns: step * 10 * SECOND,
            })
        })
        .collect();
    engine
        .ingest(WriteRequest {
            database: "rusts".into(),
            points,
        })
        .unwrap();
    engine.close().unwrap();
    let engine = self::engine(dir.path());
    let session = engine.sql_session("rusts").unwrap();
    let newest = "SELECT time, host, usage FROM cpu ORDER BY time DESC LIMIT 4";
    let plan = query(&session, &format!("EXPLAIN ANALYZE {newest}")).await;
    assert!(plan.contains("order=time DESC"), "{plan}");
    let ordered = chunks_read(&plan);
    let everything = chunks_read(
        &query(
            &session,
            "EXPLAIN ANALYZE SELECT time, host, usage FROM cpu ORDER BY usage DESC LIMIT 4",
        )
        .await,
    );
    // One chunk per series suffices; the scan thread may read a few windows ahead of a
    // consumer that stops (windows grow at most 4x each), so the bound leaves room for that.
    assert!(
        ordered * 2 <= everything,
        "the newest rows read {ordered} chunks, a full read {everything}"
    );
    let rows = query(&session, newest).await;
    assert!(
        rows.contains("| 1970-01-10T23:59:50Z | c    | 86399.0 |"),
        "{rows}"
    );
    assert!(rows.contains("| 1970-01-10T23:59:40Z | "), "{rows}");
    // Buckets, newest first, stop early too and agree with a full aggregation.
    let buckets = "SELECT date_trunc('hour', time) AS hour, max(usage) AS m FROM cpu \
                   GROUP BY hour ORDER BY hour DESC LIMIT 2";
    let plan = query(&session, &format!("EXPLAIN ANALYZE {buckets}")).await;
    assert!(chunks_read(&plan) * 2 <= everything, "{everything}: {plan}");
    assert_eq!(
        query(&session, buckets).await,
        "+----------------------+---------+\n\
         | hour                 | m       |\n\
         +----------------------+---------+\n\
         | 1970-01-10T23:00:00Z | 86399.0 |\n\
         | 1970-01-10T22:00:00Z | 86039.0 |\n\
         +----------------------+---------+"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_are_reusable_only_when_rerunning_equals_replanning() {
    use rusts_planner::reuse::{is_deterministic, is_reusable};
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    write_cpu(&engine, "rusts");
    let session = engine.sql_session("rusts").unwrap();
    let logical = |sql: &'static str| {
        let state = session.state();
        async move { state.create_logical_plan(sql).await.unwrap() }
    };
    let physical = |sql: &'static str| {
        let session = session.clone();
        async move {
            session
                .sql(sql)
                .await
                .unwrap()
                .create_physical_plan()
                .await
                .unwrap()
        }
    };
    let grouped = "SELECT host, max(usage) FROM cpu WHERE region = 'eu' GROUP BY host";
    assert!(is_deterministic(&logical(grouped).await));
    assert!(!is_deterministic(&logical("SELECT now()").await));
    let recent = "SELECT usage FROM cpu WHERE time > now() - interval '1 hour'";
    assert!(!is_deterministic(&logical(recent).await));
    assert!(!is_deterministic(&logical("SELECT random()").await));
    assert!(is_reusable(&physical(grouped).await));
    assert!(is_reusable(&physical("SELECT 1 + 1").await));
    let catalog = "SELECT table_name FROM information_schema.tables";
    assert!(!is_reusable(&physical(catalog).await));
    assert!(!is_reusable(
        &physical("SELECT * FROM (VALUES (1), (2)) AS t(x)").await
    ));
}

/// Runs a fresh copy of `plan` and formats its rows.
async fn run_copy(
    session: &SessionContext,
    plan: &std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>,
) -> String {
    let copy = rusts_planner::reuse::fresh_copy(plan).unwrap();
    let batches = datafusion::physical_plan::collect(copy, session.task_ctx())
        .await
        .unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_plan_reads_current_data_until_its_table_changes_columns() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    write_cpu(&engine, "rusts");
    let session = engine.sql_session("rusts").unwrap();
    let grouped =
        "SELECT host, max(usage) FROM cpu WHERE region = 'eu' GROUP BY host ORDER BY host";
    let plan = session
        .sql(grouped)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    // Each run of a fresh copy reads the data as it is then.
    let first = run_copy(&session, &plan).await;
    assert!(first.contains("| a    | 99.0"), "{first}");
    assert_eq!(run_copy(&session, &plan).await, first);
    let write = |fields: Vec<(String, FieldValue)>| {
        engine
            .ingest(WriteRequest {
                database: "rusts".into(),
                points: vec![WritePoint {
                    measurement: "cpu".into(),
                    tags: vec![("host".into(), "a".into()), ("region".into(), "eu".into())],
                    fields,
                    timestamp_ns: 5_000 * SECOND,
                }],
            })
            .unwrap()
    };
    write(vec![("usage".into(), FieldValue::Float(500.0))]);
    assert!(rusts_planner::reuse::is_current(&plan));
    assert!(run_copy(&session, &plan).await.contains("| a    | 500.0"));
    // A new field changes the table: the plan is no longer current.
    write(vec![("temp".into(), FieldValue::Float(1.0))]);
    assert!(!rusts_planner::reuse::is_current(&plan));
}
