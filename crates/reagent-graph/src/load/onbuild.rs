//! A parent's `ONBUILD` triggers are its children's inputs: `ONBUILD COPY
//! app.conf /etc/app.conf` in a parent reads `app.conf` from the context of
//! each image built `FROM` it, so that file enters the child's key.

use std::collections::HashMap;
use std::path::PathBuf;

use reagent_containerfile::{ReferenceKind, Trigger};

use super::{Draft, Loader};
use crate::context::Context;
use crate::error::{relative, ProjectError};
use crate::model::{InputClass, Label, Recipe};

/// An image's triggers and the file that declares them.
struct Declared {
    file: PathBuf,
    triggers: Vec<Trigger>,
}

impl Loader<'_> {
    /// Add to each image built `FROM` a node with `ONBUILD` triggers what those
    /// triggers read from its context (and fetch); a source its context lacks is
    /// an error at the child's `FROM` line.
    pub(super) fn onbuild_inputs(&self, drafts: &mut [Draft]) -> Vec<ProjectError> {
        let declared: HashMap<String, Declared> = drafts
            .iter()
            .filter_map(|d| match &d.recipe {
                Recipe::Image(image) => {
                    let triggers = image.parsed.onbuild_triggers(image.target.as_deref());
                    (!triggers.is_empty()).then(|| {
                        (
                            d.name.clone(),
                            Declared {
                                file: relative(self.root, &image.containerfile),
                                triggers,
                            },
                        )
                    })
                }
                _ => None,
            })
            .collect();
        if declared.is_empty() {
            return Vec::new();
        }
        let mut errors = Vec::new();
        for d in drafts.iter_mut() {
            let Recipe::Image(image) = &d.recipe else {
                continue;
            };
            // The parents this image starts a stage from (not those it copies from).
            let Ok(analysis) = image.parsed.analyze(&image.read_args) else {
                continue;
            };
            let from_lines: Vec<usize> = analysis
                .references
                .iter()
                .filter(|r| r.kind == ReferenceKind::From)
                .map(|r| r.line)
                .collect();
            let cf = relative(self.root, &image.containerfile);
            for (parent, _, line) in &d.parents {
                let Some(declared) = declared.get(parent) else {
                    continue;
                };
                if !from_lines.contains(line) {
                    continue;
                }
                for trigger in &declared.triggers {
                    let at = |message: String| {
                        ProjectError::at_line(
                            &cf,
                            image.parsed.text(),
                            *line,
                            format!(
                                "the ONBUILD trigger `{}` of `{parent}` ({}:{}) {message}",
                                trigger.instruction,
                                declared.file.display(),
                                trigger.line
                            ),
                        )
                    };
                    let reads = match trigger.analyze(&image.read_args) {
                        Ok(reads) => reads,
                        Err(e) => {
                            errors.push(at(format!("cannot be read here: {}", e.message)));
                            continue;
                        }
                    };
                    if !reads.context_sources.is_empty() {
                        let entries = Context::open_cached(&image.context, self.files)
                            .map_err(|e| e.to_string())
                            .and_then(|ctx| {
                                ctx.entries(&reads.context_sources)
                                    .map_err(|e| e.problem.to_string())
                            });
                        match entries {
                            Ok(entries) => {
                                for e in entries {
                                    d.inputs.hash(
                                        Label::with(InputClass::Context, &e.subject()),
                                        e.hash,
                                        None,
                                    );
                                }
                            }
                            Err(problem) => {
                                errors.push(at(format!("fails in this image: {problem}")));
                            }
                        }
                    }
                    for remote in &reads.remote_sources {
                        d.inputs.hash(
                            Label::with(InputClass::Remote, &remote.written),
                            blake3::hash(remote.url.as_bytes()),
                            Some(remote.written.clone()),
                        );
                    }
                }
            }
        }
        errors
    }
}
