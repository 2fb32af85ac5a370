//! Planning and running projects against the recording `FakeBackend`: order,
//! parallelism, priorities, failures, cancellation, the registry, `--force`
//! and the reasons a plan gives.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{
    call_at, family, keep_going, kinds, pushes, sorted, stop_at_failure, wait_for, Env, Fixture,
    REGISTRY,
};
use reagent_backend::fake::{Call, FakeBackend};
use reagent_backend::{Backend, BackendError, Cancel, LABEL_KEY};
use reagent_exec::events::{Event, Work};
use reagent_exec::plan::{Action, Place, Reason, StepKind};
use reagent_exec::run::plan_event;
use reagent_exec::session::SessionError;
use reagent_state::{Outcome, Record};

const MS: Duration = Duration::from_millis(1);

/// A record of a successful build of `node` that took `secs`, for `durations()`.
fn timed(node: &str, secs: u64) -> Record {
    Record::new(
        node,
        "0".repeat(64),
        "",
        serde_json::Value::Null,
        1_000_000,
        1_000_000 + secs * 1000,
        Outcome::Built,
    )
}

// ---------------------------------------------------------------- first run, second run

#[test]
fn first_run_builds_every_node_parents_first() {
    let f = family();
    let env = Env::new(&f);
    let plan = env.plan_all();
    assert_eq!(plan.count(StepKind::Build), 4, "{plan:?}");
    let (summary, rec) = env.run(&plan, 2);

    assert!(summary.ok(), "{summary:?}");
    assert_eq!(summary.built, 4);
    assert_eq!(sorted(&env.fake.built()), ["app", "base", "tool", "web"]);
    // A child starts only after its parent finished.
    for (parent, child) in [("base", "app"), ("base", "tool"), ("app", "web")] {
        assert!(
            rec.finished_at(parent) < rec.started_at(child),
            "{child} started before {parent} finished: {:?}",
            rec.events
        );
    }
    // Every image carries its node's full key, and its exact and moving tags.
    for name in ["base", "app", "tool", "web"] {
        let image = env
            .fake
            .image(&format!("localhost/{name}:{}", env.key16(name)))
            .unwrap_or_else(|| panic!("no image for {name}"));
        assert_eq!(image.labels[LABEL_KEY], env.key(name));
        assert!(image.names.contains(&format!("localhost/{name}:latest")));
    }
    assert!(env
        .fake
        .image("localhost/app:stable")
        .is_some_and(|i| i.labels[LABEL_KEY] == env.key("app")));
    // Each was built (not pulled or pushed).
    assert!(rec.events.iter().all(|e| match e {
        Event::Started { action, .. } | Event::Finished { action, .. } => *action == Work::Build,
        _ => true,
    }));
    // The plan event came first, the summary last.
    assert!(matches!(rec.events.first(), Some(Event::Plan { .. })));
    assert!(matches!(rec.events.last(), Some(Event::Summary(s)) if *s == summary));
}

#[test]
fn second_plan_is_all_up_to_date_and_runs_no_build() {
    let f = family();
    let env = Env::new(&f);
    env.build_all();
    let builds_before = env.fake.built().len();

    let plan = env.plan_all();
    assert_eq!(plan.steps.len(), 4);
    for step in &plan.steps {
        assert_eq!(step.action, Action::UpToDate(Place::Local), "{step:?}");
    }
    let (summary, rec) = env.run(&plan, 2);
    assert!(summary.ok());
    assert_eq!(summary.built, 0);
    assert_eq!(summary.up_to_date, 4);
    assert_eq!(env.fake.built().len(), builds_before, "no new build");
    assert!(rec.started().is_empty());
    let up: Vec<_> = rec
        .events
        .iter()
        .filter(|e| matches!(e, Event::UpToDate { place, .. } if *place == Place::Local))
        .collect();
    assert_eq!(up.len(), 4);
}

// ---------------------------------------------------------------- -j

