//! The fuzzing loop: pick, mutate, check, measure, keep what is new, report.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::check::check;
use crate::corpus::Seed;
use crate::mutate::{mutate, Rng};
use crate::Target;

/// How much one input may cost before it is a finding.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time of one check (parse, analyse, round trip).
    pub time: Duration,
    /// Growth of the process's peak resident memory during one check, in KiB.
    pub memory_kib: u64,
}

impl Default for Limits {
    /// 5 s and 256 MiB: far above what a linear parser needs for a 64 KiB input even
    /// unoptimised, far below what an input whose cost multiplies reaches.
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(5),
            memory_kib: 256 << 10,
        }
    }
}

/// How long to fuzz.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// This many inputs in all, spread over the targets.
    Rounds(usize),
    /// As many inputs as fit in this time.
    Time(Duration),
}

/// An input that broke a property.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The parser it was fed to.
    pub target: Target,
    /// What went wrong: the panic, the broken property, or the cost.
    pub reason: String,
    /// The input.
    pub input: Vec<u8>,
    /// Where it was written, when a findings folder was given.
    pub file: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The generator's seed: the same seed and budget in rounds repeat the run.
    pub seed: u64,
    /// Inputs checked per target.
    pub inputs: BTreeMap<Target, usize>,
    /// Distinct outcomes (success, or an error message's shape) seen per target.
    pub outcomes: BTreeMap<Target, usize>,
    /// Inputs kept for further mutation (they reached a new outcome), per target.
    pub kept: BTreeMap<Target, usize>,
    /// Findings, at most one per target and kind of failure.
    pub findings: Vec<Finding>,
    /// The slowest check: its target, time and input size.
    pub slowest: Option<(Target, Duration, usize)>,
    /// The slowest check's input, to look at what made it slow.
    pub slowest_input: Vec<u8>,
    /// The largest growth of peak memory during one check, in KiB (0 when it could
    /// not be measured).
    pub most_memory_kib: u64,
    /// The largest input checked, in bytes.
    pub largest_input: usize,
    /// How long the run took.
    pub elapsed: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: usize = self.inputs.values().sum();
        writeln!(
            f,
            "fuzz: seed {:#x}, {total} inputs in {:.1} s, {} findings",
            self.seed,
            self.elapsed.as_secs_f64(),
            self.findings.len()
        )?;
        for (target, n) in &self.inputs {
            writeln!(
                f,
                "  {:<14} {n:>8} inputs, {:>5} outcomes, {:>5} kept",
                target.name(),
                self.outcomes.get(target).copied().unwrap_or(0),
                self.kept.get(target).copied().unwrap_or(0),
            )?;
        }
        if let Some((target, time, size)) = self.slowest {
            writeln!(
                f,
                "  slowest: {} {:.1} ms ({size} bytes); largest input {} bytes; most memory for one input {} KiB",
                target.name(),
                time.as_secs_f64() * 1000.0,
                self.largest_input,
                self.most_memory_kib
            )?;
        }
        for x in &self.findings {
            writeln!(f, "  FINDING {}: {}", x.target.name(), x.reason)?;
            if let Some(file) = &x.file {
                writeln!(f, "    input: {}", file.display())?;
            }
        }
        Ok(())
    }
}

/// Inputs kept per target at most, besides the corpus.
const MAX_KEPT: usize = 4000;
/// Findings reported at most.
const MAX_FINDINGS: usize = 32;

/// Fuzz from `corpus` with `seed` until `budget` is spent. Each finding is written to
/// `findings` (a folder) when given; each input is written to `current` before it is
/// checked, so an input that kills the process (a stack overflow, an abort) is left
/// there.
pub fn run(
    corpus: &[Seed],
    seed: u64,
    budget: Budget,
    limits: &Limits,
    findings: Option<&Path>,
    current: Option<&Path>,
) -> Report {
    let mut rng = Rng::new(seed);
    let mut pools: BTreeMap<Target, Vec<Vec<u8>>> = BTreeMap::new();
    for s in corpus {
        pools.entry(s.target).or_default().push(s.bytes.clone());
    }
    let targets: Vec<Target> = pools.keys().copied().collect();
    let mut report = Report {
        seed,
        ..Report::default()
    };
    if targets.is_empty() {
        return report;
    }
    let corpus_sizes: BTreeMap<Target, usize> = pools.iter().map(|(t, p)| (*t, p.len())).collect();
    let mut outcomes_seen: BTreeSet<(Target, String)> = BTreeSet::new();
    let mut reported: BTreeSet<(Target, String)> = BTreeSet::new();
    let panics = PanicCatcher::install();
    let start = Instant::now();
    let mut round = 0usize;
    loop {
        let done = match budget {
            Budget::Rounds(n) => round >= n,
            Budget::Time(t) => start.elapsed() >= t,
        };
        if done || report.findings.len() >= MAX_FINDINGS {
            break;
        }
        let target = targets[round % targets.len()];
        round += 1;
        let pool = &pools[&target];
        let mut input = rng.pick(pool).clone();
        let others: Vec<&[u8]> = (0..3).map(|_| rng.pick(pool).as_slice()).collect();
        mutate(&mut rng, target, &mut input, &others);
        if let Some(current) = current {
            // Best effort: a run without it only loses the input of a crash.
            let _ = std::fs::write(current, &input);
        }

        let checked = check_one(target, &input, limits, &panics);
        *report.inputs.entry(target).or_default() += 1;
        report.largest_input = report.largest_input.max(input.len());
        report.most_memory_kib = report.most_memory_kib.max(checked.grew_kib);
        if report.slowest.is_none_or(|(_, t, _)| checked.took > t) {
            report.slowest = Some((target, checked.took, input.len()));
            report.slowest_input.clone_from(&input);
        }
        let (outcome, failures) = (checked.outcome, checked.failures);
        for reason in failures {
            if reported.insert((target, shape(&reason))) {
                let file = findings.and_then(|dir| save(dir, target, &reason, &input));
                report.findings.push(Finding {
                    target,
                    reason,
                    input: input.clone(),
                    file,
                });
            }
        }
        if outcomes_seen.insert((target, outcome)) {
            let pool = pools.entry(target).or_default();
            if pool.len() < corpus_sizes[&target] + MAX_KEPT {
                pool.push(input);
                *report.kept.entry(target).or_default() += 1;
            }
        }
    }
    drop(panics);
    for (target, _) in &outcomes_seen {
        *report.outcomes.entry(*target).or_default() += 1;
    }
    report.elapsed = start.elapsed();
    report
}

