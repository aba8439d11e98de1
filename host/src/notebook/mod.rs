//! Malloy notebooks (`.malloynb`): splitting them into cells, compiling the
//! cells in the package's sandbox, and caching the outcome per notebook
//! text and package version.
//!
//! Compiling a notebook compiles each Malloy cell twice (see the `compile`
//! module), and the web console requests each cell separately right after
//! requesting the notebook, so the analysis is computed once and shared
//! until the file or the package changes.

mod cells;
mod compile;
mod imports;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use malloy_compiler::{Host, ModelOutput, QueryOutput};

pub use cells::{split_cells, Cell, CellKind};
pub use imports::{scan_imports, Import};

use crate::catalog::PackageState;

/// A notebook's cells after compilation.
#[derive(Debug)]
pub struct NotebookAnalysis {
    pub cells: Vec<AnalyzedCell>,
    /// The model of all Malloy cells (`None` when there are none), or the
    /// first cell's compile error in Malloy's text form.
    pub outcome: Result<Option<ModelOutput>, String>,
}

#[derive(Debug)]
pub struct AnalyzedCell {
    pub kind: CellKind,
    pub text: String,
    /// JSON SourceInfo of each source that became visible in this cell:
    /// imported ones first, then the cell's own definitions. Each name is
    /// reported in one cell only.
    pub new_sources: Vec<String>,
    /// The cell's last `run:` statement, compiled; `None` when it has none
    /// or compilation stopped at an earlier cell.
    pub query: Option<QueryOutput>,
}

impl NotebookAnalysis {
    /// Returns the notebook's title: a `## title="..."` tag written in one of
    /// its own Malloy cells, else the first Markdown heading. Tags of
    /// imported models do not count, although the compiled model carries
    /// them, because they title those models, not the notebook.
    pub fn title(&self) -> Option<String> {
        let tagged = self
            .cells
            .iter()
            .filter(|cell| cell.kind != CellKind::Markdown)
            .flat_map(|cell| cell.text.lines())
            .find_map(|line| title_tag(line.trim_start()));
        tagged.or_else(|| {
            self.cells
                .iter()
                .filter(|cell| cell.kind == CellKind::Markdown)
                .flat_map(|cell| cell.text.lines())
                .find_map(|line| {
                    let heading = line.trim_start_matches('#');
                    (heading.len() < line.len() && heading.starts_with(' '))
                        .then(|| heading.trim().to_string())
                        .filter(|title| !title.is_empty())
                })
        })
    }
}

/// Reads `title="..."` from a `##` tagline.
fn title_tag(line: &str) -> Option<String> {
    let tags = line.strip_prefix("##")?;
    let start = tags.find("title=\"")? + "title=\"".len();
    let rest = &tags[start..];
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

/// Cached analyses by package folder and notebook path.
type CacheKey = (PathBuf, String);

struct CacheEntry {
    /// The package version the analysis was computed for.
    package: Weak<PackageState>,
    text: String,
    default_row_limit: u64,
    analysis: tokio::sync::OnceCell<Arc<NotebookAnalysis>>,
}

static CACHE: LazyLock<Mutex<HashMap<CacheKey, Arc<CacheEntry>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The reason a notebook could not be analyzed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotebookError {
    /// The package has no such notebook.
    NotFound(String),
    /// Reading the file or the compile task failed; the message is for the
    /// log only.
    Internal(String),
}

/// Returns the analysis of the notebook at `path` in a loaded package,
/// compiling it unless the same text was compiled for the same package
/// version. Concurrent callers wait for one compilation.
pub async fn analysis(
    package: &Arc<PackageState>,
    path: &str,
    default_row_limit: u64,
) -> Result<Arc<NotebookAnalysis>, NotebookError> {
    let Ok(loaded) = package.as_ref() else {
        return Err(NotebookError::Internal("the package is not loaded".into()));
    };
    if !loaded.notebooks.iter().any(|notebook| notebook == path) {
        return Err(NotebookError::NotFound(format!("{path} does not exist")));
    }
    let host = Arc::clone(loaded.compiler.host());
    let read_path = path.to_string();
    let text = tokio::task::spawn_blocking(move || host.read_file(&read_path))
        .await
        .map_err(|error| NotebookError::Internal(format!("the read task failed: {error}")))?
        .map_err(NotebookError::Internal)?;

    let key = (
        loaded.compiler.host().root().to_path_buf(),
        path.to_string(),
    );
    let entry = {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let current = cache.get(&key).filter(|entry| {
            entry.text == text
                && entry.default_row_limit == default_row_limit
                && entry
                    .package
                    .upgrade()
                    .is_some_and(|cached| Arc::ptr_eq(&cached, package))
        });
        match current {
            Some(entry) => Arc::clone(entry),
            None => {
                let entry = Arc::new(CacheEntry {
                    package: Arc::downgrade(package),
                    text: text.clone(),
                    default_row_limit,
                    analysis: tokio::sync::OnceCell::new(),
                });
                cache.insert(key, Arc::clone(&entry));
                entry
            }
        }
    };

    let analysis = entry
        .analysis
        .get_or_try_init(|| {
            let package = Arc::clone(package);
            let path = path.to_string();
            async move {
                let task = tokio::task::spawn_blocking(move || {
                    let Ok(loaded) = package.as_ref() else {
                        unreachable!("checked above");
                    };
                    compile::analyze(loaded, &path, &text, default_row_limit)
                });
                task.await.map(Arc::new).map_err(|error| {
                    NotebookError::Internal(format!("the compile task failed: {error}"))
                })
            }
        })
        .await?;
    Ok(Arc::clone(analysis))
}

#[cfg(test)]
mod tests {
    use super::title_tag;

    #[test]
    fn title_tag_reads_quoted_value() {
        assert_eq!(
            title_tag("## title=\"Sales tour\"\n").as_deref(),
            Some("Sales tour")
        );
        assert_eq!(title_tag("## renderer_legacy\n"), None);
        assert_eq!(title_tag("# title=\"not a model tag\"\n"), None);
    }
}
