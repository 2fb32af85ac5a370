//! Image nodes: a Containerfile, parsed and analysed with the image's build args,
//! its build-context inputs, its settings from `graph.toml`, and the references
//! that name other nodes.

use std::cell::LazyCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reagent_containerfile::{
    Analysis, Containerfile, ImageReference, Keyword, ParseError, ReferenceKind,
};
use toml::Spanned;

use super::discover::ImageFolder;
use super::{Draft, Loader};
use crate::config::{ImageSection, CONFIG_FILE};
use crate::context::{Context, ContextProblem};
use crate::error::{relative, ProjectError};
use crate::input::read_text;
use crate::lockfile::digest_in_reference;
use crate::model::{
    effective_use, use_string, ExternalImage, ImageFormat, ImageRecipe, InputClass, Label,
    ManifestBuilder, NodeKind, Recipe,
};
use crate::reference::{check, classify, Referent};

/// What every image's loading reads besides its own folder.
#[derive(Clone, Copy)]
pub(super) struct Shared<'a> {
    pub registry: Option<&'a str>,
    /// Every node name, with where it is defined.
    pub names: &'a rustc_hash::FxHashMap<String, PathBuf>,
    /// `portage:<path>` inputs of the portage config folder.
    pub portage: &'a [(Label, blake3::Hash)],
    /// The host's platform build args, made once.
    pub host_args: &'a crate::platform::HostArgs,
}

/// A Containerfile as read: where it is, its text, and what parsing made of it.
struct Read {
    file: PathBuf,
    text: String,
    parsed: Containerfile,
    analysis: Analysis,
    /// The build args it was analysed with (platform args, then the image's own).
    build_args: std::sync::Arc<BTreeMap<String, String>>,
}

