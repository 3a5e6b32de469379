#!/usr/bin/env python3
"""pgjdbc against the real server: starts it, writes the shared data set, compiles
JdbcCheck.java with javac into a temporary folder and runs it with the Postgres address. The
Java program makes the assertions (see its doc comment); the JVM runs in Asia/Kolkata, which
pgjdbc sends as the session TimeZone, so text timestamps carry a +05:30 offset. Run by
.ci/run; exits non-zero on any mismatch.

usage: tests/clients/jdbc_check.py path/to/rusts [path/to/postgresql.jar]
"""
import os
import subprocess
import sys

from rusts_server import run_with_server

JAR_DEFAULT = "/usr/share/java/postgresql.jar"
JAVA_SECONDS_MAX = 300


def main():
    jar = sys.argv[2] if len(sys.argv) > 2 else JAR_DEFAULT
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "JdbcCheck.java")

    def body(checks, server, directory):
        classes = os.path.join(directory, "classes")
        subprocess.run(["javac", "-cp", jar, "-d", classes, source], check=True)
        java = subprocess.run(
            ["java", "-Duser.timezone=Asia/Kolkata", "-cp", os.pathsep.join([jar, classes]),
             "JdbcCheck", server.pg_host, str(server.pg_port)],
            timeout=JAVA_SECONDS_MAX)
        checks.expect("JdbcCheck exit code", java.returncode, 0)

    run_with_server("pgjdbc", body)


if __name__ == "__main__":
    main()
