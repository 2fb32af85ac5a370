//! What the builder can read: each Containerfile construct newer than some
//! buildah version, checked against `buildah version` before anything is built,
//! so a build does not stop midway at "Unknown instruction: ECHO".
//!
//! The graph, the keys and `reagent check` accept every construct whatever the
//! builder: only a build needs the builder to read it.

use reagent_backend::Version;
use reagent_graph::error::relative;
use reagent_graph::{Construct, NodeId, Project, ProjectError, Recipe};

/// The first buildah version that reads `construct` in a Containerfile.
///
/// Heredocs came with buildah 1.33; `COPY --exclude` with 1.38 (1.37 still
/// fails with "COPY --excludes is not supported").
pub fn buildah_needs(construct: Construct) -> Version {
    match construct {
        Construct::Heredoc => Version::new(1, 33),
        Construct::CopyExclude => Version::new(1, 38),
    }
}

/// Every construct of the Containerfiles of `nodes` (image nodes; others are
/// skipped) that buildah `have` cannot read, as an error at its file and line
/// naming the construct and both versions.
pub fn unsupported(
    project: &Project,
    nodes: impl IntoIterator<Item = NodeId>,
    have: Version,
) -> Vec<ProjectError> {
    let mut errors = Vec::new();
    for id in nodes {
        let Recipe::Image(image) = &project.graph.node(id).recipe else {
            continue;
        };
        let file = relative(&project.root, &image.containerfile);
        for (construct, line) in image.parsed.constructs() {
            let needs = buildah_needs(construct);
            if have < needs {
                errors.push(ProjectError::at_line(
                    &file,
                    image.parsed.text(),
                    line,
                    format!(
                        "{} need buildah {needs} or newer, and this buildah is {have} (`buildah version`): upgrade buildah, or write the step without them",
                        construct.as_str()
                    ),
                ));
            }
        }
    }
    errors
}