/// base, then `n` children FROM base.
fn wide(n: usize) -> Fixture {
    let f = Fixture::new("");
    f.root_image("01-base");
    for i in 0..n {
        f.child(&format!("leaf{i}"), "base");
    }
    f
}

#[test]
fn jobs_bound_concurrency() {
    for jobs in [1, 2, 3] {
        let f = wide(6);
        let env = Env::new(&f);
        let leaves: Vec<String> = (0..6).map(|i| format!("leaf{i}")).collect();
        // Every leaf build waits at the fake's gate: the workers fill up and stay full.
        for leaf in &leaves {
            env.fake.hold_build(leaf);
        }
        let (filled, in_flight, started, summary) = std::thread::scope(|s| {
            let watcher = s.spawn(|| {
                // base, then `jobs` leaves, all of them held.
                let filled = wait_for(|| {
                    env.fake.built().len() == 1 + jobs && env.fake.builds_in_flight() == jobs
                });
                let seen = (env.fake.builds_in_flight(), env.fake.built().len());
                // Release whatever happened, so a failure cannot hang the run.
                for leaf in &leaves {
                    env.fake.release_build(leaf);
                }
                (filled, seen)
            });
            let (summary, _) = env.run(&env.plan_all(), jobs);
            let (filled, (in_flight, started)) = watcher.join().unwrap();
            (filled, in_flight, started, summary)
        });
        assert!(filled, "jobs={jobs}: the workers never all held a build");
        // With every worker stuck on a held build, no further build began.
        assert_eq!(in_flight, jobs, "jobs={jobs}");
        assert_eq!(started, 1 + jobs, "jobs={jobs}");
        assert!(summary.ok(), "{summary:?}");
        assert_eq!(summary.built, 7);
        let peak = env.fake.peak_concurrent_builds();
        assert!(peak <= jobs, "jobs={jobs} but {peak} builds ran at once");
        assert_eq!(peak, jobs, "6 held leaves should fill {jobs} workers");
    }
}

#[test]
fn two_workers_run_two_builds_at_once() {
    let f = wide(4);
    let env = Env::new(&f);
    let leaves: Vec<String> = (0..4).map(|i| format!("leaf{i}")).collect();
    for leaf in &leaves {
        env.fake.hold_build(leaf);
    }
    let (waves, rec) = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut waves = Vec::new();
            // First wave: two leaves held at once, the other two not begun.
            let two = wait_for(|| env.fake.built().len() == 3 && env.fake.builds_in_flight() == 2);
            waves.push((two, env.fake.built(), env.fake.builds_in_flight()));
            // Letting one go frees its worker for a third leaf, while the
            // second is still held.
            let first = env.fake.built().get(1).cloned().unwrap_or_default();
            env.fake.release_build(&first);
            let three =
                wait_for(|| env.fake.built().len() == 4 && env.fake.builds_in_flight() == 2);
            waves.push((three, env.fake.built(), env.fake.builds_in_flight()));
            for leaf in &leaves {
                env.fake.release_build(leaf);
            }
            (waves, first)
        });
        let (summary, rec) = env.run(&env.plan_all(), 2);
        assert!(summary.ok(), "{summary:?}");
        (watcher.join().unwrap(), rec)
    });
    let (waves, first) = waves;
    let (two, built, in_flight) = &waves[0];
    assert!(two, "two leaves never ran at once: {built:?}");
    assert_eq!((built.len(), *in_flight), (3, 2), "{built:?}");
    let (three, built, in_flight) = &waves[1];
    assert!(three, "no third leaf after one was released: {built:?}");
    assert_eq!((built.len(), *in_flight), (4, 2), "{built:?}");
    // The third leaf started only once the released one had finished.
    let third = &built[3];
    assert!(
        rec.finished_at(&first) < rec.started_at(third),
        "{third} started before {first} finished: {:?}",
        rec.events
    );
    // Two builds overlapped, never more. (How much wall time that saves is
    // the benchmark's business, not a test's.)
    assert_eq!(env.fake.peak_concurrent_builds(), 2);
}

