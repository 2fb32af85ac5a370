//! `reagent.lock`: the content each external input of a project is pinned to.
//!
//! A project builds from things it does not make: external images (`FROM
//! alpine:3.20`) and external catalyst seeds (a `source_subpath` no stage of the
//! project produces). Their names move — a tag is re-pushed, a `-latest` seed is
//! replaced — so keying them by name would keep a key while its content changes.
//! The lock file at the project's root records what each one was resolved to:
//!
//! ```toml
//! version = 1
//!
//! [[image]]
//! reference = "gentoo/stage3:latest"
//! digest = "sha256:…"
//!
//! [[image]]
//! reference = "gentoo/stage3:latest"
//! platform = "linux/arm64"
//! digest = "sha256:…"
//!
//! [[seed]]
//! source_subpath = "23.0-default/stage3-amd64-openrc-latest"
//! sha256 = "…"
//! size = 268435456
//! ```
//!
//! An image is locked by the reference as written in its Containerfile (after
//! `ARG` substitution) and, when the image sets `[image.<name>] platform`, that
//! platform; the digest is the manifest's (for a multi-platform reference
//! without a platform, the manifest list's). A seed is locked by its
//! `source_subpath`, with the tarball's SHA-256 and size. A reference already
//! pinned by digest (`name@sha256:…`) is its own lock and has no entry.
//!
//! This module reads and writes the text and nothing else: the loader keys
//! external inputs by what it says ([`crate::Project::unlocked`] lists what it
//! lacks), and resolving references is the executor's job. [`Lockfile::render`]
//! is deterministic — sorted, no timestamps — so an unchanged project rewrites
//! its lock byte for byte.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::ProjectError;

/// The lock file's name, at the project's root next to `graph.toml`.
pub const LOCK_FILE: &str = "reagent.lock";

/// The format version this reagent writes and reads.
pub const LOCK_VERSION: i64 = 1;

/// What one entry of the lock pins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entry {
    /// An external image: a reference as written after substitution, for a platform
    /// when the image that names it sets one.
    Image {
        /// The reference (`alpine:3.20`, `registry.example.com/gentoo/stage3:latest`).
        reference: String,
        /// `[image.<name>] platform` of the images naming it, if set.
        platform: Option<String>,
    },
    /// An external catalyst seed, by its `source_subpath`.
    Seed(String),
}

impl Entry {
    /// An image entry.
    pub fn image(reference: &str, platform: Option<&str>) -> Entry {
        Entry::Image {
            reference: reference.to_string(),
            platform: platform.map(str::to_string),
        }
    }

    /// The text a user matches against (`reagent lock --update REGEX`): the reference,
    /// or the seed's `source_subpath`.
    pub fn subject(&self) -> &str {
        match self {
            Entry::Image { reference, .. } => reference,
            Entry::Seed(path) => path,
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Image {
                reference,
                platform: None,
            } => f.write_str(reference),
            Entry::Image {
                reference,
                platform: Some(p),
            } => write!(f, "{reference} ({p})"),
            Entry::Seed(path) => write!(f, "seed {path}"),
        }
    }
}

/// A seed tarball as locked: its SHA-256 and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tarball {
    /// SHA-256 of the tarball, 64 lowercase hex digits.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What an entry is pinned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// An image manifest's digest (`sha256:<hex>`).
    Digest(String),
    /// A seed tarball.
    Tarball(Tarball),
}

impl Content {
    /// The digest as `algorithm:hex` (`sha256:<hex>` for a tarball).
    pub fn digest(&self) -> String {
        match self {
            Content::Digest(d) => d.clone(),
            Content::Tarball(t) => format!("sha256:{}", t.sha256),
        }
    }

    /// The digest shortened for messages: `sha256:` and 12 hex digits, then `…`.
    pub fn short(&self) -> String {
        short_digest(&self.digest())
    }
}

/// A digest shortened for messages: `sha256:0123456789ab…`.
pub fn short_digest(digest: &str) -> String {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("", digest));
    let cut = hex.get(..12).unwrap_or(hex);
    let more = if cut.len() < hex.len() { "…" } else { "" };
    if algorithm.is_empty() {
        format!("{cut}{more}")
    } else {
        format!("{algorithm}:{cut}{more}")
    }
}

