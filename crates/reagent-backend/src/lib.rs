//! reagent's edge to the container world.
#![deny(missing_docs)]

pub mod backend;

pub use backend::{
    Backend, BackendError, BuildProgress, BuildRequest, Cancel, LocalImage, RunOutcome, LABEL_KEY,
    LABEL_MANIFEST, LABEL_NODE,
};