impl Loader<'_> {
    /// The draft of one image, or every problem found in it.
    pub(super) fn image(
        &self,
        folder: &ImageFolder,
        shared: &Shared<'_>,
    ) -> Result<Draft, Vec<ProjectError>> {
        let section = self.config.image(&folder.name).cloned().unwrap_or_default();
        let read = self.read_containerfile(folder, &section, shared)?;
        let context_rel = relative(self.root, &folder.context);
        if !folder.context_is_dir && !folder.context.is_dir() {
            let message = format!("build context of image `{}` is not a folder", folder.name);
            return Err(vec![match &folder.context_at {
                Some(span) => self.config_error(span.clone(), message),
                None => ProjectError::in_file(&context_rel, message),
            }]);
        }
        self.check_target(folder, &section, &read)?;
        let format = self.config.image_format(&folder.name);

        let mut errors = self.dropped_by_format(folder, format, &read);

        let mut inputs = ManifestBuilder::new();
        inputs.shown(Label::of(InputClass::Kind), "image");
        inputs.bytes(Label::of(InputClass::Containerfile), read.text.as_bytes());
        if let Err(e) = self.context_inputs(folder, &read, &mut inputs) {
            errors.push(e);
        }
        let use_flags = self.settings_inputs(&section, format, shared, &mut inputs);
        let (parents, external) = self.references(
            &read,
            &section.args,
            shared,
            section.platform.as_deref(),
            &mut inputs,
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Draft {
            name: folder.name.clone(),
            kind: NodeKind::Image,
            path: context_rel,
            recipe: Recipe::Image(ImageRecipe {
                containerfile: read.file,
                parsed: read.parsed,
                context: folder.context.clone(),
                args: section.args.clone(),
                read_args: read.build_args,
                target: section.target.as_ref().map(|t| t.get_ref().clone()),
                tags: section.tags.iter().map(|t| t.get_ref().clone()).collect(),
                squash: section.squash,
                platform: section.platform.clone(),
                format,
                tests: section.test.iter().map(|t| t.get_ref().clone()).collect(),
                secrets: section
                    .secrets
                    .iter()
                    .map(|(id, path)| (id.clone(), self.root.join(path)))
                    .collect(),
                use_flags,
                order: folder.order,
                // Node ids are assigned when linking; names are kept until then.
                node_refs: Vec::new(),
                external,
                snapshot: section
                    .invalidation
                    .or(Some(self.config.snapshot.invalidation)),
            }),
            inputs,
            parents,
        })
    }

    /// Read, parse and analyse the image's Containerfile with its build args.
    fn read_containerfile(
        &self,
        folder: &ImageFolder,
        section: &ImageSection,
        shared: &Shared<'_>,
    ) -> Result<Read, Vec<ProjectError>> {
        let (file, rel, text) = self.containerfile_text(folder)?;
        let located = |errors: Vec<ParseError>| {
            errors
                .iter()
                .map(|e| parse_error(&rel, &text, e))
                .collect::<Vec<_>>()
        };
        let parsed = reagent_containerfile::parse_all(&text).map_err(located)?;
        let read_args = shared
            .host_args
            .build_args(section.platform.as_deref(), &section.args);
        let analysis = parsed.analyze_all(&read_args).map_err(located)?;
        Ok(Read {
            file,
            text,
            parsed,
            analysis,
            build_args: read_args,
        })
    }

    /// The image's Containerfile (absolute and relative) and its text. A folder's
    /// own is its `Containerfile`, else its `Dockerfile`: whatever is there under
    /// either name (even a folder or a dangling link) is taken, so reading it
    /// says what is wrong with it. The common case is one open, no `lstat`.
    fn containerfile_text(
        &self,
        folder: &ImageFolder,
    ) -> Result<(PathBuf, PathBuf, String), Vec<ProjectError>> {
        // A path graph.toml gave is fixed there: say so at its line.
        let located = |e: ProjectError| {
            vec![match &folder.containerfile_at {
                Some(span) if e.line.is_none() => self.config_error(span.clone(), e.message),
                _ => e,
            }]
        };
        let file = &folder.containerfile;
        let rel = relative(self.root, file);
        match read_text(file, &rel) {
            Ok(text) => return Ok((file.clone(), rel, text)),
            // Not there at all: the folder's Dockerfile, if it has one.
            Err(_) if folder.containerfile_default && std::fs::symlink_metadata(file).is_err() => {}
            Err(e) => return Err(located(e)),
        }
        let dockerfile = file.with_file_name("Dockerfile");
        if std::fs::symlink_metadata(&dockerfile).is_err() {
            let dir = file.parent().unwrap_or(self.root);
            return Err(vec![ProjectError::in_file(
                relative(self.root, dir),
                "image folder has no Containerfile or Dockerfile",
            )]);
        }
        let rel = relative(self.root, &dockerfile);
        let text = read_text(&dockerfile, &rel).map_err(located)?;
        Ok((dockerfile, rel, text))
    }

    /// `[image.x] target` must name a stage of the Containerfile.
    fn check_target(
        &self,
        folder: &ImageFolder,
        section: &ImageSection,
        read: &Read,
    ) -> Result<(), Vec<ProjectError>> {
        let Some(target) = &section.target else {
            return Ok(());
        };
        let lower = target.get_ref().to_ascii_lowercase();
        let stages = &read.analysis.stages;
        if stages
            .iter()
            .any(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Ok(());
        }
        let named: Vec<&str> = stages.iter().filter_map(|s| s.name.as_deref()).collect();
        Err(vec![self.config_error(
            target.span(),
            format!(
                "[image.{}] target `{}` is not a stage of {} (its named stages: {})",
                folder.name,
                target.get_ref(),
                relative(self.root, &read.file).display(),
                if named.is_empty() {
                    "none".to_string()
                } else {
                    named.join(", ")
                }
            ),
        )])
    }

    /// Every instruction the image format drops (`HEALTHCHECK`, `ONBUILD` and
    /// `SHELL` in OCI), each an error at its line naming the setting to change:
    /// buildah would only warn in the node's log, and `SHELL` would not even
    /// apply to the file's own `RUN` steps.
    fn dropped_by_format(
        &self,
        folder: &ImageFolder,
        format: ImageFormat,
        read: &Read,
    ) -> Vec<ProjectError> {
        let dropped: Vec<_> = read
            .parsed
            .instructions()
            .iter()
            .filter(|i| {
                matches!(
                    i.keyword,
                    Keyword::Healthcheck | Keyword::Onbuild | Keyword::Shell
                )
            })
            .collect();
        if format != ImageFormat::Oci || dropped.is_empty() {
            return Vec::new();
        }
        let cf_rel = relative(self.root, &read.file);
        let setting = if self.config.buildah.format.is_some() {
            format!("[image.{}] format = \"docker\"", folder.name)
        } else {
            format!(
                "[image.{}] format = \"docker\" (or [buildah] format = \"docker\" for every image)",
                folder.name
            )
        };
        dropped
            .into_iter()
            .map(|i| {
                let what = if i.keyword == Keyword::Shell {
                    "buildah ignores it, even for this file's own RUN steps"
                } else {
                    "buildah only warns in the node's log"
                };
                ProjectError::at_line(
                    &cf_rel,
                    &read.text,
                    i.line,
                    format!(
                        "{} is dropped by the OCI image format ({what}): set {setting} in {CONFIG_FILE}",
                        i.keyword
                    ),
                )
            })
            .collect()
    }

    /// One input per build-context entry the Containerfile reads, and one per remote
    /// source (a URL as written: an arg's value in it is hashed, never shown).
    fn context_inputs(
        &self,
        folder: &ImageFolder,
        read: &Read,
        inputs: &mut ManifestBuilder,
    ) -> Result<(), ProjectError> {
        // Named only in errors: made when one is.
        let cf_rel = LazyCell::new(|| relative(self.root, &read.file));
        let ctx = Context::open_cached(&folder.context, self.files).map_err(|e| match e {
            ContextProblem::IgnoreFile {
                file,
                line,
                message,
            } => {
                let file = relative(self.root, &folder.context.join(&file));
                match line {
                    Some(line) => ProjectError::at(file, line, message),
                    None => ProjectError::in_file(file, message),
                }
            }
            other => ProjectError::in_file(relative(self.root, &folder.context), other.to_string()),
        })?;
        let entries = ctx.entries(&read.analysis.context_sources).map_err(|e| {
            ProjectError::at_line(&*cf_rel, &read.text, e.line, e.problem.to_string())
        })?;
        for e in entries {
            inputs.hash(Label::with(InputClass::Context, &e.subject()), e.hash, None);
        }
        for remote in &read.analysis.remote_sources {
            inputs.hash(
                Label::with(InputClass::Remote, &remote.written),
                blake3::hash(remote.url.as_bytes()),
                Some(remote.written.clone()),
            );
        }
        Ok(())
    }

    /// Inputs from `graph.toml` and the project: build args (hashed, never shown),
    /// target, squash, platform, format, portage config and USE flags. Returns the
    /// effective USE flags. (The snapshot is an input only of images built from its
    /// node, as a parent.)
    fn settings_inputs(
        &self,
        section: &ImageSection,
        format: ImageFormat,
        shared: &Shared<'_>,
        inputs: &mut ManifestBuilder,
    ) -> std::collections::BTreeMap<String, bool> {
        for (arg, value) in &section.args {
            // Build args may carry secrets: hashed, never shown.
            inputs.bytes(Label::with(InputClass::Arg, arg), value.as_bytes());
        }
        if let Some(t) = &section.target {
            inputs.shown(Label::of(InputClass::Target), t.get_ref());
        }
        if section.squash {
            inputs.shown(Label::of(InputClass::Squash), "true");
        }
        if let Some(p) = &section.platform {
            inputs.shown(Label::of(InputClass::Platform), p);
        }
        // Only a format other than the default is an input, so every key made
        // before `format` existed stays what it was.
        if format != ImageFormat::Oci {
            inputs.shown(Label::of(InputClass::Format), format.as_str());
        }
        for (label, hash) in shared.portage {
            inputs.hash(label.clone(), *hash, None);
        }
        let use_flags = effective_use(
            self.config
                .portage
                .use_flags
                .iter()
                .chain(section.use_flags.iter())
                .map(Spanned::get_ref),
        );
        if !use_flags.is_empty() {
            inputs.shown(Label::of(InputClass::Use), &use_string(&use_flags));
        }
        use_flags
    }

    /// The references that name other nodes (parents), as `(name, reference, line)`,
    /// and the external images, each keyed by the digest `reagent.lock` pins it to for
    /// `platform` (see [`crate::lockfile`]); a `localhost/` name no node has, and a
    /// reference buildah would not parse, are errors.
    fn references(
        &self,
        read: &Read,
        args: &BTreeMap<String, String>,
        shared: &Shared<'_>,
        platform: Option<&str>,
        inputs: &mut ManifestBuilder,
        errors: &mut Vec<ProjectError>,
    ) -> (Vec<(String, String, usize)>, Vec<ExternalImage>) {
        // Named only in errors: made when one is.
        let cf_rel = LazyCell::new(|| relative(self.root, &read.file));
        let mut parents = Vec::new();
        let mut external: Vec<ExternalImage> = Vec::new();
        for r in &read.analysis.references {
            if let Err(why) = check(&r.resolved) {
                errors.push(ProjectError::at_line(
                    &*cf_rel,
                    &read.text,
                    r.line,
                    format!(
                        "`{}` is not a valid image reference: {why}{}",
                        r.resolved,
                        variable_hint(read, r, args)
                    ),
                ));
                continue;
            }
            match classify(&r.resolved, shared.registry, |n| {
                shared.names.contains_key(n)
            }) {
                Referent::Node(n) => parents.push((n.to_string(), r.resolved.clone(), r.line)),
                Referent::UnknownLocal(n) => errors.push(ProjectError::at_line(
                    &*cf_rel,
                    &read.text,
                    r.line,
                    format!(
                        "`{}` names local image `{n}`, but the project has no node `{n}`",
                        r.resolved
                    ),
                )),
                Referent::External => {
                    if external.iter().any(|e| e.reference == r.resolved) {
                        continue;
                    }
                    let digest = digest_in_reference(&r.resolved)
                        .or_else(|| self.lock.image_digest(&r.resolved, platform))
                        .map(str::to_string);
                    let image = ExternalImage {
                        reference: r.resolved.clone(),
                        digest,
                        line: r.line,
                    };
                    super::lock::external_input(inputs, &image);
                    external.push(image);
                }
                Referent::Scratch => {}
            }
        }
        (parents, external)
    }
}