/// The digest a reference pinned by digest carries (`name@sha256:…` → `sha256:…`).
pub fn digest_in_reference(reference: &str) -> Option<&str> {
    reference.split_once('@').map(|(_, d)| d)
}

/// The lock: every entry and what it is pinned to, and where each was read from.
#[derive(Debug, Clone, Default)]
pub struct Lockfile {
    entries: BTreeMap<Entry, Content>,
    /// The line each entry was read from (entries added since have none).
    lines: BTreeMap<Entry, usize>,
}

impl PartialEq for Lockfile {
    /// Two locks are equal when they pin the same entries to the same content,
    /// wherever those were written.
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for Lockfile {}

/// The first pass: only the version, so a newer format is named as such before its
/// fields are judged.
#[derive(Deserialize)]
struct Versioned {
    version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[allow(dead_code)] // read by the first pass
    version: toml::Value,
    #[serde(default)]
    image: Vec<RawImage>,
    #[serde(default)]
    seed: Vec<RawSeed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    reference: Spanned<String>,
    platform: Option<Spanned<String>>,
    digest: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeed {
    source_subpath: Spanned<String>,
    sha256: Spanned<String>,
    size: Spanned<u64>,
}

impl Lockfile {
    /// An empty lock.
    pub fn new() -> Lockfile {
        Lockfile::default()
    }

    /// Parse the lock's text; `file` names it in errors. Every problem is reported at
    /// its line (a TOML syntax error stops at the first).
    pub fn parse(text: &str, file: &Path) -> Result<Lockfile, Vec<ProjectError>> {
        let syntax = |e: toml::de::Error| {
            let message = match e.message().trim() {
                "" => "not valid TOML".to_string(),
                m => m.to_string(),
            };
            let message =
                format!("{message} (fix it, or delete {LOCK_FILE} and run `reagent lock`)");
            vec![match e.span() {
                Some(span) => ProjectError::at_span(file, text, span, message),
                None => ProjectError::in_file(file, message),
            }]
        };
        let versioned: Versioned = toml::from_str(text).map_err(syntax)?;
        check_version(versioned.version.as_ref())
            .map_err(|(span, message)| vec![at_or_in(file, text, span, message)])?;
        let raw: Raw = toml::from_str(text).map_err(syntax)?;
        let mut reader = Reader {
            text,
            lock: Lockfile::new(),
            errors: Vec::new(),
        };
        for image in raw.image {
            reader.image(image);
        }
        for seed in raw.seed {
            reader.seed(seed);
        }
        if reader.errors.is_empty() {
            Ok(reader.lock)
        } else {
            Err(reader
                .errors
                .into_iter()
                .map(|(span, message)| ProjectError::at_span(file, text, span, message))
                .collect())
        }
    }

    /// The lock as text: a header, the version, then images and seeds sorted by what
    /// they pin. The same entries always give the same bytes.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# reagent.lock: the content this project's external images and seeds are pinned to.\n\
             # Written by `reagent lock` and `reagent build`; commit it. Move an entry on\n\
             # purpose with `reagent lock --update [REGEX]`.\n",
        );
        // Writing to a String cannot fail.
        let _ = writeln!(out, "version = {LOCK_VERSION}");
        for (entry, content) in &self.entries {
            match (entry, content) {
                (
                    Entry::Image {
                        reference,
                        platform,
                    },
                    Content::Digest(digest),
                ) => {
                    let _ = write!(out, "\n[[image]]\nreference = {}\n", quoted(reference));
                    if let Some(p) = platform {
                        let _ = writeln!(out, "platform = {}", quoted(p));
                    }
                    let _ = writeln!(out, "digest = {}", quoted(digest));
                }
                (Entry::Seed(path), Content::Tarball(t)) => {
                    let _ = write!(
                        out,
                        "\n[[seed]]\nsource_subpath = {}\nsha256 = {}\nsize = {}\n",
                        quoted(path),
                        quoted(&t.sha256),
                        t.size
                    );
                }
                // The setters never pair an entry with the other kind of content.
                _ => {}
            }
        }
        out
    }

    /// What `entry` is pinned to.
    pub fn get(&self, entry: &Entry) -> Option<&Content> {
        self.entries.get(entry)
    }

    /// The digest image `reference` is locked to for `platform`.
    pub fn image_digest(&self, reference: &str, platform: Option<&str>) -> Option<&str> {
        match self.entries.get(&Entry::image(reference, platform)) {
            Some(Content::Digest(d)) => Some(d),
            _ => None,
        }
    }

