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

/// `s` when `n` is not one: `1 image`, `2 images`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
