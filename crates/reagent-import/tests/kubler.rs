//! `reagent import kubler` as a library: the fixture namespace (and small ones
//! written here) imported into a temp folder, and the result loaded with
//! `reagent-graph`, the same loader `reagent check` uses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reagent_graph::{ImageFormat, ImageRecipe, Project, Recipe};
use reagent_import::kubler::{import, ImportError, Options, Report, Role, REPORT_FILE};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// An import into a fresh temp folder, and the project it wrote, loaded.
struct Imported {
    _dir: tempfile::TempDir,
    out: PathBuf,
    report: Report,
    project: Project,
}

impl Imported {
    fn run(kubler: bool, portage: Option<&Path>) -> Imported {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let report = import(&Options {
            namespace_dir: fixture("acme"),
            out_dir: out.clone(),
            namespace: None,
            kubler_dir: kubler.then(|| fixture("kubler")),
            portage: portage.map(Path::to_path_buf),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let project =
            Project::load(&out).unwrap_or_else(|e| panic!("the result does not load: {e}"));
        Imported {
            _dir: dir,
            out,
            report,
            project,
        }
    }

    /// The names of the nodes `name` is built from (its parents in the graph).
    fn parents(&self, name: &str) -> BTreeSet<String> {
        let graph = &self.project.graph;
        let node = graph
            .by_name(name)
            .unwrap_or_else(|| panic!("no node {name}"));
        graph
            .parents(node.id)
            .into_iter()
            .map(|id| graph.node(id).name.clone())
            .collect()
    }

    fn recipe(&self, name: &str) -> &ImageRecipe {
        match &self.project.graph.by_name(name).unwrap().recipe {
            Recipe::Image(r) => r,
            other => panic!("{name} is not an image: {other:?}"),
        }
    }

    fn containerfile(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.join("images").join(name).join("Containerfile")).unwrap()
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(ToString::to_string).collect()
}

#[test]
fn every_image_is_built_from_its_kubler_parent_and_copies_its_builder_step() {
    let i = Imported::run(false, None);
    // IMAGE_PARENT, exactly, plus the builder step whose root filesystem it copies.
    assert_eq!(
        i.parents("busybox"),
        set(&["bob-musl-busybox"]),
        "FROM scratch"
    );
    assert_eq!(i.parents("musl"), set(&["busybox", "bob-musl-musl"]));
    assert_eq!(i.parents("glibc"), set(&["busybox", "bob-glibc"]));
    assert_eq!(i.parents("nginx"), set(&["glibc", "bob-nginx"]));
    assert_eq!(i.parents("tools"), set(&["glibc", "bob-tools-tools"]));
    // No `ADD rootfs.tar`: only its parent.
    assert_eq!(i.parents("nginx-site"), set(&["nginx"]));
    assert!(i.containerfile("busybox").contains("\nFROM scratch\n"));
    assert!(i
        .containerfile("glibc")
        .contains("\nFROM localhost/busybox\n"));
    assert!(i.containerfile("glibc").contains(
        "\nCOPY --from=localhost/bob-glibc /kubler/rootfs/ /\nRUN test -f /etc/glibc-release\n"
    ));
}

#[test]
fn builder_steps_follow_kubler_s_builder_chain() {
    let i = Imported::run(false, None);
    // BUILDER set: the builder itself. No BUILDER: the parent's committed builder state.
    assert_eq!(
        i.parents("bob-musl-busybox"),
        set(&["bob-musl"]),
        "BUILDER=${{DEFAULT_MUSL_BUILDER}}"
    );
    assert_eq!(
        i.parents("bob-musl-musl"),
        set(&["bob-musl-busybox"]),
        "the musl branch"
    );
    assert_eq!(i.parents("bob-glibc"), set(&["bob"]));
    assert_eq!(i.parents("bob-nginx"), set(&["bob-glibc"]));
    assert_eq!(i.parents("bob-nginx-site"), set(&["bob-nginx"]));
    assert_eq!(i.parents("bob-tools-tools"), set(&["bob-tools"]));
    // A builder FROM another builder.
    assert_eq!(i.parents("bob-tools"), set(&["bob"]));
    // Without --kubler, a stage3 builder starts from Kubler's own core image.
    assert!(i.parents("bob").is_empty());
    let bob = i.project.graph.by_name("bob").unwrap();
    assert!(bob
        .manifest
        .get("external:docker.io/acme/bob-core")
        .is_some());
    assert!(i
        .containerfile("bob-nginx")
        .contains("FROM localhost/bob-glibc\n"));
    let roles: Vec<(String, Role)> = i
        .report
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.role))
        .collect();
    assert!(roles.contains(&("bob-glibc".to_string(), Role::BuilderStep)));
    assert!(roles.contains(&("bob-tools".to_string(), Role::Builder)));
    assert_eq!(i.report.nodes.len(), 15);
}

