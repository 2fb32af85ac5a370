//! A mutation fuzzer for reagent's three parsers, on stable Rust.
//!
//! cargo-fuzz needs a nightly compiler; this harness needs nothing but `cargo test`.
//! It starts from a corpus ([`corpus`]): every Containerfile, catalyst spec and
//! `graph.toml` under the project's `examples/`, plus a few hand-written seeds for
//! constructs the examples do not use. Each round takes an input of the corpus,
//! damages it ([`mutate`]: bytes deleted, repeated, replaced; tokens of the target's
//! syntax inserted; a piece of another input spliced in; a line repeated hundreds of
//! times) and runs the target's parser on it ([`check`]), which must hold these
//! properties:
//!
//! - it never panics (a panic is caught and is a finding);
//! - an error names a line within the file, and, when it has a span, a span inside
//!   the text, on character boundaries, that starts at or after that line
//!   (Containerfile); an error excerpt marks columns inside its line (`graph.toml`);
//!   every `graph.toml` error has a message;
//! - what can be printed reads back the same: a catalyst spec's [`Spec::render`]
//!   parses to the same entries and canonical bytes; a Containerfile whose external
//!   references are rewritten parses and analyses to those references;
//! - each input costs bounded time and memory ([`Limits`]): the runner measures the
//!   wall time and the peak resident memory of every check.
//!
//! An input that breaks a property is a [`Finding`], written with its reason to a
//! folder for reproduction. [`run`] takes a seed and a budget (rounds or seconds), so
//! CI runs a short, fixed-seed pass and a person runs a long one (see the crate's
//! `tests/fuzz.rs`).
//!
//! [`Spec::render`]: reagent_catalyst::Spec::render

mod check;
mod corpus;
mod mutate;
mod run;

pub use check::{check, Failure};
pub use corpus::{corpus, Seed};
pub use mutate::{mutate, Rng};
pub use run::{run, Budget, Finding, Limits, Report};

/// What a fuzzed input is fed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `reagent_containerfile::parse`, then `analyze` and `rewrite_references`.
    Containerfile,
    /// `reagent_catalyst::parse`, then `render` and parse again.
    Spec,
    /// `reagent_graph::config::Config::parse`.
    GraphToml,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 3] = [Target::Containerfile, Target::Spec, Target::GraphToml];

    /// A short name, for reports and finding files.
    pub fn name(self) -> &'static str {
        match self {
            Target::Containerfile => "containerfile",
            Target::Spec => "spec",
            Target::GraphToml => "graph-toml",
        }
    }
}
