//! Reading the project's own text files (`graph.toml`, Containerfiles, specs) safely.
//!
//! A path that should be a text file can be anything on disk: a folder, a dangling
//! symlink, a FIFO (reading one would block forever), a device, or bytes that are not
//! UTF-8. [`read_text`] checks the file's type before opening it and turns each of
//! those into a [`ProjectError`] that says what the path really is.

use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::error::ProjectError;

/// Read `path` as UTF-8 text; `shown` is how errors name it (relative to the project).
///
/// Only regular files (or symlinks to them) are opened. Text that is not UTF-8 is an
/// error at the line of the first invalid byte.
pub fn read_text(path: &Path, shown: &Path) -> Result<String, ProjectError> {
    let bytes = read_bytes(path, shown)?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let line = memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1;
        ProjectError::at(
            shown,
            line,
            format!(
                "not UTF-8 text: invalid byte 0x{:02x} at line {line}",
                bytes.get(at).copied().unwrap_or(0)
            ),
        )
    })
}

/// Read a regular file's bytes, refusing anything that is not one.
///
/// The common case costs one open, one `fstat` and the reads: the file is
/// opened non-blocking (a FIFO must not hang the load) and checked through
/// its descriptor. Anything else (not there, not a regular file, a link that
/// leads nowhere) goes the slow way, which says exactly what is wrong.
fn read_bytes(path: &Path, shown: &Path) -> Result<Vec<u8>, ProjectError> {
    use std::os::unix::fs::OpenOptionsExt;
    let nonblocking = i32::from_ne_bytes(rustix::fs::OFlags::NONBLOCK.bits().to_ne_bytes());
    if let Ok(file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nonblocking)
        .open(path)
    {
        if let Ok(meta) = file.metadata() {
            if meta.is_file() {
                let len = usize::try_from(meta.len()).unwrap_or(0);
                return read_sized(&file, len).map_err(|e| not_readable(shown, &e));
            }
        }
    }
    read_bytes_checked(path, shown)
}

/// Read a regular file whose `fstat` said `len` bytes, to its end.
///
/// `read_to_end` asks once more after the last byte to see the end; here a read
/// that comes back short exactly at `len` is the end (a regular file returns fewer
/// bytes than asked for only there), which saves that call per file. A file that
/// grew since its `fstat` is read on to its new end.
fn read_sized(mut file: &fs::File, len: usize) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0; len.saturating_add(1)];
    let mut filled = 0;
    loop {
        if filled == bytes.len() {
            bytes.resize(bytes.len().saturating_mul(2), 0);
        }
        let asked = bytes.len() - filled;
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled == len && n < asked {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// [`read_bytes`] the slow way: `lstat` first, so a non-regular file is
/// described (and never opened).
fn read_bytes_checked(path: &Path, shown: &Path) -> Result<Vec<u8>, ProjectError> {
    let link = fs::symlink_metadata(path).map_err(|e| not_readable(shown, &e))?;
    let meta = if link.file_type().is_symlink() {
        fs::metadata(path).map_err(|e| {
            let target =
                fs::read_link(path).map_or_else(|_| "?".into(), |t| t.display().to_string());
            ProjectError::in_file(
                shown,
                format!(
                    "`{}` is a symlink to `{target}`, which cannot be followed: {e}",
                    shown.display()
                ),
            )
        })?
    } else {
        link
    };
    if !meta.is_file() {
        return Err(ProjectError::in_file(
            shown,
            format!(
                "`{}` is {}, not a regular file",
                shown.display(),
                kind_of(meta.file_type())
            ),
        ));
    }
    fs::read(path).map_err(|e| not_readable(shown, &e))
}

fn not_readable(shown: &Path, e: &io::Error) -> ProjectError {
    match e.kind() {
        io::ErrorKind::NotFound => {
            ProjectError::in_file(shown, format!("`{}` does not exist", shown.display()))
        }
        _ => ProjectError::in_file(shown, format!("cannot read `{}`: {e}", shown.display())),
    }
}

/// "a folder", "a FIFO", ... for messages.
pub fn kind_of(t: fs::FileType) -> &'static str {
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_symlink() {
        "a symlink"
    } else if t.is_file() {
        "a file"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(path: &Path) -> ProjectError {
        read_text(path, Path::new("x")).unwrap_err()
    }

    #[test]
    fn text_is_read() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("f"), "a\nb\n").unwrap();
        assert_eq!(
            read_text(&d.path().join("f"), Path::new("f")).unwrap(),
            "a\nb\n"
        );
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("f"), b"ok\nok\nbad \xff\n").unwrap();
        let e = err(&d.path().join("f"));
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("0xff"), "{}", e.message);
    }

    #[test]
    fn folders_fifos_and_dangling_links_are_named() {
        let d = tempfile::tempdir().unwrap();
        assert!(err(d.path()).message.contains("is a folder"));
        let fifo = d.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        assert!(err(&fifo).message.contains("is a FIFO"));
        std::os::unix::fs::symlink("nowhere", d.path().join("link")).unwrap();
        let e = err(&d.path().join("link"));
        assert!(e.message.contains("symlink to `nowhere`"), "{}", e.message);
        assert_eq!(err(&d.path().join("missing")).message, "`x` does not exist");
    }
}
