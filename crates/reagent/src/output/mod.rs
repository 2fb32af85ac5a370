//! Everything reagent shows: progress (bars, plain lines, NDJSON events), the
//! summary line, and the tables of tests and findings. The libraries report
//! typed events and results; only this module turns them into text.

pub mod progress;
pub mod tables;

use std::io::Write;

use crate::report::Failure;

/// Write `text` to stdout. A closed pipe (`reagent graph | head`) ends the
/// output quietly: whoever reads has what they wanted. Any other failure (a
/// full disk: `> /dev/full`) is an error, so nothing passes for written.
pub fn stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(stdout_failed(&e)),
    }
}

/// The failure for a write to stdout that failed with `e`.
pub fn stdout_failed(e: &std::io::Error) -> Failure {
    Failure::Failed(format!("cannot write to standard output: {e}"))
}

/// Warn, once per run, about the lines of the build record that are not a
/// record (damage: a disk error, a hand edit) and were skipped: what they
/// held is unknown to the plan, `explain` and `diff`.
pub fn warn_damaged(state_dir: &std::path::Path, history: &reagent_state::History) {
    const SHOWN: usize = 5;
    let lines = history.corrupt_lines();
    let path = state_dir.join(reagent_state::BUILD_LOG_FILE);
    for line in lines.iter().take(SHOWN) {
        eprintln!(
            "warning: {}:{line}: not a build record (damaged?); skipped",
            path.display()
        );
    }
    if lines.len() > SHOWN {
        eprintln!(
            "warning: {}: {} more damaged lines skipped",
            path.display(),
            lines.len() - SHOWN
        );
    }
}

/// `s` when `n` is not one: `1 image`, `2 images`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
