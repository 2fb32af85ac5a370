//! `reagent.lock` end to end, against real buildah and a real `docker-registry` on
//! loopback standing in for upstream: a moved tag or a replaced seed is built only
//! after `reagent lock --update`, and then only what is built on it; every machine
//! builds what the lock says; `--locked` refuses a lock that does not match.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::buildah::{tools_missing, BuildahProject, Run};
use reagent_backend::{Backend, BuildRequest, Cancel};
use reagent_testkit::{busybox_base, busybox_rootfs_tar, Registry, Storage};
use serde_json::Value;

/// The contents of FILE in `image` (read through `buildah mount`).
fn cat(p: &BuildahProject, image: &str, file: &str) -> String {
    let ctr = p
        .storage
        .buildah(&["from", "--quiet", "--pull=never", image]);
    let ctr = ctr.trim();
    let mnt = p.storage.buildah(&["mount", ctr]);
    let text = std::fs::read_to_string(Path::new(mnt.trim()).join(file.trim_start_matches('/')));
    p.storage.buildah(&["umount", ctr]);
    p.storage.buildah(&["rm", ctr]);
    text.unwrap_or_else(|e| panic!("{file} in {image}: {e}"))
}

/// The image `node` has now, by its key tag.
fn built(p: &BuildahProject, node: &str) -> String {
    format!("localhost/{node}:{}", p.key16(node))
}

/// "Upstream": busybox with `/version` holding `version`, pushed to `remote`; its digest.
fn push_upstream(upstream: &Storage, remote: &str, version: &str) -> String {
    let backend = upstream.backend();
    if backend.inspect("localhost/busybox:base").unwrap().is_none() {
        busybox_base(upstream, "localhost/busybox:base");
    }
    let ctx = tempfile::tempdir().unwrap();
    let file = ctx.path().join("Containerfile");
    std::fs::write(
        &file,
        format!("FROM localhost/busybox:base\nRUN echo {version} > /version\n"),
    )
    .unwrap();
    let req = BuildRequest {
        name: "upstream".into(),
        containerfile: file,
        context: ctx.path().to_path_buf(),
        args: BTreeMap::new(),
        target: None,
        platform: None,
        squash: false,
        labels: BTreeMap::new(),
        tags: vec![format!("localhost/upstream:{version}")],
        log: ctx.path().join("log"),
        secrets: BTreeMap::new(),
        volumes: Vec::new(),
        no_cache: false,
        format: reagent_backend::ImageFormat::default(),
    };
    backend.build(&req, &Cancel::new(), &mut |_| {}).unwrap();
    backend
        .push_with_digest(
            &format!("localhost/upstream:{version}"),
            remote,
            &Cancel::new(),
        )
        .unwrap()
}

/// `sha256:` and the first 12 hex digits, as reagent shows a digest.
fn short(digest: &str) -> String {
    format!("{}…", &digest[..19])
}

