//! Reading a project folder into a [`Project`]: discover, parse, link, key.
//!
//! Loading runs in stages, each with one job: read `graph.toml`; discover
//! stage specs and image folders; parse them; resolve references into edges;
//! check for cycles; compute keys parents-first. Problems are collected, not
//! thrown at the first one, so `reagent check` can list them all.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use regex::Regex;

use crate::config::{Config, CONFIG_FILE};
use crate::context::{Context, ContextProblem};
use crate::error::{line_of, relative, ProjectError, ProjectErrors};
use crate::graph::Graph;
use crate::input::{kind_of, read_text};
use crate::model::{
    effective_use, use_string, ImageRecipe, Key, Manifest, ManifestBuilder, Node, NodeId, NodeKind,
    Recipe, Seed, SnapshotRecipe, StageRecipe,
};
use crate::reference::{classify, Target};

/// Default folder for reagent's state, below the project root.
pub const STATE_DIR: &str = ".reagent";
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
    /// Where reagent keeps state (absolute).
    pub state_dir: PathBuf,
}

/// How to load a project.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Override the state folder (default `<root>/.reagent`).
    pub state_dir: Option<PathBuf>,
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
        let state_dir = match &opts.state_dir {
            Some(d) if d.is_absolute() => d.clone(),
            Some(d) => std::env::current_dir()
                .map(|c| c.join(d))
                .unwrap_or_else(|_| d.clone()),
            None => root.join(STATE_DIR),
        };
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
        let loader = Loader {
            root: &root,
            state_dir: &state_dir,
            config: &config,
            config_text: &config_text,
        };
        let graph = loader.run()?;
        Ok(Project {
            root,
            config,
            graph,
            state_dir,
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

    /// Nodes matching the regexes and their ancestors (see [`Graph::select`]).
    pub fn select(&self, patterns: &[Regex]) -> Vec<NodeId> {
        self.graph.select(patterns)
    }
}

struct Loader<'a> {
    root: &'a Path,
    state_dir: &'a Path,
    config: &'a Config,
    config_text: &'a str,
}

/// An image to load: its name, build context, Containerfile and `NN-` order.
struct ImageFolder {
    name: String,
    context: PathBuf,
    containerfile: PathBuf,
    order: Option<u32>,
}

/// What every image's loading reads besides its own folder.
#[derive(Clone, Copy)]
struct Shared<'a> {
    registry: Option<&'a str>,
    /// Every node name, with where it is defined.
    names: &'a HashMap<String, PathBuf>,
    /// The snapshot's identity label and hash, if there is a snapshot.
    snapshot: Option<&'a (String, blake3::Hash)>,
    /// `portage:<path>` inputs of the portage config folder.
    portage: &'a [(String, blake3::Hash)],
}

/// A node before linking: everything but deps and key.
struct Draft {
    name: String,
    kind: NodeKind,
    path: PathBuf,
    recipe: Recipe,
    /// Inputs that don't depend on other nodes.
    own: ManifestBuilder,
    /// References to other nodes: (node name, reference as resolved in the file, its line).
    parents: Vec<(String, String, usize)>,
}

