//! Instructions: keyword, flags and arguments, checked for syntax but not yet expanded.

use crate::error::ParseError;
use crate::expand::check_word;
use crate::keyword::{Keyword, UnknownKeyword};
use crate::lexer::{Heredoc, LogicalLine};
use crate::words::{heredoc_marker, quoted_words, split_plain, split_quoted, Range};

/// One instruction of a Containerfile.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// The keyword (written in any case; shown upper-cased).
    pub keyword: Keyword,
    /// Everything after the keyword, continuation lines joined, not expanded.
    pub arguments: String,
    /// Heredoc bodies that follow the instruction (`RUN`, `COPY`, `ADD` only).
    pub heredocs: Vec<Heredoc>,
    /// Where the keyword is in the original text.
    pub(crate) keyword_span: Range,
    pub(crate) body: Body,
}

/// A word as written, with its byte range in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub raw: String,
    pub span: Range,
}

/// A `COPY`/`ADD` source before expansion.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A path, glob or URL, still to be expanded; `span` is `None` in the exec (JSON)
    /// form, where a word's bytes are not those of the text.
    Word { raw: String, span: Option<Range> },
    /// `<<EOF`: content comes from the heredoc, not the context.
    Heredoc,
}

/// The `AS` name of a stage.
#[derive(Debug, Clone)]
pub(crate) struct StageName {
    /// Lower-cased: stage names are case-insensitive.
    pub name: String,
    /// Where the name is in the original text.
    pub span: Range,
}

/// One `key=value` field of a `RUN --mount`.
#[derive(Debug, Clone)]
pub(crate) struct MountField {
    pub key: String,
    pub value: Token,
}

/// What the analysis needs to know about an instruction.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    From {
        platform: Option<Token>,
        image: Token,
        alias: Option<StageName>,
    },
    /// Names with their default values, if any.
    Arg(Vec<(String, Option<Token>)>),
    Env(Vec<(String, Token)>),
    Copy {
        add: bool,
        from: Option<Token>,
        sources: Vec<Source>,
        /// `--exclude=` patterns, as written.
        exclude: Vec<Token>,
    },
    Run {
        mounts: Vec<Vec<MountField>>,
    },
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    Value,
    Bool,
    Repeat,
}

/// The flags an instruction accepts; an instruction without any takes `--x` as an argument.
fn flag_spec(keyword: Keyword) -> &'static [(&'static str, FlagKind)] {
    use FlagKind::{Bool, Repeat, Value};
    match keyword {
        Keyword::From => &[("platform", Value)],
        Keyword::Copy => &[
            ("from", Value),
            ("chown", Value),
            ("chmod", Value),
            ("link", Bool),
            ("parents", Bool),
            ("exclude", Repeat),
        ],
        Keyword::Add => &[
            ("from", Value),
            ("chown", Value),
            ("chmod", Value),
            ("link", Bool),
            ("checksum", Value),
            ("keep-git-dir", Bool),
            ("exclude", Repeat),
        ],
        Keyword::Run => &[("mount", Repeat), ("network", Value), ("security", Value)],
        Keyword::Healthcheck => &[
            ("interval", Value),
            ("timeout", Value),
            ("start-period", Value),
            ("start-interval", Value),
            ("retries", Value),
        ],
        _ => &[],
    }
}

/// A parsed `--name[=value]` flag; `value` is a range of the logical text.
struct Flag {
    name: String,
    value: Option<Range>,
}

