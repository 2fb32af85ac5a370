//! The stat cache: relative path + stat fields → content hash, so an unchanged tree is
//! re-identified by `stat` calls alone.
//!
//! # File format (version 1, all integers little-endian)
//!
//! ```text
//! magic      8 bytes  "RGNTSNAP"
//! version    u32      1
//! stamp      i64 s + u32 ns   wall clock taken just before the scan that wrote the cache
//! count      u64      number of records
//! records    count × { u32 path length, path bytes (relative, '/'-separated),
//!                      u64 size, i64 mtime s, u32 mtime ns, i64 ctime s, u32 ctime ns,
//!                      u64 inode, 32-byte blake3 }
//! checksum   32 bytes blake3 of everything above
//! ```
//!
//! A file that is missing, truncated, corrupt (checksum), of another magic or version is
//! ignored: the tree is hashed in full and the cache rewritten. Reading never panics.
//!
//! # The racy-timestamp rule
//!
//! As in git's index, a record is trusted only if the file's mtime *and* ctime are older than
//! the stamp, less a margin (50 ms for nanosecond timestamps — more than one kernel clock tick;
//! 2 s when both timestamps have no fractional part, as on coarse filesystems). A file written
//! in the same clock tick as it was hashed could change again without its stat changing; such
//! a file is rehashed on the next run (and cached for good once it is old enough). Because the
//! key includes ctime, which no user call can set, an edit that restores size and mtime (e.g.
//! `touch -d`) is still seen as a change.

use std::collections::HashMap;
use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

const MAGIC: &[u8; 8] = b"RGNTSNAP";
/// The cache format version written in the header; other versions are ignored.
pub const VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 4 + 8;
const FIXED_RECORD_LEN: usize = 8 + 8 + 4 + 8 + 4 + 8 + 32;
const CHECKSUM_LEN: usize = 32;
const FINE_MARGIN_NS: i128 = 50_000_000;
const COARSE_MARGIN_NS: i128 = 2_000_000_000;

/// The stat fields that must all match for a cached hash to be reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatKey {
    /// File size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Modification time, nanoseconds part.
    pub mtime_ns: u32,
    /// Status-change time, seconds since the epoch.
    pub ctime: i64,
    /// Status-change time, nanoseconds part.
    pub ctime_ns: u32,
    /// Inode number.
    pub ino: u64,
}

impl StatKey {
    /// Takes the key fields from a file's metadata.
    pub fn from_metadata(meta: &fs::Metadata) -> Self {
        StatKey {
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_ns: clamp_ns(meta.mtime_nsec()),
            ctime: meta.ctime(),
            ctime_ns: clamp_ns(meta.ctime_nsec()),
            ino: meta.ino(),
        }
    }

    /// Whether a hash taken for this stat can be trusted given the cache's stamp (see the
    /// racy-timestamp rule in the module docs).
    pub fn trusted_at(&self, stamp: Stamp) -> bool {
        let newest = nanos(self.mtime, self.mtime_ns).max(nanos(self.ctime, self.ctime_ns));
        let margin = if self.mtime_ns == 0 && self.ctime_ns == 0 {
            COARSE_MARGIN_NS
        } else {
            FINE_MARGIN_NS
        };
        newest < nanos(stamp.secs, stamp.nanos) - margin
    }
}

fn clamp_ns(ns: i64) -> u32 {
    u32::try_from(ns.clamp(0, 999_999_999)).unwrap_or(0)
}

fn nanos(secs: i64, ns: u32) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(ns)
}

/// A wall-clock instant stored in the cache header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Seconds since the epoch.
    pub secs: i64,
    /// Nanoseconds part.
    pub nanos: u32,
}

impl Stamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Stamp {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            // A clock before 1970 trusts nothing, which is safe.
            Err(_) => Stamp { secs: 0, nanos: 0 },
        }
    }
}

/// A fast non-cryptographic hasher for the path map (`FxHash`'s mixing step, 8 bytes at a time).
/// The keys are the caller's own relative paths, so hash flooding is not a concern.
#[derive(Default)]
struct PathHasher(u64);

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.0 =
            (self.0.rotate_left(5) ^ u64::from_le_bytes(tail) ^ rest.len() as u64).wrapping_mul(K);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type PathMap = HashMap<Box<[u8]>, Record, BuildHasherDefault<PathHasher>>;

/// One cached record.
#[derive(Clone, Copy, Debug)]
struct Record {
    key: StatKey,
    hash: [u8; 32],
}

/// A loaded cache: lookups by relative path.
#[derive(Debug)]
pub struct Cache {
    stamp: Stamp,
    records: PathMap,
}

impl Cache {
    /// An empty cache: every lookup misses.
    pub fn empty() -> Self {
        Cache {
            stamp: Stamp { secs: 0, nanos: 0 },
            records: PathMap::default(),
        }
    }

    /// Loads the cache at `path`; a missing, unreadable, corrupt or foreign file gives an
    /// empty cache.
    pub fn load(path: &Path) -> Self {
        // Anything but a regular file (a FIFO would block forever) is no cache.
        if !fs::metadata(path).is_ok_and(|m| m.is_file()) {
            return Self::empty();
        }
        match fs::read(path) {
            Ok(bytes) => Self::decode(&bytes).unwrap_or_else(Self::empty),
            Err(_) => Self::empty(),
        }
    }

