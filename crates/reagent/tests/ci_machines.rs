//! Many CI machines, played here: a project is exported as `json` and its jobs
//! are run by three worker processes at a time, each on its own checkout with
//! its own empty buildah store, all sharing one `docker-registry` on loopback,
//! each job started only once the jobs it needs are done — the way a CI engine
//! runs the exported pipeline. Every key must be built exactly once across
//! the machines, every job must pull the parents it lacks rather than build
//! them, and a second run of the whole pipeline (on fresh machines) must build
//! nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::buildah::{
    copy_tree, registry_labels, registry_tags, tools_missing, wait_or_fail, BuildahProject,
};
use reagent_testkit::Registry;
use serde_json::Value;

/// Worker processes at once.
const WORKERS: usize = 3;

/// One exported job.
#[derive(Debug, Clone)]
struct Job {
    name: String,
    key: String,
    deps: Vec<String>,
    command: Vec<String>,
}

/// The `json` export's jobs.
fn jobs(export: &Value) -> Vec<Job> {
    assert_eq!(export["version"], 1);
    export["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| Job {
            name: n["name"].as_str().unwrap().to_string(),
            key: n["key"].as_str().unwrap().to_string(),
            deps: n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect(),
            command: n["command"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
        })
        .collect()
}

/// How one job ended on one machine.
#[derive(Debug)]
struct Ran {
    job: String,
    machine: usize,
    started: Duration,
    ended: Duration,
    report: Value,
}

/// A CI machine: a checkout of its own (the project's files copied, no state)
/// whose `graph.toml` points buildah at the machine's own empty store.
fn machine(template: &BuildahProject) -> BuildahProject {
    template.on_another_machine()
}

/// Run one job's command as an engine would: in the machine's checkout, with
/// `reagent` found where cargo built it. Returns the job's report.
fn run_job(machine: &BuildahProject, job: &Job) -> Value {
    assert_eq!(job.command[0], "reagent", "{job:?}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_reagent"))
        .args(&job.command[1..])
        .current_dir(machine.dir.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let drain = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let status = wait_or_fail(&mut child, Duration::from_secs(600));
    let stderr = drain.join().unwrap();
    assert_eq!(status.code(), Some(0), "job {} failed:\n{stderr}", job.name);
    let report = machine.path(&format!("reagent-reports/{}.json", job.name));
    serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
}

/// Run every job on `machines`, at most one per machine at a time, each once
/// the jobs it needs are done; idle machines take work in turn, so jobs land
/// on machines other than their parents'. Returns what ran where, in order.
fn run_pipeline(jobs: &[Job], machines: &[BuildahProject], t0: Instant) -> Vec<Ran> {
    let mut pending: Vec<Job> = jobs.to_vec();
    let mut done: HashSet<String> = HashSet::new();
    let mut ran = Vec::new();
    std::thread::scope(|s| {
        let (done_tx, done_rx) = mpsc::channel::<Ran>();
        let mut inboxes = Vec::new();
        for (i, m) in machines.iter().enumerate() {
            let (tx, rx) = mpsc::channel::<Option<Job>>();
            inboxes.push(tx);
            let done_tx = done_tx.clone();
            s.spawn(move || {
                while let Ok(Some(job)) = rx.recv() {
                    let started = t0.elapsed();
                    let report = run_job(m, &job);
                    let _ = done_tx.send(Ran {
                        job: job.name,
                        machine: i,
                        started,
                        ended: t0.elapsed(),
                        report,
                    });
                }
            });
        }
        let mut idle: VecDeque<usize> = (0..machines.len()).collect();
        let mut running = 0;
        loop {
            while let Some(&m) = idle.front() {
                let Some(at) = pending
                    .iter()
                    .position(|j| j.deps.iter().all(|d| done.contains(d)))
                else {
                    break;
                };
                let job = pending.remove(at);
                idle.pop_front();
                inboxes[m].send(Some(job)).unwrap();
                running += 1;
            }
            if running == 0 {
                break;
            }
            // A worker that panicked drops its sender: recv then fails the test here.
            let r = done_rx
                .recv_timeout(Duration::from_secs(900))
                .expect("a job finished");
            running -= 1;
            idle.push_back(r.machine);
            done.insert(r.job.clone());
            ran.push(r);
        }
        for tx in &inboxes {
            let _ = tx.send(None);
        }
    });
    assert!(pending.is_empty(), "never started: {pending:?}");
    ran
}

