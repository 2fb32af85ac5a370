//! Shared helpers for the executor tests: throw-away projects written into
//! temp dirs, a [`Recorder`] of the events a run reports, and plan/run
//! wrappers that open a [`Session`] over a [`FakeBackend`] each time (so each
//! plan and each run reads the build record afresh, as separate `reagent`
//! invocations would).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reagent_backend::fake::{Call, FakeBackend};
use reagent_backend::Cancel;
use reagent_exec::clock::SystemClock;
use reagent_exec::events::{Event, Summary};
use reagent_exec::plan::{Action, Plan, StepKind};
use reagent_exec::session::{Request, RunOptions, RunReport, Session, SessionError};
use reagent_graph::{NodeId, Project};
use reagent_state::{BuildLog, History, Record};
use reagent_testkit::ProjectDir;

/// The registry prefix the registry tests use.
pub const REGISTRY: &str = "reg.test:5000/acme";

/// A project folder in a temp dir, with helpers for executor tests.
pub struct Fixture {
    pub dir: ProjectDir,
}

impl std::ops::Deref for Fixture {
    type Target = ProjectDir;
    fn deref(&self) -> &ProjectDir {
        &self.dir
    }
}

impl Fixture {
    /// A project whose `graph.toml` is `toml`.
    pub fn new(toml: &str) -> Fixture {
        Fixture {
            dir: ProjectDir::new(toml),
        }
    }

    /// A root image FROM scratch.
    pub fn root_image(&self, folder: &str) -> &Self {
        self.image(folder, "FROM scratch\nCOPY . /\n")
            .write(&format!("images/{folder}/file.txt"), folder);
        self
    }

    /// An image FROM another node.
    pub fn child(&self, folder: &str, parent: &str) -> &Self {
        self.image(folder, &format!("FROM {parent}\nRUN echo {folder}\n"));
        self
    }

    pub fn load(&self) -> Project {
        Project::load(self.root()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Where the tests keep reagent's state for this project (the CLI's default).
    pub fn state_dir(&self) -> PathBuf {
        self.path(reagent_state::DEFAULT_STATE_DIR)
    }
}

/// base (FROM scratch, COPY busybox) → app (COPY app.conf, tags = stable) → web;
/// base → tool (written `localhost/base:latest`).
pub fn family() -> Fixture {
    let f = Fixture::new("[image.app]\ntags = [\"stable\"]\n");
    f.family();
    f
}

/// Every event a run reported, in order (collected by the `on_event` closure).
#[derive(Default, Debug)]
pub struct Recorder {
    pub events: Vec<Event>,
}

impl Recorder {
    /// Names of nodes whose work started, in order.
    pub fn started(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Started { node, .. } => Some(node.clone()),
                _ => None,
            })
            .collect()
    }

    /// Names of nodes whose work finished, in order.
    pub fn finished(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Finished { node, .. } => Some(node.clone()),
                _ => None,
            })
            .collect()
    }

    /// `(node, because)` for every Skipped event.
    pub fn skipped(&self) -> Vec<(String, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Skipped { node, because } => Some((node.clone(), because.clone())),
                _ => None,
            })
            .collect()
    }

    /// Names of nodes that failed.
    pub fn failed(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Failed { node, .. } => Some(node.clone()),
                _ => None,
            })
            .collect()
    }

    /// `(node, error)` for every `RecordFailed` event.
    pub fn record_failures(&self) -> Vec<(String, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::RecordFailed { node, error } => Some((node.clone(), error.clone())),
                _ => None,
            })
            .collect()
    }

    /// Index of the first event matching `pred`.
    pub fn position(&self, pred: impl Fn(&Event) -> bool) -> Option<usize> {
        self.events.iter().position(pred)
    }

    /// Index of `node`'s Started event.
    pub fn started_at(&self, node: &str) -> usize {
        self.position(|e| matches!(e, Event::Started { node: n, .. } if n == node))
            .unwrap_or_else(|| panic!("{node} never started"))
    }

    /// Index of `node`'s Finished event.
    pub fn finished_at(&self, node: &str) -> usize {
        self.position(|e| matches!(e, Event::Finished { node: n, .. } if n == node))
            .unwrap_or_else(|| panic!("{node} never finished"))
    }
}

