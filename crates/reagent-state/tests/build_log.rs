//! The build log: round trips, damage, versions and compaction.

use std::fs;
use std::io::Write;
use std::path::Path;

use reagent_state::{BuildLog, Compaction, History, Outcome, Record, StateError, RECORD_VERSION};

fn record(node: &str, start: u64, end: u64, outcome: Outcome) -> Record {
    Record::new(
        node,
        format!("{start:064x}"),
        format!("sha256:{end:x}"),
        serde_json::json!({"inputs": ["Containerfile", node], "n": start}),
        start,
        end,
        outcome,
    )
}

/// The log in `dir` as a fresh reader sees it.
fn load(dir: &Path) -> History {
    History::load(dir).unwrap()
}

fn nodes(history: &History) -> Vec<&str> {
    history.records().iter().map(|r| r.node.as_str()).collect()
}

#[test]
fn append_then_read_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    let log = BuildLog::open(&dir).unwrap();
    let all = [
        record("base", 0, 10, Outcome::Built),
        record("app", 10, 30, Outcome::Failed),
        record("tools", 30, 31, Outcome::Pulled),
        record("app", 40, 45, Outcome::Interrupted),
        record("app", 50, 90, Outcome::TestFailed),
    ];
    for r in &all {
        log.append(r).unwrap();
    }
    assert_eq!(load(&dir).records(), all);
    // The file is one object per line, each with its version.
    let text = fs::read_to_string(dir.join("builds.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(text.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
    assert!(text.contains(r#""outcome":"test_failed""#), "{text}");
    assert!(
        text.lines()
            .all(|l| l.starts_with(&format!(r#"{{"version":{RECORD_VERSION},"#))),
        "{text}"
    );
}

#[test]
fn empty_log_reads_as_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    BuildLog::open(tmp.path()).unwrap();
    let history = load(tmp.path());
    assert!(history.is_empty());
    assert!(history.corrupt_lines().is_empty());
    assert_eq!(history.last_success("x"), None);
    assert_eq!(history.of_node("x").len(), 0);
    assert!(history.durations().is_empty());
}

#[test]
fn truncated_last_line_is_tolerated_and_cut_by_next_append() {
    let tmp = tempfile::tempdir().unwrap();
    let log = BuildLog::open(tmp.path()).unwrap();
    log.append(&record("a", 0, 1, Outcome::Built)).unwrap();
    log.append(&record("b", 1, 2, Outcome::Built)).unwrap();
    drop(log);
    // A crash half way through a third line.
    let path = tmp.path().join("builds.jsonl");
    let line = serde_json::to_string(&record("c", 2, 3, Outcome::Built)).unwrap();
    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&line.as_bytes()[..line.len() / 2]).unwrap();
    drop(f);

    let before = load(tmp.path());
    assert_eq!(nodes(&before), ["a", "b"]);
    assert_eq!(before.corrupt_lines(), [3]);

    let log = BuildLog::open(tmp.path()).unwrap();
    log.append(&record("d", 3, 4, Outcome::Built)).unwrap();
    let after = load(tmp.path());
    assert_eq!(nodes(&after), ["a", "b", "d"]);
    assert!(after.corrupt_lines().is_empty());
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.ends_with('\n'));
}

#[test]
fn whole_last_record_without_newline_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("builds.jsonl");
    let line = serde_json::to_string(&record("a", 0, 1, Outcome::Built)).unwrap();
    fs::write(&path, &line).unwrap();
    let log = BuildLog::open(tmp.path()).unwrap();
    log.append(&record("b", 1, 2, Outcome::Built)).unwrap();
    assert_eq!(nodes(&load(tmp.path())), ["a", "b"]);
}

#[test]
fn corrupt_lines_elsewhere_are_skipped_with_their_line_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("builds.jsonl");
    let good = |n: &str| serde_json::to_string(&record(n, 0, 1, Outcome::Built)).unwrap();
    let text = format!(
        "{}\nnot json\n{{\"node\":\"missing fields\"}}\n\n{}\n",
        good("a"),
        good("b")
    );
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    fs::write(&path, bytes).unwrap();
    let history = load(tmp.path());
    assert_eq!(nodes(&history), ["a", "b"]);
    assert_eq!(history.corrupt_lines(), [2, 3, 6]);
}

#[test]
fn compaction_keeps_the_newest_records_of_each_node() {
    let tmp = tempfile::tempdir().unwrap();
    let log = BuildLog::open(tmp.path())
        .unwrap()
        .with_compaction(Compaction {
            max_records: 10,
            keep_per_node: 2,
        });
    // 11 appends: the 11th crosses the threshold and compacts.
    for i in 0..8u64 {
        log.append(&record("a", i, i + 1, Outcome::Built)).unwrap();
    }
    for i in 100..103u64 {
        log.append(&record("b", i, i + 1, Outcome::Built)).unwrap();
    }
    let starts: Vec<_> = load(tmp.path())
        .records()
        .iter()
        .map(|r| (r.node.clone(), r.start))
        .collect();
    assert_eq!(
        starts,
        [
            ("a".to_string(), 6),
            ("a".to_string(), 7),
            ("b".to_string(), 101),
            ("b".to_string(), 102)
        ]
    );
    // Appends after compaction go to the new file.
    log.append(&record("c", 200, 201, Outcome::Built)).unwrap();
    assert_eq!(load(tmp.path()).records().len(), 5);
    let leftovers = fs::read_dir(tmp.path()).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file left behind");
}

#[test]
fn explicit_compaction_drops_corrupt_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let log = BuildLog::open(tmp.path()).unwrap();
    log.append(&record("a", 0, 1, Outcome::Built)).unwrap();
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(log.path())
        .unwrap();
    f.write_all(b"garbage\n").unwrap();
    log.append(&record("a", 1, 2, Outcome::Failed)).unwrap();
    assert_eq!(load(tmp.path()).corrupt_lines(), [2]);
    assert_eq!(log.compact(1).unwrap(), 1);
    let history = load(tmp.path());
    assert!(history.corrupt_lines().is_empty());
    assert_eq!(history.records().len(), 1);
    assert_eq!(history.records()[0].outcome, Outcome::Failed);
}

