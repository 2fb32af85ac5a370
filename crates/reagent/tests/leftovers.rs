//! Working containers and the runs that made them, against real buildah: a run
//! killed with SIGKILL leaves containers that the next run of the same project
//! removes, and nothing else; an interrupted run removes only its own containers
//! from a store that another project builds in.

mod common;

use std::time::{Duration, Instant};

use common::buildah::{
    processes_with, send_signal, start_until_step, tools_missing, wait_or_fail, BuildahProject,
};

/// Only catches hangs; nothing is asserted about speed.
const GUARD: Duration = Duration::from_secs(300);

/// Wait until a process whose command line mentions `marker` runs.
fn wait_for_process(marker: &str) {
    let deadline = Instant::now() + GUARD;
    while processes_with(marker).is_empty() {
        assert!(Instant::now() < deadline, "`{marker}` never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILL every process whose command line mentions one of `markers`, until
/// none is left.
fn kill_all_with(markers: &[&str]) {
    let deadline = Instant::now() + GUARD;
    loop {
        let pids: Vec<u32> = markers.iter().flat_map(|m| processes_with(m)).collect();
        if pids.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{pids:?} survive SIGKILL");
        for pid in pids {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The container names of a `containers()` listing (`<id> <name>` lines).
fn names(listing: &[String]) -> Vec<String> {
    listing
        .iter()
        .filter_map(|l| l.split_once(' ').map(|(_, n)| n.trim().to_string()))
        .collect()
}

#[test]
fn the_next_run_removes_the_containers_of_a_killed_run_and_leaves_others_alone() {
    if tools_missing() {
        return;
    }
    // Markers differ between the tests of this file, which run in parallel.
    let marker = format!("1001.{}", std::process::id());
    let p = BuildahProject::new("").with_busybox_base_and(&format!("RUN sleep {marker}\n"));
    let store = p.storage.path().display().to_string();
    let mut child = start_until_step(&p, &["-R", "all"], &marker);
    wait_for_process(&marker);
    // reagent dies at once; so does everything it started (as when a machine's
    // job runner kills the whole job).
    send_signal(child.id(), 9);
    wait_or_fail(&mut child, GUARD);
    kill_all_with(&[&store, &marker]);
    // Another project's working container in the same store.
    p.storage.buildah(&[
        "from",
        "--name",
        "other-project-working-container",
        "scratch",
    ]);
    let left = names(&p.storage.containers());
    assert!(
        left.len() >= 2,
        "the killed run left no working container: {left:?}"
    );

    p.write(
        "images/01-base/Containerfile",
        &format!("{}RUN true\n", common::buildah::BUSYBOX_BASE),
    );
    let r = p.run(&["build", "-R", "all"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("removed {} working container", left.len() - 1)),
        "{}",
        r.stderr
    );
    assert_eq!(
        names(&p.storage.containers()),
        vec!["other-project-working-container".to_string()]
    );
    let runs = p.dir.root().join(".reagent/state/runs");
    let files: Vec<_> = std::fs::read_dir(&runs)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert_eq!(files, Vec::<std::path::PathBuf>::new(), "run files left");
}

#[test]
fn interrupting_one_project_leaves_another_projects_build_in_the_same_store_alone() {
    if tools_missing() {
        return;
    }
    let marker_a = format!("1000.{}", std::process::id());
    let marker_b = format!("12.{}", std::process::id());
    let a = BuildahProject::new("").with_busybox_base_and(&format!("RUN sleep {marker_a}\n"));
    let b = BuildahProject::new("").with_busybox_base_and(&format!("RUN sleep {marker_b}\n"));
    // B builds in A's store.
    b.write(
        "graph.toml",
        &std::fs::read_to_string(a.path("graph.toml")).unwrap(),
    );
    let mut run_a = start_until_step(&a, &["-R", "all"], &marker_a);
    wait_for_process(&marker_a);
    // B's working container appears while A builds.
    let run_b = std::thread::spawn(move || {
        let r = b.run(&["build", "-R", "all"]);
        (r, b)
    });
    wait_for_process(&marker_b);
    send_signal(run_a.id(), 2);
    let status = wait_or_fail(&mut run_a, GUARD);
    assert_eq!(status.code(), Some(130));
    let (r, _b) = run_b.join().unwrap();
    assert_eq!(r.code, Some(0), "B failed:\n{}", r.stderr);
    assert_eq!(names(&a.storage.containers()), Vec::<String>::new());
}
