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