// ---------------------------------------------------------------- priorities

/// Three independent roots `alpha`, `beta` and a chain `zeta → zeta2 → zeta3`.
fn chain_and_singles() -> Fixture {
    let f = Fixture::new("");
    f.root_image("alpha")
        .root_image("beta")
        .root_image("zeta")
        .child("zeta2", "zeta")
        .child("zeta3", "zeta2");
    f
}

#[test]
fn longest_remaining_path_starts_first() {
    let f = chain_and_singles();
    let env = Env::new(&f);
    // The chain is 3 × 2 s = 6 s; alpha alone 5 s, beta 1 s.
    for (node, secs) in [
        ("alpha", 5),
        ("beta", 1),
        ("zeta", 2),
        ("zeta2", 2),
        ("zeta3", 2),
    ] {
        env.append(&timed(node, secs));
    }
    let (summary, rec) = env.run(&env.plan_all(), 1);
    assert!(summary.ok());
    let started = rec.started();
    assert_eq!(
        started[0], "zeta",
        "the chain's head goes first: {started:?}"
    );
    // Then alpha (5 s) beats what is left of the chain (4 s), which beats beta.
    assert_eq!(started, ["zeta", "alpha", "zeta2", "zeta3", "beta"]);
    assert_eq!(env.fake.built(), started, "the backend saw the same order");
}

#[test]
fn recorded_durations_not_node_counts_decide() {
    let f = chain_and_singles();
    let env = Env::new(&f);
    // Now alpha (7 s) is longer than the whole chain (3 × 2 s).
    for (node, secs) in [
        ("alpha", 7),
        ("beta", 1),
        ("zeta", 2),
        ("zeta2", 2),
        ("zeta3", 2),
    ] {
        env.append(&timed(node, secs));
    }
    let (_, rec) = env.run(&env.plan_all(), 1);
    assert_eq!(rec.started()[0], "alpha", "{:?}", rec.started());
    assert_eq!(rec.started()[1], "zeta");
}

// ---------------------------------------------------------------- failures

/// `bad → bad-child` (the longest path, so it goes first), and roots ok1..ok3.
fn failing() -> Fixture {
    let f = Fixture::new("");
    f.root_image("bad")
        .child("bad-child", "bad")
        .root_image("ok1")
        .root_image("ok2")
        .root_image("ok3");
    f
}

#[test]
fn failure_stops_new_work_and_skips_the_rest() {
    let f = failing();
    let env = Env::new(&f);
    env.fake.fail_build("bad", "RUN exited 1");
    let plan = env.plan_all();
    let (summary, rec) = env.run(&plan, 1);

    assert_eq!(
        env.fake.built(),
        ["bad"],
        "nothing started after the failure"
    );
    assert_eq!(rec.started(), ["bad"]);
    assert_eq!(rec.failed(), ["bad"]);
    assert_eq!(summary.failed, 1);
    assert_eq!(summary.built, 0);
    assert_eq!(summary.skipped, 4);
    assert!(!summary.ok());
    let skipped: Vec<String> = rec.skipped().into_iter().map(|(n, _)| n).collect();
    assert_eq!(sorted(&skipped), ["bad-child", "ok1", "ok2", "ok3"]);
    // The failure names its log, which holds the error.
    let log = rec
        .events
        .iter()
        .find_map(|e| match e {
            Event::Failed { log, error, .. } => {
                assert!(error.contains("RUN exited 1"), "{error}");
                log.clone()
            }
            _ => None,
        })
        .expect("a Failed event with a log");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("RUN exited 1"), "{text}");
    // The attempt is in the build record.
    assert!(env
        .records()
        .iter()
        .any(|r| r.node == "bad" && r.outcome == Outcome::Failed));
}

