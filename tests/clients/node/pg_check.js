// node-postgres (`pg`) against a running RusTs holding the data set of rusts_server.py: plain
// (simple protocol) and parameterised (extended protocol, text parameters of unknown type)
// queries, pg's default type parsing (float8 as number, int8 as string, timestamptz as Date,
// bool), Postgres's exact text output, errors' `code`, a failed transaction and a pool.
// Started by ../node_pg_check.py; exits 1 on any mismatch.
//
// usage: node pg_check.js HOST PORT
'use strict';

const util = require('node:util');
const { Client, Pool } = require('pg');

const CPU_QUERY = 'SELECT time, host, usage, count, ok, note FROM cpu ORDER BY time, host';
const CPU_TYPE_IDS = [1184, 25, 701, 20, 16, 25];
// CPU_QUERY as pg parses it by default; Date keeps milliseconds only.
const CPU_ROWS = [
  ['1969-12-31T23:59:59.999Z', 'c', -1.7976931348623157e308, '9223372036854775807', false, ''],
  ['2023-11-14T22:13:20.123Z', 'a', 10.5, '1', true, 'first'],
  ['2023-11-14T22:13:20.123Z', 'b', 20.25, '-9007199254740993', false, 'second "quoted"'],
  ['2023-11-14T22:13:30.000Z', 'a', 0.1, '3', true, 'third'],
  ['2023-11-14T22:13:40.000Z', 'd', 0.5, null, null, null],
];
// CPU_QUERY's text exactly as Postgres prints it (session TimeZone UTC).
const CPU_TEXT = [
  ['1969-12-31 23:59:59.999999+00', 'c', '-1.7976931348623157e+308', '9223372036854775807',
    'f', ''],
  ['2023-11-14 22:13:20.123456+00', 'a', '10.5', '1', 't', 'first'],
  ['2023-11-14 22:13:20.123456+00', 'b', '20.25', '-9007199254740993', 'f', 'second "quoted"'],
  ['2023-11-14 22:13:30.000001+00', 'a', '0.1', '3', 't', 'third'],
  ['2023-11-14 22:13:40+00', 'd', '0.5', null, null, null],
];
const RAW_TEXT = { getTypeParser: () => (text) => text };

const failed = [];
let passed = 0;

function expect(what, got, wanted) {
  if (util.isDeepStrictEqual(got, wanted)) {
    passed += 1;
    console.log(`ok: ${what}`);
    return;
  }
  failed.push(what);
  console.log(`FAIL: ${what}: expected\n  ${util.inspect(wanted, { depth: null })}\n`
    + `got\n  ${util.inspect(got, { depth: null })}`);
}

// An exception inside fails `what` and lets the next section run.
async function section(what, body) {
  try {
    await body();
  } catch (error) {
    failed.push(what);
    console.log(`FAIL: ${what}: raised ${error && error.stack ? error.stack : error}`);
  }
}

// Row values with Dates as ISO strings, so rows compare as plain data.
function plain(rows) {
  return rows.map((row) => row.map((value) => (value instanceof Date
    ? value.toISOString() : value)));
}

async function checkPlain(client) {
  const result = await client.query({ text: CPU_QUERY, rowMode: 'array' });
  expect('plain query command and rowCount', [result.command, result.rowCount], ['SELECT', 5]);
  expect('plain query field types', result.fields.map((field) => field.dataTypeID),
    CPU_TYPE_IDS);
  expect('timestamptz parsed as Date', result.rows[0][0] instanceof Date, true);
  expect('plain query rows (pg default parsers)', plain(result.rows), CPU_ROWS);
  const raw = await client.query({ text: CPU_QUERY, rowMode: 'array', types: RAW_TEXT });
  expect('plain query text exactly as Postgres prints it', raw.rows, CPU_TEXT);
  const objects = await client.query("SELECT host, usage FROM cpu WHERE host = 'b'");
  expect('rows as objects', objects.rows, [{ host: 'b', usage: 20.25 }]);
  const count = await client.query('SELECT count(*) AS n FROM cpu');
  expect('count(*) is int8, a string', count.rows, [{ n: '5' }]);
  const total = await client.query('SELECT total FROM mem');
  expect('unsigned field as numeric (a string)',
    [total.fields[0].dataTypeID, total.rows], [1700, [{ total: '18446744073709551615' }]]);
}