/// Parse leading flags of `ll.text[from..]`; return them and where the arguments start.
fn flags(
    ll: &LogicalLine,
    from: usize,
    keyword: Keyword,
    escape: char,
) -> Result<(Vec<Flag>, usize), ParseError> {
    let spec = flag_spec(keyword);
    let rest = &ll.text[from..];
    let mut out: Vec<Flag> = Vec::new();
    let mut args_start = ll.text.len();
    // The first word starts at the first non-whitespace character: if that does not
    // start `--`, there are no flags, and the arguments start there.
    let trimmed = rest.trim_start();
    if !trimmed.starts_with("--") {
        if !trimmed.is_empty() {
            args_start = ll.text.len() - trimmed.len();
        }
        return Ok((out, args_start));
    }
    // Only the leading words are read: the first that is not a flag ends the loop.
    for (a, b) in quoted_words(rest, escape) {
        let word = &rest[a..b];
        if word == "--" {
            args_start = from + b;
            break;
        }
        let Some(body) = word.strip_prefix("--") else {
            args_start = from + a;
            break;
        };
        if spec.is_empty() {
            // Instructions without flags: `--x` is an ordinary argument.
            args_start = from + a;
            break;
        }
        let (name, value) = match body.split_once('=') {
            Some((n, _)) => (n, Some((from + a + 2 + n.len() + 1, from + b))),
            None => (body, None),
        };
        // `--name`, without the value.
        let flag_span = ll.original((from + a, from + a + 2 + name.len()));
        let Some((_, kind)) = spec.iter().find(|(n, _)| *n == name) else {
            return Err(
                ParseError::new(ll.line, format!("unknown flag `--{name}` for {keyword}"))
                    .with_span(flag_span),
            );
        };
        if *kind != FlagKind::Repeat && out.iter().any(|f| f.name == name) {
            return Err(
                ParseError::new(ll.line, format!("flag `--{name}` given twice"))
                    .with_span(flag_span),
            );
        }
        check_flag_value(ll, name, *kind, value, escape).map_err(|e| match e.span {
            Some(_) => e,
            None => e.with_span(flag_span),
        })?;
        out.push(Flag {
            name: name.to_string(),
            value,
        });
    }
    Ok((out, args_start))
}

/// Check that flag `--name` of `kind` has the value it needs (`value` is a range of the
/// logical text), and that the value is a well-formed word. An error about the value
/// points at the value; one about a missing value has no span (the caller adds it).
fn check_flag_value(
    ll: &LogicalLine,
    name: &str,
    kind: FlagKind,
    value: Option<Range>,
    escape: char,
) -> Result<(), ParseError> {
    match (kind, value) {
        (FlagKind::Bool, Some(r)) => {
            let v = &ll.text[r.0..r.1];
            if v != "true" && v != "false" {
                return Err(ParseError::new(
                    ll.line,
                    format!("flag `--{name}` takes true or false, not `{v}`"),
                )
                .with_span(ll.original(r)));
            }
        }
        (FlagKind::Value | FlagKind::Repeat, None) => {
            return Err(ParseError::new(
                ll.line,
                format!("flag `--{name}` needs a value (`--{name}=...`)"),
            ));
        }
        // `--mount` values are checked field by field in `mount_fields`.
        (_, Some(r)) if name != "mount" => {
            check_word(&ll.text[r.0..r.1], escape).map_err(|m| {
                ParseError::new(ll.line, format!("in `--{name}`: {m}")).with_span(ll.original(r))
            })?;
        }
        _ => {}
    }
    Ok(())
}

fn token(ll: &LogicalLine, r: Range) -> Token {
    Token {
        raw: ll.text[r.0..r.1].to_string(),
        span: ll.original(r),
    }
}

/// A valid stage name: a letter, then letters, digits, `-`, `_`, `.`.
pub(crate) fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An instruction split into keyword, flags and arguments: what the parser of each
/// instruction kind works from.
struct Parts<'a> {
    ll: &'a LogicalLine,
    keyword: Keyword,
    escape: char,
    flags: Vec<Flag>,
    /// Where the arguments start in `ll.text`.
    args_start: usize,
}

impl Parts<'_> {
    /// 1-based line where the instruction starts.
    fn line(&self) -> usize {
        self.ll.line
    }

    /// The text after the flags, not trimmed.
    fn args(&self) -> &str {
        &self.ll.text[self.args_start..]
    }

    /// The value of the first `--name=value` flag, as a range of the logical text.
    fn flag_value(&self, name: &str) -> Option<Range> {
        self.flags
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.value)
    }

    /// The word at `(a, b)` of [`Parts::args`], with its span in the original text.
    fn arg_token(&self, (a, b): Range) -> Token {
        token(self.ll, (self.args_start + a, self.args_start + b))
    }

    /// The span in the original text of `(a, b)` of [`Parts::args`].
    fn arg_span(&self, (a, b): Range) -> Range {
        self.ll.original((self.args_start + a, self.args_start + b))
    }

    /// An error at this instruction's line.
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.line(), message)
    }

    /// Check the syntax of a word (quotes, `${...}`) without expanding it; an error points
    /// at `span` when given.
    fn check(&self, word: &str, span: Option<Range>) -> Result<(), ParseError> {
        check_word(word, self.escape).map_err(|m| self.error(m).with_span(span))
    }

    /// Check the syntax of the word at `(a, b)` of [`Parts::args`].
    fn check_arg(&self, (a, b): Range) -> Result<(), ParseError> {
        self.check(&self.args()[a..b], Some(self.arg_span((a, b))))
    }

    /// Exec form: `["a", "b"]`. `Ok(None)` means shell form. Text starting with `["` must
    /// be valid JSON (Docker would silently fall back to shell form, which hides typos).
    fn json_form(&self) -> Result<Option<Vec<String>>, ParseError> {
        let args = self.args();
        let t = args.trim();
        if !t.starts_with('[') {
            return Ok(None);
        }
        match serde_json::from_str::<Vec<String>>(t) {
            Ok(v) => Ok(Some(v)),
            Err(e) if t.starts_with("[\"") => {
                let start = args.len() - args.trim_start().len();
                Err(self
                    .error(format!("malformed JSON array: {e}"))
                    .with_span(self.arg_span((start, start + t.len()))))
            }
            Err(_) => Ok(None),
        }
    }
}

