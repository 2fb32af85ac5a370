//! Parse and analyse Containerfiles (Dockerfiles) the way buildah 1.28 reads them.
//!
//! reagent needs three things from a Containerfile:
//!
//! 1. which images it is built from ([`Analysis::references`]): `FROM`, `COPY --from`,
//!    `RUN --mount=...,from=` naming something that is not a stage of the same file
//!    (and not `scratch`), so the build graph can order images;
//! 2. which build-context paths it reads ([`Analysis::context_sources`]), so they can be
//!    hashed into the image's content key, plus what `ADD` fetches from the network
//!    ([`Analysis::remote_sources`]);
//! 3. a copy of the text with references to sibling images replaced by concrete image
//!    references ([`Containerfile::rewrite_references`]), leaving all other bytes alone.
//!
//! [`parse`] checks syntax and keeps every instruction with its line: parser directives
//! (`# escape=`), comments, line continuations, heredocs, flags, JSON (exec) and shell
//! forms. [`Containerfile::analyze`] then resolves variables for a given set of build
//! args, following Docker's scoping: `ARG`s before the first `FROM` are usable in `FROM`
//! lines, each stage starts empty, `ARG` and `ENV` are in scope for later instructions of
//! their stage, `ENV` wins over `ARG`, and a build arg only overrides a declared `ARG`.
//! Every error names the line where the offending instruction starts and, when one word
//! is at fault, that word's byte span in the text ([`ParseError::span`]).
//!
//! ```
//! use std::collections::{BTreeMap, HashSet};
//! use reagent_containerfile::{parse, ReferenceKind};
//!
//! let text = "\
//! ARG BASE=gentoo/stage3:latest
//! FROM ${BASE} AS builder
//! COPY portage.conf /etc/portage/
//! RUN emerge app
//!
//! FROM localhost/runtime
//! COPY --from=builder /usr/bin/app /usr/bin/app
//! ";
//! let file = parse(text)?;
//! let args = BTreeMap::from([("BASE".to_string(), "localhost/base".to_string())]);
//! let analysis = file.analyze(&args)?;
//!
//! let images: Vec<&str> = analysis.references.iter().map(|r| r.resolved.as_str()).collect();
//! assert_eq!(images, ["localhost/base", "localhost/runtime"]);
//! assert_eq!(analysis.references[0].kind, ReferenceKind::From);
//! assert_eq!(analysis.context_sources[0].path, "portage.conf");
//!
//! let pinned = file.rewrite_references(text, &args, &|r| {
//!     (r.resolved == "localhost/base").then(|| "localhost/base@sha256:abcd".to_string())
//! })?;
//! assert!(pinned.contains("FROM localhost/base@sha256:abcd AS builder\n"));
//! # Ok::<(), reagent_containerfile::ParseError>(())
//! ```

mod analyze;
mod error;
mod expand;
mod instruction;
mod keyword;
mod lexer;
mod rewrite;
mod words;

use std::collections::{BTreeMap, HashSet};

pub use analyze::{
    Analysis, ContextSource, ImageReference, ReferenceKind, RemoteSource, StageInfo,
};
pub use error::ParseError;
pub use instruction::Instruction;
pub use keyword::{Keyword, UnknownKeyword};
pub use lexer::Heredoc;

use instruction::{parse_instruction, Body};

/// An `ONBUILD` trigger of an image (see [`Containerfile::onbuild_triggers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The 1-based line of the `ONBUILD` in the file that declares it.
    pub line: usize,
    /// The instruction it runs, as written after `ONBUILD`.
    pub instruction: String,
    /// The instruction alone after a `FROM scratch`, heredoc bodies included:
    /// what [`Trigger::analyze`] reads.
    text: String,
}

impl Trigger {
    /// What the trigger reads when it runs in a build with `build_args`: its
    /// context sources, remote sources and images. Lines in the result are
    /// those of the trigger alone (2 for its instruction).
    pub fn analyze(&self, build_args: &BTreeMap<String, String>) -> Result<Analysis, ParseError> {
        parse(&self.text)?.analyze(build_args)
    }
}

