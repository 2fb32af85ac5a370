//! Running one tool as a child process: argv lists only, output streamed to a
//! log and a callback, stop on cancel or timeout by signalling the child's own
//! process group.
//!
//! Every process the crate starts goes through [`Cmd`]: buildah, skopeo, and
//! the host tools of [`crate::Backend::run_tool`] ([`run_tool`]).

use std::collections::BTreeSet;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{
    kill_process_group, test_kill_process_group, Pid, Signal, WaitId, WaitIdOptions,
};

use crate::backend::{BackendError, Cancel, ToolRequest};
use crate::redact::{Secrets, MASK};

/// How long a child's process group gets between SIGTERM and SIGKILL.
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(3);
/// How long to wait, after SIGKILL, for the group's processes to be gone. Only
/// a process stuck in the kernel (uninterruptible sleep) outlives SIGKILL for
/// long; nobody can kill it, so after this the stop gives up waiting.
const KILL_WAIT: Duration = Duration::from_secs(10);
/// How long [`kill_running`] waits, in all, for the groups it killed to be gone:
/// reagent is exiting at once, so a process stuck in the kernel is left to it.
const KILL_EXIT_WAIT: Duration = Duration::from_secs(2);
/// How often the run loop looks at `cancel` and the clock.
const POLL: Duration = Duration::from_millis(50);
/// How many trailing output lines an error message keeps.
const TAIL_LINES: usize = 30;

/// The process groups (their leaders' pids) of the commands running now, for
/// [`kill_running`]. A pid is taken out before or as its process is reaped,
/// under this lock, so a group signalled from here is never someone else's.
static RUNNING: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn running() -> MutexGuard<'static, BTreeSet<i32>> {
    // The set holds plain numbers: a panic elsewhere leaves it usable.
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Set, under the [`RUNNING`] lock, by [`kill_running`]: from then on no
/// command is started.
static KILLED: AtomicBool = AtomicBool::new(false);

/// Spawn `command` (which makes its own process group) and note it as
/// running, both under the [`RUNNING`] lock: [`kill_running`] either sees the
/// child or runs first, and then nothing is spawned (`None`). A child spawned
/// outside the lock could be started, by a thread that had not yet seen the
/// stop, after [`kill_running`] looked, and outlive reagent.
fn spawn_registered(command: &mut Command) -> Option<std::io::Result<Child>> {
    let mut set = running();
    if KILLED.load(Ordering::SeqCst) {
        return None;
    }
    Some(command.spawn().inspect(|child| {
        set.insert(Pid::from_child(child).as_raw_pid());
    }))
}

