//! Where the output goes: a reader that stops early ends reagent quietly; a
//! stdout that cannot be written (a full disk, `> /dev/full`) is an error.

mod common;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::Test;

/// A project of 3000 images, so `graph` prints far more than a pipe holds
/// and is still writing when the reader goes away.
fn wide() -> Test {
    let mut t = Test::new().image("base", "FROM scratch\n");
    for i in 0..3000 {
        t = t.image(&format!("image-{i:04}"), "FROM base\n");
    }
    t
}

/// `reagent -C DIR ARGS` with stdout on `/dev/full`: exit code and stderr.
fn to_dev_full(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reagent"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(full)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_reader_that_stops_after_one_line_ends_reagent_quietly() {
    let t = wide();
    for args in [&["graph"][..], &["graph", "--json"], &["graph", "--dot"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reagent"))
            .arg("-C")
            .arg(t.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -1`: read one line, then close the pipe while reagent writes.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?} printed nothing");
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn a_stdout_that_cannot_be_written_is_an_error() {
    let t = Test::new().family();
    for args in [
        &["graph"][..],
        &["graph", "--json"],
        &["check"],
        &["explain", "app"],
        &["graph", "--dot"],
    ] {
        let (code, stderr) = to_dev_full(t.path(), args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: cannot write to standard output: No space left on device"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn build_events_that_cannot_be_written_fail_the_run() {
    if common::buildah::tools_missing() {
        return;
    }
    let p = common::buildah::BuildahProject::new("").with_busybox_base();
    let (code, stderr) = to_dev_full(p.dir.root(), &["build", "--json", "-R", "all"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: cannot write to standard output: No space left on device"),
        "{stderr}"
    );
    // The build itself went well and was recorded: the next run has nothing to do.
    let again = p.ok(&["build", "--json", "-R", "all"]);
    assert!(!again.contains("\"event\":\"started\""), "{again}");
}
