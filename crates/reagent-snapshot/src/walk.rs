//! The parallel walk: lists each directory through its descriptor, then stats, hashes and
//! recurses into its entries on the rayon pool, and folds the results into Merkle hashes
//! bottom-up.
//!
//! Every directory is opened relative to its parent's descriptor and every entry is stat'ed
//! relative to its directory's (`openat`, `fstatat`), so the kernel resolves one name per call
//! rather than the whole path; names come straight from `getdents64` with one allocation per
//! entry (the name the Merkle entry keeps).

use std::cell::RefCell;
use std::ffi::{CStr, CString, OsStr};
use std::fs;
use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};

use crate::cache::{push_record, Cache, StatKey};
use crate::merkle::{dir_hash, symlink_hash, Entry, Kind};
use crate::SnapshotError;

/// Files at least this big are hashed with blake3's memory-mapped multi-threaded hasher;
/// smaller ones are read in one go into a reused per-thread buffer.
pub const LARGE_FILE: u64 = 1 << 20;

/// Directories with at most this many entries are walked on the current thread.
const SEQUENTIAL_DIR: usize = 8;

/// Bytes of `getdents64` records read per call.
const LISTING_BUF: usize = 32 * 1024;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static REL_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static LIST_BUF: RefCell<Vec<MaybeUninit<u8>>> = const { RefCell::new(Vec::new()) };
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
    /// When recording: which of the cache's records (by number) answered for a file. They
    /// go into a new cache image as they are, so a file found in the cache is not encoded
    /// again.
    pub hits: Vec<AtomicBool>,
}

/// What a directory contributes: its hash, and the cache records of every file below it.
pub struct DirOut {
    /// The directory's Merkle hash.
    pub hash: blake3::Hash,
    /// Encoded cache records of the files not found in the cache, in walk order (empty
    /// unless recording).
    pub chunks: Vec<Vec<u8>>,
}

struct Item {
    entry: Entry,
    key: Option<StatKey>,
    chunks: Vec<Vec<u8>>,
}

/// A directory being walked: its descriptor, and its paths (absolute for errors and
/// memory-mapped reads; relative to the root for the cache).
struct Dir<'p> {
    fd: OwnedFd,
    abs: &'p Path,
    rel: &'p [u8],
}

