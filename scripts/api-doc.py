#!/usr/bin/env python3
"""Writes host/api-doc.yaml, the OpenAPI document of the server's API.

Both URL families (/projects and /environments) share every operation, so
the document is generated instead of written twice by hand. Edit this
script, run it (python3 scripts/api-doc.py, needs PyYAML), and commit both
files. tests/api_openapi.rs fails when the router and the document differ.
"""
import collections
import pathlib

import yaml

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "host" / "api-doc.yaml"

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def arr(s): return {"type": "array", "items": s}
def err(desc): return {"description": desc, "content": {"application/json": {"schema": ref("Error")}}}
def ok(desc, schema): return {"description": desc, "content": {"application/json": {"schema": schema}}}
def pparam(name, example, desc):
    return {"name": name, "in": "path", "required": True, "description": desc, "schema": {"type": "string"}, "example": example}
def qparam(name, desc, example=None, required=False):
    p = {"name": name, "in": "query", "required": required, "description": desc, "schema": {"type": "string"}}
    if example is not None: p["example"] = example
    return p
def body(schema, example):
    return {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}

VERSION = qparam("versionId", "Not implemented: any non-empty value is rejected with 501.")
RELOAD = qparam("reload", "`true` loads the packages again from disk; any other value is false.")

E = {
 400: "The request is invalid: malformed JSON, a missing field or an invalid name.",
 403: "The config file sets `frozenConfig: true`, so nothing can be changed.",
 404: "The project, package, model or connection does not exist.",
 409: "An item with that name already exists.",
 424: "The package failed to load, or the model does not compile.",
 501: "A `versionId` was given; versions are not implemented.",
 502: "The database rejected or failed the statement.",
}
def errs(*codes): return {str(c): err(E[c]) for c in codes}

