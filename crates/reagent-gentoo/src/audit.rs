//! Matching advisories against installed packages, as `portage.glsa` does.
//!
//! For each `<package>` entry whose `arch` is `*` or lists the audited
//! architecture, an installed package of that `category/name` is affected
//! when it lies in some `<vulnerable>` range and in no `<unaffected>` range
//! (each range applying only within its `slot`, when it has one). This is
//! `Glsa.isVulnerable` / `getMinUpgrade` without the upgrade search.

use crate::glsa::{AffectedPackage, Glsa, Severity};
use crate::vdb::Installed;
use crate::version::Version;

/// An installed package affected by an advisory.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The advisory id, e.g. `202401-01`.
    pub glsa_id: String,
    /// The advisory title.
    pub title: String,
    /// The advisory severity.
    pub severity: Severity,
    /// `category/name`.
    pub package: String,
    /// The installed version, including revision.
    pub installed: Version,
    /// The installed slot.
    pub slot: String,
    /// The entry's unaffected ranges, e.g. `>=1.2.3`.
    pub unaffected: Vec<String>,
    /// The entry's vulnerable ranges, e.g. `<1.2.3`.
    pub vulnerable: Vec<String>,
}

impl Finding {
    /// Whether this finding fails an audit whose threshold is `fail_on`: its
    /// severity is `fail_on` or higher. With no threshold (`None`) every
    /// finding fails.
    ///
    /// ```
    /// # use reagent_gentoo::{audit, Glsa, Installed};
    /// use reagent_gentoo::Severity;
    /// # let xml = r#"<glsa id="202401-01"><title>t</title><synopsis>s</synopsis>
    /// #   <affected><package name="dev-libs/foo" auto="yes" arch="*">
    /// #     <vulnerable range="lt">2</vulnerable>
    /// #   </package></affected><impact type="normal"/></glsa>"#;
    /// # let glsa = Glsa::parse_str(xml, "glsa-202401-01.xml".as_ref()).unwrap();
    /// # let installed = [Installed::new("dev-libs/foo-1", "0").unwrap()];
    /// // A finding of a `normal` advisory:
    /// let finding = &audit(&[glsa], &installed, "amd64")[0];
    /// assert!(finding.fails_at(None));
    /// assert!(finding.fails_at(Some(Severity::Normal)));
    /// assert!(!finding.fails_at(Some(Severity::High)));
    /// ```
    pub fn fails_at(&self, fail_on: Option<Severity>) -> bool {
        fail_on.is_none_or(|min| self.severity >= min)
    }
}

/// Whether `pkg` is affected by one advisory entry (ignoring architecture).
pub fn is_affected(entry: &AffectedPackage, pkg: &Installed) -> bool {
    let in_any = |ranges: &[crate::VersionRange]| {
        ranges
            .iter()
            .any(|r| r.matches(&pkg.version, &pkg.slot, &pkg.subslot))
    };
    entry.name == pkg.cp() && in_any(&entry.vulnerable) && !in_any(&entry.unaffected)
}

