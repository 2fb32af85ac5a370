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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reagent_backend::{Backend, BackendError, Cancel};
use reagent_graph::{Graph, Node, NodeId, Project};
use reagent_state::{BuildLog, History, Record, Seen, StateError, StateLock};

use crate::clock::Clock;
use crate::discover::{Discovery, Remote, Verdict};
use crate::events::{Event, Work};
use crate::job::{AuditGate, JobContext, JobOutput};
use crate::plan::{plan, Plan, PlanError, PlanInput};
pub use crate::run::{NodeOutcome, NodeReport, RunOptions, RunReport};

/// File name of the snapshot's stat cache in the state folder.
pub const SNAPSHOT_CACHE: &str = "snapshot-cache";
/// File name of the context files' stat cache in the state folder.
pub const CONTEXT_CACHE: &str = "context-cache";
/// File name of the build contexts' folder-listing cache in the state folder.
pub const CONTEXT_DIRS: &str = "context-dirs";

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
    /// Discovered inputs could not be worked out.
    #[error(transparent)]
    Discover(#[from] crate::discover::ResolveError),
    /// The binary package cache could not be shared.
    #[error(transparent)]
    Binhost(#[from] crate::binhost::BinhostError),
    /// The plan cannot be carried out (`only`: a parent is built nowhere).
    #[error(transparent)]
    Plan(PlanError),
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
    /// Read-only cache registries (`[registry] cache_from`): asked, in order,
    /// about what neither local storage nor `registry` has, and pulled from;
    /// never pushed to. Empty with `-R`.
    pub cache_from: Vec<String>,
    /// Stream each build's output as [`Event::Output`].
    pub verbose: bool,
    /// The catalyst program for stage builds.
    pub catalyst: PathBuf,
    /// Run each built image's label tests (with this timeout each) before tagging it.
    pub tests: Option<Duration>,
    /// Build exactly the targets: their parents must exist already, locally or
    /// in the registry (pulled when a build needs them). See [`crate::plan`].
    pub only: bool,
    /// With a registry, attach an SBOM in this format to each image pushed
    /// (see [`crate::sbom`]).
    pub sbom: Option<crate::sbom::Format>,
    /// Contact no registry at all (`-R`): external bases are not pulled, so they must
    /// already be in local storage.
    pub offline: bool,
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
    /// The project's graph re-keyed with discovered inputs by the last
    /// [`Session::plan`]; `None` while the project's own keys stand (no plan yet, or
    /// no snapshot to discover from), so a project without one is never copied.
    rekeyed: Option<Graph>,
    /// What discovered inputs decided per node, from the last [`Session::plan`].
    verdicts: HashMap<NodeId, Verdict>,
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
        if let Some(bytes) = &project.context_cache_update {
            reagent_state::write_atomic(state_dir.join(CONTEXT_CACHE), bytes)?;
        }
        if let Some(bytes) = &project.context_dirs_update {
            reagent_state::write_atomic(state_dir.join(CONTEXT_DIRS), bytes)?;
        }
        Ok(Session {
            project,
            rekeyed: None,
            verdicts: HashMap::new(),
            backend,
            clock,
            state_dir: state_dir.to_path_buf(),
            history: History::load(state_dir)?,
            log: BuildLog::open(state_dir)?,
            seen: Seen::load(state_dir),
            _lock: lock,
        })
    }

    /// End the session for a process about to exit: write nothing more, release
    /// the state lock, and leave the build record read at [`Session::open`]
    /// unfreed (the process's exit frees it; freeing 10,000 records one by one
    /// costs a no-op build ~9 M instructions on its last, single-threaded step).
    pub fn close(self) {
        let Session {
            history,
            log,
            seen,
            _lock: lock,
            ..
        } = self;
        std::mem::forget(history);
        drop(log);
        drop(seen);
        drop(lock);
    }

    /// The build record as it was when the session opened.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The graph as keyed by the last [`Session::plan`] (the project's, before one).
    pub fn graph(&self) -> &Graph {
        self.rekeyed.as_ref().unwrap_or(&self.project.graph)
    }

    /// What discovered inputs decided for each node built from the snapshot, by the
    /// last [`Session::plan`].
    pub fn verdicts(&self) -> &HashMap<NodeId, Verdict> {
        &self.verdicts
    }

    /// Key the graph with discovered inputs ([`crate::discover`]), then decide, for
    /// the targets and their ancestors (with [`Request::only`]: the targets and the
    /// parents their builds need), what to do and why.
    pub fn plan(&mut self, request: &Request) -> Result<Plan, SessionError> {
        let remote = request.registry.as_deref().map(|registry| Remote {
            backend: self.backend,
            registry,
        });
        self.rekeyed = None;
        self.verdicts = HashMap::new();
        if crate::discover::snapshot_tree(&self.project.graph).is_some() {
            let mut graph = self.project.graph.clone();
            self.verdicts = crate::discover::resolve(&mut graph, &self.history, remote)?;
            self.rekeyed = Some(graph);
        }
        let images = self.backend.image_names()?;
        let notes: HashMap<NodeId, Vec<String>> = self
            .verdicts
            .iter()
            .filter_map(|(id, v)| match v {
                Verdict::Changed(words) => Some((*id, words.clone())),
                _ => None,
            })
            .collect();
        let input = PlanInput {
            targets: &request.targets,
            force: &request.force,
            registry: request.registry.as_deref(),
            cache_from: &request.cache_from,
            history: &self.history,
            seen: Some(&self.seen),
            now: self.clock.now(),
            snapshot_changes: &notes,
            only: request.only,
        };
        plan(self.graph(), self.backend, &images, &input).map_err(|e| match e {
            PlanError::Backend(b) => SessionError::Backend(b),
            other @ PlanError::MissingParents { .. } => SessionError::Plan(other),
        })
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
        // The scheduler's weights, read from the record only when there is work to order.
        let weights = if plan.steps.iter().any(|s| s.action.is_work()) {
            self.history.durations()
        } else {
            HashMap::new()
        };
        let project_name = self.project.name();
        let binhost = self.binhost_before(request, cancel, on_event)?;
        let log = &self.log;
        let verdicts = &self.verdicts;
        let mut record = |node: &Node, work: Work, out: &JobOutput| {
            // A pull keyed by a discovery from the registry keeps it, so the next
            // plan decides from the record alone.
            let pulled_with = match verdicts.get(&node.id) {
                Some(Verdict::Unchanged {
                    from_registry: Some(d),
                    ..
                }) if work == Work::Pull => Some(d),
                _ => None,
            };
            let discovery = out.discovery.as_ref().or(pulled_with);
            log.append(&record_of(node, work, out, &project_name, discovery))
                .map_err(|e| e.to_string())
        };
        let ctx = JobContext {
            project: self.project,
            graph: self.graph(),
            backend: self.backend,
            state_dir: &self.state_dir,
            registry: request.registry.as_deref(),
            pull_from: &plan.pull_from,
            cancel,
            verbose: request.verbose,
            catalyst: &request.catalyst,
            tests: request.tests,
            audit,
            sbom: request.sbom,
            clock: self.clock,
            binhost: binhost.as_ref().map(|b| b.volume.clone()),
            offline: request.offline,
            bases: crate::job::Bases::default(),
        };
        let report = crate::run::run(&ctx, plan, opts, &weights, &mut record, on_event);
        if let Some(b) = &binhost {
            self.binhost_after(b, request, cancel, on_event)?;
        }
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

/// The binary package cache of a run: where it is, and what it held before.
struct BinhostRun {
    volume: reagent_backend::Volume,
    before: BTreeMap<String, u64>,
}

impl Session<'_> {
    /// With `[binhost]`: the cache folder, made and (shared) filled from the registry.
    fn binhost_before(
        &self,
        request: &Request,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<Option<BinhostRun>, SessionError> {
        let Some(section) = &self.project.config.binhost else {
            return Ok(None);
        };
        let cache = self.state_dir.join(crate::binhost::CACHE_DIR);
        std::fs::create_dir_all(&cache).map_err(|source| SessionError::CreateState {
            path: cache.clone(),
            source,
        })?;
        if let (true, Some(registry)) = (section.shared(), request.registry.as_deref()) {
            let reference = crate::binhost::remote_ref(registry, &self.project.name());
            let files = crate::binhost::pull(self.backend, &reference, &cache, cancel)?;
            on_event(&Event::Binhost {
                action: "pulled",
                reference,
                files,
            });
        }
        Ok(Some(BinhostRun {
            before: crate::binhost::inventory(&cache)?,
            volume: reagent_backend::Volume {
                host: cache,
                container: section.target().to_string(),
            },
        }))
    }

    /// With `[binhost] shared`: push the cache when the run added packages.
    fn binhost_after(
        &self,
        run: &BinhostRun,
        request: &Request,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<(), SessionError> {
        let shared = self
            .project
            .config
            .binhost
            .as_ref()
            .is_some_and(reagent_graph::config::BinhostSection::shared);
        let (true, Some(registry)) = (shared, request.registry.as_deref()) else {
            return Ok(());
        };
        let now = crate::binhost::inventory(&run.volume.host)?;
        if now == run.before {
            return Ok(());
        }
        let reference = crate::binhost::remote_ref(registry, &self.project.name());
        let log = self.state_dir.join("logs").join("binhost.log");
        crate::binhost::push(
            self.backend,
            &reference,
            &self.project.name(),
            &run.volume.host,
            &log,
            cancel,
        )?;
        on_event(&Event::Binhost {
            action: "pushed",
            reference,
            files: now.len(),
        });
        Ok(())
    }
}

/// The build record of a finished job. The manifest may show a build arg's value
/// (a URL it was expanded into), so it is masked: the record never holds one.
fn record_of(
    node: &Node,
    work: Work,
    out: &JobOutput,
    project: &str,
    discovery: Option<&Discovery>,
) -> Record {
    let mut manifest = serde_json::to_value(&node.manifest).unwrap_or_default();
    crate::secrets::of(node).mask_json(&mut manifest);
    let record = Record::new(
        node.name.clone(),
        node.key.hex(),
        node.manifest.digest(),
        manifest,
        out.start_ms,
        out.end_ms,
        out.outcome(work),
    )
    .with_project(project);
    let record = match &out.image {
        Some(id) => record.with_image(id.clone()),
        None => record,
    };
    match discovery.and_then(|d| serde_json::to_value(d).ok()) {
        Some(d) => record.with_discovery(d),
        None => record,
    }
}

/// Expected durations per node name, for ordering work and drawing progress.
pub fn weights(history: &History) -> HashMap<String, Duration> {
    history.durations()
}
