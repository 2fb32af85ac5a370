//! The append-only build log, `builds.jsonl`: its format and its writer.

use rayon::prelude::*;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::atomic::write_atomic;
use crate::{Record, Result, StateError, RECORD_VERSION};

/// The build log's file name inside the state folder.
pub const BUILD_LOG_FILE: &str = "builds.jsonl";

/// When the log rewrites itself smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compaction {
    /// Compact once the file holds more than this many lines.
    pub max_records: usize,
    /// How many of the newest records of each node to keep.
    pub keep_per_node: usize,
}

impl Default for Compaction {
    /// Past 10 000 records, keep the newest 4 of each node.
    fn default() -> Self {
        Compaction {
            max_records: 10_000,
            keep_per_node: 4,
        }
    }
}

/// The writer of the append-only log of build attempts, one JSON
/// [`Record`] per line. Read the log with [`History`](crate::History).
///
/// Appends go through one open file handle, are serialized by a mutex
/// (the log may be shared between threads), and are each one `write()` of
/// the whole line followed by `fsync`. Hold the
/// [`StateLock`](crate::StateLock) while appending: compaction replaces the
/// file, and another process's handle would keep writing to the old one.
#[derive(Debug)]
pub struct BuildLog {
    path: PathBuf,
    compaction: Compaction,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The append handle, opened (creating the file) at the first append.
    file: Option<File>,
    /// Lines in the file, counted at the first append and kept up to date
    /// by appends.
    lines: usize,
    /// Compact when `lines` grows past this.
    threshold: usize,
    /// The file was read through once since it was opened: its version
    /// checked, its tail repaired, its lines counted.
    checked: bool,
}

impl BuildLog {
    /// Prepares to append to `<dir>/builds.jsonl`, creating `dir` if needed,
    /// with the default [`Compaction`].
    ///
    /// Opening neither reads, changes nor creates the file (so a dry run
    /// leaves none); it only refuses a log that is not a file. The first
    /// [`append`](BuildLog::append) reads the file once: it refuses a log
    /// that holds a record of a newer version, cuts off a torn last line,
    /// and counts lines for compaction.
    pub fn open(dir: impl AsRef<Path>) -> Result<BuildLog> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(StateError::io("creating", dir))?;
        let path = dir.join(BUILD_LOG_FILE);
        match fs::metadata(&path) {
            Ok(m) if !m.is_file() => {
                return Err(StateError::io("opening", &path)(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file",
                )))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("opening", &path)(e)),
        }
        let compaction = Compaction::default();
        Ok(BuildLog {
            path,
            compaction,
            inner: Mutex::new(Inner {
                file: None,
                lines: 0,
                threshold: compaction.max_records,
                checked: false,
            }),
        })
    }

    /// Uses `compaction` from now on instead of the default.
    #[must_use]
    pub fn with_compaction(mut self, compaction: Compaction) -> BuildLog {
        self.compaction = compaction;
        self.lock_inner().threshold = compaction.max_records;
        self
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while appending leaves nothing half-done in memory that
        // matters: the counters are only hints. Carry on.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one record as one line, durably. May then compact the log.
    ///
    /// Fails, writing nothing, if the record's version is newer than
    /// [`RECORD_VERSION`] or the log already holds such a record
    /// ([`StateError::NewerRecord`]): versions are not mixed.
    pub fn append(&self, record: &Record) -> Result<()> {
        if record.version > RECORD_VERSION {
            return Err(StateError::UnwritableVersion {
                node: record.node.clone(),
                version: record.version,
            });
        }
        let mut line = serde_json::to_vec(record).map_err(|source| StateError::Encode {
            node: record.node.clone(),
            source,
        })?;
        line.push(b'\n');
        let mut inner = self.lock_inner();
        let file = match inner.file.take() {
            Some(f) => f,
            None => open_append(&self.path)?,
        };
        if !inner.checked {
            inner.lines = self.check(&file)?;
            inner.checked = true;
        }
        let file = &*inner.file.insert(file);
        // Where this line starts (appends go to the end, and only this
        // process appends: it holds the state lock).
        let start = file.metadata().map(|m| m.len());
        if let Err(e) = write_line(file, &line) {
            // A full disk may take part of the line. Cut it off, so the next
            // record starts on a line of its own instead of merging with the
            // torn one; when even that fails, the next append repairs the
            // tail first, as after a crash.
            match start {
                Ok(len) if file.set_len(len).is_ok() => {}
                _ => inner.checked = false,
            }
            return Err(StateError::io("appending to", &self.path)(e));
        }
        file.sync_all()
            .map_err(StateError::io("syncing", &self.path))?;
        inner.lines += 1;
        if inner.lines > inner.threshold {
            self.compact_locked(&mut inner)?;
        }
        Ok(())
    }

    /// Reads the file once before the first append: refuses a newer
    /// version, makes sure the file ends with a newline (a torn last line
    /// that is not a record is cut off; a whole record that only lacks its
    /// newline gets one), and returns the number of lines left.
    fn check(&self, file: &File) -> Result<usize> {
        let bytes = read_log(&self.path)?;
        let parsed = parse_log(&self.path, &bytes)?;
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Ok(parsed.lines);
        }
        let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let tail = &bytes[start..];
        if serde_json::from_slice::<Record>(tail).is_ok() {
            (&*file)
                .write_all(b"\n")
                .map_err(StateError::io("appending to", &self.path))?;
            Ok(parsed.lines)
        } else {
            file.set_len(start as u64)
                .map_err(StateError::io("truncating", &self.path))?;
            Ok(parsed.lines - usize::from(!is_blank(tail)))
        }
    }

    /// Rewrites the log now, keeping the newest `keep_per_node` records
    /// of each node (and dropping unreadable lines). Returns how many
    /// records were kept. Records keep their versions.
    pub fn compact(&self, keep_per_node: usize) -> Result<usize> {
        let mut inner = self.lock_inner();
        self.compact_with(&mut inner, keep_per_node)
    }

    fn compact_locked(&self, inner: &mut Inner) -> Result<()> {
        let kept = self.compact_with(inner, self.compaction.keep_per_node)?;
        // Don't compact again at once if every node still has K records.
        inner.threshold = self.compaction.max_records.max(kept.saturating_mul(2));
        Ok(())
    }

    fn compact_with(&self, inner: &mut Inner, keep_per_node: usize) -> Result<usize> {
        let records = parse_log(&self.path, &read_log(&self.path)?)?.records;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut keep = vec![false; records.len()];
        for (i, r) in records.iter().enumerate().rev() {
            let n = seen.entry(r.node.as_str()).or_insert(0);
            if *n < keep_per_node {
                *n += 1;
                keep[i] = true;
            }
        }
        let mut out = Vec::new();
        let mut kept = 0;
        for (r, _) in records.iter().zip(&keep).filter(|(_, k)| **k) {
            serde_json::to_writer(&mut out, r).map_err(|source| StateError::Encode {
                node: r.node.clone(),
                source,
            })?;
            out.push(b'\n');
            kept += 1;
        }
        write_atomic(&self.path, &out)?;
        inner.file = Some(open_append(&self.path)?);
        inner.lines = kept;
        inner.checked = true;
        Ok(kept)
    }
}

