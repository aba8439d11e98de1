//! Compiling a notebook's cells in the package's sandbox.
//!
//! Malloy cells share one growing model: cell N sees every definition of
//! the Malloy cells before it. The compiler component reads models only
//! through the package host, so the text of the earlier cells is served to
//! it as a virtual model file in the notebook's folder (imports in cells
//! then resolve as they would from the notebook). For each Malloy cell:
//!
//! 1. the earlier cells plus this cell are compiled as a model, which
//!    checks the cell and lists its definitions and `run:` statements;
//! 2. when the cell adds a `run:`, the cell text is compiled as query text
//!    against the earlier cells, in unrestricted mode (cells may import
//!    files and use `duckdb.table`), and its last `run:` is the cell's
//!    query.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use malloy_compiler::{Host, ModelOutput, Problem, QueryRequest, QuerySpec, Severity};
use serde_json::Value;

use super::cells::{split_cells, CellKind};
use super::imports::scan_imports;
use super::{AnalyzedCell, NotebookAnalysis};
use crate::catalog::LoadedPackage;
use crate::package_host::PackageHost;
use crate::sandbox::CompileError;

/// Makes virtual file names unique, so concurrent compilations of one
/// notebook never share a file.
static NEXT_VIRTUAL_FILE: AtomicU64 = AtomicU64::new(0);

/// A virtual model file that is removed when dropped.
struct VirtualFile<'h> {
    host: &'h PackageHost,
    path: String,
}

impl<'h> VirtualFile<'h> {
    fn add(host: &'h PackageHost, notebook_path: &str, text: &str) -> Result<Self, String> {
        let number = NEXT_VIRTUAL_FILE.fetch_add(1, Ordering::Relaxed);
        let path = format!("{notebook_path}~cells{number}.malloy");
        host.add_virtual_file(&path, text)?;
        Ok(VirtualFile { host, path })
    }
}

impl Drop for VirtualFile<'_> {
    fn drop(&mut self) {
        self.host.remove_virtual_file(&self.path);
    }
}

/// Compiles every cell of the notebook at `path` whose text is `text`.
/// Blocks; call it from a blocking thread.
pub fn analyze(
    package: &LoadedPackage,
    path: &str,
    text: &str,
    default_row_limit: u64,
) -> NotebookAnalysis {
    let cells = match split_cells(text) {
        Ok(cells) => cells,
        Err(message) => {
            return NotebookAnalysis {
                cells: Vec::new(),
                outcome: Err(format!("Error(s) compiling notebook {path}:\n{message}")),
            }
        }
    };
    let mut analyzed: Vec<AnalyzedCell> = cells
        .iter()
        .map(|cell| AnalyzedCell {
            kind: cell.kind,
            text: cell.text.clone(),
            new_sources: Vec::new(),
            query: None,
        })
        .collect();

    let host = package.compiler.host();
    let mut chain = Chain {
        package,
        host,
        path,
        default_row_limit,
        text: None,
        file: None,
        runs: 0,
        seen: HashSet::new(),
        model: None,
    };
    for (index, cell) in analyzed.iter_mut().enumerate() {
        if cell.kind == CellKind::Malloy {
            if let Err(message) = chain.add_cell(index, cell) {
                return NotebookAnalysis {
                    cells: analyzed,
                    outcome: Err(message),
                };
            }
        }
    }
    let model = chain.model.take();
    NotebookAnalysis {
        cells: analyzed,
        outcome: Ok(model),
    }
}

/// The Malloy cells compiled so far.
struct Chain<'p> {
    package: &'p LoadedPackage,
    host: &'p PackageHost,
    path: &'p str,
    default_row_limit: u64,
    /// The text of the Malloy cells so far, joined with newlines; `None`
    /// before the first.
    text: Option<String>,
    /// `text` as a virtual model file.
    file: Option<VirtualFile<'p>>,
    /// `run:` statements in `text`.
    runs: usize,
    /// Names already reported in some cell's `newSources`.
    seen: HashSet<String>,
    /// The model of every Malloy cell so far.
    model: Option<ModelOutput>,
}

impl<'p> Chain<'p> {
    fn add_cell(&mut self, index: usize, cell: &mut AnalyzedCell) -> Result<(), String> {
        let first_line = self
            .text
            .as_deref()
            .map(|text| text.matches('\n').count() + 1)
            .unwrap_or(0);
        let combined = match &self.text {
            Some(text) => format!("{text}\n{}", cell.text),
            None => cell.text.clone(),
        };
        let file = VirtualFile::add(self.host, self.path, &combined).map_err(|error| {
            tracing::error!(%error, notebook = self.path, "cannot add a notebook's virtual model file");
            format!("Error(s) compiling notebook cell {index}: internal error")
        })?;
        let model = self
            .package
            .compiler
            .compile_model(&file.path)
            .map_err(|error| self.cell_error(index, &cell.text, &file.path, first_line, error))?;
        let info: Value = serde_json::from_str(&model.model_info).unwrap_or(Value::Null);

        cell.new_sources = self.imported_sources(&cell.text);
        for entry in source_entries(&info) {
            if let Some(name) = entry.get("name").and_then(Value::as_str) {
                if self.seen.insert(name.to_string()) {
                    cell.new_sources.push(entry.to_string());
                }
            }
        }

        let runs = info
            .get("anonymous_queries")
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0);
        if runs > self.runs {
            let empty;
            let model_path = match &self.file {
                Some(file) => file.path.clone(),
                None => {
                    empty = VirtualFile::add(self.host, self.path, "").map_err(|error| {
                        tracing::error!(%error, notebook = self.path, "cannot add a notebook's virtual model file");
                        format!("Error(s) compiling notebook cell {index}: internal error")
                    })?;
                    empty.path.clone()
                }
            };
            let request = QueryRequest {
                model_path,
                query: QuerySpec::Text(cell.text.clone()),
                restricted: false,
                default_row_limit: Some(self.default_row_limit),
            };
            let output = self
                .package
                .compiler
                .compile_query(&request)
                .map_err(|error| self.cell_error(index, &cell.text, "query", 0, error))?;
            cell.query = Some(output);
        }

