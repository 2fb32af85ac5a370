//! Projects built by Gentoo's real `emerge`: the mini-Gentoo rootfs
//! (`scripts/mini-gentoo`) pushed to the test's registry as an external base
//! image, a synthetic `::gentoo` tree ([`GentooRepo`]) as the project's
//! snapshot, and images whose `RUN` steps bind-mount that tree and emerge from
//! it. What a run did is read back from buildah (image ids per node) and from
//! `reagent build --json` (its events).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use reagent_testkit::{mini_gentoo, GentooRepo, Registry, TREE_PATH};
use serde_json::Value;

use super::buildah::BuildahProject;

/// The `RUN` prefix that mounts the project's snapshot where portage looks for
/// the `gentoo` repository.
pub fn mount() -> String {
    format!("RUN --mount=type=bind,from=portage,source={TREE_PATH},target={TREE_PATH}")
}

/// True when the mini-Gentoo cannot be had here (it says why; under `CI=true`
/// it fails instead): the caller's test then returns without running.
pub fn unavailable() -> bool {
    if super::buildah::tools_missing() {
        return true;
    }
    !mini_gentoo::require()
}

/// Push the mini-Gentoo archive to `registry` as `<registry>/vendor/mini-gentoo:1`
/// (outside the project's `acme/` prefix: an external image, pinned in
/// `reagent.lock` and pulled by digest like any upstream base). Its reference.
pub fn push_base(registry: &Registry) -> String {
    let reference = format!("{}/vendor/mini-gentoo:1", registry.host());
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci-archive:{}", mini_gentoo::archive().display()))
        .arg(format!("docker://{reference}"))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo copy of the mini-Gentoo to {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    reference
}

/// A project on its own buildah store pushing to `<registry>/acme`, with the
/// snapshot at `tree/` (a fresh [`GentooRepo`]); `extra` follows in `graph.toml`.
pub fn project(registry: &Registry, extra: &str) -> (BuildahProject, GentooRepo) {
    let p = BuildahProject::new(&format!(
        "[project]\nname = \"emerge\"\nregistry = \"{}/acme\"\n[registry]\ntls_verify = false\n\
         [snapshot]\npath = \"tree\"\n{extra}",
        registry.host()
    ));
    let tree = GentooRepo::create(&p.path("tree"));
    (p, tree)
}

/// The tree of project `p` (another machine's copy of it, say).
pub fn tree_of(p: &BuildahProject) -> GentooRepo {
    GentooRepo::open(&p.path("tree"))
}

/// `images/<folder>/Containerfile`.
pub fn image(p: &BuildahProject, folder: &str, containerfile: &str) {
    p.write(&format!("images/{folder}/Containerfile"), containerfile);
}

/// What one `reagent build --json` did.
#[derive(Debug)]
pub struct Outcome {
    /// Every event, in order.
    pub events: Vec<Value>,
    /// The nodes it built, sorted.
    pub built: Vec<String>,
    /// The nodes it pulled, sorted.
    pub pulled: Vec<String>,
}

impl Outcome {
    /// The plan's reason for building `node`, if it planned to.
    pub fn reason(&self, node: &str) -> Option<String> {
        self.events
            .iter()
            .filter(|e| e["event"] == "plan")
            .flat_map(|e| e["steps"].as_array().cloned().unwrap_or_default())
            .find(|s| s["node"] == node && s["action"] == "build")
            .and_then(|s| s["reason"].as_str().map(str::to_string))
    }
}

/// `reagent build --json ARGS`, which must succeed.
pub fn build(p: &BuildahProject, args: &[&str]) -> Outcome {
    let mut all = vec!["build", "--json"];
    all.extend_from_slice(args);
    let r = p.run(&all);
    assert_eq!(
        r.code,
        Some(0),
        "reagent {all:?}\n{}\n{}",
        r.stdout,
        r.stderr
    );
    let events: Vec<Value> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let done = |action: &str| -> Vec<String> {
        let mut v: Vec<String> = events
            .iter()
            .filter(|e| e["event"] == "finished" && e["action"] == action)
            .filter_map(|e| e["node"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    Outcome {
        built: done("build"),
        pulled: done("pull"),
        events,
    }
}

/// The ids of the images of each project node in `p`'s store (every image
/// named `localhost/<node>:…`), by node name.
pub fn image_ids(p: &BuildahProject) -> BTreeMap<String, BTreeSet<String>> {
    let v: Value = serde_json::from_str(&p.storage.buildah(&["images", "--json"]))
        .unwrap_or(Value::Array(Vec::new()));
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for image in v.as_array().into_iter().flatten() {
        let id = image["id"].as_str().unwrap_or_default().to_string();
        for name in image["names"].as_array().into_iter().flatten() {
            let Some(rest) = name.as_str().and_then(|n| n.strip_prefix("localhost/")) else {
                continue;
            };
            if let Some((node, _tag)) = rest.split_once(':') {
                out.entry(node.to_string()).or_default().insert(id.clone());
            }
        }
    }
    out
}

/// The nodes that have an image id in `after` they did not have in `before`:
/// the ones a run really built into the store, sorted.
pub fn new_images(
    before: &BTreeMap<String, BTreeSet<String>>,
    after: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(node, ids)| {
            let old = before.get(*node);
            ids.iter().any(|id| old.is_none_or(|o| !o.contains(id)))
        })
        .map(|(node, _)| node.clone())
        .collect()
}

/// The build log of the last build of `node` in `p` (`.reagent/logs/<node>-*.log`,
/// the newest).
pub fn last_build_log(p: &BuildahProject, node: &str) -> String {
    let logs = p.path(".reagent/logs");
    let newest = std::fs::read_dir(&logs)
        .unwrap_or_else(|e| panic!("{}: {e}", logs.display()))
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix(node))
                .and_then(|r| r.strip_prefix('-'))
                .and_then(|r| r.strip_suffix(".log"))
                .is_some_and(|key16| key16.len() == 16)
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| panic!("no build log of {node} in {}", logs.display()));
    std::fs::read_to_string(newest.path()).unwrap()
}

/// The packages a build log shows emerge compiling (`>>> Emerging (n of m)
/// cpv::repo`) and merging from binary packages (`>>> Emerging binary …`).
pub fn emerged(log: &str) -> (Vec<String>, Vec<String>) {
    let mut compiled = Vec::new();
    let mut binary = Vec::new();
    for line in log.lines() {
        let line = line.trim();
        let (list, rest) = if let Some(r) = line.strip_prefix(">>> Emerging binary (") {
            (&mut binary, r)
        } else if let Some(r) = line.strip_prefix(">>> Emerging (") {
            (&mut compiled, r)
        } else {
            continue;
        };
        if let Some((_, atom)) = rest.split_once(") ") {
            let cpv = atom.split("::").next().unwrap_or(atom).trim();
            list.push(cpv.to_string());
        }
    }
    (compiled, binary)
}

/// The packages the last recorded build of `node` in `p` merged, as its
/// discovery in `.reagent/builds.jsonl` lists them (`cat/pkg-ver[::location]`).
pub fn recorded_packages(p: &BuildahProject, node: &str) -> Vec<String> {
    let text = std::fs::read_to_string(p.path(".reagent/builds.jsonl")).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|r| r["node"] == node && !r["discovery"].is_null())
        .unwrap_or_else(|| panic!("no recorded discovery of {node}"))["discovery"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}
