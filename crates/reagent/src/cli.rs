//! Command-line arguments (clap derive). Parsing only: no behaviour here.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use reagent_gentoo::sbom::{Format, FormatError};
use reagent_gentoo::Severity;

/// `--fail-on`'s values, checked when the arguments are parsed.
fn severity(text: &str) -> Result<Severity, reagent_gentoo::SeverityError> {
    text.parse()
}

/// `--format`'s and `--sbom`'s values: `spdx-json` or `cyclonedx-json`.
fn sbom_format(text: &str) -> Result<Format, FormatError> {
    text.parse()
}

/// Incremental, content-addressed, parallel builds of Gentoo-based OCI images through buildah.
#[derive(Debug, Parser)]
#[command(name = "reagent", version, about, long_about = None)]
pub struct Cli {
    /// Run as if started in DIR (the project folder).
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        global = true,
        default_value = "."
    )]
    pub dir: PathBuf,
    /// Keep reagent's state (build record, logs, lock, caches) in DIR instead of `<project>/.reagent`.
    #[arg(long, value_name = "DIR", global = true, env = "REAGENT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// reagent's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the graph: a readable tree, Graphviz (--dot) or JSON (--json).
    Graph(GraphArgs),
    /// Show the inputs a node's key is made from.
    Explain(ExplainArgs),
    /// Validate the whole project and list every error (exit 0 or 2).
    Check(CheckArgs),
    /// Build the dirty nodes among the targets and their ancestors, in parallel.
    Build(BuildArgs),
    /// Run the label tests of built images (`org.reagent.test*` labels and graph.toml `test`).
    Test(TestArgs),
    /// Audit built images' installed packages against Gentoo security advisories (GLSA).
    Audit(AuditArgs),
    /// Packages added, removed and changed between two builds of an image.
    Diff(DiffArgs),
    /// Print an image's software bill of materials (SPDX or CycloneDX JSON), from its package database.
    Sbom(SbomArgs),
    /// Remove local images reagent built that no current key needs.
    Prune(PruneArgs),
    /// Delete this project's key tags from the registry that no current node needs (--registry).
    Gc(GcArgs),
    /// Write a CI pipeline with one job per node (`reagent build --only NODE`), mirroring the graph.
    Export(ExportArgs),
    /// Write a new reagent project from another tool's project.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Pin external images and seeds by content in reagent.lock (or move pins on purpose with --update).
    Lock(LockArgs),
}

/// `reagent export --format`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// A GitHub Actions workflow: jobs with `needs` (or, with --matrix, one matrix job per layer).
    Github,
    /// A GitLab CI pipeline with `needs:`, to run as a child pipeline.
    Gitlab,
    /// An Argo Workflows `Workflow` with a DAG template (Kubernetes).
    Argo,
    /// The plan as JSON, for any other engine: `{"version":1,"nodes":[{"name","key","deps","command"}]}`.
    Json,
}

/// `reagent export`.
// Each bool is an independent command-line switch.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The CI engine to write for.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Nodes to export: regexes matched against node names (unanchored), or `all` for every
    /// leaf; with their ancestors. Default: the whole graph.
    #[arg(value_name = "REGEX|all")]
    pub targets: Vec<String>,
    /// Only the nodes that are not up to date (asks the registry, like `build -n`).
    #[arg(long)]
    pub dirty: bool,
    /// The container image the jobs run in: one with reagent and buildah (not needed for json).
    #[arg(long, value_name = "IMAGE", env = "REAGENT_CI_IMAGE")]
    pub image: Option<String>,
    /// The project's folder relative to the checkout the jobs run in (default: -C when it is
    /// relative, else `.`).
    #[arg(long, value_name = "DIR")]
    pub project_path: Option<String>,
    /// Each job runs the image's label tests (`build -t`).
    #[arg(short = 't', long)]
    pub test: bool,
    /// Each job audits its image against Gentoo security advisories (`build -T`).
    #[arg(short = 'T', long = "vuln-test")]
    pub vuln_test: bool,
    /// GitHub: one job per layer of the graph, a matrix over its nodes, instead of one job per node.
    #[arg(long)]
    pub matrix: bool,
    /// GitHub: the runner label of every job.
    #[arg(long, value_name = "LABEL", default_value = "ubuntu-latest")]
    pub runs_on: String,
    /// The secret (GitHub) or CI/CD variable (GitLab) holding the registry user.
    #[arg(long, value_name = "NAME", default_value = "REGISTRY_USER")]
    pub user_secret: String,
    /// The secret (GitHub) or CI/CD variable (GitLab) holding the registry password or token.
    #[arg(long, value_name = "NAME", default_value = "REGISTRY_PASSWORD")]
    pub password_secret: String,
    /// Argo: the Kubernetes secret (type kubernetes.io/dockerconfigjson) with the registry login.
    #[arg(long, value_name = "NAME", default_value = "reagent-registry")]
    pub kube_secret: String,
    /// Argo: the git repository the jobs check out (default: `-p repo=URL` at submit time).
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// With --dirty: fail at once if another reagent holds the project's state lock.
    #[arg(long)]
    pub no_wait: bool,
}

