#!/usr/bin/env python3
"""SQLite sqllogictest corpus: RusTs against PostgreSQL 15, run time and conformance, same run.

Method
------
Both servers are started by this script on 127.0.0.1 with data in a temporary directory and
stopped at the end (also on failure):
  rusts       the binary given by --rusts (build it with `cargo build --release`), default
              configuration.
  postgres    PostgreSQL 15 (Debian `postgresql`), a private cluster (initdb --locale=C, run
              as user postgres), default settings except synchronous_commit=off, which gives
              it the same durability as RusTs's default `periodic` WAL mode (acknowledged
              before the fsync).
The corpus runner (`tests/sqllogictest/corpus/`, run as `cargo test --release --test
sqlite_corpus -- --url …`) runs the same files against each, in the same way: one fresh
database per file, `--jobs` files at a time (default 2, the machine's cores), the simple
query protocol. Each system's time is the runner's wall-clock time over all files; the
report gives per-file times, records passed and failed, and RusTs's time as a ratio of
PostgreSQL's. Systems run one after the other, never at once.

Usage
-----
  python3 bench/sqllogictest_corpus.py --rusts target/release/rusts [--jobs 2] [FILTER ...]
writes bench/results/sqllogictest_corpus.json and prints a Markdown table.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POSTGRES_BIN = "/usr/lib/postgresql/15/bin"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {port} within {seconds} s")


def stop(process):
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_postgres(directory):
    if not os.path.exists(os.path.join(POSTGRES_BIN, "postgres")):
        raise SystemExit(f"no PostgreSQL 15 in {POSTGRES_BIN}: apt-get install -y postgresql")
    data = os.path.join(directory, "postgres")
    os.makedirs(data)
    shutil.chown(directory, "postgres", "postgres")
    shutil.chown(data, "postgres", "postgres")
    subprocess.run([os.path.join(POSTGRES_BIN, "initdb"), "-D", data, "-A", "trust", "-U",
                    "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
                   user="postgres", cwd=data, check=True, capture_output=True)
    port = free_port()
    log = open(os.path.join(directory, "postgres.log"), "w")
    process = subprocess.Popen(
        [os.path.join(POSTGRES_BIN, "postgres"), "-D", data, "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}",
         "-c", "synchronous_commit=off"],
        user="postgres", cwd=data, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, process, "postgres")
    time.sleep(1)  # the port opens before the startup process has finished recovery
    return process, f"host=127.0.0.1 port={port} user=postgres dbname=postgres"


def start_rusts(binary, directory):
    http_port, pg_port = free_port(), free_port()
    log = open(os.path.join(directory, "rusts.log"), "w")
    process = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", str(http_port), "--pg-port", str(pg_port),
         "--data-dir", os.path.join(directory, "rusts")],
        stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(pg_port, process, "rusts")
    return process, f"host=127.0.0.1 port={pg_port} user=rusts dbname=rusts"


def run_corpus(url, report, jobs, filters):
    command = ["cargo", "test", "--release", "--quiet", "--test", "sqlite_corpus", "--",
               "--url", url, "--jobs", str(jobs), "--report", report, *filters]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"corpus runner failed:\n{finished.stderr[-4000:]}")
    files = {}
    with open(report) as lines:
        next(lines)
        for line in lines:
            name, _status, ok, fail, skip, total, secs, _error = line.rstrip("\n").split("\t")
            files[name] = {"passed": int(ok), "failed": int(fail), "skipped": int(skip),
                           "total": int(total), "secs": float(secs)}
    summary = [line for line in finished.stderr.splitlines() if line.startswith("total")]
    return elapsed, files, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rusts", required=True, help="the rusts binary (release build)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--output", default=os.path.join(ROOT, "bench/results/sqllogictest_corpus.json"))
    parser.add_argument("filters", nargs="*", help="only corpus files whose path contains one")
    arguments = parser.parse_args()
    # Build the runner once, before anything is timed.
    subprocess.run(["cargo", "test", "--release", "--quiet", "--test", "sqlite_corpus",
                    "--no-run"], cwd=ROOT, check=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="slt-bench-") as directory:
        os.chmod(directory, 0o755)
        for name, start in (("postgres", start_postgres), ("rusts", None)):
            process = None
            try:
                if start is None:
                    process, url = start_rusts(os.path.abspath(arguments.rusts), directory)
                else:
                    process, url = start(directory)
                report = os.path.join(directory, f"{name}.tsv")
                elapsed, files, summary = run_corpus(url, report, arguments.jobs,
                                                     arguments.filters)
                results[name] = {"wall_secs": elapsed, "files": files}
                print(f"{name}: {elapsed:.1f} s; {' '.join(summary)}", file=sys.stderr)
            finally:
                stop(process)
    postgres, rusts = results["postgres"], results["rusts"]
    ratio = rusts["wall_secs"] / postgres["wall_secs"]
    results["ratio_rusts_to_postgres"] = ratio
    os.makedirs(os.path.dirname(arguments.output), exist_ok=True)
    with open(arguments.output, "w") as out:
        json.dump(results, out, indent=1)
    print("| file | PostgreSQL 15 s | RusTs s | ratio | PostgreSQL passed | RusTs passed |")
    print("|---|---:|---:|---:|---:|---:|")
    for file in sorted(postgres["files"]):
        p, r = postgres["files"][file], rusts["files"].get(file)
        if r is None:
            continue
        print(f"| {file} | {p['secs']:.1f} | {r['secs']:.1f} | "
              f"{r['secs'] / max(p['secs'], 1e-3):.1f}x | {p['passed']} / {p['total']} | "
              f"{r['passed']} / {r['total']} |")
    print(f"| **all (wall clock, {arguments.jobs} jobs)** | {postgres['wall_secs']:.1f} | "
          f"{rusts['wall_secs']:.1f} | {ratio:.1f}x | "
          f"{sum(f['passed'] for f in postgres['files'].values())} | "
          f"{sum(f['passed'] for f in rusts['files'].values())} |")


if __name__ == "__main__":
    main()
