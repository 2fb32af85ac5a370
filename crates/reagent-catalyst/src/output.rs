//! What a catalyst run leaves behind, and where.
//!
//! Read from catalyst's target classes:
//! - `stage1`–`stage4`, `livecd-stage1`, `diskimage-stage1` and `embedded` capture the built
//!   root as a tarball, `<storedir>/builds/<target_subpath>.<ext>` (`StageBase.capture`), then
//!   rename it with the spec's `rename_regexp` when it sets one: catalyst pipes the tarball's full
//!   path through `sed -E -e <rename_regexp>` and renames the file to what comes out (releng's
//!   WSL stages write `rename_regexp: s_.tar.xz$_.wsl_`).
//! - `livecd-stage2` writes an ISO image at `livecd/iso` (`create_iso`); a relative path is
//!   under `<storedir>/builds/<rel_type>/` (`set_iso`).
//! - `diskimage-stage2` writes a QCOW2 disk image at `diskimage/qcow2`, resolved the same way
//!   (`set_qcow2`); it removes `capture`, so there is no tarball.
//! - `netboot` captures nothing: its kernels and images are left in the folder
//!   `<storedir>/builds/<target_subpath>` (`netboot.set_target_path`, `move_kernels`).
//!
//! Only a stage tarball can be imported as an image; the others are artifacts.

use std::path::{Path, PathBuf};

/// What a target leaves behind, without its path: [`crate::TargetKind::output_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputKind {
    /// A root filesystem tarball, importable as an image.
    StageTarball,
    /// A bootable ISO image (`livecd-stage2`).
    Iso,
    /// A QCOW2 disk image (`diskimage-stage2`).
    DiskImage,
    /// A folder of kernels and images (`netboot`).
    Folder,
}

impl OutputKind {
    /// The words output uses for it: `stage tarball`, `ISO image`, `disk image`,
    /// `netboot folder`.
    pub fn describe(self) -> &'static str {
        match self {
            OutputKind::StageTarball => "stage tarball",
            OutputKind::Iso => "ISO image",
            OutputKind::DiskImage => "disk image",
            OutputKind::Folder => "netboot folder",
        }
    }

    /// One lowercase word for it: `stage`, `iso`, `disk`, `netboot`.
    pub fn word(self) -> &'static str {
        match self {
            OutputKind::StageTarball => "stage",
            OutputKind::Iso => "iso",
            OutputKind::DiskImage => "disk",
            OutputKind::Folder => "netboot",
        }
    }

    /// Whether the result is a root filesystem that can become an image.
    pub fn is_stage_tarball(self) -> bool {
        self == OutputKind::StageTarball
    }
}

/// What one spec's catalyst run writes, with its absolute path: [`crate::Spec::output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The captured stage tarball (after `rename_regexp`).
    Tarball(PathBuf),
    /// The ISO image `livecd/iso` names.
    Iso(PathBuf),
    /// The disk image `diskimage/qcow2` names.
    DiskImage(PathBuf),
    /// The folder a `netboot` build fills.
    Folder(PathBuf),
}

impl Output {
    /// Where it is.
    pub fn path(&self) -> &Path {
        match self {
            Output::Tarball(p) | Output::Iso(p) | Output::DiskImage(p) | Output::Folder(p) => p,
        }
    }

    /// What it is.
    pub fn kind(&self) -> OutputKind {
        match self {
            Output::Tarball(_) => OutputKind::StageTarball,
            Output::Iso(_) => OutputKind::Iso,
            Output::DiskImage(_) => OutputKind::DiskImage,
            Output::Folder(_) => OutputKind::Folder,
        }
    }

    /// Whether it is a stage tarball (importable as an image).
    pub fn is_stage_tarball(&self) -> bool {
        self.kind().is_stage_tarball()
    }

    /// Whether catalyst left it there: a file, or for `netboot` a folder.
    pub fn exists(&self) -> bool {
        match self {
            Output::Folder(p) => p.is_dir(),
            other => other.path().is_file(),
        }
    }
}

/// A `sed -E` substitution command, `s<d>regexp<d>replacement<d>[flags]`: the subset of sed
/// that catalyst's `rename_regexp` is written in.
#[derive(Debug, Clone)]
pub(crate) struct Substitution {
    regex: regex::Regex,
    /// The replacement in the `regex` crate's syntax (`${1}`, `${0}`, `$$`).
    replacement: String,
    global: bool,
}

impl Substitution {
    /// Parse `expr`; the error says what is wrong.
    pub(crate) fn parse(expr: &str) -> Result<Substitution, String> {
        let mut chars = expr.chars();
        if chars.next() != Some('s') {
            return Err("it does not start with `s`".to_string());
        }
        let delim = match chars.next() {
            Some(d) if d != '\\' && d != '\n' && !d.is_alphanumeric() => d,
            _ => return Err("`s` is not followed by a delimiter".to_string()),
        };
        let rest: String = chars.collect();
        let (pattern, rest) = split_at_delim(&rest, delim)
            .ok_or_else(|| format!("the regexp has no closing `{delim}`"))?;
        let (replacement, flags) = split_at_delim(&rest, delim)
            .ok_or_else(|| format!("the replacement has no closing `{delim}`"))?;
        let mut global = false;
        let mut insensitive = false;
        for flag in flags.chars() {
            match flag {
                'g' => global = true,
                'I' | 'i' => insensitive = true,
                other => return Err(format!("flag `{other}` is not supported (only g and I)")),
            }
        }
        let regex = regex::RegexBuilder::new(&pattern)
            .case_insensitive(insensitive)
            .build()
            .map_err(|e| format!("the regexp does not compile: {e}"))?;
        Ok(Substitution {
            regex,
            replacement: translate_replacement(&replacement)?,
            global,
        })
    }

    /// `text` with the substitution applied (unchanged when the regexp matches nothing).
    pub(crate) fn apply(&self, text: &str) -> String {
        let replacement = self.replacement.as_str();
        if self.global {
            self.regex.replace_all(text, replacement).into_owned()
        } else {
            self.regex.replace(text, replacement).into_owned()
        }
    }
}

/// Split `text` at the first unescaped `delim`; `\<delim>` becomes a literal `delim`.
fn split_at_delim(text: &str, delim: char) -> Option<(String, String)> {
    let mut part = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some((_, next)) if next == delim => part.push(delim),
                Some((_, next)) => {
                    part.push('\\');
                    part.push(next);
                }
                None => part.push('\\'),
            }
        } else if c == delim {
            return Some((part, text[at + c.len_utf8()..].to_string()));
        } else {
            part.push(c);
        }
    }
    None
}

/// sed's replacement (`\1`..`\9`, `&`, `\&`, `\\`, `\n`) in the `regex` crate's syntax.
fn translate_replacement(sed: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = sed.chars();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("${0}"),
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d @ '0'..='9') => {
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('n') => out.push('\n'),
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => return Err("the replacement ends with `\\`".to_string()),
            },
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_delimiters_are_literal() {
        let s = Substitution::parse(r"s/a\/b/c\/d/").unwrap();
        assert_eq!(s.apply("x/a/b"), "x/c/d");
    }

    #[test]
    fn dollar_in_a_replacement_is_literal_and_flags_apply() {
        let s = Substitution::parse("s/A/$x/gI").unwrap();
        assert_eq!(s.apply("aba"), "$xb$x");
        let s = Substitution::parse("s/a/b/").unwrap();
        assert_eq!(s.apply("aa"), "ba");
    }
}
