//! The real [`Backend`]: the `buildah` and `skopeo` binaries, run with argv
//! lists (never a shell string), and host programs for
//! [`Backend::run_tool`], all through the crate's one process runner.
//!
//! Every buildah subcommand gets the same global storage flags (`--root`,
//! `--runroot`, `--storage-driver`, then [`BuildahSettings::extra_args`]), so
//! one [`Buildah`] always works on one store. Credentials are never passed on
//! the command line: buildah and skopeo read their own `auth.json` and
//! `registries.conf`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::backend::{
    Backend, BackendError, BuildProgress, BuildRequest, Cancel, ImageFormat, LocalImage,
    NamedImage, OciArtifact, RegistryOp, RemoteImage, RunOutcome, ToolRequest,
};
use crate::process::{tail, Captured, Cmd, Stop};
use crate::run::{self, RunId};
use crate::storage;

/// Whether `FROM` images missing from local storage may be pulled during a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BasePull {
    /// `--pull=never`: only images already in local storage (reagent's default:
    /// `FROM localhost/x:tag` must never touch the network).
    #[default]
    Never,
    /// `--pull=false`: pull a base only when it is not in local storage.
    IfMissing,
}

/// How to run buildah and skopeo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildahSettings {
    /// The buildah binary (default `buildah`, found on `PATH`).
    pub binary: PathBuf,
    /// The skopeo binary (default `skopeo`).
    pub skopeo: PathBuf,
    /// `--isolation` for builds and runs (e.g. `chroot`); `None` keeps buildah's default.
    pub isolation: Option<String>,
    /// Global `--storage-driver` (e.g. `vfs`, `overlay`).
    pub storage_driver: Option<String>,
    /// Global `--root`: the storage graph root.
    pub root: Option<PathBuf>,
    /// Global `--runroot`.
    pub runroot: Option<PathBuf>,
    /// More global flags, placed after the storage flags before every subcommand.
    pub extra_args: Vec<String>,
    /// `--tls-verify` for registry access.
    pub tls_verify: bool,
    /// `[registry] timeout`: how long a registry lookup may take in all, and
    /// how long a push or pull may go without moving a byte, before it is
    /// stopped with [`BackendError::RegistryTimeout`].
    pub registry_timeout: Duration,
    /// Pull policy for `FROM` images during builds.
    pub base_pull: BasePull,
}

impl Default for BuildahSettings {
    fn default() -> Self {
        Self {
            binary: PathBuf::from("buildah"),
            skopeo: PathBuf::from("skopeo"),
            isolation: None,
            storage_driver: None,
            root: None,
            runroot: None,
            extra_args: Vec::new(),
            tls_verify: true,
            registry_timeout: Duration::from_secs(60),
            base_pull: BasePull::Never,
        }
    }
}

impl BuildahSettings {
    /// The global flags that go before every buildah subcommand.
    pub fn global_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(root) = &self.root {
            v.push("--root".to_string());
            v.push(root.display().to_string());
        }
        if let Some(runroot) = &self.runroot {
            v.push("--runroot".to_string());
            v.push(runroot.display().to_string());
        }
        if let Some(driver) = &self.storage_driver {
            v.push("--storage-driver".to_string());
            v.push(driver.clone());
        }
        v.extend(self.extra_args.iter().cloned());
        v
    }
}

/// [`Backend`] over the buildah and skopeo binaries.
#[derive(Debug)]
pub struct Buildah {
    settings: BuildahSettings,
    /// Graph root and driver of the store, learned once from `buildah info`
    /// when the settings do not say.
    store: OnceLock<Option<(PathBuf, String)>>,
    /// Stops registry lookups, which take no [`Cancel`] of their own (see
    /// [`Buildah::with_cancel`]).
    cancel: Cancel,
    /// `buildah version`, asked once.
    version: OnceLock<crate::Version>,
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A container name no other reagent process or call uses, carrying this
/// run's id ([`crate::run`]).
fn unique_name(kind: &str) -> String {
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("reagent-{kind}-{}-{n}-{nanos:x}", RunId::current())
}

/// Strip a `sha256:` prefix: ids are bare hex everywhere in this crate.
fn bare_id(id: &str) -> String {
    id.trim().trim_start_matches("sha256:").to_string()
}

/// A registry reference as a transport reference (`docker://` unless one is given).
fn docker_ref(reference: &str) -> String {
    if reference.contains("://") {
        reference.to_string()
    } else {
        format!("docker://{reference}")
    }
}

/// `name:tag@digest` → `name@digest`: the docker transport refuses a reference
/// with both (local storage and `FROM` take either). Anything else is kept.
fn untagged(reference: &str) -> String {
    let Some((name, digest)) = reference.split_once('@') else {
        return reference.to_string();
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => format!("{}@{digest}", &name[..slash + i]),
        None => reference.to_string(),
    }
}

/// Parse `STEP n/m: text`.
pub fn parse_step(line: &str) -> Option<BuildProgress> {
    let rest = line.strip_prefix("STEP ")?;
    let (nums, text) = rest.split_once(": ").or_else(|| {
        // `STEP 1/4:` with nothing after it.
        rest.strip_suffix(':').map(|n| (n, ""))
    })?;
    let (n, of) = nums.split_once('/')?;
    Some(BuildProgress::Step {
        n: n.parse().ok()?,
        of: of.parse().ok()?,
        text: text.to_string(),
    })
}

/// What a registry error message says about the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegistryAnswer {
    NotFound,
    Unreachable,
    Other,
}

