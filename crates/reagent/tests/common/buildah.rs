//! A project for tests that run the real `reagent` binary against real
//! buildah: a temp dir whose `graph.toml` points `[buildah]` at a temp store
//! (chroot isolation, vfs), so nothing touches the host's images.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use reagent_testkit::Storage;
use serde_json::Value;

/// The base image's Containerfile: the host's static busybox, installed.
pub const BUSYBOX_BASE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n";

/// Where `with_vdb_app` keeps app's fake package database (its build context's `vdb/`).
pub const APP_VDB: &str = "images/app/vdb";

/// The packages `with_vdb_app` installs: (cpv, SLOT, USE, IUSE).
pub const APP_PACKAGES: [(&str, &str, &str, &str); 3] = [
    (
        "www-servers/nginx-1.24.0",
        "0",
        "amd64 ssl http2",
        "+ssl +http2 debug",
    ),
    (
        "dev-libs/openssl-3.1.4",
        "0/3",
        "amd64 asm",
        "asm ktls test",
    ),
    (
        "sys-libs/zlib-1.2.13",
        "0/1",
        "amd64",
        "minizip static-libs",
    ),
];

/// A project folder and the buildah store its `graph.toml` points at.
pub struct BuildahProject {
    pub dir: reagent_testkit::ProjectDir,
    pub storage: Storage,
    extra_config: String,
}

