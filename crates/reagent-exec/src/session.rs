//! A build session: everything `reagent build` does between reading the project
//! and printing the result — plan → run → record — behind one small API.
//!
//! [`Session::open`] takes the state folder's lock, stores the snapshot's stat
//! cache, and reads the build record once ([`reagent_state::History`]).
//! [`Session::plan`] decides what to do with each selected node, asking the
//! backend which keys exist; [`Session::run`] does the work with up to `jobs`
//! workers, records every finished job, reports [`Event`]s as they happen, and
//! returns a [`RunReport`]. The caller only maps arguments to a [`Request`]
//! and events to output.
//!
//! ```
//! use reagent_backend::{Cancel, FakeBackend};
//! use reagent_exec::session::{Request, RunOptions, Session};
//! use reagent_exec::clock::SystemClock;
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("graph.toml"), "").unwrap();
//! std::fs::create_dir_all(dir.path().join("images/app")).unwrap();
//! std::fs::write(dir.path().join("images/app/Containerfile"), "FROM scratch\n").unwrap();
//! let project = reagent_graph::Project::load(dir.path()).unwrap();
//! let backend = FakeBackend::new();
//! let state = dir.path().join(".reagent");
//! let clock = SystemClock;
//! let mut session = Session::open(&project, &backend, &state, &clock, true, &mut |_| {}).unwrap();
//! let request = Request::new(project.graph.leaves());
//! let plan = session.plan(&request).unwrap();
//! let report = session
//!     .run(&plan, &request, &RunOptions { jobs: 2, keep_going: false }, &Cancel::new(), &mut |_| {})
//!     .unwrap();
//! assert_eq!(report.summary.built, 1);
//! assert!(report.summary.ok());
//! ```

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reagent_backend::{Backend, BackendError, Cancel};
use reagent_graph::{Node, NodeId, Project};
use reagent_state::{BuildLog, History, Record, Seen, StateError, StateLock};

use crate::clock::Clock;
use crate::events::{Event, Work};
use crate::job::{AuditGate, JobContext, JobOutput};
use crate::plan::{plan, Plan, PlanInput};
pub use crate::run::{NodeOutcome, NodeReport, RunOptions, RunReport};

/// File name of the snapshot's stat cache in the state folder.
pub const SNAPSHOT_CACHE: &str = "snapshot-cache";

/// Why a session could not be opened, planned or run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The state folder's path is something other than a folder.
    #[error("{} is not a folder: reagent keeps its state there (move it away, or pass --state-dir)", .0.display())]
    StateNotAFolder(PathBuf),
    /// The state folder could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateState {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another reagent holds the lock (and waiting was not allowed), or locking failed.
    #[error(transparent)]
    Lock(StateError),
    /// The build record could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The backend failed while planning.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// What to build, and how.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The nodes asked for (their ancestors come with them).
    pub targets: Vec<NodeId>,
    /// Nodes to rebuild even when up to date.
    pub force: HashSet<NodeId>,
    /// Registry prefix to pull from and push to; `None` to stay local.
    pub registry: Option<String>,
    /// Stream each build's output as [`Event::Output`].
    pub verbose: bool,
    /// The catalyst program for stage builds.
    pub catalyst: PathBuf,
    /// Run each built image's label tests (with this timeout each) before tagging it.
    pub tests: Option<Duration>,
    /// With a registry, attach an SBOM in this format to each image pushed
    /// (see [`crate::sbom`]).
    pub sbom: Option<crate::sbom::Format>,
}

impl Request {
    /// A request for `targets`, local, with defaults for the rest.
    pub fn new(targets: Vec<NodeId>) -> Request {
        Request {
            targets,
            catalyst: PathBuf::from("catalyst"),
            ..Request::default()
        }
    }
}

/// A locked state folder, its build record, and the project being built.
pub struct Session<'a> {
    project: &'a Project,
    backend: &'a dyn Backend,
    clock: &'a dyn Clock,
    state_dir: PathBuf,
    history: History,
    log: BuildLog,
    seen: Seen,
    _lock: StateLock,
}