fn classify_registry_error(text: &str) -> RegistryAnswer {
    const NOT_FOUND: &[&str] = &["manifest unknown", "name unknown", "404 not found"];
    const UNREACHABLE: &[&str] = &[
        "connection refused",
        "no such host",
        "i/o timeout",
        "context deadline exceeded",
        "network is unreachable",
        "no route to host",
        "connection reset",
        "tls handshake timeout",
        "timed out",
    ];
    let t = text.to_ascii_lowercase();
    if NOT_FOUND.iter().any(|p| t.contains(p)) {
        RegistryAnswer::NotFound
    } else if UNREACHABLE.iter().any(|p| t.contains(p)) {
        RegistryAnswer::Unreachable
    } else {
        RegistryAnswer::Other
    }
}

/// Turn a failed registry command's error into `Unreachable` when it says so.
fn registry_error(err: BackendError) -> BackendError {
    match err {
        BackendError::Failed { ref stderr, .. }
            if classify_registry_error(stderr) == RegistryAnswer::Unreachable =>
        {
            BackendError::Unreachable(stderr.clone())
        }
        other => other,
    }
}

/// The registry's host in a registry reference (`docker://` or not): what
/// comes before its first `/`.
fn registry_of(reference: &str) -> &str {
    let bare = reference.split_once("://").map_or(reference, |(_, r)| r);
    bare.split_once('/').map_or(bare, |(host, _)| host)
}

/// Whether a registry tool's error output says its own time limit ran out
/// (skopeo's `--command-timeout`).
fn own_deadline_passed(stderr: &str) -> bool {
    stderr
        .to_ascii_lowercase()
        .contains("context deadline exceeded")
}

/// Whether buildah failed because the image it was asked about is not in
/// local storage (`Error: ...: image not known`), as opposed to any other failure.
fn not_known(err: &BackendError) -> bool {
    matches!(err, BackendError::Failed { stderr, .. } if stderr.contains("image not known"))
}

/// The digest a manifest as served (`raw`, a single image's manifest or a
/// multi-platform list) names for `platform`: its own sha256, or for a list and a
/// platform, the listed manifest's digest. `Err` with the platforms a list does name
/// when none matches.
pub fn digest_for(raw: &str, platform: Option<&str>) -> Result<String, Vec<String>> {
    use sha2::Digest;
    #[derive(serde::Deserialize)]
    struct List {
        manifests: Option<Vec<Listed>>,
    }
    #[derive(serde::Deserialize)]
    struct Listed {
        digest: String,
        platform: Option<Platform>,
    }
    #[derive(serde::Deserialize)]
    struct Platform {
        os: String,
        architecture: String,
        variant: Option<String>,
    }
    let own = format!("sha256:{:x}", sha2::Sha256::digest(raw.as_bytes()));
    let Some(platform) = platform else {
        return Ok(own);
    };
    // A single image's manifest has no `manifests`: it is what any platform gets.
    let Some(listed) = serde_json::from_str::<List>(raw)
        .ok()
        .and_then(|l| l.manifests)
    else {
        return Ok(own);
    };
    let mut want = platform.split('/');
    let (os, arch, variant) = (want.next(), want.next(), want.next());
    let found = listed.iter().find(|m| {
        m.platform.as_ref().is_some_and(|p| {
            Some(p.os.as_str()) == os
                && Some(p.architecture.as_str()) == arch
                && (variant.is_none() || variant == p.variant.as_deref())
        })
    });
    match found {
        Some(m) => Ok(m.digest.clone()),
        None => Err(listed
            .iter()
            .filter_map(|m| m.platform.as_ref())
            .map(|p| match &p.variant {
                Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                None => format!("{}/{}", p.os, p.architecture),
            })
            .collect()),
    }
}

#[derive(serde::Deserialize)]
struct ListedImage {
    id: String,
    #[serde(default)]
    names: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct ListedContainer {
    id: String,
}

impl Buildah {
    /// A backend with these settings.
    pub fn new(settings: BuildahSettings) -> Self {
        Self {
            settings,
            store: OnceLock::new(),
            cancel: Cancel::new(),
            version: OnceLock::new(),
        }
    }

