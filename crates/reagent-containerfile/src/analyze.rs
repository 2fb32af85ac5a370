//! Resolving variables and reporting what a Containerfile depends on: external images,
//! build-context files, remote sources, and its stages.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use crate::error::ParseError;
use crate::expand::{expand_word, ExpandError, Lookup, MAX_EXPANSION, MAX_TOTAL_EXPANSION};
use crate::instruction::{Body, MountField, Source, Token};
use crate::keyword::Keyword;
use crate::words::Range;
use crate::Containerfile;

/// Build args that buildah predefines in the global scope (usable in `FROM` without `ARG`),
/// taken from the caller's build args when given.
const AUTOMATIC_ARGS: &[&str] = &[
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// Everything a Containerfile reads from outside itself, for one set of build args.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// External images (not stages of this file, not `scratch`), in file order.
    pub references: Vec<ImageReference>,
    /// Files, directories and globs read from the build context, in file order.
    pub context_sources: Vec<ContextSource>,
    /// `ADD` sources fetched over the network (HTTP(S) URLs, git URLs).
    pub remote_sources: Vec<RemoteSource>,
    /// The stages, one per `FROM`, in order.
    pub stages: Vec<StageInfo>,
}

/// Where an image reference appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceKind {
    /// `FROM image`.
    From,
    /// `COPY --from=image` or `ADD --from=image`.
    CopyFrom,
    /// `RUN --mount=type=bind|cache,from=image`.
    MountFrom,
}

/// An external image the file depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// 1-based line of the instruction.
    pub line: usize,
    /// Which construct names the image.
    pub kind: ReferenceKind,
    /// The reference as written, before substitution (e.g. `${BASE}`).
    pub written: String,
    /// The reference after substitution (e.g. `gentoo/stage3:latest`).
    pub resolved: String,
    /// Index of the stage the instruction belongs to.
    pub stage: usize,
}

/// A path read from the build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSource {
    /// 1-based line of the instruction.
    pub line: usize,
    /// `COPY`, `ADD` or `RUN --mount`.
    pub instruction: String,
    /// The path after substitution, as written: may contain globs (`*`, `?`, `[...]`).
    pub path: String,
    /// `COPY`/`ADD --exclude=` patterns after substitution: what under `path` the
    /// instruction does not read (matched as `.containerignore` lines are, against
    /// paths in the context, as buildah matches them).
    pub exclude: Vec<String>,
}

/// A source `ADD` fetches over the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSource {
    /// 1-based line of the instruction.
    pub line: usize,
    /// The URL after substitution: what is fetched, and what the content key hashes. It
    /// may hold a build arg's value (`https://${TOKEN}@host/x`), so it is not for display.
    pub url: String,
    /// The URL exactly as written in the file, before `${ARG}` expansion (in the exec
    /// form, the JSON string's value). This is what reagent shows to users, so a build
    /// arg's value (a token in a URL) never reaches a manifest or a message.
    pub written: String,
}

/// One build stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInfo {
    /// The `AS` name, lower-cased, if any.
    pub name: Option<String>,
    /// The base as written after `FROM`.
    pub base_written: String,
    /// The base after substitution.
    pub base_resolved: String,
    /// When the base is an earlier stage of this file, its index.
    pub base_stage: Option<usize>,
    /// 1-based line of the `FROM`.
    pub line: usize,
    /// `--platform` after substitution.
    pub platform: Option<String>,
}

