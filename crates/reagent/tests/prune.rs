//! `reagent prune` against real buildah: old builds go, current ones and the
//! most recent previous builds stay, and nothing current is ever rebuilt after.

mod common;

use common::buildah::{tools_missing, BuildahProject};

fn app_images(p: &BuildahProject) -> Vec<String> {
    let mut v: Vec<String> = p
        .storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"])
        .lines()
        .filter(|l| l.starts_with("localhost/app:") && !l.ends_with(":latest"))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn prune_removes_superseded_and_retired_images_only() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("").with_busybox_base();
    let mut keys = Vec::new();
    for version in 1..=3 {
        p.write(
            "images/app/Containerfile",
            &format!("FROM base\nRUN echo {version} > /v\n"),
        );
        p.ok(&["build", "-R", "all"]);
        keys.push(p.key16("app"));
    }
    assert_eq!(app_images(&p).len(), 3);

    let dry = p.ok(&["prune", "-n"]);
    assert!(
        dry.contains(&format!("would remove app {}", keys[0])),
        "{dry}"
    );
    assert!(!dry.contains(&keys[1]) && !dry.contains(&keys[2]), "{dry}");
    assert_eq!(app_images(&p).len(), 3, "a dry run removes nothing");

    let done = p.ok(&["prune", "--keep", "0"]);
    assert!(done.contains("removed 2 image(s)"), "{done}");
    assert_eq!(app_images(&p), [format!("localhost/app:{}", keys[2])]);
    let rebuilt = p.ok(&["build", "-R", "--json", "all"]);
    assert!(
        !rebuilt.contains("\"finished\""),
        "nothing current was removed: {rebuilt}"
    );

    std::fs::remove_dir_all(p.path("images/app")).unwrap();
    let retired = p.ok(&["prune"]);
    assert!(
        retired.contains("its node is no longer in the project"),
        "{retired}"
    );
    assert!(app_images(&p).is_empty());
}

#[test]
fn two_projects_in_one_store_prune_only_their_own_images() {
    if tools_missing() {
        return;
    }
    let a = BuildahProject::new("[project]\nname = \"alpha\"\n").with_busybox_base();
    a.write("images/app/Containerfile", "FROM base\nRUN echo a1 > /v\n");
    a.build_all();
    // Project beta shares alpha's store (its graph.toml names the same root), and
    // has a node, `web`, that alpha does not.
    let b = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(a.path("graph.toml"))
        .unwrap()
        .replace("name = \"alpha\"", "name = \"beta\"");
    std::fs::write(b.path().join("graph.toml"), config).unwrap();
    for (folder, cf) in [
        ("01-base", common::buildah::BUSYBOX_BASE),
        ("web", "FROM base\nRUN echo b > /v\n"),
    ] {
        std::fs::create_dir_all(b.path().join("images").join(folder)).unwrap();
        std::fs::write(
            b.path().join("images").join(folder).join("Containerfile"),
            cf,
        )
        .unwrap();
    }
    std::fs::copy("/bin/busybox", b.path().join("images/01-base/busybox")).unwrap();
    let reagent_b = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_reagent"))
            .arg("-C")
            .arg(b.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    reagent_b(&["build", "-R", "all"]);
    let beta_images = |p: &BuildahProject| -> Vec<String> {
        let mut v: Vec<String> = p
            .storage
            .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"])
            .lines()
            .filter(|l| l.starts_with("localhost/web:"))
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let theirs = beta_images(&a);
    assert_eq!(theirs.len(), 2, "web's key tag and latest: {theirs:?}");

    // Alpha moves on; its old app build is superseded.
    a.write("images/app/Containerfile", "FROM base\nRUN echo a2 > /v\n");
    a.build_all();
    let done = a.ok(&["prune", "--keep", "0"]);
    assert!(done.contains("removed 1 image(s)"), "{done}");
    assert!(!done.contains("web"), "alpha pruned beta's node: {done}");
    assert_eq!(beta_images(&a), theirs, "beta's images are untouched");
    // And beta, pruning, leaves alpha's current build alone.
    let alpha_app = app_images(&a);
    let done_b = reagent_b(&["prune", "--keep", "0"]);
    assert!(done_b.contains("removed 0 image(s)"), "{done_b}");
    assert_eq!(app_images(&a), alpha_app);
}
