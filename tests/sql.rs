//! The real binary: data written as line protocol over HTTP is queried with SQL over the
//! Postgres wire protocol (tokio-postgres, extended protocol, binary results), before and
//! after a restart.

mod common;

use common::{Server, post};
use tokio_postgres::{Client, NoTls};

const LINES: &str = "\
cpu,host=a,region=eu usage=10.5,count=1i 1700000000000000000
cpu,host=b,region=eu usage=20.5,count=2i 1700000000000000000
cpu,host=a,region=eu usage=11.5,count=3i 1700000010000000000
cpu,host=c,region=us usage=30.5,count=4i 1700000010000000000
";

async fn connect(server: &Server, database: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(&server.pg_config(database), NoTls)
        .await
        .expect("connect");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

async fn check_queries(client: &Client) {
    let rows = client
        .query(
            "SELECT host, sum(usage) AS total, max(count) AS top FROM cpu \
             WHERE region = $1 GROUP BY host ORDER BY host",
            &[&"eu"],
        )
        .await
        .expect("group by");
    let got: Vec<(String, f64, i64)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![("a".to_owned(), 22.0, 3), ("b".to_owned(), 20.5, 2)]
    );
    let row = client
        .query_one(
            "SELECT count(*) FROM cpu WHERE time >= '2023-11-14T22:13:25Z' AND host <> 'd'",
            &[],
        )
        .await
        .expect("time filter");
    assert_eq!(row.get::<_, i64>(0), 2);
    let plan = client
        .simple_query("EXPLAIN SELECT usage FROM cpu WHERE host = 'c'")
        .await
        .expect("explain");
    let text: Vec<String> = plan
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(1).map(str::to_owned),
            _ => None,
        })
        .collect();
    assert!(
        text.iter()
            .any(|line| line.contains("MeasurementScanExec: measurement=cpu")
                && line.contains("tags=[host = 'c']")),
        "{text:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_protocol_data_is_queryable_over_the_postgres_wire_across_restarts() {
    let server = Server::start("");
    let (status, body) = post(
        &format!("{}/write?db=telegraf", server.http),
        &[],
        LINES.as_bytes(),
    );
    assert_eq!(status, 204, "{body}");
    let client = connect(&server, "telegraf").await;
    check_queries(&client).await;
    // Another database does not see the measurement.
    let other = connect(&server, "rusts").await;
    let error = other
        .query("SELECT * FROM cpu", &[])
        .await
        .expect_err("no such table");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE)
    );
    // Writes in SQL: command tags carry the row counts, and the rows persist like
    // line-protocol rows.
    let inserted = client
        .execute(
            "INSERT INTO cpu (time, host, region, usage, count) \
             VALUES ('2023-11-14T22:14:00Z', 'd', 'us', 1.25, 7), \
                    ('2023-11-14T22:14:10Z', 'd', 'us', 2.25, 8)",
            &[],
        )
        .await
        .expect("insert");
    assert_eq!(inserted, 2);
    let deleted = client
        .execute(
            "DELETE FROM cpu WHERE host = 'd' AND time > '2023-11-14T22:14:05Z'",
            &[],
        )
        .await
        .expect("delete");
    assert_eq!(deleted, 1);
    drop((client, other));
    let stopped = server.stop();
    let server = Server::start_in(&stopped.data_dir, "");
    let client = connect(&server, "telegraf").await;
    check_queries(&client).await;
    let row = client
        .query_one("SELECT sum(usage), count(*) FROM cpu WHERE host = 'd'", &[])
        .await
        .expect("rows written in SQL after restart");
    assert_eq!((row.get::<_, f64>(0), row.get::<_, i64>(1)), (1.25, 1));
}