/// Nodes a `build --json` run built, sorted.
fn built_nodes(run: &Run) -> Vec<String> {
    let mut v: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "finished" && e["action"] == "build")
        .map(|e| e["node"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

fn build_json(p: &BuildahProject, args: &[&str]) -> Run {
    let mut all = vec!["build", "--json"];
    all.extend_from_slice(args);
    let run = p.run(&all);
    assert_eq!(run.code, Some(0), "reagent {all:?}\n{}", run.stderr);
    run
}

/// `(action, node)` per line of `build -n`.
fn plan(p: &BuildahProject) -> Vec<(String, String)> {
    p.ok(&["build", "-n", "all"])
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect()
}

fn lock_text(p: &BuildahProject) -> String {
    std::fs::read_to_string(p.path("reagent.lock")).unwrap()
}

/// app FROM the upstream image, leaf FROM app; base (busybox) and tools FROM base.
fn project_on(remote: &str) -> BuildahProject {
    let p = BuildahProject::new("[registry]\ntls_verify = false\n").with_busybox_base();
    p.write(
        "images/app/Containerfile",
        &format!("FROM {remote}\nRUN cat /version > /app-version\n"),
    );
    p.write("images/leaf/Containerfile", "FROM app\nRUN true\n");
    p.write("images/tools/Containerfile", "FROM base\nRUN true\n");
    p
}

#[test]
fn a_moved_upstream_tag_is_built_only_after_lock_update_and_only_what_is_on_it() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let upstream = Storage::new();
    let remote = format!("{}/upstream/base:1", registry.host());
    let d1 = push_upstream(&upstream, &remote, "1");
    let p = project_on(&remote);

    // First build: the reference is locked, the base pulled by digest (nobody pulled
    // it by hand), everything built.
    let first = build_json(&p, &["all"]);
    assert_eq!(built_nodes(&first), ["app", "base", "leaf", "tools"]);
    assert!(
        first
            .stderr
            .contains(&format!("{remote} locked at {}", short(&d1))),
        "{}",
        first.stderr
    );
    let locked = lock_text(&p);
    assert!(
        locked.contains(&format!("reference = \"{remote}\"\ndigest = \"{d1}\"\n")),
        "{locked}"
    );
    assert_eq!(cat(&p, &built(&p, "app"), "/app-version"), "1\n");
    p.ok(&["check", "--locked"]);

    // Upstream moves the tag. Nothing is rebuilt: the lock still says d1.
    let d2 = push_upstream(&upstream, &remote, "2");
    assert_ne!(d1, d2);
    let again = build_json(&p, &["all"]);
    assert!(built_nodes(&again).is_empty(), "{}", again.stdout);
    assert_eq!(lock_text(&p), locked);

    // Another machine with this commit (and an empty store) builds what the lock
    // says, not what the tag says now.
    let other = BuildahProject::new(p.extra_config());
    for rel in [
        "images/01-base/Containerfile",
        "images/01-base/busybox",
        "images/app/Containerfile",
        "images/leaf/Containerfile",
        "images/tools/Containerfile",
        "reagent.lock",
    ] {
        std::fs::create_dir_all(other.path(rel).parent().unwrap()).unwrap();
        std::fs::copy(p.path(rel), other.path(rel)).unwrap();
    }
    let elsewhere = build_json(&other, &["--locked", "app"]);
    assert_eq!(built_nodes(&elsewhere), ["app"]);
    assert_eq!(other.key("app"), p.key("app"), "one key, one content");
    assert_eq!(cat(&other, &built(&other, "app"), "/app-version"), "1\n");

    // The update, on purpose: exactly that entry changes, and says so.
    let updated = p.ok(&["lock", "--update"]);
    assert_eq!(
        updated,
        format!("{remote} {} → {}\n", short(&d1), short(&d2))
    );
    assert_eq!(lock_text(&p), locked.replace(&d1, &d2));
    let before = std::fs::read(p.path("reagent.lock")).unwrap();
    assert_eq!(p.ok(&["lock"]), "", "nothing to change");
    assert_eq!(
        std::fs::read(p.path("reagent.lock")).unwrap(),
        before,
        "byte for byte"
    );

    // The dry run lists exactly the images the new digest dirties.
    let mut dirty: Vec<String> = plan(&p)
        .into_iter()
        .filter(|(action, _)| action == "build")
        .map(|(_, node)| node)
        .collect();
    dirty.sort();
    assert_eq!(dirty, ["app", "leaf"]);
    let explained = p.ok(&["explain", "app"]);
    assert!(explained.contains(&format!("{remote}@{d2}")), "{explained}");
    assert!(
        explained.contains(&format!(
            "external image {remote} changed: {} -> {}",
            short(&d1),
            short(&d2)
        )),
        "{explained}"
    );

    let rebuilt = build_json(&p, &["all"]);
    assert_eq!(built_nodes(&rebuilt), ["app", "leaf"]);
    assert_eq!(cat(&p, &built(&p, "app"), "/app-version"), "2\n");
}

#[test]
fn locked_refuses_what_the_lock_lacks_or_no_longer_needs() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("");
    p.write(
        "images/app/Containerfile",
        "FROM nowhere.invalid/acme/base:1\nRUN true\n",
    );
    for args in [
        &["check", "--locked"][..],
        &["build", "--locked", "-R", "all"],
    ] {
        let Run { code, stderr, .. } = p.run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("`nowhere.invalid/acme/base:1` is not in reagent.lock"),
            "{stderr}"
        );
        assert!(
            stderr.contains("--> images/app/Containerfile:1"),
            "{stderr}"
        );
    }
    assert!(!p.path("reagent.lock").exists());
    let note = p.run(&["check"]);
    assert_eq!(note.code, Some(0), "{}", note.stderr);
    assert!(
        note.stderr.contains("reagent.lock lacks 1 external input"),
        "{}",
        note.stderr
    );

    // -R asks no registry, and local storage has no such image: a clear error.
    for args in [&["build", "-R", "all"][..], &["lock", "-R"]] {
        let Run { code, stderr, .. } = p.run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("-R asks no registry"), "{stderr}");
        assert!(
            stderr.contains("--> images/app/Containerfile:1"),
            "{stderr}"
        );
    }
    let unknown = p.run(&["lock", "--update", "nothing-like-it"]);
    assert_eq!(unknown.code, Some(2), "{}", unknown.stderr);

    // An entry nothing uses is refused too, at its line.
    p.write(
        "reagent.lock",
        &format!(
            "version = 1\n\n[[image]]\nreference = \"nowhere.invalid/acme/base:1\"\ndigest = \"sha256:{}\"\n\n[[image]]\nreference = \"gone:1\"\ndigest = \"sha256:{}\"\n",
            "a".repeat(64),
            "b".repeat(64)
        ),
    );
    let Run { code, stderr, .. } = p.run(&["check", "--locked"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`gone:1` is locked, but nothing in the project uses it"),
        "{stderr}"
    );
    assert!(stderr.contains("--> reagent.lock:8"), "{stderr}");
    assert!(!stderr.contains("nowhere.invalid"), "{stderr}");
    // `reagent lock` drops it (and asks nothing about what is locked).
    assert_eq!(p.ok(&["lock", "-R"]), "gone:1 removed (nothing uses it)\n");
    p.ok(&["check", "--locked"]);
}

