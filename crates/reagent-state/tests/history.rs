//! The history: the build log read once, and the questions asked of it.

use std::fs;
use std::path::Path;
use std::time::Duration;

use reagent_state::{BuildLog, History, KeyPrefixError, Outcome, Record, BUILD_LOG_FILE};

/// A 64-hex key made of `part` (8 hex digits) repeated.
fn key(part: &str) -> String {
    part.repeat(8)
}

fn record(node: &str, key_part: &str, start: u64, end: u64, outcome: Outcome) -> Record {
    Record::new(
        node,
        key(key_part),
        "",
        serde_json::json!({"node": node, "start": start}),
        start,
        end,
        outcome,
    )
}

/// A small log, oldest first:
///
/// | # | node | key      | outcome     | took |
/// |---|------|----------|-------------|------|
/// | 0 | app  | aaaa1111 | built       | 5 s  |
/// | 1 | base | bbbb0000 | pulled      |      |
/// | 2 | app  | aaaa2222 | built       | 2 s  |
/// | 3 | app  | cccc3333 | failed      |      |
/// | 4 | tool | dddd4444 | interrupted |      |
/// | 5 | app  | aaaa1111 | pulled      |      |
/// | 6 | app  | eeee5555 | test_failed |      |
/// | 7 | lib  | ffff6666 | failed      |      |
/// | 8 | lib  | ffff7777 | built       | 1 s  |
/// | 9 | web  | 99990000 | failed      |      |
fn small_log() -> Vec<Record> {
    vec![
        record("app", "aaaa1111", 0, 5_000, Outcome::Built),
        record("base", "bbbb0000", 0, 1_000, Outcome::Pulled),
        record("app", "aaaa2222", 10_000, 12_000, Outcome::Built),
        record("app", "cccc3333", 20_000, 90_000, Outcome::Failed),
        record("tool", "dddd4444", 30_000, 31_000, Outcome::Interrupted),
        record("app", "aaaa1111", 40_000, 40_100, Outcome::Pulled),
        record("app", "eeee5555", 50_000, 51_000, Outcome::TestFailed),
        record("lib", "ffff6666", 60_000, 61_000, Outcome::Failed),
        record("lib", "ffff7777", 70_000, 71_000, Outcome::Built),
        record("web", "99990000", 80_000, 81_000, Outcome::Failed),
    ]
}

/// `small_log` written through the appender and loaded from the file.
fn loaded(dir: &Path) -> History {
    let log = BuildLog::open(dir).unwrap();
    for r in small_log() {
        log.append(&r).unwrap();
    }
    History::load(dir).unwrap()
}

#[test]
fn loading_a_missing_folder_or_file_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent").join("nested");
    let history = History::load(&dir).unwrap();
    assert!(history.is_empty());
    assert!(!dir.exists(), "History::load created {}", dir.display());
    assert!(!tmp.path().join(".reagent").exists());

    let dir = tmp.path().join("empty");
    fs::create_dir(&dir).unwrap();
    assert!(History::load(&dir).unwrap().is_empty());
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "no file created");
}

#[test]
fn a_state_folder_that_is_a_file_is_an_error_not_an_empty_history() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    fs::write(&dir, b"not a folder").unwrap();
    let err = History::load(&dir).unwrap_err();
    assert!(err.to_string().contains(BUILD_LOG_FILE), "{err}");
}

#[test]
fn newest_and_last_success_per_node() {
    let tmp = tempfile::tempdir().unwrap();
    let h = loaded(tmp.path());
    let newest = h.newest("app").unwrap();
    assert_eq!(
        (newest.start, newest.outcome),
        (50_000, Outcome::TestFailed)
    );
    assert_eq!(h.newest("tool").unwrap().outcome, Outcome::Interrupted);
    assert_eq!(h.newest("nope"), None);

    let last = h.last_success("app").unwrap();
    assert_eq!((last.start, last.outcome), (40_000, Outcome::Pulled));
    assert_eq!(h.last_success("base").unwrap().outcome, Outcome::Pulled);
    assert_eq!(h.last_success("lib").unwrap().key, key("ffff7777"));
    assert_eq!(h.last_success("tool"), None);
    assert_eq!(h.last_success("nope"), None);

    let starts: Vec<_> = h.of_node("app").map(|r| r.start).collect();
    assert_eq!(starts, [0, 10_000, 20_000, 40_000, 50_000]);
    let newest_two: Vec<_> = h.of_node("app").rev().take(2).map(|r| r.start).collect();
    assert_eq!(newest_two, [50_000, 40_000]);
    assert_eq!(h.of_node("nope").len(), 0);
    assert_eq!(
        h.nodes().collect::<Vec<_>>(),
        ["app", "base", "lib", "tool", "web"]
    );
}

