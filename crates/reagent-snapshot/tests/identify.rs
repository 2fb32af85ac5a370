//! End-to-end tests of `identify` and `hash_file` on real directories.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use reagent_snapshot::cache::Cache;
use reagent_snapshot::{hash_file, identify, Identity, Options, Report, SnapshotError};

/// A small portage-like tree: two categories, a few packages, a files/ dir and a symlink.
fn portage_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let files: &[(&str, &str)] = &[
        (
            "app-misc/hello/hello-1.0.ebuild",
            "EAPI=8\nDESCRIPTION=\"hi\"\n",
        ),
        (
            "app-misc/hello/Manifest",
            "DIST hello-1.0.tar.gz 123 BLAKE2B abc\n",
        ),
        ("app-misc/hello/metadata.xml", "<pkgmetadata/>\n"),
        ("app-misc/hello/files/fix.patch", "--- a\n+++ b\n"),
        ("dev-libs/foo/foo-2.ebuild", "EAPI=8\nSLOT=0\n"),
        (
            "dev-libs/foo/Manifest",
            "DIST foo-2.tar.xz 456 BLAKE2B def\n",
        ),
        ("profiles/repo_name", "gentoo\n"),
    ];
    for (rel, body) in files {
        write(&root.join(rel), body);
    }
    symlink(
        "../../app-misc/hello/files",
        root.join("dev-libs/foo/files"),
    )
    .expect("symlink");
    dir
}

fn write(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, body).expect("write");
}

fn tree_id(root: &Path) -> Identity {
    identify(root, &Options::default())
        .expect("identify")
        .identity
}

fn with_cache(cache: &Path) -> Options {
    Options {
        cache: Some(cache.to_path_buf()),
        threads: None,
    }
}

/// Identifies `tree` with the stat cache at `cache`, then stores the cache update the way a
/// caller would (identify itself writes nothing).
fn identify_cached(tree: &Path, cache: &Path) -> Report {
    let report = identify(tree, &with_cache(cache)).expect("identify");
    if let Some(bytes) = &report.cache_update {
        fs::create_dir_all(cache.parent().expect("parent")).expect("mkdir");
        fs::write(cache, bytes).expect("store cache");
    }
    report
}

/// Lets the files' timestamps fall out of the racy window before a cache-writing run.
fn settle() {
    std::thread::sleep(Duration::from_millis(120));
}

#[test]
fn identity_is_deterministic_and_independent_of_threads() {
    let t = portage_tree();
    let a = tree_id(t.path());
    let b = tree_id(t.path());
    assert_eq!(a, b);
    assert!(matches!(a, Identity::Tree(_)));
    let one_thread = Options {
        cache: None,
        threads: Some(1),
    };
    assert_eq!(
        identify(t.path(), &one_thread).expect("identify").identity,
        a
    );
    assert!(a.label().starts_with("tree:"));
    assert_eq!(a.label().len(), "tree:".len() + 64);
}

#[test]
fn two_trees_built_separately_with_same_content_agree() {
    let a = portage_tree();
    let b = portage_tree();
    assert_eq!(tree_id(a.path()), tree_id(b.path()));
}

#[test]
fn content_edit_changes_identity() {
    let t = portage_tree();
    let before = tree_id(t.path());
    write(
        &t.path().join("dev-libs/foo/foo-2.ebuild"),
        "EAPI=8\nSLOT=1\n",
    );
    assert_ne!(tree_id(t.path()), before);
}

#[test]
fn rename_changes_identity() {
    let t = portage_tree();
    let before = tree_id(t.path());
    fs::rename(
        t.path().join("dev-libs/foo/foo-2.ebuild"),
        t.path().join("dev-libs/foo/foo-3.ebuild"),
    )
    .expect("rename");
    assert_ne!(tree_id(t.path()), before);
}

#[test]
fn added_and_removed_files_change_identity() {
    let t = portage_tree();
    let before = tree_id(t.path());
    let extra = t.path().join("dev-libs/foo/foo-3.ebuild");
    write(&extra, "EAPI=8\n");
    let added = tree_id(t.path());
    assert_ne!(added, before);
    fs::remove_file(&extra).expect("rm");
    assert_eq!(tree_id(t.path()), before, "back to the original content");
    fs::remove_file(t.path().join("profiles/repo_name")).expect("rm");
    assert_ne!(tree_id(t.path()), before);
}

