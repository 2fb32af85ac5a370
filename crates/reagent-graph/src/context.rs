//! Build-context inputs: which files a Containerfile's `COPY`/`ADD`/bind mounts
//! read, honouring `.containerignore` / `.dockerignore`, and their hashes.
//!
//! Paths are kept as raw bytes, as the file system has them: a name that is not
//! UTF-8 is its own input, so renaming it changes the key.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use reagent_containerfile::ContextSource;
use reagent_snapshot::cache::StatKey;

use crate::dir_cache::Listing;
use crate::file_cache::FileCache;
use crate::glob::{GlobIndex, Pattern};
use crate::model::path_subject;

/// One entry of the build context that a build reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path relative to the context root, `/`-separated, as raw bytes; folders end in `/`.
    pub path: Vec<u8>,
    /// blake3 over the entry's type, executable bit and content (or link target).
    pub hash: blake3::Hash,
}

impl ContextEntry {
    /// The path as label text ([`path_subject`]): UTF-8 as is, other bytes escaped.
    pub fn subject(&self) -> String {
        path_subject(&self.path)
    }
}

/// Why a source could not be resolved; the loader adds the Containerfile and line.
#[derive(Debug, thiserror::Error)]
pub enum ContextProblem {
    /// The path climbs out of the context with `..`.
    #[error("source `{0}` is outside the build context")]
    Outside(String),
    /// Nothing in the context has that path (or matches the glob).
    #[error("source `{0}` does not exist in the build context")]
    Missing(String),
    /// The path exists but `.containerignore`/`.dockerignore` excludes it.
    #[error("source `{0}` is excluded by the context's ignore file")]
    Ignored(String),
    /// A glob that is not a valid pattern.
    #[error("source `{source_path}` is not a valid pattern: {reason}")]
    BadGlob {
        /// The source as written.
        source_path: String,
        /// What the glob parser said.
        reason: String,
    },
    /// Reading an entry failed.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The entry, relative to the context.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The source is a symlink whose target (absolute, or climbing out with `..`) is not
    /// part of the context.
    #[error("source `{link}` is a symlink to `{target}`, outside the build context")]
    LinkOutside {
        /// The source.
        link: String,
        /// Where it points.
        target: String,
    },
    /// The ignore file cannot be used: it is not a readable UTF-8 file, or a pattern is bad.
    #[error("{message}")]
    IgnoreFile {
        /// `.containerignore` or `.dockerignore`.
        file: String,
        /// The 1-based line at fault, when there is one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// A problem with one source, located at the Containerfile line that reads it.
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub struct SourceProblem {
    /// The 1-based Containerfile line of the instruction reading the source.
    pub line: usize,
    /// What is wrong.
    #[source]
    pub problem: ContextProblem,
}

/// The files of one build context that a Containerfile reads.
pub struct Context<'c> {
    root: PathBuf,
    ignore: Option<Gitignore>,
    files: Option<&'c FileCache>,
}

/// Found entries by context-relative path (folders end in `/`).
type Found = BTreeMap<Vec<u8>, FoundEntry>;

/// A found entry: its absolute path, the Containerfile line that first read it, and
/// what finding it already learnt about it.
#[derive(Debug)]
struct FoundEntry {
    abs: PathBuf,
    line: usize,
    known: Known,
}

/// What finding an entry learnt of it, so hashing it stats it only when it must.
#[derive(Debug)]
enum Known {
    /// Only its name (from a folder listing): hashing it stats it.
    Name,
    /// A folder, as its listing said: its hash needs nothing more.
    Dir,
    /// Its `lstat`, taken when it was resolved as a source.
    Stat(std::fs::Metadata),
}

impl<'c> Context<'c> {
    /// A context rooted at `root`, reading its `.containerignore` (or, failing
    /// that, `.dockerignore`). A malformed ignore pattern is reported at its line.
    pub fn open(root: &Path) -> Result<Context<'c>, ContextProblem> {
        let present = probe_ignore_files(root);
        Self::with_ignore(root, present)
    }

