//! `reagent test`: run the label tests of already built images.

use std::time::Duration;

use reagent_backend::{Backend, Cancel};
use reagent_exec::{junit, label_tests, names, plan::local_keys};
use reagent_graph::Recipe;

use super::{build::backend, image_targets};
use crate::cli::{Cli, TestArgs};
use crate::report::Failure;

/// `reagent test REGEX...`.
pub fn test(cli: &Cli, args: &TestArgs) -> Result<(), Failure> {
    let project = crate::load(cli)?;
    let graph = &project.graph;
    let selected = image_targets(&project, &args.targets)?;

    let backend = backend(&project);
    let images = backend
        .images()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let local = local_keys(&images);
    let cancel = Cancel::new();
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, cancel.flag());
    let mut cases = Vec::new();
    for id in selected {
        let node = graph.node(id);
        let Recipe::Image(image) = &node.recipe else {
            continue;
        };
        let Some(found) = local.get(&node.key.hex()) else {
            return Err(Failure::Usage(format!(
                "{} is not built with its current key {}; run `reagent build {}` first",
                node.name,
                node.key.short(),
                node.name
            )));
        };
        let specs = label_tests::specs(&found.labels, &image.tests);
        let log = reagent_state::log_path(
            &project.state_dir,
            &format!("{}-test", node.name),
            &node.key.short(),
        )
        .map_err(|e| Failure::Failed(e.to_string()))?;
        let ran = label_tests::run(
            &backend,
            &node.name,
            &names::local_ref(node),
            &specs,
            Duration::from_secs(args.timeout),
            &log,
            &cancel,
        )
        .map_err(|e| Failure::Failed(e.to_string()))?;
        cases.extend(ran);
    }
    print!("{}", label_tests::table(&cases));
    if let Some(path) = &args.junit {
        junit::write(path, "reagent test", &cases)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    if label_tests::all_passed(&cases) {
        Ok(())
    } else {
        let failed = cases
            .iter()
            .filter(|c| c.outcome != junit::CaseOutcome::Passed)
            .count();
        Err(Failure::Failed(format!(
            "{failed} of {} tests failed",
            cases.len()
        )))
    }
}