#[test]
fn by_key_finds_the_newest_record_with_that_key() {
    let tmp = tempfile::tempdir().unwrap();
    let h = loaded(tmp.path());
    let r = h.by_key(&key("aaaa1111")).unwrap();
    assert_eq!((r.start, r.outcome), (40_000, Outcome::Pulled));
    assert_eq!(h.by_key(&key("cccc3333")).unwrap().outcome, Outcome::Failed);
    assert_eq!(h.by_key(&key("12341234")), None);
    assert_eq!(h.by_key("aaaa1111"), None, "whole keys only");
}

#[test]
fn durations_come_from_the_newest_build_not_pulls() {
    let tmp = tempfile::tempdir().unwrap();
    let h = loaded(tmp.path());
    assert_eq!(h.duration("app"), Some(Duration::from_secs(2)));
    assert_eq!(h.duration("base"), None, "pulls carry no build time");
    assert_eq!(h.duration("web"), None);
    let durations = h.durations();
    assert_eq!(durations.len(), 2, "{durations:?}");
    assert_eq!(durations["app"], Duration::from_secs(2));
    assert_eq!(durations["lib"], Duration::from_secs(1));
}

#[test]
fn unfinished_publishes_are_nodes_whose_newest_attempt_failed_or_was_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let h = loaded(tmp.path());
    let mut unfinished: Vec<_> = h.unfinished_publishes().into_iter().collect();
    unfinished.sort_unstable();
    let (tool, web) = (key("dddd4444"), key("99990000"));
    assert_eq!(unfinished, [("tool", tool.as_str()), ("web", web.as_str())]);
    assert_eq!(h.unfinished_publish("web"), Some(web.as_str()));
    assert_eq!(h.unfinished_publish("lib"), None, "built after failing");
    assert_eq!(h.unfinished_publish("app"), None, "test failures are not");
    assert_eq!(h.unfinished_publish("nope"), None);
}

#[test]
fn successful_keys_are_distinct_and_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let h = loaded(tmp.path());
    assert_eq!(h.successful_keys("app"), [key("aaaa1111"), key("aaaa2222")]);
    assert_eq!(h.successful_keys("web"), Vec::<&str>::new());

    let recency = h.key_recency();
    assert_eq!(recency[key("aaaa1111").as_str()], 5);
    assert_eq!(recency[key("aaaa2222").as_str()], 2);
    assert_eq!(recency[key("ffff7777").as_str()], 8);
    assert!(!recency.contains_key(key("cccc3333").as_str()));
    assert_eq!(recency.len(), 4);
}

#[test]
fn resolve_key_finds_the_one_key_with_a_prefix() {
    let h = History::from_records(small_log());
    assert_eq!(h.resolve_key("app", "aaaa1", &[]), Ok(key("aaaa1111")));
    assert_eq!(h.resolve_key("app", "AAAA2", &[]), Ok(key("aaaa2222")));
    assert_eq!(
        h.resolve_key("app", &key("aaaa1111"), &[]),
        Ok(key("aaaa1111"))
    );
    // Also searched: keys found elsewhere, such as on local images.
    assert_eq!(
        h.resolve_key("app", "cccc", &[key("cccc3333"), key("aaaa1111")]),
        Ok(key("cccc3333"))
    );
    assert_eq!(
        h.resolve_key("app", "aaaa1", &[key("aaaa1111")]),
        Ok(key("aaaa1111")),
        "a key both recorded and given is one candidate"
    );
}

