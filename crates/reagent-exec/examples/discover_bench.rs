//! Benchmark of discovered inputs: how long deciding which images a sync dirties
//! takes, next to re-identifying the whole tree.
//!
//! It writes a synthetic tree (`--packages` packages in 100 categories, two
//! ebuilds and a Manifest each, 30 eclasses, a two-level profile) and a project
//! of `--images` images built from the snapshot, records for each image a build
//! that merged `--per-image` packages, changes a few packages no image merged
//! plus one that one image did (a sync), and times `discover::resolve` over the
//! new tree (cold: first run; warm: again) against `reagent_snapshot::identify`
//! of the whole tree without and with its stat cache. Figures are printed as
//! `key value` lines.
//!
//! `cargo run --release -p reagent-exec --example discover_bench -- --packages 10000 --images 100`

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use reagent_exec::discover::{self, Discovery, Verdict};
use reagent_gentoo::slice::TreeReader;
use reagent_graph::Project;
use reagent_state::{History, Outcome, Record};

struct Args {
    packages: usize,
    images: usize,
    per_image: usize,
}

fn args() -> Args {
    let mut a = Args {
        packages: 10_000,
        images: 100,
        per_image: 40,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--packages", Some(v)) => a.packages = v,
            ("--images", Some(v)) => a.images = v,
            ("--per-image", Some(v)) => a.per_image = v,
            _ => {
                eprintln!("usage: discover_bench [--packages N] [--images N] [--per-image N]");
                std::process::exit(2);
            }
        }
    }
    a
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// `catN/pkgM`.
fn package(i: usize) -> String {
    format!("cat{}/pkg{i}", i % 100)
}

fn tree(root: &Path, packages: usize) {
    write(
        &root.join("metadata/layout.conf"),
        "masters =\nthin-manifests = true\n",
    );
    write(&root.join("profiles/repo_name"), "bench\n");
    write(&root.join("profiles/base/make.defaults"), "USE=\"a b c\"\n");
    write(&root.join("profiles/default/amd64/parent"), "../../base\n");
    write(
        &root.join("profiles/default/amd64/make.defaults"),
        "ARCH=amd64\n",
    );
    let mut mask = String::new();
    for i in (0..packages).step_by(97) {
        let _ = writeln!(mask, ">={}-2", package(i));
    }
    write(&root.join("profiles/package.mask"), &mask);
    for e in 0..30 {
        let parent = if e > 0 {
            format!("inherit e{}\n", e - 1)
        } else {
            String::new()
        };
        write(
            &root.join(format!("eclass/e{e}.eclass")),
            &format!("{parent}# eclass {e}\n"),
        );
    }
    for i in 0..packages {
        let dir = root.join(package(i));
        let name = format!("pkg{i}");
        for v in ["1.0", "1.1"] {
            write(
                &dir.join(format!("{name}-{v}.ebuild")),
                &format!("EAPI=8\ninherit e{}\nSLOT=0\nKEYWORDS=\"amd64\"\n", i % 30),
            );
        }
        write(
            &dir.join("Manifest"),
            &format!("DIST {name}-1.0.tar.gz 100 BLAKE2B 00\n"),
        );
        write(&dir.join("metadata.xml"), "<pkgmetadata/>\n");
    }
    write(&root.join("metadata/timestamp.commit"), "aaaaaaa1 1\n");
}

fn main() {
    let a = args();
    let work = tempfile::tempdir().expect("tempdir");
    let root = work.path().join("project");
    let t0 = Instant::now();
    project(&root, &a);
    println!("generate_secs {:.3}", t0.elapsed().as_secs_f64());
    let tree_dir = root.join("tree");
    let history = record_builds(&root, &tree_dir, &a);
    sync(&tree_dir, a.packages);
    decide(&root, &history);
    peer(&tree_dir, &work.path().join("snapshot-cache"));
    one_slice(&tree_dir, &history);
}

/// The tree and a project of `a.images` images built from the snapshot.
fn project(root: &Path, a: &Args) {
    tree(&root.join("tree"), a.packages);
    write(
        &root.join("graph.toml"),
        "[project]\nname = \"bench\"\n[snapshot]\npath = \"tree\"\n",
    );
    write(&root.join("images/01-base/Containerfile"), "FROM scratch\n");
    for i in 0..a.images {
        write(
            &root.join(format!("images/img{i}/Containerfile")),
            "FROM base\nRUN --mount=type=bind,from=portage,target=/var/db/repos/gentoo emerge x\n",
        );
    }
}

