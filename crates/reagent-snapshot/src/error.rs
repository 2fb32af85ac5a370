//! The one error type of this crate: every variant names the path at fault.

use std::io;
use std::path::PathBuf;

/// Why a tree or a file could not be identified.
///
/// Every variant names the path the user can look at; I/O errors keep their source.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file or directory could not be opened, listed, stat'ed or read.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The path at fault.
        path: PathBuf,
        /// What was attempted (`"read"`, `"list directory"`, …).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The tree to identify (or hash) is not a directory.
    #[error("{path}: not a directory")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A file of a type that has no content identity here (socket, FIFO, device node).
    #[error("{path}: unsupported file type: {kind}")]
    UnsupportedFileType {
        /// The path at fault.
        path: PathBuf,
        /// `"socket"`, `"fifo"`, `"block device"`, `"char device"` or `"unknown"`.
        kind: &'static str,
    },
    /// `metadata/timestamp.commit` exists but does not start with a commit id.
    #[error("{path}:{line}: {reason}")]
    BadCommitFile {
        /// The `timestamp.commit` file.
        path: PathBuf,
        /// 1-based line where the commit id was expected.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The worker thread pool could not be started.
    #[error("cannot start {threads} hashing threads: {reason}")]
    ThreadPool {
        /// How many threads were asked for.
        threads: usize,
        /// rayon's explanation.
        reason: String,
    },
}

impl SnapshotError {
    /// Wraps an I/O error with the path and the action that failed.
    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        SnapshotError::Io {
            path: path.into(),
            action,
            source,
        }
    }
}
