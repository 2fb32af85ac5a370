//! The import report: what each Kubler unit became, every setting with no
//! reagent counterpart, and the manual steps the result still needs.

use std::fmt::Write as _;
use std::path::PathBuf;

/// What a node of the written project is, in Kubler's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A Kubler image: its `Dockerfile.template`.
    Image,
    /// The first step of a Kubler image: `kubler-build-root` run in its build
    /// container, whose result Kubler commits as `<builder>-<image>`.
    BuilderStep,
    /// A Kubler builder (`builder/<name>`): its run and its `Dockerfile.template`.
    Builder,
    /// A builder's core: a stage3 with Kubler's build scripts (`<builder>-core`).
    Core,
}

impl Role {
    /// How the report names the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Image => "image",
            Role::BuilderStep => "builder step",
            Role::Builder => "builder",
            Role::Core => "builder core",
        }
    }
}

/// One node of the written project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSummary {
    /// The node's name.
    pub name: String,
    /// What it is.
    pub role: Role,
    /// What it is built `FROM`: a node name, an external reference, or `scratch`.
    pub from: String,
    /// The Kubler image id it stands for (`acme/nginx`, `acme/bob-nginx`).
    pub kubler_id: String,
    /// Why it is written in Docker's format, if it is.
    pub docker_format: Option<String>,
}

/// A Kubler setting or file the import could not carry over, or a step the
/// result still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where: a file relative to the namespace (or Kubler's own file, as given).
    pub file: PathBuf,
    /// Its line, when it is one.
    pub line: Option<usize>,
    /// The setting (`POST_BUILD_HC`), file (`build-test.sh`) or subject.
    pub subject: String,
    /// Its value as written in Kubler's terms, when it has one worth showing.
    pub value: Option<String>,
    /// What happened to it and what to do, as a sentence.
    pub reason: String,
}

impl Finding {
    /// `file:line: SUBJECT=value: reason`, one line.
    pub fn line_text(&self) -> String {
        self.line_text_in(std::path::Path::new(""))
    }

    /// [`Finding::line_text`] with the file's path under `base` (the
    /// namespace folder as the user named it).
    pub fn line_text_in(&self, base: &std::path::Path) -> String {
        let mut out = base.join(&self.file).display().to_string();
        if let Some(line) = self.line {
            let _ = write!(out, ":{line}");
        }
        let _ = write!(out, ": {}", self.subject);
        if let Some(value) = &self.value {
            let _ = write!(out, "={value}");
        }
        let _ = write!(out, ": {}", self.reason);
        out
    }
}

/// Everything an import did, and did not, carry over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The Kubler namespace imported.
    pub namespace: String,
    /// Kubler images read.
    pub images: usize,
    /// Kubler builders read.
    pub builders: usize,
    /// The conf files read, in the order Kubler reads them.
    pub confs: Vec<PathBuf>,
    /// Every node written, in `graph.toml` order.
    pub nodes: Vec<NodeSummary>,
    /// Settings and files with no reagent counterpart.
    pub unmapped: Vec<Finding>,
    /// Manual steps and choices made where Kubler's behaviour depends on the host.
    pub notes: Vec<Finding>,
}

/// The report file's name in the output folder.
pub const REPORT_FILE: &str = "IMPORT-REPORT.md";

impl Report {
    /// The report as Markdown (what [`REPORT_FILE`] holds).
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Kubler import: namespace `{}`\n", self.namespace);
        let _ = writeln!(
            out,
            "Written by `reagent import kubler` from {} image{} and {} builder{}: {} node{}.",
            self.images,
            plural(self.images),
            self.builders,
            plural(self.builders),
            self.nodes.len(),
            plural(self.nodes.len())
        );
        let read: Vec<String> = self
            .confs
            .iter()
            .map(|c| format!("`{}`", c.display()))
            .collect();
        let _ = writeln!(
            out,
            "Settings were read from {} and each unit's `build.conf`, never from the environment.",
            if read.is_empty() {
                "no kubler.conf".to_string()
            } else {
                read.join(", then ")
            }
        );
        out.push_str(
            "`docs/import-kubler.md` in reagent's source explains the mapping and what every import loses.\n",
        );

