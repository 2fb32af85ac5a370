//! The run loop: hand ready nodes to workers in priority order, collect their
//! events and results in one place, record each result, stop cleanly on failure
//! or interruption. Like cargo's job queue, every worker talks to the loop only
//! through messages; the loop alone reports.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reagent_graph::{Graph, Node, NodeId};
use reagent_schedule::Queue;
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use serde::Serialize;

use crate::events::{Event, PlannedStep, Summary, Work};
use crate::job::{JobContext, JobOutput};
use crate::junit::Case;
use crate::plan::{Action, Place, Plan};

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Workers (at least one runs).
    pub jobs: usize,
    /// Keep building independent branches after a failure.
    pub keep_going: bool,
}

/// How one node of the plan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeOutcome {
    /// Built (and published, with a registry).
    Built,
    /// Nothing to do.
    UpToDate,
    /// Pulled from the registry.
    Pulled,
    /// A local build pushed to the registry.
    Pushed,
    /// Its work failed.
    Failed,
    /// Its work started and was stopped by a cancel.
    Interrupted,
    /// Not attempted.
    Skipped,
}

/// One node's part in a run.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// The node.
    pub name: String,
    /// Its key (64 hex).
    pub key: String,
    /// How it ended.
    pub outcome: NodeOutcome,
    /// Where an up-to-date node's image is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// How long its work ran.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_secs")]
    pub duration: Option<Duration>,
    /// Registry references it pushed or pulled.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registry_refs: Vec<String>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its build log, when a failed build left one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
    /// Its test and audit cases.
    #[serde(skip)]
    pub cases: Vec<Case>,
}

// serde's `serialize_with` hands over a reference to the field.
#[allow(clippy::ref_option)]
fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0),
        None => s.serialize_none(),
    }
}

/// What a run did: the summary, and a report per planned node in plan order.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The counts.
    pub summary: Summary,
    /// One entry per node of the plan, parents first.
    pub nodes: Vec<NodeReport>,
}

impl RunReport {
    /// Every test and audit case of the run, in the order nodes finished.
    pub fn cases(&self) -> Vec<Case> {
        self.nodes.iter().flat_map(|n| n.cases.clone()).collect()
    }

    /// Every registry reference pushed or pulled.
    pub fn registry_refs(&self) -> impl Iterator<Item = &str> {
        self.nodes
            .iter()
            .flat_map(|n| n.registry_refs.iter().map(String::as_str))
    }
}

/// The plan as an event, parents first; every reason masked of build-arg values.
pub fn plan_event(graph: &Graph, plan: &Plan) -> Event {
    Event::Plan {
        steps: plan
            .steps
            .iter()
            .map(|s| {
                let node = graph.node(s.node);
                PlannedStep {
                    node: node.name.clone(),
                    action: s.action.kind(),
                    reason: crate::secrets::of(node)
                        .mask(&s.action.reason())
                        .into_owned(),
                }
            })
            .collect(),
    }
}

/// Writes a finished job's build record; an error says why it could not be written.
pub type Recorder<'a> = dyn FnMut(&Node, Work, &JobOutput) -> Result<(), String> + 'a;

enum Msg {
    Event(Event),
    Done(NodeId, Box<JobOutput>),
}

/// Execute `plan`: every event goes to `on_event`, every finished job to `record`.
/// `weights` are the expected durations per node name (the queue's priorities).
pub fn run(
    ctx: &JobContext<'_>,
    plan: &Plan,
    opts: &RunOptions,
    weights: &HashMap<String, Duration>,
    record: &mut Recorder<'_>,
    on_event: &mut dyn FnMut(&Event),
) -> RunReport {
    let mut drain = Drain::new(ctx, plan, weights, opts.keep_going, on_event);
    let jobs = opts.jobs.max(1);
    let (tx, rx) = mpsc::channel::<Msg>();
    std::thread::scope(|s| {
        loop {
            drain.check_cancel();
            while drain.running < jobs {
                let Some((id, work)) = drain.next_ready() else {
                    break;
                };
                let tx = tx.clone();
                s.spawn(move || {
                    let node = ctx.graph.node(id);
                    let events = tx.clone();
                    let emit = move |e: Event| {
                        // The loop outlives every worker: a send cannot fail while it runs.
                        let _ = events.send(Msg::Event(e));
                    };
                    let out = ctx.run(node, work, &emit);
                    let _ = tx.send(Msg::Done(id, Box::new(out)));
                });
            }
            if drain.running == 0 {
                break;
            }
            // A heartbeat, so a stop is noticed even while every worker is busy.
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Event(e)) => drain.report(&e),
                Ok(Msg::Done(id, out)) => drain.done(id, *out, record),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        drain.skip_the_rest();
    });
    drain.finish()
}

