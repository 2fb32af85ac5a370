//! The part of a portage tree an image's build read: its *slice*.
//!
//! A `emerge --sync` changes thousands of files, but an image only depends on
//! the packages its build merged. The slice of an image, for a set of packages
//! (`category/package`) and a profile, is made of:
//!
//! - every file of each package's directory (all its ebuilds, so a new version
//!   is seen; `files/`; the `Manifest`), but not `metadata.xml`;
//! - every eclass those ebuilds inherit, and the eclasses those inherit;
//! - every file of the profile and of its parents (`parent` files), where the
//!   `package.*` files count only their lines about the image's packages;
//! - the lines of the repository's `profiles/package.mask` about those packages;
//! - `metadata/layout.conf`.
//!
//! An image whose slice hashes the same in a new tree would be built the same
//! from it, so it need not be rebuilt. Inherits are read from the text of the
//! ebuilds and eclasses (`inherit a b`), over-approximating a conditional one:
//! a slice may hold more than the build read, never less. A package the log
//! names but the tree no longer has is a part of its own (`absent`), so its
//! removal is a change.
//!
//! ```
//! use reagent_gentoo::slice::{Slice, TreeReader};
//!
//! let tree = tempfile::tempdir()?;
//! std::fs::create_dir_all(tree.path().join("app-misc/hello"))?;
//! std::fs::write(tree.path().join("app-misc/hello/hello-1.0.ebuild"), "EAPI=8\n")?;
//! let reader = TreeReader::new(tree.path());
//! let old = Slice::compute(&reader, None, &["app-misc/hello".to_string()])?;
//! std::fs::write(tree.path().join("app-misc/hello/hello-1.1.ebuild"), "EAPI=8\n")?;
//! let reader = TreeReader::new(tree.path());
//! let new = Slice::compute(&reader, None, &["app-misc/hello".to_string()])?;
//! assert_ne!(old.hash(), new.hash());
//! assert_eq!(
//!     Slice::changes(&old, &new).iter().map(ToString::to_string).collect::<Vec<_>>(),
//!     ["app-misc/hello: hello-1.1.ebuild added"],
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::cpv::split_pf;

/// What a part's value is when the file is not in the tree.
const ABSENT: &str = "absent";

/// Why a slice could not be computed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct SliceError {
    /// The file or folder that could not be read.
    pub path: PathBuf,
    /// Why.
    pub source: io::Error,
}

/// Reads a tree's files for slices, remembering what it read: the slices of many
/// images over one tree share the work. It may be shared between threads.
#[derive(Debug)]
pub struct TreeReader {
    root: PathBuf,
    hashes: Mutex<HashMap<PathBuf, Option<String>>>,
    inherits: Mutex<HashMap<PathBuf, Vec<String>>>,
    packages: Mutex<HashMap<String, Arc<PackageParts>>>,
}

/// What one package folder adds to a slice: its parts and the eclasses it inherits.
#[derive(Debug, Default)]
struct PackageParts {
    parts: Vec<(String, String)>,
    inherits: Vec<String>,
}

