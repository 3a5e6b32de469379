#!/usr/bin/env python3
"""TSBS query benchmark: RusTs against PostgreSQL 15 and two ClickHouse engines, same run.

Method
------
Dataset. `dataset()` from `bench/ingest_http.py` generates TSBS `cpu-only` shaped line
protocol: HOSTS hosts with the 10 TSBS tags, 10 float fields (random walks, 2 decimals), one
row per host every 10 s for DAYS days ending now (100 hosts x 3 days = 2,592,000 rows). The
same lines are parsed once into a tab-separated file, so every system holds the same rows.

Systems, each started by this script on 127.0.0.1 in a temporary directory and stopped at the
end (also on failure):
  rusts       the binary given by --rusts; loaded with `POST /write?db=bench` in 5,000-line
              batches over 2 keep-alive connections; queried over the Postgres wire (psycopg 3).
              Settled = memtable flushed into segments (the default 60 s `max_age` flush).
  postgres    PostgreSQL 15 (Debian `postgresql`), a private cluster (initdb, run as user
              postgres); table cpu(time timestamptz, 10 text tags, 10 float8 fields) loaded
              with COPY, then `CREATE INDEX ON cpu (hostname, time)`; settled = VACUUM ANALYZE.
              shared_buffers 2GB, work_mem 64MB, the rest default (JIT and parallel
              workers included); queried with psycopg 3 like RusTs.
  clickhouse  ClickHouse 18.16 (Debian `clickhouse-server`) over HTTP: MergeTree PARTITION BY
              day ORDER BY (hostname, time), default LZ4, String tags; loaded with one
              `INSERT ... FORMAT TabSeparated`; settled = OPTIMIZE TABLE FINAL.
  chdb        ClickHouse 26.x in process (PyPI `chdb`): the same MergeTree layout with
              LowCardinality(String) tags, time CODEC(DoubleDelta, ZSTD), fields CODEC(ZSTD);
              loaded with INSERT ... SELECT FROM file(); settled = OPTIMIZE TABLE FINAL.

Queries: the TSBS devops set (single-groupby-1-1-1, single-groupby-5-1-12, cpu-max-all-8,
double-groupby-1, double-groupby-all, high-cpu-all, high-cpu-1, lastpoint,
groupby-orderby-limit) with TSBS's SQL for TimescaleDB (without a tags table; `date_trunc`
instead of `time_bucket`) for RusTs and PostgreSQL, and TSBS's SQL for ClickHouse for both
ClickHouse engines, except lastpoint, where TSBS's ClickHouse text (`SELECT DISTINCT(hostname),
*`) does not return one row per host, so ClickHouse gets `WHERE (hostname, time) IN (SELECT
hostname, max(time) ... GROUP BY hostname)`. Hosts and time windows are drawn once from
random.Random(--seed) and shared by every system; `SELECT *` is spelled out as the 21 columns
so that every system returns them in the same order.

Correctness: the first execution of every query on every system is compared with the first
system's (postgres when present): same row count, and after sorting, equal rows, with floats
equal to a relative 1e-9 and times compared in microseconds. A difference stops the run
(--keep-going records it and exits 1 at the end).

Timing: per query, for each system in turn: two warm-up executions, then --runs timed
executions; the median is reported. A timed execution ends when the whole result has reached
the client: psycopg `execute` (libpq has received every row; converting rows to Python objects
is not timed), the HTTP body read to its end for ClickHouse 18.16, the returned buffer for chdb
(in process: no network, no socket). Ratios: RusTs / PostgreSQL and RusTs / the faster ClickHouse
on that query; the issue's targets are < 1 and <= 2.

RusTs keeps a connection's plans by query text (wire/src/pg/plan_cache.rs), so its repeated
runs skip DataFusion's planning, as PostgreSQL's would with prepared statements (this client
does not prepare: prepare_threshold=None). The "planned" column times RusTs again with a
different comment in each run's text, so every run is planned; it is reported beside the
others, and its ratio to PostgreSQL too.

Load time is time to acknowledged data (RusTs: all writes answered 204; PostgreSQL: COPY and
index; ClickHouse: the INSERT), reported apart from settle time. Size on disk: RusTs data
directory (du), PostgreSQL pg_total_relation_size (heap, index, TOAST), ClickHouse active parts'
bytes_on_disk. Loads are not like for like (line protocol over HTTP against a bulk TSV copy).

usage: bench/query_tsbs.py --rusts /work/dev/bench-target/release/rusts [--hosts 100]
       [--days 3] [--runs 10] [--seed 4] [--skip-postgres] [--skip-clickhouse] [--skip-chdb]
       [--skip-rusts] [--explain] [--keep-going] [--json out.json]
"""
import argparse
import datetime
import http.client
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_http import FIELDS, dataset, free_port, send_all  # noqa: E402