    /// Registry lookups (planning, locking) stop with
    /// [`BackendError::Interrupted`] once `cancel` is set, as builds, pushes
    /// and pulls do with the `Cancel` they are given.
    #[must_use]
    pub fn with_cancel(mut self, cancel: &Cancel) -> Self {
        self.cancel = cancel.clone();
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &BuildahSettings {
        &self.settings
    }

    fn buildah(&self) -> Cmd {
        let mut c = Cmd::new(&self.settings.binary);
        c.args(self.settings.global_args());
        c
    }

    fn skopeo(&self) -> Cmd {
        Cmd::new(&self.settings.skopeo)
    }

    fn tls(&self) -> String {
        format!("--tls-verify={}", self.settings.tls_verify)
    }

    /// The error for a registry `operation` on `reference` that ran into
    /// [`BuildahSettings::registry_timeout`].
    fn registry_timeout(&self, operation: RegistryOp, reference: &str) -> BackendError {
        BackendError::RegistryTimeout {
            operation,
            registry: registry_of(reference).to_string(),
            reference: reference
                .split_once("://")
                .map_or(reference, |(_, r)| r)
                .to_string(),
            after: self.settings.registry_timeout,
        }
    }

    /// `skopeo --command-timeout N ARGS… docker://REFERENCE`: a lookup with
    /// its own deadline.
    fn skopeo_query(&self, args: &[&str], reference: &str) -> Cmd {
        let secs = self.settings.registry_timeout.as_secs().max(1);
        let mut c = self.skopeo();
        c.arg("--command-timeout")
            .arg(format!("{secs}s"))
            .args(args.iter().copied())
            .arg("--retry-times")
            .arg("0")
            .arg(self.tls())
            .arg(docker_ref(reference));
        c
    }

    /// Run a registry lookup on `reference` to its end, or stop it at the
    /// deadline: skopeo's own should fire first; ours, two seconds later, is
    /// the backstop. Either way it is [`BackendError::RegistryTimeout`].
    fn query(&self, c: &Cmd, reference: &str) -> Result<Captured, BackendError> {
        let hard = self.settings.registry_timeout + Duration::from_secs(2);
        match c.output_within(hard, &self.cancel)? {
            Some(out) if out.code != Some(0) && own_deadline_passed(&out.stderr) => {
                Err(self.registry_timeout(RegistryOp::Lookup, reference))
            }
            Some(out) => Ok(out),
            None => Err(self.registry_timeout(RegistryOp::Lookup, reference)),
        }
    }

    /// A registry lookup (`skopeo <args> … <reference>`, under the deadline of
    /// [`Buildah::query`]): its stdout; `None` when the registry says it has no
    /// such thing; an error when it cannot be asked or fails otherwise.
    fn lookup(&self, args: &[&str], reference: &str) -> Result<Option<String>, BackendError> {
        let c = self.skopeo_query(args, reference);
        let out = self.query(&c, reference)?;
        if out.code == Some(0) {
            return Ok(Some(out.stdout));
        }
        // A registry that never held a repository answers with a bare 404.
        if out.stderr.contains("404 (Not Found)") {
            return Ok(None);
        }
        match classify_registry_error(&out.stderr) {
            RegistryAnswer::NotFound => Ok(None),
            RegistryAnswer::Unreachable => Err(BackendError::Unreachable(tail(&out.stderr))),
            RegistryAnswer::Other => Err(c.failed(out.code, out.signal, &out.stderr)),
        }
    }

    /// [`Buildah::lookup`], its JSON answer read as `T`.
    fn lookup_json<T: serde::de::DeserializeOwned>(
        &self,
        args: &[&str],
        reference: &str,
    ) -> Result<Option<T>, BackendError> {
        let Some(stdout) = self.lookup(args, reference)? else {
            return Ok(None);
        };
        serde_json::from_str(&stdout)
            .map(Some)
            .map_err(|e| self.skopeo_query(args, reference).bad_output(e))
    }

    /// Run a push, upload or pull of `reference`, stopped as
    /// [`BackendError::RegistryTimeout`] once it moves no byte for
    /// [`BuildahSettings::registry_timeout`], and as
    /// [`BackendError::Interrupted`] on `cancel`.
    fn transfer(
        &self,
        c: &mut Cmd,
        operation: RegistryOp,
        reference: &str,
        log: Option<&Path>,
        cancel: &Cancel,
    ) -> Result<(), BackendError> {
        c.stall_limit(self.settings.registry_timeout);
        let ended = c.stream(log, Some(cancel), None, &mut |_| {})?;
        if matches!(ended.stop, Some(Stop::Stalled(_))) {
            return Err(self.registry_timeout(operation, reference));
        }
        ended.into_result(c).map_err(registry_error)
    }

    /// A working container from local `image` (never pulled) under a unique
    /// name saying what it is for; the caller removes it.
    fn new_container(&self, purpose: &str, image: &str) -> Result<String, BackendError> {
        let name = unique_name(purpose);
        let mut from = self.buildah();
        from.args(["from", "--quiet", "--pull=never", "--name", &name, image]);
        from.checked()?;
        Ok(name)
    }

    /// Ids of all working containers in the store: read from the store's
    /// `containers.json` when reagent knows where and how it is laid out (no
    /// process), else from `buildah containers --json`.
    ///
    /// buildah lists containers and then reads each one; a container that another
    /// build removes in between makes the listing fail with "container not known".
    /// That is a race, not a fault: the listing is taken again (a few times).
    pub fn containers(&self) -> Result<Vec<String>, BackendError> {
        if !self.raw_storage_opts() {
            if let Some(ids) = self
                .store_location()
                .and_then(|(root, driver)| storage::list_containers(root, driver))
            {
                return Ok(ids);
            }
        }
        let mut c = self.buildah();
        c.args(["containers", "--json"]);
        let mut attempts = 0;
        let out = loop {
            attempts += 1;
            match c.checked() {
                Err(BackendError::Failed { ref stderr, .. })
                    if attempts < 5 && stderr.contains("not known") =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other?,
            }
        };
        let list: Option<Vec<ListedContainer>> =
            serde_json::from_str(out.trim()).map_err(|e| c.bad_output(e))?;
        Ok(list.unwrap_or_default().into_iter().map(|c| c.id).collect())
    }

    /// Ids of the store's working containers that `run` made ([`crate::run`]),
    /// read from the store's files; `None` when reagent does not know where the
    /// store is or how it is laid out.
    fn containers_of_run(&self, run: RunId) -> Option<Vec<String>> {
        let (root, driver) = self.store_location()?;
        let listed = storage::list_named_containers(root, driver)?;
        Some(
            listed
                .into_iter()
                .filter(|c| {
                    let names = c.names.as_deref().unwrap_or_default();
                    run::is_of_run(names, None, run)
                        || run::is_of_run(
                            &[],
                            storage::container_build_args(root, driver, &c.id).as_ref(),
                            run,
                        )
                })
                .map(|c| c.id)
                .collect(),
        )
    }

    fn remove_containers(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let mut c = self.buildah();
        c.arg("rm").args(ids.iter().cloned());
        // Best effort: a container that vanished meanwhile is fine.
        let _ = c.output();
    }

    fn remove_container(&self, name: &str) {
        self.remove_containers(&[name.to_string()]);
    }

    /// What decides where the store is when the settings do not say (see
    /// `store_fingerprint.rs`); `None` when they do (`root` and `storage_driver`
    /// both set), and nothing need be asked.
    pub fn store_fingerprint(&self) -> Option<String> {
        if self.settings.root.is_some() && self.settings.storage_driver.is_some() {
            return None;
        }
        Some(crate::store_fingerprint::fingerprint(
            &self.settings.binary,
            &self.settings.global_args(),
        ))
    }

    /// Take the store to be at graph root `root` with driver `driver`, as an
    /// earlier [`Buildah::store`] said under the same [`Buildah::store_fingerprint`],
    /// instead of asking `buildah info`. No effect once the store is known.
    pub fn known_store(&self, root: PathBuf, driver: String) {
        let _ = self.store.set(Some((root, driver)));
    }

    /// The store's graph root and driver: from the settings, from
    /// [`Buildah::known_store`], else asked of `buildah info` (once); `None` when
    /// buildah cannot say.
    pub fn store(&self) -> Option<(PathBuf, String)> {
        self.store_location().cloned()
    }

    /// Graph root and driver of the store.
    fn store_location(&self) -> Option<&(PathBuf, String)> {
        self.store
            .get_or_init(|| {
                if let (Some(root), Some(driver)) =
                    (&self.settings.root, &self.settings.storage_driver)
                {
                    return Some((root.clone(), driver.clone()));
                }
                let mut c = self.buildah();
                c.arg("info");
                let out = c.checked().ok()?;
                let v: serde_json::Value = serde_json::from_str(&out).ok()?;
                let store = v.get("store")?;
                let root = store.get("GraphRoot")?.as_str()?;
                let driver = store.get("GraphDriverName")?.as_str()?;
                Some((PathBuf::from(root), driver.to_string()))
            })
            .as_ref()
    }

    /// Whether storage options come as raw flags (`--storage-opt`).
    fn raw_storage_opts(&self) -> bool {
        self.settings
            .extra_args
            .iter()
            .any(|a| a.starts_with("--storage-opt"))
    }

    /// The store's image list read from disk ([`storage::list_images`]), when
    /// reagent knows where the store is and how it is laid out; `None` sends the
    /// caller to `buildah images`. Storage options given as raw flags
    /// (`--storage-opt`, e.g. additional read-only image stores) may add images
    /// the graph root does not list, so they also send it to buildah.
    fn stored_images(&self) -> Option<Vec<storage::StoredImage>> {
        if self.raw_storage_opts() {
            return None;
        }
        let (root, driver) = self.store_location()?;
        storage::list_images(root, driver)
    }

    /// The labels of one local image (by id or name), via `buildah inspect`.
    /// [`Backend::images`] uses this only for images whose config blob it
    /// cannot read straight from the store. An image that is not there is a
    /// [`BackendError::Failed`] error saying `image not known`.
    pub fn image_labels(&self, image: &str) -> Result<BTreeMap<String, String>, BackendError> {
        self.inspect_config(image).map(|(_, labels)| labels)
    }

    /// The id and labels of one local image, via `buildah inspect --type image`.
    fn inspect_config(
        &self,
        reference: &str,
    ) -> Result<(String, BTreeMap<String, String>), BackendError> {
        #[derive(serde::Deserialize)]
        struct Inspect {
            #[serde(rename = "FromImageID")]
            id: String,
            #[serde(rename = "OCIv1")]
            oci: serde_json::Value,
        }
        let mut c = self.buildah();
        c.args(["inspect", "--type", "image", "--", reference]);
        let out = c.checked()?;
        let parsed: Inspect = serde_json::from_str(&out).map_err(|e| c.bad_output(e))?;
        let config = serde_json::to_vec(&parsed.oci).map_err(|e| c.bad_output(e))?;
        let labels = storage::labels_from_config(&config)
            .ok_or_else(|| c.bad_output("no OCI image config in it"))?;
        Ok((bare_id(&parsed.id), labels))
    }

    /// The names of the local image with id `id`; `None` if there is none.
    fn names_of(&self, id: &str) -> Result<Option<Vec<String>>, BackendError> {
        let mut c = self.buildah();
        c.args(["images", "--json", "--no-trunc", "--", id]);
        let listed: Option<Vec<ListedImage>> =
            serde_json::from_str(c.checked()?.trim()).map_err(|e| c.bad_output(e))?;
        Ok(listed
            .unwrap_or_default()
            .into_iter()
            .find(|l| bare_id(&l.id) == id)
            .map(|l| l.names.unwrap_or_default()))
    }

    fn import_steps(
        &self,
        ctr: &str,
        tarball: &Path,
        labels: &BTreeMap<String, String>,
        tags: &[String],
        log: &Path,
        cancel: &Cancel,
    ) -> Result<String, BackendError> {
        let mut add = self.buildah();
        add.args(["add", ctr])
            .arg(tarball.display().to_string())
            .arg("/");
        add.stream(Some(log), Some(cancel), None, &mut |_| {})?
            .into_result(&add)?;
        if !labels.is_empty() {
            let mut config = self.buildah();
            config.arg("config");
            for (k, v) in labels {
                config.arg("--label").arg(format!("{k}={v}"));
            }
            config.arg(ctr);
            config
                .stream(Some(log), Some(cancel), None, &mut |_| {})?
                .into_result(&config)?;
        }
        let dir = tempfile::tempdir()?;
        let iid = dir.path().join("iid");
        let mut commit = self.buildah();
        commit
            .args(["commit", "--quiet", "--iidfile"])
            .arg(iid.display().to_string())
            .arg(ctr);
        if let Some(first) = tags.first() {
            commit.arg(first.clone());
        }
        commit
            .stream(Some(log), Some(cancel), None, &mut |_| {})?
            .into_result(&commit)?;
        let id = bare_id(&std::fs::read_to_string(&iid)?);
        if tags.len() > 1 {
            self.tag(&id, &tags[1..])?;
        }
        Ok(id)
    }
}

/// What `buildah version --json` says, of which reagent reads the version.
#[derive(serde::Deserialize)]
struct VersionReport {
    version: String,
}

impl Backend for Buildah {
    fn builder_version(&self) -> Result<crate::Version, BackendError> {
        if let Some(v) = self.version.get() {
            return Ok(*v);
        }
        let mut c = self.buildah();
        c.args(["version", "--json"]);
        let out = c.checked()?;
        let report: VersionReport =
            serde_json::from_str(out.trim()).map_err(|e| c.bad_output(e))?;
        let version = crate::Version::parse(&report.version)
            .ok_or_else(|| c.bad_output(format!("`{}` is not a version", report.version)))?;
        Ok(*self.version.get_or_init(|| version))
    }

