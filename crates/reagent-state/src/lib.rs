//! reagent's state folder (`.reagent/` by default; the caller picks the path).
//!
//! What lives there:
//!
//! - `builds.jsonl`: one JSON [`Record`] per line, one line per node build
//!   attempt, append-only like ninja's `.ninja_log`. [`BuildLog`] writes
//!   it: each append is a single `write()` of the whole line followed by
//!   `fsync`, so a crash leaves at worst a torn last line, which reading
//!   skips and the next append cuts off; it compacts itself (keeping the
//!   newest records of each node) when it grows. [`History`] reads it once
//!   and indexes it to answer "when was this node last built successfully,
//!   from which inputs", "how long does it take", "which build has this
//!   key". Records carry a [`RECORD_VERSION`]; older ones are read, and a
//!   log holding a newer one is refused rather than misread.
//! - `logs/<node>-<key16>.log`: each build's output, see [`log_path`].
//! - `lock`: the [`StateLock`], an exclusive advisory lock so that only one
//!   reagent works on a state folder at a time; it holds the owner's pid.
//! - `registry-seen.json`: [`Seen`], the registry references seen lately,
//!   a cache that spares a no-op run most registry lookups.
//!
//! Any other state file should be written with [`write_atomic`].
//!
//! ```
//! use reagent_state::{BuildLog, History, Outcome, Record, StateLock};
//!
//! # fn main() -> Result<(), reagent_state::StateError> {
//! # let tmp = tempfile::tempdir().unwrap();
//! let dir = tmp.path().join(".reagent");
//! assert!(History::load(&dir)?.is_empty()); // and creates nothing
//! let _lock = StateLock::acquire(&dir, false, |_| {})?;
//! let log = BuildLog::open(&dir)?;
//! let key = "ab".repeat(32);
//! let manifest = serde_json::json!(["Containerfile"]);
//! log.append(&Record::new("base", &key, "sha256:0123", manifest, 1_000, 61_000, Outcome::Built))?;
//!
//! let history = History::load(&dir)?;
//! assert_eq!(history.last_success("base").map(|r| r.end), Some(61_000));
//! assert_eq!(history.by_key(&key).map(|r| r.node.as_str()), Some("base"));
//! assert_eq!(history.duration("base").map(|d| d.as_secs()), Some(60));
//! # Ok(()) }
//! ```

mod atomic;
mod build_log;
mod error;
mod history;
mod lock;
mod logs;
mod record;
mod seen;

pub use atomic::write_atomic;

/// The state folder's name below a project's root, unless `--state-dir` says otherwise.
pub const DEFAULT_STATE_DIR: &str = ".reagent";
pub use build_log::{BuildLog, Compaction, BUILD_LOG_FILE};
pub use error::{KeyPrefixError, Result, StateError};
pub use history::{History, MIN_KEY_PREFIX};
pub use lock::{StateLock, LOCK_FILE};
pub use logs::log_path;
pub use record::{Outcome, RawJson, Record, RECORD_VERSION};
pub use seen::{Seen, SEEN_FILE, SEEN_TTL};
