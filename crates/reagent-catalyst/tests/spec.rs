//! Behaviour of `reagent_catalyst::parse` and the `Spec` it returns.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use reagent_catalyst::{parse, Output, SnapshotRef, Spec, SpecError, TargetKind};

fn vars() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("TIMESTAMP".to_string(), "20240601T170104Z".to_string()),
        ("TREEISH".to_string(), "4c2b6d9e".to_string()),
        ("REPO_DIR".to_string(), "/srv/releng".to_string()),
    ])
}

/// The keys every stage spec needs, for tests about one construct.
const BASE: &str = "\
subarch: amd64
target: stage3
version_stamp: openrc-1
rel_type: 23.0-default
profile: default/linux/amd64/23.0
snapshot_treeish: abc
source_subpath: 23.0-default/stage1-amd64-openrc-1
";

fn base_with(extra: &str) -> Spec {
    parse(&format!("{BASE}{extra}"), &vars()).expect("valid spec")
}

fn err(text: &str) -> SpecError {
    parse(text, &vars()).expect_err("spec should be rejected")
}

// ---- constructs -------------------------------------------------------------------------

#[test]
fn key_value_line_keeps_value_and_line() {
    let spec = base_with("");
    let entry = spec.get("subarch").unwrap();
    assert_eq!(entry.values, ["amd64"]);
    assert_eq!(entry.raw, "amd64");
    assert_eq!(entry.line, 1);
    assert_eq!(spec.value("rel_type"), Some("23.0-default"));
}

#[test]
fn multi_word_value_is_a_list_and_keeps_raw() {
    let spec = base_with("update_seed_command: --update  --deep --newuse @world\n");
    let entry = spec.get("update_seed_command").unwrap();
    assert_eq!(entry.values, ["--update", "--deep", "--newuse", "@world"]);
    assert_eq!(entry.raw, "--update  --deep --newuse @world");
    assert_eq!(spec.value("update_seed_command"), Some("--update"));
}

#[test]
fn empty_value_is_kept_as_an_empty_entry() {
    let spec = base_with("portage_prefix:\n");
    let entry = spec.get("portage_prefix").unwrap();
    assert!(entry.is_empty());
    assert_eq!(entry.raw, "");
    assert_eq!(spec.value("portage_prefix"), None);
}

#[test]
fn key_alone_takes_indented_continuation_lines_with_tabs_or_spaces() {
    let spec =
        base_with("stage4/packages:\n\tapp-admin/sudo\n    net-misc/dhcpcd sys-apps/pciutils\n");
    let entry = spec.get("stage4/packages").unwrap();
    assert_eq!(
        entry.values,
        ["app-admin/sudo", "net-misc/dhcpcd", "sys-apps/pciutils"]
    );
    assert_eq!(
        entry.raw,
        "\napp-admin/sudo\nnet-misc/dhcpcd sys-apps/pciutils"
    );
    assert_eq!(entry.line, 8);
}

#[test]
fn continuation_lines_add_to_a_value_on_the_key_line() {
    let spec = base_with("stage4/use: bindist\n\tipv6\n");
    assert_eq!(spec.values("stage4/use"), ["bindist", "ipv6"]);
}

#[test]
fn comments_and_blank_lines_are_skipped_even_inside_lists_and_values() {
    let spec = base_with(
        "\n# a comment\nstage4/rm:\n\t/etc/*-\n\t# gone\n\n\t/root/.lesshst\ncflags: -O2 -pipe # tuned\n",
    );
    assert_eq!(spec.values("stage4/rm"), ["/etc/*-", "/root/.lesshst"]);
    assert_eq!(spec.values("cflags"), ["-O2", "-pipe"]);
    assert_eq!(spec.get("cflags").unwrap().raw, "-O2 -pipe");
}

