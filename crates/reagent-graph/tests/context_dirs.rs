//! Build contexts' folder listings and ignore files come from the listing cache
//! when a folder's stat is unchanged and older than the cache; any change to a
//! folder's entries (a file added, an ignore file created or removed, the folder
//! replaced) is seen, and keys are those of a load with no cache at all.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use common::Fixture;
use reagent_graph::dir_cache::{DirCache, Listing};
use reagent_graph::{LoadOptions, Project};
use reagent_snapshot::cache::{Stamp, StatKey};

const NODES: [&str; 3] = ["base", "app", "plain"];

/// base copies its folder `conf/` (with a folder below it), app copies the whole
/// context, plain reads nothing from its context.
fn project() -> Fixture {
    let f = Fixture::new();
    f.image("01-base", "FROM scratch\nCOPY conf/ /etc/conf/\n")
        .write("images/01-base/conf/a.conf", "a\n")
        .write("images/01-base/conf/sub/b.conf", "b\n")
        .image("app", "FROM base\nCOPY . /srv/\n")
        .write("images/app/app.conf", "port=80\n")
        .image("plain", "FROM base\nRUN true\n");
    f
}

/// Load with both caches in `state` and store what the load hands back, as the
/// session does.
fn load_and_store(root: &Path, state: &Path) -> Project {
    let opts = LoadOptions {
        context_cache: Some(state.join("context-cache")),
        context_dirs: Some(state.join("context-dirs")),
        ..Default::default()
    };
    let p = Project::load_with(root, &opts).unwrap_or_else(|e| panic!("{e}"));
    if let Some(bytes) = &p.context_cache_update {
        std::fs::write(state.join("context-cache"), bytes).unwrap();
    }
    if let Some(bytes) = &p.context_dirs_update {
        std::fs::write(state.join("context-dirs"), bytes).unwrap();
    }
    p
}

fn keys(p: &Project) -> Vec<String> {
    NODES
        .iter()
        .map(|n| p.graph.by_name(n).unwrap().key.hex())
        .collect()
}

fn uncached(root: &Path) -> Vec<String> {
    keys(&Project::load(root).unwrap_or_else(|e| panic!("{e}")))
}

/// A project whose folders are past the racy margin, loaded once with the caches.
fn cached() -> (Fixture, tempfile::TempDir) {
    let f = project();
    std::thread::sleep(Duration::from_millis(200));
    let state = tempfile::tempdir().unwrap();
    let first = load_and_store(f.root(), state.path());
    assert!(first.context_dirs_update.is_some(), "the first load lists");
    assert_eq!(keys(&first), uncached(f.root()));
    (f, state)
}

#[test]
fn a_second_load_takes_every_listing_from_the_cache_and_keys_the_same() {
    let (f, state) = cached();
    let second = load_and_store(f.root(), state.path());
    assert!(
        second.context_dirs_update.is_none(),
        "every folder came from the cache: nothing to write"
    );
    assert_eq!(keys(&second), uncached(f.root()));
}

#[test]
fn a_file_added_below_a_copied_folder_changes_the_key() {
    let (f, state) = cached();
    let before = keys(&load_and_store(f.root(), state.path()));
    f.write("images/01-base/conf/sub/c.conf", "c\n");
    let after = keys(&load_and_store(f.root(), state.path()));
    assert_ne!(before[0], after[0], "base reads conf/sub/c.conf now");
    assert_eq!(after, uncached(f.root()));
}

#[test]
fn an_ignore_file_made_or_removed_after_the_cache_is_seen() {
    let (f, state) = cached();
    let before = keys(&load_and_store(f.root(), state.path()));
    f.write("images/app/.containerignore", "app.conf\n");
    let ignored = keys(&load_and_store(f.root(), state.path()));
    assert_ne!(before[1], ignored[1], "app.conf is no longer sent");
    assert_eq!(ignored, uncached(f.root()));

    // Old enough to be cached, then removed: the file is sent again.
    std::thread::sleep(Duration::from_millis(200));
    let again = keys(&load_and_store(f.root(), state.path()));
    assert_eq!(again, ignored);
    std::fs::remove_file(f.path("images/app/.containerignore")).unwrap();
    let removed = keys(&load_and_store(f.root(), state.path()));
    assert_eq!(removed, before);
}

