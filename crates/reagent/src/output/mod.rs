//! Everything reagent shows: progress (bars, plain lines, NDJSON events), the
//! summary line, and the tables of tests and findings. The libraries report
//! typed events and results; only this module turns them into text.

pub mod progress;
pub mod tables;

use std::io::Write;

/// Write `text` to stdout. A closed pipe (`reagent graph | head`) is not an error
/// worth reporting.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `s` when `n` is not one: `1 image`, `2 images`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