TAGS = ["hostname", "region", "datacenter", "rack", "os", "arch", "team", "service",
        "service_version", "service_environment"]
COLUMNS = ["time"] + TAGS + FIELDS
INTERVAL_SECONDS = 10
BATCH_LINES = 5000
CONNECTIONS = 2
WARMUPS = 2
FLOAT_TOLERANCE = 1e-9
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
POSTGRES_BIN = "/usr/lib/postgresql/15/bin"
CLICKHOUSE_SERVER = "/usr/sbin/clickhouse-server"
QUERY_NAMES = ["single-groupby-1-1-1", "single-groupby-5-1-12", "cpu-max-all-8",
               "double-groupby-1", "double-groupby-all", "high-cpu-all", "high-cpu-1",
               "lastpoint", "groupby-orderby-limit"]


class BenchError(Exception):
    """A system failed to install, start, load or answer."""


# ---------------------------------------------------------------------------------------------
# Dataset


class Dataset:
    """The line-protocol batches and the same rows as a tab-separated file."""

    def __init__(self, hosts, days, directory):
        started = time.perf_counter()
        self.batches, self.points = dataset(hosts, days * 24, BATCH_LINES)
        self.hosts = hosts
        self.tsv_path = os.path.join(directory, "cpu.tsv")
        self.start_s, self.end_s = write_tsv(self.batches, self.tsv_path)
        self.seconds = time.perf_counter() - started

    def describe(self):
        size = sum(len(batch) for batch in self.batches)
        return (f"dataset: {self.points:,} rows ({self.hosts} hosts, "
                f"{format_time(self.start_s)} .. {format_time(self.end_s)} UTC), "
                f"{size / 1e6:.0f} MB of line protocol, "
                f"{os.path.getsize(self.tsv_path) / 1e6:.0f} MB of TSV, "
                f"generated in {self.seconds:.0f} s")


def format_time(seconds):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def write_tsv(batches, path):
    """Parses the generated line protocol into TSV (time as UTC text, tags, fields).

    Returns the data's time range [start, end) in seconds."""
    tag_prefix = {}
    time_text = {}
    start_s, end_s = None, None
    with open(path, "w", buffering=1 << 22) as out:
        for batch in batches:
            for line in batch.decode().splitlines():
                series, fields, timestamp = line.split(" ")
                prefix = tag_prefix.get(series)
                if prefix is None:
                    pairs = dict(pair.split("=", 1) for pair in series.split(",")[1:])
                    assert list(pairs) == TAGS, f"unexpected tags in {series}"
                    prefix = tag_prefix[series] = "\t".join(pairs[tag] for tag in TAGS)
                seconds = int(timestamp) // 1_000_000_000
                text = time_text.get(seconds)
                if text is None:
                    text = time_text[seconds] = format_time(seconds)
                    start_s = seconds if start_s is None else min(start_s, seconds)
                    end_s = seconds if end_s is None else max(end_s, seconds)
                values = [pair.split("=", 1) for pair in fields.split(",")]
                assert [name for name, _ in values] == FIELDS, f"unexpected fields: {fields}"
                out.write(f"{text}\t{prefix}\t" + "\t".join(v for _, v in values) + "\n")
    os.chmod(path, 0o644)
    return start_s, end_s + INTERVAL_SECONDS


# ---------------------------------------------------------------------------------------------
# Queries


def query_parameters(seed, data):
    """Random hosts and windows, TSBS style, drawn once for every system."""
    import random
    rng = random.Random(seed)

    def hosts(count):
        return [f"host_{index}" for index in sorted(rng.sample(range(data.hosts), count))]

    def window(hours):
        duration = hours * 3600
        latest = data.end_s - duration
        if latest < data.start_s:
            raise SystemExit(f"--days too small for a {hours} h window")
        start = rng.randrange(data.start_s, latest + 1)
        return start, start + duration

    return {
        "single-groupby-1-1-1": {"hosts": hosts(1), "window": window(1)},
        "single-groupby-5-1-12": {"hosts": hosts(5), "window": window(12)},
        "cpu-max-all-8": {"hosts": hosts(8), "window": window(8)},
        "double-groupby-1": {"window": window(12)},
        "double-groupby-all": {"window": window(12)},
        "high-cpu-all": {"window": window(12)},
        "high-cpu-1": {"hosts": hosts(1), "window": window(12)},
        "lastpoint": {},
        "groupby-orderby-limit": {"before": window(1)[1]},
    }


def host_clause(hosts):
    return "(" + " OR ".join(f"hostname = '{host}'" for host in hosts) + ")"


def aggregates(function, fields, prefix):
    return ", ".join(f"{function}({field}) AS {prefix}_{field}" for field in fields)


