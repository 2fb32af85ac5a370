//! Gentoo `LICENSE` values as SPDX license expressions.
//!
//! A `LICENSE` value uses the dependency-specification syntax of the Package
//! Manager Specification: license names (all required), `|| ( … )` any-of
//! groups, `( … )` all-of groups, and `flag? ( … )` / `!flag? ( … )`
//! USE-conditional groups. [`spdx_expression`] turns one into an SPDX license
//! expression:
//!
//! - names side by side, and all-of groups, are `AND`; any-of groups are `OR`;
//! - a USE-conditional group counts when the package was built with its
//!   condition true (the enabled flags are given) and is left out otherwise,
//!   as portage's `use_reduce` does. Portage already resolves them when it
//!   writes a package into the VDB, so they only show in old or hand-made
//!   entries;
//! - a name that Gentoo's own `metadata/license-mapping.conf` maps from an SPDX
//!   identifier becomes that identifier ([`MAPPING`]: `GPL-2` is
//!   `GPL-2.0-only`, `GPL-2+` is `GPL-2.0-or-later`, `BSD` is `BSD-3-Clause`);
//!   any other name becomes `LicenseRef-gentoo-<name>` ([`license_ref`]);
//! - repeated operands are written once, and a group left empty drops out.
//!
//! A value that does not parse (an unbalanced parenthesis, a group without
//! its parenthesis) and a value with no license left give `None`: the SBOM
//! then says `NOASSERTION` rather than guess.
//!
//! ```
//! use std::collections::BTreeSet;
//! use reagent_gentoo::license::spdx_expression;
//!
//! let on: BTreeSet<String> = ["doc".to_string()].into();
//! let l = spdx_expression("GPL-2+ || ( MIT BSD ) doc? ( FDL-1.3 ) X? ( Foo )", &on).unwrap();
//! assert_eq!(l.expression, "GPL-2.0-or-later AND (MIT OR BSD-3-Clause) AND GFDL-1.3-only");
//! let l = spdx_expression("free-noncomm", &on).unwrap();
//! assert_eq!(l.expression, "LicenseRef-gentoo-free-noncomm");
//! assert_eq!(l.refs["LicenseRef-gentoo-free-noncomm"], "free-noncomm");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Gentoo license names and the SPDX license expression each stands for,
/// sorted by Gentoo name.
///
/// It is Gentoo's `metadata/license-mapping.conf` (`[spdx-to-ebuild]`, the
/// table Gentoo keeps for tools that turn SPDX identifiers into `LICENSE`
/// values) read backwards. Where several SPDX identifiers map to one Gentoo
/// name, the plain one is taken: the current `-only`/`-or-later` identifier
/// rather than its deprecated alias (`GPL-2` is `GPL-2.0-only`, not `GPL-2.0`),
/// the identifier without a variant suffix (`BSD-2` is `BSD-2-Clause`, not
/// `BSD-2-Clause-Views`; `FDL-1.3` is `GFDL-1.3-only`, not
/// `GFDL-1.3-invariants-only`). Names with no plain candidate (`Artistic`,
/// which stands for three Artistic 1.0 variants, and `BZIP2`, for two bzip2
/// versions) are left out and become `LicenseRef-gentoo-<name>`.
pub const MAPPING: &[(&str, &str)] = &[
    ("0BSD", "0BSD"),
    ("AFL-2.1", "AFL-2.1"),
    ("AFL-3.0", "AFL-3.0"),
    ("AGPL-3", "AGPL-3.0-only"),
    ("AGPL-3+", "AGPL-3.0-or-later"),
    ("AMPAS", "AMPAS"),
    ("APL-1.0", "APL-1.0"),
    ("APSL-2", "APSL-2.0"),
    ("Aladdin", "Aladdin"),
    ("Apache-1.0", "Apache-1.0"),
    ("Apache-1.1", "Apache-1.1"),
    ("Apache-2.0", "Apache-2.0"),
    (
        "Apache-2.0-with-LLVM-exceptions",
        "Apache-2.0 WITH LLVM-exception",
    ),
    ("BEER-WARE", "Beerware"),
    ("BSD", "BSD-3-Clause"),
    ("BSD-1", "BSD-1-Clause"),
    ("BSD-2", "BSD-2-Clause"),
    ("BSD-4", "BSD-4-Clause"),
    ("BUSL-1.1", "BUSL-1.1"),
    ("Boost-1.0", "BSL-1.0"),
    ("CC-BY-2.0", "CC-BY-2.0"),
    ("CC-BY-2.5", "CC-BY-2.5"),
    ("CC-BY-3.0", "CC-BY-3.0"),
    ("CC-BY-4.0", "CC-BY-4.0"),
    ("CC-BY-NC-4.0", "CC-BY-NC-4.0"),
    ("CC-BY-NC-ND-2.0", "CC-BY-NC-ND-2.0"),
    ("CC-BY-NC-ND-2.5", "CC-BY-NC-ND-2.5"),
    ("CC-BY-NC-ND-3.0", "CC-BY-NC-ND-3.0"),
    ("CC-BY-NC-ND-4.0", "CC-BY-NC-ND-4.0"),
    ("CC-BY-NC-SA-1.0", "CC-BY-NC-SA-1.0"),
    ("CC-BY-NC-SA-2.5", "CC-BY-NC-SA-2.5"),
    ("CC-BY-NC-SA-3.0", "CC-BY-NC-SA-3.0"),
    ("CC-BY-NC-SA-4.0", "CC-BY-NC-SA-4.0"),
    ("CC-BY-ND-3.0", "CC-BY-ND-3.0"),
    ("CC-BY-ND-4.0", "CC-BY-ND-4.0"),
    ("CC-BY-SA-1.0", "CC-BY-SA-1.0"),
    ("CC-BY-SA-2.0", "CC-BY-SA-2.0"),
    ("CC-BY-SA-2.5", "CC-BY-SA-2.5"),
    ("CC-BY-SA-3.0", "CC-BY-SA-3.0"),
    ("CC-BY-SA-4.0", "CC-BY-SA-4.0"),
    ("CC-PD", "CC-PDDC"),
    ("CC0-1.0", "CC0-1.0"),
    ("CDDL", "CDDL-1.0"),
    ("CDDL-1.1", "CDDL-1.1"),
    ("CPAL-1.0", "CPAL-1.0"),
    ("CPL-1.0", "CPL-1.0"),
    ("CPOL", "CPOL-1.02"),
    ("CeCILL-2", "CECILL-2.0"),
    ("CeCILL-B", "CECILL-B"),
    ("CeCILL-C", "CECILL-C"),
    ("ECL-2.0", "ECL-2.0"),
    ("EPL-1.0", "EPL-1.0"),
    ("EPL-2.0", "EPL-2.0"),
    ("EUPL-1.1", "EUPL-1.1"),
    ("EUPL-1.2", "EUPL-1.2"),
    ("ErlPL-1.1", "ErlPL-1.1"),
    ("FDL-1.1", "GFDL-1.1-only"),
    ("FDL-1.1+", "GFDL-1.1-or-later"),
    ("FDL-1.2", "GFDL-1.2-only"),
    ("FDL-1.2+", "GFDL-1.2-or-later"),
    ("FDL-1.3", "GFDL-1.3-only"),
    ("FDL-1.3+", "GFDL-1.3-or-later"),
    ("FSFAP", "FSFAP"),
    ("FTL", "FTL"),
    ("GPL-1", "GPL-1.0-only"),
    ("GPL-1+", "GPL-1.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-2+", "GPL-2.0-or-later"),
    (
        "GPL-2-with-classpath-exception",
        "GPL-2.0-only WITH Classpath-exception-2.0",
    ),
    (
        "GPL-2-with-font-exception",
        "GPL-2.0-only WITH Font-exception-2.0",
    ),
    ("GPL-3", "GPL-3.0-only"),
    ("GPL-3+", "GPL-3.0-or-later"),
    ("Glulxe", "Glulxe"),
    ("HPND", "HPND"),
    ("IBM", "IPL-1.0"),
    ("IJG", "IJG"),
    ("IPAfont", "IPA"),
    ("ISC", "ISC"),
    ("Info-ZIP", "Info-ZIP"),
    ("Interbase-1.0", "Interbase-1.0"),
    ("JSON", "JSON"),
    ("LGPL-2", "LGPL-2.0-only"),
    ("LGPL-2+", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only"),
    ("LGPL-3+", "LGPL-3.0-or-later"),
    ("LPL-1.02", "LPL-1.02"),
    ("LPPL-1.2", "LPPL-1.2"),
    ("LPPL-1.3c", "LPPL-1.3c"),
    ("MIT", "MIT"),
    ("MIT-0", "MIT-0"),
    ("MIT-with-advertising", "MIT-advertising"),
    ("MPL-1.0", "MPL-1.0"),
    ("MPL-1.1", "MPL-1.1"),
    ("MPL-2.0", "MPL-2.0"),
    ("MirOS", "MirOS"),
    ("NPL-1.1", "NPL-1.1"),
    ("OFL", "OFL-1.0"),
    ("OFL-1.1", "OFL-1.1"),
    ("OPENLDAP", "OLDAP-2.7"),
    ("OPL", "OPUBL-1.0"),
    ("OSL-1.1", "OSL-1.1"),
    ("OSL-2.0", "OSL-2.0"),
    ("OSL-2.1", "OSL-2.1"),
    ("PHP-3", "PHP-3.0"),
    ("PHP-3.01", "PHP-3.01"),
    ("POSTGRESQL", "PostgreSQL"),
    ("PSF-2", "PSF-2.0"),
    ("PYTHON", "Python-2.0"),
    ("QPL-1.0", "QPL-1.0"),
    ("RSA", "RSA-MD"),
    ("Ruby", "Ruby"),
    ("SGI-B-2.0", "SGI-B-2.0"),
    ("SSPL-1", "SSPL-1.0"),
    ("Sendmail", "Sendmail"),
    ("Sleepycat", "Sleepycat"),
    ("Unicode-DFS-2016", "Unicode-DFS-2016"),
    ("Unlicense", "Unlicense"),
    ("VOSTROM", "VOSTROM"),
    ("W3C", "W3C"),
    ("WTFPL-2", "WTFPL"),
    ("Watcom-1.0", "Watcom-1.0"),
    ("ZLIB", "Zlib"),
    ("ZPL", "ZPL-2.1"),
    ("Zend-2.0", "Zend-2.0"),
    ("curl", "curl"),
    ("gd", "GD"),
    ("gnuplot", "gnuplot"),
    ("icu", "ICU"),
    ("imagemagick", "ImageMagick"),
    ("libpng", "Libpng"),
    ("libpng2", "libpng-2.0"),
    ("libtiff", "libtiff"),
    ("mpich2", "mpich2"),
    ("openssl", "OpenSSL"),
    ("psutils", "psutils"),
    ("rdisc", "Rdisc"),
    ("tcltk", "TCL"),
    ("tcp_wrappers_license", "TCP-wrappers"),
    ("vim", "Vim"),
];

/// The SPDX expression [`MAPPING`] gives the Gentoo license `name`, if any.
///
/// ```
/// assert_eq!(reagent_gentoo::license::spdx_id("GPL-2"), Some("GPL-2.0-only"));
/// assert_eq!(reagent_gentoo::license::spdx_id("free-noncomm"), None);
/// ```
pub fn spdx_id(name: &str) -> Option<&'static str> {
    MAPPING
        .binary_search_by(|(gentoo, _)| (*gentoo).cmp(name))
        .ok()
        .map(|i| MAPPING[i].1)
}