/// site, temp, ok, note.
type SensorRow = (String, Option<f64>, Option<bool>, Option<String>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_stdin_and_to_stdout_in_text_and_csv() {
    use futures::SinkExt;
    let server = Server::start("");
    let client = connect(&server, "rusts").await;
    client
        .batch_execute(
            "CREATE TABLE sensor (time timestamptz, site text, temp float8, ok boolean, \
             note text, PRIMARY KEY (site, time))",
        )
        .await
        .expect("create");

    // Text format, data split across CopyData messages mid-line, escapes and NULL.
    let sink = client
        .copy_in("COPY sensor (time, site, temp, ok, note) FROM STDIN")
        .await
        .expect("copy in");
    futures::pin_mut!(sink);
    let chunks: [&[u8]; 3] = [
        b"2024-01-01 00:00:00+00\ta\t1.5\tt\ttab\\there\n2024-01-01 00:00",
        b":10+00\ta\t2.5\tf\t\\N\n",
        b"2024-01-01 00:00:20+00\tb\t-3\ttrue\tline\\nbreak\n\\.\n",
    ];
    for chunk in chunks {
        sink.send(bytes::Bytes::from_static(chunk))
            .await
            .expect("send");
    }
    assert_eq!(sink.finish().await.expect("copy done"), 3);

    // CSV with a header, quoted delimiters and newlines; an unquoted empty field is NULL.
    let sink = client
        .copy_in("COPY sensor (site, time, temp, note) FROM STDIN WITH (FORMAT csv, HEADER)")
        .await
        .expect("copy in csv");
    futures::pin_mut!(sink);
    let csv = "site,time,temp,note\nc,2024-01-01T00:00:00Z,4.25,\"a, \"\"quoted\"\"\nnote\"\nc,2024-01-01T00:00:10Z,,\"\"\n";
    sink.send(bytes::Bytes::from(csv)).await.expect("send csv");
    assert_eq!(sink.finish().await.expect("copy done csv"), 2);

    let rows = client
        .query(
            "SELECT site, temp, ok, note FROM sensor ORDER BY site, time",
            &[],
        )
        .await
        .expect("select");
    let got: Vec<SensorRow> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".into(), Some(1.5), Some(true), Some("tab\there".into())),
            ("a".into(), Some(2.5), Some(false), None),
            (
                "b".into(),
                Some(-3.0),
                Some(true),
                Some("line\nbreak".into())
            ),
            (
                "c".into(),
                Some(4.25),
                None,
                Some("a, \"quoted\"\nnote".into())
            ),
            ("c".into(), None, None, Some(String::new())),
        ]
    );
    copy_out_text_and_csv(&client).await;
    copy_errors_name_the_line(&client).await;
}

/// COPY (query) TO STDOUT, text and CSV with a header.
async fn copy_out_text_and_csv(client: &Client) {
    use futures::TryStreamExt;
    let out: Vec<u8> = client
        .copy_out("COPY (SELECT site, temp, note FROM sensor WHERE site <> 'c' ORDER BY time, site) TO STDOUT")
        .await
        .expect("copy out")
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .expect("copy out data");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "a\t1.5\ttab\\there\na\t2.5\t\\N\nb\t-3\tline\\nbreak\n"
    );
    let out: Vec<u8> = client
        .copy_out("COPY sensor (site, note) TO STDOUT WITH (FORMAT csv, HEADER)")
        .await
        .expect("copy out csv")
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .expect("copy out csv data");
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("site,note\n"), "{text}");
    assert!(text.contains("c,\"a, \"\"quoted\"\"\nnote\"\n"), "{text}");
}

/// A bad value names its line and column; the connection stays usable.
async fn copy_errors_name_the_line(client: &Client) {
    use futures::SinkExt;
    let sink = client
        .copy_in("COPY sensor (time, site, temp) FROM STDIN")
        .await
        .expect("copy in bad");
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(
        b"2024-01-02 00:00:00+00\td\t1\n2024-01-02 00:00:10+00\td\thot\n",
    ))
    .await
    .expect("send bad");
    let error = sink.finish().await.expect_err("bad value");
    let db = error.as_db_error().expect("server error");
    assert_eq!(db.code().code(), "22P02", "{db:?}");
    assert!(
        db.message().contains("line 2, column temp"),
        "{}",
        db.message()
    );
    let sink = client
        .copy_in("COPY sensor (time, site) FROM STDIN")
        .await
        .expect("copy in short");
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"2024-01-02 00:00:00+00\n"))
        .await
        .expect("send short");
    let error = sink.finish().await.expect_err("missing column");
    let db = error.as_db_error().expect("server error");
    assert_eq!(db.code().code(), "22P04", "{db:?}");
    assert!(
        db.message().contains("missing data for column \"site\""),
        "{}",
        db.message()
    );
    let count: i64 = client
        .query_one("SELECT count(*) FROM sensor", &[])
        .await
        .expect("still usable")
        .get(0);
    assert_eq!(count, 5);
    let error = client
        .batch_execute("COPY sensor FROM '/etc/passwd'")
        .await
        .expect_err("server files are refused");
    assert_eq!(error.code().map(|c| c.code()), Some("0A000"));
}

