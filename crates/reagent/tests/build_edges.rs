//! Adversarial edges of `reagent build` against real buildah: secrets, the
//! state lock between two processes, dry runs, a broken state folder,
//! registries that answer 500 or 401 or not at all, and a -j2 run stopped
//! mid-build.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::buildah::{
    run_guarded, send_signal, start_until_step, tools_missing, wait_or_fail, BuildahProject, Run,
};

const SECRET: &str = "hunter2-token-value";

/// base ← tools; tools sleeps `secs` in a RUN when `secs > 0`.
fn project(extra: &str, tools_sleep: u32) -> BuildahProject {
    let p = BuildahProject::new(extra).with_busybox_base();
    let run = if tools_sleep > 0 {
        format!("RUN sleep {tools_sleep} && echo slept > /slept\n")
    } else {
        "RUN echo tools > /tools\n".to_string()
    };
    p.write("images/tools/Containerfile", &format!("FROM base\n{run}"));
    p
}

/// Every file under `dir` with its contents (lossy), for grepping.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            (e.path().display().to_string(), text)
        })
        .collect()
}

// ---------------------------------------------------------------- secrets

#[test]
fn a_secret_build_arg_reaches_no_file_event_or_message() {
    if tools_missing() {
        return;
    }
    // The ADD expands the secret into a URL (loopback port 1: refused at
    // once), and buildah's error quotes that URL.
    let p = project(
        &format!("[image.tools]\nargs = {{ TOKEN = \"{SECRET}\" }}\n"),
        0,
    );
    p.write(
        "images/tools/Containerfile",
        "FROM base\nARG TOKEN\nRUN echo \"token is $TOKEN\"\nADD http://user:${TOKEN}@127.0.0.1:1/f /f\n",
    );
    let explain = p.run(&["build", "-R", "-n", "--explain", "all"]);
    let dry = p.run(&["build", "-R", "-n", "--json", "all"]);
    let run = p.run(&["build", "-R", "--json", "-v", "all"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let plain = p.run(&["build", "-R", "-v", "all"]);
    assert_eq!(plain.code, Some(1));

    // The value was really used: the masked form shows where it was.
    let log = files_under(&p.path(".reagent/logs"))
        .into_iter()
        .find(|(path, _)| path.contains("tools-"))
        .unwrap();
    assert!(log.1.contains("token is ***"), "{}", log.1);
    for (what, text) in [
        ("build --explain (stdout)", &explain.stdout),
        ("build -n (stdout)", &dry.stdout),
        ("build --json (stdout)", &run.stdout),
        ("build --json (stderr)", &run.stderr),
        ("build -v (stderr)", &plain.stderr),
    ] {
        assert!(!text.contains(SECRET), "{what} shows the secret:\n{text}");
    }
    for (path, text) in files_under(&p.path(".reagent")) {
        assert!(!text.contains(SECRET), "{path} holds the secret:\n{text}");
    }
}

// ---------------------------------------------------------------- the state lock

#[test]
fn a_second_build_waits_for_the_lock_or_fails_at_once_with_no_wait() {
    if tools_missing() {
        return;
    }
    let p = project("", 4);
    let mut first = start_until_step(&p, &["-R", "-j1", "tools"], "sleep 4");

    let refused = p.run(&["build", "-R", "--no-wait", "all"]);
    // It did not wait for the first build to end: that one is still running.
    assert!(
        first.try_wait().unwrap().is_none(),
        "--no-wait returned only after the first build ended"
    );
    // Nothing was wrong with the input: the build could not run (exit 1).
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!("pid {}", first.id())),
        "{}",
        refused.stderr
    );

    // Without --no-wait the second one says whom it waits for, then runs
    // after the first finished and finds everything built.
    let second = p.run(&["build", "-R", "--json", "all"]);
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains(&format!("waiting for another reagent (pid {})", first.id())),
        "{}",
        second.stderr
    );
    assert!(first.wait().unwrap().success());
    assert!(
        !second.stdout.contains("\"finished\""),
        "nothing left to build: {}",
        second.stdout
    );
}

// ---------------------------------------------------------------- dry run

