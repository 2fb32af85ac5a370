//! Software bills of materials for an image's installed packages: SPDX 2.3
//! JSON and CycloneDX 1.5 JSON, made from what the VDB records (name,
//! version, slot, repository, USE, `LICENSE`, `HOMEPAGE`, `DESCRIPTION`).
//!
//! Pure: [`document`] turns an [`Image`] and its packages into the bytes of
//! one document and reads nothing. The same image and packages always give
//! the same bytes:
//!
//! - packages are sorted by category, name, version and repository;
//! - the creation time is the image's own (its config's `created`, at second
//!   precision in UTC, see [`utc_timestamp`]), not the time the document was
//!   printed;
//! - the SPDX `documentNamespace` and the CycloneDX `serialNumber` are
//!   name-based (version 5) UUIDs of the image's id ([`document_uuid`]). SPDX
//!   asks for a namespace unique to each document, and CycloneDX for a serial
//!   number unique to each BOM: the document for one image is one document,
//!   printed again each time it is asked for, and an image with any other
//!   content has another id and so another namespace and serial number;
//! - JSON object keys are sorted.
//!
//! Each package is identified by a package URL ([`purl`]):
//! `pkg:ebuild/<category>/<name>@<version>?repository=<repository>`.
//! Its `LICENSE` becomes an SPDX license expression ([`crate::license`]).
//!
//! ```
//! use reagent_gentoo::sbom::{document, Format, Image};
//! use reagent_gentoo::Installed;
//!
//! let mut zlib = Installed::new("sys-libs/zlib-1.3.1-r1", "0/1").unwrap();
//! zlib.license = Some("ZLIB".into());
//! zlib.repository = Some("gentoo".into());
//! let image = Image {
//!     name: "app",
//!     key: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
//!     image_id: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
//!     created: "2024-05-01T10:11:12.123456789Z",
//! };
//! let spdx: serde_json::Value =
//!     serde_json::from_str(&document(Format::SpdxJson, &image, &[zlib.clone()])).unwrap();
//! assert_eq!(spdx["creationInfo"]["created"], "2024-05-01T10:11:12Z");
//! assert_eq!(spdx["packages"][1]["licenseDeclared"], "Zlib");
//! assert_eq!(
//!     spdx["packages"][1]["externalRefs"][0]["referenceLocator"],
//!     "pkg:ebuild/sys-libs/zlib@1.3.1-r1?repository=gentoo"
//! );
//! // The same input, the same bytes.
//! assert_eq!(
//!     document(Format::CycloneDxJson, &image, &[zlib.clone()]),
//!     document(Format::CycloneDxJson, &image, &[zlib]),
//! );
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::str::FromStr;

use serde_json::{json, Value};

use crate::license::{spdx_expression, SpdxLicense};
use crate::vdb::Installed;

/// The tool named as each document's creator.
const TOOL: &str = "reagent";
/// reagent's version, also in each document.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A document format reagent writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// SPDX 2.3, JSON.
    SpdxJson,
    /// CycloneDX 1.5, JSON.
    CycloneDxJson,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 2] = [Format::SpdxJson, Format::CycloneDxJson];

    /// The name on the command line: `spdx-json` or `cyclonedx-json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::SpdxJson => "spdx-json",
            Format::CycloneDxJson => "cyclonedx-json",
        }
    }

    /// The media type of a document in this format, as cosign and the
    /// formats' own registrations name it: `text/spdx+json`,
    /// `application/vnd.cyclonedx+json`.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::SpdxJson => "text/spdx+json",
            Format::CycloneDxJson => "application/vnd.cyclonedx+json",
        }
    }

    /// A file name for a document in this format: `sbom.spdx.json`,
    /// `sbom.cdx.json` (the extensions each specification recommends).
    pub fn file_name(self) -> &'static str {
        match self {
            Format::SpdxJson => "sbom.spdx.json",
            Format::CycloneDxJson => "sbom.cdx.json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SBOM format `{0}` (expected spdx-json or cyclonedx-json)")]
pub struct FormatError(pub String);

impl FromStr for Format {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Format, FormatError> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| FormatError(s.to_string()))
    }
}