/// Locks `m`; a panic in another thread holding it left only a cache behind.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TreeReader {
    /// A reader of the tree at `root`.
    pub fn new(root: &Path) -> TreeReader {
        TreeReader {
            root: root.to_path_buf(),
            hashes: Mutex::new(HashMap::new()),
            inherits: Mutex::new(HashMap::new()),
            packages: Mutex::new(HashMap::new()),
        }
    }

    /// The tree's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn err(&self, rel: &Path, source: io::Error) -> SliceError {
        SliceError {
            path: self.root.join(rel),
            source,
        }
    }

    /// The bytes of `rel`, `None` when it does not exist (or is not a file).
    fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>, SliceError> {
        let path = self.root.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => std::fs::read(&path).map(Some).map_err(|e| self.err(rel, e)),
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&path).map_err(|e| self.err(rel, e))?;
                Ok(Some(format!("link:{}", target.display()).into_bytes()))
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err(rel, e)),
        }
    }

    /// blake3 of `rel`'s bytes (a symlink: of its target), `None` when absent.
    fn hash(&self, rel: &Path) -> Result<Option<String>, SliceError> {
        if let Some(h) = lock(&self.hashes).get(rel) {
            return Ok(h.clone());
        }
        let h = self
            .read(rel)?
            .map(|bytes| blake3::hash(&bytes).to_hex().to_string());
        lock(&self.hashes).insert(rel.to_path_buf(), h.clone());
        Ok(h)
    }

    /// The hash of ebuild or eclass `rel` and the eclasses it inherits, reading it once.
    fn hash_and_inherits(&self, rel: &Path) -> Result<(Option<String>, Vec<String>), SliceError> {
        let known = lock(&self.hashes).get(rel).cloned();
        if let (Some(h), Some(i)) = (known, lock(&self.inherits).get(rel).cloned()) {
            return Ok((h, i));
        }
        let bytes = self.read(rel)?;
        let hash = bytes.as_ref().map(|b| blake3::hash(b).to_hex().to_string());
        let names = bytes
            .map(|b| inherited(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();
        lock(&self.hashes).insert(rel.to_path_buf(), hash.clone());
        lock(&self.inherits).insert(rel.to_path_buf(), names.clone());
        Ok((hash, names))
    }

    /// The entries of folder `rel` as `(name, is folder)`, sorted; `None` when absent.
    fn list(&self, rel: &Path) -> Result<Option<Vec<(String, bool)>>, SliceError> {
        let path = self.root.join(rel);
        match std::fs::read_dir(&path) {
            Ok(entries) => {
                let mut out = Vec::new();
                for e in entries {
                    let e = e.map_err(|e| self.err(rel, e))?;
                    let is_dir = e.file_type().map_err(|e| self.err(rel, e))?.is_dir();
                    out.push((e.file_name().to_string_lossy().into_owned(), is_dir));
                }
                out.sort();
                Ok(Some(out))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.raw_os_error() == Some(20) => Ok(None), // ENOTDIR
            Err(e) => Err(self.err(rel, e)),
        }
    }

    /// Every file below folder `rel` (relative to it), sorted.
    fn files_below(&self, rel: &Path) -> Result<Option<Vec<PathBuf>>, SliceError> {
        let Some(entries) = self.list(rel)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for (name, is_dir) in entries {
            if is_dir {
                for below in self.files_below(&rel.join(&name))?.unwrap_or_default() {
                    out.push(Path::new(&name).join(below));
                }
            } else {
                out.push(PathBuf::from(name));
            }
        }
        Ok(Some(out))
    }

    /// The parts of package `cp`'s folder (every file but `metadata.xml`; `absent`
    /// when the tree has no such folder) and the eclasses its ebuilds inherit.
    fn package(&self, cp: &str) -> Result<Arc<PackageParts>, SliceError> {
        if let Some(p) = lock(&self.packages).get(cp) {
            return Ok(p.clone());
        }
        let dir = Path::new(cp);
        let mut out = PackageParts::default();
        match self.files_below(dir)? {
            None => out
                .parts
                .push((format!("package:{cp}"), ABSENT.to_string())),
            Some(files) => {
                for file in files {
                    if file == Path::new("metadata.xml") {
                        continue;
                    }
                    let rel = dir.join(&file);
                    let hash = if file.extension().is_some_and(|e| e == "ebuild") {
                        let (hash, names) = self.hash_and_inherits(&rel)?;
                        out.inherits.extend(names);
                        hash
                    } else {
                        self.hash(&rel)?
                    };
                    out.parts.push((
                        format!("package:{cp}/{}", file.display()),
                        hash.unwrap_or_else(|| ABSENT.into()),
                    ));
                }
            }
        }
        let out = Arc::new(out);
        lock(&self.packages).insert(cp.to_string(), out.clone());
        Ok(out)
    }
}

/// An image's slice of a tree: a hash per part (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Slice {
    /// Part name (`package:app-misc/hello/hello-1.0.ebuild`, `eclass:mini`,
    /// `profile:default/linux/amd64/make.defaults`, `profiles:package.mask`,
    /// `layout.conf`) → blake3 hex of its content, or `absent`.
    pub parts: BTreeMap<String, String>,
}

impl Slice {
    /// The slice of the tree `reader` reads for `packages` (`category/package`)
    /// built with the profile at `profiles/<profile>` (no profile: none counts).
    pub fn compute(
        reader: &TreeReader,
        profile: Option<&str>,
        packages: &[String],
    ) -> Result<Slice, SliceError> {
        let wanted: BTreeSet<&str> = packages.iter().map(String::as_str).collect();
        let mut parts = BTreeMap::new();
        let mut inherits: BTreeSet<String> = BTreeSet::new();
        let each: Vec<Result<Arc<PackageParts>, SliceError>> =
            wanted.par_iter().map(|cp| reader.package(cp)).collect();
        for package in each {
            let package = package?;
            parts.extend(package.parts.iter().cloned());
            inherits.extend(package.inherits.iter().cloned());
        }
        for (name, hash) in eclass_closure(reader, inherits)? {
            parts.insert(format!("eclass:{name}"), hash);
        }
        if let Some(profile) = profile {
            for dir in profile_chain(reader, profile)? {
                profile_parts(reader, &dir, &wanted, &mut parts)?;
            }
        }
        let top = Path::new("profiles/package.mask");
        if let Some(text) = reader.read(top)? {
            let kept = filter_package_lines(&String::from_utf8_lossy(&text), &wanted);
            parts.insert("profiles:package.mask".into(), hash_text(&kept));
        }
        let layout = Path::new("metadata/layout.conf");
        parts.insert(
            "layout.conf".into(),
            reader.hash(layout)?.unwrap_or_else(|| ABSENT.into()),
        );
        Ok(Slice { parts })
    }

    /// One hash for the whole slice (blake3 over its sorted parts), 64 hex digits.
    pub fn hash(&self) -> String {
        let mut h = blake3::Hasher::new_derive_key("reagent 2026 snapshot slice v1");
        for (part, value) in &self.parts {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
            h.update(value.as_bytes());
        }
        h.finalize().to_hex().to_string()
    }

    /// What differs from `old` to `new`, in part order.
    pub fn changes(old: &Slice, new: &Slice) -> Vec<SliceChange> {
        let mut out = Vec::new();
        for (part, value) in &new.parts {
            match old.parts.get(part) {
                None => out.push(SliceChange::Added(part.clone())),
                Some(v) if v != value => out.push(SliceChange::Changed(part.clone())),
                Some(_) => {}
            }
        }
        for part in old.parts.keys() {
            if !new.parts.contains_key(part) {
                out.push(SliceChange::Removed(part.clone()));
            }
        }
        out.sort_by(|a, b| a.part().cmp(b.part()));
        out
    }
}

/// One difference between two slices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SliceChange {
    /// A part only the new slice has (a new ebuild, say).
    Added(String),
    /// A part only the old slice had.
    Removed(String),
    /// A part in both, with other content.
    Changed(String),
}