impl Dir<'_> {
    /// The absolute path of the entry `name` (for errors and large files).
    fn path_of(&self, name: &CStr) -> PathBuf {
        self.abs.join(OsStr::from_bytes(name.to_bytes()))
    }
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
            hits: match cache {
                Some(cache) if record => (0..cache.records())
                    .map(|_| AtomicBool::new(false))
                    .collect(),
                _ => Vec::new(),
            },
        }
    }

    /// Hashes the directory `abs`, whose path relative to the walk's root is `rel`
    /// (empty for the root; '/'-separated).
    pub fn dir(&self, abs: &Path, rel: &[u8]) -> Result<DirOut, SnapshotError> {
        let fd = rustix::fs::open(
            abs,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| SnapshotError::io(abs, "list directory", e.into()))?;
        self.walk(&Dir { fd, abs, rel })
    }

    fn walk(&self, dir: &Dir<'_>) -> Result<DirOut, SnapshotError> {
        self.dirs.fetch_add(1, Ordering::Relaxed);
        let children = self.list(dir)?;
        // Small directories (a package's few files) are done in line: the parallelism comes from
        // their siblings, and splitting them would cost more than it gains.
        let items = if children.len() <= SEQUENTIAL_DIR {
            children
                .into_iter()
                .map(|(name, file_type)| self.child(dir, name, file_type))
                .collect::<Result<Vec<Item>, SnapshotError>>()?
        } else {
            children
                .into_par_iter()
                .map(|(name, file_type)| self.child(dir, name, file_type))
                .collect::<Result<Vec<Item>, SnapshotError>>()?
        };

        let mut entries = Vec::with_capacity(items.len());
        let mut own = Vec::new();
        let mut chunks = Vec::new();
        for item in items {
            if let Some(key) = &item.key {
                with_rel(dir.rel, &item.entry.name, |path| {
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

    /// The directory's entries (not `.` and `..`, nor the root's `.git` when skipped), with
    /// the type `getdents64` gives (which may be unknown).
    fn list(&self, dir: &Dir<'_>) -> Result<Vec<(CString, FileType)>, SnapshotError> {
        let failed = |e: rustix::io::Errno| SnapshotError::io(dir.abs, "list directory", e.into());
        let mut children = Vec::new();
        let mut read = |buf: &mut [MaybeUninit<u8>]| -> Result<(), SnapshotError> {
            let mut raw = RawDir::new(dir.fd.as_fd(), buf);
            while let Some(entry) = raw.next() {
                let entry = entry.map_err(failed)?;
                let name = entry.file_name();
                let bytes = name.to_bytes();
                if bytes == b"." || bytes == b".." {
                    continue;
                }
                if dir.rel.is_empty() && self.skip_root_git && bytes == b".git" {
                    continue;
                }
                children.push((name.to_owned(), entry.file_type()));
            }
            Ok(())
        };
        LIST_BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                if buf.len() < LISTING_BUF {
                    buf.resize(LISTING_BUF, MaybeUninit::uninit());
                }
                read(&mut buf)
            }
            // Re-entered on this thread (not expected): a buffer of its own.
            Err(_) => read(&mut vec![MaybeUninit::uninit(); LISTING_BUF]),
        })?;
        Ok(children)
    }

    fn child(&self, dir: &Dir<'_>, name: CString, listed: FileType) -> Result<Item, SnapshotError> {
        let fd = dir.fd.as_fd();
        // A file system that gives no type in its listing: ask for it.
        let mut stat = None;
        let file_type = if listed == FileType::Unknown {
            let s =
                stat_at(fd, &name).map_err(|e| SnapshotError::io(dir.path_of(&name), "stat", e))?;
            stat = Some(s);
            FileType::from_raw_mode(s.st_mode)
        } else {
            listed
        };
        match file_type {
            FileType::Directory => {
                let sub = rustix::fs::openat(
                    fd,
                    name.as_c_str(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| SnapshotError::io(dir.path_of(&name), "list directory", e.into()))?;
                let abs = dir.path_of(&name);
                let rel = join_rel(dir.rel, name.to_bytes());
                let out = self.walk(&Dir {
                    fd: sub,
                    abs: &abs,
                    rel: &rel,
                })?;
                Ok(Item {
                    entry: Entry {
                        name: name.into_bytes(),
                        kind: Kind::Dir,
                        executable: false,
                        hash: out.hash,
                    },
                    key: None,
                    chunks: out.chunks,
                })
            }
            FileType::Symlink => {
                self.symlinks.fetch_add(1, Ordering::Relaxed);
                let target = rustix::fs::readlinkat(fd, name.as_c_str(), Vec::new())
                    .map_err(|e| SnapshotError::io(dir.path_of(&name), "read link", e.into()))?;
                Ok(Item {
                    entry: Entry {
                        name: name.into_bytes(),
                        kind: Kind::Symlink,
                        executable: false,
                        hash: symlink_hash(target.as_bytes()),
                    },
                    key: None,
                    chunks: Vec::new(),
                })
            }
            FileType::RegularFile => {
                let stat = match stat {
                    Some(s) => s,
                    None => stat_at(fd, &name)
                        .map_err(|e| SnapshotError::io(dir.path_of(&name), "stat", e))?,
                };
                self.file(dir, name, &stat)
            }
            other => Err(SnapshotError::UnsupportedFileType {
                path: dir.path_of(&name),
                kind: kind_name(other),
            }),
        }
    }

    fn file(
        &self,
        dir: &Dir<'_>,
        name: CString,
        stat: &rustix::fs::Stat,
    ) -> Result<Item, SnapshotError> {
        self.files.fetch_add(1, Ordering::Relaxed);
        let key = StatKey::from_stat(stat);
        let cached = self
            .cache
            .and_then(|cache| with_rel(dir.rel, name.to_bytes(), |p| cache.find(p, &key)));
        let mut record = self.record;
        let hash = if let Some((hash, n)) = cached {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            if let Some(hit) = self.hits.get(n) {
                hit.store(true, Ordering::Relaxed);
                record = false;
            }
            hash
        } else {
            let (hash, bytes) = if key.size >= LARGE_FILE {
                hash_contents(&dir.path_of(&name), key.size)?
            } else {
                hash_small_at(dir.fd.as_fd(), &name, key.size)
                    .map_err(|e| SnapshotError::io(dir.path_of(&name), "read", e))?
            };
            self.bytes_hashed.fetch_add(bytes, Ordering::Relaxed);
            hash
        };
        Ok(Item {
            entry: Entry {
                name: name.into_bytes(),
                kind: Kind::File,
                executable: crate::merkle::is_executable(stat.st_mode),
                hash,
            },
            key: record.then_some(key),
            chunks: Vec::new(),
        })
    }

    /// The cache's records that answered for a file, as one chunk for a new cache image.
    pub fn hit_records(&self) -> Vec<u8> {
        let mut chunk = Vec::new();
        if let Some(cache) = self.cache {
            for (n, hit) in self.hits.iter().enumerate() {
                if hit.load(Ordering::Relaxed) {
                    chunk.extend_from_slice(cache.record_bytes(n));
                }
            }
        }
        chunk
    }
}

/// `fstatat(dir, name)`, not following a symlink.
fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> std::io::Result<rustix::fs::Stat> {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(Into::into)
}

/// Hashes the small regular file `name` of `dir` (opened relative to it, never through a
/// symlink); `size_hint` from its stat. Returns the hash and the number of bytes hashed.
fn hash_small_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    size_hint: u64,
) -> std::io::Result<(blake3::Hash, u64)> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    read_and_hash(&mut fs::File::from(fd), size_hint)
}

fn kind_name(file_type: FileType) -> &'static str {
    match file_type {
        FileType::Socket => "socket",
        FileType::Fifo => "fifo",
        FileType::BlockDevice => "block device",
        FileType::CharacterDevice => "char device",
        _ => "unknown",
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
    read_and_hash(&mut file, size_hint).map_err(|e| SnapshotError::io(path, "read", e))
}

/// Reads an open file whole into this thread's reused buffer and hashes it.
fn read_and_hash(file: &mut fs::File, size_hint: u64) -> std::io::Result<(blake3::Hash, u64)> {
    READ_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => fill_and_hash(file, &mut buf, size_hint),
        // Re-entered on this thread (not expected): a buffer of its own.
        Err(_) => fill_and_hash(file, &mut Vec::new(), size_hint),
    })
}

fn fill_and_hash(
    file: &mut fs::File,
    buf: &mut Vec<u8>,
    size_hint: u64,
) -> std::io::Result<(blake3::Hash, u64)> {
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
            Err(e) => return Err(e),
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
