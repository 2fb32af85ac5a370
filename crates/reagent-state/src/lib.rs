//! reagent's state folder (`.reagent/` by default; the caller picks the path).
//!
//! What lives there:
//!
//! - `builds.jsonl`, the [`BuildLog`]: one JSON [`Record`] per line, one line
//!   per node build attempt, append-only like ninja's `.ninja_log`. Each
//!   append is a single `write()` of the whole line followed by `fsync`, so
//!   a crash leaves at worst a torn last line, which reading skips and the
//!   next append cuts off. The log answers "when was this node last built
//!   successfully, from which inputs" and "how long does it take", and
//!   compacts itself (keeping the newest records of each node) when it grows.
//! - `logs/<node>-<key16>.log`: each build's output, see [`log_path`].
//! - `lock`: the [`StateLock`], an exclusive advisory lock so that only one
//!   reagent works on a state folder at a time; it holds the owner's pid.
//!
//! Any other state file should be written with [`write_atomic`].
//!
//! ```
//! use reagent_state::{BuildLog, Outcome, Record, StateLock};
//!
//! # fn main() -> Result<(), reagent_state::StateError> {
//! # let tmp = tempfile::tempdir().unwrap();
//! let dir = tmp.path().join(".reagent");
//! let _lock = StateLock::acquire(&dir, false, |_| {})?;
//! let log = BuildLog::open(&dir)?;
//! log.append(&Record {
//!     node: "base".into(),
//!     key: "ab".repeat(32),
//!     manifest_digest: "sha256:0123".into(),
//!     manifest: serde_json::json!(["Containerfile"]),
//!     start: 1_000,
//!     end: 61_000,
//!     outcome: Outcome::Built,
//! })?;
//! assert_eq!(log.last_success("base").map(|r| r.end), Some(61_000));
//! assert_eq!(log.durations()["base"].as_secs(), 60);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod atomic;
mod build_log;
mod error;
mod lock;
mod logs;
mod record;

pub use atomic::write_atomic;
pub use build_log::{BuildLog, Compaction, Loaded, BUILD_LOG_FILE};
pub use error::{Result, StateError};
pub use lock::{StateLock, LOCK_FILE};
pub use logs::log_path;
pub use record::{Outcome, Record};