/// Parse one logical line into an instruction.
pub(crate) fn parse_instruction(ll: &LogicalLine, escape: char) -> Result<Instruction, ParseError> {
    let kw_len = ll.text.find(char::is_whitespace).unwrap_or(ll.text.len());
    let keyword_span = ll.original((0, kw_len));
    let keyword: Keyword = ll.text[..kw_len].parse().map_err(|e: UnknownKeyword| {
        ParseError::new(ll.line, e.to_string()).with_span(keyword_span)
    })?;
    let (flags, args_start) = flags(ll, kw_len, keyword, escape)?;
    let p = Parts {
        ll,
        keyword,
        escape,
        flags,
        args_start,
    };
    let body = match keyword {
        Keyword::From => from_body(&p)?,
        Keyword::Arg => Body::Arg(assignments(&p)?),
        // `assignments` gives every ENV name a value (or fails).
        Keyword::Env => Body::Env(
            assignments(&p)?
                .into_iter()
                .filter_map(|(n, v)| Some((n, v?)))
                .collect(),
        ),
        Keyword::Copy | Keyword::Add => copy_body(&p)?,
        Keyword::Run => run_body(&p)?,
        Keyword::Cmd | Keyword::Entrypoint => {
            p.json_form()?;
            Body::Other
        }
        Keyword::Shell => {
            if p.json_form()?.is_none() {
                return Err(p.error("SHELL needs a JSON array, e.g. SHELL [\"/bin/sh\", \"-c\"]"));
            }
            Body::Other
        }
        Keyword::Onbuild => {
            check_onbuild_trigger(&p)?;
            Body::Other
        }
        Keyword::Workdir
        | Keyword::User
        | Keyword::Label
        | Keyword::Expose
        | Keyword::Stopsignal
        | Keyword::Volume => {
            check_words(&p)?;
            Body::Other
        }
        Keyword::Maintainer | Keyword::Healthcheck => Body::Other,
    };
    Ok(Instruction {
        line: ll.line,
        keyword,
        arguments: ll.text[kw_len..].trim().to_string(),
        heredocs: ll.heredocs.clone(),
        keyword_span,
        body,
    })
}

/// `FROM [--platform=p] image [AS name]`.
fn from_body(p: &Parts<'_>) -> Result<Body, ParseError> {
    let args = p.args();
    let words = split_plain(args);
    let (image, alias) = match words.as_slice() {
        [img] => (*img, None),
        [img, as_kw, name_at] if args[as_kw.0..as_kw.1].eq_ignore_ascii_case("as") => {
            let name = &args[name_at.0..name_at.1];
            let span = p.arg_span(*name_at);
            if !valid_stage_name(name) {
                return Err(p
                    .error(format!("invalid stage name `{name}`"))
                    .with_span(span));
            }
            let name = name.to_ascii_lowercase();
            (*img, Some(StageName { name, span }))
        }
        _ => return Err(p.error("FROM needs an image, optionally followed by `AS name`")),
    };
    let image = p.arg_token(image);
    p.check(&image.raw, Some(image.span))?;
    Ok(Body::From {
        platform: p.flag_value("platform").map(|r| token(p.ll, r)),
        image,
        alias,
    })
}

