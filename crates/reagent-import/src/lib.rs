//! Importers: turn another tool's image project into a reagent project folder.
//!
//! An importer reads the other tool's files, decides what each becomes in a
//! reagent project (image folders, Containerfiles, `graph.toml` settings) and
//! writes that folder, with a report of everything that has no counterpart.
//! It never runs the other tool or a container; `reagent check` on the result
//! is how its output is validated.
//!
//! [`kubler`] imports a [Kubler](https://github.com/edannenberg/kubler)
//! namespace. This crate depends on no other reagent crate: the project format
//! it writes is the documented one (`docs/project-format.md`), and its tests
//! load the result with `reagent-graph` to prove it.

pub mod kubler;