def postgres_sql(name, p):
    """TSBS's TimescaleDB queries (no tags table), for PostgreSQL and RusTs."""
    def at(seconds):
        return f"'{format_time(seconds)}+00'"

    columns = ", ".join(COLUMNS)
    if name.startswith("single-groupby") or name == "cpu-max-all-8":
        unit, fields = ("hour", FIELDS) if name == "cpu-max-all-8" else ("minute", FIELDS[:1])
        start, end = p["window"]
        return (f"SELECT date_trunc('{unit}', time) AS {unit}, {aggregates('max', fields, 'max')} "
                f"FROM cpu WHERE {host_clause(p['hosts'])} AND time >= {at(start)} "
                f"AND time < {at(end)} GROUP BY {unit} ORDER BY {unit} ASC")
    if name.startswith("double-groupby"):
        fields = FIELDS if name.endswith("all") else FIELDS[:1]
        start, end = p["window"]
        return (f"SELECT date_trunc('hour', time) AS hour, hostname, "
                f"{aggregates('avg', fields, 'mean')} FROM cpu "
                f"WHERE time >= {at(start)} AND time < {at(end)} "
                f"GROUP BY hour, hostname ORDER BY hour, hostname")
    if name.startswith("high-cpu"):
        start, end = p["window"]
        hosts = f" AND {host_clause(p['hosts'])}" if "hosts" in p else ""
        return (f"SELECT {columns} FROM cpu WHERE usage_user > 90.0 "
                f"AND time >= {at(start)} AND time < {at(end)}{hosts}")
    if name == "lastpoint":
        return f"SELECT DISTINCT ON (hostname) {columns} FROM cpu ORDER BY hostname, time DESC"
    if name == "groupby-orderby-limit":
        return (f"SELECT date_trunc('minute', time) AS minute, max(usage_user) FROM cpu "
                f"WHERE time < {at(p['before'])} GROUP BY minute ORDER BY minute DESC LIMIT 5")
    raise ValueError(name)


def clickhouse_sql(name, p):
    """TSBS's ClickHouse queries, valid for ClickHouse 18.16 and 26.x."""
    def at(seconds):
        return f"'{format_time(seconds)}'"

    columns = ", ".join(COLUMNS)
    if name.startswith("single-groupby") or name == "cpu-max-all-8":
        unit, fields = ("hour", FIELDS) if name == "cpu-max-all-8" else ("minute", FIELDS[:1])
        function = "toStartOfHour" if unit == "hour" else "toStartOfMinute"
        start, end = p["window"]
        return (f"SELECT {function}(time) AS {unit}, {aggregates('max', fields, 'max')} "
                f"FROM cpu WHERE {host_clause(p['hosts'])} AND (time >= {at(start)}) "
                f"AND (time < {at(end)}) GROUP BY {unit} ORDER BY {unit} ASC")
    if name.startswith("double-groupby"):
        fields = FIELDS if name.endswith("all") else FIELDS[:1]
        start, end = p["window"]
        return (f"SELECT toStartOfHour(time) AS hour, hostname, "
                f"{aggregates('avg', fields, 'mean')} FROM cpu "
                f"WHERE (time >= {at(start)}) AND (time < {at(end)}) "
                f"GROUP BY hour, hostname ORDER BY hour ASC, hostname")
    if name.startswith("high-cpu"):
        start, end = p["window"]
        hosts = f" AND {host_clause(p['hosts'])}" if "hosts" in p else ""
        return (f"SELECT {columns} FROM cpu PREWHERE (usage_user > 90.0) "
                f"AND (time >= {at(start)}) AND (time < {at(end)}){hosts}")
    if name == "lastpoint":
        return (f"SELECT {columns} FROM cpu WHERE (hostname, time) IN "
                f"(SELECT hostname, max(time) FROM cpu GROUP BY hostname) ORDER BY hostname")
    if name == "groupby-orderby-limit":
        return (f"SELECT toStartOfMinute(time) AS minute, max(usage_user) FROM cpu "
                f"WHERE time < {at(p['before'])} GROUP BY minute ORDER BY minute DESC LIMIT 5")
    raise ValueError(name)


DIALECTS = {"postgres": postgres_sql, "clickhouse": clickhouse_sql}


# ---------------------------------------------------------------------------------------------
# Result normalisation and comparison


