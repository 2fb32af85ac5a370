//! `rewrite_references` replaces exactly the reference words and nothing else.

mod common;

use common::args;
use reagent_containerfile::{parse, Analysis, ImageReference, ReferenceKind};

const GENTOO: &str = include_str!("fixtures/gentoo.Containerfile");

/// The analysis with the resolved/written values of references blanked, to compare
/// everything but the references.
fn without_reference_values(a: &Analysis) -> Analysis {
    let mut a = a.clone();
    for r in &mut a.references {
        r.resolved.clear();
        r.written.clear();
    }
    for s in &mut a.stages {
        s.base_resolved.clear();
        s.base_written.clear();
    }
    a
}

fn pin(r: &ImageReference) -> Option<String> {
    match r.resolved.as_str() {
        "localhost/reagent/portage:latest" => Some("localhost/reagent/portage@sha256:1111".into()),
        "localhost/reagent/tools:1" => Some("localhost/reagent/tools@sha256:2222".into()),
        "docker.io/gentoo/stage3:amd64-openrc" if r.line == 38 => {
            Some("localhost/base@sha256:3333".into())
        }
        _ => None,
    }
}

#[test]
fn round_trip_on_gentoo_file() {
    let file = parse(GENTOO).unwrap();
    let before = file.analyze(&args(&[])).unwrap();
    let out = file.rewrite_references(GENTOO, &args(&[]), &pin).unwrap();

    assert!(out.contains("FROM localhost/reagent/portage@sha256:1111 AS portage\n"));
    assert!(out.contains("FROM localhost/base@sha256:3333 AS runtime\n"));
    assert!(out.contains("from=localhost/reagent/tools@sha256:2222,target=/opt/tools"));
    // Untouched: the builder's FROM (map returned None) and the stage reference.
    assert!(out.contains("FROM --platform=linux/amd64 ${STAGE3}:${STAGE3_TAG} AS builder\n"));
    assert!(out.contains("--mount=type=bind,from=builder,source="));

    // Everything outside the replaced words is byte-for-byte the same.
    let expected = GENTOO
        .replace(
            "FROM ${PORTAGE_IMAGE} AS",
            "FROM localhost/reagent/portage@sha256:1111 AS",
        )
        .replace(
            "FROM ${STAGE3}:${STAGE3_TAG} AS runtime",
            "FROM localhost/base@sha256:3333 AS runtime",
        )
        .replace(
            "from=localhost/reagent/tools:1,",
            "from=localhost/reagent/tools@sha256:2222,",
        );
    assert_eq!(out, expected);

    // The rewritten file parses and analyses the same, except for the replaced references.
    let after = parse(&out).unwrap().analyze(&args(&[])).unwrap();
    assert_eq!(
        without_reference_values(&after),
        without_reference_values(&before)
    );
    let resolved: Vec<_> = after
        .references
        .iter()
        .map(|r| r.resolved.as_str())
        .collect();
    assert_eq!(
        resolved,
        [
            "localhost/reagent/portage@sha256:1111",
            "docker.io/gentoo/stage3:amd64-openrc",
            "localhost/base@sha256:3333",
            "localhost/reagent/tools@sha256:2222",
            "docker.io/library/busybox:1.36",
        ]
    );
}

#[test]
fn rewrite_copy_from_keeps_flag_and_quotes() {
    let text = "FROM base\nCOPY --chown=1 --from=\"tools:1\" /a /b\nRUN --mount=\"type=cache,from=cache:2,target=/c\" true\n";
    let file = parse(text).unwrap();
    let out = file
        .rewrite_references(text, &args(&[]), &|r| match r.kind {
            ReferenceKind::From => None,
            _ => Some(format!("{}-pinned", r.resolved)),
        })
        .unwrap();
    assert_eq!(
        out,
        "FROM base\nCOPY --chown=1 --from=tools:1-pinned /a /b\nRUN --mount=\"type=cache,from=cache:2-pinned,target=/c\" true\n"
    );
}

#[test]
fn rewrite_uses_build_args_and_other_text() {
    let text = "ARG BASE=a\nFROM $BASE\n";
    let file = parse(text).unwrap();
    let map = |r: &ImageReference| (r.resolved == "b").then(|| "b@sha256:9".to_string());
    // With the default the reference is `a`: nothing to replace.
    assert_eq!(
        file.rewrite_references(text, &args(&[]), &map).unwrap(),
        text
    );
    // With BASE=b it is replaced, `ARG` line untouched.
    assert_eq!(
        file.rewrite_references(text, &args(&[("BASE", "b")]), &map)
            .unwrap(),
        "ARG BASE=a\nFROM b@sha256:9\n"
    );
    // A different text is parsed afresh rather than patched with stale offsets.
    let other = "# moved\nARG BASE=a\nFROM $BASE\n";
    assert_eq!(
        file.rewrite_references(other, &args(&[("BASE", "b")]), &map)
            .unwrap(),
        "# moved\nARG BASE=a\nFROM b@sha256:9\n"
    );
}

#[test]
fn rewrite_with_crlf_and_continuation() {
    let text = "FROM \\\r\n  base:1 AS x\r\nRUN true\r\n";
    let file = parse(text).unwrap();
    let out = file
        .rewrite_references(text, &args(&[]), &|_| Some("base@sha256:0".into()))
        .unwrap();
    assert_eq!(out, "FROM \\\r\n  base@sha256:0 AS x\r\nRUN true\r\n");
}

#[test]
fn a_kept_file_rewrites_its_own_text() {
    fn keepable<T: Clone + Send + Sync + 'static>(_: &T) {}
    let file = parse(GENTOO).unwrap();
    keepable(&file);
    assert_eq!(file.text(), GENTOO);
    let kept = file.clone();
    drop(file);
    let out = kept
        .rewrite_references(kept.text(), &args(&[]), &pin)
        .unwrap();
    assert_eq!(
        out,
        parse(GENTOO)
            .unwrap()
            .rewrite_references(GENTOO, &args(&[]), &pin)
            .unwrap()
    );
    assert!(out.contains("localhost/reagent/portage@sha256:1111"));
}
