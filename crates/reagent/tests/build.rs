//! `reagent build` against real buildah (chroot isolation, vfs, a temp root)
//! and a real `docker-registry` on loopback.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::buildah::{
    registry_tags, send_signal, start_until_step, tools_missing, BuildahProject, Run,
};
use reagent_testkit::Registry;
use serde_json::Value;

/// base ← app ← leaf, base ← tools, pushing to `registry` when given.
fn project(registry: Option<&str>) -> BuildahProject {
    let p = BuildahProject::new(&config(registry)).with_busybox_base();
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

/// `graph.toml` after `[buildah]`: two jobs, the registry if any, app also tagged `stable`.
fn config(registry: Option<&str>) -> String {
    format!(
        "[project]\nname = \"t\"\njobs = 2\n{}\n[registry]\ntls_verify = false\n\n[image.app]\ntags = [\"stable\"]\n",
        registry
            .map(|r| format!("registry = \"{r}/acme\""))
            .unwrap_or_default(),
    )
}

/// Run `reagent build --json ARGS`; returns the exit code, the events, and stderr.
fn build(p: &BuildahProject, args: &[&str]) -> Built {
    let mut all = vec!["build", "--json"];
    all.extend_from_slice(args);
    Built::from(p.run(&all))
}

/// A `reagent build --json` run, its stdout read as events.
struct Built {
    code: Option<i32>,
    events: Vec<Value>,
    stderr: String,
}

impl From<Run> for Built {
    fn from(run: Run) -> Built {
        Built {
            code: run.code,
            events: run
                .stdout
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
            stderr: run.stderr,
        }
    }
}

impl Built {
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

fn skopeo_tags(registry: &str, repo: &str) -> Vec<String> {
    registry_tags(registry, &format!("acme/{repo}"))
}

#[test]
fn builds_once_pushes_by_key_then_nothing_to_do() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let p = project(Some(registry.host()));
    let first = build(&p, &["all"]);
    first.ok();
    assert_eq!(first.built(), ["app", "base", "leaf", "tools"]);

    // Pushes land under the key tag, then the moving tags.
    let key = p.key16("app");
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

    // Every key tag was just pushed, so this machine knows it is there: a
    // no-op run asks the registry nothing and succeeds even with it gone.
    let mut registry = registry;
    registry.stop();
    let second = build(&p, &["all"]);
    second.ok();
    assert!(second.built().is_empty(), "{:?}", second.events);
    assert_eq!(second.summary()["up_to_date"], 4);

    // A node whose key tag was never seen there is still looked up: with
    // the registry down, that is a clear error.
    p.write(
        "images/tools/Containerfile",
        "FROM base\nRUN echo new > /tools\n",
    );
    let third = build(&p, &["all"]);
    assert_eq!(third.code, Some(1), "{}", third.stderr);
    assert!(third.stderr.contains("registry"), "{}", third.stderr);

    // reagent explain now compares against the recorded build.
    let out = p.command(&["explain", "app"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing changed since"));
}

#[test]
fn context_edit_rebuilds_that_image_and_its_descendants_only() {
    if tools_missing() {
        return;
    }
    let p = project(None);
    build(&p, &["-R", "all"]).ok();
    // The build kept the context files' hashes by stat; the edit below must still be seen.
    assert!(p.path(".reagent/context-cache").is_file());
    p.write("images/app/app.conf", "port=8080\n");

    let dry = p.command(&["build", "-R", "-n", "all"]).output().unwrap();
    let plan = String::from_utf8_lossy(&dry.stdout);
    assert!(plan.contains("context file app.conf changed"), "{plan}");
    assert!(plan.contains("parent app rebuilt"), "{plan}");

    let run = build(&p, &["-R", "all"]);
    run.ok();
    assert_eq!(run.built(), ["app", "leaf"]);
    let out = p
        .storage
        .buildah(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(
        out.contains(&format!("localhost/leaf:{}", p.key16("leaf"))),
        "{out}"
    );
}

#[test]
fn a_failing_run_fails_its_node_and_keep_going_builds_the_rest() {
    if tools_missing() {
        return;
    }
    let p = project(None);
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN echo about to fail && exit 3\n",
    );
    let run = build(&p, &["-R", "-k", "all"]);
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
    let run = build(&p, &["-R", "all"]);
    run.ok();
    assert_eq!(run.built(), ["app", "leaf"]);
}

#[test]
fn a_second_machine_reuses_the_registry_and_pulls_only_what_a_build_needs() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let a = project(Some(registry.host()));
    build(&a, &["all"]).ok();

    let b = a.on_another_machine();
    let run = build(&b, &["all"]);
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
    let run = build(&b, &["all"]);
    run.ok();
    assert_eq!(run.built(), ["leaf"]);
    assert_eq!(run.pulled(), ["app"], "the parent is pulled, not rebuilt");
}

#[test]
fn registry_down_is_a_clear_error_and_r_works_without_it() {
    if tools_missing() {
        return;
    }
    let down = Registry::down();
    let p = project(Some(&down));
    let started = Instant::now();
    let run = build(&p, &["all"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("registry"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(30), "no hang");
    build(&p, &["-R", "all"]).ok();
}

#[test]
fn sigint_stops_promptly_leaves_no_containers_and_the_next_run_resumes() {
    if tools_missing() {
        return;
    }
    let p = project(None);
    p.write(
        "images/tools/Containerfile",
        "FROM base\nRUN sleep 4 && echo slept > /slept\n",
    );
    let report = p.path("report.json");
    let child = start_until_step(
        &p,
        &["-R", "-j1", "--report", report.to_str().unwrap(), "tools"],
        "sleep 4",
    );
    let mut child = child;
    let sent = Instant::now();
    send_signal(child.id(), 2);
    let status = child.wait().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(10), "prompt exit");
    assert_eq!(status.code(), Some(130));
    // The report was written on the way out: base built, tools interrupted.
    let doc: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(doc["status"], "interrupted", "{doc:#}");
    let outcomes: Vec<(&str, &str)> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap(), n["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, [("base", "built"), ("tools", "interrupted")]);
    assert!(
        p.storage.containers().is_empty(),
        "working containers removed"
    );

    let run = build(&p, &["-R", "tools"]);
    run.ok();
    assert_eq!(
        run.built(),
        ["tools"],
        "base was finished before the interrupt"
    );
}

#[test]
fn kill_9_mid_build_does_not_make_a_later_run_wrong() {
    if tools_missing() {
        return;
    }
    let p = project(None);
    p.write(
        "images/tools/Containerfile",
        "FROM base\nRUN sleep 3 && echo slept > /slept\n",
    );
    let mut child = start_until_step(&p, &["-R", "-j1", "tools"], "sleep 3");
    send_signal(child.id(), 9);
    child.wait().unwrap();

    // The lock died with the process, the record is readable, and the
    // next run ends with the right image, however far the orphaned buildah got.
    let run = build(&p, &["-R", "tools"]);
    run.ok();
    let image = format!("localhost/tools:{}", p.key16("tools"));
    let ctr = p
        .storage
        .buildah(&["from", "--quiet", "--pull=never", &image]);
    let out = p.storage.buildah(&[
        "run",
        "--isolation",
        "chroot",
        ctr.trim(),
        "--",
        "cat",
        "/slept",
    ]);
    p.storage.buildah(&["rm", ctr.trim()]);
    assert_eq!(out, "slept\n");
    let again = build(&p, &["-R", "tools"]);
    again.ok();
    assert!(again.built().is_empty(), "{:?}", again.events);
}

/// `reagent build --json ARGS` with a `buildah` first on `PATH` that appends
/// its arguments to a file, then runs the real one; the build and the calls.
fn build_counting(p: &BuildahProject, args: &[&str]) -> (Built, Vec<String>) {
    let wrap = tempfile::tempdir().unwrap();
    let calls = wrap.path().join("calls");
    counting_buildah(wrap.path());
    let mut all = vec!["build", "--json"];
    all.extend_from_slice(args);
    let path = format!(
        "{}:{}",
        wrap.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = p.command(&all).env("PATH", path).output().unwrap();
    let calls = std::fs::read_to_string(&calls)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (Built::from(Run::from(out)), calls)
}

/// `DIR/buildah`: appends its arguments to `DIR/calls`, then runs the real one.
fn counting_buildah(dir: &std::path::Path) {
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v buildah"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = dir.join("buildah");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >>'{}'\nexec '{}' \"$@\"\n",
            dir.join("calls").display(),
            real.trim()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// The buildah subcommand of a logged call (the word after the storage flags).
fn subcommand(call: &str) -> String {
    let mut words = call.split(' ');
    while let Some(w) = words.next() {
        if matches!(w, "--root" | "--runroot" | "--storage-driver") {
            words.next();
            continue;
        }
        return w.to_string();
    }
    String::new()
}

#[test]
fn a_build_runs_one_buildah_process_per_image_and_a_no_op_none() {
    if tools_missing() {
        return;
    }
    let p = project(None);
    let (first, calls) = build_counting(&p, &["-j1", "all"]);
    first.ok();
    assert_eq!(first.built(), ["app", "base", "leaf", "tools"]);
    // Exactly the four `buildah build`s a shell loop would run: the store's
    // image and container lists are read from disk, tags go with the build.
    let subcommands: Vec<String> = calls.iter().map(|c| subcommand(c)).collect();
    assert_eq!(subcommands, ["build"; 4], "{calls:#?}");

    let (noop, calls) = build_counting(&p, &["all"]);
    noop.ok();
    assert!(noop.built().is_empty(), "{:?}", noop.events);
    assert_eq!(noop.summary()["up_to_date"], 4);
    assert_eq!(calls, Vec::<String>::new());

    // A change rebuilds on its parent, whose key label is read from disk too.
    p.write("images/app/app.conf", "port=81\n");
    let (again, calls) = build_counting(&p, &["all"]);
    again.ok();
    assert_eq!(again.built(), ["app", "leaf"]);
    let subcommands: Vec<String> = calls.iter().map(|c| subcommand(c)).collect();
    assert_eq!(subcommands, ["build"; 2], "{calls:#?}");
}

/// A project whose `graph.toml` does not say where the store is: buildah finds
/// it in the `storage.conf` that `CONTAINERS_STORAGE_CONF` names. `reagent`
/// runs with that variable and a `buildah` first on `PATH` that logs its calls.
struct Unplaced {
    p: BuildahProject,
    dir: tempfile::TempDir,
}

impl Unplaced {
    fn new() -> Unplaced {
        let p = BuildahProject::new("").with_busybox_base();
        p.write("graph.toml", "[buildah]\nisolation = \"chroot\"\n");
        p.write(
            "images/tools/Containerfile",
            "FROM base\nRUN echo tools > /tools\n",
        );
        let dir = tempfile::tempdir().unwrap();
        counting_buildah(dir.path());
        let u = Unplaced { p, dir };
        let s = u.p.storage.settings();
        u.place(&s.root.unwrap(), &s.runroot.unwrap());
        u
    }

    /// Point `storage.conf` at graph root `root`.
    fn place(&self, root: &std::path::Path, runroot: &std::path::Path) {
        std::fs::write(
            self.dir.path().join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                root.display(),
                runroot.display()
            ),
        )
        .unwrap();
    }

    /// `reagent ARGS`, which must succeed: its stdout and buildah's calls.
    fn run(&self, args: &[&str]) -> (String, Vec<String>) {
        let calls = self.dir.path().join("calls");
        let _ = std::fs::remove_file(&calls);
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = self
            .p
            .command(args)
            .env("PATH", path)
            .env(
                "CONTAINERS_STORAGE_CONF",
                self.dir.path().join("storage.conf"),
            )
            .output()
            .unwrap();
        let run = Run::from(out);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let calls = std::fs::read_to_string(&calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        (run.stdout + &run.stderr, calls)
    }
}

#[test]
fn a_store_graph_toml_does_not_place_is_asked_of_buildah_once_not_on_every_no_op() {
    if tools_missing() {
        return;
    }
    let u = Unplaced::new();
    let (_, calls) = u.run(&["build", "-R", "all"]);
    assert!(calls.iter().any(|c| c.starts_with("build")), "{calls:#?}");
    // The first run made the state folder; the next asks where the store is,
    // once, and keeps the answer.
    let (out, calls) = u.run(&["build", "-R", "all"]);
    assert!(out.contains("2 up to date"), "{out}");
    assert_eq!(calls, ["info"]);
    let kept = std::fs::read_to_string(u.p.path(".reagent/store-location")).unwrap();
    let root = u.p.storage.settings().root.unwrap();
    assert!(kept.contains(&*root.to_string_lossy()), "{kept}");
    // From then on a no-op runs no buildah process at all.
    let (out, calls) = u.run(&["build", "-R", "all"]);
    assert!(out.contains("2 up to date"), "{out}");
    assert_eq!(calls, Vec::<String>::new());

    // storage.conf now names another, empty store: the kept answer no longer
    // stands, and nothing is up to date there.
    let other = tempfile::tempdir().unwrap();
    u.place(&other.path().join("root"), &other.path().join("run"));
    let (out, calls) = u.run(&["build", "-n", "-R", "all"]);
    assert_eq!(calls, ["info"]);
    assert!(
        out.contains("base   image missing") && out.contains("tools  image missing"),
        "{out}"
    );
    let kept = std::fs::read_to_string(u.p.path(".reagent/store-location")).unwrap();
    assert!(kept.contains(&*other.path().to_string_lossy()), "{kept}");
    // buildah made the other store: let buildah remove what it made there.
    let _ = Command::new("buildah")
        .args(["--root"])
        .arg(other.path().join("root"))
        .arg("--runroot")
        .arg(other.path().join("run"))
        .args(["--storage-driver", "vfs", "rm", "--all"])
        .output();
}