def normalise_value(value):
    """Times to integer microseconds since the epoch, numbers to float, text unchanged."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return (value - EPOCH) // datetime.timedelta(microseconds=1)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return float(value)


def parse_tsv_with_types(body):
    """ClickHouse TSVWithNamesAndTypes into rows of Python values (DateTime read as UTC)."""
    lines = body.decode().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    types = lines[1].split("\t")
    rows = []
    for line in lines[2:]:
        row = []
        for text, kind in zip(line.split("\t"), types):
            base = re.sub(r"^(LowCardinality|Nullable)\((.*)\)$", r"\2", kind)
            if text == "\\N":
                row.append(None)
            elif base.startswith("DateTime"):
                moment = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
                row.append(moment.replace(tzinfo=datetime.timezone.utc))
            elif base.startswith(("Float", "Int", "UInt", "Decimal")):
                row.append(float(text))
            else:
                row.append(text.replace("\\t", "\t").replace("\\n", "\n")
                           .replace("\\\\", "\\"))
        rows.append(row)
    return rows


def sort_key(row):
    return tuple((0, "") if v is None else
                 (1, round(v, 6)) if isinstance(v, float) else (2, v) for v in row)


def same_value(left, right):
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return left == right


def difference(reference, candidate):
    """None when the results agree, else a description of the first difference."""
    if len(reference) != len(candidate):
        return f"{len(candidate)} rows, expected {len(reference)}"
    left = sorted(reference, key=sort_key)
    right = sorted(candidate, key=sort_key)
    for index, (expected, got) in enumerate(zip(left, right)):
        if len(expected) != len(got):
            return f"row {index}: {len(got)} columns, expected {len(expected)}"
        for column, (a, b) in enumerate(zip(expected, got)):
            if not same_value(a, b):
                return f"row {index} column {column}: {b!r}, expected {a!r} (rows {got} / {expected})"
    return None


# ---------------------------------------------------------------------------------------------
# Systems. Each has: name, dialect, start(), load(data) -> (load_s, settle_s), size_bytes(),
# execute(sql) -> opaque result (timed), rows(result) -> normalised rows, version(), stop().


def wait_until(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if predicate():
                return
        except BenchError:
            raise
        except Exception:  # not up yet: refused connections, half-written logs
            pass
        time.sleep(0.1)
    raise BenchError(f"timed out after {seconds} s waiting for {what}")


def directory_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def stop_process(process, signal_name="terminate", seconds=120):
    if process is None or process.poll() is not None:
        return
    getattr(process, signal_name)()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class PsycopgClient:
    """Postgres-wire querying shared by RusTs and PostgreSQL: simple protocol, text format,
    never prepared (prepare_threshold=None), autocommit."""

    def connect(self, **parameters):
        import psycopg
        self.connection = psycopg.connect(autocommit=True, prepare_threshold=None,
                                          connect_timeout=10, **parameters)
        self.cursor = self.connection.cursor()

    def execute(self, sql):
        self.cursor.execute(sql)
        return self.cursor

    def rows(self, cursor):
        return [[normalise_value(v) for v in row] for row in cursor.fetchall()]

    def close(self):
        if getattr(self, "connection", None) is not None:
            self.connection.close()


class Rusts(PsycopgClient):
    name = "rusts"
    dialect = "postgres"

    def __init__(self, binary, directory):
        self.binary = binary
        self.directory = os.path.join(directory, "rusts")
        self.process = None

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise BenchError(f"no RusTs binary at {self.binary} (build it, or pass --rusts)")
        self.log_path = self.directory + ".log"
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [self.binary, "--host", "127.0.0.1", "--port", "0", "--pg-port", "0",
             "--data-dir", self.directory],
            stdout=log, stderr=subprocess.STDOUT, cwd=os.path.dirname(self.directory))
        log.close()
        addresses = {}

        def started():
            if self.process.poll() is not None:
                raise BenchError(f"rusts exited: {self.log_tail()}")
            with open(self.log_path) as f:
                for line in f:
                    http_match = re.search(r"http=(\S+)", line)
                    pg_match = re.search(r"postgres=(\S+)", line)
                    if http_match and pg_match:
                        addresses["http"] = http_match.group(1)
                        addresses["pg"] = pg_match.group(1)
                        return True
            return False

        wait_until(started, 60, "the RusTs startup line")
        self.http_host, http_port = addresses["http"].rsplit(":", 1)
        self.http_port = int(http_port)
        pg_host, pg_port = addresses["pg"].rsplit(":", 1)
        wait_until(lambda: self.http_get("/health") is not None, 30, "RusTs /health")
        self.pg = (pg_host, int(pg_port))

    def log_tail(self):
        with open(self.log_path) as f:
            return f.read()[-2000:]

    def http_get(self, path):
        connection = http.client.HTTPConnection(self.http_host, self.http_port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            return json.loads(body) if response.status == 200 and path == "/stats" else body
        finally:
            connection.close()

    def version(self):
        return subprocess.run([self.binary, "--version"], capture_output=True,
                              text=True).stdout.strip()

    def load(self, data):
        started = time.perf_counter()
        try:
            send_all(self.http_port, data.batches, CONNECTIONS)
        except SystemExit as error:
            raise BenchError(f"RusTs writes failed: {error}") from None
        load_s = time.perf_counter() - started
        stats = self.http_get("/stats")
        if stats["points_written"] != data.points:
            raise BenchError(f"RusTs counts {stats['points_written']} points, sent {data.points}")
        started = time.perf_counter()
        self.wait_flushed()
        settle_s = time.perf_counter() - started
        self.connect(host=self.pg[0], port=self.pg[1], dbname="bench", user="rusts")
        return load_s, settle_s

    def wait_flushed(self):
        """Until the memtable is empty and the segment count has not changed for 5 s."""
        last = {"segments": None, "since": time.time()}

        def settled():
            stats = self.http_get("/stats")
            if stats.get("background_error"):
                raise BenchError(f"RusTs background error: {stats['background_error']}")
            if stats["memtable_points"] or stats["frozen_memtables"]:
                last["segments"] = None
                return False
            if stats["segments"] != last["segments"]:
                last["segments"], last["since"] = stats["segments"], time.time()
                return False
            return time.time() - last["since"] >= 5

        wait_until(settled, 600, "RusTs to flush its memtable")

    def size_bytes(self):
        return directory_bytes(self.directory)

    def explain(self, sql):
        self.cursor.execute("EXPLAIN ANALYZE " + sql)
        return "\n".join(str(value) for row in self.cursor.fetchall() for value in row)

    def stop(self):
        self.close()
        stop_process(self.process)


class Postgres(PsycopgClient):
    name = "postgres"
    dialect = "postgres"
    settings = {"shared_buffers": "2GB", "work_mem": "64MB", "maintenance_work_mem": "1GB",
                "max_wal_size": "8GB", "timezone": "UTC", "listen_addresses": "127.0.0.1"}

    def __init__(self, directory):
        self.directory = os.path.join(directory, "postgres")
        self.process = None

    def start(self):
        if not os.path.exists(os.path.join(POSTGRES_BIN, "postgres")):
            raise BenchError(f"no PostgreSQL 15 in {POSTGRES_BIN}: apt-get install -y postgresql")
        os.makedirs(self.directory)
        shutil.chown(self.directory, "postgres", "postgres")
        initdb = subprocess.run(
            [os.path.join(POSTGRES_BIN, "initdb"), "-D", self.directory, "-A", "trust",
             "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
            user="postgres", cwd=self.directory, capture_output=True, text=True)
        if initdb.returncode != 0:
            raise BenchError(f"initdb failed: {initdb.stderr[-2000:]}")
        self.port = free_port()
        arguments = [os.path.join(POSTGRES_BIN, "postgres"), "-D", self.directory,
                     "-p", str(self.port), "-c", f"unix_socket_directories={self.directory}"]
        for key, value in self.settings.items():
            arguments += ["-c", f"{key}={value}"]
        self.log_path = self.directory + ".log"
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(arguments, user="postgres", cwd=self.directory,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def ready():
            if self.process.poll() is not None:
                raise BenchError(f"postgres exited: {open(self.log_path).read()[-2000:]}")
            self.connect(host="127.0.0.1", port=self.port, dbname="postgres", user="postgres")
            return True

        wait_until(ready, 60, "PostgreSQL to accept connections")

    def version(self):
        return self.connection.execute("SELECT version()").fetchone()[0]

    def load(self, data):
        tags = ", ".join(f"{tag} text" for tag in TAGS)
        fields = ", ".join(f"{field} double precision" for field in FIELDS)
        self.cursor.execute(f"CREATE TABLE cpu (time timestamptz NOT NULL, {tags}, {fields})")
        started = time.perf_counter()
        self.cursor.execute(f"COPY cpu FROM '{data.tsv_path}'")
        self.cursor.execute("CREATE INDEX ON cpu (hostname, time)")
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        self.cursor.execute("VACUUM ANALYZE cpu")
        settle_s = time.perf_counter() - started
        return load_s, settle_s

    def size_bytes(self):
        return self.cursor.execute("SELECT pg_total_relation_size('cpu')").fetchone()[0]

    def stop(self):
        self.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
        stop_process(self.process)


class ClickHouseServer:
    """ClickHouse 18.16 from Debian, over HTTP with a keep-alive connection."""
    name = "clickhouse"
    dialect = "clickhouse"

    def __init__(self, directory):
        self.directory = os.path.join(directory, "clickhouse")
        self.process = None
        self.connection = None

    def start(self):
        if not os.path.exists(CLICKHOUSE_SERVER):
            raise BenchError(f"no {CLICKHOUSE_SERVER}: apt-get install -y clickhouse-server")
        os.makedirs(self.directory)
        self.port = free_port()
        config = os.path.join(self.directory, "config.xml")
        with open(config, "w") as f:
            f.write(clickhouse_config(self.directory, self.port, free_port()))
        with open(os.path.join(self.directory, "users.xml"), "w") as f:
            f.write(CLICKHOUSE_USERS)
        self.log_path = self.directory + ".log"
        log = open(self.log_path, "w")
        self.process = subprocess.Popen([CLICKHOUSE_SERVER, f"--config-file={config}"],
                                        stdout=log, stderr=subprocess.STDOUT,
                                        cwd=self.directory)
        log.close()

        def ready():
            if self.process.poll() is not None:
                raise BenchError(f"clickhouse-server exited: "
                                 f"{open(self.log_path).read()[-2000:]}")
            return self.query("SELECT 1") == b"1\n"

        wait_until(ready, 60, "ClickHouse 18.16 to answer")

    def query(self, sql, body=None):
        """Runs sql (the query text in the URL when a body is sent); returns the body bytes."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600,
                                                         blocksize=1 << 20)
        try:
            if body is None:
                self.connection.request("POST", "/", body=sql.encode())
            else:
                path = "/?query=" + urllib.parse.quote(sql)
                self.connection.request("POST", path, body=body,
                                        headers={"Content-Length": str(body_length(body))})
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # a failed request leaves the connection unusable
            self.connection = None
            raise
        if response.status != 200:
            self.connection.close()
            self.connection = None
            raise BenchError(f"ClickHouse 18.16: {payload.decode(errors='replace')[:500]}")
        return payload

    def version(self):
        return "ClickHouse " + self.query("SELECT version()").decode().strip()

    def load(self, data):
        self.query(clickhouse_table("String", "", ""))
        started = time.perf_counter()
        with open(data.tsv_path, "rb") as f:
            self.query("INSERT INTO cpu FORMAT TabSeparated", body=f)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        self.query("OPTIMIZE TABLE cpu FINAL")
        settle_s = time.perf_counter() - started
        count = int(self.query("SELECT count() FROM cpu"))
        if count != data.points:
            raise BenchError(f"ClickHouse 18.16 holds {count} rows, sent {data.points}")
        return load_s, settle_s

    def size_bytes(self):
        return int(self.query("SELECT sum(bytes_on_disk) FROM system.parts "
                              "WHERE table = 'cpu' AND active"))

    def execute(self, sql):
        return self.query(sql + " FORMAT TSVWithNamesAndTypes")

    def rows(self, body):
        return [[normalise_value(v) for v in row] for row in parse_tsv_with_types(body)]

    def stop(self):
        if self.connection is not None:
            self.connection.close()
        stop_process(self.process)


