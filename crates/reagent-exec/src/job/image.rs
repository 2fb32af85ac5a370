//! Building an image: its Containerfile pinned to its parents' exact builds, then
//! (with `-t`/`-T`) its label tests and its audit, before it is tagged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reagent_backend::{BackendError, BuildProgress, BuildRequest, Volume};
use reagent_graph::{ExternalImage, ImageFormat, ImageRecipe, Node};

use super::{write_file, AuditGate, Gathered, JobContext, JobError};
use crate::events::{CaseEvent, Event};
use crate::junit::CaseOutcome;
use crate::{label_tests, names};

impl JobContext<'_> {
    pub(super) fn build_image(
        &self,
        node: &Node,
        image: &ImageRecipe,
        log: &Path,
        progress: &mut dyn FnMut(BuildProgress),
        emit: &dyn Fn(Event),
        gathered: &mut Gathered,
    ) -> Result<(), JobError> {
        self.ensure_bases(image, log)?;
        let mut req = self.image_request(node, image, log)?;
        req.volumes.extend(self.binhost.clone());
        let emerge_log = self.discovery_volume(node, image, &mut req)?;
        let gated = self.tests.is_some() || self.audit.is_some();
        if gated {
            // Untagged until its tests and audit pass: an image that fails them
            // never carries the key tag, so it never counts as built.
            req.tags.clear();
        }
        let id = self.backend.build(&req, self.cancel, progress)?;
        gathered.image = Some(id.clone());
        if let Some(log) = emerge_log {
            gathered.discovery = self.discover(node, &id, &log)?;
        }
        if !gated {
            return Ok(());
        }
        let before = gathered.cases.len();
        let gate = self.gate(node, image, &id, log, gathered);
        let cases = &gathered.cases[before..];
        if !cases.is_empty() {
            emit(Event::Tested {
                node: node.name.clone(),
                cases: cases.iter().map(CaseEvent::from).collect(),
            });
        }
        gate?;
        self.backend.tag(&id, &names::local_tags(node))?;
        Ok(())
    }

    /// Make sure each external base the image is pinned to is in local storage,
    /// pulling exactly `name@digest` when it is not (never with `-R`). The build
    /// itself never pulls (`--pull=never`).
    fn ensure_bases(&self, image: &ImageRecipe, log: &Path) -> Result<(), JobError> {
        for pinned in image.external.iter().filter_map(ExternalImage::pinned) {
            let mut done = self
                .bases
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if done.contains(&pinned) {
                continue;
            }
            if self.backend.inspect(&pinned)?.is_none() {
                if self.offline {
                    return Err(JobError::BaseMissing { reference: pinned });
                }
                self.backend.pull_base(&pinned, log, self.cancel).map_err(
                    |source| match source {
                        BackendError::Interrupted => JobError::Backend(source),
                        source => JobError::BasePull {
                            reference: pinned.clone(),
                            source,
                        },
                    },
                )?;
            }
            done.insert(pinned);
        }
        Ok(())
    }

    /// For an image built from the snapshot on the `packages` rule: an empty
    /// `emerge.log` mounted into every RUN step, and a build that runs every step
    /// (a step taken from buildah's layer cache would log nothing). The log's path.
    fn discovery_volume(
        &self,
        node: &Node,
        image: &ImageRecipe,
        req: &mut BuildRequest,
    ) -> Result<Option<PathBuf>, JobError> {
        if image.snapshot != Some(reagent_graph::config::Invalidation::Packages) {
            return Ok(None);
        }
        let log = self
            .tmp_dir()?
            .join(format!("{}-{}.emerge.log", node.name, node.key.short()));
        write_file(&log, b"")?;
        req.volumes.push(Volume {
            host: log.clone(),
            container: crate::discover::EMERGE_LOG.to_string(),
        });
        req.no_cache = true;
        Ok(Some(log))
    }

    /// What the build of image `id` read: the merges in its log, its profile (read
    /// from the image), and the slice of the snapshot they make.
    fn discover(
        &self,
        node: &Node,
        id: &str,
        log: &Path,
    ) -> Result<Option<crate::discover::Discovery>, JobError> {
        let text = std::fs::read_to_string(log).map_err(|source| JobError::Io {
            path: log.to_path_buf(),
            source,
        })?;
        if reagent_gentoo::emerge_log::merged(&text).is_empty() {
            return Ok(None);
        }
        let (Some(snapshot), Some(tree)) = (
            self.graph.snapshot(),
            crate::discover::snapshot_tree(self.graph),
        ) else {
            return Ok(None);
        };
        let mut profile = None;
        self.backend
            .with_rootfs(id, &mut |root| profile = crate::discover::profile_of(root))?;
        let k0 = self.graph.key_without_snapshot(node.id);
        let snapshot_key = self.graph.node(snapshot).key;
        Ok(crate::discover::discovered(
            &k0,
            &snapshot_key,
            &text,
            profile,
            &tree,
        )?)
    }

    /// The tests, then the audit, of image `id`; their cases go to `gathered`.
    fn gate(
        &self,
        node: &Node,
        image: &ImageRecipe,
        id: &str,
        log: &Path,
        gathered: &mut Gathered,
    ) -> Result<(), JobError> {
        if let Some(timeout) = self.tests {
            self.test(node, image, id, timeout, log, gathered)?;
        }
        if let Some(gate) = self.audit {
            self.audit(node, id, gate, gathered)?;
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
        gathered: &mut Gathered,
    ) -> Result<(), JobError> {
        let labels = self
            .backend
            .inspect(id)?
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
        gathered.cases.extend(cases);
        if failed > 0 {
            return Err(JobError::Tests { failed, total });
        }
        Ok(())
    }

    /// Audit image `id`'s installed packages against the gate's advisories.
    fn audit(
        &self,
        node: &Node,
        id: &str,
        gate: AuditGate<'_>,
        gathered: &mut Gathered,
    ) -> Result<(), JobError> {
        let findings = crate::audit::audit_image(self.backend, id, gate.advisories)?;
        gathered.cases.extend(crate::audit::cases_failing_at(
            &node.name,
            &findings,
            gate.advisories,
            gate.fail_on,
        ));
        let failing: Vec<String> = findings
            .iter()
            .filter(|f| f.fails_at(gate.fail_on))
            .map(|f| format!("GLSA {} ({}-{})", f.glsa_id, f.package, f.installed))
            .collect();
        if !failing.is_empty() {
            return Err(JobError::Vulnerable { findings: failing });
        }
        Ok(())
    }

    /// The build request: the Containerfile with references to other nodes pinned
    /// to their exact builds (`localhost/<name>:<key16>`) and external images to
    /// their locked digests (`reference@digest`), written to `tmp/`.
    fn image_request(
        &self,
        node: &Node,
        image: &ImageRecipe,
        log: &Path,
    ) -> Result<BuildRequest, JobError> {
        let graph = self.graph;
        let mut pinned: BTreeMap<&str, String> = image
            .node_refs
            .iter()
            .map(|(written, id)| (written.as_str(), names::local_ref(graph.node(*id))))
            .collect();
        for e in image.external.iter().filter(|e| !e.pinned_in_reference()) {
            if let Some(p) = e.pinned() {
                pinned.insert(e.reference.as_str(), p);
            }
        }
        let text = image
            .pinned_containerfile(&|r| pinned.get(r).cloned())
            .map_err(|source| JobError::Rewrite {
                file: image.containerfile.clone(),
                source,
            })?;
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
            format: match image.format {
                ImageFormat::Oci => reagent_backend::ImageFormat::Oci,
                ImageFormat::Docker => reagent_backend::ImageFormat::Docker,
            },
            labels: self.labels(node),
            tags: names::local_tags(node),
            log: log.to_path_buf(),
            secrets: secret_files(image)?,
            volumes: Vec::new(),
            no_cache: false,
        })
    }
}

/// The image's secret files, each checked to exist (they are supplied per
/// machine, e.g. by CI, so their absence is a build error, not a project one).
fn secret_files(image: &ImageRecipe) -> Result<BTreeMap<String, PathBuf>, JobError> {
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
