//! The build record the run loop writes, and the project label every image carries.

mod common;

use std::collections::BTreeMap;

use common::{family, keep_going, sorted, Env, Fixture, REGISTRY};
use reagent_backend::fake::Call;
use reagent_backend::{Backend, Cancel, LABEL_KEY, LABEL_PROJECT};
use reagent_exec::events::Event;
use reagent_exec::plan::{Action, Place};
use reagent_exec::session::NodeOutcome;
use reagent_state::{Outcome, Record, BUILD_LOG_FILE, RECORD_VERSION};

/// [`family`] with `[project] name = "acme"`.
fn named_family() -> Fixture {
    let f = family();
    f.write(
        "graph.toml",
        "[project]\nname = \"acme\"\n[image.app]\ntags = [\"stable\"]\n",
    );
    f
}

// ---------------------------------------------------------------- one record per finished job

#[test]
fn every_finished_job_writes_one_record_of_this_version_and_project() {
    let f = named_family();
    let env = Env::new(&f);
    assert_eq!(env.project.name(), "acme");
    env.build_all();
    let records = env.records();
    assert_eq!(
        sorted(&records.iter().map(|r| r.node.clone()).collect::<Vec<_>>()),
        ["app", "base", "tool", "web"],
        "one record per build: {records:?}"
    );
    for r in &records {
        assert_eq!(r.version, RECORD_VERSION, "{r:?}");
        assert_eq!(r.project.as_deref(), Some("acme"), "{r:?}");
        assert_eq!(r.outcome, Outcome::Built, "{r:?}");
        assert_eq!(r.key, env.key(&r.node), "{r:?}");
        assert!(r.start <= r.end, "{r:?}");
    }

    // Publishing is a job too: one more record per push, of the same kind.
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    let (summary, _) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert_eq!(summary.pushed, 4, "{summary:?}");
    let records = env.records();
    assert_eq!(records.len(), 8, "{records:?}");
    for r in &records[4..] {
        assert_eq!(r.outcome, Outcome::Published, "{r:?}");
        assert_eq!(r.version, RECORD_VERSION);
        assert_eq!(r.project.as_deref(), Some("acme"));
    }
    // Up-to-date nodes are no job: nothing more is recorded.
    let (summary, _) = env.run(&env.plan_all(), 2);
    assert_eq!(summary.up_to_date, 4);
    assert_eq!(env.records().len(), 8);
}

#[test]
fn a_new_session_reads_the_record_once_and_plans_up_to_date() {
    let f = named_family();
    let env = Env::new(&f);
    env.build_all();

    let mut session = env.session();
    assert_eq!(session.history().records().len(), 4);
    let plan = session.plan(&env.request(&env.all(), &[], None)).unwrap();
    for step in &plan.steps {
        assert_eq!(step.action, Action::UpToDate(Place::Local), "{step:?}");
    }
    // The session read the record when it opened: a line appended since is
    // not in its history, and the next session sees it.
    env.append(
        &Record::new(
            "web",
            env.key("web"),
            "",
            serde_json::Value::Null,
            1,
            2,
            Outcome::Failed,
        )
        .with_project("acme"),
    );
    assert_eq!(session.history().records().len(), 4);
    drop(session);
    let history = env.session().history().clone();
    assert_eq!(history.records().len(), 5);
    assert_eq!(history.newest("web").unwrap().outcome, Outcome::Failed);
}

#[test]
fn a_record_that_cannot_be_written_fails_the_run_but_not_the_build() {
    let f = Fixture::new("[project]\nname = \"acme\"\n");
    f.root_image("solo");
    let env = Env::new(&f);
    let request = env.request(&env.all(), &[], None);
    let mut session = env.session();
    let plan = session.plan(&request).unwrap();
    // Once the session is open, the record's file becomes a folder: the
    // append fails whoever runs the test (root included).
    let log = env.state_dir.join(BUILD_LOG_FILE);
    std::fs::create_dir_all(&log).unwrap();
    let mut events = Vec::new();
    let report = session
        .run(&plan, &request, &keep_going(1), &Cancel::new(), &mut |e| {
            events.push(e.clone());
        })
        .unwrap();
    drop(session);

    let failures: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            Event::RecordFailed { node, error } => Some((node.as_str(), error.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 1, "{events:?}");
    assert_eq!(failures[0].0, "solo");
    assert!(failures[0].1.contains(BUILD_LOG_FILE), "{}", failures[0].1);
    let summary = &report.summary;
    assert_eq!(summary.record_errors, 1, "{summary:?}");
    assert!(!summary.ok(), "a lost record fails the run");
    assert_eq!(summary.failed, 0, "the build itself did not fail");
    // The image is built, tagged and reported as such.
    assert_eq!(summary.built, 1);
    assert_eq!(report.nodes[0].outcome, NodeOutcome::Built);
    let image = env
        .fake
        .image(&format!("localhost/solo:{}", env.key16("solo")))
        .expect("the image was built");
    assert_eq!(image.labels[LABEL_KEY], env.key("solo"));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Finished { node, .. } if node == "solo")));
    assert!(matches!(events.last(), Some(Event::Summary(s)) if s == summary));

    // With the file back, the next plan finds the image up to date.
    std::fs::remove_dir(&log).unwrap();
    let plan = env.plan_all();
    assert_eq!(env.action(&plan, "solo"), &Action::UpToDate(Place::Local));
}

// ---------------------------------------------------------------- org.reagent.project

/// Every image the fake holds and every build it was asked for carries `project`.
fn assert_project_label(env: &Env, project: &str) {
    let images = env.fake.images().unwrap();
    assert_eq!(images.len(), 4, "{images:?}");
    for image in &images {
        assert_eq!(
            image.labels.get(LABEL_PROJECT).map(String::as_str),
            Some(project),
            "{image:?}"
        );
    }
    let builds: Vec<BTreeMap<String, String>> = env
        .fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Build { labels, .. } => Some(labels),
            _ => None,
        })
        .collect();
    assert_eq!(builds.len(), 4);
    for labels in builds {
        assert_eq!(labels[LABEL_PROJECT], project, "{labels:?}");
    }
}

#[test]
fn every_image_carries_the_project_name_from_graph_toml() {
    let f = named_family();
    let env = Env::new(&f);
    env.build_all();
    assert_project_label(&env, "acme");
}

#[test]
fn without_a_project_name_images_carry_the_folder_name() {
    let f = family();
    let env = Env::new(&f);
    env.build_all();
    let folder = f.root().file_name().unwrap().to_string_lossy().into_owned();
    assert_project_label(&env, &folder);
    assert!(env
        .records()
        .iter()
        .all(|r| r.project.as_deref() == Some(folder.as_str())));
}
