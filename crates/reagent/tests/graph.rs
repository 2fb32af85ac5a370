//! `reagent graph`: tree, Graphviz and JSON views, selection by regex.

mod common;

use common::Test;

#[test]
fn tree_shows_parents_above_children() {
    let out = Test::new().family().args(["graph"]).run();
    let lines: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split(" (").next().unwrap().to_string())
        .collect();
    assert_eq!(lines, ["base", "├── app", "│   └── web", "└── tool"]);
    insta::assert_snapshot!("tree", out.stdout);
}

#[test]
fn json_lists_nodes_with_keys_deps_and_paths() {
    let out = Test::new().family().args(["graph", "--json"]).run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    let nodes = v["nodes"].as_array().unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["base", "app", "tool", "web"]);
    let web = &nodes[3];
    assert_eq!(web["kind"], "image");
    assert_eq!(web["deps"], serde_json::json!(["app"]));
    assert_eq!(web["path"], "images/web");
    assert_eq!(web["key"].as_str().unwrap().len(), 64);
    assert_eq!(nodes[0]["path"], "images/01-base");
}

#[test]
fn regex_selects_nodes_and_their_ancestors() {
    let out = Test::new().family().args(["graph", "--json", "^we"]).run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["base", "app", "web"]);
}

#[test]
fn dot_is_valid_graphviz() {
    let out = Test::new().family().args(["graph", "--dot"]).run();
    assert!(out.stdout.starts_with("digraph reagent {"));
    assert!(out.stdout.contains("\"app\" -> \"web\";"));
    insta::assert_snapshot!("dot", out.stdout);
    if let Ok(mut dot) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        dot.stdin
            .take()
            .unwrap()
            .write_all(out.stdout.as_bytes())
            .unwrap();
        let res = dot.wait_with_output().unwrap();
        assert!(res.status.success(), "dot rejected the output");
        assert!(String::from_utf8_lossy(&res.stdout).contains("<svg"));
    }
}

#[test]
fn invalid_regex_is_exit_2() {
    Test::new()
        .family()
        .args(["graph", "("])
        .status(2)
        .stderr_contains("invalid regex `(`")
        .run();
}

#[test]
fn regex_matching_nothing_is_exit_2() {
    Test::new()
        .family()
        .args(["graph", "nginx"])
        .status(2)
        .stderr_contains("no node matches nginx")
        .run();
}

#[test]
fn bundled_gentoo_example_draws() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/gentoo");
    let out = assert_cmd::Command::cargo_bin("reagent")
        .unwrap()
        .arg("-C")
        .arg(&root)
        .args(["--state-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .args(["graph", "--dot"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("shape=cylinder"), "the snapshot node");
    assert!(stdout.contains("shape=box3d"), "stage nodes");
    assert!(stdout.contains("\"stage1-amd64-openrc\" -> \"stage3-amd64-openrc\""));
}

#[test]
fn an_iso_stage_is_shown_as_an_artifact() {
    let spec = "subarch: amd64\ntarget: livecd-stage2\nversion_stamp: 1\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: abc\nsource_subpath: 23.0-default/livecd-stage1-amd64-1.tar.xz\nboot/kernel: gentoo\nlivecd/iso: install-amd64-minimal-1.iso\n";
    let out = Test::new()
        .file("stages/livecd.spec", spec)
        .args(["graph"])
        .run();
    assert!(
        out.stdout.starts_with("livecd (stage, ISO image, "),
        "{}",
        out.stdout
    );
    let out = Test::new()
        .file("stages/livecd.spec", spec)
        .args(["graph", "--json"])
        .run();
    assert!(
        out.stdout.contains("\"artifact\": \"iso\""),
        "{}",
        out.stdout
    );
}