#[test]
fn failure_lets_running_builds_finish_but_starts_nothing_new() {
    let f = failing();
    let env = Env::new(&f);
    env.fake.fail_build("bad", "boom");
    // The ok builds wait at the gate until bad's failure has been reported.
    let oks = ["ok1", "ok2", "ok3"];
    for n in oks {
        env.fake.hold_build(n);
    }
    let mut held_when_bad_failed = None;
    let (report, rec) = env.run_observed(
        &env.plan_all(),
        stop_at_failure(2),
        None,
        &Cancel::new(),
        |e| {
            if matches!(e, Event::Failed { node, .. } if node == "bad") {
                // The other worker's ok build is running (held) as bad fails.
                held_when_bad_failed = Some(wait_for(|| env.fake.builds_in_flight() == 1));
                for n in oks {
                    env.fake.release_build(n);
                }
            }
        },
    );
    let summary = report.summary;
    assert_eq!(held_when_bad_failed, Some(true), "{:?}", rec.events);
    // bad and one ok started together; the ok one finished after bad failed;
    // nothing else started.
    assert_eq!(rec.started().len(), 2, "{:?}", rec.started());
    assert_eq!(rec.started()[0], "bad");
    let ok = rec.started()[1].clone();
    assert_eq!(rec.finished(), [ok.as_str()]);
    let failed_at = rec
        .position(|e| matches!(e, Event::Failed { node, .. } if node == "bad"))
        .unwrap();
    assert!(failed_at < rec.finished_at(&ok), "{:?}", rec.events);
    assert_eq!(env.fake.built().len(), 2);
    assert_eq!(summary.failed, 1);
    assert_eq!(summary.built, 1);
    assert_eq!(summary.skipped, 3);
    assert!(!summary.ok());
}

#[test]
fn keep_going_builds_independent_branches_and_skips_exactly_the_dependents() {
    // base → app → web → site; base → tool; solo.
    let f = Fixture::new("");
    f.root_image("01-base")
        .child("app", "base")
        .child("web", "app")
        .child("site", "web")
        .child("tool", "base")
        .root_image("solo");
    let env = Env::new(&f);
    env.fake.fail_build("app", "RUN exited 2");
    let (summary, rec) = env.run_with(&env.plan_all(), keep_going(1), None, &Cancel::new());

    assert_eq!(sorted(&env.fake.built()), ["app", "base", "solo", "tool"]);
    assert_eq!(sorted(&rec.finished()), ["base", "solo", "tool"]);
    assert_eq!(rec.failed(), ["app"]);
    let skipped = rec.skipped();
    assert_eq!(
        sorted(&skipped.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()),
        ["site", "web"]
    );
    assert!(
        skipped.iter().all(|(_, why)| why == "app failed"),
        "{skipped:?}"
    );
    assert_eq!(summary.built, 3);
    assert_eq!(summary.failed, 1);
    assert_eq!(summary.skipped, 2);
    assert!(!summary.ok());
}

// ---------------------------------------------------------------- cancellation