/// A construct of the Containerfile syntax that older builders do not read (see
/// [`Containerfile::constructs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Construct {
    /// A heredoc (`RUN <<EOF`, `COPY <<EOF /file`, `ONBUILD RUN <<EOF`).
    Heredoc,
    /// `COPY --exclude=` / `ADD --exclude=`.
    CopyExclude,
}

impl Construct {
    /// How the construct is written, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Construct::Heredoc => "heredocs (`<<EOF`)",
            Construct::CopyExclude => "`COPY --exclude`/`ADD --exclude`",
        }
    }
}

/// A parsed Containerfile: its instructions with line numbers, and its escape character.
///
/// It owns plain data only (the text it was parsed from, and per instruction its words
/// and byte ranges), so it is `Send + Sync + 'static` and can be kept in place of the
/// text: parse once, then [`analyze`](Containerfile::analyze) and
/// [`rewrite_references`](Containerfile::rewrite_references) as often as needed. It holds
/// no build arg values: those are given to each call. A clone copies the text and the
/// instructions (a few times the size of the text).
#[derive(Debug, Clone)]
pub struct Containerfile {
    /// The text as given to [`parse`]; error spans and rewrites index into it.
    source: String,
    escape: char,
    instructions: Vec<Instruction>,
}

/// Parse a Containerfile. Only syntax is checked here; variables are resolved by
/// [`Containerfile::analyze`].
pub fn parse(text: &str) -> Result<Containerfile, ParseError> {
    parse_all(text).map_err(|mut errors| errors.swap_remove(0))
}