#[test]
fn keys_may_hold_slashes() {
    let spec = base_with("boot/kernel: gentoo\nboot/kernel/gentoo/sources: gentoo-sources\n");
    assert_eq!(
        spec.value("boot/kernel/gentoo/sources"),
        Some("gentoo-sources")
    );
    assert_eq!(spec.get("boot/kernel/gentoo/sources").unwrap().line, 9);
}

#[test]
fn value_splits_at_the_first_colon_only() {
    let spec = parse(
        &BASE.replace("default/linux", "gentoo:default/linux"),
        &vars(),
    )
    .unwrap();
    assert_eq!(spec.profile(), Some("gentoo:default/linux/amd64/23.0"));
}

#[test]
fn surrounding_quotes_are_removed_from_the_key_line() {
    let spec = base_with("cflags: \"-O2 -pipe\"\n");
    assert_eq!(spec.values("cflags"), ["-O2", "-pipe"]);
}

#[test]
fn placeholders_are_filled_from_the_map() {
    let spec = base_with("portage_confdir: @REPO_DIR@/releases/portage/stages\n");
    assert_eq!(
        spec.value("portage_confdir"),
        Some("/srv/releng/releases/portage/stages")
    );
}

#[test]
fn placeholders_in_comments_need_no_value() {
    let spec = base_with("# built from @UNKNOWN@\n");
    assert_eq!(spec.entries().len(), 7);
}

#[test]
fn entries_keep_file_order() {
    let spec = base_with("b: 1\na: 2\n");
    let keys: Vec<&str> = spec.entries().iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "subarch",
            "target",
            "version_stamp",
            "rel_type",
            "profile",
            "snapshot_treeish",
            "source_subpath",
            "b",
            "a"
        ]
    );
}

#[test]
fn catalyst3_snapshot_key_is_accepted() {
    let spec = parse(&BASE.replace("snapshot_treeish", "snapshot"), &vars()).unwrap();
    assert_eq!(spec.snapshot(), Some(SnapshotRef::Stamp("abc")));
    assert_eq!(base_with("").snapshot(), Some(SnapshotRef::Treeish("abc")));
}

#[test]
fn snapshot_target_needs_only_target() {
    let spec = parse("target: snapshot\nsnapshot_treeish: master\n", &vars()).unwrap();
    assert_eq!(spec.kind(), TargetKind::Snapshot);
    assert_eq!(spec.source_subpath(), None);
    assert_eq!(spec.subarch(), "");
}

#[test]
fn hyphen_and_underscore_target_names_are_the_same_kind() {
    let text = format!(
        "{}livecd/packages: app-misc/screen\n",
        BASE.replace("target: stage3", "target: livecd_stage1")
    );
    let spec = parse(&text, &vars()).unwrap();
    assert_eq!(spec.kind(), TargetKind::LivecdStage1);
    assert_eq!(spec.target(), "livecd_stage1");
}

// ---- errors -----------------------------------------------------------------------------

#[test]
fn unfilled_placeholder_names_line_and_placeholder() {
    let e = err(&format!("{BASE}portage_confdir: @NOPE@/x\n"));
    assert_eq!(
        e,
        SpecError::UnfilledPlaceholder {
            line: 8,
            name: "NOPE".into()
        }
    );
    assert_eq!(e.line(), Some(8));
    assert!(
        !e.to_string().contains("line 8"),
        "the line is not repeated: {e}"
    );
    assert!(e.to_string().contains("@NOPE@"));
}

#[test]
fn placeholder_value_with_a_hash_is_rejected() {
    let mut v = vars();
    v.insert("BAD".into(), "a#b".into());
    let e = parse(&format!("{BASE}x: @BAD@\n"), &v).unwrap_err();
    assert!(
        matches!(e, SpecError::BadPlaceholderValue { line: 8, .. }),
        "{e:?}"
    );
}

#[test]
fn placeholder_value_with_a_newline_is_rejected() {
    let mut v = vars();
    v.insert("BAD".into(), "a\nb: c".into());
    let e = parse(&format!("x: @BAD@\n{BASE}"), &v).unwrap_err();
    assert!(
        matches!(e, SpecError::BadPlaceholderValue { line: 1, .. }),
        "{e:?}"
    );
}

