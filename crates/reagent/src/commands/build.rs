//! `reagent build`: map the arguments to a build session's request, and the
//! session's events to output. The session (lock, record, plan, run) is
//! `reagent_exec::session`'s.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::Duration;

use reagent_backend::Cancel;
use reagent_exec::clock::SystemClock;
use reagent_exec::events::Event;
use reagent_exec::job::AuditGate;
use reagent_exec::plan::{Action, Plan};
use reagent_exec::report::Report;
use reagent_exec::run::plan_event;
use reagent_exec::session::{Request, RunOptions, Session, SessionError};
use reagent_graph::{Graph, NodeId, NodeKind, Project, Recipe};

use super::regexes;
use crate::cli::{BuildArgs, Cli};
use crate::output::progress::{Bars, Json, Plain, Reporter};
use crate::output::{self, tables};
use crate::report::Failure;
use crate::Loaded;

impl From<SessionError> for Failure {
    fn from(e: SessionError) -> Self {
        Failure::Failed(e.to_string())
    }
}

/// The nodes asked for by positional targets, `-b`, `-i`, `-p` and `-c`, or by `--only`.
fn targets(graph: &Graph, args: &BuildArgs) -> Result<Vec<NodeId>, Failure> {
    if !args.only.is_empty() {
        let mut out = args
            .only
            .iter()
            .map(|name| super::node_named(graph, name).map(|n| n.id))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort();
        out.dedup();
        return Ok(out);
    }
    let mut out: Vec<NodeId> = Vec::new();
    for word in args.targets.iter().chain(&args.build) {
        if word == "all" {
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

/// The registry prefix the arguments allow: none with `-R`, `--registry`'s
/// over `[project] registry`.
fn registry<'p>(project: &'p Project, args: &'p BuildArgs) -> Option<&'p str> {
    if args.no_registry {
        None
    } else {
        args.registry.as_deref().or_else(|| project.registry())
    }
}

/// The cache registries to read: none with `-R`; `[registry] cache_from`
/// without the registry the run pushes to (it is asked first anyway).
fn cache_from(project: &Project, args: &BuildArgs, registry: Option<&str>) -> Vec<String> {
    if args.no_registry {
        return Vec::new();
    }
    project
        .cache_from()
        .into_iter()
        .filter(|c| Some(*c) != registry)
        .map(str::to_string)
        .collect()
}

/// The request the arguments describe.
fn request(project: &Project, args: &BuildArgs) -> Result<Request, Failure> {
    let force_patterns = regexes(&args.force)?;
    let graph = &project.graph;
    let targets = targets(graph, args)?;
    let only = !args.only.is_empty();
    let force: HashSet<NodeId> = if force_patterns.is_empty() {
        HashSet::new()
    } else {
        // With --only, nothing but the targets is built, so nothing else can be forced.
        let candidates = if only {
            targets.clone()
        } else {
            graph.with_ancestors(targets.iter().copied())
        };
        candidates
            .into_iter()
            .filter(|id| {
                force_patterns
                    .iter()
                    .any(|r| r.is_match(&graph.node(*id).name))
            })
            .collect()
    };
    let registry = registry(project, args).map(str::to_string);
    if let Some(r) = args.registry.as_deref() {
        if r.is_empty() || r.contains("://") || r.ends_with('/') || r.contains(char::is_whitespace)
        {
            return Err(Failure::Usage(format!(
                "--registry `{r}` should look like `registry.example.com/acme` (no scheme, no trailing slash)"
            )));
        }
    }
    if args.sbom.is_some() && registry.is_none() {
        return Err(Failure::Usage(if args.no_registry {
            "--sbom attaches SBOMs to images in the registry, and -R turns the registry off".into()
        } else {
            format!(
                "--sbom attaches SBOMs to images in the registry, and none is configured: set `[project] registry` in {}",
                project.root.join("graph.toml").display()
            )
        }));
    }
    Ok(Request {
        targets,
        force,
        cache_from: cache_from(project, args, registry.as_deref()),
        registry,
        verbose: args.verbose,
        catalyst: args.catalyst_bin.clone(),
        tests: args.test.then(|| Duration::from_secs(args.test_timeout)),
        only,
        sbom: args.sbom,
        offline: args.no_registry,
    })
}

/// `reagent build`. With `--report`, the report is written however the run
/// ends once the project is read: from the run, the plan (`-n`) or the error.
pub fn run(cli: &Cli, args: &BuildArgs) -> Result<(), Failure> {
    let patterns = regexes(
        &args
            .targets
            .iter()
            .chain(&args.build)
            .filter(|w| *w != "all")
            .cloned()
            .collect::<Vec<_>>(),
    )?;
    let all = args.targets.iter().chain(&args.build).any(|w| w == "all");
    // Only the targets and their ancestors must load cleanly (-i may name any image).
    let selected = |name: &str| {
        if args.only.is_empty() {
            all || args.initial || patterns.iter().any(|r| r.is_match(name))
        } else {
            args.only.iter().any(|n| n == name)
        }
    };
    let mut loaded = crate::load_selected(cli, &selected)?;
    let mut report: Option<Report> = None;
    let result = build(&mut loaded, args, &mut report);
    let Some(path) = &args.report else {
        return result;
    };
    let project = &loaded.project;
    let report = report.unwrap_or_else(|| {
        // A stop before the run (the lock, the plan's registry lookups) is a stop.
        if let Err(Failure::Interrupted) = &result {
            return Report::of_interrupt(project, registry(project, args));
        }
        let message = result.as_ref().err().map(Failure::message);
        Report::of_error(
            project,
            registry(project, args),
            message.as_deref().unwrap_or("stopped"),
        )
    });
    match (report.write(path), result) {
        (Ok(()), result) => result,
        (Err(e), Ok(())) => Err(Failure::Failed(e.to_string())),
        (Err(e), Err(failure)) => {
            // The run's own failure is the one to exit with; this one is said too.
            eprintln!("error: {e}");
            Err(failure)
        }
    }
}

/// Plan and run the build of `loaded`; `report` gets the run report (or the
/// plan's, with `-n`) once there is one.
fn build(
    loaded: &mut Loaded,
    args: &BuildArgs,
    report: &mut Option<Report>,
) -> Result<(), Failure> {
    // Targets are checked before any registry is asked about what the lock lacks.
    let request = request(&loaded.project, args)?;
    // From here on the first SIGINT/SIGTERM stops the lock's and the plan's
    // registry lookups and then the run, cleanly; a second one kills what runs
    // and exits at once (see `crate::signals`).
    let cancel = Cancel::new();
    crate::signals::stop_on_signals(&cancel)?;
    // A failure that a stop caused is the stop.
    let stopped = |failure: Failure| {
        if cancel.is_cancelled() {
            Failure::Interrupted
        } else {
            failure
        }
    };
    let backend = crate::located_backend(loaded, true)?.with_cancel(&cancel);
    super::lock::before_build(&mut loaded.project, &backend, args).map_err(stopped)?;
    let project = &loaded.project;
    let advisories = if args.vuln_test {
        Some(reagent_exec::audit::load(project, None).map_err(|e| Failure::Usage(e.to_string()))?)
    } else {
        None
    };
    let audit = advisories.as_ref().map(|advisories| AuditGate {
        advisories,
        fail_on: args.fail_on,
    });
    let clock = SystemClock;
    let mut session = Session::open(
        project,
        &backend,
        &loaded.state_dir,
        &clock,
        !args.no_wait,
        &mut |msg| eprintln!("{msg}"),
    )?;
    output::warn_damaged(&loaded.state_dir, session.history());
    let plan = session
        .plan(&request)
        .map_err(|e| stopped(Failure::from(e)))?;
    if cancel.is_cancelled() {
        return Err(Failure::Interrupted);
    }
    check_builder(project, &backend, &plan)?;
    if args.dry_run || args.explain {
        print_plan(session.graph(), &plan, args)?;
        if args.dry_run {
            let registry = request.registry.as_deref();
            *report = args
                .report
                .as_ref()
                .map(|_| Report::of_plan(project, &plan, registry));
            session.close();
            return Ok(());
        }
    }
    let _run = begin_run(loaded, &backend)?;
    let mut reporter = reporter(args, &session);
    let opts = RunOptions {
        jobs: jobs(project, args),
        keep_going: args.keep_going,
    };
    let run = session.run_audited(&plan, &request, audit, &opts, &cancel, &mut |e: &Event| {
        reporter.report(e);
    });
    session.close();
    let run = run?;
    let unwritten = reporter.write_error().map(output::stdout_failed);
    drop(reporter);
    let registry = request.registry.as_deref();
    *report = args
        .report
        .as_ref()
        .map(|_| Report::of_run(project, &plan, &run, registry));
    let cases = run.cases();
    if !cases.is_empty() && !args.json {
        eprint!("{}", tables::cases(&cases));
    }
    if let Some(path) = &args.junit {
        reagent_exec::junit::write(path, "reagent build", &cases)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    let s = &run.summary;
    if s.interrupted {
        return Err(Failure::Interrupted);
    }
    if let Some(failure) = unwritten.filter(|_| s.ok()) {
        // The events were the output asked for; the build itself went well.
        return Err(failure);
    }
    if !s.ok() {
        let mut what = format!("{} failed, {} skipped", s.failed, s.skipped);
        if s.record_errors > 0 {
            // Writing to a String cannot fail.
            let _ = write!(
                what,
                ", {} build record{} not written",
                s.record_errors,
                output::plural(s.record_errors)
            );
        }
        return Err(Failure::Failed(what));
    }
    Ok(())
}

/// What shows the run's events: NDJSON on stdout (`--json`), progress bars on a
/// terminal, else plain lines.
fn reporter(args: &BuildArgs, session: &Session<'_>) -> Box<dyn Reporter> {
    if args.json {
        Box::new(Json::new(std::io::stdout()))
    } else if std::io::stderr().is_terminal() && !args.verbose {
        Box::new(Bars::new(session.history().durations()))
    } else {
        Box::new(Plain::new(std::io::stderr(), args.verbose))
    }
}

/// Remove the working containers that killed runs of this project left, then
/// record this run until the returned guard drops (see `reagent_exec::runs`).
fn begin_run(
    loaded: &Loaded,
    backend: &impl reagent_backend::Backend,
) -> Result<reagent_exec::runs::Run, Failure> {
    let (run, removed) =
        reagent_exec::runs::begin(&loaded.state_dir, &loaded.project.root, backend)
            .map_err(|e| Failure::Failed(e.to_string()))?;
    if removed > 0 {
        eprintln!(
            "removed {removed} working container{} left by a killed run",
            output::plural(removed)
        );
    }
    Ok(run)
}

/// Every construct the nodes to build use that this buildah cannot read: bad
/// input (exit 2) before anything is built. `buildah version` is asked only
/// when an image to build uses such a construct.
fn check_builder(
    project: &Project,
    backend: &impl reagent_backend::Backend,
    plan: &Plan,
) -> Result<(), Failure> {
    let building: Vec<NodeId> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Build(_)))
        .map(|s| s.node)
        .filter(|id| match &project.graph.node(*id).recipe {
            Recipe::Image(image) => !image.parsed.constructs().is_empty(),
            _ => false,
        })
        .collect();
    // Only a Containerfile with a construct some buildah lacks needs the
    // version: a build without one runs no extra buildah process.
    if building.is_empty() {
        return Ok(());
    }
    let version = backend
        .builder_version()
        .map_err(|e| Failure::Failed(format!("cannot read buildah's version: {e}")))?;
    let errors = reagent_exec::builder::unsupported(project, building, version);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Project(reagent_graph::ProjectErrors(errors)))
    }
}