    /// [`Context::open`] with [`Context::with_cache`], also learning which ignore
    /// files the root holds from `files`' folder listings: one `stat` of the root
    /// when it has not changed, instead of a probe for each name.
    pub fn open_cached(root: &Path, files: &'c FileCache) -> Result<Context<'c>, ContextProblem> {
        let present = match std::fs::metadata(root) {
            Ok(meta) => {
                let stat = StatKey::from_metadata(&meta);
                let abs = root.as_os_str().as_bytes();
                if let Some(listing) = files.dirs().get(abs, &stat, false) {
                    IGNORE_FILES.map(|name| listing.clone().has(name.as_bytes()))
                } else {
                    let present = probe_ignore_files(root);
                    let entries = IGNORE_FILES
                        .iter()
                        .zip(present)
                        .filter(|(_, here)| *here)
                        .map(|(name, _)| (name.as_bytes().to_vec(), false))
                        .collect();
                    files.dirs().keep(
                        abs,
                        Listing {
                            stat,
                            complete: false,
                            entries,
                        },
                    );
                    present
                }
            }
            Err(_) => probe_ignore_files(root),
        };
        Ok(Self::with_ignore(root, present)?.with_cache(files))
    }

    /// A context at `root` reading the first of [`IGNORE_FILES`] that `present` says is there.
    fn with_ignore(root: &Path, present: [bool; 2]) -> Result<Context<'c>, ContextProblem> {
        let mut ignore = None;
        if let Some(name) = IGNORE_FILES
            .iter()
            .zip(present)
            .find_map(|(name, here)| here.then_some(*name))
        {
            let file = root.join(name);
            let text = crate::input::read_text(&file, Path::new(name)).map_err(|e| {
                ContextProblem::IgnoreFile {
                    file: name.into(),
                    line: e.line,
                    message: e.message,
                }
            })?;
            ignore = Some(docker_ignore(root, name, &text)?);
        }
        Ok(Context {
            root: root.to_path_buf(),
            ignore,
            files: None,
        })
    }

