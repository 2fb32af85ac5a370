//! `reagent build` against real buildah (chroot isolation, vfs, a temp root)
//! and a real `docker-registry` on loopback.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use reagent_testkit::{require_tools, Registry, Storage};
use serde_json::Value;

/// A project on disk whose `[buildah]` settings point at a temp store.
struct Project {
    dir: tempfile::TempDir,
    storage: Storage,
    registry: Option<String>,
}

const BASE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n";

impl Project {
    /// base ← app ← leaf, base ← tools.
    fn new(registry: Option<&str>) -> Project {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
            storage: Storage::new(),
            registry: registry.map(str::to_string),
        };
        p.write_config();
        std::fs::create_dir_all(p.path("images/01-base")).unwrap();
        std::fs::copy("/bin/busybox", p.path("images/01-base/busybox")).unwrap();
        p.write("images/01-base/Containerfile", BASE);
        p.write(
            "images/app/Containerfile",
            "FROM base\nCOPY app.conf /etc/app.conf\n",
        );
        p.write("images/app/app.conf", "port=80\n");
        p.write(
            "images/tools/Containerfile",
            "FROM base\nRUN echo tools > /tools\n",
        );
        p.write(
            "images/leaf/Containerfile",
            "FROM app\nRUN cat /etc/app.conf > /leaf\n",
        );
        p
    }

    /// The same project files, on a fresh store: another CI machine.
    fn on_another_machine(&self) -> Project {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
            storage: Storage::new(),
            registry: self.registry.clone(),
        };
        copy_tree(self.dir.path(), p.dir.path());
        let _ = std::fs::remove_dir_all(p.path(".reagent"));
        p.write_config();
        p
    }

    fn write_config(&self) {
        let s = self.storage.settings();
        let mut toml = format!(
            "[project]\nname = \"t\"\njobs = 2\n{}\n[registry]\ntls_verify = false\n\n[buildah]\nisolation = \"chroot\"\nstorage_driver = \"vfs\"\nroot = \"{}\"\nrunroot = \"{}\"\n",
            self.registry.as_ref().map(|r| format!("registry = \"{r}/acme\"")).unwrap_or_default(),
            s.root.unwrap().display(),
            s.runroot.unwrap().display(),
        );
        toml.push_str("\n[image.app]\ntags = [\"stable\"]\n");
        self.write("graph.toml", &toml);
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reagent"));
        cmd.arg("-C")
            .arg(self.dir.path())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Run `reagent build --json ARGS`; returns the exit code, the events, and stderr.
    fn build(&self, args: &[&str]) -> Run {
        let mut all = vec!["build", "--json"];
        all.extend_from_slice(args);
        Run::from(self.command(&all).output().unwrap())
    }
}

