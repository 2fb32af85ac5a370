//! `graph.toml`: the project's settings, parsed strictly.
//!
//! Unknown keys are errors naming the key and its line; relative paths are
//! relative to the project folder and resolved by the loader, not here.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::ProjectError;
use crate::model::ImageFormat;

/// The name of the settings file at a project's root.
pub const CONFIG_FILE: &str = "graph.toml";

/// Everything `graph.toml` can say. Every section is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[project]`: name, registry, default parallelism.
    #[serde(default)]
    pub project: ProjectSection,
    /// `[registry]`: how to talk to the registry.
    #[serde(default)]
    pub registry: RegistrySection,
    /// `[snapshot]`: the portage ebuild tree.
    #[serde(default)]
    pub snapshot: SnapshotSection,
    /// `[portage]`: portage configuration and global USE flags.
    #[serde(default)]
    pub portage: PortageSection,
    /// `[buildah]`: how the executor runs buildah.
    #[serde(default)]
    pub buildah: BuildahSection,
    /// `[audit]`: where advisories come from.
    #[serde(default)]
    pub audit: AuditSection,
    /// `[image.<name>]`: per-image settings.
    #[serde(default)]
    pub image: BTreeMap<Spanned<String>, ImageSection>,
    /// `[stages]`: settings shared by all catalyst specs.
    #[serde(default)]
    pub stages: StagesSection,
    /// `[stage.<name>]`: stages given as a seed tarball instead of a spec.
    #[serde(default)]
    pub stage: BTreeMap<Spanned<String>, StageSection>,
    /// `[binhost]`: a binary package cache shared by every build (present: on).
    pub binhost: Option<BinhostSection>,
}

/// `[binhost]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinhostSection {
    /// Where the cache is mounted in every `RUN` step (portage's `PKGDIR`,
    /// `/var/cache/binpkgs` when not given).
    pub target: Option<Spanned<String>>,
    /// Share the cache across machines through `[project] registry`.
    pub shared: Option<Spanned<bool>>,
}

impl BinhostSection {
    /// Where the cache is mounted in every `RUN` step.
    pub fn target(&self) -> &str {
        self.target
            .as_ref()
            .map_or("/var/cache/binpkgs", |t| t.get_ref().as_str())
    }

    /// Whether the cache is shared through the registry.
    pub fn shared(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| *s.get_ref())
    }
}

/// `[project]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// A human name for the project.
    pub name: Option<String>,
    /// Registry prefix, e.g. `registry.example.com/acme`: image `app` lives at
    /// `registry.example.com/acme/app`.
    pub registry: Option<Spanned<String>>,
    /// Default parallelism for builds.
    pub jobs: Option<Spanned<i64>>,
}

/// `[registry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySection {
    /// Verify the registry's TLS certificate (default true).
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// Seconds a registry operation may wait on the registry: a lookup in
    /// all, a push or pull without moving a byte. Default
    /// [`RegistrySection::DEFAULT_TIMEOUT`]; at least 1.
    pub timeout: Option<Spanned<i64>>,
    /// Read-only cache registries (prefixes like `[project] registry`), asked in
    /// order for a node's key tag when `[project] registry` lacks it, and pulled
    /// from; never pushed to.
    #[serde(default)]
    pub cache_from: Vec<Spanned<String>>,
}

impl RegistrySection {
    /// `timeout` when not given: one minute.
    pub const DEFAULT_TIMEOUT: u64 = 60;

    /// `timeout` in seconds, the default when not given (a value below 1 is
    /// reported when `graph.toml` is parsed, and reads as the default here).
    pub fn timeout_secs(&self) -> u64 {
        self.timeout
            .as_ref()
            .and_then(|t| u64::try_from(*t.get_ref()).ok())
            .filter(|t| *t >= 1)
            .unwrap_or(Self::DEFAULT_TIMEOUT)
    }
}

impl Default for RegistrySection {
    fn default() -> Self {
        RegistrySection {
            tls_verify: true,
            timeout: None,
            cache_from: Vec::new(),
        }
    }
}

