//! End to end over a fake image root: read the VDB and an advisory
//! directory from disk, audit, then diff against a rebuilt root.

use std::path::Path;

use reagent_gentoo::{audit, diff, glsa, vdb, Severity};

fn write_pkg(root: &Path, cat: &str, pf: &str, slot: &str, use_flags: &str) {
    let dir = root.join("var/db/pkg").join(cat).join(pf);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("SLOT"), format!("{slot}\n")).unwrap();
    std::fs::write(dir.join("USE"), format!("amd64 {use_flags}\n")).unwrap();
    std::fs::write(dir.join("IUSE"), "+ssl test zstd\n").unwrap();
    std::fs::write(dir.join("repository"), "gentoo\n").unwrap();
}

const ADVISORY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE glsa SYSTEM "http://www.gentoo.org/dtd/glsa-2.dtd">
<glsa id="202402-07">
  <title>curl: Multiple Vulnerabilities</title>
  <synopsis>Multiple vulnerabilities have been discovered in curl.</synopsis>
  <bug>917000</bug>
  <affected>
    <package name="net-misc/curl" auto="yes" arch="*">
      <unaffected range="ge">8.5.0</unaffected>
      <vulnerable range="lt">8.5.0</vulnerable>
    </package>
  </affected>
  <impact type="high"><p>Remote code execution.</p></impact>
</glsa>
"#;

#[test]
fn audit_then_diff_two_image_roots() {
    let glsa_dir = tempfile::tempdir().unwrap();
    std::fs::write(glsa_dir.path().join("glsa-202402-07.xml"), ADVISORY).unwrap();
    let advisories = glsa::read_dir(glsa_dir.path()).unwrap();

    let old_root = tempfile::tempdir().unwrap();
    write_pkg(old_root.path(), "net-misc", "curl-8.4.0", "0", "ssl");
    write_pkg(old_root.path(), "app-arch", "zstd-1.5.5", "0/1", "");
    let old = vdb::read_root(old_root.path()).unwrap();
    let findings = audit(&advisories, &old, "amd64");
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(
        (f.glsa_id.as_str(), f.package.as_str(), f.installed.as_str()),
        ("202402-07", "net-misc/curl", "8.4.0")
    );
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.vulnerable, ["<8.5.0"]);

    let new_root = tempfile::tempdir().unwrap();
    write_pkg(new_root.path(), "net-misc", "curl-8.5.0", "0", "ssl zstd");
    write_pkg(
        new_root.path(),
        "app-misc",
        "ca-certificates-20240203",
        "0",
        "",
    );
    let new = vdb::read_root(new_root.path()).unwrap();
    assert!(audit(&advisories, &new, "amd64").is_empty());

    let d = diff(&old, &new);
    assert_eq!(d.added[0].cpv(), "app-misc/ca-certificates-20240203");
    assert_eq!(d.removed[0].cpv(), "app-arch/zstd-1.5.5");
    let change = &d.changed[0];
    assert_eq!(change.old.version.as_str(), "8.4.0");
    assert_eq!(change.new.version.as_str(), "8.5.0");
    assert_eq!(change.use_added.iter().collect::<Vec<_>>(), ["zstd"]);
    assert!(change.use_removed.is_empty());
}

#[test]
fn a_broken_advisory_in_the_directory_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let broken = ADVISORY.replace("</affected>", "</affectd>");
    std::fs::write(dir.path().join("glsa-202402-07.xml"), broken).unwrap();
    let err = glsa::read_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("glsa-202402-07.xml:12:"), "{err}");
}