#[test]
fn a_dry_run_changes_nothing_but_the_lock_and_the_stat_caches() {
    if tools_missing() {
        return;
    }
    let p = project("", 0);
    let out = p.ok(&["build", "-R", "-n", "all"]);
    assert!(out.contains("never built"), "{out}");
    let mut names: Vec<String> = std::fs::read_dir(p.path(".reagent"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // The context files' stat cache and folder listings record what was read,
    // not what was built: no build record, no log, no registry sighting.
    assert_eq!(names, ["context-cache", "context-dirs", "lock"]);
    assert!(
        !p.storage
            .buildah(&["images", "--format", "{{.Name}}"])
            .contains("localhost/"),
        "no image was built"
    );
}

// ---------------------------------------------------------------- a broken state folder

#[test]
fn a_state_folder_that_is_a_file_is_a_clear_error() {
    if tools_missing() {
        return;
    }
    let p = project("", 0);
    p.write(".reagent", "not a folder\n");
    let run = p.run(&["build", "-R", "all"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains(".reagent"), "{}", run.stderr);
    assert!(run.stderr.contains("not a folder"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_garbage_build_record_is_skipped_and_repaired() {
    if tools_missing() {
        return;
    }
    let p = project("", 0);
    std::fs::create_dir_all(p.path(".reagent")).unwrap();
    std::fs::write(
        p.path(".reagent/builds.jsonl"),
        b"\x00\xff garbage {{\n[1,2",
    )
    .unwrap();
    p.build_all();
    let again = p.run(&["build", "-R", "--json", "all"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(!again.stdout.contains("\"finished\""), "{}", again.stdout);
    let text = String::from_utf8_lossy(&std::fs::read(p.path(".reagent/builds.jsonl")).unwrap())
        .into_owned();
    assert!(text.contains("\"outcome\":\"built\""), "{text}");
    assert!(!text.contains("[1,2"), "the torn tail was cut: {text}");
}

// ---------------------------------------------------------------- registries that answer badly

/// A loopback HTTP server that answers every request with `status`, `extra`
/// headers and `body`, for at most 200 connections or 120 s, then stops by
/// itself (or when [`BadRegistry::served`] asks it to).
struct BadRegistry {
    host: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl BadRegistry {
    fn start(status: &'static str, extra: &'static str, body: &'static str) -> BadRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut served = 0;
            while Instant::now() < deadline && served < 200 && !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        served += 1;
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 4096];
                        let _ = conn.read(&mut buf);
                        let _ = write!(
                            conn,
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            served
        });
        BadRegistry {
            host,
            stop,
            thread: Some(thread),
        }
    }

    /// Stop it; how many connections it answered.
    fn served(mut self) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().map_or(0, |t| t.join().unwrap_or(0))
    }
}

fn registry_config(host: &str) -> String {
    format!("[project]\nregistry = \"{host}/acme\"\n[registry]\ntls_verify = false\n")
}

fn check_bad_registry(status: &'static str, extra: &'static str, body: &'static str, says: &str) {
    let server = BadRegistry::start(status, extra, body);
    let p = project(&registry_config(&server.host), 0);
    // A registry that answers badly must give an error, not a hang.
    let guard = Duration::from_secs(120);
    let run: Run = run_guarded(&p, &["build", "all"], guard);
    let dry: Run = run_guarded(&p, &["build", "-n", "all"], guard);
    for r in [&run, &dry] {
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        assert!(
            r.stderr.to_ascii_lowercase().contains(says),
            "expected `{says}` in:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    // -R never asks it.
    p.build_all();
    drop(p);
    assert!(server.served() > 0, "the registry was asked");
}

#[test]
fn a_registry_answering_500_is_a_clear_error_without_a_hang() {
    if tools_missing() {
        return;
    }
    check_bad_registry("500 Internal Server Error", "", "oops\n", "500");
}

#[test]
fn a_registry_answering_401_is_a_clear_error_without_a_hang() {
    if tools_missing() {
        return;
    }
    check_bad_registry(
        "401 Unauthorized",
        "WWW-Authenticate: Basic realm=\"test\"\r\n",
        "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}",
        "unauthorized",
    );
}

// ---------------------------------------------------------------- a stop while planning

#[test]
fn a_stop_while_the_plan_asks_the_registry_is_reported_as_interrupted() {
    if tools_missing() {
        return;
    }
    let server = reagent_testkit::SilentRegistry::start();
    let p = project(&registry_config(server.host()), 0);
    let report = p.path("out/report.json");
    let mut child = p
        .command(&["build", "--report", report.to_str().unwrap(), "all"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.held() == 0 {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the registry was never asked");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    send_signal(child.id(), 2);
    let status = wait_or_fail(&mut child, Duration::from_secs(120));
    assert_eq!(status.code(), Some(130), "{status:?}");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["status"], "interrupted", "{written}");
    assert_eq!(written["nodes"], serde_json::json!([]), "{written}");
    assert!(
        written
            .get("summary")
            .is_none_or(serde_json::Value::is_null),
        "{written}"
    );
    // Nothing was built or recorded.
    let record = std::fs::read_to_string(p.path(".reagent/builds.jsonl")).unwrap_or_default();
    assert_eq!(record, "");
}

// ---------------------------------------------------------------- -j2 stopped together

#[test]
fn two_parallel_builds_on_one_store_stopped_together_leave_nothing_behind() {
    if tools_missing() {
        return;
    }
    // Builds that would run for ten minutes: ending at all means they were stopped.
    let p = project("", 600);
    p.write(
        "images/other/Containerfile",
        "FROM base\nRUN sleep 600 && echo slept > /other\n",
    );
    let mut child = start_until_step(&p, &["-R", "-j2", "all"], "sleep 600");
    // Give the sibling a moment to reach its RUN as well.
    std::thread::sleep(Duration::from_millis(800));
    send_signal(child.id(), 2);
    let status = wait_or_fail(&mut child, Duration::from_secs(120));
    assert_eq!(status.code(), Some(130));
    assert!(
        p.storage.containers().is_empty(),
        "working containers left: {:?}",
        p.storage.containers()
    );
    // The next run builds both; shorter now, so the test does not wait ten minutes.
    for image in ["tools", "other"] {
        p.write(
            &format!("images/{image}/Containerfile"),
            &format!("FROM base\nRUN sleep 1 && echo slept > /{image}\n"),
        );
    }
    let run = p.run(&["build", "-R", "--json", "-j2", "all"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("\"node\":\"other\""), "{}", run.stdout);
}
