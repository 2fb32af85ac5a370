//! Gentoo Linux Security Advisories (`metadata/glsa/glsa-YYYYMM-NN.xml`,
//! DTD `glsa-2.dtd`): the fields an audit needs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use roxmltree::{Document, Node};

use crate::cpv::{is_valid_category, is_valid_package_name, is_valid_slot_name};
use crate::quote::quoted;
use crate::range::{RangeOp, SlotSpec, VersionRange};
use crate::version::Version;

/// An advisory that cannot be read or does not follow the GLSA format.
#[derive(Debug, thiserror::Error)]
pub enum GlsaError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not well-formed XML.
    #[error("{}:{line}: malformed XML: {message}", path.display())]
    Xml {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: u32,
        /// The parser's description.
        message: String,
    },
    /// The XML is well-formed but not a valid GLSA.
    #[error("{}:{line}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending element.
        line: u32,
        /// What is wrong.
        message: String,
    },
}

/// The `<impact type="...">` of an advisory, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// `minimal`
    Minimal,
    /// `low`
    Low,
    /// `normal`
    Normal,
    /// `high`
    High,
}

/// Text that is not a severity (see [`Severity`]'s `FromStr`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown severity {}: expected one of minimal, low, normal, high",
    quoted(.text)
)]
pub struct SeverityError {
    /// The text as given.
    pub text: String,
}

impl Severity {
    /// Parses an impact type exactly as the GLSA DTD spells it, in lower
    /// case, as the advisory parser reads `<impact type="...">`. For text a
    /// person typed (such as `--fail-on High`) use `str::parse`, which
    /// ignores case and says what is wrong.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "minimal" => Severity::Minimal,
            "low" => Severity::Low,
            "normal" => Severity::Normal,
            "high" => Severity::High,
            _ => return None,
        })
    }

    /// The impact type as written in the XML.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minimal => "minimal",
            Severity::Low => "low",
            Severity::Normal => "normal",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `minimal`, `low`, `normal` or `high` in any case, as a threshold
/// such as `reagent audit --fail-on` takes it.
///
/// ```
/// use reagent_gentoo::Severity;
/// assert_eq!("High".parse::<Severity>(), Ok(Severity::High));
/// let err = "urgent".parse::<Severity>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "unknown severity `urgent`: expected one of minimal, low, normal, high"
/// );
/// ```
impl FromStr for Severity {
    type Err = SeverityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::parse(&s.to_ascii_lowercase()).ok_or_else(|| SeverityError {
            text: s.to_string(),
        })
    }
}

/// The `arch` attribute of a `<package>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchSpec {
    /// `*`: every architecture.
    Any,
    /// A whitespace-separated keyword list such as `amd64 x86`.
    List(Vec<String>),
}

impl ArchSpec {
    /// Whether the advisory entry applies to `arch` (e.g. `amd64`).
    pub fn applies_to(&self, arch: &str) -> bool {
        match self {
            ArchSpec::Any => true,
            ArchSpec::List(list) => list.iter().any(|a| a == arch),
        }
    }
}

/// One `<package>` element of `<affected>`.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedPackage {
    /// `category/name`.
    pub name: String,
    /// `auto="yes"`: the upgrade can be applied automatically.
    pub auto: bool,
    /// The architectures the entry applies to.
    pub arch: ArchSpec,
    /// `<unaffected>` ranges.
    pub unaffected: Vec<VersionRange>,
    /// `<vulnerable>` ranges.
    pub vulnerable: Vec<VersionRange>,
    /// 1-based line of the `<package>` element.
    pub line: u32,
}

/// A parsed advisory.
#[derive(Debug, Clone, PartialEq)]
pub struct Glsa {
    /// The id attribute, e.g. `202401-01`.
    pub id: String,
    /// `<title>`, whitespace collapsed.
    pub title: String,
    /// `<synopsis>`, whitespace collapsed.
    pub synopsis: String,
    /// From `<impact type="...">`.
    pub severity: Severity,
    /// `<bug>` numbers as written.
    pub bugs: Vec<String>,
    /// The `<package>` entries of `<affected>`, in document order.
    pub packages: Vec<AffectedPackage>,
    /// The file it was read from (or the name given to [`Glsa::parse_str`]).
    pub source: PathBuf,
}

