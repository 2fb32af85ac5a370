//! Auditing built images against Gentoo security advisories (GLSA): the
//! orchestration. The Gentoo facts — reading a package database safely, version
//! ranges, matching — live in [`reagent_gentoo`]; this module finds the
//! advisories a project uses, mounts an image through the backend
//! ([`Backend::with_rootfs`]; nothing runs inside the image), and turns findings
//! into JUnit cases, one per advisory checked.
//!
//! ```
//! use reagent_exec::audit::{cases, Advisories};
//!
//! // No advisories, no findings: nothing to report.
//! let adv = Advisories { glsas: vec![], arch: "amd64".into(), source: "glsa".into() };
//! assert!(cases("app", &[], &adv).is_empty());
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use reagent_backend::{Backend, BackendError};
use reagent_gentoo::{glsa, vdb, GlsaError, VdbError};
use reagent_graph::Project;

use crate::junit::{Case, CaseKind, CaseOutcome};

pub use reagent_gentoo::{Finding, Glsa, Installed, Severity};

/// Where advisories come from when the project does not say (below `[snapshot] path`).
pub const SNAPSHOT_GLSA_DIR: &str = "metadata/glsa";

/// Why an audit (or reading an image's packages) could not be done.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Neither `[audit] glsa` nor `[snapshot] path` is set.
    #[error(
        "no security advisories configured: set `[audit] glsa` (a folder of glsa-*.xml files) or `[snapshot] path` in {}",
        config.display()
    )]
    NotConfigured {
        /// The project's `graph.toml`.
        config: PathBuf,
    },
    /// The advisory folder does not exist.
    #[error("advisory folder {} does not exist (from {origin} in graph.toml)", dir.display())]
    MissingDir {
        /// The folder.
        dir: PathBuf,
        /// The setting it came from, e.g. `[audit] glsa`.
        origin: &'static str,
    },
    /// An advisory could not be read or parsed (the message names the file and line).
    #[error(transparent)]
    Glsa(#[from] GlsaError),
    /// The host's architecture has no known Gentoo keyword.
    #[error("no Gentoo keyword known for host architecture `{0}`: set `[audit] arch` in graph.toml or pass --arch")]
    UnknownArch(String),
    /// The backend could not mount the image.
    #[error("cannot read the filesystem of {image}: {source}")]
    Backend {
        /// The image reference.
        image: String,
        /// What the backend said.
        source: BackendError,
    },
    /// The image's package database is unreadable (the message names the file).
    #[error("{image}: bad package database: {source}")]
    Vdb {
        /// The image reference.
        image: String,
        /// What is wrong, with the path inside the mounted filesystem.
        source: VdbError,
    },
}

/// The advisories an audit checks, and the architecture they are matched for.
#[derive(Debug, Clone)]
pub struct Advisories {
    /// Every advisory of the folder, sorted by file name.
    pub glsas: Vec<Glsa>,
    /// The arch keyword, e.g. `amd64`.
    pub arch: String,
    /// The folder they were read from.
    pub source: PathBuf,
}

/// Reads the project's advisories.
///
/// The folder is `[audit] glsa` (relative to the project folder), else
/// `<[snapshot] path>/metadata/glsa`. The architecture is `arch`, else
/// `[audit] arch`, else the host's keyword (see [`reagent_gentoo::arch::host_keyword`]).
pub fn load(project: &Project, arch: Option<&str>) -> Result<Advisories, AuditError> {
    let (dir, origin) = if let Some(dir) = &project.config.audit.glsa {
        (project.root.join(dir), "[audit] glsa")
    } else if let Some(snapshot) = &project.config.snapshot.path {
        (
            project
                .root
                .join(snapshot.get_ref())
                .join(SNAPSHOT_GLSA_DIR),
            "[snapshot] path",
        )
    } else {
        return Err(AuditError::NotConfigured {
            config: project.root.join("graph.toml"),
        });
    };
    if !dir.is_dir() {
        return Err(AuditError::MissingDir { dir, origin });
    }
    let arch = match arch.or(project.config.audit.arch.as_deref()) {
        Some(a) => a.to_string(),
        None => reagent_gentoo::arch::host_keyword()
            .ok_or_else(|| AuditError::UnknownArch(std::env::consts::ARCH.to_string()))?
            .to_string(),
    };
    Ok(Advisories {
        glsas: glsa::read_dir(&dir)?,
        arch,
        source: dir,
    })
}

