//! `[binhost]` with Gentoo's real `emerge`: the binary package cache reagent
//! mounts at `PKGDIR` receives the gpkg files `emerge --buildpkg` writes, and
//! with `shared = true` a second machine (an empty store and no state, the
//! same registry) gets them through the registry, so rebuilding an image whose
//! key changed compiles nothing; after a sync bumps one package, exactly that
//! package is compiled. What was compiled is read from each build's log:
//! portage prints `>>> Emerging (n of m) cpv` for a package it builds and
//! `>>> Emerging binary (n of m) cpv` for one it takes from `PKGDIR`.

mod common;

use common::buildah::BuildahProject;
use common::emerge::{self, build, emerged, image_ids, last_build_log};
use reagent_testkit::Registry;

const EMERGE: &str = "emerge --usepkg --buildpkg";

fn write_project(p: &BuildahProject, base: &str, hello_extra: &str) {
    let mount = emerge::mount();
    emerge::image(
        p,
        "01-base",
        &format!("FROM {base}\n{mount} {EMERGE} sys-libs/mini-base\n"),
    );
    emerge::image(
        p,
        "hello",
        &format!(
            "FROM base\n{mount} {EMERGE} app-misc/hello && emerge --depclean --with-bdeps=n\n{hello_extra}"
        ),
    );
}

#[test]
fn a_second_machine_takes_every_package_from_the_shared_cache_and_compiles_only_a_bump() {
    if emerge::unavailable() {
        return;
    }
    let registry = Registry::start();
    let base = emerge::push_base(&registry);
    let (a, _tree) = emerge::project(&registry, "[binhost]\nshared = true\n");
    write_project(&a, &base, "");

    // Machine A compiles everything and fills the cache, which it pushes.
    let out = build(&a, &["all"]);
    assert_eq!(out.built, ["base", "hello", "portage"]);
    let (compiled, binary) = emerged(&last_build_log(&a, "hello"));
    assert!(binary.is_empty(), "{binary:?}");
    for cpv in [
        "dev-util/mini-make-1.0",
        "dev-libs/libmini-1.1",
        "app-misc/hello-1.1",
    ] {
        assert!(compiled.iter().any(|c| c == cpv), "{cpv} in {compiled:?}");
    }
    let cache = a.path(".reagent/binpkgs");
    let gpkgs: Vec<String> = walk_gpkgs(&cache);
    assert!(
        gpkgs.iter().any(|g| g.contains("app-misc/hello")),
        "emerge --buildpkg wrote gpkg files into the mounted PKGDIR: {gpkgs:?}"
    );
    assert!(
        out.events
            .iter()
            .any(|e| e["event"] == "binhost" && e["action"] == "pushed"),
        "{:?}",
        out.events
    );
    let hello_image = image_ids(&a)["hello"].iter().next().unwrap().clone();
    let ctr = a.storage.buildah(&["from", "--pull=never", &hello_image]);
    let ctr = ctr.trim();
    let in_image = a.storage.buildah(&[
        "run",
        "--isolation",
        "chroot",
        ctr,
        "--",
        "sh",
        "-c",
        "find /var/cache/binpkgs -type f | wc -l",
    ]);
    a.storage.buildah(&["rm", ctr]);
    assert_eq!(in_image.trim(), "0", "no package in the image's layers");

    // Machine B: the same project files, an empty store, no state; hello's
    // key changed (one more instruction), base's did not. It pulls base,
    // and every package hello's build merges is a binary from A.
    let b = a.on_another_machine();
    write_project(&b, &base, "RUN test -x /usr/bin/hello\n");
    let out = build(&b, &["all"]);
    assert!(
        out.built.contains(&"hello".to_string()) && !out.built.contains(&"base".to_string()),
        "{:?}",
        out.events
    );
    assert!(out.pulled.contains(&"base".to_string()), "{:?}", out.events);
    assert!(
        out.events
            .iter()
            .any(|e| e["event"] == "binhost" && e["action"] == "pulled"),
        "{:?}",
        out.events
    );
    let (compiled, binary) = emerged(&last_build_log(&b, "hello"));
    assert_eq!(compiled, Vec::<String>::new(), "B compiles nothing");
    assert!(
        binary.iter().any(|c| c == "app-misc/hello-1.1"),
        "{binary:?}"
    );

    // A sync bumps the awk hello's virtual pulls in: hello is rebuilt on B,
    // and that one package is the only one compiled.
    let tree = emerge::tree_of(&b);
    assert_eq!(tree.bump("sys-apps/mini-gawk"), "sys-apps/mini-gawk-5.2-r1");
    let out = build(&b, &["all"]);
    assert_eq!(out.built, ["hello", "portage"], "{:?}", out.events);
    let (compiled, binary) = emerged(&last_build_log(&b, "hello"));
    assert_eq!(compiled, ["sys-apps/mini-gawk-5.2-r1"]);
    assert!(
        binary.iter().any(|c| c == "app-misc/hello-1.1"),
        "{binary:?}"
    );
}

/// The gpkg files under `dir`, relative, sorted.
fn walk_gpkgs(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".gpkg.tar"))
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}