    fn build(
        &self,
        req: &BuildRequest,
        cancel: &Cancel,
        progress: &mut dyn FnMut(BuildProgress),
    ) -> Result<String, BackendError> {
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let before: BTreeSet<String> = self.containers()?.into_iter().collect();
        let dir = tempfile::tempdir()?;
        let iid = dir.path().join("iid");
        let mut c = self.buildah();
        c.arg("build");
        if let Some(iso) = &self.settings.isolation {
            c.arg("--isolation").arg(iso.clone());
        }
        c.arg("-f").arg(req.containerfile.display().to_string());
        c.arg(match self.settings.base_pull {
            BasePull::Never => "--pull=never",
            BasePull::IfMissing => "--pull=false",
        });
        c.args(["--layers", "--force-rm", "--iidfile"])
            .arg(iid.display().to_string());
        // Marks this build's working containers as this run's (see `crate::run`).
        c.arg("--build-arg")
            .arg(format!("{}={}", run::RUN_ARG, RunId::current()));
        for (k, v) in &req.args {
            c.secret_pair("--build-arg", k, v);
        }
        for (k, v) in &req.labels {
            c.arg("--label").arg(format!("{k}={v}"));
        }
        for t in &req.tags {
            c.arg("--tag").arg(t.clone());
        }
        for (id, src) in &req.secrets {
            c.arg("--secret")
                .arg(format!("id={id},src={}", src.display()));
        }
        if let Some(t) = &req.target {
            c.arg("--target").arg(t.clone());
        }
        if let Some(p) = &req.platform {
            c.arg("--platform").arg(p.clone());
        }
        for v in &req.volumes {
            c.arg("--volume")
                .arg(format!("{}:{}", v.host.display(), v.container));
        }
        if req.no_cache {
            c.arg("--no-cache");
        }
        if req.squash {
            c.arg("--squash");
        }
        if req.format == ImageFormat::Docker {
            c.args(["--format", "docker"]);
        }
        c.arg(req.context.display().to_string());

        crate::process::append_line(&req.log, &format!("$ {}", c.display()))?;
        let ended = c.stream(Some(&req.log), Some(cancel), None, &mut |line| {
            if let Some(step) = parse_step(line) {
                progress(step);
            }
            progress(BuildProgress::Line(line.to_string()));
        })?;
        if ended.stop == Some(Stop::Cancelled) {
            // Working containers this build left: those that appeared while it
            // ran and carry this run's id. Builds of this run are cancelled
            // together (one Cancel per run); another process's builds in the same
            // store are not, and their containers are left alone.
            if let Some(mine) = self.containers_of_run(RunId::current()) {
                let leftovers: Vec<String> =
                    mine.into_iter().filter(|c| !before.contains(c)).collect();
                self.remove_containers(&leftovers);
            }
            return Err(BackendError::Interrupted);
        }
        ended.into_result(&c)?;
        Ok(bare_id(&std::fs::read_to_string(&iid)?))
    }

