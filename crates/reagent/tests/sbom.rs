//! SBOMs, checked by the tools their formats' communities publish as Python packages:
//! spdx-tools (`pyspdxtools`) for SPDX, cyclonedx-python-lib's schema
//! validator for CycloneDX, packageurl-python for package URLs.
//!
//! - every license mapping and the awkward corners of the documents, from
//!   `reagent_gentoo::sbom` directly;
//! - `reagent sbom` on an image built by real buildah (chroot isolation, vfs,
//!   a temp root) whose `/var/db/pkg` is a fake VDB;
//! - `reagent build --sbom` against a real registry on loopback, which must
//!   leave the document under `<name>:sha256-<digest>.sbom`.

mod common;

use std::path::Path;
use std::process::Command;

use common::buildah::{tools_missing, BuildahProject, APP_PACKAGES, APP_VDB};
use reagent_gentoo::license::MAPPING;
use reagent_gentoo::sbom::{document, Format, Image};
use reagent_gentoo::Installed;
use reagent_testkit::{Registry, SbomValidators};
use serde_json::{json, Value};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Both documents for `packages`, each validated; returns them parsed.
fn validated(v: &SbomValidators, packages: &[Installed]) -> (Value, Value) {
    let image = Image {
        name: "app",
        key: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        image_id: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
        created: "2024-05-01T10:11:12.123456789+02:00",
    };
    let tmp = tempfile::tempdir().unwrap();
    let spdx = document(Format::SpdxJson, &image, packages);
    let spdx_file = write(tmp.path(), "sbom.spdx.json", &spdx);
    if let Err(e) = v.spdx(&spdx_file) {
        panic!("pyspdxtools rejects the document: {e}\n{spdx}");
    }
    let cdx = document(Format::CycloneDxJson, &image, packages);
    let cdx_file = write(tmp.path(), "sbom.cdx.json", &cdx);
    if let Err(e) = v.cyclonedx(&cdx_file) {
        panic!("cyclonedx-python-lib rejects the document: {e}\n{cdx}");
    }
    (
        serde_json::from_str(&spdx).unwrap(),
        serde_json::from_str(&cdx).unwrap(),
    )
}

fn package(cpv: &str, license: &str) -> Installed {
    let mut p = Installed::new(cpv, "0").unwrap();
    p.license = Some(license.to_string());
    p.repository = Some("gentoo".into());
    p
}

/// Every Gentoo name of the mapping table gives an SPDX identifier (or
/// `id WITH exception`) that spdx-tools knows, in a package of its own.
#[test]
fn every_mapped_license_is_a_valid_spdx_expression() {
    let Some(v) = SbomValidators::find() else {
        return;
    };
    let packages: Vec<Installed> = MAPPING
        .iter()
        .enumerate()
        .map(|(i, (gentoo, _))| package(&format!("app-misc/lic{i}-1.0"), gentoo))
        .collect();
    let (spdx, cdx) = validated(&v, &packages);
    for (i, (_, spdx_id)) in MAPPING.iter().enumerate() {
        let name = format!("app-misc/lic{i}");
        let p = spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap();
        assert_eq!(p["licenseDeclared"], *spdx_id);
    }
    assert!(spdx.get("hasExtractedLicensingInfos").is_none());
    assert_eq!(cdx["components"].as_array().unwrap().len(), MAPPING.len());
}

