//! The narrow interface between reagent and the container world.
//!
//! Every external process reagent runs goes through [`Backend`]: what it asks
//! of buildah, skopeo and a registry, the label-test commands it runs in
//! containers, and the host programs (catalyst) it runs with
//! [`Backend::run_tool`]. The planner, the scheduler and the executor spawn
//! no process themselves. `crate::buildah::Buildah` is the real
//! implementation; `crate::fake::FakeBackend` is the recording double their
//! tests use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Label holding a node's full key on every image reagent builds.
pub const LABEL_KEY: &str = "org.reagent.key";
/// Label holding the digest of the node's input manifest.
pub const LABEL_MANIFEST: &str = "org.reagent.manifest";
/// Label holding the node's name.
pub const LABEL_NODE: &str = "org.reagent.node";
/// Label holding the project an image was built for; prune and registry
/// clean-up only touch images of their own project.
pub const LABEL_PROJECT: &str = "org.reagent.project";

/// A cooperative stop signal shared by the run loop, workers and backends.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A fresh, unset signal.
    pub fn new() -> Self {
        Self::default()
    }
    /// Ask everything to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    /// The shared flag itself, for a signal handler to set (`signal_hook::flag::register`).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// The image format `buildah build` writes (`--format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImageFormat {
    /// OCI, buildah's default: `HEALTHCHECK`, `ONBUILD` and `SHELL` are dropped.
    #[default]
    Oci,
    /// Docker's format (`--format docker`), which keeps them.
    Docker,
}

/// What to build: one Containerfile in one context.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Node name (for messages and working-container names).
    pub name: String,
    /// The Containerfile to build (reagent may have rewritten references to
    /// sibling nodes into exact `localhost/<name>:<key16>` references).
    pub containerfile: PathBuf,
    /// The build context folder.
    pub context: PathBuf,
    /// `--build-arg`s. Values may be secret: never log them.
    pub args: BTreeMap<String, String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--platform`.
    pub platform: Option<String>,
    /// `--squash`.
    pub squash: bool,
    /// `--format docker` when [`ImageFormat::Docker`]; nothing (buildah's OCI default) otherwise.
    pub format: ImageFormat,
    /// `--label`s to set on the image.
    pub labels: BTreeMap<String, String>,
    /// Local tags to give the image (full references, e.g. `localhost/app:0123456789abcdef`).
    pub tags: Vec<String>,
    /// File to append the build's output to.
    pub log: PathBuf,
    /// `--secret id=ID,src=FILE`: files the Containerfile reads with
    /// `RUN --mount=type=secret,id=ID`. They never enter the image or its history.
    pub secrets: BTreeMap<String, PathBuf>,
    /// Host paths mounted into every `RUN` step (`--volume HOST:CONTAINER`); they never
    /// enter the image (its mount point may, empty).
    pub volumes: Vec<Volume>,
    /// Run every step again instead of reusing buildah's layer cache (`--no-cache`):
    /// for builds whose steps must run for what they record (see discovered inputs).
    pub no_cache: bool,
}

/// A host file or folder mounted into every `RUN` step of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// The host path.
    pub host: PathBuf,
    /// Where the steps see it.
    pub container: String,
}

/// A program run on the host (not in a container): catalyst, for one. argv only.
///
/// [`Backend::run_tool`] runs it in a process group of its own, with stdin
/// from `/dev/null`; its output is masked (see [`ToolRequest::secrets`]) and
/// appended to [`ToolRequest::log`] line by line as it comes.
#[derive(Debug, Clone)]
pub struct ToolRequest {
    /// The program (a path, or a name looked up on PATH).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Values masked in the log, in `on_line` and in errors.
    pub secrets: crate::redact::Secrets,
    /// File the output (stdout and stderr, interleaved) is appended to; its folder is created.
    pub log: PathBuf,
    /// Stop the whole process group after this long.
    pub timeout: Option<Duration>,
}

/// One blob of an [`OciArtifact`]: its bytes and their sha256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciBlob {
    /// The hex sha256 digest of `bytes` (without `sha256:`).
    pub digest: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// An OCI artifact held in memory, to be pushed as it is with
/// [`Backend::push_artifact`]: an image manifest and every blob it names.
/// The backend writes neither: the digests and media types are the
/// caller's, so the pushed manifest is exactly these bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciArtifact {
    /// The manifest (`application/vnd.oci.image.manifest.v1+json`).
    pub manifest: OciBlob,
    /// The config and layer blobs the manifest names.
    pub blobs: Vec<OciBlob>,
}

/// An image in local storage, as one listing reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// Image id.
    pub id: String,
    /// Its names (full references).
    pub names: Vec<String>,
    /// Its OCI labels.
    pub labels: BTreeMap<String, String>,
}

/// An image in a registry, as one inspection of its tag reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteImage {
    /// The digest of the manifest the tag names (`sha256:<hex>`).
    pub digest: String,
    /// When the image was made, as its config says (RFC 3339), if it says.
    pub created: Option<String>,
    /// Its OCI labels.
    pub labels: BTreeMap<String, String>,
}

/// An image in local storage as the cheap listing reports it: id and names,
/// no labels (see [`Backend::image_names`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedImage {
    /// Image id.
    pub id: String,
    /// Its names (full references).
    pub names: Vec<String>,
}

/// Progress inside one build, parsed from buildah's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildProgress {
    /// `STEP n/m: ...`
    Step {
        /// Current step (1-based).
        n: u32,
        /// Steps in the current stage.
        of: u32,
        /// The instruction text.
        text: String,
    },
    /// A line of output (for `-v`).
    Line(String),
}

/// How a command run in a container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Exited with this code.
    Exited(i32),
    /// Killed after the timeout.
    TimedOut,
}

/// What reagent asks of a registry, as named in [`BackendError::RegistryTimeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryOp {
    /// Reading a manifest or its config (`skopeo inspect`).
    Lookup,
    /// Uploading an image (`buildah push`).
    Push,
    /// Uploading an OCI artifact (`skopeo copy`).
    Upload,
    /// Downloading an image (`buildah pull`).
    Pull,
}

