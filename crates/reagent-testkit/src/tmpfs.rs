//! A small tmpfs: a real file system that fills up.

use std::path::Path;
use std::process::Command;

/// A tmpfs of a given size mounted on a temp folder (`mount -t tmpfs`, which
/// needs root), unmounted when dropped.
#[derive(Debug)]
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mount a tmpfs of `size` (`64k`, `1m`). `None`, after saying so on
    /// stderr, where mounting is not allowed; under `CI=true` that panics
    /// instead (no silent skips in CI).
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::Builder::new()
            .prefix("reagent-tmpfs-")
            .tempdir()
            .expect("a temp folder to mount on");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        if out.status.success() {
            return Some(Tmpfs { dir });
        }
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cannot mount a tmpfs (the full-disk tests need root): {why}"
        );
        eprintln!("skipped: cannot mount a tmpfs: {why}");
        None
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
