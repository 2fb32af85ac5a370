//! `reagent audit`: check built images' installed packages against Gentoo
//! security advisories, reading each image's `/var/db/pkg` from its mounted
//! filesystem (nothing runs inside the images).

use reagent_backend::Backend;
use reagent_exec::audit::{self, AuditError, Finding, ImageFinding, Severity};
use reagent_exec::{junit, names};

use super::{build::backend, image_targets, out};
use crate::cli::{AuditArgs, Cli};
use crate::report::Failure;

fn setup_error(e: AuditError) -> Failure {
    match e {
        AuditError::Backend { .. } | AuditError::Vdb { .. } | AuditError::Symlink { .. } => {
            Failure::Failed(e.to_string())
        }
        _ => Failure::Usage(e.to_string()),
    }
}

/// `reagent audit REGEX...`.
pub fn audit(cli: &Cli, args: &AuditArgs) -> Result<(), Failure> {
    let fail_on: Option<Severity> = args
        .fail_on
        .as_deref()
        .map(audit::parse_severity)
        .transpose()
        .map_err(Failure::Usage)?;
    let project = crate::load(cli)?;
    let selected = image_targets(&project, &args.targets)?;
    let adv = audit::load(&project, args.arch.as_deref()).map_err(setup_error)?;

    let backend = backend(&project);
    let images = backend
        .images()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let graph = &project.graph;
    let mut targets = Vec::new();
    for id in &selected {
        let node = graph.node(*id);
        let reference = names::local_ref(node);
        if !images.iter().any(|i| i.names.contains(&reference)) {
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
            .flat_map(|(name, _, findings)| audit::cases_failing_at(name, findings, &adv, fail_on))
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
        out(&format!("{}\n", audit::findings_json(&rows)))?;
    } else if !rows.is_empty() {
        out(&table(&rows))?;
    }

    let failing = rows
        .iter()
        .filter(|r| audit::fails(r.finding, fail_on))
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
        let threshold = match fail_on {
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

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Aligned columns: image, GLSA id, severity, package, installed version,
/// unaffected ranges, title.
fn table(rows: &[ImageFinding<'_>]) -> String {
    let header = [
        "IMAGE",
        "GLSA",
        "SEVERITY",
        "PACKAGE",
        "INSTALLED",
        "UNAFFECTED",
        "TITLE",
    ];
    let mut lines: Vec<[String; 7]> = vec![header.map(str::to_string)];
    for r in rows {
        let f = r.finding;
        let unaffected = if f.unaffected.is_empty() {
            "-".to_string()
        } else {
            f.unaffected.join(" ")
        };
        lines.push([
            r.image.to_string(),
            f.glsa_id.clone(),
            f.severity.to_string(),
            f.package.clone(),
            f.installed.to_string(),
            unaffected,
            f.title.clone(),
        ]);
    }
    let mut widths = [0usize; 7];
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for line in &lines {
        let mut row = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i + 1 == line.len() {
                row.push_str(cell);
            } else {
                row.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        text.push_str(row.trim_end());
        text.push('\n');
    }
    text
}