schemas = {
 "Error": {"type": "object", "required": ["code", "message"], "description": "Every error reply. `message` never contains a server path.",
   "properties": {"code": {"type": "integer", "description": "The HTTP status."}, "message": {"type": "string"}}},
 "ServerStatus": {"type": "object", "required": ["timestamp", "projects", "environments", "initialized", "operationalState", "frozenConfig"],
   "properties": {"timestamp": {"type": "integer", "description": "Milliseconds since the Unix epoch."},
     "projects": arr(ref("Project")), "environments": arr(ref("Project")), "initialized": {"type": "boolean"},
     "operationalState": {"type": "string", "enum": ["initializing", "serving"]}, "frozenConfig": {"type": "boolean"},
     "theme": {"type": "object"}, "loadErrors": arr({"type": "object"})}},
 "Project": {"type": "object", "required": ["resource", "name", "readme", "connections", "packages"],
   "description": "A project; the 2026 API calls it an environment. Connection secrets are redacted.",
   "properties": {"resource": {"type": "string"}, "name": {"type": "string"}, "readme": {"type": "string"},
     "connections": arr(ref("Connection")), "packages": arr(ref("Package"))}},
 "ProjectRequest": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
   "readme": {"type": "string"}, "connections": arr(ref("Connection")), "packages": arr(ref("PackageRequest"))}},
 "Package": {"type": "object", "required": ["name", "resource"], "properties": {"name": {"type": "string"}, "description": {"type": "string"},
   "resource": {"type": "string"}, "location": {"type": "string"}, "projectName": {"type": "string"}, "environmentName": {"type": "string"}}},
 "PackageRequest": {"type": "object", "required": ["name", "location"], "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
   "location": {"type": "string", "description": "A folder or a `.zip` archive on the server: absolute, or relative to the config file's folder."},
   "description": {"type": "string"}}},
 "About": {"type": "object", "required": ["readme"], "properties": {"readme": {"type": "string"}}},
 "Connection": {"type": "object", "required": ["name", "type"],
   "description": "A connection configuration. Only `duckdb` connections can run statements. Secret fields (passwords, keys, tokens, connection strings) read as `********`; sending that value back keeps the stored secret.",
   "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "resource": {"type": "string"},
     "attributes": {"type": "object"},
     "duckdbConnection": {"type": "object", "properties": {"databasePath": {"type": "string", "description": "A DuckDB file inside SERVER_ROOT, opened read-only; absent means in memory."}}}}},
 "ConnectionStatus": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok", "failed"]}, "errorMessage": {"type": "string"}}},
 "Schema": {"type": "object", "required": ["name", "isDefault", "isHidden"], "properties": {"name": {"type": "string"}, "isDefault": {"type": "boolean"}, "isHidden": {"type": "boolean"}}},
 "Column": {"type": "object", "required": ["name", "type"], "properties": {"name": {"type": "string"}, "type": {"type": "string", "description": "A Malloy type name."}}},
 "Table": {"type": "object", "required": ["resource", "columns"], "properties": {"resource": {"type": "string", "description": "`<schema>.<table>`"}, "columns": arr(ref("Column"))}},
 "SqlRequest": {"type": "object", "required": ["sqlStatement"], "properties": {"sqlStatement": {"type": "string"}, "options": {"type": "object", "properties": {"rowLimit": {"type": "integer"}}}}},
 "SqlSource": {"type": "object", "required": ["source"], "properties": {"source": {"type": "string", "description": "JSON text of the SQL source definition."}}},
 "TableSource": {"type": "object", "required": ["source", "resource", "columns"], "properties": {"source": {"type": "string"}, "resource": {"type": "string"}, "columns": arr(ref("Column"))}},
 "QueryData": {"type": "object", "required": ["data"], "properties": {"data": {"type": "string", "description": "JSON text of `{rows, totalRows}`."}}},
 "TemporaryTable": {"type": "object", "required": ["table"], "properties": {"table": {"type": "string", "description": "JSON text of the table's name."}}},
 "Model": {"type": "object", "required": ["path", "packageName"], "properties": {"path": {"type": "string"}, "packageName": {"type": "string"},
   "projectName": {"type": "string"}, "environmentName": {"type": "string"}, "error": {"type": "string"}}},
 "Notebook": {"type": "object", "required": ["path", "packageName"], "properties": {"path": {"type": "string"}, "packageName": {"type": "string"}}},
 "CompiledModel": {"type": "object", "required": ["type", "packageName", "modelPath", "malloyVersion", "modelInfo", "sourceInfos", "sources", "queries"],
   "properties": {"type": {"type": "string"}, "packageName": {"type": "string"}, "modelPath": {"type": "string"}, "malloyVersion": {"type": "string"},
     "dataStyles": {"type": "string"}, "modelDef": {"type": "string"}, "modelInfo": {"type": "string"}, "sourceInfos": arr({"type": "string"}),
     "sources": arr({"type": "object"}), "queries": arr({"type": "object"})}},
 "QueryRequest": {"type": "object", "description": "Either `query`, or `queryName` with an optional `sourceName`.",
   "properties": {"query": {"type": "string"}, "sourceName": {"type": "string"}, "queryName": {"type": "string"}, "versionId": {"type": "string"}, "compactJson": {"type": "boolean"}}},
 "QueryResult": {"type": "object", "required": ["result", "resource"], "properties": {"result": {"type": "string", "description": "JSON text of a `Malloy.Result`."},
   "resource": {"type": "string"}, "queryRowLimit": {"type": "integer"}, "queryRowLimitSource": {"type": "string"}, "executionTimeMs": {"type": "integer"}}},
 "LegacyQueryResult": {"type": "object", "required": ["dataStyles", "modelDef", "queryResult"], "properties": {"dataStyles": {"type": "string"}, "modelDef": {"type": "string"}, "queryResult": {"type": "string"}}},
 "CompileRequest": {"type": "object", "required": ["source"], "properties": {"source": {"type": "string"}, "scope": {"type": "string", "enum": ["append"]}, "includeSql": {"type": "boolean"}}},
 "CompileResult": {"type": "object", "required": ["status", "problems"], "properties": {"status": {"type": "string", "enum": ["success", "error"]},
   "problems": arr(ref("Problem")), "sql": {"type": "string"}}},
 "Problem": {"type": "object", "required": ["code", "message", "severity", "at"], "properties": {"code": {"type": "string"}, "message": {"type": "string"},
   "severity": {"type": "string", "enum": ["error", "warn", "debug"]},
   "at": {"type": "object", "required": ["url", "range"], "description": "0-based lines and characters in the model text with the source appended.",
     "properties": {"url": {"type": "string"}, "range": {"type": "object"}}}}},
 "Database": {"type": "object", "required": ["path", "info", "type", "size"], "properties": {"path": {"type": "string"},
   "info": {"type": "object", "required": ["name", "rowCount", "columns"], "properties": {"name": {"type": "string"}, "rowCount": {"type": "integer"}, "columns": arr(ref("Column"))}},
   "type": {"type": "string", "enum": ["embedded"]}, "size": {"type": "integer", "description": "File size in bytes."}}},
 "CompiledNotebook": {"type": "object", "required": ["type", "packageName", "modelPath", "notebookCells"], "properties": {"type": {"type": "string", "enum": ["notebook"]},
   "packageName": {"type": "string"}, "modelPath": {"type": "string"}, "notebookCells": arr(ref("NotebookCell")), "sources": arr({"type": "object"}), "queries": arr({"type": "object"})}},
 "NotebookCell": {"type": "object", "required": ["type", "text"], "properties": {"type": {"type": "string", "enum": ["markdown", "code"]}, "text": {"type": "string"},
   "queryName": {"type": "string"}, "result": {"type": "string", "description": "JSON text of a `Malloy.Result`."}, "newSources": arr({"type": "string"})}},
 "Schedule": {"type": "object", "required": ["resource", "schedule", "action"], "properties": {"resource": {"type": "string"}, "schedule": {"type": "string"}, "action": {"type": "string"},
   "connection": {"type": "string"}, "lastRunTime": {"type": "number"}, "lastRunStatus": {"type": "string"}}},
 "CompileInputs": {"type": "object", "required": ["files", "notebooks", "brokenModels"], "properties": {"files": {"type": "object"}, "notebooks": {"type": "object"}, "brokenModels": {"type": "object"}}},
 "SchemaRequest": {"type": "object", "properties": {"tables": arr({"type": "object", "required": ["connection", "table"]}), "sqls": arr({"type": "object", "required": ["connection", "sql"]})}},
 "SchemaReply": {"type": "object", "required": ["tables", "sqls"], "properties": {"tables": arr({"type": "object"}), "sqls": arr({"type": "object"})}},
}

