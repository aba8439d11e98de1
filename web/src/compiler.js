// The package compiler of the page: the compiler's wasm-bindgen build over
// one package's model files and schemas.
//
// The server sends the model texts once (`compile-inputs`). Schemas are
// fetched when a compilation reports them missing and then kept, so
// compiling while typing sends no request.

/** Returns the path of the package's API under `/api/v0`. */
export function packagePath(project, pkg) {
  return `/api/v0/projects/${encodeURIComponent(project)}/packages/${encodeURIComponent(pkg)}`;
}

/** Schema fetches per compilation before giving up, since each fetch can reveal more tables. */
const MAX_SCHEMA_ROUNDS = 8;

export class PackageCompiler {
  /**
   * @param wasm the module namespace of the wasm-bindgen build, initialized
   * @param inputs `{files, notebooks, brokenModels}` from `compile-inputs`
   * @param fetchSchemas async `(missing) => inputs` that describes the missing schemas
   */
  constructor(wasm, inputs, fetchSchemas) {
    this.wasm = wasm;
    this.inputs = { files: inputs.files ?? {}, tables: [], sqls: [] };
    this.notebooks = inputs.notebooks ?? {};
    this.brokenModels = inputs.brokenModels ?? {};
    this.fetchSchemas = fetchSchemas;
    this.compiler = new wasm.Compiler(JSON.stringify(this.inputs));
  }

  /** Compiles a model, fetching missing schemas first. Returns the binding's output. */
  async compileModel(modelPath) {
    return this.withSchemas(() => this.call(() => this.compiler.compileModel(modelPath)));
  }

  /**
   * Compiles a query request (`{modelPath, query, restricted?, defaultRowLimit?}`)
   * with the schemas loaded so far. Synchronous, for use on every keystroke.
   */
  compileQuery(request) {
    return this.call(() => this.compiler.compileQuery(JSON.stringify(request)));
  }

  /** Like compileQuery, but fetches schemas that the query needs first. */
  async compileQueryFetching(request) {
    return this.withSchemas(() => this.compileQuery(request));
  }

  async withSchemas(compile) {
    let output = compile();
    for (let round = 0; round < MAX_SCHEMA_ROUNDS && hasMissing(output.missingSchemas); round++) {
      const described = await this.fetchSchemas(output.missingSchemas);
      this.addSchemas(described);
      output = compile();
    }
    return output;
  }

  addSchemas(described) {
    this.inputs.tables.push(...(described.tables ?? []));
    this.inputs.sqls.push(...(described.sqls ?? []));
    this.compiler.addInputs(JSON.stringify({ tables: described.tables ?? [], sqls: described.sqls ?? [] }));
  }

  /** Runs one call into the module; a panic becomes a problem and a fresh compiler. */
  call(invoke) {
    try {
      return JSON.parse(invoke());
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) {
        throw error;
      }
      const message = this.wasm.lastPanicMessage() ?? error.message;
      // The module's memory may be inconsistent after a trap: start over.
      this.compiler = new this.wasm.Compiler(JSON.stringify(this.inputs));
      return {
        ok: false,
        problems: [{
          code: 'compiler-crashed', message: `The compiler failed: ${message}`, severity: 'error', url: 'query',
          range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        }],
        missingSchemas: { tables: [], sqls: [] },
      };
    }
  }
}

function hasMissing(missing) {
  return Boolean(missing) && (missing.tables.length > 0 || missing.sqls.length > 0);
}

/** Loads a package's compile inputs from the server and returns its PackageCompiler. */
export async function loadPackageCompiler(wasm, baseUrl, project, pkg, fetchImpl = fetch) {
  const base = `${baseUrl}${packagePath(project, pkg)}`;
  const inputs = await fetchJson(fetchImpl, `${base}/compile-inputs`);
  const fetchSchemas = (missing) => fetchJson(fetchImpl, `${base}/compile-inputs/schemas`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(missing),
  });
  return new PackageCompiler(wasm, inputs, fetchSchemas);
}

/** Fetches JSON and throws an Error with the server's message on a failure status. */
export async function fetchJson(fetchImpl, url, options) {
  const response = await fetchImpl(url, options);
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new Error(`${url} returned invalid JSON (status ${response.status})`);
  }
  if (!response.ok) {
    const message = body && typeof body.message === 'string' ? body.message : text;
    const error = new Error(message || `${url} failed with status ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}
