// Helpers shared by the web tests that run in Node.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

import * as wasm from '../dist/pkg/malloy_compiler.js';
import { REPO_ROOT, WEB_DIST } from './server.mjs';

/** Loads the wasm-bindgen build from web/dist and returns its module namespace. */
export function loadWasm() {
  const path = join(WEB_DIST, 'pkg', 'malloy_compiler_bg.wasm');
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run scripts/build-web.sh first`);
  }
  wasm.initSync({ module: readFileSync(path) });
  return wasm;
}

/** Returns the conformance kit's folder: $CONFORMANCE_DIR, or ../shared/conformance beside the repository. */
export function conformanceKit() {
  const kit = process.env.CONFORMANCE_DIR ?? join(REPO_ROOT, '..', 'shared', 'conformance');
  if (!existsSync(join(kit, 'cases.jsonl'))) {
    throw new Error(`no conformance kit at ${kit}: set CONFORMANCE_DIR`);
  }
  return kit;
}

/** Reads every `.malloy` file under `root` into `{relativePath: text}`. */
export function readModels(root, folder = root, files = {}) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.name.startsWith('.') || entry.name === 'node_modules') {
      continue;
    }
    if (entry.isDirectory()) {
      readModels(root, path, files);
    } else if (entry.name.endsWith('.malloy')) {
      files[relative(root, path)] = readFileSync(path, 'utf8');
    }
  }
  return files;
}

/** Reads a schema fixture recorded by record-schemas.mjs. */
export function readSchemas(name) {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'web', 'tests', 'fixtures', name), 'utf8'));
}
