//! Reading a Kubler namespace folder: `kubler.conf`, `images/*/` and
//! `builder/*/`, each with its `build.conf` and `Dockerfile.template`, and
//! (with `--kubler`) Kubler's own `kubler.conf` and `bob-core` files.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::{ImportError, Problem};
use super::shell::{ConfFile, Env};

/// Kubler's namespace settings file.
pub const KUBLER_CONF: &str = "kubler.conf";
/// An image's or builder's settings file.
pub const BUILD_CONF: &str = "build.conf";
/// An image's or builder's Dockerfile, before Kubler fills in its variables.
pub const TEMPLATE: &str = "Dockerfile.template";
/// Kubler's core files inside a Kubler checkout.
pub const CORE_DIR: &str = "engine/docker/bob-core";

/// Files of a unit folder that Kubler itself consumes or writes, which the
/// import turns into other things instead of copying.
const KUBLER_OWNED: [&str; 8] = [
    TEMPLATE,
    BUILD_CONF,
    "Dockerfile",
    "rootfs.tar",
    "PACKAGES.md",
    ".kubler-build-test.error",
    ".kubler-healthcheck.error",
    "log",
];

/// Variables Kubler unsets before sourcing a `build.conf`
/// (`source_image_conf`), so `kubler.conf` cannot set them for every image.
const PER_UNIT: [&str; 7] = [
    "STAGE3_BASE",
    "STAGE3_DATE",
    "IMAGE_PARENT",
    "BUILDER",
    "BUILDER_CAPS_SYS_PTRACE",
    "BUILDER_DOCKER_ARGS",
    "BUILDER_MOUNTS",
];

/// A Kubler image or builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// `images/<name>`.
    Image,
    /// `builder/<name>`.
    Builder,
}

impl UnitKind {
    /// The namespace sub-folder holding units of this kind.
    pub fn folder(self) -> &'static str {
        match self {
            UnitKind::Image => "images",
            UnitKind::Builder => "builder",
        }
    }
}

/// One Kubler image or builder, read.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Image or builder.
    pub kind: UnitKind,
    /// Its folder name, which is its Kubler name (`acme/<name>`).
    pub name: String,
    /// Its folder, relative to the namespace (`images/nginx`).
    pub rel: PathBuf,
    /// Its `build.conf`.
    pub conf: ConfFile,
    /// The variables its build sees: the namespace's, minus what Kubler resets
    /// per unit, then its `build.conf`.
    pub env: Env,
    /// Its `Dockerfile.template`.
    pub template: String,
    /// Files and folders of the unit folder to carry over, relative to it.
    pub files: Vec<PathBuf>,
}

impl Unit {
    /// `<folder>/<file>` relative to the namespace, for messages.
    pub fn file(&self, name: &str) -> PathBuf {
        self.rel.join(name)
    }

    /// Whether the unit folder has `name` directly in it (and it is carried over).
    pub fn has(&self, name: &str) -> bool {
        self.files.iter().any(|f| f == Path::new(name))
    }
}

/// Kubler's core files (`engine/docker/bob-core`), from a Kubler checkout.
#[derive(Debug, Clone)]
pub struct Core {
    /// The folder (as given, joined).
    pub dir: PathBuf,
    /// Its `Dockerfile.template`.
    pub template: String,
    /// Files to carry over, relative to it.
    pub files: Vec<PathBuf>,
}

/// A namespace, read.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// Its name: the `acme` of `acme/nginx`.
    pub name: String,
    /// Its folder.
    pub dir: PathBuf,
    /// The `kubler.conf` files read, in order (Kubler's own first, if given).
    pub confs: Vec<ConfFile>,
    /// The variables after them, with `NAMESPACE` set.
    pub env: Env,
    /// Images, then builders, each sorted by name.
    pub units: Vec<Unit>,
    /// Kubler's core files, when a Kubler checkout was given.
    pub core: Option<Core>,
}

impl Namespace {
    /// Read the namespace at `dir`, named `name`; `kubler` is a Kubler checkout
    /// whose `kubler.conf` is read first and whose core files are used.
    pub fn read(dir: &Path, name: &str, kubler: Option<&Path>) -> Result<Namespace, ImportError> {
        check_folder(dir)?;
        let mut confs = Vec::new();
        let mut env = Env::new();
        env.define("NAMESPACE", name);
        let mut kubler_tag = None;
        let core = match kubler {
            Some(k) => {
                // Reports name Kubler's own files by absolute path: they are
                // not under the namespace folder.
                let k = &std::path::absolute(k).unwrap_or_else(|_| k.to_path_buf());
                let conf_path = k.join(KUBLER_CONF);
                if conf_path.is_file() {
                    let conf = ConfFile::parse(&read_text(&conf_path)?, &conf_path);
                    env.source(&conf);
                    kubler_tag = env.get("IMAGE_TAG").map(str::to_string);
                    confs.push(conf);
                }
                Some(read_core(k)?)
            }
            None => None,
        };
        let conf = ConfFile::parse(&read_text(&dir.join(KUBLER_CONF))?, Path::new(KUBLER_CONF));
        env.source(&conf);
        confs.push(conf);
        // Kubler keeps an IMAGE_TAG set before the namespace's conf (`final_tag`).
        if let Some(tag) = kubler_tag {
            env.define("IMAGE_TAG", &tag);
        }
        env.define("NAMESPACE", name);

        let mut units = Vec::new();
        let mut problems = Vec::new();
        for kind in [UnitKind::Image, UnitKind::Builder] {
            for folder in unit_folders(&dir.join(kind.folder()))? {
                match read_unit(dir, kind, &folder, &env) {
                    Ok(unit) => units.push(unit),
                    Err(ImportError::Invalid(mut p)) => problems.append(&mut p),
                    Err(e) => return Err(e),
                }
            }
        }
        if !problems.is_empty() {
            return Err(ImportError::Invalid(problems));
        }
        Ok(Namespace {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            confs,
            env,
            units,
            core,
        })
    }

