//! reagent-exec
