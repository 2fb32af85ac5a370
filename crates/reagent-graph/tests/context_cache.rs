//! Context files' hashes come from the stat cache when their stat is unchanged and
//! older than the cache, and keys are the same with and without it.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::family;
use reagent_graph::{LoadOptions, Project};
use reagent_snapshot::cache::{encode, push_record, Stamp, StatKey};

const NODES: [&str; 4] = ["base", "app", "web", "tool"];

fn load(root: &Path, cache: Option<&Path>) -> Project {
    let opts = LoadOptions {
        context_cache: cache.map(Path::to_path_buf),
        ..Default::default()
    };
    Project::load_with(root, &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn keys(p: &Project) -> Vec<String> {
    NODES
        .iter()
        .map(|n| p.graph.by_name(n).unwrap().key.hex())
        .collect()
}

/// Load with the cache at `cache` and store its update, as the binary does.
fn load_and_store(root: &Path, cache: &Path) -> Project {
    let p = load(root, Some(cache));
    if let Some(bytes) = &p.context_cache_update {
        std::fs::write(cache, bytes).unwrap();
    }
    p
}

/// A cache holding one record for `file` with its current stat but `hash`, made at `stamp`.
fn forged_cache(file: &Path, hash: blake3::Hash, stamp: Stamp) -> Vec<u8> {
    let abs = std::fs::canonicalize(file).unwrap();
    let key = StatKey::from_metadata(&std::fs::symlink_metadata(&abs).unwrap());
    let mut chunk = Vec::new();
    push_record(&mut chunk, abs.as_os_str().as_bytes(), &key, &hash);
    encode(stamp, 1, &[chunk])
}

fn cache_path(state: &tempfile::TempDir) -> PathBuf {
    state.path().join("context-cache")
}

#[test]
fn a_second_load_reads_no_context_file_and_keys_the_same() {
    let f = family();
    // Let the files age past the racy margin (50 ms) before the first load's stamp.
    std::thread::sleep(Duration::from_millis(200));
    let state = tempfile::tempdir().unwrap();
    let cache = cache_path(&state);
    let uncached = keys(&load(f.root(), None));

    let first = load_and_store(f.root(), &cache);
    assert!(first.context_reads >= 2, "busybox and app.conf are read");
    assert!(first.context_cache_update.is_some());
    assert_eq!(keys(&first), uncached);

    let second = load(f.root(), Some(&cache));
    assert_eq!(
        second.context_reads, 0,
        "every context file came from the cache"
    );
    assert!(
        second.context_cache_update.is_none(),
        "nothing changed: nothing to write"
    );
    assert_eq!(keys(&second), uncached);

    // Same size, mtime put back: ctime moved, so the file is read and the edit seen.
    let conf = f.path("images/app/app.conf");
    let mtime = std::fs::metadata(&conf).unwrap().modified().unwrap();
    let old = std::fs::read(&conf).unwrap();
    let mut new = old.clone();
    new[0] ^= 1;
    std::fs::write(&conf, &new).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&conf)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let third = load(f.root(), Some(&cache));
    assert_eq!(third.context_reads, 1);
    assert_eq!(keys(&third), keys(&load(f.root(), None)));
    assert_ne!(keys(&third)[1], uncached[1], "app moved");
    assert_eq!(keys(&third)[0], uncached[0], "base did not");
}

#[test]
fn an_old_enough_record_is_trusted_without_reading_the_file() {
    let f = family();
    let state = tempfile::tempdir().unwrap();
    let cache = cache_path(&state);
    let conf = f.path("images/app/app.conf");
    let truth = keys(&load(f.root(), None));
    // A record with the file's exact stat but another content hash, made well after
    // the file was written: trusted, so the file is not read and the key follows it.
    let meta = std::fs::metadata(&conf).unwrap();
    let later = Stamp {
        secs: meta.ctime().max(meta.mtime()) + 10,
        nanos: 0,
    };
    std::fs::write(&cache, forged_cache(&conf, blake3::hash(b"other"), later)).unwrap();
    let p = load(f.root(), Some(&cache));
    assert_ne!(keys(&p)[1], truth[1], "the cached hash was used");
    assert_eq!(keys(&p)[0], truth[0]);
    let reads_without = load(f.root(), None).context_reads;
    assert_eq!(p.context_reads + 1, reads_without, "app.conf was not read");
}

#[test]
fn a_file_as_new_as_the_cache_is_read_again() {
    let f = family();
    let state = tempfile::tempdir().unwrap();
    let cache = cache_path(&state);
    let conf = f.path("images/app/app.conf");
    let truth = keys(&load(f.root(), None));
    // The same forged record, but made in the very instant the file last changed (an
    // edit that kept size and mtime in the cache's clock tick): racy, so read.
    let meta = std::fs::metadata(&conf).unwrap();
    let same = Stamp {
        secs: meta.ctime(),
        nanos: u32::try_from(meta.ctime_nsec()).unwrap(),
    };
    std::fs::write(&cache, forged_cache(&conf, blake3::hash(b"other"), same)).unwrap();
    let p = load(f.root(), Some(&cache));
    assert_eq!(keys(&p), truth, "the racy record was not trusted");
    assert_eq!(p.context_reads, load(f.root(), None).context_reads);
    // Its update holds the file's real hash; still racy against the new stamp at
    // once, it is trusted once the file is older than that.
    std::fs::write(&cache, p.context_cache_update.unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let again = load_and_store(f.root(), &cache);
    assert_eq!(keys(&again), truth);
    let settled = load(f.root(), Some(&cache));
    assert_eq!(settled.context_reads, 0);
    assert_eq!(keys(&settled), truth);
}
