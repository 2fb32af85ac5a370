//! Version ranges as GLSAs write them (`<vulnerable range="lt">1.2</vulnerable>`)
//! and how an installed package is matched against one, mirroring the atoms
//! `portage.glsa` builds and matches.

use std::fmt;

use crate::version::Version;

/// The `range` attribute of `<vulnerable>` / `<unaffected>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeOp {
    /// `lt`: older than the version.
    Lt,
    /// `le`: older than or equal.
    Le,
    /// `eq`: equal (or, with a trailing `*`, a prefix glob).
    Eq,
    /// `ge`: newer than or equal.
    Ge,
    /// `gt`: newer.
    Gt,
    /// `rlt`: same version ignoring revision, older revision.
    RevLt,
    /// `rle`: same version ignoring revision, older or equal revision.
    RevLe,
    /// `rge`: same version ignoring revision, newer or equal revision.
    RevGe,
    /// `rgt`: same version ignoring revision, newer revision.
    RevGt,
}

impl RangeOp {
    /// Parses a GLSA `range` attribute value.
    pub fn parse(s: &str) -> Option<RangeOp> {
        Some(match s {
            "lt" => RangeOp::Lt,
            "le" => RangeOp::Le,
            "eq" => RangeOp::Eq,
            "ge" => RangeOp::Ge,
            "gt" => RangeOp::Gt,
            "rlt" => RangeOp::RevLt,
            "rle" => RangeOp::RevLe,
            "rge" => RangeOp::RevGe,
            "rgt" => RangeOp::RevGt,
            _ => return None,
        })
    }

    /// The attribute value, e.g. `"rge"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RangeOp::Lt => "lt",
            RangeOp::Le => "le",
            RangeOp::Eq => "eq",
            RangeOp::Ge => "ge",
            RangeOp::Gt => "gt",
            RangeOp::RevLt => "rlt",
            RangeOp::RevLe => "rle",
            RangeOp::RevGe => "rge",
            RangeOp::RevGt => "rgt",
        }
    }

    /// The operator portage writes for display (`>=`, `<~`, ...).
    pub fn symbol(self) -> &'static str {
        match self {
            RangeOp::Lt => "<",
            RangeOp::Le => "<=",
            RangeOp::Eq => "=",
            RangeOp::Ge => ">=",
            RangeOp::Gt => ">",
            RangeOp::RevLt => "<~",
            RangeOp::RevLe => "<=~",
            RangeOp::RevGe => ">=~",
            RangeOp::RevGt => ">~",
        }
    }
}

/// A slot restriction: `slot` or `slot/subslot`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SlotSpec {
    /// The slot that must match.
    pub slot: String,
    /// The sub-slot that must also match, if given.
    pub subslot: Option<String>,
}

impl SlotSpec {
    /// Whether a package in `slot`/`subslot` satisfies this restriction.
    pub fn matches(&self, slot: &str, subslot: &str) -> bool {
        self.slot == slot && self.subslot.as_deref().is_none_or(|s| s == subslot)
    }
}

impl fmt::Display for SlotSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subslot {
            Some(sub) => write!(f, "{}/{}", self.slot, sub),
            None => f.write_str(&self.slot),
        }
    }
}

/// One `<vulnerable>` or `<unaffected>` element.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRange {
    /// The comparison.
    pub op: RangeOp,
    /// The version compared against (without any `*`).
    pub version: Version,
    /// Whether the version ended in `*` (only valid with [`RangeOp::Eq`]).
    pub wildcard: bool,
    /// The slot restriction; `None` for a missing, empty or `*` slot.
    pub slot: Option<SlotSpec>,
}

impl VersionRange {
    /// Whether an installed package with this version and slot lies in the range.
    ///
    /// ```
    /// use reagent_gentoo::{RangeOp, Version, VersionRange};
    /// let r = VersionRange {
    ///     op: RangeOp::Lt,
    ///     version: Version::parse("1.2.3").unwrap(),
    ///     wildcard: false,
    ///     slot: None,
    /// };
    /// assert!(r.matches(&Version::parse("1.2.2-r5").unwrap(), "0", "0"));
    /// assert!(!r.matches(&Version::parse("1.2.3").unwrap(), "0", "0"));
    /// ```
    pub fn matches(&self, installed: &Version, slot: &str, subslot: &str) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        if let Some(spec) = &self.slot {
            if !spec.matches(slot, subslot) {
                return false;
            }
        }
        let same_base = || installed.without_revision() == self.version.without_revision();
        match self.op {
            RangeOp::Eq if self.wildcard => glob_matches(self.version.as_str(), installed.as_str()),
            RangeOp::Eq => installed.cmp(&self.version) == Equal,
            RangeOp::Lt => installed.cmp(&self.version) == Less,
            RangeOp::Le => installed.cmp(&self.version) != Greater,
            RangeOp::Ge => installed.cmp(&self.version) != Less,
            RangeOp::Gt => installed.cmp(&self.version) == Greater,
            RangeOp::RevLt => same_base() && installed.cmp_revision(&self.version) == Less,
            RangeOp::RevLe => same_base() && installed.cmp_revision(&self.version) != Greater,
            RangeOp::RevGe => same_base() && installed.cmp_revision(&self.version) != Less,
            RangeOp::RevGt => same_base() && installed.cmp_revision(&self.version) == Greater,
        }
    }
}

