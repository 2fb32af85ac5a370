//! Build-context inputs: which files a Containerfile's `COPY`/`ADD`/bind mounts
//! read, honouring `.containerignore` / `.dockerignore`, and their hashes.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use reagent_containerfile::ContextSource;

/// One entry of the build context that a build reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path relative to the context root, `/`-separated; folders end in `/`.
    pub path: String,
    /// blake3 over the entry's type, executable bit and content (or link target).
    pub hash: blake3::Hash,
}

/// Why a source could not be resolved; the loader adds the Containerfile and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextProblem {
    /// The path climbs out of the context with `..`.
    Outside(String),
    /// Nothing in the context has that path (or matches the glob).
    Missing(String),
    /// The path exists but `.containerignore`/`.dockerignore` excludes it.
    Ignored(String),
    /// Reading failed.
    Io(String, String),
    /// The source is a symlink whose target (absolute, or climbing out with `..`) is not
    /// part of the context: `(source, target)`.
    LinkOutside(String, String),
    /// The ignore file cannot be used: it is not a readable UTF-8 file, or a pattern is bad.
    IgnoreFile {
        /// `.containerignore` or `.dockerignore`.
        file: String,
        /// The 1-based line at fault, when there is one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

impl std::fmt::Display for ContextProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextProblem::Outside(p) => write!(f, "source `{p}` is outside the build context"),
            ContextProblem::Missing(p) => {
                write!(f, "source `{p}` does not exist in the build context")
            }
            ContextProblem::Ignored(p) => {
                write!(f, "source `{p}` is excluded by the context's ignore file")
            }
            ContextProblem::Io(p, e) => write!(f, "cannot read `{p}`: {e}"),
            ContextProblem::LinkOutside(p, t) => write!(
                f,
                "source `{p}` is a symlink to `{t}`, outside the build context"
            ),
            ContextProblem::IgnoreFile { message, .. } => f.write_str(message),
        }
    }
}

/// The files of one build context that a Containerfile reads.
pub struct Context {
    root: PathBuf,
    ignore: Option<Gitignore>,
}

impl Context {
    /// A context rooted at `root`, reading its `.containerignore` (or, failing
    /// that, `.dockerignore`). A malformed ignore pattern is reported.
    pub fn open(root: &Path) -> Result<Context, ContextProblem> {
        let mut ignore = None;
        for name in [".containerignore", ".dockerignore"] {
            let file = root.join(name);
            // Present in any form: one that cannot be read must not be skipped silently,
            // or files it excludes would be sent and hashed.
            if std::fs::symlink_metadata(&file).is_err() {
                continue;
            }
            let problem = |e: crate::ProjectError| ContextProblem::IgnoreFile {
                file: name.into(),
                line: e.line,
                message: e.message,
            };
            let text = crate::input::read_text(&file, Path::new(name)).map_err(problem)?;
            ignore = Some(
                docker_ignore(root, &text).map_err(|e| ContextProblem::IgnoreFile {
                    file: name.into(),
                    line: None,
                    message: format!("bad pattern in `{name}`: {e}"),
                })?,
            );
            break;
        }
        Ok(Context {
            root: root.to_path_buf(),
            ignore,
        })
    }

    /// A folder read whole, with no ignore file (e.g. a portage config folder).
    pub fn without_ignore(root: &Path) -> Result<Context, ContextProblem> {
        Ok(Context {
            root: root.to_path_buf(),
            ignore: None,
        })
    }

    /// Every entry below the root, hashed.
    pub fn all_entries(&self) -> Result<Vec<ContextEntry>, ContextProblem> {
        let all = ContextSource {
            line: 0,
            instruction: String::new(),
            path: ".".into(),
        };
        self.entries(std::slice::from_ref(&all)).map_err(|(_, p)| p)
    }

    fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        match &self.ignore {
            Some(g) => g.matched_path_or_any_parents(rel, is_dir).is_ignore(),
            None => false,
        }
    }

    /// Resolve every source to context entries, hashed; sorted by path, no duplicates.
    pub fn entries(
        &self,
        sources: &[ContextSource],
    ) -> Result<Vec<ContextEntry>, (usize, ContextProblem)> {
        let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
        for src in sources {
            self.resolve(&src.path, &mut found)
                .map_err(|p| (src.line, p))?;
        }
        let mut out = Vec::with_capacity(found.len());
        for (rel, abs) in found {
            let hash = hash_entry(&abs).map_err(|e| (0, ContextProblem::Io(rel.clone(), e)))?;
            out.push(ContextEntry { path: rel, hash });
        }
        Ok(out)
    }

    fn resolve(
        &self,
        written: &str,
        found: &mut BTreeMap<String, PathBuf>,
    ) -> Result<(), ContextProblem> {
        let rel = normalize(written).ok_or_else(|| ContextProblem::Outside(written.to_string()))?;
        if has_glob(&rel) {
            let glob = glob(&rel).map_err(|e| ContextProblem::Io(written.to_string(), e))?;
            let mut any = false;
            for entry in walkdir::WalkDir::new(&self.root)
                .min_depth(1)
                .sort_by_file_name()
            {
                let entry =
                    entry.map_err(|e| ContextProblem::Io(written.to_string(), e.to_string()))?;
                let r = rel_of(&self.root, entry.path());
                if glob.is_match(&r) {
                    any = true;
                    self.collect(&r, found)?;
                }
            }
            if !any {
                return Err(ContextProblem::Missing(written.to_string()));
            }
            return Ok(());
        }
        if rel.is_empty() {
            return self.collect_dir("", found);
        }
        let abs = self.root.join(&rel);
        let meta = std::fs::symlink_metadata(&abs)
            .map_err(|_| ContextProblem::Missing(written.to_string()))?;
        if self.ignored(&rel, meta.is_dir()) {
            return Err(ContextProblem::Ignored(written.to_string()));
        }
        self.collect(&rel, found)
    }

    /// Add `rel` (a file, link or folder) and, for a folder, everything below it not ignored.
    fn collect(
        &self,
        rel: &str,
        found: &mut BTreeMap<String, PathBuf>,
    ) -> Result<(), ContextProblem> {
        let abs = self.root.join(rel);
        let meta = std::fs::symlink_metadata(&abs)
            .map_err(|e| ContextProblem::Io(rel.to_string(), e.to_string()))?;
        if self.ignored(rel, meta.is_dir()) {
            return Ok(());
        }
        if meta.file_type().is_symlink() {
            // A source that is itself a link is followed by the build: its target must be
            // inside the context. Links met while copying a folder are copied as links.
            let target = std::fs::read_link(&abs)
                .map_err(|e| ContextProblem::Io(rel.to_string(), e.to_string()))?;
            let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
            let inside = !target.is_absolute()
                && target
                    .to_str()
                    .and_then(|t| normalize(&format!("{parent}/{t}")))
                    .is_some();
            if !inside {
                return Err(ContextProblem::LinkOutside(
                    rel.to_string(),
                    target.display().to_string(),
                ));
            }
        }
        if meta.is_dir() {
            self.collect_dir(rel, found)
        } else {
            found.insert(rel.to_string(), abs);
            Ok(())
        }
    }

    fn collect_dir(
        &self,
        rel: &str,
        found: &mut BTreeMap<String, PathBuf>,
    ) -> Result<(), ContextProblem> {
        let dir = if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        };
        let mut walk = walkdir::WalkDir::new(&dir).sort_by_file_name().into_iter();
        while let Some(entry) = walk.next() {
            let entry = entry.map_err(|e| ContextProblem::Io(rel.to_string(), e.to_string()))?;
            let r = rel_of(&self.root, entry.path());
            let is_dir = entry.file_type().is_dir();
            if !r.is_empty() && self.ignored(&r, is_dir) {
                if is_dir {
                    walk.skip_current_dir();
                }
                continue;
            }
            if r.is_empty() {
                continue; // the context root itself
            }
            if is_dir {
                found.insert(format!("{r}/"), entry.path().to_path_buf());
            } else {
                found.insert(r, entry.path().to_path_buf());
            }
        }
        Ok(())
    }
}

/// blake3 over the entry's type, executable bit and content (files), target (links) or nothing (folders).
fn hash_entry(path: &Path) -> Result<blake3::Hash, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    let mut h = blake3::Hasher::new();
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).map_err(|e| e.to_string())?;
        h.update(b"link\0");
        h.update(target.as_os_str().as_encoded_bytes());
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
        let exec = meta.permissions().mode() & 0o111 != 0;
        h.update(if exec { b"exec\0" } else { b"file\0" });
        let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let mut content = blake3::Hasher::new();
        std::io::copy(&mut std::io::BufReader::new(f), &mut content).map_err(|e| e.to_string())?;
        h.update(content.finalize().as_bytes());
    }
    Ok(h.finalize())
}

/// A COPY source as a context-relative, `/`-separated path; `None` if it climbs out.
/// Like buildah, a leading `/` means the context root.
fn normalize(written: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(written).components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(p) => parts.push(p.to_str()?),
        }
    }
    Some(parts.join("/"))
}

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.to_string())
}

fn rel_of(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// Docker's ignore-file rules on the `ignore` crate's gitignore matcher: every
/// pattern is anchored at the context root, `!` re-includes, `#` comments.
fn docker_ignore(root: &Path, text: &str) -> Result<Gitignore, String> {
    let mut b = GitignoreBuilder::new(root);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (neg, pat) = match line.strip_prefix('!') {
            Some(p) => ("!", p.trim()),
            None => ("", line),
        };
        let pat = normalize(pat).unwrap_or_default();
        if pat.is_empty() {
            continue;
        }
        b.add_line(None, &format!("{neg}/{pat}"))
            .map_err(|e| e.to_string())?;
    }
    b.build().map_err(|e| e.to_string())
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
            .map(|e| e.path)
            .collect()
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
        let e = c.entries(&[src("conf/notes.log")]).unwrap_err();
        assert_eq!(e, (3, ContextProblem::Ignored("conf/notes.log".into())));
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
    fn missing_and_outside_sources_are_errors() {
        let d = ctx();
        let c = Context::open(d.path()).unwrap();
        assert_eq!(
            c.entries(&[src("nope")]).unwrap_err().1,
            ContextProblem::Missing("nope".into())
        );
        assert_eq!(
            c.entries(&[src("../etc/passwd")]).unwrap_err().1,
            ContextProblem::Outside("../etc/passwd".into())
        );
        assert_eq!(
            c.entries(&[src("*.nothing")]).unwrap_err().1,
            ContextProblem::Missing("*.nothing".into())
        );
        // `..` that stays inside is fine.
        assert_eq!(paths(&c, &["conf/../app.conf"]), ["app.conf"]);
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
}