impl Loader<'_> {
    fn config_line(&self, offset: usize) -> usize {
        line_of(self.config_text, offset)
    }

    /// The entries of the project's `stages/` or `images/` folder; none when it does not
    /// exist, an error when it exists but is not a folder that can be listed.
    fn list_dir(&self, name: &str, errors: &mut Vec<ProjectError>) -> Vec<PathBuf> {
        let dir = self.root.join(name);
        let listing = match std::fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Ok(m) = std::fs::symlink_metadata(&dir) {
                    errors.push(ProjectError::in_file(
                        name,
                        format!(
                            "`{name}` is {} that cannot be followed: {e}",
                            kind_of(&m.file_type())
                        ),
                    ));
                }
                return Vec::new();
            }
            Err(e) => {
                let what = match std::fs::metadata(&dir) {
                    Ok(m) if !m.is_dir() => {
                        format!("`{name}` is {}, not a folder", kind_of(&m.file_type()))
                    }
                    _ => format!("cannot list folder `{name}`: {e}"),
                };
                errors.push(ProjectError::in_file(name, what));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for entry in listing {
            match entry {
                Ok(e) => out.push(e.path()),
                Err(e) => {
                    errors.push(ProjectError::in_file(
                        name,
                        format!("cannot list folder `{name}`: {e}"),
                    ));
                    break;
                }
            }
        }
        out
    }

    fn run(&self) -> Result<Graph, ProjectErrors> {
        let mut errors = Vec::new();
        let snapshot = self.snapshot(&mut errors);
        let portage = self.portage_inputs(&mut errors);
        let mut drafts: Vec<Draft> = Vec::new();
        let snapshot_id = snapshot.map(|(draft, id)| {
            drafts.push(draft);
            id
        });
        drafts.extend(self.stages(&mut errors));
        let images = self.image_folders(&mut errors);

        // Names must be unique before images resolve references against them.
        let mut names: HashMap<String, PathBuf> = HashMap::new();
        for d in &drafts {
            if let Some(prev) = names.insert(d.name.clone(), d.path.clone()) {
                errors.push(duplicate(&d.name, &prev, &d.path));
            }
        }
        for image in &images {
            let rel = relative(self.root, &image.context);
            if let Some(prev) = names.insert(image.name.clone(), rel.clone()) {
                errors.push(duplicate(&image.name, &prev, &rel));
            }
        }
        let registry = self
            .config
            .project
            .registry
            .as_ref()
            .map(|r| r.get_ref().as_str());

        let shared = Shared {
            registry,
            names: &names,
            snapshot: snapshot_id.as_ref(),
            portage: &portage,
        };
        let image_drafts: Vec<Result<Draft, Vec<ProjectError>>> = images
            .par_iter()
            .map(|folder| self.image(folder, &shared))
            .collect();
        for d in image_drafts {
            match d {
                Ok(d) => drafts.push(d),
                Err(e) => errors.extend(e),
            }
        }
        if !errors.is_empty() {
            return Err(ProjectErrors(errors));
        }
        self.link(drafts)
    }

    /// The snapshot node, if `[snapshot] path` is set, and its identity.
    fn snapshot(&self, errors: &mut Vec<ProjectError>) -> Option<(Draft, (String, blake3::Hash))> {
        let path = self.config.snapshot.path.as_ref()?;
        let tree = self.root.join(path.get_ref());
        let line = self.config_line(path.span().start);
        if !tree.is_dir() {
            errors.push(ProjectError::at(
                CONFIG_FILE,
                line,
                format!("snapshot path `{}` is not a folder", path.get_ref()),
            ));
            return None;
        }
        let opts = reagent_snapshot::Options {
            cache: Some(self.state_dir.join("snapshot-cache")),
            threads: None,
        };
        let report = match reagent_snapshot::identify(&tree, &opts) {
            Ok(r) => r,
            Err(e) => {
                errors.push(ProjectError::at(
                    CONFIG_FILE,
                    line,
                    format!("cannot identify snapshot: {e}"),
                ));
                return None;
            }
        };
        let label = report.identity.label();
        let hash = report.identity.hash();
        let name = self
            .config
            .snapshot
            .name
            .as_ref()
            .map(|n| n.get_ref().clone())
            .unwrap_or_else(|| SNAPSHOT_NODE.to_string());
        if let Err(msg) = check_name(&name) {
            let at = self
                .config
                .snapshot
                .name
                .as_ref()
                .map_or(line, |n| self.config_line(n.span().start));
            errors.push(ProjectError::at(CONFIG_FILE, at, msg));
            return None;
        }
        let mut own = ManifestBuilder::new();
        own.shown("kind", "snapshot");
        own.hash("snapshot", hash, Some(label.clone()));
        let draft = Draft {
            name,
            kind: NodeKind::Snapshot,
            path: PathBuf::from(path.get_ref()),
            recipe: Recipe::Snapshot(SnapshotRecipe {
                tree,
                identity: label.clone(),
            }),
            own,
            parents: Vec::new(),
        };
        Some((draft, (label, hash)))
    }

    /// Every file of `[portage] config`, hashed, as `portage:<relative path>` inputs.
    fn portage_inputs(&self, errors: &mut Vec<ProjectError>) -> Vec<(String, blake3::Hash)> {
        let Some(dir) = &self.config.portage.config else {
            return Vec::new();
        };
        let abs = self.root.join(dir.get_ref());
        let line = self.config_line(dir.span().start);
        if !abs.is_dir() {
            errors.push(ProjectError::at(
                CONFIG_FILE,
                line,
                format!("portage config `{}` is not a folder", dir.get_ref()),
            ));
            return Vec::new();
        }
        let ctx = match Context::without_ignore(&abs) {
            Ok(c) => c,
            Err(e) => {
                errors.push(ProjectError::at(CONFIG_FILE, line, e.to_string()));
                return Vec::new();
            }
        };
        match ctx.all_entries() {
            Ok(entries) => entries
                .into_iter()
                .map(|e| (format!("portage:{}", e.path), e.hash))
                .collect(),
            Err(e) => {
                errors.push(ProjectError::at(CONFIG_FILE, line, e.to_string()));
                Vec::new()
            }
        }
    }

    fn stages(&self, errors: &mut Vec<ProjectError>) -> Vec<Draft> {
        let mut out = Vec::new();
        let storedir = self
            .config
            .stages
            .storedir
            .clone()
            .unwrap_or_else(|| CATALYST_STOREDIR.to_string());
        let storedir = self.root.join(storedir);
        let mut specs: Vec<PathBuf> = self
            .list_dir("stages", errors)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "spec"))
            .collect();
        specs.sort();
        for file in specs {
            let rel = relative(self.root, &file);
            let name = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string();
            if let Err(msg) = check_name(&name) {
                errors.push(ProjectError::in_file(&rel, msg));
                continue;
            }
            let text = match read_text(&file, &rel) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let spec = match reagent_catalyst::parse(&text, &self.config.stages.vars) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(ProjectError::at(&rel, e.line(), e.to_string()));
                    continue;
                }
            };
            let mut own = ManifestBuilder::new();
            own.shown("kind", "stage");
            for entry in spec.entries() {
                own.bytes(
                    format!("spec:{}", entry.key),
                    entry.values.join("\n").as_bytes(),
                );
            }
            let produces = spec.produces();
            out.push(Draft {
                name,
                kind: NodeKind::Stage,
                path: rel,
                recipe: Recipe::Stage(StageRecipe {
                    spec_file: Some(file.clone()),
                    produces: Some(produces),
                    external_source: spec.source_subpath().map(str::to_string),
                    spec: Some(spec),
                    seed: None,
                    storedir: storedir.clone(),
                }),
                own,
                parents: Vec::new(),
            });
        }
        for (name, section) in &self.config.stage {
            let line = self.config_line(name.span().start);
            if let Err(msg) = check_name(name.get_ref()) {
                errors.push(ProjectError::at(CONFIG_FILE, line, msg));
                continue;
            }
            let (Some(seed), Some(sha)) = (&section.seed, &section.sha256) else {
                continue; // Config::validate already reported it.
            };
            let sha = sha.get_ref().to_ascii_lowercase();
            let mut own = ManifestBuilder::new();
            own.shown("kind", "stage");
            own.shown("seed", &format!("sha256:{sha}"));
            out.push(Draft {
                name: name.get_ref().clone(),
                kind: NodeKind::Stage,
                path: PathBuf::from(CONFIG_FILE),
                recipe: Recipe::Stage(StageRecipe {
                    spec: None,
                    spec_file: None,
                    seed: Some(Seed {
                        tarball: self.root.join(seed.get_ref()),
                        sha256: sha,
                    }),
                    produces: None,
                    external_source: None,
                    storedir: storedir.clone(),
                }),
                own,
                parents: Vec::new(),
            });
        }
        out
    }

    /// `(name, context folder, containerfile, NN order)` for every image.
    fn image_folders(&self, errors: &mut Vec<ProjectError>) -> Vec<ImageFolder> {
        let mut out = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for path in self.list_dir("images", errors) {
            let hidden = path
                .file_name()
                .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
            if hidden || path.is_dir() {
                dirs.push(path);
                continue;
            }
            // A symlink that should lead to an image folder but leads nowhere (dangling,
            // or a loop) would otherwise drop the image without a word.
            let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
            if let (true, Err(e)) = (is_link, std::fs::metadata(&path)) {
                errors.push(ProjectError::in_file(
                    relative(self.root, &path),
                    format!(
                        "`{}` is a symlink that cannot be followed to an image folder: {e}",
                        relative(self.root, &path).display()
                    ),
                ));
            }
        }
        dirs.sort();
        let mut seen = std::collections::HashSet::new();
        for dir in dirs {
            let folder = dir
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if folder.starts_with('.') {
                continue;
            }
            let (order, name) = split_order(&folder);
            let rel = relative(self.root, &dir);
            if let Err(msg) = check_name(name) {
                errors.push(ProjectError::in_file(&rel, msg));
                continue;
            }
            let section = self.config.image(name);
            let context = match section.and_then(|s| s.context.as_ref()) {
                Some(c) => self.root.join(c.get_ref()),
                None => dir.clone(),
            };
            let cf = match section.and_then(|s| s.containerfile.as_ref()) {
                Some(c) => self.root.join(c.get_ref()),
                // Whatever is there under either name (even a folder or a dangling
                // link) is taken, so reading it can say what is wrong with it.
                None => match ["Containerfile", "Dockerfile"]
                    .iter()
                    .map(|f| dir.join(f))
                    .find(|p| std::fs::symlink_metadata(p).is_ok())
                {
                    Some(p) => p,
                    None => {
                        errors.push(ProjectError::in_file(
                            &rel,
                            "image folder has no Containerfile or Dockerfile",
                        ));
                        continue;
                    }
                },
            };
            seen.insert(name.to_string());
            out.push(ImageFolder {
                name: name.to_string(),
                context,
                containerfile: cf,
                order,
            });
        }
        // Images defined only in graph.toml (a containerfile and context elsewhere).
        for (name, section) in &self.config.image {
            if seen.contains(name.get_ref()) {
                continue;
            }
            let line = self.config_line(name.span().start);
            match (&section.containerfile, &section.context) {
                (Some(cf), ctx) => {
                    if let Err(msg) = check_name(name.get_ref()) {
                        errors.push(ProjectError::at(CONFIG_FILE, line, msg));
                        continue;
                    }
                    let cf = self.root.join(cf.get_ref());
                    let context = match ctx {
                        Some(c) => self.root.join(c.get_ref()),
                        None => cf.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.to_path_buf()),
                    };
                    out.push(ImageFolder {
                        name: name.get_ref().clone(),
                        context,
                        containerfile: cf,
                        order: None,
                    });
                }
                (None, _) => errors.push(ProjectError::at(
                    CONFIG_FILE,
                    line,
                    format!(
                        "[image.{0}] names no image: there is no images/{0}/ (or images/NN-{0}/) folder and no `containerfile` key",
                        name.get_ref()
                    ),
                )),
            }
        }
        out
    }

    fn image(&self, folder: &ImageFolder, shared: &Shared<'_>) -> Result<Draft, Vec<ProjectError>> {
        let Shared {
            registry,
            names,
            snapshot,
            portage,
        } = *shared;
        let (name, context, cf, order) = (
            folder.name.as_str(),
            folder.context.as_path(),
            folder.containerfile.as_path(),
            folder.order,
        );
        let cf_rel = relative(self.root, cf);
        let text = read_text(cf, &cf_rel).map_err(|e| vec![e])?;
        if !context.is_dir() {
            return Err(vec![ProjectError::in_file(
                relative(self.root, context),
                format!("build context of image `{name}` is not a folder"),
            )]);
        }
        let section = self.config.image(name).cloned().unwrap_or_default();
        let parsed = reagent_containerfile::parse(&text)
            .map_err(|e| vec![ProjectError::at(&cf_rel, e.line, e.message.clone())])?;
        let analysis = parsed
            .analyze(&section.args)
            .map_err(|e| vec![ProjectError::at(&cf_rel, e.line, e.message.clone())])?;

        if let Some(target) = &section.target {
            let lower = target.to_ascii_lowercase();
            if !analysis
                .stages
                .iter()
                .any(|s| s.name.as_deref() == Some(lower.as_str()))
            {
                let named: Vec<&str> = analysis
                    .stages
                    .iter()
                    .filter_map(|s| s.name.as_deref())
                    .collect();
                let line = self
                    .config
                    .image
                    .keys()
                    .find(|k| k.get_ref() == name)
                    .map_or(1, |k| self.config_line(k.span().start));
                return Err(vec![ProjectError::at(
                    CONFIG_FILE,
                    line,
                    format!(
                        "[image.{name}] target `{target}` is not a stage of {} (its named stages: {})",
                        cf_rel.display(),
                        if named.is_empty() { "none".to_string() } else { named.join(", ") }
                    ),
                )]);
            }
        }
        let mut own = ManifestBuilder::new();
        let mut errors = Vec::new();
        own.shown("kind", "image");
        own.bytes("containerfile", text.as_bytes());

        let ctx = Context::open(context).map_err(|e| {
            let error = match &e {
                ContextProblem::IgnoreFile {
                    file,
                    line,
                    message,
                } => ProjectError {
                    file: relative(self.root, &context.join(file)),
                    line: *line,
                    message: message.clone(),
                },
                other => ProjectError::in_file(relative(self.root, context), other.to_string()),
            };
            vec![error]
        })?;
        match ctx.entries(&analysis.context_sources) {
            Ok(entries) => {
                for e in entries {
                    own.hash(format!("context:{}", e.path), e.hash, None);
                }
            }
            Err((line, problem)) => {
                errors.push(ProjectError::at(&cf_rel, line.max(1), problem.to_string()))
            }
        }
        for remote in &analysis.remote_sources {
            // The URL may hold a build arg's value (`ADD https://${TOKEN}@...`):
            // it is hashed as written to the build, and shown masked.
            let shown = mask_args(&remote.url, &section.args);
            own.hash(
                format!("remote:{shown}"),
                blake3::hash(remote.url.as_bytes()),
                Some(shown),
            );
        }
        for (arg, value) in &section.args {
            // Build args may carry secrets: hashed, never shown.
            own.bytes(format!("arg:{arg}"), value.as_bytes());
        }
        if let Some(t) = &section.target {
            own.shown("target", t);
        }
        if section.squash {
            own.shown("squash", "true");
        }
        if let Some(p) = &section.platform {
            own.shown("platform", p);
        }
        if let Some((label, hash)) = snapshot {
            own.hash("snapshot", *hash, Some(label.clone()));
        }
        for (label, hash) in portage {
            own.hash(label.clone(), *hash, None);
        }
        let use_flags = effective_use(
            self.config
                .portage
                .use_flags
                .iter()
                .chain(section.use_flags.iter()),
        );
        if !use_flags.is_empty() {
            own.shown("use", &use_string(&use_flags));
        }

        let mut parents = Vec::new();
        for r in &analysis.references {
            match classify(&r.resolved, registry, |n| names.contains_key(n)) {
                Target::Node(n) => parents.push((n.to_string(), r.resolved.clone(), r.line)),
                Target::UnknownLocal(n) => errors.push(ProjectError::at(
                    &cf_rel,
                    r.line,
                    format!(
                        "`{}` names local image `{n}`, but the project has no node `{n}`",
                        r.resolved
                    ),
                )),
                Target::External => {
                    own.shown(format!("external:{}", r.resolved), &r.resolved);
                }
                Target::Scratch => {}
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Draft {
            name: name.to_string(),
            kind: NodeKind::Image,
            path: relative(self.root, context),
            recipe: Recipe::Image(ImageRecipe {
                containerfile: cf.to_path_buf(),
                containerfile_text: text,
                context: context.to_path_buf(),
                args: section.args.clone(),
                target: section.target.clone(),
                tags: section.tags.clone(),
                squash: section.squash,
                platform: section.platform.clone(),
                tests: section.test.clone(),
                secrets: section
                    .secrets
                    .iter()
                    .map(|(id, path)| (id.clone(), self.root.join(path)))
                    .collect(),
                use_flags,
                order,
                // Node ids are assigned in `link`; names are kept until then.
                node_refs: Vec::new(),
            }),
            own,
            parents,
        })
    }

    /// Where each edge `(child, parent)` is written: the Containerfile line naming the
    /// parent, or the spec's `source_subpath` line. Used to locate a cycle.
    fn edge_sites(
        &self,
        drafts: &[Draft],
        produced: &HashMap<String, String>,
    ) -> HashMap<(String, String), (PathBuf, usize)> {
        let mut sites = HashMap::new();
        for d in drafts {
            match &d.recipe {
                Recipe::Image(image) => {
                    let file = relative(self.root, &image.containerfile);
                    for (parent, _, line) in &d.parents {
                        sites
                            .entry((d.name.clone(), parent.clone()))
                            .or_insert_with(|| (file.clone(), *line));
                    }
                }
                Recipe::Stage(stage) => {
                    let (Some(spec), Some(file), Some(src)) =
                        (&stage.spec, &stage.spec_file, &stage.external_source)
                    else {
                        continue;
                    };
                    if let (Some(parent), Some(entry)) =
                        (produced.get(src), spec.get("source_subpath"))
                    {
                        sites.insert(
                            (d.name.clone(), parent.clone()),
                            (relative(self.root, file), entry.line),
                        );
                    }
                }
                Recipe::Snapshot(_) => {}
            }
        }
        sites
    }

    /// Assign ids, turn parent names into edges, check for cycles, compute keys.
    fn link(&self, mut drafts: Vec<Draft>) -> Result<Graph, ProjectErrors> {
        drafts.sort_by(|a, b| a.name.cmp(&b.name));
        let ids: HashMap<String, NodeId> = drafts
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.clone(), NodeId(i)))
            .collect();
        // Stages chain through source_subpath; they all read the snapshot.
        let produced: HashMap<String, String> = drafts
            .iter()
            .filter_map(|d| match &d.recipe {
                Recipe::Stage(s) => s.produces.clone().map(|p| (p, d.name.clone())),
                _ => None,
            })
            .collect();
        let snapshot_name = drafts
            .iter()
            .find(|d| d.kind == NodeKind::Snapshot)
            .map(|d| d.name.clone());
        let edges = self.edge_sites(&drafts, &produced);
        let mut nodes = Vec::with_capacity(drafts.len());
        let mut owns = Vec::with_capacity(drafts.len());
        for (i, mut d) in drafts.into_iter().enumerate() {
            let mut deps: Vec<NodeId> = Vec::new();
            match &mut d.recipe {
                Recipe::Stage(stage) => {
                    if let Some(src) = stage.external_source.clone() {
                        if let Some(parent) = produced.get(&src) {
                            deps.push(ids[parent]);
                            stage.external_source = None;
                        } else {
                            d.own.shown("source_subpath", &src);
                        }
                    }
                    if let Some(s) = &snapshot_name {
                        if stage.spec.is_some() {
                            deps.push(ids[s]);
                        }
                    }
                }
                Recipe::Image(image) => {
                    for (name, resolved, _) in &d.parents {
                        let id = ids[name];
                        image.node_refs.push((resolved.clone(), id));
                        deps.push(id);
                    }
                }
                Recipe::Snapshot(_) => {}
            }
            deps.sort();
            deps.dedup();
            nodes.push(Node {
                id: NodeId(i),
                name: d.name,
                kind: d.kind,
                path: d.path,
                deps,
                key: Key([0; 32]),
                manifest: Manifest::default(),
                recipe: d.recipe,
            });
            // The partial manifest waits until the parents are keyed.
            owns.push(d.own);
        }
        let mut graph = Graph::new(nodes).map_err(|cycle| {
            let message = format!("dependency cycle: {cycle}");
            // `a -> b` means b is built from a: point at where b names a.
            let site = cycle
                .0
                .windows(2)
                .find_map(|w| edges.get(&(w[1].clone(), w[0].clone())));
            match site {
                Some((file, line)) => ProjectError::at(file, *line, message),
                None => ProjectError::in_file(CONFIG_FILE, message),
            }
        })?;
        let order = graph.topological().to_vec();
        for id in order {
            let mut builder = std::mem::take(&mut owns[id.0]);
            let deps = graph.node(id).deps.clone();
            for d in deps {
                let parent = graph.node(d);
                builder.hash(
                    format!("parent:{}", parent.name),
                    blake3::Hash::from(parent.key.0),
                    Some(parent.key.short()),
                );
            }
            let manifest = builder.finish();
            let node = &mut graph.nodes_mut()[id.0];
            node.key = manifest.key();
            node.manifest = manifest;
        }
        Ok(graph)
    }
}

