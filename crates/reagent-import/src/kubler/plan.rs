//! Kubler's rules applied to a namespace: which nodes each image and builder
//! becomes, what each is built `FROM`, its Containerfile, build args, tags and
//! format, and everything the report says.
//!
//! The rules are Kubler's own (`lib/core.sh`, `engine/docker.sh`):
//!
//! - an image's parent is `IMAGE_PARENT`, `scratch` when unset;
//! - its *base builder* is its `BUILDER`, else its parent's base builder,
//!   else (`scratch` parent) `DEFAULT_BUILDER` (`get_image_builder_id`);
//! - its *build container* is its `BUILDER` when set; else, with a parent, the
//!   builder state Kubler committed after building the parent,
//!   `<parent ns>/<base builder>-<parent>`, when that exists; else the base
//!   builder (`get_build_container`);
//! - the builder state after its own build is committed as
//!   `<basename of BUILDER>-<image>`, or, without `BUILDER`, as the build
//!   container's basename with `-<parent>` cut off its end, then `-<image>`
//!   (`build_image`);
//! - a builder with `STAGE3_BASE` runs in `<builder>-core` (a stage3 with
//!   Kubler's scripts), one with only `BUILDER` in that builder.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::error::{ImportError, Problem};
use super::knobs;
use super::namespace::{Core, Namespace, Unit};
use super::report::{Finding, NodeSummary, Report, Role};
use super::template::{self, Mapped, Rewrite, Substitution};

/// The name of the snapshot node when `--portage` gives a tree.
pub const SNAPSHOT: &str = "portage";
/// Kubler's portage image (`kubler-gentoo/portage`), mounted when no tree is given.
pub const KUBLER_PORTAGE: &str = "docker.io/kubler-gentoo/portage:latest";
/// The builder used when `DEFAULT_BUILDER` is set nowhere: Kubler's own default.
const KUBLER_DEFAULT_BUILDER: &str = "kubler/bob";

/// Choices the command line makes.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// A portage tree for the project's snapshot node (absolute).
    pub portage: Option<PathBuf>,
}

/// An image reference, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    /// A node of the project.
    Node(String),
    /// An image from outside, fully qualified as docker would pull it.
    External(String),
    /// No base.
    Scratch,
}

impl Ref {
    /// How a Containerfile names it.
    pub fn written(&self) -> String {
        match self {
            Ref::Node(n) => format!("localhost/{n}"),
            Ref::External(r) => r.clone(),
            Ref::Scratch => "scratch".to_string(),
        }
    }

    /// How the report names it.
    fn shown(&self) -> String {
        match self {
            Ref::Node(n) => n.clone(),
            other => other.written(),
        }
    }
}

/// One node of the project to write.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its name.
    pub name: String,
    /// What it is.
    pub role: Role,
    /// The Kubler image id it stands for.
    pub kubler_id: String,
    /// Its build context, relative to the output folder.
    pub context: PathBuf,
    /// Its Containerfile.
    pub containerfile: String,
    /// Build args (`[image.<name>] args`).
    pub args: BTreeMap<String, String>,
    /// Extra tags.
    pub tags: Vec<String>,
    /// Why Docker's format, when it needs it.
    pub docker: Option<String>,
    /// What it is built FROM.
    pub from: Ref,
    /// Every node its Containerfile names.
    pub refs: BTreeSet<String>,
}

/// The project to write.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Every node, in `graph.toml` order.
    pub nodes: Vec<Node>,
    /// The snapshot tree, when `--portage` gave one.
    pub snapshot: Option<PathBuf>,
    /// The report.
    pub report: Report,
}

/// A Kubler id's namespace, name and tag: `acme/nginx:1` → `("acme", "nginx")`.
fn split_id(id: &str) -> Option<(&str, &str)> {
    if id.contains('@') {
        return None;
    }
    let (ns, rest) = id.split_once('/')?;
    if rest.contains('/') {
        return None;
    }
    Some((ns, rest.split_once(':').map_or(rest, |(name, _)| name)))
}

/// bash's `${id##*/}`.
fn basename(id: &str) -> &str {
    id.rsplit_once('/').map_or(id, |(_, b)| b)
}

/// bash's `${id%%/*}`.
fn first_part(id: &str) -> &str {
    id.split_once('/').map_or(id, |(a, _)| a)
}

/// A reference as docker resolves it: `busybox` → `docker.io/library/busybox`,
/// `kubler/bob` → `docker.io/kubler/bob`; one with a registry is kept.
pub fn qualify(reference: &str) -> String {
    let first = reference.split('/').next().unwrap_or_default();
    let has_registry = reference.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry || reference.contains('$') {
        reference.to_string()
    } else if reference.contains('/') {
        format!("docker.io/{reference}")
    } else {
        format!("docker.io/library/{reference}")
    }
}

/// Whether `name` can be a reagent node and image folder name.
fn valid_node_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(format!(
            "`{name}` cannot be a reagent node name (lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit)"
        ));
    }
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && name.len() > digits + 1 && name.as_bytes()[digits] == b'-' {
        return Err(format!(
            "`{name}` cannot be a reagent image folder: a leading `NN-` is an order prefix there"
        ));
    }
    Ok(())
}

