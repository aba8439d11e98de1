// Renders query results: tables with nested views as nested tables. A
// `# bar_chart`, `# line_chart` or `# dashboard` annotation on the result or
// on a nested view selects a chart or a dashboard instead.

import { renderChart } from './charts.js';
import { formatValue, isCalculation, isNestedTable, renderTags, resultTable } from './format.js';

/** Renders a Malloy.Result. */
export function renderResult(result) {
  const table = resultTable(result);
  const container = document.createElement('div');
  container.className = 'result';
  container.append(renderTable(table, renderTags(result.annotations)));
  return container;
}

/** Renders `{fields, rows}` as the chart or dashboard its tags name, else as a table. */
function renderTable(table, tags) {
  if (tags.has('bar_chart')) {
    return renderChart(table, 'bar');
  }
  if (tags.has('line_chart')) {
    return renderChart(table, 'line');
  }
  if (tags.has('dashboard')) {
    return renderDashboard(table);
  }
  return renderGrid(table);
}

function renderGrid(table) {
  const element = document.createElement('table');
  element.className = 'result-table';
  const head = element.createTHead().insertRow();
  for (const field of table.fields) {
    const cell = document.createElement('th');
    cell.textContent = field.name;
    if (field.type.kind === 'number_type') {
      cell.className = 'number';
    }
    head.append(cell);
  }
  const body = element.createTBody();
  for (const row of table.rows) {
    const line = body.insertRow();
    table.fields.forEach((field, index) => {
      const cell = line.insertCell();
      cell.append(renderValue(row[index], field));
      if (field.type.kind === 'number_type') {
        cell.className = 'number';
      }
    });
  }
  return element;
}

function renderValue(value, field) {
  if (value && (isNestedTable(field.type) || field.type.kind === 'record_type')) {
    return renderTable(value, renderTags(field.annotations));
  }
  const text = document.createElement('span');
  text.textContent = formatValue(value, field.type);
  if (value === null || value === undefined) {
    text.className = 'null';
  }
  return text;
}

/** Renders each row as a card: dimensions as its title, measures as big numbers, nested views below. */
function renderDashboard(table) {
  const dashboard = document.createElement('div');
  dashboard.className = 'dashboard';
  for (const row of table.rows) {
    const card = document.createElement('section');
    card.className = 'dashboard-row';
    const title = document.createElement('h3');
    const measures = document.createElement('div');
    measures.className = 'dashboard-measures';
    const nested = document.createElement('div');
    nested.className = 'dashboard-nested';
    table.fields.forEach((field, index) => {
      const value = row[index];
      if (isNestedTable(field.type)) {
        const item = document.createElement('div');
        item.className = 'dashboard-item';
        const heading = document.createElement('h4');
        heading.textContent = field.name;
        item.append(heading, renderValue(value, field));
        nested.append(item);
      } else if (isCalculation(field)) {
        const item = document.createElement('div');
        item.className = 'dashboard-measure';
        const label = document.createElement('div');
        label.className = 'dashboard-label';
        label.textContent = field.name;
        const number = document.createElement('div');
        number.className = 'dashboard-value';
        number.textContent = formatValue(value, field.type);
        item.append(label, number);
        measures.append(item);
      } else {
        title.append(document.createTextNode(`${title.textContent ? ' · ' : ''}${formatValue(value, field.type)}`));
      }
    });
    if (title.textContent) {
      card.append(title);
    }
    card.append(measures, nested);
    dashboard.append(card);
  }
  return dashboard;
}
