//! The portage snapshot node (`[snapshot] path`), and the files of `[portage] config`,
//! an input of every image.

use std::path::PathBuf;

use super::{Draft, Loader, SNAPSHOT_NODE};
use crate::context::Context;
use crate::error::ProjectError;
use crate::model::{InputClass, Label, ManifestBuilder, NodeKind, Recipe, SnapshotRecipe};

/// The snapshot node and its stat cache's update.
pub(super) struct SnapshotNode {
    pub draft: Draft,
    /// The stat cache's new bytes, for the caller to store.
    pub cache_update: Option<Vec<u8>>,
}

impl Loader<'_> {
    /// The snapshot node, if `[snapshot] path` is set.
    pub(super) fn snapshot(&self, errors: &mut Vec<ProjectError>) -> Option<SnapshotNode> {
        let path = self.config.snapshot.path.as_ref()?;
        let tree = self.root.join(path.get_ref());
        if !tree.is_dir() {
            errors.push(self.config_error(
                path.span(),
                format!("snapshot path `{}` is not a folder", path.get_ref()),
            ));
            return None;
        }
        let opts = reagent_snapshot::Options {
            cache: self.opts.snapshot_cache.clone(),
            threads: None,
        };
        let report = match reagent_snapshot::identify(&tree, &opts) {
            Ok(r) => r,
            Err(e) => {
                errors
                    .push(self.config_error(path.span(), format!("cannot identify snapshot: {e}")));
                return None;
            }
        };
        let label = report.identity.label();
        let hash = report.identity.hash();
        let name = match &self.config.snapshot.name {
            Some(n) => {
                if let Err(msg) = super::discover::check_name(n.get_ref()) {
                    errors.push(self.config_error(n.span(), msg));
                    return None;
                }
                n.get_ref().clone()
            }
            None => SNAPSHOT_NODE.to_string(),
        };
        let mut inputs = ManifestBuilder::new();
        inputs.shown(Label::of(InputClass::Kind), "snapshot");
        inputs.hash(Label::of(InputClass::Snapshot), hash, Some(label.clone()));
        Some(SnapshotNode {
            draft: Draft {
                name,
                kind: NodeKind::Snapshot,
                path: PathBuf::from(path.get_ref()),
                recipe: Recipe::Snapshot(SnapshotRecipe {
                    tree,
                    identity: label.clone(),
                }),
                inputs,
                parents: Vec::new(),
            },
            cache_update: report.cache_update,
        })
    }

    /// Every file of `[portage] config`, hashed, as `portage:<relative path>` inputs.
    pub(super) fn portage_inputs(
        &self,
        errors: &mut Vec<ProjectError>,
    ) -> Vec<(Label, blake3::Hash)> {
        let Some(dir) = &self.config.portage.config else {
            return Vec::new();
        };
        let abs = self.root.join(dir.get_ref());
        if !abs.is_dir() {
            errors.push(self.config_error(
                dir.span(),
                format!("portage config `{}` is not a folder", dir.get_ref()),
            ));
            return Vec::new();
        }
        match Context::without_ignore(&abs)
            .with_cache(self.files)
            .all_entries()
        {
            Ok(entries) => entries
                .into_iter()
                .map(|e| (Label::with(InputClass::Portage, &e.subject()), e.hash))
                .collect(),
            Err(e) => {
                errors.push(self.config_error(dir.span(), e.to_string()));
                Vec::new()
            }
        }
    }
}
