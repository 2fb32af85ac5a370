//! [`FakeBackend`]: a recording test double for scheduler and planner tests.
//!
//! It is always compiled (no cargo feature): it has no dependencies of its
//! own, costs a fraction of a second to build, and a feature would make every
//! dependent crate's tests remember to switch it on. It keeps images in a map,
//! a "remote" registry in another, records every call in order, and honours
//! [`Cancel`] everywhere it waits. It starts no process: host tool runs
//! ([`Backend::run_tool`], catalyst for stage builds) succeed doing nothing
//! unless a knob says to write files, fail, block or time out.
//!
//! ```
//! use reagent_backend::fake::{Call, FakeBackend};
//! use reagent_backend::{Backend, Cancel};
//! use std::collections::BTreeMap;
//!
//! let fake = FakeBackend::new();
//! let id = fake.add_image(&["localhost/base:1"], BTreeMap::new());
//! assert!(fake.remote_exists("reg/app:1").is_ok());
//! fake.push("localhost/base:1", "reg/base:1", &Cancel::new()).unwrap();
//! assert!(fake.remote_exists("reg/base:1").unwrap());
//! assert_eq!(fake.calls().len(), 3);
//! assert_eq!(fake.image("localhost/base:1").unwrap().id, id);
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::backend::{
    Backend, BackendError, BuildProgress, BuildRequest, Cancel, ImageFormat, LocalImage,
    OciArtifact, RunOutcome, ToolRequest, Volume,
};

/// How often a waiting fake call looks at its [`Cancel`].
const TICK: Duration = Duration::from_millis(5);

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// [`Backend::build`].
    Build {
        /// `req.name`.
        name: String,
        /// `req.volumes`.
        volumes: Vec<Volume>,
        /// `req.no_cache`.
        no_cache: bool,
        /// `req.tags`.
        tags: Vec<String>,
        /// `req.labels`.
        labels: BTreeMap<String, String>,
        /// `req.args` (the fake is a test double: values are kept for assertions).
        args: BTreeMap<String, String>,
        /// `req.format`.
        format: ImageFormat,
    },
    /// [`Backend::tag`].
    Tag {
        /// The image.
        image: String,
        /// The new tags.
        tags: Vec<String>,
    },
    /// [`Backend::images`].
    Images,
    /// [`Backend::inspect`].
    Inspect {
        /// The id or name asked about.
        reference: String,
    },
    /// [`Backend::remove_image`].
    RemoveImage {
        /// The names removed.
        names: Vec<String>,
    },
    /// [`Backend::with_rootfs`].
    WithRootfs {
        /// The image.
        image: String,
    },
    /// [`Backend::run`].
    Run {
        /// The image.
        image: String,
        /// The command.
        argv: Vec<String>,
    },
    /// [`Backend::push`].
    Push {
        /// Local reference.
        local: String,
        /// Remote reference.
        remote: String,
    },
    /// [`Backend::push_artifact`].
    PushArtifact {
        /// Remote reference.
        remote: String,
        /// The manifest's digest (hex).
        digest: String,
    },
    /// [`Backend::image_created`].
    ImageCreated {
        /// The image asked about.
        reference: String,
    },
    /// [`Backend::remote_exists`].
    RemoteExists {
        /// Remote reference.
        remote: String,
    },
    /// [`Backend::remote_labels`].
    RemoteLabels {
        /// Remote reference.
        remote: String,
    },
    /// [`Backend::remote_tags`].
    RemoteTags {
        /// The repository listed.
        repository: String,
    },
    /// [`Backend::remote_image`].
    RemoteImage {
        /// Remote reference.
        remote: String,
    },
    /// [`Backend::remote_delete`].
    RemoteDelete {
        /// Remote reference (`name@digest`).
        remote: String,
    },
    /// [`Backend::publish_labels`].
    PublishLabels {
        /// Remote reference.
        remote: String,
        /// The labels.
        labels: BTreeMap<String, String>,
    },
    /// [`Backend::pull`].
    Pull {
        /// Remote reference.
        remote: String,
        /// Local tags to add.
        local_tags: Vec<String>,
    },
    /// [`Backend::import_tarball`].
    ImportTarball {
        /// The tarball.
        tarball: PathBuf,
        /// Tags.
        tags: Vec<String>,
        /// Labels.
        labels: BTreeMap<String, String>,
    },
    /// [`Backend::remote_digest`].
    RemoteDigest {
        /// The reference asked about.
        reference: String,
        /// The platform asked for.
        platform: Option<String>,
    },
    /// [`Backend::local_digest`].
    LocalDigest {
        /// The reference asked about.
        reference: String,
    },
    /// [`Backend::pull_base`].
    PullBase {
        /// The reference pulled (`name@digest`).
        reference: String,
    },
    /// [`Backend::run_tool`].
    Tool {
        /// `req.program`, as given.
        program: PathBuf,
        /// `req.args` (unmasked, for assertions).
        args: Vec<String>,
    },
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    /// Local images by id.
    images: BTreeMap<String, LocalImage>,
    /// Remote images by full reference.
    remote: BTreeMap<String, LocalImage>,
    /// Artifacts pushed with `push_artifact`, by full reference.
    artifacts: BTreeMap<String, OciArtifact>,
    /// Creation times `image_created` reports, by image id.
    created: HashMap<String, String>,
    /// What external references resolve to upstream: (reference, platform) → digest.
    remote_digests: BTreeMap<(String, Option<String>), String>,
    /// Manifest digests of local images, by id.
    local_digests: HashMap<String, String>,
    durations: HashMap<String, Duration>,
    failures: HashMap<String, String>,
    blocked: HashSet<String>,
    /// Nodes whose builds wait at the gate until released.
    held: HashSet<String>,
    run_outcomes: HashMap<String, RunOutcome>,
    /// Root filesystems `with_rootfs` shows, by image reference.
    rootfs: HashMap<String, PathBuf>,
    /// The root filesystem `with_rootfs` shows for any other image.
    default_rootfs: Option<PathBuf>,
    /// What a successful build of a node appends to a volume: (node, container path) → bytes.
    volume_writes: HashMap<(String, String), Vec<u8>>,
    remote_down: bool,
    /// Registry references whose push fails (the registry went away mid-publish).
    push_failures: HashSet<String>,
    /// Files a run of a host tool writes, by the tool's file name.
    tool_writes: HashMap<String, Vec<(PathBuf, Vec<u8>)>>,
    /// What `builder_version` says; [`FakeBackend::BUILDER_VERSION`] when not set.
    builder_version: Option<crate::Version>,
    /// Messages runs of a host tool fail with, by the tool's file name.
    tool_failures: HashMap<String, String>,
    /// Host tools whose runs wait until cancelled.
    tool_blocked: HashSet<String>,
    /// Host tools whose runs end as if they ran into their time limit.
    tool_timeouts: HashSet<String>,
    next_id: u64,
    in_flight: usize,
    peak_in_flight: usize,
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:064x}", self.next_id)
    }

    /// The id of the local image that `reference` (an id, a name, or `name@digest`
    /// by its digest) names.
    fn resolve(&self, reference: &str) -> Option<String> {
        if self.images.contains_key(reference) {
            return Some(reference.to_string());
        }
        let by_name = self
            .images
            .values()
            .find(|i| i.names.iter().any(|n| n == reference))
            .map(|i| i.id.clone());
        by_name.or_else(|| {
            let (_, digest) = reference.split_once('@')?;
            self.local_digests
                .iter()
                .find(|(id, d)| *d == digest && self.images.contains_key(*id))
                .map(|(id, _)| id.clone())
        })
    }

    /// A new local image with these labels and names; its id.
    fn new_image(&mut self, labels: BTreeMap<String, String>, names: &[String]) -> String {
        let id = self.new_id();
        self.images.insert(
            id.clone(),
            LocalImage {
                id: id.clone(),
                names: Vec::new(),
                labels,
            },
        );
        self.add_names(&id, names);
        id
    }

    /// Give `id` these names, taking them away from any other image.
    fn add_names(&mut self, id: &str, names: &[String]) {
        for img in self.images.values_mut() {
            if img.id != id {
                img.names.retain(|n| !names.contains(n));
            }
        }
        if let Some(img) = self.images.get_mut(id) {
            for n in names {
                if !img.names.contains(n) {
                    img.names.push(n.clone());
                }
            }
        }
    }
}

