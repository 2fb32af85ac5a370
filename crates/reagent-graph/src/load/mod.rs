//! Reading a project folder into a [`Project`]: discover, parse, link, key.
//!
//! Loading runs in stages, each in its own module: read `graph.toml`
//! ([`crate::config`]); find the stage specs and image folders (`discover`);
//! make the snapshot node (`snapshot`), the stage nodes (`stage`) and the
//! image nodes (`image`, in parallel); then turn references into edges, check
//! for cycles and compute keys parents-first (`link`). Problems are collected
//! across every file, so `reagent check` lists them all; only a file that cannot
//! be parsed stops that file's own checks.
//!
//! Loading reads and never writes: the snapshot's stat cache is read from
//! [`LoadOptions::snapshot_cache`], and its update is handed back in
//! [`Project::snapshot_cache_update`] for the caller to store (under its lock).
//! Context files' hashes are likewise read from [`LoadOptions::context_cache`] and
//! handed back in [`Project::context_cache_update`], and so are build contexts'
//! folder listings ([`LoadOptions::context_dirs`], [`Project::context_dirs_update`]).

mod discover;
mod image;
mod link;
mod lock;
mod onbuild;
mod snapshot;
mod stage;

use rustc_hash::{FxBuildHasher, FxHashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use regex::Regex;

use crate::config::{Config, CONFIG_FILE};
use crate::error::{relative, ProjectError, ProjectErrors};
use crate::file_cache::FileCache;
use crate::graph::Graph;
use crate::input::read_text;
use crate::lockfile::{Entry, Lockfile};
use crate::model::{ManifestBuilder, NodeId, NodeKind, Recipe};

pub use lock::Unlocked;

/// Default name of the snapshot node.
pub const SNAPSHOT_NODE: &str = "portage";
/// Default catalyst storedir.
pub const CATALYST_STOREDIR: &str = "/var/tmp/catalyst";

/// A loaded project: its settings and its keyed graph.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project folder (absolute).
    pub root: PathBuf,
    /// `graph.toml`.
    pub config: Config,
    /// The DAG with every key computed.
    pub graph: Graph,
    /// The snapshot's new stat cache, when [`LoadOptions::snapshot_cache`] was given and
    /// the cache should change; nothing was written (see [`reagent_snapshot::Report::cache_update`]).
    pub snapshot_cache_update: Option<Vec<u8>>,
    /// The new context-file hash cache, when [`LoadOptions::context_cache`] was given
    /// and the cache should change; nothing was written.
    pub context_cache_update: Option<Vec<u8>>,
    /// The new folder-listing cache, when [`LoadOptions::context_dirs`] was given and
    /// the cache should change; nothing was written.
    pub context_dirs_update: Option<Vec<u8>>,
    /// How many context files (build contexts and the portage config folder) were read
    /// to hash them; the others' hashes came from [`LoadOptions::context_cache`].
    pub context_reads: usize,
    /// `reagent.lock` as read (empty when the project has none), or as last given to
    /// [`Project::apply_lock`]. External inputs are keyed by what it pins.
    pub lock: Lockfile,
    /// External inputs the lock lacks, each once, at the first place the project
    /// names it: they are keyed by their name until they are locked.
    pub unlocked: Vec<Unlocked>,
    /// Entries of the lock that nothing in the project uses any more (empty when
    /// images are [`Project::broken`]: what they use cannot be told).
    pub unused: Vec<Entry>,
    /// With [`LoadOptions::partial`], the images left out of the graph: those
    /// with problems, and those built from them. Empty otherwise.
    pub broken: Vec<Broken>,
}

/// An image left out of a partially loaded project, and why.
#[derive(Debug, Clone)]
pub struct Broken {
    /// The node's name.
    pub name: String,
    /// Its own problems, or where it names a broken parent.
    pub errors: Vec<ProjectError>,
    /// The broken parent it is left out for, when it has no problems of its own.
    pub built_from: Option<String>,
}

