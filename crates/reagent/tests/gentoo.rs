//! The Gentoo side of `reagent build`, against real buildah: the portage
//! snapshot image (-p), seed stages, catalyst stages through a stand-in
//! `catalyst` (the real one cannot be installed here), and label tests (-t).

mod common;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::buildah::{tools_missing, BuildahProject, Run};
use reagent_testkit::{busybox_rootfs_tar, Registry};
use sha2::Digest;

/// The contents of FILE in `image`, read through `buildah mount` (the
/// image may have no shell at all).
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

const TREE_COMMIT: &str = "0123456789abcdef0123456789abcdef01234567 1764000000\n";

fn busybox_tarball(dir: &Path) -> (PathBuf, String) {
    let tar = busybox_rootfs_tar(dir);
    let bytes = std::fs::read(&tar).unwrap();
    let sum = format!("{:x}", sha2::Sha256::digest(&bytes));
    (tar, sum)
}

#[test]
fn snapshot_image_holds_the_tree_and_images_copy_from_it() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("[snapshot]\npath = \"tree\"\n");
    p.write("tree/metadata/timestamp.commit", TREE_COMMIT);
    p.write("tree/profiles/repo_name", "gentoo\n");
    p.write("tree/app-misc/hello/hello-1.ebuild", "EAPI=8\n");
    let (tar, sum) = busybox_tarball(p.dir.root());
    std::fs::rename(&tar, p.path("seed.tar")).unwrap();
    let mut cfg = std::fs::read_to_string(p.path("graph.toml")).unwrap();
    writeln!(cfg, "[stage.seed]\nseed = \"seed.tar\"\nsha256 = \"{sum}\"").unwrap();
    p.write("graph.toml", &cfg);
    p.write(
        "images/app/Containerfile",
        "FROM seed\nCOPY --from=portage /var/db/repos/gentoo/profiles/repo_name /etc/repo_name\n",
    );

    p.ok(&["build", "-R", "-p"]);
    let portage = format!("localhost/portage:{}", p.key16("portage"));
    assert_eq!(
        cat(
            &p,
            &portage,
            "/var/db/repos/gentoo/metadata/timestamp.commit"
        ),
        TREE_COMMIT
    );

    p.ok(&["build", "-R", "app"]);
    let app = format!("localhost/app:{}", p.key16("app"));
    assert_eq!(cat(&p, &app, "/etc/repo_name"), "gentoo\n");
}