/// A loaded project, the state folder its sessions lock, and the fake it builds into.
pub struct Env {
    pub project: Project,
    pub state_dir: PathBuf,
    pub fake: FakeBackend,
    pub clock: SystemClock,
}

impl Env {
    pub fn new(fixture: &Fixture) -> Env {
        Env::with_fake(fixture, FakeBackend::new())
    }

    /// An env over `fixture` whose state folder is `<project>/.reagent`.
    pub fn with_fake(fixture: &Fixture, fake: FakeBackend) -> Env {
        Env {
            project: fixture.load(),
            state_dir: fixture.state_dir(),
            fake,
            clock: SystemClock,
        }
    }

    /// Reload the project (after editing files), keeping the state and the fake.
    pub fn reload(&mut self, fixture: &Fixture) {
        self.project = fixture.load();
    }

    /// A session over the state folder, reading the build record as it is now.
    /// It does not wait for the lock: two sessions at once in a test are a bug.
    pub fn session(&self) -> Session<'_> {
        self.try_session().unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_session(&self) -> Result<Session<'_>, SessionError> {
        Session::open(
            &self.project,
            &self.fake,
            &self.state_dir,
            &self.clock,
            false,
            &mut |why| panic!("{why}"),
        )
    }

    /// The build record as it is now.
    pub fn history(&self) -> History {
        History::load(&self.state_dir).unwrap()
    }

    /// Every record in the build record, oldest first.
    pub fn records(&self) -> Vec<Record> {
        self.history().records().to_vec()
    }

    /// Append `record` to the build record by hand.
    pub fn append(&self, record: &Record) {
        BuildLog::open(&self.state_dir)
            .unwrap()
            .append(record)
            .unwrap();
    }

    pub fn id(&self, name: &str) -> NodeId {
        self.project
            .graph
            .by_name(name)
            .unwrap_or_else(|| panic!("no node {name}"))
            .id
    }

    pub fn key16(&self, name: &str) -> String {
        self.project.graph.node(self.id(name)).key.short()
    }

    pub fn key(&self, name: &str) -> String {
        self.project.graph.node(self.id(name)).key.hex()
    }

    /// `<REGISTRY>/<name>:<key16>`.
    pub fn remote_ref(&self, name: &str) -> String {
        format!("{REGISTRY}/{name}:{}", self.key16(name))
    }

    /// Every leaf, like `reagent build all`.
    pub fn all(&self) -> Vec<NodeId> {
        self.project.graph.leaves()
    }

    /// The request for `targets`, forcing `force`, with `registry`.
    pub fn request(&self, targets: &[NodeId], force: &[&str], registry: Option<&str>) -> Request {
        let mut request = Request::new(targets.to_vec());
        request.force = force.iter().map(|n| self.id(n)).collect::<HashSet<_>>();
        request.registry = registry.map(str::to_string);
        request
    }

    /// Plan `targets` in a fresh session, against the fake's current images.
    pub fn try_plan(
        &self,
        targets: &[NodeId],
        force: &[&str],
        registry: Option<&str>,
    ) -> Result<Plan, SessionError> {
        self.session().plan(&self.request(targets, force, registry))
    }

    /// Plan exactly the nodes `names` (`reagent build --only`), in a fresh session.
    pub fn try_plan_only(
        &self,
        names: &[&str],
        force: &[&str],
        registry: Option<&str>,
    ) -> Result<Plan, SessionError> {
        let targets: Vec<NodeId> = names.iter().map(|n| self.id(n)).collect();
        let mut request = self.request(&targets, force, registry);
        request.only = true;
        self.session().plan(&request)
    }

    pub fn plan_only(&self, names: &[&str], force: &[&str], registry: Option<&str>) -> Plan {
        self.try_plan_only(names, force, registry)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The names of the plan's nodes, in plan order.
    pub fn planned(&self, plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|s| self.project.graph.node(s.node).name.clone())
            .collect()
    }

    pub fn plan(&self, targets: &[NodeId], force: &[&str], registry: Option<&str>) -> Plan {
        self.try_plan(targets, force, registry)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Plan every leaf, no force, no registry.
    pub fn plan_all(&self) -> Plan {
        self.plan(&self.all(), &[], None)
    }

    /// The action planned for `name`.
    pub fn action<'p>(&self, plan: &'p Plan, name: &str) -> &'p Action {
        &plan
            .step(self.id(name))
            .unwrap_or_else(|| panic!("{name} not in the plan"))
            .action
    }

    /// Run `plan` in a fresh session, showing every event to `hook` (on the
    /// run loop's thread, as it happens) before recording it.
    // By value so callers can write `keep_going(2)` inline, like `run_with`.
    #[allow(clippy::needless_pass_by_value)]
    pub fn run_observed(
        &self,
        plan: &Plan,
        opts: RunOptions,
        registry: Option<&str>,
        cancel: &Cancel,
        mut hook: impl FnMut(&Event),
    ) -> (RunReport, Recorder) {
        let request = self.request(&plan.targets, &[], registry);
        let mut session = self.session();
        let mut rec = Recorder::default();
        let report = session
            .run(plan, &request, &opts, cancel, &mut |e| {
                hook(e);
                rec.events.push(e.clone());
            })
            .unwrap_or_else(|e| panic!("{e}"));
        (report, rec)
    }

    /// Run `plan` with these options.
    pub fn run_with(
        &self,
        plan: &Plan,
        opts: RunOptions,
        registry: Option<&str>,
        cancel: &Cancel,
    ) -> (Summary, Recorder) {
        let (report, rec) = self.run_observed(plan, opts, registry, cancel, |_| {});
        (report.summary, rec)
    }

    /// Run `plan` with `jobs` workers, stopping at the first failure, no registry.
    pub fn run(&self, plan: &Plan, jobs: usize) -> (Summary, Recorder) {
        self.run_with(plan, stop_at_failure(jobs), None, &Cancel::new())
    }

    /// Plan and run every leaf with two workers; every build must succeed.
    pub fn build_all(&self) -> Summary {
        let (summary, _) = self.run(&self.plan_all(), 2);
        assert!(summary.ok(), "{summary:?}");
        summary
    }
}

