//! reagent's edge to the container world.
//!
//! The scheduler and planner never spawn a process: everything they ask of
//! buildah, skopeo and a registry goes through the narrow [`Backend`] trait.
//!
//! - [`buildah::Buildah`] is the real implementation. It runs the `buildah` and
//!   `skopeo` binaries with argv lists, puts the same storage flags before every
//!   buildah subcommand, streams build output to a log file and to a progress
//!   callback, and stops a child's whole process group when a [`Cancel`] is set.
//! - [`fake::FakeBackend`] is an in-memory, recording double for unit tests.
//!
//! ```no_run
//! use reagent_backend::buildah::{Buildah, BuildahSettings};
//! use reagent_backend::Backend;
//!
//! let backend = Buildah::new(BuildahSettings {
//!     isolation: Some("chroot".into()),
//!     storage_driver: Some("vfs".into()),
//!     ..BuildahSettings::default()
//! });
//! for image in backend.images()? {
//!     println!("{} {:?} {:?}", image.id, image.names, image.labels.get(reagent_backend::LABEL_KEY));
//! }
//! # Ok::<(), reagent_backend::BackendError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod backend;
pub mod buildah;
pub mod fake;
mod process;
pub mod redact;
mod storage;

pub use backend::{
    Backend, BackendError, BuildProgress, BuildRequest, Cancel, LocalImage, RunOutcome,
    ToolRequest, LABEL_KEY, LABEL_MANIFEST, LABEL_NODE,
};
pub use buildah::{BasePull, Buildah, BuildahSettings};
pub use fake::FakeBackend;
