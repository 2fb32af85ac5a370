//! `reagent diff` against real buildah (chroot isolation, vfs, a temp root):
//! two builds of an image whose `/var/db/pkg` is a fake VDB copied from the
//! build context, with a version bump, a USE change, an added and a removed
//! package between them.

mod common;

use common::buildah::{tools_missing, BuildahProject, APP_VDB};
use serde_json::Value;

/// base ← app, whose VDB holds nginx, openssl, zlib and python.
fn project() -> BuildahProject {
    let p = BuildahProject::new("").with_busybox_base().with_vdb_app();
    package(
        &p,
        "dev-lang/python-3.11.8",
        "3.11",
        "amd64 ssl",
        "ssl sqlite",
    );
    p
}

/// A package in app's VDB.
fn package(p: &BuildahProject, cpv: &str, slot: &str, use_flags: &str, iuse: &str) {
    p.vdb_package(APP_VDB, cpv, slot, use_flags, iuse);
}

/// Take a package out of app's VDB.
fn remove(p: &BuildahProject, cpv: &str) {
    std::fs::remove_dir_all(p.path(&format!("{APP_VDB}/{cpv}"))).unwrap();
}

/// Second build: nginx bumped, openssl gains `ktls`, python moves to a new
/// slot, zlib removed, ca-certificates added.
fn change_packages(p: &BuildahProject) {
    remove(p, "www-servers/nginx-1.24.0");
    package(
        p,
        "www-servers/nginx-1.25.3",
        "0",
        "amd64 ssl http2",
        "+ssl +http2 debug",
    );
    package(
        p,
        "dev-libs/openssl-3.1.4",
        "0/3",
        "amd64 asm ktls",
        "asm ktls test",
    );
    remove(p, "dev-lang/python-3.11.8");
    package(
        p,
        "dev-lang/python-3.12.2",
        "3.12",
        "amd64 ssl sqlite",
        "ssl sqlite",
    );
    remove(p, "sys-libs/zlib-1.2.13");
    package(p, "app-misc/ca-certificates-20240203", "0", "amd64", "");
}

#[test]
fn diff_between_the_last_two_builds_and_explicit_keys() {
    if tools_missing() {
        return;
    }
    let p = project();
    p.build_all();
    let one = p.key("app");

    // One build: nothing to compare with.
    let r = p.run(&["diff", "app"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("1 successful build recorded"),
        "{}",
        r.stderr
    );

    change_packages(&p);
    p.build_all();
    let two = p.key("app");
    assert_ne!(one, two);

    let r = p.run(&["diff", "app"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "diff app/{} app/{}\n\
             + app-misc/ca-certificates-20240203\n\
             ~ dev-lang/python 3.11.8 -> 3.12.2 [+sqlite] (slot 3.11 -> 3.12)\n\
             ~ dev-libs/openssl 3.1.4 [+ktls]\n\
             - sys-libs/zlib-1.2.13\n\
             ~ www-servers/nginx 1.24.0 -> 1.25.3\n",
            &one[..16],
            &two[..16]
        )
    );

    // Explicit key prefixes, either way round.
    let r = p.run(&["diff", "app", &two[..6], &one[..6]]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "diff app/{} app/{}\n\
             - app-misc/ca-certificates-20240203\n\
             ~ dev-lang/python 3.12.2 -> 3.11.8 [-sqlite] (slot 3.12 -> 3.11)\n\
             ~ dev-libs/openssl 3.1.4 [-ktls]\n\
             + sys-libs/zlib-1.2.13\n\
             ~ www-servers/nginx 1.25.3 -> 1.24.0\n",
            &two[..16],
            &one[..16]
        )
    );

    // The same build on both sides: no changes.
    let r = p.run(&["diff", "app", &one[..8], &one[..8]]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, format!("diff app/{0} app/{0}\n", &one[..16]));
    assert!(r.stderr.contains("no package changes"), "{}", r.stderr);

    // JSON.
    let r = p.run(&["diff", "--json", "app"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["image"], "app");
    assert_eq!(v["old"], one.as_str());
    assert_eq!(v["new"], two.as_str());
    assert_eq!(v["added"][0]["package"], "app-misc/ca-certificates");
    assert_eq!(v["added"][0]["version"], "20240203");
    assert_eq!(v["removed"][0]["package"], "sys-libs/zlib");
    assert_eq!(v["removed"][0]["slot"], "0/1");
    let changed = v["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 3);
    assert_eq!(changed[1]["package"], "dev-libs/openssl");
    assert_eq!(changed[1]["use_added"], serde_json::json!(["ktls"]));
    assert_eq!(changed[2]["old_version"], "1.24.0");
    assert_eq!(changed[2]["new_version"], "1.25.3");

    // Bad prefixes.
    let r = p.run(&["diff", "app", "abc", &two[..6]]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("at least 4 hex digits"), "{}", r.stderr);
    let unknown = if one.starts_with("0000") || two.starts_with("0000") {
        "ffff"
    } else {
        "0000"
    };
    let r = p.run(&["diff", "app", unknown, &two[..6]]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("no build of app has a key starting with"),
        "{}",
        r.stderr
    );

    // Unknown image.
    let r = p.run(&["diff", "nope"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("no node named `nope`"), "{}", r.stderr);
}

#[test]
fn a_rebuild_of_the_same_key_is_not_a_second_build() {
    if tools_missing() {
        return;
    }
    let p = project();
    p.build_all();
    // Forcing a rebuild records the same key again: still only one distinct build.
    let r = p.run(&["build", "-R", "--force", "app", "app"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = p.run(&["diff", "app"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("a diff needs two"), "{}", r.stderr);
}
