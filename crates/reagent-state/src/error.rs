//! Errors from the state folder.

use std::io;
use std::path::PathBuf;

/// A `Result` whose error is a [`StateError`].
pub type Result<T, E = StateError> = std::result::Result<T, E>;

/// What can go wrong with the state folder.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What we were doing, e.g. "appending to".
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another process holds the state lock and we were asked not to wait.
    #[error(
        "another reagent ({}) is working with {}; wait for it or pass a different state folder",
        pid.map_or_else(|| "pid unknown".to_string(), |p| format!("pid {p}")),
        dir.display()
    )]
    Locked {
        /// The holder's pid as it wrote it into the lock file, if readable.
        pid: Option<u32>,
        /// The state folder.
        dir: PathBuf,
    },
    /// A record could not be turned into JSON.
    #[error("encoding a build record for {node}: {source}")]
    Encode {
        /// The record's node.
        node: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

impl StateError {
    /// Wraps an I/O error with what we were doing and where.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| StateError::Io {
            action,
            path,
            source,
        }
    }
}