#[test]
fn an_image_only_in_local_storage_is_locked_by_its_local_digest() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("");
    busybox_base(&p.storage, "localhost/mini-gentoo/stage3:r1");
    p.write(
        "images/app/Containerfile",
        "FROM mini-gentoo/stage3:r1\nRUN echo ok > /ok\n",
    );
    let run = build_json(&p, &["-R", "all"]);
    assert_eq!(built_nodes(&run), ["app"]);
    let digest = p
        .storage
        .buildah(&[
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.FromImageDigest}}",
            "mini-gentoo/stage3:r1",
        ])
        .trim()
        .to_string();
    assert!(
        run.stderr.contains(&format!(
            "mini-gentoo/stage3:r1 locked at {} (from local storage)",
            short(&digest)
        )),
        "{}",
        run.stderr
    );
    assert!(lock_text(&p).contains(&format!("digest = \"{digest}\"")));
    assert_eq!(cat(&p, &built(&p, "app"), "/ok"), "ok\n");
    let again = build_json(&p, &["-R", "--locked", "all"]);
    assert!(built_nodes(&again).is_empty());
}

/// A stand-in for catalyst: copies the seed it is given (`source_subpath` in the
/// storedir, `.tar.gz`) to where catalyst writes the stage, and notes the run.
const CATALYST: &str = r#"#!/bin/sh
set -eu
spec=$2
value() { sed -n "s/^$1:[[:space:]]*//p" "$spec"; }
out="$STOREDIR/builds/$(value rel_type)/$(value target)-$(value subarch)-$(value version_stamp).tar.gz"
mkdir -p "$(dirname "$out")"
cp "$STOREDIR/builds/$(value source_subpath).tar.gz" "$out"
echo "$(value target)" >> "$STOREDIR/ran"
"#;

const SEED: &str = "23.0-default/stage3-amd64-openrc-latest";