/// Block until `child` has exited, leaving it unreaped: its pid stays its own
/// until [`try_reap`] takes it out of [`RUNNING`] and reaps it.
fn wait_exited(child: &Child) -> std::io::Result<()> {
    let pid = Pid::from_child(child);
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
    loop {
        match rustix::process::waitid(WaitId::Pid(pid), options) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Read `pipe` to its end on a thread of its own; the bytes when joined.
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Forget a child about to be reaped.
fn unregister(child: &Child) {
    running().remove(&Pid::from_child(child).as_raw_pid());
}

/// `child.try_wait()`, forgetting the child once reaped, with no
/// [`kill_running`] in between.
fn try_reap(child: &mut Child) -> std::io::Result<Option<ExitStatus>> {
    let mut set = running();
    let status = child.try_wait()?;
    if status.is_some() {
        set.remove(&Pid::from_child(child).as_raw_pid());
    }
    Ok(status)
}

/// SIGKILL the process group of every command this process runs now
/// (buildah, skopeo, host tools, with all they started), and start none from
/// now on (a start answers [`BackendError::Interrupted`]): for a second signal,
/// when reagent exits at once instead of stopping them cleanly. Their working
/// containers may be left behind.
///
/// It waits (up to 2 s in all) until no process of those groups
/// is running any more, so none is still exiting when reagent is gone.
pub fn kill_running() {
    // Signalled under the lock: a pid leaves the set before its process is
    // reaped, so a group signalled here is never someone else's.
    let killed: Vec<Pid> = {
        let set = running();
        KILLED.store(true, Ordering::SeqCst);
        let killed: Vec<Pid> = set.iter().filter_map(|pgid| Pid::from_raw(*pgid)).collect();
        for pgid in &killed {
            signal_group(*pgid, Signal::KILL);
        }
        killed
    };
    let deadline = Instant::now() + KILL_EXIT_WAIT;
    for pgid in killed {
        wait_for_group(pgid, deadline.saturating_duration_since(Instant::now()));
    }
}

/// Whether [`kill_running`] was called: the process is being ended by it.
pub fn killing_all() -> bool {
    KILLED.load(Ordering::SeqCst)
}

/// One command line: the real argv and the argv shown in messages, where
/// secret values are replaced by `***`. The secret values are also masked
/// in everything the command's output reaches: its log, the line callback,
/// and error messages.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    program: PathBuf,
    args: Vec<String>,
    /// `args` as shell words for messages, secret pairs already masked.
    shown: Vec<String>,
    secrets: Secrets,
    /// Stop a streamed run that moves no byte for this long ([`Cmd::stall_limit`]).
    stall: Option<Duration>,
}

impl Cmd {
    /// A command running `program`.
    pub(crate) fn new(program: &Path) -> Self {
        Self {
            program: program.to_path_buf(),
            args: Vec::new(),
            shown: Vec::new(),
            secrets: Secrets::default(),
            stall: None,
        }
    }

    /// Stop a streamed run (as [`Stop::Stalled`]) once it has gone `limit`
    /// without printing a line or reading or writing a byte (files, pipes and
    /// sockets alike, as `/proc/<pid>/io` counts them): a transfer waiting on a
    /// peer that never answers, while a slow but moving one runs on.
    pub(crate) fn stall_limit(&mut self, limit: Duration) -> &mut Self {
        self.stall = Some(limit);
        self
    }

    /// Append one plain argument.
    pub(crate) fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        let arg = arg.into();
        self.shown.push(shell_word(&arg));
        self.args.push(arg);
        self
    }

    /// Append several plain arguments.
    pub(crate) fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Append `flag NAME=value`, shown as `flag NAME=***`.
    pub(crate) fn secret_pair(&mut self, flag: &str, name: &str, value: &str) -> &mut Self {
        self.arg(flag);
        self.args.push(format!("{name}={value}"));
        self.shown.push(format!("{}={MASK}", shell_word(name)));
        self.secrets.add(value);
        self
    }

    /// Mask these values too, wherever the command's argv or output is shown.
    pub(crate) fn secrets(&mut self, secrets: &Secrets) -> &mut Self {
        self.secrets.merge(secrets);
        self
    }

    /// The command as shown in messages: secret values masked, arguments
    /// quoted the way a POSIX shell would need them.
    pub(crate) fn display(&self) -> String {
        let mut s = shell_word(&self.program.display().to_string());
        for word in &self.shown {
            s.push(' ');
            s.push_str(word);
        }
        self.secrets.mask(&s).into_owned()
    }

    fn tool(&self) -> String {
        self.program.display().to_string()
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        c
    }

    /// Run to completion, capturing stdout and stderr (for short queries).
    ///
    /// Started like every command, in a group of its own and noted as running,
    /// so a second signal kills it too: a `buildah rm` cleaning up after a
    /// cancelled build must not outlive reagent.
    pub(crate) fn output(&self) -> Result<Captured, BackendError> {
        let mut child = self.spawn_piped()?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let status = loop {
            let waited = match try_reap(&mut child) {
                Ok(Some(status)) => break status,
                Ok(None) => wait_exited(&child),
                Err(e) => Err(e),
            };
            if let Err(e) = waited {
                let _ = kill_group(&mut child);
                return Err(e.into());
            }
        };
        Ok(self.captured(
            status,
            &stdout.join().unwrap_or_default(),
            &stderr.join().unwrap_or_default(),
        ))
    }

    /// What a finished command printed, its stderr masked.
    fn captured(&self, status: ExitStatus, stdout: &[u8], stderr: &[u8]) -> Captured {
        Captured {
            code: status.code(),
            signal: status.signal(),
            stdout: String::from_utf8_lossy(stdout).into_owned(),
            stderr: self
                .secrets
                .mask(&String::from_utf8_lossy(stderr))
                .into_owned(),
        }
    }

    /// Run to completion and fail unless it exits 0; returns stdout.
    pub(crate) fn checked(&self) -> Result<String, BackendError> {
        let out = self.output()?;
        if out.code == Some(0) {
            Ok(out.stdout)
        } else {
            Err(self.failed(out.code, out.signal, &out.stderr))
        }
    }

    /// [`Cmd::output`] within `limit`: past it the whole process group is
    /// stopped and `Ok(None)` returned; once `cancel` is set, it is stopped
    /// and [`BackendError::Interrupted`] returned. stdout is kept byte for
    /// byte (a manifest's digest is taken from it).
    pub(crate) fn output_within(
        &self,
        limit: Duration,
        cancel: &Cancel,
    ) -> Result<Option<Captured>, BackendError> {
        if cancel.is_cancelled() {
            return Err(BackendError::Interrupted);
        }
        let mut child = self.spawn_piped()?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let started = Instant::now();
        let status = loop {
            match try_reap(&mut child) {
                Ok(Some(status)) => break status,
                Ok(None) if cancel.is_cancelled() => {
                    kill_group(&mut child)?;
                    return Err(BackendError::Interrupted);
                }
                Ok(None) if started.elapsed() >= limit => {
                    kill_group(&mut child)?;
                    return Ok(None);
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    let _ = kill_group(&mut child);
                    return Err(e.into());
                }
            }
        };
        // A grandchild holding the pipes would keep these open; none is
        // started by the queries this serves.
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        Ok(Some(self.captured(status, &stdout, &stderr)))
    }

    /// The error for this command ending other than with exit code 0:
    /// [`BackendError::Killed`] if a signal ended it, else
    /// [`BackendError::Failed`]. `output` is masked and cut to its tail.
    pub(crate) fn failed(
        &self,
        code: Option<i32>,
        signal: Option<i32>,
        output: &str,
    ) -> BackendError {
        let command = self.display();
        let stderr = tail(&self.secrets.mask(output));
        match (code, signal) {
            (None, Some(signal)) => BackendError::Killed {
                command,
                signal,
                stderr,
            },
            (code, _) => BackendError::Failed {
                command,
                code,
                stderr,
            },
        }
    }

    /// Start the command in a process group of its own, stdin closed, stdout
    /// and stderr piped, and register it so a second signal can kill it
    /// ([`kill_running`]).
    fn spawn_piped(&self) -> Result<Child, BackendError> {
        let mut command = self.command();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let Some(spawned) = spawn_registered(&mut command) else {
            return Err(BackendError::Interrupted);
        };
        spawned.map_err(|source| BackendError::Spawn {
            tool: self.tool(),
            source,
        })
    }

    /// The error for this command exiting 0 with output that does not parse.
    pub(crate) fn bad_output(&self, problem: impl std::fmt::Display) -> BackendError {
        BackendError::BadOutput {
            command: self.display(),
            problem: self.secrets.mask(&problem.to_string()).into_owned(),
        }
    }

    /// Run streaming every output line (stdout and stderr interleaved as they
    /// come) to `log` (appended) and to `on_line`; stop the whole process group
    /// when `cancel` is set or `timeout` passes.
    pub(crate) fn stream(
        &self,
        log: Option<&Path>,
        cancel: Option<&Cancel>,
        timeout: Option<Duration>,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<Streamed, BackendError> {
        let log = match log {
            Some(p) => Some((open_log(p)?, p)),
            None => None,
        };
        let mut child = self.spawn_piped()?;
        let (tx, rx) = mpsc::channel::<String>();
        if let Some(out) = child.stdout.take() {
            spawn_reader(out, tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            spawn_reader(err, tx.clone());
        }
        drop(tx);
        let result = self.follow(&mut child, &rx, log, cancel, timeout, on_line);
        // Failing to write the log or to wait must not leave the command
        // running. A reaped child (std keeps its status) has a pid that may
        // already be someone else's: it is not signalled.
        if result.is_err() {
            match try_reap(&mut child) {
                Ok(None) => drop(kill_group(&mut child)),
                Ok(Some(_)) => {}
                Err(_) => unregister(&child),
            }
        }
        result
    }

    /// The body of [`Cmd::stream`] once the child runs.
    fn follow(
        &self,
        child: &mut Child,
        rx: &mpsc::Receiver<String>,
        mut log: Option<(File, &Path)>,
        cancel: Option<&Cancel>,
        timeout: Option<Duration>,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<Streamed, BackendError> {
        let started = Instant::now();
        let mut tail_lines: VecDeque<String> = VecDeque::new();
        let mut stop: Option<Stop> = None;
        let mut exited_at: Option<Instant> = None;
        let mut last_line = Instant::now();
        let mut status = None;
        let mut pipes_done = false;
        let mut moved = Moved::new(child.id());
        loop {
            if pipes_done {
                thread::sleep(POLL);
            } else {
                match rx.recv_timeout(POLL) {
                    Ok(line) => {
                        last_line = Instant::now();
                        let line = self.secrets.mask(&line).into_owned();
                        if let Some((f, path)) = log.as_mut() {
                            writeln!(f, "{line}").map_err(log_error(path))?;
                        }
                        on_line(&line);
                        if tail_lines.len() == TAIL_LINES {
                            tail_lines.pop_front();
                        }
                        tail_lines.push_back(line);
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => pipes_done = true,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
            }
            if status.is_none() {
                if let Some(s) = try_reap(child)? {
                    status = Some(s);
                    exited_at = Some(Instant::now());
                }
            }
            if let Some(at) = exited_at {
                // A grandchild may hold the pipes open: do not wait for it for long.
                // But lines still coming are the command's own output, queued while
                // the machine was busy: the wait counts from the last of them, so
                // none is dropped.
                let quiet_since = at.max(last_line);
                if pipes_done || quiet_since.elapsed() > Duration::from_secs(2) {
                    break;
                }
                continue;
            }
            if cancel.is_some_and(Cancel::is_cancelled) {
                stop = Some(Stop::Cancelled);
            } else if let Some(limit) = timeout.filter(|t| started.elapsed() >= *t) {
                stop = Some(Stop::TimedOut(limit));
            } else if let Some(limit) = self.stall {
                if moved.since().max(last_line).elapsed() >= limit {
                    stop = Some(Stop::Stalled(limit));
                }
            }
            if stop.is_some() {
                status = Some(kill_group(child)?);
                exited_at = Some(Instant::now());
            }
        }
        if let Some((f, path)) = log.as_mut() {
            f.flush().map_err(log_error(path))?;
        }
        let tail = tail_lines.into_iter().collect::<Vec<_>>().join("\n");
        Ok(Streamed {
            code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            stop,
            tail,
        })
    }
}

/// Output of a command run with [`Cmd::output`].
#[derive(Debug)]
pub(crate) struct Captured {
    pub(crate) code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Why a streamed command was stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The [`Cancel`] was set.
    Cancelled,
    /// It ran into this time limit.
    TimedOut(Duration),
    /// It moved no byte for this long (see [`Cmd::stall_limit`]).
    Stalled(Duration),
}

/// How a streamed command ended.
#[derive(Debug)]
pub(crate) struct Streamed {
    /// Exit code, if it exited.
    pub(crate) code: Option<i32>,
    /// The signal that ended it, if one did.
    pub(crate) signal: Option<i32>,
    /// Set if reagent stopped it.
    pub(crate) stop: Option<Stop>,
    /// The last lines of its output.
    pub(crate) tail: String,
}

impl Streamed {
    /// Ok if it exited 0, else the matching error.
    pub(crate) fn into_result(self, cmd: &Cmd) -> Result<(), BackendError> {
        match self.stop {
            Some(Stop::Cancelled) => Err(BackendError::Interrupted),
            Some(Stop::TimedOut(after) | Stop::Stalled(after)) => Err(BackendError::TimedOut {
                command: cmd.display(),
                after,
            }),
            None if self.code == Some(0) => Ok(()),
            None => Err(cmd.failed(self.code, self.signal, &self.tail)),
        }
    }
}

/// The command a [`ToolRequest`] describes, its secrets masked wherever it shows.
pub(crate) fn tool_command(req: &ToolRequest) -> Cmd {
    let mut c = Cmd::new(&req.program);
    c.args(req.args.iter().cloned()).secrets(&req.secrets);
    c
}

/// [`crate::Backend::run_tool`], for any backend that runs host processes.
pub(crate) fn run_tool(
    req: &ToolRequest,
    cancel: &Cancel,
    on_line: &mut dyn FnMut(&str),
) -> Result<(), BackendError> {
    if cancel.is_cancelled() {
        return Err(BackendError::Interrupted);
    }
    let c = tool_command(req);
    append_line(&req.log, &format!("$ {}", c.display()))?;
    c.stream(Some(&req.log), Some(cancel), req.timeout, on_line)?
        .into_result(&c)
}

/// When a process last read or wrote a byte, as far as polling
/// `/proc/<pid>/io` (`rchar` + `wchar`, which count sockets too) can tell.
struct Moved {
    io: PathBuf,
    bytes: Option<u64>,
    at: Instant,
}

impl Moved {
    fn new(pid: u32) -> Self {
        Self {
            io: PathBuf::from(format!("/proc/{pid}/io")),
            bytes: None,
            at: Instant::now(),
        }
    }

    /// The last time the count changed (the start, before any change). Without
    /// a readable `/proc`, output lines alone show progress.
    fn since(&mut self) -> Instant {
        let now = std::fs::read_to_string(&self.io).ok().map(|text| {
            text.lines()
                .filter_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    matches!(k, "rchar" | "wchar").then(|| v.trim().parse::<u64>().ok())?
                })
                .sum::<u64>()
        });
        if now.is_some() && now != self.bytes {
            if self.bytes.is_some() {
                self.at = Instant::now();
            }
            self.bytes = now;
        }
        self.at
    }
}

/// The error for log `path` failing with an I/O error.
fn log_error(path: &Path) -> impl FnOnce(std::io::Error) -> BackendError + '_ {
    move |source| BackendError::Log {
        path: path.to_path_buf(),
        source,
    }
}

/// Open a log file for appending, creating its folder.
pub(crate) fn open_log(path: &Path) -> Result<File, BackendError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(log_error(path))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(log_error(path))
}

/// Append one line to a log file, creating it and its folder.
pub(crate) fn append_line(path: &Path, line: &str) -> Result<(), BackendError> {
    use std::io::Write;
    writeln!(open_log(path)?, "{line}").map_err(log_error(path))
}

fn spawn_reader(pipe: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// Stop the child's whole process group: SIGTERM, then SIGKILL to whatever
/// is still running after [`KILL_GRACE`], then wait (up to [`KILL_WAIT`]) until
/// no process of the group is running any more, grandchildren included.
///
/// The child (the group's leader) is reaped only at the end: while it is an
/// unreaped zombie its pid cannot be reused, so the group id signalled is
/// always ours.
fn kill_group(child: &mut Child) -> Result<ExitStatus, BackendError> {
    let pgid = Pid::from_child(child);
    signal_group(pgid, Signal::TERM);
    if !wait_for_group(pgid, KILL_GRACE) {
        signal_group(pgid, Signal::KILL);
        wait_for_group(pgid, KILL_WAIT);
    }
    unregister(child);
    Ok(child.wait()?)
}

/// Wait until no process of group `pgid` is running (zombies do not count);
/// whether that happened within `limit`.
fn wait_for_group(pgid: Pid, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !group_running(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Whether any process of group `pgid` is still running (not a zombie), from
/// `/proc/<pid>/stat`. Without a readable `/proc`, `kill(-pgid, 0)` answers,
/// and it counts zombies too: the stop then takes the whole grace period.
fn group_running(pgid: Pid) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return test_kill_process_group(pgid).is_ok();
    };
    entries.flatten().any(|entry| {
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        is_pid
            && std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| running_in_group(&stat))
                == Some(pgid.as_raw_pid())
    })
}

/// The process group of a `/proc/<pid>/stat` line whose process is running,
/// `None` for a zombie (`Z`), a dead task (`X`) or a line that does not parse.
/// The line is `pid (comm) state ppid pgrp ...`, and `comm` may hold spaces
/// and parentheses, so fields are counted from the last `)`.
fn running_in_group(stat: &str) -> Option<i32> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    (!matches!(state, "Z" | "X" | "x")).then_some(pgrp)
}

