#!/usr/bin/env python3
"""asyncpg against the real server: its default connect, binary results with exact values,
`fetch`/`fetchrow`/`fetchval` with `$n` parameters typed by the server's ParameterDescription,
result types as asyncpg sees them (and its pg_catalog type introspection for arrays),
`prepare()` + `cursor()` with prefetch (portals with row limits), a pool's reset query, and
errors carrying their SQLSTATE. Run by .ci/run; exits non-zero on any mismatch.

usage: tests/clients/asyncpg_check.py path/to/rusts
"""
import asyncio
import datetime
import decimal

import asyncpg

from rusts_server import CPU_QUERY, CPU_ROWS, UTC, run_with_server

CPU_ATTRIBUTES = [("time", "timestamptz", 1184), ("host", "text", 25), ("usage", "float8", 701),
                  ("count", "int8", 20), ("ok", "bool", 16), ("note", "text", 25)]
CONNECT_SECONDS_MAX = 10


def rows_of(records):
    return [tuple(record) for record in records]


async def connect(server, **options):
    # Default ssl (prefer): asyncpg sends SSLRequest first and must accept the server's N.
    return await asyncpg.connect(host=server.pg_host, port=server.pg_port, database="rusts",
                                 user="rusts", timeout=CONNECT_SECONDS_MAX, **options)


# asyncpg always sends `client_encoding='utf-8'` (quoted) in its startup packet; a later
# server_settings entry of the same name replaces it, which lets the remaining checks run
# when the default connect fails.
ENCODING_OVERRIDE = {"server_settings": {"client_encoding": "UTF8"}}


async def open_connection(checks, server):
    """The default connect is a check of its own; the rest run on whatever connects."""
    try:
        conn = await connect(server)
        checks.expect("default connect", conn.get_server_version().major >= 12, True)
        return conn, {}
    except Exception as error:  # noqa: BLE001 - any connect failure is a failed check
        checks.fail("default connect", f"raised {type(error).__name__}: {error}")
        print("note: continuing with server_settings client_encoding=UTF8")
        return await connect(server, **ENCODING_OVERRIDE), ENCODING_OVERRIDE


async def check_results(checks, conn):
    checks.expect("fetch rows (binary)", rows_of(await conn.fetch(CPU_QUERY)), CPU_ROWS)
    statement = await conn.prepare(CPU_QUERY)
    checks.expect("result types asyncpg sees",
                  [(attribute.name, attribute.type.name, attribute.type.oid)
                   for attribute in statement.get_attributes()], CPU_ATTRIBUTES)
    checks.expect("unsigned field as numeric", await conn.fetchval("SELECT total FROM mem"),
                  decimal.Decimal("18446744073709551615"))


async def check_parameters(checks, conn):
    record = await conn.fetchrow("SELECT host, usage FROM cpu WHERE count = $1", 3)
    checks.expect("fetchrow with int8 $1", tuple(record), ("a", 0.1))
    count = await conn.fetchval(
        "SELECT count(*) FROM cpu WHERE host = $1 AND usage > $2 AND ok = $3 AND time >= $4",
        "a", 0.2, True, datetime.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC))
    checks.expect("fetchval with text/float8/bool/timestamptz params", count, 1)
    exact = datetime.datetime(2023, 11, 14, 22, 13, 30, 1, tzinfo=UTC)
    checks.expect("timestamptz parameter keeps microseconds",
                  await conn.fetchval("SELECT host FROM cpu WHERE time = $1", exact), "a")
    checks.expect("NULL parameter matches nothing",
                  await conn.fetch("SELECT host FROM cpu WHERE count = $1", None), [])
    statement = await conn.prepare(
        "SELECT host FROM cpu WHERE count > $1 AND usage < $2 AND note = $3 AND ok = $4"
        " AND time < $5")
    checks.expect("parameter types from ParameterDescription",
                  [parameter.name for parameter in statement.get_parameters()],
                  ["int8", "float8", "text", "bool", "timestamptz"])


async def check_cast_parameters(checks, conn):
    # Postgres types `$1::int8` as int8 (the cast decides); asyncpg encodes by that type.
    with_casts = await conn.fetchrow(
        "SELECT $1::int8 AS i, $2::float8 AS f, $3::text AS t, $4::bool AS b,"
        " $5::timestamptz AS ts", -9007199254740993, 0.1, "x'y", False, CPU_ROWS[0][0])
    checks.expect("cast parameters ($1::int8 ...)", tuple(with_casts),
                  (-9007199254740993, 0.1, "x'y", False, CPU_ROWS[0][0]))


async def check_limit_parameter(checks, conn):
    checks.expect("LIMIT $1 takes an int", rows_of(await conn.fetch(
        "SELECT host FROM cpu ORDER BY time, host LIMIT $1", 2)), [("c",), ("a",)])


