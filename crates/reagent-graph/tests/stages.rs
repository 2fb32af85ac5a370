//! Catalyst stages chain through `source_subpath`; images use them by name.

mod common;

use common::Fixture;

const STAGE1: &str = "subarch: amd64\ntarget: stage1\nversion_stamp: openrc-@TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: @TREEISH@\nsource_subpath: 23.0-default/stage3-amd64-openrc-latest\n";
const STAGE3: &str = "subarch: amd64\ntarget: stage3\nversion_stamp: openrc-@TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: @TREEISH@\nsource_subpath: 23.0-default/stage1-amd64-openrc-@TIMESTAMP@\n";

fn project() -> Fixture {
    let f = Fixture::new();
    f.write(
        "graph.toml",
        "[snapshot]\npath = \"tree\"\n[stages]\nvars = { TIMESTAMP = \"20260101T000000Z\", TREEISH = \"abc\" }\n",
    )
    .write("tree/metadata/timestamp.commit", "0123456789abcdef0123456789abcdef01234567 1\n")
    .write("stages/stage1-amd64.spec", STAGE1)
    .write("stages/stage3-amd64.spec", STAGE3)
    .image("01-base", "FROM stage3-amd64\nRUN true\n");
    f
}

#[test]
fn stages_chain_and_images_use_them() {
    let f = project();
    let p = f.load().unwrap_or_else(|e| panic!("{e}"));
    let g = &p.graph;
    let names = |n: &str| -> Vec<String> {
        g.parents(g.by_name(n).unwrap().id)
            .into_iter()
            .map(|d| g.node(d).name.clone())
            .collect()
    };
    assert_eq!(names("stage3-amd64"), ["portage", "stage1-amd64"]);
    assert_eq!(names("stage1-amd64"), ["portage"]);
    assert_eq!(names("base"), ["stage3-amd64"]);
    let s1 = g.by_name("stage1-amd64").unwrap();
    assert_eq!(
        s1.manifest.get("source_subpath").unwrap().detail.as_deref(),
        Some("23.0-default/stage3-amd64-openrc-latest"),
        "an external seed is an input by its path"
    );
}

#[test]
fn spec_vars_move_stage_keys() {
    let f = project();
    let a = f.key("stage3-amd64");
    f.write(
        "graph.toml",
        "[snapshot]\npath = \"tree\"\n[stages]\nvars = { TIMESTAMP = \"20260202T000000Z\", TREEISH = \"abc\" }\n",
    );
    assert_ne!(a, f.key("stage3-amd64"));
}

#[test]
fn spec_comments_do_not_move_stage_keys() {
    let f = project();
    let a = f.key("stage1-amd64");
    f.write(
        "stages/stage1-amd64.spec",
        &format!("# a comment\n\n{STAGE1}"),
    );
    assert_eq!(a, f.key("stage1-amd64"));
}

#[test]
fn seed_stage_is_keyed_by_its_sha256() {
    let f = Fixture::new();
    let sum = "ab".repeat(32);
    f.write(
        "graph.toml",
        &format!("[stage.seed3]\nseed = \"stage3.tar.xz\"\nsha256 = \"{sum}\"\n"),
    )
    .image("base", "FROM seed3\n");
    let a = f.key("base");
    f.write(
        "graph.toml",
        &format!(
            "[stage.seed3]\nseed = \"stage3.tar.xz\"\nsha256 = \"{}\"\n",
            "cd".repeat(32)
        ),
    );
    assert_ne!(a, f.key("base"));
}
