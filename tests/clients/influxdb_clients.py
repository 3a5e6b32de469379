#!/usr/bin/env python3
"""Writes with the real InfluxDB client libraries to the real rusts binary and checks every
point arrived: `influxdb` (1.x client, POST /write) and `influxdb-client` (2.x client,
POST /api/v2/write). Data is read back with the test-only `dump` tool after the server stops
(there is no query endpoint yet).

usage: influxdb_clients.py PATH_TO_RUSTS PATH_TO_DUMP
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import influxdb
import influxdb_client
from influxdb_client.client.write_api import SYNCHRONOUS


def start(binary, data_dir):
    server = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", "0", "--pg-port", "0", "--data-dir", data_dir],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    for line in server.stdout:
        match = re.search(r"http=(\S+)", line)
        if match:
            return server, match.group(1)
        if time.time() > deadline:
            break
    server.kill()
    sys.exit("rusts did not report its address")


def stop(server):
    server.send_signal(signal.SIGTERM)
    if server.wait(timeout=60) != 0:
        sys.exit(f"rusts exited with {server.returncode}")


def dump(tool, data_dir, database, measurement):
    out = subprocess.run([tool, data_dir, database, measurement], check=True,
                         capture_output=True, text=True).stdout
    return sorted(out.splitlines())


def write_v1(address):
    host, port = address.rsplit(":", 1)
    client = influxdb.InfluxDBClient(host=host, port=int(port), database="legacy")
    assert client.ping(), "ping"
    points = [
        {"measurement": "cpu", "tags": {"host": "a b", "region": "eu"}, "time": 1_000_000_000,
         "fields": {"usage": 12.5, "cores": 8, "ok": True, "model": 'Xeon "E5"'}},
        {"measurement": "cpu", "tags": {"host": "c,d"}, "time": 2_000_000_000,
         "fields": {"usage": 0.25}},
    ]
    assert client.write_points(points, time_precision="n"), "write_points"
    client.write_points([{"measurement": "cpu", "tags": {"host": "s"}, "time": 3,
                          "fields": {"usage": 1.0}}], time_precision="s")
    client.close()


def write_v2(address):
    with influxdb_client.InfluxDBClient(url=f"http://{address}", token="any", org="org") as client:
        assert client.ping(), "ping"
        api = client.write_api(write_options=SYNCHRONOUS)
        api.write(bucket="metrics", record=[
            influxdb_client.Point("mem").tag("host", "x=y").field("used", 1024).field("free", 0.5).time(5, "ns"),
            "mem,host=z used=7i 6",
        ])
        api.write(bucket="metrics", record="mem,host=ms used=9i 8", write_precision="ms")


def main():
    binary, tool = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as directory:
        data_dir = os.path.join(directory, "data")
        server, address = start(binary, data_dir)
        try:
            write_v1(address)
            write_v2(address)
        finally:
            stop(server)
        cpu = dump(tool, data_dir, "legacy", "cpu")
        mem = dump(tool, data_dir, "metrics", "mem")
    # Columns come in order of first write; the client libraries send field keys sorted.
    expected_cpu = sorted([
        'time=1000000000 host="a b" region="eu" cores=8i model="Xeon \\"E5\\"" ok=true usage=12.5',
        'time=2000000000 host="c,d" usage=0.25',
        'time=3000000000 host="s" usage=1',
    ])
    expected_mem = sorted([
        'time=5 host="x=y" free=0.5 used=1024i',
        'time=6 host="z" used=7i',
        'time=8000000 host="ms" used=9i',
    ])
    failures = []
    if cpu != expected_cpu:
        failures.append(f"influxdb (1.x) rows differ:\n  got  {cpu}\n  want {expected_cpu}")
    if mem != expected_mem:
        failures.append(f"influxdb-client (2.x) rows differ:\n  got  {mem}\n  want {expected_mem}")
    if failures:
        sys.exit("\n".join(failures))
    print(f"influxdb 1.x client: {len(cpu)} points, influxdb-client 2.x: {len(mem)} points, all present")


if __name__ == "__main__":
    main()
