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
fn a_dockerfile_stands_in_for_a_missing_containerfile_but_not_for_a_broken_one() {
    let f = family();
    f.write("images/dock/Dockerfile", "FROM base\nRUN true\n");
    let p = f.load().unwrap_or_else(|e| panic!("{e}"));
    let dock = p.graph.by_name("dock").unwrap();
    let reagent_graph::Recipe::Image(image) = &dock.recipe else {
        panic!("dock is an image");
    };
    assert!(
        image.containerfile.ends_with("images/dock/Dockerfile"),
        "{image:?}"
    );
    // A Containerfile that is there but cannot be read is the error, not skipped.
    std::os::unix::fs::symlink("nowhere", f.path("images/dock/Containerfile")).unwrap();
    let e = f.errors();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("images/dock/Containerfile"), "{e:?}");
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

#[test]
fn cycle_points_at_the_reference_that_closes_it() {
    let f = family();
    f.image(
        "01-base",
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY --from=app /x /y\n",
    );
    let e = f.errors();
    assert_eq!(
        e,
        ["images/01-base/Containerfile:3: dependency cycle: app -> base -> app"]
    );
}

#[test]
fn symlink_source_leading_out_of_the_context_is_an_error() {
    let f = family();
    std::os::unix::fs::symlink("/etc/passwd", f.path("images/app/pw")).unwrap();
    std::fs::create_dir_all(f.path("images/app/d")).unwrap();
    std::os::unix::fs::symlink("../../01-base/busybox", f.path("images/app/d/bb")).unwrap();
    f.image("app", "FROM base\nCOPY pw /\nCOPY d/* /\n");
    let e = f.errors();
    assert_eq!(
        e,
        ["images/app/Containerfile:2: source `pw` is a symlink to `/etc/passwd`, outside the build context"]
    );
    f.image("app", "FROM base\nRUN true\nCOPY d/* /\n");
    assert_eq!(
        f.errors(),
        ["images/app/Containerfile:3: source `d/bb` is a symlink to `../../01-base/busybox`, outside the build context"]
    );
    // A link that stays inside is fine, and so is one inside a copied folder.
    std::fs::remove_file(f.path("images/app/d/bb")).unwrap();
    std::os::unix::fs::symlink("../app.conf", f.path("images/app/d/ok")).unwrap();
    f.image("app", "FROM base\nCOPY d/ok /\nCOPY d /d\n");
    assert!(f.load().is_ok());
}

#[test]
fn unreadable_ignore_file_is_an_error_not_ignored() {
    let f = family();
    std::fs::create_dir(f.path("images/app/.containerignore")).unwrap();
    let e = f.errors();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("images/app/.containerignore: `.containerignore` is a folder"),
        "{e:?}"
    );
    std::fs::remove_dir(f.path("images/app/.containerignore")).unwrap();
    std::fs::write(f.path("images/app/.dockerignore"), b"a\n\xff\n").unwrap();
    assert_eq!(
        f.errors(),
        ["images/app/.dockerignore:2: not UTF-8 text: invalid byte 0xff at line 2"]
    );
}