struct Run {
    code: Option<i32>,
    events: Vec<Value>,
    stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        let stdout = String::from_utf8_lossy(&out.stdout);
        Run {
            code: out.status.code(),
            events: stdout
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Names of nodes with an event of this kind (and action, for finished/started).
    fn nodes(&self, event: &str, action: Option<&str>) -> Vec<String> {
        let mut v: Vec<String> = self
            .events
            .iter()
            .filter(|e| e["event"] == event && action.is_none_or(|a| e["action"] == a))
            .map(|e| e["node"].as_str().unwrap_or_default().to_string())
            .collect();
        v.sort();
        v
    }

    fn built(&self) -> Vec<String> {
        self.nodes("finished", Some("build"))
    }

    fn pulled(&self) -> Vec<String> {
        self.nodes("finished", Some("pull"))
    }

    fn summary(&self) -> &Value {
        self.events
            .iter()
            .find(|e| e["event"] == "summary")
            .unwrap_or(&Value::Null)
    }

    fn ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "stderr:\n{}\nevents: {:#?}",
            self.stderr,
            self.events
        );
        self
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        if rel.starts_with(".reagent") {
            continue;
        }
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn skopeo_tags(registry: &str, repo: &str) -> Vec<String> {
    let out = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false"])
        .arg(format!("docker://{registry}/acme/{repo}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut tags: Vec<String> = v["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags
}

fn key16(p: &Project, node: &str) -> String {
    let out = p.command(&["graph", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == node)
        .unwrap();
    n["key"].as_str().unwrap()[..16].to_string()
}

#[test]
fn builds_once_pushes_by_key_then_nothing_to_do() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let registry = Registry::start();
    let p = Project::new(Some(registry.host()));
    let first = p.build(&["all"]);
    first.ok();
    assert_eq!(first.built(), ["app", "base", "leaf", "tools"]);

    // Pushes land under the key tag, then the moving tags.
    let key = key16(&p, "app");
    assert_eq!(skopeo_tags(registry.host(), "app"), {
        let mut t = vec![key.clone(), "latest".to_string(), "stable".to_string()];
        t.sort();
        t
    });
    let inspect = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{}/acme/app:{key}", registry.host()))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(v["Labels"]["org.reagent.key"].as_str().unwrap()[..16], key);

    let second = p.build(&["all"]);
    second.ok();
    assert!(second.built().is_empty(), "{:?}", second.events);
    assert_eq!(second.summary()["up_to_date"], 4);

    // Every key tag was just seen in the registry: a no-op run asks it
    // nothing, so it succeeds even with the registry gone.
    let mut registry = registry;
    registry.stop();
    let third = p.build(&["all"]);
    third.ok();
    assert_eq!(third.summary()["up_to_date"], 4);

    // reagent explain now compares against the recorded build.
    let out = p.command(&["explain", "app"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing changed since"));
}

#[test]
fn context_edit_rebuilds_that_image_and_its_descendants_only() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let p = Project::new(None);
    p.build(&["-R", "all"]).ok();
    p.write("images/app/app.conf", "port=8080\n");

    let dry = p.command(&["build", "-R", "-n", "all"]).output().unwrap();
    let plan = String::from_utf8_lossy(&dry.stdout);
    assert!(plan.contains("context file app.conf changed"), "{plan}");
    assert!(plan.contains("parent app rebuilt"), "{plan}");

    let run = p.build(&["-R", "all"]);
    run.ok();
    assert_eq!(run.built(), ["app", "leaf"]);
    let out = p
        .storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(
        out.contains(&format!("localhost/leaf:{}", key16(&p, "leaf"))),
        "{out}"
    );
}

#[test]
fn a_failing_run_fails_its_node_and_keep_going_builds_the_rest() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let p = Project::new(None);
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo about to fail && exit 3\n",
    );
    let run = p.build(&["-R", "-k", "all"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.built(), ["base", "tools"]);
    assert_eq!(run.nodes("failed", None), ["app"]);
    assert_eq!(run.nodes("skipped", None), ["leaf"]);
    let failed = run.events.iter().find(|e| e["event"] == "failed").unwrap();
    let log = PathBuf::from(failed["log"].as_str().unwrap());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("about to fail"), "{text}");
    assert!(
        p.storage.containers().is_empty(),
        "no working containers left"
    );

    // Without -k nothing new starts after the failure; fixing it resumes.
    p.write(
        "images/app/Containerfile",
        "FROM base\nCOPY app.conf /etc/app.conf\n",
    );
    let run = p.build(&["-R", "all"]);
    run.ok();
    assert_eq!(run.built(), ["app", "leaf"]);
}

#[test]
fn a_second_machine_reuses_the_registry_and_pulls_only_what_a_build_needs() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let registry = Registry::start();
    let a = Project::new(Some(registry.host()));
    a.build(&["all"]).ok();

    let b = a.on_another_machine();
    let run = b.build(&["all"]);
    run.ok();
    assert!(run.built().is_empty(), "{:?}", run.events);
    assert!(
        run.pulled().is_empty(),
        "nothing is pulled that no build needs"
    );

    b.write(
        "images/leaf/Containerfile",
        "FROM app\nRUN echo changed > /leaf\n",
    );
    let run = b.build(&["all"]);
    run.ok();
    assert_eq!(run.built(), ["leaf"]);
    assert_eq!(run.pulled(), ["app"], "the parent is pulled, not rebuilt");
}

#[test]
fn registry_down_is_a_clear_error_and_r_works_without_it() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let down = Registry::down();
    let p = Project::new(Some(&down));
    let started = Instant::now();
    let run = p.build(&["all"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("registry"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(30), "no hang");
    p.build(&["-R", "all"]).ok();
}

#[test]
fn sigint_stops_promptly_leaves_no_containers_and_the_next_run_resumes() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let p = Project::new(None);
    p.write(
        "images/tools/Containerfile",
        "FROM base\nRUN sleep 4 && echo slept > /slept\n",
    );
    let mut child = p
        .command(&["build", "--json", "-R", "-j1", "tools"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the sleeping step runs.
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let sleeping = line.contains("\"step\"") && line.contains("sleep 4");
            lines.push(line);
            if sleeping {
                break;
            }
        }
        lines
    });
    let lines = reader.join().unwrap();
    assert!(lines.iter().any(|l| l.contains("sleep 4")), "{lines:?}");
    let sent = Instant::now();
    unsafe_kill(child.id(), 2);
    let status = child.wait().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(10), "prompt exit");
    assert_eq!(status.code(), Some(130));
    assert!(
        p.storage.containers().is_empty(),
        "working containers removed"
    );

    let run = p.build(&["-R", "tools"]);
    run.ok();
    assert_eq!(
        run.built(),
        ["tools"],
        "base was finished before the interrupt"
    );
}

/// SIGINT/SIGTERM by pid through the `kill` command (argv, no shell).
fn unsafe_kill(pid: u32, signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}
