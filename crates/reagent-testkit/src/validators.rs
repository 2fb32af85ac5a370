//! The SBOM validators (Python packages) that tests run reagent's documents through:
//! spdx-tools' `pyspdxtools` and cyclonedx-python-lib, in the venv
//! `tests/sbom/setup.sh` makes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv holding spdx-tools and cyclonedx-python-lib, and the script
/// (`tests/sbom/validate.py`) that drives the latter.
#[derive(Debug, Clone)]
pub struct SbomValidators {
    python: PathBuf,
    script: PathBuf,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl SbomValidators {
    /// The validators in `$REAGENT_SBOM_VENV`, else `<repo>/target/sbom-venv`.
    ///
    /// When they are not there (or fail `validate.py --self-check`): with
    /// `CI=true` this panics (CI must fail, never skip silently); otherwise it
    /// prints why and how to install them on stderr and returns `None`, so the
    /// test can return.
    pub fn find() -> Option<SbomValidators> {
        let venv = std::env::var_os("REAGENT_SBOM_VENV")
            .map_or_else(|| repo_root().join("target/sbom-venv"), PathBuf::from);
        let found = SbomValidators {
            python: venv.join("bin/python"),
            script: repo_root().join("tests/sbom/validate.py"),
        };
        let problem = match Command::new(&found.python)
            .arg(&found.script)
            .arg("--self-check")
            .output()
        {
            Ok(out) if out.status.success() => return Some(found),
            Ok(out) => format!(
                "{} --self-check failed: {}",
                found.script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => format!("{}: {e}", found.python.display()),
        };
        let msg = format!("SBOM validators unavailable ({problem}); run tests/sbom/setup.sh");
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "{msg}; CI=true, so this is an error, not a skip");
        eprintln!("skipped: {msg}");
        None
    }

    /// `pyspdxtools -i FILE`: parse and validate an SPDX document (the file's
    /// extension says its serialisation). `Err` holds what it said.
    pub fn spdx(&self, file: &Path) -> Result<(), String> {
        let bin = self.python.with_file_name("pyspdxtools");
        run(Command::new(bin).arg("-i").arg(file)).map(drop)
    }

    /// Validate a CycloneDX JSON document against the schema of its
    /// `specVersion`. `Err` holds every error.
    pub fn cyclonedx(&self, file: &Path) -> Result<(), String> {
        run(Command::new(&self.python)
            .arg(&self.script)
            .arg("cyclonedx")
            .arg(file))
        .map(drop)
    }

    /// The purls of a CycloneDX document's components as packageurl-python
    /// parses them: a JSON list of `{type, namespace, name, version, qualifiers}`.
    pub fn purls(&self, file: &Path) -> Result<String, String> {
        run(Command::new(&self.python)
            .arg(&self.script)
            .arg("purls")
            .arg(file))
    }
}

/// The stdout of a command that must exit 0; `Err` with its output otherwise.
fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{cmd:?} exited with {}: {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
