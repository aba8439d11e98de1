// Opens the playground in Chromium against our server and checks the
// in-page compiler (diagnostics and SQL with no request to the server),
// running a query with a chart, and a notebook.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

import { REPO_ROOT, startServer } from './server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = process.env.PLAYGROUND_SCREENSHOT_DIR;

let server;
let context;
let page;
let work;
/** Every request the page sent, as `METHOD path`. */
const requests = [];

before(async () => {
  // A copy of the faa sample package with a notebook added, so the
  // repository's samples stay untouched.
  work = mkdtempSync(join(tmpdir(), 'malloy-playground-test-'));
  const faa = join(work, 'faa');
  cpSync(join(REPO_ROOT, 'malloy-samples', 'faa'), faa, { recursive: true });
  for (const notebook of ['tour.malloynb', 'broken.malloynb']) {
    cpSync(join(REPO_ROOT, 'web', 'tests', 'fixtures', notebook), join(faa, notebook));
  }
  server = await startServer({
    frozenConfig: true,
    projects: [{
      name: 'home',
      packages: [
        { name: 'faa', location: faa },
        { name: 'ecommerce', location: join(REPO_ROOT, 'malloy-samples', 'ecommerce') },
      ],
    }],
  });
  const inputs = await fetch(`${server.url}/api/v0/projects/home/packages/faa/compile-inputs`);
  assert.equal(inputs.status, 200,
    'the server lacks the playground routes: merge server::playground::router into the router in host/src/server/mod.rs');
  const profile = join(work, 'chromium-profile');
  mkdirSync(profile);
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1400, height: 900 },
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('request', (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (work) {
    rmSync(work, { recursive: true, force: true });
  }
});

const status = () => page.textContent('#status');
const sql = () => page.textContent('#sql');

/** Selects `start..end` of the editor's text, as a user's mouse selection would. */
async function selectEditorText(start, end) {
  await page.evaluate(([from, to]) => {
    const textarea = document.querySelector('#editor textarea');
    textarea.focus();
    textarea.setSelectionRange(from, to);
  }, [start, end]);
}

test('playground loads a model and its sources', async () => {
  await page.goto(`${server.url}/playground/?project=home&package=faa&model=flights.malloy`);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'flights.malloy loaded', null, { timeout: 60_000 });
  const sources = await page.locator('#sources .source h3').allTextContents();
  assert.ok(sources.includes('flights'), `sources: ${sources}`);
  const views = await page.locator('#sources .kind-view button').evaluateAll((buttons) => buttons.map((b) => b.dataset.name));
  assert.ok(views.includes('by_carrier'), `views: ${views}`);
});

test('diagnostics and SQL update with no request', async () => {
  const before = requests.length;
  await page.click('#editor textarea');
  await page.keyboard.type('run: flights -> {\n  group_by: carrier\n  aggregate: flight_count\n}');
  const firstSql = await sql();
  assert.match(firstSql, /COUNT\(1\)/);

  // Turn `carrier` into `carrierx`: an unknown field.
  const text = await page.inputValue('#editor textarea');
  const end = text.indexOf('carrier') + 'carrier'.length;
  await selectEditorText(end, end);
  await page.keyboard.type('x');
  const marked = await page.locator('#editor .diag-error').allTextContents();
  assert.deepEqual(marked, ['carrierx']);
  const problems = await page.locator('#problems li.error').allTextContents();
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^2:13'carrierx' is not defined/);
  assert.equal(await page.textContent('#cursor-problem'), "'carrierx' is not defined");

  // Fix it, and add a limit so the SQL differs from the first version.
  await page.keyboard.press('Backspace');
  assert.equal(await page.locator('#editor .diag-error').count(), 0);
  assert.equal(await page.textContent('#cursor-problem'), '');
  const brace = (await page.inputValue('#editor textarea')).lastIndexOf('}');
  await selectEditorText(brace, brace);
  await page.keyboard.type('  limit: 3\n');
  const lastSql = await sql();
  assert.notEqual(lastSql, firstSql);
  assert.match(lastSql, /LIMIT 3/);
  assert.equal(await page.locator('#problems li').count(), 0);

  assert.deepEqual(requests.slice(before), [], 'typing sent requests');
});

