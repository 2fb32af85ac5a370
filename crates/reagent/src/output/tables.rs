//! Tables and documents for results: test cases, audit findings (a table, and
//! the `{"findings":[...]}` JSON `reagent audit --json` prints).

use std::fmt::Write;

use reagent_exec::audit::Finding;
use reagent_exec::junit::{Case, CaseOutcome};
use serde::Serialize;

/// A plain table of results: `image  test  result  seconds`.
pub fn cases(cases: &[Case]) -> String {
    let w_suite = cases
        .iter()
        .map(|c| c.suite.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let w_name = cases.iter().map(|c| c.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:w_suite$}  {:w_name$}  {:6}  {:>7}\n",
        "IMAGE", "TEST", "RESULT", "SECONDS"
    );
    for c in cases {
        let (word, detail) = match &c.outcome {
            CaseOutcome::Passed => ("ok", String::new()),
            CaseOutcome::Failed(m) => ("FAILED", format!("  {m}")),
            CaseOutcome::Error(m) => ("ERROR", format!("  {m}")),
        };
        let _ = writeln!(
            out,
            "{:w_suite$}  {:w_name$}  {word:6}  {:>7.2}{detail}",
            c.suite,
            c.name,
            c.time.as_secs_f64()
        );
    }
    out
}

/// A finding in one image.
#[derive(Debug, Clone)]
pub struct ImageFinding<'a> {
    /// The node name.
    pub image: &'a str,
    /// The exact local reference audited (`localhost/<name>:<key16>`).
    pub reference: &'a str,
    /// The finding.
    pub finding: &'a Finding,
}

/// Aligned columns: image, GLSA id, severity, package, installed version,
/// unaffected ranges, title.
pub fn findings(rows: &[ImageFinding<'_>]) -> String {
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
                let _ = write!(row, "{cell:<width$}  ", width = widths[i]);
            }
        }
        text.push_str(row.trim_end());
        text.push('\n');
    }
    text
}

/// One finding as `reagent audit --json` prints it; fields in this order.
#[derive(Debug, Serialize)]
struct FindingJson<'a> {
    image: &'a str,
    glsa: &'a str,
    package: &'a str,
    installed: String,
    severity: &'static str,
    reference: &'a str,
    slot: &'a str,
    title: &'a str,
    unaffected: &'a [String],
    vulnerable: &'a [String],
}

/// `{"findings":[{"image","glsa","package","installed","severity",...}]}`, the
/// document `reagent audit --json` prints (fields in that order, then
/// `reference`, `slot`, `title`, `unaffected`, `vulnerable`).
pub fn findings_json(findings: &[ImageFinding<'_>]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        findings: Vec<FindingJson<'a>>,
    }
    let doc = Doc {
        findings: findings
            .iter()
            .map(|f| FindingJson {
                image: f.image,
                glsa: &f.finding.glsa_id,
                package: &f.finding.package,
                installed: f.finding.installed.to_string(),
                severity: f.finding.severity.as_str(),
                reference: f.reference,
                slot: &f.finding.slot,
                title: &f.finding.title,
                unaffected: &f.finding.unaffected,
                vulnerable: &f.finding.vulnerable,
            })
            .collect(),
    };
    serde_json::to_string(&doc).unwrap_or_else(|_| "{\"findings\":[]}".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_failed_case_shows_its_message() {
        let c = Case {
            kind: reagent_exec::junit::CaseKind::Test,
            suite: "app".into(),
            name: "conf".into(),
            outcome: CaseOutcome::Failed("`false` exited with 1".into()),
            time: Duration::from_millis(250),
            output: String::new(),
        };
        let t = cases(&[c]);
        assert!(t.starts_with("IMAGE  TEST  RESULT  SECONDS\n"), "{t}");
        assert!(
            t.contains("app    conf  FAILED     0.25  `false` exited with 1"),
            "{t}"
        );
    }

    #[test]
    fn json_fields_come_in_the_documented_order() {
        let glsa = reagent_gentoo::Glsa::parse_str(
            reagent_testkit::GLSA_NGINX,
            "glsa-202401-01.xml".as_ref(),
        )
        .unwrap();
        let pkgs = [reagent_gentoo::Installed::new("www-servers/nginx-1.24.0", "0").unwrap()];
        let found = reagent_gentoo::audit(&[glsa], &pkgs, "amd64");
        let text = findings_json(&[ImageFinding {
            image: "app",
            reference: "localhost/app:0123456789abcdef",
            finding: &found[0],
        }]);
        assert!(
            text.starts_with(
                r#"{"findings":[{"image":"app","glsa":"202401-01","package":"www-servers/nginx","installed":"1.24.0","severity":"normal","#
            ),
            "{text}"
        );
        assert_eq!(findings_json(&[]), r#"{"findings":[]}"#);
    }
}
