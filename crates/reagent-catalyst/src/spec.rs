//! The parsed spec: its entries, the keys catalyst requires, and what the build produces.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compression::{extension_for_mode, strip_extension, DEFAULT_MODE};
use crate::error::SpecError;
use crate::output::{Output, OutputKind, Substitution};
use crate::parse::{read_entries, strip_bom};
use crate::target::{TargetKind, SINGLE_VALUED, STAGE_REQUIRED};

/// The first line of [`Spec::canonical`]; bump it when the encoding changes.
pub const CANONICAL_HEADER: &str = "reagent-catalyst-spec/1";

/// One `key: value` setting of a spec, with its continuation lines folded in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key, e.g. `stage4/packages` or `boot/kernel/gentoo/sources`.
    pub key: String,
    /// The value split on whitespace, continuation lines included (catalyst's list).
    pub values: Vec<String>,
    /// The value as written (placeholders filled, comments dropped, trimmed, surrounding `"`
    /// removed from the key line's part); continuation lines follow, each after a `\n`.
    /// Empty first segment when the key stands alone on its line.
    pub raw: String,
    /// The 1-based line of the key.
    pub line: usize,
}

impl Entry {
    /// Whether the key has no value at all (catalyst drops such keys with a warning).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The portage snapshot a stage spec builds from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotRef<'a> {
    /// Catalyst 4's `snapshot_treeish:` (a git tree-ish of the ebuild repository).
    Treeish(&'a str),
    /// Catalyst 3's `snapshot:` (the version stamp of a snapshot tarball).
    Stamp(&'a str),
}

impl<'a> SnapshotRef<'a> {
    /// The snapshot's name, whichever key gave it.
    pub fn as_str(&self) -> &'a str {
        match self {
            SnapshotRef::Treeish(s) | SnapshotRef::Stamp(s) => s,
        }
    }
}

/// A parsed, checked catalyst spec file. Entries keep file order.
///
/// Built by [`crate::parse`]; a `Spec` always has a known `target`, and a stage target
/// (everything but `snapshot`) always has one-valued `subarch`, `rel_type`, `version_stamp`,
/// `profile`, `source_subpath` and `snapshot_treeish` or `snapshot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    entries: Vec<Entry>,
    index: BTreeMap<String, usize>,
    kind: TargetKind,
    line_count: usize,
}

/// Parse the text of a spec file, filling `@NAME@` placeholders from `vars`, and check the keys
/// catalyst requires for its target.
///
/// A byte-order mark at the start of the text is skipped, as catalyst's reader (Python's
/// `utf-8-sig`-tolerant tools) and the Containerfile reader do.
pub fn parse(text: &str, vars: &BTreeMap<String, String>) -> Result<Spec, SpecError> {
    let text = strip_bom(text);
    let entries = read_entries(text, vars)?;
    let line_count = text.lines().count().max(1);
    Spec::from_entries(entries, line_count)
}