#[test]
fn cancel_stops_the_running_build_and_the_next_run_finishes_the_rest() {
    // base → slow → after; base → side.
    let f = Fixture::new("");
    f.root_image("01-base")
        .child("slow", "base")
        .child("after", "slow")
        .child("side", "base");
    let env = Env::new(&f);
    // slow's build ends only when cancelled: the run can only return through the cancel.
    env.fake.block_build("slow");
    let cancel = Cancel::new();

    // Cancel once side is done and slow's build is blocked; note how many
    // events had been reported by then.
    let mut seen = 0;
    let mut cancelled_after = None;
    let (report, rec) = env.run_observed(&env.plan_all(), keep_going(2), None, &cancel, |e| {
        seen += 1;
        if matches!(e, Event::Finished { node, .. } if node == "side") {
            let blocked = wait_for(|| {
                env.fake.built().contains(&"slow".to_string()) && env.fake.builds_in_flight() == 1
            });
            cancel.cancel();
            cancelled_after = Some((seen, blocked));
        }
    });
    let summary = report.summary;
    let (at, blocked) = cancelled_after.expect("side never finished");
    assert!(blocked, "slow's build was not running: {:?}", rec.events);

    assert!(summary.interrupted, "{summary:?}");
    assert!(!summary.ok());
    assert_eq!(summary.failed, 0, "an interruption is not a failure");
    assert_eq!(sorted(&rec.finished()), ["base", "side"]);
    assert!(!rec.started().contains(&"after".to_string()));
    // After the cancel nothing started; after was skipped as interrupted, and
    // the summary came last.
    let after_cancel = &rec.events[at..];
    assert!(
        after_cancel
            .iter()
            .all(|e| !matches!(e, Event::Started { .. } | Event::Finished { .. })),
        "{after_cancel:?}"
    );
    assert!(after_cancel.iter().any(
        |e| matches!(e, Event::Skipped { node, because } if node == "after" && because == "interrupted")
    ));
    assert!(matches!(rec.events.last(), Some(Event::Summary(_))));
    let records = env.records();
    assert!(
        records
            .iter()
            .any(|r| r.node == "slow" && r.outcome == Outcome::Interrupted),
        "{records:?}"
    );

    // A new run (same storage, builds no longer blocked) does only what is unfinished.
    let next = FakeBackend::new();
    for image in env.fake.images().unwrap() {
        let names: Vec<&str> = image.names.iter().map(String::as_str).collect();
        next.add_image(&names, image.labels.clone());
    }
    let env2 = Env::with_fake(&f, next);
    let plan = env2.plan_all();
    assert_eq!(env2.action(&plan, "base"), &Action::UpToDate(Place::Local));
    assert_eq!(env2.action(&plan, "side"), &Action::UpToDate(Place::Local));
    assert_eq!(
        env2.action(&plan, "slow"),
        &Action::Build(Reason::NeverBuilt)
    );
    let (summary, _) = env2.run(&plan, 2);
    assert!(summary.ok(), "{summary:?}");
    assert_eq!(env2.fake.built(), ["slow", "after"]);
}

#[test]
fn cancel_before_start_builds_nothing() {
    let f = family();
    let env = Env::new(&f);
    let cancel = Cancel::new();
    cancel.cancel();
    let (summary, rec) = env.run_with(&env.plan_all(), keep_going(2), None, &cancel);
    assert!(summary.interrupted);
    assert!(env.fake.built().is_empty());
    assert!(rec.started().is_empty());
    assert_eq!(summary.skipped, 4);
}

// ---------------------------------------------------------------- registry

#[test]
fn build_pushes_the_key_tag_before_the_moving_tags() {
    let f = family();
    let env = Env::new(&f);
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    // Planning asked the registry about every node.
    let asked = env
        .fake
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::RemoteExists { .. }))
        .count();
    assert_eq!(asked, 4);
    let (summary, _) = env.run_with(&plan, stop_at_failure(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");

    let pushes = pushes(&env.fake);
    for name in ["base", "app", "tool", "web"] {
        let mine: Vec<&String> = pushes
            .iter()
            .filter(|p| p.starts_with(&format!("{REGISTRY}/{name}:")))
            .collect();
        assert_eq!(mine[0], &env.remote_ref(name), "{name}: {pushes:?}");
        assert!(mine.contains(&&format!("{REGISTRY}/{name}:latest")));
    }
    let app: Vec<&String> = pushes
        .iter()
        .filter(|p| p.starts_with(&format!("{REGISTRY}/app:")))
        .collect();
    assert_eq!(
        app,
        [
            &env.remote_ref("app"),
            &format!("{REGISTRY}/app:latest"),
            &format!("{REGISTRY}/app:stable")
        ]
    );
    // Each push happens after that node's build.
    let built_app = call_at(
        &env.fake,
        |c| matches!(c, Call::Build { name, .. } if name == "app"),
    );
    let pushed_app = call_at(
        &env.fake,
        |c| matches!(c, Call::Push { remote, .. } if *remote == env.remote_ref("app")),
    );
    assert!(built_app < pushed_app);
    assert!(env.fake.remote_refs().contains(&env.remote_ref("web")));
}

#[test]
fn registry_only_nodes_are_up_to_date_and_not_pulled() {
    let f = family();
    let env = Env::new(&f);
    for name in ["base", "app", "tool", "web"] {
        let labels = BTreeMap::from([(LABEL_KEY.to_string(), env.key(name))]);
        env.fake.add_remote(&env.remote_ref(name), labels);
    }
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    for step in &plan.steps {
        assert_eq!(step.action, Action::UpToDate(Place::Registry), "{step:?}");
    }
    let (summary, rec) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok());
    assert_eq!(summary.up_to_date, 4);
    assert!(env.fake.calls().iter().all(|c| !matches!(
        c,
        Call::Pull { .. } | Call::Build { .. } | Call::Push { .. }
    )));
    assert!(rec.events.iter().any(
        |e| matches!(e, Event::UpToDate { node, place } if node == "base" && *place == Place::Registry)
    ));
}

