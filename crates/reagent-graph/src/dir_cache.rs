//! Folder listings by stat, as git's untracked cache keeps them: a folder whose
//! size, mtime, ctime and inode are unchanged has the same entries, because
//! creating, removing or renaming an entry updates its folder's mtime and ctime.
//! A build context's walk takes such a folder's names (and which are folders)
//! from here instead of opening and reading it, and whether a context has a
//! `.containerignore` or `.dockerignore` is told by one `lstat` of its folder
//! instead of a probe for each name.
//!
//! A record is *complete* (every entry, from a listing) or only says which ignore
//! files a context folder holds (from probing them), which is all an image that
//! reads nothing from its context needs. The racy-timestamp rule is the stat
//! cache's ([`reagent_snapshot::cache`]): a record is trusted only if the
//! folder's mtime and ctime are older than the moment the cache was made.
//!
//! # File format (version 1, integers little-endian)
//!
//! ```text
//! magic      8 bytes  "RGNTDIRS"
//! version    u32      1
//! stamp      i64 s + u32 ns   wall clock taken before the load that wrote it
//! count      u64      number of records
//! records    count × { u32 path length, path bytes (absolute),
//!                      u64 size, i64 mtime s, u32 mtime ns, i64 ctime s, u32 ctime ns,
//!                      u64 inode, u8 complete, u32 entry count,
//!                      entries × { u8 is-folder, u32 name length, name bytes } }
//! checksum   32 bytes blake3 of everything above
//! ```
//!
//! A missing, truncated, corrupt or foreign file is an empty cache.

use std::hash::Hasher;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use hashbrown::HashTable;
use reagent_snapshot::cache::{open_image, seal, set_count, write_header, Reader, Stamp, StatKey};
use rustc_hash::{FxHashMap, FxHasher};

const MAGIC: &[u8; 8] = b"RGNTDIRS";
const VERSION: u32 = 1;
const CHECKSUM_LEN: usize = 32;

/// One folder's entries as a listing gave them: (name, is a folder), sorted by
/// name; or, for a record that is not complete, only the ignore files present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The folder's stat when it was listed (taken before listing it).
    pub stat: StatKey,
    /// Whether `entries` is every entry, not only the ignore files.
    pub complete: bool,
    /// Entries by name, with whether each is a folder.
    pub entries: Vec<(Vec<u8>, bool)>,
}

/// A cached listing's entries, read from the cache as they are asked for.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    bytes: &'a [u8],
    left: u32,
}

impl<'a> Iterator for Entries<'a> {
    /// (name, is a folder)
    type Item = (&'a [u8], bool);

    fn next(&mut self) -> Option<Self::Item> {
        // Checked when the cache was loaded: every entry is whole.
        self.left = self.left.checked_sub(1)?;
        let mut r = Reader::new(self.bytes);
        let is_dir = r.take(1)? == [1];
        let name = r.bytes()?;
        self.bytes = r.rest();
        Some((name, is_dir))
    }
}

impl Entries<'_> {
    /// Whether an entry is called `name`.
    pub fn has(self, name: &[u8]) -> bool {
        self.into_iter().any(|(n, _)| n == name)
    }
}

/// Where one record of the file is, and its fixed fields.
#[derive(Debug)]
struct Record {
    /// The whole record in the cache's bytes.
    at: Range<usize>,
    /// Its path in the cache's bytes.
    path: Range<usize>,
    stat: StatKey,
    complete: bool,
    /// Its entries in the cache's bytes, and how many.
    entries: Range<usize>,
    count: u32,
}

/// Listings known before a load, and those it used.
///
/// The file is kept as read and indexed by path: loading allocates nothing per
/// record, and a listing is read from it only when asked for.
#[derive(Debug)]
pub struct DirCache {
    stamp: Stamp,
    bytes: Vec<u8>,
    records: Vec<Record>,
    /// Each path's record (its number in `records`), by the path's hash.
    index: HashTable<usize>,
    /// Which records this load used.
    hit: Vec<AtomicBool>,
    /// The listings this load made; `None` when nothing is kept.
    made: Option<Mutex<FxHashMap<Vec<u8>, Listing>>>,
    misses: AtomicUsize,
}

fn hash_path(path: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(path);
    h.finish()
}

