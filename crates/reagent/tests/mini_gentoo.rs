//! `examples/mini-gentoo` built by the reagent binary with Gentoo's real
//! `emerge` (the mini-Gentoo rootfs, real buildah, a temp store), then
//! `audit`, `diff`, `sbom` and the label tests on what emerge really merged.
//! Results are checked in the images themselves, found by the image ids
//! buildah reports, not only in reagent's output.

mod common;

use std::path::Path;

use common::buildah::{copy_tree, tools_missing, BuildahProject};
use reagent_testkit::{mini_gentoo, SbomValidators, Storage};
use serde_json::Value;

/// The targets built: two leaves of the example and, so, its base. (Every
/// image is a full copy of the rootfs with the vfs driver, so the test builds
/// half the example; `scripts/demo-gentoo` builds all of it.)
const TARGETS: &str = "^(hello|fetch)$";
/// The images those targets build, every one from the snapshot.
const IMAGES: [&str; 3] = ["base", "fetch", "hello"];

/// `examples/mini-gentoo`'s `graph.toml` without its `[buildah]` table (the
/// test's store replaces it).
fn example_config(example: &Path) -> String {
    let text = std::fs::read_to_string(example.join("graph.toml")).unwrap();
    let mut out = String::new();
    let mut in_buildah = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_buildah = line.trim() == "[buildah]";
        }
        if !in_buildah {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The example, copied into a temp project on a fresh store holding the
/// mini-Gentoo rootfs as `mini-gentoo/rootfs:latest` (what `scripts/demo-gentoo` does).
fn example_project() -> BuildahProject {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mini-gentoo");
    let p = BuildahProject::new(&example_config(&example));
    copy_tree(&example, p.dir.root());
    let _ = std::fs::remove_file(p.path("reagent.lock"));
    p.write_config();
    mini_gentoo::load(&p.storage, "mini-gentoo/rootfs:latest");
    p
}

/// The id of the image reagent tagged for `node` at its current key.
fn image_id(p: &BuildahProject, node: &str) -> String {
    let reference = format!("localhost/{node}:{}", p.key16(node));
    p.storage
        .buildah(&[
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.FromImageID}}",
            &reference,
        ])
        .trim()
        .to_string()
}

/// `sh -c SCRIPT` in a throwaway container of image `id`: its stdout. The
/// output goes to a file in the container, read through `buildah mount`:
/// `buildah run` under chroot isolation can exit before it has passed all of
/// a command's output on.
fn in_image(storage: &Storage, id: &str, script: &str) -> String {
    let ctr = storage.buildah(&["from", "--isolation", "chroot", id]);
    let ctr = ctr.trim();
    let wrapped = format!("( {script} ) > /.mini-gentoo-test.out");
    storage.buildah(&[
        "run",
        "--isolation",
        "chroot",
        ctr,
        "--",
        "sh",
        "-c",
        &wrapped,
    ]);
    let mount = storage.buildah(&["mount", ctr]);
    let out = std::fs::read_to_string(Path::new(mount.trim()).join(".mini-gentoo-test.out"))
        .expect("read the command's output in the container");
    storage.buildah(&["umount", ctr]);
    storage.buildah(&["rm", ctr]);
    out
}

