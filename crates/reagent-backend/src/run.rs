//! Which run of reagent made a working container.
//!
//! A run is one reagent process, named by its [`RunId`]: the process id and the
//! process's start time (field 22 of `/proc/<pid>/stat`, clock ticks since boot),
//! so a later process that reuses the PID is a different run. Every working
//! container [`crate::Buildah`] creates carries its run's id: the containers of
//! `buildah build` as the build argument [`RUN_ARG`] (buildah records it in the
//! container's `buildah.json` under `Args`; an argument no `ARG` declares
//! changes neither the image nor buildah's layer cache, and buildah warns that it
//! was not consumed), reagent's own (`buildah from`) in their name. A container
//! whose run is gone (the process was killed with SIGKILL) is a leftover that
//! [`crate::Backend::remove_run_containers`] removes.

use std::fmt;
use std::sync::OnceLock;

/// The build argument naming the run on the containers of `buildah build`.
pub const RUN_ARG: &str = "REAGENT_RUN";

/// One reagent process: its PID and its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RunId {
    /// The process id.
    pub pid: u32,
    /// When the process started, in clock ticks since boot (0 when unknown).
    pub start: u64,
}

impl RunId {
    /// This process.
    pub fn current() -> RunId {
        static CURRENT: OnceLock<RunId> = OnceLock::new();
        *CURRENT.get_or_init(|| {
            let pid = std::process::id();
            RunId {
                pid,
                start: start_time(pid).unwrap_or(0),
            }
        })
    }

    /// Whether the process is still running: a process with this PID exists
    /// and started at the same time.
    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }
}

/// `<pid>.<start>`: the form containers carry.
impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.pid, self.start)
    }
}

/// Field 22 (`starttime`) of `/proc/<pid>/stat`; `None` when there is no such
/// process. The command name (field 2) may hold spaces and parentheses, so
/// fields are counted after its last `)`.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the name: field 3 (state) is the first; starttime is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a container named `names`, with `buildah build` arguments `args`,
/// belongs to `run`.
pub(crate) fn is_of_run(
    names: &[String],
    args: Option<&std::collections::BTreeMap<String, String>>,
    run: RunId,
) -> bool {
    let text = run.to_string();
    let in_name = format!("-{text}-");
    names
        .iter()
        .any(|n| n.starts_with("reagent-") && n.contains(&in_name))
        || args.and_then(|a| a.get(RUN_ARG)) == Some(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_pid_with_another_start_is_not() {
        let me = RunId::current();
        assert_eq!(me.pid, std::process::id());
        assert!(me.start > 0);
        assert!(me.is_alive());
        let reused = RunId {
            start: me.start + 1,
            ..me
        };
        assert!(!reused.is_alive());
    }

    #[test]
    fn containers_belong_to_the_run_in_their_name_or_build_argument() {
        let run = RunId {
            pid: 12,
            start: 345,
        };
        let names = |n: &str| vec![n.to_string()];
        assert!(is_of_run(&names("reagent-run-12.345-0-ff"), None, run));
        assert!(!is_of_run(&names("reagent-run-112.345-0-ff"), None, run));
        assert!(!is_of_run(&names("mine-12.345-0"), None, run));
        let args: std::collections::BTreeMap<_, _> =
            [(RUN_ARG.to_string(), "12.345".to_string())].into();
        assert!(is_of_run(&names("bb-working-container"), Some(&args), run));
        assert!(!is_of_run(
            &names("bb-working-container"),
            Some(&args),
            RunId { pid: 12, start: 1 }
        ));
    }
}
