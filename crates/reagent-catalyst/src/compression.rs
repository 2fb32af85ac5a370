//! Where catalyst puts a captured stage: `compression_mode` and the tarball's file name.
//!
//! Catalyst captures a stage to `<storedir>/builds/<rel_type>/<target>-<subarch>-<version_stamp>`
//! plus `.` and the first extension its compressor (`DeComp`) lists for the `compression_mode` in
//! use. The mode comes from the spec's `compression_mode:` key, else from `catalyst.conf`, else
//! catalyst's built-in default, [`DEFAULT_MODE`] (`lbzip2`, giving `.tar.bz2`). Releng specs set
//! `compression_mode: pixz` (or `pixz_x`), giving `.tar.xz`.

/// Catalyst's built-in `compression_mode` (its `confdefaults`), used when neither the spec nor
/// `catalyst.conf` names one.
pub const DEFAULT_MODE: &str = "lbzip2";

/// Every compression mode catalyst's compressor knows, with the extension it gives a capture.
const MODES: [(&str, &str); 18] = [
    ("lbzip2", "tar.bz2"),
    ("lbzip2_x", "tar.bz2"),
    ("bzip2", "tar.bz2"),
    ("bzip2_x", "tar.bz2"),
    ("lzip", "tar.lzip"),
    ("lzma", "tar.lzma"),
    ("lzop", "tar.lzop"),
    ("tar", "tar"),
    ("tar_x", "tar"),
    ("xz", "tar.xz"),
    ("xz_x", "tar.xz"),
    ("pixz", "tar.xz"),
    ("pixz_x", "tar.xz"),
    ("gzip", "tar.gz"),
    ("gzip_x", "tar.gz"),
    ("squashfs_zstd", "squashfs"),
    ("squashfs_xz", "squashfs"),
    ("squashfs_gzip", "squashfs"),
];

/// The names of every known compression mode.
pub const KNOWN_MODES: [&str; 18] = {
    let mut names = [""; 18];
    let mut i = 0;
    while i < MODES.len() {
        names[i] = MODES[i].0;
        i += 1;
    }
    names
};

/// The extensions a `source_subpath` may end with and still name another spec's build:
/// every extension catalyst's compressor gives a capture, and the short forms its decompressor
/// also reads. Catalyst finds the seed under `<storedir>/builds/` with or without one.
pub const SOURCE_EXTENSIONS: [&str; 13] = [
    "tar.xz", "tar.bz2", "tar.gz", "tar.zst", "tar.lzma", "tar.lzip", "tar.lz", "tar.lzop", "tar",
    "squashfs", "tbz2", "txz", "tgz",
];

/// `path` without one of [`SOURCE_EXTENSIONS`] at its end (and its dot), or `path` itself.
///
/// ```
/// use reagent_catalyst::compression::strip_extension;
/// assert_eq!(strip_extension("r/stage1-arm64-1.tar.xz"), "r/stage1-arm64-1");
/// assert_eq!(strip_extension("r/stage1-arm64-2024.1"), "r/stage1-arm64-2024.1");
/// ```
pub fn strip_extension(path: &str) -> &str {
    SOURCE_EXTENSIONS
        .iter()
        .find_map(|ext| {
            path.strip_suffix(ext)
                .and_then(|rest| rest.strip_suffix('.'))
                .filter(|rest| !rest.is_empty() && !rest.ends_with('/'))
        })
        .unwrap_or(path)
}

/// The file extension (without the leading dot) a capture in `mode` gets, or `None` for a mode
/// catalyst does not know.
///
/// ```
/// assert_eq!(reagent_catalyst::extension_for_mode("pixz"), Some("tar.xz"));
/// assert_eq!(reagent_catalyst::extension_for_mode("lbzip2"), Some("tar.bz2"));
/// assert_eq!(reagent_catalyst::extension_for_mode("rar"), None);
/// ```
pub fn extension_for_mode(mode: &str) -> Option<&'static str> {
    MODES
        .iter()
        .find(|(name, _)| *name == mode)
        .map(|(_, ext)| *ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mode_is_known_and_gives_bz2() {
        assert_eq!(extension_for_mode(DEFAULT_MODE), Some("tar.bz2"));
    }

    #[test]
    fn known_modes_lists_every_mode() {
        assert_eq!(KNOWN_MODES.len(), MODES.len());
        for mode in KNOWN_MODES {
            assert!(extension_for_mode(mode).is_some(), "{mode}");
        }
        assert_eq!(extension_for_mode("xz_x"), Some("tar.xz"));
        assert_eq!(extension_for_mode("gzip"), Some("tar.gz"));
    }
}