#[test]
fn resolve_key_explains_each_failure() {
    let h = History::from_records(small_log());
    for bad in ["aaa", "aaaz", "", "ａａａａ"] {
        let err = h.resolve_key("app", bad, &[]).unwrap_err();
        assert_eq!(
            err,
            KeyPrefixError::NotAPrefix {
                prefix: bad.to_string()
            }
        );
        assert_eq!(
            err.to_string(),
            format!("`{bad}` is not a key prefix: give at least 4 hex digits of a build's key")
        );
    }

    // The failed build's key is not a candidate; nor is another node's.
    for missing in ["CCCC", "bbbb"] {
        let err = h.resolve_key("app", missing, &[]).unwrap_err();
        let lower = missing.to_ascii_lowercase();
        assert_eq!(
            err,
            KeyPrefixError::NoMatch {
                node: "app".into(),
                prefix: lower.clone()
            }
        );
        assert_eq!(
            err.to_string(),
            format!("no build of app has a key starting with `{lower}`")
        );
    }

    let err = h
        .resolve_key("app", "aaaa", &[key("aaaa9999"), key("12341234")])
        .unwrap_err();
    assert_eq!(
        err,
        KeyPrefixError::Ambiguous {
            node: "app".into(),
            prefix: "aaaa".into(),
            matches: vec![
                "aaaa1111aaaa1111".into(),
                "aaaa2222aaaa2222".into(),
                "aaaa9999aaaa9999".into()
            ],
        }
    );
    assert_eq!(
        err.to_string(),
        "`aaaa` matches 3 builds of app: aaaa1111aaaa1111, aaaa2222aaaa2222, aaaa9999aaaa9999; give more digits"
    );
}

#[test]
fn the_log_is_read_once_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    let h = loaded(tmp.path());
    // Whatever happens to the file afterwards, the history answers from
    // what it read.
    fs::write(tmp.path().join(BUILD_LOG_FILE), b"garbage\n").unwrap();
    assert_eq!(h.records(), small_log());
    assert_eq!(h.last_success("lib").unwrap().key, key("ffff7777"));
    assert!(h.corrupt_lines().is_empty());
    assert_eq!(History::load(tmp.path()).unwrap().corrupt_lines(), [1]);
}

#[test]
fn from_bytes_reads_like_load_and_from_records_indexes_alike() {
    let mut bytes = Vec::new();
    for r in small_log() {
        serde_json::to_writer(&mut bytes, &r).unwrap();
        bytes.extend_from_slice(b"\nnot a record\n");
    }
    let h = History::from_bytes(Path::new("x/builds.jsonl"), &bytes).unwrap();
    assert_eq!(h.records(), small_log());
    assert_eq!(h.corrupt_lines(), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);

    let direct = History::from_records(small_log());
    assert_eq!(direct.records(), h.records());
    assert!(direct.corrupt_lines().is_empty());
    assert_eq!(direct.newest("app"), h.newest("app"));
    assert_eq!(direct.durations(), h.durations());
}

#[test]
fn image_of_is_the_image_the_newest_build_of_that_key_made_tests_passed_or_not() {
    let history = History::from_records(vec![
        record("app", "aaaa1111", 0, 1, Outcome::Built).with_image("img-1"),
        record("app", "bbbb2222", 1, 2, Outcome::Built).with_image("img-2"),
        record("app", "aaaa1111", 2, 3, Outcome::TestFailed).with_image("img-3"),
        // A failed build or a pull made no image of its own.
        record("app", "aaaa1111", 3, 4, Outcome::Failed),
        record("app", "aaaa1111", 4, 5, Outcome::Pulled),
        record("web", "aaaa1111", 5, 6, Outcome::Built).with_image("img-web"),
    ]);
    assert_eq!(history.image_of("app", &key("aaaa1111")), Some("img-3"));
    assert_eq!(history.image_of("app", &key("bbbb2222")), Some("img-2"));
    assert_eq!(history.image_of("app", &key("cccc3333")), None);
    assert_eq!(history.image_of("base", &key("aaaa1111")), None);
    // The id survives a write and a read.
    let line = serde_json::to_string(&history.records()[0]).unwrap();
    assert!(line.contains(r#""image":"img-1""#), "{line}");
    let back: Record = serde_json::from_str(&line).unwrap();
    assert_eq!(back.image.as_deref(), Some("img-1"));
}
