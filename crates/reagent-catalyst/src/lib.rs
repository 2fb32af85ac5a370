//! Read Gentoo catalyst spec files into a plain model.
//!
//! A catalyst spec (the `.spec` files gentoo/releng keeps under `releases/specs/`, run with
//! `catalyst -f`) is a list of `key: value` settings:
//!
//! ```text
//! # a comment; a `#` anywhere starts one
//! target: stage4
//! version_stamp: openrc-@TIMESTAMP@
//! stage4/use: bindist ipv6       <- a value is split on whitespace into a list
//! stage4/packages:               <- a key alone on its line ...
//!     app-admin/sudo             <- ... takes the following lines' words as values
//!     net-misc/dhcpcd
//! ```
//!
//! [`parse`] reads that text the way catalyst's own spec parser does, fills the `@NAME@`
//! placeholders that releng's catalyst-auto substitutes (`@TIMESTAMP@`, `@TREEISH@`,
//! `@REPO_DIR@`, ...) from a caller-given map, and checks the keys catalyst requires for the
//! spec's target (see [`target`]). It is stricter than catalyst in two ways: a key set twice is
//! an error (catalyst silently keeps the last), and so is a placeholder with no value.
//!
//! The resulting [`Spec`] gives the graph what it needs to make a stage node and its edges —
//! [`Spec::produces`] names the build (`<rel_type>/<target>-<subarch>-<version_stamp>`), and
//! [`Spec::source_subpath`] names the build it starts from, in the same form — and gives the
//! executor [`Spec::render`] (the file to run `catalyst -f` on), [`Spec::canonical`] (bytes to
//! hash) and [`Spec::tarball_path`] (where the result lands under catalyst's storedir).
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::path::Path;
//!
//! let text = "\
//! subarch: amd64
//! target: stage3
//! version_stamp: openrc-@TIMESTAMP@
//! rel_type: 23.0-default
//! profile: default/linux/amd64/23.0
//! snapshot_treeish: @TREEISH@
//! source_subpath: 23.0-default/stage1-amd64-openrc-@TIMESTAMP@
//! compression_mode: pixz
//! ";
//! let vars = BTreeMap::from([
//!     ("TIMESTAMP".to_string(), "20240101T000000Z".to_string()),
//!     ("TREEISH".to_string(), "0123abcd".to_string()),
//! ]);
//! let spec = reagent_catalyst::parse(text, &vars)?;
//!
//! assert_eq!(spec.produces(), "23.0-default/stage3-amd64-openrc-20240101T000000Z");
//! assert_eq!(spec.source_subpath(), Some("23.0-default/stage1-amd64-openrc-20240101T000000Z"));
//! assert_eq!(
//!     spec.tarball_path(Path::new("/var/tmp/catalyst")),
//!     Path::new("/var/tmp/catalyst/builds/23.0-default/stage3-amd64-openrc-20240101T000000Z.tar.xz"),
//! );
//!
//! // A missing placeholder value is an error naming the line.
//! let err = reagent_catalyst::parse(text, &BTreeMap::new()).unwrap_err();
//! assert_eq!(err.line(), Some(3));
//! # Ok::<(), reagent_catalyst::SpecError>(())
//! ```
//!
//! Not modelled: catalyst's `%(key)s` interpolation of earlier values (values are kept
//! literally), and its turning of the value `none` into "unset" (kept as the word `none`).

pub mod compression;
mod error;
pub mod output;
mod parse;
mod spec;
pub mod target;

pub use compression::{extension_for_mode, DEFAULT_MODE};
pub use error::SpecError;
pub use output::{Output, OutputKind};
pub use parse::{placeholders, Placeholder};
pub use spec::{parse, Entry, SnapshotRef, Spec, CANONICAL_HEADER};
pub use target::TargetKind;
