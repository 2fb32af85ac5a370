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

// ---- issue 8 §1: shapes real releng specs have -------------------------------------------

fn parents(f: &Fixture, node: &str) -> Vec<String> {
    let p = f.load().unwrap_or_else(|e| panic!("{e}"));
    let g = &p.graph;
    g.parents(g.by_name(node).unwrap().id)
        .into_iter()
        .map(|d| g.node(d).name.clone())
        .collect()
}

#[test]
fn a_source_subpath_naming_the_tarball_links_to_the_stage_that_builds_it() {
    let f = project();
    f.write(
        "stages/stage3-amd64.spec",
        &STAGE3.replace(
            "stage1-amd64-openrc-@TIMESTAMP@\n",
            "stage1-amd64-openrc-@TIMESTAMP@.tar.xz\n",
        ),
    );
    assert_eq!(parents(&f, "stage3-amd64"), ["portage", "stage1-amd64"]);
    let p = f.load().unwrap();
    let s3 = p.graph.by_name("stage3-amd64").unwrap();
    assert!(
        s3.manifest.get("source_subpath").is_none(),
        "a linked parent is no external seed: {:?}",
        s3.manifest
    );
    // The child is rebuilt when its parent changes.
    let before = f.key("stage3-amd64");
    f.write(
        "stages/stage1-amd64.spec",
        &format!("{STAGE1}update_seed: yes\n"),
    );
    assert_ne!(before, f.key("stage3-amd64"));
}

#[test]
fn a_snapshot_target_is_rejected_at_its_line_pointing_at_the_snapshot_setting() {
    let f = project();
    f.write(
        "stages/snap.spec",
        "# portage\ntarget: snapshot\nversion_stamp: x\n",
    );
    let errors = f.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("stages/snap.spec:2:"), "{errors:?}");
    assert!(errors[0].contains("[snapshot] path"), "{errors:?}");
}

#[test]
fn two_specs_producing_one_build_name_both_specs_and_the_build() {
    let f = project();
    f.write("stages/stage3-copy.spec", STAGE3);
    let errors = f.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert!(e.contains("stages/stage3-amd64.spec"), "{e}");
    assert!(e.contains("stages/stage3-copy.spec"), "{e}");
    assert!(
        e.contains("23.0-default/stage3-amd64-openrc-20260101T000000Z"),
        "{e}"
    );
}

#[test]
fn a_spec_with_a_byte_order_mark_loads_and_a_missing_key_names_no_line() {
    let f = project();
    f.write("stages/stage1-amd64.spec", &format!("\u{feff}{STAGE1}"));
    assert_eq!(parents(&f, "stage3-amd64"), ["portage", "stage1-amd64"]);
    f.write(
        "stages/stage1-amd64.spec",
        &STAGE1.replace("subarch: amd64\n", ""),
    );
    let errors = f.errors();
    assert_eq!(
        errors,
        ["stages/stage1-amd64.spec: required key `subarch` is missing from the file (target `stage1` requires it)"]
    );
}

const LIVECD2: &str = "subarch: amd64\ntarget: livecd-stage2\nversion_stamp: @TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: @TREEISH@\nsource_subpath: 23.0-default/stage3-amd64-openrc-@TIMESTAMP@.tar.xz\nboot/kernel: gentoo\nlivecd/iso: install-amd64-minimal-@TIMESTAMP@.iso\n";

#[test]
fn an_iso_target_is_an_artifact_shown_as_such_that_no_image_can_use() {
    let f = project();
    f.write("stages/livecd.spec", LIVECD2);
    let p = f.load().unwrap_or_else(|e| panic!("{e}"));
    let g = &p.graph;
    let livecd = g.by_name("livecd").unwrap();
    assert_eq!(livecd.artifact(), Some(reagent_catalyst::OutputKind::Iso));
    assert_eq!(g.by_name("stage3-amd64").unwrap().artifact(), None);
    assert_eq!(parents(&f, "livecd"), ["portage", "stage3-amd64"]);
    let all = g.select(&[]);
    let tree = reagent_graph::render::tree(g, &all);
    assert!(
        tree.lines()
            .any(|l| l.contains("livecd (stage, ISO image, ")),
        "{tree}"
    );
    let json = reagent_graph::render::json(g, &all);
    assert!(json.contains("\"artifact\": \"iso\""), "{json}");
    let dot = reagent_graph::render::dot(g, &all);
    assert!(dot.contains("ISO image"), "{dot}");

    f.image("02-app", "FROM base\nRUN true\nFROM livecd\n");
    let errors = f.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("images/02-app/Containerfile:3:"),
        "{errors:?}"
    );
    assert!(errors[0].contains("ISO image"), "{errors:?}");
}
