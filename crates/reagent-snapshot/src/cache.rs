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

use std::fs;
use std::hash::Hasher;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use hashbrown::HashTable;

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

    /// Takes the key fields from an `fstatat` result: the same values
    /// [`StatKey::from_metadata`] takes from `statx`.
    // The fields' integer types differ between architectures; on some a conversion is a no-op.
    #[allow(clippy::useless_conversion)]
    pub fn from_stat(stat: &rustix::fs::Stat) -> Self {
        StatKey {
            size: u64::try_from(stat.st_size).unwrap_or(0),
            mtime: i64::try_from(stat.st_mtime).unwrap_or(i64::MAX),
            mtime_ns: clamp_ns(i64::try_from(stat.st_mtime_nsec).unwrap_or(0)),
            ctime: i64::try_from(stat.st_ctime).unwrap_or(i64::MAX),
            ctime_ns: clamp_ns(i64::try_from(stat.st_ctime_nsec).unwrap_or(0)),
            ino: u64::try_from(stat.st_ino).unwrap_or(0),
        }
    }

    /// Append the fields, little-endian, in the order of the file format
    /// (size, mtime s, mtime ns, ctime s, ctime ns, inode: 40 bytes).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.mtime.to_le_bytes());
        out.extend_from_slice(&self.mtime_ns.to_le_bytes());
        out.extend_from_slice(&self.ctime.to_le_bytes());
        out.extend_from_slice(&self.ctime_ns.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
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

fn hash_path(path: &[u8]) -> u64 {
    let mut hasher = PathHasher::default();
    hasher.write(path);
    hasher.finish()
}

/// A loaded cache: lookups by relative path.
///
/// The records stay in the bytes they were read as, indexed by offset: loading
/// a 150,000-record cache makes no allocation per record, and dropping it frees
/// two blocks.
#[derive(Debug)]
pub struct Cache {
    stamp: Stamp,
    /// The records as encoded (see the module docs), each checked when loaded.
    records: Vec<u8>,
    /// Where each record starts in `records`, in file order.
    offsets: Vec<usize>,
    /// Each path's record (its number in `offsets`), by the path's hash.
    index: HashTable<usize>,
}

impl Cache {
    /// An empty cache: every lookup misses.
    pub fn empty() -> Self {
        Cache {
            stamp: Stamp { secs: 0, nanos: 0 },
            records: Vec::new(),
            offsets: Vec::new(),
            index: HashTable::new(),
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
            Ok(bytes) => Self::decode_owned(bytes).unwrap_or_else(Self::empty),
            Err(_) => Self::empty(),
        }
    }

    /// Number of records held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the cache holds no record.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The cached hash of `rel` if its stat still matches and the record is not racy.
    pub fn lookup(&self, rel: &[u8], key: &StatKey) -> Option<blake3::Hash> {
        self.find(rel, key).map(|(hash, _)| hash)
    }

    /// [`Cache::lookup`], also saying which record answered: its number, below
    /// [`Cache::records`], for [`Cache::record_bytes`].
    pub fn find(&self, rel: &[u8], key: &StatKey) -> Option<(blake3::Hash, usize)> {
        let n = *self
            .index
            .find(hash_path(rel), |&n| self.path_of(n) == rel)?;
        let (record_key, hash) = fields_at(&self.records, self.offsets[n]);
        (record_key == *key && key.trusted_at(self.stamp)).then(|| (blake3::Hash::from(hash), n))
    }

    /// How many records the file holds (a path written twice counts twice).
    pub fn records(&self) -> usize {
        self.offsets.len()
    }

    /// Record number `n` as encoded, ready to copy into a new cache image.
    pub fn record_bytes(&self, n: usize) -> &[u8] {
        let at = self.offsets[n];
        let len = self.path_of(n).len();
        &self.records[at..at + 4 + len + FIXED_RECORD_LEN]
    }

    fn path_of(&self, n: usize) -> &[u8] {
        path_at(&self.records, self.offsets[n])
    }

    /// Decodes a cache image; `None` for anything but a well-formed version-1 cache.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        Self::decode_owned(bytes.to_vec())
    }

    /// [`Cache::decode`], keeping `bytes` as the records' storage.
    fn decode_owned(mut bytes: Vec<u8>) -> Option<Self> {
        let (stamp, count, _) = open_image(&bytes, MAGIC, VERSION)?;
        let body_len = bytes.len() - CHECKSUM_LEN;
        let body = &bytes[..body_len];
        let count = usize::try_from(count).ok()?;
        // Each record takes at least FIXED_RECORD_LEN + 4 bytes: bound the allocation.
        if count > body.len() / (FIXED_RECORD_LEN + 4) {
            return None;
        }
        // From here on offsets are into the records alone.
        bytes.truncate(body_len);
        bytes.drain(..HEADER_LEN);
        let records = bytes;
        let mut index = HashTable::with_capacity(count);
        let mut offsets = Vec::with_capacity(count);
        let mut at = 0;
        for n in 0..count {
            let mut r = Reader::new(&records[at..]);
            let len = usize::try_from(r.u32()?).ok()?;
            let path = r.take(len)?;
            r.take(FIXED_RECORD_LEN)?;
            // A path written twice: the later record stands, as it always has.
            let path_of = |other: &usize| path_at(&records, offsets[*other]);
            match index.entry(
                hash_path(path),
                |other| path_of(other) == path,
                |other| hash_path(path_of(other)),
            ) {
                hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = n,
                hashbrown::hash_table::Entry::Vacant(e) => {
                    e.insert(n);
                }
            }
            offsets.push(at);
            at += 4 + len + FIXED_RECORD_LEN;
        }
        if at != records.len() {
            return None;
        }
        Some(Cache {
            stamp,
            records,
            offsets,
            index,
        })
    }
}

