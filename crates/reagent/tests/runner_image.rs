//! The runner image (`runner/`, the image `reagent export`'s jobs run), built
//! for real by reagent with buildah from a Debian root filesystem debootstrapped
//! from this machine's package sources, then run: reagent, buildah and skopeo
//! answer inside it.

mod common;

use std::path::Path;
use std::process::Command;

use common::buildah::{tools_missing, BuildahProject};

/// The repository's `runner/` folder.
fn runner_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runner")
}

/// Whether debootstrap runs; under `CI=true` its absence is an error, not a skip.
fn debootstrap_missing() -> bool {
    let here = Command::new("debootstrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if here {
        return false;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "debootstrap is missing (scripts/setup installs it); CI=true, so this is an error, not a skip");
    eprintln!("skipped: debootstrap missing");
    true
}

/// `buildah run` of `argv` in a fresh container from `image`; its stdout.
fn run_in(p: &BuildahProject, image: &str, argv: &[&str]) -> String {
    let ctr = p
        .storage
        .buildah(&["from", "--quiet", "--pull-never", image]);
    let ctr = ctr.trim();
    let mut command = vec!["run", "--isolation", "chroot", ctr, "--"];
    command.extend_from_slice(argv);
    let out = p.storage.buildah(&command);
    p.storage.buildah(&["rm", ctr]);
    out
}

#[test]
fn the_runner_image_builds_and_runs_reagent_buildah_and_skopeo() {
    if tools_missing() || debootstrap_missing() {
        return;
    }
    let runner = runner_dir();
    let config = std::fs::read_to_string(runner.join("graph.toml")).unwrap();
    let p = BuildahProject::new(&config);
    for image in ["01-debian", "runner"] {
        let file = format!("images/{image}/Containerfile");
        p.write(&file, &std::fs::read_to_string(runner.join(&file)).unwrap());
    }
    let prepared = Command::new(runner.join("prepare"))
        .arg("--into")
        .arg(p.dir.root())
        .arg(env!("CARGO_BIN_EXE_reagent"))
        .output()
        .unwrap();
    assert!(
        prepared.status.success(),
        "runner/prepare: {}",
        String::from_utf8_lossy(&prepared.stderr)
    );

    p.ok(&["build", "-R", "all"]);
    let images = p
        .storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(images.contains("localhost/runner:latest"), "{images}");
    // The second run finds both keys built.
    let again = p.run(&["build", "-R", "--json", "all"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(!again.stdout.contains("\"build\""), "{}", again.stdout);

    let image = "localhost/runner:latest";
    let host_version = Command::new(env!("CARGO_BIN_EXE_reagent"))
        .arg("--version")
        .output()
        .unwrap();
    let inside = run_in(&p, image, &["reagent", "--version"]);
    assert_eq!(inside, String::from_utf8_lossy(&host_version.stdout));
    assert!(inside.starts_with("reagent "), "{inside}");
    let buildah = run_in(&p, image, &["buildah", "--version"]);
    assert!(buildah.starts_with("buildah version "), "{buildah}");
    let skopeo = run_in(&p, image, &["skopeo", "--version"]);
    assert!(skopeo.starts_with("skopeo version "), "{skopeo}");
    // Debian, from this machine's release.
    let os = run_in(&p, image, &["cat", "/etc/os-release"]);
    let host_os = std::fs::read_to_string("/etc/os-release").unwrap();
    let codename = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
            .map(str::to_string)
    };
    assert_eq!(codename(&os), codename(&host_os), "{os}");
    // The job's environment: buildah with chroot isolation on vfs.
    let env = run_in(&p, image, &["env"]);
    assert!(env.contains("BUILDAH_ISOLATION=chroot"), "{env}");
    assert!(env.contains("STORAGE_DRIVER=vfs"), "{env}");
}
