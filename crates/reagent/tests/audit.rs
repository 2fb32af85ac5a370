//! `reagent audit` against real buildah (chroot isolation, vfs, a temp root):
//! an image whose `/var/db/pkg` is a fake VDB, checked against a folder of
//! advisories that match and do not match it.

mod common;

use common::buildah::{tools_missing, BuildahProject, APP_PACKAGES, APP_VDB};
use serde_json::Value;

/// An advisory for one package: `vulnerable < fixed`, `unaffected >= fixed`.
fn glsa(id: &str, title: &str, package: &str, fixed: &str, arch: &str, severity: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE glsa SYSTEM "http://www.gentoo.org/dtd/glsa-2.dtd">
<glsa id="{id}">
  <title>{title}</title>
  <synopsis>Several vulnerabilities were found.</synopsis>
  <product type="ebuild">{package}</product>
  <bug>900001</bug>
  <affected>
    <package name="{package}" auto="yes" arch="{arch}">
      <unaffected range="ge">{fixed}</unaffected>
      <vulnerable range="lt">{fixed}</vulnerable>
    </package>
  </affected>
  <impact type="{severity}"><p>Bad things.</p></impact>
</glsa>
"#
    )
}

/// base (busybox, no VDB) ← app (busybox plus a fake VDB), and a GLSA folder.
fn project(audit_config: &str) -> BuildahProject {
    let p = BuildahProject::new(audit_config)
        .with_busybox_base()
        .with_vdb_app();
    for (cpv, ..) in APP_PACKAGES {
        p.write(&format!("{APP_VDB}/{cpv}/KEYWORDS"), "amd64 ~arm64\n");
    }
    // Matches, normal.
    p.write(
        "glsa/glsa-202401-01.xml",
        &glsa(
            "202401-01",
            "nginx: multiple vulnerabilities",
            "www-servers/nginx",
            "1.25.3",
            "*",
            "normal",
        ),
    );
    // Installed version is already fixed.
    p.write(
        "glsa/glsa-202401-02.xml",
        &glsa(
            "202401-02",
            "OpenSSL: heap overflow",
            "dev-libs/openssl",
            "3.0.0",
            "*",
            "high",
        ),
    );
    // Matches, low.
    p.write(
        "glsa/glsa-202401-03.xml",
        &glsa(
            "202401-03",
            "zlib: buffer overflow",
            "sys-libs/zlib",
            "1.3.1",
            "*",
            "low",
        ),
    );
    // Would match, but only on ppc.
    p.write(
        "glsa/glsa-202401-04.xml",
        &glsa(
            "202401-04",
            "zlib: ppc only",
            "sys-libs/zlib",
            "1.4",
            "ppc",
            "high",
        ),
    );
    p
}

const CONFIG: &str = "[audit]\nglsa = \"glsa\"\narch = \"amd64\"\n";

#[test]
fn findings_as_table_json_and_junit_and_exit_by_severity() {
    if tools_missing() {
        return;
    }
    let p = project(CONFIG);
    p.build_all();
    table_has_one_row_per_finding(&p);
    json_has_the_documented_fields_first(&p);
    junit_has_one_case_per_advisory(&p);
    fail_on_sets_the_severity_that_fails(&p);
    arch_and_all_widen_the_audit(&p);
}

/// The table: one row per finding, sorted by advisory.
fn table_has_one_row_per_finding(p: &BuildahProject) {
    let table = p.run(&["audit", "app"]);
    assert_eq!(table.code, Some(1), "stderr:\n{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", table.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "IMAGE",
            "GLSA",
            "SEVERITY",
            "PACKAGE",
            "INSTALLED",
            "UNAFFECTED",
            "TITLE"
        ]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        row,
        [
            "app",
            "202401-01",
            "normal",
            "www-servers/nginx",
            "1.24.0",
            ">=1.25.3",
            "nginx:",
            "multiple",
            "vulnerabilities"
        ]
    );
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        row[..6],
        [
            "app",
            "202401-03",
            "low",
            "sys-libs/zlib",
            "1.2.13",
            ">=1.3.1"
        ]
    );
    assert!(!table.stdout.contains("openssl"), "{}", table.stdout);
    assert!(!table.stdout.contains("202401-04"), "{}", table.stdout);
    assert!(table.stderr.contains("2 findings"), "{}", table.stderr);
}

