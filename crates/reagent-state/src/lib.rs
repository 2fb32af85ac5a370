//! reagent-state
