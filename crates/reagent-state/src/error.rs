//! Errors from the state folder.

use std::io;
use std::path::PathBuf;

use crate::{MIN_KEY_PREFIX, RECORD_VERSION};

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
    /// The build log holds a record of a version newer than
    /// [`RECORD_VERSION`]: a newer reagent wrote it. It is neither misread
    /// nor appended to.
    #[error(
        "{}, line {line}: this build record was written by a newer reagent (record version {version}; this reagent reads versions up to {RECORD_VERSION}). Upgrade reagent, or use another --state-dir",
        path.display()
    )]
    NewerRecord {
        /// The build log.
        path: PathBuf,
        /// The 1-based line number of the first such record.
        line: usize,
        /// Its version (saturated at `u32::MAX`).
        version: u32,
    },
    /// A record handed to [`BuildLog::append`](crate::BuildLog::append)
    /// claims a version newer than this reagent writes; writing it would
    /// make the log unreadable to this very reagent.
    #[error(
        "refusing to write a build record of {node} with version {version}: this reagent writes versions up to {RECORD_VERSION}"
    )]
    UnwritableVersion {
        /// The record's node.
        node: String,
        /// The version it claims.
        version: u32,
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
    /// A state file's content could not be turned into JSON.
    #[error("encoding {}: {source}", path.display())]
    EncodeFile {
        /// The file it was meant for.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// Why a key prefix given by a user names no single build; see
/// [`History::resolve_key`](crate::History::resolve_key).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyPrefixError {
    /// Too short, or not hexadecimal.
    #[error(
        "`{prefix}` is not a key prefix: give at least {MIN_KEY_PREFIX} hex digits of a build's key"
    )]
    NotAPrefix {
        /// The prefix as given.
        prefix: String,
    },
    /// No candidate key starts with it.
    #[error("no build of {node} has a key starting with `{prefix}`")]
    NoMatch {
        /// The node whose builds were searched.
        node: String,
        /// The prefix, lowercased.
        prefix: String,
    },
    /// More than one candidate key starts with it.
    #[error(
        "`{prefix}` matches {} builds of {node}: {}; give more digits",
        matches.len(),
        matches.join(", ")
    )]
    Ambiguous {
        /// The node whose builds were searched.
        node: String,
        /// The prefix, lowercased.
        prefix: String,
        /// The matching keys in their 16-character short form, newest
        /// recorded build first.
        matches: Vec<String>,
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