#[test]
fn appends_from_threads_stay_whole_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let log = BuildLog::open(tmp.path()).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let log = &log;
            s.spawn(move || {
                for i in 0..25 {
                    log.append(&record(&format!("t{t}"), i, i + 1, Outcome::Built))
                        .unwrap();
                }
            });
        }
    });
    let history = load(tmp.path());
    assert_eq!(history.records().len(), 100);
    assert!(history.corrupt_lines().is_empty());
}

#[test]
fn opening_creates_no_file_until_the_first_append() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    let log = BuildLog::open(&dir).unwrap();
    assert!(load(&dir).is_empty());
    assert!(
        !log.path().exists(),
        "a dry run opens the log and must leave no file"
    );
    log.append(&record("base", 0, 10, Outcome::Built)).unwrap();
    assert_eq!(load(&dir).records().len(), 1);
}

#[test]
fn a_log_that_is_a_folder_is_a_clear_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    fs::create_dir_all(dir.join("builds.jsonl")).unwrap();
    let err = BuildLog::open(&dir).unwrap_err();
    assert!(err.to_string().contains("builds.jsonl"), "{err}");
    let err = History::load(&dir).unwrap_err();
    assert!(err.to_string().contains("builds.jsonl"), "{err}");
}

#[test]
fn garbage_log_is_read_as_corrupt_lines_and_appending_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("builds.jsonl"), b"\x00\xff{{{\nnot json\n\xfe").unwrap();
    assert_eq!(load(&dir).corrupt_lines(), [1, 2, 3]);
    let log = BuildLog::open(&dir).unwrap();
    log.append(&record("base", 0, 10, Outcome::Built)).unwrap();
    let history = load(&dir);
    assert_eq!(history.records().len(), 1);
    assert_eq!(history.corrupt_lines(), [1, 2], "the torn tail was cut");
}

/// A line as reagent wrote it before records had a version.
const V1_LINE: &str = r#"{"node":"old","key":"0000000000000000000000000000000000000000000000000000000000000001","manifest_digest":"sha256:1","manifest":{"inputs":["Containerfile"]},"start":1,"end":2,"outcome":"built"}"#;

