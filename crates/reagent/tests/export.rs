//! `reagent export`: the graph as a CI pipeline, checked with the engines' own
//! schemas and models — check-jsonschema's built-in GitHub workflow and GitLab
//! CI schemas, the argo-workflows SDK's `Workflow` model — from the venv that
//! `tests/pipeline/setup.sh` makes. Without it the checks fail under `CI=true`
//! and are skipped, loudly, otherwise.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::buildah::{tools_missing, BuildahProject};
use common::Test;
use reagent_testkit::{ProjectDir, Registry};
use serde_json::Value;

const REGISTRY: &str = "registry.example.com:5000/acme";
const IMAGE: &str = "ghcr.io/acme/reagent-ci:1";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The engines' validators, from the pipeline venv.
struct Validators {
    bin: PathBuf,
}

/// The validators, or `None` after saying loudly why the checks are skipped.
fn validators() -> Option<Validators> {
    let venv = std::env::var_os("REAGENT_PIPELINE_VENV")
        .map_or_else(|| repo_root().join("target/pipeline-venv"), PathBuf::from);
    let v = Validators {
        bin: venv.join("bin"),
    };
    let ok = Command::new(v.bin.join("python"))
        .arg(repo_root().join("tests/pipeline/check.py"))
        .arg("--self-check")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(v);
    }
    let why = format!(
        "the pipeline validators (check-jsonschema, argo-workflows) are not in {}; run tests/pipeline/setup.sh",
        venv.display()
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why} (CI=true: an error, not a skip)"
    );
    // The real stderr, not the captured one: the skip must be seen.
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
    None
}

impl Validators {
    fn run(&self, program: &str, args: &[&str], file: &Path) -> String {
        let out = Command::new(self.bin.join(program))
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{program} {args:?} {}:\n{text}\n--- the file:\n{}",
            file.display(),
            std::fs::read_to_string(file).unwrap_or_default()
        );
        text
    }

    /// check-jsonschema with one of its built-in schemas.
    fn schema(&self, builtin: &str, file: &Path) {
        self.run("check-jsonschema", &["--builtin-schema", builtin], file);
    }

    /// The argo-workflows SDK's Workflow model, and Argo's DAG rules.
    fn argo(&self, file: &Path) {
        let check = repo_root().join("tests/pipeline/check.py");
        self.run("python", &[check.to_str().unwrap(), "argo"], file);
    }

    /// The YAML file as JSON, read alike by a YAML 1.1 and a 1.2 parser.
    fn yaml(&self, file: &Path) -> Value {
        let check = repo_root().join("tests/pipeline/check.py");
        let text = self.run("python", &[check.to_str().unwrap(), "yaml2json"], file);
        serde_json::from_str(&text).unwrap()
    }
}

/// The family (base → app → web, base → tool), plus `web.v2` (a name no
/// engine takes as an id as it is) and `bundle`, which has two parents.
fn project() -> ProjectDir {
    let p = ProjectDir::new(&format!(
        "[project]\nname = \"shop\"\nregistry = \"{REGISTRY}\"\n\n[registry]\ntls_verify = false\n"
    ));
    p.family()
        .image("web.v2", "FROM app\nRUN echo v2\n")
        .image("bundle", "FROM app\nCOPY --from=tool /bin /tool\n");
    p
}