/// A recording, in-memory [`Backend`].
#[derive(Debug, Default)]
pub struct FakeBackend {
    state: Mutex<State>,
}

fn fail(command: String, stderr: impl Into<String>) -> BackendError {
    BackendError::Failed {
        command,
        code: Some(1),
        stderr: stderr.into(),
    }
}

/// Sleep `d` in small ticks; `Err(Interrupted)` as soon as `cancel` is set.
fn wait(d: Duration, cancel: &Cancel) -> Result<(), BackendError> {
    let end = Instant::now() + d;
    loop {
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        thread::sleep(TICK.min(end - now));
    }
}

impl FakeBackend {
    /// The builder version a fake reports unless told otherwise: new enough for
    /// every construct reagent knows.
    pub const BUILDER_VERSION: crate::Version = crate::Version::new(1, 99);

    /// Make `builder_version` report `version`.
    pub fn set_builder_version(&self, version: crate::Version) {
        self.lock().builder_version = Some(version);
    }

    /// An empty fake: no images, empty reachable remote.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the state from the others.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Put an image into local storage; returns its id.
    pub fn add_image(&self, names: &[&str], labels: BTreeMap<String, String>) -> String {
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        self.lock().new_image(labels, &names)
    }

    /// Put an image from outside the project into local storage under `names`, with
    /// manifest digest `digest` (as if pulled or imported); returns its id.
    pub fn add_base(&self, names: &[&str], digest: &str) -> String {
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        let mut s = self.lock();
        let id = s.new_image(BTreeMap::new(), &names);
        s.local_digests.insert(id.clone(), digest.to_string());
        id
    }

    /// Make the registry resolve external image `reference` to `digest` (for
    /// `platform`, or for any platform not set on its own when `None`), as
    /// [`Backend::remote_digest`] and [`Backend::pull_base`] see it.
    pub fn set_remote_digest(&self, reference: &str, platform: Option<&str>, digest: &str) {
        self.lock().remote_digests.insert(
            (reference.to_string(), platform.map(str::to_string)),
            digest.to_string(),
        );
    }

    /// Make `with_rootfs(image)` show the folder `root`.
    pub fn set_rootfs(&self, image: &str, root: &Path) {
        self.lock()
            .rootfs
            .insert(image.to_string(), root.to_path_buf());
    }

    /// Make `with_rootfs` show `root` for every image without a root of its own.
    pub fn set_default_rootfs(&self, root: &Path) {
        self.lock().default_rootfs = Some(root.to_path_buf());
    }

    /// Make every successful build of node `name` append `bytes` to the host file
    /// of the volume it mounts at `container` (as a RUN step writing there would).
    pub fn build_writes_volume(&self, name: &str, container: &str, bytes: &[u8]) {
        self.lock()
            .volume_writes
            .insert((name.to_string(), container.to_string()), bytes.to_vec());
    }

    /// Make `image_created(image)` (an image's id or name) say `created`.
    pub fn set_created(&self, image: &str, created: &str) {
        let mut s = self.lock();
        let id = s.resolve(image).unwrap_or_else(|| image.to_string());
        s.created.insert(id, created.to_string());
    }

    /// The artifact [`Backend::push_artifact`] last pushed to `remote`, if any.
    pub fn artifact(&self, remote: &str) -> Option<OciArtifact> {
        self.lock().artifacts.get(remote).cloned()
    }

