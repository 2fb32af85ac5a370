//! External bases pinned by `reagent.lock`, over the fake backend: each is pulled by
//! its digest once, before the first image built on it; builds name it by digest;
//! `-R` pulls nothing; a replaced external seed stops catalyst.

mod common;

use common::{Env, Fixture};
use reagent_backend::fake::Call;
use reagent_backend::Cancel;
use reagent_exec::events::Event;
use reagent_exec::session::{Request, RunOptions, RunReport};
use reagent_graph::lockfile::Tarball;
use reagent_graph::Lockfile;

const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// app and tool FROM alpine:3.20 (locked to A); web FROM app.
fn project() -> Fixture {
    let f = Fixture::new("");
    f.image("app", "FROM alpine:3.20\nRUN true\n")
        .image("tool", "FROM alpine:3.20 AS b\nFROM b\nRUN true\n")
        .image("web", "FROM app\nRUN true\n");
    let mut lock = Lockfile::new();
    lock.set_image("alpine:3.20", None, A);
    f.write("reagent.lock", &lock.render());
    f
}

fn run(env: &Env, offline: bool) -> (RunReport, Vec<Event>) {
    let mut request = Request::new(env.project.graph.leaves());
    request.offline = offline;
    let mut session = env.session();
    let plan = session.plan(&request).unwrap();
    let mut events = Vec::new();
    let report = session
        .run(
            &plan,
            &request,
            &RunOptions {
                jobs: 2,
                keep_going: true,
            },
            &Cancel::new(),
            &mut |e| events.push(e.clone()),
        )
        .unwrap();
    (report, events)
}

#[test]
fn a_locked_base_is_pulled_by_digest_once_and_built_from_by_digest() {
    let f = project();
    let env = Env::new(&f);
    env.fake.set_remote_digest("alpine:3.20", None, A);
    let (report, _) = run(&env, false);
    assert!(report.summary.ok(), "{:?}", report.summary);
    assert_eq!(report.summary.built, 3);
    let calls = env.fake.calls();
    let pulls: Vec<&Call> = calls
        .iter()
        .filter(|c| matches!(c, Call::PullBase { .. }))
        .collect();
    assert_eq!(
        pulls,
        [&Call::PullBase {
            reference: format!("alpine:3.20@{A}")
        }]
    );
    let first_build = calls
        .iter()
        .position(|c| matches!(c, Call::Build { .. }))
        .unwrap();
    let pulled_at = calls
        .iter()
        .position(|c| matches!(c, Call::PullBase { .. }))
        .unwrap();
    assert!(
        pulled_at < first_build,
        "pulled before the first build on it"
    );
    // What buildah is given names the base by digest; every other byte is kept.
    let file = f
        .path(".reagent/tmp")
        .join(format!("tool-{}.Containerfile", env.key16("tool")));
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        format!("FROM alpine:3.20@{A} AS b\nFROM b\nRUN true\n")
    );
}

#[test]
fn a_base_already_local_is_not_pulled_and_offline_pulls_nothing() {
    let f = project();
    let env = Env::new(&f);
    env.fake.add_base(&["docker.io/library/alpine:3.20"], A);
    let (report, _) = run(&env, true);
    assert!(report.summary.ok(), "{:?}", report.summary);
    assert!(!env
        .fake
        .calls()
        .iter()
        .any(|c| matches!(c, Call::PullBase { .. })));

    let bare = Env::new(&f);
    let (report, events) = run(&bare, true);
    assert_eq!(report.summary.failed, 2, "app and tool");
    let errors: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Failed { error, .. } => Some(error),
            _ => None,
        })
        .collect();
    assert!(
        errors[0].contains(&format!(
            "alpine:3.20@{A} is not in local storage, and -R pulls nothing"
        )),
        "{errors:?}"
    );
    assert!(bare.fake.built().is_empty());
}

#[test]
fn a_replaced_external_seed_stops_catalyst() {
    let f = Fixture::new("[stages]\nstoredir = \"catalyst\"\n");
    f.write(
        "stages/stage1.spec",
        "subarch: amd64\ntarget: stage1\nversion_stamp: x\nrel_type: r\nprofile: p\nsnapshot_treeish: t\nsource_subpath: r/stage3-latest\ncompression_mode: gzip\n",
    )
    .write("catalyst/builds/r/stage3-latest.tar.gz", "abc");
    let mut lock = Lockfile::new();
    lock.set_seed(
        "r/stage3-latest",
        Tarball {
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            size: 3,
        },
    );
    f.write("reagent.lock", &lock.render());
    f.write("catalyst/builds/r/stage3-latest.tar.gz", "replaced");
    let env = Env::new(&f);
    let (report, events) = run(&env, true);
    assert_eq!(report.summary.failed, 1);
    let error = events
        .iter()
        .find_map(|e| match e {
            Event::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .unwrap();
    assert!(error.contains("reagent.lock says ba7816bf"), "{error}");
    assert!(
        !env.fake
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Tool { .. })),
        "catalyst never ran"
    );
}