/// The SPDX `LicenseRef-` identifier for a Gentoo license without an SPDX
/// identifier: `LicenseRef-gentoo-<name>`, where a `+` in the name is written
/// `-plus` and any other character SPDX does not allow in an identifier (only
/// letters, digits, `.` and `-` are) is written `-`.
///
/// ```
/// use reagent_gentoo::license::license_ref;
/// assert_eq!(license_ref("Artistic"), "LicenseRef-gentoo-Artistic");
/// assert_eq!(license_ref("GPL-3+-with-font-exception"), "LicenseRef-gentoo-GPL-3-plus-with-font-exception");
/// assert_eq!(license_ref("sun_bcla"), "LicenseRef-gentoo-sun-bcla");
/// ```
pub fn license_ref(name: &str) -> String {
    let mut id = String::from("LicenseRef-gentoo-");
    for c in name.chars() {
        match c {
            '+' => id.push_str("-plus"),
            c if c.is_ascii_alphanumeric() || c == '.' || c == '-' => id.push(c),
            _ => id.push('-'),
        }
    }
    id
}

/// A `LICENSE` value as an SPDX license expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpdxLicense {
    /// The expression, e.g. `GPL-2.0-or-later AND (MIT OR BSD-3-Clause)`.
    pub expression: String,
    /// Every `LicenseRef-gentoo-*` identifier the expression uses, with the
    /// Gentoo license name it stands for.
    pub refs: BTreeMap<String, String>,
}

