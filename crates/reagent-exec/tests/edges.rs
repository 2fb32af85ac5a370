//! Adversarial edges of the executor over the `FakeBackend`: secrets never
//! written, half-finished publishes, images whose key label does not match
//! their tag.

mod common;

use std::collections::BTreeMap;

use common::{files_under, keep_going, Env, Fixture, REGISTRY};
use reagent_backend::{Backend, Cancel, LABEL_KEY};
use reagent_exec::events::Event;
use reagent_exec::plan::{Action, Place, StepKind};
use reagent_exec::run::{plan_event, RunOptions};
use reagent_state::Outcome;

const SECRET: &str = "hunter2-token-value";

/// base ← app, where app's build args carry [`SECRET`], expanded into an ADD URL.
fn secret_project() -> Fixture {
    let f = Fixture::new(&format!(
        "[image.app]\nargs = {{ TOKEN = \"{SECRET}\", JOBS = \"4\" }}\n"
    ));
    f.root_image("01-base").image(
        "app",
        "FROM base\nARG TOKEN\nADD https://user:${TOKEN}@files.test/f /f\nRUN echo $TOKEN\n",
    );
    f
}

#[test]
fn build_arg_values_reach_no_record_event_reason_or_error() {
    let f = secret_project();
    let mut env = Env::new(&f);
    env.build_all();
    // The URL's input shows up as a change; the build then fails with a
    // message that quotes the expanded URL, as buildah's does.
    f.write(
        "images/app/Containerfile",
        "FROM base\nARG TOKEN\nADD https://user:${TOKEN}@files.test/g /f\n",
    );
    env.reload(&f);
    env.fake.fail_build(
        "app",
        &format!("reading \"https://user:{SECRET}@files.test/g\": 404"),
    );
    let plan = env.plan_all();
    let Event::Plan { steps } = plan_event(&env.project.graph, &plan) else {
        panic!("not a plan event");
    };
    // The reason names the URL as written, before the arg is expanded into it.
    let app = steps.iter().find(|s| s.node == "app").unwrap();
    assert!(
        app.reason
            .contains("remote source https://user:${TOKEN}@files.test/g added"),
        "{}",
        app.reason
    );
    let (summary, rec) = env.run(&plan, 1);
    assert_eq!(summary.failed, 1);

    // The error quotes the expanded URL, masked.
    let shown = format!("{:?}", rec.events);
    assert!(shown.contains("https://user:***@files.test/g"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!format!("{steps:?}").contains(SECRET));
    for (path, text) in files_under(&env.state_dir) {
        assert!(!text.contains(SECRET), "{path} holds the secret:\n{text}");
    }
    // Short values are not masked (they would blank every `4` of a log).
    assert!(!shown.contains("***/"), "{shown}");
}

// ---------------------------------------------------------------- half-finished publish

fn with_registry() -> RunOptions {
    keep_going(1)
}

#[test]
fn a_publish_cut_between_the_key_tag_and_latest_is_finished_by_the_next_run() {
    let f = common::family();
    let env = Env::new(&f);
    let latest = format!("{REGISTRY}/app:latest");
    env.fake.fail_push(&latest, true);
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    let (summary, _) = env.run_with(&plan, with_registry(), Some(REGISTRY), &Cancel::new());
    assert_eq!(summary.failed, 1, "{summary:?}");
    let remote = env.fake.remote_refs();
    assert!(remote.contains(&env.remote_ref("app")), "{remote:?}");
    assert!(!remote.contains(&latest), "{remote:?}");

    // The key tag is there and the image is local, yet `latest` is not:
    // the next run pushes it again rather than calling it up to date.
    env.fake.fail_push(&latest, false);
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    assert_eq!(env.action(&plan, "app"), &Action::Push, "{plan:?}");
    let (summary, _) = env.run_with(&plan, with_registry(), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    let remote = env.fake.remote_refs();
    assert!(remote.contains(&latest), "{remote:?}");
    assert!(
        remote.contains(&format!("{REGISTRY}/app:stable")),
        "{remote:?}"
    );

    // Once finished, nothing more to do.
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    assert_eq!(
        plan.count(StepKind::Push) + plan.count(StepKind::Build),
        0,
        "{plan:?}"
    );
    assert!(env
        .records()
        .iter()
        .any(|r| r.node == "app" && r.outcome == Outcome::Published));
}

#[test]
fn a_publish_killed_between_the_key_tag_and_latest_is_finished_by_the_next_run() {
    let f = common::family();
    let env = Env::new(&f);
    let (summary, _) = env.run_with(
        &env.plan(&env.all(), &[], Some(REGISTRY)),
        with_registry(),
        Some(REGISTRY),
        &Cancel::new(),
    );
    assert!(summary.ok(), "{summary:?}");
    // Then app is built again (a changed input), and reagent is killed -9
    // after pushing its key tag: no record of that run, `latest` on the old build.
    let old_key = env.key("app");
    f.write("images/app/app.conf", "changed\n");
    let mut env = env;
    env.reload(&f);
    assert_ne!(env.key("app"), old_key);
    let (summary, _) = env.run_with(
        &env.plan(&env.all(), &[], None),
        with_registry(),
        None,
        &Cancel::new(),
    );
    assert!(summary.ok(), "{summary:?}");
    let local = format!("localhost/app:{}", env.key16("app"));
    env.fake
        .push(&local, &env.remote_ref("app"), &Cancel::new())
        .unwrap();
    let latest = format!("{REGISTRY}/app:latest");
    let on_latest = env.fake.remote_labels(&latest).unwrap().unwrap();
    assert_eq!(on_latest.get(LABEL_KEY), Some(&old_key));

    // The key tag is there and the image is local, but `latest` still names
    // the old build: push again rather than call it up to date.
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    assert_eq!(env.action(&plan, "app"), &Action::Push, "{plan:?}");
    assert_eq!(
        env.action(&plan, "base"),
        &Action::UpToDate(Place::Local),
        "{plan:?}"
    );
    let (summary, _) = env.run_with(&plan, with_registry(), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    let on_latest = env.fake.remote_labels(&latest).unwrap().unwrap();
    assert_eq!(on_latest.get(LABEL_KEY), Some(&env.key("app")));
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    assert_eq!(
        plan.count(StepKind::Push) + plan.count(StepKind::Build),
        0,
        "{plan:?}"
    );
}

// ---------------------------------------------------------------- a key tag on a foreign image

#[test]
fn a_pulled_key_tag_whose_label_names_another_key_is_refused() {
    let f = common::family();
    let env = Env::new(&f);
    // The registry's base:<key16> is some other image (labelled with another key).
    let wrong = BTreeMap::from([(LABEL_KEY.to_string(), "f".repeat(64))]);
    env.fake.add_remote(&env.remote_ref("base"), wrong);
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    assert_eq!(env.action(&plan, "base"), &Action::Pull, "{plan:?}");
    let (summary, rec) = env.run_with(&plan, with_registry(), Some(REGISTRY), &Cancel::new());
    assert_eq!(rec.failed(), ["base"], "{:?}", rec.events);
    assert!(summary.skipped >= 3, "its dependents are not built on it");
    let error = rec
        .events
        .iter()
        .find_map(|e| match e {
            Event::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .unwrap();
    assert!(error.contains(&"f".repeat(64)), "{error}");
    assert!(error.contains(&env.key("base")), "{error}");
    assert!(!env.fake.built().contains(&"app".to_string()));
}

// ---------------------------------------------------------------- -k with a failing pull

#[test]
fn keep_going_past_a_failing_pull_builds_the_independent_branch_only() {
    let f = common::family();
    f.root_image("02-other");
    let env = Env::new(&f);
    let labels = BTreeMap::from([(LABEL_KEY.to_string(), env.key("base"))]);
    env.fake.add_remote(&env.remote_ref("base"), labels);
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    assert_eq!(env.action(&plan, "base"), &Action::Pull);
    // The registry goes away between planning and pulling.
    env.fake.set_remote_down(true);
    let (summary, rec) = env.run_with(&plan, with_registry(), Some(REGISTRY), &Cancel::new());
    assert_eq!(rec.failed(), ["base", "other"], "{:?}", rec.events);
    let mut skipped = rec.skipped();
    skipped.sort();
    assert_eq!(
        skipped,
        ["app", "tool", "web"].map(|n| (n.to_string(), "base failed".to_string()))
    );
    // A pull writes no build log: the failure points at none.
    assert!(rec.events.iter().any(|e| matches!(
        e,
        Event::Failed { node, error, log: None, .. }
            if node == "base" && error.contains("registry unreachable")
    )));
    // `other` needs nothing from the registry to build, but publishing it
    // does: it fails too, and says why.
    assert!(env.fake.built().contains(&"other".to_string()));
    assert_eq!(summary.failed, 2, "{summary:?}");
    assert!(!summary.ok());
}

// ---------------------------------------------------------------- key labels read only when used

#[test]
fn a_local_key_tag_whose_label_names_another_key_is_rebuilt_when_used() {
    let f = common::family();
    let env = Env::new(&f);
    // localhost/base:<key16> exists, but it is some other image.
    let wrong = BTreeMap::from([(LABEL_KEY.to_string(), "f".repeat(64))]);
    let id = env
        .fake
        .add_image(&[&format!("localhost/base:{}", env.key16("base"))], wrong);
    // Its children are to be built on it, so its label is read and it is refused.
    let plan = env.plan(&env.all(), &[], None);
    assert!(
        matches!(env.action(&plan, "base"), Action::Build(_)),
        "{plan:?}"
    );
    let inspected: Vec<_> = env
        .fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, reagent_backend::fake::Call::Inspect { .. }))
        .collect();
    assert_eq!(
        inspected,
        [reagent_backend::fake::Call::Inspect { reference: id }]
    );
}

#[test]
fn a_no_op_plan_reads_no_image_s_labels() {
    let f = common::family();
    let env = Env::new(&f);
    env.build_all();
    let before = env.fake.calls().len();
    let plan = env.plan_all();
    assert!(
        plan.steps
            .iter()
            .all(|s| matches!(s.action, Action::UpToDate(_))),
        "{plan:?}"
    );
    let calls = env.fake.calls()[before..].to_vec();
    // One listing; the labels of images nothing is built on are never read.
    assert_eq!(calls, [reagent_backend::fake::Call::Images], "{calls:?}");
}
