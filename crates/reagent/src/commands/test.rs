//! `reagent test`: run the label tests of already built images.

use std::time::Duration;

use reagent_backend::{Backend, Cancel};
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
    let backend = crate::backend(&loaded.project);
    let cancel = Cancel::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, cancel.flag())
            .map_err(|e| Failure::Failed(format!("cannot handle signal {signal}: {e}")))?;
    }
    let mut cases = Vec::new();
    for id in selected {
        let node = graph.node(id);
        let Recipe::Image(image) = &node.recipe else {
            continue;
        };
        let reference = names::local_ref(node);
        let found = backend
            .inspect(&reference)
            .map_err(|e| Failure::Failed(e.to_string()))?
            .filter(|i| i.labels.get(reagent_backend::LABEL_KEY) == Some(&node.key.hex()));
        let Some(found) = found else {
            return Err(Failure::Usage(format!(
                "{} is not built with its current key {}; run `reagent build {}` first",
                node.name,
                node.key.short(),
                node.name
            )));
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
    output::stdout(&tables::cases(&cases))?;
    if let Some(path) = &args.junit {
        junit::write(path, "reagent test", &cases)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    let failed = cases
        .iter()
        .filter(|c| c.outcome != junit::CaseOutcome::Passed)
        .count();
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "{failed} of {} tests failed",
            cases.len()
        )))
    }
}