/// `reagent import`: what to import from.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A Kubler namespace (kubler.conf, images/*, builder/*) as a new project folder, with IMPORT-REPORT.md.
    Kubler(KublerArgs),
}

/// `reagent import kubler`. Relative paths are relative to `-C`.
#[derive(Debug, Args)]
pub struct KublerArgs {
    /// The Kubler namespace folder (the one holding kubler.conf).
    pub namespace_dir: PathBuf,
    /// The project folder to write; it must not exist, or be empty.
    pub out_dir: PathBuf,
    /// The namespace's name (`acme` in `acme/nginx`); default: the namespace folder's name.
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// A Kubler checkout: read its kubler.conf first and build each stage3 builder's core from its engine/docker/bob-core.
    #[arg(long, value_name = "DIR")]
    pub kubler: Option<PathBuf>,
    /// A portage tree for the project's snapshot node, which builds mount (default: Kubler's kubler-gentoo/portage image).
    #[arg(long, value_name = "TREE")]
    pub portage: Option<PathBuf>,
}

/// `reagent check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also fail (exit 2) when reagent.lock lacks an external image or seed, or has an entry nothing uses.
    #[arg(long)]
    pub locked: bool,
}

/// `reagent lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Resolve again the locked references (and seed paths) matching REGEX, all when none is given, and print each change.
    #[arg(long, value_name = "REGEX", num_args = 0..=1, default_missing_value = "")]
    pub update: Option<String>,
    /// Ask no registry: lock images from local storage only.
    #[arg(short = 'R', long = "disable-registry")]
    pub no_registry: bool,
}

/// `reagent prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Keep this many previous builds of each node (so `reagent diff` can compare).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub keep: usize,
    /// List what would be removed, and remove nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

/// `reagent gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Clean `[project] registry`: delete this project's `<name>:<key16>` tags that no
    /// current node needs, keeping each node's N most recent previous builds; never a moving tag.
    #[arg(long)]
    pub registry: bool,
    /// Keep this many previous builds of each node.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub keep: usize,
    /// List what would be deleted, and delete nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

/// `reagent test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Images to test: regexes matched against node names (unanchored), or `all`.
    #[arg(value_name = "REGEX|all", required = true)]
    pub targets: Vec<String>,
    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Seconds each test command may run.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
}

/// `reagent audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Images to audit: regexes matched against node names (unanchored), or `all`.
    #[arg(value_name = "REGEX|all", required = true)]
    pub targets: Vec<String>,
    /// Print `{"findings":[...]}` JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the findings as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity (minimal, low, normal, high); default: any finding.
    #[arg(long, value_name = "SEVERITY", value_parser = severity)]
    pub fail_on: Option<Severity>,
    /// The arch keyword advisories are matched for (default: `[audit] arch` in graph.toml, else the host's).
    #[arg(long)]
    pub arch: Option<String>,
}

