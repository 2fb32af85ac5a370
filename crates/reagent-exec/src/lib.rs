//! reagent's executor: plan and run the builds of a keyed graph.
#![deny(missing_docs)]