    fn tag(&self, image: &str, tags: &[String]) -> Result<(), BackendError> {
        if tags.is_empty() {
            return Ok(());
        }
        let mut c = self.buildah();
        c.args(["tag", image]).args(tags.iter().cloned());
        c.checked().map(drop)
    }

    fn images(&self) -> Result<Vec<LocalImage>, BackendError> {
        let store = self.store_location();
        let mut images = Vec::new();
        for listed in self.image_names()? {
            let from_store = store.and_then(|(root, driver)| {
                storage::read_labels(&storage::config_blob_path(root, driver, &listed.id))
            });
            let labels = match from_store {
                Some(labels) => labels,
                None => match self.image_labels(&listed.id) {
                    Ok(labels) => labels,
                    // Removed since the listing (another process): not an image any more.
                    Err(e) if not_known(&e) => continue,
                    Err(e) => return Err(e),
                },
            };
            images.push(LocalImage {
                id: listed.id,
                names: listed.names,
                labels,
            });
        }
        Ok(images)
    }

    fn image_names(&self) -> Result<Vec<NamedImage>, BackendError> {
        if let Some(stored) = self.stored_images() {
            return Ok(stored
                .into_iter()
                .map(|i| NamedImage {
                    id: i.id,
                    names: i.names.unwrap_or_default(),
                })
                .collect());
        }
        let mut c = self.buildah();
        c.args(["images", "--json", "--no-trunc"]);
        let out = c.checked()?;
        let listed: Option<Vec<ListedImage>> =
            serde_json::from_str(out.trim()).map_err(|e| c.bad_output(e))?;
        Ok(listed
            .unwrap_or_default()
            .into_iter()
            .map(|l| NamedImage {
                id: bare_id(&l.id),
                names: l.names.unwrap_or_default(),
            })
            .collect())
    }

