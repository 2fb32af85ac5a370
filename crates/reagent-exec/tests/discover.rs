//! Discovered inputs through the fake: each build of an image built from the
//! snapshot records the packages its `emerge.log` shows (the fake writes the log
//! into the mounted file), and a sync then rebuilds only the images whose slice
//! of the tree changed. A second machine sharing the registry decides the same
//! from the discovery notes next to the images.

mod common;

use std::collections::HashMap;
use std::fmt::Write;

use common::{kinds, Env, Fixture, REGISTRY};
use reagent_backend::fake::Call;
use reagent_backend::FakeBackend;
use reagent_exec::discover::{Discovery, EMERGE_LOG};
use reagent_exec::plan::{Action, Reason, StepKind};

const MOUNT: &str =
    "RUN --mount=type=bind,from=portage,source=/var/db/repos/gentoo,target=/var/db/repos/gentoo";

/// portage (a tree) → app (emerges app-misc/hello, with a build dependency
/// dev-util/bdep that depclean removes) → web; tool (emerges app-misc/tool);
/// base and leaf do not use the tree at all.
fn project(extra: &str) -> Fixture {
    let f = Fixture::new(&format!(
        "[project]\nname = \"disc\"\n[snapshot]\npath = \"tree\"\n{extra}"
    ));
    f.write("tree/metadata/timestamp.commit", "aaaaaaa1 1\n")
        .write("tree/metadata/layout.conf", "masters =\n")
        .write("tree/profiles/default/amd64/make.defaults", "ARCH=amd64\n")
        .write("tree/profiles/repo_name", "mini\n")
        .write("tree/eclass/mini.eclass", "# mini\n")
        .write("tree/eclass/other.eclass", "# other\n")
        .write(
            "tree/app-misc/hello/hello-1.0.ebuild",
            "EAPI=8\ninherit mini\n",
        )
        .write("tree/dev-util/bdep/bdep-1.0.ebuild", "EAPI=8\n")
        .write(
            "tree/app-misc/tool/tool-1.0.ebuild",
            "EAPI=8\ninherit other\n",
        )
        .write("tree/app-misc/unused/unused-1.0.ebuild", "EAPI=8\n")
        .image("01-base", "FROM scratch\nCOPY f /f\n")
        .write("images/01-base/f", "f\n")
        .image(
            "app",
            &format!("FROM base\n{MOUNT} emerge app-misc/hello && emerge --depclean\n"),
        )
        .image("web", "FROM app\nRUN true\n")
        .image(
            "tool",
            &format!("FROM base\n{MOUNT} emerge app-misc/tool\n"),
        )
        .image("leaf", "FROM base\nRUN true\n");
    f
}

/// The lines portage 3.0.83 writes to `emerge.log` for building and merging
/// `merged` (the repository is named only by the ebuild's path).
fn log(merged: &[&str]) -> Vec<u8> {
    let mut text = String::from("1:  *** emerge\n");
    for (i, cpv) in merged.iter().enumerate() {
        let n = i + 1;
        let of = merged.len();
        let _ = write!(
            text,
            "2:  >>> emerge ({n} of {of}) {cpv} to /\n\
             2:  === ({n} of {of}) Compiling/Packaging ({cpv}::/var/db/repos/gentoo/{cp}/{pf}.ebuild)\n\
             3:  ::: completed emerge ({n} of {of}) {cpv} to /\n",
            cp = cpv.rsplit_once('-').unwrap().0,
            pf = cpv.split_once('/').unwrap().1,
        );
    }
    text.into_bytes()
}

/// A fake whose builds of app and tool log their merges, on a root whose
/// profile is `default/amd64`.
fn fake(root: &std::path::Path) -> FakeBackend {
    let fake = FakeBackend::new();
    fake.build_writes_volume(
        "app",
        EMERGE_LOG,
        &log(&["dev-util/bdep-1.0", "app-misc/hello-1.0"]),
    );
    fake.build_writes_volume("tool", EMERGE_LOG, &log(&["app-misc/tool-1.0"]));
    std::fs::create_dir_all(root.join("etc/portage")).unwrap();
    std::os::unix::fs::symlink(
        "../../var/db/repos/gentoo/profiles/default/amd64",
        root.join("etc/portage/make.profile"),
    )
    .unwrap();
    fake.set_default_rootfs(root);
    fake
}

