//! The runs of a project that may have left working containers behind.
//!
//! A run that builds writes `<state>/runs/<pid>.<start>.json` (atomically) with
//! its [`RunId`] and the project's root, and deletes it when it ends. A run killed
//! with SIGKILL cannot delete it, nor remove the working containers its builds
//! had open. The next run of the same project (same state folder, under the state
//! lock) finds the file, sees that the process is gone ([`RunId::is_alive`]:
//! same PID *and* start time), removes that run's containers
//! ([`Backend::remove_run_containers`]) and then the file. Containers of runs
//! still alive, of other projects' runs, or made by hand are never touched.

use std::path::{Path, PathBuf};

use reagent_backend::{Backend, BackendError, RunId};

/// The folder under the state folder that holds one file per live run.
pub const RUNS_DIR: &str = "runs";

/// What a run file holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct RunFile {
    /// The run.
    run: RunId,
    /// The project's root folder (for a reader; the state folder already is the project's).
    project: PathBuf,
}

/// Why the runs could not be tidied or this run recorded.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    /// The runs folder could not be read or created.
    #[error("cannot read or create {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// This run's file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: reagent_state::StateError,
    },
    /// A dead run's containers could not be removed.
    #[error("cannot remove the working containers left by run {run} (pid {pid}): {source}")]
    Remove {
        /// The dead run.
        run: RunId,
        /// Its process id.
        pid: u32,
        /// What buildah said.
        source: BackendError,
    },
}

/// This run, recorded in the state folder until it is dropped.
#[derive(Debug)]
pub struct Run {
    path: PathBuf,
}

impl Drop for Run {
    fn drop(&mut self) {
        // A file left behind only makes the next run look for containers of a
        // dead run and find none.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Remove the working containers of this project's runs whose process is gone,
/// then record this run. Answers the run (its file goes when it is dropped) and
/// how many leftover containers were removed.
///
/// A run file that does not parse is left alone: it names no run to clean up.
pub fn begin(
    state_dir: &Path,
    project_root: &Path,
    backend: &dyn Backend,
) -> Result<(Run, usize), RunsError> {
    let dir = state_dir.join(RUNS_DIR);
    let folder = |source| RunsError::Folder {
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(folder)?;
    let me = RunId::current();
    let mut removed = 0;
    for entry in std::fs::read_dir(&dir).map_err(folder)? {
        let path = entry.map_err(folder)?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Some(file) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<RunFile>(&b).ok())
        else {
            continue;
        };
        if file.run == me || file.run.is_alive() {
            continue;
        }
        removed += backend
            .remove_run_containers(file.run)
            .map_err(|source| RunsError::Remove {
                run: file.run,
                pid: file.run.pid,
                source,
            })?;
        let _ = std::fs::remove_file(&path);
    }
    let path = dir.join(format!("{me}.json"));
    let record = RunFile {
        run: me,
        project: project_root.to_path_buf(),
    };
    // Serializing plain fields cannot fail.
    let bytes = serde_json::to_vec(&record).unwrap_or_default();
    reagent_state::write_atomic(&path, &bytes).map_err(|source| RunsError::Write {
        path: path.clone(),
        source,
    })?;
    Ok((Run { path }, removed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reagent_backend::FakeBackend;

    #[test]
    fn a_run_is_recorded_while_it_lasts_and_a_dead_runs_file_is_tidied() {
        let state = tempfile::tempdir().unwrap();
        let dir = state.path().join(RUNS_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let me = RunId::current();
        let dead = RunId {
            start: me.start + 1,
            ..me
        };
        let dead_file = dir.join(format!("{dead}.json"));
        std::fs::write(
            &dead_file,
            serde_json::to_vec(&RunFile {
                run: dead,
                project: PathBuf::from("/p"),
            })
            .unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("garbage.json"), "{").unwrap();
        let (run, removed) = begin(state.path(), Path::new("/p"), &FakeBackend::new()).unwrap();
        assert_eq!(removed, 0, "the fake keeps no containers");
        assert!(!dead_file.exists(), "the dead run's file stays");
        assert!(dir.join("garbage.json").exists());
        let mine = dir.join(format!("{me}.json"));
        let file: RunFile = serde_json::from_slice(&std::fs::read(&mine).unwrap()).unwrap();
        assert_eq!(file.run, me);
        drop(run);
        assert!(!mine.exists());
    }
}
