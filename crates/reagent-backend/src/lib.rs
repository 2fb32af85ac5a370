//! reagent's edge to the container world, and the one place it runs external
//! processes.
//!
//! Every external process reagent runs goes through the narrow [`Backend`]
//! trait: buildah and skopeo behind its image and registry methods, the
//! commands of label tests inside a container ([`Backend::run`]), and host
//! programs such as catalyst ([`Backend::run_tool`]). No other crate is to
//! spawn a process of its own.
//!
//! - [`buildah::Buildah`] is the real implementation. All of its processes go
//!   through one runner: argv lists only (never a shell string), secret values
//!   masked in everything shown. What can take long (builds, runs, imports,
//!   pushes, pulls, registry queries, host tools) runs in a process group of
//!   its own, streams its output line by line (to the node's log where there
//!   is one), and is stopped as a group, SIGTERM then SIGKILL, when a
//!   [`Cancel`] is set or a time limit passes. Short local queries (listing,
//!   tagging, inspecting) run to completion with their output captured. It
//!   puts the same storage flags before every buildah subcommand.
//! - [`fake::FakeBackend`] is an in-memory, recording double for unit tests.
//!   It starts no process; knobs decide what builds and tool runs do.
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
//!     let key = image.labels.get(reagent_backend::LABEL_KEY);
//!     println!("{} {} {}", image.id, image.names.join(","), key.map_or("-", String::as_str));
//! }
//! # Ok::<(), reagent_backend::BackendError>(())
//! ```

pub mod backend;
pub mod buildah;
pub mod fake;
mod image_list;
mod process;
pub mod redact;
pub mod run;
mod storage;
mod store_fingerprint;
pub mod version;

pub use backend::{
    Backend, BackendError, BuildProgress, BuildRequest, Cancel, ImageFormat, LocalImage,
    NamedImage, OciArtifact, OciBlob, RegistryOp, RemoteImage, RunOutcome, ToolRequest, Volume,
    LABEL_KEY, LABEL_MANIFEST, LABEL_NODE, LABEL_PROJECT,
};
pub use buildah::{BasePull, Buildah, BuildahSettings};
pub use fake::FakeBackend;
pub use process::{kill_running, killing_all};
pub use run::RunId;
pub use version::Version;