/// `text` with every build-arg value of 4 bytes or more replaced by `***`
/// (shorter ones would mask too much, and give little away).
fn mask_args(text: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    let mut values: Vec<&String> = args.values().filter(|v| v.len() >= 4).collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in values {
        out = out.replace(v.as_str(), "***");
    }
    out
}

/// `01-base` → `(Some(1), "base")`; `base` → `(None, "base")`.
fn split_order(folder: &str) -> (Option<u32>, &str) {
    let digits = folder.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && folder[digits..].starts_with('-') && folder.len() > digits + 1 {
        (folder[..digits].parse().ok(), &folder[digits + 1..])
    } else {
        (None, folder)
    }
}

/// Node names become image repository names: lowercase letters, digits and
/// `.`, `_`, `-` separators, starting with a letter or digit.
fn check_name(name: &str) -> Result<(), String> {
    let ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid node name: use lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit"
        ))
    }
}

fn duplicate(name: &str, first: &Path, second: &Path) -> ProjectError {
    ProjectError::in_file(
        second,
        format!(
            "node name `{name}` is already defined by {}",
            first.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_prefix_is_not_part_of_the_name() {
        assert_eq!(split_order("01-base"), (Some(1), "base"));
        assert_eq!(split_order("10-build-deps"), (Some(10), "build-deps"));
        assert_eq!(split_order("nginx"), (None, "nginx"));
        assert_eq!(split_order("2fa"), (None, "2fa"));
        assert_eq!(split_order("01-"), (None, "01-"));
    }

    #[test]
    fn names_are_repository_names() {
        assert!(check_name("stage3-amd64").is_ok());
        assert!(check_name("py3.12_tools").is_ok());
        assert!(check_name("Base").is_err());
        assert!(check_name("-x").is_err());
        assert!(check_name("").is_err());
    }
}
