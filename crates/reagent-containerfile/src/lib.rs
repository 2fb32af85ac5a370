//! reagent-containerfile
