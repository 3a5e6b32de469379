#!/usr/bin/env python3
"""End-to-end ingest benchmark: the same TSBS-like line protocol into RusTs and into
VictoriaMetrics (Debian package `victoria-metrics`, which accepts line protocol at /write),
in the same run, on loopback.

Dataset: TSBS `cpu-only` shape: HOSTS hosts with the 10 TSBS tags, 10 float fields
(random walks, normal steps sigma 1.0, clamped to [0, 100], 2 decimals), one row per host
every 10 s, ending now (VictoriaMetrics refuses samples outside its retention window).
Load: batches of BATCH lines over CONNECTIONS concurrent keep-alive HTTP connections.
Reported per server: points/s, field values/s, peak RSS (VmHWM) and CPU seconds per million
points (utime + stime of the server process, steadier than wall time on a shared machine),
and the RusTs / VictoriaMetrics ratios.

usage: bench/ingest_http.py --rusts target/release/rusts [--hosts 100] [--hours 6]
       [--batch 5000] [--connections 2] [--durability periodic] [--json out.json]
"""
import argparse
import http.client
import json
import math
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time

FIELDS = ["usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait",
          "usage_irq", "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"]
REGIONS = ["us-east-1", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1",
           "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"]


def dataset(hosts, hours, batch):
    """Deterministic batches of line protocol, as bytes."""
    rng = random.Random(42)
    tags = []
    for host in range(hosts):
        region = rng.choice(REGIONS)
        tags.append(
            f"cpu,hostname=host_{host},region={region},datacenter={region}{rng.choice('abc')},"
            f"rack={rng.randrange(100)},os={rng.choice(['Ubuntu16.10', 'Ubuntu16.04LTS', 'Ubuntu15.10'])},"
            f"arch={rng.choice(['x86', 'x64'])},team={rng.choice(['SF', 'NYC', 'LON', 'CHI'])},"
            f"service={rng.randrange(20)},service_version={rng.randrange(2)},"
            f"service_environment={rng.choice(['production', 'staging', 'test'])}")
    walks = [[round(rng.uniform(0, 100), 2) for _ in FIELDS] for _ in range(hosts)]
    steps = hours * 360
    end_ns = (int(time.time()) // 10 * 10) * 1_000_000_000
    start_ns = end_ns - steps * 10_000_000_000
    batches, lines = [], []
    for step in range(steps):
        ts = start_ns + step * 10_000_000_000
        for host in range(hosts):
            walk = walks[host]
            for i in range(len(walk)):
                walk[i] = round(min(100.0, max(0.0, walk[i] + rng.gauss(0.0, 1.0))), 2)
            fields = ",".join(f"{name}={value}" for name, value in zip(FIELDS, walk))
            lines.append(f"{tags[host]} {fields} {ts}")
            if len(lines) == batch:
                batches.append(("\n".join(lines) + "\n").encode())
                lines = []
    if lines:
        batches.append(("\n".join(lines) + "\n").encode())
    return batches, steps * hosts


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, path, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} never answered {path}")


def process_figures(pid):
    with open(f"/proc/{pid}/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    return hwm * 1024, cpu


def send_all(port, batches, connections):
    errors = []
    cursor = iter(range(len(batches)))
    lock = threading.Lock()

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            connection.request("POST", "/write?db=bench", body=batches[index],
                               headers={"Content-Type": "text/plain"})
            response = connection.getresponse()
            body = response.read()
            if response.status != 204:
                errors.append(f"{response.status}: {body[:200]!r}")
                return

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"writes failed: {errors[0]}")
    return elapsed


def run(name, command, port, ready_path, batches, points, connections, directory):
    log = open(os.path.join(directory, f"{name}.log"), "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(port, ready_path)
        rss_idle, cpu_before = process_figures(server.pid)
        elapsed = send_all(port, batches, connections)
        rss_peak, cpu_after = process_figures(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=120)
        log.close()
    cpu = cpu_after - cpu_before
    return {
        "server": name,
        "points": points,
        "seconds": elapsed,
        "points_per_second": points / elapsed,
        "field_values_per_second": points * len(FIELDS) / elapsed,
        "peak_rss_bytes": rss_peak,
        "cpu_seconds": cpu,
        "cpu_seconds_per_million_points": cpu / points * 1e6,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rusts", required=True)
    parser.add_argument("--victoria-metrics", default=shutil.which("victoria-metrics"))
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--durability", default="periodic")
    parser.add_argument("--json")
    args = parser.parse_args()
    batches, points = dataset(args.hosts, args.hours, args.batch)
    size = sum(len(b) for b in batches)
    print(f"dataset: {points} points, {points * len(FIELDS)} field values, {len(batches)} "
          f"batches, {size / 1e6:.1f} MB of line protocol")
    results = []
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        config = os.path.join(directory, "rusts.yml")
        with open(config, "w") as f:
            f.write(f"storage:\n  wal_durability: {args.durability}\n")
        results.append(run("rusts", [args.rusts, "--config", config, "--host", "127.0.0.1",
                                     "--port", str(port), "--pg-port", "0",
                                     "--data-dir", os.path.join(directory, "rusts")],
                           port, "/health", batches, points, args.connections, directory))
        if args.victoria_metrics:
            port = free_port()
            results.append(run("victoria-metrics", [
                args.victoria_metrics, f"-httpListenAddr=127.0.0.1:{port}",
                f"-storageDataPath={os.path.join(directory, 'vm')}", "-retentionPeriod=100y"],
                port, "/health", batches, points, args.connections, directory))
    print(f"\n{'server':<18}{'points/s':>12}{'values/s':>14}{'peak RSS MB':>13}{'CPU s/M points':>16}")
    for r in results:
        print(f"{r['server']:<18}{r['points_per_second']:>12,.0f}{r['field_values_per_second']:>14,.0f}"
              f"{r['peak_rss_bytes'] / 2**20:>13.1f}{r['cpu_seconds_per_million_points']:>16.2f}")
    if len(results) == 2:
        ours, theirs = results
        print(f"\nRusTs / VictoriaMetrics: throughput {ours['points_per_second'] / theirs['points_per_second']:.2f}x, "
              f"peak RSS {ours['peak_rss_bytes'] / theirs['peak_rss_bytes']:.2f}x, "
              f"CPU per point {ours['cpu_seconds_per_million_points'] / theirs['cpu_seconds_per_million_points']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"arguments": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