impl<'a> Session<'a> {
    /// Lock `state_dir` (creating it), waiting for another reagent when `wait` (with
    /// `on_wait` told why), store the snapshot's stat cache update, and read the
    /// build record.
    pub fn open(
        project: &'a Project,
        backend: &'a dyn Backend,
        state_dir: &Path,
        clock: &'a dyn Clock,
        wait: bool,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<Session<'a>, SessionError> {
        if state_dir.exists() && !state_dir.is_dir() {
            return Err(SessionError::StateNotAFolder(state_dir.to_path_buf()));
        }
        std::fs::create_dir_all(state_dir).map_err(|source| SessionError::CreateState {
            path: state_dir.to_path_buf(),
            source,
        })?;
        let lock = StateLock::acquire(state_dir, wait, on_wait).map_err(SessionError::Lock)?;
        if let Some(bytes) = &project.snapshot_cache_update {
            reagent_state::write_atomic(state_dir.join(SNAPSHOT_CACHE), bytes)?;
        }
        Ok(Session {
            project,
            backend,
            clock,
            state_dir: state_dir.to_path_buf(),
            history: History::load(state_dir)?,
            log: BuildLog::open(state_dir)?,
            seen: Seen::load(state_dir),
            _lock: lock,
        })
    }

    /// The build record as it was when the session opened.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Decide, for the targets and their ancestors, what to do and why.
    pub fn plan(&self, request: &Request) -> Result<Plan, SessionError> {
        let images = self.backend.images()?;
        let input = PlanInput {
            targets: &request.targets,
            force: &request.force,
            registry: request.registry.as_deref(),
            history: &self.history,
            seen: Some(&self.seen),
            now: self.clock.now(),
        };
        Ok(plan(&self.project.graph, self.backend, &images, &input)?)
    }

    /// Run `plan`, recording every finished job in the build record and every
    /// registry sighting. `cancel` stops it cleanly (running work is killed and
    /// recorded as interrupted).
    pub fn run(
        &mut self,
        plan: &Plan,
        request: &Request,
        opts: &RunOptions,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<RunReport, SessionError> {
        self.run_audited(plan, request, None, opts, cancel, on_event)
    }

    /// [`Session::run`], auditing each built image against `audit` before tagging it.
    pub fn run_audited(
        &mut self,
        plan: &Plan,
        request: &Request,
        audit: Option<AuditGate<'_>>,
        opts: &RunOptions,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<RunReport, SessionError> {
        let weights = self.history.durations();
        let project_name = self.project.name();
        let log = &self.log;
        let mut record = |node: &Node, work: Work, out: &JobOutput| {
            log.append(&record_of(node, work, out, &project_name))
                .map_err(|e| e.to_string())
        };
        let ctx = JobContext {
            project: self.project,
            backend: self.backend,
            state_dir: &self.state_dir,
            registry: request.registry.as_deref(),
            cancel,
            verbose: request.verbose,
            catalyst: &request.catalyst,
            tests: request.tests,
            audit,
            sbom: request.sbom,
            clock: self.clock,
        };
        let report = crate::run::run(&ctx, plan, opts, &weights, &mut record, on_event);
        if request.registry.is_some() {
            let now = self.clock.now();
            for r in plan
                .found_remote
                .iter()
                .map(String::as_str)
                .chain(report.registry_refs())
            {
                self.seen.mark(r, now);
            }
            self.seen.save(now)?;
        }
        Ok(report)
    }
}

/// The build record of a finished job. The manifest may show a build arg's value
/// (a URL it was expanded into), so it is masked: the record never holds one.
fn record_of(node: &Node, work: Work, out: &JobOutput, project: &str) -> Record {
    let mut manifest = serde_json::to_value(&node.manifest).unwrap_or_default();
    crate::secrets::of(node).mask_json(&mut manifest);
    Record::new(
        node.name.clone(),
        node.key.hex(),
        node.manifest.digest(),
        manifest,
        out.start_ms,
        out.end_ms,
        out.outcome(work),
    )
    .with_project(project)
}

/// Expected durations per node name, for ordering work and drawing progress.
pub fn weights(history: &History) -> HashMap<String, Duration> {
    history.durations()
}
