//! Context-file hashes by stat: the snapshot's stat cache format
//! ([`reagent_snapshot::cache`]), keyed by a file's absolute path, so a load that
//! finds a context file's size, mtime, ctime and inode unchanged takes its content
//! hash from the cache instead of reading it.
//!
//! The racy-timestamp rule is the cache's own: a record is trusted only if the
//! file's mtime and ctime are older than the time the cache was made (taken just
//! before the load that wrote it), so an edit in the same clock tick that keeps
//! size and mtime is still read. Loading never writes: the records a load used
//! are handed back ([`FileCache::update`]) for the caller to store.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use reagent_snapshot::cache::{encode, push_record, Cache, Stamp, StatKey};

use crate::dir_cache::DirCache;

/// The records a load used: absolute path → (stat, content hash).
type Used = HashMap<Vec<u8>, (StatKey, blake3::Hash)>;

/// The context-file hashes known before a load, and those it used.
#[derive(Debug)]
pub struct FileCache {
    cache: Cache,
    stamp: Stamp,
    /// The records this load used; `None` when there is no cache to update.
    used: Option<Mutex<Used>>,
    reads: AtomicUsize,
    /// Folder listings by stat, kept beside the hashes.
    dirs: DirCache,
}

impl FileCache {
    /// The cache at `path` and the folder listings at `dirs` (missing, unreadable or
    /// corrupt: empty); the clock is read now, before any file is hashed. With no
    /// path, every file is read (every folder listed) and nothing is kept.
    pub fn load(path: Option<&Path>, dirs: Option<&Path>) -> Self {
        let stamp = Stamp::now();
        // Two files to read, check and index, each on its own core.
        let (cache, dirs) = rayon::join(
            || path.map_or_else(Cache::empty, Cache::load),
            || DirCache::load(dirs),
        );
        FileCache {
            cache,
            stamp,
            used: path.map(|_| Mutex::new(HashMap::new())),
            reads: AtomicUsize::new(0),
            dirs,
        }
    }

    /// The folder listings (see [`crate::dir_cache`]).
    pub fn dirs(&self) -> &DirCache {
        &self.dirs
    }

    /// The new folder-listing cache image, or `None` when there is nothing to keep
    /// or nothing new (see [`DirCache::update`]).
    pub fn dirs_update(&self) -> Option<Vec<u8>> {
        self.dirs.update(self.stamp)
    }

    /// The content hash of the regular file `path` with metadata `meta`: from the
    /// cache when its stat matches and is not racy, else read with
    /// [`reagent_snapshot::hash_file`].
    pub fn content_hash(
        &self,
        path: &Path,
        meta: &std::fs::Metadata,
    ) -> std::io::Result<blake3::Hash> {
        let key = StatKey::from_metadata(meta);
        let abs = path.as_os_str().as_bytes();
        let hash = if let Some(hash) = self.cache.lookup(abs, &key) {
            hash
        } else {
            self.reads.fetch_add(1, Ordering::Relaxed);
            reagent_snapshot::hash_file(path).map_err(std::io::Error::other)?
        };
        if let Some(used) = &self.used {
            used.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(abs.to_vec(), (key, hash));
        }
        Ok(hash)
    }

    /// How many files were read (not found in the cache) so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// The new cache image holding exactly the records this load used, or `None`
    /// when there is no cache path or the cache on disk already says the same (every
    /// file came from it and it holds nothing else).
    pub fn update(&self) -> Option<Vec<u8>> {
        let used = self
            .used
            .as_ref()?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.reads() == 0 && used.len() == self.cache.len() {
            return None;
        }
        let mut paths: Vec<_> = used.iter().collect();
        paths.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut chunk = Vec::new();
        for (path, (key, hash)) in paths {
            push_record(&mut chunk, path, key, hash);
        }
        Some(encode(self.stamp, used.len() as u64, &[chunk]))
    }
}
