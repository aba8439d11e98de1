// The playground page. The user picks a model, browses its sources and
// writes a query that the page compiles as they type. Run sends the query
// to the server and renders the result. A notebook shows its cells with
// their results instead.

import init, * as wasm from './pkg/malloy_compiler.js';
import { fetchJson, loadPackageCompiler, packagePath } from './compiler.js';
import { Editor } from './editor.js';
import { renderMarkdown } from './markdown.js';
import { cellRequest, hasRun, parseNotebook } from './notebook.js';
import { renderResult } from './render.js';
import { tokenize } from './highlight.js';

/** Row limit of the SQL shown for queries that set none; the server applies its own when running. */
const DEFAULT_ROW_LIMIT = 1000;

const elements = Object.fromEntries(
  ['project', 'package', 'model', 'notebook', 'status', 'sources', 'editor', 'cursor-problem', 'problems', 'results', 'sql', 'run', 'workspace', 'notebook-view']
    .map((id) => [id, document.getElementById(id)]),
);

const state = {
  project: null,
  package: null,
  modelPath: null,
  compiler: null,
  /** Bumped on every selection, so late replies for an older one are dropped. */
  generation: 0,
};

const api = (path, options) => fetchJson(fetch, path, options);
const editor = new Editor(elements.editor, () => compileNow(), (problems) => showCursorProblems(problems));
const params = new URLSearchParams(window.location.search);
/** The `query` URL parameter, put into the editor once the first model is loaded. */
let initialQuery = params.get('query');

function setStatus(text, isError = false) {
  elements.status.textContent = text;
  elements.status.classList.toggle('error', isError);
}

/** Wraps an async event handler so that its failure shows in the status line. */
function reportingErrors(handler) {
  return () => handler().catch((error) => {
    setStatus(error.message, true);
    console.error(error);
  });
}

function fillSelect(select, values, selected) {
  select.replaceChildren(...values.map((value) => new Option(value.label ?? value, value.value ?? value)));
  if (selected !== undefined && values.some((value) => (value.value ?? value) === selected)) {
    select.value = selected;
  }
}

async function start() {
  await init({ module_or_path: new URL('./pkg/malloy_compiler_bg.wasm', import.meta.url) });
  const projects = await api('/api/v0/projects');
  fillSelect(elements.project, projects.map((project) => project.name), params.get('project'));
  elements.project.addEventListener('change', reportingErrors(() => selectProject(elements.project.value)));
  elements.package.addEventListener('change', reportingErrors(() => selectPackage(elements.package.value)));
  elements.model.addEventListener('change', reportingErrors(() => selectModel(elements.model.value)));
  elements.notebook.addEventListener('change', reportingErrors(() => (
    elements.notebook.value ? openNotebook(elements.notebook.value) : selectModel(elements.model.value)
  )));
  elements.run.addEventListener('click', () => runQuery());
  if (projects.length === 0) {
    setStatus('The server has no projects.', true);
    return;
  }
  // The URL parameters choose the first selection only.
  await selectProject(elements.project.value, params.get('package'), params.get('model'), params.get('notebook'));
}

async function selectProject(project, preferredPackage, preferredModel, preferredNotebook) {
  state.project = project;
  const packages = await api(`/api/v0/projects/${encodeURIComponent(project)}/packages`);
  fillSelect(elements.package, packages.map((pkg) => pkg.name), preferredPackage ?? undefined);
  if (packages.length > 0) {
    await selectPackage(elements.package.value, preferredModel, preferredNotebook);
  }
}

async function selectPackage(pkg, preferredModel, preferredNotebook) {
  const generation = ++state.generation;
  state.package = pkg;
  state.compiler = null;
  setStatus(`Loading ${pkg}…`);
  const base = packagePath(state.project, pkg);
  const [models, notebooks, compiler] = await Promise.all([
    api(`${base}/models`),
    api(`${base}/notebooks`),
    loadPackageCompiler(wasm, '', state.project, pkg),
  ]);
  if (generation !== state.generation) {
    return;
  }
  state.compiler = compiler;
  fillSelect(elements.model, models.map((model) => model.path), preferredModel ?? undefined);
  fillSelect(elements.notebook, [{ label: '(none)', value: '' }, ...notebooks.map((notebook) => notebook.path)], preferredNotebook ?? '');
  if (preferredNotebook && elements.notebook.value === preferredNotebook) {
    await openNotebook(preferredNotebook);
  } else if (models.length > 0) {
    await selectModel(elements.model.value);
  } else {
    setStatus('This package has no models.');
  }
}