def body_length(body):
    return os.fstat(body.fileno()).st_size if hasattr(body, "fileno") else len(body)


def clickhouse_table(tag_type, time_codec, field_codec):
    tags = ", ".join(f"{tag} {tag_type}" for tag in TAGS)
    fields = ", ".join(f"{field} Float64{field_codec}" for field in FIELDS)
    return (f"CREATE TABLE cpu (time DateTime('UTC'){time_codec}, {tags}, {fields}) "
            f"ENGINE = MergeTree() PARTITION BY toDate(time) ORDER BY (hostname, time)")


def clickhouse_config(directory, http_port, tcp_port):
    return f"""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <keep_alive_timeout>3600</keep_alive_timeout>
  <path>{directory}/data/</path>
  <tmp_path>{directory}/tmp/</tmp_path>
  <user_files_path>{directory}/user_files/</user_files_path>
  <format_schema_path>{directory}/format_schemas/</format_schema_path>
  <mark_cache_size>5368709120</mark_cache_size>
  <timezone>UTC</timezone>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
</yandex>
"""


CLICKHOUSE_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>10000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


class Chdb:
    """ClickHouse 26.x in this process (PyPI chdb), with time-series codecs."""
    name = "chdb"
    dialect = "clickhouse"

    def __init__(self, directory):
        self.directory = os.path.join(directory, "chdb")
        self.session = None

    def start(self):
        try:
            from chdb import session
        except ImportError as error:
            raise BenchError(f"chdb is not installed ({error}): pip install chdb") from None
        self.session = session.Session(self.directory)
        self.session.query("CREATE DATABASE IF NOT EXISTS bench")
        self.session.query("USE bench")

    def query(self, sql, output="TSV"):
        return self.session.query(sql, output).bytes()

    def version(self):
        return "ClickHouse " + self.query("SELECT version()").decode().strip() + " (chdb)"

    def load(self, data):
        self.query(clickhouse_table("LowCardinality(String)", " CODEC(DoubleDelta, ZSTD)",
                                    " CODEC(ZSTD)"))
        structure = ", ".join(["time DateTime(\\'UTC\\')"] + [f"{tag} String" for tag in TAGS]
                              + [f"{field} Float64" for field in FIELDS])
        started = time.perf_counter()
        self.query(f"INSERT INTO cpu SELECT * FROM file('{data.tsv_path}', 'TabSeparated', "
                   f"'{structure}')")
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        self.query("OPTIMIZE TABLE cpu FINAL")
        settle_s = time.perf_counter() - started
        count = int(self.query("SELECT count() FROM cpu"))
        if count != data.points:
            raise BenchError(f"chdb holds {count} rows, sent {data.points}")
        return load_s, settle_s

    def size_bytes(self):
        return int(self.query("SELECT sum(bytes_on_disk) FROM system.parts "
                              "WHERE database = 'bench' AND table = 'cpu' AND active"))

    def execute(self, sql):
        return self.query(sql, "TSVWithNamesAndTypes")

    def rows(self, body):
        return [[normalise_value(v) for v in row] for row in parse_tsv_with_types(body)]

    def stop(self):
        if self.session is not None:
            self.session.close()


