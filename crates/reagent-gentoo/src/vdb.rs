//! Reading the installed-package database (`/var/db/pkg/CATEGORY/PF/`).
//!
//! [`read_root`] is the one to use on an image's root filesystem mounted on
//! the host: it refuses symbolic links on the way to the database, which
//! could lead out of the image into the host, and treats a missing database
//! as no packages. [`read`] reads any root's database and requires it to
//! exist. Neither follows a link inside the database: linked category or
//! package folders are skipped and a linked metadata file is an error.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::cpv::{is_valid_category, is_valid_slot_name, split_pf};
use crate::quote::quoted;
use crate::version::Version;

/// A VDB that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum VdbError {
    /// A directory or file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A metadata file holds an invalid value.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// A folder on the way to the database, or a metadata file in it, is a
    /// symbolic link. In a mounted image, an absolute link resolves on the
    /// host, so following it could read the host's files.
    #[error(
        "/{} is a symbolic link; reagent reads /var/db/pkg only as a real folder inside the image",
        path.display()
    )]
    Symlink {
        /// The link, relative to the root that was read, e.g. `var/db`.
        path: PathBuf,
    },
}

/// One installed package.
#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    /// The category, e.g. `dev-libs`.
    pub category: String,
    /// The package name, e.g. `openssl`.
    pub name: String,
    /// The full version including revision.
    pub version: Version,
    /// The slot (the part of `SLOT` before `/`); `0` when `SLOT` is missing.
    pub slot: String,
    /// The sub-slot; equal to `slot` when `SLOT` has none.
    pub subslot: String,
    /// Enabled USE flags: the words of `USE` that are in `IUSE` (all words
    /// of `USE` when `IUSE` is missing), so implicit flags such as the
    /// architecture do not show.
    pub use_flags: BTreeSet<String>,
    /// `IUSE` flag names, without `+`/`-` defaults.
    pub iuse: BTreeSet<String>,
    /// The `repository` the package came from, if recorded.
    pub repository: Option<String>,
    /// `KEYWORDS` words.
    pub keywords: Vec<String>,
    /// `CHOST`, if recorded.
    pub chost: Option<String>,
    /// `LICENSE`, as recorded: Gentoo's license syntax (`GPL-2 || ( MIT BSD )`),
    /// which portage writes with USE conditionals already resolved; see
    /// [`crate::license`].
    pub license: Option<String>,
    /// `HOMEPAGE`: one or more URLs separated by spaces.
    pub homepage: Option<String>,
    /// `DESCRIPTION`: the package's one-line summary.
    pub description: Option<String>,
}

impl Installed {
    /// `category/name`.
    pub fn cp(&self) -> String {
        format!("{}/{}", self.category, self.name)
    }

    /// `category/name-version`.
    pub fn cpv(&self) -> String {
        format!("{}/{}-{}", self.category, self.name, self.version)
    }

    /// A package with the given slot and no metadata, mostly for tests and
    /// callers that build package lists by hand. `slot` may be `slot/subslot`.
    ///
    /// ```
    /// use reagent_gentoo::Installed;
    /// let p = Installed::new("dev-libs/foo-1.2-r1", "2/2.1").unwrap();
    /// assert_eq!((p.slot.as_str(), p.subslot.as_str()), ("2", "2.1"));
    /// assert_eq!(p.cpv(), "dev-libs/foo-1.2-r1");
    /// ```
    pub fn new(cpv: &str, slot: &str) -> Result<Installed, crate::CpvError> {
        let parsed = crate::Cpv::parse(cpv)?;
        let (slot, subslot) = split_slot(slot);
        Ok(Installed {
            category: parsed.category,
            name: parsed.name,
            version: parsed.version,
            slot,
            subslot,
            use_flags: BTreeSet::new(),
            iuse: BTreeSet::new(),
            repository: None,
            keywords: Vec::new(),
            chost: None,
            license: None,
            homepage: None,
            description: None,
        })
    }
}

impl fmt::Display for Installed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.cpv(), self.slot)
    }
}

