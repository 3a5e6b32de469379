//! Simple query protocol, session statements, errors, and startup, against a real listener.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions fail loudly on purpose.

mod common;

use common::raw::{GSS_ENCRYPTION_REQUEST, RawClient, SSL_REQUEST, status, tags};
use common::{TestServer, sqlstate};
use tokio_postgres::SimpleQueryMessage;

fn rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|index| row.get(index).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_statements_get_postgres_command_tags() {
    let server = TestServer::start().await;
    let mut raw =
        RawClient::connect(server.port, &[("user", "tester"), ("database", "rusts")]).await;
    let messages = raw
        .query(
            "CREATE TABLE tags_t (a INT, b VARCHAR); \
             INSERT INTO tags_t VALUES (1, 'x'), (2, 'y'); \
             SELECT * FROM tags_t ORDER BY a; \
             SELECT 1 WHERE false; \
             SET extra_float_digits = 3; \
             SHOW extra_float_digits; \
             BEGIN; COMMIT; \
             DROP TABLE tags_t",
        )
        .await;
    assert_eq!(
        tags(&messages),
        vec![
            "CREATE TABLE",
            "INSERT 0 2",
            "SELECT 2",
            "SELECT 0",
            "SET",
            "SHOW",
            "BEGIN",
            "COMMIT",
            "DROP TABLE"
        ]
    );
    assert_eq!(status(&messages), b'I');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_query_and_error_then_ready_again() {
    let server = TestServer::start().await;
    let mut raw = RawClient::connect(server.port, &[("user", "tester")]).await;
    let messages = raw.query("").await;
    let kinds: Vec<u8> = messages.iter().map(|message| message.kind).collect();
    assert_eq!(kinds, vec![b'I', b'Z']);
    let messages = raw.query(" ; ").await;
    assert_eq!(messages[0].kind, b'I');

    // The failing statement stops the rest of the message, as in Postgres.
    let messages = raw.query("SELECT 1; SELECT * FROM nope; SELECT 2").await;
    assert_eq!(tags(&messages), vec!["SELECT 1"]);
    let error = messages
        .iter()
        .find(|message| message.kind == b'E')
        .unwrap();
    assert_eq!(error.sqlstate(), "42P01");
    let messages = raw.query("SELECT 3").await;
    assert_eq!(tags(&messages), vec!["SELECT 1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gss_and_ssl_encryption_are_declined_then_startup_proceeds() {
    let server = TestServer::start().await;
    let parameters = [("user", "tester")];
    let requests = [GSS_ENCRYPTION_REQUEST, SSL_REQUEST];
    let mut raw = RawClient::connect_negotiating(server.port, &parameters, &requests).await;
    assert_eq!(raw.startup.first().map(|message| message.kind), Some(b'R'));
    assert_eq!(tags(&raw.query("SELECT 1").await), vec!["SELECT 1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_reports_parameters_and_applies_options() {
    let server = TestServer::start().await;
    let parameters = [
        ("user", "tester"),
        ("database", "rusts"),
        ("application_name", "raw-test"),
        ("options", "-c statement_timeout=5s --DateStyle=German"),
    ];
    let mut raw = RawClient::connect(server.port, &parameters).await;
    let reported: Vec<(String, String)> = raw
        .startup
        .iter()
        .filter(|message| message.kind == b'S')
        .map(|message| message.parameter())
        .collect();
    let value = |name: &str| {
        reported
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(value("server_version").as_deref(), Some("15.0"));
    assert_eq!(value("server_encoding").as_deref(), Some("UTF8"));
    assert_eq!(value("client_encoding").as_deref(), Some("UTF8"));
    assert_eq!(value("DateStyle").as_deref(), Some("German, MDY"));
    assert_eq!(value("TimeZone").as_deref(), Some("UTC"));
    assert_eq!(value("integer_datetimes").as_deref(), Some("on"));
    assert_eq!(value("standard_conforming_strings").as_deref(), Some("on"));
    assert_eq!(value("application_name").as_deref(), Some("raw-test"));
    assert!(
        raw.startup.iter().any(|message| message.kind == b'K'),
        "BackendKeyData"
    );

    let messages = raw.query("SHOW statement_timeout").await;
    let data_row = messages
        .iter()
        .find(|message| message.kind == b'D')
        .unwrap();
    assert!(data_row.body.ends_with(b"5s"), "{data_row:?}");

    // SET of a reported parameter sends ParameterStatus; RESET returns to the startup value.
    let messages = raw.query("SET TIME ZONE 'Europe/Berlin'").await;
    let changed: Vec<_> = messages
        .iter()
        .filter(|message| message.kind == b'S')
        .map(|message| message.parameter())
        .collect();
    assert_eq!(
        changed,
        vec![("TimeZone".to_owned(), "Europe/Berlin".to_owned())]
    );
    raw.query("RESET statement_timeout").await;
    let messages = raw.query("SHOW statement_timeout").await;
    let data_row = messages
        .iter()
        .find(|message| message.kind == b'D')
        .unwrap();
    assert!(data_row.body.ends_with(b"5s"), "{data_row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_sqlstate() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let cases = [
        ("SELEC 1", "42601"),
        ("SELECT * FROM nope", "42P01"),
        ("SELECT nope FROM metrics", "42703"),
        ("SELECT nope_function(1)", "42883"),
        ("SELECT 'abc'::int", "22P02"),
        ("SELECT 1 / 0", "22012"),
        ("SET nope = 1", "42704"),
        ("SET server_version = '16'", "55P02"),
        ("SET TimeZone = 'Mars/Olympus'", "22023"),
        ("ROLLBACK TO SAVEPOINT a", "0A000"),
        ("CREATE TABLE metrics (a INT)", "42P07"),
        ("DEALLOCATE nope", "26000"),
    ];
    for (sql, expected) in cases {
        let error = client.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&error), expected, "{sql}: {error:?}");
        // The same statements through the extended protocol.
        let error = client.query(sql, &[]).await.unwrap_err();
        assert_eq!(sqlstate(&error), expected, "{sql} (extended): {error:?}");
    }
    let rows = rows(&client.simple_query("SELECT 42").await.unwrap());
    assert_eq!(rows, vec![vec![Some("42".to_owned())]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_show_reset_and_setting_functions() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("SET TimeZone TO 'America/New_York'; SET statement_timeout = 1500")
        .await
        .unwrap();
    let shown = rows(
        &client
            .simple_query("SHOW timezone; SHOW statement_timeout")
            .await
            .unwrap(),
    );
    assert_eq!(
        shown,
        vec![
            vec![Some("America/New_York".to_owned())],
            vec![Some("1500ms".to_owned())]
        ]
    );
    let all = rows(&client.simple_query("SHOW ALL").await.unwrap());
    assert!(
        all.iter().any(|row| row[0].as_deref() == Some("DateStyle")),
        "{all:?}"
    );

    let value = rows(
        &client
            .simple_query("SELECT current_setting('TimeZone')")
            .await
            .unwrap(),
    );
    assert_eq!(value[0][0].as_deref(), Some("America/New_York"));
    let value = rows(
        &client
            .simple_query("SELECT set_config('application_name', 'renamed', false)")
            .await
            .unwrap(),
    );
    assert_eq!(value[0][0].as_deref(), Some("renamed"));
    let value = rows(&client.simple_query("SHOW application_name").await.unwrap());
    assert_eq!(value[0][0].as_deref(), Some("renamed"));
    let missing = client
        .simple_query("SELECT current_setting('nope')")
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&missing), "42704");
    let missing = rows(
        &client
            .simple_query("SELECT current_setting('nope', true)")
            .await
            .unwrap(),
    );
    assert_eq!(missing[0][0], None);

    // now() follows the session time zone; timestamptz text shows its offset.
    let now = rows(&client.simple_query("SELECT now()").await.unwrap());
    let now = now[0][0].clone().unwrap();
    assert!(now.ends_with("-05") || now.ends_with("-04"), "{now}");

    client.batch_execute("RESET ALL").await.unwrap();
    let shown = rows(&client.simple_query("SHOW TIME ZONE").await.unwrap());
    assert_eq!(shown[0][0].as_deref(), Some("UTC"));
    client.batch_execute("DISCARD ALL; DEALLOCATE ALL; SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED").await.unwrap();
    let isolation = rows(
        &client
            .simple_query("SHOW transaction isolation level")
            .await
            .unwrap(),
    );
    assert_eq!(isolation[0][0].as_deref(), Some("read committed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_functions_answer_like_postgres() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let sql = "SELECT version(), current_database(), current_schema(), current_user, \
               session_user, pg_backend_pid() > 0, current_catalog";
    let values = rows(&client.simple_query(sql).await.unwrap());
    let values = &values[0];
    assert!(
        values[0]
            .as_deref()
            .unwrap()
            .starts_with("PostgreSQL 15.0 (RusTs "),
        "{values:?}"
    );
    assert_eq!(values[1].as_deref(), Some("rusts"));
    assert_eq!(values[2].as_deref(), Some("public"));
    assert_eq!(values[3].as_deref(), Some("tester"));
    assert_eq!(values[4].as_deref(), Some("tester"));
    assert_eq!(values[5].as_deref(), Some("t"));
    assert_eq!(values[6].as_deref(), Some("rusts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_status_tracks_begin_error_and_rollback() {
    let server = TestServer::start().await;
    let mut raw = RawClient::connect(server.port, &[("user", "tester")]).await;
    assert_eq!(status(&raw.query("BEGIN").await), b'T');
    assert_eq!(status(&raw.query("SELECT 1").await), b'T');
    assert_eq!(status(&raw.query("SELECT * FROM nope").await), b'E');
    let messages = raw.query("SELECT 1").await;
    assert_eq!(
        messages
            .iter()
            .find(|message| message.kind == b'E')
            .unwrap()
            .sqlstate(),
        "25P02"
    );
    let messages = raw.query("COMMIT").await;
    assert_eq!(tags(&messages), vec!["ROLLBACK"]);
    assert_eq!(status(&messages), b'I');

    let mut client = server.connect().await;
    client
        .batch_execute("CREATE TABLE tx_t (a INT)")
        .await
        .unwrap();
    let transaction = client.transaction().await.unwrap();
    transaction
        .execute("INSERT INTO tx_t VALUES (1)", &[])
        .await
        .unwrap();
    transaction.commit().await.unwrap();
    let count: i64 = client
        .query_one("SELECT count(*) FROM tx_t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_order_is_kept_within_one_message() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let messages = client
        .simple_query("CREATE TABLE order_t (a INT); SELECT count(*) FROM order_t; INSERT INTO order_t VALUES (1); SELECT count(*) FROM order_t")
        .await
        .unwrap();
    let counts = rows(&messages);
    assert_eq!(
        counts,
        vec![vec![Some("0".to_owned())], vec![Some("1".to_owned())]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_per_query_limit_and_one_past_it() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let at_limit = "SELECT 1;".repeat(1024);
    let messages = client.simple_query(&at_limit).await.unwrap();
    assert_eq!(rows(&messages).len(), 1024);
    let past_limit = "SELECT 1;".repeat(1025);
    let error = client.simple_query(&past_limit).await.unwrap_err();
    assert_eq!(sqlstate(&error), "54000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_and_one_past_it() {
    let options = rusts_wire::PgServerOptions {
        connections_max: 2,
        ..Default::default()
    };
    let server = TestServer::start_with(options).await;
    let first = server.connect().await;
    let second = server.connect().await;
    let refused = tokio_postgres::connect(&server.config(), tokio_postgres::NoTls).await;
    assert!(refused.is_err(), "third connection must be refused");
    drop(first);
    // The slot frees once the server notices the first connection closed.
    let mut third = None;
    for _ in 0..50 {
        if let Ok((client, connection)) =
            tokio_postgres::connect(&server.config(), tokio_postgres::NoTls).await
        {
            tokio::spawn(connection);
            third = Some(client);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let third = third.expect("a slot frees after a disconnect");
    for client in [&second, &third] {
        let one: i64 = client
            .query_one("SELECT 1::bigint", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(one, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_are_named_as_postgres_names_them() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let sql =
        "SELECT 1, count(*), max(metrics.value) AS top, '1'::int, host FROM metrics GROUP BY host";
    let statement = client.prepare(sql).await.unwrap();
    let names: Vec<&str> = statement
        .columns()
        .iter()
        .map(|column| column.name())
        .collect();
    assert_eq!(names, vec!["?column?", "count", "top", "int4", "host"]);
    let messages = client.simple_query(sql).await.unwrap();
    let Some(SimpleQueryMessage::RowDescription(columns)) = messages.first() else {
        panic!("no row description in {messages:?}");
    };
    let names: Vec<&str> = columns.iter().map(|column| column.name()).collect();
    assert_eq!(names, vec!["?column?", "count", "top", "int4", "host"]);
}