/// The `name[=value]` pairs of `ARG` or `ENV` (a value is required for `ENV`), including
/// the legacy `ENV name value with spaces` form.
fn assignments(p: &Parts<'_>) -> Result<Vec<(String, Option<Token>)>, ParseError> {
    let args = p.args();
    let words = split_quoted(args, p.escape);
    let Some(&first) = words.first() else {
        return Err(p.error(format!("{} needs at least one argument", p.keyword)));
    };
    if p.keyword == Keyword::Env && !args[first.0..first.1].contains('=') {
        return legacy_env(p, first).map(|pair| vec![pair]);
    }
    let mut pairs = Vec::new();
    for (a, b) in words {
        let w = &args[a..b];
        let (name, value) = match w.split_once('=') {
            Some((n, _)) => (n, Some(p.arg_token((a + n.len() + 1, b)))),
            None if p.keyword == Keyword::Arg => (w, None),
            None => {
                return Err(p
                    .error(format!("ENV `{w}` has no `=value`"))
                    .with_span(p.arg_span((a, b))))
            }
        };
        if name.is_empty() {
            return Err(p
                .error(format!("{} name is empty in `{w}`", p.keyword))
                .with_span(p.arg_span((a, b))));
        }
        if let Some(c) = name.chars().find(|c| !name_char(*c)) {
            return Err(p
                .error(format!(
                    "{} name `{name}` holds `{c}`: a variable name cannot be referenced with it",
                    p.keyword
                ))
                .with_span(p.arg_span((a, a + name.len()))));
        }
        if let Some(v) = &value {
            p.check(&v.raw, Some(v.span))?;
        }
        pairs.push((name.to_string(), value));
    }
    Ok(pairs)
}

/// Whether `c` may be part of an `ARG`/`ENV` name: anything but what quotes, escapes or
/// substitutes (`$`, `{`, `}`, quotes, the escape characters), `=` and whitespace.
fn name_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '$' | '{' | '}' | '"' | '\'' | '`' | '\\' | '='))
}

/// `ENV name value with spaces`: everything after the name (at `(a, b)` of the
/// arguments) is the value.
fn legacy_env(p: &Parts<'_>, (a, b): Range) -> Result<(String, Option<Token>), ParseError> {
    let args = p.args();
    let name = &args[a..b];
    let after = &args[b..];
    let value = after.trim();
    if value.is_empty() {
        return Err(p
            .error(format!("ENV `{name}` needs a value"))
            .with_span(p.arg_span((a, b))));
    }
    if let Some(c) = name.chars().find(|c| !name_char(*c)) {
        return Err(p
            .error(format!(
                "ENV name `{name}` holds `{c}`: a variable name cannot be referenced with it"
            ))
            .with_span(p.arg_span((a, b))));
    }
    let start = b + (after.len() - after.trim_start().len());
    let value = p.arg_token((start, start + value.len()));
    p.check(&value.raw, Some(value.span))?;
    Ok((name.to_string(), Some(value)))
}

/// `COPY`/`ADD` in exec or shell form: every argument but the last is a source.
fn copy_body(p: &Parts<'_>) -> Result<Body, ParseError> {
    let args = p.args();
    let mut sources = Vec::new();
    let count;
    if let Some(items) = p.json_form()? {
        count = items.len();
        for s in items.iter().take(count.saturating_sub(1)) {
            p.check(s, None)?;
            sources.push(Source::Word {
                raw: s.clone(),
                span: None,
            });
        }
    } else {
        let words = split_plain(args);
        count = words.len();
        for (a, b) in words.iter().take(count.saturating_sub(1)) {
            let w = &args[*a..*b];
            let is_heredoc = heredoc_marker(w)
                .is_some_and(|(n, _, _)| p.ll.heredocs.iter().any(|h| h.name == n));
            if is_heredoc {
                sources.push(Source::Heredoc);
            } else {
                p.check_arg((*a, *b))?;
                sources.push(Source::Word {
                    raw: w.to_string(),
                    span: Some(p.arg_span((*a, *b))),
                });
            }
        }
    }
    if count < 2 {
        return Err(p.error(format!(
            "{} needs at least two arguments: a source and a destination",
            p.keyword
        )));
    }
    Ok(Body::Copy {
        add: p.keyword == Keyword::Add,
        from: p.flag_value("from").map(|r| token(p.ll, r)),
        sources,
        exclude: p
            .flags
            .iter()
            .filter(|f| f.name == "exclude")
            .filter_map(|f| f.value.map(|r| token(p.ll, r)))
            .collect(),
    })
}

