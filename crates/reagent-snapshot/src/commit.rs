//! The commit shortcut: a tree synced by git from Gentoo carries `metadata/timestamp.commit`,
//! whose first whitespace-separated token is the commit id the tree was checked out at.

use std::fs;
use std::io;
use std::path::Path;

use crate::SnapshotError;

/// Where the commit id lives, relative to the tree.
pub const COMMIT_FILE: &str = "metadata/timestamp.commit";

/// Reads the commit id of `tree`, or `None` when the tree has no `metadata/timestamp.commit`.
///
/// The id must be 7 to 64 hexadecimal digits (abbreviated to full SHA-1 or SHA-256 ids); it is
/// returned lower-cased.
pub fn read_commit(tree: &Path) -> Result<Option<String>, SnapshotError> {
    let path = tree.join(COMMIT_FILE);
    // Only a regular file is read: a FIFO there would block forever.
    match fs::metadata(&path) {
        Ok(meta) if !meta.is_file() => {
            return Err(SnapshotError::BadCommitFile {
                path,
                line: 1,
                reason: "not a regular file; expected a file holding a git commit id".to_string(),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SnapshotError::io(&path, "read", e)),
    };
    let bad = |reason: String| SnapshotError::BadCommitFile {
        path: path.clone(),
        line: 1,
        reason,
    };
    let text = String::from_utf8_lossy(&bytes);
    let token = text
        .split_whitespace()
        .next()
        .ok_or_else(|| bad("empty file; expected a git commit id".to_string()))?;
    // The token's line, for a file that starts with blank lines.
    let offset = text.find(token).unwrap_or(0);
    let line = 1 + text[..offset].matches('\n').count();
    if !(7..=64).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SnapshotError::BadCommitFile {
            path,
            line,
            reason: format!("`{token}` is not a git commit id (7 to 64 hex digits)"),
        });
    }
    Ok(Some(token.to_ascii_lowercase()))
}
