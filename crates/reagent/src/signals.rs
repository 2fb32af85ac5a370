//! What SIGINT and SIGTERM do to a build.
//!
//! The first asks for a clean stop: the [`Cancel`] is set, registry lookups
//! and running commands are stopped (each process group TERM, then KILL),
//! their working containers removed, the record kept, and reagent exits 130.
//! A second one, while that stop is under way, does not wait for it: every
//! running command's process group is killed (SIGKILL) at once and reagent
//! exits 130; their working containers may be left behind.

use reagent_backend::Cancel;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::report::{Failure, EXIT_INTERRUPTED};

/// Handle SIGINT and SIGTERM as the module says, from now on, on a thread of
/// their own (nothing runs inside a signal handler but signal-hook's own).
pub fn stop_on_signals(cancel: &Cancel) -> Result<(), Failure> {
    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Failure::Failed(format!("cannot handle SIGINT and SIGTERM: {e}")))?;
    let cancel = cancel.clone();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if cancel.is_cancelled() {
                reagent_backend::kill_running();
                eprintln!("interrupted again: every running command was killed at once");
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
            cancel.cancel();
        }
    });
    Ok(())
}