/// What checking one input gave.
struct Checked {
    /// The outcome's shape (see [`check`]).
    outcome: String,
    /// Every property it broke, and every limit it passed.
    failures: Vec<String>,
    took: Duration,
    /// Growth of peak resident memory, in KiB (0 when it cannot be measured).
    grew_kib: u64,
}

/// Check one input, catching a panic, measuring its time and memory against `limits`.
fn check_one(target: Target, input: &[u8], limits: &Limits, panics: &PanicCatcher) -> Checked {
    let measured = memory::reset_peak();
    let before = memory::peak_kib();
    let began = Instant::now();
    let result = panic::catch_unwind(AssertUnwindSafe(|| check(target, input)));
    let took = began.elapsed();
    let grew_kib = match (measured, before, memory::peak_kib()) {
        (true, Some(b), Some(a)) => a.saturating_sub(b),
        _ => 0,
    };
    let mut failures = Vec::new();
    let outcome = match result {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(failure)) => {
            failures.push(failure.0);
            "broken property".to_string()
        }
        Err(payload) => {
            failures.push(format!("panic: {}", panics.message(payload.as_ref())));
            "panic".to_string()
        }
    };
    if took > limits.time {
        failures.push(format!(
            "took {:.2} s (limit {:.2} s) for {} bytes",
            took.as_secs_f64(),
            limits.time.as_secs_f64(),
            input.len()
        ));
    }
    if grew_kib > limits.memory_kib {
        failures.push(format!(
            "peak memory grew by {grew_kib} KiB (limit {} KiB) for {} bytes",
            limits.memory_kib,
            input.len()
        ));
    }
    Checked {
        outcome,
        failures,
        took,
        grew_kib,
    }
}

/// A message without its numbers and quoted words: what kind of outcome it is.
pub(crate) fn shape(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in message.chars().take(200) {
        match c {
            '`' => {
                quoted = !quoted;
                if quoted {
                    out.push('_');
                }
            }
            _ if quoted || c.is_ascii_digit() => {}
            '\n' => break,
            _ => out.push(c),
        }
    }
    out
}

/// Write a finding's input and reason to `dir`; the input's file, if written.
fn save(dir: &Path, target: Target, reason: &str, input: &[u8]) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let n = std::fs::read_dir(dir).ok()?.count();
    let file = dir.join(format!("{}-{n:04}.input", target.name()));
    std::fs::write(&file, input).ok()?;
    std::fs::write(file.with_extension("reason"), reason).ok()?;
    Some(file)
}

/// Catches panic messages (with their location) while it lives, instead of printing
/// them, and puts the previous hook back when dropped.
struct PanicCatcher {
    last: Arc<Mutex<Option<String>>>,
}

impl PanicCatcher {
    fn install() -> PanicCatcher {
        let last = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&last);
        panic::set_hook(Box::new(move |info| {
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            *sink.lock().unwrap_or_else(PoisonError::into_inner) = Some(format!("{info}{at}"));
        }));
        PanicCatcher { last }
    }

    /// The message of the panic that produced `payload`.
    fn message(&self, payload: &(dyn std::any::Any + Send)) -> String {
        let hooked = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        hooked.unwrap_or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string())
        })
    }
}

impl Drop for PanicCatcher {
    fn drop(&mut self) {
        drop(panic::take_hook());
    }
}

/// The process's peak resident memory, from Linux's `/proc/self`.
mod memory {
    /// Make the peak start again from the current resident size; `false` when the
    /// kernel does not allow it (then peaks only ever grow).
    pub(super) fn reset_peak() -> bool {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }

    /// The peak resident memory (`VmHWM`) in KiB.
    pub(super) fn peak_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_drop_numbers_and_quoted_words() {
        assert_eq!(
            shape("line 3: unknown flag `--x` for RUN"),
            "line : unknown flag _ for RUN"
        );
    }
}