    /// Remove every local image (as if storage were wiped).
    pub fn clear_images(&self) {
        self.lock().images.clear();
    }

    /// Put an image into the fake remote under `reference`.
    pub fn add_remote(&self, reference: &str, labels: BTreeMap<String, String>) {
        let mut s = self.lock();
        let id = s.new_id();
        s.remote.insert(
            reference.to_string(),
            LocalImage {
                id,
                names: vec![reference.to_string()],
                labels,
            },
        );
    }

    /// Make builds of node `name` take `d` (cancellable).
    pub fn set_build_duration(&self, name: &str, d: Duration) {
        self.lock().durations.insert(name.to_string(), d);
    }

    /// Make builds of node `name` fail with `message` (also written to the log).
    pub fn fail_build(&self, name: &str, message: &str) {
        self.lock()
            .failures
            .insert(name.to_string(), message.to_string());
    }

    /// Make builds of node `name` wait until cancelled, then return `Interrupted`.
    pub fn block_build(&self, name: &str) {
        self.lock().blocked.insert(name.to_string());
    }

    /// Make builds of node `name` wait, once started (and counted in
    /// [`FakeBackend::builds_in_flight`]), until [`FakeBackend::release_build`]
    /// (then they go on as usual) or until cancelled (then `Interrupted`).
    /// With it a test sees builds overlap without assuming anything about time.
    pub fn hold_build(&self, name: &str) {
        self.lock().held.insert(name.to_string());
    }

    /// Let held builds of node `name` go on, and later ones not wait.
    pub fn release_build(&self, name: &str) {
        self.lock().held.remove(name);
    }

    /// How many builds are running right now.
    pub fn builds_in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// Make `run` on `image` (as passed) return `outcome` (default `Exited(0)`).
    pub fn set_run_outcome(&self, image: &str, outcome: RunOutcome) {
        self.lock().run_outcomes.insert(image.to_string(), outcome);
    }

    /// Make the remote unreachable (push, pull and `remote_exists` fail with `Unreachable`).
    pub fn set_remote_down(&self, down: bool) {
        self.lock().remote_down = down;
    }

    /// Make pushes to `remote` fail as unreachable (`false`: succeed again),
    /// as when a registry goes away between the key tag and the moving tags.
    pub fn fail_push(&self, remote: &str, fail: bool) {
        let mut s = self.lock();
        if fail {
            s.push_failures.insert(remote.to_string());
        } else {
            s.push_failures.remove(remote);
        }
    }

    /// Make runs of the host tool `program` (its file name: `catalyst`
    /// matches `/usr/bin/catalyst`) write `bytes` to `path`, creating its
    /// folder, as catalyst writes its stage tarball. Several calls add several
    /// files.
    pub fn tool_writes(&self, program: &str, path: &Path, bytes: &[u8]) {
        self.lock()
            .tool_writes
            .entry(program.to_string())
            .or_default()
            .push((path.to_path_buf(), bytes.to_vec()));
    }

    /// Make runs of the host tool `program` (by file name) fail like a
    /// non-zero exit, with `message` as their output: appended to the log and
    /// given to `on_line`, with `req.secrets` masked. Files set with
    /// [`FakeBackend::tool_writes`] are written before it fails.
    pub fn fail_tool(&self, program: &str, message: &str) {
        self.lock()
            .tool_failures
            .insert(program.to_string(), message.to_string());
    }

    /// Make runs of the host tool `program` (by file name) wait until
    /// cancelled, then return `Interrupted`. Their time limit is not looked at.
    pub fn block_tool(&self, program: &str) {
        self.lock().tool_blocked.insert(program.to_string());
    }