#[test]
fn duplicate_key_names_both_lines() {
    let e = err(&format!("{BASE}\n\nsubarch: x86\n"));
    assert_eq!(
        e,
        SpecError::DuplicateKey {
            line: 10,
            first_line: 1,
            key: "subarch".into()
        }
    );
    assert_eq!(e.line(), Some(10));
    assert!(e.to_string().contains("already set on line 1"), "{e}");
}

#[test]
fn value_before_any_key_is_an_error() {
    let e = err(&format!("# header\n\tstray\n{BASE}"));
    assert_eq!(
        e,
        SpecError::OrphanValue {
            line: 2,
            text: "stray".into()
        }
    );
}

#[test]
fn empty_key_is_an_error() {
    let e = err(&format!("{BASE}: value\n"));
    assert!(matches!(e, SpecError::InvalidKey { line: 8, .. }), "{e:?}");
}

#[test]
fn key_with_inner_whitespace_is_an_error() {
    let e = err(&format!("{BASE}stage4 packages: foo\n"));
    assert!(matches!(e, SpecError::InvalidKey { line: 8, .. }), "{e:?}");
}

#[test]
fn missing_target_has_no_line() {
    let e = err("subarch: amd64\n\n# end\n");
    assert_eq!(
        e,
        SpecError::MissingKey {
            key: "target".into(),
            target: None
        }
    );
}

#[test]
fn each_stage_required_key_is_reported_when_missing() {
    for (index, key) in [
        "subarch",
        "version_stamp",
        "rel_type",
        "profile",
        "source_subpath",
    ]
    .into_iter()
    .enumerate()
    {
        let mut text = String::new();
        for l in BASE.lines().filter(|l| !l.starts_with(&format!("{key}:"))) {
            writeln!(text, "{l}").unwrap();
        }
        let e = err(&text);
        assert_eq!(
            e,
            SpecError::MissingKey {
                key: key.into(),
                target: Some("stage3".into())
            },
            "case {index}"
        );
    }
}

#[test]
fn empty_required_key_counts_as_missing() {
    let e = err(&BASE.replace("profile: default/linux/amd64/23.0", "profile:"));
    assert_eq!(
        e,
        SpecError::MissingKey {
            key: "profile".into(),
            target: Some("stage3".into())
        }
    );
}

#[test]
fn missing_snapshot_is_reported_as_snapshot_treeish() {
    let e = err(&BASE.replace("snapshot_treeish: abc\n", ""));
    assert!(
        matches!(&e, SpecError::MissingKey { key, .. } if key == "snapshot_treeish"),
        "{e:?}"
    );
}

#[test]
fn stage4_requires_its_packages() {
    let e = err(&BASE.replace("target: stage3", "target: stage4"));
    assert!(
        matches!(&e, SpecError::MissingKey { key, .. } if key == "stage4/packages"),
        "{e:?}"
    );
}

#[test]
fn multi_valued_version_stamp_is_an_error() {
    let e = err(&BASE.replace("version_stamp: openrc-1", "version_stamp: openrc 1"));
    assert_eq!(
        e,
        SpecError::NotSingle {
            line: 3,
            key: "version_stamp".into(),
            count: 2
        }
    );
}

#[test]
fn unknown_target_names_its_line() {
    let e = err(&BASE.replace("target: stage3", "target: stage9"));
    assert_eq!(
        e,
        SpecError::UnknownTarget {
            line: 2,
            target: "stage9".into()
        }
    );
}

#[test]
fn unknown_compression_mode_names_its_line() {
    let e = err(&format!("{BASE}compression_mode: rar\n"));
    assert_eq!(
        e,
        SpecError::UnknownCompressionMode {
            line: 8,
            mode: "rar".into()
        }
    );
}

// ---- produces / tarball path ------------------------------------------------------------

