//! Locking external inputs: resolving what `reagent.lock` lacks (or, on purpose,
//! what it already has) and writing it.
//!
//! An external image is resolved by asking its registry once
//! ([`Backend::remote_digest`]); an image no registry has — imported, built or
//! pulled by other means — is locked by the digest local storage has for it
//! ([`Backend::local_digest`]). Offline (`-R`) only local storage is asked. An
//! external seed is found in `<storedir>/builds/` ([`find_seed`]) and locked by its
//! SHA-256 and size. Entries nothing uses any more are dropped. [`relock`] decides
//! and changes nothing; [`write()`] stores the result.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use reagent_backend::{Backend, BackendError};
use reagent_graph::lockfile::{Content, Entry, Tarball, LOCK_FILE};
use reagent_graph::{Lockfile, Project, ProjectError, Recipe};
use reagent_state::StateError;
use sha2::Digest;

/// The extensions catalyst gives a stage tarball, in the order a seed is looked for
/// after the bare `source_subpath`.
pub const SEED_EXTENSIONS: [&str; 9] = [
    "tar.xz", "tar.bz2", "tar.gz", "tar.zst", "tar.lzma", "tar.lzip", "tar.lzop", "tar", "squashfs",
];

/// What to resolve.
pub struct Options<'a> {
    /// Ask no registry (`-R`): images are locked only from local storage.
    pub offline: bool,
    /// Resolve again the entries this accepts (`reagent lock --update [REGEX]`), not
    /// only those the lock lacks.
    pub update: Option<&'a dyn Fn(&Entry) -> bool>,
}

/// Where a locked value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The image's registry.
    Registry,
    /// Local storage (no registry has the image, or none was asked).
    Local,
    /// The seed tarball in catalyst's storedir.
    File,
}

/// One change to the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An entry the lock lacked.
    Added {
        /// What.
        entry: Entry,
        /// Its content.
        content: Content,
        /// Where it was resolved.
        source: Source,
    },
    /// An entry resolved again to other content.
    Updated {
        /// What.
        entry: Entry,
        /// Its content before.
        old: Content,
        /// Its content now.
        new: Content,
        /// Where it was resolved.
        source: Source,
    },
    /// An entry nothing in the project uses any more.
    Removed {
        /// What.
        entry: Entry,
        /// What it was pinned to.
        old: Content,
    },
}

impl fmt::Display for Change {
    /// `alpine:3.20 locked at sha256:ab12…`, `gentoo/stage3:latest sha256:ab12… →
    /// sha256:cd34…`, `busybox:1.36 removed (nothing uses it)`; `(from local
    /// storage)` when no registry had the image.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = |source: &Source| match source {
            Source::Local => " (from local storage)",
            _ => "",
        };
        match self {
            Change::Added {
                entry,
                content,
                source,
            } => write!(f, "{entry} locked at {}{}", content.short(), from(source)),
            Change::Updated {
                entry,
                old,
                new,
                source,
            } => write!(
                f,
                "{entry} {} → {}{}",
                old.short(),
                new.short(),
                from(source)
            ),
            Change::Removed { entry, .. } => write!(f, "{entry} removed (nothing uses it)"),
        }
    }
}

/// The lock after [`relock`], and how it differs from the project's.
#[derive(Debug, Clone)]
pub struct Relock {
    /// The new lock.
    pub lock: Lockfile,
    /// What changed, in entry order (removals first).
    pub changes: Vec<Change>,
    /// How many entries were resolved (whether or not they changed).
    pub resolved: usize,
}

/// Why locking failed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Inputs that cannot be resolved from what there is (no registry has the image and
    /// local storage does not either, a seed is not in the storedir, a platform a list
    /// lacks): each at the place the project names it.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Unresolved(Vec<ProjectError>),
    /// A registry could not be asked (unreachable, refused) and local storage has no
    /// such image either.
    #[error("{at}: cannot lock `{entry}`: {source} (and local storage has no such image)")]
    Registry {
        /// The input, as shown.
        entry: String,
        /// Where the project names it (`file:line`).
        at: String,
        /// What the registry said.
        source: Box<BackendError>,
    },
    /// Local storage could not be asked.
    #[error("cannot lock `{entry}`: {source}")]
    Backend {
        /// The input, as shown.
        entry: String,
        /// Why.
        source: Box<BackendError>,
    },
    /// A seed tarball could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The tarball.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The lock file could not be written.
    #[error(transparent)]
    Write(#[from] StateError),
}

