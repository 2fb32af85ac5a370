//! `reagent gc --registry` against real buildah and a real `docker-registry` on
//! loopback (delete enabled, as reagent-testkit configures it): old key tags go
//! through the registry API, moving tags and current keys never do.

mod common;

use std::process::Command;

use common::buildah::{registry_tags, tools_missing, BuildahProject};
use common::Test;
use reagent_testkit::Registry;

/// base ← app, pushing to `<registry>/acme`.
fn project(registry: &str) -> BuildahProject {
    let config = format!(
        "[project]\nname = \"t\"\nregistry = \"{registry}/acme\"\n[registry]\ntls_verify = false\n"
    );
    let p = BuildahProject::new(&config).with_busybox_base();
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo 1 > /version\n",
    );
    p
}

/// `skopeo copy` within the registry: another tag for an image already there.
fn copy(from: &str, to: &str) {
    let out = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg(format!("docker://{from}"))
        .arg(format!("docker://{to}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy {from} {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn old_key_tags_go_moving_tags_current_keys_and_foreign_images_stay() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let p = project(host);
    // Three builds of app: v1, v2, v3 (current).
    let mut keys = Vec::new();
    for v in 1..=3 {
        p.write(
            "images/app/Containerfile",
            &format!("FROM base\nRUN echo {v} > /version\n"),
        );
        p.ok(&["build", "all"]);
        keys.push(p.key16("app"));
    }
    let (v1, v2, v3) = (&keys[0], &keys[1], &keys[2]);
    let base = p.key16("base");
    let app = |tag: &str| format!("{host}/acme/app:{tag}");
    // A hand-made moving tag on v1, and another node's image under a key-like tag.
    copy(&app(v1), &app("pinned"));
    let foreign = "0000000000000000";
    copy(&format!("{host}/acme/base:{base}"), &app(foreign));
    let before = sorted(vec![
        v1.clone(),
        v2.clone(),
        v3.clone(),
        "latest".into(),
        "pinned".into(),
        foreign.into(),
    ]);
    assert_eq!(registry_tags(host, "acme/app"), before);

    // --keep 0 --dry-run: lists v1 and v2, spares v1 (pinned names its manifest)
    // and the foreign image; deletes nothing.
    let out = p.ok(&["gc", "--registry", "--keep", "0", "--dry-run"]);
    assert!(out.contains(&format!("would delete {}", app(v2))), "{out}");
    assert!(
        out.contains(&format!(
            "keep {}: its manifest is also {}, which stays",
            app(v1),
            app("pinned")
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "keep {}: its image is not this node's build",
            app(foreign)
        )),
        "{out}"
    );
    assert!(!out.contains(&format!("delete {}", app(v3))), "{out}");
    assert!(out.contains("would delete 1 tag(s)"), "{out}");
    assert!(out.contains("garbage collection"), "{out}");
    assert_eq!(registry_tags(host, "acme/app"), before);

    // --keep 1 (the default): v2 is the most recent previous build, so it stays.
    let out = p.ok(&["gc", "--registry", "--dry-run"]);
    assert!(out.contains("would delete 0 tag(s)"), "{out}");
    assert!(!out.contains("garbage collection"), "{out}");

    // For real, keeping none: v2 is gone from the registry, all else is there.
    let out = p.ok(&["gc", "--registry", "--keep", "0"]);
    assert!(out.contains(&format!("delete {}", app(v2))), "{out}");
    assert!(out.contains("deleted 1 tag(s)"), "{out}");
    assert_eq!(
        registry_tags(host, "acme/app"),
        sorted(vec![
            v1.clone(),
            v3.clone(),
            "latest".into(),
            "pinned".into(),
            foreign.into()
        ])
    );
    assert_eq!(
        registry_tags(host, "acme/base"),
        sorted(vec![base.clone(), "latest".into()])
    );
    // The current images still pull: another machine has nothing to build.
    let other = p.on_another_machine();
    let report = other.path("report.json");
    other.ok(&["build", "--report", report.to_str().unwrap(), "all"]);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{doc:#}");
    assert!(
        nodes.iter().all(|n| n["outcome"] == "up-to-date"),
        "{doc:#}"
    );

    // Once the pin moves away, v1 goes too; a second gc finds nothing.
    copy(&app(v3), &app("pinned"));
    let out = p.ok(&["gc", "--registry", "--keep", "0"]);
    assert!(out.contains(&format!("delete {}", app(v1))), "{out}");
    let out = p.ok(&["gc", "--registry", "--keep", "0"]);
    assert!(out.contains("deleted 0 tag(s)"), "{out}");
    assert_eq!(
        registry_tags(host, "acme/app"),
        sorted(vec![
            v3.clone(),
            "latest".into(),
            "pinned".into(),
            foreign.into()
        ])
    );
}

#[test]
fn a_node_that_left_the_project_loses_its_key_tags_but_not_latest() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let p = project(host);
    p.ok(&["build", "all"]);
    let old = p.key16("app");
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo 2 > /version\n",
    );
    p.ok(&["build", "all"]);
    let last = p.key16("app");
    std::fs::remove_dir_all(p.path("images/app")).unwrap();
    // Kept builds are per node of the project: a node that left keeps none.
    let out = p.ok(&["gc", "--registry", "--keep", "5"]);
    let app = |tag: &str| format!("{host}/acme/app:{tag}");
    assert!(
        out.contains(&format!("delete {} (sha256:", app(&old))),
        "{out}"
    );
    assert!(
        out.contains("its node is no longer in the project"),
        "{out}"
    );
    // latest names the last build's manifest: that key tag stays with it.
    assert!(
        out.contains(&format!(
            "keep {}: its manifest is also {}",
            app(&last),
            app("latest")
        )),
        "{out}"
    );
    assert_eq!(
        registry_tags(host, "acme/app"),
        sorted(vec![last.clone(), "latest".into()]),
        "{out}"
    );
}

#[test]
fn gc_says_what_it_needs() {
    Test::new()
        .image("base", "FROM scratch\n")
        .args(["gc"])
        .status(2)
        .stderr_contains("say --registry")
        .run();
    Test::new()
        .image("base", "FROM scratch\n")
        .args(["gc", "--registry"])
        .status(2)
        .stderr_contains("needs `[project] registry`")
        .run();
}