impl SliceChange {
    /// The part's name.
    pub fn part(&self) -> &str {
        match self {
            SliceChange::Added(p) | SliceChange::Removed(p) | SliceChange::Changed(p) => p,
        }
    }
}

impl fmt::Display for SliceChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self {
            SliceChange::Added(_) => "added",
            SliceChange::Removed(_) => "removed",
            SliceChange::Changed(_) => "changed",
        };
        let part = self.part();
        if let Some(path) = part.strip_prefix("package:") {
            // `app-misc/hello/hello-1.1.ebuild` → `app-misc/hello: hello-1.1.ebuild`.
            let mut pieces = path.splitn(3, '/');
            let (cat, pkg, file) = (pieces.next(), pieces.next(), pieces.next());
            return match (cat, pkg, file, self) {
                (Some(c), Some(p), Some(file), _) => write!(f, "{c}/{p}: {file} {verb}"),
                // The `absent` marker of a package the tree no longer has.
                (Some(c), Some(p), None, SliceChange::Added(_)) => {
                    write!(f, "{c}/{p} removed from the tree")
                }
                (Some(c), Some(p), None, SliceChange::Removed(_)) => {
                    write!(f, "{c}/{p} back in the tree")
                }
                _ => write!(f, "package {path} {verb}"),
            };
        }
        if let Some(name) = part.strip_prefix("eclass:") {
            return write!(f, "eclass {name}.eclass {verb}");
        }
        if let Some(path) = part.strip_prefix("profile:") {
            return match path.rsplit_once('/') {
                Some((dir, file)) => write!(f, "profile {dir}: {file} {verb}"),
                None => write!(f, "profile {path} {verb}"),
            };
        }
        if let Some(file) = part.strip_prefix("profiles:") {
            return write!(f, "profiles/{file} {verb} (for the image's packages)");
        }
        if part == "layout.conf" {
            return write!(f, "metadata/layout.conf {verb}");
        }
        write!(f, "{part} {verb}")
    }
}

