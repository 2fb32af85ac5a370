//! Key tags this machine has recently seen in the registry (found, pushed or
//! pulled), so a no-op run against a registry does not ask it about every
//! image that is already local. Entries expire after a day, so a registry
//! that was cleaned up is noticed (and re-filled) on the next day's run.
//!
//! The clock is the caller's: every question takes `now`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{write_atomic, Result, StateError};

/// File name under the state folder.
pub const SEEN_FILE: &str = "registry-seen.json";
/// How long a sighting is trusted.
pub const SEEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Registry references with the unix time (in seconds) they were last seen
/// there, kept in `<state folder>/registry-seen.json`.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    path: PathBuf,
    refs: BTreeMap<String, u64>,
}

/// `now` in unix seconds; a time before 1970 counts as 1970.
fn unix_secs(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Seen {
    /// Loads the sightings from `state_dir`. It is only a cache: a missing,
    /// unreadable or corrupt file is an empty set. Nothing is created.
    pub fn load(state_dir: &Path) -> Seen {
        let path = state_dir.join(SEEN_FILE);
        let refs = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Seen { path, refs }
    }

    /// Whether `remote` was seen in the registry less than [`SEEN_TTL`]
    /// before `now`.
    pub fn fresh(&self, remote: &str, now: SystemTime) -> bool {
        let now = unix_secs(now);
        self.refs
            .get(remote)
            .is_some_and(|t| now.saturating_sub(*t) < SEEN_TTL.as_secs())
    }

    /// Records that `remote` is in the registry at `now`.
    pub fn mark(&mut self, remote: &str, now: SystemTime) {
        self.refs.insert(remote.to_string(), unix_secs(now));
    }

    /// Forgets the entries expired at `now` and writes the file with
    /// [`write_atomic`]. The state folder must exist.
    pub fn save(&mut self, now: SystemTime) -> Result<()> {
        let cutoff = unix_secs(now).saturating_sub(SEEN_TTL.as_secs());
        self.refs.retain(|_, t| *t >= cutoff);
        let bytes = serde_json::to_vec(&self.refs).map_err(|source| StateError::EncodeFile {
            path: self.path.clone(),
            source,
        })?;
        write_atomic(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed moment to count from.
    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn marks_survive_a_save_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Seen::load(dir.path());
        assert!(!seen.fresh("r/app:1", t0()));
        seen.mark("r/app:1", t0());
        seen.mark("r/old:1", t0() - SEEN_TTL - Duration::from_secs(1));
        seen.save(t0()).unwrap();

        let again = Seen::load(dir.path());
        assert!(again.fresh("r/app:1", t0()));
        assert!(again.fresh("r/app:1", t0() + SEEN_TTL - Duration::from_secs(1)));
        assert!(
            !again.fresh("r/app:1", t0() + SEEN_TTL),
            "expires after a day"
        );
        assert!(!again.fresh("r/old:1", t0()));
        let text = std::fs::read_to_string(dir.path().join(SEEN_FILE)).unwrap();
        assert!(
            !text.contains("r/old:1"),
            "expired entries are dropped on save: {text}"
        );
    }

    #[test]
    fn a_corrupt_file_is_an_empty_set() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SEEN_FILE), b"{not json").unwrap();
        assert!(!Seen::load(dir.path()).fresh("r/app:1", t0()));
    }

    #[test]
    fn loading_creates_nothing_and_saving_needs_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".reagent");
        let mut seen = Seen::load(&state);
        assert!(!seen.fresh("r/app:1", t0()));
        assert!(!state.exists(), "Seen::load created {}", state.display());
        seen.mark("r/app:1", t0());
        let err = seen.save(t0()).unwrap_err();
        assert!(err.to_string().contains(".reagent"), "{err}");
    }
}
