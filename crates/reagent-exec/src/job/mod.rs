//! One unit of work on one node: build it (image, snapshot or stage), pull it, or
//! push it — through the [`Backend`], and nothing else. A job does not write the
//! build record: it returns a [`JobOutput`], and the run loop records it.
//!
//! - `image`: an image build, with its label tests and audit before it is tagged;
//! - `stage`: a snapshot image, a seed import, or a catalyst run and its import;
//! - `publish`: pushing the key tag (with `sbom`, then its SBOM) then the moving
//!   tags, and pulling with a key check.

mod image;
mod publish;
mod stage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reagent_backend::{
    Backend, BackendError, BuildProgress, Cancel, LABEL_KEY, LABEL_MANIFEST, LABEL_NODE,
    LABEL_PROJECT,
};
use reagent_graph::{Graph, Node, Project, Recipe};
use reagent_state::Outcome;

use crate::clock::Clock;
use crate::events::{Event, Work};
use crate::junit::Case;

pub use stage::verify_sha256;

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A seed tarball does not match its declared hash.
    #[error(
        "seed {}: sha256 is {actual}, graph.toml says {expected}; nothing was imported",
        tarball.display()
    )]
    SeedMismatch {
        /// The tarball.
        tarball: PathBuf,
        /// Declared hash.
        expected: String,
        /// Actual hash.
        actual: String,
    },
    /// catalyst finished but left nothing where the spec says it writes its result.
    #[error("catalyst finished but wrote no {what} {}", expected.display())]
    NoOutput {
        /// What it should have written (`stage tarball`, `ISO image`, ...).
        what: &'static str,
        /// Where.
        expected: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The Containerfile could not be rewritten to pin its parents.
    #[error("{}:{}: {}", file.display(), source.line, source.message)]
    Rewrite {
        /// The Containerfile.
        file: PathBuf,
        /// What the parser said.
        source: reagent_graph::ContainerfileError,
    },
    /// The image's label tests failed: it was not tagged or pushed.
    #[error("{failed} of {total} tests failed; the image was not tagged or pushed")]
    Tests {
        /// How many failed.
        failed: usize,
        /// How many ran.
        total: usize,
    },
    /// The image's audit could not be done.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The image's audit found advisories at or above the threshold.
    #[error("vulnerable: {}; the image was not tagged or pushed", findings.join(", "))]
    Vulnerable {
        /// `GLSA <id> (<package>-<version>)` for each failing finding.
        findings: Vec<String>,
    },
    /// An external base the image builds from is not in local storage, and `-R` pulls nothing.
    #[error(
        "{reference} is not in local storage, and -R pulls nothing (build without -R to pull it)"
    )]
    BaseMissing {
        /// The base, pinned (`name@digest`).
        reference: String,
    },
    /// An external base could not be pulled by its locked digest.
    #[error("pulling {reference}: {source}")]
    BasePull {
        /// The base, pinned (`name@digest`).
        reference: String,
        /// Why.
        source: BackendError,
    },
    /// An external seed is not where catalyst reads it.
    #[error("external seed `{source_subpath}` is not in {}", storedir.join("builds").display())]
    SeedMissing {
        /// The spec's `source_subpath`.
        source_subpath: String,
        /// catalyst's storedir.
        storedir: PathBuf,
    },
    /// An external seed's tarball is not what `reagent.lock` pins.
    #[error(
        "external seed {}: sha256 is {actual}, reagent.lock says {locked}: it was replaced since it was locked; catalyst was not run (run `reagent lock --update` to build from the new one)",
        tarball.display()
    )]
    SeedChanged {
        /// The tarball.
        tarball: PathBuf,
        /// The SHA-256 the lock pins.
        locked: String,
        /// The tarball's SHA-256.
        actual: String,
    },
    /// What the build read of the snapshot could not be worked out.
    #[error("recording what the build read of the snapshot: {0}")]
    Discovery(#[from] reagent_gentoo::slice::SliceError),
    /// The image's SBOM could not be made or attached in the registry.
    #[error(transparent)]
    Sbom(#[from] crate::sbom::SbomError),
    /// A pulled image does not carry the key its tag names.
    #[error(
        "{remote} carries key {}, not {expected}: the tag was overwritten by something else; not using it (delete the tag, or build with --force and push)",
        found.as_deref().unwrap_or("(no org.reagent.key label)")
    )]
    Foreign {
        /// The registry reference pulled.
        remote: String,
        /// The node's key.
        expected: String,
        /// The key label the image carries, if any.
        found: Option<String>,
    },
}

