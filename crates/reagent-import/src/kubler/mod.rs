//! `reagent import kubler`: a [Kubler](https://github.com/edannenberg/kubler)
//! namespace as a reagent project.
//!
//! A Kubler namespace is a folder with a `kubler.conf` and one folder per image
//! (`images/<name>/`) and per builder (`builder/<name>/`), each holding a
//! `build.conf` (bash variables: `IMAGE_PARENT`, `BUILDER`, `STAGE3_BASE`,
//! `BOB_*`, ...), a `build.sh` (the hooks Kubler's `kubler-build-root` runs)
//! and a `Dockerfile.template`. Kubler builds each image in two steps: it runs
//! a *build container* that executes `build.sh` with the portage tree mounted
//! and leaves a `rootfs.tar` in the image folder, commits that container as
//! the next builder in the chain (`<builder>-<image>`), then runs `docker
//! build` on the template (variables filled in by `sed`), which `ADD`s the tar.
//!
//! [`import`] turns that into nodes, per image `X`:
//!
//! - a **builder step** node named as Kubler's commit (`bob-X`): `FROM` the
//!   build container Kubler would pick (a builder, or the step of `X`'s parent,
//!   so the chain of builder state is kept), one `RUN` of `kubler-build-root`
//!   with a copy of the image folder at `/config` (the folder is bind-mounted
//!   read-only and copied, and the copy removed in the same step), the portage
//!   tree bind-mounted and cache mounts for distfiles and binary packages; it
//!   unpacks the `rootfs.tar` it made into `/kubler/rootfs`. The `BOB_*`
//!   variables are its build args;
//! - an **image** node `X`: the template with Kubler's variables filled in as
//!   Kubler's `sed` fills them, references to the namespace's images rewritten
//!   to `localhost/<node>`, and `ADD rootfs.tar <dest>` replaced by
//!   `COPY --from=localhost/bob-X /kubler/rootfs/ <dest>` (which keeps owners,
//!   modes and links). Its `FROM` is exactly `IMAGE_PARENT`.
//!
//! A builder `B` becomes one node `B`: its run, then the rest of its template
//! (whose `FROM ${NAMESPACE}/B` is that run). With `--kubler`, a builder that
//! starts from a stage3 gets a `B-core` node from Kubler's own `bob-core` files.
//! Templates with `HEALTHCHECK`, `ONBUILD` or `SHELL`, and images built on one
//! with a `HEALTHCHECK` or `SHELL`, are written in Docker's format.
//!
//! Nothing is guessed silently: every setting with no counterpart and every
//! line of a conf file that is not read lands in the [`Report`]; a setting the
//! graph depends on that cannot be read is an error ([`ImportError::Invalid`]).

mod error;
mod knobs;
mod namespace;
mod plan;
mod report;
mod shell;
mod template;
mod write;

use std::path::{Path, PathBuf};

pub use error::{ImportError, Problem};
pub use report::{Finding, NodeSummary, Report, Role, REPORT_FILE};

/// What to import, and where to.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The Kubler namespace folder (holding `kubler.conf`).
    pub namespace_dir: PathBuf,
    /// The project folder to write; it must not exist or be empty.
    pub out_dir: PathBuf,
    /// The namespace's name (`acme` in `acme/nginx`); default: the folder's name.
    pub namespace: Option<String>,
    /// A Kubler checkout: its `kubler.conf` is read before the namespace's, and
    /// its `engine/docker/bob-core` files make each stage3 builder's core node.
    pub kubler_dir: Option<PathBuf>,
    /// A portage tree: the project gets a snapshot node of it, which builds
    /// mount, instead of Kubler's `kubler-gentoo/portage` image.
    pub portage: Option<PathBuf>,
}

/// Import the namespace `options` names into a new project folder, and say
/// what became of everything.
pub fn import(options: &Options) -> Result<Report, ImportError> {
    write::check_output(&options.out_dir)?;
    namespace::check_folder(&options.namespace_dir)?;
    let name = namespace_name(options)?;
    let portage = match &options.portage {
        Some(tree) => {
            let abs = std::path::absolute(tree).map_err(|e| {
                ImportError::Argument(format!("--portage `{}`: {e}", tree.display()))
            })?;
            if !abs.is_dir() {
                return Err(ImportError::Argument(format!(
                    "--portage `{}` is not a folder (a portage tree, like /var/db/repos/gentoo)",
                    tree.display()
                )));
            }
            Some(abs)
        }
        None => None,
    };
    let ns =
        namespace::Namespace::read(&options.namespace_dir, &name, options.kubler_dir.as_deref())?;
    let plan = plan::plan(&ns, &plan::Choices { portage })?;
    write::write(&ns, &plan, &options.out_dir)?;
    Ok(plan.report)
}

/// The namespace's name: given, or the folder's own name.
fn namespace_name(options: &Options) -> Result<String, ImportError> {
    let name = if let Some(n) = &options.namespace {
        n.clone()
    } else {
        let dir: &Path = &options.namespace_dir;
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let abs = abs.canonicalize().unwrap_or(abs);
        abs.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let ok = !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(name)
    } else {
        Err(ImportError::Argument(format!(
            "`{name}` cannot be a Kubler namespace name (lowercase letters, digits, `.`, `_`, `-`): name it with --namespace"
        )))
    }
}