/// The eclasses `start` names, and every eclass they inherit in turn, with hashes.
fn eclass_closure(
    reader: &TreeReader,
    start: BTreeSet<String>,
) -> Result<BTreeMap<String, String>, SliceError> {
    let mut done: BTreeMap<String, String> = BTreeMap::new();
    let mut todo: Vec<String> = start.into_iter().collect();
    while let Some(name) = todo.pop() {
        if done.contains_key(&name) {
            continue;
        }
        let rel = PathBuf::from(format!("eclass/{name}.eclass"));
        let (hash, names) = reader.hash_and_inherits(&rel)?;
        todo.extend(names);
        done.insert(name, hash.unwrap_or_else(|| ABSENT.into()));
    }
    Ok(done)
}

/// The eclass names `inherit` lines of an ebuild or eclass name (line continuations
/// followed; words with shell expansions skipped).
pub fn inherited(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix("inherit") else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\t', '\\'])) {
            continue;
        }
        let mut words = rest.to_string();
        while words.trim_end().ends_with('\\') {
            let cut = words.trim_end().len() - 1;
            words.truncate(cut);
            match lines.next() {
                Some(more) => {
                    words.push(' ');
                    words.push_str(more);
                }
                None => break,
            }
        }
        let words = words.split('#').next().unwrap_or("");
        for w in words.split_whitespace() {
            let w = w.trim_end_matches(';');
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                out.push(w.to_string());
            }
        }
    }
    out
}

/// `profiles/<profile>` and its parents, parents first, each once.
fn profile_chain(reader: &TreeReader, profile: &str) -> Result<Vec<PathBuf>, SliceError> {
    let mut out: Vec<PathBuf> = Vec::new();
    let start = normalize(&Path::new("profiles").join(profile));
    visit_profile(reader, &start, &mut out, 0)?;
    Ok(out)
}

