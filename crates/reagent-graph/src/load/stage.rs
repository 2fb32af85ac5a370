//! Stage nodes: one per catalyst spec under `stages/`, and one per seed tarball
//! given as `[stage.<name>]` in `graph.toml`.

use std::path::{Path, PathBuf};

use super::discover::check_name;
use super::{Draft, Loader, CATALYST_STOREDIR};
use crate::config::CONFIG_FILE;
use crate::error::{relative, ProjectError};
use crate::input::read_text;
use crate::model::{InputClass, Label, ManifestBuilder, NodeKind, Recipe, Seed, StageRecipe};

impl Loader<'_> {
    /// Every stage: spec files first (by file name), then seeds.
    pub(super) fn stages(&self, errors: &mut Vec<ProjectError>) -> Vec<Draft> {
        let storedir = self.root.join(
            self.config
                .stages
                .storedir
                .as_deref()
                .unwrap_or(CATALYST_STOREDIR),
        );
        let mut specs: Vec<PathBuf> = self
            .list_dir("stages", errors)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "spec"))
            .collect();
        specs.sort();
        let mut out: Vec<Draft> = specs
            .into_iter()
            .filter_map(|file| self.spec_stage(&file, &storedir, errors))
            .collect();
        out.extend(self.seed_stages(&storedir, errors));
        out
    }

    /// The stage a spec file makes.
    fn spec_stage(
        &self,
        file: &Path,
        storedir: &Path,
        errors: &mut Vec<ProjectError>,
    ) -> Option<Draft> {
        let rel = relative(self.root, file);
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        if let Err(msg) = check_name(&name) {
            errors.push(ProjectError::in_file(&rel, msg));
            return None;
        }
        let text = read_text(file, &rel).map_err(|e| errors.push(e)).ok()?;
        let spec = reagent_catalyst::parse(&text, &self.config.stages.vars)
            .map_err(|e| {
                errors.push(match e.line() {
                    Some(line) => ProjectError::at_line(&rel, &text, line, e.to_string()),
                    None => ProjectError::in_file(&rel, e.to_string()),
                });
            })
            .ok()?;
        if spec.kind() == reagent_catalyst::TargetKind::Snapshot {
            let line = spec.get("target").map_or(1, |e| e.line);
            errors.push(ProjectError::at_line(
                &rel,
                &text,
                line,
                "target `snapshot` makes a portage snapshot, not a stage; reagent takes the \
                 ebuild tree as `[snapshot] path` in graph.toml: remove this spec",
            ));
            return None;
        }
        let mut inputs = ManifestBuilder::new();
        inputs.shown(Label::of(InputClass::Kind), "stage");
        for entry in spec.entries() {
            inputs.bytes(
                Label::with(InputClass::Spec, &entry.key),
                entry.values.join("\n").as_bytes(),
            );
        }
        Some(Draft {
            name,
            kind: NodeKind::Stage,
            path: rel,
            recipe: Recipe::Stage(StageRecipe {
                spec_file: Some(file.to_path_buf()),
                produces: Some(spec.produces()),
                external_source: spec.source_subpath().map(str::to_string),
                seed_lock: None,
                spec: Some(spec),
                seed: None,
                storedir: storedir.to_path_buf(),
            }),
            inputs,
            parents: Vec::new(),
        })
    }

    /// The stages `graph.toml` gives as seed tarballs.
    fn seed_stages(
        &self,
        storedir: &std::path::Path,
        errors: &mut Vec<ProjectError>,
    ) -> Vec<Draft> {
        let mut out = Vec::new();
        for (name, section) in &self.config.stage {
            if let Err(msg) = check_name(name.get_ref()) {
                errors.push(self.config_error(name.span(), msg));
                continue;
            }
            let (Some(seed), Some(sha)) = (&section.seed, &section.sha256) else {
                continue; // Config::parse already reported it.
            };
            let sha = sha.get_ref().to_ascii_lowercase();
            let mut inputs = ManifestBuilder::new();
            inputs.shown(Label::of(InputClass::Kind), "stage");
            inputs.shown(Label::of(InputClass::Seed), &format!("sha256:{sha}"));
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
                    seed_lock: None,
                    storedir: storedir.to_path_buf(),
                }),
                inputs,
                parents: Vec::new(),
            });
        }
        out
    }
}
