//! External inputs keyed by `reagent.lock`: reading the lock, the key inputs of
//! external images and seeds, what the lock lacks or no longer needs, and keying
//! the graph again with another lock ([`Project::apply_lock`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Project;
use crate::error::{relative, ProjectError};
use crate::graph::Graph;
use crate::input::read_text;
use crate::lockfile::{Entry, Lockfile, Tarball, LOCK_FILE};
use crate::model::{ExternalImage, InputClass, Label, ManifestBuilder, Recipe};

/// An external input that `reagent.lock` lacks, and the first place the project names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlocked {
    /// What it is.
    pub entry: Entry,
    /// The file naming it (a Containerfile or a spec), relative to the project.
    pub file: PathBuf,
    /// The line naming it, when known.
    pub line: Option<usize>,
}

impl Unlocked {
    /// An error at the place it is named, saying the lock lacks it.
    pub fn error(&self) -> ProjectError {
        let message = format!(
            "`{}` is not in {LOCK_FILE} (run `reagent lock` to lock it)",
            self.entry
        );
        match self.line {
            Some(line) => ProjectError::at(&self.file, line, message),
            None => ProjectError::in_file(&self.file, message),
        }
    }
}

/// `reagent.lock` at `root`, or an empty lock when there is none.
pub(super) fn read(root: &Path) -> Result<Lockfile, Vec<ProjectError>> {
    let path = root.join(LOCK_FILE);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lockfile::new()),
        _ => {}
    }
    let text = read_text(&path, Path::new(LOCK_FILE)).map_err(|e| vec![e])?;
    Lockfile::parse(&text, Path::new(LOCK_FILE))
}

/// The `external:<reference>` input: over the digest it is pinned to, shown as
/// `reference@digest`; by the reference's text when it is unlocked or names its own
/// digest (which that text holds).
pub(super) fn external_input(inputs: &mut ManifestBuilder, image: &ExternalImage) {
    let label = Label::with(InputClass::External, &image.reference);
    match (&image.digest, image.pinned_in_reference()) {
        (Some(digest), false) => {
            inputs.hash(
                label,
                blake3::hash(digest.as_bytes()),
                Some(format!("{}@{digest}", image.reference)),
            );
        }
        _ => {
            inputs.shown(label, &image.reference);
        }
    }
}

/// The `source_subpath` input of a stage seeded externally: over the tarball's
/// SHA-256 when it is locked (shown with its path), else over its path.
pub(super) fn seed_input(inputs: &mut ManifestBuilder, path: &str, lock: Option<&Tarball>) {
    let label = Label::of(InputClass::SourceSubpath);
    match lock {
        Some(t) => {
            let digest = format!("sha256:{}", t.sha256);
            inputs.hash(
                label,
                blake3::hash(digest.as_bytes()),
                Some(format!("{path} {digest}")),
            );
        }
        None => {
            inputs.shown(label, path);
        }
    }
}

/// What `lock` lacks (each entry once, at the first node naming it, in name order)
/// and which of its entries nothing in `graph` uses.
pub(super) fn status(root: &Path, graph: &Graph, lock: &Lockfile) -> (Vec<Unlocked>, Vec<Entry>) {
    let mut used = BTreeSet::new();
    let mut unlocked = Vec::new();
    for node in graph.nodes() {
        match &node.recipe {
            Recipe::Image(image) => {
                for e in &image.external {
                    if e.pinned_in_reference() {
                        continue;
                    }
                    let entry = Entry::image(&e.reference, image.platform.as_deref());
                    if used.insert(entry.clone()) && e.digest.is_none() {
                        unlocked.push(Unlocked {
                            entry,
                            file: relative(root, &image.containerfile),
                            line: Some(e.line),
                        });
                    }
                }
            }
            Recipe::Stage(stage) => {
                let Some(src) = &stage.external_source else {
                    continue;
                };
                let entry = Entry::Seed(src.clone());
                if used.insert(entry.clone()) && stage.seed_lock.is_none() {
                    unlocked.push(Unlocked {
                        entry,
                        file: stage
                            .spec_file
                            .as_deref()
                            .map_or_else(|| node.path.clone(), |f| relative(root, f)),
                        line: stage
                            .spec
                            .as_ref()
                            .and_then(|s| s.get("source_subpath"))
                            .map(|e| e.line),
                    });
                }
            }
            Recipe::Snapshot(_) => {}
        }
    }
    let unused = lock
        .entries()
        .map(|(e, _)| e)
        .filter(|e| !used.contains(*e))
        .cloned()
        .collect();
    (unlocked, unused)
}

impl Project {
    /// Key the project's external inputs with `lock` instead of the lock it was
    /// loaded with, and every key that depends on them: what `reagent build` does
    /// after locking what was missing, without reading the project again.
    pub fn apply_lock(&mut self, lock: Lockfile) {
        let ids: Vec<_> = self.graph.nodes().map(|n| n.id).collect();
        for id in ids {
            let node = self.graph.node_mut(id);
            let mut inputs = ManifestBuilder::new();
            match &mut node.recipe {
                Recipe::Image(image) => {
                    for input in &node.manifest.inputs {
                        if input.label.class() != Some(InputClass::External) {
                            inputs.input(input.clone());
                        }
                    }
                    let platform = image.platform.clone();
                    for e in &mut image.external {
                        if !e.pinned_in_reference() {
                            e.digest = lock
                                .image_digest(&e.reference, platform.as_deref())
                                .map(str::to_string);
                        }
                        external_input(&mut inputs, e);
                    }
                }
                Recipe::Stage(stage) => {
                    let Some(src) = &stage.external_source else {
                        continue;
                    };
                    for input in &node.manifest.inputs {
                        if input.label.class() != Some(InputClass::SourceSubpath) {
                            inputs.input(input.clone());
                        }
                    }
                    stage.seed_lock = lock.seed(src).cloned();
                    seed_input(&mut inputs, src, stage.seed_lock.as_ref());
                }
                Recipe::Snapshot(_) => continue,
            }
            node.manifest = inputs.finish();
        }
        // Parents' keys are filled in again, parents first.
        self.graph.rekey(|_, _, _| None);
        let (unlocked, unused) = status(&self.root, &self.graph, &lock);
        self.lock = lock;
        self.unlocked = unlocked;
        self.unused = unused;
    }

    /// Whether the lock pins exactly what the project uses: nothing missing, nothing
    /// unused (what `--locked` asks for).
    pub fn lock_is_exact(&self) -> bool {
        self.unlocked.is_empty() && self.unused.is_empty()
    }

    /// One error per external input the lock lacks (where the project names it) and
    /// per entry nothing uses (where the lock has it): what `--locked` refuses.
    pub fn lock_errors(&self) -> Vec<ProjectError> {
        let mut errors: Vec<ProjectError> = self.unlocked.iter().map(Unlocked::error).collect();
        for entry in &self.unused {
            let message = format!(
                "`{entry}` is locked, but nothing in the project uses it (run `reagent lock` to drop it)"
            );
            errors.push(match self.lock.line(entry) {
                Some(line) => ProjectError::at(LOCK_FILE, line, message),
                None => ProjectError::in_file(LOCK_FILE, message),
            });
        }
        errors
    }
}
