//! Identifies a portage ebuild tree — or any directory — by its content, fast.
//!
//! reagent keys its build steps by the content of the inputs; the ebuild tree
//! (`/var/db/repos/gentoo`, ~150,000 small files) is the biggest of them. [`identify`] turns a tree
//! into an [`Identity`]:
//!
//! - if the tree has `metadata/timestamp.commit`, its first token is the git commit the tree was
//!   synced at, and that is the identity ([`Identity::Commit`]); nothing else is read;
//! - otherwise the identity is a Merkle blake3 of the tree ([`Identity::Tree`]): every regular file
//!   hashed by content, symlinks by their target string, directories by their sorted
//!   `(name, kind, executable bit, child hash)` entries (see [`merkle`]). A `.git` at the root is
//!   left out. Mtimes, owners, absolute paths and the tree's location never enter the hash, so a
//!   copy of the tree (`cp -a`, or `cp -r` without `-p`) has the same identity.
//!
//! Files are hashed in parallel on a rayon pool. With [`Options::cache`] set, a stat cache
//! (see [`cache`]) maps each file's relative path and `(size, mtime, ctime, inode)` to its hash,
//! so that an unchanged tree is re-identified by `stat` calls alone.
//!
//! Identifying is pure: it reads the tree and the cache file and writes nothing. When the cache
//! should change, [`Report::cache_update`] holds its new contents, and the caller decides
//! whether (and under which lock) to store them.
//!
//! ```no_run
//! use reagent_snapshot::{identify, Options};
//!
//! let opts = Options { cache: Some(".reagent/snapshot-cache".into()), threads: None };
//! let report = identify("/var/db/repos/gentoo".as_ref(), &opts)?;
//! println!("{} ({} files, {} from cache)", report.identity.label(), report.files, report.cache_hits);
//! if let Some(bytes) = &report.cache_update {
//!     std::fs::write(".reagent/snapshot-cache", bytes)?; // reagent writes it atomically, under its lock
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`hash_file`] hashes one regular file the way the tree's files are hashed (the digest
//! `b3sum` prints), and [`merkle::is_executable`] is the one rule for "executable" that every
//! content hash in reagent uses.

pub mod cache;
mod commit;
mod error;
pub mod merkle;
mod walk;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

pub use commit::COMMIT_FILE;
pub use error::SnapshotError;

use cache::{Cache, Stamp};
use walk::Walker;

/// What a tree is identified by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// The git commit named in `metadata/timestamp.commit` (lower-case hex).
    Commit(String),
    /// The Merkle blake3 of the tree's content.
    Tree(blake3::Hash),
}

/// blake3 derive-key context used to turn a commit id into a key hash.
const COMMIT_CONTEXT: &str = "reagent-snapshot 2025 commit identity v1";

impl Identity {
    /// A human-readable label: `commit:<id>` or `tree:<hex>`.
    pub fn label(&self) -> String {
        match self {
            Identity::Commit(id) => format!("commit:{id}"),
            Identity::Tree(hash) => format!("tree:{}", hash.to_hex()),
        }
    }