#[test]
fn produces_follows_catalysts_target_subpath() {
    assert_eq!(
        base_with("").produces(),
        "23.0-default/stage3-amd64-openrc-1"
    );
}

#[test]
fn tarball_uses_spec_mode_else_catalyst_default() {
    let store = Path::new("/var/tmp/catalyst");
    assert_eq!(
        base_with("").tarball_path(store),
        Path::new("/var/tmp/catalyst/builds/23.0-default/stage3-amd64-openrc-1.tar.bz2")
    );
    assert_eq!(
        base_with("compression_mode: pixz_x\n").tarball_path(store),
        Path::new("/var/tmp/catalyst/builds/23.0-default/stage3-amd64-openrc-1.tar.xz")
    );
    assert_eq!(
        base_with("").tarball_path_with(store, "gzip"),
        Some(store.join("builds/23.0-default/stage3-amd64-openrc-1.tar.gz"))
    );
    assert_eq!(base_with("").tarball_path_with(store, "rar"), None);
}

// ---- realistic releng specs -------------------------------------------------------------

const STAGE1: &str = "\
subarch: amd64
target: stage1
version_stamp: openrc-@TIMESTAMP@
rel_type: 23.0-default
profile: default/linux/amd64/23.0
snapshot_treeish: @TREEISH@
source_subpath: 23.0-default/stage3-amd64-openrc-latest
compression_mode: pixz
decompressor_search_order: xz bzip2
update_seed: yes
update_seed_command: --changed-use --update --deep --usepkg --buildpkg @system @world
portage_confdir: @REPO_DIR@/releases/portage/stages
portage_prefix: releng
";

const STAGE3: &str = "\
subarch: amd64
target: stage3
version_stamp: openrc-@TIMESTAMP@
rel_type: 23.0-default
profile: default/linux/amd64/23.0
snapshot_treeish: @TREEISH@
source_subpath: 23.0-default/stage1-amd64-openrc-@TIMESTAMP@
compression_mode: pixz
portage_confdir: @REPO_DIR@/releases/portage/stages
";

const STAGE4: &str = "\
subarch: amd64
target: stage4
version_stamp: cloud-openrc-@TIMESTAMP@
rel_type: 23.0-default
profile: default/linux/amd64/23.0
snapshot_treeish: @TREEISH@
source_subpath: 23.0-default/stage3-amd64-openrc-@TIMESTAMP@
compression_mode: pixz
portage_confdir: @REPO_DIR@/releases/portage/isos

stage4/use:
\tbindist
\tbzip2
\tipv6

stage4/packages:
\tnet-misc/dhcp
\tsys-boot/grub
\tsys-apps/iproute2
stage4/fsscript: @REPO_DIR@/releases/scripts/cloud-prep.sh
stage4/rcadd:
\tacpid|default
\tsshd|default

boot/kernel: gentoo
boot/kernel/gentoo/sources: gentoo-sources
boot/kernel/gentoo/config: @REPO_DIR@/releases/kconfig/amd64/cloud-amd64-gentoo.config

# all of the cleanup...
stage4/rm:
\t/etc/ssh/ssh_host_*
\t# Remove any generated stuff by genkernel
\t/usr/share/genkernel
";