/// `reagent diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The image (node name).
    pub image: String,
    /// The older build: a key prefix (default: the second newest recorded build).
    pub old: Option<String>,
    /// The newer build: a key prefix (default: the newest recorded build).
    pub new: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `reagent sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The image (node name); its current build is read.
    pub image: String,
    /// The document's format: spdx-json (SPDX 2.3) or cyclonedx-json (CycloneDX 1.5).
    #[arg(long, value_name = "FORMAT", default_value = "spdx-json", value_parser = sbom_format)]
    pub format: Format,
    /// Write the document to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `reagent build`.
// Each bool is an independent command-line switch.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Nodes to build: regexes matched against node names (unanchored), or `all` for every leaf.
    #[arg(value_name = "REGEX|all")]
    pub targets: Vec<String>,
    /// Build exactly these nodes (exact names), not their ancestors: each parent must be
    /// built already, locally or in the registry (pulled when needed). One CI job per node.
    #[arg(
        long,
        value_name = "NODE",
        num_args = 1..,
        conflicts_with_all = ["targets", "build", "initial", "portage", "catalyst"]
    )]
    pub only: Vec<String>,
    /// Build nodes matching REGEX (`all` = every leaf); same as a positional target.
    #[arg(short = 'b', long = "build", value_name = "REGEX")]
    pub build: Vec<String>,
    /// Also build the numbered initial images (`images/NN-name`).
    #[arg(short = 'i', long)]
    pub initial: bool,
    /// Also build the portage snapshot image.
    #[arg(short = 'p', long)]
    pub portage: bool,
    /// Also build the catalyst stages.
    #[arg(short = 'c', long)]
    pub catalyst: bool,
    /// Run each built image's label tests before tagging and pushing it.
    #[arg(short = 't', long)]
    pub test: bool,
    /// Audit each built image against Gentoo security advisories.
    #[arg(short = 'T', long = "vuln-test")]
    pub vuln_test: bool,
    /// With -t/-T, also write test and audit results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// With -t, seconds each test command may run.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub test_timeout: u64,
    /// With -T, fail on findings at or above this severity (minimal, low, normal, high; default: any).
    #[arg(long, value_name = "SEVERITY", value_parser = severity)]
    pub fail_on: Option<Severity>,
    /// Run at most N jobs at once (default: `[project] jobs` in graph.toml, else the CPU count).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Keep building independent branches after a failure.
    #[arg(short = 'k', long)]
    pub keep_going: bool,
    /// Print the plan (build, pull, push or up to date, and why) and change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Say, for each node to build, which inputs differ from its last recorded build.
    #[arg(long)]
    pub explain: bool,
    /// Rebuild nodes matching REGEX even if an image with their key exists.
    #[arg(long, value_name = "REGEX")]
    pub force: Vec<String>,
    /// Contact no registry: push nothing, pull nothing (external images too), lock only from local storage.
    #[arg(short = 'R', long = "disable-registry")]
    pub no_registry: bool,
    /// Push to and pull from this registry prefix instead of `[project] registry` (a pull
    /// request's own, while `[registry] cache_from` still reads the main one).
    #[arg(
        long,
        value_name = "PREFIX",
        env = "REAGENT_REGISTRY",
        conflicts_with = "no_registry"
    )]
    pub registry: Option<String>,
    /// Attach an SBOM (spdx-json, the default, or cyclonedx-json) to each image pushed, as `<name>:sha256-<digest>.sbom`.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "spdx-json", value_parser = sbom_format)]
    pub sbom: Option<Format>,
    /// Build exactly what reagent.lock pins: fail (exit 2) if it lacks an external image or seed, or has an entry nothing uses, instead of updating it.
    #[arg(long)]
    pub locked: bool,
    /// Fail at once if another reagent holds the project's state lock, instead of waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Stream buildah's output, and name each node that is up to date.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Print newline-delimited JSON events on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write a JSON report of the run to FILE (one entry per node; see docs/ci.md), also
    /// when it fails or is interrupted; with -n, the plan.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The catalyst binary for stage builds.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "catalyst",
        env = "REAGENT_CATALYST"
    )]
    pub catalyst_bin: PathBuf,
}

/// `reagent graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Print Graphviz `dot` text.
    #[arg(long, conflicts_with = "json")]
    pub dot: bool,
    /// Print JSON: `{"version":1,"nodes":[...]}`.
    #[arg(long)]
    pub json: bool,
    /// Show only nodes whose name matches one of these regexes (unanchored), with their ancestors.
    #[arg(value_name = "REGEX")]
    pub patterns: Vec<String>,
}

/// `reagent explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The node's name.
    pub node: String,
}