impl std::fmt::Display for RegistryOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegistryOp::Lookup => "lookup",
            RegistryOp::Push => "push",
            RegistryOp::Upload => "upload",
            RegistryOp::Pull => "pull",
        })
    }
}

/// Errors from the container world. Messages never contain build-arg values or credentials.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A tool could not be started at all.
    #[error("cannot run `{tool}`: {source}")]
    Spawn {
        /// The binary.
        tool: String,
        /// Why.
        source: std::io::Error,
    },
    /// A tool ran and failed: it exited with a non-zero code, or it ended
    /// without one (`code: None`).
    #[error("`{command}` {}", ended(*.code, .stderr))]
    Failed {
        /// The command without secret arguments, e.g. `buildah push localhost/app:..`.
        command: String,
        /// Its exit code; `None` when it ended without one.
        code: Option<i32>,
        /// The tail of its error output.
        stderr: String,
    },
    /// A tool was killed by a signal reagent did not send (the OOM killer, say).
    #[error("`{command}` was killed by signal {signal}{}", with_output(.stderr))]
    Killed {
        /// The command without secret arguments.
        command: String,
        /// The signal's number (9 for SIGKILL).
        signal: i32,
        /// The tail of its output.
        stderr: String,
    },
    /// A tool exited 0 but printed something reagent cannot read.
    #[error("`{command}` printed output reagent cannot read: {problem}")]
    BadOutput {
        /// The command without secret arguments.
        command: String,
        /// What is wrong with the output.
        problem: String,
    },
    /// A tool ran longer than it was allowed to; its whole process group was stopped.
    #[error("`{command}` was stopped after running for {}", seconds(*.after))]
    TimedOut {
        /// The command without secret arguments.
        command: String,
        /// The time limit it ran into.
        after: Duration,
    },
    /// The registry could not be reached in time.
    #[error("registry unreachable: {0}")]
    Unreachable(String),
    /// A registry accepted the connection but did not answer within
    /// `[registry] timeout`: a lookup took that long in all, or a push or
    /// pull moved no byte for that long. The command was stopped.
    #[error(
        "registry {registry} did not answer the {operation} of {reference} within {} ([registry] timeout); it was stopped",
        seconds(*.after)
    )]
    RegistryTimeout {
        /// What was asked of it.
        operation: RegistryOp,
        /// The registry's host (`registry.example.com:5000`).
        registry: String,
        /// The reference asked about.
        reference: String,
        /// The limit it ran into.
        after: Duration,
    },
    /// A stop was asked for while it ran; it was killed.
    #[error("interrupted")]
    Interrupted,
    /// A multi-platform image lists no image for the platform asked for.
    #[error("{reference} has no image for {platform} (it lists: {})", listed.join(", "))]
    NoPlatform {
        /// The reference.
        reference: String,
        /// The platform asked for (`linux/arm64`).
        platform: String,
        /// The platforms it does list.
        listed: Vec<String>,
    },
    /// A command's log could not be opened or written (a full disk, say);
    /// the command, if it ran, was stopped with its whole process group.
    #[error("cannot write the log {}: {source}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An I/O error of reagent's own: writing a log, reading an id file,
    /// waiting for a child process.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `exited with 3: <output>` or `ended without an exit code: <output>`.
