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
