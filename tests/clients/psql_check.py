#!/usr/bin/env python3
"""psql, scripted, against the real server: line protocol written over HTTP is read with
`psql -c` and `psql -f`, in psql's aligned and unaligned formats, `\\copy` in both directions, and an
error carries its SQLSTATE. Run by .ci/run; exits non-zero on any mismatch.

usage: tests/clients/psql_check.py path/to/rusts
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

LINES = (
    "cpu,host=a,region=eu usage=10.5,count=1i 1700000000000000000\n"
    "cpu,host=b,region=eu usage=20.25,count=2i 1700000000000000000\n"
    "cpu,host=a,region=eu usage=11.5,count=3i 1700000010000000000\n"
)


def start(binary, data_dir):
    server = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", "0", "--pg-port", "0", "--data-dir", data_dir],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    for line in server.stdout:
        http = re.search(r"http=(\S+)", line)
        pg = re.search(r"postgres=(\S+)", line)
        if http and pg:
            return server, http.group(1), pg.group(1)
        if time.time() > deadline:
            break
    server.kill()
    sys.exit("rusts did not report its addresses")


def psql(pg, *args, check=True):
    host, port = pg.rsplit(":", 1)
    result = subprocess.run(
        ["psql", "-X", "-h", host, "-p", port, "-d", "rusts", "-U", "rusts", *args],
        capture_output=True, text=True, env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
    if check and result.returncode != 0:
        sys.exit(f"psql {args} failed ({result.returncode}): {result.stderr}")
    return result


def expect(what, got, wanted):
    if got != wanted:
        sys.exit(f"{what}: expected\n{wanted!r}\ngot\n{got!r}")
    print(f"ok: {what}")


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as directory:
        server, http, pg = start(binary, os.path.join(directory, "data"))
        try:
            request = urllib.request.Request(f"http://{http}/write?db=rusts", data=LINES.encode(),
                                             method="POST")
            with urllib.request.urlopen(request) as response:
                expect("line protocol accepted", response.status, 204)
            aligned = psql(pg, "-c", "SELECT host, usage, count FROM cpu ORDER BY time, host").stdout
            expect("psql -c aligned output", aligned,
                   " host | usage | count \n"
                   "------+-------+-------\n"
                   " a    |  10.5 |     1\n"
                   " b    | 20.25 |     2\n"
                   " a    |  11.5 |     3\n"
                   "(3 rows)\n\n")
            script = os.path.join(directory, "queries.sql")
            with open(script, "w") as f:
                f.write("SELECT count(*) AS n FROM cpu WHERE host = 'a';\n"
                        "SELECT time FROM cpu WHERE count = 3;\n"
                        "SHOW TimeZone;\n")
            unaligned = psql(pg, "-A", "-t", "-f", script).stdout
            expect("psql -f unaligned output", unaligned,
                   "2\n2023-11-14 22:13:30+00\nUTC\n")
            # \copy: psql streams a client-side file through COPY FROM STDIN / TO STDOUT.
            source = os.path.join(directory, "in.csv")
            with open(source, "w") as f:
                f.write("host,time,usage\nx,2023-11-14 22:15:00+00,1.25\n"
                        "y,2023-11-14 22:15:00+00,\"2.5\"\n")
            target = os.path.join(directory, "out.csv")
            copied = psql(pg, "-c", f"\\copy cpu (host, time, usage) FROM '{source}' "
                          "WITH (FORMAT csv, HEADER)").stdout
            expect("psql \\copy from a CSV file", copied, "COPY 2\n")
            copied = psql(pg, "-c", f"\\copy (SELECT host, usage FROM cpu WHERE host IN "
                          f"('x', 'y') ORDER BY host) TO '{target}' WITH (FORMAT csv, HEADER)").stdout
            # The count is of rows: the header line is not one.
            expect("psql \\copy to a CSV file reports its rows", copied, "COPY 2\n")
            with open(target) as f:
                expect("psql \\copy to a CSV file", f.read(), "host,usage\nx,1.25\ny,2.5\n")
            failed = psql(pg, "-v", "VERBOSITY=verbose", "-c", "SELECT * FROM nope", check=False)
            expect("psql error exit code", failed.returncode, 1)
            if "42P01" not in failed.stderr:
                sys.exit(f"undefined table error lacks SQLSTATE 42P01: {failed.stderr}")
            print("ok: undefined table reports 42P01")
        finally:
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=60)
        expect("server exit code after SIGTERM", code, 0)


if __name__ == "__main__":
    main()