#[test]
fn empty_directory_counts() {
    let t = portage_tree();
    let before = tree_id(t.path());
    fs::create_dir(t.path().join("app-misc/empty")).expect("mkdir");
    assert_ne!(tree_id(t.path()), before);
}

#[test]
fn chmod_plus_x_changes_identity() {
    let t = portage_tree();
    let before = tree_id(t.path());
    let path = t.path().join("app-misc/hello/files/fix.patch");
    let mut perms = fs::metadata(&path).expect("stat").permissions();
    perms.set_mode(perms.mode() | 0o755);
    fs::set_permissions(&path, perms).expect("chmod");
    assert_ne!(tree_id(t.path()), before);
}

#[test]
fn symlink_retarget_changes_identity() {
    let t = portage_tree();
    let before = tree_id(t.path());
    let link = t.path().join("dev-libs/foo/files");
    fs::remove_file(&link).expect("rm link");
    symlink("../../app-misc/hello", &link).expect("symlink");
    let report = identify(t.path(), &Options::default()).expect("identify");
    assert_ne!(report.identity, before);
    assert_eq!(report.symlinks, 1, "the link is hashed, not followed");
}

#[test]
fn touch_does_not_change_identity() {
    let t = portage_tree();
    let before = tree_id(t.path());
    let file = fs::File::options()
        .write(true)
        .open(t.path().join("app-misc/hello/Manifest"))
        .expect("open");
    file.set_modified(SystemTime::now() + Duration::from_secs(3600))
        .expect("set mtime");
    drop(file);
    assert_eq!(tree_id(t.path()), before);
}

#[test]
fn copies_elsewhere_keep_identity() {
    let t = portage_tree();
    let before = tree_id(t.path());
    let dest = tempfile::tempdir().expect("tempdir");
    for (flags, name) in [("-a", "archive"), ("-r", "plain")] {
        let target = dest.path().join(name);
        let status = Command::new("cp")
            .arg(flags)
            .arg(t.path())
            .arg(&target)
            .status()
            .expect("run cp");
        assert!(status.success());
        assert_eq!(tree_id(&target), before, "cp {flags}");
    }
}

#[test]
fn root_git_is_ignored_but_nested_git_counts() {
    let t = portage_tree();
    let before = tree_id(t.path());
    write(&t.path().join(".git/HEAD"), "ref: refs/heads/master\n");
    assert_eq!(tree_id(t.path()), before);
    write(&t.path().join("app-misc/.git/HEAD"), "x\n");
    assert_ne!(tree_id(t.path()), before);
}

#[test]
fn commit_file_is_the_identity_and_nothing_else_is_read() {
    let t = portage_tree();
    write(
        &t.path().join("metadata/timestamp.commit"),
        "0123456789ABCDEF0123456789abcdef01234567 1700000000 +0000\n",
    );
    // A socket would be an error if the tree were walked.
    let _socket =
        std::os::unix::net::UnixListener::bind(t.path().join("app-misc/sock")).expect("bind");
    let report = identify(t.path(), &Options::default()).expect("identify");
    let id = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(report.identity, Identity::Commit(id.to_string()));
    assert_eq!(report.identity.label(), format!("commit:{id}"));
    assert_eq!(report.files, 0);
    assert_ne!(
        report.identity.hash(),
        Identity::Commit("0123456".into()).hash()
    );
}

#[test]
fn malformed_commit_file_is_an_error_with_its_line() {
    let t = portage_tree();
    let path = t.path().join("metadata/timestamp.commit");
    write(&path, "\nnot-a-commit 1700000000\n");
    match identify(t.path(), &Options::default()) {
        Err(SnapshotError::BadCommitFile { path: p, line, .. }) => {
            assert_eq!(p, path);
            assert_eq!(line, 2);
        }
        other => panic!("expected BadCommitFile, got {other:?}"),
    }
    write(&path, "");
    assert!(matches!(
        identify(t.path(), &Options::default()),
        Err(SnapshotError::BadCommitFile { line: 1, .. })
    ));
}

