//! Extended query protocol: inferred parameters, binary and text formats for every type we

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions fail loudly on purpose.
//! return, portals with row limits, cancel and statement_timeout.

mod common;

use std::error::Error;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use common::{TestServer, sqlstate};
use rust_decimal::Decimal;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{NoTls, SimpleQueryMessage};

/// Postgres `interval` in its binary form; tokio-postgres has no type for it.
#[derive(Debug, PartialEq)]
struct Interval {
    microseconds: i64,
    days: i32,
    months: i32,
}

impl<'a> FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let raw: [u8; 16] = raw.try_into()?;
        Ok(Self {
            microseconds: i64::from_be_bytes(raw[0..8].try_into()?),
            days: i32::from_be_bytes(raw[8..12].try_into()?),
            months: i32::from_be_bytes(raw[12..16].try_into()?),
        })
    }

    fn accepts(pg_type: &Type) -> bool {
        *pg_type == Type::INTERVAL
    }
}

const ALL_TYPES: &str = "SELECT true AS b, CAST(1 AS SMALLINT) AS i2, CAST(2 AS INT) AS i4, \
    CAST(3 AS BIGINT) AS i8, CAST(1.5 AS REAL) AS f4, CAST(2.5 AS DOUBLE) AS f8, \
    CAST(12.34 AS DECIMAL(10, 2)) AS n, 'text' AS t, CAST('vc' AS VARCHAR) AS vc, \
    arrow_cast('large', 'LargeUtf8') AS lt, decode('0102ff', 'hex') AS by, \
    DATE '2024-01-02' AS d, TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, \
    '2024-01-02 03:04:05.123456+00'::timestamptz AS tstz, \
    INTERVAL '1 day 2 hours' AS iv, make_array(1, 2, 3) AS ints, make_array('x', 'y') AS texts, \
    NULL AS nothing, CAST(NULL AS INTERVAL) AS no_interval";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_results_for_every_type() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let row = client.query_one(ALL_TYPES, &[]).await.unwrap();
    let types: Vec<Type> = row
        .columns()
        .iter()
        .map(|column| column.type_().clone())
        .collect();
    assert_eq!(
        types,
        vec![
            Type::BOOL,
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::NUMERIC,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
            Type::DATE,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::INTERVAL,
            Type::INT8_ARRAY,
            Type::TEXT_ARRAY,
            Type::TEXT,
            Type::INTERVAL,
        ]
    );
    assert!(row.get::<_, bool>("b"));
    assert_eq!(row.get::<_, i16>("i2"), 1);
    assert_eq!(row.get::<_, i32>("i4"), 2);
    assert_eq!(row.get::<_, i64>("i8"), 3);
    assert_eq!(row.get::<_, f32>("f4"), 1.5);
    assert_eq!(row.get::<_, f64>("f8"), 2.5);
    assert_eq!(row.get::<_, Decimal>("n"), Decimal::new(1234, 2));
    assert_eq!(row.get::<_, String>("t"), "text");
    assert_eq!(row.get::<_, String>("vc"), "vc");
    assert_eq!(row.get::<_, String>("lt"), "large");
    assert_eq!(row.get::<_, Vec<u8>>("by"), vec![1, 2, 255]);
    assert_eq!(
        row.get::<_, NaiveDate>("d"),
        NaiveDate::from_ymd_opt(2024, 1, 2).unwrap()
    );
    let timestamp = NaiveDate::from_ymd_opt(2024, 1, 2)
        .unwrap()
        .and_hms_micro_opt(3, 4, 5, 123_456)
        .unwrap();
    assert_eq!(row.get::<_, NaiveDateTime>("ts"), timestamp);
    assert_eq!(row.get::<_, DateTime<Utc>>("tstz"), timestamp.and_utc());
    let interval = Interval {
        microseconds: 7_200_000_000,
        days: 1,
        months: 0,
    };
    assert_eq!(row.get::<_, Interval>("iv"), interval);
    assert_eq!(row.get::<_, Vec<i64>>("ints"), vec![1, 2, 3]);
    assert_eq!(row.get::<_, Vec<String>>("texts"), vec!["x", "y"]);
    assert_eq!(row.get::<_, Option<String>>("nothing"), None);
    assert_eq!(row.get::<_, Option<Interval>>("no_interval"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_results_for_every_type() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let messages = client.simple_query(ALL_TYPES).await.unwrap();
    let Some(SimpleQueryMessage::Row(row)) = messages
        .iter()
        .find(|m| matches!(m, SimpleQueryMessage::Row(_)))
    else {
        panic!("no row in {messages:?}");
    };
    let values: Vec<Option<&str>> = (0..row.len()).map(|index| row.get(index)).collect();
    assert_eq!(
        values,
        vec![
            Some("t"),
            Some("1"),
            Some("2"),
            Some("3"),
            Some("1.5"),
            Some("2.5"),
            Some("12.34"),
            Some("text"),
            Some("vc"),
            Some("large"),
            Some("\\x0102ff"),
            Some("2024-01-02"),
            Some("2024-01-02 03:04:05.123456"),
            Some("2024-01-02 03:04:05.123456+00"),
            Some("1 day 02:00:00"),
            Some("{1,2,3}"),
            Some("{x,y}"),
            None,
            None,
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_types_are_inferred_by_datafusion() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let statement = client
        .prepare("SELECT host FROM metrics WHERE value > $1 ORDER BY host")
        .await
        .unwrap();
    assert_eq!(statement.params(), &[Type::FLOAT8]);
    let rows = client.query(&statement, &[&2.0f64]).await.unwrap();
    let hosts: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(hosts, vec!["b"]);

    let statement = client
        .prepare("SELECT count(*) FROM metrics WHERE host = $1 OR at >= $2")
        .await
        .unwrap();
    assert_eq!(statement.params(), &[Type::TEXT, Type::TIMESTAMP]);
    let after = NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(0, 1, 0)
        .unwrap();
    let count: i64 = client
        .query_one(&statement, &[&"a", &after])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 3);

    // A declared type wins when DataFusion has nothing to infer from.
    let statement = client
        .prepare_typed("SELECT $1 + 1", &[Type::INT8])
        .await
        .unwrap();
    let sum: i64 = client
        .query_one(&statement, &[&41i64])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sum, 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_are_typed_by_declaration_cast_and_limit() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    // As in Postgres: a declared type types a bare `$1` (and its result column), a cast
    // types its operand, and LIMIT / OFFSET take int8.
    let statement = client
        .prepare_typed("SELECT $1 AS i, $2 AS t", &[Type::INT4, Type::TEXT])
        .await
        .unwrap();
    assert_eq!(statement.params(), &[Type::INT4, Type::TEXT]);
    let columns: Vec<Type> = statement
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    assert_eq!(columns, [Type::INT4, Type::TEXT]);
    let row = client.query_one(&statement, &[&7i32, &"x"]).await.unwrap();
    assert_eq!(
        (row.get::<_, i32>(0), row.get::<_, String>(1)),
        (7, "x".into())
    );
    let statement = client
        .prepare("SELECT $1::int8 AS i, $2::float8 AS f")
        .await
        .unwrap();
    assert_eq!(statement.params(), &[Type::INT8, Type::FLOAT8]);
    let row = client
        .query_one(&statement, &[&-5i64, &0.25f64])
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, f64>(1)), (-5, 0.25));
    let statement = client
        .prepare("SELECT host FROM metrics ORDER BY host LIMIT $1 OFFSET $2")
        .await
        .unwrap();
    assert_eq!(statement.params(), &[Type::INT8, Type::INT8]);
    let rows = client.query(&statement, &[&1i64, &1i64]).await.unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_parameters_and_parameters_in_dml() {
    let server = TestServer::start().await;
    let client = server.connect().await;

    // NULL parameters, and parameters in DML.
    client
        .batch_execute("CREATE TABLE params_t (a INT, b VARCHAR)")
        .await
        .unwrap();
    let insert = client
        .prepare("INSERT INTO params_t VALUES ($1, $2)")
        .await
        .unwrap();
    assert_eq!(insert.params(), &[Type::INT4, Type::TEXT]);
    assert!(insert.columns().is_empty(), "INSERT describes as NoData");
    assert_eq!(client.execute(&insert, &[&5i32, &"five"]).await.unwrap(), 1);
    assert_eq!(
        client
            .execute(&insert, &[&None::<i32>, &None::<&str>])
            .await
            .unwrap(),
        1
    );
    let nulls: i64 = client
        .query_one("SELECT count(*) FROM params_t WHERE a IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(nulls, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_with_row_limit_suspends_and_resumes() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    let transaction = client.transaction().await.unwrap();
    let statement = transaction
        .prepare("SELECT host FROM metrics ORDER BY host")
        .await
        .unwrap();
    let portal = transaction.bind(&statement, &[]).await.unwrap();
    let mut fetched = Vec::new();
    for expected in [2, 1, 0] {
        let rows = transaction.query_portal(&portal, 2).await.unwrap();
        assert_eq!(rows.len(), expected);
        fetched.extend(rows.iter().map(|row| row.get::<_, String>(0)));
    }
    assert_eq!(fetched, vec!["a", "b", "c"]);

    // A large result is fetched piecewise without running the query to the end first.
    let statement = transaction
        .prepare("SELECT value FROM generate_series(1, 10000000) AS t(value)")
        .await
        .unwrap();
    let portal = transaction.bind(&statement, &[]).await.unwrap();
    let mut total = 0;
    for _ in 0..5 {
        total += transaction.query_portal(&portal, 1000).await.unwrap().len();
    }
    assert_eq!(total, 5000);
    transaction.rollback().await.unwrap();
}

const SLOW_QUERY: &str =
    "SELECT count(*) FROM generate_series(1, 1000000000000) AS t(value) WHERE value % 7 = 3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_a_running_query() {
    let server = TestServer::start().await;
    for extended in [false, true] {
        let client = server.connect().await;
        let token = client.cancel_token();
        let running = tokio::spawn(async move {
            let result = if extended {
                client.query(SLOW_QUERY, &[]).await.map(|_| ())
            } else {
                client.simple_query(SLOW_QUERY).await.map(|_| ())
            };
            (client, result)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(NoTls).await.unwrap();
        let (client, result) = tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .unwrap()
            .unwrap();
        let error = result.unwrap_err();
        assert_eq!(sqlstate(&error), "57014", "{error:?}");
        let one: i64 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1, "the connection is usable after a cancel");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_cancels_with_57014() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("SET statement_timeout = '300ms'")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let error = client.simple_query(SLOW_QUERY).await.unwrap_err();
    assert_eq!(sqlstate(&error), "57014");
    assert!(
        error
            .as_db_error()
            .unwrap()
            .message()
            .contains("statement timeout")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let error = client.query(SLOW_QUERY, &[]).await.unwrap_err();
    assert_eq!(sqlstate(&error), "57014");
    client
        .batch_execute("SET statement_timeout = 0")
        .await
        .unwrap();
    assert_eq!(
        client
            .query_one("SELECT 2::bigint", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_statements_work_through_the_extended_protocol() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .execute("SET TimeZone = 'Asia/Tokyo'", &[])
        .await
        .unwrap();
    let zone: String = client.query_one("SHOW TimeZone", &[]).await.unwrap().get(0);
    assert_eq!(zone, "Asia/Tokyo");
    let setting: String = client
        .query_one("SELECT current_setting('timezone')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(setting, "Asia/Tokyo");
    client.execute("BEGIN", &[]).await.unwrap();
    client.execute("COMMIT", &[]).await.unwrap();
    client.execute("DISCARD ALL", &[]).await.unwrap();
    let zone: String = client.query_one("SHOW TimeZone", &[]).await.unwrap().get(0);
    assert_eq!(zone, "UTC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statement_limit_and_one_past_it() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    // tokio-postgres names each prepared statement and closes it when dropped, so keep them.
    let mut statements = Vec::new();
    for _ in 0..1024 {
        statements.push(client.prepare("SELECT 1").await.unwrap());
    }
    let error = client.prepare("SELECT 1").await.unwrap_err();
    assert_eq!(sqlstate(&error), "54000");
    statements.pop();
    tokio::task::yield_now().await;
    // Closing one frees a slot (the Close is sent with the next request).
    let again = client.prepare("SELECT 2").await;
    assert!(again.is_ok(), "{again:?}");
}
