//! `reagent export`: the graph as a CI pipeline, one job per node running
//! `reagent build --only NODE`. The pipeline model and its renderers are
//! `reagent_pipeline`'s; with `--dirty` the plan is the build session's.

use std::path::{Component, Path};

use reagent_exec::clock::SystemClock;
use reagent_exec::plan::Action;
use reagent_exec::session::{Request, Session};
use reagent_graph::{Graph, NodeId};
use reagent_pipeline::{render, Format, Pipeline, Secrets, Settings};

use super::regexes;
use crate::cli::{Cli, ExportArgs, ExportFormat};
use crate::output;
use crate::report::Failure;

/// `reagent export --format FORMAT [--dirty] [REGEX|all...]`.
pub fn run(cli: &Cli, args: &ExportArgs) -> Result<(), Failure> {
    let loaded = crate::load(cli)?;
    let project = &loaded.project;
    let Some(registry) = project.registry() else {
        return Err(Failure::Usage(
            "export needs `[project] registry` in graph.toml: the jobs run on different machines and share images only through it".into(),
        ));
    };
    let selection = selection(&project.graph, &args.targets)?;
    let nodes = if args.dirty {
        dirty(&loaded, registry, selection, args.no_wait)?
    } else {
        selection
    };
    let settings = settings(cli, args, registry, project.config.registry.tls_verify);
    let pipeline = Pipeline::new(&project.name(), &project.graph, &nodes, settings);
    let text = render(&pipeline, format(args.format)).map_err(|e| Failure::Usage(e.to_string()))?;
    output::stdout(&text)?;
    Ok(())
}

fn format(f: ExportFormat) -> Format {
    match f {
        ExportFormat::Github => Format::Github,
        ExportFormat::Gitlab => Format::Gitlab,
        ExportFormat::Argo => Format::Argo,
        ExportFormat::Json => Format::Json,
    }
}

/// The nodes the targets name, with their ancestors; every node when none is named.
fn selection(graph: &Graph, targets: &[String]) -> Result<Vec<NodeId>, Failure> {
    if targets.is_empty() {
        return Ok(graph.topological().to_vec());
    }
    let mut named = Vec::new();
    for word in targets {
        let found = if word == "all" {
            graph.leaves()
        } else {
            graph.matching(&regexes(std::slice::from_ref(word))?)
        };
        if found.is_empty() {
            return Err(Failure::Usage(format!(
                "no node matches `{word}` (see `reagent graph`)"
            )));
        }
        named.extend(found);
    }
    Ok(graph.with_ancestors(named))
}

/// The nodes of `selection` that are not up to date: planned like `build -n`
/// (with the registry), keeping those to build or push. Their up-to-date
/// parents are left out: `--only` pulls them.
fn dirty(
    loaded: &crate::Loaded,
    registry: &str,
    selection: Vec<NodeId>,
    no_wait: bool,
) -> Result<Vec<NodeId>, Failure> {
    let project = &loaded.project;
    let backend = crate::located_backend(loaded, false)?;
    let clock = SystemClock;
    let mut session = Session::open(
        project,
        &backend,
        &loaded.state_dir,
        &clock,
        !no_wait,
        &mut |msg| eprintln!("{msg}"),
    )?;
    crate::output::warn_damaged(&loaded.state_dir, session.history());
    let mut request = Request::new(selection);
    request.registry = Some(registry.to_string());
    // What a read-only cache has, the jobs pull: it is not dirty.
    request.cache_from = project
        .cache_from()
        .into_iter()
        .filter(|c| *c != registry)
        .map(str::to_string)
        .collect();
    let plan = session.plan(&request)?;
    Ok(plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Build(_) | Action::Push))
        .map(|s| s.node)
        .collect())
}

/// The project's folder as the jobs see it: `--project-path`, else `-C` when
/// it is relative (and inside the folder reagent was started in), else `.`.
fn project_path(cli: &Cli, args: &ExportArgs) -> String {
    if let Some(p) = &args.project_path {
        return p.clone();
    }
    let dir = Path::new(&cli.dir);
    let parts: Vec<String> = dir
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn settings(cli: &Cli, args: &ExportArgs, registry: &str, tls_verify: bool) -> Settings {
    let mut flags = Vec::new();
    if args.test {
        flags.push("-t".to_string());
    }
    if args.vuln_test {
        flags.push("-T".to_string());
    }
    Settings {
        image: args.image.clone().filter(|i| !i.trim().is_empty()),
        project_path: project_path(cli, args),
        registry: registry.to_string(),
        tls_verify,
        secrets: Secrets {
            user: args.user_secret.clone(),
            password: args.password_secret.clone(),
            kubernetes: args.kube_secret.clone(),
        },
        build_flags: flags,
        runs_on: args.runs_on.clone(),
        matrix: args.matrix,
        repo: args.repo.clone(),
    }
}
