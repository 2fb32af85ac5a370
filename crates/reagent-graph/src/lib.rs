//! reagent-graph