    /// The images, in name order.
    pub fn images(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(|u| u.kind == UnitKind::Image)
    }

    /// The builders, in name order.
    pub fn builders(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(|u| u.kind == UnitKind::Builder)
    }
}

/// Whether `dir` looks like a Kubler namespace: a folder with `kubler.conf`
/// and an `images/` or `builder/` folder.
pub fn check_folder(dir: &Path) -> Result<(), ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::NotANamespace {
            path: dir.to_path_buf(),
            why: "no such folder".to_string(),
        });
    }
    if !dir.join(KUBLER_CONF).is_file() {
        return Err(ImportError::NotANamespace {
            path: dir.to_path_buf(),
            why: format!("it has no `{KUBLER_CONF}`"),
        });
    }
    if !dir.join("images").is_dir() && !dir.join("builder").is_dir() {
        return Err(ImportError::NotANamespace {
            path: dir.to_path_buf(),
            why: "it has neither an `images/` nor a `builder/` folder".to_string(),
        });
    }
    Ok(())
}

/// The unit folders under `parent` (missing is empty), sorted; dot-folders skipped.
fn unit_folders(parent: &Path) -> Result<Vec<String>, ImportError> {
    if !parent.is_dir() {
        return Ok(Vec::new());
    }
    let read = |e| ImportError::Read {
        path: parent.to_path_buf(),
        source: e,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(parent).map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

fn read_unit(dir: &Path, kind: UnitKind, name: &str, ns_env: &Env) -> Result<Unit, ImportError> {
    let rel = Path::new(kind.folder()).join(name);
    let abs = dir.join(&rel);
    let mut problems = Vec::new();
    for required in [BUILD_CONF, TEMPLATE] {
        if !abs.join(required).is_file() {
            problems.push(Problem::in_file(
                rel.join(required),
                format!("missing: Kubler needs `{required}` in every image and builder folder"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    let conf = ConfFile::parse(&read_text(&abs.join(BUILD_CONF))?, &rel.join(BUILD_CONF));
    let mut env = ns_env.clone();
    for var in PER_UNIT {
        env.unset(var);
    }
    env.source(&conf);
    let template = read_text(&abs.join(TEMPLATE))?;
    let files = carried_files(&abs)?;
    Ok(Unit {
        kind,
        name: name.to_string(),
        rel,
        conf,
        env,
        template,
        files,
    })
}

fn read_core(kubler: &Path) -> Result<Core, ImportError> {
    let dir = kubler.join(CORE_DIR);
    if !dir.join(TEMPLATE).is_file() {
        return Err(ImportError::NotANamespace {
            path: kubler.to_path_buf(),
            why: format!("`--kubler` names no Kubler checkout: `{CORE_DIR}/{TEMPLATE}` is missing"),
        });
    }
    let template = read_text(&dir.join(TEMPLATE))?;
    let files = fs::read_dir(&dir)
        .and_then(|entries| {
            let mut files = Vec::new();
            for e in entries {
                let name = e?.file_name();
                if name != TEMPLATE {
                    files.push(PathBuf::from(name));
                }
            }
            files.sort();
            Ok(files)
        })
        .map_err(|e| ImportError::Read {
            path: dir.clone(),
            source: e,
        })?;
    Ok(Core {
        dir,
        template,
        files,
    })
}

/// The entries of a unit folder to copy: all but what Kubler owns.
fn carried_files(abs: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let read = |e| ImportError::Read {
        path: abs.to_path_buf(),
        source: e,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(abs).map_err(read)? {
        let name = entry.map_err(read)?.file_name();
        if KUBLER_OWNED.iter().any(|owned| name == *owned) {
            continue;
        }
        files.push(PathBuf::from(name));
    }
    files.sort();
    Ok(files)
}

fn read_text(path: &Path) -> Result<String, ImportError> {
    let bytes = fs::read(path).map_err(|e| ImportError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    String::from_utf8(bytes).map_err(|e| ImportError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })
}
