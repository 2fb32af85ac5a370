//! One line of the build log.

use serde::{Deserialize, Serialize};

/// How a build attempt of a node ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Built successfully.
    Built,
    /// The build command failed.
    Failed,
    /// Stopped before the end (Ctrl-C, a sibling failed, ...).
    Interrupted,
    /// Not built but pulled from a registry, already up to date there.
    Pulled,
    /// Built, but its tests failed, so the result is not used.
    TestFailed,
    /// Not built: an image built before was pushed, every one of its tags.
    Published,
}

impl Outcome {
    /// True for outcomes that leave a usable result: built or pulled.
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Built | Outcome::Pulled)
    }
}

/// One build attempt of one node, as stored in `builds.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The node's name.
    pub node: String,
    /// The node's 64-hex content key at the time.
    pub key: String,
    /// The digest of the resulting image manifest (empty if none).
    pub manifest_digest: String,
    /// The node's input list, kept to explain later rebuilds; opaque here.
    pub manifest: serde_json::Value,
    /// When the attempt started, in unix milliseconds.
    pub start: u64,
    /// When it ended, in unix milliseconds.
    pub end: u64,
    /// How it ended.
    pub outcome: Outcome,
}

impl Record {
    /// How long the attempt took (zero if the clock went backwards).
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.end.saturating_sub(self.start))
    }
}
