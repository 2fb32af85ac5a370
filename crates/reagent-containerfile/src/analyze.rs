//! Resolving variables and reporting what a Containerfile depends on: external images,
//! build-context files, remote sources, and its stages.

use std::collections::BTreeMap;

use crate::error::ParseError;
use crate::expand::{expand_word, MAX_TOTAL_EXPANSION};
use crate::instruction::{Body, MountField, Source};
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
}

/// A source `ADD` fetches over the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSource {
    /// 1-based line of the instruction.
    pub line: usize,
    /// The URL after substitution.
    pub url: String,
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
    let escape = cf.escape;
    let all_names: Vec<Option<String>> = cf
        .instructions
        .iter()
        .filter_map(|i| match &i.body {
            Body::From { alias, .. } => Some(alias.clone()),
            _ => None,
        })
        .collect();
    let mut out = Analysis::default();
    let mut spans = Vec::new();
    let mut globals: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    // Bytes of ARG and ENV values expanded so far (see MAX_TOTAL_EXPANSION).
    let mut held = 0usize;

    for ins in &cf.instructions {
        let line = ins.line;
        let mut hold = |bytes: usize| {
            held = held.saturating_add(bytes);
            if held > MAX_TOTAL_EXPANSION {
                Err(ParseError::new(
                    line,
                    format!(
                        "ARG and ENV values expand to more than {} MiB in all",
                        MAX_TOTAL_EXPANSION >> 20
                    ),
                ))
            } else {
                Ok(())
            }
        };
        let in_global = |globals: &BTreeMap<String, Option<String>>, w: &str| {
            let lookup = |n: &str| global_value(globals, build_args, n);
            expand_word(w, escape, &lookup).map_err(|m| ParseError::new(line, m))
        };
        let in_stage =
            |env: &BTreeMap<String, String>, args: &BTreeMap<String, String>, w: &str| {
                let lookup = |n: &str| env.get(n).or_else(|| args.get(n)).cloned();
                expand_word(w, escape, &lookup).map_err(|m| ParseError::new(line, m))
            };
        let current = out.stages.len().saturating_sub(1);

        match &ins.body {
            Body::From {
                platform,
                image,
                alias,
            } => {
                let resolved = in_global(&globals, &image.raw)?;
                if resolved.is_empty() {
                    return Err(ParseError::new(
                        line,
                        format!("FROM `{}` expands to an empty image name", image.raw),
                    ));
                }
                let platform = platform
                    .as_ref()
                    .map(|p| in_global(&globals, &p.raw))
                    .transpose()?;
                let index = out.stages.len();
                let lower = resolved.to_ascii_lowercase();
                let base_stage = all_names[..index.min(all_names.len())]
                    .iter()
                    .position(|n| n.as_deref() == Some(lower.as_str()));
                // `FROM x AS x` names image `x` (the stage does not exist yet); a stage
                // defined further down cannot be built from.
                if base_stage.is_none() {
                    if let Some(later) = all_names
                        .iter()
                        .skip(index + 1)
                        .position(|n| n.as_deref() == Some(lower.as_str()))
                    {
                        return Err(ParseError::new(
                            line,
                            format!(
                                "FROM `{resolved}` names stage `{lower}`, which comes later in the file (stage {})",
                                index + 1 + later
                            ),
                        ));
                    }
                }
                if base_stage.is_none() && !resolved.eq_ignore_ascii_case("scratch") {
                    out.references.push(ImageReference {
                        line,
                        kind: ReferenceKind::From,
                        written: image.raw.clone(),
                        resolved: resolved.clone(),
                        stage: index,
                    });
                    spans.push(image.span);
                }
                out.stages.push(StageInfo {
                    name: alias.clone(),
                    base_written: image.raw.clone(),
                    base_resolved: resolved,
                    base_stage,
                    line,
                    platform,
                });
                env.clear();
                args.clear();
            }
            Body::Arg(pairs) => {
                if out.stages.is_empty() {
                    for (name, default) in pairs {
                        let value = match (build_args.get(name), default) {
                            (Some(v), _) => Some(v.clone()),
                            (None, Some(d)) => Some(in_global(&globals, d)?),
                            (None, None) => None,
                        };
                        hold(value.as_ref().map_or(0, String::len))?;
                        globals.insert(name.clone(), value);
                    }
                } else {
                    for (name, default) in pairs {
                        let value = match (build_args.get(name), default) {
                            (Some(v), _) => Some(v.clone()),
                            (None, Some(d)) => Some(in_stage(&env, &args, d)?),
                            (None, None) => globals.get(name).cloned().flatten(),
                        };
                        hold(value.as_ref().map_or(0, String::len))?;
                        match value {
                            Some(v) => args.insert(name.clone(), v),
                            None => args.remove(name),
                        };
                    }
                }
            }
            Body::Env(pairs) => {
                // All values see the environment from before this instruction.
                let values = pairs
                    .iter()
                    .map(|(n, v)| Ok((n.clone(), in_stage(&env, &args, v)?)))
                    .collect::<Result<Vec<_>, ParseError>>()?;
                hold(values.iter().map(|(_, v)| v.len()).sum())?;
                env.extend(values);
            }
            Body::Copy { add, from, sources } => {
                let keyword = if *add { Keyword::Add } else { Keyword::Copy };
                if let Some(from) = from {
                    let resolved = in_stage(&env, &args, &from.raw)?;
                    if resolve_stage(
                        &resolved,
                        &all_names,
                        current,
                        line,
                        &format!("{keyword} --from"),
                    )?
                    .is_none()
                    {
                        out.references.push(ImageReference {
                            line,
                            kind: ReferenceKind::CopyFrom,
                            written: from.raw.clone(),
                            resolved,
                            stage: current,
                        });
                        spans.push(from.span);
                    }
                    continue;
                }
                for source in sources {
                    let Source::Word(word) = source else { continue };
                    let path = in_stage(&env, &args, word)?;
                    if is_remote(&path) {
                        if !*add {
                            return Err(ParseError::new(
                                line,
                                format!("COPY cannot fetch `{path}`: use ADD for URLs"),
                            ));
                        }
                        out.remote_sources.push(RemoteSource { line, url: path });
                    } else {
                        out.context_sources.push(ContextSource {
                            line,
                            instruction: keyword.to_string(),
                            path,
                        });
                    }
                }
            }
            Body::Run { mounts } => {
                for fields in mounts {
                    let get = |keys: &[&str]| -> Option<&MountField> {
                        fields.iter().find(|f| keys.contains(&f.key.as_str()))
                    };
                    let kind = match get(&["type"]) {
                        Some(f) => in_stage(&env, &args, &f.value.raw)?,
                        None => "bind".to_string(),
                    };
                    if kind != "bind" && kind != "cache" {
                        continue;
                    }
                    if let Some(from) = get(&["from"]) {
                        let resolved = in_stage(&env, &args, &from.value.raw)?;
                        if resolved.is_empty() {
                            return Err(ParseError::new(line, "`--mount` has an empty `from=`"));
                        }
                        if resolve_stage(&resolved, &all_names, current, line, "RUN --mount from")?
                            .is_none()
                        {
                            out.references.push(ImageReference {
                                line,
                                kind: ReferenceKind::MountFrom,
                                written: from.value.raw.clone(),
                                resolved,
                                stage: current,
                            });
                            spans.push(from.value.span);
                        }
                    } else if kind == "bind" {
                        let path = match get(&["source", "src"]) {
                            Some(f) => in_stage(&env, &args, &f.value.raw)?,
                            None => ".".to_string(),
                        };
                        out.context_sources.push(ContextSource {
                            line,
                            instruction: "RUN --mount".to_string(),
                            path: if path.is_empty() {
                                ".".to_string()
                            } else {
                                path
                            },
                        });
                    }
                }
            }
            Body::Other => {}
        }
    }
    Ok((out, spans))
}

/// A variable's value in the global scope (before the first `FROM`).
fn global_value(
    globals: &BTreeMap<String, Option<String>>,
    build_args: &BTreeMap<String, String>,
    n: &str,
) -> Option<String> {
    match globals.get(n) {
        Some(v) => v.clone(),
        None if AUTOMATIC_ARGS.contains(&n) => build_args.get(n).cloned(),
        None => None,
    }
}

/// Does `name` (a `--from` value) name a stage before `current`? `Ok(None)`: an image.
fn resolve_stage(
    name: &str,
    names: &[Option<String>],
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
    match names
        .iter()
        .position(|n| n.as_deref() == Some(lower.as_str()))
    {
        Some(i) if i < current => Ok(Some(i)),
        Some(_) => Err(ParseError::new(
            line,
            format!("`{what}={name}`: stage `{lower}` is not an earlier stage"),
        )),
        None => Ok(None),
    }
}