/// Gentoo-only licenses, choices, USE conditionals, odd names and addresses:
/// still valid documents, and purls that packageurl-python reads back.
#[test]
fn awkward_packages_still_make_valid_documents_and_purls() {
    let Some(v) = SbomValidators::find() else {
        return;
    };
    let mut gtk = package(
        "x11-libs/gtk+-3.24.41-r1",
        "LGPL-2+ || ( Artistic GPL-1+ ) doc? ( FDL-1.3+ ) !X? ( free_noncomm+ )",
    );
    gtk.use_flags = ["doc".to_string()].into();
    gtk.homepage = Some("https://www.gtk.org/ ftp://ftp.gtk.org/ not-a-url".into());
    gtk.description = Some("Gimp ToolKit \"+\" — «unicode» & <markup>".into());
    gtk.repository = Some("my_overlay-2".into());
    let mut sigc = package("dev-cpp/libsigc++-2.12.1", "LGPL-2.1+ ( ( MIT ) )");
    sigc.slot = "2".into();
    sigc.subslot = "2.12".into();
    let broken = package("app-misc/broken-1", "|| ( MIT");
    let mut bare = Installed::new("sys-apps/bare-0_pre20240101-r3", "0").unwrap();
    bare.homepage = Some(String::new());
    let (spdx, _) = validated(&v, &[gtk, sigc, broken, bare]);

    let by_name = |name: &str| -> Value {
        spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_name("x11-libs/gtk+")["licenseDeclared"],
        "LGPL-2.0-or-later AND (LicenseRef-gentoo-Artistic OR GPL-1.0-or-later) AND GFDL-1.3-or-later AND LicenseRef-gentoo-free-noncomm-plus"
    );
    assert_eq!(by_name("x11-libs/gtk+")["homepage"], "https://www.gtk.org/");
    assert_eq!(
        by_name("dev-cpp/libsigc++")["licenseDeclared"],
        "LGPL-2.1-or-later AND MIT"
    );
    assert_eq!(by_name("app-misc/broken")["licenseDeclared"], "NOASSERTION");
    assert!(by_name("sys-apps/bare")["homepage"].is_null());

    let tmp = tempfile::tempdir().unwrap();
    let image = Image {
        name: "app",
        key: "00",
        image_id: "ff",
        created: "",
    };
    let mut gtk = package("x11-libs/gtk+-3.24.41-r1", "");
    gtk.repository = Some("my_overlay-2".into());
    let cdx = document(Format::CycloneDxJson, &image, &[gtk]);
    let parsed: Value =
        serde_json::from_str(&v.purls(&write(tmp.path(), "sbom.cdx.json", &cdx)).unwrap()).unwrap();
    assert_eq!(
        parsed,
        json!([{
            "type": "ebuild",
            "namespace": "x11-libs",
            "name": "gtk+",
            "version": "3.24.41-r1",
            "qualifiers": {"repository": "my_overlay-2"},
        }])
    );
}

/// LICENSE, HOMEPAGE and DESCRIPTION for each of `APP_PACKAGES`, in order.
const APP_METADATA: [(&str, &str, &str); 3] = [
    (
        "BSD-2 || ( SSLeay MIT ) http2? ( GPL-2+ )",
        "https://nginx.org https://nginx.org/en/",
        "Robust, small and high performance http and reverse proxy server",
    ),
    (
        "Apache-2.0",
        "https://openssl-library.org/",
        "Robust, full-featured Open Source Toolkit for the TLS protocols",
    ),
    (
        "ZLIB minizip? ( Info-ZIP )",
        "https://zlib.net/",
        "Standard (de)compression library",
    ),
];

/// base (busybox, no VDB) ← app (a fake VDB whose packages have licenses,
/// homepages and descriptions); `config` follows `[buildah]`.
fn project(config: &str) -> BuildahProject {
    let p = BuildahProject::new(config)
        .with_busybox_base()
        .with_vdb_app();
    for ((cpv, ..), (license, homepage, description)) in APP_PACKAGES.iter().zip(APP_METADATA) {
        p.write(&format!("{APP_VDB}/{cpv}/LICENSE"), &format!("{license}\n"));
        p.write(
            &format!("{APP_VDB}/{cpv}/HOMEPAGE"),
            &format!("{homepage}\n"),
        );
        p.write(
            &format!("{APP_VDB}/{cpv}/DESCRIPTION"),
            &format!("{description}\n"),
        );
    }
    p
}

