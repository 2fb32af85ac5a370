//! Gentoo logic for reagent's `audit`, `build -T`, `diff` and `sbom`.
//!
//! This crate is pure: it reads files under a path it is given (the executor
//! mounts an image's filesystem with `buildah mount` and hands over the
//! mount point) and never runs anything.
//!
//! The model, smallest piece first:
//!
//! - [`Version`]: a PMS version such as `1.2.3b_alpha4_pre_p2-r3`, ordered
//!   exactly like portage's `vercmp`. [`Cpv`] / [`cpv::split_pf`] split
//!   `cat/pkg-ver` and `pkg-ver` the way portage's `catpkgsplit` does.
//! - [`Glsa`]: a Gentoo Linux Security Advisory, with its affected
//!   [`AffectedPackage`] entries and their [`VersionRange`]s (`lt le eq ge gt`,
//!   revision ranges `rlt rle rge rgt`, `eq` wildcards, slots).
//! - [`Severity`]: an advisory's impact, `minimal` < `low` < `normal` <
//!   `high`; `str::parse` reads it in any case (a `--fail-on` threshold).
//! - [`Installed`]: one package of the VDB, read by [`vdb::read`] from
//!   `ROOT/var/db/pkg`.
//!   [`vdb::read_root`] reads a mounted image's, refusing links that could
//!   lead out of it into the host; no database there means no packages.
//! - [`audit()`]: advisories × installed packages → [`Finding`]s, with the
//!   semantics of `portage.glsa` (`isVulnerable`, `match`, `revisionMatch`).
//!   [`Finding::fails_at`] says whether a finding fails at a severity threshold.
//! - [`diff()`]: two package lists → added, removed and changed packages.
//! - [`emerge_log::merged`]: the packages a build merged, read from the
//!   `emerge.log` reagent mounts for it (build dependencies removed again by
//!   `--depclean` included).
//! - [`slice::Slice`]: the part of a portage tree those packages read (their
//!   ebuilds, eclasses, profile lines), so a sync that leaves it alone leaves
//!   the image alone.
//! - [`sbom`]: an image's packages as an SPDX 2.3 or CycloneDX 1.5 JSON
//!   document, each package with its package URL ([`sbom::purl`]) and its
//!   `LICENSE` as an SPDX license expression ([`license`]).
//! - [`arch`]: the Gentoo keyword (`amd64`, `arm64`, ...) for a Rust target
//!   architecture, and for the one reagent was built for.
//!
//! The version ordering and the advisory matching are checked against
//! Gentoo's own `portage` Python package by the `oracle` integration test.
//!
//! ```
//! use reagent_gentoo::{audit, diff, Glsa, Installed, Version};
//!
//! // Versions order as portage orders them.
//! let v = |s| Version::parse(s).unwrap();
//! assert!(v("1.0") < v("1.0.0"));
//! assert!(v("1.01") < v("1.1"));
//! assert!(v("1_pre1") < v("1") && v("1") < v("1_p1"));
//! assert_eq!(v("1.0-r0"), v("1.0"));
//!
//! // An advisory: versions before 2.0 are vulnerable, except 1.9-r2 and later revisions.
//! let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
//! <!DOCTYPE glsa SYSTEM "http://www.gentoo.org/dtd/glsa-2.dtd">
//! <glsa id="202401-01">
//!   <title>libfoo: heap overflow</title>
//!   <synopsis>A heap overflow in libfoo may allow code execution.</synopsis>
//!   <bug>123456</bug>
//!   <affected>
//!     <package name="dev-libs/libfoo" auto="yes" arch="*">
//!       <unaffected range="ge">2.0</unaffected>
//!       <unaffected range="rge">1.9-r2</unaffected>
//!       <vulnerable range="lt">2.0</vulnerable>
//!     </package>
//!   </affected>
//!   <impact type="high"><p>Arbitrary code execution.</p></impact>
//! </glsa>"#;
//! let glsa = Glsa::parse_str(xml, "glsa-202401-01.xml".as_ref()).unwrap();
//!
//! let old = vec![
//!     Installed::new("dev-libs/libfoo-1.9-r1", "0").unwrap(),
//!     Installed::new("app-misc/bar-1.0", "0").unwrap(),
//! ];
//! let findings = audit(&[glsa.clone()], &old, "amd64");
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].package, "dev-libs/libfoo");
//! assert_eq!(findings[0].unaffected, [">=2.0", ">=~1.9-r2"]);
//!
//! // After a rebuild with the fixed revision the audit is clean, and the diff says why.
//! let new = vec![
//!     Installed::new("dev-libs/libfoo-1.9-r2", "0").unwrap(),
//!     Installed::new("app-misc/bar-1.0", "0").unwrap(),
//! ];
//! assert!(audit(&[glsa], &new, "amd64").is_empty());
//! let d = diff(&old, &new);
//! assert_eq!(d.changed.len(), 1);
//! assert_eq!(d.changed[0].new.version.to_string(), "1.9-r2");
//! ```

pub mod arch;
pub mod audit;
pub mod cpv;
pub mod diff;
pub mod emerge_log;
pub mod glsa;
pub mod license;
mod quote;
pub mod range;
pub mod sbom;
pub mod slice;
pub mod vdb;
pub mod version;

pub use audit::{audit, Finding};
pub use cpv::{Cpv, CpvError};
pub use diff::{diff, Change, Diff};
pub use glsa::{AffectedPackage, ArchSpec, Glsa, GlsaError, Severity, SeverityError};
pub use range::{RangeOp, SlotSpec, VersionRange};
pub use vdb::{Installed, VdbError};
pub use version::{Version, VersionError};
