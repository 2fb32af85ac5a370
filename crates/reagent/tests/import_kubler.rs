//! `reagent import kubler`: the fixture namespace of `reagent-import` becomes a
//! project that `reagent check` accepts, whose graph is Kubler's chain, and
//! which builds with real buildah; bad input is exit 2 with file and line.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::buildah::tools_missing;
use reagent_backend::{Backend, Cancel, RunOutcome};
use reagent_testkit::{busybox_base, Storage};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reagent-import/tests/fixtures")
        .join(name)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `reagent ARGS`, to the end.
fn reagent(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_reagent"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(args: &[&str]) -> Run {
    let run = reagent(args);
    assert_eq!(
        run.code,
        Some(0),
        "reagent {args:?}\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
    run
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Each node's dependencies, from `reagent graph --json`.
fn deps(project: &Path) -> BTreeMap<String, Vec<String>> {
    let v: Value =
        serde_json::from_str(&ok(&["-C", s(project), "graph", "--json"]).stdout).unwrap();
    v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let mut d: Vec<String> = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            d.sort();
            (n["name"].as_str().unwrap().to_string(), d)
        })
        .collect()
}

#[test]
fn the_import_checks_ok_graphs_kubler_s_chain_and_reports_what_it_could_not_map() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ns = fixture("acme");
    let run = ok(&["import", "kubler", s(&ns), s(&out)]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let nginx_conf = ns.join("images/nginx/build.conf");
    for line in [
        format!(
            "imported Kubler namespace `acme`: 6 images, 3 builders -> 15 nodes in {}\n",
            out.display()
        ),
        format!(
            "not mapped: {}:4: POST_BUILD_HC=true: reagent runs no post-build health check",
            nginx_conf.display()
        ),
        format!(
            "not mapped: {}:2: BUILDER_CAPS_SYS_PTRACE=true: ",
            ns.join("images/glibc/build.conf").display()
        ),
        format!(
            "not mapped: {}:13: BUILDER_DOCKER_ARGS_GLOBAL=('--tmpfs' '/var/tmp/portage:exec'): ",
            ns.join("kubler.conf").display()
        ),
        format!(
            "8 settings not mapped, 4 notes: see {}\n",
            out.join("IMPORT-REPORT.md").display()
        ),
    ] {
        assert!(
            run.stderr.contains(&line),
            "stderr lacks {line:?}\n{}",
            run.stderr
        );
    }
    assert!(out.join("IMPORT-REPORT.md").is_file());

    ok(&["-C", s(&out), "check"]);
    let check = ok(&["-C", s(&out), "check"]);
    assert_eq!(
        check.stdout,
        "ok: 15 nodes (0 snapshot, 0 stages, 15 images)\n"
    );

    // Kubler's parent chain, its builder chain, and the step each image copies from.
    let deps = deps(&out);
    let expect = |node: &str, want: &[&str]| {
        assert_eq!(deps[node], want, "{node}: {deps:#?}");
    };
    expect("busybox", &["bob-musl-busybox"]);
    expect("musl", &["bob-musl-musl", "busybox"]);
    expect("glibc", &["bob-glibc", "busybox"]);
    expect("nginx", &["bob-nginx", "glibc"]);
    expect("nginx-site", &["nginx"]);
    expect("tools", &["bob-tools-tools", "glibc"]);
    expect("bob-musl-musl", &["bob-musl-busybox"]);
    expect("bob-nginx", &["bob-glibc"]);
    expect("bob-tools", &["bob"]);
    let tree = ok(&["-C", s(&out), "graph"]).stdout;
    assert!(tree.contains("bob-musl-busybox (image, "), "{tree}");
}

#[test]
fn a_namespace_problem_is_exit_2_at_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let ns = dir.path().join("acme");
    for (file, text) in [
        ("kubler.conf", "DEFAULT_BUILDER=acme/bob\n"),
        ("images/a/build.conf", "# a\nIMAGE_PARENT=acme/b\n"),
        ("images/a/Dockerfile.template", "FROM ${IMAGE_PARENT}\n"),
        ("images/b/build.conf", "IMAGE_PARENT=\"${NAMESPACE}/a\"\n"),
        ("images/b/Dockerfile.template", "FROM ${IMAGE_PARENT}\n"),
    ] {
        std::fs::create_dir_all(ns.join(file).parent().unwrap()).unwrap();
        std::fs::write(ns.join(file), text).unwrap();
    }
    let out = dir.path().join("out");
    let run = reagent(&["import", "kubler", s(&ns), s(&out)]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let expected = format!(
        "error: IMAGE_PARENT makes a cycle: a -> b -> a\n  --> {}:2\n  |\n2 | IMAGE_PARENT=acme/b\n",
        ns.join("images/a/build.conf").display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(
        run.stderr.contains("error: 2 problems found"),
        "{}",
        run.stderr
    );
    assert!(!out.exists(), "nothing is written");

    // Not a namespace, and an output folder with something in it: exit 2 too.
    let run = reagent(&["import", "kubler", s(dir.path()), s(&out)]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("is not a Kubler namespace: it has no `kubler.conf`"),
        "{}",
        run.stderr
    );
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("mine"), "").unwrap();
    let run = reagent(&["import", "kubler", s(&fixture("acme")), s(&out)]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("is not empty"), "{}", run.stderr);
}