/// The values of a one-column simple query, as text.
async fn simple_column(client: &Client, sql: &str) -> Vec<Option<String>> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error:?}"))
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
            _ => None,
        })
        .collect()
}

/// A query text sent again reuses its plan (wire/src/pg/plan_cache.rs): what it returns must
/// be what planning it again would return.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_query_texts_see_new_rows_columns_settings_and_drops() {
    let server = Server::start("");
    let write = |lines: &str| {
        let (status, body) = post(
            &format!("{}/write?db=rusts", server.http),
            &[],
            lines.as_bytes(),
        );
        assert_eq!(status, 204, "{body}");
    };
    write(LINES);
    let client = connect(&server, "rusts").await;
    let total = "SELECT sum(count)::text FROM cpu WHERE host = 'a'";
    assert_eq!(simple_column(&client, total).await, [Some("4".to_owned())]);
    assert_eq!(simple_column(&client, total).await, [Some("4".to_owned())]);
    // New rows (and a new series) are read by the kept plan.
    write("cpu,host=a,region=eu usage=1,count=10i 1700000020000000000\n");
    write("cpu,host=a,region=us usage=1,count=100i 1700000020000000000\n");
    assert_eq!(
        simple_column(&client, total).await,
        [Some("114".to_owned())]
    );
    // A field added by a write appears in SELECT *: the table changed, so the text is
    // planned again.
    let star = "SELECT * FROM cpu WHERE host = 'c'";
    let columns = |rows: &[tokio_postgres::SimpleQueryMessage]| {
        rows.iter()
            .find_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.len()),
                _ => None,
            })
            .unwrap_or(0)
    };
    let before = client.simple_query(star).await.unwrap();
    assert_eq!(columns(&before), 5, "time, host, region, usage, count");
    write("cpu,host=c,region=us usage=2,count=5i,temp=40.5 1700000030000000000\n");
    let after = client.simple_query(star).await.unwrap();
    assert_eq!(columns(&after), 6, "temp is a new column");
    // The extended protocol (a statement without parameters) shares the kept plans.
    for _ in 0..2 {
        let rows = client.query(star, &[]).await.unwrap();
        assert_eq!(rows[0].len(), 6);
        assert_eq!(rows[0].columns()[5].name(), "temp");
    }
    write("cpu,host=c,region=us hum=0.5 1700000030000000000\n");
    let rows = client.query(star, &[]).await.unwrap();
    assert_eq!(rows[0].len(), 7, "hum is a new column");
    let summed = client.query_one(total, &[]).await.unwrap();
    assert_eq!(summed.get::<_, String>(0), "114");
    // now() is bound at planning: such texts are planned each time.
    let now = "SELECT (extract(epoch from now()) * 1000000)::bigint::text";
    let first = simple_column(&client, now).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_ne!(simple_column(&client, now).await, first);
    // Output follows the session's TimeZone, set after the plan was kept.
    let newest = "SELECT max(time) FROM cpu";
    let utc = [Some("2023-11-14 22:13:50+00".to_owned())];
    assert_eq!(simple_column(&client, newest).await, utc);
    assert_eq!(simple_column(&client, newest).await, utc);
    client
        .batch_execute("SET TimeZone = '+01:00'")
        .await
        .unwrap();
    let local = Some("2023-11-14 23:13:50+01".to_owned());
    assert_eq!(simple_column(&client, newest).await, [local]);
    // A dropped table is gone, not answered from the kept plan.
    client.batch_execute("DROP TABLE cpu").await.unwrap();
    let error = client.simple_query(total).await.expect_err("dropped");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE),
        "{error:?}"
    );
}