/// Whether `r` looks like a registry prefix: `registry.example.com/acme`, no
/// scheme, no trailing slash, no whitespace.
fn registry_prefix_ok(r: &str) -> bool {
    !(r.is_empty() || r.contains("://") || r.ends_with('/') || r.contains(char::is_whitespace))
}

fn yes() -> bool {
    true
}

/// `[snapshot]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSection {
    /// A portage ebuild tree, e.g. `/var/db/repos/gentoo`.
    pub path: Option<Spanned<String>>,
    /// The snapshot node's name (default `portage`).
    pub name: Option<Spanned<String>>,
    /// What a change of the tree rebuilds among the images built from it.
    #[serde(default)]
    pub invalidation: Invalidation,
}

/// Which changes of the snapshot make an image built from it dirty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Invalidation {
    /// Only changes to what its last build read: the packages emerge merged (their
    /// ebuilds and eclasses), the profile and the repository layout. An image with
    /// no such record yet falls back to `tree`.
    #[default]
    Packages,
    /// Any change of the tree.
    Tree,
}

impl Invalidation {
    /// The word in `graph.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Invalidation::Packages => "packages",
            Invalidation::Tree => "tree",
        }
    }
}

/// `[portage]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortageSection {
    /// A folder laid out like `/etc/portage`.
    pub config: Option<Spanned<String>>,
    /// Global USE flags, applied before each image's own.
    #[serde(default, rename = "use")]
    pub use_flags: Vec<Spanned<String>>,
}

/// How buildah isolates `RUN` steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// The default OCI runtime.
    Oci,
    /// A chroot (works as root without a full runtime).
    Chroot,
    /// A rootless OCI runtime.
    Rootless,
}

impl Isolation {
    /// The word buildah's `--isolation` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Oci => "oci",
            Isolation::Chroot => "chroot",
            Isolation::Rootless => "rootless",
        }
    }
}

/// `[buildah]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildahSection {
    /// The buildah binary (default `buildah` on PATH).
    pub binary: Option<Spanned<String>>,
    /// `--isolation` for builds.
    pub isolation: Option<Isolation>,
    /// `--storage-driver`.
    pub storage_driver: Option<Spanned<String>>,
    /// `--root`: image storage location.
    pub root: Option<Spanned<String>>,
    /// `--runroot`: runtime state location.
    pub runroot: Option<Spanned<String>>,
    /// Extra global arguments passed before every buildah subcommand.
    #[serde(default)]
    pub args: Vec<Spanned<String>>,
    /// The image format of every image that does not choose its own
    /// (`[image.<name>] format`); OCI when neither does.
    pub format: Option<ImageFormat>,
}

/// `[audit]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// A folder of GLSA XML files (default: the snapshot's `metadata/glsa`).
    pub glsa: Option<String>,
    /// The arch keyword advisories are matched for (default: the host's, e.g. `amd64`).
    pub arch: Option<String>,
}

/// `[image.<name>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSection {
    /// USE flags for this image, applied after the global ones.
    #[serde(default, rename = "use")]
    pub use_flags: Vec<Spanned<String>>,
    /// Build args (`--build-arg NAME=VALUE`).
    #[serde(default)]
    pub args: BTreeMap<String, String>,
    /// Extra tags besides `<key16>` and `latest`.
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    /// Squash the image into one layer.
    #[serde(default)]
    pub squash: bool,
    /// Test commands run in a fresh container from the image.
    #[serde(default)]
    pub test: Vec<Spanned<String>>,
    /// Build context folder (default: the image's folder).
    pub context: Option<Spanned<String>>,
    /// Containerfile path (default: `Containerfile` or `Dockerfile` in the context).
    pub containerfile: Option<Spanned<String>>,
    /// Target platform, e.g. `linux/amd64`.
    pub platform: Option<String>,
    /// The image format: `oci` or `docker`, which keeps `HEALTHCHECK`,
    /// `ONBUILD` and `SHELL`; `[buildah] format` when not given (see
    /// [`Config::image_format`]).
    pub format: Option<ImageFormat>,
    /// Secret files by id (`--secret id=ID,src=FILE`), read by
    /// `RUN --mount=type=secret,id=ID`; relative paths are relative to the project.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Build only up to this stage of a multi-stage Containerfile.
    pub target: Option<Spanned<String>>,
    /// Overrides `[snapshot] invalidation` for this image.
    pub invalidation: Option<Invalidation>,
}

