//! Discovered inputs with Gentoo's real `emerge`: the reagent binary builds
//! images that emerge from a synthetic `::gentoo` tree (the project's snapshot)
//! on the mini-Gentoo rootfs, pushing to a real registry; then the tree is
//! changed as a sync changes it, and each run is checked by the image ids
//! buildah holds for each node, and by what reagent says.
//!
//! The project: `base` emerges `sys-libs/mini-base` (which inherits the
//! `mini-data` eclass); `fetch` (FROM base) emerges `net-misc/mini-fetch`;
//! `hello` (FROM base) emerges `app-misc/hello` — compiled C, pulling in its
//! build tool `dev-util/mini-make` and its library `dev-libs/libmini` — then
//! `emerge --depclean --with-bdeps=n` removes those two again.
//!
//! One scenario runs the cases one after another on one project (each emerge
//! build costs tens of seconds on vfs, so they are not repeated per case).

mod common;

use common::buildah::BuildahProject;
use common::emerge::{self, build, image_ids, new_images, recorded_packages};
use reagent_testkit::{Registry, TREE_PATH};

const NODES: [&str; 4] = ["base", "fetch", "hello", "portage"];

fn write_project(p: &BuildahProject, base: &str) {
    let mount = emerge::mount();
    emerge::image(
        p,
        "01-base",
        &format!("FROM {base}\n{mount} emerge sys-libs/mini-base\n"),
    );
    emerge::image(
        p,
        "fetch",
        &format!("FROM base\n{mount} emerge net-misc/mini-fetch\n"),
    );
    emerge::image(
        p,
        "hello",
        &format!(
            "FROM base\n{mount} emerge app-misc/hello && emerge --depclean --with-bdeps=n\n\
             {mount} test -x /usr/bin/hello && ! test -e /usr/bin/mini-make\n"
        ),
    );
}

/// Build everything; the nodes the run built, checked against the image ids
/// that appeared in the store.
fn build_all(p: &BuildahProject) -> Vec<String> {
    let before = image_ids(p);
    let out = build(p, &["all"]);
    let after = image_ids(p);
    assert_eq!(
        new_images(&before, &after),
        out.built,
        "the nodes reagent says it built are those with a new image id"
    );
    assert!(out.pulled.is_empty(), "nothing to pull: {:?}", out.pulled);
    out.built
}

#[test]
fn a_sync_rebuilds_exactly_the_images_whose_build_read_what_it_changed() {
    if emerge::unavailable() {
        return;
    }
    let registry = Registry::start();
    let base = emerge::push_base(&registry);
    let (a, tree) = emerge::project(&registry, "");
    write_project(&a, &base);

    // The first build: everything, and each emerge image records what it merged.
    assert_eq!(build_all(&a), NODES);
    let merged = recorded_packages(&a, "hello");
    for cpv in [
        "dev-util/mini-make-1.0",
        "dev-libs/libmini-1.1",
        "app-misc/hello-1.1",
    ] {
        assert!(
            merged.iter().any(|m| m == &format!("{cpv}::{TREE_PATH}")),
            "hello's build merged {cpv} from the snapshot: {merged:?}"
        );
    }
    let explain = a.ok(&["explain", "hello"]);
    assert!(
        explain.contains(&format!(
            "snapshot: what its build read ({} packages",
            merged.len()
        )),
        "{explain}"
    );

    // A sync that adds a version of a package no image has: nothing to build,
    // not even the new snapshot.
    tree.add_version("app-editors/mini-edit-1.1");
    let plan = a.ok(&["build", "-n", "all"]);
    assert!(
        !plan.lines().any(|l| l.starts_with("build")),
        "nothing to build:\n{plan}"
    );
    assert_eq!(build_all(&a), Vec::<String>::new());

    // A second machine: an empty store and no state, the same registry and the
    // same (synced) tree. It reaches the same decision from the discovery notes
    // in the registry: it builds nothing and pulls nothing.
    let b = a.on_another_machine();
    let out = build(&b, &["all"]);
    assert_eq!(
        (out.built.clone(), out.pulled.clone()),
        (vec![], vec![]),
        "{:?}",
        out.events
    );
    assert!(
        image_ids(&b).is_empty(),
        "no image of the project's nodes on machine B: {:?}",
        image_ids(&b)
    );

    // A bump of a package only fetch has: fetch alone is rebuilt (with the new
    // snapshot it now reads), and reagent says why.
    let bumped = tree.bump("net-misc/mini-fetch");
    assert_eq!(bumped, "net-misc/mini-fetch-1.0-r1");
    let plan = a.ok(&["build", "-n", "all"]);
    let fetch_line = plan
        .lines()
        .find(|l| l.starts_with("build") && l.contains(" fetch "))
        .unwrap_or_else(|| panic!("fetch is to be built:\n{plan}"));
    assert!(
        fetch_line.contains("snapshot: net-misc/mini-fetch: mini-fetch-1.0-r1.ebuild added"),
        "{fetch_line}"
    );
    let explain = a.ok(&["explain", "fetch"]);
    assert!(
        explain.contains("net-misc/mini-fetch: mini-fetch-1.0-r1.ebuild added"),
        "{explain}"
    );
    assert_eq!(build_all(&a), ["fetch", "portage"]);

    // A build dependency that hello's depclean removed (its package database no
    // longer lists it) still counts.
    tree.bump("dev-util/mini-make");
    let out = build(&a, &["-n", "all"]);
    assert!(
        out.reason("hello")
            .is_some_and(|r| r.contains("dev-util/mini-make: mini-make-1.0-r1.ebuild added")),
        "{:?}",
        out.events
    );
    assert_eq!(build_all(&a), ["hello", "portage"]);

    // An eclass the base package inherits: base and everything below it.
    tree.edit_eclass("mini-data");
    let out = build(&a, &["-n", "all"]);
    assert!(
        out.reason("base")
            .is_some_and(|r| r.contains("snapshot: eclass mini-data.eclass changed")),
        "{:?}",
        out.events
    );
    assert_eq!(build_all(&a), NODES);

    // The profile every image was built with: every emerge image.
    tree.edit_profile();
    assert_eq!(build_all(&a), NODES);

    // And after all that the tree is what the last builds read: nothing to do.
    assert_eq!(build_all(&a), Vec::<String>::new());
}