/// The loop's state: the queue, the counts and the per-node reports.
struct Drain<'a, 'e> {
    ctx: &'a JobContext<'a>,
    actions: FxHashMap<NodeId, &'a Action>,
    queue: Queue<NodeId>,
    reports: FxHashMap<NodeId, NodeReport>,
    order: Vec<NodeId>,
    summary: Summary,
    running: usize,
    skipped: FxHashSet<NodeId>,
    stop: Option<String>,
    keep_going: bool,
    started: Instant,
    on_event: &'e mut dyn FnMut(&Event),
}

impl<'a, 'e> Drain<'a, 'e> {
    fn new(
        ctx: &'a JobContext<'a>,
        plan: &'a Plan,
        weights: &HashMap<String, Duration>,
        keep_going: bool,
        on_event: &'e mut dyn FnMut(&Event),
    ) -> Self {
        let graph = ctx.graph;
        // Keyed by small integers of this process: no hash flooding to fear.
        let actions: FxHashMap<NodeId, &Action> =
            plan.steps.iter().map(|s| (s.node, &s.action)).collect();
        let fallback = default_weight(weights);
        let mut drain = Drain {
            ctx,
            actions,
            queue: Queue::new(),
            reports: FxHashMap::with_capacity_and_hasher(plan.steps.len(), FxBuildHasher),
            order: plan.steps.iter().map(|s| s.node).collect(),
            summary: Summary::default(),
            running: 0,
            skipped: FxHashSet::default(),
            stop: None,
            keep_going,
            started: Instant::now(),
            on_event,
        };
        drain.report(&plan_event(graph, plan));
        for step in &plan.steps {
            let node = graph.node(step.node);
            drain.reports.insert(step.node, blank_report(node));
            if step.action.is_work() {
                let deps: Vec<NodeId> = graph
                    .parents(step.node)
                    .into_iter()
                    .filter(|d| drain.actions.get(d).is_some_and(|a| a.is_work()))
                    .collect();
                let weight = weights.get(&node.name).copied().unwrap_or(fallback);
                drain.queue.add(step.node, deps, weight);
            } else if let Action::UpToDate(place) = step.action {
                drain.up_to_date(step.node, place);
            }
        }
        drain.queue.finish_setup();
        drain
    }

    fn report(&mut self, event: &Event) {
        (self.on_event)(event);
    }

    fn name(&self, id: NodeId) -> String {
        self.ctx.graph.node(id).name.clone()
    }

    fn up_to_date(&mut self, id: NodeId, place: Place) {
        self.summary.up_to_date += 1;
        if let Some(r) = self.reports.get_mut(&id) {
            r.outcome = NodeOutcome::UpToDate;
            r.place = Some(place);
        }
        let node = self.name(id);
        self.report(&Event::UpToDate { node, place });
    }

    fn check_cancel(&mut self) {
        if self.ctx.cancel.is_cancelled() && self.stop.is_none() {
            self.stop = Some("interrupted".into());
            self.summary.interrupted = true;
        }
    }

    /// The next node to start, unless the run is stopping.
    fn next_ready(&mut self) -> Option<(NodeId, Work)> {
        if self.stop.is_some() {
            return None;
        }
        let id = self.queue.next()?;
        let work = self.actions.get(&id).and_then(|a| a.work())?;
        self.running += 1;
        let node = self.name(id);
        self.report(&Event::Started { node, action: work });
        Some((id, work))
    }

    fn done(&mut self, id: NodeId, out: JobOutput, record: &mut Recorder<'_>) {
        self.running -= 1;
        let graph = self.ctx.graph;
        let node = graph.node(id);
        let Some(work) = self.actions.get(&id).and_then(|a| a.work()) else {
            return;
        };
        if let Err(error) = record(node, work, &out) {
            self.summary.record_errors += 1;
            self.report(&Event::RecordFailed {
                node: node.name.clone(),
                error,
            });
        }
        if let Some(r) = self.reports.get_mut(&id) {
            r.duration = Some(out.duration);
            r.registry_refs = out.registry_refs;
            r.cases = out.cases;
        }
        match out.result {
            Ok(()) => self.succeeded(id, work, out.duration),
            Err(e) => {
                let interrupted = e.is_interrupt();
                let message = crate::secrets::of(node).mask(&e.to_string()).into_owned();
                self.failed(id, work, message, interrupted, out.duration);
            }
        }
    }

