//! Stage nodes built through the fake: catalyst runs through `Backend::run_tool`
//! (the fake writes the tarball the spec names), then the tarball is imported.
//! A failing catalyst fails the stage and skips what is built on it; a cancel
//! while catalyst runs interrupts the stage.

mod common;

use std::path::PathBuf;

use common::{keep_going, stop_at_failure, wait_for, Env, Fixture};
use reagent_backend::fake::Call;
use reagent_backend::{Cancel, LABEL_KEY, LABEL_NODE, LABEL_PROJECT};
use reagent_exec::events::{Event, Work};
use reagent_graph::Recipe;
use reagent_state::{Outcome, RECORD_VERSION};

const STAGE: &str = "stage1-amd64";

/// A stage1 spec (seeded from outside the project), as releng writes it.
const STAGE1: &str = "subarch: amd64\ntarget: stage1\nversion_stamp: openrc-@TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: @TREEISH@\nsource_subpath: 23.0-default/stage3-amd64-openrc-latest\ncompression_mode: pixz\n";

/// portage (snapshot) → stage1-amd64 (catalyst spec) → base (image FROM the stage).
/// catalyst's storedir is a temp folder of its own, outside the project.
struct StageProject {
    fixture: Fixture,
    storedir: tempfile::TempDir,
}

fn stage_project() -> StageProject {
    let storedir = tempfile::tempdir().unwrap();
    let fixture = Fixture::new(&format!(
        "[project]\nname = \"stages\"\n[snapshot]\npath = \"tree\"\n[stages]\nvars = {{ TIMESTAMP = \"20260101T000000Z\", TREEISH = \"abc\" }}\nstoredir = \"{}\"\n",
        storedir.path().display()
    ));
    fixture
        .write(
            "tree/metadata/timestamp.commit",
            "0123456789abcdef0123456789abcdef01234567 1\n",
        )
        .write(&format!("stages/{STAGE}.spec"), STAGE1)
        .image("01-base", &format!("FROM {STAGE}\nRUN true\n"));
    StageProject { fixture, storedir }
}

/// Where catalyst writes the stage's tarball, as the loaded spec says.
fn tarball(env: &Env) -> PathBuf {
    let node = env.project.graph.node(env.id(STAGE));
    let Recipe::Stage(stage) = &node.recipe else {
        panic!("{STAGE} is not a stage")
    };
    stage
        .spec
        .as_ref()
        .expect("a spec stage")
        .tarball_path(&stage.storedir)
}

/// The spec file reagent hands to `catalyst -f`.
fn spec_file(env: &Env) -> PathBuf {
    env.state_dir
        .join("tmp")
        .join(format!("{STAGE}-{}.spec", env.key16(STAGE)))
}

fn tool_calls(env: &Env) -> Vec<(PathBuf, Vec<String>)> {
    env.fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Tool { program, args } => Some((program, args)),
            _ => None,
        })
        .collect()
}

fn imports(env: &Env) -> Vec<Call> {
    env.fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::ImportTarball { .. }))
        .collect()
}

