//! The runner image (`runner/`, the image `reagent export`'s jobs run), built
//! for real by reagent with buildah from a Debian root filesystem debootstrapped
//! from this machine's package sources, then run: reagent, buildah and skopeo
//! answer inside it, and the busybox example's exported jobs build in it.

mod common;

use std::path::Path;
use std::process::Command;

use common::buildah::{copy_tree, registry_tags, tools_missing, BuildahProject};

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
    run_with(p, image, &[], argv)
}

/// The capabilities a CI engine's privileged job container has, as far as
/// this machine grants them: what buildah needs to build inside it.
const JOB_CAPS: &[&str] = &[
    "CAP_SYS_ADMIN",
    "CAP_SYS_CHROOT",
    "CAP_SETFCAP",
    "CAP_MKNOD",
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETPCAP",
    "CAP_AUDIT_WRITE",
];

/// [`run_in`] with more `buildah run` options before the container.
fn run_with(p: &BuildahProject, image: &str, options: &[&str], argv: &[&str]) -> String {
    let ctr = p
        .storage
        .buildah(&["from", "--quiet", "--pull-never", image]);
    let ctr = ctr.trim();
    let mut command = vec!["run", "--isolation", "chroot"];
    command.extend_from_slice(options);
    command.extend_from_slice(&[ctr, "--"]);
    command.extend_from_slice(argv);
    let out = p.storage.buildah(&command);
    p.storage.buildah(&["rm", ctr]);
    out
}

#[test]
fn the_runner_image_builds_runs_its_tools_and_runs_exported_jobs() {
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
    let env = p
        .storage
        .buildah(&["inspect", "--format", "{{.OCIv1.Config.Env}}", image]);
    assert!(env.contains("BUILDAH_ISOLATION=chroot"), "{env}");
    assert!(env.contains("STORAGE_DRIVER=vfs"), "{env}");

    run_exported_jobs(&p, image);
}

/// The jobs `reagent export` writes for the busybox example, run in `image` the
/// way a CI engine runs them: base on one machine, then app on another (a fresh
/// store: the mounted project's state folder removed between them), sharing
/// only a registry.
fn run_exported_jobs(p: &BuildahProject, image: &str) {
    let registry = reagent_testkit::Registry::start();
    let example = busybox_example(registry.host());
    let mount = format!("{}:/project", example.path().display());
    let mut options = vec!["--volume", mount.as_str()];
    for cap in JOB_CAPS {
        options.extend_from_slice(&["--cap-add", cap]);
    }
    let plan = Command::new(env!("CARGO_BIN_EXE_reagent"))
        .arg("-C")
        .arg(example.path())
        .args(["export", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let key16 = |node: &str| {
        plan["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == node)
            .unwrap()["key"]
            .as_str()
            .unwrap()[..16]
            .to_string()
    };
    for node in ["base", "app"] {
        let state = example.path().join(".reagent");
        if state.exists() {
            std::fs::remove_dir_all(&state).unwrap();
        }
        run_with(
            p,
            image,
            &options,
            &["reagent", "-C", "/project", "build", "--only", node],
        );
        let tags = registry_tags(registry.host(), &format!("acme/{node}"));
        assert!(tags.contains(&key16(node)), "{node}: {tags:?}");
    }
    // app's job pulled base from the registry rather than building it.
    let record = std::fs::read_to_string(example.path().join(".reagent/builds.jsonl")).unwrap();
    let outcome = |node: &str| {
        record
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|r| r["node"] == node)
            .map(|r| r["outcome"].as_str().unwrap().to_string())
    };
    assert_eq!(outcome("base").as_deref(), Some("pulled"), "{record}");
    assert_eq!(outcome("app").as_deref(), Some("built"), "{record}");
}

/// The busybox example, pushing to `<registry>/acme`, in a fresh folder.
fn busybox_example(registry: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("reagent-runner-job-")
        .tempdir()
        .unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/busybox");
    copy_tree(&example, dir.path());
    std::fs::copy("/bin/busybox", dir.path().join("images/01-base/busybox")).unwrap();
    let config = std::fs::read_to_string(dir.path().join("graph.toml")).unwrap();
    let config = config.replacen(
        "[project]\n",
        &format!("[project]\nregistry = \"{registry}/acme\"\n"),
        1,
    ) + "\n[registry]\ntls_verify = false\n";
    std::fs::write(dir.path().join("graph.toml"), config).unwrap();
    dir
}
