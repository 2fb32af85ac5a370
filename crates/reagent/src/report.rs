//! The one reporting boundary: errors become messages on stderr and exit codes.

use std::path::Path;

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

    /// Print to stderr. Project errors show the offending line, like a compiler.
    pub fn print(&self, root: &Path) {
        match self {
            Failure::Project(errors) => {
                for e in &errors.0 {
                    eprint!("{}", render_project_error(root, e));
                }
                if errors.0.len() > 1 {
                    eprintln!("error: {} problems found", errors.0.len());
                }
            }
            Failure::Usage(m) | Failure::Failed(m) => eprintln!("error: {m}"),
            Failure::Interrupted => {
                eprintln!("interrupted: the next run resumes with what is unfinished")
            }
        }
    }
}

/// At most 200 characters of a source line, marked when cut.
fn snippet(line: &str) -> String {
    const MAX: usize = 200;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{} …", &line[..cut]),
        None => line.to_string(),
    }
}

/// `error: message` then ` --> file:line` and the line itself with a marker.
pub fn render_project_error(root: &Path, e: &ProjectError) -> String {
    let mut out = format!("error: {}\n  --> {}\n", e.message, e.location());
    if let Some(line) = e.line {
        let path = if e.file.is_absolute() {
            e.file.clone()
        } else {
            root.join(&e.file)
        };
        // Only regular files: a FIFO or device must never be opened here.
        let regular = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
        if let Some(text) = regular
            .then(|| std::fs::read(&path).ok())
            .flatten()
            .and_then(|t| {
                let t = String::from_utf8_lossy(&t);
                t.lines().nth(line.saturating_sub(1)).map(snippet)
            })
        {
            let n = line.to_string();
            let pad = " ".repeat(n.len());
            out.push_str(&format!("{pad} |\n{n} | {text}\n{pad} |\n"));
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
        let shown = snippet(&line);
        assert_eq!(shown.chars().count(), 202);
        assert!(shown.ends_with(" …"));
        assert_eq!(snippet("short"), "short");
    }

    #[test]
    fn the_offending_line_is_shown_under_the_location() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("graph.toml"), "[project]\njbos = 2\n").unwrap();
        let e = ProjectError::at("graph.toml", 2, "unknown field `jbos`");
        let text = render_project_error(dir.path(), &e);
        assert_eq!(
            text,
            "error: unknown field `jbos`\n  --> graph.toml:2\n  |\n2 | jbos = 2\n  |\n"
        );
    }
}