/// What the variables in an invalid reference's written form may explain: a build
/// arg a `FROM` cannot see without `ARG`, or a variable that is not set; `""` when
/// it was written as is.
fn variable_hint(read: &Read, r: &ImageReference, args: &BTreeMap<String, String>) -> String {
    let names = read.parsed.variables_in(&r.written);
    if names.is_empty() {
        return String::new();
    }
    let declared: Vec<&str> = read.parsed.global_args().iter().map(|(n, _)| *n).collect();
    let undeclared: Vec<&String> = names
        .iter()
        .filter(|n| {
            r.kind == ReferenceKind::From
                && args.contains_key(*n)
                && !declared.contains(&n.as_str())
        })
        .collect();
    if let Some(n) = undeclared.first() {
        return format!(
            " (written `{}`: `{n}` is given in [image] args but not declared, so FROM cannot see it; add `ARG {n}` before the first FROM)",
            r.written
        );
    }
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!(
        " (written `{}`: is {} unset? give it a default, or a value in [image] args)",
        r.written,
        list.join(" or ")
    )
}

/// A Containerfile error at its span when the parser knows one, else at its line.
fn parse_error(file: &Path, text: &str, e: &ParseError) -> ProjectError {
    match &e.span {
        Some(span) => ProjectError::at_span(file, text, span.clone(), e.message.clone()),
        None => ProjectError::at_line(file, text, e.line, e.message.clone()),
    }
}
