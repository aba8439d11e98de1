// Starts our server (target/debug/malloy-publisher) on a free loopback port
// for the web tests, serving the built page from web/dist.

import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB_DIST = join(REPO_ROOT, 'web', 'dist');

/** Returns a free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the server with `config` (a publisher.config.json object), or with
 * its default configuration (malloy-samples as project `home`) when
 * `config` is null. Returns `{url, stop, log}`.
 */
export async function startServer(config = null) {
  const binary = process.env.MALLOY_PUBLISHER_BIN ?? join(REPO_ROOT, 'target', 'debug', 'malloy-publisher');
  const work = mkdtempSync(join(tmpdir(), 'malloy-web-test-'));
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port)];
  if (config) {
    writeFileSync(join(work, 'publisher.config.json'), JSON.stringify(config));
    args.push('--config', join(work, 'publisher.config.json'));
  }
  const logPath = join(work, 'server.log');
  const logFile = openSync(logPath, 'w');
  const child = spawn(binary, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, MALLOY_PLAYGROUND_DIR: WEB_DIST, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    stdio: ['ignore', logFile, logFile],
  });
  const exited = new Promise((resolveExit) => child.on('exit', resolveExit));
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFileSync(logPath, 'utf8');
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 240; attempt++) {
    if (child.exitCode !== null) {
      const text = log();
      await stop();
      throw new Error(`the server exited with status ${child.exitCode}; its log:\n${text}`);
    }
    try {
      const response = await fetch(`${url}/api/v0/status`);
      if (response.ok) {
        return { url, stop, log };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
  await stop();
  throw new Error(`the server did not answer on ${url} within 60 s`);
}

/** Waits until every package of `project` has loaded, so tests do not race the loader. */
export async function waitForPackages(url, project) {
  const packages = await (await fetch(`${url}/api/v0/projects/${project}/packages`)).json();
  return packages.map((pkg) => pkg.name);
}
