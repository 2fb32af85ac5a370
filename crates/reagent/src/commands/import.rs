//! `reagent import kubler`: write a new project from a Kubler namespace, then
//! say on stderr what has no counterpart (the same list as the project's
//! `IMPORT-REPORT.md`).

use std::path::Path;

use reagent_graph::error::Excerpt;
use reagent_graph::{ProjectError, ProjectErrors};
use reagent_import::kubler::{import, ImportError, Options};

use crate::cli::{Cli, ImportCommand, KublerArgs};
use crate::report::Failure;

/// `reagent import ...`.
pub fn run(cli: &Cli, command: &ImportCommand) -> Result<(), Failure> {
    match command {
        ImportCommand::Kubler(args) => kubler(cli, args),
    }
}

fn kubler(cli: &Cli, args: &KublerArgs) -> Result<(), Failure> {
    let at = |p: &Path| cli.dir.join(p);
    let options = Options {
        namespace_dir: at(&args.namespace_dir),
        out_dir: at(&args.out_dir),
        namespace: args.namespace.clone(),
        kubler_dir: args.kubler.as_deref().map(at),
        portage: args.portage.as_deref().map(at),
    };
    match import(&options) {
        Ok(report) => {
            for line in report.stderr_lines(&options.namespace_dir, &options.out_dir) {
                eprintln!("{line}");
            }
            Ok(())
        }
        // Problems name files of the namespace: show them where the user can open them.
        Err(ImportError::Invalid(problems)) => Err(Failure::Project(ProjectErrors(
            problems
                .into_iter()
                .map(|p| ProjectError {
                    file: options.namespace_dir.join(&p.file),
                    line: p.line,
                    message: p.message,
                    excerpt: p.text.map(|text| Excerpt {
                        text,
                        columns: None,
                    }),
                })
                .collect(),
        ))),
        Err(e) if e.is_bad_input() => Err(Failure::Usage(e.to_string())),
        Err(e) => Err(Failure::Failed(e.to_string())),
    }
}
