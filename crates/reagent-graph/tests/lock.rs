//! `reagent.lock` in loading: external images and seeds are keyed by what the lock
//! pins them to, what it lacks or no longer needs is listed, and a broken lock is a
//! project error at its line.

mod common;

use common::Fixture;
use reagent_graph::lockfile::{Entry, Tarball};
use reagent_graph::{Lockfile, Project};

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn lock_text(entries: &[(&str, Option<&str>, &str)]) -> String {
    let mut lock = Lockfile::new();
    for (reference, platform, digest) in entries {
        lock.set_image(reference, *platform, digest);
    }
    lock.render()
}

/// base FROM alpine:3.20 (and COPY --from busybox); app FROM base; arm FROM alpine:3.20
/// for linux/arm64; pinned FROM a digest.
fn project() -> Fixture {
    let f = Fixture::new();
    f.write("graph.toml", "[image.arm]\nplatform = \"linux/arm64\"\n")
        .image(
            "01-base",
            "FROM alpine:3.20\nCOPY --from=busybox:1.36 /bin/busybox /bin/\n",
        )
        .image("app", "FROM base\nRUN true\n")
        .image("arm", "ARG V=3.20\nFROM alpine:${V}\n")
        .image("pinned", &format!("FROM alpine@{}\n", digest('f')));
    f
}

fn load(f: &Fixture) -> Project {
    f.load().unwrap_or_else(|e| panic!("{e}"))
}

fn input(p: &Project, node: &str, label: &str) -> (String, Option<String>) {
    let i = p
        .graph
        .by_name(node)
        .unwrap()
        .manifest
        .get(label)
        .unwrap_or_else(|| panic!("{node} has no {label}"))
        .clone();
    (i.hash, i.detail)
}

#[test]
fn without_a_lock_references_key_by_name_and_are_listed_as_unlocked() {
    let f = project();
    let p = load(&f);
    assert!(p.lock.is_empty());
    let unlocked: Vec<String> = p.unlocked.iter().map(|u| u.entry.to_string()).collect();
    assert_eq!(
        unlocked,
        ["alpine:3.20 (linux/arm64)", "alpine:3.20", "busybox:1.36"],
        "each once, in node order; a digest in the reference is its own lock"
    );
    let first = &p.unlocked[0];
    assert_eq!(first.file, std::path::Path::new("images/arm/Containerfile"));
    assert_eq!(first.line, Some(2));
    assert_eq!(
        input(&p, "base", "external:alpine:3.20").1.as_deref(),
        Some("alpine:3.20")
    );
    assert!(!p.lock_is_exact());
    let errors: Vec<String> = p.lock_errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors[1],
        "images/01-base/Containerfile:1: `alpine:3.20` is not in reagent.lock (run `reagent lock` to lock it)"
    );
}

#[test]
fn a_locked_digest_keys_the_reference_per_platform() {
    let f = project();
    let unlocked = load(&f);
    f.write(
        "reagent.lock",
        &lock_text(&[
            ("alpine:3.20", None, &digest('a')),
            ("alpine:3.20", Some("linux/arm64"), &digest('b')),
            ("busybox:1.36", None, &digest('c')),
        ]),
    );
    let p = load(&f);
    assert!(p.lock_is_exact(), "{:?} {:?}", p.unlocked, p.unused);
    let (hash, detail) = input(&p, "base", "external:alpine:3.20");
    assert_eq!(detail, Some(format!("alpine:3.20@{}", digest('a'))));
    assert_eq!(
        hash,
        blake3::hash(digest('a').as_bytes()).to_hex().to_string()
    );
    assert_eq!(
        input(&p, "arm", "external:alpine:3.20").1,
        Some(format!("alpine:3.20@{}", digest('b')))
    );
    let key = |p: &Project, n: &str| p.graph.by_name(n).unwrap().key;
    for node in ["base", "app", "arm"] {
        assert_ne!(key(&p, node), key(&unlocked, node), "{node}");
    }
    assert_eq!(key(&p, "pinned"), key(&unlocked, "pinned"));
    let recipe = match &p.graph.by_name("base").unwrap().recipe {
        reagent_graph::Recipe::Image(i) => i.clone(),
        _ => unreachable!(),
    };
    let pins: Vec<Option<String>> = recipe
        .external
        .iter()
        .map(reagent_graph::ExternalImage::pinned)
        .collect();
    assert_eq!(
        pins,
        [
            Some(format!("alpine:3.20@{}", digest('a'))),
            Some(format!("busybox:1.36@{}", digest('c')))
        ]
    );

    // A new digest for one reference moves the images built on it, and only them.
    f.write(
        "reagent.lock",
        &lock_text(&[
            ("alpine:3.20", None, &digest('a')),
            ("alpine:3.20", Some("linux/arm64"), &digest('d')),
            ("busybox:1.36", None, &digest('c')),
        ]),
    );
    let moved = load(&f);
    assert_eq!(key(&moved, "base"), key(&p, "base"));
    assert_eq!(key(&moved, "app"), key(&p, "app"));
    assert_ne!(key(&moved, "arm"), key(&p, "arm"));
}

