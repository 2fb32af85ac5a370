//! `Backend::run_tool` on the real backend: host programs run through the
//! same process runner as buildah. These tests need only `sh` and `sleep`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reagent_backend::redact::Secrets;
use reagent_backend::{Backend, BackendError, Buildah, BuildahSettings, Cancel, ToolRequest};

/// `run_tool` needs no buildah store: the default settings do.
fn backend() -> Buildah {
    Buildah::new(BuildahSettings::default())
}

fn request(log: &Path, script: &str) -> ToolRequest {
    ToolRequest {
        program: PathBuf::from("sh"),
        args: vec!["-c".to_string(), script.to_string()],
        secrets: Secrets::default(),
        log: log.to_path_buf(),
        timeout: None,
    }
}

/// A `sleep` argument no other process on this machine has: a long sleep
/// whose fractional digits name this test process and call.
fn unique_sleep() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "1000.{}{:03}{nanos:09}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The argv of every process whose command line mentions `marker`
/// (zombies have an empty command line and so never match).
fn processes_mentioning(marker: &str) -> Vec<Vec<String>> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| {
            raw.split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
        })
        .filter(|argv| argv.iter().any(|a| a.contains(marker)))
        .collect()
}

/// Wait until a process has `marker` as an argument of its own (the
/// grandchild `sleep`, not the shell whose script mentions it). The deadline
/// only guards against a hang; nothing is measured.
fn wait_for_grandchild(marker: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if processes_mentioning(marker)
            .iter()
            .any(|argv| argv.iter().any(|a| a == marker))
        {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Run `script` (which starts `sleep <marker>` in the background), cancel
/// once the grandchild runs, and return what `run_tool` returned.
fn run_and_cancel(script: &str, marker: &str, log: &Path) -> Result<(), BackendError> {
    let cancel = Cancel::new();
    let req = request(log, script);
    thread::scope(|s| {
        let c = cancel.clone();
        let watcher = s.spawn(move || {
            let seen = wait_for_grandchild(marker);
            c.cancel();
            seen
        });
        let result = backend().run_tool(&req, &cancel, &mut |_| {});
        assert!(
            watcher.join().unwrap(),
            "the grandchild `sleep {marker}` never started"
        );
        result
    })
}

#[test]
fn cancel_stops_the_whole_process_group_grandchildren_included() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tool.log");
    let marker = unique_sleep();
    let script = format!("sleep {marker} & echo started; wait");
    let result = run_and_cancel(&script, &marker, &log);
    assert!(
        matches!(result, Err(BackendError::Interrupted)),
        "{result:?}"
    );
    let left = processes_mentioning(&marker);
    assert!(
        left.is_empty(),
        "still running after the call returned: {left:?}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("$ sh -c "), "{text}");
    assert!(text.contains("started"), "{text}");
}

#[test]
fn cancel_kills_a_group_that_ignores_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tool.log");
    let marker = unique_sleep();
    // An ignored signal stays ignored across fork and exec: neither the shell
    // nor its `sleep` stops on SIGTERM, so only SIGKILL ends them.
    let script = format!("trap '' TERM; sleep {marker} & echo started; wait");
    let result = run_and_cancel(&script, &marker, &log);
    assert!(
        matches!(result, Err(BackendError::Interrupted)),
        "{result:?}"
    );
    let left = processes_mentioning(&marker);
    assert!(
        left.is_empty(),
        "still running after the call returned: {left:?}"
    );
}

#[test]
fn a_time_limit_is_its_own_error_and_stops_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let marker = unique_sleep();
    let mut req = request(
        &dir.path().join("tool.log"),
        &format!("sleep {marker} & wait"),
    );
    req.timeout = Some(Duration::from_millis(300));
    let result = backend().run_tool(&req, &Cancel::new(), &mut |_| {});
    match result {
        Err(BackendError::TimedOut { command, after }) => {
            assert_eq!(after, Duration::from_millis(300));
            assert!(command.starts_with("sh -c "), "{command}");
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
    let left = processes_mentioning(&marker);
    assert!(
        left.is_empty(),
        "still running after the call returned: {left:?}"
    );
}

#[test]
fn failure_reports_the_exit_code_with_secrets_masked_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tool.log");
    let mut req = request(
        &log,
        "echo \"fetching https://u:$1@host/f\"; echo \"bad token $1\" >&2; exit 3",
    );
    // `sh -c SCRIPT NAME ARG`: $0 is `tool`, $1 the secret.
    req.args
        .extend(["tool".to_string(), "hunter2-secret".to_string()]);
    req.secrets = Secrets::new(["hunter2-secret"]);
    let mut lines = Vec::new();
    let err = backend()
        .run_tool(&req, &Cancel::new(), &mut |l| lines.push(l.to_string()))
        .unwrap_err();
    assert!(
        matches!(err, BackendError::Failed { code: Some(3), .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("` exited with 3: "), "{message}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("$ sh -c "), "{text}");
    assert!(
        text.lines().next().unwrap().ends_with(" tool ***"),
        "{text}"
    );
    for shown in [&message, &text, &lines.join("\n")] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

#[test]
fn success_streams_lines_and_creates_the_log_folder() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("nested/folder/tool.log");
    let req = request(&log, "echo one; echo two >&2");
    let mut lines = Vec::new();
    backend()
        .run_tool(&req, &Cancel::new(), &mut |l| lines.push(l.to_string()))
        .unwrap();
    lines.sort();
    assert_eq!(lines, ["one", "two"]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("one") && text.contains("two"), "{text}");
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(&dir.path().join("tool.log"), "");
    req.program = PathBuf::from("/nonexistent/catalyst");
    let err = backend()
        .run_tool(&req, &Cancel::new(), &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, BackendError::Spawn { .. }), "{err:?}");
}

#[test]
fn an_already_cancelled_run_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tool.log");
    let cancel = Cancel::new();
    cancel.cancel();
    let err = backend()
        .run_tool(&request(&log, "echo ran"), &cancel, &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, BackendError::Interrupted), "{err:?}");
    assert!(!log.exists());
}
