//! Key tags this machine has recently seen in the registry (found, pushed or
//! pulled), so a no-op run against a registry does not ask it about every
//! image that is already local. Entries expire after a day, so a registry
//! that was cleaned up is noticed (and re-filled) on the next day's run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// File name under the state folder.
pub const SEEN_FILE: &str = "registry-seen.json";
/// How long a sighting is trusted.
pub const SEEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Registry references with the unix time they were last seen there.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    path: PathBuf,
    refs: BTreeMap<String, u64>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Seen {
    /// Load from `state_dir`; a missing or unreadable file is an empty set.
    pub fn load(state_dir: &Path) -> Seen {
        let path = state_dir.join(SEEN_FILE);
        let refs = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Seen { path, refs }
    }

    /// Whether `remote` was seen in the registry within [`SEEN_TTL`].
    pub fn fresh(&self, remote: &str) -> bool {
        self.refs
            .get(remote)
            .is_some_and(|t| now().saturating_sub(*t) < SEEN_TTL.as_secs())
    }

    /// Record that `remote` is in the registry now.
    pub fn mark(&mut self, remote: &str) {
        self.refs.insert(remote.to_string(), now());
    }

    /// Forget expired entries and write the file atomically.
    pub fn save(&mut self) -> Result<(), reagent_state::StateError> {
        let cutoff = now().saturating_sub(SEEN_TTL.as_secs());
        self.refs.retain(|_, t| *t >= cutoff);
        let bytes = serde_json::to_vec(&self.refs).unwrap_or_default();
        reagent_state::write_atomic(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_a_save_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Seen::load(dir.path());
        assert!(!seen.fresh("r/app:1"));
        seen.mark("r/app:1");
        seen.refs
            .insert("r/old:1".into(), now() - SEEN_TTL.as_secs() - 1);
        seen.save().unwrap();
        let again = Seen::load(dir.path());
        assert!(again.fresh("r/app:1"));
        assert!(!again.fresh("r/old:1"));
        assert!(
            !again.refs.contains_key("r/old:1"),
            "expired entries are dropped on save"
        );
    }

    #[test]
    fn a_corrupt_file_is_an_empty_set() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SEEN_FILE), b"{not json").unwrap();
        assert!(!Seen::load(dir.path()).fresh("r/app:1"));
    }
}
