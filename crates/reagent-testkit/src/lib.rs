//! reagent-testkit