        self.runs = runs;
        self.text = Some(combined);
        self.file = Some(file);
        self.model = Some(model);
        Ok(())
    }

    /// Returns the SourceInfo JSON of the sources that the cell's imports
    /// bring in and that no earlier cell reported. Imported files are the
    /// package's models, already compiled when the package loaded.
    fn imported_sources(&mut self, text: &str) -> Vec<String> {
        let mut sources = Vec::new();
        for import in scan_imports(text) {
            let Some(model_path) = resolve_import(self.path, &import.url) else {
                continue;
            };
            let Some(Ok(output)) = self.package.models.get(&model_path) else {
                continue;
            };
            let info: Value = serde_json::from_str(&output.model_info).unwrap_or(Value::Null);
            for entry in source_entries(&info) {
                let Some(name) = entry.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let alias = if import.names.is_empty() {
                    Some(name.to_string())
                } else {
                    import
                        .names
                        .iter()
                        .find(|(_, imported)| imported == name)
                        .map(|(alias, _)| alias.clone())
                };
                let Some(alias) = alias else { continue };
                if self.seen.insert(alias.clone()) {
                    let mut entry = entry.clone();
                    entry["name"] = Value::String(alias);
                    sources.push(entry.to_string());
                }
            }
        }
        sources
    }

    /// Formats a cell's compile failure like a model's, with line numbers
    /// counted from the start of the cell. `url` is the file whose lines
    /// start at the cell's line `first_line`.
    fn cell_error(
        &self,
        index: usize,
        cell_text: &str,
        url: &str,
        first_line: usize,
        error: CompileError,
    ) -> String {
        let problems = match error {
            CompileError::Problems(problems) => problems,
            other => return format!("Error(s) compiling notebook cell {index}: {other}"),
        };
        let mut message = format!("Error(s) compiling notebook cell {index}:");
        for problem in errors_first(&problems) {
            message.push('\n');
            let line = problem.range.start.line as usize;
            let column = problem.range.start.character as usize;
            if problem.url == url && line >= first_line {
                let line = line - first_line;
                message.push_str(&format!("line {}: {}", line + 1, problem.message));
                push_source_line(&mut message, cell_text.lines().nth(line), column);
            } else {
                message.push_str(&format!(
                    "FILE: {}\nline {}: {}",
                    problem.url,
                    line + 1,
                    problem.message
                ));
                let source = self.host.read_file(&problem.url).ok();
                push_source_line(
                    &mut message,
                    source.as_deref().and_then(|text| text.lines().nth(line)),
                    column,
                );
            }
        }
        message
    }
}

fn push_source_line(message: &mut String, line: Option<&str>, column: usize) {
    if let Some(line) = line {
        let indent: String = line
            .chars()
            .take(column)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        message.push_str(&format!("\n  | {line}\n  | {indent}^"));
    }
}

/// Returns the problems that are errors, or all of them if none is.
fn errors_first(problems: &[Problem]) -> Vec<&Problem> {
    let errors: Vec<&Problem> = problems
        .iter()
        .filter(|problem| problem.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        problems.iter().collect()
    } else {
        errors
    }
}

/// Returns the `kind: "source"` entries of a ModelInfo, which include named
/// queries, as in Malloy's own ModelInfo.
fn source_entries(info: &Value) -> impl Iterator<Item = &Value> {
    info.get("entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|entry| entry.get("kind").and_then(Value::as_str) == Some("source"))
}

/// Returns the package path of `url` imported from the file at `from`, or
/// `None` when it would leave the package. The compiler resolves imports
/// the same way.
fn resolve_import(from: &str, url: &str) -> Option<String> {
    let url = url.strip_prefix("file://").unwrap_or(url);
    let mut parts: Vec<&str> = if url.starts_with('/') {
        Vec::new()
    } else {
        let mut folder: Vec<&str> = from.split('/').collect();
        folder.pop();
        folder
    };
    for part in url.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::resolve_import;

    #[test]
    fn imports_resolve_from_the_notebook_folder() {
        assert_eq!(
            resolve_import("tours/a.malloynb", "../shop.malloy").as_deref(),
            Some("shop.malloy")
        );
        assert_eq!(
            resolve_import("a.malloynb", "sub/b.malloy").as_deref(),
            Some("sub/b.malloy")
        );
        assert_eq!(resolve_import("a.malloynb", "../b.malloy"), None);
    }
}
