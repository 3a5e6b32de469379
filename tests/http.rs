//! The HTTP API of the real binary: every endpoint and status code, gzip, precision,
//! partial writes, type conflicts, body limits and restarts. Written data is verified with
//! the storage scan API on the stopped server's data directory (there is no query endpoint
//! yet, and a test-only one would be mistaken for one).

mod common;

use std::io::Write as _;

use common::{Server, post, stored_rows};

type Headers = &'static [(&'static str, &'static str)];

const SMALL_BODY_LIMIT: &str = "server:\n  max_body_size: 4096\n";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gzip_best(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn ping_health_ready_metrics_and_stats_answer() {
    let server = Server::start("");
    for method in ["GET", "HEAD"] {
        let response = ureq::request(method, &server.url("/ping")).call().unwrap();
        assert_eq!(response.status(), 204, "{method} /ping");
        assert_eq!(response.header("X-Influxdb-Version"), Some("1.8.10"));
        assert!(response.header("X-Influxdb-Build").is_some());
    }
    let health: String = ureq::get(&server.url("/health"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(health.contains("\"status\":\"pass\""), "{health}");
    let ready = ureq::get(&server.url("/ready"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(ready.contains("\"status\":\"ready\""), "{ready}");
    let (status, _) = post(&server.url("/write"), &[], b"cpu,host=a usage=1 1\n");
    assert_eq!(status, 204);
    let metrics = ureq::get(&server.url("/metrics")).call().unwrap();
    assert!(metrics.content_type().starts_with("text/plain"));
    let metrics = metrics.into_string().unwrap();
    for expected in [
        "rusts_points_written_total 1",
        "rusts_series 1",
        "rusts_http_requests_total{status=\"204\"}",
        "rusts_memtable_points 1",
        "rusts_wal_syncs_total",
        "rusts_flushes_total 0",
    ] {
        assert!(
            metrics.contains(expected),
            "metrics lack {expected:?}:\n{metrics}"
        );
    }
    let stats = ureq::get(&server.url("/stats"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(stats.contains("\"points_written\":1"), "{stats}");
    assert!(stats.contains("\"databases\":[\"rusts\"]"), "{stats}");
    server.stop();
}

#[test]
fn writes_land_with_precision_databases_and_gzip() {
    let server = Server::start("");
    let cases: [(&str, Headers, Vec<u8>); 5] = [
        (
            "/write?precision=s",
            &[],
            b"cpu,host=s usage=1 2\n".to_vec(),
        ),
        (
            "/write?precision=ms&db=rusts&rp=autogen&u=x&p=y",
            &[],
            b"cpu,host=ms usage=2 3\n".to_vec(),
        ),
        (
            "/write?precision=h",
            &[],
            b"cpu,host=h usage=3 1\n".to_vec(),
        ),
        (
            "/write",
            &[("Content-Encoding", "gzip")],
            gzip(b"cpu,host=gz usage=4 5\n"),
        ),
        (
            "/api/v2/write?bucket=telegraf&org=o&precision=us",
            &[("Authorization", "Token t")],
            b"mem,host=v2 used=5i 7\n".to_vec(),
        ),
    ];
    for (path, headers, body) in cases {
        let (status, text) = post(&server.url(path), headers, &body);
        assert_eq!(status, 204, "{path}: {text}");
    }
    let (status, text) = post(&server.url("/api/v2/write?org=o"), &[], b"m f=1 1\n");
    assert_eq!(
        (status, text.contains("missing bucket")),
        (400, true),
        "{text}"
    );
    let (status, text) = post(&server.url("/write?precision=days"), &[], b"m f=1 1\n");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid precision \\\"days\\\""), "{text}");
    let stopped = server.stop();
    let mut cpu = stored_rows(&stopped.data_dir, "rusts", "cpu");
    cpu.sort();
    let mut expected = vec![
        "time=2000000000 host=\"s\" usage=1",
        "time=3000000 host=\"ms\" usage=2",
        "time=3600000000000 host=\"h\" usage=3",
        "time=5 host=\"gz\" usage=4",
    ];
    expected.sort();
    assert_eq!(cpu, expected);
    let mem = stored_rows(&stopped.data_dir, "telegraf", "mem");
    assert_eq!(mem, vec!["time=7000 host=\"v2\" used=5i"]);
}

#[test]
fn partial_writes_keep_good_lines_and_name_the_bad_ones() {
    let server = Server::start("");
    let (status, _) = post(&server.url("/write"), &[], b"cpu,host=a usage=1 1\n");
    assert_eq!(status, 204);
    let body = b"cpu,host=b usage=2 2\ncpu,host=c usage=oops 3\ncpu,host=d usage=4i 4\n# a comment\n\ncpu,host=e usage=5 5\n";
    let (status, text) = post(&server.url("/write"), &[], body);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("partial write: line 2:"), "{text}");
    let conflict = "line 3: field type conflict: measurement cpu, field usage is float, \
                    the write offers integer";
    assert!(text.contains(conflict), "{text}");
    assert!(text.contains("dropped=2"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        json["error"].as_str().unwrap().starts_with("partial write"),
        "InfluxDB's shape"
    );
    let stopped = server.stop();
    let mut hosts: Vec<String> = stored_rows(&stopped.data_dir, "rusts", "cpu")
        .iter()
        .map(|row| row.split_whitespace().nth(1).unwrap().to_owned())
        .collect();
    hosts.sort();
    assert_eq!(hosts, vec!["host=\"a\"", "host=\"b\"", "host=\"e\""]);
}

#[test]
fn body_limit_applies_to_plain_and_decoded_gzip_bodies() {
    let server = Server::start(SMALL_BODY_LIMIT);
    let line = "cpu,host=a usage=1 1\n";
    let at_limit: String = line.repeat(4096 / line.len());
    assert_eq!(post(&server.url("/write"), &[], at_limit.as_bytes()).0, 204);
    let over = line.repeat(4096 / line.len() + 1);
    let (status, text) = post(&server.url("/write"), &[], over.as_bytes());
    assert_eq!(status, 413, "{text}");
    // A gzip bomb: a tiny compressed body that decodes past the limit.
    let bomb = gzip_best(&vec![b'#'; 3 << 20]);
    assert!(
        bomb.len() < 4096,
        "the bomb is small on the wire ({} bytes)",
        bomb.len()
    );
    let (status, text) = post(
        &server.url("/write"),
        &[("Content-Encoding", "gzip")],
        &bomb,
    );
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("exceeds 4096 bytes"), "{text}");
    let (status, _) = post(
        &server.url("/write"),
        &[("Content-Encoding", "gzip")],
        b"not gzip",
    );
    assert_eq!(status, 400);
    server.stop();
}

#[test]
fn data_survives_clean_restart_and_sigkill() {
    let server = Server::start("storage:\n  wal_durability: every_write\n");
    let data_dir = server.data_dir.clone();
    assert_eq!(
        post(&server.url("/write"), &[], b"cpu,host=a usage=1 1\n").0,
        204
    );
    // Keeps the data directory until the end of the test.
    let first = server.stop();
    assert!(
        first.log.iter().any(|l| l.contains("SIGTERM received")),
        "{:#?}",
        first.log
    );
    let server = Server::start_in(&data_dir, "storage:\n  wal_durability: every_write\n");
    assert_eq!(
        post(&server.url("/write"), &[], b"cpu,host=b usage=2 2\n").0,
        204
    );
    server.kill();
    let server = Server::start_in(&data_dir, "");
    server.stop();
    let mut rows = stored_rows(&data_dir, "rusts", "cpu");
    rows.sort();
    assert_eq!(
        rows,
        vec!["time=1 host=\"a\" usage=1", "time=2 host=\"b\" usage=2"]
    );
}

#[test]
fn bad_configuration_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yml");
    std::fs::write(&config, "server:\n  prot: 1\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rusts"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.yml") && stderr.contains("unknown field `prot`"),
        "{stderr}"
    );
    let generated = dir.path().join("generated.yml");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_rusts"))
        .args(["--generate-config", "--config"])
        .arg(&generated)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&generated).unwrap(),
        include_str!("../rusts.yml")
    );
}

#[test]
fn sql_over_http_answers_json_csv_and_arrow_with_postgres_errors() {
    let server = Server::start("");
    let lines =
        "cpu,host=a usage=1.5 1700000000000000000\ncpu,host=b usage=2.5 1700000000000000000\n";
    let (status, body) = post(&server.url("/write?db=metrics"), &[], lines.as_bytes());
    assert_eq!(status, 204, "{body}");
    let query = "SELECT host, usage, time FROM cpu ORDER BY host";

    // Query in the body, database in the parameters; JSON by default.
    let (status, body) = post(&server.url("/sql?db=metrics"), &[], query.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        r#"[{"host":"a","usage":1.5,"time":"2023-11-14T22:13:20Z"},{"host":"b","usage":2.5,"time":"2023-11-14T22:13:20Z"}]"#
    );
    // InfluxDB 3's endpoint with a JSON body and CSV by format.
    let request = serde_json::json!({"db": "metrics", "q": query, "format": "csv"});
    let (status, body) = post(
        &server.url("/api/v3/query_sql"),
        &[("Content-Type", "application/json")],
        request.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        "host,usage,time\na,1.5,2023-11-14T22:13:20Z\nb,2.5,2023-11-14T22:13:20Z\n"
    );
    // Arrow IPC stream by Accept: the continuation marker starts the stream.
    let response = ureq::post(&server.url("/sql?db=metrics"))
        .set("Accept", "application/vnd.apache.arrow.stream")
        .send_bytes(query.as_bytes())
        .expect("arrow answer");
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.apache.arrow.stream")
    );
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).unwrap();
    assert_eq!(&bytes[..4], &[0xff, 0xff, 0xff, 0xff]);
    // GET with q, JSON lines.
    let body = ureq::get(&server.url("/sql"))
        .query("db", "metrics")
        .query("q", "SELECT count(*) AS n FROM cpu")
        .query("format", "jsonl")
        .call()
        .expect("get")
        .into_string()
        .unwrap();
    assert_eq!(body, "{\"n\":2}\n");
}

