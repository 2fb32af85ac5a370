//! Where each build's output goes.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Result, StateError};

/// The log file for one build of `node` with content key `key`:
/// `<dir>/logs/<node>-<key16>.log`, creating `<dir>/logs/` if needed.
///
/// Only the first 16 characters of `key` are used, so the full 64-hex key
/// may be passed. Characters outside `[A-Za-z0-9._+-]` in the node name
/// (such as `/`) become `_`, as does a leading `.`, so the file always lands
/// inside `logs/`.
pub fn log_path(dir: impl AsRef<Path>, node: &str, key16: &str) -> Result<PathBuf> {
    let logs = dir.as_ref().join("logs");
    fs::create_dir_all(&logs).map_err(StateError::io("creating", &logs))?;
    let key: String = key16.chars().take(16).collect();
    Ok(logs.join(format!("{}-{}.log", sanitize(node), sanitize(&key))))
}

/// Makes a string safe as (part of) one file name.
fn sanitize(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| match c {
            '.' if i == 0 => '_',
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '+' | '-' => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_file_after_node_and_short_key() {
        let tmp = tempfile::tempdir().unwrap();
        let key = "0123456789abcdef".repeat(4);
        let path = log_path(tmp.path(), "base", &key).unwrap();
        assert_eq!(path, tmp.path().join("logs/base-0123456789abcdef.log"));
        assert!(tmp.path().join("logs").is_dir());
    }

    #[test]
    fn keeps_odd_node_names_inside_logs() {
        let tmp = tempfile::tempdir().unwrap();
        let path = log_path(tmp.path(), "../stage/x y", "0123456789abcdef").unwrap();
        assert_eq!(
            path,
            tmp.path().join("logs/_._stage_x_y-0123456789abcdef.log")
        );
    }
}