/// The path of the record at `at` (checked when the cache was decoded).
fn path_at(records: &[u8], at: usize) -> &[u8] {
    let len = u32::from_le_bytes(le(&records[at..]));
    &records[at + 4..at + 4 + len as usize]
}

/// The stat fields and hash of the record at `at` (checked when decoded).
fn fields_at(records: &[u8], at: usize) -> (StatKey, [u8; 32]) {
    let len = u32::from_le_bytes(le(&records[at..])) as usize;
    let f = &records[at + 4 + len..];
    let key = StatKey {
        size: u64::from_le_bytes(le(f)),
        mtime: i64::from_le_bytes(le(&f[8..])),
        mtime_ns: u32::from_le_bytes(le(&f[16..])),
        ctime: i64::from_le_bytes(le(&f[20..])),
        ctime_ns: u32::from_le_bytes(le(&f[28..])),
        ino: u64::from_le_bytes(le(&f[32..])),
    };
    (key, le(&f[40..]))
}

/// The first `N` bytes of `bytes` (which holds at least that many).
fn le<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// Little-endian fields read off the front of a byte slice, as this format and
/// others like it (`reagent_graph::dir_cache`) lay them out; every read is
/// checked, `None` past the end.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }
    /// What is left to read.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
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
    /// The next `u32`.
    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    /// The next `u64`.
    pub fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
    /// The next `i64`.
    pub fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
    /// A `u32` length, then that many bytes.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n)
    }
    /// A [`StatKey`] as [`StatKey::write`] lays it out.
    pub fn stat_key(&mut self) -> Option<StatKey> {
        Some(StatKey {
            size: self.u64()?,
            mtime: self.i64()?,
            mtime_ns: self.u32()?,
            ctime: self.i64()?,
            ctime_ns: self.u32()?,
            ino: self.u64()?,
        })
    }
}

/// Appends one record to a chunk of encoded records.
pub fn push_record(chunk: &mut Vec<u8>, rel: &[u8], key: &StatKey, hash: &blake3::Hash) {
    chunk.reserve(4 + rel.len() + FIXED_RECORD_LEN);
    let len = u32::try_from(rel.len()).unwrap_or(u32::MAX);
    chunk.extend_from_slice(&len.to_le_bytes());
    chunk.extend_from_slice(rel);
    key.write(chunk);
    chunk.extend_from_slice(hash.as_bytes());
}

/// Encodes a whole cache image from chunks made by [`push_record`].
pub fn encode(stamp: Stamp, count: u64, chunks: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = chunks.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + total + CHECKSUM_LEN);
    write_header(&mut out, MAGIC, VERSION, stamp, count);
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    seal(&mut out);
    out
}

/// Start an image of a format laid out as this one is (magic, version, stamp,
/// record count, records, blake3 of it all): its header, into `out`. The count
/// can be set later with [`set_count`].
pub fn write_header(out: &mut Vec<u8>, magic: &[u8; 8], version: u32, stamp: Stamp, count: u64) {
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&stamp.secs.to_le_bytes());
    out.extend_from_slice(&stamp.nanos.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
}

/// Set the record count of an image begun with [`write_header`].
pub fn set_count(image: &mut [u8], count: u64) {
    image[HEADER_LEN - 8..HEADER_LEN].copy_from_slice(&count.to_le_bytes());
}

/// End an image begun with [`write_header`]: its checksum.
pub fn seal(image: &mut Vec<u8>) {
    let checksum = blake3::hash(image);
    image.extend_from_slice(checksum.as_bytes());
}

/// Check an image of such a format whole (checksum, `magic`, `version`): its
/// stamp, its record count, and a reader at its first record (the checksum not
/// included). `None` for anything else.
pub fn open_image<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    version: u32,
) -> Option<(Stamp, u64, Reader<'a>)> {
    let body_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, checksum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let mut r = Reader::new(body);
    if r.take(8)? != magic || r.u32()? != version {
        return None;
    }
    let stamp = Stamp {
        secs: r.i64()?,
        nanos: r.u32()?,
    };
    let count = r.u64()?;
    Some((stamp, count, r))
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