/// Send `signal` to the process group `pgid` (the one the child leads, made
/// with `process_group(0)`). An error (the group is already gone) is ignored.
fn signal_group(pgid: Pid, signal: Signal) {
    // `kill(-1, ...)` would signal every process we may signal: never.
    if pgid.is_init() {
        return;
    }
    let _ = kill_process_group(pgid, signal);
}

/// `word` as one POSIX shell word: as is when it needs no quoting, else in
/// single quotes (a `'` inside becomes `'\''`).
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The last lines of `text`, for error messages.
pub(crate) fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn display_masks_secret_values() {
        let mut c = Cmd::new(Path::new("buildah"));
        c.arg("build")
            .secret_pair("--build-arg", "TOKEN", "hunter2");
        assert_eq!(c.display(), "buildah build --build-arg TOKEN=***");
        assert_eq!(c.args[2], "TOKEN=hunter2");
    }

    #[test]
    fn display_quotes_like_a_shell() {
        let mut c = Cmd::new(Path::new("/usr/bin/tool"));
        c.args(["plain-arg=1,a/b:c", "two words", "it's", ""]);
        assert_eq!(
            c.display(),
            r"/usr/bin/tool plain-arg=1,a/b:c 'two words' 'it'\''s' ''"
        );
    }

    #[test]
    fn failures_say_how_the_command_ended() {
        let mut c = Cmd::new(Path::new("sh"));
        c.args(["-c", "echo bad >&2; exit 3"]);
        let err = c.checked().unwrap_err();
        assert!(matches!(err, BackendError::Failed { code: Some(3), .. }));
        assert_eq!(
            err.to_string(),
            "`sh -c 'echo bad >&2; exit 3'` exited with 3: bad"
        );

        let mut c = Cmd::new(Path::new("sh"));
        c.args(["-c", "echo dying; kill -9 $$"]);
        let err = c
            .stream(None, None, None, &mut |_| {})
            .unwrap()
            .into_result(&c)
            .unwrap_err();
        assert!(
            matches!(err, BackendError::Killed { signal: 9, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "`sh -c 'echo dying; kill -9 $$'` was killed by signal 9: dying"
        );
        let err = c.checked().unwrap_err();
        assert!(
            matches!(err, BackendError::Killed { signal: 9, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn secret_values_never_reach_log_lines_or_errors() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut c = Cmd::new(Path::new("sh"));
        c.arg("-c")
            .arg("echo \"url https://u:$1@h\"; echo \"bad $1\" >&2; exit 1")
            .secret_pair("--", "", "hunter2-secret");
        // `sh -c SCRIPT -- =hunter2-secret`: $0 is `--`, $1 is `=hunter2-secret`.
        let mut seen = Vec::new();
        let r = c
            .stream(Some(&log), None, None, &mut |l| seen.push(l.to_string()))
            .unwrap();
        let err = r.into_result(&c).unwrap_err().to_string();
        let text = std::fs::read_to_string(&log).unwrap();
        for shown in [text.as_str(), &err, &seen.join("\n")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
    }

    #[test]
    fn stream_collects_lines_and_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sub/log");
        let mut c = Cmd::new(Path::new("sh"));
        c.args(["-c", "echo one; echo two >&2; exit 3"]);
        let mut seen = Vec::new();
        let r = c
            .stream(Some(&log), None, None, &mut |l| seen.push(l.to_string()))
            .unwrap();
        assert_eq!(r.code, Some(3));
        seen.sort();
        assert_eq!(seen, ["one", "two"]);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("one") && text.contains("two"));
        assert!(matches!(
            r.into_result(&c),
            Err(BackendError::Failed { code: Some(3), .. })
        ));
    }

    #[test]
    fn stream_stops_on_cancel() {
        let cancel = Cancel::new();
        let mut c = Cmd::new(Path::new("sh"));
        c.args(["-c", "echo started; sleep 1000 & wait"]);
        // Cancel once the command really runs; only the stop can end it.
        let r = c
            .stream(None, Some(&cancel), None, &mut |line| {
                if line == "started" {
                    cancel.cancel();
                }
            })
            .unwrap();
        assert_eq!(r.stop, Some(Stop::Cancelled));
        assert!(matches!(r.into_result(&c), Err(BackendError::Interrupted)));
    }

    #[test]
    fn stream_times_out() {
        let mut c = Cmd::new(Path::new("sleep"));
        c.arg("1000");
        let limit = Duration::from_millis(200);
        let r = c.stream(None, None, Some(limit), &mut |_| {}).unwrap();
        assert_eq!(r.stop, Some(Stop::TimedOut(limit)));
        match r.into_result(&c) {
            Err(BackendError::TimedOut { command, after }) => {
                assert_eq!(command, "sleep 1000");
                assert_eq!(after, limit);
            }
            other => panic!("expected TimedOut, got {other:?}"),
        }
    }

    #[test]
    fn a_command_that_moves_no_byte_is_stopped_as_stalled() {
        let mut c = Cmd::new(Path::new("sleep"));
        c.arg("1000").stall_limit(Duration::from_millis(500));
        let r = c.stream(None, None, None, &mut |_| {}).unwrap();
        assert_eq!(r.stop, Some(Stop::Stalled(Duration::from_millis(500))));
    }

    #[test]
    fn a_command_that_keeps_moving_bytes_runs_past_the_stall_limit() {
        // Silent on its pipes, but every 0.2 s a child reads and writes 4 KiB:
        // 2.4 s in all against a 2 s limit. A reaped child's I/O counts for
        // the shell, as it does for buildah's own reads and writes.
        let mut c = Cmd::new(Path::new("sh"));
        c.args([
            "-c",
            "i=0; while [ $i -lt 12 ]; do head -c 4096 /dev/zero > /dev/null; sleep 0.2; i=$((i+1)); done",
        ])
        .stall_limit(Duration::from_secs(2));
        let r = c.stream(None, None, None, &mut |_| {}).unwrap();
        assert_eq!((r.stop, r.code), (None, Some(0)));
    }

    #[test]
    fn output_within_keeps_stdout_or_stops_the_group() {
        let mut c = Cmd::new(Path::new("sh"));
        c.args(["-c", "printf 'a\\nb\\n\\n'; echo err >&2"]);
        let out = c
            .output_within(Duration::from_secs(30), &Cancel::new())
            .unwrap()
            .unwrap();
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("a\nb\n\n", "err\n")
        );
        let marker = format!("1000.{}525252", std::process::id());
        let mut c = Cmd::new(Path::new("sh"));
        c.args(["-c", &format!("sleep {marker} & wait")]);
        assert!(c
            .output_within(Duration::from_millis(300), &Cancel::new())
            .unwrap()
            .is_none());
        assert!(!running_with_arg(&marker), "sleep {marker} still runs");
        let cancel = Cancel::new();
        let stop = cancel.clone();
        let r = thread::scope(|s| {
            s.spawn(move || {
                thread::sleep(Duration::from_millis(300));
                stop.cancel();
            });
            c.output_within(Duration::from_secs(1000), &cancel)
        });
        assert!(matches!(r, Err(BackendError::Interrupted)), "{r:?}");
        assert!(!running_with_arg(&marker), "sleep {marker} still runs");
    }

    /// Whether a process has `arg` as one of its arguments.
    fn running_with_arg(arg: &str) -> bool {
        std::fs::read_dir("/proc").is_ok_and(|entries| {
            entries.flatten().any(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|raw| raw.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
            })
        })
    }

    #[test]
    fn a_log_that_cannot_be_written_stops_the_command() {
        // /dev/full takes the open and refuses every write.
        let marker = format!("1000.{}424242", std::process::id());
        let mut c = Cmd::new(Path::new("sh"));
        c.args(["-c", &format!("sleep {marker} & echo first; wait")]);
        let r = c.stream(Some(Path::new("/dev/full")), None, None, &mut |_| {});
        let err = r.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot write the log /dev/full: No space left on device"),
            "{err}"
        );
        assert!(!running_with_arg(&marker), "sleep {marker} still runs");
    }

    #[test]
    fn missing_binary_is_a_spawn_error() {
        let c = Cmd::new(Path::new("/nonexistent/tool"));
        assert!(matches!(c.output(), Err(BackendError::Spawn { .. })));
    }

    #[test]
    fn stat_lines_give_the_group_of_running_processes() {
        assert_eq!(
            running_in_group("4242 (sleep) S 4241 4240 4240 0 -1 4194304 96 0"),
            Some(4240)
        );
        // `comm` may hold spaces and parentheses.
        assert_eq!(running_in_group("7 (a) b (c) R 1 7 7 0"), Some(7));
        assert_eq!(running_in_group("4242 (sleep) Z 1 4240 4240 0"), None);
        assert_eq!(running_in_group("garbage"), None);
    }

    #[test]
    fn tail_keeps_last_lines() {
        let mut text = String::new();
        for i in 0..100 {
            writeln!(text, "{i}").unwrap();
        }
        let t = tail(&text);
        assert!(t.starts_with("70\n"));
        assert!(t.ends_with("99"));
    }
}