test('inserting a view starts a query', async () => {
  await page.fill('#editor textarea', '');
  const flights = page.locator('#sources .source').filter({ has: page.locator('h3', { hasText: /^flights$/ }) });
  await flights.locator('button.field[data-kind="view"][data-name="by_carrier"]').click();
  assert.equal(await page.inputValue('#editor textarea'), 'run: flights -> by_carrier');
  assert.match(await sql(), /"carrier_nickname"/);
});

test('run shows a table with a nested chart', async () => {
  const query = [
    'run: flights -> {',
    '  group_by: carrier_nickname',
    '  aggregate: flight_count',
    '  order_by: flight_count desc',
    '  limit: 3',
    '  # bar_chart',
    '  nest: by_year is {',
    '    group_by: dep_year is dep_time.year',
    '    aggregate: flight_count',
    '  }',
    '}',
  ].join('\n');
  await page.fill('#editor textarea', query);
  await page.click('#run');
  await page.waitForSelector('#results .result-table', { timeout: 60_000 });

  // The same query straight from the API, to check the page's values.
  const reply = await fetch(`${server.url}/api/v0/projects/home/packages/faa/models/flights.malloy/query`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }),
  });
  assert.equal(reply.status, 200);
  const result = JSON.parse((await reply.json()).result);
  const rows = result.data.array_value.map((row) => row.record_value);
  assert.equal(rows.length, 3);

  const tableRows = page.locator('#results .result > .result-table > tbody > tr');
  assert.equal(await tableRows.count(), 3);
  for (let i = 0; i < rows.length; i++) {
    const cells = tableRows.nth(i).locator(':scope > td');
    assert.equal(await cells.nth(0).textContent(), rows[i][0].string_value);
    const count = rows[i][1].number_value;
    assert.ok(count >= 1000, 'the sample has thousands of flights per carrier');
    assert.equal(await cells.nth(1).textContent(), count.toLocaleString('en-US'));
    assert.match(await cells.nth(1).textContent(), /^\d{1,3}(,\d{3})+$/);
  }
  const charts = page.locator('#results .chart-bar svg');
  assert.equal(await charts.count(), 3);
  assert.ok(await page.locator('#results .chart-bar svg rect.bar').count() >= 3);
  assert.match(await status(), /^3 rows$/);
  if (SCREENSHOT_DIR) {
    await page.evaluate(() => { document.getElementById('sources').scrollTop = 0; });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'playground.png') });
  }
});

test('dashboard with a line chart', async () => {
  const query = [
    '# dashboard',
    'run: flights -> {',
    '  aggregate: flight_count, cancelled_count',
    '  # line_chart',
    '  nest: by_year is {',
    '    group_by: dep_year is dep_time.year',
    '    aggregate: flight_count',
    '  }',
    '}',
  ].join('\n');
  await page.fill('#editor textarea', query);
  assert.equal(await page.locator('#problems li').count(), 0, await page.textContent('#problems'));
  await page.click('#run');
  await page.waitForSelector('#results .dashboard', { timeout: 60_000 });

  const reply = await fetch(`${server.url}/api/v0/projects/home/packages/faa/models/flights.malloy/query`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }),
  });
  const row = JSON.parse((await reply.json()).result).data.array_value[0].record_value;
  const labels = await page.locator('#results .dashboard-label').allTextContents();
  assert.deepEqual(labels, ['flight_count', 'cancelled_count']);
  const values = await page.locator('#results .dashboard-value').allTextContents();
  assert.deepEqual(values, [row[0].number_value.toLocaleString('en-US'), row[1].number_value.toLocaleString('en-US')]);
  const years = row[2].array_value.length;
  assert.ok(years >= 2);
  const points = await page.getAttribute('#results .chart-line polyline', 'points');
  assert.equal(points.trim().split(/\s+/).length, years);
});

