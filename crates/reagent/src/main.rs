//! The `reagent` command line: parse arguments, call the libraries, report.
#![deny(missing_docs)]

mod cli;
mod commands;
mod report;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use report::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Graph(args) => commands::graph(&cli, args),
        Command::Explain(args) => commands::explain(&cli, args),
        Command::Check => commands::check(&cli),
        Command::Build(args) => commands::build(&cli, args),
        Command::Test(args) => commands::test(&cli, args),
        Command::Audit(args) => commands::audit(&cli, args),
        Command::Diff(args) => commands::diff(&cli, args),
        Command::Prune(args) => commands::prune(&cli, args),
    };
    match result {
        Ok(()) => ExitCode::from(report::EXIT_OK),
        Err(failure) => {
            let root = std::fs::canonicalize(&cli.dir).unwrap_or_else(|_| cli.dir.clone());
            failure.print(&root);
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Shared by every command: the project at `-C`, loaded with the CLI's options.
fn load(cli: &Cli) -> Result<reagent_graph::Project, Failure> {
    let opts = reagent_graph::LoadOptions {
        state_dir: cli.state_dir.clone(),
    };
    Ok(reagent_graph::Project::load_with(&cli.dir, &opts)?)
}
