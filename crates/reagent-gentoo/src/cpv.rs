//! Splitting `category/package-version` strings, per portage's `catpkgsplit`.
//!
//! The version is the last `-` token that parses as a version, with a trailing
//! `-rN` belonging to it. A package name must not itself end in something that
//! looks like a version (`foo-1-2` is rejected, as portage rejects it).

use std::fmt;

use crate::version::Version;

/// A string that is not a valid `cat/pkg-ver` or `pkg-ver`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid package {}: {reason}", crate::quote::quoted(.text))]
pub struct CpvError {
    /// The text that failed to split.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A category, package name and version, e.g. `dev-libs/openssl-3.0.13-r1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpv {
    /// The category, e.g. `dev-libs`.
    pub category: String,
    /// The package name, e.g. `openssl`.
    pub name: String,
    /// The version, including any revision.
    pub version: Version,
}

impl Cpv {
    /// Splits `cat/pkg-ver`.
    ///
    /// ```
    /// use reagent_gentoo::Cpv;
    /// let cpv = Cpv::parse("dev-libs/foo-bar-1.2-r1").unwrap();
    /// assert_eq!((cpv.category.as_str(), cpv.name.as_str()), ("dev-libs", "foo-bar"));
    /// assert_eq!(cpv.version.to_string(), "1.2-r1");
    /// ```
    pub fn parse(text: &str) -> Result<Cpv, CpvError> {
        let err = |reason| CpvError {
            text: text.to_string(),
            reason,
        };
        let (category, pf) = text
            .split_once('/')
            .ok_or_else(|| err("expected category/package-version"))?;
        if !is_valid_category(category) {
            return Err(err("invalid category name"));
        }
        let (name, version) = split_pf(pf).map_err(|e| err(e.reason))?;
        Ok(Cpv {
            category: category.to_string(),
            name,
            version,
        })
    }

    /// `category/name`, the key GLSAs and diffs use.
    pub fn cp(&self) -> String {
        format!("{}/{}", self.category, self.name)
    }
}

impl fmt::Display for Cpv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}-{}", self.category, self.name, self.version)
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `s` is a valid category name (`[A-Za-z0-9_][A-Za-z0-9+_.-]*`).
pub fn is_valid_category(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_word) && chars.all(|c| is_word(c) || "+.-".contains(c))
}

/// Whether `s` is a valid package name: `[A-Za-z0-9_][A-Za-z0-9+_-]*` that
/// does not end in `-` followed by a version.
pub fn is_valid_package_name(s: &str) -> bool {
    let mut chars = s.chars();
    let syntax = chars.next().is_some_and(is_word) && chars.all(|c| is_word(c) || "+-".contains(c));
    syntax && !ends_with_version(s)
}

/// Whether `s` is a valid slot or sub-slot name (`[A-Za-z0-9_][A-Za-z0-9+_.-]*`).
pub fn is_valid_slot_name(s: &str) -> bool {
    is_valid_category(s)
}

fn is_revision_token(t: &str) -> bool {
    t.strip_prefix('r')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether the name ends in `-VERSION` or `-VERSION-rN`.
fn ends_with_version(s: &str) -> bool {
    let tokens: Vec<&str> = s.split('-').collect();
    let n = tokens.len();
    if n >= 2 && Version::parse(tokens[n - 1]).is_ok() {
        return true;
    }
    n >= 3 && is_revision_token(tokens[n - 1]) && Version::parse(tokens[n - 2]).is_ok()
}

/// Splits a PF such as `pkg-1.2-r1` into the package name and version.
///
/// ```
/// use reagent_gentoo::cpv::split_pf;
/// let (name, version) = split_pf("gtk+-3.24.41-r1").unwrap();
/// assert_eq!(name, "gtk+");
/// assert_eq!(version.to_string(), "3.24.41-r1");
/// assert!(split_pf("foo-1-2").is_err());
/// ```
pub fn split_pf(pf: &str) -> Result<(String, Version), CpvError> {
    let err = |reason| CpvError {
        text: pf.to_string(),
        reason,
    };
    let tokens: Vec<&str> = pf.split('-').collect();
    let n = tokens.len();
    if n < 2 {
        return Err(err("expected package-version"));
    }
    let name_tokens = if is_revision_token(tokens[n - 1]) {
        if n < 3 || Version::parse(tokens[n - 2]).is_err() {
            return Err(err("no version before the revision"));
        }
        n - 2
    } else if Version::parse(tokens[n - 1]).is_ok() {
        n - 1
    } else {
        return Err(err("does not end in a version"));
    };
    let name = tokens[..name_tokens].join("-");
    if !is_valid_package_name(&name) {
        return Err(err("invalid package name"));
    }
    let version = Version::parse(&tokens[name_tokens..].join("-")).map_err(|e| err(e.reason))?;
    Ok((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cpv_with_revision() {
        let cpv = Cpv::parse("sys-libs/glibc-2.39-r6").unwrap();
        assert_eq!(cpv.category, "sys-libs");
        assert_eq!(cpv.name, "glibc");
        assert_eq!(cpv.version.as_str(), "2.39-r6");
        assert_eq!(cpv.cp(), "sys-libs/glibc");
        assert_eq!(cpv.to_string(), "sys-libs/glibc-2.39-r6");
    }

    #[test]
    fn name_may_contain_hyphens_and_digits() {
        let (name, v) = split_pf("perl-5-foo-1.0").unwrap();
        assert_eq!((name.as_str(), v.as_str()), ("perl-5-foo", "1.0"));
        let (name, v) = split_pf("font-adobe-100dpi-1.0.4").unwrap();
        assert_eq!((name.as_str(), v.as_str()), ("font-adobe-100dpi", "1.0.4"));
    }

    #[test]
    fn rejects_name_ending_in_version() {
        assert!(split_pf("foo-1-2").is_err());
        assert!(split_pf("foo-1-r1-2").is_err());
        assert!(split_pf("foo").is_err());
        assert!(split_pf("foo-r1").is_err());
        assert!(split_pf("-1.0").is_err());
        assert!(split_pf("foo-bar").is_err());
    }

    #[test]
    fn error_shows_the_text_quoted() {
        let err = Cpv::parse("foo-1.0").unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid package `foo-1.0`: expected category/package-version"
        );
    }

    #[test]
    fn rejects_bad_category() {
        assert!(Cpv::parse("foo-1.0").is_err());
        assert!(Cpv::parse("-cat/foo-1.0").is_err());
        assert!(Cpv::parse("cat/sub/foo-1.0").is_err());
    }
}