    /// The tarball the external seed `source_subpath` is locked to.
    pub fn seed(&self, source_subpath: &str) -> Option<&Tarball> {
        match self.entries.get(&Entry::Seed(source_subpath.to_string())) {
            Some(Content::Tarball(t)) => Some(t),
            _ => None,
        }
    }

    /// Lock image `reference` (for `platform`) to `digest`; the previous digest, if any.
    pub fn set_image(
        &mut self,
        reference: &str,
        platform: Option<&str>,
        digest: &str,
    ) -> Option<Content> {
        self.entries.insert(
            Entry::image(reference, platform),
            Content::Digest(digest.to_string()),
        )
    }

    /// Lock seed `source_subpath` to `tarball`; the previous content, if any.
    pub fn set_seed(&mut self, source_subpath: &str, tarball: Tarball) -> Option<Content> {
        self.entries.insert(
            Entry::Seed(source_subpath.to_string()),
            Content::Tarball(tarball),
        )
    }

    /// Lock `entry` to `content` when they are of the same kind (an image to a digest,
    /// a seed to a tarball); the previous content, if any. Mismatched kinds are ignored.
    pub fn set(&mut self, entry: Entry, content: Content) -> Option<Content> {
        match (&entry, &content) {
            (Entry::Image { .. }, Content::Digest(_)) | (Entry::Seed(_), Content::Tarball(_)) => {
                self.entries.insert(entry, content)
            }
            _ => None,
        }
    }

    /// Drop `entry`; what it was pinned to, if anything.
    pub fn remove(&mut self, entry: &Entry) -> Option<Content> {
        self.lines.remove(entry);
        self.entries.remove(entry)
    }

    /// Every entry with its content, sorted (images, then seeds).
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&Entry, &Content)> + '_ {
        self.entries.iter()
    }

    /// The line of the lock file `entry` was read from, if it was read from one.
    pub fn line(&self, entry: &Entry) -> Option<usize> {
        self.lines.get(entry).copied()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// An error at `span` of the lock's text, or about the whole file.
fn at_or_in(file: &Path, text: &str, span: Option<Range<usize>>, message: String) -> ProjectError {
    match span {
        Some(span) => ProjectError::at_span(file, text, span, message),
        None => ProjectError::in_file(file, message),
    }
}

/// `version` must be [`LOCK_VERSION`]; a newer one is named as such.
fn check_version(
    version: Option<&Spanned<toml::Value>>,
) -> Result<(), (Option<Range<usize>>, String)> {
    let Some(v) = version else {
        return Err((
            None,
            format!("{LOCK_FILE} has no `version` (this reagent writes version {LOCK_VERSION})"),
        ));
    };
    match v.get_ref() {
        toml::Value::Integer(LOCK_VERSION) => Ok(()),
        toml::Value::Integer(n) if *n > LOCK_VERSION => Err((
            Some(v.span()),
            format!("{LOCK_FILE} is version {n}, written by a newer reagent; this one reads version {LOCK_VERSION}"),
        )),
        other => Err((
            Some(v.span()),
            format!("unknown {LOCK_FILE} version {other} (this reagent reads version {LOCK_VERSION})"),
        )),
    }
}

/// Entries checked one by one into a lock, with every problem and its span.
struct Reader<'a> {
    text: &'a str,
    lock: Lockfile,
    errors: Vec<(Range<usize>, String)>,
}