impl DirCache {
    /// The cache at `path` (missing, unreadable or corrupt: empty). With no path
    /// every folder is listed and nothing is kept.
    pub fn load(path: Option<&Path>) -> Self {
        let bytes = path
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_default();
        let (stamp, records) = decode(&bytes).unwrap_or((Stamp { secs: 0, nanos: 0 }, Vec::new()));
        let mut index = HashTable::with_capacity(records.len());
        for (n, r) in records.iter().enumerate() {
            let p = &bytes[r.path.clone()];
            let h = hash_path(p);
            // A path written twice: the later record answers.
            match index.find_mut(h, |&m: &usize| bytes[records[m].path.clone()] == *p) {
                Some(m) => *m = n,
                None => {
                    index.insert_unique(h, n, |&m: &usize| {
                        hash_path(&bytes[records[m].path.clone()])
                    });
                }
            }
        }
        DirCache {
            stamp,
            hit: records.iter().map(|_| AtomicBool::new(false)).collect(),
            bytes,
            records,
            index,
            made: path.map(|_| Mutex::new(FxHashMap::default())),
            misses: AtomicUsize::new(0),
        }
    }

    /// The entries of the folder `abs` whose stat is `stat`, when the cache has a
    /// listing that matches and is not racy (and is complete, when `complete` is
    /// asked for).
    pub fn get(&self, abs: &[u8], stat: &StatKey, complete: bool) -> Option<Entries<'_>> {
        let found = self
            .index
            .find(hash_path(abs), |&n| {
                self.bytes[self.records[n].path.clone()] == *abs
            })
            .copied()
            .filter(|&n| {
                let r = &self.records[n];
                r.stat == *stat && (r.complete || !complete) && stat.trusted_at(self.stamp)
            });
        let Some(n) = found else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.hit[n].store(true, Ordering::Relaxed);
        let r = &self.records[n];
        Some(Entries {
            bytes: &self.bytes[r.entries.clone()],
            left: r.count,
        })
    }

    /// Keep `listing` of `abs`, made by this load, for the next (a complete one is
    /// never replaced by one that is not).
    pub fn keep(&self, abs: &[u8], listing: Listing) {
        let Some(made) = &self.made else {
            return;
        };
        let mut made = made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match made.get(abs) {
            Some(old) if old.complete && !listing.complete && old.stat == listing.stat => {}
            _ => {
                made.insert(abs.to_vec(), listing);
            }
        }
    }

    /// The new cache image for `stamp` (taken before this load) holding exactly the
    /// listings this load used or made, or `None` when nothing is kept or the cache
    /// on disk already says the same.
    pub fn update(&self, stamp: Stamp) -> Option<Vec<u8>> {
        let made = self
            .made
            .as_ref()?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let hits = self
            .hit
            .iter()
            .filter(|h| h.load(Ordering::Relaxed))
            .count();
        if made.is_empty() && self.misses.load(Ordering::Relaxed) == 0 && hits == self.records.len()
        {
            return None;
        }
        let mut out = Vec::with_capacity(self.bytes.len());
        write_header(&mut out, MAGIC, VERSION, stamp, 0);
        let mut count = 0u64;
        for (r, hit) in self.records.iter().zip(&self.hit) {
            if hit.load(Ordering::Relaxed) && !made.contains_key(&self.bytes[r.path.clone()]) {
                out.extend_from_slice(&self.bytes[r.at.clone()]);
                count += 1;
            }
        }
        let mut paths: Vec<_> = made.iter().collect();
        paths.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (path, listing) in paths {
            push_record(&mut out, path, listing);
            count += 1;
        }
        set_count(&mut out, count);
        seal(&mut out);
        Some(out)
    }
}

fn push_record(out: &mut Vec<u8>, path: &[u8], l: &Listing) {
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    out.extend_from_slice(&len32(path.len()));
    out.extend_from_slice(path);
    l.stat.write(out);
    out.push(u8::from(l.complete));
    out.extend_from_slice(&len32(l.entries.len()));
    for (name, is_dir) in &l.entries {
        out.push(u8::from(*is_dir));
        out.extend_from_slice(&len32(name.len()));
        out.extend_from_slice(name);
    }
}

/// The stamp and records of a cache image, every record checked whole; `None`
/// for anything but a well-formed version-1 image.
fn decode(bytes: &[u8]) -> Option<(Stamp, Vec<Record>)> {
    let (stamp, count, mut r) = open_image(bytes, MAGIC, VERSION)?;
    let body = &bytes[..bytes.len() - CHECKSUM_LEN];
    let offset = |r: &Reader| body.len() - r.rest().len();
    // Each record takes at least 53 bytes: a count the file cannot hold is corrupt.
    let mut records = Vec::with_capacity(usize::try_from(count).ok()?.min(body.len() / 53));
    for _ in 0..count {
        let record_start = offset(&r);
        let path_len = r.bytes()?.len();
        let path = offset(&r) - path_len..offset(&r);
        let stat = r.stat_key()?;
        let complete = flag(r.take(1)?)?;
        let n = r.u32()?;
        let entries_start = offset(&r);
        for _ in 0..n {
            flag(r.take(1)?)?;
            r.bytes()?;
        }
        records.push(Record {
            at: record_start..offset(&r),
            path,
            stat,
            complete,
            entries: entries_start..offset(&r),
            count: n,
        });
    }
    r.rest().is_empty().then_some((stamp, records))
}

