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

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use reagent_snapshot::cache::{Stamp, StatKey};

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

impl Listing {
    /// Whether an entry is called `name`.
    pub fn has(&self, name: &[u8]) -> bool {
        self.entries.iter().any(|(n, _)| n == name)
    }
}

/// Listings known before a load, and those it used.
#[derive(Debug)]
pub struct DirCache {
    stamp: Stamp,
    known: HashMap<Vec<u8>, Listing>,
    /// The listings this load used or made; `None` when nothing is kept.
    used: Option<Mutex<HashMap<Vec<u8>, Listing>>>,
    misses: AtomicUsize,
}

impl DirCache {
    /// The cache at `path` (missing, unreadable or corrupt: empty). With no path
    /// every folder is listed and nothing is kept.
    pub fn load(path: Option<&Path>) -> Self {
        let (stamp, known) = path
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| decode(&bytes))
            .unwrap_or((Stamp { secs: 0, nanos: 0 }, HashMap::new()));
        DirCache {
            stamp,
            known,
            used: path.map(|_| Mutex::new(HashMap::new())),
            misses: AtomicUsize::new(0),
        }
    }

    /// The listing of the folder `abs` whose stat is `stat`, when the cache has one
    /// that matches and is not racy (and is complete, when `complete` is asked for).
    pub fn get(&self, abs: &[u8], stat: &StatKey, complete: bool) -> Option<Listing> {
        let found = self
            .known
            .get(abs)
            .filter(|l| l.stat == *stat && (l.complete || !complete) && stat.trusted_at(self.stamp))
            .cloned();
        match &found {
            Some(listing) => self.keep(abs, listing.clone()),
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
            }
        }
        found
    }

    /// Keep `listing` of `abs` for the next load (a complete one is never replaced
    /// by one that is not).
    pub fn keep(&self, abs: &[u8], listing: Listing) {
        let Some(used) = &self.used else {
            return;
        };
        let mut used = used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match used.get(abs) {
            Some(old) if old.complete && !listing.complete && old.stat == listing.stat => {}
            _ => {
                used.insert(abs.to_vec(), listing);
            }
        }
    }

    /// The new cache image for `stamp` (taken before this load) holding exactly the
    /// listings this load used, or `None` when nothing is kept or the cache on disk
    /// already says the same.
    pub fn update(&self, stamp: Stamp) -> Option<Vec<u8>> {
        let used = self
            .used
            .as_ref()?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.misses.load(Ordering::Relaxed) == 0 && used.len() == self.known.len() {
            return None;
        }
        let mut paths: Vec<_> = used.iter().collect();
        paths.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Some(encode(stamp, &paths))
    }
}

fn encode(stamp: Stamp, records: &[(&Vec<u8>, &Listing)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&stamp.secs.to_le_bytes());
    out.extend_from_slice(&stamp.nanos.to_le_bytes());
    out.extend_from_slice(&(records.len() as u64).to_le_bytes());
    let len32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    for (path, l) in records {
        out.extend_from_slice(&len32(path.len()));
        out.extend_from_slice(path);
        let k = &l.stat;
        out.extend_from_slice(&k.size.to_le_bytes());
        out.extend_from_slice(&k.mtime.to_le_bytes());
        out.extend_from_slice(&k.mtime_ns.to_le_bytes());
        out.extend_from_slice(&k.ctime.to_le_bytes());
        out.extend_from_slice(&k.ctime_ns.to_le_bytes());
        out.extend_from_slice(&k.ino.to_le_bytes());
        out.push(u8::from(l.complete));
        out.extend_from_slice(&len32(l.entries.len()));
        for (name, is_dir) in &l.entries {
            out.push(u8::from(*is_dir));
            out.extend_from_slice(&len32(name.len()));
            out.extend_from_slice(name);
        }
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<(Stamp, HashMap<Vec<u8>, Listing>)> {
    let body_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, checksum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let mut r = Reader(body);
    if r.take(8)? != MAGIC || r.u32()? != VERSION {
        return None;
    }
    let stamp = Stamp {
        secs: r.i64()?,
        nanos: r.u32()?,
    };
    let count = r.u64()?;
    let mut known = HashMap::new();
    for _ in 0..count {
        let path = r.bytes()?.to_vec();
        let stat = StatKey {
            size: r.u64()?,
            mtime: r.i64()?,
            mtime_ns: r.u32()?,
            ctime: r.i64()?,
            ctime_ns: r.u32()?,
            ino: r.u64()?,
        };
        let complete = match r.take(1)? {
            [0] => false,
            [1] => true,
            _ => return None,
        };
        let n = r.u32()?;
        // Each entry takes at least 5 bytes: a count the file cannot hold is corrupt.
        if usize::try_from(n).ok()? > r.0.len() / 5 {
            return None;
        }
        let mut entries = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let is_dir = match r.take(1)? {
                [0] => false,
                [1] => true,
                _ => return None,
            };
            entries.push((r.bytes()?.to_vec(), is_dir));
        }
        known.insert(
            path,
            Listing {
                stat,
                complete,
                entries,
            },
        );
    }
    r.0.is_empty().then_some((stamp, known))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n)
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

    fn written(listings: &[(&[u8], Listing)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dirs");
        let cache = DirCache::load(Some(&path));
        for (p, l) in listings {
            cache.keep(p, l.clone());
        }
        let bytes = cache
            .update(Stamp {
                secs: 1000,
                nanos: 0,
            })
            .unwrap();
        std::fs::write(&path, bytes).unwrap();
        dir
    }

    #[test]
    fn a_listing_comes_back_only_for_the_same_stat_and_when_not_racy() {
        let dir = written(&[
            (b"/p/a", listing(100, true)),
            (b"/p/new", listing(1000, true)),
        ]);
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        assert_eq!(
            cache.get(b"/p/a", &stat(100), true),
            Some(listing(100, true))
        );
        assert_eq!(cache.get(b"/p/a", &stat(101), true), None, "folder changed");
        assert_eq!(cache.get(b"/p/new", &stat(1000), true), None, "racy");
        assert_eq!(cache.get(b"/p/other", &stat(100), true), None);
    }

    #[test]
    fn an_ignore_file_record_does_not_answer_for_a_whole_listing() {
        let dir = written(&[(b"/p/a", listing(100, false))]);
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        assert_eq!(cache.get(b"/p/a", &stat(100), true), None);
        assert_eq!(
            cache.get(b"/p/a", &stat(100), false),
            Some(listing(100, false))
        );
    }

    #[test]
    fn a_complete_listing_is_kept_over_a_partial_one_of_the_same_stat() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        cache.keep(b"/p/a", listing(100, true));
        cache.keep(b"/p/a", listing(100, false));
        let bytes = cache
            .update(Stamp {
                secs: 1000,
                nanos: 0,
            })
            .unwrap();
        let (_, known) = decode(&bytes).unwrap();
        assert!(known[&b"/p/a".to_vec()].complete);
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
        assert_eq!(cache.get(b"/p/a", &stat(100), true), None);
    }

    #[test]
    fn nothing_new_writes_nothing() {
        let dir = written(&[(b"/p/a", listing(100, true))]);
        let cache = DirCache::load(Some(&dir.path().join("dirs")));
        assert!(cache.get(b"/p/a", &stat(100), true).is_some());
        assert!(cache
            .update(Stamp {
                secs: 2000,
                nanos: 0
            })
            .is_none());
    }
}
