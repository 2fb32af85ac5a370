//! `[registry] cache_from` against real buildah and two real `docker-registry`s
//! on loopback: a pull request's build reads the main branch's registry, pulls
//! what it needs from there, and pushes only to its own.

mod common;

use std::path::Path;

use common::buildah::{registry_tags, tools_missing, BuildahProject};
use common::Test;
use reagent_testkit::Registry;
use serde_json::Value;

/// base ← app, pushing to `<main>/acme` and reading `<main>/acme` as a cache.
fn project(main: &str) -> BuildahProject {
    let config = format!(
        "[project]\nname = \"t\"\nregistry = \"{main}/acme\"\n[registry]\ntls_verify = false\ncache_from = [\"{main}/acme\"]\n"
    );
    let p = BuildahProject::new(&config).with_busybox_base();
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo app > /app\n",
    );
    p
}

/// `(name, outcome, pulled)` of every node of the report at `path`.
fn outcomes(path: &Path) -> Vec<(String, String, Option<String>)> {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["outcome"].as_str().unwrap().to_string(),
                n["pulled"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn a_pull_request_reuses_the_main_registry_and_pushes_only_to_its_own() {
    if tools_missing() {
        return;
    }
    let main = Registry::start();
    let pr = Registry::start();
    let m = main.host();

    // The main branch builds and pushes base and app to the main registry.
    let a = project(m);
    a.ok(&["build", "all"]);
    let main_app = registry_tags(m, "acme/app");
    assert!(main_app.contains(&a.key16("app")), "{main_app:?}");

    // A pull request adds a leaf; its machine has an empty store and may only
    // push to its own registry.
    let b = a.on_another_machine();
    b.write(
        "images/feature/Containerfile",
        "FROM app\nRUN cat /app > /feature\n",
    );
    let report = b.path("out/report.json");
    let own = format!("{}/acme", pr.host());
    let out = b.ok(&[
        "build",
        "--registry",
        &own,
        "--report",
        report.to_str().unwrap(),
        "feature",
    ]);

    // app came from the main registry (base only in it: app's image holds its
    // layers), feature was built; nothing was built twice.
    let app_ref = format!("{m}/acme/app:{}", b.key16("app"));
    assert_eq!(
        outcomes(&report),
        [
            ("base".into(), "up-to-date".into(), None),
            ("app".into(), "pulled".into(), Some(app_ref)),
            ("feature".into(), "built".into(), None),
        ],
        "{out}"
    );
    // The pull request's image went to its own registry, nothing to main's.
    assert_eq!(
        registry_tags(pr.host(), "acme/feature"),
        [b.key16("feature"), "latest".to_string()]
    );
    assert!(registry_tags(m, "acme/feature").is_empty());
    assert_eq!(registry_tags(m, "acme/app"), main_app);
    assert!(registry_tags(pr.host(), "acme/app").is_empty());

    // A run that needs nothing from the cache asks it and pulls nothing.
    let c = b.on_another_machine();
    c.ok(&[
        "build",
        "--registry",
        &own,
        "--report",
        c.path("out/report.json").to_str().unwrap(),
        "feature",
    ]);
    let done = outcomes(&c.path("out/report.json"));
    assert_eq!(done.last().unwrap().1, "up-to-date", "{done:?}");
    assert!(done.iter().all(|n| n.1 != "built"), "{done:?}");
}

#[test]
fn a_node_in_no_registry_is_built_and_a_cache_entry_must_look_like_a_registry() {
    if tools_missing() {
        return;
    }
    let main = Registry::start();
    let cache = Registry::start();
    // An empty cache: everything is built, and pushed to main only.
    let config = format!(
        "[project]\nname = \"t\"\nregistry = \"{}/acme\"\n[registry]\ntls_verify = false\ncache_from = [\"{}/acme\"]\n",
        main.host(),
        cache.host()
    );
    let p = BuildahProject::new(&config).with_busybox_base();
    p.ok(&["build", "all"]);
    assert_eq!(registry_tags(main.host(), "acme/base").len(), 2);
    assert!(registry_tags(cache.host(), "acme/base").is_empty());

    Test::new()
        .file(
            "graph.toml",
            "[registry]\ncache_from = [\"https://registry.example.com/acme\"]\n",
        )
        .image("base", "FROM scratch\n")
        .args(["check"])
        .status(2)
        .stderr_contains("graph.toml:2")
        .stderr_contains("cache_from registry `https://registry.example.com/acme` should look like")
        .run();
}

#[test]
fn export_dirty_leaves_out_what_a_cache_has() {
    if tools_missing() {
        return;
    }
    let main = Registry::start();
    let pr = Registry::start();
    let a = project(main.host());
    a.ok(&["build", "all"]);
    // Another machine's project pushing to its own registry, reading main's as a cache.
    let config = format!(
        "[project]\nname = \"t\"\nregistry = \"{}/acme\"\n[registry]\ntls_verify = false\ncache_from = [\"{}/acme\"]\n",
        pr.host(),
        main.host()
    );
    let b = BuildahProject::new(&config);
    common::buildah::copy_tree(&a.path("images"), &b.path("images"));
    let plan: Value =
        serde_json::from_str(&b.ok(&["export", "--format", "json", "--dirty"])).unwrap();
    assert_eq!(plan["nodes"], Value::Array(Vec::new()), "{plan:#}");
    // A node in no registry is dirty.
    b.write(
        "images/feature/Containerfile",
        "FROM app\nRUN cat /app > /feature\n",
    );
    let plan: Value =
        serde_json::from_str(&b.ok(&["export", "--format", "json", "--dirty"])).unwrap();
    let names: Vec<&str> = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["feature"], "{plan:#}");
}