async fn device_rows(client: &Client) -> Vec<(i32, String, Option<String>)> {
    client
        .query("SELECT id, name, site FROM devices ORDER BY id", &[])
        .await
        .expect("select devices")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// Line protocol does not write into a plain table; other lines of the request do go in.
async fn line_protocol_refuses_plain_tables(server: &Server, client: &Client) {
    let (status, body) = post(
        &format!("{}/write?db=rusts", server.http),
        &[],
        b"devices,k=v x=1 1\nother,k=v x=1 1\n",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("plain table"), "{body}");
    let other = client
        .query_one("SELECT count(*) FROM other", &[])
        .await
        .expect("the good line was written");
    assert_eq!(other.get::<_, i64>(0), 1);
}

/// An insert, an `UPDATE` and a `DELETE` with parameters (extended protocol), a drop and an
/// added column, for `plain_tables_survive_restart_and_crash`.
async fn change_devices(client: &Client) {
    client
        .batch_execute(
            "INSERT INTO devices (id, name) VALUES (3, 'c'), (4, 'd');
             DROP TABLE scratch;",
        )
        .await
        .expect("insert and drop");
    let updated = client
        .execute(
            "UPDATE devices SET name = $1 WHERE id = $2",
            &[&"c2", &3_i32],
        )
        .await
        .expect("update with parameters");
    assert_eq!(updated, 1);
    let deleted = client
        .execute("DELETE FROM devices WHERE id = $1", &[&4_i32])
        .await
        .expect("delete with a parameter");
    assert_eq!(deleted, 1);
    client
        .batch_execute("ALTER TABLE devices ADD COLUMN region text DEFAULT 'x'")
        .await
        .expect("add a column");
}

/// Plain tables survive a clean restart and a SIGKILL (WAL replay after the last flush),
/// keeping their rows, defaults, keys and drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_tables_survive_restart_and_crash() {
    let server = Server::start("");
    let client = connect(&server, "rusts").await;
    client
        .batch_execute(
            "CREATE TABLE devices (id integer PRIMARY KEY, name text NOT NULL, site text DEFAULT 'none');
             INSERT INTO devices (id, name, site) VALUES (1, 'a', 'north'), (2, 'b', NULL);
             CREATE TABLE scratch (x integer);
             INSERT INTO scratch VALUES (1);",
        )
        .await
        .expect("create and insert");
    line_protocol_refuses_plain_tables(&server, &client).await;
    drop(client);
    let stopped = server.stop();

    let server = Server::start_in(&stopped.data_dir, "");
    let client = connect(&server, "rusts").await;
    let want = vec![
        (1, "a".to_owned(), Some("north".to_owned())),
        (2, "b".to_owned(), None),
    ];
    assert_eq!(device_rows(&client).await, want, "after a clean restart");
    // Changes after the restart live only in the WAL when the server is killed.
    change_devices(&client).await;
    drop(client);
    server.kill();

    let server = Server::start_in(&stopped.data_dir, "");
    let client = connect(&server, "rusts").await;
    let mut want = want;
    want.push((3, "c2".to_owned(), Some("none".to_owned())));
    assert_eq!(device_rows(&client).await, want, "after SIGKILL");
    let filled = client
        .query_one("SELECT count(*) FROM devices WHERE region = 'x'", &[])
        .await
        .expect("the added column");
    assert_eq!(filled.get::<_, i64>(0), 3);
    let error = client
        .execute("INSERT INTO devices (id, name) VALUES (3, 'again')", &[])
        .await
        .expect_err("the primary key is rebuilt");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
    );
    let error = client
        .query("SELECT * FROM scratch", &[])
        .await
        .expect_err("the drop was replayed");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE)
    );
    drop(client);
    server.stop();
}

