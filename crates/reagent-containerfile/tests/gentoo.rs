//! A realistic multi-stage Gentoo Containerfile, analysed end to end.

mod common;

use common::args;
use reagent_containerfile::{parse, Keyword, ReferenceKind};

const TEXT: &str = include_str!("fixtures/gentoo.Containerfile");

#[test]
fn gentoo_references_in_order() {
    let a = parse(TEXT).unwrap().analyze(&args(&[])).unwrap();
    let refs: Vec<_> = a
        .references
        .iter()
        .map(|r| (r.line, r.kind, r.resolved.as_str(), r.stage))
        .collect();
    assert_eq!(
        refs,
        [
            (
                10,
                ReferenceKind::From,
                "localhost/reagent/portage:latest",
                0
            ),
            (
                12,
                ReferenceKind::From,
                "docker.io/gentoo/stage3:amd64-openrc",
                1
            ),
            (
                38,
                ReferenceKind::From,
                "docker.io/gentoo/stage3:amd64-openrc",
                2
            ),
            (40, ReferenceKind::MountFrom, "localhost/reagent/tools:1", 2),
            (
                44,
                ReferenceKind::CopyFrom,
                "docker.io/library/busybox:1.36",
                2
            ),
        ]
    );
    assert_eq!(a.references[0].written, "${PORTAGE_IMAGE}");
    assert_eq!(a.references[1].written, "${STAGE3}:${STAGE3_TAG}");
}

#[test]
fn gentoo_context_and_remote_sources() {
    let a = parse(TEXT).unwrap().analyze(&args(&[])).unwrap();
    let ctx: Vec<_> = a
        .context_sources
        .iter()
        .map(|c| (c.line, c.instruction.as_str(), c.path.as_str()))
        .collect();
    assert_eq!(
        ctx,
        [
            (18, "COPY", "etc/portage/make.conf"),
            (18, "COPY", "etc/portage/package.use/"),
            (19, "COPY", "etc/portage/env/*.conf"),
            (26, "RUN --mount", "patches"),
            (45, "COPY", "entrypoint.sh"),
        ]
    );
    let urls: Vec<_> = a
        .remote_sources
        .iter()
        .map(|r| (r.line, r.url.as_str()))
        .collect();
    assert_eq!(
        urls,
        [(
            24,
            "https://distfiles.example.org/overlay-amd64-openrc.tar.xz"
        )]
    );
}

#[test]
fn gentoo_stages() {
    let a = parse(TEXT)
        .unwrap()
        .analyze(&args(&[("STAGE3_TAG", "arm64")]))
        .unwrap();
    let stages: Vec<_> = a
        .stages
        .iter()
        .map(|s| {
            (
                s.name.as_deref(),
                s.line,
                s.base_resolved.as_str(),
                s.platform.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            (
                Some("portage"),
                10,
                "localhost/reagent/portage:latest",
                None
            ),
            (
                Some("builder"),
                12,
                "docker.io/gentoo/stage3:arm64",
                Some("linux/amd64")
            ),
            (Some("runtime"), 38, "docker.io/gentoo/stage3:arm64", None),
        ]
    );
    assert_eq!(
        a.remote_sources[0].url,
        "https://distfiles.example.org/overlay-arm64.tar.xz"
    );
}

#[test]
fn gentoo_heredocs_and_instruction_lines() {
    let file = parse(TEXT).unwrap();
    let lines: Vec<_> = file
        .instructions()
        .iter()
        .map(|i| (i.line, i.keyword.as_str()))
        .collect();
    assert_eq!(
        lines[..6],
        [
            (5, "ARG"),
            (6, "ARG"),
            (7, "ARG"),
            (8, "ARG"),
            (10, "FROM"),
            (12, "FROM")
        ]
    );
    let copy = file.instructions().iter().find(|i| i.line == 20).unwrap();
    assert_eq!(
        copy.heredocs[0].body,
        "[local]\nlocation = /var/db/repos/local\n"
    );
    let script = file.instructions().iter().find(|i| i.line == 33).unwrap();
    assert_eq!(
        script.heredocs[0].body,
        "set -eu\nqlist -I > /var/cache/binpkgs/world.txt\n"
    );
    assert_eq!(
        file.instructions()
            .iter()
            .find(|i| i.line == 38)
            .unwrap()
            .keyword,
        Keyword::From
    );
    assert_eq!(
        file.stage_names(),
        [Some("portage"), Some("builder"), Some("runtime")]
    );
}
