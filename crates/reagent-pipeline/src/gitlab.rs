//! `--format gitlab`: a GitLab CI pipeline, one job per node with `needs:`,
//! meant to run as a child pipeline (a parent job exports it as an artifact and
//! a trigger job includes it), so `--dirty` can decide its jobs at run time.

use crate::model::{login_line, shell_line, shell_word, Pipeline, AUTH_FILE};
use crate::yaml::Yaml;
use crate::{header, Format};

/// The job's name: `build:NODE` (never one of GitLab's keywords).
fn job_name(node: &str) -> String {
    format!("build:{node}")
}

pub(crate) fn render(pipeline: &Pipeline, image: &str) -> String {
    let settings = &pipeline.settings;
    let mut doc: Vec<(String, Yaml)> = vec![
        ("stages".into(), Yaml::strs(["build"])),
        (
            "variables".into(),
            Yaml::map([("REGISTRY_AUTH_FILE", Yaml::str(AUTH_FILE))]),
        ),
        (
            "default".into(),
            Yaml::map([
                ("image", Yaml::str(image)),
                (
                    "before_script",
                    Yaml::list([Yaml::text(login_line(
                        settings,
                        &settings.secrets.user,
                        &settings.secrets.password,
                    ))]),
                ),
                (
                    "after_script",
                    Yaml::list([Yaml::text("rm -f \"$REGISTRY_AUTH_FILE\"")]),
                ),
            ]),
        ),
    ];
    if pipeline.jobs.is_empty() {
        doc.push((
            "nothing-to-do".into(),
            Yaml::map([
                ("stage", Yaml::str("build")),
                ("before_script", Yaml::list([])),
                ("after_script", Yaml::list([])),
                (
                    "script",
                    Yaml::list([Yaml::str(format!(
                        "echo {}",
                        shell_word(&format!(
                            "every node of {} was up to date when this was exported",
                            pipeline.project
                        ))
                    ))]),
                ),
            ]),
        ));
    }
    for job in &pipeline.jobs {
        doc.push((
            job_name(&job.name),
            Yaml::map([
                ("stage", Yaml::str("build")),
                // `needs: []` starts a job at once instead of after a stage.
                ("needs", Yaml::strs(job.deps.iter().map(|d| job_name(d)))),
                ("script", Yaml::list([Yaml::text(shell_line(&job.command))])),
                (
                    "artifacts",
                    Yaml::map([
                        ("when", Yaml::str("always")),
                        ("paths", Yaml::strs([settings.report_path(&job.name)])),
                    ]),
                ),
            ]),
        ));
    }
    header(pipeline, Format::Gitlab) + &Yaml::Map(doc).to_document()
}
