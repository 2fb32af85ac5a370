//! SBOMs of built images: the orchestration. The documents themselves are
//! [`reagent_gentoo::sbom`]'s pure functions; this module finds what they
//! describe through the backend — the image's id and creation time, and its
//! packages read from its mounted `/var/db/pkg` ([`crate::audit::installed`];
//! nothing runs inside the image) — and attaches a document to an image in a
//! registry.
//!
//! # Attaching: cosign's tag scheme
//!
//! buildah 1.28 pushes images, not arbitrary artifacts, and the registry
//! reagent pushes to need not serve the OCI 1.1 referrers API. So an SBOM goes
//! where cosign (`cosign attach sbom`) puts one, which any registry can hold:
//! under the tag `sha256-<hex>.sbom` of the image's repository, `<hex>` being
//! the digest of the manifest the image was pushed as
//! ([`Backend::push_with_digest`]). The tag holds an OCI image manifest
//! whose one layer is the document itself, with the format's media type
//! (`text/spdx+json` or `application/vnd.cyclonedx+json`) and an
//! `org.opencontainers.image.title` annotation naming it as a file, and whose
//! config is a minimal image config, as cosign writes it (`skopeo inspect`
//! and `skopeo copy` read it as an image). It is pushed byte for byte
//! ([`Backend::push_artifact`]), so one document always makes one manifest
//! digest, and not at all when the tag is already there.
//!
//! ```
//! use reagent_exec::sbom::{artifact, attachment_ref, Format};
//!
//! let digest = format!("sha256:{}", "ab".repeat(32));
//! assert_eq!(
//!     attachment_ref("registry:5000/acme", "app", &digest),
//!     format!("registry:5000/acme/app:sha256-{}.sbom", "ab".repeat(32))
//! );
//! let a = artifact(b"{}\n", Format::SpdxJson);
//! assert_eq!(a.blobs[1].bytes, b"{}\n");
//! ```

use reagent_backend::{Backend, BackendError, Cancel, OciArtifact, OciBlob};
use reagent_gentoo::sbom::{self, Image};
use reagent_graph::Node;
use sha2::Digest as _;

use crate::audit::{self, AuditError};
use crate::names;

pub use reagent_gentoo::sbom::{Format, FormatError};

/// Why an SBOM could not be made or attached.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// The image is not in local storage.
    #[error("{image} is not in local storage")]
    NotBuilt {
        /// The image reference.
        image: String,
    },
    /// The backend could not look at the image.
    #[error("cannot inspect {image}: {source}")]
    Inspect {
        /// The image reference.
        image: String,
        /// What the backend said.
        source: BackendError,
    },
    /// The image's package database could not be read (the message names the file).
    #[error(transparent)]
    Packages(#[from] AuditError),
    /// The document could not be pushed next to the image.
    #[error("cannot attach the SBOM as {remote}: {source}")]
    Attach {
        /// The registry reference it was to be pushed to.
        remote: String,
        /// What the backend said.
        source: BackendError,
    },
}

impl SbomError {
    /// Whether it stopped because a stop was asked for.
    pub fn is_interrupt(&self) -> bool {
        matches!(
            self,
            SbomError::Attach {
                source: BackendError::Interrupted,
                ..
            }
        )
    }
}

/// The SBOM of `node`'s current build (`localhost/<name>:<key16>`) in
/// `format`, as [`reagent_gentoo::sbom::document`] writes it: the same image
/// always gives the same bytes.
pub fn document(backend: &dyn Backend, node: &Node, format: Format) -> Result<String, SbomError> {
    let image = names::local_ref(node);
    let inspect = |source| SbomError::Inspect {
        image: image.clone(),
        source,
    };
    let found = backend
        .inspect(&image)
        .map_err(inspect)?
        .ok_or_else(|| SbomError::NotBuilt {
            image: image.clone(),
        })?;
    let created = backend.image_created(&image).map_err(inspect)?;
    let packages = audit::installed(backend, &image)?;
    let key = node.key.hex();
    let subject = Image {
        name: &node.name,
        key: &key,
        image_id: &found.id,
        created: created.as_deref().unwrap_or_default(),
    };
    Ok(sbom::document(format, &subject, &packages))
}