# ---------------------------------------------------------------------------------------------
# Measurement


def timed(system, sql):
    started = time.perf_counter()
    result = system.execute(sql)
    return time.perf_counter() - started, result


def measure(systems, parameters, runs, keep_going):
    """Per query and system: verify the first result, warm up, time `runs` executions."""
    results = {}
    mismatches = []
    for name in QUERY_NAMES:
        reference = None
        results[name] = {}
        for system in systems:
            sql = DIALECTS[system.dialect](name, parameters[name])
            try:
                _, result = timed(system, sql)
            except Exception as error:  # report the system's failure on this query and go on
                results[name][system.name] = {"error": str(error)[:500]}
                print(f"  {name:<24}{system.name:<12}FAILED: {str(error)[:300]}", flush=True)
                continue
            rows = system.rows(result)
            if reference is None:
                reference = (system.name, rows)
            else:
                problem = difference(reference[1], rows)
                if problem:
                    message = f"{name}: {system.name} differs from {reference[0]}: {problem}"
                    mismatches.append(message)
                    print(f"  RESULT MISMATCH {message}", flush=True)
                    if not keep_going:
                        raise BenchError(message)
            for _ in range(WARMUPS - 1):
                timed(system, sql)
            seconds = [timed(system, sql)[0] for _ in range(runs)]
            median_ms = statistics.median(seconds) * 1000
            results[name][system.name] = {
                "median_ms": median_ms, "min_ms": min(seconds) * 1000,
                "max_ms": max(seconds) * 1000, "rows": len(rows), "sql": sql}
            print(f"  {name:<24}{system.name:<12}{median_ms:>10.2f} ms  ({len(rows)} rows)",
                  flush=True)
            if system.name == "rusts":
                # Each text differs by a comment: no kept plan is reused.
                planned = [timed(system, f"/* run {run} */ {sql}")[0] for run in range(runs)]
                planned_ms = statistics.median(planned) * 1000
                results[name][system.name]["planned_median_ms"] = planned_ms
                print(f"  {name:<24}{'  planned':<12}{planned_ms:>10.2f} ms", flush=True)
    return results, mismatches