/// The graph's edges, child → sorted parents, from `reagent graph --json`.
fn parents(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let out = reagent(dir, &["graph", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let mut map = BTreeMap::new();
    for n in v["nodes"].as_array().unwrap() {
        let deps: BTreeSet<String> = n["deps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        map.insert(n["name"].as_str().unwrap().to_string(), deps);
    }
    map
}

/// `reagent -C DIR ARGS`, which must succeed; its stdout.
fn reagent(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_reagent"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("REGISTRY_PASSWORD", "hunter2-never-written")
        .env_remove("REAGENT_CI_IMAGE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "reagent {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("hunter2"), "a secret value was written");
    stdout
}

/// Export `format` (plus `more` flags) into `<dir>/<file>`; its path and text.
fn export(dir: &Path, file: &str, format: &str, more: &[&str]) -> (PathBuf, String) {
    let mut args = vec!["export", "--format", format];
    args.extend_from_slice(more);
    let text = reagent(dir, &args);
    let path = dir.join(file);
    std::fs::write(&path, &text).unwrap();
    (path, text)
}

fn set(items: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    items.into_iter().collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn github_jobs_need_their_parents_jobs_and_pass_the_workflow_schema() {
    let p = project();
    let dir = p.root();
    let graph = parents(dir);
    let Some(check) = validators() else {
        return;
    };
    let (file, text) = export(dir, "github.yml", "github", &["--image", IMAGE]);
    check.schema("vendor.github-workflows", &file);
    let doc = check.yaml(&file);
    let jobs = doc["jobs"].as_object().unwrap();
    let node_of = |id: &str| {
        jobs[id]["name"]
            .as_str()
            .unwrap()
            .strip_prefix("build ")
            .unwrap()
            .to_string()
    };
    let mirrored: BTreeMap<String, BTreeSet<String>> = jobs
        .iter()
        .map(|(id, job)| {
            (
                node_of(id),
                set(strings(&job["needs"]).iter().map(|d| node_of(d))),
            )
        })
        .collect();
    assert_eq!(mirrored, graph);
    assert!(jobs.contains_key("web_v2"), "{:?}", jobs.keys());
    let job = &jobs["app"];
    assert_eq!(job["container"]["image"], IMAGE);
    assert_eq!(job["env"]["REGISTRY_USER"], "${{ secrets.REGISTRY_USER }}");
    assert_eq!(
        job["env"]["REGISTRY_PASSWORD"],
        "${{ secrets.REGISTRY_PASSWORD }}"
    );
    let runs: Vec<&str> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(runs[0].contains("buildah login"), "{runs:?}");
    assert!(runs[0].contains("--password-stdin"), "{runs:?}");
    assert!(runs[0].ends_with("registry.example.com:5000"), "{runs:?}");
    assert_eq!(
        runs[1],
        "reagent build --report reagent-reports/app.json --only app"
    );
    assert!(text.starts_with("# Generated by `reagent export --format github`"));
}

#[test]
fn github_matrix_layers_need_the_layers_of_their_parents() {
    let p = project();
    let dir = p.root();
    let graph = parents(dir);
    let Some(check) = validators() else {
        return;
    };
    let (file, _) = export(dir, "matrix.yml", "github", &["--image", IMAGE, "--matrix"]);
    check.schema("vendor.github-workflows", &file);
    let doc = check.yaml(&file);
    let layers = doc["jobs"].as_object().unwrap();
    let layer_of: BTreeMap<String, String> = layers
        .iter()
        .flat_map(|(id, job)| {
            strings(&job["strategy"]["matrix"]["node"])
                .into_iter()
                .map(move |n| (n, id.clone()))
        })
        .collect();
    assert_eq!(set(layer_of.keys().cloned()), set(graph.keys().cloned()));
    for (node, deps) in &graph {
        let needs = strings(&layers[&layer_of[node]]["needs"]);
        for d in deps {
            assert!(needs.contains(&layer_of[d]), "{node} needs {d}: {needs:?}");
        }
    }
}

#[test]
fn gitlab_jobs_need_their_parents_jobs_and_pass_the_ci_schema() {
    let p = project();
    let dir = p.root();
    let graph = parents(dir);
    let Some(check) = validators() else {
        return;
    };
    // Credentials from CI/CD variables, here GitLab's own registry's.
    let (file, _) = export(
        dir,
        "gitlab.yml",
        "gitlab",
        &[
            "--image",
            IMAGE,
            "--user-secret",
            "CI_REGISTRY_USER",
            "--password-secret",
            "CI_REGISTRY_PASSWORD",
        ],
    );
    check.schema("vendor.gitlab-ci", &file);
    let doc = check.yaml(&file);
    let mirrored: BTreeMap<String, BTreeSet<String>> = doc
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, job)| {
            let node = k.strip_prefix("build:")?;
            let needs = strings(&job["needs"])
                .into_iter()
                .map(|n| n.strip_prefix("build:").unwrap().to_string());
            Some((node.to_string(), set(needs)))
        })
        .collect();
    assert_eq!(mirrored, graph);
    let login = doc["default"]["before_script"][0].as_str().unwrap();
    assert!(login.contains("\"$CI_REGISTRY_PASSWORD\""), "{login}");
    assert!(
        login.contains("--username \"$CI_REGISTRY_USER\""),
        "{login}"
    );
    assert_eq!(
        doc["build:base"]["needs"],
        Value::Array(Vec::new()),
        "a root starts at once"
    );
}

#[test]
fn argo_tasks_depend_on_their_parents_tasks_and_fit_the_sdk_model() {
    let p = project();
    let dir = p.root();
    let graph = parents(dir);
    let Some(check) = validators() else {
        return;
    };
    // One template, run by every task with its node's name.
    let (file, _) = export(
        dir,
        "argo.yml",
        "argo",
        &[
            "--image",
            IMAGE,
            "--repo",
            "https://git.example.com/shop.git",
        ],
    );
    check.argo(&file);
    let doc = check.yaml(&file);
    let templates = doc["spec"]["templates"].as_array().unwrap();
    let tasks = templates[0]["dag"]["tasks"].as_array().unwrap();
    let node_of_task: BTreeMap<String, String> = tasks
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["arguments"]["parameters"][0]["value"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let mirrored: BTreeMap<String, BTreeSet<String>> = tasks
        .iter()
        .map(|t| {
            (
                node_of_task[t["name"].as_str().unwrap()].clone(),
                set(strings(&t["dependencies"])
                    .iter()
                    .map(|d| node_of_task[d].clone())),
            )
        })
        .collect();
    assert_eq!(mirrored, graph);
    assert!(node_of_task.contains_key("web-v2"), "{node_of_task:?}");
    let build = &templates[1];
    assert_eq!(build["container"]["command"][0], "reagent");
    assert_eq!(
        build["container"]["args"],
        serde_json::json!(["build", "--only", "{{inputs.parameters.node}}"])
    );
    assert_eq!(
        doc["spec"]["volumes"][0]["secret"]["secretName"],
        "reagent-registry"
    );
}

#[test]
fn json_lists_each_node_parents_first_with_the_command_that_builds_it() {
    let p = project();
    let dir = p.root();
    let graph = parents(dir);
    let text = reagent(dir, &["export", "--format", "json"]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["project"], "shop");
    assert_eq!(doc["registry"], REGISTRY);
    assert_eq!(doc["tls_verify"], false);
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), graph.len());
    let mut seen = BTreeSet::new();
    for n in nodes {
        let name = n["name"].as_str().unwrap().to_string();
        let deps = strings(&n["deps"]);
        assert_eq!(deps, graph[&name], "{name}");
        assert!(deps.is_subset(&seen), "{name} comes after its deps");
        assert_eq!(n["key"].as_str().unwrap().len(), 64);
        let argv: Vec<&str> = n["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let report = format!("reagent-reports/{name}.json");
        assert_eq!(
            argv,
            [
                "reagent",
                "build",
                "--report",
                report.as_str(),
                "--only",
                name.as_str()
            ]
        );
        seen.insert(name);
    }

    // A regex exports the nodes it matches with their ancestors; -C and -t reach the command.
    let sub = dir.parent().unwrap();
    let rel = dir.file_name().unwrap().to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reagent"))
        .current_dir(sub)
        .args(["-C", rel, "export", "--format", "json", "-t", "^web$"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["base", "app", "web"]);
    assert_eq!(doc["nodes"][2]["command"][1], "-C");
    assert_eq!(doc["nodes"][2]["command"][2], rel);
    assert_eq!(doc["nodes"][2]["command"][4], "-t");

    // Exporting wrote nothing into the project.
    assert!(!p.path(".reagent").exists());
}

#[test]
fn export_needs_a_registry_and_an_image() {
    Test::new()
        .family()
        .args(["export", "--format", "json"])
        .status(2)
        .stderr_contains("export needs `[project] registry`")
        .run();
    Test::new()
        .family()
        .file(
            "graph.toml",
            &format!("[project]\nregistry = \"{REGISTRY}\"\n"),
        )
        .env("REAGENT_CI_IMAGE", "")
        .args(["export", "--format", "github"])
        .status(2)
        .stderr_contains("--image IMAGE")
        .run();
    Test::new()
        .family()
        .file(
            "graph.toml",
            &format!("[project]\nregistry = \"{REGISTRY}\"\n"),
        )
        .args(["export", "--format", "json", "nothing-like-this"])
        .status(2)
        .stderr_contains("no node matches `nothing-like-this`")
        .run();
}

#[test]
fn dirty_exports_only_what_is_not_up_to_date() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let p = BuildahProject::new(&format!(
        "[project]\nname = \"t\"\nregistry = \"{}/acme\"\n\n[registry]\ntls_verify = false\n",
        registry.host()
    ))
    .with_busybox_base();
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo app > /app\n",
    );
    p.write(
        "images/leaf/Containerfile",
        "FROM app\nRUN cat /app > /leaf\n",
    );
    p.write("images/tools/Containerfile", "FROM base\nRUN echo t > /t\n");
    p.ok(&["build", "--only", "base"]);

    // base is in the registry: its children need no job of base's, `--only` pulls it.
    let doc: Value =
        serde_json::from_str(&p.ok(&["export", "--format", "json", "--dirty"])).unwrap();
    let jobs: BTreeMap<String, BTreeSet<String>> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_string(), strings(&n["deps"])))
        .collect();
    assert_eq!(
        jobs,
        BTreeMap::from([
            ("app".to_string(), BTreeSet::new()),
            ("leaf".to_string(), set(["app".to_string()])),
            ("tools".to_string(), BTreeSet::new()),
        ])
    );

    // Everything built: a pipeline with nothing to build, which every engine still accepts.
    p.ok(&["build", "all"]);
    let doc: Value =
        serde_json::from_str(&p.ok(&["export", "--format", "json", "--dirty"])).unwrap();
    assert_eq!(doc["nodes"], Value::Array(Vec::new()));
    let Some(check) = validators() else {
        return;
    };
    for (format, file) in [
        ("github", "gh.yml"),
        ("gitlab", "gl.yml"),
        ("argo", "argo.yml"),
    ] {
        let text = p.ok(&["export", "--format", format, "--dirty", "--image", IMAGE]);
        assert!(text.contains("nothing-to-do"), "{text}");
        let path = p.path(file);
        std::fs::write(&path, text).unwrap();
        match format {
            "github" => check.schema("vendor.github-workflows", &path),
            "gitlab" => check.schema("vendor.gitlab-ci", &path),
            _ => check.argo(&path),
        }
    }
}

