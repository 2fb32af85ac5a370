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

/// `error: message` then ` --> file:line` and the line itself with a marker.
pub fn render_project_error(root: &Path, e: &ProjectError) -> String {
    let mut out = format!("error: {}\n  --> {}\n", e.message, e.location());
    if let Some(line) = e.line {
        let path = if e.file.is_absolute() {
            e.file.clone()
        } else {
            root.join(&e.file)
        };
        if let Some(text) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.lines().nth(line.saturating_sub(1)).map(str::to_string))
        {
            let n = line.to_string();
            let pad = " ".repeat(n.len());
            out.push_str(&format!("{pad} |\n{n} | {text}\n{pad} |\n"));
        }
    }
    out
}