def ratios(per_system):
    """RusTs / PostgreSQL and RusTs / the faster ClickHouse engine, where measured."""
    def median(name):
        return per_system.get(name, {}).get("median_ms")

    ours = median("rusts")
    out = {}
    if ours is None:
        return out
    if median("postgres"):
        out["vs_postgres"] = ours / median("postgres")
    engines = [(median(name), name) for name in ("clickhouse", "chdb") if median(name)]
    if engines:
        best_ms, best = min(engines)
        out["vs_clickhouse"] = ours / best_ms
        out["clickhouse_best"] = best
    return out


def print_report(names, loads, results):
    print("\nmedian latency, ms")
    header = f"{'query':<24}" + "".join(f"{name:>12}" for name in names)
    header += f"{'planned':>10}{'RusTs/PG':>10}{'RusTs/CH':>10}  {'faster CH':<11}{'targets':<8}"
    header += f"{'planned/PG':>11}"
    print(header)
    for query, per_system in results.items():
        line = f"{query:<24}"
        for name in names:
            median = per_system.get(name, {}).get("median_ms")
            line += f"{median:>12.2f}" if median is not None else f"{'failed':>12}"
        planned = per_system.get("rusts", {}).get("planned_median_ms")
        line += f"{planned:>10.2f}" if planned is not None else f"{'-':>10}"
        r = ratios(per_system)
        line += f"{r['vs_postgres']:>10.2f}" if "vs_postgres" in r else f"{'-':>10}"
        line += f"{r['vs_clickhouse']:>10.2f}" if "vs_clickhouse" in r else f"{'-':>10}"
        line += f"  {r.get('clickhouse_best', '-'):<11}"
        met = [r["vs_postgres"] < 1] if "vs_postgres" in r else []
        met += [r["vs_clickhouse"] <= 2] if "vs_clickhouse" in r else []
        line += f"{('met' if all(met) else 'MISSED') if met else '-':<8}"
        postgres = per_system.get("postgres", {}).get("median_ms")
        line += f"{planned / postgres:>11.2f}" if planned and postgres else f"{'-':>11}"
        print(line)
    print(f"\n{'system':<12}{'load s':>10}{'settle s':>10}{'size MB':>10}{'rows/s loaded':>15}"
          "  version")
    for name, load in loads.items():
        if "error" in load:
            print(f"{name:<12}failed: {load['error']}")
            continue
        print(f"{name:<12}{load['load_s']:>10.1f}{load['settle_s']:>10.1f}"
              f"{load['size_bytes'] / 1e6:>10.1f}{load['rows_per_s']:>15,.0f}  {load['version']}")