fn builds(env: &Env) -> Vec<String> {
    env.fake.built()
}

/// The images whose builds start when planning and running every leaf now.
fn rebuild(env: &mut Env, f: &Fixture) -> Vec<String> {
    env.reload(f);
    let before = builds(env).len();
    let summary = env.build_all();
    assert!(summary.ok());
    let mut b = builds(env)[before..].to_vec();
    b.sort();
    b
}

fn sync(f: &Fixture, commit: &str) {
    f.write("tree/metadata/timestamp.commit", &format!("{commit} 2\n"));
}

#[test]
fn builds_record_what_they_read_and_mount_the_log_without_the_layer_cache() {
    let root = tempfile::tempdir().unwrap();
    let f = project("");
    let mut env = Env::with_fake(&f, fake(root.path()));
    assert_eq!(
        rebuild(&mut env, &f),
        ["app", "base", "leaf", "portage", "tool", "web"]
    );
    let calls = env.fake.calls();
    let app_call = calls
        .iter()
        .find_map(|c| match c {
            Call::Build {
                name,
                volumes,
                no_cache,
                ..
            } if name == "app" => Some((volumes.clone(), *no_cache)),
            _ => None,
        })
        .unwrap();
    assert_eq!(app_call.0.len(), 1);
    assert_eq!(app_call.0[0].container, EMERGE_LOG);
    assert!(app_call.1, "every step runs, so every merge is logged");
    let leaf_call = calls.iter().find_map(|c| match c {
        Call::Build {
            name,
            volumes,
            no_cache,
            ..
        } if name == "leaf" => Some((volumes.len(), *no_cache)),
        _ => None,
    });
    assert_eq!(
        leaf_call,
        Some((0, false)),
        "an image not built from the tree"
    );

    let app = env.history().last_success("app").unwrap().clone();
    let d: Discovery = app.discovery.as_ref().unwrap().parse().unwrap();
    assert_eq!(
        d.packages,
        [
            "dev-util/bdep-1.0::/var/db/repos/gentoo",
            "app-misc/hello-1.0::/var/db/repos/gentoo"
        ]
    );
    assert_eq!(d.profile.as_deref(), Some("default/amd64"));
    assert!(d.parts.contains_key("eclass:mini"), "{:?}", d.parts.keys());
    assert!(
        env.history()
            .last_success("leaf")
            .unwrap()
            .discovery
            .is_none(),
        "leaf read nothing of the tree"
    );
}

#[test]
fn a_sync_that_touches_no_package_of_an_image_builds_nothing() {
    let root = tempfile::tempdir().unwrap();
    let f = project("");
    let mut env = Env::with_fake(&f, fake(root.path()));
    rebuild(&mut env, &f);
    // A new version of a package no image has, and a new commit.
    f.write("tree/app-misc/unused/unused-2.0.ebuild", "EAPI=8\n");
    sync(&f, "bbbbbbb2");
    env.reload(&f);
    let plan = env.plan_all();
    assert!(
        plan.steps
            .iter()
            .all(|s| s.action.kind() == StepKind::UpToDate),
        "{:?}",
        kinds(&env, &plan)
    );
    assert!(
        plan.step(env.id("portage")).is_none(),
        "the new snapshot is not needed by anything to build"
    );
    assert_eq!(rebuild(&mut env, &f), Vec::<String>::new());
}