/// `http(s)://` and git URLs are fetched, not read from the context.
pub(crate) fn is_remote(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    ["http://", "https://", "git://", "git@", "ssh://"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// Analysis plus, for each reference, its byte range in the source (for rewriting).
pub(crate) fn analyze(
    cf: &Containerfile,
    build_args: &BTreeMap<String, String>,
) -> Result<(Analysis, Vec<Range>), ParseError> {
    let (analysis, spans, mut errors) = analyze_all(cf, build_args);
    if errors.is_empty() {
        Ok((analysis, spans))
    } else {
        Err(errors.swap_remove(0))
    }
}

/// At most this many errors are collected from one file: past them, the file is
/// more wrong than a list helps with.
pub(crate) const MAX_ERRORS: usize = 50;

/// [`analyze`] going on past an instruction that fails, with every error: a
/// failed `FROM` still starts its stage (with no base), so the stages after it
/// are counted as written.
pub(crate) fn analyze_all(
    cf: &Containerfile,
    build_args: &BTreeMap<String, String>,
) -> (Analysis, Vec<Range>, Vec<ParseError>) {
    let mut analyzer = Analyzer::new(cf, build_args);
    let mut errors = Vec::new();
    for ins in &cf.instructions {
        let stages = analyzer.out.stages.len();
        if let Err(e) = analyzer.instruction(ins.line, &ins.body) {
            errors.push(e);
            if let Body::From { image, alias, .. } = &ins.body {
                if analyzer.out.stages.len() == stages {
                    analyzer.out.stages.push(StageInfo {
                        name: alias.as_ref().map(|a| a.name.clone()),
                        base_written: image.raw.clone(),
                        base_resolved: String::new(),
                        base_stage: None,
                        line: ins.line,
                        platform: None,
                    });
                    analyzer.env.clear();
                    analyzer.args.clear();
                }
            }
            // Past the total expansion limit every word fails alike: one error says it.
            if analyzer.grown.get() > MAX_TOTAL_EXPANSION || errors.len() >= MAX_ERRORS {
                break;
            }
        }
    }
    (analyzer.out, analyzer.spans, errors)
}

/// The state of one pass over the instructions: variables in scope, and what was found.
struct Analyzer<'a> {
    escape: char,
    build_args: &'a BTreeMap<String, String>,
    /// The index of every named stage, by its `AS` name (names are unique: [`crate::parse`]
    /// rejects a second use), so that each lookup costs the same however many stages there are.
    stage_index: HashMap<String, usize>,
    out: Analysis,
    /// For each of `out.references`, its byte range in the source.
    spans: Vec<Range>,
    /// `ARG`s before the first `FROM`; `None` when declared without a value.
    globals: BTreeMap<String, Option<String>>,
    /// `ENV` of the current stage.
    env: BTreeMap<String, String>,
    /// `ARG`s of the current stage that have a value.
    args: BTreeMap<String, String>,
    /// Bytes that expansion has added to the file so far: what each expanded word holds
    /// beyond its length as written, and every build-arg or global value copied into a
    /// stage (see [`MAX_TOTAL_EXPANSION`]).
    grown: Cell<usize>,
}

impl<'a> Analyzer<'a> {
    fn new(cf: &Containerfile, build_args: &'a BTreeMap<String, String>) -> Self {
        let mut stage_index = HashMap::new();
        let stages = cf.instructions.iter().filter_map(|i| match &i.body {
            Body::From { alias, .. } => Some(alias.as_ref().map(|a| a.name.clone())),
            _ => None,
        });
        for (i, name) in stages.enumerate() {
            if let Some(name) = name {
                stage_index.entry(name).or_insert(i);
            }
        }
        Analyzer {
            escape: cf.escape,
            build_args,
            stage_index,
            out: Analysis::default(),
            spans: Vec::new(),
            globals: BTreeMap::new(),
            env: BTreeMap::new(),
            args: BTreeMap::new(),
            grown: Cell::new(0),
        }
    }

    /// Take in one instruction, starting at `line`.
    fn instruction(&mut self, line: usize, body: &Body) -> Result<(), ParseError> {
        match body {
            Body::From {
                platform,
                image,
                alias,
            } => self.from(
                line,
                platform.as_ref(),
                image,
                alias.as_ref().map(|a| &a.name),
            ),
            Body::Arg(pairs) if self.out.stages.is_empty() => self.global_args(line, pairs),
            Body::Arg(pairs) => self.stage_args(line, pairs),
            Body::Env(pairs) => self.env(line, pairs),
            Body::Copy {
                add,
                from,
                sources,
                exclude,
            } => {
                let keyword = if *add { Keyword::Add } else { Keyword::Copy };
                match from {
                    Some(from) => self.copy_from(line, keyword, from),
                    None => self.copy_sources(line, keyword, sources, exclude),
                }
            }
            Body::Run { mounts } => mounts
                .iter()
                .try_for_each(|fields| self.mount(line, fields)),
            Body::Other => Ok(()),
        }
    }

    /// Index of the current stage (0 before the first `FROM`).
    fn current_stage(&self) -> usize {
        self.out.stages.len().saturating_sub(1)
    }

    /// Count `bytes` copied into the file's variables (a build arg's value, a global
    /// value taken into a stage) against [`MAX_TOTAL_EXPANSION`].
    fn hold(&self, line: usize, bytes: usize) -> Result<(), ParseError> {
        let grown = self.grown.get().saturating_add(bytes);
        self.grown.set(grown);
        if grown > MAX_TOTAL_EXPANSION {
            return Err(ParseError::new(line, total_message()));
        }
        Ok(())
    }

    /// Expand `word` with `lookup`, within what is left of [`MAX_TOTAL_EXPANSION`] and at
    /// most [`MAX_EXPANSION`]; an error points at `span` when given.
    fn expand(
        &self,
        line: usize,
        word: &str,
        span: Option<Range>,
        lookup: &Lookup<'_, '_>,
    ) -> Result<String, ParseError> {
        let left = MAX_TOTAL_EXPANSION.saturating_sub(self.grown.get());
        let limit = MAX_EXPANSION.min(word.len().saturating_add(left));
        match expand_word(word, self.escape, lookup, limit) {
            Ok(value) => {
                let added = value.len().saturating_sub(word.len());
                self.grown.set(self.grown.get().saturating_add(added));
                Ok(value)
            }
            Err(ExpandError::Message(m)) => Err(ParseError::new(line, m).with_span(span)),
            Err(ExpandError::TooLong) => {
                let message = if limit < MAX_EXPANSION {
                    total_message()
                } else {
                    format!(
                        "variable substitution expands to more than {} MiB",
                        MAX_EXPANSION >> 20
                    )
                };
                Err(ParseError::new(line, message).with_span(span))
            }
        }
    }

    /// Expand `word` in the global scope (`FROM` lines, `ARG`s before the first `FROM`).
    fn expand_global(&self, line: usize, word: &Token) -> Result<String, ParseError> {
        let lookup = |n: &str| global_value(&self.globals, self.build_args, n);
        self.expand(line, &word.raw, Some(word.span), &lookup)
    }

    /// Expand `word` in the current stage (`ENV` wins over `ARG`); an error points at
    /// `span` when given.
    fn expand_in_stage(
        &self,
        line: usize,
        word: &str,
        span: Option<Range>,
    ) -> Result<String, ParseError> {
        let lookup = |n: &str| {
            self.env
                .get(n)
                .or_else(|| self.args.get(n))
                .map(String::as_str)
        };
        self.expand(line, word, span, &lookup)
    }

    /// [`Analyzer::expand_in_stage`] for a word with a known place.
    fn expand_token(&self, line: usize, word: &Token) -> Result<String, ParseError> {
        self.expand_in_stage(line, &word.raw, Some(word.span))
    }

    /// `FROM`: start a stage, from an earlier stage, `scratch` or an external image.
    fn from(
        &mut self,
        line: usize,
        platform: Option<&Token>,
        image: &Token,
        alias: Option<&String>,
    ) -> Result<(), ParseError> {
        let resolved = self.expand_global(line, image)?;
        if resolved.is_empty() {
            return Err(ParseError::new(
                line,
                format!(
                    "FROM `{}` expands to an empty image name{}",
                    image.raw,
                    self.undeclared_hint(&image.raw)
                ),
            )
            .with_span(image.span));
        }
        let platform = platform.map(|p| self.expand_global(line, p)).transpose()?;
        let index = self.out.stages.len();
        let base_stage = self
            .base_stage(line, index, &resolved)
            .map_err(|e| e.with_span(image.span))?;
        if base_stage.is_none() && !resolved.eq_ignore_ascii_case("scratch") {
            self.out.references.push(ImageReference {
                line,
                kind: ReferenceKind::From,
                written: image.raw.clone(),
                resolved: resolved.clone(),
                stage: index,
            });
            self.spans.push(image.span);
        }
        self.out.stages.push(StageInfo {
            name: alias.cloned(),
            base_written: image.raw.clone(),
            base_resolved: resolved,
            base_stage,
            line,
            platform,
        });
        self.env.clear();
        self.args.clear();
        Ok(())
    }

    /// A hint for a `FROM` word that reads build args no `ARG` before the first
    /// `FROM` declares (buildah leaves them empty there), or `""`.
    fn undeclared_hint(&self, word: &str) -> String {
        let names: Vec<String> = crate::expand::variables(word, self.escape)
            .into_iter()
            .filter(|n| {
                self.build_args.contains_key(n)
                    && !self.globals.contains_key(n)
                    && !AUTOMATIC_ARGS.contains(&n.as_str())
            })
            .collect();
        if names.is_empty() {
            return String::new();
        }
        let args: Vec<String> = names.iter().map(|n| format!("`ARG {n}`")).collect();
        format!(
            ": {} given as a build arg but not declared, so FROM cannot see it; add {} before the first FROM",
            names.join(", "),
            args.join(" and ")
        )
    }

    /// The earlier stage that `FROM resolved` (stage `index`) builds on, if any. Naming a
    /// stage further down is an error (without a span: the caller adds the image's);
    /// `FROM x AS x` names image `x` (the stage does not exist yet).
    fn base_stage(
        &self,
        line: usize,
        index: usize,
        resolved: &str,
    ) -> Result<Option<usize>, ParseError> {
        let lower = resolved.to_ascii_lowercase();
        match self.stage_index.get(&lower) {
            Some(&i) if i < index => Ok(Some(i)),
            Some(&later) if later > index => Err(ParseError::new(
                line,
                format!(
                    "FROM `{resolved}` names stage `{lower}`, which comes later in the file (stage {later})"
                ),
            )),
            _ => Ok(None),
        }
    }

    /// `ARG`s before the first `FROM`: a build arg wins over the default.
    fn global_args(
        &mut self,
        line: usize,
        pairs: &[(String, Option<Token>)],
    ) -> Result<(), ParseError> {
        for (name, default) in pairs {
            let value = match (self.build_args.get(name), default) {
                (Some(v), _) => {
                    self.hold(line, v.len())?;
                    Some(v.clone())
                }
                (None, Some(d)) => Some(self.expand_global(line, d)?),
                (None, None) => None,
            };
            self.globals.insert(name.clone(), value);
        }
        Ok(())
    }

    /// `ARG`s in a stage: a build arg wins over the default, which wins over the global
    /// value of the same name.
    fn stage_args(
        &mut self,
        line: usize,
        pairs: &[(String, Option<Token>)],
    ) -> Result<(), ParseError> {
        for (name, default) in pairs {
            let value = match (self.build_args.get(name), default) {
                (Some(v), _) => {
                    self.hold(line, v.len())?;
                    Some(v.clone())
                }
                (None, Some(d)) => Some(self.expand_token(line, d)?),
                (None, None) => {
                    let global = self.globals.get(name).cloned().flatten();
                    self.hold(line, global.as_ref().map_or(0, String::len))?;
                    global
                }
            };
            match value {
                Some(v) => self.args.insert(name.clone(), v),
                None => self.args.remove(name),
            };
        }
        Ok(())
    }

    /// `ENV`: all values see the environment from before this instruction.
    fn env(&mut self, line: usize, pairs: &[(String, Token)]) -> Result<(), ParseError> {
        let values = pairs
            .iter()
            .map(|(n, v)| Ok((n.clone(), self.expand_token(line, v)?)))
            .collect::<Result<Vec<_>, ParseError>>()?;
        self.env.extend(values);
        Ok(())
    }

    /// `COPY`/`ADD --from=x`: an earlier stage, or an external image. Its sources are
    /// paths in that image, not in the context.
    fn copy_from(&mut self, line: usize, keyword: Keyword, from: &Token) -> Result<(), ParseError> {
        let resolved = self.expand_token(line, from)?;
        let current = self.current_stage();
        let what = format!("{keyword} --from");
        if resolve_stage(&resolved, &self.stage_index, current, line, &what)
            .map_err(|e| e.with_span(from.span))?
            .is_none()
        {
            self.out.references.push(ImageReference {
                line,
                kind: ReferenceKind::CopyFrom,
                written: from.raw.clone(),
                resolved,
                stage: current,
            });
            self.spans.push(from.span);
        }
        Ok(())
    }

    /// `COPY`/`ADD` sources: context paths, or (for `ADD` only) URLs.
    fn copy_sources(
        &mut self,
        line: usize,
        keyword: Keyword,
        sources: &[Source],
        exclude: &[Token],
    ) -> Result<(), ParseError> {
        let exclude = exclude
            .iter()
            .map(|t| self.expand_token(line, t))
            .collect::<Result<Vec<_>, _>>()?;
        for source in sources {
            let Source::Word { raw, span } = source else {
                continue;
            };
            let path = self.expand_in_stage(line, raw, *span)?;
            if is_remote(&path) {
                if keyword != Keyword::Add {
                    return Err(ParseError::new(
                        line,
                        format!("COPY cannot fetch `{path}`: use ADD for URLs"),
                    )
                    .with_span(*span));
                }
                self.out.remote_sources.push(RemoteSource {
                    line,
                    url: path,
                    written: raw.clone(),
                });
            } else {
                self.out.context_sources.push(ContextSource {
                    line,
                    instruction: keyword.to_string(),
                    path,
                    exclude: exclude.clone(),
                });
            }
        }
        Ok(())
    }

    /// One `RUN --mount`: a `bind` or `cache` mount reads an image (`from=`) or, for
    /// `bind`, the context (`source=`, `.` by default). Other types read neither.
    fn mount(&mut self, line: usize, fields: &[MountField]) -> Result<(), ParseError> {
        let get = |keys: &[&str]| -> Option<&MountField> {
            fields.iter().find(|f| keys.contains(&f.key.as_str()))
        };
        let kind = match get(&["type"]) {
            Some(f) => self.expand_token(line, &f.value)?,
            None => "bind".to_string(),
        };
        if kind != "bind" && kind != "cache" {
            return Ok(());
        }
        if let Some(from) = get(&["from"]) {
            let resolved = self.expand_token(line, &from.value)?;
            if resolved.is_empty() {
                return Err(ParseError::new(line, "`--mount` has an empty `from=`")
                    .with_span(from.value.span));
            }
            let current = self.current_stage();
            if resolve_stage(
                &resolved,
                &self.stage_index,
                current,
                line,
                "RUN --mount from",
            )
            .map_err(|e| e.with_span(from.value.span))?
            .is_none()
            {
                self.out.references.push(ImageReference {
                    line,
                    kind: ReferenceKind::MountFrom,
                    written: from.value.raw.clone(),
                    resolved,
                    stage: current,
                });
                self.spans.push(from.value.span);
            }
        } else if kind == "bind" {
            let path = match get(&["source", "src"]) {
                Some(f) => self.expand_token(line, &f.value)?,
                None => ".".to_string(),
            };
            self.out.context_sources.push(ContextSource {
                line,
                instruction: "RUN --mount".to_string(),
                path: if path.is_empty() {
                    ".".to_string()
                } else {
                    path
                },
                exclude: Vec::new(),
            });
        }
        Ok(())
    }
}

/// A variable's value in the global scope (before the first `FROM`).
fn global_value<'a>(
    globals: &'a BTreeMap<String, Option<String>>,
    build_args: &'a BTreeMap<String, String>,
    n: &str,
) -> Option<&'a str> {
    match globals.get(n) {
        Some(v) => v.as_deref(),
        None if AUTOMATIC_ARGS.contains(&n) => build_args.get(n).map(String::as_str),
        None => None,
    }
}

/// The message of an expansion past [`MAX_TOTAL_EXPANSION`].
fn total_message() -> String {
    format!(
        "variable substitution expands to more than {} MiB in all in this file",
        MAX_TOTAL_EXPANSION >> 20
    )
}

/// Does `name` (a `--from` value) name a stage before `current`? `Ok(None)`: an image.
/// Errors have no span: the caller points them at the word.
fn resolve_stage(
    name: &str,
    names: &HashMap<String, usize>,
    current: usize,
    line: usize,
    what: &str,
) -> Result<Option<usize>, ParseError> {
    if name.is_empty() {
        return Err(ParseError::new(line, format!("`{what}` is empty")));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return match name.parse::<usize>() {
            Ok(n) if n < current => Ok(Some(n)),
            _ => Err(ParseError::new(
                line,
                format!("`{what}={name}`: stage {name} is not an earlier stage (this is stage {current})"),
            )),
        };
    }
    let lower = name.to_ascii_lowercase();
    match names.get(&lower).copied() {
        Some(i) if i < current => Ok(Some(i)),
        Some(_) => Err(ParseError::new(
            line,
            format!("`{what}={name}`: stage `{lower}` is not an earlier stage"),
        )),
        None => Ok(None),
    }
}
