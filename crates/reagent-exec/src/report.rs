//! The run report `reagent build --report FILE` writes for CI systems to keep:
//! one versioned JSON document per run, one entry per planned node.
//!
//! ```json
//! {"version": 1, "reagent": "0.1.0", "project": "shop", "status": "ok",
//!  "registry": "registry.example.com/acme",
//!  "summary": {"built": 1, "pulled": 1, "pushed": 0, "up_to_date": 0, ...},
//!  "nodes": [
//!    {"name": "base", "key": "…64 hex…", "outcome": "pulled", "action": "pull",
//!     "reason": "in the registry; a node to build needs it", "source": "registry",
//!     "duration": 1.2, "pulled": "registry.example.com/acme/base:0123456789abcdef"},
//!    {"name": "app", "key": "…", "outcome": "built", "action": "build",
//!     "reason": "never built", "source": "built", "duration": 8.5,
//!     "pushed": ["registry.example.com/acme/app:fedcba9876543210", "registry.example.com/acme/app:latest"],
//!     "tests": [{"name": "conf", "outcome": "passed", "duration": 0.3}]}
//!  ]}
//! ```
//!
//! A [`Report`] is made from a finished run ([`Report::of_run`]), from a plan
//! that was not run (`-n`: [`Report::of_plan`], every outcome `planned`), or
//! from an error that stopped reagent before any node ran
//! ([`Report::of_error`]: `status` `error`, no nodes). Within version 1 fields
//! may be added, never renamed or removed; a field that does not apply to a
//! node is left out rather than written as `null`. Build-arg values are
//! masked in reasons and errors, as everywhere else.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use reagent_graph::Project;
use serde::Serialize;

use crate::events::{Place, StepKind, Summary, Work};
use crate::junit::{Case, CaseKind, CaseOutcome};
use crate::plan::{Action, Plan};
use crate::run::{NodeOutcome, NodeReport, RunReport};

/// The version of the report's format (the `version` field).
pub const REPORT_VERSION: u32 = 1;

/// The whole report: the run's status and counts, and one entry per planned node.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// The reagent version that wrote it.
    pub reagent: &'static str,
    /// The project's name (`[project] name`, else its folder's name).
    pub project: String,
    /// How the run ended.
    pub status: Status,
    /// The registry prefix pulled from and pushed to; `null` when none was used.
    pub registry: Option<String>,
    /// Why reagent stopped before running anything (`status` `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run's counts (absent for a plan or an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// One entry per planned node, parents first.
    pub nodes: Vec<ReportNode>,
}

/// How a run ended, as the report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Everything asked for is up to date and recorded.
    Ok,
    /// A node failed or was skipped, or a build record was not written.
    Failed,
    /// SIGINT or SIGTERM stopped the run (or its planning).
    Interrupted,
    /// `-n`: only planned, nothing run.
    Planned,
    /// Stopped before any node ran (a parent missing for `--only`, the registry down...).
    Error,
}

/// How one node ended: [`NodeOutcome`], or `planned` for a plan not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Built (and pushed, with a registry).
    Built,
    /// Nothing to do.
    UpToDate,
    /// Pulled from the registry.
    Pulled,
    /// A local build pushed to the registry.
    Pushed,
    /// Its work failed.
    Failed,
    /// Its work started and was stopped by SIGINT or SIGTERM.
    Interrupted,
    /// Not attempted (a parent failed, or the run stopped).
    Skipped,
    /// `-n`: what would be done is in `action`.
    Planned,
}

impl From<NodeOutcome> for Outcome {
    fn from(o: NodeOutcome) -> Self {
        match o {
            NodeOutcome::Built => Outcome::Built,
            NodeOutcome::UpToDate => Outcome::UpToDate,
            NodeOutcome::Pulled => Outcome::Pulled,
            NodeOutcome::Pushed => Outcome::Pushed,
            NodeOutcome::Failed => Outcome::Failed,
            NodeOutcome::Interrupted => Outcome::Interrupted,
            NodeOutcome::Skipped => Outcome::Skipped,
        }
    }
}

/// Where a node's image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Built by this run.
    Built,
    /// Already in local storage.
    Local,
    /// From the registry (pulled, or present there and not needed locally).
    Registry,
}

