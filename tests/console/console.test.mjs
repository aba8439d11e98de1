// Walks the official Malloy Publisher web console (@malloy-publisher/app,
// fetched by scripts/fetch-console.sh) served by our server, in headless
// Chromium: home -> environment -> package -> model, runs a view and reads
// the result table, then opens a notebook and reads its cell results. The
// walk is done on the conformance package and on the sample packages.
//
// Every API reply the console receives must be a success, except the 404s
// of dashboards and data apps, which the console treats as empty lists.
// Requests to any host other than the server are aborted, so the console's
// Google Fonts link never leaves the machine.
//
// Environment: MALLOY_PUBLISHER_BIN (default target/debug/malloy-publisher),
// CHROMIUM_PATH (default /usr/bin/chromium), CONFORMANCE_DIR (default
// ../shared/conformance beside the repository; the conformance walk is
// skipped without it), CONSOLE_SCREENSHOT_DIR (keep the screenshots there).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONSOLE_DIR = join(REPO_ROOT, '.deps', 'console', 'dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BINARY = process.env.MALLOY_PUBLISHER_BIN ?? join(REPO_ROOT, 'target', 'debug', 'malloy-publisher');
const CONFORMANCE = join(process.env.CONFORMANCE_DIR ?? join(REPO_ROOT, '..', 'shared', 'conformance'), 'package');
const SAMPLES = join(REPO_ROOT, 'malloy-samples');
/** API paths whose 404 the console treats as an empty list. */
const TOLERATED_404 = [/\/dashboards$/, /\/data-apps$/];

let work;
let screenshots;
let server;
let context;
let page;
/** API replies with a status of 400 or more, as `STATUS METHOD path`. */
const failedRequests = [];
const pageErrors = [];
let step = 0;

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** Starts the server with `config` and the console; returns `{url, stop, log}`. */
async function startServer(config) {
  const port = await freePort();
  const configPath = join(work, 'publisher.config.json');
  writeFileSync(configPath, JSON.stringify(config));
  const logPath = join(work, 'server.log');
  const child = spawn(BINARY, [
    '--host', '127.0.0.1', '--port', String(port), '--config', configPath, '--console', CONSOLE_DIR,
  ], {
    cwd: work,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    stdio: ['ignore', openSync(logPath, 'w'), openSync(logPath, 'a')],
  });
  const exited = new Promise((resolveExit) => child.on('exit', resolveExit));
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFileSync(logPath, 'utf8');
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  for (let attempt = 0; attempt < 240; attempt++) {
    if (child.exitCode !== null) {
      throw new Error(`the server exited with status ${child.exitCode}; its log:\n${log()}`);
    }
    try {
      const status = await (await fetch(`${url}/api/v0/status`)).json();
      if (status.initialized) {
        return { url, stop, log };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
  await stop();
  throw new Error(`the server did not finish loading within 120 s; its log:\n${log()}`);
}

before(async () => {
  assert.ok(existsSync(join(CONSOLE_DIR, 'index.html')), `${CONSOLE_DIR} is missing: run scripts/fetch-console.sh`);
  assert.ok(existsSync(BINARY), `${BINARY} is missing: run cargo build -p malloy-publisher`);
  work = mkdtempSync(join(tmpdir(), 'malloy-console-test-'));
  screenshots = process.env.CONSOLE_SCREENSHOT_DIR ?? join(work, 'screenshots');
  mkdirSync(screenshots, { recursive: true });

  const packages = [
    { name: 'ecommerce', location: join(SAMPLES, 'ecommerce') },
    { name: 'movies', location: join(SAMPLES, 'movies') },
  ];
  if (existsSync(CONFORMANCE)) {
    packages.push({ name: 'conformance', location: CONFORMANCE });
  }
  server = await startServer({ frozenConfig: true, environments: [{ name: 'home', packages }] });

  const profile = join(work, 'chromium-profile');
  mkdirSync(profile);
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1400, height: 1000 },
  });
  const origin = new URL(server.url).origin;
  await context.route('**/*', (route) => (
    new URL(route.request().url()).origin === origin ? route.continue() : route.abort()
  ));
  page = context.pages()[0] ?? await context.newPage();
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.origin !== origin || !url.pathname.startsWith('/api/') || response.status() < 400) {
      return;
    }
    if (response.status() === 404 && TOLERATED_404.some((pattern) => pattern.test(url.pathname))) {
      return;
    }
    failedRequests.push(`${response.status()} ${response.request().method()} ${url.pathname}${url.search}`);
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (work) {
    if (process.env.CONSOLE_SCREENSHOT_DIR) {
      console.log(`screenshots in ${screenshots}`);
    }
    rmSync(work, { recursive: true, force: true });
  }
});