#[test]
fn a_bump_of_one_package_rebuilds_the_images_that_merged_it_and_their_children() {
    let root = tempfile::tempdir().unwrap();
    let f = project("");
    let mut env = Env::with_fake(&f, fake(root.path()));
    rebuild(&mut env, &f);
    f.write(
        "tree/app-misc/hello/hello-1.1.ebuild",
        "EAPI=8\ninherit mini\n",
    );
    sync(&f, "ccccccc3");
    env.reload(&f);
    let plan = env.plan_all();
    let words: HashMap<String, String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Build(r) => Some((env.project.graph.node(s.node).name.clone(), r.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        words.get("app").map(String::as_str),
        Some("snapshot: app-misc/hello: hello-1.1.ebuild added")
    );
    assert!(matches!(
        &env.action(&plan, "app"),
        Action::Build(Reason::Snapshot { .. })
    ));
    assert_eq!(rebuild(&mut env, &f), ["app", "portage", "web"]);
}

#[test]
fn eclass_profile_and_build_dependency_changes_count() {
    let root = tempfile::tempdir().unwrap();
    let f = project("");
    let mut env = Env::with_fake(&f, fake(root.path()));
    rebuild(&mut env, &f);

    // An eclass only tool's package inherits.
    f.write("tree/eclass/other.eclass", "# other, changed\n");
    sync(&f, "ddddddd4");
    assert_eq!(rebuild(&mut env, &f), ["portage", "tool"]);

    // A build dependency depclean removed from app still counts.
    f.write("tree/dev-util/bdep/bdep-1.0.ebuild", "EAPI=8\n# patched\n");
    sync(&f, "eeeeeee5");
    assert_eq!(rebuild(&mut env, &f), ["app", "portage", "web"]);

    // The profile both images were built with.
    f.write(
        "tree/profiles/default/amd64/make.defaults",
        "ARCH=amd64\nUSE=x\n",
    );
    sync(&f, "fffffff6");
    assert_eq!(rebuild(&mut env, &f), ["app", "portage", "tool", "web"]);
}

#[test]
fn invalidation_tree_rebuilds_on_any_sync() {
    let root = tempfile::tempdir().unwrap();
    let f = project("[image.tool]\ninvalidation = \"tree\"\n");
    let mut env = Env::with_fake(&f, fake(root.path()));
    rebuild(&mut env, &f);
    sync(&f, "bbbbbbb2");
    assert_eq!(rebuild(&mut env, &f), ["portage", "tool"]);
}

#[test]
fn a_second_machine_sharing_the_registry_decides_the_same() {
    let root = tempfile::tempdir().unwrap();
    let f = project("");
    let f_toml = format!(
        "[project]\nname = \"disc\"\nregistry = \"{REGISTRY}\"\n[snapshot]\npath = \"tree\"\n"
    );
    f.write("graph.toml", &f_toml);
    let a = Env::with_fake(&f, fake(root.path()));
    let summary = {
        let plan = a.plan(&a.all(), &[], Some(REGISTRY));
        a.run_with(
            &plan,
            common::keep_going(2),
            Some(REGISTRY),
            &reagent_backend::Cancel::new(),
        )
        .0
    };
    assert!(summary.ok(), "{summary:?}");
    let notes: Vec<String> = a
        .fake
        .remote_refs()
        .into_iter()
        .filter(|r| r.contains(":k0-"))
        .collect();
    assert_eq!(notes.len(), 2, "one note each for app and tool: {notes:?}");

    // Machine B: an empty store and an empty record, the same registry, a newer
    // tree that touches no package of app or tool.
    let b_fake = FakeBackend::new();
    for r in a.fake.remote_refs() {
        let labels = a.fake.remote_image(&r).unwrap().labels;
        b_fake.add_remote(&r, labels);
    }
    f.write("tree/app-misc/unused/unused-2.0.ebuild", "EAPI=8\n");
    sync(&f, "bbbbbbb2");
    let b_state = tempfile::tempdir().unwrap();
    let mut b = Env::with_fake(&f, b_fake);
    b.state_dir = b_state.path().to_path_buf();
    let plan = b.plan(&b.all(), &[], Some(REGISTRY));
    let k = kinds(&b, &plan);
    assert!(
        k.values().all(|k| *k == StepKind::UpToDate),
        "B builds and pulls nothing: {k:?}"
    );
}