    /// A hash to fold into content keys: the tree hash itself, or a derived hash of the commit id
    /// (a separate blake3 context, so it cannot equal any tree hash by construction).
    pub fn hash(&self) -> blake3::Hash {
        match self {
            Identity::Commit(id) => {
                let mut hasher = blake3::Hasher::new_derive_key(COMMIT_CONTEXT);
                hasher.update(id.as_bytes());
                hasher.finalize()
            }
            Identity::Tree(hash) => *hash,
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// How to identify a tree.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A stat cache to read (reagent uses `.reagent/snapshot-cache`); `None` hashes every file
    /// every time. It is only read: see [`Report::cache_update`]. Keep it outside the tree:
    /// inside, it would be hashed too.
    pub cache: Option<PathBuf>,
    /// Hashing threads; `None` means one per core (or `RAYON_NUM_THREADS`). The walk runs on
    /// its own pool either way.
    pub threads: Option<usize>,
}

/// The outcome of [`identify`].
#[derive(Debug)]
pub struct Report {
    /// The tree's identity.
    pub identity: Identity,
    /// Regular files seen (0 for a commit identity).
    pub files: u64,
    /// Bytes read and hashed; cache hits read nothing.
    pub bytes_hashed: u64,
    /// Regular files whose hash came from the stat cache.
    pub cache_hits: u64,
    /// Symlinks seen.
    pub symlinks: u64,
    /// Directories seen, the root included.
    pub dirs: u64,
    /// The stat cache's new contents, when [`Options::cache`] is set and the cache should
    /// change (an unchanged tree with a fresh cache gives `None`). Nothing was written: the
    /// caller stores these bytes at the cache path if it wants the next run to be fast.
    pub cache_update: Option<Vec<u8>>,
}

/// Identifies `tree` (see the crate docs for the rules).
///
/// Errors name the path at fault: a missing or unreadable tree, an unreadable file or directory,
/// a socket/FIFO/device node in the tree, or a malformed `metadata/timestamp.commit`.
/// A cache that cannot be read is ignored. Nothing is written (see [`Report::cache_update`]).
pub fn identify(tree: &Path, opts: &Options) -> Result<Report, SnapshotError> {
    ensure_dir(tree)?;
    if let Some(id) = commit::read_commit(tree)? {
        return Ok(Report {
            identity: Identity::Commit(id),
            files: 0,
            bytes_hashed: 0,
            cache_hits: 0,
            symlinks: 0,
            dirs: 0,
            cache_update: None,
        });
    }
    let cache = opts.cache.as_deref().map(Cache::load);
    let stamp = Stamp::now();
    let walker = Walker::new(cache.as_ref(), opts.cache.is_some(), true);
    let out = in_pool(opts.threads, || walker.dir(tree, b""))??;

    let files = walker.files.load(Ordering::Relaxed);
    let cache_hits = walker.cache_hits.load(Ordering::Relaxed);
    // Unchanged tree: every file hit and no record is stale; the cache stays as it is.
    let cache_update = cache
        .as_ref()
        .filter(|cache| !(cache_hits == files && cache.len() as u64 == files))
        .map(|_| {
            let mut chunks = out.chunks;
            chunks.push(walker.hit_records());
            cache::encode(stamp, files, &chunks)
        });
    Ok(Report {
        identity: Identity::Tree(out.hash),
        files,
        bytes_hashed: walker.bytes_hashed.load(Ordering::Relaxed),
        cache_hits,
        symlinks: walker.symlinks.load(Ordering::Relaxed),
        dirs: walker.dirs.load(Ordering::Relaxed),
        cache_update,
    })
}

/// Hashes one regular file's contents: `blake3(contents)`, the digest `b3sum` prints.
pub fn hash_file(path: &Path) -> Result<blake3::Hash, SnapshotError> {
    let meta = fs::metadata(path).map_err(|e| SnapshotError::io(path, "stat", e))?;
    walk::hash_contents(path, meta.len()).map(|(hash, _)| hash)
}

fn ensure_dir(path: &Path) -> Result<(), SnapshotError> {
    let meta = fs::metadata(path).map_err(|e| SnapshotError::io(path, "stat", e))?;
    if meta.is_dir() {
        Ok(())
    } else {
        Err(SnapshotError::NotADirectory {
            path: path.to_path_buf(),
        })
    }
}

/// Stack size of the hashing threads: the walk recurses once per directory level, and a deep
/// tree (paths run up to `PATH_MAX`, ~2,000 levels) must not overflow. Only touched pages are used.
const WALK_STACK: usize = 256 << 20;

/// Runs `f` on a dedicated pool of `threads` threads (rayon's default count when `None`) with
/// stacks deep enough for any tree.
fn in_pool<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, SnapshotError> {
    let n = threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .stack_size(WALK_STACK)
        .thread_name(|i| format!("reagent-snapshot-{i}"))
        .build()
        .map_err(|e| SnapshotError::ThreadPool {
            threads: n,
            reason: e.to_string(),
        })?;
    Ok(pool.install(f))
}