#[test]
fn lines_without_a_version_are_read_as_version_1_and_kept_so() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("builds.jsonl"), format!("{V1_LINE}\n")).unwrap();
    let log = BuildLog::open(tmp.path()).unwrap();
    log.append(&record("new", 5, 6, Outcome::Built)).unwrap();
    let history = load(tmp.path());
    assert!(history.corrupt_lines().is_empty());
    let versions: Vec<_> = history.records().iter().map(|r| r.version).collect();
    assert_eq!(versions, [1, RECORD_VERSION]);
    let old = &history.records()[0];
    assert_eq!((old.node.as_str(), old.outcome), ("old", Outcome::Built));
    assert_eq!(old.project, None);

    // Compaction rewrites old records without claiming a newer format.
    log.compact(4).unwrap();
    let versions: Vec<_> = load(tmp.path())
        .records()
        .iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(versions, [1, RECORD_VERSION]);
}

/// A log whose third line a newer reagent wrote.
fn log_with_a_newer_line(dir: &Path, newer: &str) -> Vec<u8> {
    let current = serde_json::to_string(&record("a", 0, 1, Outcome::Built)).unwrap();
    let bytes = format!("{V1_LINE}\n{current}\n{newer}\n").into_bytes();
    fs::write(dir.join("builds.jsonl"), &bytes).unwrap();
    bytes
}

#[test]
fn a_newer_record_fails_loading_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let newer = serde_json::to_string(&Record {
        version: RECORD_VERSION + 1,
        ..record("b", 1, 2, Outcome::Built)
    })
    .unwrap();
    log_with_a_newer_line(tmp.path(), &newer);
    let err = History::load(tmp.path()).unwrap_err();
    let path = tmp.path().join("builds.jsonl");
    match &err {
        StateError::NewerRecord {
            path: p,
            line,
            version,
        } => {
            assert_eq!(p, &path);
            assert_eq!((*line, *version), (3, RECORD_VERSION + 1));
        }
        other => panic!("expected NewerRecord, got {other:?}"),
    }
    let text = err.to_string();
    for part in [
        &format!("{}, line 3", path.display()),
        "written by a newer reagent",
        &format!("record version {}", RECORD_VERSION + 1),
        &format!("reads versions up to {RECORD_VERSION}"),
        "Upgrade reagent",
        "another --state-dir",
    ] {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }
}

#[test]
fn a_newer_line_that_is_not_a_record_of_ours_is_not_mistaken_for_damage() {
    let tmp = tempfile::tempdir().unwrap();
    log_with_a_newer_line(tmp.path(), r#"{"version":9,"renamed":"everything"}"#);
    match History::load(tmp.path()) {
        Err(StateError::NewerRecord {
            line: 3,
            version: 9,
            ..
        }) => {}
        other => panic!("expected NewerRecord on line 3, got {other:?}"),
    }
    // Versions too big for a u32 are still newer.
    log_with_a_newer_line(tmp.path(), r#"{"version":99999999999}"#);
    match History::load(tmp.path()) {
        Err(StateError::NewerRecord { version, .. }) => assert_eq!(version, u32::MAX),
        other => panic!("expected NewerRecord, got {other:?}"),
    }
}

#[test]
fn appending_to_a_log_with_a_newer_record_refuses_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = log_with_a_newer_line(tmp.path(), r#"{"version":3}"#);
    let log = BuildLog::open(tmp.path()).unwrap();
    let err = log.append(&record("c", 2, 3, Outcome::Built)).unwrap_err();
    assert!(
        matches!(err, StateError::NewerRecord { line: 3, .. }),
        "{err:?}"
    );
    // Still refused on a second try, and compaction refuses too.
    assert!(log.append(&record("c", 2, 3, Outcome::Built)).is_err());
    assert!(matches!(
        log.compact(1),
        Err(StateError::NewerRecord { .. })
    ));
    assert_eq!(fs::read(log.path()).unwrap(), bytes);
}

#[test]
fn appending_a_record_that_claims_a_newer_version_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let log = BuildLog::open(tmp.path()).unwrap();
    let r = Record {
        version: RECORD_VERSION + 1,
        ..record("a", 0, 1, Outcome::Built)
    };
    let err = log.append(&r).unwrap_err();
    assert!(
        matches!(err, StateError::UnwritableVersion { version, .. } if version == RECORD_VERSION + 1),
        "{err:?}"
    );
    assert!(!log.path().exists(), "nothing was written");
}
