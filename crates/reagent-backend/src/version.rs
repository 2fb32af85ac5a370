//! The builder's version, as `buildah version` reports it, to compare against
//! what a Containerfile needs.

use std::fmt;

/// A `major.minor.patch` version (`1.28.2`); a missing part is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// The major version.
    pub major: u32,
    /// The minor version.
    pub minor: u32,
    /// The patch version.
    pub patch: u32,
}

impl Version {
    /// `major.minor.0`.
    pub const fn new(major: u32, minor: u32) -> Version {
        Version {
            major,
            minor,
            patch: 0,
        }
    }

    /// Read `1.28.2` (also `v1.28.2`, `1.33.0-dev`, `1.40`); `None` when it does
    /// not start with a number.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let core = text.split(['-', '+', ' ']).next()?;
        let mut parts = core.split('.').map(str::parse::<u32>);
        let major = parts.next()?.ok()?;
        let minor = parts.next().unwrap_or(Ok(0)).ok()?;
        let patch = parts.next().unwrap_or(Ok(0)).ok()?;
        Some(Version {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_and_compare() {
        let v = Version::parse("1.28.2").unwrap();
        assert_eq!(v.to_string(), "1.28.2");
        assert!(v < Version::new(1, 33));
        assert!(Version::parse("v1.33.0-dev").unwrap() >= Version::new(1, 33));
        assert_eq!(Version::parse("1.40"), Some(Version::new(1, 40)));
        assert_eq!(Version::parse("unknown"), None);
        assert_eq!(Version::parse(""), None);
    }
}
