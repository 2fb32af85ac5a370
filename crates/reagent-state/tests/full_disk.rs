//! The build log on a disk that fills up: the append that does not fit is an
//! error naming the file and the OS error, and it leaves no torn line behind
//! for the next record to merge with. The disk is a real 64 KiB tmpfs.

use std::io::Write;
use std::path::{Path, PathBuf};

use reagent_state::{BuildLog, History, Outcome, Record, BUILD_LOG_FILE};
use reagent_testkit::Tmpfs;

fn record(node: &str, inputs: usize) -> Record {
    Record::new(
        node,
        format!("{:064x}", node.len()),
        "",
        serde_json::json!(vec!["input/file/path"; inputs]),
        1,
        2,
        Outcome::Built,
    )
}

/// Fill the file system holding `dir` until a write fails; the filler's path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = [0u8; 4096];
    while f.write_all(&block).is_ok() {}
    // Whatever a partial block took, the rest fails too.
    while f.write_all(&[0u8]).is_ok() {}
    path
}

#[test]
fn an_append_that_does_not_fit_is_an_error_and_leaves_no_torn_line() {
    let Some(disk) = Tmpfs::mount("64k") else {
        return;
    };
    let log = BuildLog::open(disk.path()).unwrap();
    log.append(&record("first", 4)).unwrap();
    let filler = fill(disk.path());
    let file = disk.path().join(BUILD_LOG_FILE);
    let before = std::fs::metadata(&file).unwrap().len();

    // About 8 KiB: part of it fits in the page the log already has, the rest
    // needs a page the disk no longer has.
    let err = log.append(&record("too-big", 500)).unwrap_err().to_string();
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        before,
        "the failed append left part of its line"
    );

    // Space again: the next record, by the same writer, is a line of its own.
    std::fs::remove_file(filler).unwrap();
    log.append(&record("third", 4)).unwrap();
    let history = History::load(disk.path()).unwrap();
    let nodes: Vec<&str> = history.records().iter().map(|r| r.node.as_str()).collect();
    assert_eq!(nodes, ["first", "third"]);
    assert_eq!(history.corrupt_lines(), &[] as &[usize]);
}