/// The builder chain of one image, as Kubler computes it.
#[derive(Debug, Clone)]
struct Chain {
    /// The Kubler id of the image's build container.
    container: String,
    /// The name Kubler commits the builder state under (the step node).
    commit: String,
}

/// The planner's state: what it has worked out so far, what it has noted, and
/// the problems found. Each phase of [`plan`] is one method.
struct Planner<'n> {
    ns: &'n Namespace,
    problems: Vec<Problem>,
    notes: Vec<Finding>,
    /// `DEFAULT_BUILDER` fell back to Kubler's default (noted once).
    default_noted: bool,
    images: BTreeMap<&'n str, &'n Unit>,
    builders: BTreeMap<&'n str, &'n Unit>,
    /// Each image's `IMAGE_PARENT` (a Kubler id, or `scratch`).
    parent: BTreeMap<&'n str, String>,
    /// Each image's parent when it is an image of the namespace.
    local_parent: BTreeMap<&'n str, &'n str>,
    chains: BTreeMap<&'n str, Chain>,
    /// Each builder's build container (a Kubler id).
    builder_from: BTreeMap<&'n str, String>,
    /// The stage3 reference of each builder that starts from one.
    cores: BTreeMap<&'n str, String>,
    /// Every node name, with what defines it.
    table: BTreeMap<String, String>,
    /// The image builds mount the portage tree from.
    portage: Ref,
    nodes: Vec<Node>,
    /// Each node's own reason for Docker's format, and whether it passes it on.
    own_formats: BTreeMap<String, Option<(String, bool)>>,
}

/// Apply Kubler's rules to `ns`.
pub fn plan(ns: &Namespace, choices: &Choices) -> Result<Plan, ImportError> {
    let mut p = Planner {
        ns,
        problems: Vec::new(),
        notes: Vec::new(),
        default_noted: false,
        images: ns.images().map(|u| (u.name.as_str(), u)).collect(),
        builders: ns.builders().map(|u| (u.name.as_str(), u)).collect(),
        parent: BTreeMap::new(),
        local_parent: BTreeMap::new(),
        chains: BTreeMap::new(),
        builder_from: BTreeMap::new(),
        cores: BTreeMap::new(),
        table: BTreeMap::new(),
        portage: Ref::Scratch,
        nodes: Vec::new(),
        own_formats: BTreeMap::new(),
    };
    let order = p.parents();
    p.fail_if_problems()?;
    p.chain_images(&order);
    p.builder_sources();
    p.claim_names(choices.portage.is_some());
    p.fail_if_problems()?;
    p.portage = if choices.portage.is_some() {
        Ref::Node(SNAPSHOT.to_string())
    } else {
        p.note(
            PathBuf::from(super::namespace::KUBLER_CONF),
            None,
            "portage",
            format!("builds mount the portage tree of Kubler's image `{KUBLER_PORTAGE}`; pass --portage TREE to make the project's own snapshot node instead"),
        );
        Ref::External(KUBLER_PORTAGE.to_string())
    };
    p.image_nodes();
    p.builder_nodes();
    p.fail_if_problems()?;
    if let Err(cycle) = no_cycle(&p.nodes) {
        return Err(ImportError::Invalid(vec![Problem::in_file(
            PathBuf::from(super::namespace::KUBLER_CONF),
            format!(
                "the namespace's images and builders make a cycle: {}",
                cycle.join(" -> ")
            ),
        )]));
    }
    set_formats(&mut p.nodes, &p.own_formats);
    let report = p.report();
    Ok(Plan {
        nodes: p.nodes,
        snapshot: choices.portage.clone(),
        report,
    })
}

