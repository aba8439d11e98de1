// Runs the compiler component (target/wasm32-wasip2) under a second
// WebAssembly host. jco transpiles it to JavaScript, and this file
// implements the `host` interface of wit/malloy-compiler.wit. Model files
// come from disk and table schemas from a fixture recorded from our
// server, so no DuckDB is involved.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { cli, io, random } from '@bytecodealliance/preview2-shim';

import { PackageCompiler } from '../src/compiler.js';
import { loadWasm, readModels, readSchemas } from './support.mjs';
import { REPO_ROOT } from './server.mjs';

const COMPONENT = process.env.MALLOY_COMPILER_WASM
  ?? join(REPO_ROOT, 'target', 'wasm32-wasip2', 'release', 'malloy_compiler.wasm');
const PACKAGE_ROOT = join(REPO_ROOT, 'malloy-samples', 'faa');

let work;
let compiler;
/** The host calls the component made, as `function(argument)`. */
const hostCalls = [];
/** Tables whose schema lookups fail, to test error results. */
const failingTables = new Set();

/** Throws a value that jco turns into the `err` case of a `result`. */
function fail(message) {
  throw { payload: message };
}

const schemas = readSchemas('schemas-faa.json');

const host = {
  readFile(path) {
    hostCalls.push(`readFile(${path})`);
    const full = normalize(join(PACKAGE_ROOT, path));
    if (!full.startsWith(`${PACKAGE_ROOT}/`) || !existsSync(full)) {
      fail(`file '${path}' does not exist`);
    }
    return readFileSync(full, 'utf8');
  },
  tableSchema(connection, table) {
    hostCalls.push(`tableSchema(${connection}, ${table})`);
    if (failingTables.has(table)) {
      fail(`table '${table}' is unavailable`);
    }
    const found = schemas.tables.find((entry) => entry.connection === connection && entry.table === table);
    if (!found) {
      fail(`table '${table}' is not in the fixture`);
    }
    return found.columns.map((column) => ({ name: column.name, sqlType: column.sql_type }));
  },
  sqlSchema(connection, sql) {
    hostCalls.push(`sqlSchema(${connection})`);
    const found = schemas.sqls.find((entry) => entry.connection === connection && entry.sql === sql);
    if (!found) {
      fail('the SQL query is not in the fixture');
    }
    return found.columns.map((column) => ({ name: column.name, sqlType: column.sql_type }));
  },
};

before(async () => {
  assert.ok(existsSync(COMPONENT), `${COMPONENT} is missing: run scripts/setup.sh`);
  work = mkdtempSync(join(tmpdir(), 'malloy-jco-'));
  const jco = join(REPO_ROOT, 'web', 'node_modules', '.bin', 'jco');
  execFileSync(jco, ['transpile', COMPONENT, '-o', work, '--instantiation', 'async', '--no-typescript', '--quiet'], { stdio: 'inherit' });
  const { instantiate } = await import(pathToFileURL(join(work, 'malloy_compiler.js')).href);
  const wasi = {
    'wasi:cli/environment': cli.environment,
    'wasi:cli/exit': cli.exit,
    'wasi:cli/stderr': cli.stderr,
    'wasi:cli/stdin': cli.stdin,
    'wasi:cli/stdout': cli.stdout,
    'wasi:cli/terminal-input': cli.terminalInput,
    'wasi:cli/terminal-output': cli.terminalOutput,
    'wasi:cli/terminal-stderr': cli.terminalStderr,
    'wasi:cli/terminal-stdin': cli.terminalStdin,
    'wasi:cli/terminal-stdout': cli.terminalStdout,
    'wasi:io/error': io.error,
    'wasi:io/poll': io.poll,
    'wasi:io/streams': io.streams,
    'wasi:random/insecure-seed': random.insecureSeed,
  };
  const root = await instantiate(
    async (name) => WebAssembly.compile(await readFile(join(work, name))),
    { 'malloy:compiler/host': host, ...wasi },
  );
  compiler = root.compiler;
});

after(() => {
  if (work) {
    rmSync(work, { recursive: true, force: true });
  }
});