#[test]
fn second_run_hits_the_cache_for_every_file() {
    let t = portage_tree();
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = cache_dir.path().join(".reagent/snapshot-cache");
    settle();
    let first = identify_cached(t.path(), &cache);
    assert_eq!(first.cache_hits, 0);
    assert!(first.cache_update.is_some());
    assert_eq!(first.bytes_hashed, total_bytes(t.path()));
    assert_eq!(Cache::load(&cache).len() as u64, first.files);

    let second = identify_cached(t.path(), &cache);
    assert_eq!(second.identity, first.identity);
    assert_eq!(second.files, 7);
    assert_eq!(second.cache_hits, second.files);
    assert_eq!(second.bytes_hashed, 0);
    assert!(
        second.cache_update.is_none(),
        "an unchanged tree leaves the cache alone"
    );
}

fn total_bytes(root: &Path) -> u64 {
    let mut sum = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(dir).expect("read_dir") {
            let e = e.expect("entry");
            let ft = e.file_type().expect("type");
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                sum += e.metadata().expect("stat").len();
            }
        }
    }
    sum
}

#[test]
fn cached_run_sees_edits_and_drops_vanished_files() {
    let t = portage_tree();
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = cache_dir.path().join("snapshot-cache");
    settle();
    identify_cached(t.path(), &cache);
    write(
        &t.path().join("dev-libs/foo/foo-2.ebuild"),
        "EAPI=8\nSLOT=2\n",
    );
    fs::remove_file(t.path().join("profiles/repo_name")).expect("rm");
    let report = identify_cached(t.path(), &cache);
    assert_eq!(
        report.identity,
        tree_id(t.path()),
        "cache agrees with a full hash"
    );
    assert_eq!(report.files, 6);
    assert_eq!(report.cache_hits, 5, "all but the edited file");
    assert!(report.cache_update.is_some());
    assert_eq!(
        Cache::load(&cache).len(),
        6,
        "the removed file's record is dropped"
    );
}

#[test]
fn corrupt_or_truncated_cache_is_ignored_and_rebuilt() {
    let t = portage_tree();
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("snapshot-cache");
    settle();
    let expected = identify_cached(t.path(), &cache).identity;
    let good = fs::read(&cache).expect("cache written");
    let damaged: Vec<Vec<u8>> = vec![
        b"garbage".to_vec(),
        good[..good.len() / 2].to_vec(),
        {
            let mut flipped = good.clone();
            flipped[40] ^= 1;
            flipped
        },
        Vec::new(),
    ];
    for bytes in damaged {
        fs::write(&cache, &bytes).expect("damage cache");
        let report = identify_cached(t.path(), &cache);
        assert_eq!(report.identity, expected);
        assert_eq!(report.cache_hits, 0);
        assert!(report.cache_update.is_some(), "rebuilt");
        let again = identify_cached(t.path(), &cache);
        assert_eq!(again.cache_hits, again.files);
    }
}

#[test]
fn same_size_edit_with_mtime_restored_is_caught_by_ctime() {
    let t = portage_tree();
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = cache_dir.path().join("c");
    let path = t.path().join("app-misc/hello/metadata.xml");
    let old_mtime = fs::metadata(&path)
        .expect("stat")
        .modified()
        .expect("mtime");
    settle();
    let before = identify_cached(t.path(), &cache);
    // Same size, different bytes, mtime put back: only ctime (which no call can set) moves.
    fs::write(&path, "<pkgmetadaTA>\n").expect("edit");
    let file = fs::File::options().write(true).open(&path).expect("open");
    file.set_modified(old_mtime).expect("restore mtime");
    drop(file);
    assert_eq!(fs::metadata(&path).expect("stat").len(), 14);
    let after = identify_cached(t.path(), &cache);
    assert_ne!(after.identity, before.identity);
    assert_eq!(after.identity, tree_id(t.path()));
    assert_eq!(after.cache_hits, after.files - 1);
}

#[test]
fn racy_files_are_rehashed_until_they_are_older_than_the_cache() {
    let t = portage_tree();
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = cache_dir.path().join("c");
    settle();
    // An mtime not older than the cache's stamp (here: in the future) is never trusted.
    let path = t.path().join("dev-libs/foo/Manifest");
    let file = fs::File::options().write(true).open(&path).expect("open");
    file.set_modified(SystemTime::now() + Duration::from_secs(3600))
        .expect("set mtime");
    drop(file);
    identify_cached(t.path(), &cache);
    let second = identify_cached(t.path(), &cache);
    assert_eq!(second.cache_hits, second.files - 1);
    assert!(
        second.cache_update.is_some(),
        "a racy record keeps the cache being refreshed"
    );
    let third = identify_cached(t.path(), &cache);
    assert_eq!(
        third.cache_hits,
        third.files - 1,
        "still racy: rehashed every time"
    );
    assert_eq!(third.identity, tree_id(t.path()));
}