fn split_slot(text: &str) -> (String, String) {
    match text.split_once('/') {
        Some((s, sub)) => (s.to_string(), sub.to_string()),
        None => (text.to_string(), text.to_string()),
    }
}

/// Reads the package database of an image's root filesystem mounted at
/// `root`, sorted by category, name and version, as [`read`] does.
///
/// `var`, `var/db` and `var/db/pkg` must be real folders: a symbolic link
/// among them is [`VdbError::Symlink`], since it could lead out of the image
/// into the host. If one of them is missing or not a folder, nothing was
/// installed through portage (a busybox base, say) and the list is empty;
/// any other failure to look at them is [`VdbError::Io`].
///
/// The image must not change while it is read: each path is checked, then
/// opened.
///
/// ```
/// let root = tempfile::tempdir().unwrap();
/// assert!(reagent_gentoo::vdb::read_root(root.path()).unwrap().is_empty());
/// ```
pub fn read_root(root: &Path) -> Result<Vec<Installed>, VdbError> {
    for rel in ["var", "var/db", "var/db/pkg"] {
        let path = root.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(VdbError::Symlink { path: rel.into() })
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Ok(Vec::new()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(VdbError::Io { path, source }),
        }
    }
    read(root)
}

/// Reads `root/var/db/pkg`, sorted by category, name and version. A missing
/// database is an error, and links on the way to it are followed; for a
/// mounted image use [`read_root`].
///
/// Entries that are not package directories are skipped: files, symbolic
/// links, hidden entries, `-MERGING-*` directories of interrupted merges, and
/// directories whose names are not a valid category or `PF`. A package's
/// metadata files (`SLOT`, `USE`, ...) must be regular files when present:
/// a symbolic link is [`VdbError::Symlink`], anything else (a folder, a
/// FIFO, a device) is [`VdbError::Io`].
pub fn read(root: &Path) -> Result<Vec<Installed>, VdbError> {
    let vdb = root.join("var/db/pkg");
    let mut out = Vec::new();
    for category in sorted_dirs(&vdb)? {
        let cat_name = file_name(&category);
        if !is_valid_category(&cat_name) {
            continue;
        }
        for pkg_dir in sorted_dirs(&category)? {
            let pf = file_name(&pkg_dir);
            if pf.starts_with("-MERGING-") {
                continue;
            }
            let Ok((name, version)) = split_pf(&pf) else {
                continue;
            };
            out.push(read_package(
                root,
                &pkg_dir,
                cat_name.clone(),
                name,
                version,
            )?);
        }
    }
    out.sort_by(|a, b| {
        (&a.category, &a.name)
            .cmp(&(&b.category, &b.name))
            .then_with(|| a.version.cmp(&b.version))
    });
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>, VdbError> {
    let io = |source| VdbError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type().map_err(io)?.is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Reads a one-line metadata file of the package folder `dir` under `root`;
/// `None` when it does not exist. It must be a regular file, not a link (which
/// could lead out of the image) nor a FIFO or device (which could block or
/// never end).
fn read_value(root: &Path, dir: &Path, file: &str) -> Result<Option<String>, VdbError> {
    let path = dir.join(file);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            return Err(VdbError::Symlink { path: rel });
        }
        Ok(m) if !m.is_file() => {
            let source = io::Error::new(io::ErrorKind::InvalidData, "not a regular file");
            return Err(VdbError::Io { path, source });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(VdbError::Io { path, source }),
    }
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).trim().to_string())),
        Err(source) => Err(VdbError::Io { path, source }),
    }
}

