//! A `kill -9` in the middle of appending leaves a readable log.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reagent_state::{BuildLog, History, Outcome, Record};

const CHILD_DIR: &str = "REAGENT_STATE_CRASH_CHILD_DIR";

fn record(i: u64) -> Record {
    Record::new(
        format!("n{i}"),
        format!("{i:064x}"),
        "",
        // A few kilobytes per line, to make a torn write more likely.
        serde_json::json!(vec!["input/file/path"; 200]),
        i,
        i + 1,
        Outcome::Built,
    )
}

/// Runs only as the child of `kill_9_leaves_a_readable_log`: appends
/// records 0, 1, 2, ... forever, until killed. Run by hand (no folder
/// given) it does nothing.
#[test]
#[ignore = "helper process, spawned by kill_9_leaves_a_readable_log"]
fn appender_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let log = BuildLog::open(dir).unwrap();
    for i in 0.. {
        log.append(&record(i)).unwrap();
    }
}

#[test]
fn kill_9_leaves_a_readable_log() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "appender_child", "--ignored", "--nocapture"])
        .env(CHILD_DIR, tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while History::load(tmp.path()).unwrap().records().len() < 50 {
        assert!(Instant::now() < deadline, "child appended too slowly");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let loaded = History::load(tmp.path()).unwrap();
    assert!(loaded.records().len() >= 50);
    // At most a torn last line; everything before it is intact and in order.
    let total = loaded.records().len() + loaded.corrupt_lines().len();
    assert!(
        loaded.corrupt_lines().is_empty() || loaded.corrupt_lines() == [total],
        "{:?}",
        loaded.corrupt_lines()
    );
    for (i, r) in loaded.records().iter().enumerate() {
        assert_eq!(r, &record(i as u64));
    }

    // The next reagent appends and gets a clean file.
    let n = loaded.records().len() as u64;
    let log = BuildLog::open(tmp.path()).unwrap();
    log.append(&record(n)).unwrap();
    let after = History::load(tmp.path()).unwrap();
    assert!(after.corrupt_lines().is_empty());
    assert_eq!(after.records().len() as u64, n + 1);
    assert_eq!(after.records().last(), Some(&record(n)));
}