/// Where the SBOM of the image pushed to `<registry>/<name>` as the manifest
/// `digest` (`sha256:<hex>`) goes: `<registry>/<name>:sha256-<hex>.sbom`.
pub fn attachment_ref(registry: &str, name: &str, digest: &str) -> String {
    format!("{registry}/{name}:{}.sbom", digest.replacen(':', "-", 1))
}

fn blob(bytes: Vec<u8>) -> OciBlob {
    OciBlob {
        digest: format!("{:x}", sha2::Sha256::digest(&bytes)),
        bytes,
    }
}

/// The OCI artifact carrying `document` in `format`, laid out as cosign lays
/// out an attached SBOM (see the [module](self) documentation). `blobs[0]` is
/// the config, `blobs[1]` the document.
pub fn artifact(document: &[u8], format: Format) -> OciArtifact {
    let layer = blob(document.to_vec());
    let config = blob(
        serde_json::json!({
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", layer.digest)]},
        })
        .to_string()
        .into_bytes(),
    );
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{}", config.digest),
            "size": config.bytes.len(),
        },
        "layers": [{
            "mediaType": format.media_type(),
            "digest": format!("sha256:{}", layer.digest),
            "size": layer.bytes.len(),
            "annotations": {"org.opencontainers.image.title": format.file_name()},
        }],
    });
    OciArtifact {
        manifest: blob(manifest.to_string().into_bytes()),
        blobs: vec![config, layer],
    }
}

