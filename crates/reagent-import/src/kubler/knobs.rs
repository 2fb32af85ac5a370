//! What becomes of each Kubler setting: every assignment in `kubler.conf` and
//! `build.conf` is mapped (it shapes the graph, a Containerfile, a build arg
//! or a tag) or reported with the reason it has no counterpart.

use super::namespace::{Namespace, UnitKind};
use super::report::Finding;
use super::shell::{ConfFile, Env, Statement};

/// Where an assignment is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A `kubler.conf` (Kubler's own or the namespace's).
    Conf,
    /// A `build.conf` of an image or a builder.
    Unit(UnitKind),
}

/// Why `name` (set in `place` to `value`) has no reagent counterpart, or
/// `None` when the import maps it.
fn unmapped(name: &str, value: &str, place: Place, referenced: bool) -> Option<String> {
    let unset_per_unit = "Kubler unsets it before reading each build.conf, so setting it in kubler.conf has no effect";
    let reason = match (name, place) {
        ("IMAGE_PARENT", Place::Unit(UnitKind::Image))
        | ("BUILDER", Place::Unit(_))
        | ("STAGE3_BASE" | "STAGE3_DATE", Place::Unit(UnitKind::Builder))
        | ("IMAGE_TAG" | "AUTHOR" | "DEFAULT_BUILDER", _) => return None,
        ("BUILD_ENGINE", _) if matches!(value, "docker" | "podman") => return None,
        (_, _) if name.starts_with("BOB_") => return None,
        (
            "IMAGE_PARENT" | "BUILDER" | "STAGE3_BASE" | "STAGE3_DATE" | "BUILDER_CAPS_SYS_PTRACE"
            | "BUILDER_DOCKER_ARGS" | "BUILDER_MOUNTS",
            Place::Conf,
        ) => unset_per_unit,
        ("IMAGE_PARENT", Place::Unit(_)) => "Kubler ignores IMAGE_PARENT for a builder",
        ("STAGE3_BASE" | "STAGE3_DATE", Place::Unit(_)) => {
            "only builders start from a stage3: it has no effect on an image"
        }
        ("BUILDER_CAPS_SYS_PTRACE", _) => {
            "reagent's build steps run with buildah's default capabilities and it has no setting to add SYS_PTRACE for one image; a build that needs ptrace (sandboxed package tests, for one) may fail"
        }
        ("BUILDER_SECCOMP", _) => "reagent has no per-image seccomp profile for build steps",
        ("BUILDER_MOUNTS" | "PARENT_BUILDER_MOUNTS", _) => {
            "host folders are not mounted into builds: a reagent build reads only its context, the portage snapshot and its cache mounts"
        }
        ("BUILDER_DOCKER_ARGS" | "BUILDER_DOCKER_ARGS_GLOBAL", _) => {
            "extra `docker run` arguments for the build container have no counterpart: the build is a `buildah build` RUN step"
        }
        (_, _) if name.starts_with("POST_BUILD_HC") => {
            "reagent runs no post-build health check; the HEALTHCHECK itself is kept (format = \"docker\"), and a command in `[image.<name>] test` can check what it checks"
        }
        ("BUILD_ENGINE", _) => "reagent builds with buildah; this engine's settings are not read",
        ("ARCH" | "ARCH_URL" | "MIRROR" | "PORTAGE_DATE" | "PORTAGE_URL", _) => {
            "a download setting: reagent downloads no stage3 or portage snapshot (the notes say which images to provide)"
        }
        (_, _) if name.starts_with("KUBLER_") => "one of Kubler's own host settings; no counterpart",
        ("DOCKER" | "DOCKER_BUILD_OPTS" | "DOCKER_COMMIT_OPTS" | "DOCKER_LOGIN" | "DOCKER_PW", _) => {
            "a docker setting: reagent drives buildah, configured in graph.toml's [buildah]"
        }
        (_, _) if name.to_ascii_uppercase().ends_with("_PROXY") => {
            "buildah hands the host's proxy variables to RUN steps itself: set them where reagent runs"
        }
        (_, _) if referenced => return None,
        (_, _) => "not a setting the importer knows, and nothing refers to it",
    };
    let mut reason = reason.to_string();
    if referenced && !name.starts_with("POST_BUILD_HC") && name != "BUILD_ENGINE" {
        reason.push_str(" (its value still reaches the settings that refer to it)");
    }
    Some(reason)
}