    /// A folder read whole, with no ignore file (e.g. a portage config folder).
    pub fn without_ignore(root: &Path) -> Context<'c> {
        Context {
            root: root.to_path_buf(),
            ignore: None,
            files: None,
        }
    }

    /// Take file contents' hashes from `files` where their stat allows (see
    /// [`FileCache`]); without it every file is read.
    #[must_use]
    pub fn with_cache(mut self, files: &'c FileCache) -> Context<'c> {
        self.files = Some(files);
        self
    }

    /// Every entry below the root, hashed.
    pub fn all_entries(&self) -> Result<Vec<ContextEntry>, ContextProblem> {
        let mut found = Found::new();
        self.walk_dir(&self.root, None, b"", 0, &mut found)?;
        hash_all(found, self.files).map_err(|p| p.problem)
    }

    fn ignored(&self, rel: &[u8], is_dir: bool) -> bool {
        match &self.ignore {
            Some(g) => g
                .matched_path_or_any_parents(OsStr::from_bytes(rel), is_dir)
                .is_ignore(),
            None => false,
        }
    }

    /// Resolve every source to context entries, hashed; sorted by path, no duplicates.
    /// The context is walked once for all glob sources together without `--exclude`
    /// patterns; a source with some is resolved on its own, less what they exclude
    /// (another instruction may still read it).
    pub fn entries(&self, sources: &[ContextSource]) -> Result<Vec<ContextEntry>, SourceProblem> {
        let (plain, excluding): (Vec<&ContextSource>, Vec<&ContextSource>) =
            sources.iter().partition(|s| s.exclude.is_empty());
        let mut found = self.found(&plain)?;
        for src in excluding {
            let at = |problem| SourceProblem {
                line: src.line,
                problem,
            };
            let exclude = Exclude::new(src).map_err(at)?;
            for (rel, entry) in self.found(&[src])? {
                if !exclude.excludes(&rel) {
                    found.entry(rel).or_insert(entry);
                }
            }
        }
        hash_all(found, self.files)
    }

    /// What `sources` read, not yet hashed.
    fn found(&self, sources: &[&ContextSource]) -> Result<Found, SourceProblem> {
        let mut found = Found::new();
        let mut globs = Vec::new();
        for &src in sources {
            let at = |problem| SourceProblem {
                line: src.line,
                problem,
            };
            let rel = normalize(src.path.as_bytes())
                .ok_or_else(|| at(ContextProblem::Outside(src.path.clone())))?;
            if has_glob(&rel) {
                globs.push((src, rel));
            } else {
                self.resolve_path(&src.path, &rel, src.line, &mut found)
                    .map_err(at)?;
            }
        }
        if !globs.is_empty() {
            self.resolve_globs(&globs, &mut found)?;
        }
        Ok(found)
    }

    fn resolve_path(
        &self,
        written: &str,
        rel: &[u8],
        line: usize,
        found: &mut Found,
    ) -> Result<(), ContextProblem> {
        if rel.is_empty() {
            return self.walk_dir(&self.root, None, b"", line, found);
        }
        let abs = self.root.join(OsStr::from_bytes(rel));
        let meta = std::fs::symlink_metadata(&abs)
            .map_err(|_| ContextProblem::Missing(written.to_string()))?;
        if self.ignored(rel, meta.is_dir()) {
            return Err(ContextProblem::Ignored(written.to_string()));
        }
        self.collect_stat(rel, abs, meta, line, found)
    }

    /// Match every glob source against one walk of the context, no deeper than the
    /// deepest pattern reaches (ignored folders are not entered); a glob that matches
    /// nothing is an error at its line. Each path is matched only against the patterns
    /// that share its literal prefix or suffix, so the cost grows with the paths and
    /// the patterns, not with their product.
    fn resolve_globs(
        &self,
        globs: &[(&ContextSource, Vec<u8>)],
        found: &mut Found,
    ) -> Result<(), SourceProblem> {
        let patterns = globs
            .iter()
            .map(|(src, rel)| {
                Pattern::parse(rel).map_err(|reason| SourceProblem {
                    line: src.line,
                    problem: ContextProblem::BadGlob {
                        source_path: src.path.clone(),
                        reason,
                    },
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let index = GlobIndex::new(patterns);
        let mut matched = vec![false; globs.len()];
        let mut hits = Vec::new();
        let mut walk = walkdir::WalkDir::new(&self.root)
            .min_depth(1)
            .max_depth(index.max_depth())
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = walk.next() {
            let entry = entry.map_err(|e| SourceProblem {
                line: globs[0].0.line,
                problem: walk_error(e),
            })?;
            let rel = rel_of(&self.root, entry.path());
            let is_dir = entry.file_type().is_dir();
            if self.ignored(&rel, is_dir) {
                if is_dir {
                    walk.skip_current_dir();
                }
                continue;
            }
            index.matches_into(&rel, &mut hits);
            if let Some(&first) = hits.first() {
                for &i in &hits {
                    matched[i] = true;
                }
                let line = globs[first].0.line;
                self.collect(&rel, line, found)
                    .map_err(|problem| SourceProblem { line, problem })?;
            }
        }
        match matched.iter().position(|m| !m) {
            Some(i) => Err(SourceProblem {
                line: globs[i].0.line,
                problem: ContextProblem::Missing(globs[i].0.path.clone()),
            }),
            None => Ok(()),
        }
    }

    /// Add `rel` (a file, link or folder) and, for a folder, everything below it not ignored.
    fn collect(&self, rel: &[u8], line: usize, found: &mut Found) -> Result<(), ContextProblem> {
        let abs = self.root.join(OsStr::from_bytes(rel));
        let meta = std::fs::symlink_metadata(&abs).map_err(|e| io(rel, e))?;
        if self.ignored(rel, meta.is_dir()) {
            return Ok(());
        }
        self.collect_stat(rel, abs, meta, line, found)
    }

    /// [`Context::collect`] of `rel`, not ignored, at `abs` with `lstat` `meta`.
    fn collect_stat(
        &self,
        rel: &[u8],
        abs: PathBuf,
        meta: std::fs::Metadata,
        line: usize,
        found: &mut Found,
    ) -> Result<(), ContextProblem> {
        if meta.file_type().is_symlink() {
            // A source that is itself a link is followed by the build: its target must be
            // inside the context. Links met while copying a folder are copied as links.
            let target = std::fs::read_link(&abs).map_err(|e| io(rel, e))?;
            let parent = rel
                .iter()
                .rposition(|b| *b == b'/')
                .map_or(&rel[..0], |i| &rel[..i]);
            let mut joined = parent.to_vec();
            joined.push(b'/');
            joined.extend_from_slice(target.as_os_str().as_bytes());
            if target.is_absolute() || normalize(&joined).is_none() {
                return Err(ContextProblem::LinkOutside {
                    link: path_subject(rel),
                    target: target.display().to_string(),
                });
            }
        }
        if meta.is_dir() {
            self.add_dir(rel, &abs, Some(&meta), line, found)
        } else {
            found.entry(rel.to_vec()).or_insert(FoundEntry {
                abs,
                line,
                known: Known::Stat(meta),
            });
            Ok(())
        }
    }

    /// Add the folder `rel` (at `abs`, as `rel/`) and everything below it not ignored.
    fn add_dir(
        &self,
        rel: &[u8],
        abs: &Path,
        stat: Option<&std::fs::Metadata>,
        line: usize,
        found: &mut Found,
    ) -> Result<(), ContextProblem> {
        let mut key = rel.to_vec();
        key.push(b'/');
        found.entry(key).or_insert_with(|| FoundEntry {
            abs: abs.to_path_buf(),
            line,
            known: Known::Dir,
        });
        self.walk_dir(abs, stat, rel, line, found)
    }

    /// Add everything below the folder `rel` (at `dir`, whose `stat` is known or
    /// not) that is not ignored, depth first in name order. Each folder is listed
    /// once (see [`Context::list`]) and its entries' types come from the listing
    /// (`d_type`), so nothing is stat'ed here but entries whose type the file system
    /// does not give; files are stat'ed once, when hashed.
    fn walk_dir(
        &self,
        dir: &Path,
        stat: Option<&std::fs::Metadata>,
        rel: &[u8],
        line: usize,
        found: &mut Found,
    ) -> Result<(), ContextProblem> {
        for (name, is_dir) in self.list(dir, stat)? {
            let mut r = Vec::with_capacity(rel.len() + 1 + name.len() + 1);
            r.extend_from_slice(rel);
            if !rel.is_empty() {
                r.push(b'/');
            }
            r.extend_from_slice(&name);
            if self.ignored(&r, is_dir) {
                continue;
            }
            let abs = dir.join(OsStr::from_bytes(&name));
            if is_dir {
                self.add_dir(&r, &abs, None, line, found)?;
            } else {
                found.entry(r).or_insert(FoundEntry {
                    abs,
                    line,
                    known: Known::Name,
                });
            }
        }
        Ok(())
    }

    /// The entries of the folder `dir` (name, is a folder), sorted by name: from the
    /// cache's listing when the folder's stat (`stat`, or taken here, following
    /// links as listing does) is unchanged, else read and kept for the next load.
    fn list(
        &self,
        dir: &Path,
        stat: Option<&std::fs::Metadata>,
    ) -> Result<Vec<(Vec<u8>, bool)>, ContextProblem> {
        let Some(files) = self.files else {
            return read_listing(dir);
        };
        let stat = match stat {
            Some(meta) => StatKey::from_metadata(meta),
            None => match std::fs::metadata(dir) {
                Ok(meta) => StatKey::from_metadata(&meta),
                Err(_) => return read_listing(dir),
            },
        };
        let abs = dir.as_os_str().as_bytes();
        if let Some(listing) = files.dirs().get(abs, &stat, true) {
            return Ok(listing
                .map(|(name, is_dir)| (name.to_vec(), is_dir))
                .collect());
        }
        let entries = read_listing(dir)?;
        files.dirs().keep(
            abs,
            Listing {
                stat,
                complete: true,
                entries: entries.clone(),
            },
        );
        Ok(entries)
    }
}

/// The names a context's ignore file may have, in the order they are looked for.
const IGNORE_FILES: [&str; 2] = [".containerignore", ".dockerignore"];

/// Which of [`IGNORE_FILES`] are in `root`, in any form: one that cannot be read
/// must not be skipped silently, or files it excludes would be sent and hashed.
fn probe_ignore_files(root: &Path) -> [bool; 2] {
    IGNORE_FILES.map(|name| std::fs::symlink_metadata(root.join(name)).is_ok())
}

/// The entries of the folder `dir` as a listing gives them: (name, is a folder),
/// sorted by name.
fn read_listing(dir: &Path) -> Result<Vec<(Vec<u8>, bool)>, ContextProblem> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| walk_io(dir, &e))? {
        let entry = entry.map_err(|e| walk_io(dir, &e))?;
        let file_type = entry.file_type().map_err(|e| walk_io(&entry.path(), &e))?;
        entries.push((entry.file_name().into_vec(), file_type.is_dir()));
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// One source's `--exclude` patterns, each anchored as a `.containerignore` line
/// is and matched, as buildah matches them, against an entry's path in the
/// context (`BuildKit` matches below the source instead: `--exclude=sub` with
/// source `app/` excludes `app/sub` there, and nothing in buildah).
struct Exclude {
    patterns: Gitignore,
}

impl Exclude {
    fn new(src: &ContextSource) -> Result<Exclude, ContextProblem> {
        let text = src.exclude.join("\n");
        let patterns = docker_ignore(Path::new("/"), "--exclude", &text).map_err(|e| match e {
            ContextProblem::IgnoreFile { message, .. } => ContextProblem::BadGlob {
                source_path: src.path.clone(),
                reason: message,
            },
            other => other,
        })?;
        Ok(Exclude { patterns })
    }

    /// Whether the entry `rel` (a found key: folders end in `/`) is excluded.
    fn excludes(&self, rel: &[u8]) -> bool {
        let is_dir = rel.ends_with(b"/");
        let path = rel.strip_suffix(b"/").unwrap_or(rel);
        !path.is_empty()
            && self
                .patterns
                .matched_path_or_any_parents(OsStr::from_bytes(path), is_dir)
                .is_ignore()
    }
}

fn io(rel: &[u8], source: std::io::Error) -> ContextProblem {
    ContextProblem::Io {
        path: path_subject(rel),
        source,
    }
}

/// A failure listing `path` while walking a folder, worded as `walkdir` words it
/// (the glob walk still uses it), so both walks report alike.
fn walk_io(path: &Path, e: &std::io::Error) -> ContextProblem {
    ContextProblem::Io {
        path: path.display().to_string(),
        source: std::io::Error::new(
            e.kind(),
            format!("IO error for operation on {}: {e}", path.display()),
        ),
    }
}

fn walk_error(e: walkdir::Error) -> ContextProblem {
    let path = e
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    ContextProblem::Io {
        path,
        source: e.into(),
    }
}

/// Hash every found entry; a failure is reported at the line that read it.
fn hash_all(found: Found, files: Option<&FileCache>) -> Result<Vec<ContextEntry>, SourceProblem> {
    let mut out = Vec::with_capacity(found.len());
    for (rel, FoundEntry { abs, line, known }) in found {
        let hash = hash_entry(&abs, known, files).map_err(|source| SourceProblem {
            line,
            problem: io(&rel, source),
        })?;
        out.push(ContextEntry { path: rel, hash });
    }
    Ok(out)
}

/// blake3 over the entry's type, executable bit and content (files), target (links) or nothing (folders).
/// The content hash comes from `files` when given (see [`FileCache::content_hash`]).
/// What finding the entry learnt (`known`) spares a second `lstat`.
fn hash_entry(
    path: &Path,
    known: Known,
    files: Option<&FileCache>,
) -> std::io::Result<blake3::Hash> {
    let meta = match known {
        Known::Dir => return Ok(blake3::hash(b"dir\0")),
        Known::Stat(meta) => meta,
        Known::Name => std::fs::symlink_metadata(path)?,
    };
    let mut h = blake3::Hasher::new();
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)?;
        h.update(b"link\0");
        h.update(target.as_os_str().as_bytes());
    } else if meta.is_dir() {
        h.update(b"dir\0");
    } else if !meta.is_file() {
        // FIFOs, sockets and devices have no content to read (opening a FIFO would block
        // forever); buildah copies them as what they are, so their kind is what counts.
        let t = meta.file_type();
        h.update(if t.is_fifo() {
            b"fifo\0"
        } else if t.is_socket() {
            b"sock\0"
        } else {
            b"node\0"
        });
    } else {
        let exec = reagent_snapshot::merkle::is_executable(meta.permissions().mode());
        h.update(if exec { b"exec\0" } else { b"file\0" });
        let content = match files {
            Some(files) => files.content_hash(path, &meta)?,
            None => reagent_snapshot::hash_file(path).map_err(std::io::Error::other)?,
        };
        h.update(content.as_bytes());
    }
    Ok(h.finalize())
}

/// A COPY source (or link target) as a context-relative, `/`-separated path; `None`
/// if it climbs out. Like buildah, a leading `/` means the context root.
fn normalize(written: &[u8]) -> Option<Vec<u8>> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in written.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join(&b'/'))
}

