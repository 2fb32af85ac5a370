//! Package versions and their ordering, per PMS "Version Comparison".
//!
//! The grammar is `N(.N)*[a-z]?(_(alpha|beta|pre|rc|p)N?)*(-rN)?`, and the
//! ordering mirrors `portage.versions.vercmp` exactly, including its quirks:
//! a component after the first that starts with `0` compares as a decimal
//! fraction (`1.01 < 1.1`, `1.01 == 1.010`), a missing component sorts below
//! any present one (`1.0 < 1.0.0`), `_p` with no number equals `_p0`, and
//! `-r0` equals no revision.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A version string that does not follow the PMS version grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version {}: {reason}", crate::quote::quoted(.text))]
pub struct VersionError {
    /// The text that failed to parse.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The kind of a version suffix, ordered as PMS orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SuffixKind {
    /// `_alpha`
    Alpha,
    /// `_beta`
    Beta,
    /// `_pre`
    Pre,
    /// `_rc`
    Rc,
    /// `_p` (patch level; sorts after the bare version)
    P,
}

impl SuffixKind {
    /// The suffix as written, without the leading underscore.
    pub fn as_str(self) -> &'static str {
        match self {
            SuffixKind::Alpha => "alpha",
            SuffixKind::Beta => "beta",
            SuffixKind::Pre => "pre",
            SuffixKind::Rc => "rc",
            SuffixKind::P => "p",
        }
    }
}

/// One `_kindN` suffix of a version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Suffix {
    /// Which suffix.
    pub kind: SuffixKind,
    /// Its digits as written (may be empty, which counts as 0).
    pub number: String,
}

/// A parsed package version such as `1.2.3b_alpha4_pre_p2-r3`.
///
/// `Display` gives back the text exactly as parsed. Equality and ordering are
/// portage's `vercmp`, so `1.0-r0 == 1.0` and `1.01 == 1.010` although the
/// texts differ; `Version` therefore does not implement `Hash`.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    /// Numeric components as written (digits only).
    components: Vec<String>,
    letter: Option<char>,
    suffixes: Vec<Suffix>,
    /// Revision digits, if `-rN` was written.
    revision: Option<String>,
}

impl Version {
    /// Parses a version per the PMS grammar.
    ///
    /// ```
    /// use reagent_gentoo::Version;
    /// let v = Version::parse("1.2.3b_alpha4_pre_p2-r3").unwrap();
    /// assert_eq!(v.revision(), "3");
    /// assert_eq!(v.without_revision(), "1.2.3b_alpha4_pre_p2");
    /// assert!(Version::parse("1.2.x").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let err = |reason| VersionError {
            text: text.to_string(),
            reason,
        };
        let bytes = text.as_bytes();
        let mut i = 0;
        let digits = |i: &mut usize| -> Option<String> {
            let start = *i;
            while *i < bytes.len() && bytes[*i].is_ascii_digit() {
                *i += 1;
            }
            (*i > start).then(|| text[start..*i].to_string())
        };
        let mut components = Vec::new();
        components.push(digits(&mut i).ok_or_else(|| err("must start with a digit"))?);
        while i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            components.push(digits(&mut i).ok_or_else(|| err("expected digits after '.'"))?);
        }
        let mut letter = None;
        if i < bytes.len() && bytes[i].is_ascii_lowercase() {
            letter = Some(bytes[i] as char);
            i += 1;
        }
        let mut suffixes = Vec::new();
        while i < bytes.len() && bytes[i] == b'_' {
            i += 1;
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                i += 1;
            }
            let kind = match &text[start..i] {
                "alpha" => SuffixKind::Alpha,
                "beta" => SuffixKind::Beta,
                "pre" => SuffixKind::Pre,
                "rc" => SuffixKind::Rc,
                "p" => SuffixKind::P,
                _ => {
                    return Err(err(
                        "unknown suffix (expected _alpha, _beta, _pre, _rc or _p)",
                    ))
                }
            };
            let number = digits(&mut i).unwrap_or_default();
            suffixes.push(Suffix { kind, number });
        }
        let mut revision = None;
        if i < bytes.len() {
            if text[i..].starts_with("-r") {
                i += 2;
                revision = Some(digits(&mut i).ok_or_else(|| err("expected digits after '-r'"))?);
            }
            if i < bytes.len() {
                return Err(err("unexpected trailing characters"));
            }
        }
        Ok(Version {
            text: text.to_string(),
            components,
            letter,
            suffixes,
            revision,
        })
    }

    /// The version text exactly as parsed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The numeric components as written, e.g. `["1", "02", "3"]`.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The optional letter after the numeric components.
    pub fn letter(&self) -> Option<char> {
        self.letter
    }

    /// The `_suffix` parts in order.
    pub fn suffixes(&self) -> &[Suffix] {
        &self.suffixes
    }

    /// The revision digits; `"0"` when no `-rN` was written.
    pub fn revision(&self) -> &str {
        self.revision.as_deref().unwrap_or("0")
    }

    /// Whether a `-rN` part was written (even `-r0`).
    pub fn has_revision(&self) -> bool {
        self.revision.is_some()
    }

    /// The text without its `-rN` part, e.g. `1.2_p1` for `1.2_p1-r3`.
    pub fn without_revision(&self) -> &str {
        match &self.revision {
            Some(r) => &self.text[..self.text.len() - r.len() - 2],
            None => &self.text,
        }
    }

    /// Compares only the revisions, numerically (`-r0` equals none).
    pub fn cmp_revision(&self, other: &Version) -> Ordering {
        cmp_integer(self.revision(), other.revision())
    }
}