/// A gzipped busybox root filesystem with `/etc/seed` holding `version`.
fn seed_tarball(dir: &Path, version: &str) -> Vec<u8> {
    let tar = busybox_rootfs_tar(dir);
    std::fs::write(dir.join("rootfs/etc/seed"), format!("{version}\n")).unwrap();
    let status = Command::new("tar")
        .arg("-C")
        .arg(dir.join("rootfs"))
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let status = Command::new("gzip").arg("-kf").arg(&tar).status().unwrap();
    assert!(status.success());
    std::fs::read(tar.with_extension("tar.gz")).unwrap()
}

#[test]
fn a_replaced_external_seed_is_built_only_after_lock_update() {
    if tools_missing() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let storedir = work.path().join("catalyst");
    let catalyst = work.path().join("catalyst-standin");
    std::fs::write(&catalyst, CATALYST).unwrap();
    std::fs::set_permissions(&catalyst, std::fs::Permissions::from_mode(0o755)).unwrap();
    let seed = storedir.join(format!("builds/{SEED}.tar.gz"));
    std::fs::create_dir_all(seed.parent().unwrap()).unwrap();
    std::fs::create_dir_all(work.path().join("v1")).unwrap();
    std::fs::create_dir_all(work.path().join("v2")).unwrap();
    let v1 = seed_tarball(&work.path().join("v1"), "1");
    let v2 = seed_tarball(&work.path().join("v2"), "2");
    std::fs::write(&seed, &v1).unwrap();

    let p = BuildahProject::new(&format!(
        "[stages]\nstoredir = \"{}\"\n",
        storedir.display()
    ));
    p.write(
        "stages/stage1.spec",
        &format!("subarch: amd64\ntarget: stage1\nversion_stamp: openrc-1\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: abc\nsource_subpath: {SEED}\ncompression_mode: gzip\n"),
    );
    p.write(
        "images/01-base/Containerfile",
        "FROM stage1\nRUN cat /etc/seed > /seed\n",
    );
    p.write("images/app/Containerfile", "FROM base\nRUN true\n");
    p.write("images/other/Containerfile", "FROM scratch\nCOPY x /x\n");
    p.write("images/other/x", "x\n");
    let build = |args: &[&str]| -> Run {
        let mut all = vec!["build", "--json", "-R", "--catalyst-bin"];
        all.push(catalyst.to_str().unwrap());
        all.extend_from_slice(args);
        Run::from(p.command(&all).env("STOREDIR", &storedir).output().unwrap())
    };

    let first = build(&["all"]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(built_nodes(&first), ["app", "base", "other", "stage1"]);
    let lock = lock_text(&p);
    let sha = |bytes: &[u8]| {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(bytes))
    };
    assert!(
        lock.contains(&format!(
            "[[seed]]\nsource_subpath = \"{SEED}\"\nsha256 = \"{}\"\nsize = {}\n",
            sha(&v1),
            v1.len()
        )),
        "{lock}"
    );
    assert_eq!(cat(&p, &built(&p, "base"), "/seed"), "1\n");

    // The seed is replaced under the same name: nothing is rebuilt...
    std::fs::write(&seed, &v2).unwrap();
    let again = build(&["all"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(built_nodes(&again).is_empty());
    // ...and a stage that must be built from it refuses to build the new one
    // under the old key.
    let forced = build(&["--force", "stage1", "stage1"]);
    assert_eq!(forced.code, Some(1), "{}", forced.stderr);
    assert!(
        forced.stdout.contains("reagent.lock says"),
        "{}",
        forced.stdout
    );

    let updated = p.ok(&["lock", "--update", "stage3"]);
    assert_eq!(
        updated,
        format!(
            "seed {SEED} sha256:{}… → sha256:{}…\n",
            &sha(&v1)[..12],
            &sha(&v2)[..12]
        )
    );
    assert_eq!(
        lock_text(&p),
        lock.replace(&sha(&v1), &sha(&v2)).replace(
            &format!("size = {}", v1.len()),
            &format!("size = {}", v2.len())
        )
    );
    let rebuilt = build(&["all"]);
    assert_eq!(rebuilt.code, Some(0), "{}", rebuilt.stderr);
    assert_eq!(built_nodes(&rebuilt), ["app", "base", "stage1"]);
    assert_eq!(cat(&p, &built(&p, "base"), "/seed"), "2\n");
}