impl<'n> Planner<'n> {
    /// Stop with every problem found so far, if there is one.
    fn fail_if_problems(&mut self) -> Result<(), ImportError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(invalid(self.ns, std::mem::take(&mut self.problems)))
        }
    }

    /// Each image's parent, and the images in an order where an image of the
    /// namespace comes before the images built on it. A cycle is a problem.
    fn parents(&mut self) -> Vec<&'n str> {
        let images = self.images.clone();
        for (&name, unit) in &images {
            let value = self
                .knob(unit, "IMAGE_PARENT")
                .unwrap_or_else(|| "scratch".to_string());
            if let Some((pns, pname)) = split_id(&value) {
                if let Some((&key, _)) = images.get_key_value(pname).filter(|_| pns == self.ns.name)
                {
                    self.local_parent.insert(name, key);
                }
            }
            self.parent.insert(name, value);
        }
        let local = self.local_parent.clone();
        match parents_first(&images, &|name| local.get(name).copied()) {
            Ok(order) => order,
            Err(cycle) => {
                for name in &cycle {
                    let (file, line) = Planner::at(images[name.as_str()], "IMAGE_PARENT");
                    self.problems.push(Problem {
                        file,
                        line,
                        text: None,
                        message: format!("IMAGE_PARENT makes a cycle: {}", cycle.join(" -> ")),
                    });
                }
                Vec::new()
            }
        }
    }

    /// Each image's build container and commit name, parents first (Kubler's
    /// `get_image_builder_id`, `get_build_container` and `build_image`).
    fn chain_images(&mut self, order: &[&'n str]) {
        let mut base: BTreeMap<&str, String> = BTreeMap::new();
        for &name in order {
            let unit = self.images[name];
            let builder = self.knob(unit, "BUILDER");
            let parent_id = self.parent[name].clone();
            let local_parent = self.local_parent.get(name).copied();
            let base_builder = match (&builder, local_parent) {
                (Some(b), _) => b.clone(),
                (None, Some(pn)) => base[pn].clone(),
                (None, None) => {
                    if parent_id != "scratch" {
                        let (file, line) = Planner::at(unit, "IMAGE_PARENT");
                        self.note(file, line, "IMAGE_PARENT", format!("`{parent_id}` is not an image of this namespace: Kubler would follow its build.conf to pick the builder; the import uses DEFAULT_BUILDER"));
                    }
                    self.default_builder(unit)
                }
            };
            let container = match &builder {
                Some(b) => b.clone(),
                None if parent_id == "scratch" => base_builder.clone(),
                None => {
                    let candidate_name =
                        format!("{}-{}", basename(&base_builder), basename(&parent_id));
                    let committed = local_parent
                        .and_then(|pn| self.chains.get(pn))
                        .is_some_and(|c| c.commit == candidate_name);
                    let candidate = format!("{}/{candidate_name}", first_part(&parent_id));
                    if committed {
                        candidate
                    } else {
                        if local_parent.is_none() {
                            let (file, line) = Planner::at(unit, "IMAGE_PARENT");
                            self.note(file, line, "IMAGE_PARENT", format!("Kubler builds in `{candidate}` when that image exists locally; the import builds in the base builder `{base_builder}`"));
                        }
                        base_builder.clone()
                    }
                }
            };
            let commit = if let Some(b) = &builder {
                format!("{}-{name}", basename(b))
            } else {
                let suffix = format!("-{}", basename(&parent_id));
                let stem = basename(&container);
                format!("{}-{name}", stem.strip_suffix(&suffix).unwrap_or(stem))
            };
            base.insert(name, base_builder);
            self.chains.insert(name, Chain { container, commit });
        }
    }

    /// Each builder's build container: its core (a stage3) or its `BUILDER`.
    fn builder_sources(&mut self) {
        let builders = self.builders.clone();
        for (&name, unit) in &builders {
            let stage3 = self.knob(unit, "STAGE3_BASE");
            let builder = self.knob(unit, "BUILDER");
            match (stage3, builder) {
                (Some(base_name), _) => {
                    let date = self.knob(unit, "STAGE3_DATE");
                    if date.is_none() {
                        self.note(unit.file(super::namespace::BUILD_CONF), None, "STAGE3_DATE", "not set: Kubler would fetch the newest stage3; the import uses the `latest` tag of Kubler's stage3 image".to_string());
                    }
                    let stage3_ref = format!(
                        "kubler-gentoo/{}:{}",
                        base_name.replace('+', "-"),
                        date.as_deref().unwrap_or("latest")
                    );
                    self.builder_from
                        .insert(name, format!("{}/{name}-core", self.ns.name));
                    self.cores.insert(name, stage3_ref);
                }
                (None, Some(b)) => {
                    self.builder_from.insert(name, b);
                }
                (None, None) => self.problems.push(Problem::in_file(
                    unit.file(super::namespace::BUILD_CONF),
                    "a builder needs STAGE3_BASE (bootstrap from a stage3) or BUILDER (extend another builder); Kubler would fail to find its core image",
                )),
            }
        }
    }

    /// Every node name, each valid and used once.
    fn claim_names(&mut self, snapshot: bool) {
        let ns = &self.ns.name;
        let mut claims: Vec<(String, String, PathBuf)> = Vec::new();
        for (&name, unit) in &self.images {
            claims.push((
                name.to_string(),
                format!("image {ns}/{name}"),
                unit.rel.clone(),
            ));
        }
        for (&name, unit) in &self.builders {
            claims.push((
                name.to_string(),
                format!("builder {ns}/{name}"),
                unit.rel.clone(),
            ));
        }
        for (&name, chain) in &self.chains {
            claims.push((
                chain.commit.clone(),
                format!("the builder step of image {ns}/{name}"),
                self.images[name].rel.clone(),
            ));
        }
        if self.ns.core.is_some() {
            for &name in self.cores.keys() {
                claims.push((
                    format!("{name}-core"),
                    format!("the core of builder {ns}/{name}"),
                    self.builders[name].rel.clone(),
                ));
            }
        }
        if snapshot {
            claims.push((
                SNAPSHOT.to_string(),
                "the portage snapshot".to_string(),
                PathBuf::from(super::namespace::KUBLER_CONF),
            ));
        }
        for (name, what, file) in claims {
            if let Err(message) = valid_node_name(&name) {
                self.problems.push(Problem::in_file(file, message));
            } else if let Some(other) = self.table.get(&name) {
                self.problems.push(Problem::in_file(
                    file,
                    format!("node `{name}` would be both {other} and {what}; Kubler itself would overwrite one image with the other"),
                ));
            } else {
                self.table.insert(name, what);
            }
        }
    }

    /// A Kubler id (or any image reference) as the project names it.
    fn resolve(&self, id: &str) -> Ref {
        if id == "scratch" {
            return Ref::Scratch;
        }
        match split_id(id) {
            Some((rns, name)) if rns == self.ns.name && self.table.contains_key(name) => {
                Ref::Node(name.to_string())
            }
            _ => Ref::External(qualify(id)),
        }
    }

    /// `text` (a template after substitution) with its references rewritten,
    /// and the nodes it names.
    fn translate(
        &self,
        text: &str,
        rootfs_from: Option<&str>,
    ) -> (template::Translated, BTreeSet<String>) {
        let refs = RefCell::new(BTreeSet::new());
        let map = |r: &str| mapped(&self.resolve(r), &refs);
        let t = template::translate(
            text,
            &Rewrite {
                map: &map,
                rootfs_from,
            },
        );
        (t, refs.into_inner())
    }

    /// The image node and the builder step node of every image.
    fn image_nodes(&mut self) {
        let images = self.images.clone();
        for (&name, unit) in &images {
            let chain = self.chains[name].clone();
            let sub = self.substitution(unit);
            let step_ref = format!("localhost/{}", chain.commit);
            let (t, mut refs) = self.translate(&sub.apply(&unit.template), Some(&step_ref));
            let template_file = unit.file(super::namespace::TEMPLATE);
            self.template_notes(&template_file, &t);
            if t.adds_rootfs {
                refs.insert(chain.commit.clone());
            } else {
                self.note(template_file.clone(), None, "rootfs.tar", format!("the template does not `ADD rootfs.tar`: builder step `{}` still runs (images built on it start from its state) but this image copies nothing from it", chain.commit));
            }
            self.own_formats
                .insert(name.to_string(), docker_own(&t.docker_only, &template_file));
            let header = format!(
                "# Kubler image {ns}/{name}, from {tf}, written by\n# `reagent import kubler` (IMPORT-REPORT.md says what became of each setting).\n# Kubler's ${{...}} variables are filled in as Kubler fills them, and\n# `ADD rootfs.tar` copies the root filesystem builder step {step} made.\n# IMAGE_PARENT: {parent}.\n",
                ns = self.ns.name,
                tf = template_file.display(),
                step = chain.commit,
                parent = self.parent[name],
            );
            let node = Node {
                name: name.to_string(),
                role: Role::Image,
                kubler_id: format!("{}/{name}", self.ns.name),
                context: Path::new("kubler").join(&unit.rel),
                containerfile: header + &t.text,
                args: BTreeMap::new(),
                tags: self.tags(unit),
                docker: None,
                from: self.resolve(&self.parent[name]),
                refs,
            };
            self.nodes.push(node);

            let container = self.resolve(&chain.container);
            if let Ref::External(r) = &container {
                let (file, line) = Planner::at(unit, "BUILDER");
                self.note(file, line, "BUILDER", format!("the build container `{r}` is not a builder of this namespace: an external image, which must exist where reagent builds"));
            }
            let node = Node {
                name: chain.commit.clone(),
                role: Role::BuilderStep,
                kubler_id: format!("{}/{}", self.ns.name, chain.commit),
                context: Path::new("kubler").join(&unit.rel),
                containerfile: step_containerfile(
                    self.ns,
                    unit,
                    &container,
                    &self.portage,
                    true,
                    &chain.commit,
                ),
                args: self.build_args(unit),
                tags: self.tags(unit),
                docker: None,
                refs: node_refs(&[&container, &self.portage]),
                from: container,
            };
            self.nodes.push(node);
        }
    }

    /// The node of every builder, and with `--kubler` the core of each that
    /// starts from a stage3.
    fn builder_nodes(&mut self) {
        let builders = self.builders.clone();
        for (&name, unit) in &builders {
            let Some(from_id) = self.builder_from.get(name).cloned() else {
                continue;
            };
            let container = match (self.cores.get(name), self.ns.core.is_some()) {
                (Some(_), true) => Ref::Node(format!("{name}-core")),
                (Some(_), false) => {
                    let r = Ref::External(qualify(&from_id));
                    self.note(unit.file(super::namespace::BUILD_CONF), None, "STAGE3_BASE", format!("the builder runs in Kubler's core image `{}`, built by Kubler from its own files; pass --kubler KUBLER_DIR to build it as node `{name}-core` instead", r.written()));
                    r
                }
                (None, _) => {
                    let r = self.resolve(&from_id);
                    if let Ref::External(e) = &r {
                        let (file, line) = Planner::at(unit, "BUILDER");
                        self.note(file, line, "BUILDER", format!("`{e}` is not a builder of this namespace: an external image, which must exist where reagent builds"));
                    }
                    r
                }
            };
            self.builder_node(name, unit, container);
            if let (Some(stage3), Some(core)) = (self.cores.get(name).cloned(), &self.ns.core) {
                self.core_node(name, unit, &stage3, core);
            }
        }
    }

    /// Builder `name`: its run in `container`, then the rest of its template.
    fn builder_node(&mut self, name: &str, unit: &Unit, container: Ref) {
        let sub = self.substitution(unit);
        let template_file = unit.file(super::namespace::TEMPLATE);
        let (t, mut refs) = self.translate(&sub.apply(&unit.template), None);
        let Some(first_from) = template::instructions(&t.text)
            .into_iter()
            .find(|i| i.keyword == "FROM")
        else {
            self.problems.push(Problem::in_file(
                template_file,
                "the builder's template has no FROM",
            ));
            return;
        };
        let first_image = template::words(&t.text, first_from.span.clone())
            .into_iter()
            .skip(1)
            .find(|(_, w)| !w.starts_with("--"))
            .map(|(_, w)| w.to_string())
            .unwrap_or_default();
        if first_image != format!("localhost/{name}") {
            self.note(template_file.clone(), Some(first_from.line), "FROM", format!("the template starts FROM `{first_image}`, not the builder itself ({}/{name}): like Kubler's commit, the builder's own run replaces that FROM", self.ns.name));
        }
        // The template's first FROM stood for Kubler's committed run of this builder.
        refs.remove(name);
        refs.extend(node_refs(&[&container, &self.portage]));
        self.template_notes(&template_file, &t);
        self.own_formats
            .insert(name.to_string(), docker_own(&t.docker_only, &template_file));
        let block = step_containerfile(self.ns, unit, &container, &self.portage, false, name);
        let text = template::apply_edits(
            &t.text,
            vec![template::Edit {
                range: first_from.span.clone(),
                with: block.trim_end().to_string(),
            }],
        );
        let node = Node {
            name: name.to_string(),
            role: Role::Builder,
            kubler_id: format!("{}/{name}", self.ns.name),
            context: Path::new("kubler").join(&unit.rel),
            containerfile: text,
            args: self.build_args(unit),
            tags: self.tags(unit),
            docker: None,
            from: container,
            refs,
        };
        self.nodes.push(node);
    }

    /// Builder `name`'s core: Kubler's `bob-core` template on its stage3.
    fn core_node(&mut self, name: &str, unit: &Unit, stage3: &str, core: &Core) {
        let mut sub = self.substitution(unit);
        sub.bob
            .push(("BOB_CURRENT_STAGE3_ID".to_string(), stage3.to_string()));
        sub.bob.sort();
        let (t, refs) = self.translate(&sub.apply(&core.template), None);
        let core_name = format!("{name}-core");
        self.own_formats.insert(
            core_name.clone(),
            docker_own(&t.docker_only, &core.dir.join(super::namespace::TEMPLATE)),
        );
        let stage3_ref = self.resolve(stage3);
        self.note(unit.file(super::namespace::BUILD_CONF), None, "STAGE3_BASE", format!("node `{core_name}` starts FROM `{}`: the stage3 Kubler imports from its download, which reagent does not make; import the tarball under that name once, or change the FROM to a [stage.<name>] seed", stage3_ref.written()));
        let header = format!(
            "# Core of Kubler builder {ns}/{name}, written by `reagent import kubler`:\n# Kubler's engine/docker/bob-core on the stage3 {stage3}.\n",
            ns = self.ns.name,
        );
        let node = Node {
            name: core_name,
            role: Role::Core,
            kubler_id: format!("{}/{name}-core", self.ns.name),
            context: PathBuf::from("kubler/bob-core"),
            containerfile: header + &t.text,
            args: BTreeMap::new(),
            tags: self.tags(unit),
            docker: None,
            from: stage3_ref,
            refs,
        };
        self.nodes.push(node);
    }

    /// The report: the nodes, every knob without a counterpart, every
    /// `build-test.sh`, and the notes.
    fn report(&mut self) -> Report {
        let mut unmapped = knobs::findings(self.ns);
        for unit in &self.ns.units {
            if unit.has("build-test.sh") {
                unmapped.push(Finding {
                    file: unit.file("build-test.sh"),
                    line: None,
                    subject: "build-test.sh".to_string(),
                    value: None,
                    reason: "Kubler runs it in the built image with the image folder at /kubler-test; reagent's tests are commands run in a fresh container with no mounts: write them in `[image.<name>] test` or an `org.reagent.test` label".to_string(),
                });
            }
            if unit.has(".dockerignore") {
                self.notes.push(Finding {
                    file: unit.file(".dockerignore"),
                    line: None,
                    subject: ".dockerignore".to_string(),
                    value: None,
                    reason: "reagent applies it to the builder step's /config as well, which Kubler mounts whole".to_string(),
                });
            }
        }
        Report {
            namespace: self.ns.name.clone(),
            images: self.images.len(),
            builders: self.builders.len(),
            confs: self.ns.confs.iter().map(|c| c.path.clone()).collect(),
            nodes: self
                .nodes
                .iter()
                .map(|n| NodeSummary {
                    name: n.name.clone(),
                    role: n.role,
                    from: n.from.shown(),
                    kubler_id: n.kubler_id.clone(),
                    docker_format: n.docker.clone(),
                })
                .collect(),
            unmapped,
            notes: std::mem::take(&mut self.notes),
        }
    }

    /// A knob's value when set and not empty; a value made from an unread line
    /// is a problem (the graph would be a guess).
    fn knob(&mut self, unit: &Unit, name: &str) -> Option<String> {
        if let Some(taint) = unit.env.taint(name) {
            let at = unit
                .env
                .origin(name)
                .cloned()
                .unwrap_or_else(|| taint.clone());
            self.problems.push(Problem {
                file: at.file,
                line: Some(at.line),
                text: None,
                message: format!(
                    "`{name}` gets its value from {}:{}, a line the importer does not read: write the value out",
                    taint.file.display(),
                    taint.line
                ),
            });
            return None;
        }
        unit.env.non_empty(name).map(str::to_string)
    }

    /// Where `name` is set for `unit`, for messages.
    fn at(unit: &Unit, name: &str) -> (PathBuf, Option<usize>) {
        match unit.env.origin(name) {
            Some(o) => (o.file.clone(), Some(o.line)),
            None => (unit.file(super::namespace::BUILD_CONF), None),
        }
    }

    fn note(&mut self, file: PathBuf, line: Option<usize>, subject: &str, reason: String) {
        self.notes.push(Finding {
            file,
            line,
            subject: subject.to_string(),
            value: None,
            reason,
        });
    }

    /// `DEFAULT_BUILDER` as `unit`'s build sees it.
    fn default_builder(&mut self, unit: &Unit) -> String {
        if let Some(b) = self.knob(unit, "DEFAULT_BUILDER") {
            return b;
        }
        if !self.default_noted {
            self.default_noted = true;
            self.note(
                PathBuf::from(super::namespace::KUBLER_CONF),
                None,
                "DEFAULT_BUILDER",
                format!("set nowhere the importer reads: Kubler's own default `{KUBLER_DEFAULT_BUILDER}` is used (pass --kubler to read Kubler's kubler.conf)"),
            );
        }
        KUBLER_DEFAULT_BUILDER.to_string()
    }
}