#[test]
fn healthcheck_and_onbuild_are_kept_in_docker_format_and_a_healthcheck_is_inherited() {
    let i = Imported::run(false, None);
    assert_eq!(i.recipe("nginx").format, ImageFormat::Docker, "HEALTHCHECK");
    assert_eq!(i.recipe("tools").format, ImageFormat::Docker, "ONBUILD");
    assert_eq!(
        i.recipe("nginx-site").format,
        ImageFormat::Docker,
        "FROM nginx: the health check it inherits"
    );
    for oci in ["busybox", "musl", "glibc", "bob-nginx", "bob"] {
        assert_eq!(i.recipe(oci).format, ImageFormat::Oci, "{oci}");
    }
    assert!(i.containerfile("nginx").contains(
        "HEALTHCHECK --interval=30s --timeout=3s CMD wget -q --spider http://localhost/ || exit 1\n"
    ));
    let toml = std::fs::read_to_string(i.out.join("graph.toml")).unwrap();
    assert!(
        toml.contains("format = \"docker\"  # HEALTHCHECK at images/nginx/Dockerfile.template:8\n"),
        "{toml}"
    );
}

#[test]
fn kubler_variables_are_filled_in_and_bob_variables_are_build_args() {
    let i = Imported::run(false, None);
    let tools = i.containerfile("tools");
    assert!(tools.contains("LABEL maintainer=\"Acme Builders <builders@acme.example>\" \\\n      tools.version=\"1.2\"\n"), "{tools}");
    assert!(
        tools.contains("ONBUILD RUN echo \"built on acme/tools:20250501\"\n"),
        "{tools}"
    );
    for name in [
        "busybox",
        "musl",
        "glibc",
        "nginx",
        "tools",
        "nginx-site",
        "bob",
        "bob-tools",
    ] {
        let text = i.containerfile(name);
        let body: String = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(!body.contains("${"), "{name}: {text}");
    }
    let args = &i.recipe("bob-glibc").args;
    assert_eq!(args["BOB_CURRENT_TARGET"], "acme/glibc");
    assert_eq!(args["BOB_TIMEZONE"], "UTC", "from kubler.conf");
    assert_eq!(args["BOB_SKIP_LIB_CLEANUP"], "true", "from build.conf");
    let bob = &i.recipe("bob").args;
    assert_eq!(
        bob["BOB_CFLAGS"], "-mtune=generic -O2 -pipe",
        "${{BOB_CFLAGS:-...}}"
    );
    assert_eq!(bob["BOB_CXXFLAGS"], "-mtune=generic -O2 -pipe");
    assert_eq!(bob["BOB_CURRENT_TARGET"], "acme/bob");
    assert!(i.containerfile("bob-glibc").contains(
        "\nARG BOB_CURRENT_TARGET \\\n    BOB_MAKEOPTS \\\n    BOB_SKIP_LIB_CLEANUP \\\n    BOB_TIMEZONE\nRUN "
    ));
    assert_eq!(i.recipe("nginx").tags, ["20250501"], "IMAGE_TAG");
    // The unit folders are the contexts, without what Kubler itself consumes.
    let ctx = i.out.join("kubler/images/nginx");
    assert!(ctx.join("build.sh").is_file());
    assert!(ctx.join("etc/nginx/nginx.conf").is_file());
    assert!(!ctx.join("build.conf").exists());
    assert!(!ctx.join("Dockerfile.template").exists());
    assert_eq!(i.recipe("bob-nginx").context, i.recipe("nginx").context);
}

