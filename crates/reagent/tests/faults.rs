//! Faults mid-build against real buildah and a real registry: a registry that
//! accepts connections and never answers; a state folder on a disk that fills
//! up during a build.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::buildah::{
    processes_with, registry_labels, registry_tags, run_guarded, send_signal, start_until_step,
    tools_missing, wait_or_fail, BuildahProject,
};
use reagent_testkit::{Registry, SilentRegistry, Tmpfs};

/// Only catches hangs; nothing is asserted about speed.
const GUARD: Duration = Duration::from_secs(300);

/// Whether `skopeo inspect` finds `reference` (in a plain-HTTP registry).
fn in_registry(reference: &str) -> bool {
    std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap()
        .status
        .success()
}

/// Run `reagent build --json all`; once a build step whose text holds
/// `marker` runs, call `then`. Returns how it ended and everything it printed
/// on stdout.
fn run_until_step_then(
    p: &BuildahProject,
    marker: &str,
    then: impl FnOnce(),
) -> (std::process::ExitStatus, String) {
    let mut child = p
        .command(&["build", "--json", "all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let reached = rx
        .iter()
        .any(|l| l.contains("\"step\"") && l.contains(marker));
    assert!(reached, "the build never reached `{marker}`");
    then();
    let status = wait_or_fail(&mut child, GUARD);
    (status, reader.join().unwrap())
}

#[test]
fn a_registry_that_never_answers_stops_the_run_and_the_next_run_resumes() {
    if tools_missing() {
        return;
    }
    let real = Registry::start();
    let silent = SilentRegistry::start();
    let host = silent.host().to_string();
    let p = BuildahProject::new(&format!(
        "[project]\nregistry = \"{host}/acme\"\n[registry]\ntls_verify = false\ntimeout = 2\n"
    ))
    .with_busybox_base();
    p.write(
        "images/tools/Containerfile",
        "FROM base\nRUN sleep 3 && echo slept > /slept\n",
    );

    // Silent from the start: the plan's lookups stop at the deadline.
    let r = run_guarded(&p, &["build", "all"], GUARD);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("registry {host} did not answer the lookup")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("within 2 s ([registry] timeout)"),
        "{}",
        r.stderr
    );
    assert!(silent.held() > 0, "the silent registry was never asked");

    // Answering while planning and base's push, silent once tools builds:
    // tools' push stops at the deadline.
    silent.forward_to(real.host());
    let (status, stdout) = run_until_step_then(&p, "sleep 3", || silent.go_silent());
    assert_eq!(status.code(), Some(1), "{stdout}");
    let tools = p.key16("tools");
    assert!(
        stdout.contains(&format!(
            "registry {host} did not answer the push of {host}/acme/tools:{tools} within 2 s"
        )),
        "{stdout}"
    );
    assert!(!in_registry(&format!("{}/acme/tools:{tools}", real.host())));
    assert_eq!(
        registry_tags(real.host(), "acme/base"),
        vec![p.key16("base"), "latest".to_string()]
    );

    // The registry answers again: the next run pushes what it built, without
    // building it again.
    silent.forward_to(real.host());
    let r = run_guarded(&p, &["build", "--json", "all"], GUARD);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let started: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("\"event\":\"started\""))
        .collect();
    assert_eq!(started.len(), 1, "{}", r.stdout);
    assert!(
        started[0].contains("\"node\":\"tools\"") && started[0].contains("\"action\":\"push\""),
        "{}",
        r.stdout
    );
    assert_eq!(
        registry_tags(real.host(), "acme/tools"),
        vec![tools, "latest".to_string()]
    );
}

