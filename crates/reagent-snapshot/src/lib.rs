//! reagent-snapshot
