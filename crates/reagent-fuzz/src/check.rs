//! The properties every input must hold, per target.

use std::collections::BTreeMap;
use std::path::Path;

use reagent_containerfile::ParseError;
use reagent_graph::config::Config;
use reagent_graph::ProjectError;

use crate::run::shape;
use crate::Target;

/// A broken property: what was expected, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Fail with `message` unless `ok`.
fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure(message()))
    }
}

/// Run `target`'s parser on `input` and check its properties (see the crate's docs).
/// `Ok` holds the outcome's shape (`ok`, or the error message without numbers and
/// quoted words), by which the runner keeps inputs that reach something new.
/// reagent refuses a file that is not UTF-8 before parsing it, so such input is
/// parsed with its invalid bytes replaced. A panic is not caught here.
pub fn check(target: Target, input: &[u8]) -> Result<String, Failure> {
    let text = String::from_utf8_lossy(input);
    match target {
        Target::Containerfile => containerfile(&text),
        Target::Spec => spec(&text),
        Target::GraphToml => graph_toml(&text),
    }
}

/// How many lines `text` has: a last line without a line break counts, the empty
/// "line" after a final line break does not; an empty text has one (empty) line.
pub(crate) fn line_count(text: &str) -> usize {
    let breaks = memchr_count(text.as_bytes(), b'\n');
    if text.is_empty() || !text.ends_with('\n') {
        breaks + 1
    } else {
        breaks
    }
}

fn memchr_count(bytes: &[u8], b: u8) -> usize {
    memchr::memchr_iter(b, bytes).count()
}

/// The 1-based line holding byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    memchr_count(&text.as_bytes()[..offset.min(text.len())], b'\n') + 1
}