/// How to load a project.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// A stat cache for identifying the snapshot tree (read only). reagent keeps it at
    /// `<state dir>/snapshot-cache`.
    pub snapshot_cache: Option<PathBuf>,
    /// A stat cache of context files' content hashes (read only; see
    /// [`crate::file_cache`]). reagent keeps it at `<state dir>/context-cache`.
    pub context_cache: Option<PathBuf>,
    /// A cache of folder listings by stat for build contexts' walks and ignore
    /// files (read only; see [`crate::dir_cache`]). reagent keeps it at
    /// `<state dir>/context-dirs`.
    pub context_dirs: Option<PathBuf>,
    /// Load what can be loaded: an image with problems (and every image built
    /// from it) is left out of the graph and listed in [`Project::broken`]
    /// instead of failing the load. Problems outside images (`graph.toml`,
    /// specs, the lock, duplicate names, cycles) still fail it.
    pub partial: bool,
}

impl Project {
    /// Load the project at `root` with default options.
    pub fn load(root: &Path) -> Result<Project, ProjectErrors> {
        Project::load_with(root, &LoadOptions::default())
    }

    /// Load the project at `root`.
    pub fn load_with(root: &Path, opts: &LoadOptions) -> Result<Project, ProjectErrors> {
        let root = std::fs::canonicalize(root)
            .map_err(|e| ProjectError::in_file(root, format!("cannot open project folder: {e}")))?;
        let config_path = root.join(CONFIG_FILE);
        if let Err(e) = std::fs::symlink_metadata(&config_path) {
            return Err(ProjectError::in_file(
                CONFIG_FILE,
                format!(
                    "cannot read {CONFIG_FILE} in {}: {e} (is this a reagent project?)",
                    root.display()
                ),
            )
            .into());
        }
        let config_text = read_text(&config_path, Path::new(CONFIG_FILE))?;
        let config = Config::parse(&config_text, Path::new(CONFIG_FILE))?;
        // A broken lock is reported with every other problem; loading goes on without it.
        let (lock, mut errors) = match lock::read(&root) {
            Ok(lock) => (lock, Vec::new()),
            Err(e) => (Lockfile::new(), e),
        };
        let files = FileCache::load(opts.context_cache.as_deref(), opts.context_dirs.as_deref());
        let loader = Loader {
            root: &root,
            config: &config,
            config_text: &config_text,
            opts,
            lock: &lock,
            files: &files,
        };
        let Loaded {
            graph,
            snapshot_cache_update,
            broken,
        } = match loader.run() {
            Ok(keyed) if errors.is_empty() => keyed,
            Ok(_) => return Err(ProjectErrors(errors)),
            Err(more) => {
                errors.extend(more.0);
                return Err(ProjectErrors(errors));
            }
        };
        let (unlocked, mut unused) = lock::status(&root, &graph, &lock);
        if !broken.is_empty() {
            unused.clear();
        }
        Ok(Project {
            root,
            config,
            graph,
            snapshot_cache_update,
            context_cache_update: files.update(),
            context_dirs_update: files.dirs_update(),
            context_reads: files.reads(),
            lock,
            unlocked,
            unused,
            broken,
        })
    }

    /// The project's name: `[project] name`, else the folder's name.
    pub fn name(&self) -> String {
        self.config.project.name.clone().unwrap_or_else(|| {
            self.root
                .file_name()
                .map_or_else(|| "project".into(), |n| n.to_string_lossy().into_owned())
        })
    }

    /// The registry prefix, if one is configured.
    pub fn registry(&self) -> Option<&str> {
        self.config
            .project
            .registry
            .as_ref()
            .map(|r| r.get_ref().as_str())
    }

    /// The read-only cache registries of `[registry] cache_from`, in order.
    pub fn cache_from(&self) -> Vec<&str> {
        self.config
            .registry
            .cache_from
            .iter()
            .map(|r| r.get_ref().as_str())
            .collect()
    }

    /// Nodes matching the regexes and their ancestors (see [`Graph::select`]).
    pub fn select(&self, patterns: &[Regex]) -> Vec<NodeId> {
        self.graph.select(patterns)
    }
}

/// The state of one load: the project folder, its settings and its lock.
struct Loader<'a> {
    root: &'a Path,
    config: &'a Config,
    config_text: &'a str,
    opts: &'a LoadOptions,
    lock: &'a Lockfile,
    /// Context files' hashes by stat.
    files: &'a FileCache,
}

/// What a load makes of the folder: the keyed graph, the snapshot's cache
/// update and (partial loads only) the images left out.
struct Loaded {
    graph: Graph,
    snapshot_cache_update: Option<Vec<u8>>,
    broken: Vec<Broken>,
}

