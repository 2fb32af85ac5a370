//! reagent's project model: a project folder becomes a content-keyed DAG.
//!
//! A reagent project is a folder holding `graph.toml` (settings), `stages/`
//! (catalyst spec files that make stage tarballs) and `images/<name>/` (a
//! Containerfile and its build context; a leading `NN-` orders the "initial"
//! images and is not part of the name). [`Project::load`] reads it into a
//! [`Graph`] of [`Node`]s — portage snapshot → stages → images — and gives
//! every node a [`Key`]: blake3 over a versioned encoding of every input that
//! can change what the node produces, listed in its [`Manifest`].
//!
//! Loading is pure with respect to the outside world: it reads files and
//! writes none (the snapshot's stat cache update is handed back to the
//! caller), so the same project yields the same keys on every machine and in
//! every folder, and `reagent check` on a read-only checkout works.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("graph.toml"), "[project]\nname = \"demo\"\n").unwrap();
//! for (name, cf) in [("01-base", "FROM scratch\n"), ("app", "FROM base\nRUN true\n")] {
//!     std::fs::create_dir_all(dir.path().join("images").join(name)).unwrap();
//!     std::fs::write(dir.path().join("images").join(name).join("Containerfile"), cf).unwrap();
//! }
//! let project = reagent_graph::Project::load(dir.path()).unwrap();
//! let app = project.graph.by_name("app").unwrap();
//! let base = project.graph.by_name("base").unwrap();
//! assert_eq!(project.graph.parents(app.id), vec![base.id]);
//! assert_eq!(app.manifest.get("parent:base").unwrap().hash, base.key.hex());
//! ```

pub mod config;
pub mod context;
pub mod diff;
pub mod dir_cache;
pub mod error;
pub mod file_cache;
mod glob;
pub mod graph;
mod input;
pub mod load;
pub mod lockfile;
pub mod model;
pub mod platform;
pub mod reference;
pub mod render;

pub use config::Config;
pub use error::{ProjectError, ProjectErrors};
pub use graph::{Cycle, Graph};
pub use load::{Broken, LoadOptions, Project, Unlocked};
pub use lockfile::{Lockfile, LOCK_FILE};
pub use model::{
    path_subject, ExternalImage, ImageFormat, ImageRecipe, Input, InputClass, Key, Label, Manifest,
    Node, NodeId, NodeKind, Recipe, Seed, SnapshotRecipe, StageRecipe,
};
pub use reagent_catalyst::{Output, OutputKind};
pub use reagent_containerfile::Construct;
pub use reagent_containerfile::ParseError as ContainerfileError;
