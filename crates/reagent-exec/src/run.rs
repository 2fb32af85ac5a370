//! The run loop: hand ready nodes to workers in priority order, collect their
//! events in one place, stop cleanly on failure or interruption.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reagent_graph::NodeId;
use reagent_schedule::Queue;

use crate::events::{Event, PlannedStep, Summary};
use crate::job::JobContext;
use crate::plan::{Action, Place, Plan};
use crate::progress::{default_weight, Reporter};

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Workers.
    pub jobs: usize,
    /// Keep building independent branches after a failure.
    pub keep_going: bool,
}

enum Msg {
    Event(Event),
    Done(Done),
}

/// A worker's report that a node's work ended.
struct Done {
    id: NodeId,
    duration: Duration,
    result: Result<(), String>,
    interrupted: bool,
    log: Option<std::path::PathBuf>,
}

/// The plan as events, parents first.
pub fn plan_event(ctx: &JobContext<'_>, plan: &Plan) -> Event {
    let graph = &ctx.project.graph;
    Event::Plan {
        steps: plan
            .steps
            .iter()
            .map(|s| PlannedStep {
                node: graph.node(s.node).name.clone(),
                action: s.action.word().to_string(),
                reason: crate::secrets::of(graph.node(s.node))
                    .mask(&match &s.action {
                        Action::Build(reason) => reason.to_string(),
                        Action::UpToDate(Place::Local) => "image exists locally".into(),
                        Action::UpToDate(Place::Registry) => "image is in the registry".into(),
                        Action::Pull => "in the registry; a node to build needs it".into(),
                        Action::Push => {
                            "built locally; the registry lacks it or some of its tags".into()
                        }
                    })
                    .into_owned(),
            })
            .collect(),
    }
}

/// Execute `plan`, reporting to `reporter`. Returns the summary (also reported).
pub fn run(
    ctx: &JobContext<'_>,
    plan: &Plan,
    opts: &RunOptions,
    reporter: &mut dyn Reporter,
) -> Summary {
    let started = Instant::now();
    let graph = &ctx.project.graph;
    let mut summary = Summary::default();
    reporter.report(&plan_event(ctx, plan));

    let actions: HashMap<NodeId, &Action> =
        plan.steps.iter().map(|s| (s.node, &s.action)).collect();
    let weights: HashMap<String, Duration> = ctx.log.durations();
    let fallback = default_weight(&weights);
    let mut queue: Queue<NodeId> = Queue::new();
    for step in &plan.steps {
        let node = graph.node(step.node);
        if step.action.is_work() {
            let deps = node
                .deps
                .iter()
                .copied()
                .filter(|d| actions.get(d).is_some_and(|a| a.is_work()));
            queue.add(
                step.node,
                deps,
                weights.get(&node.name).copied().unwrap_or(fallback),
            );
        } else {
            summary.up_to_date += 1;
            let place = if step.action == Action::UpToDate(Place::Registry) {
                "registry"
            } else {
                "local"
            };
            reporter.report(&Event::UpToDate {
                node: node.name.clone(),
                place: place.into(),
            });
        }
    }
    queue.finish_setup();

    let (work_tx, work_rx) = mpsc::channel::<NodeId>();
    let work_rx = Mutex::new(work_rx);
    let (msg_tx, msg_rx) = mpsc::channel::<Msg>();
    let jobs = opts.jobs.max(1);

    std::thread::scope(|s| {
        for _ in 0..jobs {
            let msg_tx = msg_tx.clone();
            let work_rx = &work_rx;
            let actions = &actions;
            s.spawn(move || loop {
                let next = work_rx.lock().map(|rx| rx.recv());
                let Ok(Ok(id)) = next else { break };
                let node = graph.node(id);
                let tx = msg_tx.clone();
                let emit = move |e: Event| {
                    let _ = tx.send(Msg::Event(e));
                };
                let (duration, result) = ctx.run(node, actions[&id], &emit);
                let interrupted = result.as_ref().err().is_some_and(|e| e.is_interrupt());
                // Only a build writes a log: a failed pull or push points at none.
                let log = result
                    .is_err()
                    .then(|| ctx.log_path(node))
                    .filter(|p| p.is_file());
                let _ = msg_tx.send(Msg::Done(Done {
                    id,
                    duration,
                    result: result
                        .map_err(|e| crate::secrets::of(node).mask(&e.to_string()).into_owned()),
                    interrupted,
                    log,
                }));
            });
        }
        drop(msg_tx);

        let mut running = 0usize;
        let mut stop_reason: Option<String> = None;
        let mut skipped: HashSet<NodeId> = HashSet::new();
        loop {
            if ctx.cancel.is_cancelled() && stop_reason.is_none() {
                stop_reason = Some("interrupted".into());
                summary.interrupted = true;
            }
            while stop_reason.is_none() && running < jobs {
                let Some(id) = queue.next() else { break };
                let node = graph.node(id);
                reporter.report(&Event::Started {
                    node: node.name.clone(),
                    action: actions[&id].word().into(),
                });
                if work_tx.send(id).is_err() {
                    break;
                }
                running += 1;
            }
            if running == 0 {
                break;
            }
            match msg_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Event(e)) => reporter.report(&e),
                Ok(Msg::Done(Done {
                    id,
                    duration,
                    result,
                    interrupted,
                    log,
                })) => {
                    running -= 1;
                    let node = graph.node(id);
                    let action = actions[&id];
                    match result {
                        Ok(()) => {
                            queue.done(&id);
                            match action {
                                Action::Build(_) => summary.built += 1,
                                Action::Pull => summary.pulled += 1,
                                Action::Push => summary.pushed += 1,
                                Action::UpToDate(_) => summary.up_to_date += 1,
                            }
                            reporter.report(&Event::Finished {
                                node: node.name.clone(),
                                action: action.word().into(),
                                duration,
                            });
                        }
                        Err(error) => {
                            if interrupted {
                                summary.interrupted = true;
                                stop_reason.get_or_insert_with(|| "interrupted".into());
                                summary.skipped += 1;
                                reporter.report(&Event::Skipped {
                                    node: node.name.clone(),
                                    because: "interrupted".into(),
                                });
                            } else {
                                summary.failed += 1;
                                reporter.report(&Event::Failed {
                                    node: node.name.clone(),
                                    action: action.word().into(),
                                    error,
                                    log,
                                    duration,
                                });
                            }
                            let because = if interrupted {
                                "interrupted".to_string()
                            } else {
                                format!("{} failed", node.name)
                            };
                            let dependents = queue.fail(&id);
                            for d in dependents {
                                if skipped.insert(d) {
                                    summary.skipped += 1;
                                    reporter.report(&Event::Skipped {
                                        node: graph.node(d).name.clone(),
                                        because: because.clone(),
                                    });
                                }
                            }
                            if !opts.keep_going && !interrupted {
                                stop_reason.get_or_insert_with(|| {
                                    format!(
                                        "stopped after {} failed (use -k to keep going)",
                                        node.name
                                    )
                                });
                            }
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        drop(work_tx);
        // Whatever was never started.
        let because = stop_reason.unwrap_or_else(|| "not reached".into());
        while let Some(id) = queue.next() {
            let dependents = queue.fail(&id);
            for d in std::iter::once(id).chain(dependents) {
                if skipped.insert(d) {
                    summary.skipped += 1;
                    reporter.report(&Event::Skipped {
                        node: graph.node(d).name.clone(),
                        because: because.clone(),
                    });
                }
            }
        }
    });
    summary.wall = started.elapsed();
    reporter.report(&Event::Summary(summary.clone()));
    summary
}