/// The SPDX license expression for the Gentoo `LICENSE` value `license` of a
/// package built with the USE flags `use_flags`; `None` when it names no
/// license or does not parse. See the [module](self) documentation.
pub fn spdx_expression(license: &str, use_flags: &BTreeSet<String>) -> Option<SpdxLicense> {
    let tokens: Vec<&str> = license.split_whitespace().collect();
    let mut pos = 0;
    let nodes = parse_group(&tokens, &mut pos, use_flags, false)?;
    if pos != tokens.len() {
        return None;
    }
    let mut refs = BTreeMap::new();
    let expr = Expr::all_of(
        nodes
            .into_iter()
            .filter_map(|n| n.to_expr(&mut refs))
            .collect(),
    )?;
    Some(SpdxLicense {
        expression: expr.to_string(),
        refs,
    })
}

/// A parsed `LICENSE` element, USE conditionals already decided.
enum Node {
    License(String),
    AllOf(Vec<Node>),
    AnyOf(Vec<Node>),
}

/// Parses elements up to the end of the tokens (or, `nested`, up to and
/// including the `)` that closes the group); `None` on a syntax error. Groups
/// whose USE condition is false are parsed and dropped.
fn parse_group(
    tokens: &[&str],
    pos: &mut usize,
    use_flags: &BTreeSet<String>,
    nested: bool,
) -> Option<Vec<Node>> {
    let mut out = Vec::new();
    while let Some(&token) = tokens.get(*pos) {
        *pos += 1;
        match token {
            ")" if nested => return Some(out),
            ")" => return None,
            "(" => out.push(Node::AllOf(parse_group(tokens, pos, use_flags, true)?)),
            "||" => {
                expect_open(tokens, pos)?;
                out.push(Node::AnyOf(parse_group(tokens, pos, use_flags, true)?));
            }
            t if t.ends_with('?') => {
                let flag = &t[..t.len() - 1];
                let (negated, flag) = match flag.strip_prefix('!') {
                    Some(f) => (true, f),
                    None => (false, flag),
                };
                if flag.is_empty() {
                    return None;
                }
                expect_open(tokens, pos)?;
                let inner = parse_group(tokens, pos, use_flags, true)?;
                if use_flags.contains(flag) != negated {
                    out.push(Node::AllOf(inner));
                }
            }
            t if t.contains(['(', ')', '|', '?']) => return None,
            t => out.push(Node::License(t.to_string())),
        }
    }
    if nested {
        None
    } else {
        Some(out)
    }
}

