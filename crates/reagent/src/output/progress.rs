//! Showing a run's events: progress bars on a terminal, plain lines otherwise, or
//! newline-delimited JSON. One [`Reporter`] owns the output for a whole run.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reagent_exec::events::{Event, StepKind, Summary};
use reagent_exec::run::default_weight;

/// Consumes a run's events.
pub trait Reporter {
    /// Show one event.
    fn report(&mut self, event: &Event);

    /// The first error writing where the run's output is the result (stdout
    /// for `--json`), other than a closed pipe: the run then fails.
    fn write_error(&self) -> Option<&std::io::Error> {
        None
    }
}

/// Plain lines on a writer (stderr when not a terminal).
pub struct Plain<W: Write> {
    out: W,
    verbose: bool,
}

impl<W: Write> Plain<W> {
    /// Lines to `out`; `verbose` also shows each build's steps.
    pub fn new(out: W, verbose: bool) -> Self {
        Plain { out, verbose }
    }
}

/// The line a finished run prints, e.g. `3 built, 1 up to date, ... in 4.2s`.
pub fn summary_line(s: &Summary) -> String {
    let mut parts = vec![format!("{} built", s.built)];
    for (n, what) in [
        (s.pulled, "pulled"),
        (s.pushed, "pushed"),
        (s.up_to_date, "up to date"),
        (s.skipped, "skipped"),
        (s.failed, "failed"),
    ] {
        parts.push(format!("{n} {what}"));
    }
    if s.record_errors > 0 {
        parts.push(format!("{} not recorded", s.record_errors));
    }
    let mut line = format!("{} in {:.2}s", parts.join(", "), s.wall.as_secs_f64());
    if s.interrupted {
        line.push_str(" (interrupted)");
    }
    line
}

fn plain_line(event: &Event, verbose: bool) -> Option<String> {
    Some(match event {
        // A node with nothing to do says so only when asked: a no-op build of a large
        // project would otherwise print a line per image, where the summary counts them.
        Event::UpToDate { node, place } if verbose => {
            format!("up to date  {node} ({})", place.as_str())
        }
        Event::Started { node, action } => format!("{:<11} {node}", action.as_str()),
        Event::Step { node, n, of, text } if verbose => format!("{node}: STEP {n}/{of}: {text}"),
        Event::Plan { .. } | Event::Tested { .. } | Event::Step { .. } | Event::UpToDate { .. } => {
            return None
        }
        Event::Output { node, line } => format!("{node}: {line}"),
        Event::Finished {
            node,
            action,
            duration,
        } => format!(
            "{:<11} {node} in {:.2}s",
            action.past(),
            duration.as_secs_f64()
        ),
        Event::Failed {
            node,
            action,
            error,
            log,
            ..
        } => match log {
            Some(log) => format!(
                "FAILED      {node} ({}): {error}\n            log: {}",
                action.as_str(),
                log.display()
            ),
            None => format!("FAILED      {node} ({}): {error}", action.as_str()),
        },
        Event::Skipped { node, because } => format!("skipped     {node}: {because}"),
        Event::RecordFailed { node, error } => {
            format!("NOT RECORDED {node}: the build record could not be written: {error}")
        }
        Event::Binhost {
            action,
            reference,
            files,
        } => format!("binpkgs     {action} {reference} ({files} files)"),
        Event::Summary(s) => summary_line(s),
    })
}

impl<W: Write> Reporter for Plain<W> {
    fn report(&mut self, event: &Event) {
        if let Some(mut line) = plain_line(event, self.verbose) {
            // One write per line: stderr is unbuffered, and `writeln!` would make two.
            line.push('\n');
            let _ = self.out.write_all(line.as_bytes());
        }
    }
}

/// Newline-delimited JSON events on a writer (stdout with `--json`).
pub struct Json<W: Write> {
    out: W,
    /// The first failed write; nothing more is written after one.
    failed: Option<std::io::Error>,
    /// The reader went away: the rest is not written, quietly.
    closed: bool,
}

impl<W: Write> Json<W> {
    /// JSON lines to `out`.
    pub fn new(out: W) -> Self {
        Json {
            out,
            failed: None,
            closed: false,
        }
    }
}

impl<W: Write> Reporter for Json<W> {
    fn report(&mut self, event: &Event) {
        if self.closed || self.failed.is_some() {
            return;
        }
        if let Ok(line) = serde_json::to_string(event) {
            match writeln!(self.out, "{line}").and_then(|()| self.out.flush()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => self.closed = true,
                Err(e) => self.failed = Some(e),
            }
        }
    }

    fn write_error(&self) -> Option<&std::io::Error> {
        self.failed.as_ref()
    }
}