/// The image a document describes.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    /// The node's name, e.g. `app`.
    pub name: &'a str,
    /// The node's full key; its first 16 characters are the image's tag and
    /// the version the document gives it.
    pub key: &'a str,
    /// The image's id: the hex sha256 digest of its config.
    pub image_id: &'a str,
    /// When the image was made, as its config's `created` says (RFC 3339).
    /// A time that does not parse is taken as the Unix epoch.
    pub created: &'a str,
}

impl Image<'_> {
    fn tag(&self) -> &str {
        self.key.get(..16).unwrap_or(self.key)
    }

    fn timestamp(&self) -> String {
        utc_timestamp(self.created).unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
    }
}

/// The document for `image` and its `packages` in `format`: pretty-printed
/// JSON with a final newline. See the [module](self) documentation.
pub fn document(format: Format, image: &Image<'_>, packages: &[Installed]) -> String {
    let value = match format {
        Format::SpdxJson => spdx(image, packages),
        Format::CycloneDxJson => cyclonedx(image, packages),
    };
    // Serialising a `Value` cannot fail: its keys are strings.
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// The name-based (version 5, URL namespace) UUID of the document of `format`
/// for the image with id `image_id`: the UUID of
/// `reagent:sbom:<format>:sha256:<image_id>`.
///
/// ```
/// use reagent_gentoo::sbom::{document_uuid, Format};
/// let a = document_uuid(Format::SpdxJson, "5f70bf18");
/// assert_eq!(a, document_uuid(Format::SpdxJson, "5f70bf18"));
/// assert_ne!(a, document_uuid(Format::SpdxJson, "5f70bf19"));
/// assert_eq!(&a[14..15], "5");
/// ```
pub fn document_uuid(format: Format, image_id: &str) -> String {
    let name = format!("reagent:sbom:{format}:sha256:{image_id}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
        .hyphenated()
        .to_string()
}

/// The package URL of an installed package:
/// `pkg:ebuild/<category>/<name>@<version>`, with `?repository=<name>` when
/// the VDB records the repository it came from.
///
/// The purl specification lists `ebuild` ("Gentoo Linux portage packages")
/// among its candidate types without a definition yet, so this follows its
/// general rules and the distribution types it does define: the namespace is
/// the category (a name is unique only within it), the version is the full
/// version with its revision, and every character other than letters,
/// digits, `.`, `-`, `_` and `~` is percent-encoded (`gtk+` is `gtk%2B`). The
/// repository is a qualifier because the same version of a package can come
/// from two repositories with different ebuilds; its key is `repository`,
/// not the specification's `repository_url`, because the VDB records the
/// repository's name, not a URL.
///
/// ```
/// use reagent_gentoo::{sbom::purl, Installed};
/// let mut p = Installed::new("x11-libs/gtk+-3.24.41-r1", "3").unwrap();
/// assert_eq!(purl(&p), "pkg:ebuild/x11-libs/gtk%2B@3.24.41-r1");
/// p.repository = Some("gentoo".into());
/// assert_eq!(purl(&p), "pkg:ebuild/x11-libs/gtk%2B@3.24.41-r1?repository=gentoo");
/// ```
pub fn purl(p: &Installed) -> String {
    let mut purl = format!(
        "pkg:ebuild/{}/{}@{}",
        percent_encode(&p.category),
        percent_encode(&p.name),
        percent_encode(p.version.as_str())
    );
    if let Some(repo) = &p.repository {
        purl.push_str("?repository=");
        purl.push_str(&percent_encode(repo));
    }
    purl
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An RFC 3339 time (`2024-05-01T10:11:12.5+02:00`) in UTC to the second, as
/// SPDX writes times: `2024-05-01T08:11:12Z`. Fractions of a second are
/// dropped; `None` when the text is not such a time.
///
/// ```
/// use reagent_gentoo::sbom::utc_timestamp;
/// assert_eq!(utc_timestamp("2024-05-01T10:11:12.123Z").unwrap(), "2024-05-01T10:11:12Z");
/// assert_eq!(utc_timestamp("2024-01-01T01:00:00+02:00").unwrap(), "2023-12-31T23:00:00Z");
/// assert_eq!(utc_timestamp("yesterday"), None);
/// ```
pub fn utc_timestamp(text: &str) -> Option<String> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let minutes = two(*h1, *h2)? * 60 + two(*m1, *m2)?;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_minutes * 60;
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The packages in document order: category, name, version, repository.
fn sorted(packages: &[Installed]) -> Vec<&Installed> {
    let mut v: Vec<&Installed> = packages.iter().collect();
    v.sort_by(|a, b| {
        (&a.category, &a.name)
            .cmp(&(&b.category, &b.name))
            .then_with(|| a.version.cmp(&b.version))
            .then_with(|| a.repository.cmp(&b.repository))
    });
    v
}

/// What a package's `HOMEPAGE` holds that is a web address.
fn homepages(p: &Installed) -> Vec<&str> {
    p.homepage
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .collect()
}

fn license(p: &Installed) -> Option<SpdxLicense> {
    spdx_expression(p.license.as_deref()?, &p.use_flags)
}

/// `SLOT` as the VDB writes it: `slot`, or `slot/subslot` when they differ.
fn slot(p: &Installed) -> String {
    if p.subslot == p.slot {
        p.slot.clone()
    } else {
        format!("{}/{}", p.slot, p.subslot)
    }
}

fn use_flags(p: &Installed) -> String {
    p.use_flags
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `cat/pkg-ver:slot::repo USE="…"`, the way portage writes a package.
fn describe(p: &Installed) -> String {
    let mut text = format!("{}:{}", p.cpv(), slot(p));
    if let Some(repo) = &p.repository {
        text.push_str("::");
        text.push_str(repo);
    }
    let _ = write!(text, " USE=\"{}\"", use_flags(p));
    text
}

/// An SPDX element id for `text`: letters, digits, `.` and `-` only.
fn spdx_id_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The SPDX 2.3 document for `image` and its `packages`.
///
/// The image is a package (`SPDXRef-Image`, purpose `CONTAINER`, version its
/// key tag) that the document `DESCRIBES` and that `CONTAINS` each installed
/// package. A package's name is `category/name`; its version, homepage (the
/// first web address of `HOMEPAGE`), summary (`DESCRIPTION`), declared license
/// and purl come from the VDB, and its comment says its slot, repository and
/// USE flags as portage would (`dev-libs/openssl-3.1.4:0/3::gentoo
/// USE="asm"`). Download location and concluded license are `NOASSERTION`;
/// every `LicenseRef-gentoo-*` used is listed in `hasExtractedLicensingInfos`
/// with a pointer to the license's text in the Gentoo repository.
pub fn spdx(image: &Image<'_>, packages: &[Installed]) -> Value {
    let mut refs: BTreeMap<String, String> = BTreeMap::new();
    let mut used_ids: BTreeSet<String> = BTreeSet::new();
    let mut spdx_packages = vec![json!({
        "SPDXID": "SPDXRef-Image",
        "name": image.name,
        "versionInfo": image.tag(),
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "comment": format!(
            "The image reagent built for node {} with key {} (image id sha256:{}).",
            image.name, image.key, image.image_id
        ),
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Image",
    })];
    for p in sorted(packages) {
        let base = format!("SPDXRef-Package-{}", spdx_id_part(&p.cpv()));
        let mut id = base.clone();
        let mut n = 1;
        while !used_ids.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        let declared = match license(p) {
            Some(l) => {
                refs.extend(l.refs);
                l.expression
            }
            None => "NOASSERTION".to_string(),
        };
        let mut package = json!({
            "SPDXID": id,
            "name": p.cp(),
            "versionInfo": p.version.as_str(),
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared,
            "copyrightText": "NOASSERTION",
            "comment": describe(p),
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl(p),
            }],
        });
        if let Some(home) = homepages(p).first() {
            package["homepage"] = json!(home);
        }
        if let Some(summary) = &p.description {
            package["summary"] = json!(summary);
        }
        spdx_packages.push(package);
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Image",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{}-{}", image.name, image.tag()),
        "documentNamespace": format!(
            "https://spdx.org/spdxdocs/reagent/{}-{}",
            spdx_id_part(image.name),
            document_uuid(Format::SpdxJson, image.image_id)
        ),
        "creationInfo": {
            "created": image.timestamp(),
            "creators": [format!("Tool: {TOOL}-{VERSION}")],
        },
        "packages": spdx_packages,
        "relationships": relationships,
    });
    if !refs.is_empty() {
        doc["hasExtractedLicensingInfos"] = refs
            .iter()
            .map(|(id, name)| {
                json!({
                    "licenseId": id,
                    "name": name,
                    "extractedText": format!(
                        "The license Gentoo calls {name}: its text is licenses/{name} in the ebuild repository the package came from."
                    ),
                    "seeAlsos": [format!(
                        "https://gitweb.gentoo.org/repo/gentoo.git/plain/licenses/{name}"
                    )],
                })
            })
            .collect();
    }
    doc
}

