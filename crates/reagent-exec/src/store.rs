//! Where the buildah store is, kept in the state folder (`store-location`)
//! under the backend's fingerprint of what decides it
//! ([`Buildah::store_fingerprint`]), so that a project without `[buildah] root`
//! asks `buildah info` once, not on every command: a no-op build then runs no
//! buildah process at all.

use std::path::{Path, PathBuf};

use reagent_backend::Buildah;
use serde::{Deserialize, Serialize};

/// File name of the kept store location in the state folder.
pub const STORE_LOCATION: &str = "store-location";

/// What is kept: the answer, and what it was the answer for.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    version: u32,
    fingerprint: String,
    root: PathBuf,
    driver: String,
}

const VERSION: u32 = 1;

/// Give `backend` the store location kept in `state_dir` when it was kept under
/// the same fingerprint and its graph root is still a folder. Otherwise, with
/// `keep` and when the state folder exists, ask the backend now (one `buildah
/// info`) and keep its answer; without `keep` the backend asks when it needs to,
/// as before. Nothing to do when the settings place the store themselves.
///
/// The file is replaced whole ([`reagent_state::write_atomic`]) and written
/// without the state lock: two commands can only write the same answer for the
/// same fingerprint.
///
/// # Errors
/// Writing the kept location failed.
pub fn locate(backend: &Buildah, state_dir: &Path, keep: bool) -> reagent_state::Result<()> {
    let Some(fingerprint) = backend.store_fingerprint() else {
        return Ok(());
    };
    let file = state_dir.join(STORE_LOCATION);
    // Anything but a regular file (a FIFO would block) is no kept location.
    let kept = std::fs::metadata(&file)
        .is_ok_and(|m| m.is_file())
        .then(|| std::fs::read(&file).ok())
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<Kept>(&bytes).ok());
    if let Some(k) = kept {
        if k.version == VERSION && k.fingerprint == fingerprint && k.root.is_dir() {
            backend.known_store(k.root, k.driver);
            return Ok(());
        }
    }
    if !keep || !state_dir.is_dir() {
        return Ok(());
    }
    let Some((root, driver)) = backend.store() else {
        return Ok(());
    };
    let kept = Kept {
        version: VERSION,
        fingerprint,
        root,
        driver,
    };
    // A struct of strings always serializes.
    let bytes = serde_json::to_vec(&kept).unwrap_or_default();
    reagent_state::write_atomic(file, &bytes)
}