#[test]
fn realistic_stage_chain_links_by_source_subpath() {
    let stage1 = parse(STAGE1, &vars()).unwrap();
    let stage3 = parse(STAGE3, &vars()).unwrap();
    let stage4 = parse(STAGE4, &vars()).unwrap();

    assert_eq!(stage1.kind(), TargetKind::Stage1);
    assert_eq!(
        stage1.produces(),
        "23.0-default/stage1-amd64-openrc-20240601T170104Z"
    );
    assert_eq!(stage1.snapshot().map(|s| s.as_str()), Some("4c2b6d9e"));
    assert_eq!(
        stage1
            .values("update_seed_command")
            .last()
            .map(String::as_str),
        Some("@world")
    );
    assert_eq!(stage3.source_subpath(), Some(stage1.produces().as_str()));
    assert_eq!(stage4.source_subpath(), Some(stage3.produces().as_str()));

    assert_eq!(stage4.values("stage4/use"), ["bindist", "bzip2", "ipv6"]);
    assert_eq!(stage4.get("stage4/packages").unwrap().line, 16);
    assert_eq!(
        stage4.values("stage4/rcadd"),
        ["acpid|default", "sshd|default"]
    );
    assert_eq!(
        stage4.value("boot/kernel/gentoo/config"),
        Some("/srv/releng/releases/kconfig/amd64/cloud-amd64-gentoo.config")
    );
    assert_eq!(
        stage4.values("stage4/rm"),
        ["/etc/ssh/ssh_host_*", "/usr/share/genkernel"]
    );
    assert_eq!(
        stage4.tarball_path(Path::new("/store")),
        Path::new("/store/builds/23.0-default/stage4-amd64-cloud-openrc-20240601T170104Z.tar.xz")
    );
    assert_eq!(
        reagent_catalyst::placeholders(STAGE4)
            .iter()
            .filter(|p| p.name == "REPO_DIR")
            .count(),
        3
    );
}

// ---- canonical --------------------------------------------------------------------------

#[test]
fn canonical_is_versioned_and_lists_keys_and_values() {
    let spec = base_with("stage4/use: a b\n");
    let text = String::from_utf8(spec.canonical()).unwrap();
    assert!(text.starts_with("reagent-catalyst-spec/1\nsubarch\tamd64\n"));
    assert!(text.ends_with("stage4/use\ta\tb\n"));
}

#[test]
fn canonical_ignores_comments_whitespace_and_list_layout() {
    let original = parse(STAGE4, &vars()).unwrap().canonical();
    let edited = STAGE4
        .replace(
            "stage4/use:\n\tbindist\n\tbzip2\n\tipv6\n",
            "stage4/use: bindist   bzip2\n      ipv6 # flags\n",
        )
        .replace("# all of the cleanup...\n", "\n\n# cleanup, reworded\n")
        .replace("subarch: amd64", "subarch:    amd64   ");
    assert_ne!(edited, STAGE4);
    assert_eq!(parse(&edited, &vars()).unwrap().canonical(), original);
}

#[test]
fn canonical_changes_with_values_placeholders_and_order() {
    let original = parse(STAGE4, &vars()).unwrap().canonical();
    let value_edit = STAGE4.replace("\tipv6\n", "\tipv6\n\tzstd\n");
    assert_ne!(parse(&value_edit, &vars()).unwrap().canonical(), original);

    let mut other_vars = vars();
    other_vars.insert("TREEISH".into(), "ffff0000".into());
    assert_ne!(parse(STAGE4, &other_vars).unwrap().canonical(), original);

    let reordered = STAGE4.replace("\tbindist\n\tbzip2\n", "\tbzip2\n\tbindist\n");
    assert_ne!(parse(&reordered, &vars()).unwrap().canonical(), original);

    // moving a value from one key to the next must not collide
    let a = base_with("x: a b\ny: c\n").canonical();
    let b = base_with("x: a\ny: b c\n").canonical();
    assert_ne!(a, b);
}

// ---- render -----------------------------------------------------------------------------

