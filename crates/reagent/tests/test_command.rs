//! `reagent test` against real buildah: it tests the image the last build made for
//! the current key, even one left untagged because its tests failed, and says in one
//! line per image when there is none.

mod common;

use common::buildah::{tools_missing, BuildahProject, Run};

/// base (busybox) and app on it, whose graph.toml test looks for the wrong port.
fn project() -> BuildahProject {
    let p = BuildahProject::new("[image.app]\ntest = [\"grep -q port=81 /etc/app.conf\"]\n")
        .with_busybox_base();
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo port=80 > /etc/app.conf\n",
    );
    p.write("images/other/Containerfile", "FROM base\nRUN true\n");
    p
}

#[test]
fn test_after_a_failed_build_test_tests_the_untagged_image_and_sees_a_fixed_test() {
    if tools_missing() {
        return;
    }
    let p = project();
    let Run { code, stderr, .. } = p.run(&["build", "-t", "app"]);
    assert_eq!(code, Some(1), "{stderr}");
    let names = p
        .storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(
        !names.contains("localhost/app"),
        "a failing image is not tagged: {names}"
    );

    // The same failure again, from the very image the build made: a failed test,
    // not an error about a missing image.
    let Run {
        code,
        stdout,
        stderr,
    } = p.run(&["test", "app"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("app ") && l.contains("graph.toml[0]"))
        .unwrap_or_else(|| panic!("no row for app's test: {stdout}{stderr}"));
    assert!(row.contains(" FAILED "), "{row}");
    assert!(
        !stdout.contains("ERROR") && !stderr.contains("not known"),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("1 of 1 tests failed"), "{stderr}");

    // Fix the test command (not part of the key): `reagent test` now passes on that image.
    let config = std::fs::read_to_string(p.path("graph.toml")).unwrap();
    p.write("graph.toml", &config.replace("port=81", "port=80"));
    let table = p.ok(&["test", "app"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("app ") && l.contains("graph.toml[0]") && l.contains(" ok ")),
        "{table}"
    );
}

#[test]
fn test_of_an_image_never_built_for_its_key_says_so_once_and_fails() {
    if tools_missing() {
        return;
    }
    let p = project();
    let key = p.key16("other");
    let Run {
        code,
        stdout,
        stderr,
    } = p.run(&["test", "other"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!("error: other was never built for key {key}; run `reagent build -t other`"),
        "{stdout}"
    );
    assert!(stdout.is_empty(), "no per-test rows: {stdout}");
}
