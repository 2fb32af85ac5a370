//! `--format argo`: an Argo Workflows `Workflow` whose DAG template has one
//! task per node, each running one shared `build` template with the node's
//! name, in a pod that mounts the registry's Kubernetes secret for buildah.

use crate::model::{unique_ids, Pipeline};
use crate::yaml::Yaml;
use crate::{header, Format};

/// Where the registry secret is mounted; buildah and skopeo read `auth.json` there.
const AUTH_DIR: &str = "/etc/reagent/registry";
/// Where the checkout is.
const SOURCE: &str = "/src";

/// An Argo task name: letters, digits and `-`, starting with a letter or digit.
fn task_name(node: &str) -> String {
    node.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A Kubernetes name prefix (`generateName`): lowercase letters, digits and `-`.
fn generate_name(project: &str) -> String {
    let mut name = String::new();
    for c in project.to_ascii_lowercase().chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    name.truncate(40);
    format!("reagent-{}-", name.trim_end_matches('-'))
}

/// `{name: NAME, value: VALUE}`.
fn param(name: &str, value: &str) -> Yaml {
    Yaml::map([("name", Yaml::str(name)), ("value", Yaml::str(value))])
}

pub(crate) fn render(pipeline: &Pipeline, image: &str) -> String {
    let settings = &pipeline.settings;
    let mut templates = vec![
        Yaml::map([
            ("name", Yaml::str("reagent")),
            ("dag", Yaml::map([("tasks", Yaml::List(tasks(pipeline)))])),
        ]),
        build_template(pipeline, image),
    ];
    if pipeline.jobs.is_empty() {
        templates.push(Yaml::map([
            ("name", Yaml::str("nothing-to-do")),
            (
                "container",
                Yaml::map([
                    ("image", Yaml::str(image)),
                    ("command", Yaml::strs(["reagent", "--version"])),
                ]),
            ),
        ]));
    }
    let mut repo = vec![("name".to_string(), Yaml::str("repo"))];
    if let Some(url) = &settings.repo {
        repo.push(("value".into(), Yaml::str(url)));
    }
    let doc = Yaml::map([
        ("apiVersion", Yaml::str("argoproj.io/v1alpha1")),
        ("kind", Yaml::str("Workflow")),
        (
            "metadata",
            Yaml::map([("generateName", Yaml::str(generate_name(&pipeline.project)))]),
        ),
        (
            "spec",
            Yaml::map([
                ("entrypoint", Yaml::str("reagent")),
                (
                    "arguments",
                    Yaml::map([(
                        "parameters",
                        Yaml::list([Yaml::Map(repo), param("revision", "HEAD")]),
                    )]),
                ),
                ("volumes", Yaml::list([registry_volume(pipeline)])),
                ("templates", Yaml::List(templates)),
            ]),
        ),
    ]);
    header(pipeline, Format::Argo) + &doc.to_document()
}

/// The DAG's tasks: one per job, `dependencies` its parents' tasks.
fn tasks(pipeline: &Pipeline) -> Vec<Yaml> {
    let names: Vec<String> = pipeline.jobs.iter().map(|j| j.name.clone()).collect();
    let ids = unique_ids(&names, task_name, '-');
    let id_of = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .map(|i| ids[i].clone())
            .unwrap_or_default()
    };
    let mut tasks: Vec<Yaml> = pipeline
        .jobs
        .iter()
        .zip(&ids)
        .map(|(job, id)| {
            let mut task = vec![
                ("name".to_string(), Yaml::str(id)),
                ("template".into(), Yaml::str("build")),
                (
                    "arguments".into(),
                    Yaml::map([("parameters", Yaml::list([param("node", &job.name)]))]),
                ),
            ];
            if !job.deps.is_empty() {
                task.push((
                    "dependencies".into(),
                    Yaml::strs(job.deps.iter().map(|d| id_of(d))),
                ));
            }
            Yaml::Map(task)
        })
        .collect();
    if tasks.is_empty() {
        tasks.push(Yaml::map([
            ("name", Yaml::str("nothing-to-do")),
            ("template", Yaml::str("nothing-to-do")),
        ]));
    }
    tasks
}

/// The one template every task runs: the checkout, then `reagent build --only NODE`.
fn build_template(pipeline: &Pipeline, image: &str) -> Yaml {
    let mut command = pipeline
        .settings
        .command("{{inputs.parameters.node}}", false);
    let program = command.remove(0);
    Yaml::map([
        ("name", Yaml::str("build")),
        (
            "inputs",
            Yaml::map([
                (
                    "parameters",
                    Yaml::list([Yaml::map([("name", Yaml::str("node"))])]),
                ),
                (
                    "artifacts",
                    Yaml::list([Yaml::map([
                        ("name", Yaml::str("source")),
                        ("path", Yaml::str(SOURCE)),
                        (
                            "git",
                            Yaml::map([
                                ("repo", Yaml::str("{{workflow.parameters.repo}}")),
                                ("revision", Yaml::str("{{workflow.parameters.revision}}")),
                            ]),
                        ),
                    ])]),
                ),
            ]),
        ),
        (
            "container",
            Yaml::map([
                ("image", Yaml::str(image)),
                ("command", Yaml::strs([program])),
                ("args", Yaml::strs(command)),
                ("workingDir", Yaml::str(SOURCE)),
                (
                    "env",
                    Yaml::list([param(
                        "REGISTRY_AUTH_FILE",
                        &format!("{AUTH_DIR}/auth.json"),
                    )]),
                ),
                (
                    "volumeMounts",
                    Yaml::list([Yaml::map([
                        ("name", Yaml::str("registry-auth")),
                        ("mountPath", Yaml::str(AUTH_DIR)),
                        ("readOnly", Yaml::Bool(true)),
                    ])]),
                ),
                // buildah builds inside the pod.
                (
                    "securityContext",
                    Yaml::map([("privileged", Yaml::Bool(true))]),
                ),
            ]),
        ),
    ])
}

/// The registry's Kubernetes secret (`kubernetes.io/dockerconfigjson`) as a
/// volume holding `auth.json`.
fn registry_volume(pipeline: &Pipeline) -> Yaml {
    Yaml::map([
        ("name", Yaml::str("registry-auth")),
        (
            "secret",
            Yaml::map([
                (
                    "secretName",
                    Yaml::str(&pipeline.settings.secrets.kubernetes),
                ),
                (
                    "items",
                    Yaml::list([Yaml::map([
                        ("key", Yaml::str(".dockerconfigjson")),
                        ("path", Yaml::str("auth.json")),
                    ])]),
                ),
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_kubernetes_and_argo_accept() {
        assert_eq!(task_name("web.v2_x"), "web-v2-x");
        assert_eq!(task_name("7zip"), "7zip");
        assert_eq!(generate_name("busybox-demo"), "reagent-busybox-demo-");
        assert_eq!(generate_name("My_Shop!"), "reagent-my-shop-");
        assert_eq!(generate_name("a--b"), "reagent-a-b-");
    }
}