    /// Number of records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the cache holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The cached hash of `rel` if its stat still matches and the record is not racy.
    pub fn lookup(&self, rel: &[u8], key: &StatKey) -> Option<blake3::Hash> {
        let record = self.records.get(rel)?;
        (record.key == *key && key.trusted_at(self.stamp)).then(|| blake3::Hash::from(record.hash))
    }

    /// Decodes a cache image; `None` for anything but a well-formed version-1 cache.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let body_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
        let (body, checksum) = bytes.split_at(body_len);
        if blake3::hash(body).as_bytes() != checksum {
            return None;
        }
        let mut r = Reader { bytes: body };
        if r.take(8)? != MAGIC || r.u32()? != VERSION {
            return None;
        }
        let stamp = Stamp {
            secs: r.i64()?,
            nanos: r.u32()?,
        };
        let count = usize::try_from(r.u64()?).ok()?;
        // Each record takes at least FIXED_RECORD_LEN + 4 bytes: bound the allocation.
        if count > body.len() / (FIXED_RECORD_LEN + 4) {
            return None;
        }
        let mut records = PathMap::with_capacity_and_hasher(count, BuildHasherDefault::default());
        for _ in 0..count {
            let len = usize::try_from(r.u32()?).ok()?;
            let rel: Box<[u8]> = r.take(len)?.into();
            let key = StatKey {
                size: r.u64()?,
                mtime: r.i64()?,
                mtime_ns: r.u32()?,
                ctime: r.i64()?,
                ctime_ns: r.u32()?,
                ino: r.u64()?,
            };
            let hash: [u8; 32] = r.take(32)?.try_into().ok()?;
            records.insert(rel, Record { key, hash });
        }
        if !r.bytes.is_empty() {
            return None;
        }
        Some(Cache { stamp, records })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
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
}

/// Appends one record to a chunk of encoded records.
pub fn push_record(chunk: &mut Vec<u8>, rel: &[u8], key: &StatKey, hash: &blake3::Hash) {
    chunk.reserve(4 + rel.len() + FIXED_RECORD_LEN);
    let len = u32::try_from(rel.len()).unwrap_or(u32::MAX);
    chunk.extend_from_slice(&len.to_le_bytes());
    chunk.extend_from_slice(rel);
    chunk.extend_from_slice(&key.size.to_le_bytes());
    chunk.extend_from_slice(&key.mtime.to_le_bytes());
    chunk.extend_from_slice(&key.mtime_ns.to_le_bytes());
    chunk.extend_from_slice(&key.ctime.to_le_bytes());
    chunk.extend_from_slice(&key.ctime_ns.to_le_bytes());
    chunk.extend_from_slice(&key.ino.to_le_bytes());
    chunk.extend_from_slice(hash.as_bytes());
}

/// Encodes a whole cache image from chunks made by [`push_record`].
pub fn encode(stamp: Stamp, count: u64, chunks: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = chunks.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + total + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&stamp.secs.to_le_bytes());
    out.extend_from_slice(&stamp.nanos.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(mtime: i64, mtime_ns: u32) -> StatKey {
        StatKey {
            size: 3,
            mtime,
            mtime_ns,
            ctime: mtime,
            ctime_ns: mtime_ns,
            ino: 7,
        }
    }

    fn image() -> Vec<u8> {
        let mut chunk = Vec::new();
        push_record(
            &mut chunk,
            b"cat/pkg/Manifest",
            &key(100, 5),
            &blake3::hash(b"x"),
        );
        push_record(
            &mut chunk,
            b"cat/pkg/a.ebuild",
            &key(101, 5),
            &blake3::hash(b"y"),
        );
        encode(
            Stamp {
                secs: 1000,
                nanos: 0,
            },
            2,
            &[chunk],
        )
    }

    #[test]
    fn round_trip_finds_matching_records() {
        let cache = Cache::decode(&image()).expect("well-formed image");
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.lookup(b"cat/pkg/Manifest", &key(100, 5)),
            Some(blake3::hash(b"x"))
        );
        assert_eq!(cache.lookup(b"cat/pkg/Manifest", &key(100, 6)), None);
        assert_eq!(cache.lookup(b"cat/pkg/other", &key(100, 5)), None);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_rejected_without_panic() {
        let good = image();
        for len in 0..good.len() {
            assert!(Cache::decode(&good[..len]).is_none(), "truncated to {len}");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            assert!(Cache::decode(&bad).is_none(), "flipped byte {i}");
        }
    }

    #[test]
    fn other_version_is_rejected() {
        let mut img = image();
        img[8] = 2; // version field
        let body_len = img.len() - CHECKSUM_LEN;
        let sum = blake3::hash(&img[..body_len]);
        img[body_len..].copy_from_slice(sum.as_bytes());
        assert!(Cache::decode(&img).is_none());
    }

    #[test]
    fn racy_records_are_not_trusted() {
        let stamp = Stamp {
            secs: 1000,
            nanos: 0,
        };
        assert!(key(999, 900_000_000).trusted_at(stamp));
        assert!(
            !key(999, 990_000_000).trusted_at(stamp),
            "within the margin"
        );
        assert!(!key(1000, 0).trusted_at(stamp), "same instant");
        assert!(!key(2000, 1).trusted_at(stamp), "in the future");
        // Whole-second timestamps suggest a coarse filesystem: a 2 s margin.
        assert!(!key(999, 0).trusted_at(stamp));
        assert!(key(997, 0).trusted_at(stamp));
        let mut changed = key(10, 1);
        changed.ctime = 1000; // ctime not older than the stamp
        assert!(!changed.trusted_at(stamp));
    }
}
