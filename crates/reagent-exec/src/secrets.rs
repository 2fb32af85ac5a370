//! Which values of a node must never be written or shown: its build args.
//!
//! Everything the executor writes or reports about a node — the build
//! record's manifest, plan reasons, progress lines, error messages — goes
//! through [`of`]'s mask first. The backend masks the build's own output.

use reagent_backend::redact::Secrets;
use reagent_graph::{Node, Recipe};

/// The build-arg values of `node` (nothing for snapshots and stages).
pub fn of(node: &Node) -> Secrets {
    match &node.recipe {
        Recipe::Image(image) => Secrets::new(image.args.values()),
        _ => Secrets::default(),
    }
}
