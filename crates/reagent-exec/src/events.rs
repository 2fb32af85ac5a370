//! What a run reports, as it happens. Workers send these to the one thread
//! that owns the output (see [`crate::progress`]); nothing else prints.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The plan, before any work starts.
    Plan {
        /// `(node, action, reason)` per selected node, parents first.
        steps: Vec<PlannedStep>,
    },
    /// A node needed nothing.
    UpToDate {
        /// Node name.
        node: String,
        /// `local` or `registry`.
        place: String,
    },
    /// Work on a node started.
    Started {
        /// Node name.
        node: String,
        /// `build`, `pull` or `push`.
        action: String,
    },
    /// A build reached a `STEP n/m`.
    Step {
        /// Node name.
        node: String,
        /// Step number.
        n: u32,
        /// Steps in the stage.
        of: u32,
        /// The instruction.
        text: String,
    },
    /// A line of build output (only with `-v`).
    Output {
        /// Node name.
        node: String,
        /// The line.
        line: String,
    },
    /// Work on a node succeeded.
    Finished {
        /// Node name.
        node: String,
        /// `build`, `pull` or `push`.
        action: String,
        /// How long it took.
        #[serde(serialize_with = "secs")]
        duration: Duration,
    },
    /// Work on a node failed.
    Failed {
        /// Node name.
        node: String,
        /// `build`, `pull`, `push` or `test`.
        action: String,
        /// What went wrong.
        error: String,
        /// The full log.
        log: Option<PathBuf>,
        /// How long it ran.
        #[serde(serialize_with = "secs")]
        duration: Duration,
    },
    /// A node was not attempted.
    Skipped {
        /// Node name.
        node: String,
        /// Why: a failed parent, a stop, an interruption.
        because: String,
    },
    /// The end of the run.
    Summary(Summary),
}

/// One planned step, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// Node name.
    pub node: String,
    /// `up-to-date`, `pull`, `build` or `push`.
    pub action: String,
    /// Why (for builds: what changed; for up-to-date: where the image is).
    pub reason: String,
}

/// Counts at the end of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Nodes built.
    pub built: usize,
    /// Nodes pulled from the registry.
    pub pulled: usize,
    /// Nodes pushed without a build (they were only local).
    pub pushed: usize,
    /// Nodes already up to date.
    pub up_to_date: usize,
    /// Nodes not attempted.
    pub skipped: usize,
    /// Nodes that failed.
    pub failed: usize,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// Wall time of the run.
    #[serde(serialize_with = "secs")]
    pub wall: Duration,
}

impl Summary {
    /// Whether every requested node ended up to date.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.skipped == 0 && !self.interrupted
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}