/// [`parse`], going on past an instruction that fails to report every error (at
/// most 50), in file order. An error in the file's structure (an unterminated
/// heredoc, a bad parser directive) stops at once.
pub fn parse_all(text: &str) -> Result<Containerfile, Vec<ParseError>> {
    let lexed = lexer::lex(text).map_err(|e| vec![e])?;
    let mut instructions = Vec::new();
    let mut errors = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut seen_from = false;
    for ll in &lexed.lines {
        if errors.len() >= analyze::MAX_ERRORS {
            break;
        }
        let ins = match parse_instruction(ll, lexed.escape) {
            Ok(ins) => ins,
            Err(e) => {
                // A broken FROM is still a FROM: what follows is not "before FROM".
                seen_from |= ll
                    .text
                    .get(..5)
                    .is_some_and(|w| w.eq_ignore_ascii_case("from "));
                errors.push(e);
                continue;
            }
        };
        match &ins.body {
            Body::From { alias, .. } => {
                seen_from = true;
                if let Some(a) = alias {
                    if !names.insert(a.name.clone()) {
                        errors.push(
                            ParseError::new(
                                ins.line,
                                format!("stage name `{}` is used twice", a.name),
                            )
                            .with_span(a.span),
                        );
                    }
                }
            }
            Body::Arg(_) => {}
            _ if !seen_from => {
                errors.push(
                    ParseError::new(
                        ins.line,
                        format!(
                            "{} before the first FROM: only ARG may come before FROM",
                            ins.keyword
                        ),
                    )
                    .with_span(ins.keyword_span),
                );
            }
            _ => {}
        }
        instructions.push(ins);
    }
    if !seen_from {
        let line = instructions.last().map_or(1, |i| i.line);
        errors.push(ParseError::new(line, "no FROM instruction"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Containerfile {
        source: text.to_string(),
        escape: lexed.escape,
        instructions,
    })
}

impl Containerfile {
    /// Resolve variables with the given build args, and report what the file depends on.
    pub fn analyze(&self, build_args: &BTreeMap<String, String>) -> Result<Analysis, ParseError> {
        analyze::analyze(self, build_args).map(|(a, _)| a)
    }

    /// [`Containerfile::analyze`], going on past an instruction that fails to
    /// report every error (at most 50), in file order.
    pub fn analyze_all(
        &self,
        build_args: &BTreeMap<String, String>,
    ) -> Result<Analysis, Vec<ParseError>> {
        let (analysis, _, errors) = analyze::analyze_all(self, build_args);
        if errors.is_empty() {
            Ok(analysis)
        } else {
            Err(errors)
        }
    }

    /// Return `text` with each external image reference for which `map` returns
    /// `Some(new)` replaced by `new` (the whole word: `FROM ${BASE}` becomes `FROM new`).
    /// Covers `FROM image`, `COPY`/`ADD --from=image` and `RUN --mount=...,from=image`;
    /// every other byte is unchanged.
    ///
    /// `text` should be the text this file was parsed from ([`Containerfile::text`]); if
    /// it is not, it is parsed afresh. `new` is inserted literally: it must not contain whitespace, `$`, quotes or
    /// (for mounts) commas, and should not equal a stage name of the file.
    pub fn rewrite_references(
        &self,
        text: &str,
        build_args: &BTreeMap<String, String>,
        map: &dyn Fn(&ImageReference) -> Option<String>,
    ) -> Result<String, ParseError> {
        rewrite::rewrite(self, text, build_args, map)
    }

    /// The text this file was parsed from: what [`ParseError::span`] and the spans used by
    /// [`Containerfile::rewrite_references`] index into.
    pub fn text(&self) -> &str {
        &self.source
    }

    /// The escape character: `\` unless a `# escape=` directive set `` ` ``.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// All instructions in file order.
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }

    /// `ARG`s declared before the first `FROM`, with their defaults as written.
    pub fn global_args(&self) -> Vec<(&str, Option<&str>)> {
        self.instructions
            .iter()
            .take_while(|i| i.keyword != Keyword::From)
            .filter_map(|i| match &i.body {
                Body::Arg(pairs) => Some(
                    pairs
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_ref().map(|t| t.raw.as_str()))),
                ),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The names of the variables `word` (written in this file, e.g. a reference's
    /// [`ImageReference::written`]) reads, in order, each once.
    pub fn variables_in(&self, word: &str) -> Vec<String> {
        expand::variables(word, self.escape)
    }

    /// The `ONBUILD` triggers the image this file builds carries: those of its
    /// last stage, or of stage `target` (by its `AS` name). They run in the
    /// build of every image `FROM` it, as if written after that `FROM`.
    pub fn onbuild_triggers(&self, target: Option<&str>) -> Vec<Trigger> {
        let target = target.map(str::to_ascii_lowercase);
        let mut stage: Vec<&Instruction> = Vec::new();
        for ins in &self.instructions {
            if matches!(ins.body, Body::From { .. }) {
                if target.is_some()
                    && stage.first().is_some_and(|f| match &f.body {
                        Body::From { alias: Some(a), .. } => Some(&a.name) == target.as_ref(),
                        _ => false,
                    })
                {
                    break;
                }
                stage.clear();
            }
            stage.push(ins);
        }
        stage
            .iter()
            .filter(|i| i.keyword == Keyword::Onbuild)
            .map(|i| {
                let mut text = format!("FROM scratch\n{}\n", i.arguments);
                for h in &i.heredocs {
                    text.push_str(&h.body);
                    text.push_str(&h.name);
                    text.push('\n');
                }
                Trigger {
                    line: i.line,
                    instruction: i.arguments.clone(),
                    text,
                }
            })
            .collect()
    }

    /// Every construct of this file that not every builder reads, with the line
    /// of the instruction that uses it, in file order.
    pub fn constructs(&self) -> Vec<(Construct, usize)> {
        let mut out = Vec::new();
        for ins in &self.instructions {
            if !ins.heredocs.is_empty() {
                out.push((Construct::Heredoc, ins.line));
            }
            if let Body::Copy { exclude, .. } = &ins.body {
                if !exclude.is_empty() {
                    out.push((Construct::CopyExclude, ins.line));
                }
            }
        }
        out
    }

    /// The `AS` names of the stages, one entry per `FROM` (lower-cased; `None` if unnamed).
    pub fn stage_names(&self) -> Vec<Option<&str>> {
        self.instructions
            .iter()
            .filter_map(|i| match &i.body {
                Body::From { alias, .. } => Some(alias.as_ref().map(|a| a.name.as_str())),
                _ => None,
            })
            .collect()
    }
}
