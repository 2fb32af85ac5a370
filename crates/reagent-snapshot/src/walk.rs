//! The parallel walk: lists each directory with `std::fs`, then stats, hashes and recurses into
//! its entries on the rayon pool, and folds the results into Merkle hashes bottom-up.

use std::cell::RefCell;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::cache::{push_record, Cache, StatKey};
use crate::merkle::{dir_hash, symlink_hash, Entry, Kind};
use crate::SnapshotError;

/// Files at least this big are hashed with blake3's memory-mapped multi-threaded hasher;
/// smaller ones are read in one go into a reused per-thread buffer.
pub const LARGE_FILE: u64 = 1 << 20;

/// Directories with at most this many entries are walked on the current thread.
const SEQUENTIAL_DIR: usize = 8;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static REL_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Counters and settings shared by all the walk's tasks.
pub struct Walker<'a> {
    /// Cached hashes to reuse, if any.
    pub cache: Option<&'a Cache>,
    /// Whether to encode cache records for the files seen.
    pub record: bool,
    /// Whether to leave out a `.git` entry at the root.
    pub skip_root_git: bool,
    /// Regular files seen.
    pub files: AtomicU64,
    /// Symlinks seen.
    pub symlinks: AtomicU64,
    /// Directories seen, the root included.
    pub dirs: AtomicU64,
    /// Bytes read and hashed (cache hits excluded).
    pub bytes_hashed: AtomicU64,
    /// Files whose hash came from the cache.
    pub cache_hits: AtomicU64,
}

/// What a directory contributes: its hash, and the cache records of every file below it.
pub struct DirOut {
    /// The directory's Merkle hash.
    pub hash: blake3::Hash,
    /// Encoded cache records, in walk order (empty unless recording).
    pub chunks: Vec<Vec<u8>>,
}

struct Item {
    entry: Entry,
    key: Option<StatKey>,
    chunks: Vec<Vec<u8>>,
}