#[test]
fn a_fifo_in_the_context_is_keyed_by_kind_without_reading_it() {
    let f = family();
    let ok = std::process::Command::new("mkfifo")
        .arg(f.path("images/app/pipe"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    f.image("app", "FROM base\nCOPY . /\n");
    let p = f.load().unwrap();
    let app = p.graph.by_name("app").unwrap();
    assert!(app.manifest.get("context:pipe").is_some());
}

#[test]
fn symlinked_image_folder_that_leads_nowhere_is_an_error() {
    let f = family();
    std::os::unix::fs::symlink("loop", f.path("images/loop")).unwrap();
    let e = f.errors();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("images/loop: `images/loop` is a symlink that cannot be followed"),
        "{e:?}"
    );
    // Plain files next to the image folders are not images and not errors.
    std::fs::remove_file(f.path("images/loop")).unwrap();
    f.write("images/README.md", "notes\n");
    assert!(f.load().is_ok());
}

#[test]
fn containerfile_that_is_not_a_file_says_what_it_is() {
    let f = family();
    std::fs::remove_file(f.path("images/tool/Containerfile")).unwrap();
    std::fs::create_dir(f.path("images/tool/Containerfile")).unwrap();
    assert_eq!(
        f.errors(),
        ["images/tool/Containerfile: `images/tool/Containerfile` is a folder, not a regular file"]
    );
    std::fs::remove_dir(f.path("images/tool/Containerfile")).unwrap();
    std::os::unix::fs::symlink("gone", f.path("images/tool/Containerfile")).unwrap();
    let e = f.errors();
    assert!(e[0].contains("is a symlink to `gone`"), "{e:?}");
}

#[test]
fn non_utf8_containerfile_names_the_line() {
    let f = family();
    std::fs::write(
        f.path("images/tool/Containerfile"),
        b"FROM base\nRUN \xe9\n",
    )
    .unwrap();
    assert_eq!(
        f.errors(),
        ["images/tool/Containerfile:2: not UTF-8 text: invalid byte 0xe9 at line 2"]
    );
}

#[test]
fn snapshot_name_must_be_a_node_name() {
    let f = family();
    std::fs::create_dir(f.path("tree")).unwrap();
    f.write(
        "graph.toml",
        "[snapshot]\npath = \"tree\"\nname = \"Gentoo Tree\"\n",
    );
    let e = f.errors();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("graph.toml:3: `Gentoo Tree` is not a valid node name"),
        "{e:?}"
    );
}

#[test]
fn target_must_name_a_stage() {
    let f = family();
    f.image("tool", "FROM base AS build\nRUN true\nFROM base\n");
    f.write(
        "graph.toml",
        "[project]\n\n[image.tool]\ntarget = \"runtime\"\n",
    );
    assert_eq!(
        f.errors(),
        ["graph.toml:4: [image.tool] target `runtime` is not a stage of images/tool/Containerfile (its named stages: build)"]
    );
    f.write("graph.toml", "[image.tool]\ntarget = \"BUILD\"\n");
    assert!(f.load().is_ok());
}

#[test]
fn an_empty_image_folder_with_a_table_gets_one_error() {
    let f = family();
    std::fs::create_dir_all(f.path("images/empty")).unwrap();
    f.write("graph.toml", "[image.empty]\nsquash = true\n");
    assert_eq!(
        f.errors(),
        ["images/empty: image folder has no Containerfile or Dockerfile"]
    );
}

#[test]
fn a_bad_context_or_containerfile_setting_names_its_graph_toml_line() {
    let f = family();
    f.write(
        "graph.toml",
        "[image.app]\nsquash = true\ncontext = \"nowhere\"\n",
    );
    assert_eq!(
        f.errors(),
        ["graph.toml:3: build context of image `app` is not a folder"]
    );
    f.write(
        "graph.toml",
        "[image.app]\n\ncontainerfile = \"images/app/Nope\"\n",
    );
    assert_eq!(
        f.errors(),
        ["graph.toml:3: `images/app/Nope` does not exist"]
    );
}

#[test]
fn references_buildah_rejects_are_errors_at_their_line() {
    let f = Fixture::new();
    f.image("a", "FROM Alpine:3.20\n")
        .image("b", "FROM alpine::3\n")
        .image("c", "FROM alpine:3.20:extra\n")
        .image("d", "ARG SUFFIX\nFROM binaries-$SUFFIX\n")
        .image("e", "FROM alpine@sha256:nothex\n")
        .image("f", "FROM scratch\nCOPY --from=Busybox /bin/sh /bin/sh\n");
    let e = f.errors();
    for (file, line, word) in [
        (
            "a",
            1,
            "`Alpine:3.20` is not a valid image reference: repository names must be lower-case",
        ),
        ("b", 1, "`alpine::3` is not a valid image reference"),
        ("c", 1, "`alpine:3.20:extra` is not a valid image reference"),
        ("d", 2, "`binaries-` is not a valid image reference"),
        (
            "e",
            1,
            "`alpine@sha256:nothex` is not a valid image reference: a digest",
        ),
        ("f", 2, "`Busybox` is not a valid image reference"),
    ] {
        let at = format!("images/{file}/Containerfile:{line}: {word}");
        assert!(e.iter().any(|m| m.starts_with(&at)), "{at}\n{e:#?}");
    }
    assert_eq!(e.len(), 6, "{e:#?}");
}