async def check_introspection(checks, conn):
    # Arrays (other than oid[] and text[]) are not among asyncpg's built-in codecs: it asks
    # pg_catalog.pg_type about each one (a recursive query) before it can decode or encode.
    value = await conn.fetchval(
        "SELECT array_agg(count ORDER BY time) FROM cpu WHERE host = 'a'")
    checks.expect("array_agg result (type introspection)", value, [1, 3])
    record = await conn.fetchrow(
        "SELECT array_agg(usage ORDER BY time) AS usage, array_agg(ok ORDER BY time) AS ok,"
        " array_agg(time ORDER BY time) AS times FROM cpu WHERE host = 'a'")
    checks.expect("float8[], bool[] and timestamptz[] results", tuple(record),
                  ([10.5, 0.1], [True, True], [CPU_ROWS[1][0], CPU_ROWS[3][0]]))
    rows = await conn.fetch(
        "SELECT host FROM cpu WHERE count = any($1::int8[]) ORDER BY host", [1, 3, 42])
    checks.expect("int8[] parameter", rows_of(rows), [("a",), ("a",)])
    # The catalog answers what asyncpg's introspection read: the element of int8[] is int8.
    kind = await conn.fetchrow(
        "SELECT t.typname, t.typtype, t.typelem, e.typname AS element"
        " FROM pg_type t JOIN pg_type e ON e.oid = t.typelem WHERE t.oid = $1", 1016)
    checks.expect("pg_type row of int8[]", tuple(kind), ("_int8", b"b", 20, "int8"))


async def check_cursors(checks, conn):
    statement = await conn.prepare(
        "SELECT time, host FROM cpu WHERE usage > $1 ORDER BY time, host")
    wanted = [(row[0], row[1]) for row in CPU_ROWS if row[2] > 0.0]
    async with conn.transaction():
        rows = [tuple(record) async for record in statement.cursor(0.0, prefetch=2)]
        checks.expect("prepared cursor iterated with prefetch=2", rows, wanted)
        cursor = await statement.cursor(0.0)
        # Each fetch is an Execute with a row limit; exactly `n` rows mean the portal
        # stopped at the limit (PortalSuspended) and resumed where it stopped.
        checks.expect("cursor.fetch(2)", rows_of(await cursor.fetch(2)), wanted[:2])
        checks.expect("cursor.fetchrow()", tuple(await cursor.fetchrow()), wanted[2])
        checks.expect("cursor.fetch(5) after the end", rows_of(await cursor.fetch(5)),
                      wanted[3:])
        rows = [tuple(record) async for record in
                conn.cursor("SELECT count FROM cpu WHERE host = $1 ORDER BY time", "a",
                            prefetch=1)]
        checks.expect("connection cursor with prefetch=1", rows, [(1,), (3,)])


async def check_errors(checks, conn):
    cases = [
        ("SELECT * FROM nope", (), asyncpg.UndefinedTableError, "42P01"),
        ("SELECT 1/0", (), asyncpg.DivisionByZeroError, "22012"),
        ("SELECT count / $1 FROM cpu", (0,), asyncpg.DivisionByZeroError, "22012"),
        ("SELEC 1", (), asyncpg.PostgresSyntaxError, "42601"),
    ]
    for sql, arguments, error_class, sqlstate in cases:
        try:
            await conn.fetch(sql, *arguments)
            checks.fail(f"{sql} raises {sqlstate}", "no error")
        except asyncpg.PostgresError as error:
            checks.expect(f"{sql} raises {sqlstate}", (type(error).__name__, error.sqlstate),
                          (error_class.__name__, sqlstate))
    checks.expect("connection usable after errors", await conn.fetchval("SELECT 2::int8"), 2)


async def check_pool(checks, server, options):
    # Releasing a connection runs asyncpg's reset query: pg_advisory_unlock_all(),
    # CLOSE ALL, UNLISTEN * and RESET ALL in one simple query.
    pool = await asyncpg.create_pool(host=server.pg_host, port=server.pg_port,
                                     database="rusts", user="rusts", min_size=1, max_size=1,
                                     timeout=CONNECT_SECONDS_MAX, **options)
    try:
        for run in (1, 2):
            async with pool.acquire() as conn:
                checks.expect(f"pool acquire and release, run {run}",
                              await conn.fetchval("SELECT count(*) FROM cpu"), 5)
    finally:
        pool.terminate()


async def run_checks(checks, server):
    conn, options = await open_connection(checks, server)
    try:
        for name, check in [("results", check_results), ("parameters", check_parameters),
                            ("cast parameters", check_cast_parameters),
                            ("LIMIT parameter", check_limit_parameter),
                            ("type introspection", check_introspection),
                            ("cursors", check_cursors), ("errors", check_errors)]:
            with checks.section(name):
                await check(checks, conn)
    finally:
        await conn.close(timeout=CONNECT_SECONDS_MAX)
    with checks.section("pool"):
        await check_pool(checks, server, options)


def main():
    def body(checks, server, _directory):
        with checks.section("asyncpg"):
            asyncio.run(run_checks(checks, server))

    run_with_server("asyncpg", body)


if __name__ == "__main__":
    main()
