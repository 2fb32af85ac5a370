//! A throwaway buildah store.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reagent_backend::{Buildah, BuildahSettings};

/// A temp buildah graph root and run root (`vfs` driver unless chosen, `chroot` isolation).
/// Dropping it removes its containers, unmounts anything under it and deletes it.
#[derive(Debug)]
pub struct Storage {
    dir: Option<tempfile::TempDir>,
    settings: BuildahSettings,
}

impl Default for Storage {
    fn default() -> Self {
        Self::new()
    }
}

impl Storage {
    /// A fresh, empty store. Panics if the temp dir cannot be made.
    pub fn new() -> Storage {
        Storage::with_driver("vfs")
    }

    /// A fresh, empty store using the storage driver `driver` (`vfs`, `overlay`).
    /// Panics if the temp dir cannot be made.
    pub fn with_driver(driver: &str) -> Storage {
        let dir = tempfile::Builder::new()
            .prefix("reagent-storage-")
            .tempdir()
            .expect("create a temp dir for buildah storage");
        let settings = BuildahSettings {
            isolation: Some("chroot".to_string()),
            storage_driver: Some(driver.to_string()),
            root: Some(dir.path().join("root")),
            runroot: Some(dir.path().join("runroot")),
            ..BuildahSettings::default()
        };
        Storage {
            dir: Some(dir),
            settings,
        }
    }

    /// Settings that make a [`Buildah`] use this store.
    pub fn settings(&self) -> BuildahSettings {
        self.settings.clone()
    }

    /// A backend on this store, with `tls_verify` off (test registries are plain HTTP).
    pub fn backend(&self) -> Buildah {
        Buildah::new(BuildahSettings {
            tls_verify: false,
            ..self.settings()
        })
    }

    /// The global buildah flags for this store (`--root ... --runroot ... --storage-driver vfs`).
    pub fn global_args(&self) -> Vec<String> {
        self.settings.global_args()
    }

    /// The temp folder holding the store.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    /// `buildah <global flags> <args>`: its stdout, or a panic with its stderr.
    pub fn buildah(&self, args: &[&str]) -> String {
        let out = Command::new("buildah")
            .args(self.global_args())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run buildah");
        assert!(
            out.status.success(),
            "buildah {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Names and ids of the working containers in this store, one string each.
    pub fn containers(&self) -> Vec<String> {
        self.buildah(&[
            "containers",
            "--noheading",
            "--format",
            "{{.ContainerID}} {{.ContainerName}}",
        ])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
    }
}

/// Mount points at or below `dir`, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mount(m)))
        .filter(|m| m.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape_mount(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Some(n) = s
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(n);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Make every directory under `dir` writable so it can be removed (vfs
/// layers may hold read-only directories).
fn make_writable(dir: &Path) {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mut perms = meta.permissions();
    perms.set_mode(perms.mode() | 0o700);
    let _ = std::fs::set_permissions(dir, perms);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            make_writable(&e.path());
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else {
            return;
        };
        let _ = Command::new("buildah")
            .args(self.global_args())
            .args(["rm", "--all"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for m in mounts_under(dir.path()) {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(&m)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        make_writable(dir.path());
        let _ = dir.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_decode() {
        assert_eq!(unescape_mount("/a\\040b"), "/a b");
        assert_eq!(unescape_mount("/plain"), "/plain");
    }

    #[test]
    fn storage_settings_point_into_its_dir() {
        let s = Storage::new();
        let args = s.global_args();
        assert_eq!(args[0], "--root");
        assert!(Path::new(&args[1]).starts_with(s.path()));
        assert_eq!(args[5], "vfs");
        assert_eq!(s.settings().isolation.as_deref(), Some("chroot"));
        let path = s.path().to_path_buf();
        drop(s);
        assert!(!path.exists());
    }
}