/// indicatif bars: one line per running node with its `STEP n/m`, and an
/// overall bar whose ETA comes from recorded build durations.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    running: HashMap<String, ProgressBar>,
    weights: HashMap<String, Duration>,
    default_weight: Duration,
    total: usize,
    done: usize,
}

impl Bars {
    /// Bars on stderr; `weights` are the expected durations per node name.
    pub fn new(weights: HashMap<String, Duration>) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {msg} [{elapsed_precise}, ETA {eta}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let default_weight = default_weight(&weights);
        Bars {
            multi,
            overall,
            running: HashMap::new(),
            weights,
            default_weight,
            total: 0,
            done: 0,
        }
    }

    fn weight(&self, node: &str) -> u64 {
        let ms = self
            .weights
            .get(node)
            .copied()
            .unwrap_or(self.default_weight)
            .as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX).max(1)
    }

    fn println(&self, line: &str) {
        let _ = self.multi.println(line);
    }
}

impl Reporter for Bars {
    fn report(&mut self, event: &Event) {
        match event {
            Event::Plan { steps } => {
                let work: Vec<_> = steps
                    .iter()
                    .filter(|s| s.action != StepKind::UpToDate)
                    .collect();
                self.total = work.len();
                let len = work.iter().map(|s| self.weight(&s.node)).sum();
                self.overall.set_length(len);
                self.overall.set_message(format!("0/{} done", self.total));
            }
            Event::Started { node, action } => {
                let bar = self
                    .multi
                    .insert_before(&self.overall, ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(node.clone());
                bar.set_message(action.as_str());
                bar.enable_steady_tick(Duration::from_millis(120));
                self.running.insert(node.clone(), bar);
            }
            Event::Step { node, n, of, text } => {
                if let Some(bar) = self.running.get(node) {
                    bar.set_message(format!("STEP {n}/{of}: {text}"));
                }
            }
            Event::Finished { node, .. } | Event::Failed { node, .. } => {
                if let Some(bar) = self.running.remove(node) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                self.done += 1;
                self.overall.inc(self.weight(node));
                self.overall
                    .set_message(format!("{}/{} done", self.done, self.total));
                if let Some(line) = plain_line(event, false) {
                    self.println(&line);
                }
            }
            Event::Summary(_) => {
                self.overall.finish_and_clear();
                if let Some(line) = plain_line(event, false) {
                    self.println(&line);
                }
            }
            other => {
                if let Some(line) = plain_line(other, false) {
                    self.println(&line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reagent_exec::events::Work;

    #[test]
    fn plain_lines_name_node_and_log() {
        let mut out = Vec::new();
        let mut r = Plain::new(&mut out, false);
        r.report(&Event::Started {
            node: "app".into(),
            action: Work::Build,
        });
        r.report(&Event::Step {
            node: "app".into(),
            n: 1,
            of: 2,
            text: "FROM base".into(),
        });
        r.report(&Event::Failed {
            node: "app".into(),
            action: Work::Build,
            error: "RUN exited 1".into(),
            log: Some("/p/.reagent/logs/app-0123.log".into()),
            duration: Duration::from_millis(1500),
        });
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "build       app\nFAILED      app (build): RUN exited 1\n            log: /p/.reagent/logs/app-0123.log\n"
        );
    }

    #[test]
    fn up_to_date_nodes_are_named_only_when_verbose() {
        let event = Event::UpToDate {
            node: "base".into(),
            place: reagent_exec::events::Place::Registry,
        };
        let mut quiet = Vec::new();
        Plain::new(&mut quiet, false).report(&event);
        assert_eq!(String::from_utf8(quiet).unwrap(), "");
        let mut verbose = Vec::new();
        Plain::new(&mut verbose, true).report(&event);
        assert_eq!(
            String::from_utf8(verbose).unwrap(),
            "up to date  base (registry)\n"
        );
    }

    #[test]
    fn json_lines_are_tagged() {
        let mut out = Vec::new();
        Json::new(&mut out).report(&Event::Finished {
            node: "base".into(),
            action: Work::Build,
            duration: Duration::from_millis(1234),
        });
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["event"], "finished");
        assert_eq!(v["node"], "base");
        assert_eq!(v["duration"], 1.234);
    }

    #[test]
    fn summary_counts_everything() {
        let s = Summary {
            built: 2,
            up_to_date: 3,
            failed: 1,
            wall: Duration::from_millis(2500),
            ..Default::default()
        };
        assert_eq!(
            summary_line(&s),
            "2 built, 0 pulled, 0 pushed, 3 up to date, 0 skipped, 1 failed in 2.50s"
        );
        assert!(!s.ok());
    }
}
