//! `reagent diff` against real buildah (chroot isolation, vfs, a temp root):
//! two builds of an image whose `/var/db/pkg` is a fake VDB copied from the
//! build context, with a version bump, a USE change, an added and a removed
//! package between them.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use reagent_testkit::{require_tools, Storage};
use serde_json::Value;

const BASE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n";

struct Project {
    dir: tempfile::TempDir,
    _storage: Storage,
}

impl Project {
    fn new() -> Project {
        let storage = Storage::new();
        let s = storage.settings();
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
            _storage: storage,
        };
        p.write(
            "graph.toml",
            &format!(
                "[buildah]\nisolation = \"chroot\"\nstorage_driver = \"vfs\"\nroot = \"{}\"\nrunroot = \"{}\"\n",
                s.root.unwrap().display(),
                s.runroot.unwrap().display()
            ),
        );
        std::fs::create_dir_all(p.path("images/01-base")).unwrap();
        std::fs::copy("/bin/busybox", p.path("images/01-base/busybox")).unwrap();
        p.write("images/01-base/Containerfile", BASE);
        p.write(
            "images/app/Containerfile",
            "FROM base\nCOPY vdb/ /var/db/pkg/\n",
        );
        p.package(
            "www-servers/nginx-1.24.0",
            "0",
            "amd64 ssl http2",
            "+ssl +http2 debug",
        );
        p.package(
            "dev-libs/openssl-3.1.4",
            "0/3",
            "amd64 asm",
            "asm ktls test",
        );
        p.package(
            "sys-libs/zlib-1.2.13",
            "0/1",
            "amd64",
            "minizip static-libs",
        );
        p.package("dev-lang/python-3.11.8", "3.11", "amd64 ssl", "ssl sqlite");
        p
    }

    fn package(&self, cpv: &str, slot: &str, use_flags: &str, iuse: &str) {
        let dir = format!("images/app/vdb/{cpv}");
        self.write(&format!("{dir}/SLOT"), &format!("{slot}\n"));
        self.write(&format!("{dir}/USE"), &format!("{use_flags}\n"));
        self.write(&format!("{dir}/IUSE"), &format!("{iuse}\n"));
        self.write(&format!("{dir}/repository"), "gentoo\n");
    }

    fn remove(&self, cpv: &str) {
        std::fs::remove_dir_all(self.path(&format!("images/app/vdb/{cpv}"))).unwrap();
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_reagent"))
            .arg("-C")
            .arg(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run::from(out)
    }

    fn build_all(&self) {
        let r = self.run(&["build", "-R", "all"]);
        assert_eq!(r.code, Some(0), "build failed:\n{}", r.stderr);
    }

    /// The node's current full key, from `reagent graph --json`.
    fn key(&self, node: &str) -> String {
        let out = self.run(&["graph", "--json"]);
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
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
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
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

/// Second build: nginx bumped, openssl gains `ktls`, python moves to a new
/// slot, zlib removed, ca-certificates added.
fn change_packages(p: &Project) {
    p.remove("www-servers/nginx-1.24.0");
    p.package(
        "www-servers/nginx-1.25.3",
        "0",
        "amd64 ssl http2",
        "+ssl +http2 debug",
    );
    p.package(
        "dev-libs/openssl-3.1.4",
        "0/3",
        "amd64 asm ktls",
        "asm ktls test",
    );
    p.remove("dev-lang/python-3.11.8");
    p.package(
        "dev-lang/python-3.12.2",
        "3.12",
        "amd64 ssl sqlite",
        "ssl sqlite",
    );
    p.remove("sys-libs/zlib-1.2.13");
    p.package("app-misc/ca-certificates-20240203", "0", "amd64", "");
}

#[test]
fn diff_between_the_last_two_builds_and_explicit_keys() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let p = Project::new();
    p.build_all();
    let one = p.key("app");

    // One build: nothing to compare with.
    let r = p.run(&["diff", "app"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("1 successful build recorded"),
        "{}",
        r.stderr
    );

    change_packages(&p);
    p.build_all();
    let two = p.key("app");
    assert_ne!(one, two);

    let r = p.run(&["diff", "app"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "diff app/{} app/{}\n\
             + app-misc/ca-certificates-20240203\n\
             ~ dev-lang/python 3.11.8 -> 3.12.2 [+sqlite] (slot 3.11 -> 3.12)\n\
             ~ dev-libs/openssl 3.1.4 [+ktls]\n\
             - sys-libs/zlib-1.2.13\n\
             ~ www-servers/nginx 1.24.0 -> 1.25.3\n",
            &one[..16],
            &two[..16]
        )
    );

    // Explicit key prefixes, either way round.
    let r = p.run(&["diff", "app", &two[..6], &one[..6]]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "diff app/{} app/{}\n\
             - app-misc/ca-certificates-20240203\n\
             ~ dev-lang/python 3.12.2 -> 3.11.8 [-sqlite] (slot 3.12 -> 3.11)\n\
             ~ dev-libs/openssl 3.1.4 [-ktls]\n\
             + sys-libs/zlib-1.2.13\n\
             ~ www-servers/nginx 1.25.3 -> 1.24.0\n",
            &two[..16],
            &one[..16]
        )
    );

    // The same build on both sides: no changes.
    let r = p.run(&["diff", "app", &one[..8], &one[..8]]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, format!("diff app/{0} app/{0}\n", &one[..16]));
    assert!(r.stderr.contains("no package changes"), "{}", r.stderr);

    // JSON.
    let r = p.run(&["diff", "--json", "app"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["image"], "app");
    assert_eq!(v["old"], one.as_str());
    assert_eq!(v["new"], two.as_str());
    assert_eq!(v["added"][0]["package"], "app-misc/ca-certificates");
    assert_eq!(v["added"][0]["version"], "20240203");
    assert_eq!(v["removed"][0]["package"], "sys-libs/zlib");
    assert_eq!(v["removed"][0]["slot"], "0/1");
    let changed = v["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 3);
    assert_eq!(changed[1]["package"], "dev-libs/openssl");
    assert_eq!(changed[1]["use_added"], serde_json::json!(["ktls"]));
    assert_eq!(changed[2]["old_version"], "1.24.0");
    assert_eq!(changed[2]["new_version"], "1.25.3");

    // Bad prefixes.
    let r = p.run(&["diff", "app", "abc", &two[..6]]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("at least 4 hex digits"), "{}", r.stderr);
    let unknown = if one.starts_with("0000") || two.starts_with("0000") {
        "ffff"
    } else {
        "0000"
    };
    let r = p.run(&["diff", "app", unknown, &two[..6]]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("no build of app has a key starting with"),
        "{}",
        r.stderr
    );

    // Unknown image.
    let r = p.run(&["diff", "nope"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("no node named `nope`"), "{}", r.stderr);
}

#[test]
fn a_rebuild_of_the_same_key_is_not_a_second_build() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let p = Project::new();
    p.build_all();
    // Forcing a rebuild records the same key again: still only one distinct build.
    let r = p.run(&["build", "-R", "--force", "app", "app"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = p.run(&["diff", "app"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("a diff needs two"), "{}", r.stderr);
}