/// Every assignment of `file` (read into `env`) that has no counterpart, and
/// every statement that was not read.
fn file_findings(
    file: &ConfFile,
    env: &Env,
    place: Place,
    referenced: &dyn Fn(&str) -> bool,
    out: &mut Vec<Finding>,
) {
    for statement in &file.statements {
        match statement {
            Statement::Assign(a) => {
                let value = env
                    .get(&a.name)
                    .map(str::to_string)
                    .or_else(|| env.array(&a.name).map(|raw| format!("({raw})")))
                    .unwrap_or_default();
                if let Some(reason) = unmapped(&a.name, &value, place, referenced(&a.name)) {
                    out.push(Finding {
                        file: file.path.clone(),
                        line: Some(a.line),
                        subject: a.name.clone(),
                        value: Some(value),
                        reason,
                    });
                }
            }
            Statement::Unsupported(u) => out.push(Finding {
                file: file.path.clone(),
                line: Some(u.line),
                subject: u.assigns.clone().unwrap_or_else(|| format!("`{}`", u.text)),
                value: None,
                reason: format!(
                    "not read ({}): the importer reads variable assignments, nothing else",
                    u.reason
                ),
            }),
        }
    }
}

/// Every Kubler setting of the namespace with no counterpart, in file order:
/// the `kubler.conf` files, then each unit's `build.conf`.
pub fn findings(ns: &Namespace) -> Vec<Finding> {
    let mut out = Vec::new();
    let referenced_anywhere = |name: &str| {
        ns.env.was_referenced(name) || ns.units.iter().any(|u| u.env.was_referenced(name))
    };
    for conf in &ns.confs {
        file_findings(conf, &ns.env, Place::Conf, &referenced_anywhere, &mut out);
    }
    for unit in &ns.units {
        let referenced = |name: &str| unit.env.was_referenced(name);
        file_findings(
            &unit.conf,
            &unit.env,
            Place::Unit(unit.kind),
            &referenced,
            &mut out,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structural_settings_are_mapped_where_kubler_reads_them() {
        let image = Place::Unit(UnitKind::Image);
        let builder = Place::Unit(UnitKind::Builder);
        assert_eq!(unmapped("IMAGE_PARENT", "acme/x", image, false), None);
        assert_eq!(unmapped("BUILDER", "acme/bob", builder, false), None);
        assert_eq!(unmapped("STAGE3_BASE", "s", builder, false), None);
        assert_eq!(unmapped("BOB_CHOST", "x", Place::Conf, false), None);
        assert_eq!(unmapped("BUILD_ENGINE", "podman", Place::Conf, false), None);
        assert_eq!(
            unmapped("DEFAULT_MUSL_BUILDER", "acme/bob-musl", Place::Conf, true),
            None
        );
        assert!(unmapped("IMAGE_PARENT", "acme/x", Place::Conf, false)
            .unwrap()
            .contains("unsets"));
        assert!(unmapped("STAGE3_BASE", "s", image, false).is_some());
        assert!(unmapped("IMAGE_PARENT", "x", builder, false).is_some());
    }

    #[test]
    fn knobs_without_a_counterpart_say_why() {
        let image = Place::Unit(UnitKind::Image);
        for knob in [
            "BUILDER_CAPS_SYS_PTRACE",
            "BUILDER_SECCOMP",
            "BUILDER_MOUNTS",
            "PARENT_BUILDER_MOUNTS",
            "BUILDER_DOCKER_ARGS",
            "POST_BUILD_HC",
            "POST_BUILD_HC_MAX_DURATION",
            "KUBLER_POSTBUILD_IMAGE_PRUNE",
            "MIRROR",
            "HTTP_PROXY",
            "DOCKER_BUILD_OPTS",
            "SOMETHING_ELSE",
        ] {
            assert!(unmapped(knob, "v", image, false).is_some(), "{knob}");
        }
        assert!(unmapped("BUILD_ENGINE", "dummy", Place::Conf, false).is_some());
        assert!(unmapped("MIRROR", "http://m/", Place::Conf, true)
            .unwrap()
            .ends_with("(its value still reaches the settings that refer to it)"));
    }
}
