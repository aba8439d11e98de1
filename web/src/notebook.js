// Notebooks (`.malloynb`): Markdown and Malloy cells. Each Malloy cell can
// use the definitions of the cells above it.

/** Splits notebook text at `>>>markdown` and `>>>malloy` lines into `[{type, text}]`. */
export function parseNotebook(text) {
  const cells = [];
  let current = null;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const marker = /^>>>(markdown|malloy)\s*$/.exec(line);
    if (marker) {
      current = { type: marker[1], lines: [] };
      cells.push(current);
    } else if (current) {
      current.lines.push(line);
    }
  }
  return cells.map((cell) => ({ type: cell.type, text: cell.lines.join('\n').replace(/\n+$/, '') }));
}

const IMPORT = /^[ \t]*import[ \t]+(?:\{[^}]*\}[ \t]*from[ \t]+)?(["'])([^"'\n]+)\1/gm;

/** Returns whether a Malloy cell runs a query. */
export function hasRun(text) {
  return /^\s*run\s*:/m.test(text);
}

/**
 * Turns the Malloy cells up to `index` into a query request. The query
 * endpoint rejects `import` in query text, so the first imported model
 * becomes the request's model. The import statements become spaces, so
 * problem positions still match the text. Throws when nothing is imported.
 */
export function cellRequest(cells, index, notebookPath) {
  const text = cells
    .slice(0, index + 1)
    .filter((cell) => cell.type === 'malloy')
    .map((cell) => cell.text)
    .join('\n');
  let modelPath = null;
  const query = text.replace(IMPORT, (statement, _quote, url) => {
    // TODO: a notebook that imports several models runs against the first
    // one only, since a query request names a single model.
    modelPath ??= resolvePath(notebookPath, url);
    return statement.replace(/[^\n]/g, ' ');
  });
  if (!modelPath) {
    throw new Error('This notebook imports no model, so its cells cannot run through the query endpoint.');
  }
  return { modelPath, query };
}

/** Resolves `url` relative to the folder of `fromPath`, both package-relative. */
export function resolvePath(fromPath, url) {
  const parts = fromPath.split('/').slice(0, -1);
  for (const segment of url.split('/')) {
    if (segment === '..') {
      parts.pop();
    } else if (segment !== '.' && segment !== '') {
      parts.push(segment);
    }
  }
  return parts.join('/');
}
