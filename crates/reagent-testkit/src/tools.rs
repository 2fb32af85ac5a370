//! Checking that the container tools the tests need are installed.

use std::path::Path;
use std::process::{Command, Stdio};

/// The tools (and the busybox binary) the harness needs.
const TOOLS: &[&str] = &["buildah", "skopeo", "docker-registry", "tar"];
/// The static busybox every base image is made from.
pub(crate) const BUSYBOX: &str = "/bin/busybox";

fn runs(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What is missing, one item per entry.
fn missing() -> Vec<String> {
    let mut missing: Vec<String> = TOOLS
        .iter()
        .filter(|t| !runs(t))
        .map(ToString::to_string)
        .collect();
    if !Path::new(BUSYBOX).is_file() {
        missing.push(format!("{BUSYBOX} (busybox-static)"));
    }
    missing
}

/// Whether buildah, skopeo, docker-registry, tar and `/bin/busybox` are all here.
///
/// When something is missing: with `CI=true` in the environment this panics
/// (CI must fail, never skip silently); otherwise it prints what is missing to
/// stderr and returns `false`, so the test can print `skipped: ...` and return.
pub fn require_tools() -> bool {
    let missing = missing();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "container tools missing: {} (Debian: apt-get install buildah skopeo docker-registry busybox-static)",
        missing.join(", ")
    );
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "{msg}; CI=true, so this is an error, not a skip");
    eprintln!("{msg}");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_that_does_not_exist_does_not_run() {
        assert!(!runs("/nonexistent/reagent-tool"));
        assert!(runs("tar"));
    }
}