#[test]
fn every_knob_without_a_counterpart_is_reported_at_its_line() {
    let i = Imported::run(false, None);
    let found: BTreeSet<(String, Option<usize>, String)> = i
        .report
        .unmapped
        .iter()
        .map(|f| (f.file.display().to_string(), f.line, f.subject.clone()))
        .collect();
    for expected in [
        ("kubler.conf", Some(13), "BUILDER_DOCKER_ARGS_GLOBAL"),
        ("builder/bob/build.conf", Some(4), "BUILDER_CAPS_SYS_PTRACE"),
        (
            "images/glibc/build.conf",
            Some(2),
            "BUILDER_CAPS_SYS_PTRACE",
        ),
        (
            "images/tools/build.conf",
            Some(3),
            "BUILDER_CAPS_SYS_PTRACE",
        ),
        ("images/nginx/build.conf", Some(4), "POST_BUILD_HC"),
        (
            "images/nginx/build.conf",
            Some(5),
            "POST_BUILD_HC_MAX_DURATION",
        ),
        ("images/nginx/build-test.sh", None, "build-test.sh"),
    ] {
        let expected = (expected.0.to_string(), expected.1, expected.2.to_string());
        assert!(found.contains(&expected), "{expected:?} not in {found:#?}");
    }
    // The line the importer does not run is reported too, with why.
    let unread = i
        .report
        .unmapped
        .iter()
        .find(|f| f.line == Some(7) && f.file == Path::new("images/nginx/build.conf"))
        .expect("the [[ ... ]] line");
    assert!(
        unread.reason.starts_with("not read (`[[` is a command)"),
        "{}",
        unread.reason
    );
    // Mapped knobs are not.
    for mapped in [
        "IMAGE_PARENT",
        "BUILDER",
        "STAGE3_BASE",
        "IMAGE_TAG",
        "AUTHOR",
        "BOB_TIMEZONE",
        "DEFAULT_MUSL_BUILDER",
    ] {
        assert!(
            !i.report.unmapped.iter().any(|f| f.subject == mapped),
            "{mapped} is mapped"
        );
    }
    assert_eq!(i.report.unmapped.len(), 8, "{:#?}", i.report.unmapped);
    let md = std::fs::read_to_string(i.out.join(REPORT_FILE)).unwrap();
    assert!(md.contains("## Not mapped (8)"), "{md}");
    assert!(
        md.contains("| `images/nginx/build.conf:4` | `POST_BUILD_HC` | `true` |"),
        "{md}"
    );
    assert!(md.contains("| `nginx` | image | `glibc` | `acme/nginx` | docker: HEALTHCHECK at images/nginx/Dockerfile.template:8 |"), "{md}");
    assert_eq!(md, i.report.to_markdown());
}

#[test]
fn with_kubler_and_a_portage_tree_the_cores_and_the_snapshot_are_nodes() {
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("metadata")).unwrap();
    std::fs::write(
        tree.path().join("metadata/timestamp.commit"),
        "0123456789abcdef0123456789abcdef01234567 1700000000\n",
    )
    .unwrap();
    let i = Imported::run(true, Some(tree.path()));
    assert_eq!(i.parents("bob"), set(&["bob-core", "portage"]));
    assert_eq!(i.parents("bob-musl"), set(&["bob-musl-core", "portage"]));
    assert_eq!(i.parents("bob-glibc"), set(&["bob", "portage"]));
    assert!(i.parents("bob-core").is_empty());
    let core = i.project.graph.by_name("bob-core").unwrap();
    assert!(core
        .manifest
        .get("external:docker.io/kubler-gentoo/stage3-amd64-nomultilib-openrc:20250429T205022Z")
        .is_some());
    assert!(i.out.join("kubler/bob-core/build-root.sh").is_file());
    let text = i.containerfile("bob-core");
    assert!(
        text.contains("ENV DEF_CHOST=\"x86_64-pc-linux-gnu\""),
        "{text}"
    );
    // Kubler's own kubler.conf is read first.
    assert_eq!(
        i.recipe("bob-glibc").args["BOB_FEATURES"],
        "-parallel-fetch nodoc noinfo noman"
    );
    assert_eq!(
        i.report.confs,
        [
            fixture("kubler").join("kubler.conf"),
            PathBuf::from("kubler.conf")
        ]
    );
    // The snapshot is mounted where Kubler's portage volume is.
    assert!(i.containerfile("bob-nginx").contains(
        "--mount=type=bind,from=localhost/portage,source=/var/db/repos/gentoo,target=/var/db/repos/gentoo"
    ));
    assert_eq!(i.report.nodes.len(), 17);
}

