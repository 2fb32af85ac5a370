//! `[binhost]` against real buildah and a real registry: one binary package cache
//! is mounted into every RUN step at portage's PKGDIR, never enters a layer, and
//! with `shared = true` travels between machines through the registry.

mod common;

use common::buildah::{tools_missing, BuildahProject};
use reagent_testkit::Registry;

const PKG: &str = "/var/cache/binpkgs/app-misc/hello/hello-1.0-1.gpkg.tar";

/// A machine: its own buildah store and state, the project pushing to `registry`.
fn machine(registry: &str, app: &str, test: &str) -> BuildahProject {
    let p = BuildahProject::new(&format!(
        "[project]\nname = \"bin\"\nregistry = \"{registry}/acme\"\n[registry]\ntls_verify = false\n[binhost]\nshared = true\n[image.app]\ntest = [\"{test}\"]\n"
    ))
    .with_busybox_base();
    p.write("images/app/Containerfile", &format!("FROM base\n{app}\n"));
    p
}

#[test]
fn a_shared_cache_reaches_another_machine_and_no_layer() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    // Machine A's build writes a "binary package" into the cache, as
    // `emerge --buildpkg` would; the image must not hold it.
    let a = machine(
        registry.host(),
        &format!(
            "RUN mkdir -p {dir} && echo built-by-a > {PKG}",
            dir = "/var/cache/binpkgs/app-misc/hello"
        ),
        &format!("! test -e {PKG}"),
    );
    let out = a.run(&["build", "-t", "--json", "all"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        std::fs::read_to_string(a.path(".reagent/binpkgs/app-misc/hello/hello-1.0-1.gpkg.tar"))
            .unwrap(),
        "built-by-a\n"
    );
    assert!(
        out.stdout.contains("\"event\":\"binhost\"")
            && out.stdout.contains("\"action\":\"pushed\""),
        "{}",
        out.stdout
    );

    // Machine B: another store, no state, a leaf that reads the package.
    let b = machine(
        registry.host(),
        &format!("RUN cat {PKG} > /got"),
        "grep -q built-by-a /got",
    );
    let out = b.run(&["build", "-t", "--json", "all"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("\"action\":\"pulled\""),
        "{}",
        out.stdout
    );
}

#[test]
fn a_target_that_is_not_an_absolute_path_is_bad_input() {
    let p = BuildahProject::new("[binhost]\ntarget = \"binpkgs\"\n");
    let out = p.run(&["check"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("must be an absolute path"),
        "{}",
        out.stderr
    );
    p.write("graph.toml", "[binhost]\nshared = true\n");
    let out = p.run(&["check"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("set [project] registry"),
        "{}",
        out.stderr
    );
}
