//! Errors in a project's input, each naming the file and line the user can fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a project's input files.
///
/// `file` is relative to the project root where possible, so messages read the
/// same wherever the project lives; `line` is 1-based when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProjectError {
    /// The file to fix (relative to the project root where possible).
    pub file: PathBuf,
    /// The 1-based line within `file`, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong, phrased so the user knows what to change.
    pub message: String,
}

impl ProjectError {
    /// An error at `file:line`.
    pub fn at(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        ProjectError {
            file: file.into(),
            line: Some(line),
            message: message.into(),
        }
    }

    /// An error about a whole file (or folder).
    pub fn in_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ProjectError {
            file: file.into(),
            line: None,
            message: message.into(),
        }
    }

    /// The `file:line` location as shown to users.
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{}", self.file.display(), line),
            None => self.file.display().to_string(),
        }
    }
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)
    }
}

/// Every problem found while loading a project; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProjectErrors(pub Vec<ProjectError>);

impl fmt::Display for ProjectErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<ProjectError> for ProjectErrors {
    fn from(e: ProjectError) -> Self {
        ProjectErrors(vec![e])
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `path` relative to `root` when it lies below it (`.` for `root` itself), else unchanged.
pub fn relative(root: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}