    fn local_labels(&self, id: &str) -> Result<Option<BTreeMap<String, String>>, BackendError> {
        let id = bare_id(id);
        if let Some((root, driver)) = self.store_location() {
            if let Some(labels) =
                storage::read_labels(&storage::config_blob_path(root, driver, &id))
            {
                return Ok(Some(labels));
            }
        }
        match self.image_labels(&id) {
            Ok(labels) => Ok(Some(labels)),
            Err(e) if not_known(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn inspect(&self, reference: &str) -> Result<Option<LocalImage>, BackendError> {
        let (id, labels) = match self.inspect_config(reference) {
            Ok(found) => found,
            Err(e) if not_known(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        // Two calls, so the image may be removed in between.
        let names = match self.names_of(&id) {
            Ok(Some(names)) => names,
            Ok(None) => return Ok(None),
            Err(e) if not_known(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(LocalImage { id, names, labels }))
    }

    fn run(
        &self,
        image: &str,
        argv: &[String],
        timeout: Duration,
        log: &Path,
        cancel: &Cancel,
    ) -> Result<RunOutcome, BackendError> {
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let name = self.new_container("run", image)?;
        let mut run = self.buildah();
        run.arg("run");
        if let Some(iso) = &self.settings.isolation {
            run.arg("--isolation").arg(iso.clone());
        }
        run.arg(name.clone()).arg("--").args(argv.iter().cloned());
        let result = crate::process::append_line(log, &format!("$ {}", run.display()))
            .and_then(|()| run.stream(Some(log), Some(cancel), Some(timeout), &mut |_| {}));
        self.remove_container(&name);
        let ended = result?;
        match (ended.stop, ended.code) {
            (Some(Stop::Cancelled), _) => Err(BackendError::Interrupted),
            (Some(Stop::TimedOut(_) | Stop::Stalled(_)), _) => Ok(RunOutcome::TimedOut),
            // buildah relays the command's exit code as its own.
            (None, Some(code)) => Ok(RunOutcome::Exited(code)),
            // buildah itself was killed: that says nothing about the command.
            (None, None) => Err(run.failed(None, ended.signal, &ended.tail)),
        }
    }

    fn push(&self, local: &str, remote: &str, cancel: &Cancel) -> Result<(), BackendError> {
        self.push_with_digest(local, remote, cancel).map(drop)
    }

    fn push_with_digest(
        &self,
        local: &str,
        remote: &str,
        cancel: &Cancel,
    ) -> Result<String, BackendError> {
        let dir = tempfile::tempdir()?;
        let digest_file = dir.path().join("digest");
        let mut c = self.buildah();
        c.args(["push", "--quiet", &self.tls(), "--digestfile"])
            .arg(digest_file.display().to_string())
            .arg(local)
            .arg(docker_ref(remote));
        self.transfer(&mut c, RegistryOp::Push, remote, None, cancel)?;
        Ok(std::fs::read_to_string(&digest_file)?.trim().to_string())
    }

    /// Writes the artifact as an OCI image layout in a temporary folder and
    /// copies it with `skopeo copy oci:<folder> docker://<remote>`, which keeps
    /// the manifest's bytes.
    fn push_artifact(
        &self,
        artifact: &OciArtifact,
        remote: &str,
        cancel: &Cancel,
    ) -> Result<(), BackendError> {
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let dir = tempfile::tempdir()?;
        let layout = dir.path().join("layout");
        write_oci_layout(&layout, artifact)?;
        let source = format!("oci:{}", layout.display());
        if source.matches(':').count() > 1 {
            // `oci:PATH:REF`: skopeo would read the part after a colon in the path as a tag.
            return Err(BackendError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} contains a `:`, which skopeo's oci: transport cannot name; set TMPDIR to a path without one", layout.display()),
            )));
        }
        let mut c = self.skopeo();
        c.args([
            "copy",
            "--quiet",
            &format!("--dest-tls-verify={}", self.settings.tls_verify),
        ])
        .arg(source)
        .arg(docker_ref(remote));
        self.transfer(&mut c, RegistryOp::Upload, remote, None, cancel)
    }

    fn remote_exists(&self, remote: &str) -> Result<bool, BackendError> {
        Ok(self.lookup(&["inspect", "--raw"], remote)?.is_some())
    }

    fn remote_labels(
        &self,
        remote: &str,
    ) -> Result<Option<BTreeMap<String, String>>, BackendError> {
        #[derive(serde::Deserialize)]
        struct Inspected {
            #[serde(default, rename = "Labels")]
            labels: Option<BTreeMap<String, String>>,
        }
        let inspected: Option<Inspected> = self.lookup_json(&["inspect"], remote)?;
        Ok(inspected.map(|i| i.labels.unwrap_or_default()))
    }

    fn remote_tags(&self, repository: &str) -> Result<Vec<String>, BackendError> {
        #[derive(serde::Deserialize)]
        struct Listed {
            #[serde(default, rename = "Tags")]
            tags: Option<Vec<String>>,
        }
        let listed: Option<Listed> = self.lookup_json(&["list-tags"], repository)?;
        Ok(listed.and_then(|l| l.tags).unwrap_or_default())
    }

    fn remote_image(&self, remote: &str) -> Result<Option<RemoteImage>, BackendError> {
        #[derive(serde::Deserialize)]
        struct Inspected {
            #[serde(rename = "Digest")]
            digest: String,
            #[serde(default, rename = "Created")]
            created: Option<String>,
            #[serde(default, rename = "Labels")]
            labels: Option<BTreeMap<String, String>>,
        }
        let inspected: Option<Inspected> = self.lookup_json(&["inspect"], remote)?;
        Ok(inspected.map(|i| RemoteImage {
            digest: i.digest,
            created: i.created,
            labels: i.labels.unwrap_or_default(),
        }))
    }

    fn remote_delete(&self, remote: &str) -> Result<(), BackendError> {
        let c = self.skopeo_query(&["delete"], remote);
        let out = self.query(&c, remote)?;
        if out.code == Some(0) {
            Ok(())
        } else if classify_registry_error(&out.stderr) == RegistryAnswer::Unreachable {
            Err(BackendError::Unreachable(tail(&out.stderr)))
        } else {
            Err(c.failed(out.code, out.signal, &out.stderr))
        }
    }

    fn publish_labels(
        &self,
        remote: &str,
        labels: &BTreeMap<String, String>,
        cancel: &Cancel,
    ) -> Result<(), BackendError> {
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let ctr = self.new_container("labels", "scratch")?;
        let local = format!("localhost/{ctr}:labels");
        let result = (|| {
            let mut config = self.buildah();
            config.arg("config");
            for (k, v) in labels {
                config.arg("--label").arg(format!("{k}={v}"));
            }
            config.arg(ctr.clone());
            config.checked()?;
            let mut commit = self.buildah();
            commit.args(["commit", "--quiet", &ctr, &local]);
            commit.checked()?;
            self.push(&local, remote, cancel)
        })();
        self.remove_container(&ctr);
        let mut rmi = self.buildah();
        rmi.args(["rmi", &local]);
        // Best effort: the pushed image is what counts; a leftover local name is harmless.
        let _ = rmi.output();
        result
    }

    fn pull(
        &self,
        remote: &str,
        local_tags: &[String],
        cancel: &Cancel,
    ) -> Result<(), BackendError> {
        let mut c = self.buildah();
        c.args(["pull", "--quiet", "--policy", "always", &self.tls()])
            .arg(docker_ref(remote));
        self.transfer(&mut c, RegistryOp::Pull, remote, None, cancel)?;
        let name = remote.split_once("://").map_or(remote, |(_, r)| r);
        self.tag(name, local_tags)
    }

    fn remote_digest(
        &self,
        reference: &str,
        platform: Option<&str>,
    ) -> Result<Option<String>, BackendError> {
        let Some(raw) = self.lookup(&["inspect", "--raw"], reference)? else {
            return Ok(None);
        };
        digest_for(&raw, platform)
            .map(Some)
            .map_err(|listed| BackendError::NoPlatform {
                reference: reference.to_string(),
                platform: platform.unwrap_or_default().to_string(),
                listed,
            })
    }

    fn local_digest(&self, reference: &str) -> Result<Option<String>, BackendError> {
        #[derive(serde::Deserialize)]
        struct Inspect {
            #[serde(rename = "FromImageDigest", default)]
            digest: String,
        }
        let mut c = self.buildah();
        c.args(["inspect", "--type", "image", "--", reference]);
        let out = match c.checked() {
            Ok(out) => out,
            Err(e) if not_known(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let parsed: Inspect = serde_json::from_str(&out).map_err(|e| c.bad_output(e))?;
        if parsed.digest.is_empty() {
            return Err(c.bad_output("no FromImageDigest in it"));
        }
        Ok(Some(parsed.digest))
    }

    fn pull_base(&self, reference: &str, log: &Path, cancel: &Cancel) -> Result<(), BackendError> {
        let mut c = self.buildah();
        c.args(["pull", "--policy", "missing", &self.tls()])
            .arg(docker_ref(&untagged(reference)));
        crate::process::append_line(log, &format!("$ {}", c.display()))?;
        self.transfer(&mut c, RegistryOp::Pull, reference, Some(log), cancel)
    }

    fn remove_run_containers(&self, run: RunId) -> Result<usize, BackendError> {
        // Where reagent does not know the store's layout, it cannot tell which
        // run made a container; it removes nothing rather than guess.
        let Some(ids) = self.containers_of_run(run) else {
            return Ok(0);
        };
        if ids.is_empty() {
            return Ok(0);
        }
        let mut c = self.buildah();
        c.arg("rm").args(ids.iter().cloned());
        c.checked()?;
        Ok(ids.len())
    }

    fn remove_image(&self, names: &[String]) -> Result<(), BackendError> {
        if names.is_empty() {
            return Ok(());
        }
        let mut c = self.buildah();
        c.arg("rmi").args(names.iter().cloned());
        c.checked().map(drop)
    }

    fn image_created(&self, reference: &str) -> Result<Option<String>, BackendError> {
        #[derive(serde::Deserialize)]
        struct Inspect {
            #[serde(rename = "OCIv1")]
            oci: Config,
        }
        #[derive(serde::Deserialize)]
        struct Config {
            #[serde(default)]
            created: Option<String>,
        }
        let mut c = self.buildah();
        c.args(["inspect", "--type", "image", "--", reference]);
        let out = match c.checked() {
            Ok(out) => out,
            Err(e) if not_known(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let parsed: Inspect = serde_json::from_str(&out).map_err(|e| c.bad_output(e))?;
        Ok(parsed.oci.created)
    }

    fn with_rootfs(&self, image: &str, visit: &mut dyn FnMut(&Path)) -> Result<(), BackendError> {
        let name = self.new_container("mount", image)?;
        let mut mount = self.buildah();
        mount.args(["mount", &name]);
        let result = mount.checked().map(|out| {
            let path = PathBuf::from(out.trim());
            visit(&path);
        });
        let mut umount = self.buildah();
        umount.args(["umount", &name]);
        let _ = umount.checked();
        self.remove_container(&name);
        result
    }

    fn import_tarball(
        &self,
        tarball: &Path,
        labels: &BTreeMap<String, String>,
        tags: &[String],
        log: &Path,
        cancel: &Cancel,
    ) -> Result<String, BackendError> {
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let name = self.new_container("import", "scratch")?;
        let result = self.import_steps(&name, tarball, labels, tags, log, cancel);
        self.remove_container(&name);
        result
    }

    fn run_tool(
        &self,
        req: &ToolRequest,
        cancel: &Cancel,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<(), BackendError> {
        crate::process::run_tool(req, cancel, on_line)
    }
}

/// Writes `artifact` as an OCI image layout in the new folder `dir`:
/// `oci-layout`, `index.json` naming the manifest, and `blobs/sha256/<digest>`.
/// A digest that is not 64 lowercase hex digits is refused (it names a file).
fn write_oci_layout(dir: &Path, artifact: &OciArtifact) -> std::io::Result<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    for blob in std::iter::once(&artifact.manifest).chain(&artifact.blobs) {
        let hex = blob.digest.len() == 64
            && blob
                .digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a sha256 digest: {:?}", blob.digest),
            ));
        }
        std::fs::write(blobs.join(&blob.digest), &blob.bytes)?;
    }
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", artifact.manifest.digest),
            "size": artifact.manifest.bytes.len(),
        }],
    });
    std::fs::write(dir.join("index.json"), index.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_layouts_hold_the_artifact_and_refuse_bad_digests() {
        let tmp = tempfile::tempdir().unwrap();
        let blob = |digest: &str, bytes: &[u8]| crate::backend::OciBlob {
            digest: digest.to_string(),
            bytes: bytes.to_vec(),
        };
        let artifact = OciArtifact {
            manifest: blob(&"a".repeat(64), b"{}"),
            blobs: vec![blob(&"b".repeat(64), b"doc")],
        };
        let dir = tmp.path().join("layout");
        write_oci_layout(&dir, &artifact).unwrap();
        let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).unwrap();
        assert_eq!(read(&format!("blobs/sha256/{}", "b".repeat(64))), "doc");
        assert_eq!(read("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#);
        let index: serde_json::Value = serde_json::from_str(&read("index.json")).unwrap();
        assert_eq!(
            index["manifests"][0]["digest"],
            format!("sha256:{}", "a".repeat(64))
        );
        assert_eq!(index["manifests"][0]["size"], 2);
        for bad in ["../../etc/passwd", "A".repeat(64).as_str(), "abc"] {
            let artifact = OciArtifact {
                manifest: blob(bad, b"{}"),
                blobs: Vec::new(),
            };
            let err = write_oci_layout(&tmp.path().join("bad"), &artifact).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn step_lines_parse() {
        assert_eq!(
            parse_step("STEP 2/4: COPY busybox /bin/busybox"),
            Some(BuildProgress::Step {
                n: 2,
                of: 4,
                text: "COPY busybox /bin/busybox".into()
            })
        );
        assert_eq!(parse_step("COMMIT localhost/x"), None);
        assert_eq!(parse_step("STEP x/4: RUN"), None);
    }

    #[test]
    fn global_args_come_in_order() {
        let s = BuildahSettings {
            root: Some("/r".into()),
            runroot: Some("/rr".into()),
            storage_driver: Some("vfs".into()),
            extra_args: vec!["--log-level=error".into()],
            ..Default::default()
        };
        assert_eq!(
            s.global_args(),
            [
                "--root",
                "/r",
                "--runroot",
                "/rr",
                "--storage-driver",
                "vfs",
                "--log-level=error"
            ]
        );
    }

    #[test]
    fn registry_errors_classify() {
        assert_eq!(
            classify_registry_error("reading manifest nope in x/bb: manifest unknown"),
            RegistryAnswer::NotFound
        );
        assert_eq!(
            classify_registry_error("dial tcp 127.0.0.1:1: connect: connection refused"),
            RegistryAnswer::Unreachable
        );
        assert_eq!(
            classify_registry_error("unauthorized: authentication required"),
            RegistryAnswer::Other
        );
    }

    #[test]
    fn a_digest_is_the_manifest_s_own_or_its_platform_s() {
        let image = r#"{"schemaVersion":2,"config":{"digest":"sha256:c"},"layers":[]}"#;
        // `printf '%s' "$image" | sha256sum`: the bytes as served, nothing added.
        let own = "sha256:fb9c8291a1a46bdf9c3021492ca6be5b8ae4d7938467da6c1713585d311104b6";
        assert_eq!(digest_for(image, None).unwrap(), own);
        assert_eq!(digest_for(image, Some("linux/arm64")).unwrap(), own);
        let list = r#"{"schemaVersion":2,"manifests":[
            {"digest":"sha256:amd","platform":{"os":"linux","architecture":"amd64"}},
            {"digest":"sha256:v7","platform":{"os":"linux","architecture":"arm","variant":"v7"}},
            {"digest":"sha256:arm64","platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
        assert_eq!(digest_for(list, Some("linux/amd64")).unwrap(), "sha256:amd");
        assert_eq!(
            digest_for(list, Some("linux/arm64")).unwrap(),
            "sha256:arm64"
        );
        assert_eq!(digest_for(list, Some("linux/arm/v7")).unwrap(), "sha256:v7");
        assert_ne!(digest_for(list, None).unwrap(), "sha256:amd");
        assert_eq!(
            digest_for(list, Some("linux/riscv64")).unwrap_err(),
            ["linux/amd64", "linux/arm/v7", "linux/arm64/v8"]
        );
    }

    #[test]
    fn references_get_a_transport() {
        assert_eq!(docker_ref("h:5000/a:b"), "docker://h:5000/a:b");
        assert_eq!(docker_ref("docker://h/a"), "docker://h/a");
        assert_eq!(untagged("h:5000/a/b:1@sha256:x"), "h:5000/a/b@sha256:x");
        assert_eq!(untagged("h:5000/a/b@sha256:x"), "h:5000/a/b@sha256:x");
        assert_eq!(untagged("alpine:3.20"), "alpine:3.20");
        assert_eq!(bare_id("sha256:abc\n"), "abc");
    }
}
