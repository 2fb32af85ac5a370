//! reagent-schedule