/// The packages a document lists by purl, as packageurl-python reads them back.
const APP_PURLS: [&str; 3] = [
    "pkg:ebuild/dev-libs/openssl@3.1.4?repository=gentoo",
    "pkg:ebuild/sys-libs/zlib@1.2.13?repository=gentoo",
    "pkg:ebuild/www-servers/nginx@1.24.0?repository=gentoo",
];

#[test]
fn sbom_of_a_built_image_in_both_formats_passes_the_validators() {
    if tools_missing() {
        return;
    }
    let Some(v) = SbomValidators::find() else {
        return;
    };
    let p = project("");
    let r = p.run(&["sbom", "app"]);
    assert_eq!(r.code, Some(2), "not built yet: {}", r.stderr);
    assert!(
        r.stderr.contains("run `reagent build app` first"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{}", r.stdout);

    p.build_all();
    let spdx_file = p.path("app.spdx.json");
    let r = p.run(&[
        "sbom",
        "app",
        "--format",
        "spdx-json",
        "-o",
        spdx_file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "-o writes the file only: {}", r.stdout);
    v.spdx(&spdx_file).unwrap();
    let text = std::fs::read_to_string(&spdx_file).unwrap();
    assert_eq!(
        p.ok(&["sbom", "app"]),
        text,
        "stdout, spdx-json by default, same bytes"
    );
    let spdx: Value = serde_json::from_str(&text).unwrap();
    spdx_lists_the_vdb(&p, &spdx);

    let cdx_file = p.path("app.cdx.json");
    p.ok(&[
        "sbom",
        "app",
        "--format",
        "cyclonedx-json",
        "-o",
        cdx_file.to_str().unwrap(),
    ]);
    v.cyclonedx(&cdx_file).unwrap();
    let purls: Vec<Value> = serde_json::from_str(&v.purls(&cdx_file).unwrap()).unwrap();
    let read_back: Vec<String> = purls
        .iter()
        .map(|p| {
            format!(
                "pkg:{}/{}/{}@{}?repository={}",
                p["type"].as_str().unwrap(),
                p["namespace"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap(),
                p["qualifiers"]["repository"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(read_back, APP_PURLS);
    let cdx: Value = serde_json::from_str(&std::fs::read_to_string(&cdx_file).unwrap()).unwrap();
    assert_eq!(
        cdx["metadata"]["timestamp"],
        spdx["creationInfo"]["created"]
    );
    assert_eq!(cdx["metadata"]["component"]["version"], p.key16("app"));

    // The base has no package database: a valid document listing no package.
    let base_file = p.path("base.spdx.json");
    p.ok(&["sbom", "base", "-o", base_file.to_str().unwrap()]);
    v.spdx(&base_file).unwrap();
    let base: Value = serde_json::from_str(&std::fs::read_to_string(&base_file).unwrap()).unwrap();
    assert_eq!(
        base["packages"].as_array().unwrap().len(),
        1,
        "the image alone"
    );

    let r = p.run(&["sbom", "nothing-like-this"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("no node named"), "{}", r.stderr);
    let r = p.run(&["sbom", "app", "--format", "spdx"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown SBOM format `spdx`"),
        "{}",
        r.stderr
    );
}

/// What the SPDX document of app says, package by package.
fn spdx_lists_the_vdb(p: &BuildahProject, spdx: &Value) {
    let packages = spdx["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "app",
            "dev-libs/openssl",
            "sys-libs/zlib",
            "www-servers/nginx"
        ]
    );
    assert_eq!(packages[0]["versionInfo"], p.key16("app"));
    let purls: Vec<&str> = packages[1..]
        .iter()
        .map(|p| p["externalRefs"][0]["referenceLocator"].as_str().unwrap())
        .collect();
    assert_eq!(purls, APP_PURLS);
    let nginx = &packages[3];
    assert_eq!(
        nginx["licenseDeclared"],
        "BSD-2-Clause AND (LicenseRef-gentoo-SSLeay OR MIT) AND GPL-2.0-or-later",
        "http2 is on"
    );
    assert_eq!(nginx["homepage"], "https://nginx.org");
    assert_eq!(
        nginx["comment"],
        "www-servers/nginx-1.24.0:0::gentoo USE=\"http2 ssl\""
    );
    assert_eq!(packages[1]["licenseDeclared"], "Apache-2.0");
    assert_eq!(
        packages[1]["comment"],
        "dev-libs/openssl-3.1.4:0/3::gentoo USE=\"asm\""
    );
    assert_eq!(packages[2]["licenseDeclared"], "Zlib", "minizip is off");
    assert_eq!(packages[2]["summary"], "Standard (de)compression library");
    // Dated by the image, not by the run: second precision, UTC.
    let created = spdx["creationInfo"]["created"].as_str().unwrap();
    let config = p.storage.buildah(&[
        "inspect",
        "--type",
        "image",
        "--format",
        "{{.OCIv1.Created.UTC.Format \"2006-01-02T15:04:05Z\"}}",
        &format!("localhost/app:{}", p.key16("app")),
    ]);
    assert_eq!(created, config.trim());
}

/// `skopeo ARGS` against the loopback registry, which must succeed; its stdout.
fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn tags(registry: &str, name: &str) -> Vec<String> {
    let v: Value = serde_json::from_slice(&skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{registry}/acme/{name}"),
    ]))
    .unwrap();
    let mut tags: Vec<String> = v["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags
}

#[test]
fn build_sbom_attaches_the_document_to_the_pushed_digest_once() {
    if tools_missing() {
        return;
    }
    let Some(v) = SbomValidators::find() else {
        return;
    };
    let registry = Registry::start();
    let host = registry.host();
    let p = project(&format!(
        "[project]\nname = \"t\"\nregistry = \"{host}/acme\"\n[registry]\ntls_verify = false\n"
    ));
    let r = p.run(&["build", "-R", "--sbom", "all"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("-R turns the registry off"),
        "{}",
        r.stderr
    );

    let r = p.run(&["build", "--json", "--sbom", "all"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let key16 = p.key16("app");
    let inspect: Value = serde_json::from_slice(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{host}/acme/app:{key16}"),
    ]))
    .unwrap();
    let digest = inspect["Digest"].as_str().unwrap();
    let sbom_tag = format!("{}.sbom", digest.replacen(':', "-", 1));
    assert_eq!(
        tags(host, "app"),
        [key16.clone(), "latest".into(), sbom_tag.clone()]
    );
    assert_eq!(tags(host, "base").len(), 3, "the base has its SBOM too");

    // The tag holds a cosign-shaped manifest whose one layer is the document.
    let sbom_ref = format!("docker://{host}/acme/app:{sbom_tag}");
    let manifest: Value = serde_json::from_slice(&skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &sbom_ref,
    ]))
    .unwrap();
    let layer = &manifest["layers"][0];
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(layer["mediaType"], "text/spdx+json");
    assert_eq!(
        layer["annotations"]["org.opencontainers.image.title"],
        "sbom.spdx.json"
    );
    let copied = tempfile::tempdir().unwrap();
    let layout = copied.path().join("layout");
    skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &sbom_ref,
        &format!("oci:{}", layout.display()),
    ]);
    let blob = layout.join("blobs/sha256").join(
        layer["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap(),
    );
    let attached = std::fs::read_to_string(&blob).unwrap();
    assert_eq!(
        attached,
        p.ok(&["sbom", "app"]),
        "what `reagent sbom` prints"
    );
    let file = copied.path().join("attached.spdx.json");
    std::fs::write(&file, &attached).unwrap();
    v.spdx(&file).unwrap();

    // Nothing changed: nothing is built or pushed, no tag is added.
    let r = p.run(&["build", "--json", "--sbom", "all"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let summary: Value = r
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "summary")
        .unwrap();
    assert_eq!(summary["up_to_date"], 2, "{summary}");
    assert_eq!(tags(host, "app"), [key16, "latest".into(), sbom_tag]);
}