impl fmt::Display for VersionRange {
    /// Portage's display form, e.g. `>=1.2.3`, `=1.2*`, `<1.4:2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.op.symbol(), self.version)?;
        if self.wildcard {
            f.write_str("*")?;
        }
        if let Some(slot) = &self.slot {
            write!(f, ":{slot}")?;
        }
        Ok(())
    }
}

/// Portage normalises leading zeros of the whole version before a glob match.
fn strip_leading_zeros(v: &str) -> String {
    let stripped = v.trim_start_matches('0');
    if stripped.starts_with(|c: char| c.is_ascii_digit()) {
        stripped.to_string()
    } else {
        format!("0{stripped}")
    }
}

/// Portage's `=ver*` match: a literal prefix match that only ends on a
/// boundary between version parts (so `1*` does not match `10`).
fn glob_matches(pattern: &str, installed: &str) -> bool {
    let pattern = strip_leading_zeros(pattern);
    let installed = strip_leading_zeros(installed);
    let Some(rest) = installed.strip_prefix(pattern.as_str()) else {
        return false;
    };
    let Some(next) = rest.chars().next() else {
        return true;
    };
    let last_is_digit = pattern.ends_with(|c: char| c.is_ascii_digit());
    "._-".contains(next) || last_is_digit != next.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(op: RangeOp, v: &str) -> VersionRange {
        let (v, wildcard) = match v.strip_suffix('*') {
            Some(v) => (v, true),
            None => (v, false),
        };
        VersionRange {
            op,
            version: Version::parse(v).unwrap(),
            wildcard,
            slot: None,
        }
    }

    fn m(r: &VersionRange, v: &str) -> bool {
        r.matches(&Version::parse(v).unwrap(), "0", "0")
    }

    #[test]
    fn plain_comparisons() {
        assert!(m(&range(RangeOp::Lt, "1.2"), "1.1"));
        assert!(!m(&range(RangeOp::Lt, "1.2"), "1.2"));
        assert!(m(&range(RangeOp::Le, "1.2"), "1.2-r0"));
        assert!(m(&range(RangeOp::Eq, "1.0"), "1.00"));
        assert!(!m(&range(RangeOp::Eq, "1.0"), "1.0-r1"));
        assert!(m(&range(RangeOp::Ge, "1.2"), "1.2_p1"));
        assert!(!m(&range(RangeOp::Gt, "1.2"), "1.2"));
    }

    #[test]
    fn revision_ranges_need_the_same_base_version() {
        let r = range(RangeOp::RevGe, "1.2-r3");
        assert!(m(&r, "1.2-r3"));
        assert!(m(&r, "1.2-r10"));
        assert!(!m(&r, "1.2-r2"));
        assert!(!m(&r, "1.3"), "a different version never matches");
        assert!(!m(&r, "1.2.0-r5"));
        assert!(m(&range(RangeOp::RevLt, "1.2-r3"), "1.2"));
        assert!(m(&range(RangeOp::RevLe, "1.2"), "1.2-r0"));
        assert!(m(&range(RangeOp::RevGt, "1.2"), "1.2-r1"));
    }

    #[test]
    fn wildcards_match_on_part_boundaries() {
        let r = range(RangeOp::Eq, "1.2*");
        for yes in ["1.2", "1.2.3", "1.2-r1", "1.2_p1", "1.2a"] {
            assert!(m(&r, yes), "{yes}");
        }
        for no in ["1.20", "1.3", "1.1.2"] {
            assert!(!m(&r, no), "{no}");
        }
        assert!(m(&range(RangeOp::Eq, "1*"), "01.5"));
    }

    #[test]
    fn slot_restriction() {
        let mut r = range(RangeOp::Lt, "2");
        r.slot = Some(SlotSpec {
            slot: "1".into(),
            subslot: None,
        });
        let v = Version::parse("1.5").unwrap();
        assert!(r.matches(&v, "1", "1.5"));
        assert!(!r.matches(&v, "0", "0"));
        r.slot = Some(SlotSpec {
            slot: "1".into(),
            subslot: Some("3".into()),
        });
        assert!(!r.matches(&v, "1", "1.5"));
        assert!(r.matches(&v, "1", "3"));
        assert_eq!(r.to_string(), "<2:1/3");
    }
}
