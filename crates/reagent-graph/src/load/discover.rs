//! Finding what a project defines: its `stages/` and `images/` folders, the
//! image folders' names and `NN-` order, and images defined in `graph.toml` only.

use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashSet;
use toml::Spanned;

use super::Loader;
use crate::error::{relative, ProjectError};
use crate::input::kind_of;

/// An image to load: its name, build context, Containerfile and `NN-` order.
pub(super) struct ImageFolder {
    pub name: String,
    pub context: PathBuf,
    pub containerfile: PathBuf,
    pub order: Option<u32>,
    /// Where `graph.toml` sets `context`, when it does (errors about the context point there).
    pub context_at: Option<Range<usize>>,
    /// Where `graph.toml` sets `containerfile`, when it does.
    pub containerfile_at: Option<Range<usize>>,
    /// Whether discovery already found `context` to be a folder (the image's own
    /// folder), so loading the image need not stat it again.
    pub context_is_dir: bool,
    /// Whether `containerfile` is the folder's `Containerfile` by default (no
    /// `containerfile` key): not looked at yet, it is read if there is one, else
    /// the folder's `Dockerfile` (see `Loader::containerfile_text`).
    pub containerfile_default: bool,
}

impl Loader<'_> {
    /// The entries of the project's `stages/` or `images/` folder; none when it does not
    /// exist, an error when it exists but is not a folder that can be listed.
    pub(super) fn list_dir(&self, name: &str, errors: &mut Vec<ProjectError>) -> Vec<PathBuf> {
        self.list_dir_typed(name, errors)
            .into_iter()
            .map(|(path, _)| path)
            .collect()
    }

    /// [`Loader::list_dir`] with each entry's type as the listing gives it (`None`
    /// when the file system does not say).
    fn list_dir_typed(
        &self,
        name: &str,
        errors: &mut Vec<ProjectError>,
    ) -> Vec<(PathBuf, Option<std::fs::FileType>)> {
        let dir = self.root.join(name);
        let listing = match std::fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Ok(m) = std::fs::symlink_metadata(&dir) {
                    errors.push(ProjectError::in_file(
                        name,
                        format!(
                            "`{name}` is {} that cannot be followed: {e}",
                            kind_of(m.file_type())
                        ),
                    ));
                }
                return Vec::new();
            }
            Err(e) => {
                let what = match std::fs::metadata(&dir) {
                    Ok(m) if !m.is_dir() => {
                        format!("`{name}` is {}, not a folder", kind_of(m.file_type()))
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
                // `file_type` comes from the listing (d_type) and stats only
                // where the file system leaves the type unknown.
                Ok(e) => out.push((e.path(), e.file_type().ok())),
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

    /// The image folders under `images/`, sorted; a symlink that leads nowhere is an error.
    fn image_dirs(&self, errors: &mut Vec<ProjectError>) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        for (path, file_type) in self.list_dir_typed("images", errors) {
            let hidden = path
                .file_name()
                .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
            if hidden {
                continue;
            }
            // A folder as listed needs no stat; a symlink is followed to see whether
            // it leads to one.
            if file_type.is_some_and(|t| t.is_dir()) || path.is_dir() {
                dirs.push(path);
                continue;
            }
            // A symlink that should lead to an image folder but leads nowhere (dangling,
            // or a loop) would otherwise drop the image without a word.
            let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
            if let (true, Err(e)) = (is_link, std::fs::metadata(&path)) {
                let rel = relative(self.root, &path);
                errors.push(ProjectError::in_file(
                    &rel,
                    format!(
                        "`{}` is a symlink that cannot be followed to an image folder: {e}",
                        rel.display()
                    ),
                ));
            }
        }
        // Every entry is `images/<name>`: ordering the paths' bytes is ordering their
        // names, as `Path`'s component-wise order would, without parsing components.
        dirs.sort_unstable_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
        dirs
    }

    /// Every image: the folders under `images/`, then images `graph.toml` defines with
    /// a `containerfile` of their own.
    pub(super) fn image_folders(&self, errors: &mut Vec<ProjectError>) -> Vec<ImageFolder> {
        let dirs = self.image_dirs(errors);
        let mut out = Vec::with_capacity(dirs.len());
        let mut seen = FxHashSet::default();
        seen.reserve(dirs.len());
        for dir in &dirs {
            match self.image_folder(dir) {
                Ok(folder) => {
                    // Known from here on, so a `[image.<name>]` table for it is not
                    // also reported as naming no image.
                    seen.insert(folder.name.clone());
                    out.push(folder);
                }
                Err(e) => errors.push(e),
            }
        }
        self.config_only_images(&seen, &mut out, errors);
        out
    }

    /// The image of the folder `dir`, or why its name is not a node name. Nothing
    /// is read here: whether it has a Containerfile is found when it is read.
    fn image_folder(&self, dir: &Path) -> Result<ImageFolder, ProjectError> {
        let folder = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (order, name) = split_order(&folder);
        if let Err(msg) = check_name(name) {
            return Err(ProjectError::in_file(relative(self.root, dir), msg));
        }
        let section = self.config.image(name);
        let context_at = section.and_then(|s| s.context.as_ref());
        let containerfile_at = section.and_then(|s| s.containerfile.as_ref());
        let context = context_at.map_or_else(|| dir.to_path_buf(), |c| self.root.join(c.get_ref()));
        let containerfile = containerfile_at.map_or_else(
            || dir.join("Containerfile"),
            |c| self.root.join(c.get_ref()),
        );
        Ok(ImageFolder {
            name: name.to_string(),
            context,
            containerfile,
            order,
            context_at: context_at.map(Spanned::span),
            containerfile_at: containerfile_at.map(Spanned::span),
            context_is_dir: context_at.is_none(),
            containerfile_default: containerfile_at.is_none(),
        })
    }

    /// Images defined only in graph.toml (a containerfile and context elsewhere).
    fn config_only_images(
        &self,
        seen: &FxHashSet<String>,
        out: &mut Vec<ImageFolder>,
        errors: &mut Vec<ProjectError>,
    ) {
        for (name, section) in &self.config.image {
            if seen.contains(name.get_ref()) {
                continue;
            }
            let Some(cf) = &section.containerfile else {
                errors.push(self.config_error(
                    name.span(),
                    format!(
                        "[image.{0}] names no image: there is no images/{0}/ (or images/NN-{0}/) folder and no `containerfile` key",
                        name.get_ref()
                    ),
                ));
                continue;
            };
            if let Err(msg) = check_name(name.get_ref()) {
                errors.push(self.config_error(name.span(), msg));
                continue;
            }
            let containerfile = self.root.join(cf.get_ref());
            let context = match &section.context {
                Some(c) => self.root.join(c.get_ref()),
                None => containerfile
                    .parent()
                    .map_or_else(|| self.root.to_path_buf(), Path::to_path_buf),
            };
            out.push(ImageFolder {
                name: name.get_ref().clone(),
                context,
                containerfile,
                order: None,
                context_at: section.context.as_ref().map(Spanned::span),
                containerfile_at: Some(cf.span()),
                context_is_dir: false,
                containerfile_default: false,
            });
        }
    }
}

/// `01-base` → `(Some(1), "base")`; `base` → `(None, "base")`.
pub(super) fn split_order(folder: &str) -> (Option<u32>, &str) {
    let digits = folder.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && folder[digits..].starts_with('-') && folder.len() > digits + 1 {
        (folder[..digits].parse().ok(), &folder[digits + 1..])
    } else {
        (None, folder)
    }
}

/// Node names become image repository names: lowercase letters, digits and
/// `.`, `_`, `-` separators, starting with a letter or digit.
pub(super) fn check_name(name: &str) -> Result<(), String> {
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

/// Two definitions of one node name.
pub(super) fn duplicate(name: &str, first: &Path, second: &Path) -> ProjectError {
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