/// Attach the SBOM of `node`'s current build, pushed to `registry` as the
/// manifest `digest`, under [`attachment_ref`]. Nothing is made or pushed when
/// that tag is already in the registry: `Ok(None)`. Otherwise the reference
/// pushed.
pub fn attach(
    backend: &dyn Backend,
    node: &Node,
    registry: &str,
    digest: &str,
    format: Format,
    cancel: &Cancel,
) -> Result<Option<String>, SbomError> {
    let remote = attachment_ref(registry, &node.name, digest);
    let failed = |source| SbomError::Attach {
        remote: remote.clone(),
        source,
    };
    if backend.remote_exists(&remote).map_err(failed)? {
        return Ok(None);
    }
    let doc = document(backend, node, format)?;
    backend
        .push_artifact(&artifact(doc.as_bytes(), format), &remote, cancel)
        .map_err(failed)?;
    Ok(Some(remote))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reagent_backend::fake::Call;
    use reagent_backend::FakeBackend;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use std::path::Path;

    fn project() -> (reagent_testkit::ProjectDir, reagent_graph::Project) {
        let dir = reagent_testkit::ProjectDir::new("");
        dir.image("app", "FROM scratch\n");
        let project = reagent_graph::Project::load(dir.root()).unwrap();
        (dir, project)
    }

    fn rootfs(root: &Path) {
        let pkg = root.join("var/db/pkg/www-servers/nginx-1.24.0");
        std::fs::create_dir_all(&pkg).unwrap();
        for (file, text) in [
            ("SLOT", "0\n"),
            ("USE", "amd64 ssl\n"),
            ("IUSE", "ssl debug\n"),
            ("repository", "gentoo\n"),
            ("LICENSE", "BSD-2\n"),
            ("HOMEPAGE", "https://nginx.org\n"),
        ] {
            std::fs::write(pkg.join(file), text).unwrap();
        }
    }

    /// A fake holding app's current build, its root filesystem and creation time.
    fn built(node: &Node, root: &Path) -> FakeBackend {
        let backend = FakeBackend::new();
        let reference = names::local_ref(node);
        backend.add_image(&[&reference], BTreeMap::new());
        backend.set_rootfs(&reference, root);
        backend.set_created(&reference, "2024-05-01T10:11:12.5Z");
        rootfs(root);
        backend
    }

    #[test]
    fn documents_describe_the_current_build_the_same_each_time() {
        let (_dir, project) = project();
        let node = project.graph.by_name("app").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let backend = built(node, tmp.path());
        let a = document(&backend, node, Format::SpdxJson).unwrap();
        assert_eq!(a, document(&backend, node, Format::SpdxJson).unwrap());
        let doc: Value = serde_json::from_str(&a).unwrap();
        assert_eq!(doc["creationInfo"]["created"], "2024-05-01T10:11:12Z");
        assert_eq!(doc["packages"][0]["versionInfo"], node.key.short());
        assert_eq!(doc["packages"][1]["name"], "www-servers/nginx");
        assert_eq!(doc["packages"][1]["licenseDeclared"], "BSD-2-Clause");
        let cdx: Value =
            serde_json::from_str(&document(&backend, node, Format::CycloneDxJson).unwrap())
                .unwrap();
        assert_eq!(
            cdx["components"][0]["purl"],
            "pkg:ebuild/www-servers/nginx@1.24.0?repository=gentoo"
        );
    }

    #[test]
    fn an_image_not_built_is_named() {
        let (_dir, project) = project();
        let node = project.graph.by_name("app").unwrap();
        let err = document(&FakeBackend::new(), node, Format::SpdxJson).unwrap_err();
        assert!(matches!(err, SbomError::NotBuilt { .. }), "{err}");
        assert!(err.to_string().contains(&names::local_ref(node)), "{err}");
    }

    #[test]
    fn artifacts_are_cosign_shaped_and_self_consistent() {
        let a = artifact(b"doc\n", Format::CycloneDxJson);
        let manifest: Value = serde_json::from_slice(&a.manifest.bytes).unwrap();
        assert_eq!(
            manifest["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        let layer = &manifest["layers"][0];
        assert_eq!(layer["mediaType"], "application/vnd.cyclonedx+json");
        assert_eq!(layer["digest"], format!("sha256:{}", a.blobs[1].digest));
        assert_eq!(layer["size"], 4);
        assert_eq!(
            layer["annotations"]["org.opencontainers.image.title"],
            "sbom.cdx.json"
        );
        assert_eq!(
            manifest["config"]["digest"],
            format!("sha256:{}", a.blobs[0].digest)
        );
        let config: Value = serde_json::from_slice(&a.blobs[0].bytes).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"][0], layer["digest"]);
        assert_eq!(
            a,
            artifact(b"doc\n", Format::CycloneDxJson),
            "deterministic"
        );
        assert_eq!(
            a.manifest.digest,
            format!("{:x}", sha2::Sha256::digest(&a.manifest.bytes))
        );
    }

    #[test]
    fn attach_pushes_the_document_once() {
        let (_dir, project) = project();
        let node = project.graph.by_name("app").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let backend = built(node, tmp.path());
        let digest = format!("sha256:{}", "cd".repeat(32));
        let cancel = Cancel::new();
        let pushed = attach(&backend, node, "reg", &digest, Format::SpdxJson, &cancel)
            .unwrap()
            .unwrap();
        assert_eq!(pushed, format!("reg/app:sha256-{}.sbom", "cd".repeat(32)));
        let sent = backend.artifact(&pushed).unwrap();
        assert_eq!(
            sent.blobs[1].bytes,
            document(&backend, node, Format::SpdxJson)
                .unwrap()
                .into_bytes()
        );
        // Already there: nothing is made or pushed again.
        let calls = backend.calls().len();
        assert_eq!(
            attach(&backend, node, "reg", &digest, Format::SpdxJson, &cancel).unwrap(),
            None
        );
        let after = backend.calls();
        assert_eq!(
            after[calls..],
            [Call::RemoteExists {
                remote: pushed.clone()
            }]
        );
    }

    #[test]
    fn a_failed_or_interrupted_attach_says_so() {
        let (_dir, project) = project();
        let node = project.graph.by_name("app").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let backend = built(node, tmp.path());
        let digest = format!("sha256:{}", "cd".repeat(32));
        let remote = attachment_ref("reg", "app", &digest);
        backend.fail_push(&remote, true);
        let err = attach(
            &backend,
            node,
            "reg",
            &digest,
            Format::SpdxJson,
            &Cancel::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains(&remote), "{err}");
        assert!(!err.is_interrupt());
        backend.fail_push(&remote, false);
        let cancel = Cancel::new();
        cancel.cancel();
        let err = attach(&backend, node, "reg", &digest, Format::SpdxJson, &cancel).unwrap_err();
        assert!(err.is_interrupt(), "{err}");
    }
}
