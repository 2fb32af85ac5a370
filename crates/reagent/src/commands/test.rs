//! `reagent test`: run the label tests of already built images.
//!
//! The image tested is the one the last build made for the node's current key, as
//! the build record names it, even when its tests failed and it was left untagged
//! (so fixing a test command and running `reagent test` again shows the true
//! result); else the image with the key tag (one pulled from a registry).

use std::time::Duration;

use reagent_backend::{Backend, Cancel, LocalImage, LABEL_KEY};
use reagent_exec::{junit, label_tests, names};
use reagent_graph::Recipe;

use super::image_targets;
use crate::cli::{Cli, TestArgs};
use crate::output::{self, tables};
use crate::report::Failure;

/// `reagent test REGEX...`.
pub fn run(cli: &Cli, args: &TestArgs) -> Result<(), Failure> {
    let loaded = crate::load(cli)?;
    let graph = &loaded.project.graph;
    let selected = image_targets(graph, &args.targets)?;
    let backend = crate::located_backend(&loaded, false)?;
    let cancel = Cancel::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, cancel.flag())
            .map_err(|e| Failure::Failed(format!("cannot handle signal {signal}: {e}")))?;
    }
    let history = reagent_state::History::load(&loaded.state_dir)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let mut cases = Vec::new();
    let mut unbuilt = Vec::new();
    for id in selected {
        let node = graph.node(id);
        let Recipe::Image(image) = &node.recipe else {
            continue;
        };
        let Some((reference, found)) = built_image(&backend, &history, node)? else {
            unbuilt.push(format!(
                "{} was never built for key {}; run `reagent build -t {}`",
                node.name,
                node.key.short(),
                node.name
            ));
            continue;
        };
        let specs = label_tests::specs(&found.labels, &image.tests);
        let log = reagent_state::log_path(
            &loaded.state_dir,
            &format!("{}-test", node.name),
            &node.key.short(),
        )
        .map_err(|e| Failure::Failed(e.to_string()))?;
        let ran = label_tests::run(
            &backend,
            &node.name,
            &reference,
            &specs,
            Duration::from_secs(args.timeout),
            &log,
            &cancel,
        )
        .map_err(|e| match e {
            reagent_backend::BackendError::Interrupted => Failure::Interrupted,
            other => Failure::Failed(other.to_string()),
        })?;
        cases.extend(ran);
    }
    if !cases.is_empty() {
        output::stdout(&tables::cases(&cases))?;
    }
    if let Some(path) = &args.junit {
        junit::write(path, "reagent test", &cases)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    let failed = cases
        .iter()
        .filter(|c| c.outcome != junit::CaseOutcome::Passed)
        .count();
    let mut problems = unbuilt;
    if failed > 0 {
        problems.push(format!("{failed} of {} tests failed", cases.len()));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        // One `error:` line each.
        Err(Failure::Failed(problems.join("\nerror: ")))
    }
}

/// The image to test for `node` and how to name it: the one the build record says
/// the last build of its current key made, else the image with its key tag; `None`
/// when neither exists in local storage with the node's key.
fn built_image(
    backend: &dyn Backend,
    history: &reagent_state::History,
    node: &reagent_graph::Node,
) -> Result<Option<(String, LocalImage)>, Failure> {
    let key = node.key.hex();
    let recorded = history.image_of(&node.name, &key).map(str::to_string);
    for reference in recorded.into_iter().chain([names::local_ref(node)]) {
        let found = backend
            .inspect(&reference)
            .map_err(|e| Failure::Failed(e.to_string()))?
            .filter(|i| i.labels.get(LABEL_KEY) == Some(&key));
        if let Some(found) = found {
            return Ok(Some((reference, found)));
        }
    }
    Ok(None)
}
