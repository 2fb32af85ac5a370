//! `reagent audit`: check built images' installed packages against Gentoo
//! security advisories, reading each image's `/var/db/pkg` from its mounted
//! filesystem (nothing runs inside the images).

use reagent_backend::Backend;
use reagent_exec::audit::{self, AuditError, Finding};
use reagent_exec::{junit, names};

use super::image_targets;
use crate::cli::{AuditArgs, Cli};
use crate::output::tables::{self, ImageFinding};
use crate::output::{self, plural};
use crate::report::Failure;

// By value, to be passed to `map_err` as it is.
#[allow(clippy::needless_pass_by_value)]
fn setup_error(e: AuditError) -> Failure {
    match e {
        AuditError::Backend { .. } | AuditError::Vdb { .. } => Failure::Failed(e.to_string()),
        _ => Failure::Usage(e.to_string()),
    }
}

/// `reagent audit REGEX...`.
pub fn run(cli: &Cli, args: &AuditArgs) -> Result<(), Failure> {
    let loaded = crate::load(cli)?;
    let project = &loaded.project;
    let selected = image_targets(&project.graph, &args.targets)?;
    let adv = audit::load(project, args.arch.as_deref()).map_err(setup_error)?;
    let backend = crate::located_backend(&loaded, false)?;
    let mut targets = Vec::new();
    for id in &selected {
        let node = project.graph.node(*id);
        let reference = names::local_ref(node);
        let present = backend
            .inspect(&reference)
            .map_err(|e| Failure::Failed(e.to_string()))?
            .is_some();
        if !present {
            return Err(Failure::Usage(format!(
                "{} is not built with its current key ({reference} is not in local storage): run `reagent build {}` first",
                node.name, node.name
            )));
        }
        targets.push((node.name.clone(), reference));
    }

    let mut results: Vec<(String, String, Vec<Finding>)> = Vec::new();
    for (name, reference) in targets {
        let findings = audit::audit_image(&backend, &reference, &adv).map_err(setup_error)?;
        results.push((name, reference, findings));
    }
    if let Some(path) = &args.junit {
        let cases: Vec<junit::Case> = results
            .iter()
            .flat_map(|(name, _, findings)| {
                audit::cases_failing_at(name, findings, &adv, args.fail_on)
            })
            .collect();
        junit::write(path, "reagent audit", &cases)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    let rows: Vec<ImageFinding<'_>> = results
        .iter()
        .flat_map(|(name, reference, findings)| {
            findings.iter().map(move |finding| ImageFinding {
                image: name,
                reference,
                finding,
            })
        })
        .collect();
    if args.json {
        output::stdout(&format!("{}\n", tables::findings_json(&rows)))?;
    } else if !rows.is_empty() {
        output::stdout(&tables::findings(&rows))?;
    }
    let failing = rows
        .iter()
        .filter(|r| r.finding.fails_at(args.fail_on))
        .count();
    eprintln!(
        "audited {} image{} against {} advisories ({}, from {}): {} finding{}",
        results.len(),
        plural(results.len()),
        adv.glsas.len(),
        adv.arch,
        adv.source.display(),
        rows.len(),
        plural(rows.len()),
    );
    if failing > 0 {
        let threshold = match args.fail_on {
            Some(s) => format!(" at or above {s}"),
            None => String::new(),
        };
        return Err(Failure::Failed(format!(
            "{failing} finding{}{threshold}",
            plural(failing)
        )));
    }
    Ok(())
}
