// Malloy syntax highlighting: splits text into classed tokens for the
// editor's overlay. It is a lexer for colors only; the compiler reports
// the real syntax errors.

const KEYWORDS = new Set([
  'all', 'and', 'as', 'asc', 'by', 'case', 'cast', 'count', 'day', 'days', 'desc', 'else', 'end',
  'exclude', 'extend', 'false', 'for', 'from', 'hour', 'hours', 'import', 'is', 'like', 'minute',
  'minutes', 'month', 'months', 'not', 'now', 'null', 'on', 'or', 'pick', 'quarter', 'quarters',
  'refine', 'second', 'seconds', 'then', 'to', 'true', 'week', 'weeks', 'when', 'with', 'year',
  'years',
]);

const TYPES = new Set(['string', 'number', 'boolean', 'date', 'timestamp', 'timestamptz']);

/** Token patterns in order of precedence; the first that matches at a position wins. */
const PATTERNS = [
  ['comment', /\/\/[^\n]*|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/y],
  ['annotation', /#[^\n]*/y],
  ['string', /"""[\s\S]*?(?:"""|$)|'(?:[^'\\\n]|\\.)*'?|"(?:[^"\\\n]|\\.)*"?/y],
  ['identifier', /`[^`\n]*`?/y],
  ['literal', /@[0-9][0-9\-:.T ]*[0-9]|@[0-9]+/y],
  ['number', /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y],
  ['property', /[A-Za-z_][A-Za-z_0-9]*\s*:(?!:)/y],
  ['word', /[A-Za-z_][A-Za-z_0-9]*/y],
  ['operator', /->|=>|::|[-+*/%=<>!?&|]+/y],
];

/** Splits `text` into `[{kind, start, end}]` covering it without gaps (`kind` null for plain text). */
export function tokenize(text) {
  const tokens = [];
  let position = 0;
  let plainStart = 0;
  const flushPlain = () => {
    if (plainStart < position) {
      tokens.push({ kind: null, start: plainStart, end: position });
    }
  };
  while (position < text.length) {
    let matched = null;
    for (const [kind, pattern] of PATTERNS) {
      pattern.lastIndex = position;
      const match = pattern.exec(text);
      if (match && match[0].length > 0) {
        matched = { kind: classify(kind, match[0]), length: match[0].length };
        break;
      }
    }
    if (!matched) {
      position += 1;
      continue;
    }
    flushPlain();
    tokens.push({ kind: matched.kind, start: position, end: position + matched.length });
    position += matched.length;
    plainStart = position;
  }
  flushPlain();
  return tokens;
}

function classify(kind, text) {
  if (kind === 'property') {
    return 'keyword';
  }
  if (kind !== 'word') {
    return kind;
  }
  const lower = text.toLowerCase();
  if (KEYWORDS.has(lower)) {
    return 'keyword';
  }
  if (TYPES.has(lower)) {
    return 'type';
  }
  return null;
}