impl JobError {
    /// Whether the job stopped because a stop was asked for.
    pub fn is_interrupt(&self) -> bool {
        match self {
            JobError::Backend(BackendError::Interrupted) => true,
            JobError::Sbom(e) => e.is_interrupt(),
            _ => false,
        }
    }

    /// The record outcome of a job that failed with this error.
    pub fn outcome(&self) -> Outcome {
        match self {
            e if e.is_interrupt() => Outcome::Interrupted,
            JobError::Tests { .. } | JobError::Vulnerable { .. } => Outcome::TestFailed,
            _ => Outcome::Failed,
        }
    }
}

/// What `-T` checks a built image against.
#[derive(Debug, Clone, Copy)]
pub struct AuditGate<'a> {
    /// The advisories.
    pub advisories: &'a crate::audit::Advisories,
    /// Fail on findings at or above this severity (`None`: any finding).
    pub fail_on: Option<reagent_gentoo::Severity>,
}

/// Everything a job needs, shared by all workers.
pub struct JobContext<'a> {
    /// The project.
    pub project: &'a Project,
    /// Its graph as keyed for this run (with discovered inputs: see [`crate::discover`]).
    pub graph: &'a Graph,
    /// The container world, and every process reagent runs.
    pub backend: &'a dyn Backend,
    /// Where reagent keeps state: logs go to `logs/`, rewritten files to `tmp/`.
    pub state_dir: &'a Path,
    /// Registry prefix, if pushing and pulling.
    pub registry: Option<&'a str>,
    /// Stop signal.
    pub cancel: &'a Cancel,
    /// Stream build output as events.
    pub verbose: bool,
    /// The catalyst program for stage builds.
    pub catalyst: &'a Path,
    /// Run each built image's tests (with this timeout each) before tagging it.
    pub tests: Option<Duration>,
    /// Audit each built image against these advisories before tagging it.
    pub audit: Option<AuditGate<'a>>,
    /// With a registry, attach an SBOM in this format to each image pushed.
    pub sbom: Option<crate::sbom::Format>,
    /// The clock records are stamped with.
    pub clock: &'a dyn Clock,
    /// The binary package cache mounted into every image build, if any.
    pub binhost: Option<reagent_backend::Volume>,
    /// Contact no registry (`-R`): external bases must already be in local storage.
    pub offline: bool,
    /// The external bases this run has made sure are local.
    pub bases: Bases,
}

/// The external bases (`name@digest`) a run has found or pulled into local storage:
/// each is looked up, and pulled when missing, once, before the first image built
/// on it; builds that need one being pulled wait for it.
#[derive(Debug, Default)]
pub struct Bases(std::sync::Mutex<std::collections::HashSet<String>>);

/// What a job did, for the run loop to record and report.
#[derive(Debug)]
pub struct JobOutput {
    /// When it started, unix milliseconds.
    pub start_ms: u64,
    /// When it ended, unix milliseconds.
    pub end_ms: u64,
    /// How long it ran.
    pub duration: Duration,
    /// How it ended.
    pub result: Result<(), JobError>,
    /// Test and audit cases it ran.
    pub cases: Vec<Case>,
    /// Registry references it pushed or pulled.
    pub registry_refs: Vec<String>,
    /// What its build read of the snapshot, when it recorded that.
    pub discovery: Option<crate::discover::Discovery>,
    /// The id of the image its build made, when it made one (tagged or, when its
    /// tests or audit failed, not).
    pub image: Option<String>,
}

