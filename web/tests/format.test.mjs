// Checks the page's value formatting and notebook parsing, which need no
// browser.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cellValue, formatValue, isCalculation, renderTags } from '../src/format.js';
import { cellRequest, hasRun, parseNotebook, resolvePath } from '../src/notebook.js';

const integer = { kind: 'number_type', subtype: 'integer' };
const decimal = { kind: 'number_type', subtype: 'decimal' };

test('numbers get thousands separators', () => {
  assert.equal(formatValue(1234567, integer), '1,234,567');
  assert.equal(formatValue(-1234.5678, decimal), '-1,234.568');
  assert.equal(formatValue(0.5, { kind: 'number_type' }), '0.5');
  const big = cellValue({ kind: 'number_cell', number_value: 12345678901234568, string_value: '12345678901234567' }, integer);
  assert.equal(formatValue(big, { kind: 'number_type', subtype: 'bigint' }), '12,345,678,901,234,567');
});

test('dates follow their timeframe', () => {
  const instant = '2024-03-05T14:07:09.000Z';
  assert.equal(formatValue(instant, { kind: 'date_type' }), '2024-03-05');
  assert.equal(formatValue(instant, { kind: 'date_type', timeframe: 'month' }), '2024-03');
  assert.equal(formatValue(instant, { kind: 'date_type', timeframe: 'quarter' }), '2024-Q1');
  assert.equal(formatValue(instant, { kind: 'date_type', timeframe: 'year' }), '2024');
  assert.equal(formatValue(instant, { kind: 'timestamp_type' }), '2024-03-05 14:07:09');
  assert.equal(formatValue(instant, { kind: 'timestamp_type', timeframe: 'minute' }), '2024-03-05 14:07');
  assert.equal(formatValue(instant, { kind: 'timestamp_type', timeframe: 'day' }), '2024-03-05');
});

test('null and nested cells', () => {
  assert.equal(formatValue(null, integer), '∅');
  const nested = cellValue(
    { kind: 'array_cell', array_value: [{ kind: 'record_cell', record_value: [{ kind: 'string_cell', string_value: 'a' }] }] },
    { kind: 'array_type', element_type: { kind: 'record_type', fields: [{ name: 'x', type: { kind: 'string_type' } }] } },
  );
  assert.deepEqual(nested.rows, [['a']]);
  assert.equal(nested.fields[0].name, 'x');
});

test('render tags skip metadata lines', () => {
  const tags = renderTags([{ value: '# bar_chart\n' }, { value: '#(malloy) calculation\n' }, { value: '#" doc text\n' }]);
  assert.deepEqual([...tags], ['bar_chart']);
  assert.equal(isCalculation({ annotations: [{ value: '#(malloy) reference_id = "x" calculation\n' }] }), true);
  assert.equal(isCalculation({ annotations: [{ value: '# calculation\n' }] }), false);
});

test('notebook cells and their requests', () => {
  const cells = parseNotebook('>>>markdown\n# Title\n>>>malloy\nimport "models/flights.malloy"\n>>>malloy\nrun: flights -> by_year\n');
  assert.deepEqual(cells.map((cell) => cell.type), ['markdown', 'malloy', 'malloy']);
  assert.equal(cells[0].text, '# Title');
  assert.equal(hasRun(cells[1].text), false);
  assert.equal(hasRun(cells[2].text), true);
  const request = cellRequest(cells, 2, 'notebooks/tour.malloynb');
  assert.equal(request.modelPath, 'notebooks/models/flights.malloy');
  assert.equal(request.query, `${' '.repeat('import "models/flights.malloy"'.length)}\nrun: flights -> by_year`);
  assert.throws(() => cellRequest([{ type: 'malloy', text: 'run: x -> y' }], 0, 'a.malloynb'), /imports no model/);
  assert.equal(resolvePath('a/b.malloynb', '../c.malloy'), 'c.malloy');
});
