//! `--format github`: a GitHub Actions workflow, one job per node with `needs`,
//! or (`matrix`) one job per layer of the graph with a matrix of its nodes.

use crate::model::{login_line, shell_line, shell_word, unique_ids, Pipeline, AUTH_FILE};
use crate::yaml::Yaml;
use crate::{header, Format};

/// A GitHub job id: letters, digits, `_` and `-`, starting with a letter or `_`.
fn job_id(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        id
    } else {
        format!("_{id}")
    }
}

pub(crate) fn render(pipeline: &Pipeline, image: &str) -> String {
    let jobs = if pipeline.jobs.is_empty() {
        vec![("nothing-to-do".to_string(), nothing_to_do(pipeline))]
    } else if pipeline.settings.matrix {
        layer_jobs(pipeline, image)
    } else {
        node_jobs(pipeline, image)
    };
    let doc = Yaml::map([
        ("name", Yaml::str(format!("reagent {}", pipeline.project))),
        (
            "on",
            Yaml::map([
                ("push", Yaml::map::<&str>([])),
                ("workflow_dispatch", Yaml::map::<&str>([])),
            ]),
        ),
        ("jobs", Yaml::Map(jobs)),
    ]);
    header(pipeline, Format::Github) + &doc.to_document()
}

/// One job per node, `needs` its parents' jobs.
fn node_jobs(pipeline: &Pipeline, image: &str) -> Vec<(String, Yaml)> {
    let names: Vec<String> = pipeline.jobs.iter().map(|j| j.name.clone()).collect();
    let ids = unique_ids(&names, job_id, '_');
    let id_of = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .map(|i| ids[i].clone())
            .unwrap_or_default()
    };
    pipeline
        .jobs
        .iter()
        .zip(&ids)
        .map(|(job, id)| {
            let needs: Vec<String> = job.deps.iter().map(|d| id_of(d)).collect();
            let run = shell_line(&job.command);
            let report = pipeline.settings.report_path(&job.name);
            let body = job_body(
                pipeline,
                image,
                &format!("build {}", job.name),
                needs,
                None,
                &run,
                &report,
                &format!("reagent-report-{}", job.name),
            );
            (id.clone(), body)
        })
        .collect()
}

/// One job per layer (jobs whose deepest needed job is one layer up), a matrix over its nodes.
fn layer_jobs(pipeline: &Pipeline, image: &str) -> Vec<(String, Yaml)> {
    let layers = pipeline.layers();
    let count = layers.iter().max().map_or(0, |m| m + 1);
    let settings = &pipeline.settings;
    let node = "${{ matrix.node }}";
    // GitHub substitutes the matrix value before the shell reads the line.
    let run = shell_line(&settings.command(node, true));
    let report = settings.report_path(node);
    (0..count)
        .map(|layer| {
            let nodes: Vec<&str> = pipeline
                .jobs
                .iter()
                .zip(&layers)
                .filter(|(_, l)| **l == layer)
                .map(|(j, _)| j.name.as_str())
                .collect();
            let mut needs: Vec<usize> = pipeline
                .jobs
                .iter()
                .zip(&layers)
                .filter(|(_, l)| **l == layer)
                .flat_map(|(j, _)| j.deps.iter())
                .filter_map(|d| {
                    pipeline
                        .jobs
                        .iter()
                        .position(|j| &j.name == d)
                        .map(|i| layers[i])
                })
                .collect();
            needs.sort_unstable();
            needs.dedup();
            let strategy = Yaml::map([
                ("fail-fast", Yaml::Bool(false)),
                ("matrix", Yaml::map([("node", Yaml::strs(nodes))])),
            ]);
            let body = job_body(
                pipeline,
                image,
                &format!("build {node}"),
                needs.iter().map(|l| format!("layer-{l}")).collect(),
                Some(strategy),
                &run,
                &report,
                &format!("reagent-report-{node}"),
            );
            (format!("layer-{layer}"), body)
        })
        .collect()
}

/// A job: in the image, logged in with the secrets, building, keeping the report.
#[allow(clippy::too_many_arguments)]
fn job_body(
    pipeline: &Pipeline,
    image: &str,
    name: &str,
    needs: Vec<String>,
    strategy: Option<Yaml>,
    run: &str,
    report: &str,
    artifact: &str,
) -> Yaml {
    let settings = &pipeline.settings;
    let mut job: Vec<(String, Yaml)> = vec![
        ("name".into(), Yaml::str(name)),
        ("runs-on".into(), Yaml::str(&settings.runs_on)),
    ];
    if !needs.is_empty() {
        job.push(("needs".into(), Yaml::strs(needs)));
    }
    if let Some(strategy) = strategy {
        job.push(("strategy".into(), strategy));
    }
    job.push((
        "container".into(),
        Yaml::map([
            ("image", Yaml::str(image)),
            // buildah builds inside the job's container.
            ("options", Yaml::str("--privileged")),
        ]),
    ));
    job.push((
        "env".into(),
        Yaml::map([
            ("REGISTRY_AUTH_FILE", Yaml::str(AUTH_FILE)),
            (
                "REGISTRY_USER",
                Yaml::str(format!("${{{{ secrets.{} }}}}", settings.secrets.user)),
            ),
            (
                "REGISTRY_PASSWORD",
                Yaml::str(format!("${{{{ secrets.{} }}}}", settings.secrets.password)),
            ),
        ]),
    ));
    job.push((
        "steps".into(),
        Yaml::list([
            Yaml::map([("uses", Yaml::str("actions/checkout@v4"))]),
            Yaml::map([
                ("name", Yaml::str("log in to the registry")),
                (
                    "run",
                    Yaml::text(login_line(settings, "REGISTRY_USER", "REGISTRY_PASSWORD")),
                ),
            ]),
            Yaml::map([("name", Yaml::str(name)), ("run", Yaml::text(run))]),
            Yaml::map([
                ("name", Yaml::str("keep the run report")),
                ("if", Yaml::str("always()")),
                ("uses", Yaml::str("actions/upload-artifact@v4")),
                (
                    "with",
                    Yaml::map([
                        ("name", Yaml::str(artifact)),
                        ("path", Yaml::str(report)),
                        ("if-no-files-found", Yaml::str("ignore")),
                    ]),
                ),
            ]),
            Yaml::map([
                ("name", Yaml::str("log out")),
                ("if", Yaml::str("always()")),
                ("run", Yaml::text("rm -f \"$REGISTRY_AUTH_FILE\"")),
            ]),
        ]),
    ));
    Yaml::Map(job)
}

/// The one job of a pipeline with nothing to build (GitHub wants at least one).
fn nothing_to_do(pipeline: &Pipeline) -> Yaml {
    Yaml::map([
        ("name", Yaml::str("nothing to build")),
        ("runs-on", Yaml::str(&pipeline.settings.runs_on)),
        (
            "steps",
            Yaml::list([Yaml::map([(
                "run",
                Yaml::str(format!(
                    "echo {}",
                    shell_word(&format!(
                        "every node of {} was up to date when this was exported",
                        pipeline.project
                    ))
                )),
            )])]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_what_github_accepts() {
        assert_eq!(job_id("app"), "app");
        assert_eq!(job_id("web.v2"), "web_v2");
        assert_eq!(job_id("7zip"), "_7zip");
        assert_eq!(job_id("a-b_c"), "a-b_c");
    }
}
