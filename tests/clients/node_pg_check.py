#!/usr/bin/env python3
"""node-postgres (`pg`) against the real server: starts it, writes the shared data set and
runs node/pg_check.js with the Postgres address; the JavaScript makes the assertions (see its
header). Node runs with TZ=Asia/Kolkata, so pg sends Date parameters with a +05:30 offset.
Needs `npm ci` in tests/clients/node first. Run by .ci/run; exits non-zero on any mismatch.

usage: tests/clients/node_pg_check.py path/to/rusts
"""
import os
import subprocess

from rusts_server import run_with_server

NODE_SECONDS_MAX = 300


def main():
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node", "pg_check.js")

    def body(checks, server, _directory):
        node = subprocess.run(["node", script, server.pg_host, str(server.pg_port)],
                              env=dict(os.environ, TZ="Asia/Kolkata"), timeout=NODE_SECONDS_MAX)
        checks.expect("pg_check.js exit code", node.returncode, 0)

    run_with_server("node-postgres", body)


if __name__ == "__main__":
    main()