impl Glsa {
    /// Reads and parses one advisory file.
    pub fn read(path: &Path) -> Result<Glsa, GlsaError> {
        let text = std::fs::read_to_string(path).map_err(|source| GlsaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Glsa::parse_str(&text, path)
    }

    /// Parses advisory XML; `source` names the file in errors.
    ///
    /// ```
    /// use reagent_gentoo::{Glsa, Severity};
    /// let xml = r#"<glsa id="202401-01"><title>foo: overflow</title>
    ///   <synopsis>Bad.</synopsis><bug>12345</bug>
    ///   <affected><package name="dev-libs/foo" auto="yes" arch="*">
    ///     <unaffected range="ge">1.2.3</unaffected>
    ///     <vulnerable range="lt">1.2.3</vulnerable>
    ///   </package></affected>
    ///   <impact type="high"><p>Boom.</p></impact></glsa>"#;
    /// let glsa = Glsa::parse_str(xml, "glsa-202401-01.xml".as_ref()).unwrap();
    /// assert_eq!(glsa.severity, Severity::High);
    /// assert_eq!(glsa.packages[0].vulnerable[0].to_string(), "<1.2.3");
    /// ```
    pub fn parse_str(text: &str, source: &Path) -> Result<Glsa, GlsaError> {
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = Document::parse_with_options(text, options).map_err(|e| GlsaError::Xml {
            path: source.to_path_buf(),
            line: e.pos().row,
            message: e.to_string(),
        })?;
        Parser { doc: &doc, source }.glsa()
    }
}

/// Reads every `glsa-*.xml` in `dir`, sorted by file name; the first bad
/// advisory is an error.
pub fn read_dir(dir: &Path) -> Result<Vec<Glsa>, GlsaError> {
    let io = |source| GlsaError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("glsa-") && name.ends_with(".xml") {
            paths.push(entry.path());
        }
    }
    paths.sort();
    paths.iter().map(|p| Glsa::read(p)).collect()
}

struct Parser<'a, 'input> {
    doc: &'a Document<'input>,
    source: &'a Path,
}

impl<'a, 'input> Parser<'a, 'input> {
    fn line(&self, node: Node) -> u32 {
        self.doc.text_pos_at(node.range().start).row
    }

    fn error(&self, node: Node, message: String) -> GlsaError {
        GlsaError::Format {
            path: self.source.to_path_buf(),
            line: self.line(node),
            message,
        }
    }

    fn first(&self, parent: Node<'a, 'input>, tag: &str) -> Result<Node<'a, 'input>, GlsaError> {
        parent
            .descendants()
            .find(|n| n.has_tag_name(tag))
            .ok_or_else(|| self.error(parent, format!("missing <{tag}>")))
    }

    fn glsa(&self) -> Result<Glsa, GlsaError> {
        let root = self.doc.root_element();
        if !root.has_tag_name("glsa") {
            return Err(self.error(
                root,
                format!(
                    "root element is <{}>, expected <glsa>",
                    root.tag_name().name()
                ),
            ));
        }
        let id = root
            .attribute("id")
            .ok_or_else(|| self.error(root, "<glsa> has no id attribute".into()))?
            .to_string();
        let title = text(self.first(root, "title")?);
        let synopsis = text(self.first(root, "synopsis")?);
        let impact = self.first(root, "impact")?;
        let kind = impact.attribute("type").unwrap_or("");
        let severity = Severity::parse(kind).ok_or_else(|| {
            self.error(
                impact,
                format!(
                    "impact type {} is not minimal, low, normal or high",
                    quoted(kind)
                ),
            )
        })?;
        let bugs = root
            .descendants()
            .filter(|n| n.has_tag_name("bug"))
            .map(text)
            .collect();
        let affected = self.first(root, "affected")?;
        let packages = affected
            .descendants()
            .filter(|n| n.has_tag_name("package"))
            .map(|p| self.package(p))
            .collect::<Result<_, _>>()?;
        Ok(Glsa {
            id,
            title,
            synopsis,
            severity,
            bugs,
            packages,
            source: self.source.to_path_buf(),
        })
    }