#[test]
fn applying_a_lock_keys_like_loading_with_it() {
    let f = project();
    let mut p = load(&f);
    let mut lock = Lockfile::new();
    lock.set_image("alpine:3.20", None, &digest('a'));
    lock.set_image("alpine:3.20", Some("linux/arm64"), &digest('b'));
    lock.set_image("gone:1", None, &digest('e'));
    p.apply_lock(lock.clone());
    f.write("reagent.lock", &lock.render());
    let read = load(&f);
    for node in read.graph.nodes() {
        let applied = p.graph.by_name(&node.name).unwrap();
        assert_eq!(applied.key, node.key, "{}", node.name);
        assert_eq!(applied.manifest, node.manifest, "{}", node.name);
    }
    assert_eq!(p.unlocked, read.unlocked);
    assert_eq!(
        p.unlocked.iter().map(|u| &u.entry).collect::<Vec<_>>(),
        [&Entry::image("busybox:1.36", None)]
    );
    assert_eq!(p.unused, [Entry::image("gone:1", None)]);
    let unused = read.lock_errors().pop().unwrap();
    assert_eq!(unused.file, std::path::Path::new("reagent.lock"));
    assert_eq!(unused.line, Some(16), "{unused}");
    assert!(unused.message.contains("nothing in the project uses it"));
}

const STAGE1: &str = "subarch: amd64\ntarget: stage1\nversion_stamp: openrc-1\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: abc\nsource_subpath: 23.0-default/stage3-amd64-openrc-latest\n";

#[test]
fn an_external_seed_is_keyed_by_its_locked_hash() {
    let f = Fixture::new();
    f.write("stages/stage1.spec", STAGE1)
        .image("01-base", "FROM stage1\n");
    let p = load(&f);
    assert_eq!(
        p.unlocked[0].error().to_string(),
        "stages/stage1.spec:7: `seed 23.0-default/stage3-amd64-openrc-latest` is not in reagent.lock (run `reagent lock` to lock it)"
    );
    let mut lock = Lockfile::new();
    let tarball = |c: char| Tarball {
        sha256: c.to_string().repeat(64),
        size: 7,
    };
    lock.set_seed("23.0-default/stage3-amd64-openrc-latest", tarball('a'));
    f.write("reagent.lock", &lock.render());
    let a = load(&f);
    assert!(a.lock_is_exact());
    assert_eq!(
        input(&a, "stage1", "source_subpath").1,
        Some(format!(
            "23.0-default/stage3-amd64-openrc-latest {}",
            digest('a')
        ))
    );
    lock.set_seed("23.0-default/stage3-amd64-openrc-latest", tarball('b'));
    f.write("reagent.lock", &lock.render());
    let b = load(&f);
    for node in ["stage1", "base"] {
        assert_ne!(
            a.graph.by_name(node).unwrap().key,
            b.graph.by_name(node).unwrap().key,
            "{node}"
        );
    }
}

#[test]
fn a_broken_lock_is_reported_with_the_other_problems() {
    let f = project();
    f.write(
        "reagent.lock",
        "version = 1\n[[image]]\nreference = \"alpine:3.20\"\ndigest = \"latest\"\n",
    )
    .image("bad", "FROM localhost/nope\n");
    let errors = f.errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("reagent.lock:4: digest `latest`"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("images/bad/Containerfile:1:"),
        "{errors:?}"
    );
}