fn has_glob(p: &[u8]) -> bool {
    p.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// `path` below `root` as `/`-separated bytes.
fn rel_of(root: &Path, path: &Path) -> Vec<u8> {
    path.strip_prefix(root)
        .unwrap_or(path)
        .as_os_str()
        .as_bytes()
        .to_vec()
}

/// Docker's ignore-file rules on the `ignore` crate's gitignore matcher: every
/// pattern is anchored at the context root, `!` re-includes, `#` comments.
fn docker_ignore(root: &Path, name: &str, text: &str) -> Result<Gitignore, ContextProblem> {
    let mut b = GitignoreBuilder::new(root);
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (neg, pat) = match line.strip_prefix('!') {
            Some(p) => ("!", p.trim()),
            None => ("", line),
        };
        let pat = normalize(pat.as_bytes()).unwrap_or_default();
        if pat.is_empty() {
            continue;
        }
        let pattern = format!("{neg}/{}", String::from_utf8_lossy(&pat));
        b.add_line(None, &pattern)
            .map_err(|e| ContextProblem::IgnoreFile {
                file: name.into(),
                line: Some(i + 1),
                message: format!("bad pattern in `{name}`: {e}"),
            })?;
    }
    b.build().map_err(|e| ContextProblem::IgnoreFile {
        file: name.into(),
        line: None,
        message: format!("bad pattern in `{name}`: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn src(path: &str) -> ContextSource {
        ContextSource {
            line: 3,
            instruction: "COPY".into(),
            path: path.into(),
            exclude: Vec::new(),
        }
    }

    fn ctx() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("conf/sub")).unwrap();
        fs::write(d.path().join("app.conf"), "a").unwrap();
        fs::write(d.path().join("conf/x.conf"), "x").unwrap();
        fs::write(d.path().join("conf/sub/y.conf"), "y").unwrap();
        fs::write(d.path().join("conf/notes.log"), "log").unwrap();
        fs::write(d.path().join("Containerfile"), "FROM x").unwrap();
        d
    }

    fn paths(c: &Context, s: &[&str]) -> Vec<String> {
        let sources: Vec<_> = s.iter().map(|p| src(p)).collect();
        c.entries(&sources)
            .unwrap()
            .into_iter()
            .map(|e| e.subject())
            .collect()
    }

    fn problem(c: &Context, s: &str) -> (usize, ContextProblem) {
        let e = c.entries(&[src(s)]).unwrap_err();
        (e.line, e.problem)
    }

    #[test]
    fn file_dir_and_glob_sources() {
        let d = ctx();
        let c = Context::open(d.path()).unwrap();
        assert_eq!(paths(&c, &["app.conf"]), ["app.conf"]);
        assert_eq!(
            paths(&c, &["./conf"]),
            [
                "conf/",
                "conf/notes.log",
                "conf/sub/",
                "conf/sub/y.conf",
                "conf/x.conf"
            ]
        );
        assert_eq!(paths(&c, &["conf/*.conf"]), ["conf/x.conf"]);
        assert_eq!(paths(&c, &["/app.conf", "app.conf"]), ["app.conf"]);
        assert_eq!(
            paths(&c, &["conf/*.conf", "*.conf"]),
            ["app.conf", "conf/x.conf"]
        );
    }

    #[test]
    fn ignore_file_is_anchored_and_negatable() {
        let d = ctx();
        fs::write(
            d.path().join(".containerignore"),
            "# logs\nconf/*.log\nsub\n!conf/sub/y.conf\n",
        )
        .unwrap();
        let c = Context::open(d.path()).unwrap();
        // `sub` is anchored at the root, so conf/sub stays; the log is excluded.
        assert_eq!(
            paths(&c, &["conf"]),
            ["conf/", "conf/sub/", "conf/sub/y.conf", "conf/x.conf"]
        );
        let (line, p) = problem(&c, "conf/notes.log");
        assert_eq!(line, 3);
        assert!(matches!(p, ContextProblem::Ignored(s) if s == "conf/notes.log"));
    }

    #[test]
    fn dockerignore_used_when_no_containerignore() {
        let d = ctx();
        fs::write(d.path().join(".dockerignore"), "conf\n").unwrap();
        let c = Context::open(d.path()).unwrap();
        assert_eq!(
            paths(&c, &["."]),
            [".dockerignore", "Containerfile", "app.conf"]
        );
    }

    #[test]
    fn a_bad_ignore_pattern_names_its_line() {
        let d = ctx();
        fs::write(d.path().join(".dockerignore"), "# ok\nconf\n[z-a\n").unwrap();
        match Context::open(d.path()) {
            Err(ContextProblem::IgnoreFile { line, .. }) => assert_eq!(line, Some(3)),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("a bad pattern was accepted"),
        }
    }

    #[test]
    fn excluded_entries_are_not_read_unless_another_source_reads_them() {
        let d = ctx();
        fs::create_dir_all(d.path().join("app/logs")).unwrap();
        fs::write(d.path().join("app/main.c"), "x").unwrap();
        fs::write(d.path().join("app/notes.md"), "x").unwrap();
        fs::write(d.path().join("app/logs/1.log"), "x").unwrap();
        fs::write(d.path().join("top.md"), "x").unwrap();
        let c = Context::open(d.path()).unwrap();
        let mut app = src("app");
        app.exclude = vec!["app/*.md".into(), "app/logs".into(), "main.c".into()];
        let paths = |s: &[ContextSource]| -> Vec<String> {
            c.entries(s)
                .unwrap()
                .iter()
                .map(ContextEntry::subject)
                .collect()
        };
        let read = paths(std::slice::from_ref(&app));
        // Patterns are paths in the context, not below the source.
        assert!(read.contains(&"app/main.c".to_string()), "{read:?}");
        assert_eq!(read, ["app/", "app/main.c"]);
        let mut all = src(".");
        all.exclude = vec!["app/logs".into(), "*.md".into()];
        let read = paths(&[all]);
        assert!(read.contains(&"app/notes.md".to_string()), "{read:?}");
        assert!(!read.contains(&"top.md".to_string()), "{read:?}");
        assert!(!read.iter().any(|p| p.contains("logs")), "{read:?}");
        let read = paths(&[app, src("app/notes.md")]);
        assert!(read.contains(&"app/notes.md".to_string()), "{read:?}");
    }

    #[test]
    fn missing_and_outside_sources_are_errors() {
        let d = ctx();
        let c = Context::open(d.path()).unwrap();
        assert!(matches!(problem(&c, "nope").1, ContextProblem::Missing(s) if s == "nope"));
        assert!(matches!(
            problem(&c, "../etc/passwd").1,
            ContextProblem::Outside(s) if s == "../etc/passwd"
        ));
        assert!(matches!(
            problem(&c, "*.nothing").1,
            ContextProblem::Missing(s) if s == "*.nothing"
        ));
        // `..` that stays inside is fine.
        assert_eq!(paths(&c, &["conf/../app.conf"]), ["app.conf"]);
    }

    #[test]
    fn a_malformed_glob_is_an_error_at_its_line() {
        let d = ctx();
        let c = Context::open(d.path()).unwrap();
        let (line, p) = problem(&c, "conf/[abc");
        assert_eq!(line, 3);
        assert!(
            matches!(&p, ContextProblem::BadGlob { source_path, reason }
                if source_path == "conf/[abc" && reason.contains("missing `]`")),
            "{p}"
        );
    }

    #[test]
    fn twenty_thousand_globs_in_one_copy_are_matched_in_one_walk() {
        // The shape: one glob per file. Matching them as one GlobSet asked the
        // regex engine for a 92 GB cache (an abort); one walk per glob took 16 s.
        let d = tempfile::tempdir().unwrap();
        let n = 20_000;
        for i in 0..n {
            fs::write(d.path().join(format!("f{i}.txt")), "x").unwrap();
        }
        fs::create_dir(d.path().join("sub")).unwrap();
        fs::write(d.path().join("sub/f1.txt"), "not matched: `*` stops at `/`").unwrap();
        let c = Context::open(d.path()).unwrap();
        let sources: Vec<_> = (0..n)
            .map(|i| ContextSource {
                line: i + 2,
                instruction: "COPY".into(),
                path: format!("f{i}.t?t"),
                exclude: Vec::new(),
            })
            .collect();
        let entries = c.entries(&sources).unwrap();
        assert_eq!(entries.len(), n);
        let mut missing = sources;
        missing.push(src("nothing*"));
        assert_eq!(c.entries(&missing).unwrap_err().line, 3);
    }

    #[test]
    fn hash_tracks_content_mode_and_link_target() {
        let d = ctx();
        let c = Context::open(d.path()).unwrap();
        let h = |c: &Context| c.entries(&[src("app.conf")]).unwrap()[0].hash;
        let first = h(&c);
        fs::write(d.path().join("app.conf"), "b").unwrap();
        let edited = h(&c);
        assert_ne!(first, edited);
        fs::set_permissions(d.path().join("app.conf"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(edited, h(&c));
        std::os::unix::fs::symlink("conf/x.conf", d.path().join("link")).unwrap();
        let l1 = c.entries(&[src("link")]).unwrap()[0].hash;
        fs::remove_file(d.path().join("link")).unwrap();
        std::os::unix::fs::symlink("conf/sub/y.conf", d.path().join("link")).unwrap();
        assert_ne!(l1, c.entries(&[src("link")]).unwrap()[0].hash);
    }

    #[test]
    fn non_utf8_names_are_kept_byte_for_byte() {
        let d = ctx();
        let dir = d.path().join("a");
        fs::create_dir(&dir).unwrap();
        let ff = dir.join(OsStr::from_bytes(b"\xff"));
        fs::create_dir(&ff).unwrap();
        fs::write(ff.join("f"), "x").unwrap();
        let c = Context::open(d.path()).unwrap();
        let before = paths(&c, &["a"]);
        assert_eq!(before, ["a/", "a/\\xff/", "a/\\xff/f"]);
        fs::rename(&ff, dir.join(OsStr::from_bytes(b"\xfe"))).unwrap();
        assert_eq!(paths(&c, &["a"]), ["a/", "a/\\xfe/", "a/\\xfe/f"]);
    }

    #[test]
    fn an_entry_that_cannot_be_read_is_blamed_on_the_line_that_reads_it() {
        // Found at line 7, gone when hashed (as a file removed mid-load would be).
        let d = ctx();
        let found = Found::from([(
            b"gone".to_vec(),
            FoundEntry {
                abs: d.path().join("gone"),
                line: 7,
                known: Known::Name,
            },
        )]);
        let e = hash_all(found, None).unwrap_err();
        assert_eq!(e.line, 7);
        assert!(e.to_string().starts_with("cannot read `gone`"), "{e}");
    }
}
