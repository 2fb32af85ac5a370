//! Replacing a file so that readers see the old or the new content, never a mix.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::{Result, StateError};

/// Writes `bytes` to `path` atomically and durably: into a temporary file
/// in the same folder, `fsync`ed, renamed over `path`, then the folder
/// itself `fsync`ed so the rename survives a power cut. This is the one
/// writer for every state file other than the append-only build log.
///
/// The new file gets the usual permissions of a new file (`0666` less the
/// umask), not the owner-only ones of a temporary file, so that a report
/// written this way stays readable by others.
///
/// The folder must exist; if it does not, the error names it. On error the
/// temporary file is removed and `path` keeps its old content.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // Dropping `tmp` on any error below deletes the temporary file.
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(StateError::io("creating a temporary file in", dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(StateError::io("writing", tmp.path()))?;
    tmp.persist(path)
        .map_err(|e| StateError::io("renaming over", path)(e.error))?;
    sync_dir(dir)
}

/// Flushes a folder's entries (a rename) to disk. Only meaningful on Unix;
/// elsewhere folders cannot be opened for this and it does nothing.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StateError::io("syncing folder", dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("state.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        assert_eq!(names(tmp.path()), ["state.json"]);
    }

    #[test]
    fn missing_folder_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nope").join("state.json");
        let err = write_atomic(&path, b"x").unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn a_failed_rename_keeps_the_old_content_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        // A non-empty folder where the file should go: the rename fails.
        let path = tmp.path().join("state.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"old").unwrap();
        let err = write_atomic(&path, b"new").unwrap_err();
        assert!(err.to_string().contains("state.json"), "{err}");
        assert_eq!(names(tmp.path()), ["state.json"]);
        assert_eq!(fs::read(path.join("inside")).unwrap(), b"old");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_not_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("report.xml");
        write_atomic(&path, b"<x/>").unwrap();
        let probe = tmp.path().join("probe");
        fs::write(&probe, b"").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), mode(&probe), "same mode as a plain new file");
    }
}
