//! Shared helpers for the executor tests: throw-away projects written into
//! temp dirs, a recording [`Reporter`], and plan/run wrappers over a
//! [`FakeBackend`].
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::Path;

use reagent_backend::fake::{Call, FakeBackend};
use reagent_backend::{Backend, BackendError, Cancel};
use reagent_exec::events::{Event, Summary};
use reagent_exec::job::JobContext;
use reagent_exec::plan::{plan, Action, Plan, PlanInput};
use reagent_exec::progress::Reporter;
use reagent_exec::run::{run, RunOptions};
use reagent_graph::{NodeId, Project};
use reagent_state::BuildLog;
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
}

/// base (FROM scratch, COPY busybox) → app (COPY app.conf, tags = stable) → web;
/// base → tool (written `localhost/base:latest`).
pub fn family() -> Fixture {
    let f = Fixture::new("[image.app]\ntags = [\"stable\"]\n");
    f.image("01-base", "FROM scratch\nCOPY busybox /bin/busybox\n")
        .write("images/01-base/busybox", "not really busybox")
        .image(
            "app",
            "FROM base\nARG FLAVOUR=plain\nCOPY app.conf /etc/app.conf\n",
        )
        .write("images/app/app.conf", "port=80\n")
        .image("web", "FROM app\nRUN echo web\n")
        .image("tool", "FROM localhost/base:latest\nRUN true\n");
    f
}

/// Records every event it is shown.
#[derive(Default)]
pub struct Recorder {
    pub events: Vec<Event>,
}

impl Reporter for Recorder {
    fn report(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
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

/// A loaded project, its build log and the fake it builds into.
pub struct Env {
    pub project: Project,
    pub log: BuildLog,
    pub fake: FakeBackend,
}

impl Env {
    pub fn new(fixture: &Fixture) -> Env {
        Env::with_fake(fixture, FakeBackend::new())
    }

    pub fn with_fake(fixture: &Fixture, fake: FakeBackend) -> Env {
        let project = fixture.load();
        let log = BuildLog::open(&project.state_dir).unwrap();
        Env { project, log, fake }
    }

    /// Reload the project (after editing files), keeping log and fake.
    pub fn reload(&mut self, fixture: &Fixture) {
        self.project = fixture.load();
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

    /// Plan `targets` against the fake's current images.
    pub fn try_plan(
        &self,
        targets: &[NodeId],
        force: &[&str],
        registry: Option<&str>,
    ) -> Result<Plan, BackendError> {
        let images = self.fake.images()?;
        let force: HashSet<NodeId> = force.iter().map(|n| self.id(n)).collect();
        let last = reagent_exec::last_built(&self.log);
        let unfinished = reagent_exec::unfinished_publishes(&self.log);
        let input = PlanInput {
            unfinished_publishes: &unfinished,
            targets,
            force: &force,
            registry,
            last_built: &last,
            seen: None,
        };
        plan(&self.project.graph, &self.fake, &images, &input)
    }

    pub fn plan(&self, targets: &[NodeId], force: &[&str], registry: Option<&str>) -> Plan {
        self.try_plan(targets, force, registry).unwrap()
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

    /// Run `plan` with these options.
    pub fn run_with(
        &self,
        plan: &Plan,
        opts: RunOptions,
        registry: Option<&str>,
        cancel: &Cancel,
    ) -> (Summary, Recorder) {
        let ctx = JobContext {
            project: &self.project,
            backend: &self.fake,
            log: &self.log,
            registry,
            cancel,
            verbose: false,
            catalyst: Path::new("/bin/false"),
            tests: None,
            audit: None,
            registry_refs: Default::default(),
            results: Default::default(),
        };
        let mut rec = Recorder::default();
        let summary = run(&ctx, plan, &opts, &mut rec);
        (summary, rec)
    }

    /// Run `plan` with `jobs` workers, stopping at the first failure, no registry.
    pub fn run(&self, plan: &Plan, jobs: usize) -> (Summary, Recorder) {
        self.run_with(
            plan,
            RunOptions {
                jobs,
                keep_going: false,
            },
            None,
            &Cancel::new(),
        )
    }

    /// Plan and run every leaf with two workers; every build must succeed.
    pub fn build_all(&self) -> Summary {
        let (summary, _) = self.run(&self.plan_all(), 2);
        assert!(summary.ok(), "{summary:?}");
        summary
    }
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

/// Node names → words of their planned actions.
pub fn words(env: &Env, plan: &Plan) -> HashMap<String, &'static str> {
    plan.steps
        .iter()
        .map(|s| (env.project.graph.node(s.node).name.clone(), s.action.word()))
        .collect()
}

/// Sorted copy.
pub fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}