impl Reader<'_> {
    /// Add `entry` (named at `span`), unless the lock has it already.
    fn add(&mut self, entry: Entry, span: Range<usize>, content: Content) {
        if let Some(first) = self.lock.lines.get(&entry) {
            let message = format!("`{entry}` is locked twice (first at line {first})");
            self.errors.push((span, message));
            return;
        }
        let line = crate::error::line_of(self.text, span.start);
        self.lock.lines.insert(entry.clone(), line);
        self.lock.entries.insert(entry, content);
    }

    /// A problem of a value, at its span; whether there was one.
    fn check(&mut self, span: Range<usize>, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => true,
            Err(message) => {
                self.errors.push((span, message));
                false
            }
        }
    }

    fn image(&mut self, image: RawImage) {
        let mut ok = self.check(
            image.reference.span(),
            check_reference(image.reference.get_ref()),
        );
        if let Some(p) = &image.platform {
            ok &= self.check(p.span(), check_platform(p.get_ref()));
        }
        ok &= self.check(image.digest.span(), check_digest(image.digest.get_ref()));
        if ok {
            let entry = Entry::image(
                image.reference.get_ref(),
                image.platform.as_ref().map(|p| p.get_ref().as_str()),
            );
            let content = Content::Digest(image.digest.into_inner());
            self.add(entry, image.reference.span(), content);
        }
    }

    fn seed(&mut self, seed: RawSeed) {
        let path = seed.source_subpath.get_ref();
        let word = if path.is_empty() || path.contains(char::is_whitespace) {
            Err("source_subpath must be one word, as in the spec".to_string())
        } else {
            Ok(())
        };
        let mut ok = self.check(seed.source_subpath.span(), word);
        ok &= self.check(seed.sha256.span(), check_hex(seed.sha256.get_ref()));
        if ok {
            let entry = Entry::Seed(path.clone());
            let content = Content::Tarball(Tarball {
                sha256: seed.sha256.into_inner(),
                size: seed.size.into_inner(),
            });
            self.add(entry, seed.source_subpath.span(), content);
        }
    }
}

/// A TOML basic string: `"` … `"` with `\`, `"` and control characters escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn check_reference(r: &str) -> Result<(), String> {
    if r.is_empty() || r.contains(char::is_whitespace) {
        Err(format!("`{r}` is not an image reference"))
    } else if r.contains('@') {
        Err(format!(
            "`{r}` is pinned by digest already: it needs no entry in {LOCK_FILE}"
        ))
    } else {
        Ok(())
    }
}

fn check_platform(p: &str) -> Result<(), String> {
    let parts: Vec<&str> = p.split('/').collect();
    let word = |w: &&str| !w.is_empty() && !w.contains(char::is_whitespace);
    if (2..=3).contains(&parts.len()) && parts.iter().all(word) {
        Ok(())
    } else {
        Err(format!(
            "platform `{p}` should look like `linux/amd64` or `linux/arm/v7`"
        ))
    }
}

fn check_digest(d: &str) -> Result<(), String> {
    match d.split_once(':') {
        Some(("sha256", hex)) if hex.len() == 64 && is_lower_hex(hex) => Ok(()),
        Some(("sha512", hex)) if hex.len() == 128 && is_lower_hex(hex) => Ok(()),
        _ => Err(format!(
            "digest `{d}` should be `sha256:` and 64 lowercase hex digits"
        )),
    }
}

