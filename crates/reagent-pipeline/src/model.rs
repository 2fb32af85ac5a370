//! The pipeline every format renders: one job per node, the parents it needs,
//! and the command that builds it.

use std::collections::{HashMap, HashSet};

use reagent_graph::{Graph, NodeId};
use serde::Serialize;

/// Where the registry credentials come from in the CI engine. Names only: a
/// pipeline never holds a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// The secret (GitHub) or CI/CD variable (GitLab) holding the registry user.
    pub user: String,
    /// The secret or variable holding the registry password or token.
    pub password: String,
    /// The Kubernetes secret (type `kubernetes.io/dockerconfigjson`) Argo mounts.
    pub kubernetes: String,
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets {
            user: "REGISTRY_USER".into(),
            password: "REGISTRY_PASSWORD".into(),
            kubernetes: "reagent-registry".into(),
        }
    }
}

/// How the jobs run: their image, where the project is, the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The container image the jobs run in: one with reagent and buildah.
    /// Required by every format but `json`.
    pub image: Option<String>,
    /// The project's folder relative to the checkout the jobs run in (`.`: the checkout).
    pub project_path: String,
    /// The registry prefix (`[project] registry`), e.g. `registry.example.com/acme`.
    pub registry: String,
    /// Whether the registry's TLS certificate is verified (`[registry] tls_verify`).
    pub tls_verify: bool,
    /// Where the registry credentials come from.
    pub secrets: Secrets,
    /// Extra `reagent build` flags for every job (`-t`, `-T`).
    pub build_flags: Vec<String>,
    /// GitHub: the runner label (`runs-on`).
    pub runs_on: String,
    /// GitHub: one matrix job per layer of the graph instead of one job per node.
    pub matrix: bool,
    /// Argo: the git repository the jobs check out (else a parameter given at submit).
    pub repo: Option<String>,
}

impl Settings {
    /// Settings for `registry`, with defaults for the rest.
    pub fn new(registry: impl Into<String>) -> Settings {
        Settings {
            image: None,
            project_path: ".".into(),
            registry: registry.into(),
            tls_verify: true,
            secrets: Secrets::default(),
            build_flags: Vec::new(),
            runs_on: "ubuntu-latest".into(),
            matrix: false,
            repo: None,
        }
    }

    /// The registry's host (`registry.example.com` of `registry.example.com/acme`),
    /// what `buildah login` is given.
    pub fn registry_host(&self) -> &str {
        self.registry
            .split_once('/')
            .map_or(self.registry.as_str(), |(host, _)| host)
    }

    /// Where a job writes its run report, relative to the checkout.
    pub fn report_path(&self, node: &str) -> String {
        format!("{REPORTS}/{node}.json")
    }

    /// The command that builds `node` alone: `reagent [-C path] build --only
    /// NODE [flags] [--report FILE]`.
    pub fn command(&self, node: &str, report: bool) -> Vec<String> {
        let mut argv = vec!["reagent".to_string()];
        if self.project_path != "." {
            argv.push("-C".into());
            argv.push(self.project_path.clone());
        }
        argv.push("build".into());
        argv.extend(self.build_flags.iter().cloned());
        if report {
            argv.push("--report".into());
            argv.push(self.report_path(node));
        }
        argv.push("--only".into());
        argv.push(node.to_string());
        argv
    }
}

/// The folder, relative to the checkout, that jobs write their run reports to.
pub const REPORTS: &str = "reagent-reports";

/// One job: a node built alone once the jobs it needs are done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// The node's name.
    pub name: String,
    /// Its key (64 hex).
    pub key: String,
    /// The jobs (node names) it needs: its parents that are jobs too. A parent
    /// that is not a job is up to date, and `--only` pulls it.
    pub deps: Vec<String>,
    /// The command that builds it (argv; `reagent` found on the PATH).
    pub command: Vec<String>,
}

/// Jobs in topological order (parents first), and how they run.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The project's name.
    pub project: String,
    /// How the jobs run.
    pub settings: Settings,
    /// One job per node, parents first.
    pub jobs: Vec<Job>,
}

