//! `reagent build`: resolve targets, lock the state, plan, run, report.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reagent_backend::buildah::{Buildah, BuildahSettings};
use reagent_backend::{Backend, Cancel};
use reagent_exec::job::{AuditGate, JobContext};
use reagent_exec::plan::{plan, Action, PlanInput};
use reagent_exec::progress::{Bars, Json, Plain, Reporter};
use reagent_exec::run::{plan_event, run, RunOptions};
use reagent_exec::seen::Seen;
use reagent_exec::{junit, label_tests};
use reagent_graph::{NodeId, NodeKind, Project, Recipe};
use reagent_state::{BuildLog, StateLock};

use super::regexes;
use crate::cli::{BuildArgs, Cli};
use crate::report::Failure;

/// The nodes asked for by positional targets, `-b`, `-i`, `-p` and `-c`.
fn targets(project: &Project, args: &BuildArgs) -> Result<Vec<NodeId>, Failure> {
    let graph = &project.graph;
    let words: Vec<&String> = args.targets.iter().chain(&args.build).collect();
    let mut out: Vec<NodeId> = Vec::new();
    for word in &words {
        if word.as_str() == "all" {
            out.extend(graph.leaves());
            continue;
        }
        let found = graph.matching(&regexes(std::slice::from_ref(word))?);
        if found.is_empty() {
            return Err(Failure::Usage(format!(
                "no node matches `{word}` (see `reagent graph`)"
            )));
        }
        out.extend(found);
    }
    for n in graph.nodes() {
        let initial = matches!(&n.recipe, Recipe::Image(i) if i.order.is_some());
        if (args.initial && initial)
            || (args.portage && n.kind == NodeKind::Snapshot)
            || (args.catalyst && n.kind == NodeKind::Stage)
        {
            out.push(n.id);
        }
    }
    if out.is_empty() {
        return Err(Failure::Usage(
            "nothing to build: name targets (REGEX... or `all`), or use -i, -p or -c".into(),
        ));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The real backend, configured from `[buildah]` and `[registry]`; relative
/// storage paths are relative to the project folder.
pub fn backend(project: &Project) -> Buildah {
    let b = &project.config.buildah;
    let path = |p: &String| project.root.join(p);
    let mut settings = BuildahSettings::default();
    if let Some(bin) = &b.binary {
        settings.binary = bin.into();
    }
    settings.isolation = b.isolation.map(|i| i.as_str().to_string());
    settings.storage_driver = b.storage_driver.clone();
    settings.root = b.root.as_ref().map(path);
    settings.runroot = b.runroot.as_ref().map(path);
    settings.extra_args = b.args.clone();
    settings.tls_verify = project.config.registry.tls_verify;
    Buildah::new(settings)
}

/// `reagent build`.
pub fn build(cli: &Cli, args: &BuildArgs) -> Result<(), Failure> {
    let force_patterns = regexes(&args.force)?;
    let project = crate::load(cli)?;
    let targets = targets(&project, args)?;
    let graph = &project.graph;
    let force: HashSet<NodeId> = if force_patterns.is_empty() {
        HashSet::new()
    } else {
        graph
            .with_ancestors(targets.iter().copied())
            .into_iter()
            .filter(|id| {
                force_patterns
                    .iter()
                    .any(|r| r.is_match(&graph.node(*id).name))
            })
            .collect()
    };
    let registry = if args.no_registry {
        None
    } else {
        project.registry()
    };

    if project.state_dir.exists() && !project.state_dir.is_dir() {
        return Err(Failure::Failed(format!(
            "{} is not a folder: reagent keeps its state there (move it away, or pass --state-dir)",
            project.state_dir.display()
        )));
    }
    std::fs::create_dir_all(&project.state_dir).map_err(|e| {
        Failure::Failed(format!(
            "cannot create {}: {e}",
            project.state_dir.display()
        ))
    })?;
    let _lock = StateLock::acquire(&project.state_dir, !args.no_wait, |msg| eprintln!("{msg}"))
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let log = BuildLog::open(&project.state_dir).map_err(|e| Failure::Failed(e.to_string()))?;
    let last = reagent_exec::last_built(&log);
    let unfinished = reagent_exec::unfinished_publishes(&log);

    let mut seen = Seen::load(&project.state_dir);
    let backend = backend(&project);
    let images = backend
        .images()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let input = PlanInput {
        targets: &targets,
        force: &force,
        registry,
        last_built: &last,
        unfinished_publishes: &unfinished,
        seen: Some(&seen),
    };
    let plan =
        plan(graph, &backend, &images, &input).map_err(|e| Failure::Failed(e.to_string()))?;

    let fail_on = match &args.fail_on {
        Some(s) => Some(reagent_exec::audit::parse_severity(s).map_err(Failure::Usage)?),
        None => None,
    };
    let advisories = if args.vuln_test {
        Some(reagent_exec::audit::load(&project, None).map_err(|e| Failure::Usage(e.to_string()))?)
    } else {
        None
    };
    let cancel = Cancel::new();
    let ctx = JobContext {
        project: &project,
        backend: &backend,
        log: &log,
        registry,
        cancel: &cancel,
        verbose: args.verbose,
        catalyst: &args.catalyst_bin,
        tests: args.test.then(|| Duration::from_secs(args.test_timeout)),
        audit: advisories.as_ref().map(|advisories| AuditGate {
            advisories,
            fail_on,
        }),
        results: Mutex::new(Vec::new()),
        registry_refs: Mutex::new(Vec::new()),
    };

    if args.dry_run || args.explain {
        print_plan(&ctx, &plan, args);
        if args.dry_run {
            return Ok(());
        }
    }

    // The first SIGINT/SIGTERM asks for a clean stop (running builds are
    // killed, their containers removed, the record kept); a second one while
    // that is under way exits at once.
    let flag: Arc<AtomicBool> = cancel.flag();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, flag.clone());
        let _ = signal_hook::flag::register(signal, flag.clone());
    }
    let jobs = args
        .jobs
        .or(project
            .config
            .project
            .jobs
            .as_ref()
            .map(|j| *j.get_ref() as usize))
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let mut reporter: Box<dyn Reporter> = if args.json {
        Box::new(Json::new(std::io::stdout()))
    } else if std::io::stderr().is_terminal() && !args.verbose {
        Box::new(Bars::new(log.durations(), args.verbose))
    } else {
        Box::new(Plain::new(std::io::stderr(), args.verbose))
    };
    let summary = run(
        &ctx,
        &plan,
        &RunOptions {
            jobs,
            keep_going: args.keep_going,
        },
        reporter.as_mut(),
    );
    drop(reporter);
    if registry.is_some() {
        let refs = ctx
            .registry_refs
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        for r in plan.found_remote.iter().chain(&refs) {
            seen.mark(r);
        }
        // Only an optimisation: a lost file means a few more registry lookups.
        let _ = seen.save();
    }
    let cases = ctx.results.lock().map(|c| c.clone()).unwrap_or_default();
    if !cases.is_empty() && !args.json {
        eprint!("{}", label_tests::table(&cases));
    }
    if let Some(path) = &args.junit {
        junit::write(path, "reagent build", &cases)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    if summary.interrupted {
        return Err(Failure::Interrupted);
    }
    if !summary.ok() {
        return Err(Failure::Failed(format!(
            "{} failed, {} skipped",
            summary.failed, summary.skipped
        )));
    }
    Ok(())
}

/// `--dry-run` / `--explain`: one line per node with its action and reason.
fn print_plan(ctx: &JobContext<'_>, plan: &reagent_exec::plan::Plan, args: &BuildArgs) {
    if args.json {
        if let Ok(line) = serde_json::to_string(&plan_event(ctx, plan)) {
            println!("{line}");
        }
        return;
    }
    let graph = &ctx.project.graph;
    let width = plan
        .steps
        .iter()
        .map(|s| graph.node(s.node).name.len())
        .max()
        .unwrap_or(0);
    let reagent_exec::events::Event::Plan { steps } = plan_event(ctx, plan) else {
        return;
    };
    for (step, shown) in plan.steps.iter().zip(steps) {
        if args.explain && !args.dry_run && !matches!(step.action, Action::Build(_)) {
            continue;
        }
        println!(
            "{:<10} {:width$}  {}",
            shown.action, shown.node, shown.reason
        );
    }
}
