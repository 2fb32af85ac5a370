//! What stops an import.

use std::fmt;
use std::path::PathBuf;

/// One problem in the namespace that makes a faithful project impossible,
/// at its file and, when known, line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the namespace folder (or as given, for Kubler's own files).
    pub file: PathBuf,
    /// The 1-based line, when the problem is on one.
    pub line: Option<usize>,
    /// That line's text, trimmed, when there is a line.
    pub text: Option<String>,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl Problem {
    /// A problem with a whole file.
    pub fn in_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line: None,
            text: None,
            message: message.into(),
        }
    }

    /// A problem at a line whose text is `text`.
    pub fn at(
        file: impl Into<PathBuf>,
        line: usize,
        text: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            file: file.into(),
            line: Some(line),
            text: Some(text.into()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Why an import did not write a project.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The folder is not a Kubler namespace.
    #[error("`{}` is not a Kubler namespace: {why}", .path.display())]
    NotANamespace {
        /// The folder given.
        path: PathBuf,
        /// What is missing.
        why: String,
    },
    /// An argument makes no sense (a `--portage` that is not a folder, a bad
    /// namespace name).
    #[error("{0}")]
    Argument(String),
    /// The namespace says something that cannot be imported faithfully; every
    /// such problem found is listed.
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
    /// A file of the namespace (or of Kubler) could not be read.
    #[error("cannot read `{}`: {source}", .path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The output folder exists and holds something: an import never overwrites.
    #[error("`{}` is not empty: the import writes a new project folder and overwrites nothing", .path.display())]
    OutputNotEmpty {
        /// The output folder.
        path: PathBuf,
    },
    /// Writing the project failed.
    #[error("cannot write `{}`: {source}", .path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl ImportError {
    /// Whether the error is the input's fault (the namespace, the arguments),
    /// as opposed to a failure writing the output.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ImportError::Write { .. })
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_file_line_message() {
        let e = ImportError::Invalid(vec![
            Problem::at("images/a/build.conf", 3, "X=1", "bad"),
            Problem::in_file("kubler.conf", "worse"),
        ]);
        assert_eq!(
            e.to_string(),
            "images/a/build.conf:3: bad\nkubler.conf: worse"
        );
        assert!(e.is_bad_input());
        let w = ImportError::Write {
            path: "out/graph.toml".into(),
            source: std::io::Error::other("disk full"),
        };
        assert!(!w.is_bad_input());
        assert_eq!(w.to_string(), "cannot write `out/graph.toml`: disk full");
    }
}