/** Saves a screenshot named after the step, in walk order. */
async function shoot(name) {
  step += 1;
  await page.screenshot({ path: join(screenshots, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** Waits until the page shows every one of `texts`. */
async function waitForTexts(texts, timeout = 60_000) {
  await page.waitForFunction(
    (expectedTexts) => expectedTexts.every((text) => document.body.innerText.includes(text)),
    texts,
    { timeout },
  ).catch(async (error) => {
    const pageText = await page.locator('body').innerText();
    throw new Error(`the page never showed ${JSON.stringify(texts)} (${error.message}); it shows:\n${pageText.slice(0, 3000)}`);
  });
}

/** Waits until the page's path is `path`, with or without a final slash. */
async function waitForPath(path) {
  const expectedPath = decodeURIComponent(path).replace(/\/$/, '');
  await page.waitForURL(
    (url) => decodeURIComponent(url.pathname).replace(/\/$/, '') === expectedPath,
    { waitUntil: 'commit', timeout: 30_000 },
  ).catch((error) => {
    throw new Error(`expected to reach ${path}, but the page is at ${page.url()}: ${error.message}`);
  });
}

/** Returns texts the console renders for a result row: strings, and integers with thousands separators. */
function renderedValues(row) {
  return Object.values(row)
    .filter((value) => typeof value === 'string' || Number.isInteger(value))
    .map((value) => (typeof value === 'string' ? value : value.toLocaleString('en-US')));
}

function expectedRows(pkg, file) {
  return JSON.parse(readFileSync(join(SAMPLES, pkg, 'expected', file), 'utf8'));
}

function assertApiHealthy() {
  assert.deepEqual(failedRequests, [], 'the console received API errors');
  assert.deepEqual(pageErrors, [], 'the console threw errors');
}

/** Opens the home page, then the environment, then the package, by clicking. */
async function openPackage(pkg, description) {
  await page.goto(`${server.url}/`);
  await waitForTexts(['Environments', 'home']);
  await shoot('home');
  await page.getByText('home', { exact: true }).filter({ visible: true }).last().click();
  await waitForPath(`/home/`);
  await waitForTexts(['Packages', pkg, description]);
  await shoot('environment');
  await page.getByText(pkg, { exact: true }).filter({ visible: true }).last().click();
  await waitForPath(`/home/${pkg}/`);
  await waitForTexts(['Notebooks', 'Semantic Models']);
  await shoot(`package-${pkg}`);
}

/** Opens a model from the package page, picks a source and runs its first bookmarked view. */
async function runFirstView(pkg, model, source, expected) {
  await page.getByText(model, { exact: true }).filter({ visible: true }).first().click();
  await waitForPath(`/home/${pkg}/${model}`);
  await waitForTexts(['Sources', 'Main query']);
  await page.getByRole('combobox').first().click();
  await page.getByRole('option', { name: source, exact: true }).click();
  await waitForTexts(['Start with a Bookmarked View']);
  await shoot(`model-${pkg}`);
  await page.getByRole('button', { name: 'Add', exact: true }).first().click();
  const run = page.getByRole('button', { name: 'Run', exact: true });
  await run.click();
  await waitForTexts(['Results', ...renderedValues(expected[0]), ...renderedValues(expected.at(-1))]);
  await shoot(`result-${pkg}`);
}

/** Opens a notebook from the package page and waits for its cell results. */
async function openNotebook(pkg, title, notebook, texts) {
  await page.goto(`${server.url}/home/${pkg}/`);
  await waitForTexts(['Notebooks']);
  await page.getByText(title, { exact: true }).filter({ visible: true }).first().click();
  await waitForPath(`/home/${pkg}/${notebook}`);
  await waitForTexts([title, ...texts]);
  await shoot(`notebook-${pkg}`);
}

test('console walks the conformance package', async () => {
  assert.ok(existsSync(CONFORMANCE), `no conformance kit at ${CONFORMANCE}: set CONFORMANCE_DIR`);
  await openPackage('conformance', 'Malloy models over the FAA');
  await runFirstView('conformance', 'faa.malloy', 'flights', [
    { nickname: 'American', flight_count: 86765 },
    { nickname: 'USAir', flight_count: 7609 },
  ]);
  // Cells 2 and 4 of overview.malloynb: the yearly counts and the carriers.
  await openNotebook('conformance', 'Conformance package overview', 'overview.malloynb',
    ['57,783', '57,113', 'American', '86,765', 'Jetblue']);
  assertApiHealthy();
});

test('console walks the ecommerce sample', async () => {
  await openPackage('ecommerce', 'Four years of generated orders');
  await runFirstView('ecommerce', 'sales.malloy', 'sales', expectedRows('ecommerce', 'sales.sales.by_status.json'));
  const growth = expectedRows('ecommerce', 'sales-overview.cell3.json');
  await openNotebook('ecommerce', 'Clothing shop sales', 'sales-overview.malloynb',
    [...renderedValues(growth[0]), ...renderedValues(growth.at(-1))]);
  assertApiHealthy();
});

test('console walks the movies sample', async () => {
  await openPackage('movies', 'A generated film catalog');
  await runFirstView('movies', 'catalog.malloy', 'titles', expectedRows('movies', 'catalog.titles.by_type.json'));
  const genres = expectedRows('movies', 'film-tour.cell3.json');
  await openNotebook('movies', 'A tour of the film catalog', 'film-tour.malloynb',
    [...renderedValues(genres[0]), ...renderedValues(genres.at(-1))]);
  assertApiHealthy();
});

test('console routes fall back to the page, API paths do not', async () => {
  const page404 = await fetch(`${server.url}/home/ecommerce/sales.malloy`);
  assert.equal(page404.status, 200);
  assert.match(await page404.text(), /<div id="root">/);
  const api404 = await fetch(`${server.url}/api/v0/no-such-route`);
  assert.equal(api404.status, 404);
  assert.equal((await api404.json()).code, 404);
  const asset404 = await fetch(`${server.url}/assets/no-such-file.js`);
  assert.equal(asset404.status, 404);
  const theme = await fetch(`${server.url}/api/v0/theme`);
  assert.deepEqual(await theme.json(), {});
});