# ---------------------------------------------------------------------------------------------
# Main


def parse_arguments():
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rusts", default=os.path.join(repository, "target/release/rusts"),
                        help="RusTs binary (default: target/release/rusts)")
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--runs", type=int, default=10, help="timed executions per query")
    parser.add_argument("--seed", type=int, default=4, help="seed of hosts and time windows")
    parser.add_argument("--skip-rusts", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-clickhouse", action="store_true",
                        help="skip ClickHouse 18.16 (the Debian server)")
    parser.add_argument("--skip-chdb", action="store_true", help="skip chdb (ClickHouse 26.x)")
    parser.add_argument("--explain", action="store_true",
                        help="record RusTs EXPLAIN ANALYZE of every query (in --json)")
    parser.add_argument("--keep-going", action="store_true",
                        help="on a result mismatch, go on and exit 1 at the end")
    parser.add_argument("--tmpdir", help="parent of the temporary directory (default: TMPDIR)")
    parser.add_argument("--json", help="write arguments, loads and results to this file")
    return parser.parse_args()


def make_systems(args, directory):
    systems = []
    if not args.skip_postgres:
        systems.append(Postgres(directory))
    if not args.skip_rusts:
        systems.append(Rusts(os.path.abspath(args.rusts), directory))
    if not args.skip_clickhouse:
        systems.append(ClickHouseServer(directory))
    if not args.skip_chdb:
        systems.append(Chdb(directory))
    return systems


def start_and_load(systems, data, stack):
    """Starts and loads each system; a system that fails is reported and left out."""
    loads, ready = {}, []
    for system in systems:
        print(f"{system.name}: starting and loading", flush=True)
        stack.callback(system.stop)
        try:
            system.start()
            load_s, settle_s = system.load(data)
            loads[system.name] = {"load_s": load_s, "settle_s": settle_s,
                                  "size_bytes": system.size_bytes(),
                                  "rows_per_s": data.points / load_s,
                                  "version": system.version()}
            ready.append(system)
            print(f"  loaded in {load_s:.1f} s, settled in {settle_s:.1f} s, "
                  f"{loads[system.name]['size_bytes'] / 1e6:.1f} MB", flush=True)
        except Exception as error:  # any failure of one system must not stop the others
            loads[system.name] = {"error": f"{type(error).__name__}: {error}"}
            print(f"  FAILED: {error}", flush=True)
            system.stop()
    return loads, ready


def main():
    args = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="query_tsbs.", dir=args.tmpdir) as directory:
        os.chmod(directory, 0o755)  # the postgres user reads the TSV file and its cluster dir
        data = Dataset(args.hosts, args.days, directory)
        print(data.describe(), flush=True)
        parameters = query_parameters(args.seed, data)
        with ExitStack() as stack:
            loads, systems = start_and_load(make_systems(args, directory), data, stack)
            if not systems:
                raise SystemExit("no system could be started")
            print(f"\nqueries: {WARMUPS} warm-ups and {args.runs} timed runs each", flush=True)
            results, mismatches = measure(systems, parameters, args.runs, args.keep_going)
            explains = {}
            rusts = next((s for s in systems if s.name == "rusts"), None)
            if args.explain and rusts is not None:
                explains = {name: rusts.explain(postgres_sql(name, parameters[name]))
                            for name in QUERY_NAMES}
        print_report(list(loads), loads, results)
        for message in mismatches:
            print(f"RESULT MISMATCH: {message}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"arguments": vars(args), "dataset_rows": data.points,
                           "data_start": format_time(data.start_s),
                           "data_end": format_time(data.end_s),
                           "parameters": parameters, "loads": loads, "results": results,
                           "ratios": {q: ratios(r) for q, r in results.items()},
                           "mismatches": mismatches, "explain_analyze": explains,
                           "load_average": os.getloadavg()}, f, indent=2)
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
