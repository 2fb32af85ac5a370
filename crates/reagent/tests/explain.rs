//! `reagent explain NODE`: the manifest, input by input.

mod common;

use common::Test;

#[test]
fn explain_lists_inputs() {
    let out = Test::new()
        .family()
        .file(
            "graph.toml",
            "[portage]\nuse = [\"ssl\", \"-X\"]\n[image.app]\nargs = { TOKEN = \"hunter2\" }\n",
        )
        .args(["explain", "app"])
        .run();
    let labels: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| *l != "inputs:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "arg:TOKEN",
            "containerfile",
            "context:app.conf",
            "kind",
            "parent:base",
            "use"
        ]
    );
    assert!(out.stdout.contains("-X ssl"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("hunter2"),
        "build args are never shown"
    );
}

#[test]
fn explain_unknown_node_is_exit_2() {
    Test::new()
        .family()
        .args(["explain", "nope"])
        .status(2)
        .stderr_contains("no node named `nope`")
        .run();
}

#[test]
fn damaged_lines_of_the_build_record_are_named_and_the_records_around_them_read() {
    let project = reagent_testkit::ProjectDir::new("");
    project.family();
    let reagent = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_reagent"))
            .arg("-C")
            .arg(project.root())
            .args(args)
            .output()
            .unwrap()
    };
    let graph: serde_json::Value =
        serde_json::from_slice(&reagent(&["graph", "--json"]).stdout).unwrap();
    let key = |name: &str| {
        graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let record = |node: &str| {
        format!(
            "{{\"version\":2,\"node\":\"{node}\",\"key\":\"{}\",\"manifest_digest\":\"\",\"manifest\":{{}},\"start\":1,\"end\":2,\"outcome\":\"built\"}}\n",
            key(node)
        )
    };
    // Damage between two good records: a torn line and binary garbage.
    project.write(
        ".reagent/builds.jsonl",
        &format!(
            "{}{{\"version\":2,\"node\":\"ba\n\u{1}\u{2}garbage\n{}",
            record("base"),
            record("app")
        ),
    );
    for node in ["app", "base"] {
        let out = reagent(&["explain", node]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        // Both records around the damage are read.
        assert!(
            stdout.contains(&format!("last build: key {}", &key(node)[..16])),
            "{node}: {stdout}"
        );
        let log = project.path(".reagent/builds.jsonl");
        for line in [2, 3] {
            let warning = format!(
                "warning: {}:{line}: not a build record (damaged?); skipped",
                log.display()
            );
            assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");
        }
        assert!(
            !stderr.contains(":1:") && !stderr.contains(":4:"),
            "{stderr}"
        );
    }
}
