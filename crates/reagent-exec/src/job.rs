//! One unit of work on one node: build it (image, snapshot or stage), pull
//! it, or push it — through the [`Backend`], recording the outcome.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reagent_backend::{
    Backend, BackendError, BuildProgress, BuildRequest, Cancel, LABEL_KEY, LABEL_MANIFEST,
    LABEL_NODE,
};
use reagent_graph::{Graph, ImageRecipe, Node, Project, Recipe, SnapshotRecipe, StageRecipe};
use reagent_state::{BuildLog, Outcome, Record};
use sha2::Digest;

use crate::events::Event;
use crate::junit::{Case, CaseOutcome};
use crate::label_tests;
use crate::names;
use crate::plan::Action;

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The backend failed.
    #[error("{0}")]
    Backend(#[from] BackendError),
    /// A seed tarball does not match its declared hash.
    #[error(
        "seed {tarball}: sha256 is {actual}, graph.toml says {expected}; nothing was imported"
    )]
    SeedMismatch {
        /// The tarball.
        tarball: PathBuf,
        /// Declared hash.
        expected: String,
        /// Actual hash.
        actual: String,
    },
    /// catalyst failed or produced no tarball.
    #[error("catalyst: {0}")]
    Catalyst(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The Containerfile could not be rewritten.
    #[error("{0}")]
    Rewrite(String),
    /// The image's label tests failed: it was not tagged or pushed.
    #[error("{failed} of {total} tests failed; the image was not tagged or pushed")]
    Tests {
        /// How many failed.
        failed: usize,
        /// How many ran.
        total: usize,
    },
    /// The image's audit found advisories at or above the threshold.
    #[error("{0}")]
    Audit(String),
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
        matches!(self, JobError::Backend(BackendError::Interrupted))
    }
}

/// Everything a job needs, shared by all workers.
pub struct JobContext<'a> {
    /// The project.
    pub project: &'a Project,
    /// The container world.
    pub backend: &'a dyn Backend,
    /// The build record.
    pub log: &'a BuildLog,
    /// Registry prefix, if pushing.
    pub registry: Option<&'a str>,
    /// Stop signal.
    pub cancel: &'a Cancel,
    /// Stream build output as events.
    pub verbose: bool,
    /// The catalyst binary.
    pub catalyst: &'a Path,
    /// With `-t`: run each built image's tests (with this timeout each) before tagging it.
    pub tests: Option<Duration>,
    /// With `-T`: audit each built image against these advisories before tagging it.
    pub audit: Option<AuditGate<'a>>,
    /// Test (and audit) results of this run, for the report and JUnit.
    pub results: std::sync::Mutex<Vec<Case>>,
    /// Registry references pushed or pulled in this run (see [`crate::seen`]).
    pub registry_refs: std::sync::Mutex<Vec<String>>,
}

