//! reagent's executor: plan and run the builds of a keyed graph.
//!
//! A run has three stages, each testable on its own:
//! 1. [`plan::plan`] asks the [`Backend`](reagent_backend::Backend) which keys
//!    exist (one listing of local images; with a registry, one lookup per
//!    node) and reads the build record to say why each dirty node is dirty;
//! 2. [`run::run`] feeds the work to a priority queue
//!    ([`reagent_schedule::Queue`]) weighted by recorded durations, with up
//!    to `jobs` workers;
//! 3. workers run [`job::JobContext::run`] per node and send
//!    [`events::Event`]s to the one [`progress::Reporter`] that owns output.
#![deny(missing_docs)]

pub mod audit;
pub mod events;
pub mod job;
pub mod junit;
pub mod label_tests;
pub mod names;
pub mod plan;
pub mod progress;
pub mod prune;
pub mod run;
pub mod secrets;
pub mod seen;

use std::collections::HashMap;

use reagent_graph::Manifest;
use reagent_state::BuildLog;

/// The last successful build (or pull) per node name: its key (hex) and manifest.
pub fn last_built(log: &BuildLog) -> HashMap<String, (String, Manifest)> {
    let mut out = HashMap::new();
    for r in log.records() {
        if matches!(
            r.outcome,
            reagent_state::Outcome::Built | reagent_state::Outcome::Pulled
        ) {
            if let Ok(m) = serde_json::from_value::<Manifest>(r.manifest.clone()) {
                out.insert(r.node.clone(), (r.key.clone(), m));
            }
        }
    }
    out
}

/// Nodes whose newest record is a failed or interrupted attempt, with that
/// attempt's key (hex). If an image with that key is local, the attempt got
/// as far as building it, so what failed was publishing it: its key tag may
/// be in the registry without its moving tags, and the planner pushes it again.
pub fn unfinished_publishes(log: &BuildLog) -> HashMap<String, String> {
    let mut newest: HashMap<String, (String, reagent_state::Outcome)> = HashMap::new();
    for r in log.records() {
        newest.insert(r.node, (r.key, r.outcome));
    }
    newest
        .into_iter()
        .filter(|(_, (_, outcome))| {
            matches!(
                outcome,
                reagent_state::Outcome::Failed | reagent_state::Outcome::Interrupted
            )
        })
        .map(|(node, (key, _))| (node, key))
        .collect()
}