/// The fenced blocks of `lang` in docs/ci.md.
fn doc_blocks(lang: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("docs/ci.md")).unwrap();
    let fence = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(&fence) {
        let body = &rest[at + fence.len()..];
        let end = body.find("```\n").unwrap();
        out.push(body[..end].to_string());
        rest = &body[end..];
    }
    out
}

#[test]
fn the_ci_docs_examples_are_valid() {
    // The JSON examples (a run report, a plan) parse, with their version.
    for block in doc_blocks("json") {
        let v: Value = serde_json::from_str(&block).unwrap_or_else(|e| panic!("{e}\n{block}"));
        assert_eq!(v["version"], 1, "{block}");
    }
    // The GitLab parent pipeline passes GitLab's schema.
    let yaml = doc_blocks("yaml");
    let parent = yaml
        .iter()
        .find(|b| b.starts_with("# .gitlab-ci.yml"))
        .expect("docs/ci.md has the GitLab parent pipeline");
    let Some(check) = validators() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".gitlab-ci.yml");
    std::fs::write(&path, parent).unwrap();
    check.schema("vendor.gitlab-ci", &path);
    let doc = check.yaml(&path);
    assert_eq!(
        doc["images:build"]["trigger"]["include"][0]["job"],
        "images:plan"
    );
}
