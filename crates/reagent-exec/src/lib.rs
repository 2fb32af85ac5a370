//! reagent's executor: plan, run and record the builds of a keyed graph.
//!
//! A build is a [`session::Session`]: open it (the state folder's lock, the build
//! record read once), [`plan`](session::Session::plan) (what to do with each
//! selected node and why: up to date, pull, build or push), then
//! [`run`](session::Session::run) (the work, in parallel, each finished job
//! recorded). The pieces, each testable on its own:
//!
//! - [`plan::plan`] decides from the graph, the build record, one listing of
//!   local images and (with a registry) one lookup per node not seen lately;
//! - [`run::run`] feeds the work to a priority queue ([`reagent_schedule::Queue`])
//!   weighted by recorded durations, with up to `jobs` workers that report
//!   through messages to the one loop that reports [`events::Event`]s;
//! - [`job::JobContext::run`] does one node's work through the
//!   [`Backend`](reagent_backend::Backend), the seam for every process reagent runs.
//!
//! The library never prints: the binary turns events into bars, lines or JSON.
//! A finished run's [`session::RunReport`] becomes the versioned JSON document
//! of [`report::Report`] (`reagent build --report FILE`).

pub mod audit;
pub mod binhost;
pub mod builder;
pub mod clock;
pub mod discover;
pub mod events;
pub mod gc;
pub mod job;
pub mod junit;
pub mod label_tests;
pub mod lock;
pub mod names;
pub mod plan;
pub mod prune;
pub mod report;
pub mod run;
pub mod runs;
pub mod sbom;
pub mod secrets;
pub mod session;
pub mod store;
