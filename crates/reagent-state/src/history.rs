//! The build log read once and indexed, for every question asked of it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use crate::build_log::{parse_log, read_log};
use crate::{KeyPrefixError, Outcome, Record, Result, BUILD_LOG_FILE};

/// The shortest key prefix [`History::resolve_key`] accepts.
pub const MIN_KEY_PREFIX: usize = 4;

/// The build log as it was when loaded: every readable record, oldest
/// first, indexed by node and by key, like ninja's `BuildLog::Load` into
/// its `entries_` map. Planning, explaining, diffing and pruning ask this
/// one copy instead of re-reading the file.
///
/// It does not see later appends; load it again for that.
///
/// The two indexes are made on first use: a build with nothing to do asks
/// nothing of a long record, and indexing it would be most of reading it.
#[derive(Clone, Debug, Default)]
pub struct History {
    records: Vec<Record>,
    corrupt_lines: Vec<usize>,
    /// Node name → positions of its records in `records`, oldest first.
    by_node: OnceLock<BTreeMap<String, Vec<usize>>>,
    /// Key → position of the newest record with that key.
    by_key: OnceLock<HashMap<String, usize>>,
}

impl History {
    /// Reads `<dir>/builds.jsonl` once. Read-only: a missing folder or file
    /// is an empty history, and nothing is created.
    ///
    /// Lines that are not a record (a torn last line after a crash, or
    /// damage) are skipped, see [`corrupt_lines`](History::corrupt_lines);
    /// records of older versions are read. Fails if the file exists but
    /// cannot be read, or holds a record of a version newer than
    /// [`RECORD_VERSION`](crate::RECORD_VERSION)
    /// ([`StateError::NewerRecord`](crate::StateError::NewerRecord)).
    pub fn load(dir: impl AsRef<Path>) -> Result<History> {
        let path = dir.as_ref().join(BUILD_LOG_FILE);
        History::from_bytes(&path, &read_log(&path)?)
    }

