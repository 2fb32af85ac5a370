//! Bad input is reported with file and line, all problems at once, never a panic.

mod common;

use common::{family, Fixture};

#[test]
fn cycle_is_printed_in_build_order() {
    let f = Fixture::new();
    f.image("root", "FROM base\n")
        .image("app", "FROM root\n")
        .image("tools", "FROM app\n")
        .image("base", "FROM tools\n");
    let e = f.errors();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].contains("dependency cycle: app -> tools -> base -> root -> app"),
        "{e:?}"
    );
}

#[test]
fn duplicate_names_name_both_folders() {
    let f = Fixture::new();
    f.image("01-base", "FROM scratch\n")
        .image("base", "FROM scratch\n");
    let e = f.errors();
    assert!(
        e[0].starts_with("images/base: node name `base` is already defined by images/01-base"),
        "{e:?}"
    );
}

#[test]
fn missing_copy_source_names_containerfile_line() {
    let f = family();
    f.image("app", "FROM base\n\nCOPY nope.conf /etc/\n");
    let e = f.errors();
    assert_eq!(
        e,
        ["images/app/Containerfile:3: source `nope.conf` does not exist in the build context"]
    );
}

#[test]
fn copy_source_outside_context_is_an_error() {
    let f = family();
    f.image("app", "FROM base\nCOPY ../01-base/busybox /bin/\n");
    let e = f.errors();
    assert_eq!(
        e,
        ["images/app/Containerfile:2: source `../01-base/busybox` is outside the build context"]
    );
}

#[test]
fn unknown_local_name_is_an_error() {
    let f = family();
    f.image("app", "FROM localhost/bsae\n");
    let e = f.errors();
    assert!(
        e[0].starts_with("images/app/Containerfile:1: `localhost/bsae` names local image `bsae`"),
        "{e:?}"
    );
}

#[test]
fn all_problems_are_listed_at_once() {
    let f = family();
    f.image("app", "FROM base\nCOPY nope /x\n")
        .image("tool", "FROM localhost/nope\n");
    assert_eq!(f.errors().len(), 2);
}

#[test]
fn bad_graph_toml_names_line() {
    let f = family();
    f.write("graph.toml", "[project]\nname = \"x\"\njbos = 3\n");
    let e = f.errors();
    assert!(e[0].starts_with("graph.toml:3:"), "{e:?}");
    assert!(e[0].contains("jbos"), "{e:?}");
}

#[test]
fn image_table_for_unknown_image_is_an_error() {
    let f = family();
    f.write("graph.toml", "\n[image.ngnix]\nsquash = true\n");
    let e = f.errors();
    assert!(
        e[0].starts_with("graph.toml:2: [image.ngnix] names no image"),
        "{e:?}"
    );
}

#[test]
fn image_folder_without_containerfile_is_an_error() {
    let f = family();
    f.write("images/empty/README", "nothing");
    let e = f.errors();
    assert_eq!(
        e,
        ["images/empty: image folder has no Containerfile or Dockerfile"]
    );
}

#[test]
fn containerfile_syntax_error_names_line() {
    let f = family();
    f.image("app", "FROM base\nFROBNICATE now\n");
    let e = f.errors();
    assert!(e[0].starts_with("images/app/Containerfile:2:"), "{e:?}");
}

#[test]
fn missing_graph_toml_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let e = reagent_graph::Project::load(d.path()).unwrap_err();
    assert!(e.to_string().contains("graph.toml"), "{e}");
}

#[test]
fn spec_missing_required_key_names_file() {
    let f = family();
    f.write("stages/stage3.spec", "subarch: amd64\ntarget: stage3\n");
    let e = f.errors();
    assert!(e[0].starts_with("stages/stage3.spec"), "{e:?}");
}