// ------------------------------------------------------------ small namespaces

/// A namespace folder named `acme` holding `files`.
fn namespace(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ns = dir.path().join("acme");
    std::fs::create_dir_all(&ns).unwrap();
    for (path, text) in files {
        let p = ns.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    (dir, ns)
}

fn import_ns(ns: &Path) -> Result<(Report, PathBuf), ImportError> {
    let out = ns.parent().unwrap().join("out");
    import(&Options {
        namespace_dir: ns.to_path_buf(),
        out_dir: out.clone(),
        ..Options::default()
    })
    .map(|r| (r, out))
}

fn problems(e: ImportError) -> Vec<String> {
    match e {
        ImportError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
        other => panic!("not a problem list: {other}"),
    }
}

const TEMPLATE: &str = "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\n";

#[test]
fn a_folder_without_kubler_conf_is_not_a_namespace() {
    let (_d, ns) = namespace(&[
        ("images/a/build.conf", ""),
        ("images/a/Dockerfile.template", TEMPLATE),
    ]);
    let e = import_ns(&ns).unwrap_err();
    assert!(matches!(e, ImportError::NotANamespace { .. }), "{e}");
    assert!(e.to_string().contains("no `kubler.conf`"), "{e}");
}

#[test]
fn an_output_folder_with_files_is_never_written_into() {
    let (_d, ns) = namespace(&[
        ("kubler.conf", ""),
        ("images/a/build.conf", "BUILDER=acme/b\n"),
        ("images/a/Dockerfile.template", TEMPLATE),
    ]);
    let out = ns.parent().unwrap().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let e = import_ns(&ns).unwrap_err();
    assert!(matches!(e, ImportError::OutputNotEmpty { .. }), "{e}");
    assert!(e.is_bad_input());
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn a_parent_cycle_names_each_build_conf_line() {
    let (_d, ns) = namespace(&[
        ("kubler.conf", "DEFAULT_BUILDER=acme/bob\n"),
        ("images/a/build.conf", "# a\nIMAGE_PARENT=acme/b\n"),
        ("images/a/Dockerfile.template", TEMPLATE),
        ("images/b/build.conf", "IMAGE_PARENT=\"${NAMESPACE}/a\"\n"),
        ("images/b/Dockerfile.template", TEMPLATE),
    ]);
    let found = problems(import_ns(&ns).unwrap_err());
    assert_eq!(
        found,
        [
            "images/a/build.conf:2: IMAGE_PARENT makes a cycle: a -> b -> a",
            "images/b/build.conf:1: IMAGE_PARENT makes a cycle: a -> b -> a",
        ]
    );
    assert!(
        !ns.parent().unwrap().join("out").exists(),
        "nothing written"
    );
}

#[test]
fn a_builder_from_a_line_the_importer_cannot_read_is_an_error_not_a_guess() {
    let (_d, ns) = namespace(&[
        (
            "kubler.conf",
            "DEFAULT_BUILDER=acme/bob\nMUSL_BUILDER=$(pick-builder musl)\n",
        ),
        ("images/a/build.conf", "\nBUILDER=\"${MUSL_BUILDER}\"\n"),
        ("images/a/Dockerfile.template", TEMPLATE),
    ]);
    let found = problems(import_ns(&ns).unwrap_err());
    assert_eq!(
        found,
        ["images/a/build.conf:2: `BUILDER` gets its value from kubler.conf:2, a line the importer does not read: write the value out"]
    );
}

#[test]
fn a_builder_needs_a_stage3_or_another_builder() {
    let (_d, ns) = namespace(&[
        ("kubler.conf", ""),
        ("builder/bob/build.conf", "BOB_CHOST=x\n"),
        ("builder/bob/Dockerfile.template", "FROM ${NAMESPACE}/bob\n"),
    ]);
    let found = problems(import_ns(&ns).unwrap_err());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("builder/bob/build.conf: a builder needs STAGE3_BASE"),
        "{found:?}"
    );
}

#[test]
fn node_names_that_would_collide_are_an_error_naming_both() {
    // Image `x` built by builder `bob` is committed as `bob-x`, which is also an image.
    let (_d, ns) = namespace(&[
        ("kubler.conf", "DEFAULT_BUILDER=acme/bob\n"),
        (
            "builder/bob/build.conf",
            "STAGE3_BASE=stage3-amd64-openrc\n",
        ),
        ("builder/bob/Dockerfile.template", "FROM ${NAMESPACE}/bob\n"),
        ("images/x/build.conf", ""),
        ("images/x/Dockerfile.template", TEMPLATE),
        ("images/bob-x/build.conf", ""),
        ("images/bob-x/Dockerfile.template", TEMPLATE),
    ]);
    let found = problems(import_ns(&ns).unwrap_err());
    assert_eq!(
        found,
        ["images/x: node `bob-x` would be both image acme/bob-x and the builder step of image acme/x; Kubler itself would overwrite one image with the other"]
    );
}

#[test]
fn missing_files_and_rootfs_uses_it_cannot_translate_are_listed_together() {
    let (_d, ns) = namespace(&[
        ("kubler.conf", "DEFAULT_BUILDER=acme/bob\n"),
        ("images/a/build.conf", ""),
        ("images/b/build.conf", ""),
        ("images/b/Dockerfile.template", TEMPLATE),
        ("images/c/Dockerfile.template", TEMPLATE),
    ]);
    let found = problems(import_ns(&ns).unwrap_err());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("images/a/Dockerfile.template: missing"),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("images/c/build.conf: missing"),
        "{found:?}"
    );

    let (_d, ns) = namespace(&[
        ("kubler.conf", "DEFAULT_BUILDER=acme/bob\n"),
        ("images/a/build.conf", ""),
        (
            "images/a/Dockerfile.template",
            "FROM scratch\nCOPY rootfs.tar /\n",
        ),
    ]);
    let found = problems(import_ns(&ns).unwrap_err());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "images/a/Dockerfile.template:2: this use of rootfs.tar cannot be translated"
        ),
        "{found:?}"
    );
}

#[test]
fn a_parent_or_builder_outside_the_namespace_is_an_external_image() {
    let (_d, ns) = namespace(&[
        ("kubler.conf", "DEFAULT_BUILDER=kubler/bob\n"),
        ("images/a/build.conf", "IMAGE_PARENT=kubler/glibc\n"),
        ("images/a/Dockerfile.template", TEMPLATE),
    ]);
    let (report, out) = import_ns(&ns).unwrap();
    let project = Project::load(&out).unwrap_or_else(|e| panic!("{e}"));
    let a = project.graph.by_name("a").unwrap();
    assert!(a.manifest.get("external:docker.io/kubler/glibc").is_some());
    let step = project.graph.by_name("bob-a").unwrap();
    assert!(step.manifest.get("external:docker.io/kubler/bob").is_some());
    let notes: Vec<String> = report
        .notes
        .iter()
        .map(reagent_import::kubler::Finding::line_text)
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with(
            "images/a/build.conf:1: IMAGE_PARENT: `kubler/glibc` is not an image of this namespace"
        )),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n
                .contains("Kubler builds in `kubler/bob-glibc` when that image exists locally")),
        "{notes:#?}"
    );
}
