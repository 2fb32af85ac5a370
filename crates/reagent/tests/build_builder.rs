//! buildah's own limits, found before the build: a Containerfile construct the
//! installed buildah cannot read is bad input naming file, line, construct and
//! both versions, and nothing is built.

mod common;

use common::buildah::{tools_missing, BuildahProject};

/// The installed buildah's version, as `buildah version --json` says.
fn installed() -> String {
    let out = std::process::Command::new("buildah")
        .args(["version", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["version"].as_str().unwrap().to_string()
}

#[test]
fn a_heredoc_this_buildah_cannot_read_fails_before_anything_is_built() {
    if tools_missing() {
        return;
    }
    let have = installed();
    let minor: u32 = have.split('.').nth(1).unwrap().parse().unwrap();
    let p = BuildahProject::new("").with_busybox_base();
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN <<EOF\necho from a heredoc > /greeting\nEOF\n",
    );
    p.write("images/tool/Containerfile", "FROM base\nRUN true\n");
    if have.starts_with("1.") && minor >= 33 {
        // A buildah that reads heredocs builds it (CI's is Debian's 1.28, which does not).
        p.ok(&["build", "all"]);
        return;
    }

    // The graph, the keys and check accept the construct.
    let check = p.run(&["check"]);
    assert_eq!(check.code, Some(0), "{}", check.stderr);

    let run = p.run(&["build", "all"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("--> images/app/Containerfile:2\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "heredocs (`<<EOF`) need buildah 1.33.0 or newer, and this buildah is {have}"
        )),
        "{}",
        run.stderr
    );
    // Nothing was built: not the base, not the healthy sibling.
    let images = p.storage.buildah(&["images", "--json"]);
    assert!(!images.contains("localhost/"), "{images}");

    // Only what is built is checked: the sibling alone builds.
    p.ok(&["build", "tool"]);
}