#[test]
fn a_spec_stage_is_built_by_catalyst_then_imported() {
    let p = stage_project();
    let env = Env::new(&p.fixture);
    let tarball = tarball(&env);
    assert!(tarball.starts_with(p.storedir.path()), "{tarball:?}");
    assert_eq!(
        tarball,
        p.storedir
            .path()
            .join("builds/23.0-default/stage1-amd64-openrc-20260101T000000Z.tar.xz")
    );
    env.fake
        .tool_writes("catalyst", &tarball, b"a stage tarball");

    let (summary, rec) = env.run(&env.plan_all(), 2);
    assert!(summary.ok(), "{summary:?} {:?}", rec.events);
    assert_eq!(summary.built, 3, "portage, the stage and base");

    // catalyst ran once, on the rendered spec, and wrote the tarball.
    let spec = spec_file(&env);
    assert_eq!(
        tool_calls(&env),
        [(
            PathBuf::from("catalyst"),
            vec!["-f".to_string(), spec.display().to_string()]
        )]
    );
    let Recipe::Stage(stage) = &env.project.graph.node(env.id(STAGE)).recipe else {
        unreachable!()
    };
    assert_eq!(
        std::fs::read_to_string(&spec).unwrap(),
        stage.spec.as_ref().unwrap().render()
    );
    assert_eq!(std::fs::read(&tarball).unwrap(), b"a stage tarball");

    // Then that tarball was imported, with the stage's key tag and labels.
    let imports = imports(&env);
    let [Call::ImportTarball {
        tarball: imported,
        tags,
        labels,
    }] = imports.as_slice()
    else {
        panic!("not one import: {:?}", env.fake.calls())
    };
    assert_eq!(imported, &tarball);
    assert_eq!(
        tags,
        &[
            format!("localhost/{STAGE}:{}", env.key16(STAGE)),
            format!("localhost/{STAGE}:latest"),
        ]
    );
    assert_eq!(labels[LABEL_KEY], env.key(STAGE));
    assert_eq!(labels[LABEL_NODE], STAGE);
    assert_eq!(labels[LABEL_PROJECT], "stages");

    // In order: the snapshot it reads, catalyst, the import, then the image on it.
    let calls = env.fake.calls();
    let at = |pred: &dyn Fn(&Call) -> bool| {
        calls
            .iter()
            .position(pred)
            .unwrap_or_else(|| panic!("{calls:?}"))
    };
    let portage = at(&|c| matches!(c, Call::Build { name, .. } if name == "portage"));
    let catalyst = at(&|c| matches!(c, Call::Tool { .. }));
    let import = at(&|c| matches!(c, Call::ImportTarball { .. }));
    let base = at(&|c| matches!(c, Call::Build { name, .. } if name == "base"));
    assert!(
        portage < catalyst && catalyst < import && import < base,
        "{calls:?}"
    );
    // base is built on the stage's exact build.
    let containerfile = std::fs::read_to_string(
        env.state_dir
            .join("tmp")
            .join(format!("base-{}.Containerfile", env.key16("base"))),
    )
    .unwrap();
    assert!(
        containerfile.starts_with(&format!("FROM localhost/{STAGE}:{}\n", env.key16(STAGE))),
        "{containerfile}"
    );
    // The stage's log holds the catalyst command and the import.
    let log = std::fs::read_to_string(
        reagent_state::log_path(&env.state_dir, STAGE, &env.key16(STAGE)).unwrap(),
    )
    .unwrap();
    assert!(log.contains("catalyst -f"), "{log}");
    assert!(log.contains("import"), "{log}");
    // The record says it was built, and the next plan has nothing to do.
    assert!(env
        .records()
        .iter()
        .any(|r| r.node == STAGE && r.outcome == Outcome::Built && r.key == env.key(STAGE)));
    assert!(env.plan_all().steps.iter().all(|s| !s.action.is_work()));
}