/// Every (advisory, installed package) pair where the package is affected on
/// `arch` (a keyword such as `amd64`), in advisory order then package order.
/// A package listed by several entries of one advisory is reported once,
/// with the ranges of the first entry that matched.
///
/// ```
/// use reagent_gentoo::{audit, Glsa, Installed};
/// let xml = r#"<glsa id="202401-01"><title>foo</title><synopsis>s</synopsis>
///   <affected><package name="dev-libs/foo" auto="yes" arch="*">
///     <unaffected range="ge">1.2.3</unaffected><vulnerable range="lt">1.2.3</vulnerable>
///   </package></affected><impact type="low"/></glsa>"#;
/// let glsa = Glsa::parse_str(xml, "glsa-202401-01.xml".as_ref()).unwrap();
/// let installed = [Installed::new("dev-libs/foo-1.2.2", "0").unwrap()];
/// let findings = audit(&[glsa], &installed, "amd64");
/// assert_eq!(findings[0].installed.to_string(), "1.2.2");
/// assert_eq!(findings[0].unaffected, [">=1.2.3"]);
/// ```
pub fn audit(glsas: &[Glsa], installed: &[Installed], arch: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for glsa in glsas {
        let first = findings.len();
        for entry in glsa.packages.iter().filter(|e| e.arch.applies_to(arch)) {
            for pkg in installed.iter().filter(|p| is_affected(entry, p)) {
                let seen = findings[first..].iter().any(|f: &Finding| {
                    f.package == entry.name
                        && f.installed.as_str() == pkg.version.as_str()
                        && f.slot == pkg.slot
                });
                if seen {
                    continue;
                }
                findings.push(Finding {
                    glsa_id: glsa.id.clone(),
                    title: glsa.title.clone(),
                    severity: glsa.severity,
                    package: entry.name.clone(),
                    installed: pkg.version.clone(),
                    slot: pkg.slot.clone(),
                    unaffected: entry.unaffected.iter().map(ToString::to_string).collect(),
                    vulnerable: entry.vulnerable.iter().map(ToString::to_string).collect(),
                });
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn glsa(packages: &str) -> Glsa {
        let xml = format!(
            r#"<glsa id="202401-01"><title>t</title><synopsis>s</synopsis>
            <affected>{packages}</affected><impact type="high"/></glsa>"#
        );
        Glsa::parse_str(&xml, Path::new("glsa-202401-01.xml")).unwrap()
    }

    fn pkg(cpv: &str, slot: &str) -> Installed {
        Installed::new(cpv, slot).unwrap()
    }

    fn hits(g: &Glsa, installed: &[Installed], arch: &str) -> Vec<String> {
        audit(std::slice::from_ref(g), installed, arch)
            .iter()
            .map(|f| format!("{}-{}", f.package, f.installed))
            .collect()
    }

    #[test]
    fn vulnerable_and_not_unaffected() {
        let g = glsa(
            r#"<package name="dev-libs/foo" auto="yes" arch="*">
               <unaffected range="ge">1.2.3</unaffected>
               <vulnerable range="lt">1.2.3</vulnerable></package>"#,
        );
        let installed = [pkg("dev-libs/foo-1.2.2", "0"), pkg("dev-libs/bar-1.0", "0")];
        assert_eq!(hits(&g, &installed, "amd64"), ["dev-libs/foo-1.2.2"]);
        assert!(hits(&g, &[pkg("dev-libs/foo-1.2.3", "0")], "amd64").is_empty());
        let f = &audit(&[g], &installed, "amd64")[0];
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.vulnerable, ["<1.2.3"]);
    }

    #[test]
    fn unaffected_in_another_slot_does_not_protect() {
        let g = glsa(
            r#"<package name="dev-lang/python" auto="yes" arch="*">
               <unaffected range="ge" slot="3.12">3.12.4</unaffected>
               <unaffected range="ge" slot="3.11">3.11.9</unaffected>
               <vulnerable range="lt">3.12.4</vulnerable></package>"#,
        );
        let installed = [
            pkg("dev-lang/python-3.11.9", "3.11"),
            pkg("dev-lang/python-3.12.3", "3.12"),
            pkg("dev-lang/python-3.10.1", "3.10"),
        ];
        assert_eq!(
            hits(&g, &installed, "amd64"),
            ["dev-lang/python-3.12.3", "dev-lang/python-3.10.1"]
        );
    }

    #[test]
    fn arch_list_limits_the_entry() {
        let g = glsa(
            r#"<package name="dev-libs/foo" auto="yes" arch="x86 ppc">
               <vulnerable range="lt">2</vulnerable></package>"#,
        );
        let installed = [pkg("dev-libs/foo-1", "0")];
        assert!(hits(&g, &installed, "amd64").is_empty());
        assert_eq!(hits(&g, &installed, "ppc").len(), 1);
    }

    #[test]
    fn revision_range_unaffected() {
        let g = glsa(
            r#"<package name="dev-libs/foo" auto="yes" arch="*">
               <unaffected range="ge">1.3</unaffected>
               <unaffected range="rge">1.2-r2</unaffected>
               <vulnerable range="lt">1.3</vulnerable></package>"#,
        );
        let installed = [
            pkg("dev-libs/foo-1.2-r1", "0"),
            pkg("dev-libs/foo-1.2-r2", "1"),
            pkg("dev-libs/foo-1.2.1", "2"),
        ];
        assert_eq!(
            hits(&g, &installed, "amd64"),
            ["dev-libs/foo-1.2-r1", "dev-libs/foo-1.2.1"]
        );
    }

    #[test]
    fn fails_at_the_threshold_and_above() {
        use Severity::*;
        let installed = [pkg("dev-libs/foo-1", "0")];
        for severity in [Minimal, Low, Normal, High] {
            let mut g = glsa(
                r#"<package name="dev-libs/foo" auto="yes" arch="*">
                   <vulnerable range="lt">2</vulnerable></package>"#,
            );
            g.severity = severity;
            let f = &audit(&[g], &installed, "amd64")[0];
            assert!(f.fails_at(None), "{severity}: no threshold fails all");
            for threshold in [Minimal, Low, Normal, High] {
                assert_eq!(
                    f.fails_at(Some(threshold)),
                    severity >= threshold,
                    "{severity} at {threshold}"
                );
            }
        }
    }

    #[test]
    fn duplicate_entries_report_once() {
        let entry = r#"<package name="dev-libs/foo" auto="yes" arch="*">
               <vulnerable range="lt">2</vulnerable></package>"#;
        let g = glsa(&format!("{entry}{entry}"));
        assert_eq!(hits(&g, &[pkg("dev-libs/foo-1", "0")], "amd64").len(), 1);
    }
}