/// The nodes among `refs`.
fn node_refs(refs: &[&Ref]) -> BTreeSet<String> {
    refs.iter()
        .filter_map(|r| match r {
            Ref::Node(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// Every problem once, in the order found, each with its line's text when
/// the line is in a file the namespace read.
fn invalid(ns: &Namespace, problems: Vec<Problem>) -> ImportError {
    let mut unique: Vec<Problem> = Vec::new();
    for mut problem in problems {
        if let (Some(line), None) = (problem.line, &problem.text) {
            let source = ns
                .confs
                .iter()
                .map(|c| (&c.path, &c.text))
                .chain(ns.units.iter().map(|u| (&u.conf.path, &u.conf.text)))
                .find(|(path, _)| **path == problem.file)
                .map(|(_, text)| text.as_str())
                .or_else(|| {
                    ns.units
                        .iter()
                        .find(|u| u.file(super::namespace::TEMPLATE) == problem.file)
                        .map(|u| u.template.as_str())
                });
            problem.text = source
                .and_then(|t| t.lines().nth(line - 1))
                .map(|l| l.trim_end().to_string());
        }
        if !unique.contains(&problem) {
            unique.push(problem);
        }
    }
    ImportError::Invalid(unique)
}

/// The [`Mapped`] text for a reference resolved to `resolved`; node
/// references are collected in `refs`.
fn mapped(resolved: &Ref, refs: &RefCell<BTreeSet<String>>) -> Mapped {
    if let Ref::Node(n) = resolved {
        refs.borrow_mut().insert(n.clone());
    }
    Mapped {
        text: resolved.written(),
        external: matches!(resolved, Ref::External(_)),
    }
}

/// The images in an order where each in-namespace parent comes before its
/// children; `Err` names a cycle.
fn parents_first<'n>(
    images: &BTreeMap<&'n str, &Unit>,
    parent: &dyn Fn(&str) -> Option<&'n str>,
) -> Result<Vec<&'n str>, Vec<String>> {
    let mut order = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for &start in images.keys() {
        let mut path: Vec<&str> = Vec::new();
        let mut at = Some(start);
        while let Some(name) = at {
            if done.contains(name) {
                break;
            }
            if let Some(i) = path.iter().position(|n| *n == name) {
                let mut cycle: Vec<String> = path[i..].iter().map(ToString::to_string).collect();
                cycle.push(name.to_string());
                return Err(cycle);
            }
            path.push(name);
            at = parent(name);
        }
        for name in path.into_iter().rev() {
            done.insert(name);
            order.push(name);
        }
    }
    Ok(order)
}

/// `Err` names a cycle among the nodes' references.
fn no_cycle(nodes: &[Node]) -> Result<(), Vec<String>> {
    let refs: BTreeMap<&str, &BTreeSet<String>> =
        nodes.iter().map(|n| (n.name.as_str(), &n.refs)).collect();
    let mut state: BTreeMap<&str, bool> = BTreeMap::new(); // false: on the path, true: done
    for &name in refs.keys() {
        visit(name, &refs, &mut state, &mut Vec::new())?;
    }
    Ok(())
}

/// Depth-first search from `name` for [`no_cycle`].
fn visit<'a>(
    name: &'a str,
    refs: &BTreeMap<&'a str, &'a BTreeSet<String>>,
    state: &mut BTreeMap<&'a str, bool>,
    path: &mut Vec<&'a str>,
) -> Result<(), Vec<String>> {
    match state.get(name) {
        Some(true) => return Ok(()),
        Some(false) => {
            let i = path.iter().position(|n| *n == name).unwrap_or(0);
            let mut cycle: Vec<String> = path[i..].iter().map(ToString::to_string).collect();
            cycle.push(name.to_string());
            return Err(cycle);
        }
        None => {}
    }
    state.insert(name, false);
    path.push(name);
    if let Some(next) = refs.get(name) {
        for n in *next {
            if let Some((&key, _)) = refs.get_key_value(n.as_str()) {
                visit(key, refs, state, path)?;
            }
        }
    }
    path.pop();
    state.insert(name, true);
    Ok(())
}

/// A template's own reason for Docker's format, and whether children inherit it
/// (a `HEALTHCHECK` or `SHELL` is part of the image's config; `ONBUILD` is used
/// up by the next build).
fn docker_own(found: &[(String, usize)], file: &Path) -> Option<(String, bool)> {
    let inherited = found.iter().find(|(kw, _)| kw != "ONBUILD");
    let (kw, line) = inherited.or_else(|| found.first())?;
    Some((
        format!("{kw} at {}:{line}", file.display()),
        inherited.is_some(),
    ))
}

/// Each node's format: Docker's when its own template needs it, or when the
/// node it is built FROM has a health check or shell to pass on.
fn set_formats(nodes: &mut [Node], own: &BTreeMap<String, Option<(String, bool)>>) {
    let from: BTreeMap<String, Option<String>> = nodes
        .iter()
        .map(|n| {
            let parent = match &n.from {
                Ref::Node(p) => Some(p.clone()),
                _ => None,
            };
            (n.name.clone(), parent)
        })
        .collect();
    let mut memo = BTreeMap::new();
    for node in nodes.iter_mut() {
        node.docker = format_of(&node.name, &from, own, &mut memo).map(|(reason, _)| reason);
    }
}

/// A node's reason for Docker's format and whether it passes it on, following
/// FROM chains (acyclic by now), for [`set_formats`].
fn format_of(
    name: &str,
    from: &BTreeMap<String, Option<String>>,
    own: &BTreeMap<String, Option<(String, bool)>>,
    memo: &mut BTreeMap<String, Option<(String, bool)>>,
) -> Option<(String, bool)> {
    if let Some(done) = memo.get(name) {
        return done.clone();
    }
    let mine = own.get(name).cloned().flatten();
    let result = match mine {
        Some((reason, true)) => Some((reason, true)),
        other => from
            .get(name)
            .cloned()
            .flatten()
            .and_then(|p| {
                let (_, passes) = format_of(&p, from, own, memo)?;
                passes.then(|| (format!("inherits a HEALTHCHECK or SHELL from `{p}`"), true))
            })
            .or(other),
    };
    memo.insert(name.to_string(), result.clone());
    result
}

impl Planner<'_> {
    /// Kubler's template variables for `unit`.
    fn substitution(&mut self, unit: &Unit) -> Substitution {
        let bob: Vec<(String, String)> = unit
            .env
            .vars()
            .filter(|(k, _)| k.starts_with("BOB_"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let maintainer = unit.env.get("AUTHOR").unwrap_or_default().to_string();
        if maintainer.is_empty() && unit.template.contains("${MAINTAINER}") {
            self.note(unit.file(super::namespace::TEMPLATE), None, "MAINTAINER", "AUTHOR is set nowhere the importer reads: `${MAINTAINER}` became empty (Kubler would write its own default author)".to_string());
        }
        let default_builder = if unit.template.contains("${DEFAULT_BUILDER}") {
            self.default_builder(unit)
        } else {
            String::new()
        };
        Substitution {
            bob,
            image_parent: unit
                .env
                .non_empty("IMAGE_PARENT")
                .unwrap_or("scratch")
                .to_string(),
            default_builder,
            namespace: self.ns.name.clone(),
            tag: unit.env.get("IMAGE_TAG").unwrap_or_default().to_string(),
            maintainer,
        }
    }

    /// Notes about what a template translation could not do.
    fn template_notes(&mut self, file: &Path, t: &template::Translated) {
        for line in &t.untranslated_rootfs {
            self.problems.push(Problem {
                file: file.to_path_buf(),
                line: Some(*line),
                text: None,
                message: "this use of rootfs.tar cannot be translated: only `ADD rootfs.tar <dest>` (no --from, one source) is".to_string(),
            });
        }
        for (flags, line) in &t.rootfs_flags {
            self.note(file.to_path_buf(), Some(*line), "ADD rootfs.tar", format!("its flags `{flags}` are kept on the COPY that replaces it, where they apply to every file copied"));
        }
        for (reference, line) in &t.externals {
            self.note(file.to_path_buf(), Some(*line), "FROM", format!("`{reference}` is not an image of this namespace: an external image, pulled as buildah would"));
        }
    }

    /// `[image.<step>] args`: every `BOB_*` variable the unit's build sees, and
    /// `BOB_CURRENT_TARGET`, as Kubler passes them to the build container.
    fn build_args(&mut self, unit: &Unit) -> BTreeMap<String, String> {
        let mut args = BTreeMap::new();
        for name in unit.env.names() {
            if !name.starts_with("BOB_") {
                continue;
            }
            if let Some(taint) = unit.env.taint(name) {
                let (file, line) = Planner::at(unit, name);
                self.note(file, line, name, format!("left out of the build args: its value comes from {}:{}, a line the importer does not read", taint.file.display(), taint.line));
                continue;
            }
            if let Some(value) = unit.env.get(name) {
                args.insert(name.to_string(), value.to_string());
            }
        }
        args.insert(
            "BOB_CURRENT_TARGET".to_string(),
            format!("{}/{}", self.ns.name, unit.name),
        );
        args
    }

    /// `[image.<name>] tags`: the unit's `IMAGE_TAG`, when it is a valid tag.
    fn tags(&mut self, unit: &Unit) -> Vec<String> {
        if unit.env.taint("IMAGE_TAG").is_some() {
            return Vec::new();
        }
        let Some(tag) = unit.env.non_empty("IMAGE_TAG") else {
            return Vec::new();
        };
        let valid = tag.len() <= 128
            && tag
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            vec![tag.to_string()]
        } else {
            let (file, line) = Planner::at(unit, "IMAGE_TAG");
            if !self
                .notes
                .iter()
                .any(|n| n.subject == "IMAGE_TAG" && n.file == file && n.line == line)
            {
                self.note(
                    file,
                    line,
                    "IMAGE_TAG",
                    format!("`{tag}` is not an image tag: no tag is written"),
                );
            }
            Vec::new()
        }
    }
}

/// The Containerfile of a builder step (`extract`: keep the root filesystem for
/// the image) or the run that opens a builder's Containerfile.
fn step_containerfile(
    ns: &Namespace,
    unit: &Unit,
    container: &Ref,
    portage: &Ref,
    extract: bool,
    commit: &str,
) -> String {
    let mut out = String::new();
    if extract {
        let _ = write!(
            out,
            "# Builder step of Kubler image {ns}/{name}, written by `reagent import kubler`:\n# what Kubler commits as {ns}/{commit}. kubler-build-root runs\n# {rel}/build.sh in the build container, with the image folder at /config\n# and the portage tree mounted, and the root filesystem it makes is kept in\n# /kubler/rootfs for image {name}.\n",
            ns = ns.name,
            name = unit.name,
            rel = unit.rel.display(),
        );
    } else {
        let _ = write!(
            out,
            "# Kubler builder {ns}/{name}, written by `reagent import kubler`: kubler-build-root\n# runs {rel}/build.sh in the build container, with the builder folder at\n# /config and the portage tree mounted, as Kubler's run and commit of the\n# builder do; the rest of {rel}/Dockerfile.template follows.\n",
            ns = ns.name,
            name = unit.name,
            rel = unit.rel.display(),
        );
    }
    let _ = writeln!(out, "FROM {}", container.written());
    // One ARG for all of them: each instruction is a build step buildah commits.
    let mut args: BTreeSet<&str> = unit
        .env
        .names()
        .into_iter()
        .filter(|name| {
            name.starts_with("BOB_")
                && unit.env.taint(name).is_none()
                && unit.env.get(name).is_some()
        })
        .collect();
    args.insert("BOB_CURRENT_TARGET");
    out.push_str("ARG ");
    out.push_str(&args.into_iter().collect::<Vec<_>>().join(" \\\n    "));
    out.push('\n');
    // The context is mounted read-only and copied: buildah writes a `rw` bind
    // mount of the context through to the project folder.
    let _ = write!(
        out,
        "RUN --mount=type=bind,target=/kubler/context \\\n    --mount=type=bind,from={},source=/var/db/repos/gentoo,target=/var/db/repos/gentoo \\\n    --mount=type=cache,id=kubler-distfiles,target=/distfiles \\\n    --mount=type=cache,id=kubler-packages,target=/packages \\\n    rm -rf /kubler/rootfs /config && cp -a /kubler/context /config \\\n    && kubler-build-root",
        portage.written()
    );
    if extract {
        out.push_str(" \\\n    && mkdir -p /kubler/rootfs \\\n    && if [ -f /config/rootfs.tar ]; then tar -xpf /config/rootfs.tar -C /kubler/rootfs; fi");
    }
    out.push_str(" \\\n    && rm -rf /config");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_qualified_as_docker_does() {
        assert_eq!(qualify("busybox"), "docker.io/library/busybox");
        assert_eq!(qualify("kubler/bob:1"), "docker.io/kubler/bob:1");
        assert_eq!(qualify("quay.io/a/b"), "quay.io/a/b");
        assert_eq!(qualify("localhost/x"), "localhost/x");
        assert_eq!(qualify("reg:5000/x"), "reg:5000/x");
        assert_eq!(qualify("${X}"), "${X}");
    }

    #[test]
    fn kubler_ids_split_into_namespace_and_name() {
        assert_eq!(split_id("acme/nginx"), Some(("acme", "nginx")));
        assert_eq!(split_id("acme/nginx:1.2"), Some(("acme", "nginx")));
        assert_eq!(split_id("scratch"), None);
        assert_eq!(split_id("a/b/c"), None);
        assert_eq!(split_id("acme/x@sha256:00"), None);
        assert_eq!(basename("acme/bob-musl"), "bob-musl");
        assert_eq!(first_part("acme/bob-musl"), "acme");
    }

    #[test]
    fn node_names_follow_reagent_s_rules() {
        assert!(valid_node_name("bob-musl-busybox").is_ok());
        assert!(valid_node_name("a.b_c").is_ok());
        assert!(valid_node_name("2fa").is_ok());
        assert!(valid_node_name("Nginx").is_err());
        assert!(valid_node_name("-x").is_err());
        assert!(valid_node_name("01-base")
            .unwrap_err()
            .contains("order prefix"));
    }
}
