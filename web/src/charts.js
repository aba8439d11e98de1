// Bar and line charts as hand-written SVG, for results and nested views
// tagged `# bar_chart` or `# line_chart`.

import { formatValue, isCalculation, numericValue } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 560;
const HEIGHT = 260;
const MARGIN = { top: 16, right: 16, bottom: 56, left: 64 };
const SERIES_COLORS = ['#4c72b0', '#dd8452', '#55a868', '#c44e52', '#8172b3', '#937860'];

/**
 * Picks the axes of a chart: the x field is the first non-aggregate scalar
 * field, the y fields are the numeric aggregates (or, failing that, the
 * other numeric fields). Returns null when there is nothing to plot.
 */
export function chartAxes(fields) {
  const scalar = (field) => field.type.kind !== 'array_type' && field.type.kind !== 'record_type';
  const numeric = (field) => field.type.kind === 'number_type';
  const x = fields.find((field) => scalar(field) && !isCalculation(field)) ?? fields.find(scalar);
  if (!x) {
    return null;
  }
  let ys = fields.filter((field) => field !== x && numeric(field) && isCalculation(field));
  if (ys.length === 0) {
    ys = fields.filter((field) => field !== x && numeric(field));
  }
  return ys.length > 0 ? { x, ys } : null;
}

/** Renders `{fields, rows}` as a bar chart (`kind` 'bar') or line chart ('line'). */
export function renderChart(table, kind) {
  const axes = chartAxes(table.fields);
  const figure = document.createElement('figure');
  figure.className = `chart chart-${kind}`;
  if (!axes) {
    figure.textContent = 'Nothing to plot: the chart needs a dimension and a numeric field.';
    return figure;
  }
  const xIndex = table.fields.indexOf(axes.x);
  // A bar chart shows one measure, a line chart one line per measure.
  const series = (kind === 'bar' ? axes.ys.slice(0, 1) : axes.ys).map((field) => ({
    field,
    index: table.fields.indexOf(field),
  }));
  let rows = table.rows;
  if (kind === 'line' && ['date_type', 'timestamp_type', 'timestamptz_type'].includes(axes.x.type.kind)) {
    rows = [...rows].sort((a, b) => String(a[xIndex]).localeCompare(String(b[xIndex])));
  }
  const labels = rows.map((row) => formatValue(row[xIndex], axes.x.type));
  const values = series.map(({ index }) => rows.map((row) => numericValue(row[index])));
  const all = values.flat().filter((value) => value !== null);
  // The axis runs from zero (or the lowest value) to a round number at or above the highest.
  const step = tickStep(Math.min(0, ...all), Math.max(0, ...all));
  const max = Math.ceil(Math.max(0, ...all) / step) * step;
  const min = Math.floor(Math.min(0, ...all) / step) * step;
  const span = max - min || 1;

  const svg = element('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, role: 'img',
    'aria-label': `${kind} chart of ${series.map((s) => s.field.name).join(', ')} by ${axes.x.name}`,
  });
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (value) => MARGIN.top + plotHeight - ((value - min) / span) * plotHeight;
  const band = plotWidth / Math.max(1, rows.length);

  for (const tick of ticks(min, max, step)) {
    svg.append(element('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick), class: 'grid' }));
    const label = element('text', { x: MARGIN.left - 6, y: y(tick) + 4, 'text-anchor': 'end', class: 'tick' });
    label.textContent = formatValue(tick, { kind: 'number_type' });
    svg.append(label);
  }
  svg.append(element('line', { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotHeight, class: 'axis' }));

  if (kind === 'bar') {
    values[0].forEach((value, i) => {
      if (value === null) {
        return;
      }
      const top = y(Math.max(value, 0));
      const bar = element('rect', {
        x: MARGIN.left + i * band + band * 0.1, y: top, width: band * 0.8,
        height: Math.max(1, Math.abs(y(value) - y(0))), fill: SERIES_COLORS[0], class: 'bar',
      });
      const title = element('title', {});
      title.textContent = `${labels[i]}: ${formatValue(value, series[0].field.type)}`;
      bar.append(title);
      svg.append(bar);
    });
  } else {
    values.forEach((line, s) => {
      const points = line
        .map((value, i) => (value === null ? null : `${MARGIN.left + i * band + band / 2},${y(value)}`))
        .filter(Boolean);
      svg.append(element('polyline', { points: points.join(' '), fill: 'none', stroke: SERIES_COLORS[s % SERIES_COLORS.length], 'stroke-width': 2, class: 'line' }));
    });
  }

  // Label at most about 12 categories so the labels stay readable.
  const every = Math.max(1, Math.ceil(labels.length / 12));
  labels.forEach((text, i) => {
    if (i % every !== 0) {
      return;
    }
    const x = MARGIN.left + i * band + band / 2;
    const label = element('text', {
      x, y: MARGIN.top + plotHeight + 14, 'text-anchor': 'end', class: 'tick',
      transform: `rotate(-30 ${x} ${MARGIN.top + plotHeight + 14})`,
    });
    label.textContent = text.length > 18 ? `${text.slice(0, 17)}…` : text;
    svg.append(label);
  });

  figure.append(svg);
  const legend = document.createElement('figcaption');
  legend.className = 'chart-legend';
  series.forEach(({ field }, s) => {
    const key = document.createElement('span');
    key.className = 'legend-key';
    key.style.setProperty('--key-color', SERIES_COLORS[s % SERIES_COLORS.length]);
    key.textContent = field.name;
    legend.append(key);
  });
  legend.append(document.createTextNode(` by ${axes.x.name}`));
  figure.append(legend);
  return figure;
}

/** Returns a round distance between ticks that gives about five ticks from `min` to `max`. */
function tickStep(min, max) {
  const rough = (max - min || 1) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough) ?? rough;
}

/** Returns the multiples of `step` from `min` to `max`. */
function ticks(min, max, step) {
  const values = [];
  for (let value = min; value <= max + step * 1e-9; value += step) {
    values.push(Number(value.toPrecision(12)));
  }
  return values;
}

function element(name, attributes) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) {
    node.setAttribute(key, String(value));
  }
  return node;
}