/// Views are kept in the catalog through the WAL: they survive a clean restart and a
/// SIGKILL, and a view replaced by another session is read as replaced at once, even by a
/// query text whose plan would otherwise be reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_survive_restart_and_crash_and_are_never_read_stale() {
    let server = Server::start("");
    let (status, body) = post(&server.url("/write?db=rusts"), &[], LINES.as_bytes());
    assert_eq!(status, 204, "{body}");
    let client = connect(&server, "rusts").await;
    client
        .batch_execute(
            "CREATE TABLE sites (region text PRIMARY KEY, name text);
             INSERT INTO sites VALUES ('eu', 'Europe'), ('us', 'Americas');
             CREATE VIEW usage_by_site AS
                 SELECT name, sum(usage) AS total FROM cpu JOIN sites USING (region) GROUP BY name;
             CREATE VIEW hosts AS SELECT DISTINCT host FROM cpu;",
        )
        .await
        .expect("create the views");
    let by_site = "SELECT name || ' ' || total::text FROM usage_by_site ORDER BY name";
    let want = [
        Some("Americas 30.5".to_owned()),
        Some("Europe 42.5".to_owned()),
    ];
    assert_eq!(simple_column(&client, by_site).await, want);
    let count = "SELECT count(*)::text FROM hosts";
    assert_eq!(simple_column(&client, count).await, [Some("3".to_owned())]);
    // Another session replaces the view; the first sees the new query on its next run.
    let other = connect(&server, "rusts").await;
    other
        .batch_execute(
            "CREATE OR REPLACE VIEW hosts AS SELECT DISTINCT host FROM cpu WHERE region = 'eu'",
        )
        .await
        .expect("replace");
    assert_eq!(simple_column(&client, count).await, [Some("2".to_owned())]);
    drop((client, other));
    let stopped = server.stop();

    let server = Server::start_in(&stopped.data_dir, "");
    let client = connect(&server, "rusts").await;
    assert_eq!(
        simple_column(&client, by_site).await,
        want,
        "after a restart"
    );
    assert_eq!(simple_column(&client, count).await, [Some("2".to_owned())]);
    // Changes after the restart live only in the WAL when the server is killed.
    client
        .batch_execute(
            "DROP VIEW hosts; CREATE VIEW eu_hosts (h) AS SELECT host FROM cpu WHERE region = 'eu'",
        )
        .await
        .expect("drop and create");
    drop(client);
    server.kill();

    let server = Server::start_in(&stopped.data_dir, "");
    let client = connect(&server, "rusts").await;
    assert_eq!(simple_column(&client, by_site).await, want, "after SIGKILL");
    let views = simple_column(&client, "SELECT viewname FROM pg_views ORDER BY 1").await;
    assert_eq!(
        views,
        [
            Some("eu_hosts".to_owned()),
            Some("usage_by_site".to_owned())
        ]
    );
    let hosts = simple_column(&client, "SELECT h FROM eu_hosts ORDER BY h").await;
    assert_eq!(
        hosts,
        [
            Some("a".to_owned()),
            Some("a".to_owned()),
            Some("b".to_owned())
        ]
    );
    drop(client);
    server.stop();
}

/// The databases `pg_database` lists.
async fn database_names(client: &Client) -> Vec<Option<String>> {
    simple_column(client, "SELECT datname FROM pg_database ORDER BY 1").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_are_created_dropped_and_survive_restart_and_crash() {
    let server = Server::start("");
    let admin = connect(&server, "rusts").await;
    admin
        .batch_execute("CREATE DATABASE empty_one")
        .await
        .expect("create");
    admin
        .batch_execute("CREATE DATABASE doomed")
        .await
        .expect("create");
    let doomed = connect(&server, "doomed").await;
    doomed
        .batch_execute(
            "CREATE TABLE sites (id int PRIMARY KEY, name text); INSERT INTO sites VALUES (1, 'a')",
        )
        .await
        .expect("plain table");
    let (status, body) = post(&server.url("/write?db=doomed"), &[], LINES.as_bytes());
    assert_eq!(status, 204, "{body}");
    let (status, body) = post(&server.url("/write?db=written"), &[], LINES.as_bytes());
    assert_eq!(status, 204, "{body}");
    let all = ["doomed", "empty_one", "rusts", "written"].map(|name| Some(name.to_owned()));
    assert_eq!(database_names(&admin).await, all);
    drop((admin, doomed));

    // A clean restart keeps the database made without data.
    let stopped = server.stop();
    let server = Server::start_in(&stopped.data_dir, "");
    let admin = connect(&server, "rusts").await;
    assert_eq!(database_names(&admin).await, all);
    admin
        .batch_execute("DROP DATABASE doomed")
        .await
        .expect("drop");
    let doomed = connect(&server, "doomed").await;
    let error = doomed
        .batch_execute("SELECT * FROM sites")
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("42P01"), "{error:?}");
    let error = doomed.batch_execute("SELECT * FROM cpu").await.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("42P01"), "{error:?}");
    drop((admin, doomed));

    // After a crash the WAL replays both the creation and the drop.
    let data_dir = server.data_dir.clone();
    server.kill();
    let server = Server::start_in(&data_dir, "");
    let admin = connect(&server, "rusts").await;
    let left = ["empty_one", "rusts", "written"].map(|name| Some(name.to_owned()));
    assert_eq!(database_names(&admin).await, left);
    let written = connect(&server, "written").await;
    let count = simple_column(&written, "SELECT count(*) FROM cpu").await;
    assert_eq!(count, [Some("4".to_owned())]);
}