fn expect_open(tokens: &[&str], pos: &mut usize) -> Option<()> {
    if tokens.get(*pos) == Some(&"(") {
        *pos += 1;
        Some(())
    } else {
        None
    }
}

impl Node {
    fn to_expr(&self, refs: &mut BTreeMap<String, String>) -> Option<Expr> {
        match self {
            Node::License(name) => Some(Expr::Id(if let Some(id) = spdx_id(name) {
                id.to_string()
            } else {
                let id = license_ref(name);
                refs.insert(id.clone(), name.clone());
                id
            })),
            Node::AllOf(nodes) => {
                Expr::all_of(nodes.iter().filter_map(|n| n.to_expr(refs)).collect())
            }
            Node::AnyOf(nodes) => {
                Expr::any_of(nodes.iter().filter_map(|n| n.to_expr(refs)).collect())
            }
        }
    }
}

/// An SPDX license expression: an identifier (or `id WITH exception`), or
/// operands joined by `AND` or by `OR`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Id(String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    fn all_of(operands: Vec<Expr>) -> Option<Expr> {
        Expr::join(operands, true)
    }

    fn any_of(operands: Vec<Expr>) -> Option<Expr> {
        Expr::join(operands, false)
    }

    /// Operands joined by `AND` (`and`) or `OR`: nested groups of the same
    /// operator are flattened, repeats dropped, a single operand stands alone.
    fn join(operands: Vec<Expr>, and: bool) -> Option<Expr> {
        let mut flat: Vec<Expr> = Vec::new();
        for e in operands {
            let parts = match e {
                Expr::And(v) if and => v,
                Expr::Or(v) if !and => v,
                other => vec![other],
            };
            for p in parts {
                if !flat.contains(&p) {
                    flat.push(p);
                }
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ if and => Some(Expr::And(flat)),
            _ => Some(Expr::Or(flat)),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (operands, op) = match self {
            Expr::Id(id) => return f.write_str(id),
            Expr::And(v) => (v, " AND "),
            Expr::Or(v) => (v, " OR "),
        };
        for (i, e) in operands.iter().enumerate() {
            if i > 0 {
                f.write_str(op)?;
            }
            match e {
                Expr::Id(_) => write!(f, "{e}")?,
                _ => write!(f, "({e})")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(license: &str, flags: &[&str]) -> Option<String> {
        let on = flags.iter().map(ToString::to_string).collect();
        spdx_expression(license, &on).map(|l| l.expression)
    }

    #[test]
    fn the_mapping_is_sorted_and_unique_so_lookups_find_every_name() {
        for pair in MAPPING.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{:?} before {:?}", pair[0], pair[1]);
        }
        for (gentoo, spdx) in MAPPING {
            assert_eq!(spdx_id(gentoo), Some(*spdx));
        }
    }

    #[test]
    fn names_side_by_side_are_and() {
        assert_eq!(expr("GPL-2", &[]).unwrap(), "GPL-2.0-only");
        assert_eq!(
            expr("GPL-2+ LGPL-2.1", &[]).unwrap(),
            "GPL-2.0-or-later AND LGPL-2.1-only"
        );
        assert_eq!(expr("( MIT ( ISC ) )", &[]).unwrap(), "MIT AND ISC");
    }

    #[test]
    fn any_of_is_or_and_nests_in_parentheses() {
        assert_eq!(
            expr("|| ( MIT Apache-2.0 )", &[]).unwrap(),
            "MIT OR Apache-2.0"
        );
        assert_eq!(
            expr("ZLIB || ( MIT ( GPL-2 BSD ) )", &[]).unwrap(),
            "Zlib AND (MIT OR (GPL-2.0-only AND BSD-3-Clause))"
        );
        assert_eq!(
            expr("|| ( MIT || ( ISC BSD ) )", &[]).unwrap(),
            "MIT OR ISC OR BSD-3-Clause"
        );
    }

    #[test]
    fn use_conditionals_follow_the_package_use_flags() {
        let license = "MIT doc? ( FDL-1.3 ) !static? ( LGPL-2.1 )";
        assert_eq!(expr(license, &[]).unwrap(), "MIT AND LGPL-2.1-only");
        assert_eq!(
            expr(license, &["doc", "static"]).unwrap(),
            "MIT AND GFDL-1.3-only"
        );
        assert_eq!(expr("doc? ( FDL-1.3 )", &[]), None, "nothing left");
        assert_eq!(
            expr("|| ( gtk? ( GPL-2 ) MIT )", &[]).unwrap(),
            "MIT",
            "a disabled choice is no choice"
        );
    }

    #[test]
    fn unknown_names_become_license_refs_listed_once() {
        let on = BTreeSet::new();
        let l = spdx_expression("Artistic GPL-1+ || ( Artistic BZIP2 ) Artistic", &on).unwrap();
        assert_eq!(
            l.expression,
            "LicenseRef-gentoo-Artistic AND GPL-1.0-or-later AND (LicenseRef-gentoo-Artistic OR LicenseRef-gentoo-BZIP2)"
        );
        let refs: Vec<(&str, &str)> = l
            .refs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            refs,
            [
                ("LicenseRef-gentoo-Artistic", "Artistic"),
                ("LicenseRef-gentoo-BZIP2", "BZIP2")
            ]
        );
    }

    #[test]
    fn repeats_collapse() {
        assert_eq!(expr("MIT MIT ( MIT )", &[]).unwrap(), "MIT");
        assert_eq!(expr("|| ( MIT MIT )", &[]).unwrap(), "MIT");
    }

    #[test]
    fn malformed_or_empty_values_give_none() {
        for bad in [
            "",
            "   ",
            "( MIT",
            "MIT )",
            "|| MIT",
            "|| ( MIT",
            "doc? MIT",
            "? ( MIT )",
            "MIT) ISC",
            "|| ( )",
            "( )",
        ] {
            assert_eq!(expr(bad, &["doc"]), None, "{bad:?}");
        }
    }

    #[test]
    fn license_refs_use_only_characters_spdx_allows() {
        for name in ["a+b_c", "Foo.Bar-1", "x@y"] {
            let id = license_ref(name);
            let rest = id.strip_prefix("LicenseRef-").unwrap();
            assert!(
                rest.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{id}"
            );
        }
        assert_eq!(license_ref("a+b_c"), "LicenseRef-gentoo-a-plusb-c");
    }
}