    fn package(&self, node: Node) -> Result<AffectedPackage, GlsaError> {
        let name = node.attribute("name").unwrap_or("");
        let valid = name
            .split_once('/')
            .is_some_and(|(cat, pkg)| is_valid_category(cat) && is_valid_package_name(pkg));
        if !valid {
            return Err(self.error(node, format!("invalid package name {}", quoted(name))));
        }
        let arch_text = node.attribute("arch").unwrap_or("");
        let arch = if arch_text == "*" {
            ArchSpec::Any
        } else if !arch_text.is_empty()
            && arch_text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_ ".contains(c))
        {
            ArchSpec::List(arch_text.split_whitespace().map(str::to_string).collect())
        } else {
            return Err(self.error(
                node,
                format!(
                    "unrecognized arch list {} (expected * or space-separated keywords)",
                    quoted(arch_text)
                ),
            ));
        };
        let ranges = |tag: &str| -> Result<Vec<VersionRange>, GlsaError> {
            node.descendants()
                .filter(|n| n.has_tag_name(tag))
                .map(|n| self.range(n))
                .collect()
        };
        Ok(AffectedPackage {
            name: name.to_string(),
            auto: node.attribute("auto") == Some("yes"),
            arch,
            unaffected: ranges("unaffected")?,
            vulnerable: ranges("vulnerable")?,
            line: self.line(node),
        })
    }

    fn range(&self, node: Node) -> Result<VersionRange, GlsaError> {
        let op_text = node.attribute("range").unwrap_or("");
        let op = RangeOp::parse(op_text)
            .ok_or_else(|| self.error(node, format!("invalid range {}", quoted(op_text))))?;
        let raw = text(node);
        let (version_text, wildcard) = match raw.strip_suffix('*') {
            Some(v) => (v, true),
            None => (raw.as_str(), false),
        };
        if wildcard && op != RangeOp::Eq {
            return Err(self.error(
                node,
                format!(
                    "version wildcard {} is only allowed with range=\"eq\"",
                    quoted(&raw)
                ),
            ));
        }
        let version = Version::parse(version_text).map_err(|e| self.error(node, e.to_string()))?;
        let slot_text = node.attribute("slot").unwrap_or("").trim();
        let slot = if slot_text.is_empty() || slot_text == "*" {
            None
        } else {
            let (slot, subslot) = match slot_text.split_once('/') {
                Some((s, sub)) => (s, Some(sub)),
                None => (slot_text, None),
            };
            if !is_valid_slot_name(slot) || !subslot.is_none_or(is_valid_slot_name) {
                return Err(self.error(node, format!("invalid slot {}", quoted(slot_text))));
            }
            Some(SlotSpec {
                slot: slot.to_string(),
                subslot: subslot.map(str::to_string),
            })
        };
        Ok(VersionRange {
            op,
            version,
            wildcard,
            slot,
        })
    }
}