paths = collections.OrderedDict()
def op(path, method, op_id, tag, summary, responses, params=(), request=None, description=None):
    entry = paths.setdefault(path, {})
    o = {"operationId": op_id, "tags": [tag], "summary": summary}
    if description: o["description"] = description
    if params: o["parameters"] = list(params)
    if request: o["requestBody"] = request
    o["responses"] = responses
    entry[method] = o

op("/api/v0/status", "get", "getStatus", "status", "Server status, projects and whether the config is frozen",
   {"200": ok("The status.", ref("ServerStatus"))})
op("/api/v0/connections/test", "post", "testConnection", "connections", "Try a connection configuration",
   {"200": ok("`ok`, or `failed` with the reason.", ref("ConnectionStatus")), **errs(400)},
   request=body(ref("Connection"), {"name": "probe", "type": "duckdb", "duckdbConnection": {}}))
op("/api-doc.yaml", "get", "getApiDoc", "status", "This document",
   {"200": {"description": "The OpenAPI document.", "content": {"application/yaml": {"schema": {"type": "string"}}}}})

op("/api/v0/theme", "get", "getTheme", "status", "The web console's theme from the config file",
   {"200": ok("The theme; `{}` when none is set.", {"type": "object"})})

SQL = "SELECT 1 AS one"
for family in ["projects", "environments"]:
    F = family.capitalize()
    base = f"/api/v0/{family}"
    P = base + "/{project}"
    proj = lambda example="shop": pparam("project", example, "The project (environment) name.")
    scratch = f"scratch-{family}"
    op(base, "get", f"list{F}", family, "List projects", {"200": ok("Every project.", arr(ref("Project")))})
    op(base, "post", f"create{F}", family, "Add a project, or update the readme and connections of an existing one",
       {"200": ok("The project.", ref("Project")), **errs(400, 403)},
       request=body(ref("ProjectRequest"), {"name": scratch, "readme": "A scratch project."}))
    op(P, "get", f"get{F[:-1]}", family, "Get a project", {"200": ok("The project.", ref("Project")), **errs(404, 501)}, params=[proj(), RELOAD, VERSION])
    op(P, "patch", f"update{F[:-1]}", family, "Replace a project's readme and connection list",
       {"200": ok("The project.", ref("Project")), **errs(400, 403, 404)}, params=[proj(scratch)],
       request=body(ref("ProjectRequest"), {"name": scratch, "readme": "Updated."}),
       description="As in the reference server, the body's `name` selects the project.")
    op(P, "delete", f"delete{F[:-1]}", family, "Delete a project",
       {"200": ok("The deleted project, or an empty body when it did not exist.", ref("Project")), **errs(403)}, params=[proj(scratch)])
    op(P + "/about", "get", f"get{F[:-1]}About", family, "The project's README (April-2025 API)", {"200": ok("The README.", ref("About")), **errs(404)}, params=[proj()])

    def connection_routes(scope, scope_params, prefix, project_level):
        c = scope + "/connections"
        cparam = lambda example="warehouse": pparam("connection", example, "The connection name.")
        op(c, "get", f"list{prefix}Connections", "connections", "List connections (secrets redacted)",
           {"200": ok("The connections.", arr(ref("Connection"))), **errs(404)}, params=scope_params())
        one = c + "/{connection}"
        op(one, "get", f"get{prefix}Connection", "connections", "Get a connection (secrets redacted)",
           {"200": ok("The connection.", ref("Connection")), **errs(404)}, params=scope_params() + [cparam()])
        if project_level:
            sc = f"scratch-conn-{family}"
            op(one, "post", f"create{prefix}Connection", "connections", "Add a connection",
               {"200": ok("The connection.", ref("Connection")), **errs(400, 403, 404, 409)}, params=scope_params() + [cparam(sc)],
               request=body(ref("Connection"), {"name": sc, "type": "duckdb", "duckdbConnection": {}}))
            op(one, "patch", f"update{prefix}Connection", "connections", "Replace a connection",
               {"200": ok("The connection.", ref("Connection")), **errs(400, 403, 404)}, params=scope_params() + [cparam(sc)],
               request=body(ref("Connection"), {"name": sc, "type": "duckdb", "duckdbConnection": {}}))
            op(one, "delete", f"delete{prefix}Connection", "connections", "Delete a connection",
               {"200": ok("The deleted connection.", ref("Connection")), **errs(403, 404)}, params=scope_params() + [cparam(sc)])
        sp = lambda: scope_params() + [cparam()]
        sql_q = qparam("sqlStatement", "The SQL statement.", SQL, required=True)
        op(one + "/schemas", "get", f"list{prefix}Schemas", "connections", "List the connection's schemas",
           {"200": ok("The schemas.", arr(ref("Schema"))), **errs(404, 502)}, params=sp())
        schema = pparam("schema", "main", "The schema name.")
        op(one + "/schemas/{schema}/tables", "get", f"list{prefix}Tables", "connections", "List a schema's tables with their columns",
           {"200": ok("The tables.", arr(ref("Table"))), **errs(404, 502)}, params=sp() + [schema])
        op(one + "/schemas/{schema}/tables/{table}", "get", f"get{prefix}Table", "connections", "Get one table's columns",
           {"200": ok("The table.", ref("Table")), **errs(404, 502)}, params=sp() + [schema, pparam("table", "orders", "The table name.")])
        op(one + "/sqlSource", "get", f"get{prefix}SqlSource", "connections", "Describe a SQL statement as a source",
           {"200": ok("The source.", ref("SqlSource")), **errs(400, 404, 502)}, params=sp() + [sql_q])
        op(one + "/sqlSource", "post", f"post{prefix}SqlSource", "connections", "Describe a SQL statement as a source",
           {"200": ok("The source.", ref("SqlSource")), **errs(400, 404, 502)}, params=sp(), request=body(ref("SqlRequest"), {"sqlStatement": SQL}))
        op(one + "/tableSource", "get", f"get{prefix}TableSource", "connections", "Describe a table as a source (deprecated)",
           {"200": ok("The source.", ref("TableSource")), **errs(400, 404, 502)},
           params=sp() + [qparam("tablePath", "The table, `schema.table`.", "main.orders", required=True), qparam("tableKey", "The older name of `tablePath`.")])
        opts = qparam("options", "JSON text of run options; `rowLimit` truncates the rows.", '{"rowLimit": 10}')
        op(one + "/queryData", "get", f"get{prefix}QueryData", "connections", "Run a SQL statement",
           {"200": ok("The rows.", ref("QueryData")), **errs(400, 404, 502)}, params=sp() + [sql_q, opts])
        op(one + "/queryData", "post", f"post{prefix}QueryData", "connections", "Run a SQL statement",
           {"200": ok("The rows.", ref("QueryData")), **errs(400, 404, 502)}, params=sp(), request=body(ref("SqlRequest"), {"sqlStatement": SQL}))
        op(one + "/sqlQuery", "post", f"post{prefix}SqlQuery", "connections", "Run a SQL statement (the 2026 name of queryData)",
           {"200": ok("The rows.", ref("QueryData")), **errs(400, 404, 502)}, params=sp(), request=body(ref("SqlRequest"), {"sqlStatement": SQL}))
        op(one + "/temporaryTable", "get", f"get{prefix}TemporaryTable", "connections", "Create a temporary table from a SQL statement",
           {"200": ok("The table's name.", ref("TemporaryTable")), **errs(400, 404, 502)}, params=sp() + [sql_q])
        op(one + "/temporaryTable", "post", f"post{prefix}TemporaryTable", "connections", "Create a temporary table from a SQL statement",
           {"200": ok("The table's name.", ref("TemporaryTable")), **errs(400, 404, 502)}, params=sp(), request=body(ref("SqlRequest"), {"sqlStatement": SQL}))
        op(one + "/sqlTemporaryTable", "post", f"post{prefix}SqlTemporaryTable", "connections", "Create a temporary table (the 2026 name of temporaryTable)",
           {"200": ok("The table's name.", ref("TemporaryTable")), **errs(400, 404, 502)}, params=sp(), request=body(ref("SqlRequest"), {"sqlStatement": SQL}))

    connection_routes(P, lambda: [proj()], F[:-1], True)

    if family == "environments":
        op(P + "/packages/materializations", "get", "listMaterializations", "packages",
           "List materialized tables: always empty, because this server builds none",
           {"200": ok("No materializations.", arr({"type": "object"})), **errs(404)}, params=[proj()])
    op(P + "/packages", "get", f"list{F[:-1]}Packages", "packages", "List packages",
       {"200": ok("The packages.", arr(ref("Package"))), **errs(404, 501)}, params=[proj(), VERSION])
    added = f"added-{family}"
    op(P + "/packages", "post", f"create{F[:-1]}Package", "packages", "Add a package from a folder or a .zip archive",
       {"200": ok("The package.", ref("Package")), **errs(400, 403, 404, 409)}, params=[proj()],
       request=body(ref("PackageRequest"), {"name": added, "location": "./shop", "description": "A second copy of shop."}))
    K = P + "/packages/{package}"
    pkg = lambda example="shop": pparam("package", example, "The package name.")
    op(K, "get", f"get{F[:-1]}Package", "packages", "Get a package",
       {"200": ok("The package.", ref("Package")), **errs(404, 501)}, params=[proj(), pkg(), RELOAD, VERSION])
    op(K, "patch", f"update{F[:-1]}Package", "packages", "Change a package's description or location",
       {"200": ok("The package.", ref("Package")), **errs(400, 403, 404)}, params=[proj(), pkg(added)],
       request=body(ref("PackageRequest"), {"name": added, "description": "Updated."}))
    op(K, "delete", f"delete{F[:-1]}Package", "packages", "Delete a package",
       {"200": ok("The deleted package.", ref("Package")), **errs(403, 404)}, params=[proj(), pkg(added)])

    connection_routes(K, lambda: [proj(), pkg()], F[:-1] + "Package", False)

    kp = lambda: [proj(), pkg()]
    model = lambda: pparam("path", "shop.malloy", "The model's package-relative path; `/` may be sent as `%2F`.")
    op(K + "/models", "get", f"list{F[:-1]}Models", "models", "List models",
       {"200": ok("The models, with the compile error of broken ones.", arr(ref("Model"))), **errs(404, 424, 501)}, params=kp() + [VERSION])
    op(K + "/models/{path}", "get", f"get{F[:-1]}Model", "models", "Get a compiled model",
       {"200": ok("The model.", ref("CompiledModel")), **errs(404, 424, 501)}, params=kp() + [model(), VERSION])
    op(K + "/models/{path}/query", "post", f"query{F[:-1]}Model", "models", "Run a query against a model",
       {"200": ok("The result.", ref("QueryResult")), **errs(400, 404, 424, 501)}, params=kp() + [model()],
       request=body(ref("QueryRequest"), {"sourceName": "items", "queryName": "by_price"}))
    op(K + "/models/{path}/compile", "post", f"compile{F[:-1]}Model", "models", "Check Malloy text against a model without running it",
       {"200": ok("The problems; `status` is `error` when one is an error.", ref("CompileResult")), **errs(400, 404, 424, 501)}, params=kp() + [model()],
       request=body(ref("CompileRequest"), {"source": "run: items -> by_price", "includeSql": True}))
    op(K + "/notebooks", "get", f"list{F[:-1]}Notebooks", "notebooks", "List notebooks",
       {"200": ok("The notebooks.", arr(ref("Notebook"))), **errs(404, 424, 501)}, params=kp() + [VERSION])
    nb = lambda: pparam("path", "tour.malloynb", "The notebook's package-relative path; `/` may be sent as `%2F`.")
    givens = [qparam("givens", "JSON text of parameter values; invalid JSON answers 400 `{error}`."),
              qparam("filter_params", "JSON text of filter values; invalid JSON answers 400 `{error}`.")]
    op(K + "/notebooks/{path}", "get", f"get{F[:-1]}Notebook", "notebooks", "Get a notebook's cells",
       {"200": ok("The notebook. Through `/projects`, code cells carry their results.", ref("CompiledNotebook")), **errs(404, 424, 501)},
       params=kp() + [nb(), VERSION] + givens)
    op(K + "/notebooks/{path}/cells/{cellIndex}", "get", f"get{F[:-1]}NotebookCell", "notebooks", "Run one notebook cell",
       {"200": ok("The cell, with its result when it is a query.", ref("NotebookCell")),
        "400": err("The cell index is out of range; a non-numeric index answers `{error}` instead of `{code, message}`."),
        **errs(404, 424, 501)},
       params=kp() + [nb(), pparam("cellIndex", "1", "The 0-based cell index."), VERSION] + givens)
    op(K + "/schedules", "get", f"list{F[:-1]}Schedules", "models", "List `# schedule` annotations (April-2025 API)",
       {"200": ok("The schedules.", arr(ref("Schedule"))), **errs(404, 424, 501)}, params=kp() + [VERSION])
    op(K + "/databases", "get", f"list{F[:-1]}Databases", "databases", "List the package's .parquet and .csv files",
       {"200": ok("The data files with row counts, columns and sizes.", arr(ref("Database"))), **errs(404, 424, 501)}, params=kp() + [VERSION])
    op(K + "/queryResults/{path}", "get", f"get{F[:-1]}QueryResults", "models", "Run a query (April-2025 API)",
       {"200": ok("The result as JSON text.", ref("LegacyQueryResult")), **errs(400, 404, 424, 501)},
       params=kp() + [model(), qparam("query", "Malloy text appended to the model."), qparam("sourceName", "The source of a named view.", "items"),
                      qparam("queryName", "A named query or view.", "by_price"), VERSION])
    op(K + "/compile-inputs", "get", f"get{F[:-1]}CompileInputs", "playground", "The package's model files, for the browser compiler",
       {"200": ok("The files.", ref("CompileInputs")), **errs(404, 424)}, params=kp())
    op(K + "/compile-inputs/schemas", "post", f"describe{F[:-1]}Schemas", "playground", "Describe tables and SQL that the package's models use",
       {"200": ok("The schemas.", ref("SchemaReply")), **errs(400, 404, 424)}, params=kp(),
       request=body(ref("SchemaRequest"), {"tables": [{"connection": "duckdb", "table": "data/items.csv"}]}))

doc = {
 "openapi": "3.0.3",
 "info": {"title": "Malloy Publisher (Rust) API", "version": "0.1.0",
   "description": "The REST API of this server. Every project route exists under `/api/v0/projects` and, with the same payloads, under `/api/v0/environments` (the 2026 name). Errors are `{code, message}` with `code` equal to the HTTP status. An unknown path under `/api/v0` answers a JSON 404. Request bodies over 1 MiB answer 413. A query or connection statement that runs longer than the query timeout (`--query_timeout_ms`) answers 504, and one that returns more than 100000 rows answers 413."},
 "servers": [{"url": "/"}],
 "paths": paths,
 "components": {"schemas": schemas},
}
class Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data): return True
yaml.add_representer(collections.OrderedDict, lambda d, data: d.represent_dict(data.items()), Dumper=Dumper)
text = "# OpenAPI document of this server's API, served at /api-doc.yaml.\n# Generated by scripts/api-doc.py; edit that script, not this file.\n" + yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=100, allow_unicode=True)
open(OUTPUT, "w").write(text)
print(f"{OUTPUT}: {sum(len(v) for v in paths.values())} operations")