/// `RUN`: check `--network`/`--security`, split each `--mount`, and require a command.
fn run_body(p: &Parts<'_>) -> Result<Body, ParseError> {
    for (name, allowed) in [
        ("network", &["default", "none", "host"][..]),
        ("security", &["sandbox", "insecure"][..]),
    ] {
        if let Some(r) = p.flag_value(name) {
            let v = &p.ll.text[r.0..r.1];
            if !v.contains('$') && !allowed.contains(&v) {
                return Err(p
                    .error(format!(
                        "`--{name}={v}`: expected one of {}",
                        allowed.join(", ")
                    ))
                    .with_span(p.ll.original(r)));
            }
        }
    }
    let mut mounts = Vec::new();
    for f in p.flags.iter().filter(|f| f.name == "mount") {
        if let Some(r) = f.value {
            mounts.push(mount_fields(p.ll, r, p.escape)?);
        }
    }
    p.json_form()?;
    if p.args().trim().is_empty() && p.ll.heredocs.is_empty() {
        return Err(p.error("RUN needs a command"));
    }
    Ok(Body::Run { mounts })
}

/// `ONBUILD` takes any instruction except `ONBUILD`, `FROM` and `MAINTAINER`.
fn check_onbuild_trigger(p: &Parts<'_>) -> Result<(), ParseError> {
    let args = p.args();
    let at = split_plain(args).first().copied();
    let inner = at.map_or("", |(a, b)| &args[a..b]);
    let span = at.map(|r| p.arg_span(r));
    match inner.parse::<Keyword>() {
        Ok(k @ (Keyword::Onbuild | Keyword::From | Keyword::Maintainer)) => Err(p
            .error(format!("{k} is not allowed in ONBUILD"))
            .with_span(span)),
        Ok(_) => Ok(()),
        Err(_) => Err(p
            .error(format!(
                "unknown instruction `{}` in ONBUILD",
                inner.to_ascii_uppercase()
            ))
            .with_span(span)),
    }
}

/// Instructions whose shell-form words are only checked for syntax (`WORKDIR`, `LABEL`, ...).
fn check_words(p: &Parts<'_>) -> Result<(), ParseError> {
    if p.json_form()?.is_none() {
        for r in split_quoted(p.args(), p.escape) {
            p.check_arg(r)?;
        }
    }
    Ok(())
}

/// Split a `--mount` value into its comma-separated fields, keeping original spans.
fn mount_fields(
    ll: &LogicalLine,
    (mut a, mut b): Range,
    escape: char,
) -> Result<Vec<MountField>, ParseError> {
    let raw = &ll.text[a..b];
    if raw.len() >= 2
        && (raw.starts_with('"') && raw.ends_with('"')
            || raw.starts_with('\'') && raw.ends_with('\''))
    {
        a += 1;
        b -= 1;
    }
    let mut fields = Vec::new();
    let mut pos = a;
    for part in ll.text[a..b].split(',') {
        let start = pos;
        pos += part.len() + 1;
        if part.trim().is_empty() {
            continue;
        }
        let (key, vr) = match part.split_once('=') {
            Some((k, v)) => (k, (start + k.len() + 1, start + k.len() + 1 + v.len())),
            None => (part, (start + part.len(), start + part.len())),
        };
        let value = token(ll, vr);
        check_word(&value.raw, escape)
            .map_err(|m| ParseError::new(ll.line, m).with_span(value.span))?;
        fields.push(MountField {
            key: key.trim().to_ascii_lowercase(),
            value,
        });
    }
    check_mount(&fields, ll.line).map_err(|e| match e.span {
        Some(_) => e,
        None => e.with_span(ll.original((a, b))),
    })?;
    Ok(fields)
}

/// A literal mount type must be known, and `bind`, `cache` and `tmpfs` need a target.
/// An unknown type points at the type; a missing target has no span (the caller points
/// at the whole mount).
fn check_mount(fields: &[MountField], line: usize) -> Result<(), ParseError> {
    let get = |k: &[&str]| {
        fields
            .iter()
            .find(|f| k.contains(&f.key.as_str()))
            .map(|f| &f.value)
    };
    let type_field = get(&["type"]);
    let kind = type_field.map_or("bind", |t| t.raw.as_str());
    if kind.contains('$') {
        return Ok(());
    }
    if !matches!(kind, "bind" | "cache" | "tmpfs" | "secret" | "ssh") {
        return Err(
            ParseError::new(line, format!("unknown mount type `{kind}`"))
                .with_span(type_field.map(|t| t.span)),
        );
    }
    if matches!(kind, "bind" | "cache" | "tmpfs")
        && get(&["target", "dst", "destination"]).is_none()
    {
        return Err(ParseError::new(
            line,
            format!("`--mount=type={kind}` needs a target"),
        ));
    }
    Ok(())
}
