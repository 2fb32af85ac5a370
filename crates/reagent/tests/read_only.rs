//! Reading a project writes nothing: `check`, `graph` and `explain` work on a
//! project folder nobody may write to, and leave every file as it was.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every path below `root` with its size and mtime.
fn tree(root: &Path) -> Vec<(PathBuf, u64, i64)> {
    let mut out: Vec<_> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let m = e.metadata().unwrap();
            (
                e.path().to_path_buf(),
                m.size(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000,
            )
        })
        .collect();
    out.sort();
    out
}

/// Make every folder 0555 and every file 0444.
fn read_only(root: &Path) {
    for e in walkdir::WalkDir::new(root).contents_first(true) {
        let e = e.unwrap();
        let mode = if e.file_type().is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// `reagent -C root ARGS`; with `unprivileged` and the tests running as root, as
/// `nobody` (root may write to a read-only folder; `nobody` may not).
fn reagent(root: &Path, args: &[&str], unprivileged: bool) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_reagent");
    let root_user = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let mut cmd = if root_user && unprivileged {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        Command::new(bin)
    };
    // No --state-dir and no REAGENT_STATE_DIR: the default, `<project>/.reagent`.
    cmd.env_remove("REAGENT_STATE_DIR")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_graph_and_explain_write_nothing_to_a_read_only_project() {
    let holder = tempfile::tempdir().unwrap();
    let root = holder.path().join("project");
    std::fs::create_dir(&root).unwrap();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    // A snapshot tree with no timestamp.commit is hashed file by file: the run that
    // used to write `.reagent/snapshot-cache`.
    write("graph.toml", "[snapshot]\npath = \"tree\"\n");
    write("tree/app-misc/hello/hello-1.ebuild", "EAPI=8\n");
    write("tree/profiles/repo_name", "gentoo\n");
    write("images/01-base/Containerfile", "FROM scratch\nCOPY f /f\n");
    write("images/01-base/f", "x\n");
    write("images/app/Containerfile", "FROM base\nRUN true\n");
    read_only(&root);
    // The unprivileged user must reach the project to read it.
    std::fs::set_permissions(holder.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = tree(&root);

    // As a user who may not write there (it must work), and as the one running the
    // tests, who may when that is root (it must still write nothing).
    for unprivileged in [true, false] {
        for args in [
            &["check"][..],
            &["graph"],
            &["graph", "--json"],
            &["explain", "app"],
        ] {
            let out = reagent(&root, args, unprivileged);
            assert_eq!(
                out.status.code(),
                Some(0),
                "reagent {args:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert!(
        !root.join(".reagent").exists(),
        "a state folder was created"
    );
    assert_eq!(tree(&root), before, "a file changed");
    read_only_undo(&root);
}

/// Let the temp dir be removed.
fn read_only_undo(root: &Path) {
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        let mode = if e.file_type().is_dir() { 0o755 } else { 0o644 };
        let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode));
    }
}