#[test]
fn registry_parent_is_pulled_before_the_child_that_needs_it_builds() {
    let f = family();
    let env = Env::new(&f);
    // base and tool are in the registry; app and web are nowhere.
    for name in ["base", "tool"] {
        let labels = BTreeMap::from([(LABEL_KEY.to_string(), env.key(name))]);
        env.fake.add_remote(&env.remote_ref(name), labels);
    }
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    assert_eq!(env.action(&plan, "base"), &Action::Pull);
    assert_eq!(
        env.action(&plan, "tool"),
        &Action::UpToDate(Place::Registry)
    );
    assert!(matches!(env.action(&plan, "app"), Action::Build(_)));
    assert!(matches!(env.action(&plan, "web"), Action::Build(_)));

    let (summary, _) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    assert_eq!(summary.pulled, 1);
    assert_eq!(summary.built, 2);
    let pull = call_at(
        &env.fake,
        |c| matches!(c, Call::Pull { remote, .. } if *remote == env.remote_ref("base")),
    )
    .expect("base pulled");
    let build = call_at(
        &env.fake,
        |c| matches!(c, Call::Build { name, .. } if name == "app"),
    )
    .expect("app built");
    assert!(pull < build);
    // The pull gave base its exact local name; tool was left in the registry.
    assert!(env
        .fake
        .image(&format!("localhost/base:{}", env.key16("base")))
        .is_some());
    assert!(env
        .fake
        .calls()
        .iter()
        .all(|c| !matches!(c, Call::Pull { remote, .. } if remote.contains("/tool:"))));
    assert!(env
        .records()
        .iter()
        .any(|r| r.node == "base" && r.outcome == Outcome::Pulled));
}

#[test]
fn local_only_nodes_are_pushed_not_rebuilt() {
    let f = family();
    let env = Env::new(&f);
    env.build_all();
    let builds = env.fake.built().len();
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    assert!(
        plan.steps.iter().all(|s| s.action == Action::Push),
        "{plan:?}"
    );

    let (summary, _) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    assert_eq!(summary.pushed, 4);
    assert_eq!(summary.built, 0);
    assert_eq!(env.fake.built().len(), builds, "no build");
    let remote = env.fake.remote_refs();
    for name in ["base", "app", "tool", "web"] {
        assert!(remote.contains(&env.remote_ref(name)), "{name}: {remote:?}");
    }
    // Now everything is in both places: up to date.
    let again = env.plan(&env.all(), &[], Some(REGISTRY));
    assert!(again
        .steps
        .iter()
        .all(|s| s.action == Action::UpToDate(Place::Local)));
}

#[test]
fn down_registry_fails_the_plan_without_hanging() {
    let f = family();
    let env = Env::new(&f);
    env.fake.set_remote_down(true);
    let err = env.try_plan(&env.all(), &[], Some(REGISTRY)).unwrap_err();
    assert!(
        matches!(err, SessionError::Backend(BackendError::Unreachable(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("registry unreachable"), "{err}");
    // It gave up rather than retrying: no node was asked about twice.
    let mut asked: Vec<String> = env
        .fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::RemoteExists { remote } => Some(remote),
            _ => None,
        })
        .collect();
    let lookups = asked.len();
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), lookups, "a lookup was retried: {asked:?}");
    assert!(lookups <= 4, "{lookups} lookups for 4 nodes");
    assert!(env.fake.built().is_empty());
}