    /// Parses the content of a build log, as [`load`](History::load) does
    /// with the file's; `path` only names it in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<History> {
        let parsed = parse_log(path, bytes)?;
        let mut history = History::from_records(parsed.records);
        history.corrupt_lines = parsed.corrupt_lines;
        Ok(history)
    }

    /// A history of these records, oldest first, taken as they are (their
    /// versions are not checked).
    pub fn from_records(records: Vec<Record>) -> History {
        History {
            records,
            corrupt_lines: Vec::new(),
            by_node: OnceLock::new(),
            by_key: OnceLock::new(),
        }
    }

    /// Node name → positions of its records, made on first use.
    fn node_index(&self) -> &BTreeMap<String, Vec<usize>> {
        self.by_node.get_or_init(|| {
            // Grouped in a hash map first, then sorted once: inserting each new node
            // into the tree would cost a search of string comparisons per record.
            let mut grouped: HashMap<&str, Vec<usize>> = HashMap::new();
            for (i, r) in self.records.iter().enumerate() {
                grouped.entry(r.node.as_str()).or_default().push(i);
            }
            grouped
                .into_iter()
                .map(|(node, positions)| (node.to_string(), positions))
                .collect()
        })
    }

    /// Key → position of its newest record, made on first use.
    fn key_index(&self) -> &HashMap<String, usize> {
        self.by_key.get_or_init(|| {
            let mut by_key: HashMap<String, usize> = HashMap::with_capacity(self.records.len());
            for (i, r) in self.records.iter().enumerate() {
                match by_key.get_mut(r.key.as_str()) {
                    Some(newest) => *newest = i,
                    None => {
                        by_key.insert(r.key.clone(), i);
                    }
                }
            }
            by_key
        })
    }

    /// Every readable record, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The 1-based numbers of the lines that were skipped because they are
    /// not a record.
    pub fn corrupt_lines(&self) -> &[usize] {
        &self.corrupt_lines
    }

    /// True if there is no readable record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The names of the nodes that have records, sorted.
    pub fn nodes(&self) -> impl Iterator<Item = &str> {
        self.node_index().keys().map(String::as_str)
    }

    /// The records of `node`, oldest first (`.rev()` for newest first).
    pub fn of_node(
        &self,
        node: &str,
    ) -> impl DoubleEndedIterator<Item = &Record> + ExactSizeIterator {
        self.node_index()
            .get(node)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| &self.records[i])
    }

    /// The newest record of `node`, whatever its outcome.
    pub fn newest(&self, node: &str) -> Option<&Record> {
        self.of_node(node).next_back()
    }

    /// The id of the image the newest build of `node` with `key` made, whether its tests
    /// passed or not ([`Outcome::Built`] or [`Outcome::TestFailed`] records that name one).
    pub fn image_of(&self, node: &str, key: &str) -> Option<&str> {
        self.of_node(node)
            .rev()
            .filter(|r| r.key == key)
            .filter(|r| matches!(r.outcome, Outcome::Built | Outcome::TestFailed))
            .find_map(|r| r.image.as_deref())
    }

    /// The newest record of `node` that left a usable result
    /// ([`Outcome::Built`] or [`Outcome::Pulled`]).
    pub fn last_success(&self, node: &str) -> Option<&Record> {
        self.of_node(node).rev().find(|r| r.outcome.is_success())
    }

    /// The newest record with this content key (64 hex, compared exactly),
    /// whatever its outcome.
    pub fn by_key(&self, key: &str) -> Option<&Record> {
        self.key_index().get(key).map(|&i| &self.records[i])
    }

    /// How long the newest [`Outcome::Built`] record of `node` took. Pulls
    /// are left out, as they say nothing about build time.
    pub fn duration(&self, node: &str) -> Option<Duration> {
        self.of_node(node)
            .rev()
            .find(|r| r.outcome == Outcome::Built)
            .map(Record::duration)
    }

    /// [`duration`](History::duration) of every node that has one: the
    /// weights for the scheduler.
    pub fn durations(&self) -> HashMap<String, Duration> {
        // Straight from the index: a lookup per node would cost a tree search each.
        self.node_index()
            .iter()
            .filter_map(|(node, positions)| {
                let newest_built = positions
                    .iter()
                    .rev()
                    .map(|&i| &self.records[i])
                    .find(|r| r.outcome == Outcome::Built)?;
                Some((node.clone(), newest_built.duration()))
            })
            .collect()
    }

    /// The key of `node`'s newest record if that record is a failed or
    /// interrupted attempt. If an image with that key is local, the attempt
    /// got as far as building it, so what failed was publishing it: its key
    /// tag may be in the registry without its moving tags, and the planner
    /// pushes it again.
    pub fn unfinished_publish(&self, node: &str) -> Option<&str> {
        self.newest(node)
            .filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::Interrupted))
            .map(|r| r.key.as_str())
    }

    /// [`unfinished_publish`](History::unfinished_publish) of every node:
    /// nodes whose newest record is a failed or interrupted attempt, with
    /// that attempt's key.
    pub fn unfinished_publishes(&self) -> HashMap<&str, &str> {
        self.nodes()
            .filter_map(|node| Some((node, self.unfinished_publish(node)?)))
            .collect()
    }

    /// The distinct keys of `node`'s successful (built or pulled) records,
    /// newest first.
    pub fn successful_keys(&self, node: &str) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for r in self.of_node(node).rev() {
            if r.outcome.is_success() && !keys.contains(&r.key.as_str()) {
                keys.push(&r.key);
            }
        }
        keys
    }

    /// How recently each key was built or pulled: the position in
    /// [`records`](History::records) of its newest successful record
    /// (higher is more recent). Keys with no successful record are absent.
    pub fn key_recency(&self) -> HashMap<&str, usize> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.outcome.is_success())
            .map(|(i, r)| (r.key.as_str(), i))
            .collect()
    }

    /// The one key of `node` that starts with `prefix`, as a user types it
    /// to name a build: at least [`MIN_KEY_PREFIX`] hex digits, in either
    /// case.
    ///
    /// The candidates are [`successful_keys`](History::successful_keys)
    /// of `node`, then those of `also` (for instance keys read from local
    /// images' labels) not already among them.
    pub fn resolve_key(
        &self,
        node: &str,
        prefix: &str,
        also: &[String],
    ) -> std::result::Result<String, KeyPrefixError> {
        let valid = prefix.len() >= MIN_KEY_PREFIX && prefix.chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            return Err(KeyPrefixError::NotAPrefix {
                prefix: prefix.to_string(),
            });
        }
        let prefix = prefix.to_ascii_lowercase();
        let mut candidates = self.successful_keys(node);
        for key in also {
            if !candidates.contains(&key.as_str()) {
                candidates.push(key);
            }
        }
        let found: Vec<&str> = candidates
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).to_string()),
            [] => Err(KeyPrefixError::NoMatch {
                node: node.to_string(),
                prefix,
            }),
            many => Err(KeyPrefixError::Ambiguous {
                node: node.to_string(),
                prefix,
                matches: many.iter().map(|k| short_key(k).to_string()).collect(),
            }),
        }
    }
}

/// The first 16 characters of a key, as image tags show it (the whole text
/// if shorter).
fn short_key(key: &str) -> &str {
    key.char_indices().nth(16).map_or(key, |(i, _)| &key[..i])
}