#[test]
fn seed_with_a_wrong_hash_is_refused_and_nothing_is_imported() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new(&format!(
        "[stage.seed]\nseed = \"seed.tar\"\nsha256 = \"{}\"\n",
        "0".repeat(64)
    ));
    let (tar, _) = busybox_tarball(p.dir.root());
    std::fs::rename(&tar, p.path("seed.tar")).unwrap();
    let Run { code, stderr, .. } = p.run(&["build", "-R", "-c"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("sha256 is"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    let images = p.storage.buildah(&["images", "--format", "{{.Name}}"]);
    assert!(!images.contains("seed"), "{images}");
}

/// A stand-in for catalyst: checks the spec it is given and writes a stage
/// tarball where catalyst would (`<storedir>/builds/<rel_type>/<name>.tar.gz`).
const FAKE_CATALYST: &str = r#"#!/bin/sh
set -eu
[ "$1" = "-f" ] || { echo "usage: catalyst -f SPEC" >&2; exit 2; }
spec=$2
value() { sed -n "s/^$1:[[:space:]]*//p" "$spec"; }
[ "$(value snapshot_treeish)" = "0123456789abcdef" ] || { echo "placeholder not filled" >&2; exit 3; }
grep -q '@' "$spec" && { echo "unfilled placeholder in spec" >&2; exit 4; }
out="$STOREDIR/builds/$(value rel_type)/$(value target)-$(value subarch)-$(value version_stamp).tar.gz"
mkdir -p "$(dirname "$out")"
cp "$SEED_TARBALL" "$out"
echo "$(value target)" >> "$STOREDIR/ran"
"#;

#[test]
fn catalyst_stages_chain_and_become_images() {
    if tools_missing() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let storedir = work.path().join("catalyst");
    let (tar, _) = busybox_tarball(work.path());
    let status = Command::new("gzip").arg("-k").arg(&tar).status().unwrap();
    assert!(status.success());
    let catalyst = work.path().join("catalyst-standin");
    std::fs::write(&catalyst, FAKE_CATALYST).unwrap();
    std::fs::set_permissions(&catalyst, std::fs::Permissions::from_mode(0o755)).unwrap();

    let p = BuildahProject::new(&format!(
        "[stages]\nstoredir = \"{}\"\nvars = {{ TIMESTAMP = \"20260101T000000Z\", TREEISH = \"0123456789abcdef\" }}\n",
        storedir.display()
    ));
    let spec = |target: &str, source: &str| {
        format!(
            "subarch: amd64\ntarget: {target}\nversion_stamp: openrc-@TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: @TREEISH@\nsource_subpath: {source}\ncompression_mode: gzip\n"
        )
    };
    p.write(
        "stages/stage1.spec",
        &spec("stage1", "23.0-default/stage3-amd64-openrc-latest"),
    );
    p.write(
        "stages/stage3.spec",
        &spec("stage3", "23.0-default/stage1-amd64-openrc-@TIMESTAMP@"),
    );
    p.write(
        "images/01-base/Containerfile",
        "FROM stage3\nRUN echo based > /based\n",
    );
    // stage1's external seed, where catalyst reads it (reagent locks it by hash first).
    let seed = storedir.join("builds/23.0-default/stage3-amd64-openrc-latest.tar.gz");
    std::fs::create_dir_all(seed.parent().unwrap()).unwrap();
    std::fs::copy(tar.with_extension("tar.gz"), &seed).unwrap();

    let out = p
        .command(&["build", "-R", "--catalyst-bin"])
        .arg(&catalyst)
        .args(["-c", "-i"])
        .env("STOREDIR", &storedir)
        .env("SEED_TARBALL", tar.with_extension("tar.gz"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(storedir.join("ran")).unwrap(),
        "stage1\nstage3\n",
        "stage1 first"
    );
    let base = format!("localhost/base:{}", p.key16("base"));
    assert_eq!(cat(&p, &base, "/based"), "based\n");
    let labels = p.storage.buildah(&[
        "inspect",
        "--format",
        "{{.OCIv1.Config.Labels}}",
        &format!("localhost/stage3:{}", p.key16("stage3")),
    ]);
    assert!(labels.contains("org.reagent.key"), "{labels}");
}

#[test]
fn failing_label_tests_keep_an_image_untagged_unpushed_and_its_children_unbuilt() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let p = BuildahProject::new(&format!(
        "[project]\nregistry = \"{}/acme\"\n[registry]\ntls_verify = false\n[image.app]\ntest = [\"test -f /etc/app.conf\"]\n",
        registry.host()
    ))
    .with_busybox_base_and("LABEL org.reagent.test=\"true\"\n");
    p.write(
        "images/app/Containerfile",
        "FROM base\nLABEL org.reagent.test.conf=\"grep -q port /etc/app.conf\"\n",
    );
    p.write("images/leaf/Containerfile", "FROM app\nRUN true\n");
    let junit = p.path("junit.xml");
    let Run { code, stderr, .. } =
        p.run(&["build", "-t", "--junit", junit.to_str().unwrap(), "all"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("tests failed"), "{stderr}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    // app inherits base's org.reagent.test label, adds its own and graph.toml's.
    assert!(
        xml.contains(
            "<testsuite name=\"app\" tests=\"3\" skipped=\"0\" errors=\"0\" failures=\"2\""
        ),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<testsuite name=\"base\" tests=\"1\" skipped=\"0\" errors=\"0\" failures=\"0\""
        ),
        "{xml}"
    );
    let names = p
        .storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(
        !names.contains("localhost/app"),
        "a failing image is not tagged: {names}"
    );
    assert!(
        !names.contains("localhost/leaf"),
        "its dependents are not built: {names}"
    );
    let tags = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false"])
        .arg(format!("docker://{}/acme/app", registry.host()))
        .output()
        .unwrap();
    assert!(
        !tags.status.success() || !String::from_utf8_lossy(&tags.stdout).contains("latest"),
        "not pushed"
    );

    // Fix the image: the next run builds it, tests pass, and `reagent test` agrees.
    p.write("images/app/Containerfile", "FROM base\nRUN echo port=80 > /etc/app.conf\nLABEL org.reagent.test.conf=\"grep -q port /etc/app.conf\"\n");
    p.ok(&["build", "-t", "all"]);
    let table = p.ok(&["test", "app"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("app ") && l.contains(" conf ") && l.contains(" ok ")),
        "{table}"
    );
    assert!(table.contains("graph.toml[0]"), "{table}");
}

#[test]
fn vulnerability_test_gates_tagging_by_severity() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("[audit]\nglsa = \"glsa\"\narch = \"amd64\"\n");
    let glsa = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/gentoo/portage-tree/metadata/glsa/glsa-202408-01.xml");
    p.write(
        "glsa/glsa-202408-01.xml",
        &std::fs::read_to_string(glsa).unwrap(),
    );
    // An image whose package database says nginx 1.24.0 is installed (vulnerable: < 1.26.2).
    p.vdb_package(
        "images/web/var/db/pkg",
        "www-servers/nginx-1.24.0",
        "0",
        "http2 ssl",
        "http2 ssl",
    );
    p.write("images/web/Containerfile", "FROM scratch\nCOPY var /var\n");

    let Run { code, stderr, .. } = p.run(&["build", "-R", "-T", "web"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("GLSA 202408-01 (www-servers/nginx-1.24.0)"),
        "{stderr}"
    );
    let names = p
        .storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(
        !names.contains("localhost/web"),
        "a vulnerable image is not tagged: {names}"
    );

    // The advisory is `normal`: failing only on `high` lets the image through.
    p.ok(&["build", "-R", "-T", "--fail-on", "high", "web"]);
    let names = p
        .storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(
        names.contains(&format!("localhost/web:{}", p.key16("web"))),
        "{names}"
    );
}
