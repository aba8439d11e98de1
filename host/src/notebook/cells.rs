//! Splitting a `.malloynb` file into cells.
//!
//! A line that starts with `>>>markdown` or `>>>malloy` begins a cell, and
//! the rest of such a line (cell options) is ignored. A cell's text is the
//! lines up to the next delimiter, joined with `\n`, so it has no final
//! newline unless a blank line precedes the next delimiter or ends the
//! file. Text before the first delimiter belongs to no cell.

/// The kind of a notebook cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Markdown,
    Malloy,
}

impl CellKind {
    /// The cell type on the wire: `markdown` or `code`.
    pub fn wire_name(self) -> &'static str {
        match self {
            CellKind::Markdown => "markdown",
            CellKind::Malloy => "code",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub kind: CellKind,
    pub text: String,
}

/// Splits notebook text into cells. Rejects a `>>>sql` cell or another
/// delimiter this server cannot run, naming its 1-based line.
pub fn split_cells(text: &str) -> Result<Vec<Cell>, String> {
    let mut cells: Vec<(CellKind, Vec<&str>)> = Vec::new();
    for (index, line) in split_lines(text).into_iter().enumerate() {
        if let Some(rest) = line.strip_prefix(">>>") {
            let name_end = rest
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            let kind = match &rest[..name_end] {
                "markdown" => CellKind::Markdown,
                "malloy" => CellKind::Malloy,
                other => {
                    return Err(format!(
                        "line {}: unsupported notebook cell type '>>>{other}'; \
                         use >>>markdown or >>>malloy",
                        index + 1
                    ))
                }
            };
            cells.push((kind, Vec::new()));
        } else if let Some((_, lines)) = cells.last_mut() {
            lines.push(line);
        }
    }
    Ok(cells
        .into_iter()
        .map(|(kind, lines)| Cell {
            kind,
            text: lines.join("\n"),
        })
        .collect())
}

/// Splits at `\r\n`, `\r` and `\n`.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => {
                lines.push(&text[start..index]);
                start = index + 1;
            }
            b'\r' => {
                lines.push(&text[start..index]);
                if bytes.get(index + 1) == Some(&b'\n') {
                    index += 1;
                }
                start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    lines.push(&text[start..]);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(kind: CellKind, text: &str) -> Cell {
        Cell {
            kind,
            text: text.to_string(),
        }
    }

    #[test]
    fn cells_keep_inner_blank_lines() {
        let text = "ignored\n>>>markdown\n# T\n\n>>>malloy\nimport \"a.malloy\"\n\n\n>>>malloy\nrun: a -> b\n";
        assert_eq!(
            split_cells(text).unwrap(),
            vec![
                cell(CellKind::Markdown, "# T\n"),
                cell(CellKind::Malloy, "import \"a.malloy\"\n\n"),
                cell(CellKind::Malloy, "run: a -> b\n"),
            ]
        );
    }

    #[test]
    fn cells_split_on_any_line_ending() {
        let text = ">>>markdown\r\nA\r\n>>>malloy connection=duckdb\rrun: x";
        assert_eq!(
            split_cells(text).unwrap(),
            vec![
                cell(CellKind::Markdown, "A"),
                cell(CellKind::Malloy, "run: x"),
            ]
        );
    }

    #[test]
    fn sql_cell_is_rejected() {
        let error = split_cells(">>>markdown\nA\n>>>sql\nselect 1").unwrap_err();
        assert!(
            error.starts_with("line 3: unsupported notebook cell type '>>>sql'"),
            "{error}"
        );
    }

    #[test]
    fn empty_notebook_has_no_cells() {
        assert_eq!(split_cells("").unwrap(), Vec::new());
        assert_eq!(split_cells("just text\n").unwrap(), Vec::new());
    }

    #[test]
    fn markdown_lookalike_is_not_a_delimiter() {
        let text = ">>>markdown\n a >>>malloy inside\n>>>markdownish";
        let error = split_cells(text).unwrap_err();
        assert!(error.contains("'>>>markdownish'"), "{error}");
    }
}