/// `[stages]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagesSection {
    /// Values for the specs' `@NAME@` placeholders.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// catalyst's storedir, where it writes `builds/` (default `/var/tmp/catalyst`).
    pub storedir: Option<String>,
}

/// `[stage.<name>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSection {
    /// A stage tarball to import instead of running catalyst.
    pub seed: Option<Spanned<String>>,
    /// The seed's expected SHA-256 (hex).
    pub sha256: Option<Spanned<String>>,
}

/// How `Config::problems` reports one problem: where, and what is wrong.
type At<'a> = dyn FnMut(Range<usize>, String) + 'a;

impl Config {
    /// Parse `graph.toml` text; `file` names it in errors. Every problem the
    /// settings have is reported (a TOML syntax error stops at the first).
    pub fn parse(text: &str, file: &Path) -> Result<Config, Vec<ProjectError>> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let mut message = e.message().trim().to_string();
            if message.is_empty() {
                message = "not valid TOML".to_string();
            }
            let error = match e.span() {
                Some(span) => ProjectError::at_span(file, text, span, message),
                None => ProjectError::in_file(file, message),
            };
            vec![error]
        })?;
        let errors = config.problems(text, file);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors)
        }
    }

    /// Every value that parsed as TOML but makes no sense, each at its own span.
    fn problems(&self, text: &str, file: &Path) -> Vec<ProjectError> {
        let mut errors = Vec::new();
        let mut at = |span: Range<usize>, message: String| {
            errors.push(ProjectError::at_span(file, text, span, message));
        };
        self.project_problems(&mut at);
        self.stage_problems(&mut at);
        self.image_tag_problems(&mut at);
        self.use_flag_problems(&mut at);
        self.buildah_problems(&mut at);
        self.binhost_problems(&mut at);
        errors
    }

    fn binhost_problems(&self, at: &mut At<'_>) {
        let Some(b) = &self.binhost else { return };
        if let Some(t) = &b.target {
            if !t.get_ref().starts_with('/') || t.get_ref().contains(':') {
                at(
                    t.span(),
                    format!(
                        "[binhost] target `{}` must be an absolute path (with no `:`) inside the image",
                        t.get_ref()
                    ),
                );
            }
        }
        if let Some(shared) = &b.shared {
            if *shared.get_ref() && self.project.registry.is_none() {
                at(
                    shared.span(),
                    "[binhost] shared = true shares the cache through the registry: set [project] registry".to_string(),
                );
            }
        }
    }

    /// `[project]`: `jobs` and the shape of `registry`; `[registry] timeout`.
    fn project_problems(&self, at: &mut At<'_>) {
        if let Some(jobs) = &self.project.jobs {
            if *jobs.get_ref() < 1 {
                at(
                    jobs.span(),
                    format!("jobs must be at least 1, not {}", jobs.get_ref()),
                );
            }
        }
        if let Some(timeout) = &self.registry.timeout {
            if *timeout.get_ref() < 1 {
                at(
                    timeout.span(),
                    format!(
                        "[registry] timeout is in seconds and must be at least 1, not {}",
                        timeout.get_ref()
                    ),
                );
            }
        }
        if let Some(reg) = &self.project.registry {
            let r = reg.get_ref();
            if !registry_prefix_ok(r) {
                at(
                    reg.span(),
                    format!("registry `{r}` should look like `registry.example.com/acme` (no scheme, no trailing slash)"),
                );
            }
        }
        for reg in &self.registry.cache_from {
            let r = reg.get_ref();
            if !registry_prefix_ok(r) {
                at(
                    reg.span(),
                    format!("cache_from registry `{r}` should look like `registry.example.com/acme` (no scheme, no trailing slash)"),
                );
            }
        }
    }

    /// `[stage.*]`: a seed with a well-formed sha256.
    fn stage_problems(&self, at: &mut At<'_>) {
        for (name, stage) in &self.stage {
            match (&stage.seed, &stage.sha256) {
                (Some(_), None) => at(
                    name.span(),
                    format!("[stage.{}] has a seed but no sha256", name.get_ref()),
                ),
                (None, _) => at(
                    name.span(),
                    format!(
                        "[stage.{}] needs `seed` (a stage tarball) and `sha256`",
                        name.get_ref()
                    ),
                ),
                (Some(_), Some(sum)) => {
                    let s = sum.get_ref();
                    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        at(sum.span(), "sha256 must be 64 hex digits".to_string());
                    }
                }
            }
        }
    }

    /// `[image.*] tags`: each a valid image tag.
    fn image_tag_problems(&self, at: &mut At<'_>) {
        for (name, image) in &self.image {
            for tag in &image.tags {
                if !valid_tag(tag.get_ref()) {
                    at(
                        tag.span(),
                        format!(
                            "[image.{}] tag `{}` is not an image tag (letters, digits, `_`, `.`, `-`, not starting with `.` or `-`, at most 128)",
                            name.get_ref(),
                            tag.get_ref()
                        ),
                    );
                }
            }
        }
    }

    /// `use` in `[portage]` and in every `[image.*]`: each a valid USE flag.
    fn use_flag_problems(&self, at: &mut At<'_>) {
        let flag_lists = std::iter::once(&self.portage.use_flags)
            .chain(self.image.values().map(|i| &i.use_flags));
        for flag in flag_lists.flatten() {
            if !valid_use_flag(flag.get_ref()) {
                at(
                    flag.span(),
                    format!(
                        "`{}` is not a USE flag (letters, digits, + _ @ -, optionally prefixed by -)",
                        flag.get_ref()
                    ),
                );
            }
        }
    }

    /// `[buildah]`: no empty strings, nothing a program argument cannot hold.
    fn buildah_problems(&self, at: &mut At<'_>) {
        let b = &self.buildah;
        let strings = [
            ("binary", b.binary.as_ref()),
            ("storage_driver", b.storage_driver.as_ref()),
            ("root", b.root.as_ref()),
            ("runroot", b.runroot.as_ref()),
        ];
        for (key, value) in strings {
            let Some(value) = value else { continue };
            if value.get_ref().is_empty() {
                at(
                    value.span(),
                    format!("[buildah] {key} is empty: leave it out to use the default"),
                );
            } else if value.get_ref().contains('\0') {
                at(
                    value.span(),
                    format!("[buildah] {key} holds a NUL byte, which no program argument can"),
                );
            }
        }
        for arg in &b.args {
            if arg.get_ref().contains('\0') {
                at(
                    arg.span(),
                    "[buildah] args holds a NUL byte, which no program argument can".to_string(),
                );
            }
        }
    }

    /// Settings for image `name`, if `graph.toml` has any.
    pub fn image(&self, name: &str) -> Option<&ImageSection> {
        self.image.get(name)
    }

    /// The image format image `name` is written in: its own `format`, else
    /// `[buildah] format`, else OCI.
    pub fn image_format(&self, name: &str) -> ImageFormat {
        self.image(name)
            .and_then(|i| i.format)
            .or(self.buildah.format)
            .unwrap_or_default()
    }

    /// The line in `text` (this config's source) where `[image.<name>]` is written.
    pub fn image_span(&self, name: &str) -> Option<Range<usize>> {
        self.image
            .keys()
            .find(|k| k.get_ref() == name)
            .map(Spanned::span)
    }
}