// ---------------------------------------------------------------- --force

#[test]
fn forced_node_is_rebuilt_but_its_children_are_not() {
    let f = family();
    let env = Env::new(&f);
    env.build_all();
    let before = env.fake.built().len();

    let plan = env.plan(&env.all(), &["app"], None);
    assert_eq!(env.action(&plan, "app"), &Action::Build(Reason::Forced));
    for name in ["base", "web", "tool"] {
        assert_eq!(
            env.action(&plan, name),
            &Action::UpToDate(Place::Local),
            "{name}"
        );
    }
    let (summary, _) = env.run(&plan, 2);
    assert!(summary.ok());
    assert_eq!(summary.built, 1);
    assert_eq!(&env.fake.built()[before..], ["app"]);
    // The rebuilt image has the same key, so web's key still matches.
    assert_eq!(
        env.fake.image("localhost/app:latest").unwrap().labels[LABEL_KEY],
        env.key("app")
    );
    assert!(env.plan_all().steps.iter().all(|s| !s.action.is_work()));
}

// ---------------------------------------------------------------- reasons

#[test]
fn never_built_nodes_say_so() {
    let f = family();
    let env = Env::new(&f);
    let plan = env.plan_all();
    for step in &plan.steps {
        assert_eq!(step.action, Action::Build(Reason::NeverBuilt));
    }
    let Event::Plan { steps } = plan_event(&env.project.graph, &plan) else {
        panic!("not a plan event")
    };
    assert_eq!(steps.len(), 4);
    assert!(steps
        .iter()
        .all(|s| s.reason == "never built" && s.action == StepKind::Build));
    // Parents first.
    assert_eq!(steps[0].node, "base");
}