impl Spec {
    fn from_entries(entries: Vec<Entry>, line_count: usize) -> Result<Spec, SpecError> {
        let index: BTreeMap<String, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key.clone(), i))
            .collect();
        let lookup = |key: &str| index.get(key).map(|&i| &entries[i]);

        for key in SINGLE_VALUED {
            if let Some(entry) = lookup(key) {
                if entry.values.len() > 1 {
                    return Err(SpecError::NotSingle {
                        line: entry.line,
                        key: key.to_string(),
                        count: entry.values.len(),
                    });
                }
            }
        }

        let target_entry = match lookup("target") {
            Some(e) if !e.is_empty() => e,
            _ => {
                return Err(SpecError::MissingKey {
                    key: "target".to_string(),
                    target: None,
                })
            }
        };
        let target = &target_entry.values[0];
        let kind = TargetKind::from_name(target).ok_or_else(|| SpecError::UnknownTarget {
            line: target_entry.line,
            target: target.clone(),
        })?;

        let missing = |key: &str| SpecError::MissingKey {
            key: key.to_string(),
            target: Some(kind.name().to_string()),
        };
        let present = |key: &str| lookup(key).is_some_and(|e| !e.is_empty());
        if kind.is_stage() {
            for key in STAGE_REQUIRED {
                if !present(key) {
                    return Err(missing(key));
                }
            }
            if !present("snapshot_treeish") && !present("snapshot") {
                return Err(missing("snapshot_treeish"));
            }
            for key in kind.extra_required() {
                if !present(key) {
                    return Err(missing(key));
                }
            }
        }

        if let Some(entry) = lookup("compression_mode").filter(|e| !e.is_empty()) {
            if extension_for_mode(&entry.values[0]).is_none() {
                return Err(SpecError::UnknownCompressionMode {
                    line: entry.line,
                    mode: entry.values[0].clone(),
                });
            }
        }

        if let Some(entry) = lookup("rename_regexp").filter(|e| !e.is_empty()) {
            if let Err(reason) = Substitution::parse(&entry.raw) {
                return Err(SpecError::BadRenameRegexp {
                    line: entry.line,
                    expr: entry.raw.clone(),
                    reason,
                });
            }
        }

        Ok(Spec {
            entries,
            index,
            kind,
            line_count,
        })
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry for `key`, if the spec sets it.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).map(|&i| &self.entries[i])
    }

    /// The value of `key`: its only value, or for a list its first value. `None` when the key
    /// is absent or empty. Use [`Spec::values`] for lists and [`Entry::raw`] for the text.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(|e| e.values.first())
            .map(String::as_str)
    }

    /// All values of `key` (empty when absent).
    pub fn values(&self, key: &str) -> &[String] {
        self.get(key).map_or(&[], |e| e.values.as_slice())
    }

    /// The target kind named by `target:`.
    pub fn kind(&self) -> TargetKind {
        self.kind
    }

    /// The number of lines in the source text.
    pub fn line_count(&self) -> usize {
        self.line_count
    }

    /// The `target:` value as written, e.g. `stage3` or `livecd-stage1`.
    pub fn target(&self) -> &str {
        self.value("target").unwrap_or_default()
    }

    /// The `subarch:` value (always set for stage targets; empty for a `snapshot` without it).
    pub fn subarch(&self) -> &str {
        self.value("subarch").unwrap_or_default()
    }

    /// The `rel_type:` value (always set for stage targets; empty for a `snapshot` without it).
    pub fn rel_type(&self) -> &str {
        self.value("rel_type").unwrap_or_default()
    }

    /// The `version_stamp:` value (always set for stage targets; empty for a `snapshot`
    /// without it).
    pub fn version_stamp(&self) -> &str {
        self.value("version_stamp").unwrap_or_default()
    }

    /// The `profile:` value (always set for stage targets).
    pub fn profile(&self) -> Option<&str> {
        self.value("profile")
    }

    /// The `source_subpath:` value: the build (under `<storedir>/builds/`) this one unpacks as
    /// its seed, without the compression extension. Always set for stage targets.
    pub fn source_subpath(&self) -> Option<&str> {
        self.value("source_subpath")
    }

    /// The build `source_subpath` names, as [`Spec::produces`] names builds: the value without
    /// a compression extension. Releng writes `source_subpath: <rel>/stage1-…-@TIMESTAMP@.tar.xz`
    /// in many specs, and catalyst finds the file with or without one; either way it is the
    /// build another spec produces. Always set for stage targets.
    pub fn source_build(&self) -> Option<&str> {
        self.source_subpath().map(strip_extension)
    }

    /// The portage snapshot: `snapshot_treeish` (catalyst 4) when set, else `snapshot`
    /// (catalyst 3). Always set for stage targets.
    pub fn snapshot(&self) -> Option<SnapshotRef<'_>> {
        self.value("snapshot_treeish")
            .map(SnapshotRef::Treeish)
            .or_else(|| self.value("snapshot").map(SnapshotRef::Stamp))
    }

    /// The spec's own `compression_mode:`, if it sets one (checked to be a known mode).
    pub fn compression_mode(&self) -> Option<&str> {
        self.value("compression_mode")
    }

    /// What catalyst names this build, relative to `<storedir>/builds/`:
    /// `<rel_type>/<target>-<subarch>-<version_stamp>` (catalyst's `target_subpath` without its
    /// trailing `/`). Another spec's `source_subpath` names this build by the same string.
    ///
    /// Meaningful for stage targets ([`TargetKind::is_stage`]); a `snapshot` spec has no such
    /// name.
    pub fn produces(&self) -> String {
        format!(
            "{}/{}-{}-{}",
            self.rel_type(),
            self.target(),
            self.subarch(),
            self.version_stamp()
        )
    }

    /// Where catalyst writes this build's tarball:
    /// `<storedir>/builds/<produces()>.<ext>`, where `<ext>` comes from the spec's
    /// `compression_mode` or, when the spec sets none, catalyst's built-in default
    /// [`DEFAULT_MODE`] (`lbzip2`, so `.tar.bz2`). Releng specs set `compression_mode: pixz`,
    /// giving `.tar.xz`. If `catalyst.conf` sets its own `compression_mode`, use
    /// [`Spec::tarball_path_with`] instead.
    ///
    /// This is the name before catalyst's `rename_regexp` is applied; [`Spec::output`] gives the
    /// file as it is left. Only targets that capture a tarball ([`TargetKind::captures_tarball`])
    /// write it.
    pub fn tarball_path(&self, storedir: &Path) -> PathBuf {
        let mode = self.compression_mode().unwrap_or(DEFAULT_MODE);
        // Both the spec's mode (checked by `parse`) and the default are known modes.
        let ext = extension_for_mode(mode).unwrap_or("tar.bz2");
        self.builds_path(storedir, ext)
    }

    /// Like [`Spec::tarball_path`], with `default_mode` (what `catalyst.conf` sets) used when
    /// the spec sets no `compression_mode`. `None` when that mode is unknown.
    pub fn tarball_path_with(&self, storedir: &Path, default_mode: &str) -> Option<PathBuf> {
        let mode = self.compression_mode().unwrap_or(default_mode);
        extension_for_mode(mode).map(|ext| self.builds_path(storedir, ext))
    }

    /// What catalyst leaves behind for this spec (see [`crate::output`]): the stage tarball
    /// after `rename_regexp`, the ISO (`livecd/iso`), the disk image (`diskimage/qcow2`) or the
    /// netboot folder. The tarball's extension comes from the spec's `compression_mode` or
    /// catalyst's default, as in [`Spec::tarball_path`].
    pub fn output(&self, storedir: &Path) -> Output {
        match self.kind.output_kind() {
            OutputKind::StageTarball => {
                let tarball = self.tarball_path(storedir);
                let renamed = self
                    .get("rename_regexp")
                    .filter(|e| !e.is_empty())
                    .and_then(|e| Substitution::parse(&e.raw).ok())
                    .map(|sed| PathBuf::from(sed.apply(&tarball.to_string_lossy())));
                Output::Tarball(renamed.unwrap_or(tarball))
            }
            OutputKind::Iso => Output::Iso(self.image_path(storedir, "livecd/iso")),
            OutputKind::DiskImage => {
                Output::DiskImage(self.image_path(storedir, "diskimage/qcow2"))
            }
            OutputKind::Folder => {
                let mut path = storedir.join("builds");
                path.push(self.produces());
                Output::Folder(path)
            }
        }
    }

    /// An image path key (`livecd/iso`): absolute as written, else under
    /// `<storedir>/builds/<rel_type>/` (catalyst's `set_iso`, `set_qcow2`).
    fn image_path(&self, storedir: &Path, key: &str) -> PathBuf {
        let value = self.value(key).unwrap_or_default();
        if value.starts_with('/') {
            PathBuf::from(value)
        } else {
            let mut path = storedir.join("builds");
            path.push(self.rel_type());
            path.push(value);
            path
        }
    }

    fn builds_path(&self, storedir: &Path, ext: &str) -> PathBuf {
        let mut path = storedir.join("builds");
        path.push(format!("{}.{}", self.produces(), ext));
        path
    }

    /// A canonical encoding of the parsed contents, for hashing.
    ///
    /// The first line is [`CANONICAL_HEADER`]; then one line per entry in file order: the key,
    /// then each value after a tab. Keys and values never hold whitespace, so the encoding is
    /// unambiguous. Comments, blank lines, indentation, spacing and how a list is spread over
    /// continuation lines do not change it; any key or value edit, or reordering, does.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = String::from(CANONICAL_HEADER);
        out.push('\n');
        for entry in &self.entries {
            out.push_str(&entry.key);
            for value in &entry.values {
                out.push('\t');
                out.push_str(value);
            }
            out.push('\n');
        }
        out.into_bytes()
    }

    /// Render back to catalyst's spec format, placeholders filled: the file the executor hands
    /// to `catalyst -f`. Parsing the result with no placeholders gives the same keys, values and
    /// [`Spec::canonical`] bytes.
    ///
    /// Each entry keeps the line layout it was written with, so [`Entry::raw`] reads back the
    /// same too: the key line's part of the value after `key: `, then each continuation line
    /// indented with a tab. The one exception is a key-line part that starts or ends with `"`
    /// (after surrounding quotes were removed: `odd: a" "`), which a key line cannot hold: it
    /// moves to a continuation line, and its `raw` reads back with a leading line break.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            render_entry(entry, &mut out);
        }
        out
    }
}

fn render_entry(entry: &Entry, out: &mut String) {
    let mut segments = entry.raw.split('\n');
    let head = segments.next().unwrap_or_default();
    out.push_str(&entry.key);
    out.push(':');
    // A head that still starts or ends with `"` would lose it when re-read on the key line;
    // a continuation line keeps it.
    let head_keeps_quotes = !head.starts_with('"') && !head.ends_with('"');
    if head_keeps_quotes {
        if !head.is_empty() {
            out.push(' ');
            out.push_str(head);
        }
        out.push('\n');
    } else {
        out.push_str("\n\t");
        out.push_str(head);
        out.push('\n');
    }
    for segment in segments {
        out.push('\t');
        out.push_str(segment);
        out.push('\n');
    }
}
