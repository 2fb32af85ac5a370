//! What decides where `buildah info` says the store is, when the settings do
//! not say it themselves: the buildah found on `PATH` (its path and stat), the
//! global flags, the user, the environment variables containers-storage reads,
//! and the stat of every `storage.conf` it may read. A caller may keep the
//! answer under this fingerprint and hand it back ([`crate::Buildah::known_store`])
//! while the fingerprint stays the same, so that a no-op build runs no buildah
//! process even where `[buildah] root` is not set.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Environment variables containers-storage (or buildah choosing its store)
/// reads. `HOME` and the `XDG_*` ones place a rootless user's store and config.
const ENV: [&str; 9] = [
    "CONTAINERS_STORAGE_CONF",
    "STORAGE_DRIVER",
    "STORAGE_OPTS",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_RUNTIME_DIR",
    "_CONTAINERS_USERNS_CONFIGURED",
    "_CONTAINERS_ROOTLESS_UID",
];

/// The fingerprint (blake3, hex) of everything [`ENV`] and the files name for
/// `binary` run with `global_args`.
pub(crate) fn fingerprint(binary: &Path, global_args: &[String]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"reagent store location 1\0");
    field(&mut h, binary.as_os_str().as_bytes());
    for arg in global_args {
        field(&mut h, arg.as_bytes());
    }
    h.update(b"\0exe\0");
    let found = on_path(binary);
    field(&mut h, found.as_os_str().as_bytes());
    stat(&mut h, &found);
    h.update(b"\0uid\0");
    h.update(&rustix::process::geteuid().as_raw().to_le_bytes());
    let mut confs = vec![
        PathBuf::from("/etc/containers/storage.conf"),
        PathBuf::from("/usr/share/containers/storage.conf"),
    ];
    for name in ENV {
        let value = std::env::var_os(name);
        field(&mut h, name.as_bytes());
        match &value {
            Some(v) => field(&mut h, v.as_bytes()),
            None => field(&mut h, b"\xff unset"),
        }
        let conf = match (name, value) {
            ("CONTAINERS_STORAGE_CONF", Some(v)) => PathBuf::from(v),
            ("XDG_CONFIG_HOME", Some(v)) => Path::new(&v).join("containers/storage.conf"),
            ("HOME", Some(v)) => Path::new(&v).join(".config/containers/storage.conf"),
            _ => continue,
        };
        confs.push(conf);
    }
    h.update(b"\0files\0");
    for conf in &confs {
        field(&mut h, conf.as_os_str().as_bytes());
        stat(&mut h, conf);
    }
    h.finalize().to_hex().to_string()
}

/// A length-prefixed field, so no two lists hash alike.
fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// A file's size, mtime, ctime and inode (following links), or that it is not there.
fn stat(h: &mut blake3::Hasher, path: &Path) {
    match std::fs::metadata(path) {
        Ok(m) => {
            h.update(b"\x01");
            for n in [m.size(), m.ino(), u64::from(m.mode())] {
                h.update(&n.to_le_bytes());
            }
            for n in [m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()] {
                h.update(&n.to_le_bytes());
            }
        }
        Err(_) => {
            h.update(b"\x00");
        }
    }
}

/// Where `binary` is run from: itself when it names a path, else the first
/// executable file of that name on `PATH` (as `execvp` looks), else the name.
fn on_path(binary: &Path) -> PathBuf {
    if binary.as_os_str().as_bytes().contains(&b'/') {
        return binary.to_path_buf();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in path.as_bytes().split(|b| *b == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(binary);
        if std::fs::metadata(&candidate)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        {
            return candidate;
        }
    }
    binary.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_follows_the_flags_and_the_binary() {
        let a = fingerprint(Path::new("buildah"), &[]);
        assert_eq!(a, fingerprint(Path::new("buildah"), &[]), "stable");
        assert_ne!(
            a,
            fingerprint(Path::new("buildah"), &["--runroot".into(), "/r".into()])
        );
        assert_ne!(a, fingerprint(Path::new("/bin/true"), &[]));
        // The list is length-prefixed: moving a byte from one field to the next changes it.
        assert_ne!(
            fingerprint(Path::new("x"), &["ab".into(), "c".into()]),
            fingerprint(Path::new("x"), &["a".into(), "bc".into()])
        );
    }

    #[test]
    fn a_binary_is_found_as_exec_would_find_it() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("tool");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(on_path(&bin), bin);
        assert_eq!(
            on_path(Path::new("surely-no-such-binary-here")),
            Path::new("surely-no-such-binary-here")
        );
    }
}
