//! Snapshot and stage nodes: the portage tree packed into an image, a seed
//! tarball checked and imported, or a catalyst run (through the backend's process
//! runner, like every other program) and its tarball imported.

use std::collections::BTreeMap;
use std::path::Path;

use reagent_backend::redact::Secrets;
use reagent_backend::{BuildProgress, BuildRequest, ImageFormat, ToolRequest};
use reagent_graph::{Node, Output, SnapshotRecipe, StageRecipe};
use sha2::Digest;

use super::{write_file, JobContext, JobError};
use crate::names;

impl JobContext<'_> {
    /// A snapshot image: the tree at `/var/db/repos/gentoo`, like the gentoo/portage image.
    pub(super) fn build_snapshot(
        &self,
        node: &Node,
        snap: &SnapshotRecipe,
        log: &Path,
        progress: &mut dyn FnMut(BuildProgress),
    ) -> Result<(), JobError> {
        let file =
            self.tmp_dir()?
                .join(format!("{}-{}.Containerfile", node.name, node.key.short()));
        write_file(&file, b"FROM scratch\nCOPY . /var/db/repos/gentoo/\n")?;
        let mut labels = self.labels(node);
        labels.insert("org.reagent.snapshot".into(), snap.identity.clone());
        let req = BuildRequest {
            name: node.name.clone(),
            containerfile: file,
            context: snap.tree.clone(),
            args: BTreeMap::new(),
            target: None,
            platform: None,
            squash: false,
            format: ImageFormat::Oci,
            labels,
            tags: names::local_tags(node),
            log: log.to_path_buf(),
            secrets: BTreeMap::new(),
            volumes: Vec::new(),
            no_cache: false,
        };
        self.backend.build(&req, self.cancel, progress)?;
        Ok(())
    }

    /// A stage: its seed (checked against its SHA-256) or catalyst's tarball, imported.
    /// A target that makes an ISO, a disk image or a netboot folder is an artifact: catalyst
    /// must leave it where the spec says, and nothing is imported.
    pub(super) fn build_stage(
        &self,
        node: &Node,
        stage: &StageRecipe,
        log: &Path,
    ) -> Result<(), JobError> {
        let tarball = if let Some(seed) = &stage.seed {
            verify_sha256(&seed.tarball, &seed.sha256)?;
            seed.tarball.clone()
        } else {
            verify_external_seed(stage)?;
            match self.catalyst(node, stage, log)? {
                Output::Tarball(tarball) => tarball,
                _artifact => return Ok(()),
            }
        };
        self.backend.import_tarball(
            &tarball,
            &self.labels(node),
            &names::local_tags(node),
            log,
            self.cancel,
        )?;
        Ok(())
    }

    /// Run `catalyst -f SPEC` and return what it wrote (checked to be there).
    fn catalyst(&self, node: &Node, stage: &StageRecipe, log: &Path) -> Result<Output, JobError> {
        let Some(spec) = &stage.spec else {
            // The loader gives every stage a spec or a seed.
            return Err(JobError::Io {
                path: node.path.clone(),
                source: std::io::Error::other("stage has neither spec nor seed"),
            });
        };
        let file = self
            .tmp_dir()?
            .join(format!("{}-{}.spec", node.name, node.key.short()));
        write_file(&file, spec.render().as_bytes())?;
        let req = ToolRequest {
            program: self.catalyst.to_path_buf(),
            args: vec!["-f".to_string(), file.display().to_string()],
            secrets: Secrets::default(),
            log: log.to_path_buf(),
            timeout: None,
        };
        self.backend.run_tool(&req, self.cancel, &mut |_| {})?;
        let output = spec.output(&stage.storedir);
        if !output.exists() {
            return Err(JobError::NoOutput {
                what: output.kind().describe(),
                expected: output.path().to_path_buf(),
            });
        }
        Ok(output)
    }
}

/// Before catalyst runs from an external seed that `reagent.lock` pins: the tarball it
/// reads must be the one locked (the seed cannot be fetched by hash, so a replaced
/// one stops the build instead of being built under the old key).
fn verify_external_seed(stage: &StageRecipe) -> Result<(), JobError> {
    let (Some(src), Some(locked)) = (&stage.external_source, &stage.seed_lock) else {
        return Ok(());
    };
    let Some(tarball) = crate::lock::find_seed(&stage.storedir, src) else {
        return Err(JobError::SeedMissing {
            source_subpath: src.clone(),
            storedir: stage.storedir.clone(),
        });
    };
    let actual = crate::lock::hash_tarball(&tarball).map_err(|source| JobError::Io {
        path: tarball.clone(),
        source,
    })?;
    if actual.sha256 != locked.sha256 {
        return Err(JobError::SeedChanged {
            tarball,
            locked: locked.sha256.clone(),
            actual: actual.sha256,
        });
    }
    Ok(())
}

/// Check a tarball against its declared SHA-256 before anything is imported.
pub fn verify_sha256(tarball: &Path, expected: &str) -> Result<(), JobError> {
    let io = |source| JobError::Io {
        path: tarball.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(tarball).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io)?;
    let actual = format!("{:x}", hasher.finalize());
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