/// What `-T` checks a built image against.
#[derive(Debug, Clone, Copy)]
pub struct AuditGate<'a> {
    /// The advisories.
    pub advisories: &'a crate::audit::Advisories,
    /// Fail on findings at or above this severity (`None`: any finding).
    pub fail_on: Option<reagent_gentoo::Severity>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl JobContext<'_> {
    fn graph(&self) -> &Graph {
        &self.project.graph
    }

    /// Where this node's build log goes (its folder is created).
    pub fn log_path(&self, node: &Node) -> PathBuf {
        reagent_state::log_path(&self.project.state_dir, &node.name, &node.key.short())
            .unwrap_or_else(|_| {
                self.project.state_dir.join("logs").join(format!(
                    "{}-{}.log",
                    node.name,
                    node.key.short()
                ))
            })
    }

    fn tmp_dir(&self) -> Result<PathBuf, JobError> {
        let dir = self.project.state_dir.join("tmp");
        std::fs::create_dir_all(&dir).map_err(|source| JobError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(dir)
    }

    /// Run `action` on `node`, sending progress through `emit`; records the
    /// outcome. Returns how long it ran, whatever the result.
    pub fn run(
        &self,
        node: &Node,
        action: &Action,
        emit: &dyn Fn(Event),
    ) -> (Duration, Result<(), JobError>) {
        let start_ms = now_ms();
        let start = Instant::now();
        let result = match action {
            Action::Build(_) => self.build(node, emit).and_then(|_| self.publish(node)),
            Action::Pull => self.pull(node),
            Action::Push => self.publish(node),
            Action::UpToDate(_) => Ok(()),
        };
        let outcome = match (&result, action) {
            (Ok(()), Action::Pull) => Outcome::Pulled,
            (Ok(()), Action::Push) => Outcome::Published,
            (Ok(()), _) => Outcome::Built,
            (Err(e), _) if e.is_interrupt() => Outcome::Interrupted,
            (Err(JobError::Tests { .. } | JobError::Audit(_)), _) => Outcome::TestFailed,
            (Err(_), _) => Outcome::Failed,
        };
        // A push is recorded too (not as a build): a failed one makes the
        // next run push again, a finished one ends that.
        {
            // The manifest may show a build arg's value (a URL it was
            // expanded into): the record never holds one.
            let mut manifest = serde_json::to_value(&node.manifest).unwrap_or_default();
            crate::secrets::of(node).mask_json(&mut manifest);
            let record = Record {
                node: node.name.clone(),
                key: node.key.hex(),
                manifest_digest: node.manifest.digest(),
                manifest,
                start: start_ms,
                end: now_ms(),
                outcome,
            };
            // Losing a record only costs an explanation later; never fail the build for it.
            let _ = self.log.append(&record);
        }
        (start.elapsed(), result)
    }

    fn labels(&self, node: &Node) -> BTreeMap<String, String> {
        BTreeMap::from([
            (LABEL_KEY.to_string(), node.key.hex()),
            (LABEL_MANIFEST.to_string(), node.manifest.digest()),
            (LABEL_NODE.to_string(), node.name.clone()),
        ])
    }

    fn build(&self, node: &Node, emit: &dyn Fn(Event)) -> Result<(), JobError> {
        let log = self.log_path(node);
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
                let mut req = self.image_request(node, image, &log)?;
                if self.tests.is_none() && self.audit.is_none() {
                    self.backend.build(&req, self.cancel, &mut progress)?;
                    return Ok(());
                }
                // Untagged until its tests and audit pass: an image that fails
                // them never carries the key tag, so it never counts as built.
                req.tags.clear();
                let id = self.backend.build(&req, self.cancel, &mut progress)?;
                if let Some(timeout) = self.tests {
                    self.test(node, image, &id, timeout, &log)?;
                }
                if let Some(gate) = self.audit {
                    self.audit(node, &id, gate)?;
                }
                self.backend.tag(&id, &names::local_tags(node))?;
            }
            Recipe::Snapshot(snap) => {
                let req = self.snapshot_request(node, snap, &log)?;
                self.backend.build(&req, self.cancel, &mut progress)?;
            }
            Recipe::Stage(stage) => {
                let tarball = match &stage.seed {
                    Some(seed) => {
                        verify_sha256(&seed.tarball, &seed.sha256)?;
                        seed.tarball.clone()
                    }
                    None => self.catalyst(node, stage, &log)?,
                };
                self.backend.import_tarball(
                    &tarball,
                    &self.labels(node),
                    &names::local_tags(node),
                    &log,
                    self.cancel,
                )?;
            }
        }
        Ok(())
    }

    /// Run the image's label and graph.toml tests against image `id`.
    fn test(
        &self,
        node: &Node,
        image: &ImageRecipe,
        id: &str,
        timeout: Duration,
        log: &Path,
    ) -> Result<(), JobError> {
        let labels = self
            .backend
            .images()?
            .into_iter()
            .find(|i| i.id == id)
            .map(|i| i.labels)
            .unwrap_or_default();
        let specs = label_tests::specs(&labels, &image.tests);
        let cases = label_tests::run(
            self.backend,
            &node.name,
            id,
            &specs,
            timeout,
            log,
            self.cancel,
        )?;
        let failed = cases
            .iter()
            .filter(|c| c.outcome != CaseOutcome::Passed)
            .count();
        let total = cases.len();
        if let Ok(mut results) = self.results.lock() {
            results.extend(cases);
        }
        if failed > 0 {
            return Err(JobError::Tests { failed, total });
        }
        Ok(())
    }

    /// Audit image `id`'s installed packages against the gate's advisories.
    fn audit(&self, node: &Node, id: &str, gate: AuditGate<'_>) -> Result<(), JobError> {
        let findings = crate::audit::audit_image(self.backend, id, gate.advisories)
            .map_err(|e| JobError::Audit(e.to_string()))?;
        let cases =
            crate::audit::cases_failing_at(&node.name, &findings, gate.advisories, gate.fail_on);
        let failing: Vec<String> = findings
            .iter()
            .filter(|f| crate::audit::fails(f, gate.fail_on))
            .map(|f| format!("GLSA {} ({}-{})", f.glsa_id, f.package, f.installed))
            .collect();
        if let Ok(mut results) = self.results.lock() {
            results.extend(cases);
        }
        if !failing.is_empty() {
            return Err(JobError::Audit(format!(
                "vulnerable: {}; the image was not tagged or pushed",
                failing.join(", ")
            )));
        }
        Ok(())
    }

    /// The Containerfile with references to other nodes pinned to their exact builds.
    fn image_request(
        &self,
        node: &Node,
        image: &ImageRecipe,
        log: &Path,
    ) -> Result<BuildRequest, JobError> {
        let at = |e: reagent_containerfile::ParseError| {
            JobError::Rewrite(format!(
                "{}:{}: {}",
                image.containerfile.display(),
                e.line,
                e.message
            ))
        };
        let parsed = reagent_containerfile::parse(&image.containerfile_text).map_err(at)?;
        let pinned: BTreeMap<&str, String> = image
            .node_refs
            .iter()
            .map(|(written, id)| (written.as_str(), names::local_ref(self.graph().node(*id))))
            .collect();
        let text = parsed
            .rewrite_references(&image.containerfile_text, &image.args, &|r| {
                pinned.get(r.resolved.as_str()).cloned()
            })
            .map_err(at)?;
        let file =
            self.tmp_dir()?
                .join(format!("{}-{}.Containerfile", node.name, node.key.short()));
        write_file(&file, text.as_bytes())?;
        // The effective USE flags reach the build as the build arg `USE`
        // (a Containerfile declares `ARG USE` to use them), unless set by hand.
        let mut args = image.args.clone();
        if !image.use_flags.is_empty() {
            args.entry("USE".to_string())
                .or_insert_with(|| image.use_string());
        }
        Ok(BuildRequest {
            name: node.name.clone(),
            containerfile: file,
            context: image.context.clone(),
            args,
            target: image.target.clone(),
            platform: image.platform.clone(),
            squash: image.squash,
            labels: self.labels(node),
            tags: names::local_tags(node),
            log: log.to_path_buf(),
            secrets: self.secret_files(image)?,
        })
    }

    /// The image's secret files, each checked to exist (they are supplied per
    /// machine, e.g. by CI, so their absence is a build error, not a project one).
    fn secret_files(&self, image: &ImageRecipe) -> Result<BTreeMap<String, PathBuf>, JobError> {
        let mut out = BTreeMap::new();
        for (id, path) in &image.secrets {
            if !path.is_file() {
                return Err(JobError::Io {
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("secret `{id}` needs this file"),
                    ),
                });
            }
            out.insert(id.clone(), path.clone());
        }
        Ok(out)
    }

    /// A snapshot image: the tree at `/var/db/repos/gentoo`, like the gentoo/portage image.
    fn snapshot_request(
        &self,
        node: &Node,
        snap: &SnapshotRecipe,
        log: &Path,
    ) -> Result<BuildRequest, JobError> {
        let file =
            self.tmp_dir()?
                .join(format!("{}-{}.Containerfile", node.name, node.key.short()));
        write_file(&file, b"FROM scratch\nCOPY . /var/db/repos/gentoo/\n")?;
        let mut labels = self.labels(node);
        labels.insert("org.reagent.snapshot".into(), snap.identity.clone());
        Ok(BuildRequest {
            name: node.name.clone(),
            containerfile: file,
            context: snap.tree.clone(),
            args: BTreeMap::new(),
            target: None,
            platform: None,
            squash: false,
            labels,
            tags: names::local_tags(node),
            log: log.to_path_buf(),
            secrets: BTreeMap::new(),
        })
    }

    /// Run `catalyst -f SPEC` and return the tarball it wrote.
    fn catalyst(&self, node: &Node, stage: &StageRecipe, log: &Path) -> Result<PathBuf, JobError> {
        let spec = stage.spec.as_ref().ok_or_else(|| {
            JobError::Catalyst(format!("stage {} has neither spec nor seed", node.name))
        })?;
        let file = self
            .tmp_dir()?
            .join(format!("{}-{}.spec", node.name, node.key.short()));
        write_file(&file, spec.render().as_bytes())?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|source| JobError::Io {
                path: log.to_path_buf(),
                source,
            })?;
        let err = out.try_clone().map_err(|source| JobError::Io {
            path: log.to_path_buf(),
            source,
        })?;
        let mut child = std::process::Command::new(self.catalyst)
            .arg("-f")
            .arg(&file)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                JobError::Catalyst(format!("cannot run {}: {e}", self.catalyst.display()))
            })?;
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .map_err(|e| JobError::Catalyst(e.to_string()))?
            {
                break status;
            }
            if self.cancel.is_cancelled() {
                let _ = child.kill();
                let _ = child.wait();
                return Err(JobError::Backend(BackendError::Interrupted));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if !status.success() {
            return Err(JobError::Catalyst(format!("exited with {status}")));
        }
        let tarball = spec.tarball_path(&stage.storedir);
        if !tarball.is_file() {
            return Err(JobError::Catalyst(format!(
                "finished but wrote no {}",
                tarball.display()
            )));
        }
        Ok(tarball)
    }

    /// With a registry, push the key tag first, then the moving tags.
    fn publish(&self, node: &Node) -> Result<(), JobError> {
        let local = names::local_ref(node);
        let moving = names::moving_tags(node);
        // The local moving tags were given with the build (or after its tests).
        if let Some(registry) = self.registry {
            let remote = names::remote_ref(registry, node);
            self.backend.push(&local, &remote, self.cancel)?;
            self.saw_in_registry(remote);
            for tag in &moving {
                self.backend
                    .push(&local, &names::remote_tag(registry, node, tag), self.cancel)?;
            }
        }
        Ok(())
    }

    fn saw_in_registry(&self, remote: String) {
        if let Ok(mut refs) = self.registry_refs.lock() {
            refs.push(remote);
        }
    }

    fn pull(&self, node: &Node) -> Result<(), JobError> {
        let registry = self.registry.ok_or_else(|| {
            JobError::Backend(BackendError::Unreachable("no registry to pull from".into()))
        })?;
        let remote = names::remote_ref(registry, node);
        let local = names::local_ref(node);
        self.backend
            .pull(&remote, std::slice::from_ref(&local), self.cancel)?;
        // The tag says which key it was pushed for; the label says what the
        // image is. A registry tag overwritten by hand (or by another project
        // with a node of the same name) must not pass for this node's build.
        let key = node.key.hex();
        let carried = self
            .backend
            .images()?
            .into_iter()
            .find(|i| i.names.contains(&local))
            .and_then(|i| i.labels.get(LABEL_KEY).cloned());
        if carried.as_deref() != Some(key.as_str()) {
            return Err(JobError::Foreign {
                remote,
                expected: key,
                found: carried,
            });
        }
        self.saw_in_registry(remote);
        Ok(())
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), JobError> {
    std::fs::write(path, bytes).map_err(|source| JobError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Check a tarball against its declared SHA-256 before anything is imported.
pub fn verify_sha256(tarball: &Path, expected: &str) -> Result<(), JobError> {
    let io = |source| JobError::Io {
        path: tarball.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(tarball).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let actual: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual != expected.to_ascii_lowercase() {
        return Err(JobError::SeedMismatch {
            tarball: tarball.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_hash_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("seed.tar");
        std::fs::write(&f, b"abc").unwrap();
        let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        verify_sha256(&f, good).unwrap();
        let e = verify_sha256(&f, &"0".repeat(64)).unwrap_err();
        assert!(matches!(e, JobError::SeedMismatch { .. }));
        assert!(e.to_string().contains(good), "{e}");
    }
}