#[test]
fn an_ignore_file_in_a_context_nothing_is_copied_from_is_still_read() {
    let (f, state) = cached();
    // An ignore file that cannot be read is an error even where no file is sent.
    f.write_bytes("images/plain/.dockerignore", &[0xff, 0xfe]);
    let opts = LoadOptions {
        context_cache: Some(state.path().join("context-cache")),
        context_dirs: Some(state.path().join("context-dirs")),
        ..Default::default()
    };
    let err = Project::load_with(f.root(), &opts).unwrap_err().to_string();
    assert!(err.contains(".dockerignore"), "{err}");
}

#[test]
fn a_folder_replaced_by_another_of_the_same_name_is_listed_again() {
    let (f, state) = cached();
    let before = keys(&load_and_store(f.root(), state.path()));
    let conf = f.path("images/01-base/conf");
    let other = f.path("images/01-base/conf.new");
    std::fs::create_dir_all(other.join("sub")).unwrap();
    std::fs::write(other.join("a.conf"), "a\n").unwrap();
    std::fs::write(other.join("sub/b.conf"), "b\n").unwrap();
    std::fs::write(other.join("sub/d.conf"), "d\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    std::fs::remove_dir_all(&conf).unwrap();
    std::fs::rename(&other, &conf).unwrap();
    let after = keys(&load_and_store(f.root(), state.path()));
    assert_ne!(before[0], after[0]);
    assert_eq!(after, uncached(f.root()));
}

#[test]
fn a_corrupt_listing_cache_is_no_cache() {
    let (f, state) = cached();
    std::fs::write(state.path().join("context-dirs"), b"RGNTDIRS garbage").unwrap();
    let p = load_and_store(f.root(), state.path());
    assert!(
        p.context_dirs_update.is_some(),
        "listed again and rewritten"
    );
    assert_eq!(keys(&p), uncached(f.root()));
}

/// A listing cache made now holding one record for the folder `dir`: its entries
/// `entries`, for the stat `stat`.
fn forged(state: &Path, dir: &Path, stat: StatKey, entries: Vec<(Vec<u8>, bool)>) {
    let path = state.join("context-dirs");
    let cache = DirCache::load(Some(&path));
    let abs = std::fs::canonicalize(dir).unwrap();
    cache.keep(
        abs.as_os_str().as_bytes(),
        Listing {
            stat,
            complete: true,
            entries,
        },
    );
    std::fs::write(&path, cache.update(Stamp::now()).unwrap()).unwrap();
}

#[test]
fn an_old_enough_listing_is_trusted_and_one_of_another_stat_is_not() {
    let f = project();
    std::thread::sleep(Duration::from_millis(200));
    let state = tempfile::tempdir().unwrap();
    let conf = f.path("images/01-base/conf");
    let stat = StatKey::from_metadata(&std::fs::metadata(&conf).unwrap());
    // The listing says conf/ holds only a.conf (sub/ left out): trusted, it is used.
    let only_a = vec![(b"a.conf".to_vec(), false)];
    forged(state.path(), &conf, stat, only_a.clone());
    let trusted = keys(&load_and_store(f.root(), state.path()));
    std::fs::remove_dir_all(conf.join("sub")).unwrap();
    let without_sub = uncached(f.root());
    assert_eq!(trusted[0], without_sub[0], "the cached listing was used");

    // The same listing for another stat of the folder is not.
    f.write("images/01-base/conf/sub/b.conf", "b\n");
    std::thread::sleep(Duration::from_millis(200));
    let now = StatKey::from_metadata(&std::fs::metadata(&conf).unwrap());
    let another = StatKey {
        ino: now.ino + 1,
        ..now
    };
    forged(state.path(), &conf, another, only_a);
    assert_eq!(
        keys(&load_and_store(f.root(), state.path())),
        uncached(f.root())
    );
}