impl JobOutput {
    /// The record outcome for `work` ending this way.
    pub fn outcome(&self, work: Work) -> Outcome {
        match (&self.result, work) {
            (Ok(()), Work::Pull) => Outcome::Pulled,
            (Ok(()), Work::Push) => Outcome::Published,
            (Ok(()), Work::Build) => Outcome::Built,
            (Err(e), _) => e.outcome(),
        }
    }
}

/// What a job gathers as it runs besides its result.
#[derive(Default)]
struct Gathered {
    cases: Vec<Case>,
    registry_refs: Vec<String>,
    discovery: Option<crate::discover::Discovery>,
    image: Option<String>,
}

impl JobContext<'_> {
    /// Where this node's build log goes (its folder is created).
    pub fn log_path(&self, node: &Node) -> Result<PathBuf, JobError> {
        reagent_state::log_path(self.state_dir, &node.name, &node.key.short()).map_err(|e| {
            JobError::Io {
                path: self.state_dir.join("logs"),
                source: std::io::Error::other(e),
            }
        })
    }

    fn tmp_dir(&self) -> Result<PathBuf, JobError> {
        let dir = self.state_dir.join("tmp");
        std::fs::create_dir_all(&dir).map_err(|source| JobError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(dir)
    }

    /// Do `work` on `node`, sending progress through `emit`.
    pub fn run(&self, node: &Node, work: Work, emit: &dyn Fn(Event)) -> JobOutput {
        let start_ms = self.clock.now_ms();
        let start = Instant::now();
        let mut gathered = Gathered::default();
        let result = match work {
            // An artifact (an ISO, a disk image) has no image to push.
            Work::Build if node.artifact().is_some() => self.build(node, emit, &mut gathered),
            Work::Build => self
                .build(node, emit, &mut gathered)
                .and_then(|()| self.publish(node, &mut gathered)),
            Work::Pull => self.pull(node, &mut gathered),
            Work::Push => self.publish(node, &mut gathered),
        };
        JobOutput {
            start_ms,
            end_ms: self.clock.now_ms(),
            duration: start.elapsed(),
            result,
            cases: gathered.cases,
            registry_refs: gathered.registry_refs,
            discovery: gathered.discovery,
            image: gathered.image,
        }
    }

    /// The labels every image reagent makes carries: key, manifest digest, node, project.
    fn labels(&self, node: &Node) -> BTreeMap<String, String> {
        BTreeMap::from([
            (LABEL_KEY.to_string(), node.key.hex()),
            (LABEL_MANIFEST.to_string(), node.manifest.digest()),
            (LABEL_NODE.to_string(), node.name.clone()),
            (LABEL_PROJECT.to_string(), self.project.name()),
        ])
    }

    fn build(
        &self,
        node: &Node,
        emit: &dyn Fn(Event),
        gathered: &mut Gathered,
    ) -> Result<(), JobError> {
        let log = self.log_path(node)?;
        let secrets = crate::secrets::of(node);
        let mut progress = |p: BuildProgress| match p {
            BuildProgress::Step { n, of, text } => emit(Event::Step {
                node: node.name.clone(),
                n,
                of,
                text: secrets.mask(&text).into_owned(),
            }),
            BuildProgress::Line(line) if self.verbose => emit(Event::Output {
                node: node.name.clone(),
                line: secrets.mask(&line).into_owned(),
            }),
            BuildProgress::Line(_) => {}
        };
        match &node.recipe {
            Recipe::Image(image) => {
                self.build_image(node, image, &log, &mut progress, emit, gathered)
            }
            Recipe::Snapshot(snap) => self.build_snapshot(node, snap, &log, &mut progress),
            Recipe::Stage(stage) => self.build_stage(node, stage, &log),
        }
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), JobError> {
    std::fs::write(path, bytes).map_err(|source| JobError::Io {
        path: path.to_path_buf(),
        source,
    })
}