fn ended(code: Option<i32>, output: &str) -> String {
    match code {
        Some(code) => format!("exited with {code}{}", with_output(output)),
        None => format!("ended without an exit code{}", with_output(output)),
    }
}

/// `: <output>`, or nothing when there is no output.
fn with_output(output: &str) -> String {
    if output.trim().is_empty() {
        String::new()
    } else {
        format!(": {output}")
    }
}

/// A time limit as people write it: `30 s`, `1.5 s`, `200 ms`.
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        let text = format!("{:.3}", d.as_secs_f64());
        format!("{} s", text.trim_end_matches('0'))
    }
}

/// What reagent asks of buildah, skopeo and the registry, and how it runs
/// host programs.
pub trait Backend: Send + Sync {
    /// Build an image; returns its id. Output goes to `req.log`; progress to `progress`.
    /// Must return [`BackendError::Interrupted`] promptly once `cancel` is set,
    /// leaving no working container behind.
    fn build(
        &self,
        req: &BuildRequest,
        cancel: &Cancel,
        progress: &mut dyn FnMut(BuildProgress),
    ) -> Result<String, BackendError>;
    /// Add tags (full references) to an existing local image.
    fn tag(&self, image: &str, tags: &[String]) -> Result<(), BackendError>;
    /// Every local image with its names and labels, in one listing.
    fn images(&self) -> Result<Vec<LocalImage>, BackendError>;
    /// Every local image with its names but not its labels: what a plan decides
    /// from, since reagent's key tag names the key. Cheaper than
    /// [`Backend::images`] when labels cost a read per image; by default it is
    /// that listing without the labels.
    fn image_names(&self) -> Result<Vec<NamedImage>, BackendError> {
        Ok(self
            .images()?
            .into_iter()
            .map(|i| NamedImage {
                id: i.id,
                names: i.names,
            })
            .collect())
    }
    /// The labels of the local image with id `id`; `Ok(None)` when local
    /// storage has no such image. By default, [`Backend::inspect`]'s.
    fn local_labels(&self, id: &str) -> Result<Option<BTreeMap<String, String>>, BackendError> {
        Ok(self.inspect(id)?.map(|i| i.labels))
    }
    /// One local image, by id or name, with its names and labels; `Ok(None)`
    /// when local storage has no such image. Any other failure (a malformed
    /// reference, a broken store) is an error.
    fn inspect(&self, reference: &str) -> Result<Option<LocalImage>, BackendError>;
    /// Run `argv` in a fresh container from `image`, removing the container afterwards
    /// whatever happens. Output goes to `log`.
    fn run(
        &self,
        image: &str,
        argv: &[String],
        timeout: Duration,
        log: &Path,
        cancel: &Cancel,
    ) -> Result<RunOutcome, BackendError>;
    /// Push local image `local` to `remote` (a full registry reference).
    fn push(&self, local: &str, remote: &str, cancel: &Cancel) -> Result<(), BackendError>;
    /// [`Backend::push`], returning the digest of the manifest the registry
    /// now holds under `remote` (`sha256:<hex>`).
    fn push_with_digest(
        &self,
        local: &str,
        remote: &str,
        cancel: &Cancel,
    ) -> Result<String, BackendError>;
    /// Push an artifact that is not an image of local storage (an SBOM, say)
    /// to `remote` byte for byte: the manifest keeps its digest.
    fn push_artifact(
        &self,
        artifact: &OciArtifact,
        remote: &str,
        cancel: &Cancel,
    ) -> Result<(), BackendError>;
    /// Whether `remote` (a full registry reference) exists; a down registry is an error, not `false`.
    fn remote_exists(&self, remote: &str) -> Result<bool, BackendError>;
    /// The labels of the image `remote` names in its registry, `None` when there is
    /// no such image; a down registry is an error.
    fn remote_labels(&self, remote: &str)
        -> Result<Option<BTreeMap<String, String>>, BackendError>;
    /// Every tag of `repository` (`registry.example.com/acme/app`, no tag), in the
    /// registry's order; empty when the registry has no such repository. A registry
    /// that cannot be reached, or refuses, is an error.
    fn remote_tags(&self, repository: &str) -> Result<Vec<String>, BackendError>;
    /// The manifest digest, creation time and labels of the image `remote` (a full
    /// reference with a tag) names; `Ok(None)` when there is no such image.
    fn remote_image(&self, remote: &str) -> Result<Option<RemoteImage>, BackendError>;
    /// Delete from its registry the manifest `remote` (`name@sha256:…`) names,
    /// through the registry API. Every tag naming that manifest goes with it; the
    /// blobs stay until the registry's own garbage collection.
    fn remote_delete(&self, remote: &str) -> Result<(), BackendError>;
    /// Push to `remote` an empty image (no layers) that carries `labels`: a small
    /// record next to the images it describes.
    fn publish_labels(
        &self,
        remote: &str,
        labels: &BTreeMap<String, String>,
        cancel: &Cancel,
    ) -> Result<(), BackendError>;
    /// Pull `remote` into local storage, also tagging it `local_tags`.
    fn pull(
        &self,
        remote: &str,
        local_tags: &[String],
        cancel: &Cancel,
    ) -> Result<(), BackendError>;
    /// The manifest digest (`sha256:…`) a registry holds for the external image
    /// `reference` (`alpine:3.20`, `registry.example.com/gentoo/stage3:latest`): with
    /// `platform` (`linux/arm64`) and a multi-platform reference, the digest of that
    /// platform's manifest; otherwise the digest of the manifest (or manifest list)
    /// the reference names. One registry request; `Ok(None)` when the registry has
    /// no such image. A registry that cannot be reached, or refuses, is an error.
    fn remote_digest(
        &self,
        reference: &str,
        platform: Option<&str>,
    ) -> Result<Option<String>, BackendError>;
    /// The manifest digest local storage has for the image `reference` names (a
    /// name, or `name@digest`); `Ok(None)` when it has no such image.
    fn local_digest(&self, reference: &str) -> Result<Option<String>, BackendError>;
    /// Pull the external image `reference` (`name@sha256:…`, so exactly that content)
    /// into local storage, appending the tool's output to `log`.
    fn pull_base(&self, reference: &str, log: &Path, cancel: &Cancel) -> Result<(), BackendError>;
    /// Import a root filesystem tarball, or a folder's contents, as an image with labels
    /// and tags (stages, the binary package cache).
    fn import_tarball(
        &self,
        tarball: &Path,
        labels: &BTreeMap<String, String>,
        tags: &[String],
        log: &Path,
        cancel: &Cancel,
    ) -> Result<String, BackendError>;
    /// When local image `reference` was made, as its config's `created` says
    /// (RFC 3339); `Ok(None)` when local storage has no such image or its
    /// config gives no time.
    fn image_created(&self, reference: &str) -> Result<Option<String>, BackendError>;
    /// Mount `image`'s root filesystem (through a temporary working container),
    /// call `visit` with its path, then unmount and remove the container whatever
    /// happens. Nothing runs inside the image.
    fn with_rootfs(&self, image: &str, visit: &mut dyn FnMut(&Path)) -> Result<(), BackendError>;
    /// Remove these local names (full references); an image left with no name
    /// is deleted, unless a container uses it.
    fn remove_image(&self, names: &[String]) -> Result<(), BackendError>;
    /// Remove the working containers that the run `run` made
    /// ([`crate::run`]) and answer how many there were: the leftovers of a run
    /// whose process is gone. Containers of any other run, or made by hand,
    /// stay. A backend that keeps no working containers has none to remove.
    fn remove_run_containers(&self, run: crate::RunId) -> Result<usize, BackendError> {
        let _ = run;
        Ok(0)
    }
    /// Run a program on the host, through the same process runner as every
    /// buildah and skopeo call: first a `$ <command>` line (secrets masked) is
    /// appended to `req.log`, then every output line, masked, goes to the log
    /// and to `on_line`.
    ///
    /// Exit 0 is `Ok`; any other exit is [`BackendError::Failed`] (a signal
    /// reagent did not send: [`BackendError::Killed`]). When `cancel` is set or
    /// `req.timeout` passes, the program's whole process group gets SIGTERM,
    /// then SIGKILL after a grace period, and the call returns
    /// [`BackendError::Interrupted`] or [`BackendError::TimedOut`] once no
    /// process of the group is left running. A process that moved itself to
    /// another group or session (a daemon) is out of reach.
    fn run_tool(
        &self,
        req: &ToolRequest,
        cancel: &Cancel,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<(), BackendError>;
    /// The version of the builder (`buildah version`), asked once per backend:
    /// what a Containerfile's constructs are checked against before a build.
    fn builder_version(&self) -> Result<crate::Version, BackendError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: Option<i32>, stderr: &str) -> String {
        BackendError::Failed {
            command: "buildah push localhost/app:1 docker://r/app:1".into(),
            code,
            stderr: stderr.into(),
        }
        .to_string()
    }