/** Calls an export and returns the `err` payload it throws. */
function problemsOf(call) {
  try {
    call();
  } catch (error) {
    assert.ok(Array.isArray(error.payload), `unexpected error: ${error}`);
    return error.payload;
  }
  assert.fail('the call succeeded');
}

const QUERY = 'run: flights -> {\n  group_by: carrier\n  aggregate: flight_count\n  limit: 3\n}';

test('compileModel reads imports through the host', () => {
  hostCalls.length = 0;
  const output = compiler.compileModel('fleet.malloy');
  assert.deepEqual(output.problems, []);
  assert.ok(hostCalls.includes('readFile(fleet.malloy)'));
  assert.ok(hostCalls.includes('readFile(flights.malloy)'));
  assert.ok(hostCalls.includes('tableSchema(duckdb, data/flights.parquet)'));
  const names = output.sources.map((source) => source.name);
  // Imported sources are not re-exported, so only fleet.malloy's own appear.
  assert.ok(names.includes('fleet'), `sources: ${names}`);
  assert.ok(!names.includes('flights'), `sources: ${names}`);
  const modelInfo = JSON.parse(output.modelInfo);
  assert.ok(modelInfo.entries.some((entry) => entry.name === 'fleet'));
});

test('compileQuery returns SQL and schema', () => {
  const output = compiler.compileQuery({
    modelPath: 'flights.malloy', query: { tag: 'text', val: QUERY }, restricted: true, defaultRowLimit: 1000n,
  });
  assert.equal(output.connectionName, 'duckdb');
  assert.match(output.sql, /FROM 'data\/flights\.parquet' AS base/);
  assert.match(output.sql, /COUNT\(1\) AS "flight_count"/);
  assert.match(output.sql, /LIMIT 3/);
  assert.equal(output.rowLimit, 3n);
  const schema = JSON.parse(output.schema);
  assert.deepEqual(schema.fields.map((field) => [field.kind, field.name, field.type.kind]), [
    ['dimension', 'carrier', 'string_type'],
    ['dimension', 'flight_count', 'number_type'],
  ]);
  assert.equal(schema.fields[1].type.subtype, 'integer');
});

test('component and browser builds give the same SQL', () => {
  const component = compiler.compileQuery({
    modelPath: 'flights.malloy', query: { tag: 'text', val: QUERY }, restricted: true, defaultRowLimit: 1000n,
  });
  const browser = new PackageCompiler(loadWasm(), { files: readModels(PACKAGE_ROOT) }, async () => {
    throw new Error('schemas-faa.json lacks a schema');
  });
  browser.addSchemas(schemas);
  const output = browser.compileQuery({ modelPath: 'flights.malloy', query: QUERY, restricted: true, defaultRowLimit: 1000 });
  assert.equal(output.ok, true);
  assert.equal(output.sql, component.sql);
  assert.deepEqual(output.schema, JSON.parse(component.schema));
});

test('compileQuery reports problems with ranges', () => {
  const problems = problemsOf(() => compiler.compileQuery({
    modelPath: 'flights.malloy', query: { tag: 'text', val: 'run: flights -> { group_by: carrierx }' }, restricted: true,
  }));
  assert.equal(problems.length, 1);
  assert.equal(problems[0].code, 'field-not-found');
  assert.equal(problems[0].severity, 'error');
  assert.equal(problems[0].url, 'query');
  assert.deepEqual(problems[0].range, { start: { line: 0, character: 28 }, end: { line: 0, character: 36 } });
});

test('host errors become problems', () => {
  failingTables.add('data/carriers.parquet');
  try {
    const problems = problemsOf(() => compiler.compileModel('flights.malloy'));
    const failed = problems.find((problem) => problem.message.includes("table 'data/carriers.parquet' is unavailable"));
    assert.ok(failed, JSON.stringify(problems));
    assert.equal(failed.url, 'flights.malloy');
  } finally {
    failingTables.clear();
  }
  assert.deepEqual(problemsOf(() => compiler.compileModel('missing.malloy')).map((problem) => problem.url), ['missing.malloy']);
});
