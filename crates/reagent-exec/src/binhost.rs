//! The binary package cache: one portage `PKGDIR` shared by every build of a
//! project, and, with `[binhost] shared = true`, by every machine that shares
//! the project's registry.
//!
//! The cache is a folder in the state folder (`binpkgs/`), mounted into every
//! `RUN` step of every image at `[binhost] target` (portage's default `PKGDIR`,
//! `/var/cache/binpkgs`), so a Containerfile needs only `emerge --usepkg
//! --buildpkg …` (or the same in its `make.conf` FEATURES). The packages never
//! enter a layer and are no input of any key: which package a build may take
//! from the cache is portage's decision (gpkg, `binpkg-multi-instance`).
//!
//! Shared through the registry, the cache travels as an image of its files,
//! `<registry>/<project>-binpkgs:latest`: pulled and merged in before a run,
//! pushed after a run that added packages. Merging only adds files a machine
//! lacks, never overwrites one, and drops portage's `Packages` index when it
//! added any, so portage rebuilds it from the files; two machines pushing at
//! once both succeed and the last push wins the tag, which at worst drops the
//! other's new packages from the shared copy (they are built again, never wrong).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reagent_backend::{Backend, BackendError, Cancel, LABEL_PROJECT};

/// The cache's folder name in the state folder.
pub const CACHE_DIR: &str = "binpkgs";

/// Label on the cache's image.
pub const LABEL_BINPKGS: &str = "org.reagent.binpkgs";

/// Why the cache could not be shared.
#[derive(Debug, thiserror::Error)]
pub enum BinhostError {
    /// Reading or writing the cache folder failed.
    #[error("binary package cache {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The registry or buildah failed.
    #[error("binary package cache: {0}")]
    Backend(#[from] BackendError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BinhostError + '_ {
    move |source| BinhostError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The registry reference of a project's shared cache.
pub fn remote_ref(registry: &str, project: &str) -> String {
    let repo: String = project
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "{registry}/{}-binpkgs:latest",
        repo.trim_matches(['.', '_', '-'])
    )
}

/// The cache's files (relative paths, `/`-separated) with their sizes: what a run
/// compares before and after to know whether it added packages.
pub fn inventory(cache: &Path) -> Result<BTreeMap<String, u64>, BinhostError> {
    let mut out = BTreeMap::new();
    if !cache.exists() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(cache).min_depth(1) {
        let entry = entry.map_err(|e| BinhostError::Io {
            path: cache.to_path_buf(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(cache)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .into_owned();
            let size = entry.metadata().map_err(|e| BinhostError::Io {
                path: entry.path().to_path_buf(),
                source: e.into(),
            })?;
            out.insert(rel, size.len());
        }
    }
    Ok(out)
}

/// Copy into `cache` every file of `from` it lacks (never overwriting one); drop
/// portage's `Packages` index when any was added. How many files were added.
pub fn merge_into(cache: &Path, from: &Path) -> Result<usize, BinhostError> {
    let mut added = 0;
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.map_err(|e| BinhostError::Io {
            path: from.to_path_buf(),
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let dest = cache.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).map_err(io(&dest))?;
        } else if entry.file_type().is_file() && rel != Path::new("Packages") && !dest.exists() {
            // Copy to a temporary name, then rename: a reader never sees half a package.
            let tmp = dest.with_extension("reagent-partial");
            std::fs::copy(entry.path(), &tmp).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
            added += 1;
        }
    }
    if added > 0 {
        let index = cache.join("Packages");
        match std::fs::remove_file(&index) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&index)(e)),
        }
    }
    Ok(added)
}

/// Pull the shared cache `remote` and merge it into `cache`; how many files it
/// added (0 when the registry has none yet).
pub fn pull(
    backend: &dyn Backend,
    remote: &str,
    cache: &Path,
    cancel: &Cancel,
) -> Result<usize, BinhostError> {
    if !backend.remote_exists(remote)? {
        return Ok(0);
    }
    let local = local_ref(remote);
    backend.pull(remote, std::slice::from_ref(&local), cancel)?;
    let mut merged = Ok(0);
    backend.with_rootfs(&local, &mut |root| merged = merge_into(cache, root))?;
    merged
}

/// Push `cache` as the shared cache `remote`, merging in what another machine
/// pushed meanwhile first.
pub fn push(
    backend: &dyn Backend,
    remote: &str,
    project: &str,
    cache: &Path,
    log: &Path,
    cancel: &Cancel,
) -> Result<(), BinhostError> {
    pull(backend, remote, cache, cancel)?;
    let local = local_ref(remote);
    let labels = BTreeMap::from([
        (LABEL_BINPKGS.to_string(), "1".to_string()),
        (LABEL_PROJECT.to_string(), project.to_string()),
    ]);
    backend.import_tarball(cache, &labels, std::slice::from_ref(&local), log, cancel)?;
    backend.push(&local, remote, cancel)?;
    Ok(())
}

/// The local name the shared cache is pulled to and pushed from.
fn local_ref(remote: &str) -> String {
    let repo = remote
        .rsplit_once('/')
        .map_or(remote, |(_, r)| r)
        .split(':')
        .next()
        .unwrap_or("binpkgs");
    format!("localhost/{repo}:latest")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn merging_adds_what_is_missing_and_drops_the_index() {
        let cache = tempfile::tempdir().unwrap();
        let from = tempfile::tempdir().unwrap();
        write(cache.path(), "app-misc/hello/hello-1.0-1.gpkg.tar", "mine");
        write(cache.path(), "Packages", "index");
        write(from.path(), "app-misc/hello/hello-1.0-1.gpkg.tar", "theirs");
        write(from.path(), "dev-util/bdep/bdep-1.0-1.gpkg.tar", "bdep");
        write(from.path(), "Packages", "their index");
        assert_eq!(merge_into(cache.path(), from.path()).unwrap(), 1);
        let inv = inventory(cache.path()).unwrap();
        assert_eq!(
            inv.keys().collect::<Vec<_>>(),
            [
                "app-misc/hello/hello-1.0-1.gpkg.tar",
                "dev-util/bdep/bdep-1.0-1.gpkg.tar"
            ],
            "the index goes, so portage rebuilds it from the files"
        );
        assert_eq!(
            std::fs::read_to_string(cache.path().join("app-misc/hello/hello-1.0-1.gpkg.tar"))
                .unwrap(),
            "mine",
            "never overwritten"
        );
        assert_eq!(merge_into(cache.path(), from.path()).unwrap(), 0);
    }

    #[test]
    fn the_remote_name_is_a_repository_name() {
        assert_eq!(
            remote_ref("reg:5000/acme", "My Project!"),
            "reg:5000/acme/my-project-binpkgs:latest"
        );
        assert_eq!(
            local_ref("reg:5000/acme/p-binpkgs:latest"),
            "localhost/p-binpkgs:latest"
        );
    }
}
