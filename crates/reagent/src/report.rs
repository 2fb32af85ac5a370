//! The one reporting boundary: errors become messages on stderr and exit codes.

use std::fmt::Write as _;

use reagent_graph::{ProjectError, ProjectErrors};

/// Everything went as asked.
pub const EXIT_OK: u8 = 0;
/// A build (or test, or audit) failed.
pub const EXIT_FAILED: u8 = 1;
/// The input is wrong: the project, the arguments or a regex.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Problems in the project's files.
    Project(ProjectErrors),
    /// A bad argument (unknown node, invalid regex...).
    Usage(String),
    /// The work itself failed (already reported in detail).
    Failed(String),
    /// A stop was asked for (SIGINT/SIGTERM); unfinished nodes were recorded.
    Interrupted,
}

impl From<ProjectErrors> for Failure {
    fn from(e: ProjectErrors) -> Self {
        Failure::Project(e)
    }
}

impl Failure {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Project(_) | Failure::Usage(_) => EXIT_BAD_INPUT,
            Failure::Failed(_) => EXIT_FAILED,
            Failure::Interrupted => EXIT_INTERRUPTED,
        }
    }

    /// What went wrong, in one line per problem (for a run report).
    pub fn message(&self) -> String {
        match self {
            Failure::Project(errors) => errors
                .0
                .iter()
                .map(|e| format!("{}: {}", e.location(), e.message))
                .collect::<Vec<_>>()
                .join("\n"),
            Failure::Usage(m) | Failure::Failed(m) => m.clone(),
            Failure::Interrupted => "interrupted".into(),
        }
    }

    /// Print to stderr. Project errors show the offending line, like a compiler.
    pub fn print(&self) {
        match self {
            Failure::Project(errors) => {
                for e in &errors.0 {
                    eprint!("{}", render_project_error(e));
                }
                if errors.0.len() > 1 {
                    eprintln!("error: {} problems found", errors.0.len());
                }
            }
            Failure::Usage(m) | Failure::Failed(m) => eprintln!("error: {m}"),
            Failure::Interrupted => {
                eprintln!("interrupted: the next run resumes with what is unfinished");
            }
        }
    }
}

/// At most 200 characters of a source line, marked when cut; and how many of
/// its characters were kept.
fn snippet(line: &str) -> (String, usize) {
    const MAX: usize = 200;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => (format!("{} …", &line[..cut]), cut),
        None => (line.to_string(), line.len()),
    }
}

/// `error: message`, then ` --> file:line`, the line as it was read, and a caret
/// under the part at fault when it is known. Nothing is read from disk here.
pub fn render_project_error(e: &ProjectError) -> String {
    let mut out = format!("error: {}\n  --> {}\n", e.message, e.location());
    if let (Some(line), Some(excerpt)) = (e.line, &e.excerpt) {
        let (text, kept) = snippet(&excerpt.text);
        let n = line.to_string();
        let pad = " ".repeat(n.len());
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{pad} |\n{n} | {text}");
        match &excerpt.columns {
            Some(cols) if cols.start < kept => {
                let lead: String = excerpt.text[..cols.start]
                    .chars()
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let width = excerpt.text[cols.start..cols.end.min(kept)]
                    .chars()
                    .count()
                    .max(1);
                let _ = writeln!(out, "{pad} | {lead}{}", "^".repeat(width));
            }
            _ => {
                let _ = writeln!(out, "{pad} |");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        let line = "é".repeat(300);
        let (shown, _) = snippet(&line);
        assert_eq!(shown.chars().count(), 202);
        assert!(shown.ends_with(" …"));
        assert_eq!(snippet("short").0, "short");
    }

    #[test]
    fn the_offending_line_is_shown_under_the_location() {
        let e = ProjectError::at_line(
            "graph.toml",
            "[project]\njbos = 2\n",
            2,
            "unknown field `jbos`",
        );
        assert_eq!(
            render_project_error(&e),
            "error: unknown field `jbos`\n  --> graph.toml:2\n  |\n2 | jbos = 2\n  |\n"
        );
    }

    #[test]
    fn a_span_is_underlined() {
        let text = "[image.a]\ntags = [\"ok\", \"not ok\"]\n";
        let at = text.find("\"not ok\"").unwrap();
        let e = ProjectError::at_span("graph.toml", text, at..at + 8, "bad tag");
        assert_eq!(
            render_project_error(&e),
            "error: bad tag\n  --> graph.toml:2\n  |\n2 | tags = [\"ok\", \"not ok\"]\n  |               ^^^^^^^^\n"
        );
    }
}