const STAGE3_GLIBC: &str =
    "docker.io/kubler-gentoo/stage3-amd64-nomultilib-openrc:20250429T205022Z";
const STAGE3_MUSL: &str = "docker.io/kubler-gentoo/stage3-amd64-musl-hardened:20250427T155021Z";

#[test]
fn the_imported_fixture_builds_with_real_buildah() {
    if tools_missing() {
        return;
    }
    // Stand-ins for the stage3 images Kubler imports: busybox, under their names.
    let storage = Storage::new();
    busybox_base(&storage, STAGE3_GLIBC);
    storage.buildah(&["tag", STAGE3_GLIBC, STAGE3_MUSL]);
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("metadata")).unwrap();
    std::fs::write(
        tree.join("metadata/timestamp.commit"),
        "0123456789abcdef0123456789abcdef01234567 1700000000\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    ok(&[
        "import",
        "kubler",
        s(&fixture("acme")),
        s(&out),
        "--kubler",
        s(&fixture("kubler")),
        "--portage",
        s(&tree),
    ]);
    let settings = storage.settings();
    let toml = std::fs::read_to_string(out.join("graph.toml")).unwrap();
    let toml = format!(
        "{toml}[buildah]\nisolation = \"chroot\"\nstorage_driver = \"vfs\"\nroot = \"{}\"\nrunroot = \"{}\"\n",
        settings.root.unwrap().display(),
        settings.runroot.unwrap().display()
    );
    std::fs::write(out.join("graph.toml"), toml).unwrap();
    let before = files(&out.join("kubler"));

    // Every image of the fixture but `tools`: the musl branch, glibc, nginx and its child.
    ok(&["-C", s(&out), "build", "-R", "-j2", "nginx-site", "musl"]);

    let key16 = |node: &str| -> String {
        let v: Value =
            serde_json::from_str(&ok(&["-C", s(&out), "graph", "--json"]).stdout).unwrap();
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == node)
            .unwrap()["key"]
            .as_str()
            .unwrap()[..16]
            .to_string()
    };
    let backend = storage.backend();
    let run_in = |node: &str, cmd: &str| -> String {
        let log = dir.path().join(format!("{node}.log"));
        let _ = std::fs::remove_file(&log);
        let image = format!("localhost/{node}:{}", key16(node));
        let argv = ["/bin/sh".to_string(), "-c".to_string(), cmd.to_string()];
        let outcome = backend
            .run(&image, &argv, Duration::from_secs(60), &log, &Cancel::new())
            .unwrap();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(outcome, RunOutcome::Exited(0), "{node}: {cmd}\n{text}");
        text
    };
    // busybox: FROM scratch, its root filesystem made by the musl builder.
    assert!(run_in("busybox", "cat /etc/built-by").contains("bob-musl"));
    // musl: built in the builder state busybox's build left (Kubler's chain).
    let chain = run_in("musl", "tr '\\n' ' ' < /etc/musl-chain");
    assert!(chain.contains("builder busybox"), "{chain}");
    // glibc: a BOB_ variable of kubler.conf reached its build.
    assert!(run_in("glibc", "cat /etc/timezone").contains("UTC"));
    // nginx-site: FROM nginx FROM glibc FROM busybox, each layer's files there.
    run_in(
        "nginx-site",
        "test -x /usr/sbin/nginx && test -f /etc/nginx/nginx.conf && test -f /etc/glibc-release && test -f /var/www/localhost/index.html",
    );
    for node in ["nginx", "nginx-site"] {
        let image = format!("localhost/{node}:{}", key16(node));
        let v: Value =
            serde_json::from_str(&storage.buildah(&["inspect", "--type", "image", &image]))
                .unwrap();
        assert_eq!(
            v["Docker"]["config"]["Healthcheck"]["Test"][1],
            "wget -q --spider http://localhost/ || exit 1",
            "{node}"
        );
    }

    // The build wrote nothing into the project, so nothing needs building again.
    assert_eq!(files(&out.join("kubler")), before);
    let plan = ok(&["-C", s(&out), "build", "-n", "-R", "nginx-site", "musl"]).stdout;
    assert!(plan.lines().all(|l| l.starts_with("up-to-date")), "{plan}");
}

/// Every file under `dir`, with its length.
fn files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        out.push((
            entry.path().strip_prefix(dir).unwrap().to_path_buf(),
            entry.metadata().unwrap().len(),
        ));
    }
    out
}