/// Build args every Containerfile is analysed with.
fn build_args() -> BTreeMap<String, String> {
    [
        ("A", "alpha"),
        ("V", "1.0"),
        ("BASE", "localhost/base"),
        ("TARGETARCH", "amd64"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// What every rewritten reference becomes: no stage can be named this.
const REWRITTEN: &str = "fuzz.example/rewritten:1";

fn containerfile(text: &str) -> Result<String, Failure> {
    let args = build_args();
    let file = match reagent_containerfile::parse(text) {
        Ok(file) => file,
        Err(e) => return parse_error(text, &e),
    };
    let analysis = match file.analyze(&args) {
        Ok(a) => a,
        Err(e) => return parse_error(text, &e),
    };
    // Round trip: rewrite every external reference, read the result again.
    let rewritten = file
        .rewrite_references(text, &args, &|_| Some(REWRITTEN.to_string()))
        .map_err(|e| Failure(format!("rewrite failed after analyze succeeded: {e}")))?;
    let again = reagent_containerfile::parse(&rewritten)
        .and_then(|f| f.analyze(&args))
        .map_err(|e| {
            Failure(format!(
                "the rewritten file does not read back: {e}\n---\n{rewritten}"
            ))
        })?;
    let kinds = |a: &reagent_containerfile::Analysis| {
        a.references
            .iter()
            .map(|r| (r.kind, r.line))
            .collect::<Vec<_>>()
    };
    ensure(kinds(&again) == kinds(&analysis), || {
        format!(
            "the rewritten file has other references: {:?}, was {:?}",
            kinds(&again),
            kinds(&analysis)
        )
    })?;
    ensure(
        again.references.iter().all(|r| r.resolved == REWRITTEN),
        || {
            format!(
                "a rewritten reference reads back otherwise: {:?}",
                again.references
            )
        },
    )?;
    ensure(again.stages.len() == analysis.stages.len(), || {
        "the rewritten file has another number of stages".to_string()
    })?;
    Ok("ok".to_string())
}

/// A Containerfile error: a line within the file; a span inside the text, on
/// character boundaries, not before that line.
fn parse_error(text: &str, e: &ParseError) -> Result<String, Failure> {
    let lines = line_count(text);
    ensure((1..=lines).contains(&e.line), || {
        format!("error line {} outside 1..={lines}: {e}", e.line)
    })?;
    ensure(!e.message.trim().is_empty(), || {
        format!("empty message: {e:?}")
    })?;
    ensure(
        e.to_string().starts_with(&format!("line {}: ", e.line)),
        || format!("Display does not start with the line: {e}"),
    )?;
    if let Some(span) = &e.span {
        ensure(
            span.start <= span.end
                && span.end <= text.len()
                && text.is_char_boundary(span.start)
                && text.is_char_boundary(span.end),
            || {
                format!(
                    "span {span:?} is not inside the text of {} bytes: {e}",
                    text.len()
                )
            },
        )?;
        let at = line_of(text, span.start);
        ensure(at >= e.line, || {
            format!("span {span:?} is on line {at}, before the error's line: {e}")
        })?;
    }
    Ok(shape(&e.message))
}

/// Placeholder values every spec is read with.
fn spec_vars() -> BTreeMap<String, String> {
    [
        ("TIMESTAMP", "20260101T000000Z"),
        ("TREEISH", "0123abcd"),
        ("REPO_DIR", "/r"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn spec(text: &str) -> Result<String, Failure> {
    let lines = line_count(text);
    for p in reagent_catalyst::placeholders(text) {
        ensure((1..=lines).contains(&p.line), || {
            format!("placeholder line {} outside 1..={lines}", p.line)
        })?;
    }
    let spec = match reagent_catalyst::parse(text, &spec_vars()) {
        Ok(spec) => spec,
        Err(e) => {
            ensure(e.line().is_none_or(|l| (1..=lines).contains(&l)), || {
                format!("error line {:?} outside 1..={lines}: {e}", e.line())
            })?;
            ensure(!e.to_string().trim().is_empty(), || {
                format!("empty message: {e:?}")
            })?;
            return Ok(shape(&e.to_string()));
        }
    };
    // Round trip: what is handed to catalyst reads back as the same entries.
    let rendered = spec.render();
    let again = reagent_catalyst::parse(&rendered, &BTreeMap::new()).map_err(|e| {
        Failure(format!(
            "the rendered spec does not read back: {e}\n---\n{rendered}"
        ))
    })?;
    // `raw` reads back the same, except where a key-line part with an edge quote had to
    // move to a continuation line (see `Spec::render`): then it gains a leading `\n`.
    let entries = |s: &reagent_catalyst::Spec| {
        s.entries()
            .iter()
            .map(|e| {
                let head = e.raw.split('\n').next().unwrap_or_default();
                let moved = head.starts_with('"') || head.ends_with('"');
                let raw = if moved {
                    format!("\n{}", e.raw)
                } else {
                    e.raw.clone()
                };
                (e.key.clone(), e.values.clone(), raw)
            })
            .collect::<Vec<_>>()
    };
    ensure(entries(&again) == entries(&spec), || {
        format!(
            "the rendered spec reads back otherwise:\n{:?}\nwas\n{:?}\n---\n{rendered}",
            entries(&again),
            entries(&spec)
        )
    })?;
    ensure(again.canonical() == spec.canonical(), || {
        "the rendered spec has other canonical bytes".to_string()
    })?;
    Ok("ok".to_string())
}

fn graph_toml(text: &str) -> Result<String, Failure> {
    let Err(errors) = Config::parse(text, Path::new("graph.toml")) else {
        return Ok("ok".to_string());
    };
    ensure(!errors.is_empty(), || {
        "an error list with no error".to_string()
    })?;
    let lines = line_count(text);
    for e in &errors {
        project_error(e, lines)?;
    }
    Ok(shape(&errors[0].message))
}

/// A `graph.toml` error: a message, a line within the file, an excerpt of one line
/// whose marked columns are inside it, on character boundaries.
fn project_error(e: &ProjectError, lines: usize) -> Result<(), Failure> {
    ensure(!e.message.trim().is_empty(), || {
        format!("empty message: {e:?}")
    })?;
    if let Some(line) = e.line {
        ensure((1..=lines).contains(&line), || {
            format!("error line {line} outside 1..={lines}: {e}")
        })?;
    }
    if let Some(x) = &e.excerpt {
        ensure(!x.text.contains('\n'), || {
            format!("excerpt holds a line break: {e:?}")
        })?;
        if let Some(c) = &x.columns {
            ensure(
                c.start <= c.end
                    && c.end <= x.text.len()
                    && x.text.is_char_boundary(c.start)
                    && x.text.is_char_boundary(c.end),
                || format!("columns {c:?} not inside the excerpt: {e:?}"),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_as_an_editor_shows_them() {
        assert_eq!(line_count(""), 1);
        assert_eq!(line_count("a"), 1);
        assert_eq!(line_count("a\n"), 1);
        assert_eq!(line_count("a\nb"), 2);
        assert_eq!(line_count("a\n\n"), 2);
    }

    #[test]
    fn valid_inputs_hold_every_property() {
        let cf = "ARG B=base\nFROM ${B} AS x\nCOPY --from=tools /a /b\nFROM x\n";
        assert_eq!(check(Target::Containerfile, cf.as_bytes()).unwrap(), "ok");
        assert_eq!(
            check(Target::Spec, b"target: snapshot\nodd: \"a\" b\n").unwrap(),
            "ok"
        );
        assert_eq!(
            check(Target::GraphToml, b"[project]\njobs = 0\n").unwrap(),
            "jobs must be at least , not "
        );
    }
}