async function selectModel(modelPath) {
  const generation = ++state.generation;
  state.modelPath = modelPath;
  showNotebook(false);
  elements.notebook.value = '';
  elements.results.replaceChildren();
  setStatus(`Compiling ${modelPath}…`);
  const base = packagePath(state.project, state.package);
  const [compiled, localModel] = await Promise.all([
    api(`${base}/models/${encodePath(modelPath)}`).catch((error) => ({ error })),
    // Loads the schemas the model needs, so queries compile with no request.
    state.compiler.compileModel(modelPath),
  ]);
  if (generation !== state.generation) {
    return;
  }

  renderSources(compiled.error ? [] : compiled.sourceInfos.map((text) => JSON.parse(text)));
  if (compiled.error) {
    setStatus(`${modelPath}: ${compiled.error.message}`, true);
  } else if (!localModel.ok) {
    setStatus(`${modelPath} does not compile in the browser: ${localModel.problems[0]?.message}`, true);
  } else {
    setStatus(`${modelPath} loaded`);
  }

  if (initialQuery !== null) {
    const query = initialQuery;
    initialQuery = null;
    editor.value = query;
  } else {
    compileNow();
  }
}

function encodePath(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** Compiles the editor's text in the page and shows its problems and SQL. */
function compileNow() {
  if (!state.compiler || !state.modelPath) {
    return;
  }
  const text = editor.value;
  if (text.trim() === '') {
    editor.setProblems([]);
    elements.problems.replaceChildren();
    elements.sql.textContent = '';
    return;
  }
  const output = state.compiler.compileQuery({
    modelPath: state.modelPath, query: text, restricted: true, defaultRowLimit: DEFAULT_ROW_LIMIT,
  });
  const queryProblems = output.problems.filter((problem) => problem.url === 'query');
  editor.setProblems(queryProblems);
  elements.problems.replaceChildren(...output.problems.map((problem) => {
    const item = document.createElement('li');
    item.className = problem.severity;
    const position = document.createElement('span');
    position.className = 'position';
    const where = problem.url === 'query' ? '' : `${problem.url} `;
    position.textContent = `${where}${problem.range.start.line + 1}:${problem.range.start.character + 1}`;
    item.append(position, document.createTextNode(problem.message));
    if (problem.url === 'query') {
      item.classList.add('selectable');
      item.addEventListener('click', () => editor.selectProblem(problem));
    }
    return item;
  }));
  showCursorProblems(editor.problemsAtCursor());
  if (output.ok) {
    elements.sql.textContent = output.sql;
    elements.sql.classList.remove('stale');
  } else {
    elements.sql.classList.add('stale');
  }
}

/** Shows the messages of the problems at the cursor under the editor. */
function showCursorProblems(problems) {
  elements['cursor-problem'].textContent = problems.map((problem) => problem.message).join(' · ');
}

/** Runs the editor's query on the server and renders the result. */
async function runQuery() {
  const text = editor.value;
  if (!state.modelPath || text.trim() === '') {
    return;
  }
  elements.run.disabled = true;
  setStatus('Running…');
  try {
    const result = await runOnServer(state.modelPath, text);
    elements.results.replaceChildren(renderResult(result));
    const rows = result.data?.array_value?.length ?? 0;
    setStatus(`${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'}`);
  } catch (error) {
    const message = document.createElement('div');
    message.className = 'run-error';
    message.textContent = error.message;
    elements.results.replaceChildren(message);
    setStatus('The query failed.', true);
  } finally {
    elements.run.disabled = false;
  }
}

async function runOnServer(modelPath, query) {
  const base = packagePath(state.project, state.package);
  const reply = await api(`${base}/models/${encodePath(modelPath)}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return JSON.parse(reply.result);
}

/** Lists each source's fields by kind; clicking one inserts it into the query. */
function renderSources(sources) {
  const nodes = sources.map((source) => {
    const section = document.createElement('section');
    section.className = 'source';
    const heading = document.createElement('h3');
    heading.textContent = source.name;
    section.append(heading, fieldList(source.name, source.schema.fields, []));
    return section;
  });
  elements.sources.replaceChildren(...nodes);
}

const KIND_ORDER = ['dimension', 'measure', 'calculate', 'view', 'join'];
const KIND_MARK = { dimension: 'D', measure: 'M', calculate: 'C', view: 'V', join: 'J' };

function fieldList(sourceName, fields, path) {
  const list = document.createElement('ul');
  const sorted = [...fields].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
  for (const field of sorted) {
    const item = document.createElement('li');
    item.className = `kind-${field.kind}`;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'field';
    button.dataset.kind = field.kind;
    const fullName = [...path, field.name].join('.');
    button.dataset.name = fullName;
    const mark = document.createElement('span');
    mark.className = 'field-kind';
    mark.textContent = KIND_MARK[field.kind] ?? '?';
    button.append(mark, document.createTextNode(field.name));
    button.title = `${field.kind} ${fullName}`;
    button.addEventListener('click', () => insertField(sourceName, field.kind, fullName));
    item.append(button);
    if (field.kind === 'join') {
      item.append(fieldList(sourceName, field.schema.fields.filter((f) => f.kind !== 'view'), [...path, field.name]));
    }
    list.append(item);
  }
  return list;
}

/** Starts a query from the field when the editor is empty, else inserts its name at the cursor. */
function insertField(sourceName, kind, name) {
  if (editor.value.trim() !== '') {
    editor.insert(name);
    return;
  }
  const starts = {
    view: `run: ${sourceName} -> ${name}`,
    measure: `run: ${sourceName} -> {\n  aggregate: ${name}\n}`,
    calculate: `run: ${sourceName} -> {\n  calculate: ${name}\n}`,
  };
  editor.value = starts[kind] ?? `run: ${sourceName} -> {\n  group_by: ${name}\n}`;
}

function showNotebook(visible) {
  elements.workspace.hidden = visible;
  elements['notebook-view'].hidden = !visible;
}

/**
 * Renders a notebook: Markdown cells, and Malloy cells with their results.
 * The server's notebook endpoint runs the cells. A cell it returns no
 * result for runs through the query endpoint, which reports the error.
 */
async function openNotebook(path) {
  const generation = ++state.generation;
  showNotebook(true);
  const view = elements['notebook-view'];
  const { cells, results, failure } = await loadNotebook(path);
  if (generation !== state.generation) {
    return;
  }

  const title = document.createElement('h2');
  title.textContent = path;
  view.replaceChildren(title);
  const pending = [];
  cells.forEach((cell, index) => {
    const container = document.createElement('div');
    container.className = `notebook-cell notebook-${cell.type}`;
    if (cell.type === 'markdown') {
      container.append(renderMarkdown(cell.text));
    } else {
      container.append(highlightedCode(cell.text));
      if (results.has(index)) {
        const output = document.createElement('div');
        output.className = 'notebook-result';
        output.append(renderResult(results.get(index)));
        container.append(output);
      } else if (hasRun(cell.text)) {
        const output = document.createElement('div');
        output.className = 'notebook-result';
        output.textContent = 'Running…';
        container.append(output);
        pending.push({ index, output });
      }
    }
    view.append(container);
  });
  if (failure) {
    setStatus(`The server could not run ${path}, so each cell runs on its own: ${failure}`, true);
  } else {
    setStatus(`${path}: ${cells.length} cells`);
  }

  for (const { index, output } of pending) {
    if (generation !== state.generation) {
      return;
    }
    try {
      const request = cellRequest(cells, index, path);
      const result = await runOnServer(request.modelPath, request.query);
      output.replaceChildren(renderResult(result));
    } catch (error) {
      output.className = 'run-error';
      output.textContent = error.message;
    }
  }
}

/**
 * Returns a notebook's cells (`[{type: 'markdown' | 'malloy', text}]`) and
 * the results the server computed, by cell index. When the notebook
 * endpoint is missing or fails (it rejects a notebook with one broken
 * cell), returns the cells of the text from `compile-inputs` with no
 * results, and the endpoint's message as `failure`.
 */
async function loadNotebook(path) {
  const base = packagePath(state.project, state.package);
  try {
    const notebook = await api(`${base}/notebooks/${encodePath(path)}`);
    const cells = notebook.notebookCells.map((cell) => ({
      type: cell.type === 'markdown' ? 'markdown' : 'malloy',
      text: cell.text,
    }));
    const results = new Map();
    notebook.notebookCells.forEach((cell, index) => {
      if (cell.result) {
        results.set(index, JSON.parse(cell.result));
      }
    });
    return { cells, results, failure: null };
  } catch (error) {
    const text = state.compiler.notebooks[path];
    if (error.status === undefined || text === undefined) {
      throw error;
    }
    return { cells: parseNotebook(text), results: new Map(), failure: error.status === 404 ? null : error.message };
  }
}

function highlightedCode(text) {
  const pre = document.createElement('pre');
  pre.className = 'notebook-code';
  for (const token of tokenize(text)) {
    const span = document.createElement('span');
    if (token.kind) {
      span.className = `tok-${token.kind}`;
    }
    span.textContent = text.slice(token.start, token.end);
    pre.append(span);
  }
  return pre;
}

start().catch((error) => {
  setStatus(`The playground failed to start: ${error.message}`, true);
  console.error(error);
});