test('schema route rejects unused tables', async () => {
  const schemas = `${server.url}/api/v0/projects/home/packages/faa/compile-inputs/schemas`;
  const describe = (tables) => fetch(schemas, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tables }),
  });
  const used = await describe([{ connection: 'duckdb', table: 'data/carriers.parquet' }]);
  assert.equal(used.status, 200);
  const columns = (await used.json()).tables[0].columns.map((column) => column.name);
  assert.ok(columns.includes('code'), `columns: ${columns}`);
  for (const table of ['/etc/passwd', 'data', 'carriers.parquet']) {
    const reply = await describe([{ connection: 'duckdb', table }]);
    assert.equal(reply.status, 400, table);
    assert.match((await reply.json()).message, /does not occur in any model/);
  }
  const invalid = await fetch(schemas, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"tables": 3}' });
  assert.equal(invalid.status, 400);
});

test('notebook renders markdown and results', async () => {
  const before = requests.length;
  await page.selectOption('#notebook', 'tour.malloynb');
  await page.waitForFunction(
    () => document.querySelectorAll('#notebook-view .notebook-result').length === 2
      && [...document.querySelectorAll('#notebook-view .notebook-result')].every((cell) => cell.textContent !== 'Running…'),
    null,
    { timeout: 60_000 },
  );
  assert.ok(await page.isHidden('#workspace'), 'the query workspace is hidden behind the notebook');
  assert.equal(await page.textContent('#notebook-view .markdown h1'), 'Flights tour');
  assert.equal(await page.textContent('#notebook-view .markdown strong'), 'largest first');
  assert.equal(await page.locator('#notebook-view .run-error').count(), 0, await page.textContent('#notebook-view'));
  const yearRows = page.locator('#notebook-view .notebook-result').nth(0).locator('tbody > tr');
  assert.ok(await yearRows.count() >= 2);
  assert.match(await yearRows.nth(0).locator('td').nth(0).textContent(), /^\d{4}$/);
  const bars = page.locator('#notebook-view .notebook-result').nth(1).locator('svg rect.bar');
  assert.equal(await bars.count(), 5);
  // The notebook endpoint runs the cells, so the page sends no queries.
  const sent = requests.slice(before);
  assert.ok(sent.includes('GET /api/v0/projects/home/packages/faa/notebooks/tour.malloynb'), sent.join('\n'));
  assert.deepEqual(sent.filter((request) => request.startsWith('POST')), []);
  if (SCREENSHOT_DIR) {
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'playground-notebook.png'), fullPage: true });
    await page.locator('#notebook-view .chart-bar').first().screenshot({ path: join(SCREENSHOT_DIR, 'playground-chart.png') });
  }
});

test('broken notebook runs cell by cell', async () => {
  const before = requests.length;
  await page.selectOption('#notebook', 'broken.malloynb');
  await page.waitForFunction(
    () => document.querySelector('#notebook-view h2')?.textContent === 'broken.malloynb'
      && document.querySelectorAll('#notebook-view .run-error').length === 1
      && document.querySelectorAll('#notebook-view .notebook-result table').length === 1,
    null,
    { timeout: 60_000 },
  );
  assert.equal(await page.textContent('#notebook-view .run-error'), "'no_such_field' is not defined");
  assert.match(await status(), /^The server could not run broken\.malloynb, so each cell runs on its own: .*no_such_field/s);
  const posts = requests.slice(before).filter((request) => request.startsWith('POST'));
  assert.deepEqual(posts, [
    'POST /api/v0/projects/home/packages/faa/models/flights.malloy/query',
    'POST /api/v0/projects/home/packages/faa/models/flights.malloy/query',
  ]);
});