/// Compares two non-empty digit strings as unbounded integers.
fn cmp_integer(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Compares two digit strings as decimal fractions (`0.a` vs `0.b`), as
/// portage does when either component starts with `0`.
fn cmp_fraction(a: &str, b: &str) -> Ordering {
    let len = a.len().max(b.len());
    let pad = |s: &str| {
        let mut s = s.to_string();
        while s.len() < len {
            s.push('0');
        }
        s
    };
    pad(a).cmp(&pad(b))
}

/// The number of a suffix for comparison: a missing suffix is an implicit
/// `_p` numbered -1; an empty number is 0.
fn cmp_suffix_number(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => {
            let a = if a.is_empty() { "0" } else { a };
            let b = if b.is_empty() { "0" } else { b };
            cmp_integer(a, b)
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.text == other.text {
            return Ordering::Equal;
        }
        let (a, b) = (&self.components, &other.components);
        let mut ord = cmp_integer(&a[0], &b[0]);
        for i in 1..a.len().max(b.len()) {
            if ord != Ordering::Equal {
                return ord;
            }
            ord = match (a.get(i), b.get(i)) {
                (None, _) => Ordering::Less,
                (_, None) => Ordering::Greater,
                (Some(x), Some(y)) if !x.starts_with('0') && !y.starts_with('0') => {
                    cmp_integer(x, y)
                }
                (Some(x), Some(y)) => cmp_fraction(x, y),
            };
        }
        if ord != Ordering::Equal {
            return ord;
        }
        match (self.letter, other.letter) {
            (Some(x), Some(y)) if x != y => return x.cmp(&y),
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            _ => {}
        }
        let implicit = (SuffixKind::P, None);
        for i in 0..self.suffixes.len().max(other.suffixes.len()) {
            let s1 = self
                .suffixes
                .get(i)
                .map_or(implicit, |s| (s.kind, Some(s.number.as_str())));
            let s2 = other
                .suffixes
                .get(i)
                .map_or(implicit, |s| (s.kind, Some(s.number.as_str())));
            if s1.0 != s2.0 {
                return s1.0.cmp(&s2.0);
            }
            let ord = cmp_suffix_number(s1.1, s2.1);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        self.cmp_revision(other)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Version::parse(a).unwrap().cmp(&Version::parse(b).unwrap())
    }

    #[test]
    fn parses_full_grammar() {
        let v = Version::parse("1.2.3b_alpha4_pre_p2-r3").unwrap();
        assert_eq!(v.components(), ["1", "2", "3"]);
        assert_eq!(v.letter(), Some('b'));
        let kinds: Vec<_> = v.suffixes().iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [SuffixKind::Alpha, SuffixKind::Pre, SuffixKind::P]);
        assert_eq!(v.suffixes()[0].number, "4");
        assert_eq!(v.suffixes()[1].number, "");
        assert_eq!(v.revision(), "3");
        assert_eq!(v.to_string(), "1.2.3b_alpha4_pre_p2-r3");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "a1", "1.", "1..2", "1.2.x", "1_foo", "1-r", "1-rc1", "1AB", "1ab", "1.2 ",
            "1_p1_", "1-r1a", ".1",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn error_shows_the_text_quoted_and_escaped() {
        let err = Version::parse("1.x").unwrap_err().to_string();
        assert_eq!(err, "invalid version `1.x`: expected digits after '.'");
        let err = Version::parse("1\n\u{1b}[2J").unwrap_err().to_string();
        assert!(err.starts_with(r"invalid version `1\n\u{1b}[2J`:"), "{err}");
    }

    #[test]
    fn numeric_components() {
        assert_eq!(cmp("1.0", "1.0.0"), Ordering::Less);
        assert_eq!(cmp("1.2", "1.10"), Ordering::Less);
        assert_eq!(cmp("01", "1"), Ordering::Equal);
        assert_eq!(cmp("2", "10"), Ordering::Less);
    }

    #[test]
    fn leading_zero_components_compare_as_fractions() {
        assert_eq!(cmp("1.01", "1.1"), Ordering::Less);
        assert_eq!(cmp("1.01", "1.010"), Ordering::Equal);
        assert_eq!(cmp("1.05", "1.1"), Ordering::Less);
        assert_eq!(cmp("1.09", "1.10"), Ordering::Less);
    }

    #[test]
    fn letters() {
        assert_eq!(cmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0a", "1.0b"), Ordering::Less);
        assert_eq!(cmp("12.2.5", "12.2b"), Ordering::Greater);
    }

    #[test]
    fn suffixes() {
        assert_eq!(cmp("1_pre1", "1"), Ordering::Less);
        assert_eq!(cmp("1_p1", "1"), Ordering::Greater);
        assert_eq!(cmp("1.0_alpha", "1.0_beta"), Ordering::Less);
        assert_eq!(cmp("1_beta", "1_pre"), Ordering::Less);
        assert_eq!(cmp("1_pre", "1_rc"), Ordering::Less);
        assert_eq!(cmp("1_rc", "1"), Ordering::Less);
        assert_eq!(cmp("1_p", "1_p0"), Ordering::Equal);
        assert_eq!(cmp("1", "1_p"), Ordering::Less);
        assert_eq!(cmp("1_alpha_p", "1_alpha"), Ordering::Greater);
        assert_eq!(cmp("1_alpha2", "1_alpha10"), Ordering::Less);
    }

    #[test]
    fn revisions() {
        assert_eq!(cmp("1.0-r0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0-r1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0-r2", "1.0-r10"), Ordering::Less);
        assert_eq!(cmp("1.0-r01", "1.0-r1"), Ordering::Equal);
        assert_eq!(Version::parse("1.2-r3").unwrap().without_revision(), "1.2");
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        assert_eq!(
            cmp(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Ordering::Less
        );
        assert_eq!(cmp("1-r99999999999999999999999", "1-r1"), Ordering::Greater);
    }
}