/// All text below `node`, trimmed, with whitespace runs collapsed to one space.
fn text(node: Node) -> String {
    let raw: String = node
        .descendants()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect();
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE glsa SYSTEM "http://www.gentoo.org/dtd/glsa-2.dtd">
<glsa id="202401-02">
  <title>OpenSSL: Multiple Vulnerabilities</title>
  <synopsis>Multiple vulnerabilities
    have been found.</synopsis>
  <product type="ebuild">openssl</product>
  <announced>2024-01-05</announced>
  <revised count="1">2024-01-05</revised>
  <bug>900000</bug>
  <bug>900001</bug>
  <access>remote</access>
  <affected>
    <package name="dev-libs/openssl" auto="yes" arch="amd64 x86">
      <unaffected range="ge" slot="0">3.0.13</unaffected>
      <unaffected range="rge">1.1.1w-r1</unaffected>
      <vulnerable range="lt" slot="*">3.0.13</vulnerable>
      <vulnerable range="eq">2.9*</vulnerable>
    </package>
  </affected>
  <impact type="normal"><p>Bad things.</p></impact>
</glsa>
"#;

    fn parse(xml: &str) -> Result<Glsa, GlsaError> {
        Glsa::parse_str(xml, Path::new("glsa-test.xml"))
    }

    #[test]
    fn parses_fields() {
        let g = parse(SAMPLE).unwrap();
        assert_eq!(g.id, "202401-02");
        assert_eq!(g.title, "OpenSSL: Multiple Vulnerabilities");
        assert_eq!(g.synopsis, "Multiple vulnerabilities have been found.");
        assert_eq!(g.severity, Severity::Normal);
        assert_eq!(g.bugs, ["900000", "900001"]);
        let p = &g.packages[0];
        assert_eq!(p.name, "dev-libs/openssl");
        assert!(p.auto);
        assert_eq!(p.arch, ArchSpec::List(vec!["amd64".into(), "x86".into()]));
        assert_eq!(p.line, 14);
        let shown: Vec<String> = p.unaffected.iter().map(ToString::to_string).collect();
        assert_eq!(shown, [">=3.0.13:0", ">=~1.1.1w-r1"]);
        let shown: Vec<String> = p.vulnerable.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["<3.0.13", "=2.9*"]);
        assert!(p.vulnerable[1].wildcard);
    }

    #[test]
    fn severity_is_ordered() {
        assert!(Severity::High > Severity::Normal);
        assert!(Severity::Normal > Severity::Low);
        assert!(Severity::Low > Severity::Minimal);
    }

    #[test]
    fn severities_parse_case_insensitively() {
        assert_eq!("minimal".parse(), Ok(Severity::Minimal));
        assert_eq!("Low".parse(), Ok(Severity::Low));
        assert_eq!("NORMAL".parse(), Ok(Severity::Normal));
        assert_eq!("hIgH".parse(), Ok(Severity::High));
        for s in [
            Severity::Minimal,
            Severity::Low,
            Severity::Normal,
            Severity::High,
        ] {
            assert_eq!(s.to_string().parse(), Ok(s), "Display and FromStr agree");
        }
    }

    #[test]
    fn unknown_severity_says_what_is_accepted() {
        let err = "critical".parse::<Severity>().unwrap_err();
        assert_eq!(err.text, "critical");
        assert_eq!(
            err.to_string(),
            "unknown severity `critical`: expected one of minimal, low, normal, high"
        );
        for bad in ["", " high", "high ", "hi", "severe"] {
            assert!(bad.parse::<Severity>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn advisory_impact_type_is_case_sensitive() {
        assert!(parse(&SAMPLE.replace("\"normal\"", "\"Normal\"")).is_err());
    }

    #[test]
    fn malformed_xml_names_file_and_line() {
        let err = parse("<glsa id=\"1\">\n<title>x</title>\n<oops>\n</glsa>").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, GlsaError::Xml { line: 4, .. }), "{msg}");
        assert!(msg.starts_with("glsa-test.xml:4:"), "{msg}");
    }

    #[test]
    fn bad_range_names_line() {
        let xml = SAMPLE.replace("range=\"eq\"", "range=\"approx\"");
        let err = parse(&xml).unwrap_err();
        assert!(matches!(err, GlsaError::Format { line: 18, .. }), "{err}");
    }

    #[test]
    fn wildcard_only_with_eq() {
        let xml = SAMPLE.replace(
            "<vulnerable range=\"eq\">2.9*",
            "<vulnerable range=\"lt\">2.9*",
        );
        assert!(parse(&xml).unwrap_err().to_string().contains("wildcard"));
    }

    #[test]
    fn bad_arch_list_is_rejected() {
        let xml = SAMPLE.replace("amd64 x86", "amd64,x86");
        assert!(parse(&xml).unwrap_err().to_string().contains("arch"));
    }

    #[test]
    fn bad_severity_and_name_are_rejected() {
        assert!(parse(&SAMPLE.replace("\"normal\"", "\"severe\"")).is_err());
        assert!(parse(&SAMPLE.replace("dev-libs/openssl", "openssl")).is_err());
        assert!(parse(&SAMPLE.replace("dev-libs/openssl", ">=dev-libs/openssl-1")).is_err());
        assert!(parse(&SAMPLE.replace("3.0.13</vul", "3.0.x</vul")).is_err());
    }

    #[test]
    fn format_errors_quote_the_offending_text() {
        let msg = |xml: String| parse(&xml).unwrap_err().to_string();
        let err = msg(SAMPLE.replace("dev-libs/openssl", ">=dev-libs/openssl-1"));
        assert!(
            err.ends_with("invalid package name `>=dev-libs/openssl-1`"),
            "{err}"
        );
        let err = msg(SAMPLE.replace("\"normal\"", "\"severe\""));
        assert!(
            err.ends_with("impact type `severe` is not minimal, low, normal or high"),
            "{err}"
        );
        let err = msg(SAMPLE.replace("amd64 x86", "amd64&#10;x86"));
        assert!(err.contains("arch list `amd64\\nx86`"), "{err}");
        let err = msg(SAMPLE.replace("slot=\"0\"", "slot=\"-0\""));
        assert!(err.ends_with("invalid slot `-0`"), "{err}");
    }

    #[test]
    fn reads_directory_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("glsa-202401-02.xml"), SAMPLE).unwrap();
        std::fs::write(
            dir.path().join("glsa-202401-01.xml"),
            SAMPLE.replace("202401-02", "202401-01"),
        )
        .unwrap();
        std::fs::write(dir.path().join("README"), "not an advisory").unwrap();
        let all = read_dir(dir.path()).unwrap();
        let ids: Vec<_> = all.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["202401-01", "202401-02"]);
    }
}