impl<'a> Walker<'a> {
    /// A walker with zeroed counters.
    pub fn new(cache: Option<&'a Cache>, record: bool, skip_root_git: bool) -> Self {
        Walker {
            cache,
            record,
            skip_root_git,
            files: AtomicU64::new(0),
            symlinks: AtomicU64::new(0),
            dirs: AtomicU64::new(0),
            bytes_hashed: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    /// Hashes the directory `abs`, whose path relative to the walk's root is `rel`
    /// (empty for the root; '/'-separated).
    pub fn dir(&self, abs: &Path, rel: &[u8]) -> Result<DirOut, SnapshotError> {
        self.dirs.fetch_add(1, Ordering::Relaxed);
        let listing = fs::read_dir(abs).map_err(|e| SnapshotError::io(abs, "list directory", e))?;
        let mut children = Vec::new();
        for dirent in listing {
            let dirent = dirent.map_err(|e| SnapshotError::io(abs, "list directory", e))?;
            let name = dirent.file_name().into_vec();
            if rel.is_empty() && self.skip_root_git && name == b".git" {
                continue;
            }
            children.push((name, dirent));
        }
        // Small directories (a package's few files) are done in line: the parallelism comes from
        // their siblings, and splitting them would cost more than it gains.
        let items = if children.len() <= SEQUENTIAL_DIR {
            children
                .into_iter()
                .map(|(name, dirent)| self.child(rel, name, &dirent))
                .collect::<Result<Vec<Item>, SnapshotError>>()?
        } else {
            children
                .into_par_iter()
                .map(|(name, dirent)| self.child(rel, name, &dirent))
                .collect::<Result<Vec<Item>, SnapshotError>>()?
        };

        let mut entries = Vec::with_capacity(items.len());
        let mut own = Vec::new();
        let mut chunks = Vec::new();
        for item in items {
            if let Some(key) = &item.key {
                with_rel(rel, &item.entry.name, |path| {
                    push_record(&mut own, path, key, &item.entry.hash);
                });
            }
            chunks.extend(item.chunks);
            entries.push(item.entry);
        }
        if !own.is_empty() {
            chunks.insert(0, own);
        }
        Ok(DirOut {
            hash: dir_hash(&mut entries),
            chunks,
        })
    }

    fn child(
        &self,
        rel: &[u8],
        name: Vec<u8>,
        dirent: &fs::DirEntry,
    ) -> Result<Item, SnapshotError> {
        let file_type = dirent
            .file_type()
            .map_err(|e| SnapshotError::io(dirent.path(), "stat", e))?;
        if file_type.is_dir() {
            let child_rel = join_rel(rel, &name);
            let out = self.dir(&dirent.path(), &child_rel)?;
            return Ok(Item {
                entry: Entry {
                    name,
                    kind: Kind::Dir,
                    executable: false,
                    hash: out.hash,
                },
                key: None,
                chunks: out.chunks,
            });
        }
        if file_type.is_symlink() {
            self.symlinks.fetch_add(1, Ordering::Relaxed);
            let path = dirent.path();
            let target =
                fs::read_link(&path).map_err(|e| SnapshotError::io(&path, "read link", e))?;
            return Ok(Item {
                entry: Entry {
                    name,
                    kind: Kind::Symlink,
                    executable: false,
                    hash: symlink_hash(target.as_os_str().as_bytes()),
                },
                key: None,
                chunks: Vec::new(),
            });
        }
        if !file_type.is_file() {
            return Err(SnapshotError::UnsupportedFileType {
                path: dirent.path(),
                kind: kind_name(file_type),
            });
        }
        self.files.fetch_add(1, Ordering::Relaxed);
        let meta = dirent
            .metadata()
            .map_err(|e| SnapshotError::io(dirent.path(), "stat", e))?;
        let key = StatKey::from_metadata(&meta);
        let cached = self
            .cache
            .and_then(|cache| with_rel(rel, &name, |p| cache.lookup(p, &key)));
        let hash = if let Some(hash) = cached {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            hash
        } else {
            let (hash, bytes) = hash_contents(&dirent.path(), key.size)?;
            self.bytes_hashed.fetch_add(bytes, Ordering::Relaxed);
            hash
        };
        Ok(Item {
            entry: Entry {
                name,
                kind: Kind::File,
                executable: crate::merkle::is_executable(meta.permissions().mode()),
                hash,
            },
            key: self.record.then_some(key),
            chunks: Vec::new(),
        })
    }
}

fn kind_name(file_type: fs::FileType) -> &'static str {
    if file_type.is_socket() {
        "socket"
    } else if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_char_device() {
        "char device"
    } else {
        "unknown"
    }
}

fn join_rel(rel: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rel.len() + 1 + name.len());
    if !rel.is_empty() {
        out.extend_from_slice(rel);
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

/// Calls `f` with `rel/name` built in a reused per-thread buffer.
fn with_rel<T>(rel: &[u8], name: &[u8], f: impl FnOnce(&[u8]) -> T) -> T {
    REL_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            if !rel.is_empty() {
                buf.extend_from_slice(rel);
                buf.push(b'/');
            }
            buf.extend_from_slice(name);
            f(&buf)
        }
        // Re-entered on this thread (not expected): fall back to a fresh buffer.
        Err(_) => f(&join_rel(rel, name)),
    })
}

/// Hashes a regular file's contents; `size_hint` (from stat) picks the strategy.
/// Returns the hash and the number of bytes hashed.
pub fn hash_contents(path: &Path, size_hint: u64) -> Result<(blake3::Hash, u64), SnapshotError> {
    if size_hint >= LARGE_FILE {
        let mut hasher = blake3::Hasher::new();
        hasher
            .update_mmap_rayon(path)
            .map_err(|e| SnapshotError::io(path, "read", e))?;
        return Ok((hasher.finalize(), hasher.count()));
    }
    let mut file = fs::File::open(path).map_err(|e| SnapshotError::io(path, "open", e))?;
    READ_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => read_and_hash(&mut file, &mut buf, size_hint, path),
        Err(_) => read_and_hash(&mut file, &mut Vec::new(), size_hint, path),
    })
}

fn read_and_hash(
    file: &mut fs::File,
    buf: &mut Vec<u8>,
    size_hint: u64,
    path: &Path,
) -> Result<(blake3::Hash, u64), SnapshotError> {
    // One byte more than the expected size, so that a single read fills it and the next sees EOF.
    let want = usize::try_from(size_hint)
        .unwrap_or(0)
        .saturating_add(1)
        .max(8192);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // The file grew since stat: keep reading.
            let grown = buf.len().saturating_mul(2);
            buf.resize(grown, 0);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            // Interrupted before reading anything: try again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(SnapshotError::io(path, "read", e)),
        }
    }
    let data = &buf[..filled];
    let hash = if filled >= 128 * 1024 {
        let mut hasher = blake3::Hasher::new();
        hasher.update_rayon(data);
        hasher.finalize()
    } else {
        blake3::hash(data)
    };
    Ok((hash, filled as u64))
}
