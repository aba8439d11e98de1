// Turns Malloy.Result cells into values and display text, formatted like
// Malloy's renderer: thousands separators, dates as YYYY-MM-DD (or coarser
// for truncated dates), timestamps with their time, null as ∅.

export const NULL_TEXT = '∅';

/** Returns the tag names of a field's or result's render annotations (`# bar_chart` gives `bar_chart`). */
export function renderTags(annotations) {
  const tags = new Set();
  for (const annotation of annotations ?? []) {
    const value = typeof annotation === 'string' ? annotation : annotation.value;
    const match = /^#\s+(.*)$/.exec(value.trim());
    if (!match) {
      continue;
    }
    for (const word of match[1].matchAll(/(?:^|\s)([A-Za-z_][A-Za-z_0-9.]*)/g)) {
      tags.add(word[1]);
    }
  }
  return tags;
}

/** Returns whether a result field was an aggregate, from its `#(malloy) calculation` tag. */
export function isCalculation(field) {
  return (field.annotations ?? []).some((annotation) => /^#\(malloy\)[^\n]*\bcalculation\b/.test(annotation.value));
}

/** Returns whether `type` is a nested view or array of records. */
export function isNestedTable(type) {
  return type.kind === 'array_type' && type.element_type.kind === 'record_type';
}

/** Converts a cell to a plain value: nested tables become `{fields, rows}`. */
export function cellValue(cell, type) {
  switch (cell.kind) {
    case 'null_cell':
      return null;
    case 'string_cell':
      return cell.string_value;
    case 'number_cell':
      return cell.string_value !== undefined && !Number.isSafeInteger(cell.number_value)
        ? { bigint: cell.string_value, number: cell.number_value }
        : cell.number_value;
    case 'boolean_cell':
      return cell.boolean_value;
    case 'date_cell':
      return cell.date_value;
    case 'timestamp_cell':
      return cell.timestamp_value;
    case 'json_cell':
      return cell.json_value;
    case 'sql_native_cell':
      return cell.sql_native_value;
    case 'array_cell':
      if (type && isNestedTable(type)) {
        const fields = type.element_type.fields;
        return { fields, rows: cell.array_value.map((row) => recordValues(row, fields)) };
      }
      return cell.array_value.map((item) => cellValue(item, type?.element_type));
    case 'record_cell':
      return { fields: type?.fields ?? [], rows: [recordValues(cell, type?.fields ?? [])] };
    default:
      return `(unknown cell ${cell.kind})`;
  }
}

/** Converts a record cell to an array of plain values, one per field. */
export function recordValues(record, fields) {
  return record.record_value.map((cell, index) => cellValue(cell, fields[index]?.type));
}

/** Converts a Malloy.Result to `{fields, rows}`. */
export function resultTable(result) {
  const fields = result.schema.fields;
  const rows = (result.data?.array_value ?? []).map((row) => recordValues(row, fields));
  return { fields, rows };
}

/** Returns the number a value plots as, or null. */
export function numericValue(value) {
  if (typeof value === 'number') {
    return value;
  }
  if (value && typeof value === 'object' && 'bigint' in value) {
    return value.number;
  }
  return null;
}

/** Formats a plain value of a field's type as display text. */
export function formatValue(value, type) {
  if (value === null || value === undefined) {
    return NULL_TEXT;
  }
  switch (type?.kind) {
    case 'number_type':
      return formatNumber(value, type.subtype);
    case 'date_type':
      return formatDate(value, type.timeframe ?? 'day');
    case 'timestamp_type':
    case 'timestamptz_type':
      return formatTimestamp(value, type.timeframe);
    case 'boolean_type':
      return value ? 'true' : 'false';
    case 'array_type':
      return Array.isArray(value) ? value.map((item) => formatValue(item, type.element_type)).join(', ') : String(value);
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

export function formatNumber(value, subtype) {
  if (typeof value === 'object' && 'bigint' in value) {
    return groupDigits(value.bigint);
  }
  if (!Number.isFinite(value)) {
    return String(value);
  }
  if (subtype === 'integer' || subtype === 'bigint') {
    return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
  }
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function groupDigits(digits) {
  const negative = digits.startsWith('-');
  const body = negative ? digits.slice(1) : digits;
  const grouped = body.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return negative ? `-${grouped}` : grouped;
}

/** Formats an ISO instant as a date at the precision of `timeframe`, in UTC. */
export function formatDate(iso, timeframe) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return String(iso);
  }
  const year = String(date.getUTCFullYear()).padStart(4, '0');
  const month = pad(date.getUTCMonth() + 1);
  const day = pad(date.getUTCDate());
  switch (timeframe) {
    case 'year':
      return year;
    case 'quarter':
      return `${year}-Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
    case 'month':
      return `${year}-${month}`;
    default:
      return `${year}-${month}-${day}`;
  }
}

/** Formats an ISO instant as `YYYY-MM-DD HH:MM:SS` in UTC, or coarser for a truncated timestamp. */
export function formatTimestamp(iso, timeframe) {
  if (['year', 'quarter', 'month', 'week', 'day'].includes(timeframe)) {
    return formatDate(iso, timeframe);
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return String(iso);
  }
  const day = formatDate(iso, 'day');
  const hours = pad(date.getUTCHours());
  const minutes = pad(date.getUTCMinutes());
  if (timeframe === 'hour') {
    return `${day} ${hours}:00`;
  }
  if (timeframe === 'minute') {
    return `${day} ${hours}:${minutes}`;
  }
  return `${day} ${hours}:${minutes}:${pad(date.getUTCSeconds())}`;
}

function pad(number) {
  return String(number).padStart(2, '0');
}