/// One node's entry.
#[derive(Debug, Clone, Serialize)]
pub struct ReportNode {
    /// The node's name.
    pub name: String,
    /// Its key (64 hex).
    pub key: String,
    /// How it ended.
    pub outcome: Outcome,
    /// What the plan said to do: `build`, `pull`, `push` or `up-to-date`.
    pub action: StepKind,
    /// Why (for a build: what changed; otherwise where the image is).
    pub reason: String,
    /// Where its image came from, once it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Seconds its work ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Registry references pushed, the key tag first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pushed: Vec<String>,
    /// The registry reference pulled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pulled: Option<String>,
    /// Label test results (`-t`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<ReportCase>,
    /// Advisory results (`-T`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audit: Vec<ReportCase>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its build log, when a failed build left one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

/// One test or advisory result.
#[derive(Debug, Clone, Serialize)]
pub struct ReportCase {
    /// The test's name, or `GLSA-<id>`.
    pub name: String,
    /// `passed`, `failed` or `error`.
    pub outcome: &'static str,
    /// The failure or error message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Seconds it ran.
    pub duration: f64,
}

impl From<&Case> for ReportCase {
    fn from(c: &Case) -> Self {
        let (outcome, message) = match &c.outcome {
            CaseOutcome::Passed => ("passed", None),
            CaseOutcome::Failed(m) => ("failed", Some(m.clone())),
            CaseOutcome::Error(m) => ("error", Some(m.clone())),
        };
        ReportCase {
            name: c.name.clone(),
            outcome,
            message,
            duration: millis(c.time.as_secs_f64()),
        }
    }
}

/// Seconds, rounded to the millisecond.
fn millis(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the report {}: {source}", path.display())]
pub struct WriteError {
    /// The report's path.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

impl Report {
    fn new(project: &Project, status: Status, registry: Option<&str>) -> Report {
        Report {
            version: REPORT_VERSION,
            reagent: env!("CARGO_PKG_VERSION"),
            project: project.name(),
            status,
            registry: registry.map(str::to_string),
            error: None,
            summary: None,
            nodes: Vec::new(),
        }
    }

    /// The report of a finished (or interrupted) run of `plan`.
    pub fn of_run(
        project: &Project,
        plan: &Plan,
        run: &RunReport,
        registry: Option<&str>,
    ) -> Report {
        let status = if run.summary.interrupted {
            Status::Interrupted
        } else if run.summary.ok() {
            Status::Ok
        } else {
            Status::Failed
        };
        let by_name: HashMap<&str, &NodeReport> =
            run.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
        let mut report = Report::new(project, status, registry);
        report.summary = Some(run.summary.clone());
        report.nodes = plan
            .steps
            .iter()
            .map(|step| {
                let mut entry = planned(project, step.node, &step.action);
                let node = &project.graph.node(step.node).name;
                if let Some(done) = by_name.get(node.as_str()) {
                    entry.fill(&step.action, done);
                }
                entry
            })
            .collect();
        report
    }

    /// The report of `plan` when it is not run (`-n`): every outcome `planned`.
    pub fn of_plan(project: &Project, plan: &Plan, registry: Option<&str>) -> Report {
        let mut report = Report::new(project, Status::Planned, registry);
        report.nodes = plan
            .steps
            .iter()
            .map(|step| planned(project, step.node, &step.action))
            .collect();
        report
    }

    /// The report of a run that SIGINT or SIGTERM stopped before it had a plan
    /// (while it waited for the state lock or asked the registry what it holds):
    /// no node, no summary.
    pub fn of_interrupt(project: &Project, registry: Option<&str>) -> Report {
        Report::new(project, Status::Interrupted, registry)
    }

    /// The report of a run that stopped with `error` before any node ran.
    pub fn of_error(project: &Project, registry: Option<&str>, error: &str) -> Report {
        let mut report = Report::new(project, Status::Error, registry);
        report.error = Some(error.to_string());
        report
    }

    /// The report as pretty-printed JSON, ending in a newline.
    pub fn to_json(&self) -> String {
        // Every field is a string, number, bool, list or map: serializing cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Write the report to `path` atomically (a reader sees the old file or
    /// the whole new one), creating its folder.
    pub fn write(&self, path: &Path) -> Result<(), WriteError> {
        let fail = |source| WriteError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        reagent_state::write_atomic(path, self.to_json().as_bytes())
            .map_err(|e| fail(std::io::Error::other(e.to_string())))
    }
}

/// A node's entry before anything ran: `planned`, with the plan's action and reason.
fn planned(project: &Project, id: reagent_graph::NodeId, action: &Action) -> ReportNode {
    let node = project.graph.node(id);
    ReportNode {
        name: node.name.clone(),
        key: node.key.hex(),
        outcome: Outcome::Planned,
        action: action.kind(),
        reason: crate::secrets::of(node).mask(&action.reason()).into_owned(),
        source: None,
        duration: None,
        pushed: Vec::new(),
        pulled: None,
        tests: Vec::new(),
        audit: Vec::new(),
        error: None,
        log: None,
    }
}

impl ReportNode {
    /// Fill in what the run did with the node.
    fn fill(&mut self, action: &Action, done: &NodeReport) {
        self.outcome = done.outcome.into();
        self.source = match (done.outcome, done.place) {
            (NodeOutcome::Built, _) => Some(Source::Built),
            (NodeOutcome::Pushed, _) | (NodeOutcome::UpToDate, Some(Place::Local)) => {
                Some(Source::Local)
            }
            (NodeOutcome::Pulled, _) | (NodeOutcome::UpToDate, Some(Place::Registry)) => {
                Some(Source::Registry)
            }
            _ => None,
        };
        self.duration = done.duration.map(|d| millis(d.as_secs_f64()));
        if action.work() == Some(Work::Pull) {
            self.pulled = done.registry_refs.first().cloned();
        } else {
            self.pushed.clone_from(&done.registry_refs);
        }
        for case in &done.cases {
            match case.kind {
                CaseKind::Test => self.tests.push(case.into()),
                CaseKind::Audit => self.audit.push(case.into()),
            }
        }
        self.error.clone_from(&done.error);
        self.log.clone_from(&done.log);
    }
}
