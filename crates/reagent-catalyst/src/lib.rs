//! reagent-catalyst