#[test]
fn render_round_trips_realistic_specs() {
    for text in [STAGE1, STAGE3, STAGE4] {
        let spec = parse(text, &vars()).unwrap();
        let rendered = spec.render();
        assert!(!rendered.contains("@TIMESTAMP@"));
        assert!(!rendered.contains('#'));
        let reparsed = parse(&rendered, &BTreeMap::new()).unwrap();
        let strip = |s: &Spec| {
            s.entries()
                .iter()
                .map(|e| (e.key.clone(), e.values.clone(), e.raw.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&reparsed), strip(&spec));
        assert_eq!(reparsed.canonical(), spec.canonical());
    }
}

#[test]
fn render_writes_catalyst_layout() {
    let spec = base_with("stage4/use: bindist\n\tipv6\nempty:\n");
    let rendered = spec.render();
    assert!(rendered.starts_with("subarch: amd64\ntarget: stage3\n"));
    assert!(rendered.ends_with("stage4/use: bindist\n\tipv6\nempty:\n"));
}

#[test]
fn render_keeps_edge_quotes_on_a_continuation_line() {
    let spec = base_with("odd:\n\t\"quoted\"\n");
    assert_eq!(spec.values("odd"), ["\"quoted\""]);
    let reparsed = parse(&spec.render(), &BTreeMap::new()).unwrap();
    assert_eq!(reparsed.values("odd"), ["\"quoted\""]);
}

#[test]
fn render_moves_a_key_line_value_ending_in_a_quote_to_a_continuation_line() {
    let spec = base_with("odd: a\" \"\n");
    assert_eq!(spec.values("odd"), ["a\""]);
    assert!(spec.render().contains("odd:\n\ta\"\n"));
    let reparsed = parse(&spec.render(), &BTreeMap::new()).unwrap();
    assert_eq!(reparsed.values("odd"), ["a\""]);
}

#[test]
fn a_line_without_colon_continues_the_previous_key_even_unindented() {
    // catalyst tells key lines from value lines by the `:` alone, not by indentation
    let spec = base_with("stage4/packages:\napp-admin/sudo\n\tnet-misc/dhcpcd\n");
    assert_eq!(
        spec.values("stage4/packages"),
        ["app-admin/sudo", "net-misc/dhcpcd"]
    );
}

#[test]
fn an_indented_line_with_a_colon_starts_a_new_key() {
    let spec = base_with("stage4/packages:\n\tapp-admin/sudo\n\tstage4/use: ipv6\n");
    assert_eq!(spec.values("stage4/packages"), ["app-admin/sudo"]);
    assert_eq!(spec.values("stage4/use"), ["ipv6"]);
    assert_eq!(spec.get("stage4/use").unwrap().line, 10);
}

// ---- issue 8 §1: real releng shapes -----------------------------------------------------

#[test]
fn a_byte_order_mark_before_the_first_key_is_skipped() {
    let spec = parse(&format!("\u{feff}{BASE}"), &vars()).expect("a BOM is not part of a key");
    assert_eq!(spec.subarch(), "amd64");
    assert_eq!(spec.get("subarch").unwrap().line, 1);
    assert_eq!(spec.canonical(), base_with("").canonical());
}

#[test]
fn a_missing_key_is_missing_from_the_file_not_at_a_line() {
    let e = err(&BASE.replace("subarch: amd64\n", ""));
    assert_eq!(e.line(), None, "{e:?}");
    assert!(e.to_string().contains("missing from the file"), "{e}");
    // Other errors keep their line.
    let e = err(&BASE.replace("target: stage3", "target: stage9"));
    assert_eq!(e.line(), Some(2));
}

#[test]
fn source_build_is_source_subpath_without_a_catalyst_extension() {
    let with = |src: &str| {
        base_with("")
            .entries()
            .iter()
            .map(|e| {
                if e.key == "source_subpath" {
                    format!("source_subpath: {src}\n")
                } else {
                    format!("{}: {}\n", e.key, e.raw)
                }
            })
            .collect::<String>()
    };
    for (written, build) in [
        (
            "23.0-default/stage1-arm64-openrc-1.tar.xz",
            "23.0-default/stage1-arm64-openrc-1",
        ),
        ("r/stage3-amd64-x.tar.bz2", "r/stage3-amd64-x"),
        ("r/stage3-amd64-x.tar.gz", "r/stage3-amd64-x"),
        ("r/stage3-amd64-x.tar", "r/stage3-amd64-x"),
        ("r/stage3-amd64-x.squashfs", "r/stage3-amd64-x"),
        ("r/stage3-amd64-x.tar.zst", "r/stage3-amd64-x"),
        ("r/stage3-amd64-x", "r/stage3-amd64-x"),
        // A dot in a version stamp is not an extension.
        ("r/stage3-amd64-2024.1", "r/stage3-amd64-2024.1"),
    ] {
        let spec = parse(&with(written), &vars()).unwrap();
        assert_eq!(spec.source_subpath(), Some(written));
        assert_eq!(spec.source_build(), Some(build), "{written}");
    }
}

#[test]
fn rename_regexp_renames_the_tarball_as_catalysts_sed_does() {
    let store = Path::new("/var/tmp/catalyst");
    let spec = base_with("compression_mode: pixz\nrename_regexp: s_.tar.xz$_.wsl_\n");
    assert_eq!(
        spec.output(store),
        Output::Tarball(store.join("builds/23.0-default/stage3-amd64-openrc-1.wsl"))
    );
    // Groups and `&`, and a regexp that matches nothing leaves the name.
    let spec = base_with("rename_regexp: s|stage3-(amd64)-openrc-1(.*)|&-\\1\\2|\n");
    assert_eq!(
        spec.output(store).path(),
        store.join("builds/23.0-default/stage3-amd64-openrc-1.tar.bz2-amd64.tar.bz2")
    );
    let spec = base_with("rename_regexp: s/nothing-here/x/g\n");
    assert_eq!(spec.output(store).path(), spec.tarball_path(store));
}

#[test]
fn a_rename_regexp_that_is_not_a_sed_substitution_is_rejected_at_its_line() {
    for bad in ["y/abc/xyz/", "s/unclosed", "s/(/x/", "s/a/b/q"] {
        let e = err(&format!("{BASE}rename_regexp: {bad}\n"));
        assert!(
            matches!(&e, SpecError::BadRenameRegexp { line: 8, .. }),
            "{bad}: {e:?}"
        );
        assert!(e.to_string().contains(bad), "{e}");
    }
}

#[test]
fn image_targets_write_an_iso_a_disk_image_or_a_folder() {
    let store = Path::new("/var/tmp/catalyst");
    let stage2 = |target: &str, extra: &str| {
        parse(
            &format!(
                "{}boot/kernel: gentoo\n{extra}",
                BASE.replace("target: stage3", &format!("target: {target}"))
            ),
            &vars(),
        )
    };
    let iso = stage2("livecd-stage2", "livecd/iso: install-amd64-minimal-1.iso\n").unwrap();
    assert_eq!(
        iso.output(store),
        Output::Iso(store.join("builds/23.0-default/install-amd64-minimal-1.iso"))
    );
    assert!(!iso.output(store).is_stage_tarball());
    let abs = stage2("livecd-stage2", "livecd/iso: /srv/out/x.iso\n").unwrap();
    assert_eq!(abs.output(store), Output::Iso("/srv/out/x.iso".into()));
    let qcow = stage2(
        "diskimage-stage2",
        "diskimage/qcow2: di-amd64-console-1.qcow2\n",
    )
    .unwrap();
    assert_eq!(
        qcow.output(store),
        Output::DiskImage(store.join("builds/23.0-default/di-amd64-console-1.qcow2"))
    );
    let netboot = stage2("netboot", "").unwrap();
    assert_eq!(
        netboot.output(store),
        Output::Folder(store.join("builds/23.0-default/netboot-amd64-openrc-1"))
    );
    // Without its image key catalyst writes nothing reagent could record.
    let e = stage2("livecd-stage2", "").unwrap_err();
    assert!(
        matches!(&e, SpecError::MissingKey { key, .. } if key == "livecd/iso"),
        "{e:?}"
    );
    let e = stage2("diskimage-stage2", "").unwrap_err();
    assert!(
        matches!(&e, SpecError::MissingKey { key, .. } if key == "diskimage/qcow2"),
        "{e:?}"
    );
    assert!(base_with("").output(store).is_stage_tarball());
}
