// Records the table and SQL schemas that models use, as our server's
// DuckDB describes them, into fixtures for the tests that need no server
// (the conformance SQL comparison and the jco host test).
//
// Usage: node tests/record-schemas.mjs
// Needs a server built with the playground routes, the built page
// (scripts/build-web.sh) and the conformance kit (CONFORMANCE_DIR).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadPackageCompiler } from '../src/compiler.js';
import { conformanceKit, loadWasm } from './support.mjs';
import { REPO_ROOT, startServer } from './server.mjs';

const PACKAGES = [
  { project: 'conformance', name: 'conformance', location: () => join(conformanceKit(), 'package'), fixture: 'schemas-conformance.json' },
  { project: 'home', name: 'faa', location: () => join(REPO_ROOT, 'malloy-samples', 'faa'), fixture: 'schemas-faa.json' },
];

const wasm = loadWasm();
const server = await startServer({
  frozenConfig: true,
  projects: PACKAGES.map((pkg) => ({ name: pkg.project, packages: [{ name: pkg.name, location: pkg.location() }] })),
});
try {
  for (const pkg of PACKAGES) {
    const compiler = await loadPackageCompiler(wasm, server.url, pkg.project, pkg.name);
    for (const path of Object.keys(compiler.inputs.files)) {
      const output = await compiler.compileModel(path);
      if (!output.ok) {
        throw new Error(`${pkg.name}/${path} does not compile: ${JSON.stringify(output.problems)}`);
      }
    }
    const byKey = (key) => (a, b) => a.connection.localeCompare(b.connection) || a[key].localeCompare(b[key]);
    const schemas = {
      tables: [...compiler.inputs.tables].sort(byKey('table')),
      sqls: [...compiler.inputs.sqls].sort(byKey('sql')),
    };
    const path = join(REPO_ROOT, 'web', 'tests', 'fixtures', pkg.fixture);
    writeFileSync(path, `${JSON.stringify(schemas, null, 1)}\n`);
    console.log(`${path}: ${schemas.tables.length} tables, ${schemas.sqls.length} SQL queries`);
  }
} finally {
  await server.stop();
}