#[test]
fn catalyst_that_writes_no_tarball_fails_the_stage() {
    let p = stage_project();
    let env = Env::new(&p.fixture);
    let (summary, rec) = env.run(&env.plan_all(), 1);
    assert_eq!(rec.failed(), [STAGE]);
    let error = rec
        .events
        .iter()
        .find_map(|e| match e {
            Event::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .unwrap();
    assert!(error.contains("catalyst finished but wrote no"), "{error}");
    assert!(
        error.contains(&tarball(&env).display().to_string()),
        "{error}"
    );
    assert!(imports(&env).is_empty());
    assert_eq!(summary.failed, 1);
    assert!(!summary.ok());
}

#[test]
fn a_failing_catalyst_fails_the_stage_and_skips_its_children() {
    let p = stage_project();
    let env = Env::new(&p.fixture);
    let tarball = tarball(&env);
    env.fake
        .tool_writes("catalyst", &tarball, b"half a tarball");
    env.fake
        .fail_tool("catalyst", "!!! catalyst: emerge of sys-libs/glibc failed");
    let (summary, rec) = env.run_with(&env.plan_all(), keep_going(2), None, &Cancel::new());

    assert_eq!(rec.failed(), [STAGE], "{:?}", rec.events);
    let (error, log) = rec
        .events
        .iter()
        .find_map(|e| match e {
            Event::Failed {
                node,
                action,
                error,
                log,
                ..
            } if node == STAGE => {
                assert_eq!(*action, Work::Build);
                Some((error.clone(), log.clone()))
            }
            _ => None,
        })
        .unwrap();
    assert!(error.contains("emerge of sys-libs/glibc failed"), "{error}");
    // The failure points at the stage's log, which holds catalyst's output.
    let log = log.expect("a build log");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("emerge of sys-libs/glibc failed"), "{text}");
    // Whatever catalyst left behind is not imported, and nothing is built on it.
    assert!(imports(&env).is_empty(), "{:?}", env.fake.calls());
    assert_eq!(
        rec.skipped(),
        [("base".to_string(), format!("{STAGE} failed"))]
    );
    assert!(!env.fake.built().contains(&"base".to_string()));
    assert_eq!(summary.failed, 1);
    assert_eq!(summary.skipped, 1);
    assert_eq!(summary.built, 1, "portage");
    assert!(!summary.ok());
    let records = env.records();
    let stage = records.iter().find(|r| r.node == STAGE).expect("a record");
    assert_eq!(stage.outcome, Outcome::Failed);
    assert_eq!(stage.version, RECORD_VERSION);
}

#[test]
fn a_cancel_while_catalyst_runs_interrupts_the_stage() {
    let p = stage_project();
    let env = Env::new(&p.fixture);
    env.fake
        .tool_writes("catalyst", &tarball(&env), b"never written");
    // catalyst runs until cancelled.
    env.fake.block_tool("catalyst");
    let cancel = Cancel::new();
    let (running, summary, rec) = std::thread::scope(|s| {
        let stopper = s.spawn(|| {
            // Cancel once catalyst is running, whatever happens.
            let running = wait_for(|| !tool_calls(&env).is_empty());
            cancel.cancel();
            running
        });
        let (summary, rec) = env.run_with(&env.plan_all(), stop_at_failure(2), None, &cancel);
        (stopper.join().unwrap(), summary, rec)
    });
    assert!(running, "catalyst never ran: {:?}", rec.events);

    assert!(summary.interrupted, "{summary:?}");
    assert_eq!(summary.failed, 0, "an interruption is not a failure");
    assert!(!summary.ok());
    assert!(rec.failed().is_empty(), "{:?}", rec.events);
    let mut skipped = rec.skipped();
    skipped.sort();
    assert_eq!(
        skipped,
        [("base", "interrupted"), (STAGE, "interrupted")]
            .map(|(n, w)| (n.to_string(), w.to_string()))
    );
    assert!(imports(&env).is_empty());
    assert!(!tarball(&env).exists(), "a blocked catalyst wrote nothing");
    let records = env.records();
    let stage: Vec<_> = records.iter().filter(|r| r.node == STAGE).collect();
    assert_eq!(stage.len(), 1, "{records:?}");
    assert_eq!(stage[0].outcome, Outcome::Interrupted);
    assert!(records.iter().all(|r| r.node != "base"));
}

// ---- issue 8 §1: what real releng specs leave behind ------------------------------------

/// A stage3 spec naming its stage1 by the tarball's file name, as 54 releng specs do.
const STAGE3_BY_TARBALL: &str = "subarch: amd64\ntarget: stage3\nversion_stamp: openrc-@TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: @TREEISH@\nsource_subpath: 23.0-default/stage1-amd64-openrc-@TIMESTAMP@.tar.xz\ncompression_mode: pixz\n";

/// What catalyst leaves for the spec stage `name`, as the loaded spec says.
fn output(env: &Env, name: &str) -> reagent_graph::Output {
    let Recipe::Stage(stage) = &env.project.graph.node(env.id(name)).recipe else {
        panic!("{name} is not a stage")
    };
    stage.spec.as_ref().unwrap().output(&stage.storedir)
}

fn imported(env: &Env) -> Vec<PathBuf> {
    imports(env)
        .into_iter()
        .filter_map(|c| match c {
            Call::ImportTarball { tarball, .. } => Some(tarball),
            _ => None,
        })
        .collect()
}

#[test]
fn a_stage_naming_its_parent_by_tarball_is_built_after_it_and_from_it() {
    let p = stage_project();
    p.fixture
        .write("stages/stage3-amd64.spec", STAGE3_BY_TARBALL)
        .write(
            "images/01-base/Containerfile",
            "FROM stage3-amd64\nRUN true\n",
        );
    let env = Env::new(&p.fixture);
    env.fake
        .tool_writes("catalyst", &tarball(&env), b"stage1 tarball");
    env.fake.tool_writes(
        "catalyst",
        output(&env, "stage3-amd64").path(),
        b"stage3 tarball",
    );
    let (summary, rec) = env.run(&env.plan_all(), 4);
    assert!(summary.ok(), "{summary:?} {:?}", rec.events);
    assert!(
        rec.finished_at(STAGE) < rec.started_at("stage3-amd64"),
        "stage3 started before its parent finished: {:?}",
        rec.events
    );
    // The child's seed is its parent's build, not an external one.
    let Recipe::Stage(s3) = &env.project.graph.node(env.id("stage3-amd64")).recipe else {
        unreachable!()
    };
    assert_eq!(s3.external_source, None);
    assert_eq!(
        env.project
            .graph
            .parents(env.id("stage3-amd64"))
            .iter()
            .map(|&d| env.project.graph.node(d).name.clone())
            .collect::<Vec<_>>(),
        ["portage", STAGE]
    );
}

#[test]
fn a_renamed_tarball_is_found_and_imported() {
    let p = stage_project();
    p.fixture.write(
        &format!("stages/{STAGE}.spec"),
        &format!("{STAGE1}rename_regexp: s_.tar.xz$_.wsl_\n"),
    );
    let env = Env::new(&p.fixture);
    let renamed = output(&env, STAGE);
    assert_eq!(
        renamed.path(),
        p.storedir
            .path()
            .join("builds/23.0-default/stage1-amd64-openrc-20260101T000000Z.wsl")
    );
    env.fake
        .tool_writes("catalyst", renamed.path(), b"a WSL stage");
    let (summary, rec) = env.run(&env.plan_all(), 2);
    assert!(summary.ok(), "{summary:?} {:?}", rec.events);
    assert_eq!(imported(&env), [renamed.path().to_path_buf()]);
}

/// A livecd-stage2 spec on the project's stage1 (as releng chains them).
const LIVECD2: &str = "subarch: amd64\ntarget: livecd-stage2\nversion_stamp: @TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: @TREEISH@\nsource_subpath: 23.0-default/stage1-amd64-openrc-@TIMESTAMP@.tar.xz\nboot/kernel: gentoo\nlivecd/iso: install-amd64-minimal-@TIMESTAMP@.iso\n";

#[test]
fn an_iso_stage_is_an_artifact_recorded_without_an_image_and_never_pushed() {
    let p = stage_project();
    p.fixture.write("stages/livecd.spec", LIVECD2);
    let env = Env::new(&p.fixture);
    let iso = output(&env, "livecd");
    assert_eq!(
        iso.path(),
        p.storedir
            .path()
            .join("builds/23.0-default/install-amd64-minimal-20260101T000000Z.iso")
    );
    env.fake
        .tool_writes("catalyst", &tarball(&env), b"stage1 tarball");
    env.fake.tool_writes("catalyst", iso.path(), b"an ISO");
    let plan = env.plan(&env.all(), &[], Some(common::REGISTRY));
    let (summary, rec) = env.run_with(
        &plan,
        stop_at_failure(2),
        Some(common::REGISTRY),
        &Cancel::new(),
    );
    assert!(summary.ok(), "{summary:?} {:?}", rec.events);
    // catalyst made it; nothing was imported, looked up or pushed for it.
    assert_eq!(imported(&env), [tarball(&env)], "only the stage1 tarball");
    let about_livecd = |c: &Call| match c {
        Call::RemoteExists { remote } | Call::Push { remote, .. } => remote.contains("/livecd:"),
        _ => false,
    };
    assert!(
        !env.fake.calls().iter().any(about_livecd),
        "{:?}",
        env.fake.calls()
    );
    assert!(env
        .records()
        .iter()
        .any(|r| r.node == "livecd" && r.outcome == Outcome::Built && r.key == env.key("livecd")));
    // Built and still there: up to date, with or without a registry.
    for registry in [None, Some(common::REGISTRY)] {
        let plan = env.plan(&env.all(), &[], registry);
        assert!(
            !env.action(&plan, "livecd").is_work(),
            "{:?}",
            env.action(&plan, "livecd")
        );
    }
    // The ISO removed: built again.
    std::fs::remove_file(iso.path()).unwrap();
    let plan = env.plan_all();
    assert!(env.action(&plan, "livecd").is_work());
    assert_eq!(
        env.action(&plan, "livecd").reason(),
        format!(
            "ISO image {} missing (built before with this key)",
            iso.path().display()
        )
    );
    assert!(!env.action(&plan, STAGE).is_work());
}

#[test]
fn catalyst_that_writes_no_iso_fails_the_stage_naming_the_iso() {
    let p = stage_project();
    p.fixture.write("stages/livecd.spec", LIVECD2);
    let env = Env::new(&p.fixture);
    env.fake
        .tool_writes("catalyst", &tarball(&env), b"stage1 tarball");
    let (_, rec) = env.run_with(&env.plan_all(), keep_going(2), None, &Cancel::new());
    assert_eq!(rec.failed(), ["livecd"]);
    let error = rec
        .events
        .iter()
        .find_map(|e| match e {
            Event::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        error.contains(&format!(
            "catalyst finished but wrote no ISO image {}",
            output(&env, "livecd").path().display()
        )),
        "{error}"
    );
}