fn flag(b: &[u8]) -> Option<bool> {
    match b {
        [0] => Some(false),
        [1] => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(mtime: i64) -> StatKey {
        StatKey {
            size: 4096,
            mtime,
            mtime_ns: 5,
            ctime: mtime,
            ctime_ns: 5,
            ino: 9,
        }
    }

    fn listing(mtime: i64, complete: bool) -> Listing {
        Listing {
            stat: stat(mtime),
            complete,
            entries: vec![(b"a".to_vec(), false), (b"sub".to_vec(), true)],
        }
    }

    fn got(
        cache: &DirCache,
        abs: &[u8],
        stat: &StatKey,
        complete: bool,
    ) -> Option<Vec<(Vec<u8>, bool)>> {
        cache
            .get(abs, stat, complete)
            .map(|e| e.map(|(n, d)| (n.to_vec(), d)).collect())
    }

    fn written(listings: &[(&[u8], Listing)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dirs");
        let cache = DirCache::load(Some(&path));
        for (p, l) in listings {
            cache.keep(p, l.clone());
        }
        let bytes = cache.update(at(1000)).unwrap();
        std::fs::write(&path, bytes).unwrap();
        dir
    }

    fn at(secs: i64) -> Stamp {
        Stamp { secs, nanos: 0 }
    }

    #[test]
    fn a_listing_comes_back_only_for_the_same_stat_and_when_not_racy() {
        let dir = written(&[
            (b"/p/a", listing(100, true)),
            (b"/p/new", listing(1000, true)),
        ]);
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        let entries = Some(listing(100, true).entries);
        assert_eq!(got(&cache, b"/p/a", &stat(100), true), entries);
        assert_eq!(got(&cache, b"/p/a", &stat(101), true), None, "changed");
        assert_eq!(got(&cache, b"/p/new", &stat(1000), true), None, "racy");
        assert_eq!(got(&cache, b"/p/other", &stat(100), true), None);
        assert!(cache.get(b"/p/a", &stat(100), false).unwrap().has(b"sub"));
    }

    #[test]
    fn an_ignore_file_record_does_not_answer_for_a_whole_listing() {
        let dir = written(&[(b"/p/a", listing(100, false))]);
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        assert_eq!(got(&cache, b"/p/a", &stat(100), true), None);
        let entries = Some(listing(100, false).entries);
        assert_eq!(got(&cache, b"/p/a", &stat(100), false), entries);
    }

    #[test]
    fn a_complete_listing_is_kept_over_a_partial_one_of_the_same_stat() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        cache.keep(b"/p/a", listing(100, true));
        cache.keep(b"/p/a", listing(100, false));
        let bytes = cache.update(at(1000)).unwrap();
        let (_, records) = decode(&bytes).unwrap();
        assert_eq!(records.len(), 1);
        assert!(records[0].complete);
    }

    #[test]
    fn a_corrupt_or_cut_file_is_an_empty_cache() {
        let dir = written(&[(b"/p/a", listing(100, true))]);
        let path = dir.path().join("dirs");
        let bytes = std::fs::read(&path).unwrap();
        for cut in [0, 7, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(decode(&flipped).is_none());
        std::fs::write(&path, &flipped).unwrap();
        let cache = DirCache::load(Some(&path));
        assert_eq!(got(&cache, b"/p/a", &stat(100), true), None);
    }

    #[test]
    fn used_records_are_kept_and_unused_ones_dropped() {
        let dir = written(&[(b"/p/a", listing(100, true)), (b"/p/b", listing(100, true))]);
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        assert!(cache.get(b"/p/a", &stat(100), true).is_some());
        cache.keep(b"/p/c", listing(200, false));
        let bytes = cache.update(at(2000)).unwrap();
        std::fs::write(dir.path().join("dirs"), bytes).unwrap();
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        assert!(cache.get(b"/p/a", &stat(100), true).is_some());
        assert!(cache.get(b"/p/b", &stat(100), true).is_none());
        assert!(cache.get(b"/p/c", &stat(200), false).is_some());
    }

    #[test]
    fn nothing_new_writes_nothing() {
        let dir = written(&[(b"/p/a", listing(100, true))]);
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        assert!(cache.get(b"/p/a", &stat(100), true).is_some());
        assert!(cache.update(at(2000)).is_none());
    }
}