/// A node before linking: everything but its id, edges and key.
struct Draft {
    name: String,
    kind: NodeKind,
    path: PathBuf,
    recipe: Recipe,
    /// The inputs that do not depend on other nodes (parents are added when linking).
    inputs: ManifestBuilder,
    /// References to other nodes: (node name, reference as resolved in the file, its line).
    parents: Vec<(String, String, usize)>,
}

impl Loader<'_> {
    /// An error at bytes `span` of `graph.toml`.
    fn config_error(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> ProjectError {
        ProjectError::at_span(CONFIG_FILE, self.config_text, span, message)
    }

    fn run(&self) -> Result<Loaded, ProjectErrors> {
        let mut errors = Vec::new();
        let snapshot = self.snapshot(&mut errors);
        let portage = self.portage_inputs(&mut errors);
        let mut drafts: Vec<Draft> = Vec::new();
        let mut cache_update = None;
        if let Some(s) = snapshot {
            drafts.push(s.draft);
            cache_update = s.cache_update;
        }
        drafts.extend(self.stages(&mut errors));
        let images = self.image_folders(&mut errors);

        // Names must be unique before images resolve references against them. An
        // image's context is kept as it is and made relative only for the message.
        let mut names: FxHashMap<String, PathBuf> =
            FxHashMap::with_capacity_and_hasher(drafts.len() + images.len(), FxBuildHasher);
        for d in &drafts {
            if let Some(prev) = names.insert(d.name.clone(), d.path.clone()) {
                errors.push(discover::duplicate(&d.name, &prev, &d.path));
            }
        }
        for folder in &images {
            if let Some(prev) = names.insert(folder.name.clone(), folder.context.clone()) {
                let rel = relative(self.root, &folder.context);
                errors.push(discover::duplicate(
                    &folder.name,
                    &relative(self.root, &prev),
                    &rel,
                ));
            }
        }
        let shared = image::Shared {
            registry: self
                .config
                .project
                .registry
                .as_ref()
                .map(|r| r.get_ref().as_str()),
            names: &names,
            portage: &portage,
            host_args: &crate::platform::HostArgs::new(crate::platform::Platform::host()),
        };
        let image_drafts: Vec<Result<Draft, Vec<ProjectError>>> = images
            .par_iter()
            .map(|folder| self.image(folder, &shared))
            .collect();
        let mut broken = Vec::new();
        // Drafts are large: grown once, not moved at each doubling.
        drafts.reserve(image_drafts.len());
        for (folder, d) in images.iter().zip(image_drafts) {
            match d {
                Ok(d) => drafts.push(d),
                Err(e) if self.opts.partial => broken.push(Broken {
                    name: folder.name.clone(),
                    errors: e,
                    built_from: None,
                }),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(ProjectErrors(errors));
        }
        if !broken.is_empty() {
            self.leave_out_children(&mut drafts, &mut broken);
        }
        Ok(Loaded {
            graph: self.link(drafts)?,
            snapshot_cache_update: cache_update,
            broken,
        })
    }

    /// Leave out of `drafts` every image built from a broken one, transitively,
    /// each listed in `broken` at the line that names its broken parent.
    fn leave_out_children(&self, drafts: &mut Vec<Draft>, broken: &mut Vec<Broken>) {
        loop {
            let gone: std::collections::HashSet<String> =
                broken.iter().map(|b| b.name.clone()).collect();
            let before = broken.len();
            drafts.retain(|d| {
                let Some((parent, _, line)) = d.parents.iter().find(|(p, _, _)| gone.contains(p))
                else {
                    return true;
                };
                let (file, text) = match &d.recipe {
                    Recipe::Image(image) => (
                        relative(self.root, &image.containerfile),
                        image.parsed.text(),
                    ),
                    _ => (d.path.clone(), ""),
                };
                broken.push(Broken {
                    name: d.name.clone(),
                    errors: vec![ProjectError::at_line(
                        file,
                        text,
                        *line,
                        format!("built from `{parent}`, which has problems"),
                    )],
                    built_from: Some(parent.clone()),
                });
                false
            });
            if broken.len() == before {
                return;
            }
        }
    }
}
