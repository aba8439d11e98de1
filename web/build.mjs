// Copies the page's sources into dist/, beside the wasm-bindgen output in
// dist/pkg/. The page is plain ES modules, so no bundling is needed.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
if (!existsSync(join(dist, 'pkg', 'malloy_compiler.js'))) {
  console.error('build.mjs: dist/pkg/malloy_compiler.js is missing; run scripts/build-web.sh');
  process.exit(1);
}
mkdirSync(dist, { recursive: true });
cpSync(join(root, 'src'), dist, { recursive: true });
console.log(`Copied src/ to ${dist}`);