/// What resolving one entry can end in besides a value.
enum Problem {
    /// Bad input, at the entry's place.
    Unresolved(String),
    /// A failure of the outside world.
    Fatal(LockError),
}

/// Work out the lock `project` needs: its lock without the entries nothing uses,
/// with every entry it lacks resolved, and (with [`Options::update`]) the matching
/// entries resolved again. Nothing is written.
pub fn relock(
    project: &Project,
    backend: &dyn Backend,
    opts: &Options<'_>,
) -> Result<Relock, LockError> {
    let mut lock = project.lock.clone();
    let mut changes = Vec::new();
    for entry in &project.unused {
        if let Some(old) = lock.remove(entry) {
            changes.push(Change::Removed {
                entry: entry.clone(),
                old,
            });
        }
    }
    // What to resolve, each with where the project (or the lock) names it.
    let mut wanted: BTreeMap<Entry, Site> = project
        .unlocked
        .iter()
        .map(|u| (u.entry.clone(), (u.file.clone(), u.line)))
        .collect();
    if let Some(update) = opts.update {
        for (entry, _) in lock.entries() {
            if update(entry) {
                let site = (PathBuf::from(LOCK_FILE), lock.line(entry));
                wanted.entry(entry.clone()).or_insert(site);
            }
        }
    }
    let seeds = storedirs(project);
    let mut unresolved = Vec::new();
    let resolved = wanted.len();
    for (entry, site) in wanted {
        let at = error_at(&site, String::new()).location();
        let found = match &entry {
            Entry::Image {
                reference,
                platform,
            } => resolve_image(backend, reference, platform.as_deref(), opts.offline, &at)
                .map(|(d, source)| (Content::Digest(d), source)),
            Entry::Seed(path) => resolve_seed(seeds.get(path.as_str()).map(PathBuf::as_path), path)
                .map(|t| (Content::Tarball(t), Source::File)),
        };
        let (content, source) = match found {
            Ok(found) => found,
            Err(Problem::Unresolved(message)) => {
                unresolved.push(error_at(&site, message));
                continue;
            }
            Err(Problem::Fatal(e)) => return Err(e),
        };
        match lock.set(entry.clone(), content.clone()) {
            None => changes.push(Change::Added {
                entry,
                content,
                source,
            }),
            Some(old) if old != content => changes.push(Change::Updated {
                entry,
                old,
                new: content,
                source,
            }),
            Some(_) => {}
        }
    }
    if !unresolved.is_empty() {
        return Err(LockError::Unresolved(unresolved));
    }
    Ok(Relock {
        lock,
        changes,
        resolved,
    })
}

/// Write `lock` to the project's `reagent.lock` (atomically) unless the file already
/// holds exactly its text; whether it wrote.
pub fn write(root: &Path, lock: &Lockfile) -> Result<bool, LockError> {
    let path = root.join(LOCK_FILE);
    let text = lock.render();
    if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(false);
    }
    reagent_state::write_atomic(&path, text.as_bytes())?;
    Ok(true)
}

/// The tarball an external seed names: `<storedir>/builds/<source_subpath>` itself,
/// else with the first of [`SEED_EXTENSIONS`] that exists (as catalyst finds it).
pub fn find_seed(storedir: &Path, source_subpath: &str) -> Option<PathBuf> {
    let bare = storedir.join("builds").join(source_subpath);
    if bare.is_file() {
        return Some(bare);
    }
    SEED_EXTENSIONS
        .iter()
        .map(|ext| {
            let mut name = bare.clone().into_os_string();
            name.push(".");
            name.push(ext);
            PathBuf::from(name)
        })
        .find(|p| p.is_file())
}

/// SHA-256 and size of a tarball, read once.
pub fn hash_tarball(path: &Path) -> Result<Tarball, std::io::Error> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Tarball {
        sha256: format!("{:x}", hasher.finalize()),
        size,
    })
}

/// The storedir each external seed is read from, by its `source_subpath`.
fn storedirs(project: &Project) -> BTreeMap<&str, PathBuf> {
    project
        .graph
        .nodes()
        .filter_map(|n| match &n.recipe {
            Recipe::Stage(s) => s
                .external_source
                .as_deref()
                .map(|src| (src, s.storedir.clone())),
            _ => None,
        })
        .collect()
}