/// One `write()` of the whole line; a short one (a disk filling up, a
/// signal) is finished with more.
fn write_line(file: &File, line: &[u8]) -> io::Result<()> {
    let n = (&*file).write(line)?;
    if n < line.len() {
        (&*file).write_all(&line[n..])?;
    }
    Ok(())
}

/// What reading the log found.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// The readable records, oldest first.
    pub(crate) records: Vec<Record>,
    /// The 1-based numbers of non-blank lines that are not a record.
    pub(crate) corrupt_lines: Vec<usize>,
    /// Non-blank lines: records and corrupt lines.
    pub(crate) lines: usize,
}

/// Parses the log's bytes (`path` only names it in errors). Lines that are
/// not a record (a torn last line after a crash, or damage) are skipped and
/// counted; blank lines are ignored. A record, or any JSON object, whose
/// `version` is newer than [`RECORD_VERSION`] fails the whole read with
/// [`StateError::NewerRecord`]: a newer format may not even parse as a
/// record, and must not pass for damage.
pub(crate) fn parse_log(path: &Path, bytes: &[u8]) -> Result<Parsed> {
    let numbered: Vec<(usize, &[u8])> = lines(bytes)
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !is_blank(line))
        .collect();
    // Lines parse independently: a long log is read on every core, in order.
    let read: Vec<std::result::Result<Record, Option<u32>>> = numbered
        .par_iter()
        .map(|&(_, line)| match serde_json::from_slice::<Record>(line) {
            Ok(r) if r.version <= RECORD_VERSION => Ok(r),
            Ok(r) => Err(Some(r.version)),
            Err(_) => Err(newer_version(line)),
        })
        .collect();
    let mut parsed = Parsed {
        records: Vec::with_capacity(read.len()),
        corrupt_lines: Vec::new(),
        lines: read.len(),
    };
    for ((line, _), result) in numbered.iter().zip(read) {
        match result {
            Ok(record) => parsed.records.push(record),
            Err(Some(version)) => {
                return Err(StateError::NewerRecord {
                    path: path.to_path_buf(),
                    line: *line,
                    version,
                })
            }
            Err(None) => parsed.corrupt_lines.push(*line),
        }
    }
    Ok(parsed)
}

/// The version of a line that is not a record of ours but is a JSON object
/// with a `version` newer than [`RECORD_VERSION`].
fn newer_version(line: &[u8]) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let version = value.as_object()?.get("version")?.as_u64()?;
    (version > u64::from(RECORD_VERSION)).then(|| u32::try_from(version).unwrap_or(u32::MAX))
}

/// The lines of `bytes` (split at each `\n`, as `split` would, a last empty one
/// included), found with `memchr`: a long log is mostly long lines.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    ends.map(move |end| {
        let line = &bytes[start..end];
        start = end + 1;
        line
    })
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(StateError::io("opening", path))
}

/// The log's bytes; a missing file (or folder) is an empty log, any other
/// failure to read is an error.
pub(crate) fn read_log(path: &Path) -> Result<Vec<u8>> {
    match fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StateError::io("reading", path)(e)),
    }
}