/// `jobs` workers, stopping at the first failure.
pub fn stop_at_failure(jobs: usize) -> RunOptions {
    RunOptions {
        jobs,
        keep_going: false,
    }
}

/// `jobs` workers, keeping going past failures.
pub fn keep_going(jobs: usize) -> RunOptions {
    RunOptions {
        jobs,
        keep_going: true,
    }
}

/// Wait until `done` holds. The deadline only turns a hang into a failure
/// with a message; nothing is asserted about how long it took.
pub fn until(what: &str, done: impl Fn() -> bool) {
    assert!(wait_for(done), "gave up waiting: {what}");
}

/// The Push calls recorded so far, as remote references, in order.
pub fn pushes(fake: &FakeBackend) -> Vec<String> {
    fake.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Push { remote, .. } => Some(remote),
            _ => None,
        })
        .collect()
}

/// Position of the first call matching `pred`.
pub fn call_at(fake: &FakeBackend, pred: impl Fn(&Call) -> bool) -> Option<usize> {
    fake.calls().iter().position(pred)
}

/// Node names → kinds of their planned steps.
pub fn kinds(env: &Env, plan: &Plan) -> HashMap<String, StepKind> {
    plan.steps
        .iter()
        .map(|s| (env.project.graph.node(s.node).name.clone(), s.action.kind()))
        .collect()
}

/// Every file under `dir`, as (path, contents), for grepping.
pub fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            out.push((p.display().to_string(), text));
        }
    }
    out
}

/// Sorted copy.
pub fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// Wait until `done` holds; false if it never did before a generous deadline
/// (a hang guard: nothing is asserted about how long it took). For watchers
/// that must release the fake's gate whatever they saw.
pub fn wait_for(done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}