/// The digest an image is locked to: its registry's, else local storage's.
fn resolve_image(
    backend: &dyn Backend,
    reference: &str,
    platform: Option<&str>,
    offline: bool,
    at: &str,
) -> Result<(String, Source), Problem> {
    let mut registry_failed = None;
    if !offline {
        match backend.remote_digest(reference, platform) {
            Ok(Some(digest)) => return Ok((digest, Source::Registry)),
            Ok(None) => {}
            Err(e @ BackendError::NoPlatform { .. }) => {
                return Err(Problem::Unresolved(e.to_string()));
            }
            Err(BackendError::Interrupted) => {
                return Err(Problem::Fatal(LockError::Backend {
                    entry: Entry::image(reference, platform).to_string(),
                    source: Box::new(BackendError::Interrupted),
                }))
            }
            Err(e) => registry_failed = Some(e),
        }
    }
    let local = backend.local_digest(reference).map_err(|source| {
        Problem::Fatal(LockError::Backend {
            entry: Entry::image(reference, platform).to_string(),
            source: Box::new(source),
        })
    })?;
    if let Some(digest) = local {
        return Ok((digest, Source::Local));
    }
    Err(match registry_failed {
        Some(source) => Problem::Fatal(LockError::Registry {
            entry: Entry::image(reference, platform).to_string(),
            at: at.to_string(),
            source: Box::new(source),
        }),
        None if offline => Problem::Unresolved(format!(
            "`{reference}` is not in {LOCK_FILE}, and local storage has no such image (-R asks no registry: build without -R, or run `reagent lock`)"
        )),
        None => Problem::Unresolved(format!(
            "`{reference}` cannot be locked: its registry has no such image, and neither has local storage"
        )),
    })
}

/// A seed's tarball, found in its storedir and hashed.
fn resolve_seed(storedir: Option<&Path>, path: &str) -> Result<Tarball, Problem> {
    let Some(storedir) = storedir else {
        return Err(Problem::Unresolved(format!(
            "no stage is seeded from `{path}`"
        )));
    };
    let Some(file) = find_seed(storedir, path) else {
        return Err(Problem::Unresolved(format!(
            "external seed `{path}` is not in {} (looked for it as is and with .{})",
            storedir.join("builds").display(),
            SEED_EXTENSIONS.join(", .")
        )));
    };
    hash_tarball(&file).map_err(|source| Problem::Fatal(LockError::Io { path: file, source }))
}

/// A file relative to the project, and a line in it when known.
type Site = (PathBuf, Option<usize>);