/// The CycloneDX 1.5 document for `image` and its `packages`.
///
/// The image is `metadata.component` (type `container`, version its key
/// tag, its key and image id as properties). Each installed package is a
/// `library` component whose `group` is the category, with its version,
/// description, license expression, purl (also its `bom-ref`), web addresses
/// of `HOMEPAGE` as `website` references, and `reagent:gentoo:slot`,
/// `reagent:gentoo:repository` and `reagent:gentoo:use` properties.
pub fn cyclonedx(image: &Image<'_>, packages: &[Installed]) -> Value {
    let components: Vec<Value> = sorted(packages)
        .into_iter()
        .map(|p| {
            let purl = purl(p);
            let mut properties = vec![json!({"name": "reagent:gentoo:slot", "value": slot(p)})];
            if let Some(repo) = &p.repository {
                properties.push(json!({"name": "reagent:gentoo:repository", "value": repo}));
            }
            properties.push(json!({"name": "reagent:gentoo:use", "value": use_flags(p)}));
            let mut c = json!({
                "type": "library",
                "bom-ref": purl,
                "group": p.category,
                "name": p.name,
                "version": p.version.as_str(),
                "purl": purl,
                "properties": properties,
            });
            if let Some(l) = license(p) {
                c["licenses"] = json!([{ "expression": l.expression }]);
            }
            if let Some(d) = &p.description {
                c["description"] = json!(d);
            }
            let sites = homepages(p);
            if !sites.is_empty() {
                c["externalReferences"] = sites
                    .iter()
                    .map(|u| json!({"type": "website", "url": u}))
                    .collect();
            }
            c
        })
        .collect();
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", document_uuid(Format::CycloneDxJson, image.image_id)),
        "version": 1,
        "metadata": {
            "timestamp": image.timestamp(),
            "tools": {
                "components": [{"type": "application", "name": TOOL, "version": VERSION}],
            },
            "component": {
                "type": "container",
                "bom-ref": format!("reagent:image:{}", image.name),
                "name": image.name,
                "version": image.tag(),
                "properties": [
                    {"name": "reagent:key", "value": image.key},
                    {"name": "reagent:image-id", "value": format!("sha256:{}", image.image_id)},
                ],
            },
        },
        "components": components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const ID: &str = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

    fn image() -> Image<'static> {
        Image {
            name: "app",
            key: KEY,
            image_id: ID,
            created: "2024-05-01T10:11:12.5Z",
        }
    }

    fn pkg(cpv: &str, slot: &str, license: &str, flags: &[&str]) -> Installed {
        let mut p = Installed::new(cpv, slot).unwrap();
        p.license = Some(license.to_string());
        p.use_flags = flags.iter().map(ToString::to_string).collect();
        p.repository = Some("gentoo".into());
        p
    }

    fn packages() -> Vec<Installed> {
        let mut nginx = pkg(
            "www-servers/nginx-1.24.0",
            "0",
            "BSD-2 BSD SSLeay MIT GPL-2 GPL-2+",
            &["http2", "ssl"],
        );
        nginx.homepage = Some("https://nginx.org/ https://nginx.org/en/".into());
        nginx.description = Some("Robust, small and high performance http server".into());
        let mut openssl = pkg("dev-libs/openssl-3.1.4", "0/3", "Apache-2.0", &["asm"]);
        openssl.repository = Some("guru".into());
        vec![
            nginx,
            openssl,
            pkg(
                "sys-libs/zlib-1.2.13-r1",
                "0/1",
                "ZLIB minizip? ( Info-ZIP )",
                &[],
            ),
            pkg("x11-libs/gtk+-3.24.41", "3", "", &[]),
        ]
    }

    fn spdx_doc() -> Value {
        serde_json::from_str(&document(Format::SpdxJson, &image(), &packages())).unwrap()
    }

    fn cdx_doc() -> Value {
        serde_json::from_str(&document(Format::CycloneDxJson, &image(), &packages())).unwrap()
    }

    #[test]
    fn formats_parse_by_name() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert_eq!(
            "spdx".parse::<Format>().unwrap_err().to_string(),
            "unknown SBOM format `spdx` (expected spdx-json or cyclonedx-json)"
        );
    }

    #[test]
    fn the_same_image_gives_the_same_bytes_whatever_the_package_order() {
        let mut reversed = packages();
        reversed.reverse();
        for f in Format::ALL {
            let a = document(f, &image(), &packages());
            assert_eq!(a, document(f, &image(), &reversed), "{f}");
            assert!(a.ends_with("}\n"), "{f}");
            let other = Image {
                image_id: "ff",
                ..image()
            };
            assert_ne!(a, document(f, &other, &packages()), "{f}");
        }
    }

    #[test]
    fn spdx_describes_the_image_containing_each_package() {
        let doc = spdx_doc();
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        assert_eq!(doc["dataLicense"], "CC0-1.0");
        assert_eq!(doc["name"], "app-0123456789abcdef");
        assert_eq!(doc["creationInfo"]["created"], "2024-05-01T10:11:12Z");
        assert_eq!(doc["creationInfo"]["creators"][0], "Tool: reagent-0.1.0");
        let ns = doc["documentNamespace"].as_str().unwrap();
        assert_eq!(
            ns,
            format!(
                "https://spdx.org/spdxdocs/reagent/app-{}",
                document_uuid(Format::SpdxJson, ID)
            )
        );
        let packages = doc["packages"].as_array().unwrap();
        let names: Vec<&str> = packages
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "app",
                "dev-libs/openssl",
                "sys-libs/zlib",
                "www-servers/nginx",
                "x11-libs/gtk+"
            ]
        );
        assert_eq!(packages[0]["primaryPackagePurpose"], "CONTAINER");
        assert_eq!(packages[0]["versionInfo"], "0123456789abcdef");
        let rels = doc["relationships"].as_array().unwrap();
        assert_eq!(rels.len(), 5);
        assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
        for (rel, p) in rels[1..].iter().zip(&packages[1..]) {
            assert_eq!(rel["spdxElementId"], "SPDXRef-Image");
            assert_eq!(rel["relationshipType"], "CONTAINS");
            assert_eq!(rel["relatedSpdxElement"], p["SPDXID"]);
        }
        assert_eq!(
            packages[4]["SPDXID"],
            "SPDXRef-Package-x11-libs-gtk--3.24.41"
        );
    }

    #[test]
    fn spdx_packages_carry_the_vdb_metadata() {
        let doc = spdx_doc();
        let nginx = &doc["packages"][3];
        assert_eq!(nginx["versionInfo"], "1.24.0");
        assert_eq!(nginx["homepage"], "https://nginx.org/");
        assert_eq!(
            nginx["summary"],
            "Robust, small and high performance http server"
        );
        assert_eq!(
            nginx["licenseDeclared"],
            "BSD-2-Clause AND BSD-3-Clause AND LicenseRef-gentoo-SSLeay AND MIT AND GPL-2.0-only AND GPL-2.0-or-later"
        );
        assert_eq!(
            nginx["comment"],
            "www-servers/nginx-1.24.0:0::gentoo USE=\"http2 ssl\""
        );
        assert_eq!(
            nginx["externalRefs"][0]["referenceLocator"],
            "pkg:ebuild/www-servers/nginx@1.24.0?repository=gentoo"
        );
        let openssl = &doc["packages"][1];
        assert_eq!(
            openssl["comment"],
            "dev-libs/openssl-3.1.4:0/3::guru USE=\"asm\""
        );
        assert!(openssl.get("homepage").is_none());
        // minizip is off: Info-ZIP is not part of zlib's licenses.
        assert_eq!(doc["packages"][2]["licenseDeclared"], "Zlib");
        // An empty LICENSE asserts nothing.
        assert_eq!(doc["packages"][4]["licenseDeclared"], "NOASSERTION");
        let extracted = doc["hasExtractedLicensingInfos"].as_array().unwrap();
        assert_eq!(extracted.len(), 1);
        assert_eq!(extracted[0]["licenseId"], "LicenseRef-gentoo-SSLeay");
        assert_eq!(extracted[0]["name"], "SSLeay");
        assert!(extracted[0]["extractedText"]
            .as_str()
            .unwrap()
            .contains("licenses/SSLeay"));
    }

    #[test]
    fn cyclonedx_lists_the_packages_of_the_container() {
        let doc = cdx_doc();
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(doc["specVersion"], "1.5");
        assert_eq!(doc["version"], 1);
        assert_eq!(
            doc["serialNumber"],
            format!("urn:uuid:{}", document_uuid(Format::CycloneDxJson, ID))
        );
        assert_eq!(doc["metadata"]["timestamp"], "2024-05-01T10:11:12Z");
        let image = &doc["metadata"]["component"];
        assert_eq!(image["type"], "container");
        assert_eq!(image["version"], "0123456789abcdef");
        assert_eq!(image["properties"][0]["value"], KEY);
        assert_eq!(image["properties"][1]["value"], format!("sha256:{ID}"));
        let components = doc["components"].as_array().unwrap();
        assert_eq!(components.len(), 4);
        let nginx = &components[2];
        assert_eq!(nginx["group"], "www-servers");
        assert_eq!(nginx["name"], "nginx");
        assert_eq!(nginx["bom-ref"], nginx["purl"]);
        assert_eq!(
            nginx["licenses"][0]["expression"],
            "BSD-2-Clause AND BSD-3-Clause AND LicenseRef-gentoo-SSLeay AND MIT AND GPL-2.0-only AND GPL-2.0-or-later"
        );
        let sites: Vec<&str> = nginx["externalReferences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["url"].as_str().unwrap())
            .collect();
        assert_eq!(sites, ["https://nginx.org/", "https://nginx.org/en/"]);
        let props: Vec<(&str, &str)> = nginx["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
            .collect();
        assert_eq!(
            props,
            [
                ("reagent:gentoo:slot", "0"),
                ("reagent:gentoo:repository", "gentoo"),
                ("reagent:gentoo:use", "http2 ssl")
            ]
        );
        assert_eq!(components[0]["properties"][0]["value"], "0/3");
        assert!(components[3].get("licenses").is_none());
    }

    #[test]
    fn an_image_without_packages_is_a_document_with_none() {
        let spdx: Value = serde_json::from_str(&document(Format::SpdxJson, &image(), &[])).unwrap();
        assert_eq!(spdx["packages"].as_array().unwrap().len(), 1);
        assert!(spdx.get("hasExtractedLicensingInfos").is_none());
        let cdx: Value =
            serde_json::from_str(&document(Format::CycloneDxJson, &image(), &[])).unwrap();
        assert!(cdx["components"].as_array().unwrap().is_empty());
    }

    #[test]
    fn purls_encode_what_is_not_unreserved() {
        let mut p = Installed::new("dev-cpp/libsigc++-2.12.1", "2").unwrap();
        p.repository = Some("my_overlay".into());
        assert_eq!(
            purl(&p),
            "pkg:ebuild/dev-cpp/libsigc%2B%2B@2.12.1?repository=my_overlay"
        );
    }

    #[test]
    fn timestamps_normalise_to_utc_seconds() {
        let ok = [
            ("2024-05-01T10:11:12Z", "2024-05-01T10:11:12Z"),
            ("2024-05-01t10:11:12.999999999z", "2024-05-01T10:11:12Z"),
            ("2024-02-29T23:30:00-01:00", "2024-03-01T00:30:00Z"),
            ("1970-01-01T00:59:59+01:00", "1969-12-31T23:59:59Z"),
            ("2000-12-31 23:59:59Z", "2000-12-31T23:59:59Z"),
        ];
        for (input, want) in ok {
            assert_eq!(utc_timestamp(input).as_deref(), Some(want), "{input}");
        }
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T10:11:12",
            "2024-13-01T10:11:12Z",
            "2023-02-29T10:11:12Z",
            "2024-05-01T10:11:12.Z",
            "2024-05-01T10:11:12+0100",
            "2024-05-01T24:00:00Z",
        ] {
            assert_eq!(utc_timestamp(bad), None, "{bad}");
        }
        let epoch = Image {
            created: "never",
            ..image()
        };
        assert_eq!(epoch.timestamp(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 11_016, 19_844, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