impl Pipeline {
    /// A job for each node of `nodes` (any order), needing its parents among them.
    pub fn new(project: &str, graph: &Graph, nodes: &[NodeId], settings: Settings) -> Pipeline {
        let chosen: HashSet<NodeId> = nodes.iter().copied().collect();
        let jobs = graph
            .topological()
            .iter()
            .copied()
            .filter(|id| chosen.contains(id))
            .map(|id| {
                let node = graph.node(id);
                Job {
                    name: node.name.clone(),
                    key: node.key.hex(),
                    deps: graph
                        .parents(id)
                        .into_iter()
                        .filter(|p| chosen.contains(p))
                        .map(|p| graph.node(p).name.clone())
                        .collect(),
                    command: settings.command(&node.name, true),
                }
            })
            .collect();
        Pipeline {
            project: project.to_string(),
            settings,
            jobs,
        }
    }

    /// Each job's layer: 0 for a job that needs none, else one more than the
    /// deepest job it needs.
    pub fn layers(&self) -> Vec<usize> {
        let mut depth: HashMap<&str, usize> = HashMap::new();
        self.jobs
            .iter()
            .map(|job| {
                let d = job
                    .deps
                    .iter()
                    .filter_map(|p| depth.get(p.as_str()))
                    .map(|d| d + 1)
                    .max()
                    .unwrap_or(0);
                depth.insert(job.name.as_str(), d);
                d
            })
            .collect()
    }
}

/// Names made valid for an engine by `fix`, kept distinct: a name that
/// collides with an earlier one gets `-2`, `-3`... (or `_2` where `-` is not
/// allowed: `sep`).
pub fn unique_ids(names: &[String], fix: impl Fn(&str) -> String, sep: char) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    names
        .iter()
        .map(|name| {
            let base = fix(name);
            let mut id = base.clone();
            let mut n = 2;
            while !used.insert(id.clone()) {
                id = format!("{base}{sep}{n}");
                n += 1;
            }
            id
        })
        .collect()
}

/// A word for a POSIX shell: as it is when it has only safe characters, else
/// in single quotes.
pub fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// An argv as one shell command line.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The shell line that logs buildah (and so skopeo) in to the registry, reading
/// the user and password from the environment variables `user_var` and
/// `password_var` (the password through stdin, never on a command line).
pub fn login_line(settings: &Settings, user_var: &str, password_var: &str) -> String {
    let tls = if settings.tls_verify {
        String::new()
    } else {
        " --tls-verify=false".into()
    };
    format!(
        "printf '%s' \"${password_var}\" | buildah login --username \"${user_var}\" --password-stdin{tls} {}",
        shell_word(settings.registry_host())
    )
}

/// Where jobs keep the registry login: buildah and skopeo read
/// `$REGISTRY_AUTH_FILE`. A file of the job's container, removed when the job ends.
pub const AUTH_FILE: &str = "/tmp/reagent-auth.json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("examples/busybox"), "examples/busybox");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
    }

    #[test]
    fn ids_stay_distinct() {
        let names: Vec<String> = ["a.b", "a_b", "a-b"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        let ids = unique_ids(&names, |n| n.replace(['.', '_'], "-"), '-');
        assert_eq!(ids, ["a-b", "a-b-2", "a-b-3"]);
    }

    #[test]
    fn the_command_builds_one_node_with_its_report() {
        let mut s = Settings::new("registry.example.com/acme");
        assert_eq!(
            s.command("app", true),
            [
                "reagent",
                "build",
                "--report",
                "reagent-reports/app.json",
                "--only",
                "app"
            ]
        );
        s.project_path = "examples/busybox".into();
        s.build_flags = vec!["-t".into()];
        assert_eq!(
            s.command("app", false),
            [
                "reagent",
                "-C",
                "examples/busybox",
                "build",
                "-t",
                "--only",
                "app"
            ]
        );
        assert_eq!(s.registry_host(), "registry.example.com");
        s.tls_verify = false;
        assert_eq!(
            login_line(&s, "U", "P"),
            "printf '%s' \"$P\" | buildah login --username \"$U\" --password-stdin --tls-verify=false registry.example.com"
        );
    }
}
