//! `--format json`: the plan itself, for any engine (Jenkins, Tekton, Buildkite).

use serde::Serialize;

use crate::model::{Job, Pipeline};
use crate::JSON_VERSION;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    project: &'a str,
    registry: &'a str,
    tls_verify: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    nodes: &'a [Job],
}

/// `{"version":1,"project":…,"registry":…,"tls_verify":…,"nodes":[{"name","key","deps","command"}]}`,
/// pretty-printed, ending in a newline.
pub(crate) fn render(pipeline: &Pipeline) -> String {
    let doc = Document {
        version: JSON_VERSION,
        project: &pipeline.project,
        registry: &pipeline.settings.registry,
        tls_verify: pipeline.settings.tls_verify,
        image: pipeline.settings.image.as_deref(),
        nodes: &pipeline.jobs,
    };
    // Strings, bools and lists only: serializing cannot fail.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