fn visit_profile(
    reader: &TreeReader,
    dir: &Path,
    out: &mut Vec<PathBuf>,
    depth: usize,
) -> Result<(), SliceError> {
    // A `parent` cycle (or a very deep chain) ends here rather than recursing forever.
    if depth > 64 || out.iter().any(|d| d == dir) {
        return Ok(());
    }
    if let Some(text) = reader.read(&dir.join("parent"))? {
        for line in String::from_utf8_lossy(&text).lines() {
            let line = line.trim();
            // `repo:path` parents name another repository's profile: not this tree's.
            if line.is_empty() || line.starts_with('#') || line.contains(':') {
                continue;
            }
            let parent = normalize(&dir.join(line));
            if parent.starts_with("profiles") {
                visit_profile(reader, &parent, out, depth + 1)?;
            }
        }
    }
    out.push(dir.to_path_buf());
    Ok(())
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The files directly in profile folder `dir`, `package.*` ones filtered.
fn profile_parts(
    reader: &TreeReader,
    dir: &Path,
    wanted: &BTreeSet<&str>,
    parts: &mut BTreeMap<String, String>,
) -> Result<(), SliceError> {
    let shown = dir.strip_prefix("profiles").unwrap_or(dir);
    let Some(entries) = reader.list(dir)? else {
        parts.insert(format!("profile:{}", shown.display()), ABSENT.into());
        return Ok(());
    };
    for (name, is_dir) in entries {
        if is_dir {
            continue;
        }
        let rel = dir.join(&name);
        let value = if name.starts_with("package.") {
            let text = reader.read(&rel)?.unwrap_or_default();
            hash_text(&filter_package_lines(
                &String::from_utf8_lossy(&text),
                wanted,
            ))
        } else {
            reader.hash(&rel)?.unwrap_or_else(|| ABSENT.into())
        };
        parts.insert(format!("profile:{}/{name}", shown.display()), value);
    }
    Ok(())
}

fn hash_text(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// The lines of a `package.*` file whose atom names one of `wanted`, comments
/// and blank lines dropped, in file order.
fn filter_package_lines(text: &str, wanted: &BTreeSet<&str>) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(atom) = line.split_whitespace().next() else {
            continue;
        };
        if atom_cp(atom).is_some_and(|cp| wanted.contains(cp.as_str())) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The `category/package` an atom names: `>=app-misc/hello-1.1:0::gentoo[ssl]` →
/// `app-misc/hello`.
pub fn atom_cp(atom: &str) -> Option<String> {
    let a = atom.trim_start_matches(|c| "<>=~!*-".contains(c));
    let a = a.split(['[', ':']).next()?.trim_end_matches('*');
    let (cat, rest) = a.split_once('/')?;
    let name = match split_pf(rest) {
        Ok((name, _)) => name,
        Err(_) => rest.to_string(),
    };
    Some(format!("{cat}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A tiny tree: two packages, eclasses (one inheriting another), a profile
    /// with a parent, a repository-wide package.mask.
    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(
            r,
            "app-misc/hello/hello-1.0.ebuild",
            "EAPI=8\ninherit mini \\\n  extra\n",
        );
        write(r, "app-misc/hello/metadata.xml", "<pkgmetadata/>\n");
        write(r, "app-misc/hello/files/hello.c", "int main(){}\n");
        write(
            r,
            "app-misc/other/other-1.ebuild",
            "EAPI=8\ninherit unrelated\n",
        );
        write(r, "eclass/mini.eclass", "inherit base\n");
        write(r, "eclass/base.eclass", "# base\n");
        write(r, "eclass/extra.eclass", "# extra\n");
        write(r, "eclass/unrelated.eclass", "# unrelated\n");
        write(r, "profiles/base/make.defaults", "USE=\"a\"\n");
        write(
            r,
            "profiles/base/package.use",
            "app-misc/hello ssl\napp-misc/other x\n",
        );
        write(r, "profiles/default/amd64/parent", "../../base\n");
        write(r, "profiles/default/amd64/make.defaults", "ARCH=amd64\n");
        write(r, "profiles/package.mask", "# masked\n>=app-misc/other-2\n");
        write(r, "metadata/layout.conf", "masters =\n");
        t
    }

    fn slice(root: &Path) -> Slice {
        Slice::compute(
            &TreeReader::new(root),
            Some("default/amd64"),
            &["app-misc/hello".to_string()],
        )
        .unwrap()
    }

    fn words(old: &Slice, new: &Slice) -> Vec<String> {
        Slice::changes(old, new)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_slice_holds_what_the_packages_read() {
        let t = tree();
        let s = slice(t.path());
        let parts: Vec<&str> = s.parts.keys().map(String::as_str).collect();
        assert_eq!(
            parts,
            [
                "eclass:base",
                "eclass:extra",
                "eclass:mini",
                "layout.conf",
                "package:app-misc/hello/files/hello.c",
                "package:app-misc/hello/hello-1.0.ebuild",
                "profile:base/make.defaults",
                "profile:base/package.use",
                "profile:default/amd64/make.defaults",
                "profile:default/amd64/parent",
                "profiles:package.mask",
            ]
        );
    }

    #[test]
    fn what_the_image_did_not_read_leaves_the_slice_alone() {
        let t = tree();
        let before = slice(t.path());
        let r = t.path();
        write(r, "app-misc/other/other-2.ebuild", "EAPI=8\n");
        write(r, "eclass/unrelated.eclass", "# changed\n");
        write(
            r,
            "app-misc/hello/metadata.xml",
            "<pkgmetadata>new maintainer</pkgmetadata>\n",
        );
        write(
            r,
            "profiles/base/package.use",
            "app-misc/hello ssl\napp-misc/other x y\n",
        );
        write(r, "profiles/package.mask", "# masked\n>=app-misc/other-3\n");
        write(r, "new-cat/new-pkg/new-pkg-1.ebuild", "EAPI=8\n");
        assert_eq!(slice(r), before);
    }

    #[test]
    fn what_the_image_read_moves_the_slice_and_says_how() {
        let t = tree();
        let r = t.path();
        let before = slice(r);
        write(
            r,
            "app-misc/hello/hello-1.1.ebuild",
            "EAPI=8\ninherit mini extra\n",
        );
        write(r, "eclass/base.eclass", "# base, changed\n");
        write(
            r,
            "profiles/base/package.use",
            "app-misc/hello -ssl\napp-misc/other x\n",
        );
        write(r, "profiles/package.mask", ">=app-misc/hello-1.1\n");
        let after = slice(r);
        assert_ne!(before.hash(), after.hash());
        assert_eq!(
            words(&before, &after),
            [
                "eclass base.eclass changed",
                "app-misc/hello: hello-1.1.ebuild added",
                "profile base: package.use changed",
                "profiles/package.mask changed (for the image's packages)",
            ]
        );
        std::fs::remove_dir_all(r.join("app-misc/hello")).unwrap();
        let gone = slice(r);
        assert!(words(&after, &gone).contains(&"app-misc/hello removed from the tree".to_string()));
    }

    #[test]
    fn inherit_lines_are_read_like_the_shell_would() {
        assert_eq!(
            inherited("inherit a b-c \\\n d_e # comment\n  inherit f;\nDEPEND=\"inherit x\"\ninherit ${VAR} g\n"),
            ["a", "b-c", "d_e", "f", "g"]
        );
    }

    #[test]
    fn atoms_name_their_package() {
        for (atom, cp) in [
            (">=app-misc/hello-1.1:0::gentoo[ssl]", "app-misc/hello"),
            ("=dev-libs/foo-bar-1.2*", "dev-libs/foo-bar"),
            ("~app-misc/x-1", "app-misc/x"),
            ("app-misc/hello", "app-misc/hello"),
            ("*sys-apps/baselayout", "sys-apps/baselayout"),
            ("-app-misc/hello", "app-misc/hello"),
        ] {
            assert_eq!(atom_cp(atom).as_deref(), Some(cp), "{atom}");
        }
        assert_eq!(atom_cp("nonsense"), None);
    }

    #[test]
    fn a_parent_cycle_ends() {
        let t = tree();
        write(t.path(), "profiles/base/parent", "../default/amd64\n");
        let s = slice(t.path());
        assert!(s.parts.contains_key("profile:base/make.defaults"));
    }
}