    fn succeeded(&mut self, id: NodeId, work: Work, duration: Duration) {
        self.queue.done(&id);
        let outcome = match work {
            Work::Build => {
                self.summary.built += 1;
                NodeOutcome::Built
            }
            Work::Pull => {
                self.summary.pulled += 1;
                NodeOutcome::Pulled
            }
            Work::Push => {
                self.summary.pushed += 1;
                NodeOutcome::Pushed
            }
        };
        if let Some(r) = self.reports.get_mut(&id) {
            r.outcome = outcome;
        }
        let node = self.name(id);
        self.report(&Event::Finished {
            node,
            action: work,
            duration,
        });
    }

    fn failed(
        &mut self,
        id: NodeId,
        work: Work,
        error: String,
        interrupted: bool,
        duration: Duration,
    ) {
        let node = self.ctx.graph.node(id);
        let name = node.name.clone();
        if interrupted {
            self.summary.interrupted = true;
            self.stop.get_or_insert_with(|| "interrupted".into());
            // Counted and reported as not done, but the node's report says it had started.
            self.skip(id, "interrupted");
            if let Some(r) = self.reports.get_mut(&id) {
                r.outcome = NodeOutcome::Interrupted;
            }
        } else {
            self.summary.failed += 1;
            // Only a build writes a log: a failed pull or push points at none.
            let log = (work == Work::Build)
                .then(|| self.ctx.log_path(node).ok())
                .flatten()
                .filter(|p| p.is_file());
            if let Some(r) = self.reports.get_mut(&id) {
                r.outcome = NodeOutcome::Failed;
                r.error = Some(error.clone());
                r.log.clone_from(&log);
            }
            self.report(&Event::Failed {
                node: name.clone(),
                action: work,
                error,
                log,
                duration,
            });
        }
        let because = if interrupted {
            "interrupted".to_string()
        } else {
            format!("{name} failed")
        };
        for d in self.queue.fail(&id) {
            self.skip(d, &because);
        }
        if !self.keep_going && !interrupted {
            self.stop.get_or_insert_with(|| {
                format!("stopped after {name} failed (use -k to keep going)")
            });
        }
    }

    fn skip(&mut self, id: NodeId, because: &str) {
        if !self.skipped.insert(id) {
            return;
        }
        self.summary.skipped += 1;
        if let Some(r) = self.reports.get_mut(&id) {
            r.outcome = NodeOutcome::Skipped;
            r.error = Some(because.to_string());
        }
        let node = self.name(id);
        self.report(&Event::Skipped {
            node,
            because: because.to_string(),
        });
    }

    /// Whatever was never started is skipped, with the reason the run stopped.
    fn skip_the_rest(&mut self) {
        let because = self.stop.clone().unwrap_or_else(|| "not reached".into());
        while let Some(id) = self.queue.next() {
            let dependents = self.queue.fail(&id);
            for d in std::iter::once(id).chain(dependents) {
                self.skip(d, &because);
            }
        }
    }

    fn finish(mut self) -> RunReport {
        self.summary.wall = self.started.elapsed();
        let summary = self.summary.clone();
        self.report(&Event::Summary(summary.clone()));
        let mut reports = std::mem::take(&mut self.reports);
        RunReport {
            summary,
            nodes: self
                .order
                .iter()
                .filter_map(|id| reports.remove(id))
                .collect(),
        }
    }
}

fn blank_report(node: &Node) -> NodeReport {
    NodeReport {
        name: node.name.clone(),
        key: node.key.hex(),
        outcome: NodeOutcome::Skipped,
        place: None,
        duration: None,
        registry_refs: Vec::new(),
        error: None,
        log: None,
        cases: Vec::new(),
    }
}

/// The weight of a node never built: the median of known ones, else 10 s.
pub fn default_weight(weights: &HashMap<String, Duration>) -> Duration {
    let mut known: Vec<Duration> = weights.values().copied().collect();
    known.sort();
    known
        .get(known.len() / 2)
        .copied()
        .unwrap_or(Duration::from_secs(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_weight_is_the_median() {
        let w: HashMap<String, Duration> = [("a", 1), ("b", 5), ("c", 9)]
            .iter()
            .map(|(n, s)| (n.to_string(), Duration::from_secs(*s)))
            .collect();
        assert_eq!(default_weight(&w), Duration::from_secs(5));
        assert_eq!(default_weight(&HashMap::new()), Duration::from_secs(10));
    }
}