/// `(node, outcome)` of each entry of a job's report.
fn outcomes(report: &Value) -> BTreeMap<String, String> {
    report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every `(node, key)` the machines' build records say was built, with repeats.
fn built_records(machines: &[BuildahProject]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for m in machines {
        let Ok(text) = std::fs::read_to_string(m.path(".reagent/builds.jsonl")) else {
            continue;
        };
        for line in text.lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            if r["outcome"] == "built" {
                out.push((
                    r["node"].as_str().unwrap().to_string(),
                    r["key"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Say it where `cargo test` shows it (the timings are part of the result).
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Each job of the first run started after the jobs it needs ended, built
/// its own node with the key the export named (every machine computes the
/// same keys), and found each parent pulled or already on its machine, never
/// built again. Returns how many parents were pulled.
fn check_jobs(jobs: &[Job], ran: &[Ran]) -> usize {
    // A job started only after every job it needs had ended.
    let ended: BTreeMap<&str, Duration> = ran.iter().map(|r| (r.job.as_str(), r.ended)).collect();
    for r in ran {
        let job = jobs.iter().find(|j| j.name == r.job).unwrap();
        for d in &job.deps {
            assert!(
                ended[d.as_str()] <= r.started,
                "{} started before {d} ended",
                r.job
            );
        }
    }
    let mut pulls = 0;
    let mut local: Vec<BTreeSet<String>> = vec![BTreeSet::new(); WORKERS];
    for r in ran {
        let job = jobs.iter().find(|j| j.name == r.job).unwrap();
        let report = &r.report;
        assert_eq!(report["status"], "ok", "{report:#}");
        let mine = report["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == r.job.as_str())
            .unwrap();
        assert_eq!(
            mine["key"],
            job.key.as_str(),
            "{}: keys differ between machines",
            r.job
        );
        assert_eq!(mine["outcome"], "built", "{}: {report:#}", r.job);
        // Its parents: pulled, or already on that machine; never built again.
        for (node, outcome) in outcomes(report) {
            if node == r.job {
                continue;
            }
            assert!(
                job.deps.contains(&node),
                "{} planned a non-parent {node}",
                r.job
            );
            match outcome.as_str() {
                "pulled" => pulls += 1,
                "up-to-date" => assert!(
                    local[r.machine].contains(&node),
                    "{node} was up to date on machine {} without being there",
                    r.machine
                ),
                other => panic!("{}: parent {node} was {other}", r.job),
            }
            local[r.machine].insert(node);
        }
        local[r.machine].insert(r.job.clone());
    }
    assert!(
        pulls > 0,
        "no job ran on a machine without its parents: {ran:#?}"
    );
    pulls
}

/// Export `template` as json (with `flags`), run the pipeline on fresh machines
/// twice, and check that each key was built once, parents were pulled, and the
/// second run built nothing. `extra_tags` are the moving tags besides `latest`.
fn play(
    template: &BuildahProject,
    registry: &Registry,
    flags: &[&str],
    extra_tags: &[(&str, &str)],
    what: &str,
) -> Vec<Ran> {
    let mut args = vec!["export", "--format", "json"];
    args.extend_from_slice(flags);
    let export: Value = serde_json::from_str(&template.ok(&args)).unwrap();
    let jobs = jobs(&export);

    // First run: three empty machines.
    let machines: Vec<BuildahProject> = (0..WORKERS).map(|_| machine(template)).collect();
    let t0 = Instant::now();
    let ran = run_pipeline(&jobs, &machines, t0);
    let first = t0.elapsed();

    let pulls = check_jobs(&jobs, &ran);

    // Every key built exactly once across the machines: by their build records...
    let built = built_records(&machines);
    let expected: Vec<(String, String)> = {
        let mut v: Vec<_> = jobs
            .iter()
            .map(|j| (j.name.clone(), j.key.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(built, expected, "each key built once");
    // ...and by the registry: one key tag per node, holding that key's build.
    for job in &jobs {
        let key16 = &job.key[..16];
        let mut want = vec![key16.to_string(), "latest".to_string()];
        want.extend(
            extra_tags
                .iter()
                .filter(|(n, _)| *n == job.name)
                .map(|(_, t)| (*t).to_string()),
        );
        want.sort();
        let repo = format!("acme/{}", job.name);
        assert_eq!(registry_tags(registry.host(), &repo), want, "{}", job.name);
        let labels = registry_labels(&format!("{}/{repo}:{key16}", registry.host()));
        assert_eq!(labels["org.reagent.key"], job.key.as_str());
    }

    // Second run, on fresh machines: every job finds its key in the registry.
    let again: Vec<BuildahProject> = (0..WORKERS).map(|_| machine(template)).collect();
    let t1 = Instant::now();
    let ran_again = run_pipeline(&jobs, &again, t1);
    let second = t1.elapsed();
    for r in &ran_again {
        assert_eq!(
            outcomes(&r.report),
            BTreeMap::from([(r.job.clone(), "up-to-date".to_string())]),
            "{:#}",
            r.report
        );
        assert_eq!(r.report["nodes"][0]["source"], "registry");
    }
    assert!(
        built_records(&again).is_empty(),
        "the second run built something"
    );

    let mut lines = vec![format!(
        "{what}: {} jobs on {WORKERS} machines: first run {:.1} s ({pulls} parents pulled), second run {:.1} s",
        jobs.len(),
        first.as_secs_f64(),
        second.as_secs_f64()
    )];
    for r in &ran {
        lines.push(format!(
            "  {:<10} machine {}  {:>6.1} s .. {:>6.1} s",
            r.job,
            r.machine,
            r.started.as_secs_f64(),
            r.ended.as_secs_f64()
        ));
    }
    say(&lines.join("\n"));
    ran
}

/// `graph.toml` after `[buildah]`: the project's own settings with the registry.
fn registry_config(registry: &Registry, rest: &str) -> String {
    format!(
        "[project]\nname = \"many-machines\"\nregistry = \"{}/acme\"\n\n[registry]\ntls_verify = false\n{rest}",
        registry.host()
    )
}

/// `examples/busybox`'s `graph.toml` without its `[project]` and `[buildah]` tables.
fn example_settings(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with('[') {
            skipping = line == "[project]" || line == "[buildah]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_busybox_example_on_three_machines_builds_each_key_once() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/busybox");
    let settings = example_settings(&std::fs::read_to_string(example.join("graph.toml")).unwrap());
    assert!(settings.contains("[image.app]"), "{settings}");
    let template = BuildahProject::new(&registry_config(&registry, &settings));
    copy_tree(&example, template.dir.root());
    template.write_config();
    std::fs::copy("/bin/busybox", template.path("images/01-base/busybox")).unwrap();
    // -t: each job runs its image's label tests, and its report says how they went.
    let ran = play(
        &template,
        &registry,
        &["-t"],
        &[("app", "stable")],
        "examples/busybox",
    );
    let app = ran.iter().find(|r| r.job == "app").unwrap();
    let entry = app.report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "app")
        .unwrap();
    let tests = entry["tests"].as_array().unwrap();
    assert!(tests.len() >= 3, "{entry:#}");
    assert!(tests.iter().all(|t| t["outcome"] == "passed"), "{entry:#}");
}

#[test]
fn a_wider_graph_on_three_machines_builds_each_key_once() {
    if tools_missing() {
        return;
    }
    let registry = Registry::start();
    let template = BuildahProject::new(&registry_config(&registry, "")).with_busybox_base();
    // base → m1, m2, m3; each mN → mN-a, mN-b; join ← m1 (FROM), m2 and m3 (COPY --from).
    for m in ["m1", "m2", "m3"] {
        template.write(
            &format!("images/{m}/Containerfile"),
            &format!("FROM base\nRUN echo {m} > /{m}\n"),
        );
        for leaf in ["a", "b"] {
            template.write(
                &format!("images/{m}-{leaf}/Containerfile"),
                &format!("FROM {m}\nRUN cat /{m} > /{leaf}\n"),
            );
        }
    }
    template.write(
        "images/join/Containerfile",
        "FROM m1\nCOPY --from=m2 /m2 /m2\nCOPY --from=m3 /m3 /m3\n",
    );
    play(&template, &registry, &[], &[], "wide graph");
}
