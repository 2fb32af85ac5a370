//! `reagent check` and bad input: every problem, with file and line, exit 2, no panic.

mod common;

use common::Test;

#[test]
fn a_good_project_checks_ok() {
    Test::new()
        .family()
        .args(["check"])
        .stdout("ok: 4 nodes (0 snapshot, 0 stages, 4 images)\n")
        .run();
}

#[test]
fn every_problem_is_listed_with_file_and_line() {
    let out = Test::new()
        .family()
        .image("app", "FROM base\n\nCOPY missing.conf /etc/\n")
        .image("tools", "FROM localhost/nope\n")
        .args(["check"])
        .status(2)
        .run();
    assert!(out.stderr.contains("error: source `missing.conf` does not exist in the build context\n  --> images/app/Containerfile:3\n"), "{}", out.stderr);
    assert!(
        out.stderr.contains("3 | COPY missing.conf /etc/"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("images/tools/Containerfile:1"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("2 problems found"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn unknown_key_in_graph_toml() {
    Test::new()
        .family()
        .file("graph.toml", "[project]\nname = \"x\"\nregistyr = \"r\"\n")
        .args(["check"])
        .status(2)
        .stderr_contains("--> graph.toml:3")
        .stderr_contains("registyr")
        .run();
}

#[test]
fn cycle_is_printed() {
    Test::new()
        .image("root", "FROM base\n")
        .image("app", "FROM root\n")
        .image("tools", "FROM app\n")
        .image("base", "FROM tools\n")
        .args(["check"])
        .status(2)
        .stderr_contains("dependency cycle: app -> tools -> base -> root -> app")
        .run();
}

#[test]
fn not_a_project_is_exit_2() {
    let out = Test::new().args(["check"]).run();
    drop(out);
    let dir = tempfile::tempdir().unwrap();
    let res = assert_cmd::Command::cargo_bin("reagent")
        .unwrap()
        .arg("-C")
        .arg(dir.path())
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("graph.toml"));
}

#[test]
fn a_spec_error_names_its_line_once_and_underlines_a_graph_toml_value() {
    let out = Test::new()
        .file(
            "stages/s3.spec",
            "subarch: amd64\ntarget: stage3\nversion_stamp: @TS@\n",
        )
        .args(["check"])
        .status(2)
        .run();
    assert!(
        out.stderr.starts_with(
            "error: placeholder @TS@ has no value\n  --> stages/s3.spec:3\n  |\n3 | version_stamp: @TS@\n"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("line 3"), "{}", out.stderr);
    let out = Test::new()
        .family()
        .file(
            "graph.toml",
            "# tags = [\"x y\"]\n[image.app]\ntags = [\"ok\", \"x y\"]\n",
        )
        .args(["check"])
        .status(2)
        .run();
    assert!(
        out.stderr.contains(
            "  --> graph.toml:3\n  |\n3 | tags = [\"ok\", \"x y\"]\n  |               ^^^^^\n"
        ),
        "{}",
        out.stderr
    );
}

/// A releng-shaped stage3 spec; `@TIMESTAMP@` comes from `[stages] vars`.
const STAGE3: &str = "subarch: amd64\ntarget: stage3\nversion_stamp: openrc-@TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: abc\nsource_subpath: 23.0-default/stage1-amd64-openrc-@TIMESTAMP@.tar.xz\n";
const STAGES_TOML: &str = "[stages]\nvars = { TIMESTAMP = \"1\" }\n";

#[test]
fn two_specs_building_the_same_stage_exit_2_naming_both() {
    Test::new()
        .file("graph.toml", STAGES_TOML)
        .file("stages/a.spec", STAGE3)
        .file("stages/b.spec", STAGE3)
        .args(["check"])
        .status(2)
        .stderr_contains("--> stages/b.spec")
        .stderr_contains(
            "builds `23.0-default/stage3-amd64-openrc-1`, which `stages/a.spec` builds too",
        )
        .run();
}

#[test]
fn a_snapshot_spec_exits_2_at_its_target_line() {
    Test::new()
        .file("graph.toml", STAGES_TOML)
        .file("stages/snap.spec", "target: snapshot\nversion_stamp: x\n")
        .args(["check"])
        .status(2)
        .stderr_contains("--> stages/snap.spec:1")
        .stderr_contains("`[snapshot] path`")
        .run();
}