/// One recorded build per image, made against the tree as it is now, each having
/// merged `a.per_image` packages.
fn record_builds(root: &Path, tree_dir: &Path, a: &Args) -> History {
    let project = Project::load(root).expect("load");
    let graph = &project.graph;
    let snapshot = graph.snapshot().expect("a snapshot node");
    let mut records = Vec::new();
    for i in 0..a.images {
        let node = graph.by_name(&format!("img{i}")).expect("image");
        let k0 = graph.key_without_snapshot(node.id);
        let mut log = String::new();
        for j in 0..a.per_image {
            let p = package((i * 7919 + j * 104_729) % a.packages);
            let _ = writeln!(log, "1:  ::: completed emerge (1 of 1) {p}-1.0 to /");
        }
        let d: Discovery = discover::discovered(
            &k0,
            &graph.node(snapshot).key,
            &log,
            Some("default/amd64".into()),
            tree_dir,
        )
        .expect("slice")
        .expect("merges");
        records.push(
            Record::new(
                &node.name,
                node.key.hex(),
                "",
                serde_json::Value::Null,
                0,
                1,
                Outcome::Built,
            )
            .with_discovery(serde_json::to_value(&d).expect("json")),
        );
    }
    History::from_records(records)
}

/// A sync: a new version of 50 packages, one of them (package 0) merged by image 0.
fn sync(tree_dir: &Path, packages: usize) {
    for i in (0..packages).step_by(packages / 50).take(50) {
        let dir = tree_dir.join(package(i));
        write(&dir.join(format!("pkg{i}-2.0.ebuild")), "EAPI=8\n");
    }
    write(&tree_dir.join("metadata/timestamp.commit"), "bbbbbbb2 2\n");
}

/// Time `discover::resolve` over the synced tree, twice.
fn decide(root: &Path, history: &History) {
    let project = Project::load(root).expect("load after sync");
    for round in ["cold", "warm"] {
        let mut g = project.graph.clone();
        let start = Instant::now();
        let verdicts = discover::resolve(&mut g, history, None).expect("resolve");
        let secs = start.elapsed().as_secs_f64();
        let dirty = verdicts
            .values()
            .filter(|v| matches!(v, Verdict::Changed(_)))
            .count();
        let clean = verdicts
            .values()
            .filter(|v| matches!(v, Verdict::Unchanged { .. }))
            .count();
        println!("decide_{round}_secs {secs:.3}");
        println!("decide_{round}_dirty {dirty}");
        println!("decide_{round}_unchanged {clean}");
    }
}

/// The peer: identifying the whole tree, with no cache and with a warm stat cache.
fn peer(tree_dir: &Path, cache: &Path) {
    std::fs::remove_file(tree_dir.join("metadata/timestamp.commit")).expect("rm");
    let opts = reagent_snapshot::Options {
        cache: None,
        threads: None,
    };
    let start = Instant::now();
    reagent_snapshot::identify(tree_dir, &opts).expect("identify");
    println!("identify_nocache_secs {:.3}", start.elapsed().as_secs_f64());
    let cached = reagent_snapshot::Options {
        cache: Some(cache.to_path_buf()),
        threads: None,
    };
    let first = reagent_snapshot::identify(tree_dir, &cached).expect("identify");
    if let Some(bytes) = first.cache_update {
        std::fs::write(cache, bytes).expect("cache");
    }
    let start = Instant::now();
    reagent_snapshot::identify(tree_dir, &cached).expect("identify");
    println!("identify_warm_secs {:.3}", start.elapsed().as_secs_f64());
}

/// One image's slice alone, for scale.
fn one_slice(tree_dir: &Path, history: &History) {
    let start = Instant::now();
    let reader = TreeReader::new(tree_dir);
    let d = history
        .records()
        .first()
        .and_then(|r| r.discovery.as_ref())
        .and_then(|d| d.parse::<Discovery>().ok())
        .expect("a discovery");
    d.slice_in(&reader).expect("slice");
    println!("one_slice_secs {:.4}", start.elapsed().as_secs_f64());
}