/// The installed packages (`category/PF`) of image `id`, sorted.
fn vdb(storage: &Storage, id: &str) -> Vec<String> {
    let mut v: Vec<String> = in_image(storage, id, "cd /var/db/pkg && ls -d */*")
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// Node names of `reagent build --json` events that finished with `action`.
fn finished(stdout: &str, action: &str) -> Vec<String> {
    let mut v: Vec<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "finished" && e["action"] == action)
        .map(|e| e["node"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn the_example_builds_with_real_emerge_and_audit_diff_sbom_read_it() {
    if tools_missing() || !mini_gentoo::require() {
        return;
    }
    let p = example_project();

    // Build everything and run the label tests (`build -t`).
    let r = p.run(&["build", "--json", "-R", "-t", TARGETS]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let mut built = finished(&r.stdout, "build");
    built.retain(|n| n != "portage");
    assert_eq!(built, IMAGES, "{}", r.stdout);
    let ids: Vec<String> = IMAGES.iter().map(|n| image_id(&p, n)).collect();

    // What emerge merged, read from the images buildah holds.
    let base = vdb(&p.storage, &ids[0]);
    assert_eq!(
        base,
        [
            "sys-apps/mini-gawk-5.2",
            "sys-libs/mini-base-1.0",
            "virtual/mini-awk-0"
        ]
    );
    let hello_id = &ids[2];
    let hello = vdb(&p.storage, hello_id);
    assert!(
        hello.contains(&"app-misc/hello-1.1".to_string()),
        "{hello:?}"
    );
    // The size-optimised pattern: the build dependencies were depcleaned.
    assert!(
        !hello
            .iter()
            .any(|c| c.contains("mini-make") || c.contains("libmini")),
        "{hello:?}"
    );
    // Per-image USE reached emerge: [portage] use = -nls, [image.hello] greeting nls.
    let hello_use = in_image(
        &p.storage,
        hello_id,
        "cat /var/db/pkg/app-misc/hello-1.1/USE",
    );
    let flags: Vec<&str> = hello_use.split_whitespace().collect();
    assert!(
        flags.contains(&"greeting") && flags.contains(&"nls"),
        "{hello_use}"
    );
    assert_eq!(
        in_image(&p.storage, hello_id, "hello"),
        "Greetings from hello 1.1\nnls: on\nbuilt against libmini 1.1\n"
    );
    let fetch_use = in_image(
        &p.storage,
        &ids[1],
        "cat /var/db/pkg/net-misc/mini-fetch-1.0/USE",
    );
    assert!(
        !fetch_use.split_whitespace().any(|f| f == "ipv6"),
        "{fetch_use}"
    );
    assert!(
        fetch_use.split_whitespace().any(|f| f == "ssl"),
        "{fetch_use}"
    );

    // A second run builds nothing, and every image is the same.
    let r = p.run(&["build", "--json", "-R", TARGETS]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(finished(&r.stdout, "build").is_empty(), "{}", r.stdout);
    let again: Vec<String> = IMAGES.iter().map(|n| image_id(&p, n)).collect();
    assert_eq!(again, ids);

    audit_finds_the_installed_hello(&p);
    sbom_lists_what_emerge_merged(&p, hello_id);
    diff_shows_a_use_change(&p, hello_id);
}

/// The tree's advisory (hello < 1.2) is found in hello's image, nowhere else.
fn audit_finds_the_installed_hello(p: &BuildahProject) {
    let r = p.run(&["audit", "--json", TARGETS]);
    assert_eq!(r.code, Some(1), "findings fail the audit: {}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{}", r.stdout);
    assert_eq!(findings[0]["image"], "hello");
    assert_eq!(findings[0]["glsa"], "202612-01");
    assert_eq!(findings[0]["package"], "app-misc/hello");
    assert_eq!(findings[0]["installed"], "1.1");
    let r = p.run(&["audit", "fetch"]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
}

/// Both SBOM formats pass the validators and list exactly the image's VDB.
fn sbom_lists_what_emerge_merged(p: &BuildahProject, hello_id: &str) {
    let Some(v) = SbomValidators::find() else {
        return;
    };
    let spdx_file = p.path("hello.spdx.json");
    p.ok(&["sbom", "hello", "-o", spdx_file.to_str().unwrap()]);
    v.spdx(&spdx_file).unwrap();
    let cdx_file = p.path("hello.cdx.json");
    p.ok(&[
        "sbom",
        "hello",
        "--format",
        "cyclonedx-json",
        "-o",
        cdx_file.to_str().unwrap(),
    ]);
    v.cyclonedx(&cdx_file).unwrap();

    let purls: Vec<Value> = serde_json::from_str(&v.purls(&cdx_file).unwrap()).unwrap();
    let mut listed: Vec<String> = purls
        .iter()
        .map(|u| {
            assert_eq!(u["type"], "ebuild", "{u}");
            assert_eq!(u["qualifiers"]["repository"], "gentoo", "{u}");
            format!(
                "{}/{}-{}",
                u["namespace"].as_str().unwrap(),
                u["name"].as_str().unwrap(),
                u["version"].as_str().unwrap()
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, vdb(&p.storage, hello_id));
    let spdx: Value = serde_json::from_str(&std::fs::read_to_string(&spdx_file).unwrap()).unwrap();
    let hello = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "app-misc/hello")
        .unwrap_or_else(|| panic!("no app-misc/hello in {spdx}"));
    assert_eq!(hello["versionInfo"], "1.1");
    assert_eq!(hello["licenseDeclared"], "MIT");
}

/// A USE change rebuilds hello; `diff` names the flag; the new image has it off.
fn diff_shows_a_use_change(p: &BuildahProject, old_id: &str) {
    let config = std::fs::read_to_string(p.path("graph.toml")).unwrap();
    let changed = config.replace("use = [\"greeting\", \"nls\"]", "use = [\"nls\"]");
    assert_ne!(
        changed, config,
        "[image.hello] use is where the test expects it"
    );
    p.write("graph.toml", &changed);
    let r = p.run(&["build", "--json", "-R", TARGETS]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(finished(&r.stdout, "build"), ["hello"], "{}", r.stdout);

    let new_id = image_id(p, "hello");
    assert_ne!(new_id, old_id);
    assert!(in_image(&p.storage, &new_id, "hello").starts_with("Hello, world! (hello 1.1)"));
    let r = p.run(&["diff", "hello"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[1..],
        ["~ app-misc/hello 1.1 [-greeting]"],
        "{}",
        r.stdout
    );
}