#[test]
fn an_unset_variable_in_a_reference_is_named() {
    let f = family();
    f.image("app", "ARG TAG\nFROM base:${TAG}\n");
    let e = f.errors();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("images/app/Containerfile:2: `base:` is not a valid image reference: the tag after `:` is empty (written `base:${TAG}`: is `TAG` unset?"),
        "{e:?}"
    );
}

#[test]
fn a_build_arg_from_cannot_see_says_to_declare_it() {
    let f = family();
    f.write(
        "graph.toml",
        "[image.app.args]\nIMAGE_PARENT = \"base\"\n[image.web.args]\nIMAGE_PARENT = \"base\"\n",
    );
    f.image("app", "FROM ${IMAGE_PARENT}\n")
        .image("web", "FROM ${IMAGE_PARENT}:1\n");
    let e = f.errors();
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e.iter().any(|m| m.starts_with("images/app/Containerfile:1: FROM `${IMAGE_PARENT}` expands to an empty image name: IMAGE_PARENT given as a build arg but not declared, so FROM cannot see it; add `ARG IMAGE_PARENT` before the first FROM")),
        "{e:#?}"
    );
    assert!(
        e.iter().any(|m| m
            .starts_with("images/web/Containerfile:1: `:1` is not a valid image reference")
            && m.contains("add `ARG IMAGE_PARENT` before the first FROM")),
        "{e:#?}"
    );
    // Declared, it links.
    f.image("app", "ARG IMAGE_PARENT\nFROM ${IMAGE_PARENT}\n")
        .image("web", "ARG IMAGE_PARENT\nFROM ${IMAGE_PARENT}:1\n");
    let p = f.load().unwrap();
    let app = p.graph.by_name("app").unwrap().id;
    let parents: Vec<&str> = p
        .graph
        .parents(app)
        .iter()
        .map(|n| p.graph.node(*n).name.as_str())
        .collect();
    assert_eq!(parents, ["base"]);
}

#[test]
fn docker_hub_short_names_match_a_docker_io_registry() {
    let f = family();
    f.write("graph.toml", "[project]\nregistry = \"docker.io/kubler\"\n");
    f.image("app", "FROM kubler/base:20240101\n")
        .image("web", "FROM docker.io/kubler/base\n");
    let p = f.load().unwrap();
    for child in ["app", "web"] {
        let id = p.graph.by_name(child).unwrap().id;
        let parents: Vec<&str> = p
            .graph
            .parents(id)
            .iter()
            .map(|n| p.graph.node(*n).name.as_str())
            .collect();
        assert_eq!(parents, ["base"], "{child}");
    }
}

#[test]
fn every_error_of_a_containerfile_is_listed() {
    let f = family();
    f.image(
        "app",
        "FROM base\nFROBNICATE x\nCOPY --bogus=1 a /a\nRUN --network=maybe true\nFROM base AS x\nFROM base AS x\n",
    )
    .image(
        "web",
        "FROM base\nCOPY ${A?missing} /a\nCOPY --from=3 /a /a\nFROM ${NOPE}\nRUN true\n",
    );
    let e = f.errors();
    let at: Vec<&str> = e.iter().map(|m| m.split(": ").next().unwrap()).collect();
    assert_eq!(
        at,
        [
            "images/app/Containerfile:2",
            "images/app/Containerfile:3",
            "images/app/Containerfile:4",
            "images/app/Containerfile:6",
            "images/web/Containerfile:2",
            "images/web/Containerfile:3",
            "images/web/Containerfile:4",
        ],
        "{e:#?}"
    );
}