        out.push_str(
            "\n## Nodes\n\n| node | what | FROM | Kubler | format |\n|---|---|---|---|---|\n",
        );
        for n in &self.nodes {
            let _ = writeln!(
                out,
                "| `{}` | {} | `{}` | `{}` | {} |",
                n.name,
                n.role.as_str(),
                n.from,
                n.kubler_id,
                n.docker_format
                    .as_deref()
                    .map_or_else(|| "oci".to_string(), |why| format!("docker: {}", cell(why)))
            );
        }

        let _ = writeln!(out, "\n## Not mapped ({})\n", self.unmapped.len());
        if self.unmapped.is_empty() {
            out.push_str("Every setting has a counterpart.\n");
        } else {
            out.push_str("| where | setting | value | why, and what to do |\n|---|---|---|---|\n");
            for f in &self.unmapped {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} | {} |",
                    location(f),
                    f.subject,
                    f.value
                        .as_deref()
                        .map_or_else(String::new, |v| format!("`{}`", cell(v))),
                    cell(&f.reason)
                );
            }
        }

        let _ = writeln!(out, "\n## Notes ({})\n", self.notes.len());
        if self.notes.is_empty() {
            out.push_str("Nothing needs a manual step.\n");
        } else {
            for f in &self.notes {
                let _ = writeln!(out, "- `{}`: {}: {}", location(f), f.subject, f.reason);
            }
        }
        out
    }

    /// The lines printed on stderr: a summary, then every finding with its file
    /// under `namespace_dir` (as the user named it).
    pub fn stderr_lines(
        &self,
        namespace_dir: &std::path::Path,
        out_dir: &std::path::Path,
    ) -> Vec<String> {
        let mut lines = vec![format!(
            "imported Kubler namespace `{}`: {} image{}, {} builder{} -> {} node{} in {}",
            self.namespace,
            self.images,
            plural(self.images),
            self.builders,
            plural(self.builders),
            self.nodes.len(),
            plural(self.nodes.len()),
            out_dir.display()
        )];
        lines.extend(
            self.unmapped
                .iter()
                .map(|f| format!("not mapped: {}", f.line_text_in(namespace_dir))),
        );
        lines.extend(
            self.notes
                .iter()
                .map(|f| format!("note: {}", f.line_text_in(namespace_dir))),
        );
        lines.push(format!(
            "{} setting{} not mapped, {} note{}: see {}",
            self.unmapped.len(),
            plural(self.unmapped.len()),
            self.notes.len(),
            plural(self.notes.len()),
            out_dir.join(REPORT_FILE).display()
        ));
        lines
    }
}

fn location(f: &Finding) -> String {
    match f.line {
        Some(line) => format!("{}:{line}", f.file.display()),
        None => f.file.display().to_string(),
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(line: Option<usize>, value: Option<&str>) -> Finding {
        Finding {
            file: "images/nginx/build.conf".into(),
            line,
            subject: "POST_BUILD_HC".into(),
            value: value.map(str::to_string),
            reason: "no post-build health check | ever".into(),
        }
    }

    #[test]
    fn a_finding_reads_like_a_compiler_message() {
        assert_eq!(
            finding(Some(2), Some("true")).line_text(),
            "images/nginx/build.conf:2: POST_BUILD_HC=true: no post-build health check | ever"
        );
        assert_eq!(
            finding(None, None).line_text(),
            "images/nginx/build.conf: POST_BUILD_HC: no post-build health check | ever"
        );
    }

    #[test]
    fn markdown_escapes_table_cells() {
        let r = Report {
            namespace: "acme".into(),
            unmapped: vec![finding(Some(2), Some("a|b"))],
            ..Report::default()
        };
        let md = r.to_markdown();
        assert!(md.contains("| `images/nginx/build.conf:2` | `POST_BUILD_HC` | `a\\|b` | no post-build health check \\| ever |"), "{md}");
        assert!(md.contains("## Not mapped (1)"));
        assert!(md.contains("Nothing needs a manual step."));
    }
}