fn read_package(
    root: &Path,
    dir: &Path,
    category: String,
    name: String,
    version: Version,
) -> Result<Installed, VdbError> {
    let value = |file| read_value(root, dir, file);
    let slot_text = value("SLOT")?.unwrap_or_else(|| "0".to_string());
    let (slot, subslot) = split_slot(&slot_text);
    if !is_valid_slot_name(&slot) || !is_valid_slot_name(&subslot) {
        return Err(VdbError::Invalid {
            path: dir.join("SLOT"),
            line: 1,
            message: format!("invalid SLOT {}", quoted(&slot_text)),
        });
    }
    let words = |text: Option<String>| -> Vec<String> {
        text.unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let iuse_file = value("IUSE")?;
    let has_iuse = iuse_file.is_some();
    let iuse: BTreeSet<String> = words(iuse_file)
        .into_iter()
        .map(|f| f.trim_start_matches(['+', '-']).to_string())
        .collect();
    let use_flags = words(value("USE")?)
        .into_iter()
        .filter(|f| !has_iuse || iuse.contains(f))
        .collect();
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    Ok(Installed {
        category,
        name,
        version,
        slot,
        subslot,
        use_flags,
        iuse,
        repository: non_empty(value("repository")?),
        keywords: words(value("KEYWORDS")?),
        chost: non_empty(value("CHOST")?),
        license: non_empty(value("LICENSE")?),
        homepage: non_empty(value("HOMEPAGE")?),
        description: non_empty(value("DESCRIPTION")?),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a package directory under `root/var/db/pkg`.
    pub(crate) fn write_pkg(root: &Path, cat: &str, pf: &str, files: &[(&str, &str)]) {
        let dir = root.join("var/db/pkg").join(cat).join(pf);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, content) in files {
            std::fs::write(dir.join(name), content).unwrap();
        }
    }

    #[test]
    fn reads_metadata() {
        let root = tempfile::tempdir().unwrap();
        write_pkg(
            root.path(),
            "dev-libs",
            "openssl-3.0.13-r1",
            &[
                ("SLOT", "0/3\n"),
                ("USE", "amd64 asm elibc_glibc ssl\n"),
                ("IUSE", "+asm -test ssl\n"),
                ("repository", "gentoo\n"),
                ("KEYWORDS", "amd64 ~arm64\n"),
                ("CHOST", "x86_64-pc-linux-gnu\n"),
                ("LICENSE", "Apache-2.0\n"),
                (
                    "HOMEPAGE",
                    "https://openssl-library.org/ https://www.openssl.org/\n",
                ),
                (
                    "DESCRIPTION",
                    "Robust, full-featured Open Source Toolkit for the TLS protocols\n",
                ),
            ],
        );
        let pkgs = read(root.path()).unwrap();
        assert_eq!(pkgs.len(), 1);
        let p = &pkgs[0];
        assert_eq!(p.cpv(), "dev-libs/openssl-3.0.13-r1");
        assert_eq!((p.slot.as_str(), p.subslot.as_str()), ("0", "3"));
        let used: Vec<_> = p.use_flags.iter().map(String::as_str).collect();
        assert_eq!(used, ["asm", "ssl"]);
        assert!(p.iuse.contains("test"));
        assert_eq!(p.repository.as_deref(), Some("gentoo"));
        assert_eq!(p.keywords, ["amd64", "~arm64"]);
        assert_eq!(p.chost.as_deref(), Some("x86_64-pc-linux-gnu"));
        assert_eq!(p.license.as_deref(), Some("Apache-2.0"));
        assert_eq!(
            p.homepage.as_deref(),
            Some("https://openssl-library.org/ https://www.openssl.org/")
        );
        assert!(p.description.as_deref().unwrap().starts_with("Robust"));
    }

    #[test]
    fn missing_or_empty_sbom_fields_are_none() {
        let root = tempfile::tempdir().unwrap();
        write_pkg(
            root.path(),
            "app-misc",
            "foo-1.0",
            &[("LICENSE", "\n"), ("HOMEPAGE", "  ")],
        );
        let p = &read(root.path()).unwrap()[0];
        assert_eq!(
            (&p.license, &p.homepage, &p.description),
            (&None, &None, &None)
        );
    }

    #[test]
    fn a_linked_license_file_is_refused_unread() {
        for file in ["LICENSE", "HOMEPAGE", "DESCRIPTION"] {
            let tmp = tempfile::tempdir().unwrap();
            let secret = tmp.path().join("secret");
            std::fs::write(&secret, "host-secret\n").unwrap();
            let root = tmp.path().join("root");
            write_pkg(&root, "app-misc", "foo-1.0", &[("SLOT", "0")]);
            let link = root.join("var/db/pkg/app-misc/foo-1.0").join(file);
            std::os::unix::fs::symlink(&secret, link).unwrap();
            let err = read_root(&root).unwrap_err();
            let rel = Path::new("var/db/pkg/app-misc/foo-1.0").join(file);
            assert!(
                matches!(&err, VdbError::Symlink { path } if *path == rel),
                "{file}: {err}"
            );
            assert!(!err.to_string().contains("host-secret"), "{err}");
        }
    }

    #[test]
    fn skips_merging_and_non_package_entries() {
        let root = tempfile::tempdir().unwrap();
        write_pkg(root.path(), "app-misc", "foo-1.0", &[("SLOT", "0")]);
        write_pkg(
            root.path(),
            "app-misc",
            "-MERGING-foo-1.1",
            &[("SLOT", "0")],
        );
        write_pkg(root.path(), "app-misc", "not-a-package", &[]);
        write_pkg(root.path(), "app-misc", ".hidden-1.0", &[]);
        std::fs::write(root.path().join("var/db/pkg/app-misc/stray-file-1.0"), "").unwrap();
        std::fs::write(root.path().join("var/db/pkg/.keep"), "").unwrap();
        let pkgs = read(root.path()).unwrap();
        let cpvs: Vec<_> = pkgs.iter().map(Installed::cpv).collect();
        assert_eq!(cpvs, ["app-misc/foo-1.0"]);
    }

    #[test]
    fn missing_slot_defaults_to_zero() {
        let root = tempfile::tempdir().unwrap();
        write_pkg(root.path(), "app-misc", "foo-1.0", &[("USE", "x")]);
        let p = &read(root.path()).unwrap()[0];
        assert_eq!((p.slot.as_str(), p.subslot.as_str()), ("0", "0"));
        assert_eq!(p.use_flags.len(), 1, "no IUSE: all USE words count");
    }

    #[test]
    fn invalid_slot_is_an_error_naming_the_file() {
        let root = tempfile::tempdir().unwrap();
        write_pkg(root.path(), "app-misc", "foo-1.0", &[("SLOT", "-bad")]);
        let err = read(root.path()).unwrap_err().to_string();
        assert!(err.contains("foo-1.0/SLOT:1: invalid SLOT `-bad`"), "{err}");
    }

    #[test]
    fn missing_vdb_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(read(root.path()), Err(VdbError::Io { .. })));
    }

    fn cpvs(pkgs: &[Installed]) -> Vec<String> {
        pkgs.iter().map(Installed::cpv).collect()
    }

    #[test]
    fn read_root_reads_a_normal_tree() {
        let root = tempfile::tempdir().unwrap();
        write_pkg(root.path(), "app-misc", "foo-1.0", &[("SLOT", "0")]);
        write_pkg(root.path(), "dev-libs", "bar-2-r1", &[("SLOT", "2/2.1")]);
        let pkgs = read_root(root.path()).unwrap();
        assert_eq!(cpvs(&pkgs), ["app-misc/foo-1.0", "dev-libs/bar-2-r1"]);
        assert_eq!(pkgs[1].subslot, "2.1");
    }

    #[test]
    fn read_root_without_a_database_has_no_packages() {
        let root = tempfile::tempdir().unwrap();
        assert!(read_root(root.path()).unwrap().is_empty(), "no var");
        std::fs::create_dir_all(root.path().join("var/db")).unwrap();
        assert!(read_root(root.path()).unwrap().is_empty(), "no var/db/pkg");
        std::fs::write(root.path().join("var/db/pkg"), "").unwrap();
        assert!(read_root(root.path()).unwrap().is_empty(), "pkg is a file");
    }

    #[test]
    fn read_root_refuses_a_linked_var_db() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        write_pkg(&elsewhere, "app-misc", "foo-1.0", &[("SLOT", "0")]);
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("var")).unwrap();
        std::os::unix::fs::symlink(elsewhere.join("var/db"), root.join("var/db")).unwrap();
        let err = read_root(&root).unwrap_err();
        assert!(
            matches!(&err, VdbError::Symlink { path } if path == Path::new("var/db")),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "/var/db is a symbolic link; reagent reads /var/db/pkg only as a real folder inside the image"
        );
        // `read` follows it: it is not for mounted images.
        assert_eq!(cpvs(&read(&root).unwrap()), ["app-misc/foo-1.0"]);
    }

    #[test]
    fn read_root_refuses_a_link_at_each_level() {
        for rel in ["var", "var/db", "var/db/pkg"] {
            let tmp = tempfile::tempdir().unwrap();
            let elsewhere = tmp.path().join("elsewhere");
            write_pkg(&elsewhere, "app-misc", "foo-1.0", &[]);
            let root = tmp.path().join("root");
            let link = root.join(rel);
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(elsewhere.join(rel), &link).unwrap();
            let err = read_root(&root).unwrap_err();
            assert!(
                matches!(&err, VdbError::Symlink { path } if path == Path::new(rel)),
                "{rel}: {err}"
            );
        }
    }

    #[test]
    fn linked_category_and_package_folders_are_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        write_pkg(&elsewhere, "app-misc", "bar-1.0", &[]);
        let root = tmp.path().join("root");
        write_pkg(&root, "app-misc", "foo-1.0", &[]);
        let vdb = root.join("var/db/pkg");
        let outside = elsewhere.join("var/db/pkg/app-misc");
        std::os::unix::fs::symlink(&outside, vdb.join("dev-libs")).unwrap();
        std::os::unix::fs::symlink(outside.join("bar-1.0"), vdb.join("app-misc/bar-1.0")).unwrap();
        assert_eq!(cpvs(&read_root(&root).unwrap()), ["app-misc/foo-1.0"]);
    }

    #[test]
    fn a_linked_metadata_file_is_refused_unread() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = tmp.path().join("secret");
        std::fs::write(&secret, "host-secret\n").unwrap();
        let root = tmp.path().join("root");
        write_pkg(&root, "app-misc", "foo-1.0", &[]);
        let slot = root.join("var/db/pkg/app-misc/foo-1.0/SLOT");
        std::os::unix::fs::symlink(&secret, slot).unwrap();
        let err = read_root(&root).unwrap_err();
        let rel = Path::new("var/db/pkg/app-misc/foo-1.0/SLOT");
        assert!(
            matches!(&err, VdbError::Symlink { path } if path == rel),
            "{err}"
        );
        assert!(!err.to_string().contains("host-secret"), "{err}");
    }

    #[test]
    fn a_metadata_file_that_is_not_a_regular_file_is_refused() {
        let root = tempfile::tempdir().unwrap();
        write_pkg(root.path(), "app-misc", "foo-1.0", &[]);
        std::fs::create_dir(root.path().join("var/db/pkg/app-misc/foo-1.0/USE")).unwrap();
        let err = read_root(root.path()).unwrap_err();
        assert!(matches!(err, VdbError::Io { .. }), "{err}");
        assert!(
            err.to_string().ends_with("foo-1.0/USE: not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn sorted_by_version() {
        let root = tempfile::tempdir().unwrap();
        write_pkg(
            root.path(),
            "dev-lang",
            "python-3.10.2",
            &[("SLOT", "3.10")],
        );
        write_pkg(root.path(), "dev-lang", "python-3.9.18", &[("SLOT", "3.9")]);
        let cpvs: Vec<_> = read(root.path())
            .unwrap()
            .iter()
            .map(Installed::cpv)
            .collect();
        assert_eq!(cpvs, ["dev-lang/python-3.9.18", "dev-lang/python-3.10.2"]);
    }
}
