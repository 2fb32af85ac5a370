//! `reagent sbom IMAGE [--format spdx-json|cyclonedx-json] [-o FILE]`: the
//! software bill of materials of an image's current build
//! (`localhost/<name>:<key16>`), from its package database read through a
//! mount (nothing runs inside the image). The document is
//! `reagent_exec::sbom`'s; the same image always gives the same bytes.

use reagent_backend::Backend;
use reagent_exec::names;
use reagent_exec::sbom::{self, SbomError};

use super::node_named;
use crate::cli::{Cli, SbomArgs};
use crate::output;
use crate::report::Failure;

/// `reagent sbom`.
pub fn run(cli: &Cli, args: &SbomArgs) -> Result<(), Failure> {
    let loaded = crate::load(cli)?;
    let project = &loaded.project;
    let node = node_named(&project.graph, &args.image)?;
    let backend = crate::located_backend(&loaded, false)?;
    let reference = names::local_ref(node);
    let not_built = || {
        Failure::Usage(format!(
            "{} is not built with its current key ({reference} is not in local storage): run `reagent build {}` first",
            node.name, node.name
        ))
    };
    let present = backend
        .inspect(&reference)
        .map_err(|e| Failure::Failed(e.to_string()))?
        .is_some();
    if !present {
        return Err(not_built());
    }
    let doc = sbom::document(&backend, node, args.format).map_err(|e| match e {
        SbomError::NotBuilt { .. } => not_built(),
        e => Failure::Failed(e.to_string()),
    })?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &doc)
                .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "wrote the {} SBOM of {reference} to {}",
                args.format,
                path.display()
            );
        }
        None => output::stdout(&doc)?,
    }
    Ok(())
}