    /// Make runs of the host tool `program` (by file name) return at once
    /// with [`BackendError::TimedOut`], `after` being the request's time limit
    /// (zero if it has none), as if the limit had passed.
    pub fn time_out_tool(&self, program: &str) {
        self.lock().tool_timeouts.insert(program.to_string());
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Names of the nodes built so far, in the order their builds started.
    pub fn built(&self) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .filter_map(|c| match c {
                Call::Build { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// The most builds that ran at the same time.
    pub fn peak_concurrent_builds(&self) -> usize {
        self.lock().peak_in_flight
    }

    /// The local image that `reference` (id or name) names.
    pub fn image(&self, reference: &str) -> Option<LocalImage> {
        let s = self.lock();
        s.resolve(reference)
            .and_then(|id| s.images.get(&id).cloned())
    }

    /// The image the fake remote has under `reference`.
    pub fn remote_image(&self, reference: &str) -> Option<LocalImage> {
        self.lock().remote.get(reference).cloned()
    }

    /// Every reference in the fake remote.
    pub fn remote_refs(&self) -> Vec<String> {
        self.lock().remote.keys().cloned().collect()
    }

    fn record(&self, call: Call) {
        self.lock().calls.push(call);
    }

    fn build_inner(
        &self,
        req: &BuildRequest,
        cancel: &Cancel,
        progress: &mut dyn FnMut(BuildProgress),
    ) -> Result<String, BackendError> {
        let (duration, failure, blocked) = {
            let s = self.lock();
            (
                s.durations.get(&req.name).copied().unwrap_or_default(),
                s.failures.get(&req.name).cloned(),
                s.blocked.contains(&req.name),
            )
        };
        let text = format!("FAKE build {}", req.name);
        progress(BuildProgress::Step {
            n: 1,
            of: 1,
            text: text.clone(),
        });
        progress(BuildProgress::Line(format!("STEP 1/1: {text}")));
        crate::process::append_line(&req.log, &format!("STEP 1/1: {text}"))?;
        if blocked {
            while !cancel.is_cancelled() {
                thread::sleep(TICK);
            }
            return Err(BackendError::Interrupted);
        }
        while self.lock().held.contains(&req.name) {
            if cancel.is_cancelled() {
                return Err(BackendError::Interrupted);
            }
            thread::sleep(TICK);
        }
        wait(duration, cancel)?;
        if let Some(message) = failure {
            // Like the real backend: build-arg values are masked in the
            // output it writes and in its error.
            let secrets = crate::redact::Secrets::new(req.args.values());
            let message = secrets.mask(&message).into_owned();
            crate::process::append_line(&req.log, &message)?;
            return Err(fail(format!("fake build {}", req.name), message));
        }
        for v in &req.volumes {
            let bytes = self
                .lock()
                .volume_writes
                .get(&(req.name.clone(), v.container.clone()))
                .cloned();
            if let Some(bytes) = bytes {
                use std::io::Write;
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&v.host)?
                    .write_all(&bytes)?;
            }
        }
        Ok(self.lock().new_image(req.labels.clone(), &req.tags))
    }
}

impl Backend for FakeBackend {
    fn build(
        &self,
        req: &BuildRequest,
        cancel: &Cancel,
        progress: &mut dyn FnMut(BuildProgress),
    ) -> Result<String, BackendError> {
        {
            let mut s = self.lock();
            s.calls.push(Call::Build {
                name: req.name.clone(),
                volumes: req.volumes.clone(),
                no_cache: req.no_cache,
                tags: req.tags.clone(),
                labels: req.labels.clone(),
                args: req.args.clone(),
                format: req.format,
            });
            s.in_flight += 1;
            s.peak_in_flight = s.peak_in_flight.max(s.in_flight);
        }
        let result = if cancel.is_cancelled() {
            Err(BackendError::Interrupted)
        } else {
            self.build_inner(req, cancel, progress)
        };
        self.lock().in_flight -= 1;
        result
    }

    fn tag(&self, image: &str, tags: &[String]) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::Tag {
            image: image.to_string(),
            tags: tags.to_vec(),
        });
        let id = s
            .resolve(image)
            .ok_or_else(|| fail(format!("fake tag {image}"), "image not known"))?;
        s.add_names(&id, tags);
        Ok(())
    }

    fn images(&self) -> Result<Vec<LocalImage>, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::Images);
        Ok(s.images.values().cloned().collect())
    }

    fn inspect(&self, reference: &str) -> Result<Option<LocalImage>, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::Inspect {
            reference: reference.to_string(),
        });
        Ok(s.resolve(reference)
            .and_then(|id| s.images.get(&id).cloned()))
    }

    fn run(
        &self,
        image: &str,
        argv: &[String],
        timeout: Duration,
        log: &Path,
        cancel: &Cancel,
    ) -> Result<RunOutcome, BackendError> {
        self.record(Call::Run {
            image: image.to_string(),
            argv: argv.to_vec(),
        });
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let outcome = {
            let s = self.lock();
            if s.resolve(image).is_none() {
                return Err(fail(format!("fake run {image}"), "image not known"));
            }
            s.run_outcomes
                .get(image)
                .cloned()
                .unwrap_or(RunOutcome::Exited(0))
        };
        crate::process::append_line(log, &format!("$ {}", argv.join(" ")))?;
        if outcome == RunOutcome::TimedOut {
            wait(timeout, cancel)?;
        }
        Ok(outcome)
    }

    fn push(&self, local: &str, remote: &str, cancel: &Cancel) -> Result<(), BackendError> {
        self.push_with_digest(local, remote, cancel).map(drop)
    }

    /// Pushes as [`Backend::push`] does (one [`Call::Push`]); the fake's
    /// manifest digest is `sha256:` and the image's id.
    fn push_with_digest(
        &self,
        local: &str,
        remote: &str,
        cancel: &Cancel,
    ) -> Result<String, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::Push {
            local: local.to_string(),
            remote: remote.to_string(),
        });
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        if s.remote_down || s.push_failures.contains(remote) {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {remote}"
            )));
        }
        let image = s
            .resolve(local)
            .and_then(|id| s.images.get(&id).cloned())
            .ok_or_else(|| fail(format!("fake push {local}"), "image not known"))?;
        let digest = format!("sha256:{}", image.id);
        s.remote.insert(
            remote.to_string(),
            LocalImage {
                names: vec![remote.to_string()],
                ..image
            },
        );
        Ok(digest)
    }

    /// Keeps the artifact (see [`FakeBackend::artifact`]); the remote then has
    /// `remote`, with the manifest's digest as its id and no labels.
    fn push_artifact(
        &self,
        artifact: &OciArtifact,
        remote: &str,
        cancel: &Cancel,
    ) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::PushArtifact {
            remote: remote.to_string(),
            digest: artifact.manifest.digest.clone(),
        });
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        if s.remote_down || s.push_failures.contains(remote) {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {remote}"
            )));
        }
        s.artifacts.insert(remote.to_string(), artifact.clone());
        s.remote.insert(
            remote.to_string(),
            LocalImage {
                id: artifact.manifest.digest.clone(),
                names: vec![remote.to_string()],
                labels: BTreeMap::new(),
            },
        );
        Ok(())
    }

    fn image_created(&self, reference: &str) -> Result<Option<String>, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::ImageCreated {
            reference: reference.to_string(),
        });
        Ok(s.resolve(reference)
            .and_then(|id| s.created.get(&id).cloned()))
    }

    fn remote_exists(&self, remote: &str) -> Result<bool, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::RemoteExists {
            remote: remote.to_string(),
        });
        if s.remote_down {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {remote}"
            )));
        }
        Ok(s.remote.contains_key(remote))
    }

    fn remote_labels(
        &self,
        remote: &str,
    ) -> Result<Option<BTreeMap<String, String>>, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::RemoteLabels {
            remote: remote.to_string(),
        });
        if s.remote_down {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {remote}"
            )));
        }
        Ok(s.remote.get(remote).map(|i| i.labels.clone()))
    }

    fn remote_tags(&self, repository: &str) -> Result<Vec<String>, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::RemoteTags {
            repository: repository.to_string(),
        });
        if s.remote_down {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {repository}"
            )));
        }
        let prefix = format!("{repository}:");
        Ok(s.remote
            .keys()
            .filter_map(|r| r.strip_prefix(&prefix))
            .filter(|tag| !tag.contains('/'))
            .map(str::to_string)
            .collect())
    }

    /// The fake's manifest digest is `sha256:` and the image's id; its creation
    /// time is what [`FakeBackend::set_created`] gave that id.
    fn remote_image(&self, remote: &str) -> Result<Option<crate::RemoteImage>, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::RemoteImage {
            remote: remote.to_string(),
        });
        if s.remote_down {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {remote}"
            )));
        }
        Ok(s.remote.get(remote).map(|i| crate::RemoteImage {
            digest: format!("sha256:{}", i.id),
            created: s.created.get(&i.id).cloned(),
            labels: i.labels.clone(),
        }))
    }

    /// Removes every reference of the repository whose image has the digest's id.
    fn remote_delete(&self, remote: &str) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::RemoteDelete {
            remote: remote.to_string(),
        });
        let Some((repository, digest)) = remote.split_once("@sha256:") else {
            return Err(BackendError::Failed {
                command: format!("skopeo delete docker://{remote}"),
                code: Some(1),
                stderr: "fake: delete needs name@sha256:digest".into(),
            });
        };
        let prefix = format!("{repository}:");
        let before = s.remote.len();
        s.remote
            .retain(|r, i| !(r.starts_with(&prefix) && i.id == digest));
        if s.remote.len() == before {
            return Err(BackendError::Failed {
                command: format!("skopeo delete docker://{remote}"),
                code: Some(1),
                stderr: "manifest unknown".into(),
            });
        }
        Ok(())
    }

    fn publish_labels(
        &self,
        remote: &str,
        labels: &BTreeMap<String, String>,
        cancel: &Cancel,
    ) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::PublishLabels {
            remote: remote.to_string(),
            labels: labels.clone(),
        });
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        if s.remote_down || s.push_failures.contains(remote) {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {remote}"
            )));
        }
        let id = s.new_id();
        s.remote.insert(
            remote.to_string(),
            LocalImage {
                id,
                names: vec![remote.to_string()],
                labels: labels.clone(),
            },
        );
        Ok(())
    }

    fn pull(
        &self,
        remote: &str,
        local_tags: &[String],
        cancel: &Cancel,
    ) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::Pull {
            remote: remote.to_string(),
            local_tags: local_tags.to_vec(),
        });
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        if s.remote_down {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {remote}"
            )));
        }
        let image = s
            .remote
            .get(remote)
            .cloned()
            .ok_or_else(|| fail(format!("fake pull {remote}"), "manifest unknown"))?;
        let id = image.id.clone();
        s.images.entry(id.clone()).or_insert(LocalImage {
            names: Vec::new(),
            ..image
        });
        let mut names = vec![remote.to_string()];
        names.extend(local_tags.iter().cloned());
        s.add_names(&id, &names);
        Ok(())
    }

    fn remote_digest(
        &self,
        reference: &str,
        platform: Option<&str>,
    ) -> Result<Option<String>, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::RemoteDigest {
            reference: reference.to_string(),
            platform: platform.map(str::to_string),
        });
        if s.remote_down {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {reference}"
            )));
        }
        let key = |p: Option<&str>| (reference.to_string(), p.map(str::to_string));
        Ok(s.remote_digests
            .get(&key(platform))
            .or_else(|| s.remote_digests.get(&key(None)))
            .cloned())
    }

    fn local_digest(&self, reference: &str) -> Result<Option<String>, BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::LocalDigest {
            reference: reference.to_string(),
        });
        Ok(s.resolve(reference)
            .and_then(|id| s.local_digests.get(&id).cloned()))
    }

    fn pull_base(&self, reference: &str, log: &Path, cancel: &Cancel) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::PullBase {
            reference: reference.to_string(),
        });
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        if s.remote_down {
            return Err(BackendError::Unreachable(format!(
                "fake remote is down: {reference}"
            )));
        }
        crate::process::append_line(log, &format!("pull {reference}"))?;
        let known = reference
            .split_once('@')
            .is_some_and(|(_, d)| s.remote_digests.values().any(|v| v == d));
        if !known {
            return Err(fail(format!("fake pull {reference}"), "manifest unknown"));
        }
        let digest = reference.split_once('@').map(|(_, d)| d.to_string());
        let id = s.new_image(BTreeMap::new(), &[reference.to_string()]);
        if let Some(digest) = digest {
            s.local_digests.insert(id, digest);
        }
        Ok(())
    }

    fn import_tarball(
        &self,
        tarball: &Path,
        labels: &BTreeMap<String, String>,
        tags: &[String],
        log: &Path,
        cancel: &Cancel,
    ) -> Result<String, BackendError> {
        self.record(Call::ImportTarball {
            tarball: tarball.to_path_buf(),
            tags: tags.to_vec(),
            labels: labels.clone(),
        });
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        crate::process::append_line(log, &format!("import {}", tarball.display()))?;
        Ok(self.lock().new_image(labels.clone(), tags))
    }

    fn remove_image(&self, names: &[String]) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.calls.push(Call::RemoveImage {
            names: names.to_vec(),
        });
        for name in names {
            let id = s
                .resolve(name)
                .ok_or_else(|| fail(format!("fake rmi {name}"), "image not known"))?;
            if let Some(image) = s.images.get_mut(&id) {
                image.names.retain(|n| n != name);
                if image.names.is_empty() {
                    s.images.remove(&id);
                }
            }
        }
        Ok(())
    }

    fn builder_version(&self) -> Result<crate::Version, BackendError> {
        Ok(self
            .lock()
            .builder_version
            .unwrap_or(FakeBackend::BUILDER_VERSION))
    }

    fn run_tool(
        &self,
        req: &ToolRequest,
        cancel: &Cancel,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<(), BackendError> {
        self.record(Call::Tool {
            program: req.program.clone(),
            args: req.args.clone(),
        });
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let name = req.program.file_name().map_or_else(
            || req.program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let (writes, failure, blocked, timed_out) = {
            let s = self.lock();
            (
                s.tool_writes.get(&name).cloned().unwrap_or_default(),
                s.tool_failures.get(&name).cloned(),
                s.tool_blocked.contains(&name),
                s.tool_timeouts.contains(&name),
            )
        };
        let command = crate::process::tool_command(req).display();
        crate::process::append_line(&req.log, &format!("$ {command}"))?;
        if blocked {
            while !cancel.is_cancelled() {
                thread::sleep(TICK);
            }
            return Err(BackendError::Interrupted);
        }
        if timed_out {
            return Err(BackendError::TimedOut {
                command,
                after: req.timeout.unwrap_or_default(),
            });
        }
        for (path, bytes) in writes {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, bytes)?;
        }
        if let Some(message) = failure {
            let message = req.secrets.mask(&message).into_owned();
            crate::process::append_line(&req.log, &message)?;
            on_line(&message);
            return Err(BackendError::Failed {
                command,
                code: Some(1),
                stderr: message,
            });
        }
        Ok(())
    }

    fn with_rootfs(&self, image: &str, visit: &mut dyn FnMut(&Path)) -> Result<(), BackendError> {
        self.record(Call::WithRootfs {
            image: image.to_string(),
        });
        let root = {
            let s = self.lock();
            s.rootfs
                .get(image)
                .cloned()
                .or_else(|| s.default_rootfs.clone())
        };
        match root {
            Some(root) => {
                visit(&root);
                Ok(())
            }
            None => Err(BackendError::Failed {
                command: format!("mount {image}"),
                code: Some(125),
                stderr: format!("{image}: image not known"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn req(dir: &Path, name: &str) -> BuildRequest {
        BuildRequest {
            name: name.to_string(),
            containerfile: dir.join("Containerfile"),
            context: dir.to_path_buf(),
            args: BTreeMap::from([("A".to_string(), "1".to_string())]),
            target: None,
            platform: None,
            squash: false,
            format: ImageFormat::Oci,
            labels: BTreeMap::from([("k".to_string(), name.to_string())]),
            tags: vec![format!("localhost/{name}:1")],
            log: dir.join(format!("{name}.log")),
            secrets: BTreeMap::new(),
            volumes: Vec::new(),
            no_cache: false,
        }
    }

    #[test]
    fn pushes_report_digests_and_artifacts_are_kept() {
        let fake = FakeBackend::new();
        let id = fake.add_image(&["localhost/app:1"], BTreeMap::new());
        let cancel = Cancel::new();
        let digest = fake
            .push_with_digest("localhost/app:1", "reg/app:1", &cancel)
            .unwrap();
        assert_eq!(digest, format!("sha256:{id}"));
        let blob = |d: &str| crate::backend::OciBlob {
            digest: d.repeat(64),
            bytes: d.as_bytes().to_vec(),
        };
        let artifact = OciArtifact {
            manifest: blob("a"),
            blobs: vec![blob("b")],
        };
        fake.push_artifact(&artifact, "reg/app:x.sbom", &cancel)
            .unwrap();
        assert!(fake.remote_exists("reg/app:x.sbom").unwrap());
        assert_eq!(fake.artifact("reg/app:x.sbom"), Some(artifact.clone()));
        fake.fail_push("reg/app:y.sbom", true);
        assert!(fake
            .push_artifact(&artifact, "reg/app:y.sbom", &cancel)
            .is_err());
        assert_eq!(fake.artifact("reg/app:y.sbom"), None);

        assert_eq!(fake.image_created("localhost/app:1").unwrap(), None);
        fake.set_created("localhost/app:1", "2024-05-01T10:11:12Z");
        assert_eq!(
            fake.image_created(&id).unwrap().as_deref(),
            Some("2024-05-01T10:11:12Z")
        );
        assert_eq!(fake.image_created("localhost/nope:1").unwrap(), None);
        assert!(fake.calls().contains(&Call::PushArtifact {
            remote: "reg/app:x.sbom".into(),
            digest: "a".repeat(64),
        }));
    }

    #[test]
    fn build_records_and_stores_the_image() {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeBackend::new();
        let mut steps = Vec::new();
        let id = fake
            .build(&req(dir.path(), "a"), &Cancel::new(), &mut |p| {
                steps.push(p);
            })
            .unwrap();
        assert!(matches!(steps[0], BuildProgress::Step { n: 1, of: 1, .. }));
        let images = fake.images().unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].id, id);
        assert_eq!(images[0].names, ["localhost/a:1"]);
        assert_eq!(images[0].labels["k"], "a");
        assert_eq!(fake.built(), ["a"]);
        assert_eq!(fake.calls()[1], Call::Images);
    }

    #[test]
    fn failing_build_writes_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeBackend::new();
        fake.fail_build("a", "boom: RUN failed");
        let r = fake.build(&req(dir.path(), "a"), &Cancel::new(), &mut |_| {});
        assert!(
            matches!(r, Err(BackendError::Failed { ref stderr, .. }) if stderr.contains("boom"))
        );
        let log = std::fs::read_to_string(dir.path().join("a.log")).unwrap();
        assert!(log.contains("boom: RUN failed"));
        assert!(fake.images().unwrap().is_empty());
    }

    #[test]
    fn blocked_build_returns_interrupted_once_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(FakeBackend::new());
        fake.block_build("slow");
        let cancel = Cancel::new();
        let (f2, c2, r) = (fake.clone(), cancel.clone(), req(dir.path(), "slow"));
        let t = thread::spawn(move || f2.build(&r, &c2, &mut |_| {}));
        // Running, and nothing but a cancel can end it.
        until(|| fake.builds_in_flight() == 1);
        cancel.cancel();
        assert!(matches!(t.join().unwrap(), Err(BackendError::Interrupted)));
        assert_eq!(fake.builds_in_flight(), 0);
    }

    /// Wait until `done` holds. The deadline only turns a hang into a failure.
    fn until(done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "gave up waiting");
            thread::sleep(TICK);
        }
    }

    #[test]
    fn held_builds_overlap_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(FakeBackend::new());
        fake.hold_build("a");
        fake.hold_build("b");
        let start = |n: &str| {
            let (f, r) = (fake.clone(), req(dir.path(), n));
            thread::spawn(move || f.build(&r, &Cancel::new(), &mut |_| {}))
        };
        let (a, b) = (start("a"), start("b"));
        // Both are in flight at once: neither can finish while held.
        until(|| fake.builds_in_flight() == 2);
        assert_eq!(fake.peak_concurrent_builds(), 2);
        fake.release_build("a");
        let a_id = a.join().unwrap().unwrap();
        assert_eq!(fake.builds_in_flight(), 1);
        assert!(!b.is_finished());
        fake.release_build("b");
        let b_id = b.join().unwrap().unwrap();
        assert_eq!(fake.builds_in_flight(), 0);
        assert_eq!(fake.peak_concurrent_builds(), 2);
        assert_ne!(a_id, b_id);
        assert_eq!(fake.image("localhost/b:1").unwrap().id, b_id);
    }

    #[test]
    fn held_build_returns_interrupted_once_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(FakeBackend::new());
        fake.hold_build("a");
        let cancel = Cancel::new();
        let (f2, c2, r) = (fake.clone(), cancel.clone(), req(dir.path(), "a"));
        let t = thread::spawn(move || f2.build(&r, &c2, &mut |_| {}));
        until(|| fake.builds_in_flight() == 1);
        cancel.cancel();
        assert!(matches!(t.join().unwrap(), Err(BackendError::Interrupted)));
        assert!(fake.images().unwrap().is_empty());
    }

    #[test]
    fn build_duration_is_waited_out_and_cancellable() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(FakeBackend::new());
        fake.set_build_duration("a", Duration::from_millis(50));
        let start = Instant::now();
        fake.build(&req(dir.path(), "a"), &Cancel::new(), &mut |_| {})
            .unwrap();
        // A lower bound only: a loaded machine may take longer, never shorter.
        assert!(start.elapsed() >= Duration::from_millis(50));
        // An hour-long build ends as soon as it is cancelled.
        fake.set_build_duration("b", Duration::from_secs(3600));
        let cancel = Cancel::new();
        let (f2, c2, r) = (fake.clone(), cancel.clone(), req(dir.path(), "b"));
        let t = thread::spawn(move || f2.build(&r, &c2, &mut |_| {}));
        until(|| fake.builds_in_flight() == 1);
        cancel.cancel();
        assert!(matches!(t.join().unwrap(), Err(BackendError::Interrupted)));
    }

    fn tool(dir: &Path, program: &str, args: &[&str]) -> ToolRequest {
        ToolRequest {
            program: PathBuf::from(program),
            args: args.iter().map(ToString::to_string).collect(),
            secrets: crate::redact::Secrets::new(["hunter2-secret"]),
            log: dir.join("logs/tool.log"),
            timeout: None,
        }
    }

    #[test]
    fn tool_run_records_writes_by_file_name_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeBackend::new();
        let tarball = dir.path().join("builds/default/stage3.tar.bz2");
        fake.tool_writes("catalyst", &tarball, b"stage");
        let req = tool(dir.path(), "/usr/bin/catalyst", &["-f", "s.spec"]);
        fake.run_tool(&req, &Cancel::new(), &mut |_| {}).unwrap();
        assert_eq!(std::fs::read(&tarball).unwrap(), b"stage");
        assert_eq!(
            fake.calls(),
            [Call::Tool {
                program: PathBuf::from("/usr/bin/catalyst"),
                args: vec!["-f".into(), "s.spec".into()],
            }]
        );
        let log = std::fs::read_to_string(&req.log).unwrap();
        assert_eq!(log, "$ /usr/bin/catalyst -f s.spec\n");
        // Another program writes nothing and succeeds.
        std::fs::remove_file(&tarball).unwrap();
        let other = tool(dir.path(), "/usr/bin/other", &[]);
        fake.run_tool(&other, &Cancel::new(), &mut |_| {}).unwrap();
        assert!(!tarball.exists());
    }

    #[test]
    fn failing_tool_masks_secrets_in_log_lines_and_error() {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeBackend::new();
        fake.fail_tool("catalyst", "emerge failed: token hunter2-secret refused");
        let req = tool(dir.path(), "catalyst", &["-f", "s.spec"]);
        let mut lines = Vec::new();
        let err = fake
            .run_tool(&req, &Cancel::new(), &mut |l| lines.push(l.to_string()))
            .unwrap_err();
        assert!(matches!(err, BackendError::Failed { code: Some(1), .. }));
        let log = std::fs::read_to_string(&req.log).unwrap();
        for shown in [err.to_string(), log, lines.join("\n")] {
            assert!(
                shown.contains("emerge failed: token *** refused"),
                "{shown}"
            );
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[test]
    fn blocked_tool_returns_interrupted_once_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(FakeBackend::new());
        fake.block_tool("catalyst");
        let cancel = Cancel::new();
        let (f2, c2, r) = (
            fake.clone(),
            cancel.clone(),
            tool(dir.path(), "catalyst", &[]),
        );
        let t = thread::spawn(move || f2.run_tool(&r, &c2, &mut |_| {}));
        // The call is recorded before it blocks; only a cancel can end it.
        while fake.calls().is_empty() {
            thread::sleep(TICK);
        }
        cancel.cancel();
        assert!(matches!(t.join().unwrap(), Err(BackendError::Interrupted)));
    }

    #[test]
    fn timed_out_tool_reports_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeBackend::new();
        fake.time_out_tool("catalyst");
        let mut req = tool(dir.path(), "catalyst", &["-f", "s.spec"]);
        req.timeout = Some(Duration::from_secs(7200));
        match fake.run_tool(&req, &Cancel::new(), &mut |_| {}) {
            Err(BackendError::TimedOut { command, after }) => {
                assert_eq!(command, "catalyst -f s.spec");
                assert_eq!(after, Duration::from_secs(7200));
            }
            other => panic!("expected TimedOut, got {other:?}"),
        }
        let cancelled = Cancel::new();
        cancelled.cancel();
        assert!(matches!(
            fake.run_tool(&req, &cancelled, &mut |_| {}),
            Err(BackendError::Interrupted)
        ));
    }

    #[test]
    fn push_exists_pull_round_trip() {
        let fake = FakeBackend::new();
        let id = fake.add_image(&["localhost/a:1"], BTreeMap::new());
        let c = Cancel::new();
        assert!(!fake.remote_exists("r/a:1").unwrap());
        fake.push("localhost/a:1", "r/a:1", &c).unwrap();
        assert!(fake.remote_exists("r/a:1").unwrap());
        fake.clear_images();
        fake.pull("r/a:1", &["localhost/a:1".to_string()], &c)
            .unwrap();
        assert_eq!(fake.image("localhost/a:1").unwrap().id, id);
        assert!(fake.pull("r/none:1", &[], &c).is_err());
    }

    #[test]
    fn external_digests_resolve_and_pull_by_digest() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("pull.log");
        let fake = FakeBackend::new();
        fake.set_remote_digest("alpine:3.20", None, "sha256:a");
        fake.set_remote_digest("alpine:3.20", Some("linux/arm64"), "sha256:b");
        assert_eq!(
            fake.remote_digest("alpine:3.20", Some("linux/amd64"))
                .unwrap(),
            Some("sha256:a".into())
        );
        assert_eq!(
            fake.remote_digest("alpine:3.20", Some("linux/arm64"))
                .unwrap(),
            Some("sha256:b".into())
        );
        assert_eq!(fake.remote_digest("nope:1", None).unwrap(), None);
        assert_eq!(fake.local_digest("alpine:3.20@sha256:a").unwrap(), None);
        fake.pull_base("alpine:3.20@sha256:a", &log, &Cancel::new())
            .unwrap();
        assert_eq!(
            fake.local_digest("alpine:3.20@sha256:a").unwrap(),
            Some("sha256:a".into())
        );
        assert!(
            fake.inspect("other@sha256:a").unwrap().is_some(),
            "by digest"
        );
        assert!(fake
            .pull_base("alpine:3.20@sha256:zzz", &log, &Cancel::new())
            .is_err());
        fake.add_base(&["localhost/mini:r1"], "sha256:m");
        assert_eq!(
            fake.local_digest("localhost/mini:r1").unwrap(),
            Some("sha256:m".into())
        );
    }

    #[test]
    fn down_remote_is_unreachable() {
        let fake = FakeBackend::new();
        fake.set_remote_down(true);
        assert!(matches!(
            fake.remote_exists("r/a:1"),
            Err(BackendError::Unreachable(_))
        ));
    }

    #[test]
    fn inspect_finds_by_id_or_name_and_records_the_call() {
        let fake = FakeBackend::new();
        let labels = BTreeMap::from([("k".to_string(), "v".to_string())]);
        let id = fake.add_image(&["x:1", "x:2"], labels.clone());
        let expected = LocalImage {
            id: id.clone(),
            names: vec!["x:1".into(), "x:2".into()],
            labels,
        };
        assert_eq!(fake.inspect("x:2").unwrap(), Some(expected.clone()));
        assert_eq!(fake.inspect(&id).unwrap(), Some(expected));
        assert_eq!(fake.inspect("y:1").unwrap(), None);
        assert_eq!(
            fake.calls(),
            ["x:2", id.as_str(), "y:1"].map(|r| Call::Inspect {
                reference: r.to_string()
            })
        );
    }

    #[test]
    fn tag_moves_names() {
        let fake = FakeBackend::new();
        let a = fake.add_image(&["x:1"], BTreeMap::new());
        let b = fake.add_image(&["y:1"], BTreeMap::new());
        fake.tag(&b, &["x:1".to_string()]).unwrap();
        assert_eq!(fake.image("x:1").unwrap().id, b);
        assert!(fake.image(&a).unwrap().names.is_empty());
        assert!(fake.tag("nope", &[]).is_err());
    }

    #[test]
    fn run_and_import_honour_cancel_and_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.log");
        let fake = FakeBackend::new();
        fake.add_image(&["img"], BTreeMap::new());
        fake.set_run_outcome("img", RunOutcome::Exited(3));
        let argv = vec!["true".to_string()];
        let t = Duration::from_secs(1);
        assert_eq!(
            fake.run("img", &argv, t, &log, &Cancel::new()).unwrap(),
            RunOutcome::Exited(3)
        );
        let cancelled = Cancel::new();
        cancelled.cancel();
        assert!(matches!(
            fake.run("img", &argv, t, &log, &cancelled),
            Err(BackendError::Interrupted)
        ));
        let id = fake
            .import_tarball(
                Path::new("x.tar"),
                &BTreeMap::new(),
                &["stage:1".to_string()],
                &log,
                &Cancel::new(),
            )
            .unwrap();
        assert_eq!(fake.image("stage:1").unwrap().id, id);
    }
}