/// An error at `site`.
fn error_at((file, line): &Site, message: String) -> ProjectError {
    match line {
        Some(line) => ProjectError::at(file, *line, message),
        None => ProjectError::in_file(file, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reagent_backend::fake::{Call, FakeBackend};
    use reagent_testkit::ProjectDir;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const L: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn project() -> ProjectDir {
        let p = ProjectDir::new("[image.arm]\nplatform = \"linux/arm64\"\n");
        p.image("app", "FROM alpine:3.20\nRUN true\n")
            .image("arm", "FROM alpine:3.20\n")
            .image("mini", "FROM mini-gentoo/stage3:r1\n");
        p
    }

    fn load(p: &ProjectDir) -> Project {
        Project::load(p.root()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn missing() -> Options<'static> {
        Options {
            offline: false,
            update: None,
        }
    }

    fn words(r: &Relock) -> Vec<String> {
        r.changes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn each_reference_is_asked_once_and_local_only_images_keep_their_digest() {
        let p = project();
        let fake = FakeBackend::new();
        fake.set_remote_digest("alpine:3.20", None, A);
        fake.set_remote_digest("alpine:3.20", Some("linux/arm64"), B);
        fake.add_base(&["mini-gentoo/stage3:r1"], L);
        let r = relock(&load(&p), &fake, &missing()).unwrap();
        assert_eq!(
            words(&r),
            [
                "alpine:3.20 locked at sha256:aaaaaaaaaaaa…",
                "alpine:3.20 (linux/arm64) locked at sha256:bbbbbbbbbbbb…",
                "mini-gentoo/stage3:r1 locked at sha256:111111111111… (from local storage)",
            ]
        );
        let asked = fake
            .calls()
            .into_iter()
            .filter(|c| matches!(c, Call::RemoteDigest { .. }))
            .count();
        assert_eq!(asked, 3, "once per reference and platform");
        assert!(write(p.root(), &r.lock).unwrap());
        assert!(
            !write(p.root(), &r.lock).unwrap(),
            "unchanged: not rewritten"
        );
        let locked = load(&p);
        assert!(locked.lock_is_exact());
        assert_eq!(locked.lock, r.lock);

        // Locked: nothing to ask, nothing to change, even with the registry down.
        fake.set_remote_down(true);
        let again = relock(&locked, &fake, &missing()).unwrap();
        assert!(again.changes.is_empty());
        assert_eq!(again.resolved, 0);
    }

    #[test]
    fn an_update_moves_only_the_matching_entries() {
        let p = project();
        let fake = FakeBackend::new();
        fake.set_remote_digest("alpine:3.20", None, A);
        fake.set_remote_digest("alpine:3.20", Some("linux/arm64"), A);
        fake.add_base(&["mini-gentoo/stage3:r1"], L);
        write(
            p.root(),
            &relock(&load(&p), &fake, &missing()).unwrap().lock,
        )
        .unwrap();
        fake.set_remote_digest("alpine:3.20", None, B);
        fake.set_remote_digest("alpine:3.20", Some("linux/arm64"), B);
        let only_arm = |e: &Entry| {
            matches!(
                e,
                Entry::Image {
                    platform: Some(_),
                    ..
                }
            )
        };
        let r = relock(
            &load(&p),
            &fake,
            &Options {
                offline: false,
                update: Some(&only_arm),
            },
        )
        .unwrap();
        assert_eq!(
            words(&r),
            ["alpine:3.20 (linux/arm64) sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb…"]
        );
        assert_eq!(r.lock.image_digest("alpine:3.20", None), Some(A));
    }

    #[test]
    fn offline_locks_from_local_storage_or_names_the_place() {
        let p = project();
        let fake = FakeBackend::new();
        fake.set_remote_digest("alpine:3.20", None, A);
        fake.add_base(&["mini-gentoo/stage3:r1"], L);
        let offline = Options {
            offline: true,
            update: None,
        };
        let Err(LockError::Unresolved(errors)) = relock(&load(&p), &fake, &offline) else {
            panic!("alpine is in no local storage");
        };
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0]
                .starts_with("images/app/Containerfile:1: `alpine:3.20` is not in reagent.lock"),
            "{errors:?}"
        );
        assert!(errors[0].contains("-R asks no registry"), "{errors:?}");
        assert!(!fake
            .calls()
            .iter()
            .any(|c| matches!(c, Call::RemoteDigest { .. })));
    }

    #[test]
    fn a_down_registry_falls_back_to_local_storage_else_fails() {
        let p = project();
        let fake = FakeBackend::new();
        fake.set_remote_down(true);
        fake.add_base(&["alpine:3.20"], A);
        fake.add_base(&["mini-gentoo/stage3:r1"], L);
        let r = relock(&load(&p), &fake, &missing()).unwrap();
        assert_eq!(
            r.lock.image_digest("alpine:3.20", Some("linux/arm64")),
            Some(A)
        );
        let fresh = FakeBackend::new();
        fresh.set_remote_down(true);
        let e = relock(&load(&p), &fresh, &missing()).unwrap_err();
        assert!(matches!(e, LockError::Registry { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("images/app/Containerfile:1: cannot lock `alpine:3.20`"),
            "{e}"
        );
    }

    #[test]
    fn unused_entries_are_dropped_and_seeds_hashed() {
        let p = ProjectDir::new("[stages]\nstoredir = \"catalyst\"\n");
        p.write(
            "stages/stage1.spec",
            "subarch: amd64\ntarget: stage1\nversion_stamp: x\nrel_type: r\nprofile: p\nsnapshot_treeish: t\nsource_subpath: r/stage3-latest\n",
        );
        let mut stale = Lockfile::new();
        stale.set_image("gone:1", None, A);
        p.write(LOCK_FILE, &stale.render());
        let fake = FakeBackend::new();
        let e = relock(&load(&p), &fake, &missing()).unwrap_err();
        assert!(
            e.to_string()
                .contains("external seed `r/stage3-latest` is not in"),
            "{e}"
        );
        assert!(e.to_string().starts_with("stages/stage1.spec:7:"), "{e}");
        p.write("catalyst/builds/r/stage3-latest.tar.xz", "abc");
        let r = relock(&load(&p), &fake, &missing()).unwrap();
        assert_eq!(
            words(&r),
            [
                "gone:1 removed (nothing uses it)",
                "seed r/stage3-latest locked at sha256:ba7816bf8f01…"
            ]
        );
        assert_eq!(r.lock.seed("r/stage3-latest").unwrap().size, 3);
        assert_eq!(
            find_seed(&p.path("catalyst"), "r/stage3-latest"),
            Some(p.path("catalyst/builds/r/stage3-latest.tar.xz"))
        );
    }
}