#[test]
fn a_state_disk_that_fills_up_mid_build_fails_the_run_and_leaves_nothing_running() {
    if tools_missing() {
        return;
    }
    let Some(disk) = Tmpfs::mount("256k") else {
        return;
    };
    // The RUN prints far more than the disk holds, then would wait long
    // (the odd sleep length marks its process).
    let marker = format!("1000.{}", std::process::id());
    let p = BuildahProject::new("").with_busybox_base_and(&format!(
        "RUN i=0; while [ $i -lt 20000 ]; do echo \"line $i of output that fills the disk\"; i=$((i+1)); done; sleep {marker}\n"
    ));
    let state = disk.path().join("state");
    let state_arg = state.display().to_string();
    let r = run_guarded(&p, &["--state-dir", &state_arg, "build", "all"], GUARD);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let logs = state.join("logs");
    assert!(
        r.stderr
            .contains(&format!("cannot write the log {}/", logs.display())),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("No space left on device (os error 28)"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(
        processes_with(&marker),
        Vec::<u32>::new(),
        "the RUN outlived reagent"
    );
    assert_eq!(
        p.storage.containers(),
        Vec::<String>::new(),
        "working containers left"
    );
}

#[test]
fn sigterm_while_planning_stops_the_registry_lookups_and_exits_130() {
    if tools_missing() {
        return;
    }
    // Lookups that would wait ten minutes on a registry that never answers.
    let silent = SilentRegistry::start();
    let host = silent.host().to_string();
    let p = BuildahProject::new(&format!(
        "[project]\nregistry = \"{host}/acme\"\n[registry]\ntls_verify = false\ntimeout = 600\n"
    ))
    .with_busybox_base();
    let mut child = p
        .command(&["build", "all"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    // Wait for the lookup (a hang guard, not a timing assertion).
    let lookup = format!("docker://{host}/");
    let deadline = std::time::Instant::now() + GUARD;
    while processes_with(&lookup).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no lookup started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "reagent ended before its lookup"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    send_signal(child.id(), 15);
    // Were the lookups left to run, this would take the full 600 s.
    let status = wait_or_fail(&mut child, Duration::from_secs(120));
    let stderr = err.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        processes_with(&lookup),
        Vec::<u32>::new(),
        "a lookup outlived reagent"
    );
}

#[test]
fn two_signals_10_ms_apart_leave_no_buildah_or_run_process_behind() {
    if tools_missing() {
        return;
    }
    let marker = format!("1000.{}", std::process::id());
    let p = BuildahProject::new("").with_busybox_base_and(&format!("RUN sleep {marker}\n"));
    let store = p.storage.path().display().to_string();
    for signals in [[15, 15], [2, 15]] {
        let mut child = start_until_step(&p, &["-R", "all"], &marker);
        // The RUN really runs (not only its STEP line).
        let deadline = std::time::Instant::now() + GUARD;
        while processes_with(&marker).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the RUN never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        send_signal(child.id(), signals[0]);
        std::thread::sleep(Duration::from_millis(10));
        send_signal(child.id(), signals[1]);
        let status = wait_or_fail(&mut child, GUARD);
        assert_eq!(status.code(), Some(130), "{signals:?}");
        assert_eq!(
            processes_with(&marker),
            Vec::<u32>::new(),
            "{signals:?}: the RUN outlived reagent"
        );
        assert_eq!(
            processes_with(&store),
            Vec::<u32>::new(),
            "{signals:?}: a buildah of this store outlived reagent"
        );
    }
}

#[test]
fn a_publish_killed_after_the_key_tag_is_finished_by_the_next_run() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host().to_string();
    let p = BuildahProject::new(&format!(
        "[project]\nregistry = \"{host}/acme\"\n[registry]\ntls_verify = false\n"
    ))
    .with_busybox_base();
    p.ok(&["build", "all"]);
    let old = p.key("base");
    // A new build of base whose publish is killed (-9) after the key tag:
    // built locally, the key tag pushed by hand, no record, `latest` still old.
    p.write(
        "images/01-base/Containerfile",
        &format!("{}RUN echo 2 > /v\n", common::buildah::BUSYBOX_BASE),
    );
    p.ok(&["build", "-R", "all"]);
    let key16 = p.key16("base");
    p.storage.buildah(&[
        "push",
        "--tls-verify=false",
        &format!("localhost/base:{key16}"),
        &format!("docker://{host}/acme/base:{key16}"),
    ]);
    assert_eq!(
        registry_labels(&format!("{host}/acme/base:latest"))["org.reagent.key"],
        old
    );

    let r = run_guarded(&p, &["build", "--json", "all"], GUARD);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout
            .contains("\"event\":\"started\",\"node\":\"base\",\"action\":\"push\""),
        "{}",
        r.stdout
    );
    assert_eq!(
        registry_labels(&format!("{host}/acme/base:latest"))["org.reagent.key"],
        p.key("base")
    );
}