fn check_hex(h: &str) -> Result<(), String> {
    if h.len() == 64 && is_lower_hex(h) {
        Ok(())
    } else {
        Err("sha256 must be 64 lowercase hex digits".to_string())
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn parse(text: &str) -> Result<Lockfile, Vec<ProjectError>> {
        Lockfile::parse(text, Path::new(LOCK_FILE))
    }

    fn first_error(text: &str) -> ProjectError {
        parse(text).unwrap_err().remove(0)
    }

    fn sample() -> Lockfile {
        let mut lock = Lockfile::new();
        lock.set_seed(
            "23.0-default/stage3-amd64-openrc-latest",
            Tarball {
                sha256: "c".repeat(64),
                size: 42,
            },
        );
        lock.set_image("gentoo/stage3:latest", Some("linux/arm64"), B);
        lock.set_image("gentoo/stage3:latest", None, A);
        lock.set_image("alpine:3.20", None, B);
        lock
    }

    #[test]
    fn renders_sorted_and_reads_back_the_same() {
        let lock = sample();
        let text = lock.render();
        let expected = format!(
            "# reagent.lock: the content this project's external images and seeds are pinned to.\n\
             # Written by `reagent lock` and `reagent build`; commit it. Move an entry on\n\
             # purpose with `reagent lock --update [REGEX]`.\n\
             version = 1\n\
             \n[[image]]\nreference = \"alpine:3.20\"\ndigest = \"{B}\"\n\
             \n[[image]]\nreference = \"gentoo/stage3:latest\"\ndigest = \"{A}\"\n\
             \n[[image]]\nreference = \"gentoo/stage3:latest\"\nplatform = \"linux/arm64\"\ndigest = \"{B}\"\n\
             \n[[seed]]\nsource_subpath = \"23.0-default/stage3-amd64-openrc-latest\"\nsha256 = \"{}\"\nsize = 42\n",
            "c".repeat(64)
        );
        assert_eq!(text, expected);
        let back = parse(&text).unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.render(), text, "byte for byte");
        assert_eq!(back.image_digest("gentoo/stage3:latest", None), Some(A));
        assert_eq!(
            back.image_digest("gentoo/stage3:latest", Some("linux/arm64")),
            Some(B)
        );
        assert_eq!(
            back.image_digest("gentoo/stage3:latest", Some("linux/riscv64")),
            None
        );
        assert_eq!(back.line(&Entry::image("alpine:3.20", None)), Some(7));
        assert_eq!(
            back.seed("23.0-default/stage3-amd64-openrc-latest")
                .unwrap()
                .size,
            42
        );
    }

    #[test]
    fn an_empty_lock_is_a_version_line() {
        let text = Lockfile::new().render();
        assert!(text.ends_with("version = 1\n"), "{text}");
        assert!(parse(&text).unwrap().is_empty());
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quoted("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }

    #[test]
    fn a_newer_version_is_named_as_such() {
        let e = first_error("version = 2\n[[image]]\nwhatever = 1\n");
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("newer reagent"), "{}", e.message);
        let e = first_error("[[image]]\nreference = \"a\"\n");
        assert!(e.message.contains("no `version`"), "{}", e.message);
        let e = first_error("version = \"one\"\n");
        assert!(
            e.message.contains("unknown reagent.lock version"),
            "{}",
            e.message
        );
    }

    #[test]
    fn problems_are_reported_at_their_lines() {
        let text = format!(
            "version = 1\n\n[[image]]\nreference = \"alpine:3.20\"\ndigest = \"md5:x\"\n\n[[image]]\nreference = \"a@{A}\"\ndigest = \"{A}\"\n\n[[image]]\nreference = \"b\"\nplatform = \"amd64\"\ndigest = \"{A}\"\n\n[[seed]]\nsource_subpath = \"x\"\nsha256 = \"XY\"\nsize = 1\n"
        );
        let errors = parse(&text).unwrap_err();
        let lines: Vec<Option<usize>> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(5), Some(8), Some(13), Some(18)], "{errors:?}");
        assert!(errors[1].message.contains("pinned by digest"));
    }

    #[test]
    fn unknown_keys_duplicates_and_bad_toml_are_errors() {
        let e = first_error(&format!(
            "version = 1\n[[image]]\nreference = \"a\"\ndigest = \"{A}\"\ntag = \"x\"\n"
        ));
        assert!(e.message.contains("tag"), "{}", e.message);
        let e = first_error(&format!(
            "version = 1\n[[image]]\nreference = \"a\"\ndigest = \"{A}\"\n[[image]]\nreference = \"a\"\ndigest = \"{B}\"\n"
        ));
        assert_eq!(e.line, Some(6));
        assert!(
            e.message.contains("locked twice (first at line 3)"),
            "{}",
            e.message
        );
        let e = first_error("version = 1\n<<<<<<< HEAD\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("delete reagent.lock"), "{}", e.message);
    }

    #[test]
    fn entries_read_like_their_subject() {
        assert_eq!(Entry::image("a:1", None).to_string(), "a:1");
        assert_eq!(
            Entry::image("a:1", Some("linux/arm64")).to_string(),
            "a:1 (linux/arm64)"
        );
        assert_eq!(Entry::Seed("x/y".into()).to_string(), "seed x/y");
        assert_eq!(Entry::Seed("x/y".into()).subject(), "x/y");
        assert_eq!(short_digest(A), "sha256:aaaaaaaaaaaa…");
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
        assert_eq!(digest_in_reference(&format!("a@{A}")), Some(A));
    }

    #[test]
    fn set_refuses_mismatched_kinds() {
        let mut lock = Lockfile::new();
        assert!(lock
            .set(Entry::Seed("x".into()), Content::Digest(A.into()))
            .is_none());
        assert!(lock.is_empty());
        lock.set(Entry::image("a", None), Content::Digest(A.into()));
        assert_eq!(lock.len(), 1);
        assert_eq!(
            lock.remove(&Entry::image("a", None)),
            Some(Content::Digest(A.into()))
        );
    }
}
