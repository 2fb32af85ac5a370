//! The `reagent` command line: parse arguments, call the libraries, show what
//! they report. Orchestration lives in `reagent-exec`; this binary maps
//! arguments to a session and events to output.

mod cli;
mod commands;
mod output;
mod report;
mod signals;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use report::Failure;

/// mimalloc rather than glibc's malloc: loading a project allocates a few hundred
/// small blocks per image, and glibc's malloc and free were a quarter of a
/// 10,000-image dry run's instructions (see benches/perf.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Graph(args) => commands::graph::run(&cli, args),
        Command::Explain(args) => commands::explain::run(&cli, args),
        Command::Check(args) => commands::check::run(&cli, args),
        Command::Build(args) => commands::build::run(&cli, args),
        Command::Test(args) => commands::test::run(&cli, args),
        Command::Audit(args) => commands::audit::run(&cli, args),
        Command::Diff(args) => commands::diff::run(&cli, args),
        Command::Sbom(args) => commands::sbom::run(&cli, args),
        Command::Prune(args) => commands::prune::run(&cli, args),
        Command::Gc(args) => commands::gc::run(&cli, args),
        Command::Export(args) => commands::export::run(&cli, args),
        Command::Import(cmd) => commands::import::run(&cli, cmd),
        Command::Lock(args) => commands::lock::run(&cli, args),
    };
    if reagent_backend::killing_all() {
        // A second signal is ending the process (see `signals`): its thread exits
        // with 130 once what it killed is gone; the command's own end must not
        // come first.
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(()) => ExitCode::from(report::EXIT_OK),
        Err(failure) => {
            failure.print();
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The project at `-C`, and where its state lives.
pub struct Loaded {
    /// The project. Never dropped: it lives until the process exits, which frees
    /// it at once; freeing a 10,000-image graph node by node cost 6% of the
    /// instructions of a `build -n`.
    pub project: std::mem::ManuallyDrop<reagent_graph::Project>,
    /// `--state-dir` (relative to where reagent was started), else `<project>/.reagent`.
    pub state_dir: PathBuf,
}

/// Load the project at `-C`. Loading reads the snapshot's stat cache from the
/// state folder when there is one, and writes nothing.
fn load(cli: &Cli) -> Result<Loaded, Failure> {
    load_with(cli, false)
}

/// Load the project at `-C` for a command that works on the images `selected`
/// says (by name) and their ancestors: only those must load cleanly. Another
/// image with problems is left out of the graph, with a warning per problem; a
/// selected one (or one built from an image with problems) fails the command
/// with its problems.
fn load_selected(cli: &Cli, selected: &dyn Fn(&str) -> bool) -> Result<Loaded, Failure> {
    let mut loaded = load_with(cli, true)?;
    let broken = std::mem::take(&mut loaded.project.broken);
    // A selected image left out for a broken parent fails with that parent's
    // problems too: they are what to fix.
    let mut needed: Vec<&str> = broken
        .iter()
        .filter(|b| selected(&b.name))
        .map(|b| b.name.as_str())
        .collect();
    let mut i = 0;
    while i < needed.len() {
        let parent = broken
            .iter()
            .find(|b| b.name == needed[i])
            .and_then(|b| b.built_from.as_deref());
        if let Some(p) = parent.filter(|p| !needed.contains(p)) {
            needed.push(p);
        }
        i += 1;
    }
    if !needed.is_empty() {
        let errors = broken
            .iter()
            .filter(|b| needed.contains(&b.name.as_str()))
            .flat_map(|b| b.errors.iter().cloned())
            .collect();
        return Err(Failure::Project(reagent_graph::ProjectErrors(errors)));
    }
    let others = broken;
    for b in &others {
        for e in &b.errors {
            eprintln!(
                "warning: {}: {} (image `{}` is left out; `reagent check` lists every problem)",
                e.location(),
                e.message,
                b.name
            );
        }
    }
    Ok(loaded)
}

/// Load the project at `-C`, partially (see [`load_selected`]) or not.
fn load_with(cli: &Cli, partial: bool) -> Result<Loaded, Failure> {
    let given = match &cli.state_dir {
        Some(d) if d.is_relative() => Some(
            std::env::current_dir()
                .map(|c| c.join(d))
                .map_err(|e| Failure::Failed(format!("cannot tell the current folder: {e}")))?,
        ),
        other => other.clone(),
    };
    // Where the cache would be before the project's root is known for certain.
    let cache_dir = given
        .clone()
        .unwrap_or_else(|| cli.dir.join(reagent_state::DEFAULT_STATE_DIR));
    let opts = reagent_graph::LoadOptions {
        snapshot_cache: Some(cache_dir.join(reagent_exec::session::SNAPSHOT_CACHE)),
        context_cache: Some(cache_dir.join(reagent_exec::session::CONTEXT_CACHE)),
        context_dirs: Some(cache_dir.join(reagent_exec::session::CONTEXT_DIRS)),
        partial,
    };
    let project = reagent_graph::Project::load_with(&cli.dir, &opts)?;
    let state_dir = given.unwrap_or_else(|| project.root.join(reagent_state::DEFAULT_STATE_DIR));
    Ok(Loaded {
        project: std::mem::ManuallyDrop::new(project),
        state_dir,
    })
}

/// The real backend, configured from `[buildah]` and `[registry]`; relative
/// storage paths are relative to the project folder.
/// [`backend`], told where its store is from the state folder when an earlier
/// command learnt it there; with `keep` (the commands that write state: `build`,
/// `prune`), learning and keeping it when it is not known
/// ([`reagent_exec::store::locate`]).
fn located_backend(loaded: &Loaded, keep: bool) -> Result<reagent_backend::Buildah, Failure> {
    let backend = backend(&loaded.project);
    reagent_exec::store::locate(&backend, &loaded.state_dir, keep)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    Ok(backend)
}

fn backend(project: &reagent_graph::Project) -> reagent_backend::Buildah {
    let b = &project.config.buildah;
    let mut settings = reagent_backend::BuildahSettings::default();
    if let Some(bin) = &b.binary {
        settings.binary = bin.get_ref().into();
    }
    settings.isolation = b.isolation.map(|i| i.as_str().to_string());
    settings.storage_driver = b.storage_driver.as_ref().map(|d| d.get_ref().clone());
    settings.root = b.root.as_ref().map(|p| project.root.join(p.get_ref()));
    settings.runroot = b.runroot.as_ref().map(|p| project.root.join(p.get_ref()));
    settings.extra_args = b.args.iter().map(|a| a.get_ref().clone()).collect();
    settings.tls_verify = project.config.registry.tls_verify;
    settings.registry_timeout =
        std::time::Duration::from_secs(project.config.registry.timeout_secs());
    reagent_backend::Buildah::new(settings)
}
