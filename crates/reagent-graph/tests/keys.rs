//! Keys are deterministic, move with every input class, and ignore what can't change the image.

mod common;

use common::{family, Fixture};

#[test]
fn keys_are_deterministic() {
    let f = family();
    assert_eq!(f.key("app"), f.key("app"));
    let g = family();
    assert_eq!(f.key("app"), g.key("app"), "same inputs in another folder");
}

#[test]
fn moving_the_project_keeps_every_key() {
    let f = family();
    let before: Vec<String> = ["base", "app", "tool"].iter().map(|n| f.key(n)).collect();
    let moved = tempfile::tempdir().unwrap();
    let dest = moved.path().join("elsewhere");
    std::fs::rename(f.root(), &dest).unwrap();
    let p = reagent_graph::Project::load(&dest).unwrap();
    let after: Vec<String> = ["base", "app", "tool"]
        .iter()
        .map(|n| p.graph.by_name(n).unwrap().key.hex())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn touching_files_keeps_keys() {
    let f = family();
    let before = f.key("app");
    let conf = f.path("images/app/app.conf");
    let file = std::fs::File::options().write(true).open(&conf).unwrap();
    file.set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    assert_eq!(before, f.key("app"));
}

#[test]
fn containerfile_edit_moves_key_and_descendants_only() {
    let f = family();
    let (base, app, tool) = (f.key("base"), f.key("app"), f.key("tool"));
    f.image(
        "app",
        "FROM base\nARG FLAVOUR=plain\nCOPY app.conf /etc/app.conf\nRUN true\n",
    );
    assert_eq!(base, f.key("base"));
    assert_ne!(app, f.key("app"));
    assert_eq!(tool, f.key("tool"));
}

#[test]
fn context_file_edit_moves_image_and_children() {
    let f = family();
    let (base, app, tool) = (f.key("base"), f.key("app"), f.key("tool"));
    f.write("images/01-base/busybox", "a different busybox");
    assert_ne!(base, f.key("base"));
    assert_ne!(app, f.key("app"), "parent key is an input");
    assert_ne!(tool, f.key("tool"));
}

#[test]
fn files_not_copied_do_not_move_the_key() {
    let f = family();
    let app = f.key("app");
    f.write("images/app/NOTES.md", "unrelated");
    assert_eq!(app, f.key("app"));
}

#[test]
fn ignored_files_do_not_move_the_key() {
    let f = family();
    f.image("app", "FROM base\nCOPY . /srv/\n")
        .write("images/app/.containerignore", "*.log\n");
    let app = f.key("app");
    f.write("images/app/debug.log", "noise");
    assert_eq!(app, f.key("app"));
    f.write("images/app/extra.conf", "signal");
    assert_ne!(app, f.key("app"));
}

#[test]
fn executable_bit_moves_the_key() {
    use std::os::unix::fs::PermissionsExt;
    let f = family();
    let app = f.key("app");
    std::fs::set_permissions(
        f.path("images/app/app.conf"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    assert_ne!(app, f.key("app"));
}

#[test]
fn build_args_move_the_key_and_are_never_shown() {
    let f = family();
    let app = f.key("app");
    f.write(
        "graph.toml",
        "[image.app]\nargs = { FLAVOUR = \"s3cret-token\" }\n",
    );
    assert_ne!(app, f.key("app"));
    let p = f.load().unwrap();
    let m = &p.graph.by_name("app").unwrap().manifest;
    let input = m.get("arg:FLAVOUR").unwrap();
    assert_eq!(input.detail, None);
    assert!(!serde_json::to_string(m).unwrap().contains("s3cret"));
}

#[test]
fn use_flags_move_the_key_but_not_their_order() {
    let f = Fixture::new();
    f.image("solo", "FROM scratch\nRUN true\n");
    f.write("graph.toml", "[portage]\nuse = [\"ssl\", \"-X\"]\n");
    let a = f.key("solo");
    f.write("graph.toml", "[portage]\nuse = [\"-X\", \"ssl\"]\n");
    assert_eq!(a, f.key("solo"));
    f.write(
        "graph.toml",
        "[portage]\nuse = [\"-X\"]\n[image.solo]\nuse = [\"ssl\"]\n",
    );
    assert_eq!(a, f.key("solo"), "global then per-image gives the same set");
    f.write(
        "graph.toml",
        "[portage]\nuse = [\"ssl\", \"X\"]\n[image.solo]\nuse = [\"-X\"]\n",
    );
    assert_eq!(a, f.key("solo"), "per-image flags override global ones");
    f.write(
        "graph.toml",
        "[portage]\nuse = [\"-X\", \"ipv6\"]\n[image.solo]\nuse = [\"ssl\"]\n",
    );
    assert_ne!(a, f.key("solo"));
}

#[test]
fn portage_config_files_move_the_key() {
    let f = family();
    f.write("graph.toml", "[portage]\nconfig = \"portage\"\n")
        .write("portage/make.conf", "COMMON_FLAGS=\"-O2\"\n");
    let a = f.key("app");
    f.write("portage/package.use/nginx", "www-servers/nginx http2\n");
    assert_ne!(a, f.key("app"));
}

#[test]
fn squash_platform_target_and_external_bases_move_the_key() {
    let f = Fixture::new();
    f.image(
        "app",
        "FROM alpine:3.20 AS a\nFROM scratch\nCOPY --from=a /etc/os-release /\n",
    );
    let plain = f.key("app");
    f.write("graph.toml", "[image.app]\nsquash = true\n");
    let squashed = f.key("app");
    assert_ne!(plain, squashed);
    f.write(
        "graph.toml",
        "[image.app]\nsquash = true\nplatform = \"linux/arm64\"\n",
    );
    let for_arm64 = f.key("app");
    assert_ne!(squashed, for_arm64);
    f.write(
        "graph.toml",
        "[image.app]\nsquash = true\nplatform = \"linux/arm64\"\ntarget = \"a\"\n",
    );
    assert_ne!(for_arm64, f.key("app"));
    let project = f.load().unwrap();
    assert!(project
        .graph
        .by_name("app")
        .unwrap()
        .manifest
        .get("external:alpine:3.20")
        .is_some());
}

#[test]
fn a_sync_moves_only_images_built_from_the_snapshot() {
    let f = family();
    f.write("graph.toml", "[snapshot]\npath = \"tree\"\n")
        .write("tree/metadata/timestamp.commit", "aaaaaaaa 1700000000\n")
        .write("tree/app-misc/foo/foo-1.ebuild", "EAPI=8\n")
        // app mounts the tree to emerge; base, tool and web (FROM app) do not.
        .image(
            "app",
            "FROM base\nRUN --mount=type=bind,from=portage,source=/var/db/repos/gentoo,target=/var/db/repos/gentoo emerge foo\n",
        );
    let keys = |f: &Fixture| -> Vec<String> {
        ["portage", "base", "app", "web", "tool"]
            .iter()
            .map(|n| f.key(n))
            .collect()
    };
    let before = keys(&f);
    f.write("tree/metadata/timestamp.commit", "bbbbbbbb 1700000001\n");
    let after = keys(&f);
    let moved: Vec<&str> = ["portage", "base", "app", "web", "tool"]
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (b, a))| b != a)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(
        moved,
        ["portage", "app", "web"],
        "web moves only as app's child"
    );
    let p = f.load().unwrap();
    let app = p.graph.by_name("app").unwrap();
    assert!(app.manifest.get("parent:portage").is_some());
    assert!(p
        .graph
        .by_name("base")
        .unwrap()
        .manifest
        .get("snapshot")
        .is_none());
    match &app.recipe {
        reagent_graph::Recipe::Image(i) => {
            assert_eq!(
                i.snapshot,
                Some(reagent_graph::config::Invalidation::Packages)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rekey_pins_an_earlier_snapshot_key_and_children_follow() {
    let f = family();
    f.write(
        "graph.toml",
        "[snapshot]\npath = \"tree\"\n[image.web]\ninvalidation = \"tree\"\n",
    )
    .write("tree/metadata/timestamp.commit", "aaaaaaaa 1700000000\n")
    .image(
        "app",
        "FROM base\nRUN --mount=type=bind,from=portage,target=/r true\n",
    );
    let old = f.load().unwrap();
    let old_snapshot = old.graph.by_name("portage").unwrap().key;
    let old_app = old.graph.by_name("app").unwrap().key;
    let old_web = old.graph.by_name("web").unwrap().key;
    let app_k0 = old
        .graph
        .key_without_snapshot(old.graph.by_name("app").unwrap().id);

    f.write("tree/metadata/timestamp.commit", "bbbbbbbb 1700000001\n");
    let mut new = f.load().unwrap();
    assert_ne!(new.graph.by_name("app").unwrap().key, old_app);
    let app_id = new.graph.by_name("app").unwrap().id;
    assert_eq!(
        new.graph.key_without_snapshot(app_id),
        app_k0,
        "k0 ignores the sync"
    );
    let mut asked = Vec::new();
    new.graph.rekey(|g, id, k0| {
        asked.push(g.node(id).name.clone());
        (id == app_id && k0 == app_k0).then(|| reagent_graph::graph::Pin {
            key: old_snapshot,
            detail: "pinned".into(),
        })
    });
    assert_eq!(
        asked,
        ["app"],
        "only images built from the snapshot are asked"
    );
    assert_eq!(
        new.graph.by_name("app").unwrap().key,
        old_app,
        "the old build is still valid"
    );
    assert_eq!(
        new.graph.by_name("web").unwrap().key,
        old_web,
        "and so its child's"
    );
    let input = new
        .graph
        .by_name("app")
        .unwrap()
        .manifest
        .get("parent:portage")
        .cloned();
    assert_eq!(input.and_then(|i| i.detail).as_deref(), Some("pinned"));
}

#[test]
fn explain_lists_every_input() {
    let f = family();
    let p = f.load().unwrap();
    let app = p.graph.by_name("app").unwrap();
    let labels: Vec<&str> = app
        .manifest
        .inputs
        .iter()
        .map(|i| i.label.as_str())
        .collect();
    assert_eq!(
        labels,
        ["containerfile", "context:app.conf", "kind", "parent:base"]
    );
}

#[test]
fn an_arg_inside_an_add_url_moves_the_key_but_is_never_shown() {
    let f = Fixture::new();
    f.image(
        "app",
        "FROM scratch\nARG TOKEN\nADD https://user:${TOKEN}@example.com/x.tar /x.tar\n",
    );
    f.write(
        "graph.toml",
        "[image.app]\nargs = { TOKEN = \"hunter2secret\" }\n",
    );
    let p = f.load().unwrap();
    let m = &p.graph.by_name("app").unwrap().manifest;
    let json = serde_json::to_string(m).unwrap();
    assert!(!json.contains("hunter2secret"), "{json}");
    // Shown (and labelled) as written: the arg's name, never its value.
    assert!(
        m.get("remote:https://user:${TOKEN}@example.com/x.tar")
            .is_some(),
        "{json}"
    );
    let a = f.key("app");
    f.write(
        "graph.toml",
        "[image.app]\nargs = { TOKEN = \"another-secret\" }\n",
    );
    assert_ne!(a, f.key("app"));
}

#[test]
fn renaming_a_non_utf8_folder_in_the_context_moves_the_key() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    f.image("app", "FROM scratch\nCOPY a /a\n");
    let dir = f.path("images/app/a").join(OsStr::from_bytes(b"\xff"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f"), "x").unwrap();
    let before = f.key("app");
    std::fs::rename(
        &dir,
        f.path("images/app/a").join(OsStr::from_bytes(b"\xfe")),
    )
    .unwrap();
    assert_ne!(
        before,
        f.key("app"),
        "the review's reproduction: same key after the rename"
    );
    let p = f.load().unwrap();
    let m = &p.graph.by_name("app").unwrap().manifest;
    assert!(m.get("context:a/\\xfe/f").is_some(), "{m:?}");
}

#[test]
fn one_executable_rule_for_context_files_and_the_snapshot() {
    use std::os::unix::fs::PermissionsExt;
    let f = family();
    f.write("graph.toml", "[snapshot]\npath = \"tree\"\n")
        .write("tree/app-misc/foo/foo-1.ebuild", "EAPI=8\n");
    let mode = |rel: &str, m: u32| {
        std::fs::set_permissions(f.path(rel), std::fs::Permissions::from_mode(m)).unwrap();
    };
    mode("images/app/app.conf", 0o644);
    mode("tree/app-misc/foo/foo-1.ebuild", 0o644);
    let (app, snap) = (f.key("app"), f.key("portage"));
    // Group and other execute bits are no part of either key...
    mode("images/app/app.conf", 0o655);
    mode("tree/app-misc/foo/foo-1.ebuild", 0o655);
    assert_eq!(
        (f.key("app"), f.key("portage")),
        (app.clone(), snap.clone())
    );
    // ...the owner's is, in both.
    mode("images/app/app.conf", 0o755);
    mode("tree/app-misc/foo/foo-1.ebuild", 0o755);
    assert_ne!(f.key("app"), app);
    assert_ne!(f.key("portage"), snap);
}

#[test]
fn loading_writes_nothing_and_hands_back_the_snapshot_cache() {
    let f = family();
    f.write("graph.toml", "[snapshot]\npath = \"tree\"\n")
        .write("tree/app-misc/foo/foo-1.ebuild", "EAPI=8\n");
    let state = tempfile::tempdir().unwrap();
    let cache = state.path().join("state/snapshot-cache");
    let opts = reagent_graph::LoadOptions {
        snapshot_cache: Some(cache.clone()),
        ..Default::default()
    };
    let p = reagent_graph::Project::load_with(f.root(), &opts).unwrap();
    assert!(p.snapshot_cache_update.is_some());
    assert!(
        !state.path().join("state").exists(),
        "loading created state"
    );
    assert!(!f.path(".reagent").exists(), "loading created .reagent");
}

#[test]
fn docker_format_moves_the_key_and_writing_the_default_does_not() {
    let f = Fixture::new();
    f.image("app", "FROM scratch\nLABEL a=b\n");
    let plain = f.key("app");
    f.write("graph.toml", "[image.app]\nformat = \"oci\"\n");
    assert_eq!(plain, f.key("app"), "oci is the default: the same image");
    f.write("graph.toml", "[image.app]\nformat = \"docker\"\n");
    assert_ne!(plain, f.key("app"));
    let project = f.load().unwrap();
    let app = project.graph.by_name("app").unwrap();
    let input = app.manifest.get("format").unwrap();
    assert_eq!(input.label.class(), Some(reagent_graph::InputClass::Format));
    assert_eq!(input.detail.as_deref(), Some("docker"));
    let reagent_graph::Recipe::Image(recipe) = &app.recipe else {
        panic!("app is an image")
    };
    assert_eq!(recipe.format, reagent_graph::ImageFormat::Docker);
}

#[test]
fn every_context_path_is_its_own_input_whatever_its_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    f.image("app", "FROM scratch\nCOPY a /a\n");
    let dir = f.path("images/app/a");
    std::fs::create_dir_all(&dir).unwrap();
    // Two invalid bytes, the text their escape would read as, and what a lossy
    // conversion would make of either: four files, four inputs.
    let names: [&[u8]; 4] = [b"\xff", b"\xfe", b"\\xff", "\u{fffd}".as_bytes()];
    for (i, name) in names.iter().enumerate() {
        std::fs::write(dir.join(OsStr::from_bytes(name)), i.to_string()).unwrap();
    }
    let p = f.load().unwrap();
    let m = &p.graph.by_name("app").unwrap().manifest;
    let context: Vec<&str> = m
        .inputs
        .iter()
        .map(|i| i.label.as_str())
        .filter(|l| l.starts_with("context:a/") && !l.ends_with('/'))
        .collect();
    assert_eq!(context.len(), 4, "{context:?}");
}

/// The names of `child`'s parents.
fn parent_names(p: &reagent_graph::Project, child: &str) -> Vec<String> {
    let id = p.graph.by_name(child).unwrap().id;
    p.graph
        .parents(id)
        .iter()
        .map(|n| p.graph.node(*n).name.clone())
        .collect()
}

#[test]
fn target_args_come_from_the_image_platform() {
    let f = Fixture::new();
    f.image("base-amd64", "FROM scratch\nLABEL arch=amd64\n")
        .image("base-arm64", "FROM scratch\nLABEL arch=arm64\n")
        .image("app", "FROM localhost/base-${TARGETARCH}\n")
        .image("host", "FROM localhost/base-${BUILDARCH}\n")
        .image("own", "FROM localhost/base-${TARGETARCH}\n");
    f.write(
        "graph.toml",
        "[image.app]\nplatform = \"linux/arm64\"\n\
         [image.host]\nplatform = \"linux/arm64\"\n\
         [image.own]\nplatform = \"linux/arm64\"\nargs = { TARGETARCH = \"amd64\" }\n",
    );
    let p = f.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parent_names(&p, "app"), ["base-arm64"]);
    let host = reagent_graph::platform::Platform::host().arch;
    if host == "amd64" || host == "arm64" {
        assert_eq!(parent_names(&p, "host"), [format!("base-{host}")]);
    }
    assert_eq!(parent_names(&p, "own"), ["base-amd64"]);
}

#[test]
fn a_stage_named_by_a_platform_arg_is_a_stage_not_an_image() {
    // docker/buildx's Dockerfile: `FROM binaries-$TARGETOS AS binaries`.
    let f = Fixture::new();
    f.image(
        "buildx",
        "FROM scratch AS binaries-linux\nCOPY a /a\nFROM scratch AS binaries-darwin\nFROM binaries-$TARGETOS AS binaries\n",
    );
    f.write("images/buildx/a", "a");
    f.write("graph.toml", "[image.buildx]\nplatform = \"linux/arm64\"\n");
    let p = f.load().unwrap_or_else(|e| panic!("{e}"));
    let node = p.graph.by_name("buildx").unwrap();
    let reagent_graph::Recipe::Image(recipe) = &node.recipe else {
        panic!("an image")
    };
    assert!(recipe.external.is_empty(), "{:?}", recipe.external);
    assert!(parent_names(&p, "buildx").is_empty());
}

#[test]
fn a_file_copy_excludes_is_not_an_input() {
    let f = Fixture::new();
    f.image(
        "app",
        "FROM scratch\nCOPY --exclude=*.log --exclude=cache . /app/\n",
    );
    f.write("images/app/main.c", "int main;\n");
    f.write("images/app/debug.log", "one\n");
    f.write("images/app/cache/blob", "one\n");
    let before = f.key("app");
    f.write("images/app/debug.log", "two\n");
    f.write("images/app/cache/blob", "two\n");
    assert_eq!(before, f.key("app"), "an excluded file moved the key");
    let p = f.load().unwrap();
    let m = &p.graph.by_name("app").unwrap().manifest;
    assert!(m.get("context:debug.log").is_none());
    assert!(m.get("context:main.c").is_some());
    f.write("images/app/main.c", "int main = 1;\n");
    assert_ne!(before, f.key("app"));
}

#[test]
fn files_a_parents_onbuild_trigger_reads_are_the_childs_inputs() {
    let f = Fixture::new();
    f.write("graph.toml", "[buildah]\nformat = \"docker\"\n");
    f.image(
        "base",
        "FROM scratch\nONBUILD COPY app.conf /etc/app.conf\n",
    )
    .image("app", "FROM base\n")
    .image("copier", "FROM scratch\nCOPY --from=base /etc /etc\n");
    f.write("images/app/app.conf", "port=80\n");
    let before = f.key("app");
    let copier = f.key("copier");
    let p = f.load().unwrap();
    let m = &p.graph.by_name("app").unwrap().manifest;
    assert!(m.get("context:app.conf").is_some(), "{:?}", m.inputs);
    f.write("images/app/app.conf", "port=8080\n");
    assert_ne!(
        before,
        f.key("app"),
        "the trigger's file did not move the key"
    );
    // COPY --from runs no trigger: nothing of it is an input there.
    assert_eq!(copier, f.key("copier"));

    std::fs::remove_file(f.path("images/app/app.conf")).unwrap();
    let e = f.errors();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("images/app/Containerfile:1: the ONBUILD trigger `COPY app.conf /etc/app.conf` of `base` (images/base/Containerfile:2) fails in this image: source `app.conf` does not exist in the build context"),
        "{e:?}"
    );
}
