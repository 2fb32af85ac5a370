//! Reading containers-storage's image list and labels from disk, against real
//! buildah stores (vfs and overlay, each with its own `--root`/`--runroot`),
//! and the fallback to `buildah images` when the store may hold more than its
//! graph root lists.
//!
//! Working containers are read the same way, from `containers.json`.
//! The direct path is proven to start no process by pointing the backend at a
//! buildah binary that does not exist: it must still list every image.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use reagent_backend::{Backend, BackendError, Buildah, BuildahSettings, NamedImage};
use reagent_testkit::{require_tools, Storage};

macro_rules! tools_or_skip {
    () => {
        if !require_tools() {
            eprintln!("skipped: buildah/skopeo/docker-registry/busybox not installed");
            return;
        }
    };
}

/// Make an empty image carrying `labels`, named `names` (none: untagged); its id.
fn image(storage: &Storage, labels: &[(&str, &str)], names: &[&str]) -> String {
    let ctr = storage.buildah(&["from", "scratch"]);
    let ctr = ctr.trim();
    let mut config = vec!["config"];
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for p in &pairs {
        config.extend(["--label", p.as_str()]);
    }
    config.push(ctr);
    storage.buildah(&config);
    let mut commit = vec!["commit", "--quiet", ctr];
    if let Some(first) = names.first() {
        commit.push(first);
    }
    let id = storage.buildah(&commit).trim().to_string();
    if names.len() > 1 {
        let mut tag = vec!["tag", id.as_str()];
        tag.extend(&names[1..]);
        storage.buildah(&tag);
    }
    storage.buildah(&["rm", ctr]);
    id
}

/// What `buildah images --all --json` says: id → sorted names.
fn buildah_listing(storage: &Storage) -> BTreeMap<String, Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Listed {
        id: String,
        names: Option<Vec<String>>,
    }
    let out = storage.buildah(&["images", "--all", "--json", "--no-trunc"]);
    let listed: Option<Vec<Listed>> = serde_json::from_str(out.trim()).unwrap();
    listed
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            let mut names = l.names.unwrap_or_default();
            names.sort();
            (l.id.trim_start_matches("sha256:").to_string(), names)
        })
        .collect()
}

fn by_id(images: Vec<NamedImage>) -> BTreeMap<String, Vec<String>> {
    images
        .into_iter()
        .map(|mut i| {
            i.names.sort();
            (i.id, i.names)
        })
        .collect()
}

/// Settings whose buildah binary does not exist: any process would fail.
fn no_buildah(storage: &Storage) -> Buildah {
    Buildah::new(BuildahSettings {
        binary: PathBuf::from("/nonexistent/buildah"),
        ..storage.settings()
    })
}

