"""Shared by the Postgres client checks (psycopg, asyncpg, pgjdbc, node-postgres): start the
real binary on free ports, write the same line-protocol data set, record each assertion and
stop the server. Each check imports it from its own folder (`python3 tests/clients/x.py` puts
that folder on `sys.path`).
"""
import contextlib
import datetime
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import urllib.request

UTC = datetime.timezone.utc

# Every check reads these rows back and compares them exactly. Row `c` is before 1970 and
# holds the extremes (i64::MAX, the most negative float8, an empty string); row `d` has only
# one field, so its other columns are NULL; `a` and `b` share a timestamp with microseconds.
LINES = (
    'cpu,host=a,region=eu usage=10.5,count=1i,ok=true,note="first" 1700000000123456000\n'
    'cpu,host=b,region=eu usage=20.25,count=-9007199254740993i,ok=false,'
    'note="second \\"quoted\\"" 1700000000123456000\n'
    'cpu,host=a,region=eu usage=0.1,count=3i,ok=true,note="third" 1700000010000001000\n'
    'cpu,host=c,region=us usage=-1.7976931348623157e308,count=9223372036854775807i,ok=false,'
    'note="" -1000\n'
    'cpu,host=d,region=us usage=0.5 1700000020000000000\n'
    'mem,host=a total=18446744073709551615u 1700000000000000000\n'
)

# The cpu rows as `SELECT time, host, usage, count, ok, note FROM cpu ORDER BY time, host`.
CPU_QUERY = "SELECT time, host, usage, count, ok, note FROM cpu ORDER BY time, host"
CPU_ROWS = [
    (datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "c",
     -1.7976931348623157e308, 9223372036854775807, False, ""),
    (datetime.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC), "a", 10.5, 1, True, "first"),
    (datetime.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC), "b", 20.25,
     -9007199254740993, False, 'second "quoted"'),
    (datetime.datetime(2023, 11, 14, 22, 13, 30, 1, tzinfo=UTC), "a", 0.1, 3, True, "third"),
    (datetime.datetime(2023, 11, 14, 22, 13, 40, tzinfo=UTC), "d", 0.5, None, None, None),
]

STARTUP_SECONDS_MAX = 60
STOP_SECONDS_MAX = 60


class Server:
    """The binary on 127.0.0.1 with free ports; its output is drained into `log` by a
    thread, so a chatty server never blocks on a full pipe."""

    def __init__(self, binary, data_dir):
        self.process = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0", "--pg-port", "0",
             "--data-dir", data_dir],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log = []
        lines = queue.Queue()
        threading.Thread(target=self._drain, args=(lines,), daemon=True).start()
        try:
            self.http, self.pg = self._addresses(lines)
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise
        self.pg_host, pg_port = self.pg.rsplit(":", 1)
        self.pg_port = int(pg_port)

    def _drain(self, lines):
        for line in self.process.stdout:
            self.log.append(line)
            lines.put(line)
        lines.put(None)

    def _addresses(self, lines):
        while True:
            try:
                line = lines.get(timeout=STARTUP_SECONDS_MAX)
            except queue.Empty:
                raise SystemExit("rusts did not report its addresses in time") from None
            if line is None:
                raise SystemExit("rusts exited before reporting its addresses:\n"
                                 + "".join(self.log))
            http = re.search(r"http=(\S+)", line)
            pg = re.search(r"postgres=(\S+)", line)
            if http and pg:
                return http.group(1), pg.group(1)

    def write(self, lines, db="rusts"):
        """POSTs line protocol to /write; returns the HTTP status."""
        request = urllib.request.Request(f"http://{self.http}/write?db={db}",
                                         data=lines.encode(), method="POST")
        with urllib.request.urlopen(request) as response:
            return response.status

    def stop(self):
        """SIGTERM, then the exit code; a server that does not stop in time is killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_SECONDS_MAX)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return "killed after SIGTERM timeout"


def shape(value):
    """The types inside `value`, so `1 == 1.0 == True` does not pass for a mismatch."""
    if isinstance(value, (list, tuple)):
        return type(value).__name__, [shape(item) for item in value]
    if isinstance(value, dict):
        return "dict", {key: shape(item) for key, item in value.items()}
    return type(value).__name__


class Checks:
    """Records every assertion and keeps going, so one run reports every mismatch; `finish`
    exits non-zero when any failed."""

    def __init__(self):
        self.failed = []
        self.passed = 0
        self.gaps = []

    def expect(self, what, got, wanted):
        if got == wanted and shape(got) == shape(wanted):
            self.passed += 1
            print(f"ok: {what}")
            return True
        self.failed.append(what)
        print(f"FAIL: {what}: expected\n  {wanted!r}\ngot\n  {got!r}")
        return False

    def fail(self, what, reason):
        self.failed.append(what)
        print(f"FAIL: {what}: {reason}")

    def gap(self, what, issue, reason):
        """A known, documented gap that a later issue closes: reported, not failed. Callers
        recognise the one specific error the gap causes; anything else still fails."""
        self.gaps.append(f"{what} ({issue})")
        print(f"GAP ({issue}): {what}: {reason}")

    @contextlib.contextmanager
    def section(self, what):
        """An exception inside fails `what` and lets the next section run."""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - any client error is a failed check
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            self.fail(what, f"raised {detail}")

    def finish(self, name):
        print(f"\n{name}: {self.passed} passed, {len(self.failed)} failed, "
              f"{len(self.gaps)} known gaps")
        for what in self.gaps:
            print(f"  known gap: {what}")
        for what in self.failed:
            print(f"  failed: {what}")
        if self.failed:
            sys.exit(1)


def run_with_server(name, body):
    """Starts the binary named by argv[1] in a temporary directory, writes LINES, runs
    `body(checks, server, directory)`, stops the server (its exit code is a check) and exits
    non-zero if any check failed."""
    checks = Checks()
    with tempfile.TemporaryDirectory() as directory:
        server = Server(sys.argv[1], os.path.join(directory, "data"))
        try:
            checks.expect("line protocol accepted", server.write(LINES), 204)
            body(checks, server, directory)
        finally:
            code = server.stop()
        checks.expect("server exit code after SIGTERM", code, 0)
    checks.finish(name)