#[test]
fn identify_writes_nothing() {
    let t = portage_tree();
    let state = tempfile::tempdir().expect("tempdir");
    let cache = state.path().join("state/snapshot-cache");
    settle();
    let report = identify(t.path(), &with_cache(&cache)).expect("identify");
    assert!(report.cache_update.is_some(), "a cache to store is offered");
    assert!(
        !state.path().join("state").exists(),
        "but nothing is created: the caller stores it"
    );
    assert_eq!(report.identity, tree_id(t.path()));
}

#[test]
fn special_files_are_errors_naming_the_path() {
    let t = portage_tree();
    let sock = t.path().join("app-misc/hello/sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    match identify(t.path(), &Options::default()) {
        Err(err @ SnapshotError::UnsupportedFileType { .. }) => {
            assert!(
                err.to_string().contains(&sock.display().to_string()),
                "{err}"
            );
            assert!(err.to_string().contains("socket"));
        }
        other => panic!("expected UnsupportedFileType, got {other:?}"),
    }
}

#[test]
fn missing_tree_and_file_tree_are_errors_naming_the_path() {
    let t = portage_tree();
    let missing = t.path().join("nope");
    let err = identify(&missing, &Options::default()).expect_err("missing");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    let file = t.path().join("profiles/repo_name");
    assert!(matches!(
        identify(&file, &Options::default()),
        Err(SnapshotError::NotADirectory { path }) if path == file
    ));
}

#[test]
fn hash_file_is_plain_blake3_of_contents_small_and_large() {
    let t = portage_tree();
    let small = t.path().join("profiles/repo_name");
    assert_eq!(hash_file(&small).expect("small"), blake3::hash(b"gentoo\n"));
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let big_path: PathBuf = t.path().join("distfile.bin");
    fs::write(&big_path, &big).expect("write");
    assert_eq!(hash_file(&big_path).expect("large"), blake3::hash(&big));
    let err = hash_file(&t.path().join("missing")).expect_err("missing");
    assert!(err.to_string().contains("missing"));
}

#[test]
fn reading_a_directory_as_a_file_is_an_error_naming_it() {
    let t = portage_tree();
    let dir = t.path().join("app-misc");
    match hash_file(&dir) {
        Err(err @ SnapshotError::Io { .. }) => {
            assert!(
                err.to_string().contains(&dir.display().to_string()),
                "{err}"
            );
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn deep_nesting_is_hashed() {
    let t = tempfile::tempdir().expect("tempdir");
    let mut path = t.path().to_path_buf();
    for _ in 0..1000 {
        path.push("d");
    }
    fs::create_dir_all(&path).expect("mkdir");
    fs::write(path.join("leaf"), "x").expect("write");
    let report = identify(t.path(), &Options::default()).expect("identify");
    assert_eq!(report.dirs, 1001);
    assert_eq!(report.files, 1);
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn commit_file_that_is_a_fifo_or_folder_is_an_error_not_a_hang() {
    let t = portage_tree();
    let path = t.path().join("metadata/timestamp.commit");
    fs::create_dir_all(t.path().join("metadata")).unwrap();
    let _ = fs::remove_file(&path);
    mkfifo(&path);
    match identify(t.path(), &Options::default()) {
        Err(SnapshotError::BadCommitFile {
            path: p, reason, ..
        }) => {
            assert_eq!(p, path);
            assert!(reason.contains("not a regular file"), "{reason}");
        }
        other => panic!("expected BadCommitFile, got {other:?}"),
    }
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    assert!(matches!(
        identify(t.path(), &Options::default()),
        Err(SnapshotError::BadCommitFile { .. })
    ));
}

#[test]
fn cache_path_that_is_a_fifo_is_no_cache() {
    let t = portage_tree();
    let state = tempfile::tempdir().unwrap();
    let cache = state.path().join("snapshot-cache");
    mkfifo(&cache);
    assert_eq!(Cache::load(&cache).len(), 0);
    let report = identify(t.path(), &with_cache(&cache)).unwrap();
    assert_eq!(report.identity, tree_id(t.path()));
    assert_eq!(report.cache_hits, 0);
}
