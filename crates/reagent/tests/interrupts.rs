//! Stopping reagent: SIGINT during a catalyst run stops catalyst and everything
//! it started, records the stage as interrupted, and exits 130.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::buildah::{processes_with, send_signal, tools_missing, BuildahProject};

const SPEC: &str = "subarch: amd64\ntarget: stage3\nversion_stamp: t1\nrel_type: default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: abc\nsource_subpath: default/stage3-amd64-seed\n";

#[test]
fn sigint_during_a_catalyst_run_leaves_no_process_behind() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("[stages]\nstoredir = \"store\"\n");
    p.write("stages/stage3.spec", SPEC);
    // The external seed it starts from, where catalyst reads it (it is locked first).
    p.write("store/builds/default/stage3-amd64-seed.tar", "seed");
    // A stand-in catalyst that starts a grandchild and waits for it, as catalyst's
    // chroot builds do. The odd sleep length marks its processes.
    let marker = format!("1000.{}", std::process::id());
    let stand_in = p.path("catalyst");
    std::fs::write(
        &stand_in,
        format!("#!/bin/sh\necho \"stand-in catalyst $*\"\nsleep {marker} &\nwait\n"),
    )
    .unwrap();
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut child = p
        .command(&[
            "build",
            "-R",
            "--catalyst-bin",
            stand_in.to_str().unwrap(),
            "-c",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the grandchild (a hang guard, not a timing assertion).
    let deadline = Instant::now() + Duration::from_secs(120);
    while processes_with(&marker).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the stand-in never started its grandchild"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "reagent ended before catalyst ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    send_signal(child.id(), 2);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        processes_with(&marker),
        Vec::<u32>::new(),
        "catalyst's grandchild outlived the stop"
    );
    let record = std::fs::read_to_string(p.path(".reagent/builds.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(record.lines().last().unwrap()).unwrap();
    assert_eq!(last["node"], "stage3");
    assert_eq!(last["outcome"], "interrupted");
    // The stand-in's output went to the stage's log, through the one process runner.
    let logs: Vec<String> = std::fs::read_dir(p.path(".reagent/logs"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(
        logs.iter().any(|l| l.contains("stand-in catalyst -f ")),
        "{logs:?}"
    );
}