fn lists_and_labels_from_disk(driver: &str) {
    let storage = Storage::with_driver(driver);
    // An empty store reads as empty, before and after buildah first opens it.
    assert_eq!(no_buildah(&storage).image_names().unwrap(), Vec::new());
    storage.buildah(&["images"]);
    assert_eq!(no_buildah(&storage).image_names().unwrap(), Vec::new());

    let a = image(
        &storage,
        &[("org.reagent.key", "aaaa"), ("org.reagent.node", "a")],
        &["localhost/a:aaaa", "localhost/a:latest"],
    );
    let b = image(
        &storage,
        &[("org.reagent.key", "bbbb")],
        &["localhost/b:bbbb"],
    );
    let untagged = image(&storage, &[("org.reagent.key", "cccc")], &[]);

    let direct = no_buildah(&storage);
    let listed = by_id(direct.image_names().unwrap());
    assert_eq!(listed, buildah_listing(&storage));
    assert_eq!(
        listed.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([a.clone(), b.clone(), untagged.clone()])
    );
    assert_eq!(listed[&a], ["localhost/a:aaaa", "localhost/a:latest"]);
    assert!(listed[&untagged].is_empty());

    // Labels of one image, by id, from its config blob.
    let labels = direct.local_labels(&a).unwrap().expect("a is there");
    assert_eq!(labels["org.reagent.key"], "aaaa");
    assert_eq!(labels["org.reagent.node"], "a");
    assert_eq!(
        direct.local_labels(&untagged).unwrap().unwrap()["org.reagent.key"],
        "cccc"
    );
    // Every image with its labels, also without a process.
    let all = direct.images().unwrap();
    assert_eq!(all.len(), 3);
    let b_image = all.iter().find(|i| i.id == b).unwrap();
    assert_eq!(b_image.labels["org.reagent.key"], "bbbb");
    assert_eq!(
        b_image.labels,
        storage.backend().inspect(&b).unwrap().unwrap().labels
    );

    // A removed image is gone from the list at once, and its labels say so
    // (through `buildah inspect`, so with the real binary).
    storage.buildah(&["rmi", &b]);
    assert!(!by_id(direct.image_names().unwrap()).contains_key(&b));
    assert_eq!(storage.backend().local_labels(&b).unwrap(), None);
    // Working containers, too: the one buildah has open, then none.
    assert_eq!(direct.containers().unwrap(), Vec::<String>::new());
    let ctr = storage.buildah(&["from", "scratch"]);
    let ctr_id = storage.buildah(&["inspect", "--format", "{{.ContainerID}}", ctr.trim()]);
    assert_eq!(direct.containers().unwrap(), [ctr_id.trim()]);
    storage.buildah(&["rm", ctr.trim()]);
    assert_eq!(direct.containers().unwrap(), Vec::<String>::new());
    // Renaming shows at once too.
    storage.buildah(&["tag", &a, "localhost/a:new"]);
    assert!(by_id(direct.image_names().unwrap())[&a].contains(&"localhost/a:new".to_string()));
}

#[test]
fn a_vfs_store_lists_and_labels_its_images_without_buildah() {
    tools_or_skip!();
    lists_and_labels_from_disk("vfs");
}

#[test]
fn an_overlay_store_lists_and_labels_its_images_without_buildah() {
    tools_or_skip!();
    lists_and_labels_from_disk("overlay");
}

#[test]
fn storage_options_given_as_raw_flags_send_the_listing_to_buildah() {
    tools_or_skip!();
    let storage = Storage::new();
    let a = image(
        &storage,
        &[("org.reagent.key", "aaaa")],
        &["localhost/a:aaaa"],
    );
    let with_opt = |binary: PathBuf| {
        Buildah::new(BuildahSettings {
            binary,
            extra_args: vec![
                "--storage-opt".into(),
                "vfs.ignore_chown_errors=true".into(),
            ],
            ..storage.settings()
        })
    };
    // The list comes from buildah: with no binary it fails...
    let err = with_opt(PathBuf::from("/nonexistent/buildah"))
        .image_names()
        .unwrap_err();
    assert!(matches!(err, BackendError::Spawn { .. }), "{err:?}");
    // ...and with the real one it is the same list the disk holds.
    let via_buildah = by_id(with_opt(PathBuf::from("buildah")).image_names().unwrap());
    assert_eq!(
        via_buildah,
        by_id(no_buildah(&storage).image_names().unwrap())
    );
    assert_eq!(via_buildah[&a], ["localhost/a:aaaa"]);
}

#[test]
fn an_unknown_layout_falls_back_to_buildah() {
    tools_or_skip!();
    let storage = Storage::new();
    let a = image(
        &storage,
        &[("org.reagent.key", "aaaa")],
        &["localhost/a:aaaa"],
    );
    let root = storage.settings().root.unwrap();
    // Move the image list aside, as a store laid out differently would have it:
    // the direct read must not say "no images", it must ask buildah.
    let list = root.join("vfs-images/images.json");
    let aside = root.join("vfs-images/images.json.aside");
    std::fs::rename(&list, &aside).unwrap();
    std::fs::write(&list, b"{\"layout\": \"not an array\"}").unwrap();
    let err = no_buildah(&storage).image_names().unwrap_err();
    assert!(matches!(err, BackendError::Spawn { .. }), "{err:?}");
    std::fs::rename(&aside, &list).unwrap();
    assert_eq!(
        by_id(no_buildah(&storage).image_names().unwrap())[&a],
        ["localhost/a:aaaa"]
    );
}