/// `-j`, else `[project] jobs`, else the CPU count.
fn jobs(project: &Project, args: &BuildArgs) -> usize {
    args.jobs
        .map(usize::from)
        .or(project
            .config
            .project
            .jobs
            .as_ref()
            .and_then(|j| usize::try_from(*j.get_ref()).ok()))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// `--dry-run` / `--explain`: one line per node with its action and reason.
fn print_plan(graph: &Graph, plan: &Plan, args: &BuildArgs) -> Result<(), Failure> {
    let event = plan_event(graph, plan);
    if args.json {
        if let Ok(line) = serde_json::to_string(&event) {
            output::stdout(&format!("{line}\n"))?;
        }
        return Ok(());
    }
    let Event::Plan { steps } = event else {
        return Ok(());
    };
    let width = steps.iter().map(|s| s.node.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (step, shown) in plan.steps.iter().zip(steps) {
        if args.explain && !args.dry_run && !matches!(step.action, Action::Build(_)) {
            continue;
        }
        // `{:<10} {:width$}  {}`, without the formatter's per-field padding work
        // (10,000 lines on a large project's dry run).
        let action = shown.action.as_str();
        text.push_str(action);
        text.extend(std::iter::repeat_n(
            ' ',
            11usize.saturating_sub(action.len()),
        ));
        text.push_str(&shown.node);
        text.extend(std::iter::repeat_n(' ', width - shown.node.len() + 2));
        text.push_str(&shown.reason);
        text.push('\n');
    }
    output::stdout(&text)
}