#[test]
fn sql_over_http_errors_carry_sqlstates_and_ddl_dml_work() {
    let server = Server::start("");
    let lines = "cpu,host=a usage=1.5 1700000000000000000\n";
    let (status, body) = post(&server.url("/write?db=metrics"), &[], lines.as_bytes());
    assert_eq!(status, 204, "{body}");
    // Errors: the SQLSTATE and Postgres's message, with an HTTP status for their class.
    let (status, body) = post(&server.url("/sql?db=metrics"), &[], b"SELECT * FROM nope");
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains(r#"relation \"nope\" does not exist (SQLSTATE 42P01)"#),
        "{body}"
    );
    let (status, body) = post(&server.url("/sql"), &[], b"SELECT 1/0");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("division by zero (SQLSTATE 22012)"), "{body}");
    let (status, body) = post(&server.url("/sql"), &[], b"SELEC 1");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("SQLSTATE 42601"), "{body}");
    let (status, body) = post(&server.url("/sql"), &[], b"");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no query"), "{body}");
    let (status, _) = post(&server.url("/sql?format=xml"), &[], b"SELECT 1");
    assert_eq!(status, 400);

    // DDL and DML work too, and are the same data the wire sees.
    let (status, body) = post(
        &server.url("/sql?db=metrics"),
        &[],
        b"INSERT INTO cpu (time, host, usage) VALUES ('2023-11-14T22:13:30Z', 'c', 3.5)",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"[{"count":1}]"#);
    let (status, body) = post(
        &server.url("/sql?db=metrics"),
        &[],
        b"CREATE TABLE cpu (time timestamptz)",
    );
    assert_eq!(status, 409, "{body}");
}
