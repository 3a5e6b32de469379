//! Starts the real `rusts` binary for integration tests: `127.0.0.1`, a free port, a temporary
//! data directory; reads the bound address from the startup log line; stops the server on
//! drop. `TEST_LOG=1` forwards the server's log to stderr.
#![allow(dead_code)]

#[path = "../../storage/examples/support/row_text.rs"]
mod row_text;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) http: String,
    /// The Postgres listener, `host:port`.
    pub(crate) pg: String,
    pub(crate) data_dir: PathBuf,
    _temporary: Option<tempfile::TempDir>,
    log: mpsc::Receiver<String>,
}

impl Server {
    /// Starts a server with `extra_config` appended to a generated configuration file.
    pub(crate) fn start(extra_config: &str) -> Self {
        let temporary = tempfile::tempdir().expect("temporary directory");
        let data_dir = temporary.path().join("data");
        let mut server = Self::start_in(&data_dir, extra_config);
        server._temporary = Some(temporary);
        server
    }

    /// Starts a server on an existing data directory (for restart tests).
    pub(crate) fn start_in(data_dir: &Path, extra_config: &str) -> Self {
        let config = data_dir.with_extension("yml");
        std::fs::create_dir_all(data_dir.parent().expect("parent")).expect("parent directory");
        std::fs::write(&config, extra_config).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rusts"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--pg-port",
                "0",
                "--config",
            ])
            .arg(&config)
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rusts");
        let (sender, log) = mpsc::channel();
        forward(child.stdout.take().expect("stdout"), sender.clone());
        forward(child.stderr.take().expect("stderr"), sender);
        let mut server = Self {
            child: Some(child),
            http: String::new(),
            pg: String::new(),
            data_dir: data_dir.to_owned(),
            _temporary: None,
            log,
        };
        (server.http, server.pg) = server.wait_for_addresses();
        server.wait_until_healthy();
        server
    }

    /// The HTTP URL and the Postgres `host:port` from the startup line.
    fn wait_for_addresses(&mut self) -> (String, String) {
        let value = |line: &str, key: &str| {
            let at = line.find(key)? + key.len();
            line[at..].split_whitespace().next().map(str::to_owned)
        };
        loop {
            let line = self
                .log
                .recv_timeout(Duration::from_secs(60))
                .expect("no startup line");
            if let (Some(http), Some(pg)) = (value(&line, "http="), value(&line, "postgres=")) {
                return (format!("http://{http}"), pg);
            }
        }
    }

    /// A `tokio-postgres` connection string for database `database`.
    pub(crate) fn pg_config(&self, database: &str) -> String {
        let (host, port) = self.pg.rsplit_once(':').expect("host:port");
        format!("host={host} port={port} user=rusts dbname={database}")
    }

    fn wait_until_healthy(&self) {
        for _ in 0..200 {
            if ureq::get(&format!("{}/health", self.http)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("server never became healthy");
    }

    /// Sends SIGTERM and waits for a clean exit. The result keeps the data directory.
    pub(crate) fn stop(mut self) -> Stopped {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(status.expect("kill").success());
        let exit = child.wait().expect("wait");
        let log: Vec<String> = self.log.try_iter().collect();
        assert!(exit.success(), "server exited with {exit}: {log:#?}");
        Stopped {
            log,
            data_dir: self.data_dir.clone(),
            _temporary: self._temporary.take(),
        }
    }

    /// Kills the server with SIGKILL (no flush).
    pub(crate) fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill");
        child.wait().expect("wait");
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.http)
    }
}

/// A server stopped with SIGTERM: its log and its data directory (kept until this drops).
pub(crate) struct Stopped {
    pub(crate) log: Vec<String>,
    pub(crate) data_dir: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn forward(stream: impl Read + Send + 'static, sender: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if std::env::var_os("TEST_LOG").is_some() {
                eprintln!("[rusts] {line}");
            }
            if sender.send(line).is_err() {
                break;
            }
        }
    });
}

/// POSTs `body` and returns (status, body text).
pub(crate) fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut request = ureq::post(url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    match request.send_bytes(body) {
        Ok(response) => (
            response.status(),
            response.into_string().unwrap_or_default(),
        ),
        Err(ureq::Error::Status(status, response)) => {
            (status, response.into_string().unwrap_or_default())
        }
        Err(error) => panic!("request failed: {error}"),
    }
}

/// Rows of `measurement` in `database`, read with the storage scan API from a stopped
/// server's data directory: (tag values joined, time) → fields as text.
pub(crate) fn stored_rows(data_dir: &Path, database: &str, measurement: &str) -> Vec<String> {
    let engine = rusts_storage::Engine::open(rusts_storage::StorageOptions {
        data_dir: data_dir.to_owned(),
        ..rusts_storage::StorageOptions::default()
    })
    .expect("open data directory");
    let name = format!("{database}\0{measurement}");
    let scan = match engine.scan(&rusts_storage::ScanRequest::new(&name)) {
        Ok(scan) => scan,
        Err(error) => {
            eprintln!(
                "scan of {name:?}: {error}; measurements: {:?}",
                engine.measurements()
            );
            return Vec::new();
        }
    };
    let mut rows = Vec::new();
    for batch in scan {
        let batch = batch.expect("batch");
        rows.extend((0..batch.num_rows()).map(|row| row_text::row_text(&batch, row)));
    }
    rows
}
