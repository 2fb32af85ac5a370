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