/// JSON: exactly the documented fields first, in order.
fn json_has_the_documented_fields_first(p: &BuildahProject) {
    let json = p.run(&["audit", "--json", "app"]);
    assert_eq!(json.code, Some(1), "stderr:\n{}", json.stderr);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0]["image"], "app");
    assert_eq!(findings[0]["glsa"], "202401-01");
    assert_eq!(findings[0]["package"], "www-servers/nginx");
    assert_eq!(findings[0]["installed"], "1.24.0");
    assert_eq!(findings[0]["severity"], "normal");
    assert_eq!(findings[1]["glsa"], "202401-03");
    assert_eq!(findings[1]["severity"], "low");
    assert!(
        json.stdout.starts_with(
            r#"{"findings":[{"image":"app","glsa":"202401-01","package":"www-servers/nginx","installed":"1.24.0","severity":"normal""#
        ),
        "{}",
        json.stdout
    );
}

/// JUnit: one case per advisory, the two matches failed.
fn junit_has_one_case_per_advisory(p: &BuildahProject) {
    let junit = p.path("audit.xml");
    let r = p.run(&["audit", "app", "--junit", junit.to_str().unwrap()]);
    assert_eq!(r.code, Some(1), "stderr:\n{}", r.stderr);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = suite_counts(&xml);
    assert_eq!(doc.suite_tests, Some("4".into()), "{xml}");
    assert_eq!(doc.suite_failures, Some("2".into()), "{xml}");
    assert!(xml.contains("name=\"GLSA-202401-01\""), "{xml}");
    assert!(xml.contains("www-servers/nginx-1.24.0"), "{xml}");
}

/// Only normal and low findings: --fail-on high passes, --fail-on normal fails.
fn fail_on_sets_the_severity_that_fails(p: &BuildahProject) {
    let high = p.run(&["audit", "--fail-on", "high", "app"]);
    assert_eq!(high.code, Some(0), "stderr:\n{}", high.stderr);
    assert!(high.stdout.contains("202401-01"), "{}", high.stdout);
    let normal = p.run(&["audit", "--fail-on", "normal", "app"]);
    assert_eq!(normal.code, Some(1), "stderr:\n{}", normal.stderr);
    assert!(
        normal.stderr.contains("1 finding at or above normal"),
        "{}",
        normal.stderr
    );
}

/// What is audited: `--arch` picks the advisories, `all` and a name the images.
fn arch_and_all_widen_the_audit(p: &BuildahProject) {
    // --arch ppc brings in the ppc-only advisory.
    let ppc = p.run(&["audit", "--json", "--arch", "ppc", "app"]);
    let v: Value = serde_json::from_str(&ppc.stdout).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["glsa"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["202401-01", "202401-03", "202401-04"]);

    // `all` also audits the base, which has no package database and no findings.
    let all = p.run(&["audit", "--json", "all"]);
    assert_eq!(all.code, Some(1), "stderr:\n{}", all.stderr);
    let v: Value = serde_json::from_str(&all.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 2);
    assert!(all.stderr.contains("audited 2 images"), "{}", all.stderr);

    // A clean image exits 0 with an empty list.
    let base = p.run(&["audit", "--json", "base"]);
    assert_eq!(base.code, Some(0), "stderr:\n{}", base.stderr);
    assert_eq!(base.stdout.trim(), r#"{"findings":[]}"#);
}

/// The `<testsuite>` counts of a one-suite JUnit document, without an XML dependency.
struct SuiteCounts {
    suite_tests: Option<String>,
    suite_failures: Option<String>,
}

fn suite_counts(xml: &str) -> SuiteCounts {
    let start = xml.find("<testsuite ").expect("a <testsuite>");
    let tag = &xml[start..start + xml[start..].find('>').unwrap()];
    let attr = |name: &str| {
        let key = format!(" {name}=\"");
        tag.find(&key).map(|i| {
            let rest = &tag[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
    };
    SuiteCounts {
        suite_tests: attr("tests"),
        suite_failures: attr("failures"),
    }
}

#[test]
fn usage_errors_exit_2() {
    if tools_missing() {
        return;
    }
    let p = project(CONFIG);

    // Not built yet: say how to fix it.
    let r = p.run(&["audit", "app"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("reagent build app"), "{}", r.stderr);

    let r = p.run(&["audit", "nothing-like-this"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("no image matches"), "{}", r.stderr);

    let r = p.run(&["audit", "--fail-on", "urgent", "app"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown severity `urgent`"),
        "{}",
        r.stderr
    );

    // No advisories configured: name the file to fix.
    let bare = project("");
    let r = bare.run(&["audit", "app"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("graph.toml"), "{}", r.stderr);
    assert!(r.stderr.contains("[audit] glsa"), "{}", r.stderr);

    // A broken advisory: name the file and line.
    p.write(
        "glsa/glsa-202402-01.xml",
        "<glsa id=\"202402-01\">\n<title>x</title>\n</oops>\n",
    );
    let r = p.run(&["audit", "app"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("glsa-202402-01.xml:"), "{}", r.stderr);
}