    #[test]
    fn failures_read_like_sentences() {
        assert_eq!(
            failed(Some(125), "Error: unauthorized"),
            "`buildah push localhost/app:1 docker://r/app:1` exited with 125: Error: unauthorized"
        );
        assert_eq!(
            failed(None, "no filesystem"),
            "`buildah push localhost/app:1 docker://r/app:1` ended without an exit code: no filesystem"
        );
        assert_eq!(
            failed(Some(1), "  \n"),
            "`buildah push localhost/app:1 docker://r/app:1` exited with 1"
        );
        let killed = BackendError::Killed {
            command: "catalyst -f s.spec".into(),
            signal: 9,
            stderr: "building".into(),
        };
        assert_eq!(
            killed.to_string(),
            "`catalyst -f s.spec` was killed by signal 9: building"
        );
        let timed_out = |after| {
            BackendError::TimedOut {
                command: "catalyst -f s.spec".into(),
                after,
            }
            .to_string()
        };
        assert_eq!(
            timed_out(Duration::from_secs(30)),
            "`catalyst -f s.spec` was stopped after running for 30 s"
        );
        assert!(timed_out(Duration::from_millis(1500)).ends_with("for 1.5 s"));
        assert!(timed_out(Duration::from_millis(200)).ends_with("for 200 ms"));
    }

    #[test]
    fn io_errors_pass_through() {
        let e = BackendError::from(std::io::Error::other("disk full"));
        assert_eq!(e.to_string(), "disk full");
        // Transparent: the io error is the message, not also a `source()` to print again.
        assert!(std::error::Error::source(&e).is_none());
    }
}