async function checkParameters(client) {
  const filtered = 'SELECT host, count FROM cpu WHERE count >= $1 AND usage < $2'
    + ' AND region = $3 AND ok = $4 AND time > $5 ORDER BY time, host';
  // pg writes a Date in the process's local zone (TZ, set by the driver) with its offset.
  const after = new Date('2023-11-14T22:13:20.124Z');
  const result = await client.query({
    text: filtered, values: [1, 20.0, 'eu', true, after], rowMode: 'array',
  });
  expect('$n parameters: number, text, bool, Date', result.rows, [['a', '3']]);
  const exact = await client.query('SELECT host FROM cpu WHERE time = $1',
    ['2023-11-14 22:13:30.000001+00']);
  expect('timestamptz parameter keeps microseconds', exact.rows, [{ host: 'a' }]);
  const big = await client.query('SELECT host FROM cpu WHERE count = $1',
    ['-9007199254740993']);
  expect('int8 parameter beyond 2^53 as a string', big.rows, [{ host: 'b' }]);
  const none = await client.query('SELECT host FROM cpu WHERE count = $1', [null]);
  expect('null parameter matches nothing', none.rows, []);
  const cast = await client.query({
    text: 'SELECT $1::int8 AS a, $2::float8 AS b, $3::text AS c, $4::bool AS d,'
      + ' $5::timestamptz AS e',
    values: ['-9007199254740993', 0.1, "x'y", false, new Date(Date.UTC(1969, 11, 31, 23, 59,
      59, 999))],
    rowMode: 'array',
  });
  expect('cast parameters echoed', [cast.fields.map((field) => field.dataTypeID),
    plain(cast.rows)], [[20, 701, 25, 16, 1184],
    [['-9007199254740993', 0.1, "x'y", false, '1969-12-31T23:59:59.999Z']]]);
  const echo = await client.query('SELECT $1 AS a', ['x']);
  expect('unknown parameter in the select list is text',
    [echo.fields[0].dataTypeID, echo.rows], [25, [{ a: 'x' }]]);
  const prepared = { name: 'cpu_by_host', text: 'SELECT count FROM cpu WHERE host = $1'
    + ' ORDER BY time', rowMode: 'array' };
  for (const [host, wanted] of [['a', [['1'], ['3']]], ['c', [['9223372036854775807']]]]) {
    const rows = (await client.query({ ...prepared, values: [host] })).rows;
    expect(`named prepared statement, host ${host}`, rows, wanted);
  }
}

// Postgres types LIMIT and OFFSET parameters as int8; pg sends 2 and 1 as untyped text.
async function checkLimit(client) {
  const page = await client.query({
    text: 'SELECT host FROM cpu ORDER BY time, host LIMIT $1 OFFSET $2', values: [2, 1],
  });
  expect('LIMIT $1 OFFSET $2', page.rows, [{ host: 'a' }, { host: 'b' }]);
}

async function expectCode(client, text, values, code) {
  const what = `${text} gives code ${code}`;
  try {
    await client.query(text, values);
    expect(what, 'no error', code);
  } catch (error) {
    expect(what, [error.code, error.severity], [code, 'ERROR']);
  }
}

async function checkErrors(client) {
  await expectCode(client, 'SELECT * FROM nope', undefined, '42P01');
  await expectCode(client, 'SELECT 1/0', undefined, '22012');
  await expectCode(client, 'SELEC 1', undefined, '42601');
  await expectCode(client, 'SELECT count / $1 FROM cpu', [0], '22012');
  await expectCode(client, 'SELECT host FROM cpu WHERE count = $1', ['abc'], '22P02');
  expect('usable after errors', (await client.query('SELECT 2::int8 AS n')).rows,
    [{ n: '2' }]);
  await client.query('BEGIN');
  await expectCode(client, 'SELECT * FROM nope', undefined, '42P01');
  await expectCode(client, 'SELECT 1', undefined, '25P02');
  await client.query('ROLLBACK');
  expect('usable after ROLLBACK', (await client.query('SELECT count(*) AS n FROM cpu')).rows,
    [{ n: '5' }]);
}

async function checkPool(options) {
  const pool = new Pool({ ...options, max: 1 });
  try {
    for (const run of [1, 2]) {
      const rows = (await pool.query('SELECT host FROM cpu WHERE ok ORDER BY time')).rows;
      expect(`pool query, run ${run}`, rows, [{ host: 'a' }, { host: 'a' }]);
    }
  } finally {
    await pool.end();
  }
}

async function main() {
  const [host, port] = process.argv.slice(2);
  const options = {
    host, port: Number(port), database: 'rusts', user: 'rusts', connectionTimeoutMillis: 10000,
  };
  const client = new Client(options);
  await client.connect();
  try {
    await section('plain queries', () => checkPlain(client));
    await section('parameters', () => checkParameters(client));
    await section('LIMIT $1 OFFSET $2', () => checkLimit(client));
    await section('errors', () => checkErrors(client));
  } finally {
    await client.end();
  }
  await section('pool', () => checkPool(options));
  console.log(`\nnode-postgres: ${passed} passed, ${failed.length} failed`);
  for (const what of failed) {
    console.log(`  failed: ${what}`);
  }
  process.exitCode = failed.length === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
