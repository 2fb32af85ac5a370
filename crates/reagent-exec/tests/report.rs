//! The run report (`reagent build --report`): one versioned JSON document with
//! an entry per planned node, made from a run, a plan, or an early error.

mod common;

use std::collections::BTreeMap;

use common::{family, keep_going, Env, REGISTRY};
use reagent_backend::{Cancel, LABEL_KEY};
use reagent_exec::report::{Report, REPORT_VERSION};
use serde_json::Value;

/// The report's JSON, parsed back.
fn json(report: &Report) -> Value {
    serde_json::from_str(&report.to_json()).unwrap()
}

/// The entry for `name`.
fn node<'v>(doc: &'v Value, name: &str) -> &'v Value {
    doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no entry for {name}: {doc:#}"))
}

#[test]
fn a_run_reports_each_node_its_outcome_source_and_references() {
    let f = family();
    let env = Env::new(&f);
    // base is in the registry (pulled for app and tool); web fails.
    let labels = BTreeMap::from([(LABEL_KEY.to_string(), env.key("base"))]);
    env.fake.add_remote(&env.remote_ref("base"), labels);
    env.fake.fail_build("web", "RUN exited 3");
    let plan = env.plan(&env.all(), &[], Some(REGISTRY));
    let (run, _) = env.run_observed(&plan, keep_going(2), Some(REGISTRY), &Cancel::new(), |_| {});
    let doc = json(&Report::of_run(&env.project, &plan, &run, Some(REGISTRY)));

    assert_eq!(doc["version"], REPORT_VERSION);
    assert_eq!(doc["status"], "failed");
    assert_eq!(doc["registry"], REGISTRY);
    assert_eq!(doc["summary"]["built"], 2);
    assert_eq!(doc["summary"]["pulled"], 1);
    let names: Vec<&str> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "one entry per planned node: {names:?}");
    assert_eq!(names[0], "base", "parents first: {names:?}");

    let base = node(&doc, "base");
    assert_eq!(base["key"], env.key("base"));
    assert_eq!(base["outcome"], "pulled");
    assert_eq!(base["action"], "pull");
    assert_eq!(base["source"], "registry");
    assert_eq!(base["pulled"], env.remote_ref("base"));
    assert!(base.get("pushed").is_none(), "{base}");

    let app = node(&doc, "app");
    assert_eq!(app["outcome"], "built");
    assert_eq!(app["source"], "built");
    assert_eq!(app["reason"], "never built");
    assert!(app["duration"].as_f64().is_some(), "{app}");
    // The key tag first, then the moving tags.
    let pushed: Vec<&str> = app["pushed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(pushed[0], env.remote_ref("app"));
    assert!(pushed.contains(&format!("{REGISTRY}/app:latest").as_str()));

    let web = node(&doc, "web");
    assert_eq!(web["outcome"], "failed");
    assert!(
        web["error"].as_str().unwrap().contains("RUN exited 3"),
        "{web}"
    );
    assert!(web.get("source").is_none(), "{web}");
}

#[test]
fn an_up_to_date_run_says_where_each_image_is() {
    let f = family();
    let env = Env::new(&f);
    env.build_all();
    let plan = env.plan_all();
    let (run, _) = env.run_observed(&plan, keep_going(1), None, &Cancel::new(), |_| {});
    let doc = json(&Report::of_run(&env.project, &plan, &run, None));
    assert_eq!(doc["status"], "ok");
    assert!(doc["registry"].is_null());
    for n in doc["nodes"].as_array().unwrap() {
        assert_eq!(n["outcome"], "up-to-date", "{n}");
        assert_eq!(n["source"], "local", "{n}");
        assert!(n.get("duration").is_none(), "{n}");
    }
}

#[test]
fn a_plan_reports_every_node_as_planned_with_its_action() {
    let f = family();
    let env = Env::new(&f);
    let plan = env.plan_all();
    let doc = json(&Report::of_plan(&env.project, &plan, None));
    assert_eq!(doc["status"], "planned");
    assert!(doc.get("summary").is_none());
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for n in nodes {
        assert_eq!(n["outcome"], "planned", "{n}");
        assert_eq!(n["action"], "build", "{n}");
        assert_eq!(n["reason"], "never built", "{n}");
    }
}

#[test]
fn an_early_error_is_a_report_without_nodes_written_atomically() {
    let f = family();
    let env = Env::new(&f);
    let report = Report::of_error(&env.project, Some(REGISTRY), "registry unreachable");
    let path = f.path("out/reports/run.json");
    report.write(&path).unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["status"], "error");
    assert_eq!(doc["error"], "registry unreachable");
    assert_eq!(doc["nodes"], Value::Array(Vec::new()));
    assert_eq!(doc["project"], env.project.name());
    // Nothing but the report was left in its folder.
    let left: Vec<_> = std::fs::read_dir(f.path("out/reports")).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn test_results_are_listed_under_their_node() {
    let f = common::Fixture::new("[image.app]\ntest = [\"true\", \"test -f /etc/app.conf\"]\n");
    f.family();
    let env = Env::new(&f);
    let plan = env.plan_all();
    let mut request = env.request(&plan.targets, &[], None);
    request.tests = Some(std::time::Duration::from_secs(5));
    let run = env
        .session()
        .run(&plan, &request, &keep_going(1), &Cancel::new(), &mut |_| {})
        .unwrap();
    let doc = json(&Report::of_run(&env.project, &plan, &run, None));
    let tests = node(&doc, "app")["tests"].as_array().unwrap().clone();
    assert_eq!(tests.len(), 2, "{tests:?}");
    assert!(tests.iter().all(|t| t["outcome"] == "passed"), "{tests:?}");
    assert!(node(&doc, "app").get("audit").is_none());
}