#[test]
fn editing_a_context_file_explains_the_child_and_grandchild() {
    let f = family();
    let mut env = Env::new(&f);
    env.build_all();
    f.write("images/app/app.conf", "port=8080\n");
    // A new node appears at the same time.
    f.child("extra", "base");
    env.reload(&f);

    let plan = env.plan_all();
    let app = env.action(&plan, "app");
    assert!(matches!(app, Action::Build(Reason::Changed(_))), "{app:?}");
    assert_eq!(
        kinds(&env, &plan),
        [
            ("base", StepKind::UpToDate),
            ("tool", StepKind::UpToDate),
            ("app", StepKind::Build),
            ("web", StepKind::Build),
            ("extra", StepKind::Build),
        ]
        .into_iter()
        .map(|(n, w)| (n.to_string(), w))
        .collect()
    );
    let reason = |name: &str| match env.action(&plan, name) {
        Action::Build(r) => r.to_string(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(reason("app"), "context file app.conf changed");
    assert_eq!(reason("web"), "parent app rebuilt");
    assert_eq!(reason("extra"), "never built");

    let (summary, _) = env.run(&plan, 2);
    assert!(summary.ok());
    assert_eq!(summary.built, 3);
    assert_eq!(summary.up_to_date, 2);
}

#[test]
fn missing_image_with_a_recorded_key_says_missing() {
    let f = family();
    let env = Env::new(&f);
    env.build_all();
    env.fake.clear_images();
    let plan = env.plan_all();
    assert_eq!(env.action(&plan, "web"), &Action::Build(Reason::Missing));
    assert_eq!(
        Reason::Missing.to_string(),
        "image missing (built before with this key)"
    );
}

// ---------------------------------------------------------------- what a job hands the backend

#[test]
fn references_to_other_nodes_are_pinned_to_their_exact_build() {
    let f = family();
    let env = Env::new(&f);
    let (_, rec) = env.run(&env.plan_all(), 1);
    let tmp = env.state_dir.join("tmp");
    let read = |name: &str| {
        std::fs::read_to_string(tmp.join(format!("{name}-{}.Containerfile", env.key16(name))))
            .unwrap()
    };
    let base = format!("localhost/base:{}", env.key16("base"));
    assert!(
        read("tool").starts_with(&format!("FROM {base}\n")),
        "{}",
        read("tool")
    );
    assert!(
        read("app").starts_with(&format!("FROM {base}\n")),
        "{}",
        read("app")
    );
    assert!(read("base").starts_with("FROM scratch\n"));
    // Each build reported its STEP, and its request carried the three labels.
    for name in ["base", "app", "tool", "web"] {
        assert!(rec
            .events
            .iter()
            .any(|e| matches!(e, Event::Step { node, n: 1, of: 1, .. } if node == name)));
    }
    let Some(Call::Build { labels, tags, .. }) = env
        .fake
        .calls()
        .into_iter()
        .find(|c| matches!(c, Call::Build { name, .. } if name == "web"))
    else {
        panic!("web not built")
    };
    assert_eq!(labels[LABEL_KEY], env.key("web"));
    assert_eq!(labels["org.reagent.node"], "web");
    // The key tag first, then the moving tags, all given to the build itself.
    assert_eq!(
        tags,
        [
            format!("localhost/web:{}", env.key16("web")),
            "localhost/web:latest".to_string()
        ]
    );
}

// ------------------------------------------ once bugs, now fixed

#[test]
fn failed_event_reports_how_long_the_build_ran() {
    let f = Fixture::new("");
    f.root_image("bad");
    let env = Env::new(&f);
    env.fake.fail_build("bad", "RUN exited 1");
    env.fake.set_build_duration("bad", 100 * MS);
    let (_, rec) = env.run(&env.plan_all(), 1);
    let duration = rec
        .events
        .iter()
        .find_map(|e| match e {
            Event::Failed { duration, .. } => Some(*duration),
            _ => None,
        })
        .expect("a Failed event");
    assert!(
        duration >= 100 * MS,
        "the build ran 100 ms, reported {duration:?}"
    );
}

#[test]
fn dependents_of_an_interrupted_build_are_skipped_as_interrupted() {
    let f = Fixture::new("");
    f.root_image("slow").child("after", "slow");
    let env = Env::new(&f);
    env.fake.block_build("slow");
    let cancel = Cancel::new();
    let (blocked, summary, rec) = std::thread::scope(|s| {
        let stopper = s.spawn(|| {
            // Cancel once slow's build is running (blocked), whatever happens.
            let blocked = wait_for(|| env.fake.builds_in_flight() == 1);
            cancel.cancel();
            blocked
        });
        let (summary, rec) = env.run_with(&env.plan_all(), keep_going(1), None, &cancel);
        (stopper.join().unwrap(), summary, rec)
    });
    assert!(blocked, "slow's build never ran");
    assert!(summary.interrupted);
    assert_eq!(summary.failed, 0);
    let skipped = rec.skipped();
    assert!(
        skipped.iter().all(|(_, why)| !why.contains("failed")),
        "nothing failed, yet: {skipped:?}"
    );
    // slow itself ends as interrupted too (an interrupted job is reported as such, not failed).
    assert_eq!(
        sorted(&skipped),
        [("after", "interrupted"), ("slow", "interrupted")]
            .map(|(n, w)| (n.to_string(), w.to_string()))
    );
}

#[test]
fn the_image_format_reaches_the_build_request() {
    let f = Fixture::new("[image.app]\nformat = \"docker\"\n");
    f.family();
    let env = Env::new(&f);
    env.run(&env.plan_all(), 1);
    let formats: BTreeMap<String, reagent_backend::ImageFormat> = env
        .fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Build { name, format, .. } => Some((name, format)),
            _ => None,
        })
        .collect();
    assert_eq!(formats["app"], reagent_backend::ImageFormat::Docker);
    assert_eq!(formats["base"], reagent_backend::ImageFormat::Oci);
    assert_eq!(formats["web"], reagent_backend::ImageFormat::Oci);
}
