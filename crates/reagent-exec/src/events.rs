//! What a run reports, as it happens. Workers send these to the one thread that
//! runs the session, which hands them to the caller's `on_event`; the library
//! never prints. The JSON form (`serde`) is what `reagent build --json` prints.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::junit::Case;

/// The kind of work done on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Work {
    /// Build it (and publish it, with a registry).
    Build,
    /// Pull it from the registry.
    Pull,
    /// Push a local build to the registry.
    Push,
}

impl Work {
    /// The word in output: `build`, `pull`, `push`.
    pub fn as_str(self) -> &'static str {
        match self {
            Work::Build => "build",
            Work::Pull => "pull",
            Work::Push => "push",
        }
    }

    /// The word once done: `built`, `pulled`, `pushed`.
    pub fn past(self) -> &'static str {
        match self {
            Work::Build => "built",
            Work::Pull => "pulled",
            Work::Push => "pushed",
        }
    }
}

/// Where an up-to-date node's image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// In local storage.
    Local,
    /// Only in the registry, and nothing needs it locally.
    Registry,
}

impl Place {
    /// The word in output: `local`, `registry`.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Local => "local",
            Place::Registry => "registry",
        }
    }
}

/// A planned step's action as reported: up to date, or some work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// Nothing to do.
    UpToDate,
    /// Build it.
    Build,
    /// Pull it.
    Pull,
    /// Push it.
    Push,
}

impl StepKind {
    /// The word in output: `up-to-date`, `build`, `pull`, `push`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::UpToDate => "up-to-date",
            StepKind::Build => "build",
            StepKind::Pull => "pull",
            StepKind::Push => "push",
        }
    }
}

impl From<Work> for StepKind {
    fn from(w: Work) -> Self {
        match w {
            Work::Build => StepKind::Build,
            Work::Pull => StepKind::Pull,
            Work::Push => StepKind::Push,
        }
    }
}

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[allow(missing_docs)] // the fields are named for what they hold
pub enum Event {
    /// The plan, before any work starts: one step per selected node, parents first.
    Plan { steps: Vec<PlannedStep> },
    /// A node needed nothing.
    UpToDate { node: String, place: Place },
    /// Work on a node started.
    Started { node: String, action: Work },
    /// A build reached `STEP n/of` of its current stage.
    Step {
        node: String,
        n: u32,
        of: u32,
        text: String,
    },
    /// A line of build output (only when the session streams output).
    Output { node: String, line: String },
    /// Test or audit results of a node's build, before it is tagged.
    Tested { node: String, cases: Vec<CaseEvent> },
    /// Work on a node succeeded.
    Finished {
        node: String,
        action: Work,
        #[serde(serialize_with = "secs")]
        duration: Duration,
    },
    /// Work on a node failed; `log` is its build log, when it has one.
    Failed {
        node: String,
        action: Work,
        error: String,
        log: Option<PathBuf>,
        #[serde(serialize_with = "secs")]
        duration: Duration,
    },
    /// A node was not attempted: a parent failed, the run stopped, or it was interrupted.
    Skipped { node: String, because: String },
    /// The build record could not be written for a node (its build is not lost: the
    /// image exists, but the record that explains it is).
    RecordFailed { node: String, error: String },
    /// The binary package cache was pulled from or pushed to the registry.
    Binhost {
        /// `pulled` or `pushed`.
        action: &'static str,
        /// The registry reference.
        reference: String,
        /// Files it added to the local cache (pulled), or the cache holds (pushed).
        files: usize,
    },
    /// The end of the run.
    Summary(Summary),
}

/// One planned step, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// Node name.
    pub node: String,
    /// What will be done.
    pub action: StepKind,
    /// Why (for builds: what changed; for up-to-date: where the image is).
    pub reason: String,
}

/// A test or audit case, as an event carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseEvent {
    /// The case's name (a test name, `GLSA-<id>`).
    pub name: String,
    /// `passed`, `failed` or `error`.
    pub outcome: &'static str,
    /// The failure or error message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl From<&Case> for CaseEvent {
    fn from(c: &Case) -> Self {
        use crate::junit::CaseOutcome;
        let (outcome, message) = match &c.outcome {
            CaseOutcome::Passed => ("passed", None),
            CaseOutcome::Failed(m) => ("failed", Some(m.clone())),
            CaseOutcome::Error(m) => ("error", Some(m.clone())),
        };
        CaseEvent {
            name: c.name.clone(),
            outcome,
            message,
        }
    }
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
    /// Build records that could not be written.
    pub record_errors: usize,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// Wall time of the run.
    #[serde(serialize_with = "secs")]
    pub wall: Duration,
}

impl Summary {
    /// Whether every requested node ended up to date, and every record was written.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.skipped == 0 && self.record_errors == 0 && !self.interrupted
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_words() {
        let e = Event::Finished {
            node: "base".into(),
            action: Work::Build,
            duration: Duration::from_millis(1234),
        };
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event"], "finished");
        assert_eq!(v["action"], "build");
        assert_eq!(v["duration"], 1.234);
        let up = serde_json::to_value(Event::UpToDate {
            node: "a".into(),
            place: Place::Registry,
        })
        .unwrap();
        assert_eq!(up["event"], "up-to-date");
        assert_eq!(up["place"], "registry");
        let step = serde_json::to_value(PlannedStep {
            node: "a".into(),
            action: StepKind::UpToDate,
            reason: String::new(),
        })
        .unwrap();
        assert_eq!(step["action"], "up-to-date");
    }

    #[test]
    fn summary_is_ok_only_when_everything_is_done_and_recorded() {
        let mut s = Summary::default();
        assert!(s.ok());
        s.record_errors = 1;
        assert!(!s.ok());
    }
}
