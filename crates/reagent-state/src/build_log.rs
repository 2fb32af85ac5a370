//! The append-only build log, `builds.jsonl`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::atomic::write_atomic;
use crate::{Outcome, Record, Result, StateError};

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

/// What reading the log found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Loaded {
    /// The readable records, oldest first.
    pub records: Vec<Record>,
    /// The 1-based line numbers of lines that are not a record (a torn
    /// last line after a crash, or damage); they are skipped.
    pub corrupt_lines: Vec<usize>,
}

/// The append-only log of build attempts, one JSON [`Record`] per line.
///
/// Appends go through one open file handle, are serialized by a mutex
/// (the log may be shared between threads), and are each one `write()` of
/// the whole line followed by `fsync`. Readers read the whole file each
/// time, so they see what other handles appended. Hold the
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
    /// Lines in the file, counted at open and kept up to date by appends.
    lines: usize,
    /// Compact when `lines` grows past this.
    threshold: usize,
    /// The file's tail was checked for a torn line since it was opened.
    tail_checked: bool,
}

impl BuildLog {
    /// Opens `<dir>/builds.jsonl`, creating `dir` if needed, with the
    /// default [`Compaction`]. Opening never changes or creates the file: the
    /// first [`append`](BuildLog::append) does (so a dry run leaves none).
    pub fn open(dir: impl AsRef<Path>) -> Result<BuildLog> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(StateError::io("creating", dir))?;
        let path = dir.join(BUILD_LOG_FILE);
        let file = None;
        let lines = count_lines(&read_bytes(&path)?);
        let compaction = Compaction::default();
        Ok(BuildLog {
            path,
            compaction,
            inner: Mutex::new(Inner {
                file,
                lines,
                threshold: compaction.max_records,
                tail_checked: false,
            }),
        })
    }

    /// Uses `compaction` from now on instead of the default.
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
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one record as one line, durably. May then compact the log.
    pub fn append(&self, record: &Record) -> Result<()> {
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
        if !inner.tail_checked {
            if let Some(lines) = self.repair_tail(&file)? {
                inner.lines = lines;
            }
            inner.tail_checked = true;
        }
        let file = &*inner.file.insert(file);
        let io = StateError::io("appending to", &self.path);
        let n = (&*file).write(&line).map_err(io)?;
        if n < line.len() {
            // A short write on a regular file is rare (disk full, signal);
            // finish the line rather than leave it torn.
            (&*file)
                .write_all(&line[n..])
                .map_err(StateError::io("appending to", &self.path))?;
        }
        file.sync_all()
            .map_err(StateError::io("syncing", &self.path))?;
        inner.lines += 1;
        if inner.lines > inner.threshold {
            self.compact_locked(&mut inner)?;
        }
        Ok(())
    }

    /// Makes sure the file ends with a newline before appending: a torn
    /// last line (a crash mid-write) that is not a record is cut off; a
    /// whole record that only lacks its newline gets one.
    fn repair_tail(&self, file: &File) -> Result<Option<usize>> {
        let bytes = read_bytes(&self.path)?;
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Ok(None);
        }
        let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if serde_json::from_slice::<Record>(&bytes[start..]).is_ok() {
            (&*file)
                .write_all(b"\n")
                .map_err(StateError::io("appending to", &self.path))?;
            Ok(None)
        } else {
            file.set_len(start as u64)
                .map_err(StateError::io("truncating", &self.path))?;
            Ok(Some(count_lines(&bytes[..start])))
        }
    }

    /// Reads every record, skipping and counting lines that are not one.
    pub fn load(&self) -> Result<Loaded> {
        let bytes = read_bytes(&self.path)?;
        let mut loaded = Loaded::default();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Record>(line) {
                Ok(r) => loaded.records.push(r),
                Err(_) => loaded.corrupt_lines.push(i + 1),
            }
        }
        Ok(loaded)
    }

    /// Every readable record, oldest first (empty if the file cannot be read).
    pub fn records(&self) -> Vec<Record> {
        self.load().map(|l| l.records).unwrap_or_default()
    }

    /// The newest record of `node` that left a usable result
    /// ([`Outcome::Built`] or [`Outcome::Pulled`]).
    pub fn last_success(&self, node: &str) -> Option<Record> {
        self.records()
            .into_iter()
            .rev()
            .find(|r| r.node == node && r.outcome.is_success())
    }

    /// The newest two records of `node` whatever their outcome, newest
    /// first (fewer if it has fewer): enough to say what changed.
    pub fn last_two(&self, node: &str) -> Vec<Record> {
        self.records()
            .into_iter()
            .rev()
            .filter(|r| r.node == node)
            .take(2)
            .collect()
    }

    /// For each node ever built, how long its newest [`Outcome::Built`]
    /// record took: the weights for the scheduler. Pulls are left out, as
    /// they say nothing about build time.
    pub fn durations(&self) -> HashMap<String, Duration> {
        let mut out = HashMap::new();
        for r in self.records() {
            if r.outcome == Outcome::Built {
                let d = r.duration();
                out.insert(r.node, d);
            }
        }
        out
    }

    /// Rewrites the log now, keeping the newest `keep_per_node` records
    /// of each node (and dropping unreadable lines). Returns how many
    /// records were kept.
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
        let records = self.load()?.records;
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
        inner.tail_checked = true;
        Ok(kept)
    }
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(StateError::io("opening", path))
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    match fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StateError::io("reading", path)(e)),
    }
}

/// Non-empty lines, counting a last line without its newline.
fn count_lines(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}