/// How one `reagent` run ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl BuildahProject {
    /// A project on a fresh store; `extra_config` follows `[buildah]` in `graph.toml`.
    pub fn new(extra_config: &str) -> BuildahProject {
        let p = BuildahProject {
            dir: reagent_testkit::ProjectDir::new(""),
            storage: Storage::new(),
            extra_config: extra_config.to_string(),
        };
        p.write_config();
        p
    }

    /// The `extra_config` this project was made with.
    pub fn extra_config(&self) -> &str {
        &self.extra_config
    }

    /// (Re)write `graph.toml`: `[buildah]` on this project's store, then `extra_config`.
    pub fn write_config(&self) {
        let s = self.storage.settings();
        self.write(
            "graph.toml",
            &format!(
                "[buildah]\nisolation = \"chroot\"\nstorage_driver = \"vfs\"\nroot = \"{}\"\nrunroot = \"{}\"\n{}",
                s.root.unwrap().display(),
                s.runroot.unwrap().display(),
                self.extra_config
            ),
        );
    }

    /// `images/01-base`: busybox installed ([`BUSYBOX_BASE`]), then `more` instructions.
    pub fn with_busybox_base_and(self, more: &str) -> BuildahProject {
        std::fs::create_dir_all(self.path("images/01-base")).unwrap();
        std::fs::copy("/bin/busybox", self.path("images/01-base/busybox")).unwrap();
        self.write(
            "images/01-base/Containerfile",
            &format!("{BUSYBOX_BASE}{more}"),
        );
        self
    }

    /// The text of `path` (relative to the root) in the image `node` was last
    /// built as, read through a mount (nothing runs in the image).
    pub fn file_in(&self, node: &str, path: &str) -> String {
        let image = format!("localhost/{node}:{}", self.key16(node));
        let container = self.storage.buildah(&["from", "--pull=never", &image]);
        let container = container.trim();
        let root = self.storage.buildah(&["mount", container]);
        let text = std::fs::read_to_string(std::path::Path::new(root.trim()).join(path));
        self.storage.buildah(&["rm", container]);
        text.unwrap_or_else(|e| panic!("{path} in {image}: {e}"))
    }

    /// `images/01-base`: busybox installed ([`BUSYBOX_BASE`]).
    pub fn with_busybox_base(self) -> BuildahProject {
        self.with_busybox_base_and("")
    }

    /// `images/app`, FROM base, whose `/var/db/pkg` is copied from [`APP_VDB`]
    /// holding [`APP_PACKAGES`].
    pub fn with_vdb_app(self) -> BuildahProject {
        self.write(
            "images/app/Containerfile",
            "FROM base\nCOPY vdb/ /var/db/pkg/\n",
        );
        for (cpv, slot, use_flags, iuse) in APP_PACKAGES {
            self.vdb_package(APP_VDB, cpv, slot, use_flags, iuse);
        }
        self
    }

    /// A fake VDB entry `<vdb>/<cpv>/` with SLOT, USE, IUSE and repository.
    pub fn vdb_package(&self, vdb: &str, cpv: &str, slot: &str, use_flags: &str, iuse: &str) {
        let dir = format!("{vdb}/{cpv}");
        self.write(&format!("{dir}/SLOT"), &format!("{slot}\n"));
        self.write(&format!("{dir}/USE"), &format!("{use_flags}\n"));
        self.write(&format!("{dir}/IUSE"), &format!("{iuse}\n"));
        self.write(&format!("{dir}/repository"), "gentoo\n");
    }

    /// `rel` inside the project folder.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path(rel)
    }

    /// Write `rel` (and its parent folders) in the project folder.
    pub fn write(&self, rel: &str, text: &str) {
        self.dir.write(rel, text);
    }

    /// `reagent -C <project> ARGS` with stdin closed, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reagent"));
        cmd.arg("-C")
            .arg(self.dir.root())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Run `reagent ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Run `reagent ARGS`, which must exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let Run {
            code,
            stdout,
            stderr,
        } = self.run(args);
        assert_eq!(code, Some(0), "reagent {args:?}\n{stdout}\n{stderr}");
        stdout
    }

    /// `reagent build -R all`, which must succeed.
    pub fn build_all(&self) {
        let r = self.run(&["build", "-R", "all"]);
        assert_eq!(r.code, Some(0), "build failed:\n{}", r.stderr);
    }

    /// The node's current full key, from `reagent graph --json`.
    pub fn key(&self, node: &str) -> String {
        let v: Value = serde_json::from_str(&self.ok(&["graph", "--json"])).unwrap();
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == node)
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The same project files on a fresh store, without the state folder:
    /// another CI machine with its own checkout.
    pub fn on_another_machine(&self) -> BuildahProject {
        let other = BuildahProject::new(self.extra_config());
        copy_tree(self.dir.root(), other.dir.root());
        other.write_config();
        other
    }

    /// The first 16 hex digits of the node's current key (its image tag).
    pub fn key16(&self, node: &str) -> String {
        self.key(node)[..16].to_string()
    }
}

/// True, after saying so on stderr, when buildah and the other container
/// tools are missing: the caller's test then passes without running.
pub fn tools_missing() -> bool {
    if reagent_testkit::require_tools() {
        return false;
    }
    eprintln!("skipped: container tools missing");
    true
}

/// Start `reagent build --json ARGS` in `p`; return once a build step whose
/// text contains `marker` runs. The child's output keeps being drained, so it
/// never blocks on a full pipe.
pub fn start_until_step(p: &BuildahProject, args: &[&str], marker: &str) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut all = vec!["build", "--json"];
    all.extend_from_slice(args);
    let mut child = p
        .command(&all)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let wanted = marker.to_string();
    let seen = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let found = lines
            .by_ref()
            .any(|l| l.contains("\"step\"") && l.contains(&wanted));
        std::thread::spawn(move || lines.for_each(drop));
        found
    });
    assert!(seen.join().unwrap(), "the build never reached `{marker}`");
    child
}

/// Wait for `child`; one still running after `guard` is killed and fails the test
/// as hung. The guard only catches hangs: nothing is asserted about speed.
pub fn wait_or_fail(
    child: &mut std::process::Child,
    guard: std::time::Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + guard;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("reagent hung for {guard:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Run `reagent ARGS` in `p`, failing the test as hung after `guard`.
pub fn run_guarded(p: &BuildahProject, args: &[&str], guard: std::time::Duration) -> Run {
    use std::io::Read;
    let mut child = p
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_or_fail(&mut child, guard);
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Send `signal` to `pid` through the `kill` command (argv, no shell).
pub fn send_signal(pid: u32, signal: i32) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Copy the files under `from` into `to`, leaving out `.reagent` (state and stores).
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        if rel.starts_with(".reagent") {
            continue;
        }
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// The tags of `<registry>/<repo>`, sorted (`skopeo list-tags`); none when
/// the repository does not exist.
pub fn registry_tags(registry: &str, repo: &str) -> Vec<String> {
    let out = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false"])
        .arg(format!("docker://{registry}/{repo}"))
        .output()
        .unwrap();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            // A registry that never held the repository answers a bare 404.
            err.contains("name unknown")
                || err.contains("NAME_UNKNOWN")
                || err.contains("404 (Not Found)"),
            "skopeo list-tags {registry}/{repo}: {err}"
        );
        return Vec::new();
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut tags: Vec<String> = v["Tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}

/// The labels of the image at `reference` in a registry (`skopeo inspect`).
pub fn registry_labels(reference: &str) -> Value {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Labels"].clone()
}

/// Pids of processes whose command line mentions `marker`.
pub fn processes_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            out.push(pid);
        }
    }
    out
}