/// Whether `tag` is an OCI image tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    tag.len() <= 128
        && matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `flag` is a USE flag as PMS allows (or `-flag`, or `-*`).
pub fn valid_use_flag(flag: &str) -> bool {
    let body = flag.strip_prefix('-').unwrap_or(flag);
    if body == "*" && flag.starts_with('-') {
        return true;
    }
    let mut chars = body.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '_' | '@' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config, or its first error.
    fn parse(text: &str) -> Result<Config, ProjectError> {
        Config::parse(text, Path::new("graph.toml")).map_err(|mut e| e.remove(0))
    }

    fn all_errors(text: &str) -> Vec<ProjectError> {
        Config::parse(text, Path::new("graph.toml")).unwrap_err()
    }

    /// The excerpt's marked text.
    fn marked(e: &ProjectError) -> &str {
        let x = e.excerpt.as_ref().expect("an excerpt");
        &x.text[x.columns.clone().expect("columns")]
    }

    #[test]
    fn empty_file_is_default() {
        let c = parse("").unwrap();
        assert!(c.registry.tls_verify);
        assert!(c.image.is_empty());
    }

    #[test]
    fn full_file_parses() {
        let c = parse(
            r#"
[project]
name = "acme"
registry = "registry.example.com/acme"
jobs = 4
[registry]
tls_verify = false
[snapshot]
path = "/var/db/repos/gentoo"
[portage]
config = "portage"
use = ["ssl", "-X"]
[buildah]
isolation = "chroot"
storage_driver = "vfs"
args = ["--log-level=warn"]
[image.nginx]
use = ["http2"]
args = { FLAVOUR = "mainline" }
tags = ["1.25"]
squash = true
test = ["nginx -t"]
[stages]
vars = { TIMESTAMP = "20260101T000000Z" }
[stage.seed3]
seed = "stage3.tar.xz"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
"#,
        )
        .unwrap();
        assert_eq!(*c.project.jobs.as_ref().unwrap().get_ref(), 4);
        assert!(!c.registry.tls_verify);
        assert_eq!(c.buildah.isolation, Some(Isolation::Chroot));
        assert_eq!(c.image("nginx").unwrap().tags[0].get_ref(), "1.25");
        assert_eq!(c.image("nginx").unwrap().args["FLAVOUR"], "mainline");
        assert_eq!(c.stages.vars["TIMESTAMP"], "20260101T000000Z");
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = parse("[project]\nname = \"x\"\nregsitry = \"r\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("regsitry"), "{}", e.message);
    }

    #[test]
    fn unknown_key_in_image_table() {
        let e = parse("[image.app]\nsquash = true\n\nflavour = 1\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.message.contains("flavour"), "{}", e.message);
    }

    #[test]
    fn malformed_toml_names_line() {
        let e = parse("[project]\nname = \"x\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn bad_isolation_is_rejected() {
        let e = parse("\n[buildah]\nisolation = \"vm\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn image_format_is_oci_or_docker() {
        assert_eq!(
            parse("[image.a]\n").unwrap().image_format("a"),
            ImageFormat::Oci
        );
        let c = parse("[image.a]\nformat = \"docker\"\n").unwrap();
        assert_eq!(c.image_format("a"), ImageFormat::Docker);
        assert_eq!(c.image_format("b"), ImageFormat::Oci);
        let e = parse("[image.a]\nsquash = true\nformat = \"Docker\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("`Docker`"), "{}", e.message);
        assert!(
            e.message.contains("oci") && e.message.contains("docker"),
            "{}",
            e.message
        );
    }

    #[test]
    fn buildah_format_is_the_default_an_image_overrides() {
        let c = parse("[buildah]\nformat = \"docker\"\n[image.a]\nformat = \"oci\"\n").unwrap();
        assert_eq!(c.image_format("a"), ImageFormat::Oci);
        assert_eq!(c.image_format("b"), ImageFormat::Docker);
        let e = parse("[buildah]\nformat = \"v2s2\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn zero_jobs_is_rejected() {
        let e = parse("[project]\njobs = 0\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn registry_timeout_is_whole_seconds_from_one() {
        assert_eq!(
            parse("").unwrap().registry.timeout_secs(),
            RegistrySection::DEFAULT_TIMEOUT
        );
        let c = parse("[registry]\ntimeout = 5\n").unwrap();
        assert_eq!(c.registry.timeout_secs(), 5);
        let e = parse("[registry]\ntls_verify = true\ntimeout = 0\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("at least 1"), "{}", e.message);
        assert!(parse("[registry]\ntimeout = \"1m\"\n").is_err());
    }

    #[test]
    fn seed_without_sha_is_rejected() {
        let e = parse("[stage.s]\nseed = \"a.tar\"\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("sha256"));
    }

    #[test]
    fn bad_use_flag_is_rejected() {
        let e = parse("[portage]\nuse = [\n  \"ssl\",\n  \"b@d flag\",\n]\n").unwrap_err();
        assert_eq!(e.line, Some(4));
    }

    #[test]
    fn bad_tag_is_rejected_at_its_line() {
        let e =
            parse("[image.a]\nsquash = true\ntags = [\n  \"ok\",\n  \"not ok\",\n]\n").unwrap_err();
        assert_eq!(e.line, Some(5));
        assert!(e.message.contains("`not ok`"), "{}", e.message);
        assert_eq!(
            parse("[image.a]\ntags = [\"\"]\n").unwrap_err().line,
            Some(2)
        );
    }

    #[test]
    fn tag_grammar() {
        assert!(valid_tag("1.25"));
        assert!(valid_tag("_x-Y.z"));
        assert!(!valid_tag(""));
        assert!(!valid_tag(".x"));
        assert!(!valid_tag("-x"));
        assert!(!valid_tag("a:b"));
        assert!(!valid_tag(&"a".repeat(129)));
    }

    #[test]
    fn use_flag_grammar() {
        assert!(valid_use_flag("ssl"));
        assert!(valid_use_flag("-X"));
        assert!(valid_use_flag("-*"));
        assert!(valid_use_flag("python_targets_python3_12"));
        assert!(!valid_use_flag(""));
        assert!(!valid_use_flag("-"));
        assert!(!valid_use_flag("a b"));
    }

    #[test]
    fn a_bad_tag_is_blamed_at_its_value_not_at_the_same_text_elsewhere() {
        // The review's reproduction: the text `x y` appears in `args` first.
        let text = "# tags: \"x y\" is not allowed\n[image.a]\nargs = { NOTE = \"x y\" }\ntags = [\"x y\"]\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(marked(&e), "\"x y\"");
    }

    #[test]
    fn a_bad_use_flag_is_blamed_at_its_value_not_at_a_comment() {
        let text = "[image.a]\n# was: use = [\"-x y\"]\nuse = ['-x y']\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(marked(&e), "'-x y'");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = "[project]\njobs = 0\n[image.a]\ntags = [\"a b\"]\nuse = [\"c d\"]\n[buildah]\nbinary = \"\"\n";
        let lines: Vec<Option<usize>> = all_errors(text).iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(2), Some(4), Some(5), Some(7)]);
    }

    #[test]
    fn empty_or_nul_buildah_strings_are_rejected() {
        let e = parse("[buildah]\nbinary = \"\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("binary is empty"), "{}", e.message);
        let e = parse("[buildah]\nroot = \"a\\u0000b\"\n").unwrap_err();
        assert!(e.message.contains("NUL"), "{}", e.message);
    }

    #[test]
    fn an_unterminated_multi_line_string_is_blamed_inside_the_file() {
        for text in [
            "[project]\nname = \"\"\"abc\ndef\n",
            "[project]\nname = '''abc\ndef\n",
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, Some(3), "{e}");
        }
    }

    #[test]
    fn a_syntax_error_always_says_something() {
        let e = parse("a = 1\r[x]\rb = 2\r").unwrap_err();
        assert!(!e.message.trim().is_empty(), "{e:?}");
    }
}
