//! `reagent build --only NODE...` and `--report FILE` against real buildah and
//! a real `docker-registry` on loopback: one node per command, the way one CI
//! job per node runs, on machines that share nothing but the registry.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::buildah::{
    registry_labels, registry_tags, tools_missing, wait_or_fail, BuildahProject, Run,
};
use common::Test;
use reagent_testkit::Registry;
use serde_json::Value;

/// base ← app ← leaf, pushing to `registry` when given.
fn project(registry: Option<&str>) -> BuildahProject {
    let config = format!(
        "[project]\nname = \"t\"\n{}\n[registry]\ntls_verify = false\n",
        registry
            .map(|r| format!("registry = \"{r}/acme\""))
            .unwrap_or_default(),
    );
    let p = BuildahProject::new(&config).with_busybox_base();
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo app > /app\n",
    );
    p.write(
        "images/leaf/Containerfile",
        "FROM app\nRUN cat /app > /leaf\n",
    );
    p
}

/// The report at `path`, parsed.
fn report(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// `(name, outcome)` of every node in a report, in its order.
fn outcomes(doc: &Value) -> Vec<(String, String)> {
    doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
        .collect()
}

/// Image names in the project's store.
fn local_images(p: &BuildahProject) -> String {
    p.storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"])
}

/// `reagent build --only NODE... --report <dir>/report.json`; the run and the report.
fn only(p: &BuildahProject, nodes: &[&str], more: &[&str]) -> (Run, Value) {
    let path = p.path("out/report.json");
    let _ = std::fs::remove_file(&path);
    let mut args = vec!["build", "--report", path.to_str().unwrap()];
    args.extend_from_slice(more);
    args.push("--only");
    args.extend_from_slice(nodes);
    let run = p.run(&args);
    let doc = report(&path);
    (run, doc)
}

#[test]
fn only_with_a_missing_parent_fails_naming_it_and_builds_nothing() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let p = project(Some(registry.host()));
    let (run, doc) = only(&p, &["leaf"], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot build `leaf` alone: its parent `app`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("reagent build --only app"),
        "{}",
        run.stderr
    );
    assert!(!local_images(&p).contains("localhost/"), "nothing built");
    assert_eq!(doc["status"], "error");
    assert!(
        doc["error"].as_str().unwrap().contains("its parent `app`"),
        "{doc:#}"
    );
    assert_eq!(doc["nodes"], Value::Array(Vec::new()));
}

#[test]
fn each_machine_builds_its_node_and_pulls_the_parents_it_needs() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let a = project(Some(registry.host()));
    let (run, doc) = only(&a, &["base"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(outcomes(&doc), pairs(&[("base", "built")]));
    let key = a.key16("base");
    assert!(registry_tags(registry.host(), "acme/base").contains(&key));

    // Another machine: app alone, base pulled, never rebuilt.
    let b = a.on_another_machine();
    let (run, doc) = only(&b, &["app"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        outcomes(&doc),
        pairs(&[("base", "pulled"), ("app", "built")])
    );
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["source"], "registry");
    assert_eq!(
        nodes[0]["pulled"],
        format!("{}/acme/base:{key}", registry.host())
    );
    assert_eq!(
        nodes[1]["pushed"][0],
        format!("{}/acme/app:{}", registry.host(), b.key16("app"))
    );
    assert!(
        !local_images(&b).contains("localhost/leaf"),
        "leaf is not app's job"
    );

    // A third: leaf alone pulls app but not base (app's image holds base's layers).
    let c = a.on_another_machine();
    let (run, doc) = only(&c, &["leaf"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        outcomes(&doc),
        pairs(&[("app", "pulled"), ("leaf", "built")])
    );
    // And again: nothing to do, nothing pulled.
    let (run, doc) = only(&c, &["leaf"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(outcomes(&doc), pairs(&[("leaf", "up-to-date")]));
    assert_eq!(doc["status"], "ok");
}

#[test]
fn two_machines_building_one_key_at_once_both_succeed() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let a = project(Some(registry.host()));
    let b = a.on_another_machine();
    // Both start before either has pushed: both build, both push the key tag.
    let spawn = |p: &BuildahProject| {
        p.command(&["build", "--only", "base", "app"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = spawn(&a);
    let mut second = spawn(&b);
    for child in [&mut first, &mut second] {
        let status = wait_or_fail(child, Duration::from_secs(300));
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(0), "{err}");
    }
    // One image under each key tag, and it is that key's build.
    for node in ["base", "app"] {
        let key = a.key(node);
        let tags = registry_tags(registry.host(), &format!("acme/{node}"));
        assert_eq!(tags, {
            let mut t = vec![key[..16].to_string(), "latest".to_string()];
            t.sort();
            t
        });
        let labels = registry_labels(&format!("{}/acme/{node}:{}", registry.host(), &key[..16]));
        assert_eq!(labels["org.reagent.key"], key.as_str());
    }
    // A third machine takes it from there.
    let c = a.on_another_machine();
    let (run, doc) = only(&c, &["leaf"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        outcomes(&doc),
        pairs(&[("app", "pulled"), ("leaf", "built")])
    );
}

#[test]
fn the_report_of_a_dry_run_and_of_a_failed_run() {
    if tools_missing() {
        return;
    }
    let p = project(None);
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo about to fail && exit 3\n",
    );
    let path = p.path("report.json");
    let report_arg = path.to_str().unwrap();

    // -n: the plan, every node `planned`, and nothing built.
    p.ok(&["build", "-R", "-n", "--report", report_arg, "all"]);
    let doc = report(&path);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["status"], "planned");
    assert_eq!(
        outcomes(&doc),
        pairs(&[("base", "planned"), ("app", "planned"), ("leaf", "planned")])
    );
    assert!(doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["action"] == "build"));

    // A failure: its node failed with its log, its child skipped, exit 1.
    let run = p.run(&["build", "-R", "-k", "--report", report_arg, "all"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let doc = report(&path);
    assert_eq!(doc["status"], "failed");
    assert_eq!(
        outcomes(&doc),
        pairs(&[("base", "built"), ("app", "failed"), ("leaf", "skipped")])
    );
    let app = &doc["nodes"][1];
    let log = app["log"].as_str().unwrap();
    assert!(
        std::fs::read_to_string(log)
            .unwrap()
            .contains("about to fail"),
        "{app}"
    );
    assert_eq!(doc["nodes"][2]["error"], "app failed");
    assert_eq!(doc["summary"]["failed"], 1);
}

#[test]
fn only_takes_exact_names_and_no_other_selection() {
    Test::new()
        .family()
        .args(["build", "-R", "--only", "ap"])
        .status(2)
        .stderr_contains("no node named `ap`")
        .run();
    Test::new()
        .family()
        .args(["build", "-R", "web", "--only", "app"])
        .status(2)
        .stderr_contains("cannot be used with")
        .run();
}
