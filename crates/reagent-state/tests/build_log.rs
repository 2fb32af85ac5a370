//! The build log: round trips, damage, queries and compaction.

use std::fs;
use std::io::Write;
use std::time::Duration;

use reagent_state::{BuildLog, Compaction, Outcome, Record};

fn record(node: &str, start: u64, end: u64, outcome: Outcome) -> Record {
    Record {
        node: node.to_string(),
        key: format!("{:064x}", start),
        manifest_digest: format!("sha256:{end:x}"),
        manifest: serde_json::json!({"inputs": ["Containerfile", node], "n": start}),
        start,
        end,
        outcome,
    }
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
    assert_eq!(log.records(), all.to_vec());
    // A second handle sees the same, and the file is one object per line.
    assert_eq!(BuildLog::open(&dir).unwrap().records(), all.to_vec());
    let text = fs::read_to_string(dir.join("builds.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(text.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
    assert!(text.contains(r#""outcome":"test_failed""#), "{text}");
}

#[test]
fn empty_log_reads_as_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let log = BuildLog::open(tmp.path()).unwrap();
    assert!(log.records().is_empty());
    assert_eq!(log.last_success("x"), None);
    assert!(log.last_two("x").is_empty());
    assert!(log.durations().is_empty());
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

    let log = BuildLog::open(tmp.path()).unwrap();
    let loaded = log.load().unwrap();
    assert_eq!(loaded.records.len(), 2);
    assert_eq!(loaded.corrupt_lines, vec![3]);

    log.append(&record("d", 3, 4, Outcome::Built)).unwrap();
    let loaded = log.load().unwrap();
    let nodes: Vec<_> = loaded.records.iter().map(|r| r.node.as_str()).collect();
    assert_eq!(nodes, ["a", "b", "d"]);
    assert!(loaded.corrupt_lines.is_empty());
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
    let nodes: Vec<_> = log.records().into_iter().map(|r| r.node).collect();
    assert_eq!(nodes, ["a", "b"]);
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
    let loaded = BuildLog::open(tmp.path()).unwrap().load().unwrap();
    let nodes: Vec<_> = loaded.records.iter().map(|r| r.node.as_str()).collect();
    assert_eq!(nodes, ["a", "b"]);
    assert_eq!(loaded.corrupt_lines, vec![2, 3, 6]);
}

#[test]
fn queries_pick_the_right_records() {
    let tmp = tempfile::tempdir().unwrap();
    let log = BuildLog::open(tmp.path()).unwrap();
    log.append(&record("app", 0, 5_000, Outcome::Built))
        .unwrap();
    log.append(&record("base", 0, 1_000, Outcome::Pulled))
        .unwrap();
    log.append(&record("app", 10_000, 12_000, Outcome::Built))
        .unwrap();
    log.append(&record("app", 20_000, 90_000, Outcome::Failed))
        .unwrap();
    log.append(&record("app", 30_000, 30_500, Outcome::TestFailed))
        .unwrap();

    let last = log.last_success("app").unwrap();
    assert_eq!((last.start, last.outcome), (10_000, Outcome::Built));
    assert_eq!(log.last_success("base").unwrap().outcome, Outcome::Pulled);
    assert_eq!(log.last_success("nope"), None);

    let two: Vec<_> = log.last_two("app").iter().map(|r| r.start).collect();
    assert_eq!(two, [30_000, 20_000]);
    assert_eq!(log.last_two("base").len(), 1);

    let durations = log.durations();
    assert_eq!(
        durations.len(),
        1,
        "pulls carry no build time: {durations:?}"
    );
    assert_eq!(durations["app"], Duration::from_secs(2));
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
    let starts: Vec<_> = log
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
    assert_eq!(log.records().len(), 5);
    assert_eq!(
        BuildLog::open(tmp.path()).unwrap().records().len(),
        5,
        "another handle reads the compacted file"
    );
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
    assert_eq!(log.compact(1).unwrap(), 1);
    let loaded = log.load().unwrap();
    assert!(loaded.corrupt_lines.is_empty());
    assert_eq!(loaded.records.len(), 1);
    assert_eq!(loaded.records[0].outcome, Outcome::Failed);
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
    let loaded = log.load().unwrap();
    assert_eq!(loaded.records.len(), 100);
    assert!(loaded.corrupt_lines.is_empty());
}

#[test]
fn opening_creates_no_file_until_the_first_append() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    let log = BuildLog::open(&dir).unwrap();
    assert!(log.records().is_empty());
    assert!(
        !log.path().exists(),
        "a dry run opens the log and must leave no file"
    );
    log.append(&record("base", 0, 10, Outcome::Built)).unwrap();
    assert_eq!(log.records().len(), 1);
}

#[test]
fn a_log_that_is_a_folder_is_a_clear_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    fs::create_dir_all(dir.join("builds.jsonl")).unwrap();
    let err = BuildLog::open(&dir).unwrap_err();
    assert!(err.to_string().contains("builds.jsonl"), "{err}");
}

#[test]
fn garbage_log_is_read_as_corrupt_lines_and_appending_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("builds.jsonl"), b"\x00\xff{{{\nnot json\n\xfe").unwrap();
    let log = BuildLog::open(&dir).unwrap();
    assert_eq!(log.load().unwrap().corrupt_lines, [1, 2, 3]);
    log.append(&record("base", 0, 10, Outcome::Built)).unwrap();
    let loaded = log.load().unwrap();
    assert_eq!(loaded.records.len(), 1);
    assert_eq!(loaded.corrupt_lines, [1, 2], "the torn tail was cut");
}
