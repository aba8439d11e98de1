// Checks that the browser build of the compiler (wasm-bindgen) produces the
// same SQL, result schema and errors as the native build that malloy-cli
// links, for every case of the conformance kit. Both builds are the same
// Rust code, so a difference points at the browser binding or at target-
// dependent behaviour.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { PackageCompiler } from '../src/compiler.js';
import { conformanceKit, loadWasm, readModels, readSchemas } from './support.mjs';
import { REPO_ROOT } from './server.mjs';

const run = promisify(execFile);
const CLI = process.env.MALLOY_CLI_BIN ?? join(REPO_ROOT, 'target', 'debug', 'malloy-cli');
/** The row limit malloy-cli applies to queries that set none. */
const DEFAULT_ROW_LIMIT = 1000;
const PARALLEL = 2;

/** Compiles with malloy-cli: `{ok: true, sql, schema}` or `{ok: false, error}`. */
async function nativeSql(modelFile, query) {
  try {
    const { stdout } = await run(CLI, ['sql', modelFile, query], { maxBuffer: 64 * 1024 * 1024 });
    const output = JSON.parse(stdout);
    return { ok: true, sql: output.sql, schema: output.schema };
  } catch (failure) {
    if (failure.code === 1 && failure.stdout) {
      return { ok: false, error: JSON.parse(failure.stdout).error };
    }
    throw failure;
  }
}

/** Returns the first error the browser build reported, in malloy-cli's 1-based form. */
function firstError(problems) {
  const first = problems.find((problem) => problem.severity === 'error') ?? problems[0];
  return first && {
    code: first.code,
    message: first.message,
    line: first.range.start.line + 1,
    column: first.range.start.character + 1,
  };
}

test('browser and native builds agree on every case', async () => {
  const kit = conformanceKit();
  const root = join(kit, 'package');
  const cases = readFileSync(join(kit, 'cases.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  const compiler = new PackageCompiler(loadWasm(), { files: readModels(root) }, async (missing) => {
    throw new Error(`schemas missing from schemas-conformance.json: ${JSON.stringify(missing)}; rerun tests/record-schemas.mjs`);
  });
  compiler.addSchemas(readSchemas('schemas-conformance.json'));

  const differences = [];
  let compiled = 0;
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const testCase = cases[next++];
      const browser = await compiler.compileQueryFetching({
        modelPath: testCase.model, query: testCase.query, restricted: true, defaultRowLimit: DEFAULT_ROW_LIMIT,
      });
      const native = await nativeSql(join(root, testCase.model), testCase.query);
      compiled += browser.ok ? 1 : 0;
      const difference = compare(browser, native);
      if (difference) {
        differences.push(`${testCase.id}: ${difference}`);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  assert.ok(cases.length >= 300, `only ${cases.length} cases`);
  // Most cases compile; a comparison where both builds fail everything proves little.
  assert.ok(compiled >= cases.length / 2, `only ${compiled} of ${cases.length} cases compiled`);
  assert.deepEqual(differences, []);
});

function compare(browser, native) {
  if (browser.ok !== native.ok) {
    return browser.ok
      ? `only the native build failed: ${JSON.stringify(native.error)}`
      : `only the browser build failed: ${JSON.stringify(firstError(browser.problems))}`;
  }
  if (browser.ok) {
    if (browser.sql !== native.sql) {
      return `SQL differs:\n--- browser\n${browser.sql}\n--- native\n${native.sql}`;
    }
    if (JSON.stringify(browser.schema) !== JSON.stringify(native.schema)) {
      return `schema differs: ${JSON.stringify(browser.schema)} vs ${JSON.stringify(native.schema)}`;
    }
    return null;
  }
  const error = firstError(browser.problems);
  for (const key of ['code', 'message', 'line', 'column']) {
    if (error?.[key] !== native.error[key]) {
      return `error ${key} differs: ${JSON.stringify(error)} vs ${JSON.stringify(native.error)}`;
    }
  }
  return null;
}
