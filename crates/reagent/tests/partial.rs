//! `explain` and `build` of a healthy image work when an unrelated image has
//! problems: only the selected images and their ancestors must load cleanly;
//! the others are warnings. `check` still fails on every problem.

mod common;

use common::buildah::{tools_missing, BuildahProject};
use common::Test;

/// The family (base ← app ← web, base ← tool) plus `broken`, whose
/// Containerfile has an unknown instruction, and `orphan`, built from it.
fn with_broken() -> Test {
    Test::new()
        .family()
        .image("broken", "FROM base\nFROBNICATE\n")
        .image("orphan", "FROM broken\n")
}

#[test]
fn explain_of_a_healthy_image_warns_about_the_broken_ones() {
    let out = with_broken()
        .args(["explain", "web"])
        .stdout_contains("web (image")
        .stderr_contains("warning: images/broken/Containerfile:2: unknown instruction `FROBNICATE`")
        .stderr_contains(
            "warning: images/orphan/Containerfile:1: built from `broken`, which has problems",
        )
        .run();
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
}

#[test]
fn explain_of_a_broken_image_or_one_built_from_it_fails() {
    with_broken()
        .args(["explain", "broken"])
        .status(2)
        .stderr_contains("--> images/broken/Containerfile:2")
        .run();
    with_broken()
        .args(["explain", "orphan"])
        .status(2)
        .stderr_contains("built from `broken`, which has problems")
        .run();
    with_broken()
        .args(["check"])
        .status(2)
        .stderr_contains("--> images/broken/Containerfile:2")
        .run();
}

#[test]
fn build_of_a_healthy_image_goes_on_and_all_does_not() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("").with_busybox_base();
    p.write("images/app/Containerfile", "FROM base\nRUN true\n");
    p.write(
        "images/broken/Containerfile",
        "FROM base\nCOPY missing.conf /etc/\n",
    );
    let run = p.run(&["build", "app"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: images/broken/Containerfile:2: source `missing.conf` does not exist"
        ),
        "{}",
        run.stderr
    );
    assert!(!p
        .storage
        .buildah(&["images", "--json"])
        .contains("localhost/broken"));
    let all = p.run(&["build", "all"]);
    assert_eq!(all.code, Some(2), "{}", all.stderr);
    assert!(
        all.stderr.contains("--> images/broken/Containerfile:2"),
        "{}",
        all.stderr
    );
}