/// The packages installed in `image`, read from its `/var/db/pkg` through
/// [`Backend::with_rootfs`]. An image without a package database (a plain
/// busybox base, say) has no packages. `var`, `var/db` and `var/db/pkg`
/// must be real folders: a symbolic link could lead out of the image.
pub fn installed(backend: &dyn Backend, image: &str) -> Result<Vec<Installed>, AuditError> {
    let mut result = None;
    backend
        .with_rootfs(image, &mut |root: &Path| {
            result = Some(vdb::read_root(root).map_err(|source| AuditError::Vdb {
                image: image.to_string(),
                source,
            }));
        })
        .map_err(|source| AuditError::Backend {
            image: image.to_string(),
            source,
        })?;
    match result {
        Some(r) => r,
        None => Err(AuditError::Backend {
            image: image.to_string(),
            source: BackendError::Failed {
                command: format!("mount {image}"),
                code: None,
                stderr: "the backend showed no filesystem".into(),
            },
        }),
    }
}

/// The advisories of `adv` that affect packages installed in `image`.
pub fn audit_image(
    backend: &dyn Backend,
    image: &str,
    adv: &Advisories,
) -> Result<Vec<Finding>, AuditError> {
    let pkgs = installed(backend, image)?;
    Ok(reagent_gentoo::audit(&adv.glsas, &pkgs, &adv.arch))
}

/// One JUnit case per advisory checked against `image` (suite `image`, case
/// `GLSA-<id>`): passed, or failed with the details of every finding.
pub fn cases(image: &str, findings: &[Finding], adv: &Advisories) -> Vec<Case> {
    cases_failing_at(image, findings, adv, None)
}

/// Like [`cases`], but findings below `fail_on` leave their case passed
/// (their details still attached as output), matching the exit status of
/// `reagent audit --fail-on`.
pub fn cases_failing_at(
    image: &str,
    findings: &[Finding],
    adv: &Advisories,
    fail_on: Option<Severity>,
) -> Vec<Case> {
    adv.glsas
        .iter()
        .map(|g| {
            let hits: Vec<&Finding> = findings.iter().filter(|f| f.glsa_id == g.id).collect();
            let output = hits
                .iter()
                .map(|f| describe(f))
                .collect::<Vec<_>>()
                .join("\n");
            let outcome = if hits.iter().any(|f| f.fails_at(fail_on)) {
                let pkgs: Vec<String> = hits
                    .iter()
                    .map(|f| format!("{}-{}", f.package, f.installed))
                    .collect();
                CaseOutcome::Failed(format!(
                    "{} ({}): {} affected",
                    g.title,
                    g.severity,
                    pkgs.join(", ")
                ))
            } else {
                CaseOutcome::Passed
            };
            Case {
                kind: CaseKind::Audit,
                suite: image.to_string(),
                name: format!("GLSA-{}", g.id),
                outcome,
                time: Duration::ZERO,
                output,
            }
        })
        .collect()
}

/// One finding in words (a case's output): package, slot, severity, ranges and title.
pub fn describe(f: &Finding) -> String {
    format!(
        "{}-{}:{} is affected by GLSA {} ({}): {}; vulnerable {}; unaffected {}",
        f.package,
        f.installed,
        f.slot,
        f.glsa_id,
        f.severity,
        f.title,
        join_or_none(&f.vulnerable),
        join_or_none(&f.unaffected),
    )
}

