//! One reagent at a time per state folder.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fs4::fs_std::FileExt;

use crate::{Result, StateError};

/// The lock file's name inside the state folder.
pub const LOCK_FILE: &str = "lock";

/// An exclusive advisory lock (`flock` on Unix) on `<dir>/lock`, held
/// until dropped. The lock file holds the owner's pid so that a second
/// reagent can say whom it waits for.
///
/// The lock belongs to the open file, not the process: two acquires in
/// one process exclude each other like two processes do.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

impl StateLock {
    /// Takes the lock on `<dir>/lock`, creating `dir` and the file if needed.
    ///
    /// If another process holds it: with `wait`, calls `on_wait` with a
    /// message such as `waiting for another reagent (pid 123) to finish
    /// with .reagent` and blocks until it is free; without, returns
    /// [`StateError::Locked`] with the holder's pid.
    pub fn acquire(
        dir: impl AsRef<Path>,
        wait: bool,
        on_wait: impl FnOnce(&str),
    ) -> Result<StateLock> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(StateError::io("creating", dir))?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(StateError::io("opening", &path))?;
        let got = FileExt::try_lock_exclusive(&file).map_err(StateError::io("locking", &path))?;
        if !got {
            let pid = read_pid(&path);
            if !wait {
                return Err(StateError::Locked {
                    pid,
                    dir: dir.to_path_buf(),
                });
            }
            let who = pid.map_or_else(|| "pid unknown".to_string(), |p| format!("pid {p}"));
            on_wait(&format!(
                "waiting for another reagent ({who}) to finish with {}",
                dir.display()
            ));
            FileExt::lock_exclusive(&file).map_err(StateError::io("locking", &path))?;
        }
        let mut lock = StateLock { file, path };
        lock.write_pid()?;
        Ok(lock)
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_pid(&mut self) -> Result<()> {
        let pid = format!("{}\n", std::process::id());
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| self.file.write_all(pid.as_bytes()))
            .map_err(StateError::io("writing", &self.path))
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first also
        // covers a copy of the descriptor inherited by a child process.
        let _ = FileExt::unlock(&self.file);
    }
}

/// The holder's pid from the lock file. The holder writes it just after
/// locking, so an empty file is retried briefly before giving up.
fn read_pid(path: &Path) -> Option<u32> {
    for _ in 0..20 {
        let mut text = String::new();
        if let Ok(mut f) = File::open(path) {
            if f.read_to_string(&mut text).is_ok() {
                if let Ok(pid) = text.trim().parse() {
                    return Some(pid);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}