fn join_or_none(ranges: &[String]) -> String {
    if ranges.is_empty() {
        "none".into()
    } else {
        ranges.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reagent_backend::FakeBackend;
    use std::collections::BTreeMap;

    use reagent_testkit::GLSA_NGINX;

    const GLSA_OTHER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<glsa id="202401-02">
  <title>openssl: heap overflow</title>
  <synopsis>s</synopsis>
  <affected>
    <package name="dev-libs/openssl" auto="yes" arch="*">
      <vulnerable range="lt">3.0.0</vulnerable>
    </package>
  </affected>
  <impact type="high"/>
</glsa>"#;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn advisories(dir: &Path) -> Advisories {
        write(dir, "glsa-202401-01.xml", GLSA_NGINX);
        write(dir, "glsa-202401-02.xml", GLSA_OTHER);
        Advisories {
            glsas: glsa::read_dir(dir).unwrap(),
            arch: "amd64".into(),
            source: dir.to_path_buf(),
        }
    }

    fn rootfs(root: &Path) {
        let pkg = "var/db/pkg/www-servers/nginx-1.24.0";
        write(root, &format!("{pkg}/SLOT"), "0\n");
        write(root, &format!("{pkg}/USE"), "amd64 ssl http2\n");
        write(root, &format!("{pkg}/IUSE"), "+ssl +http2 debug\n");
        write(root, &format!("{pkg}/repository"), "gentoo\n");
        write(root, "var/db/pkg/dev-libs/openssl-3.1.4/SLOT", "0/3\n");
    }

    #[test]
    fn audit_image_reads_the_mounted_vdb() {
        let tmp = tempfile::tempdir().unwrap();
        let adv = advisories(&tmp.path().join("glsa"));
        rootfs(&tmp.path().join("root"));
        let backend = FakeBackend::new();
        backend.add_image(&["localhost/app:0123"], BTreeMap::new());
        backend.set_rootfs("localhost/app:0123", &tmp.path().join("root"));

        let pkgs = installed(&backend, "localhost/app:0123").unwrap();
        assert_eq!(pkgs.len(), 2);
        let findings = audit_image(&backend, "localhost/app:0123", &adv).unwrap();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].glsa_id, "202401-01");
        assert_eq!(findings[0].installed.to_string(), "1.24.0");
    }

    #[test]
    fn image_without_vdb_has_no_packages() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = FakeBackend::new();
        backend.set_rootfs("localhost/base:1", tmp.path());
        assert!(installed(&backend, "localhost/base:1").unwrap().is_empty());
    }

    #[test]
    fn a_linked_vdb_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        rootfs(&tmp.path().join("elsewhere"));
        std::fs::create_dir_all(tmp.path().join("root/var")).unwrap();
        std::os::unix::fs::symlink(
            tmp.path().join("elsewhere/var/db"),
            tmp.path().join("root/var/db"),
        )
        .unwrap();
        let backend = FakeBackend::new();
        backend.set_rootfs("localhost/app:1", &tmp.path().join("root"));
        let err = installed(&backend, "localhost/app:1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/var/db is a symbolic link"), "{err}");
    }

    #[test]
    fn unknown_image_error_names_it() {
        let backend = FakeBackend::new();
        let err = installed(&backend, "localhost/nope:1").unwrap_err();
        assert!(err.to_string().contains("localhost/nope:1"), "{err}");
    }

    #[test]
    fn bad_vdb_error_names_the_image_and_file() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "var/db/pkg/dev-libs/foo-1/SLOT", "bad slot!\n");
        let backend = FakeBackend::new();
        backend.set_rootfs("localhost/app:1", tmp.path());
        let err = installed(&backend, "localhost/app:1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("localhost/app:1"), "{err}");
        assert!(err.contains("SLOT"), "{err}");
    }

    #[test]
    fn one_case_per_advisory() {
        let tmp = tempfile::tempdir().unwrap();
        let adv = advisories(tmp.path());
        let backend = FakeBackend::new();
        rootfs(&tmp.path().join("root"));
        backend.set_rootfs("img", &tmp.path().join("root"));
        let findings = audit_image(&backend, "img", &adv).unwrap();

        let all = cases("app", &findings, &adv);
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["GLSA-202401-01", "GLSA-202401-02"]);
        assert!(all.iter().all(|c| c.suite == "app"));
        match &all[0].outcome {
            CaseOutcome::Failed(m) => assert!(m.contains("www-servers/nginx-1.24.0"), "{m}"),
            other => panic!("expected a failure, got {other:?}"),
        }
        assert!(all[0].output.contains(">=1.25.3"), "{}", all[0].output);
        assert_eq!(all[1].outcome, CaseOutcome::Passed);

        // Below the threshold: passed, details kept.
        let lenient = cases_failing_at("app", &findings, &adv, Some(Severity::High));
        assert_eq!(lenient[0].outcome, CaseOutcome::Passed);
        assert!(lenient[0].output.contains("nginx"));
    }

    fn project(graph_toml: &str) -> (reagent_testkit::ProjectDir, Project) {
        let dir = reagent_testkit::ProjectDir::new(graph_toml);
        let project = Project::load(dir.root()).unwrap();
        (dir, project)
    }

    #[test]
    fn load_without_configuration_names_graph_toml() {
        let (_tmp, p) = project("");
        let err = load(&p, None).unwrap_err().to_string();
        assert!(
            err.contains("graph.toml") && err.contains("[audit] glsa"),
            "{err}"
        );
    }

    #[test]
    fn load_reads_the_configured_folder_relative_to_the_project() {
        let (tmp, p) = project("[audit]\nglsa = \"advisories\"\narch = \"ppc\"\n");
        advisories(&tmp.path("advisories"));
        let adv = load(&p, None).unwrap();
        assert_eq!(adv.glsas.len(), 2);
        assert_eq!(adv.arch, "ppc");
        assert_eq!(adv.source, p.root.join("advisories"));
        assert_eq!(load(&p, Some("arm64")).unwrap().arch, "arm64");
    }

    #[test]
    fn load_defaults_to_the_host_arch() {
        let (tmp, p) = project("[audit]\nglsa = \"advisories\"\n");
        advisories(&tmp.path("advisories"));
        assert_eq!(
            load(&p, None).unwrap().arch,
            reagent_gentoo::arch::host_keyword().unwrap()
        );
    }

    #[test]
    fn load_falls_back_to_the_snapshot_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        advisories(&tmp.path().join("tree/metadata/glsa"));
        write(tmp.path(), "tree/app-misc/foo/foo-1.ebuild", "EAPI=8\n");
        write(tmp.path(), "graph.toml", "[snapshot]\npath = \"tree\"\n");
        let p = Project::load(tmp.path()).unwrap();
        let adv = load(&p, Some("amd64")).unwrap();
        assert_eq!(adv.glsas.len(), 2);
        assert_eq!(adv.source, p.root.join("tree/metadata/glsa"));
    }

    #[test]
    fn load_reports_a_missing_folder() {
        let (_tmp, p) = project("[audit]\nglsa = \"nowhere\"\n");
        let err = load(&p, None).unwrap_err().to_string();
        assert!(
            err.contains("nowhere") && err.contains("[audit] glsa"),
            "{err}"
        );
    }

    #[test]
    fn load_reports_a_bad_advisory_with_its_file() {
        let (tmp, p) = project("[audit]\nglsa = \"advisories\"\n");
        tmp.write("advisories/glsa-202402-01.xml", "<glsa id=");
        let err = load(&p, None).unwrap_err().to_string();
        assert!(err.contains("glsa-202402-01.xml:1"), "{err}");
    }
}
