//! From text to logical lines: parser directives, comments, blank lines, line continuations
//! and heredoc bodies. Each logical line remembers where each of its joined pieces came
//! from in the original text, so that words can be rewritten in place.

use crate::error::ParseError;
use crate::keyword::Keyword;
use crate::words::{heredoc_marker, split_quoted, Range};

/// A heredoc attached to a `RUN`, `COPY` or `ADD` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word, without quotes (`EOF` for `<<"EOF"`).
    pub name: String,
    /// The body, one `\n`-terminated line per source line, tabs stripped for `<<-`.
    pub body: String,
    /// `false` when the delimiter was quoted: the body is then taken literally.
    pub expand: bool,
    /// `true` for `<<-`: leading tabs are stripped from the body and the delimiter line.
    pub strip_tabs: bool,
}

/// One instruction's text after joining continuation lines.
#[derive(Debug, Clone)]
pub(crate) struct LogicalLine {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// The joined text, leading whitespace removed.
    pub text: String,
    /// The pieces `text` is joined from, in order, none empty: `(start in text, start in
    /// the original text)`. A piece runs to the next one's start (or the end of `text`),
    /// byte for byte as in the original.
    pub pieces: Vec<(usize, usize)>,
    /// Offset just past the last byte of the instruction's own text (before any heredoc body).
    pub end: usize,
    /// Heredoc bodies that follow the instruction.
    pub heredocs: Vec<Heredoc>,
}

impl LogicalLine {
    /// Where byte `i` of `text` is in the original text; `None` past its end.
    fn offset(&self, i: usize) -> Option<usize> {
        if i >= self.text.len() {
            return None;
        }
        // The last piece starting at or before `i`: the first starts at 0.
        let k = self.pieces.partition_point(|&(t, _)| t <= i);
        let (t, o) = self.pieces[k.checked_sub(1)?];
        Some(o + (i - t))
    }

    /// Map a byte range of `text` to a byte range of the original text.
    pub fn original(&self, (a, b): (usize, usize)) -> (usize, usize) {
        if a >= b {
            let at = self.offset(a).unwrap_or(self.end);
            return (at, at);
        }
        match (self.offset(a), self.offset(b - 1)) {
            (Some(s), Some(e)) => (s, e + 1),
            _ => (self.end, self.end),
        }
    }
}

/// The result of lexing a whole file.
#[derive(Debug, Clone)]
pub(crate) struct Lexed {
    pub escape: char,
    pub lines: Vec<LogicalLine>,
}

/// Physical lines: (offset of first byte, content without `\n` / `\r\n`).
fn physical_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for piece in text.split_inclusive('\n') {
        let mut content = piece.strip_suffix('\n').unwrap_or(piece);
        content = content.strip_suffix('\r').unwrap_or(content);
        let (start, content) = match (pos, content.strip_prefix('\u{feff}')) {
            (0, Some(rest)) => (3, rest),
            _ => (pos, content),
        };
        out.push((start, content));
        pos += piece.len();
    }
    out
}

/// A parser directive `# name=value`, with where its words are in the line.
struct Directive {
    /// Lower-cased.
    name: String,
    name_at: Range,
    value: String,
    value_at: Range,
}

/// `# name=value` at the top of the file.
fn directive(line: &str) -> Option<Directive> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (name, value) = rest.split_once('=')?;
    let trimmed = name.trim();
    if trimmed.is_empty() || !trimmed.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    // `rest` ends the line; `name`, `=` and `value` follow each other in it.
    let name_at = line.len() - rest.len() + (name.len() - name.trim_start().len());
    let value_trimmed = value.trim();
    let value_at = line.len() - value.len() + (value.len() - value.trim_start().len());
    Some(Directive {
        name: trimmed.to_ascii_lowercase(),
        name_at: (name_at, name_at + trimmed.len()),
        value: value_trimmed.to_string(),
        value_at: (value_at, value_at + value_trimmed.len()),
    })
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// If the line ends with the escape character (trailing spaces/tabs allowed), return the
/// content before it.
fn continued(line: &str, escape: char) -> Option<&str> {
    line.trim_end_matches([' ', '\t']).strip_suffix(escape)
}

/// Split `text` into logical lines.
pub(crate) fn lex(text: &str) -> Result<Lexed, ParseError> {
    let lines = physical_lines(text);
    let (escape, mut i) = directives(&lines)?;
    let mut out = Vec::new();
    while i < lines.len() {
        if is_comment_or_blank(lines[i].1) {
            i += 1;
            continue;
        }
        let Some(mut ll) = join_continuations(&lines, &mut i, escape) else {
            continue;
        };
        ll.heredocs = heredocs(&ll, &lines, &mut i, escape)?;
        out.push(ll);
    }
    Ok(Lexed { escape, lines: out })
}

/// Read the parser directives at the top of the file: the escape character and the index
/// of the first line after them.
fn directives(lines: &[(usize, &str)]) -> Result<(char, usize), ParseError> {
    let mut escape = '\\';
    let mut seen = Vec::new();
    // Only at the very top: the first non-directive line ends them.
    for (i, (offset, line)) in lines.iter().enumerate() {
        let Some(d) = directive(line) else {
            return Ok((escape, i));
        };
        let span = |(a, b): Range| (offset + a, offset + b);
        if seen.contains(&d.name) {
            return Err(ParseError::new(
                i + 1,
                format!("parser directive `{}` given twice", d.name),
            )
            .with_span(span(d.name_at)));
        }
        match d.name.as_str() {
            "escape" => {
                escape = match d.value.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(ParseError::new(
                            i + 1,
                            format!("invalid escape character `{}`: must be ` or \\", d.value),
                        )
                        .with_span(span(d.value_at)))
                    }
                }
            }
            "syntax" | "check" => {}
            // An unknown directive is a comment, and ends directive processing.
            _ => return Ok((escape, i)),
        }
        seen.push(d.name);
    }
    Ok((escape, lines.len()))
}

/// Join the instruction starting at `lines[*i]` with its continuation lines, skipping
/// comment and blank lines inside it, and leave `*i` after its last line. `None` when
/// the lines hold nothing but escape characters.
fn join_continuations(lines: &[(usize, &str)], i: &mut usize, escape: char) -> Option<LogicalLine> {
    let start_line = *i + 1;
    let mut text = String::new();
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    let (first_off, first) = lines[*i];
    let trimmed = first.trim_start();
    let mut off = first_off + (first.len() - trimmed.len());
    let mut content = trimmed;
    let mut end;
    loop {
        let (part, more) = match continued(content, escape) {
            Some(p) => (p, true),
            None => (content, false),
        };
        if !part.is_empty() {
            pieces.push((text.len(), off));
        }
        text.push_str(part);
        end = off + part.len();
        *i += 1;
        if !more {
            break;
        }
        // Comment and blank lines inside a continuation are skipped.
        while *i < lines.len() && is_comment_or_blank(lines[*i].1) {
            *i += 1;
        }
        if *i >= lines.len() {
            break;
        }
        (off, content) = lines[*i];
    }
    // A continuation can start the instruction on a later line, indented (even by
    // non-ASCII whitespace): the keyword is the first word, wherever it starts.
    let lead = text.len() - text.trim_start().len();
    if lead > 0 {
        text.drain(..lead);
        // Pieces wholly inside the lead go; the one it ends in starts later.
        let ends: Vec<usize> = pieces.iter().skip(1).map(|p| p.0).collect();
        let mut kept = Vec::with_capacity(pieces.len());
        for (k, &(t, o)) in pieces.iter().enumerate() {
            let end = ends.get(k).copied().unwrap_or(text.len() + lead);
            if end <= lead {
                continue;
            }
            kept.push(match t.checked_sub(lead) {
                Some(t) => (t, o),
                None => (0, o + (lead - t)),
            });
        }
        pieces = kept;
    }
    // Only escape characters and blank lines: nothing to run.
    (!text.is_empty()).then_some(LogicalLine {
        line: start_line,
        text,
        pieces,
        end,
        heredocs: Vec::new(),
    })
}

/// The heredoc bodies that follow `ll` (only `RUN`, `COPY` and `ADD` take them, also
/// as an `ONBUILD` trigger), read
/// from `lines[*i..]`; `*i` is left after the last delimiter line.
fn heredocs(
    ll: &LogicalLine,
    lines: &[(usize, &str)],
    i: &mut usize,
    escape: char,
) -> Result<Vec<Heredoc>, ParseError> {
    // Every heredoc marker holds `<<`: without one, there is nothing to look for (the
    // one-byte search is a memchr; most lines have no `<` at all).
    if !(ll.text.contains('<') && ll.text.contains("<<")) {
        return Ok(Vec::new());
    }
    let mut words = ll.text.split_whitespace();
    let mut keyword = words.next().unwrap_or("");
    let mut from = keyword.len();
    // `ONBUILD RUN <<EOF`: the trigger takes the heredocs its instruction would.
    if keyword.eq_ignore_ascii_case("onbuild") {
        keyword = words.next().unwrap_or("");
        from = ll.text[from..]
            .find(keyword)
            .map_or(ll.text.len(), |at| from + at + keyword.len());
    }
    if !keyword.parse().is_ok_and(Keyword::takes_heredocs) {
        return Ok(Vec::new());
    }
    let rest = &ll.text[from..];
    let mut out = Vec::new();
    for (a, b) in split_quoted(rest, escape) {
        let Some((name, strip_tabs, expand)) = heredoc_marker(&rest[a..b]) else {
            continue;
        };
        let Some(body) = heredoc_body(lines, i, &name, strip_tabs) else {
            return Err(ParseError::new(
                ll.line,
                format!("unterminated heredoc: no line `{name}` closes `<<{name}`"),
            )
            .with_span(ll.original((from + a, from + b))));
        };
        out.push(Heredoc {
            name,
            body,
            expand,
            strip_tabs,
        });
    }
    Ok(out)
}

/// The lines from `lines[*i]` up to the delimiter line `name`, each `\n`-terminated, with
/// leading tabs stripped for `<<-`; `*i` is left after the delimiter. `None` when no line
/// closes the heredoc.
fn heredoc_body(
    lines: &[(usize, &str)],
    i: &mut usize,
    name: &str,
    strip_tabs: bool,
) -> Option<String> {
    let mut body = String::new();
    while *i < lines.len() {
        let raw = lines[*i].1;
        *i += 1;
        let l = if strip_tabs {
            raw.trim_start_matches('\t')
        } else {
            raw
        };
        if l == name {
            return Some(body);
        }
        body.push_str(l);
        body.push('\n');
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_skips_comments_and_maps_offsets() {
        let src = "FROM a\nRUN echo \\\n# comment\n\n  b\n";
        let lx = lex(src).unwrap();
        assert_eq!(lx.lines.len(), 2);
        let run = &lx.lines[1];
        assert_eq!(run.line, 2);
        assert_eq!(run.text, "RUN echo   b");
        let b = run.text.find('b').unwrap();
        let (s, e) = run.original((b, b + 1));
        assert_eq!(&src[s..e], "b");
    }

    #[test]
    fn every_byte_maps_to_the_same_byte_of_the_original() {
        // Pieces from continuations, skipped comments, a lead of (non-ASCII)
        // whitespace dropped across pieces, CRLF, trailing blanks after the escape.
        let src = "\u{feff}FROM a\r\n \\\n\u{85}\\ \n# c\n\n \u{2000} RUN x \\  \r\n  y\\\n\\\nz\n";
        let lx = lex(src).unwrap();
        for ll in &lx.lines {
            let mut last = None;
            for (i, byte) in ll.text.bytes().enumerate() {
                let (s, e) = ll.original((i, i + 1));
                assert_eq!(
                    (e, src.as_bytes()[s]),
                    (s + 1, byte),
                    "{:?} byte {i}",
                    ll.text
                );
                assert!(last < Some(s));
                last = Some(s);
            }
            let n = ll.text.len();
            assert_eq!(ll.original((n, n)), (ll.end, ll.end));
            assert_eq!(ll.original((0, n)).1, last.unwrap() + 1);
        }
        assert_eq!(lx.lines[1].text, "RUN x   yz");
    }

    #[test]
    fn backtick_escape_directive() {
        let lx = lex("# escape=`\nFROM a\nRUN dir C:\\ `\n  /b\n").unwrap();
        assert_eq!(lx.escape, '`');
        assert_eq!(lx.lines[1].text, "RUN dir C:\\   /b");
    }

    #[test]
    fn directive_after_comment_is_a_comment() {
        let lx = lex("# hello\n# escape=`\nFROM a\n").unwrap();
        assert_eq!(lx.escape, '\\');
    }

    #[test]
    fn continuation_before_keyword_with_unicode_whitespace() {
        // U+0085 (2 bytes) then U+2000 (3 bytes): byte 3 is inside a character.
        let src = "FROM a\n\\\n\u{85}\u{2000}RUN <<EOF\nx\nEOF\n";
        let lx = lex(src).unwrap();
        assert_eq!(lx.lines.len(), 2);
        assert_eq!(lx.lines[1].text, "RUN <<EOF");
        assert_eq!(lx.lines[1].heredocs[0].body, "x\n");
        let (s, e) = lx.lines[1].original((0, 3));
        assert_eq!(&src[s..e], "RUN");
    }

    #[test]
    fn onbuild_run_takes_a_heredoc() {
        let lx = lex("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nCMD x\n").unwrap();
        assert_eq!(lx.lines.len(), 3);
        assert_eq!(lx.lines[1].heredocs[0].body, "echo hi\n");
        assert_eq!(lx.lines[2].text, "CMD x");
        let lx = lex("FROM a\nONBUILD LABEL a=<<EOF\nCMD x\n").unwrap();
        assert!(lx.lines[1].heredocs.is_empty());
    }

    #[test]
    fn lone_escape_lines_are_nothing() {
        let lx = lex("FROM a\n\\\n\n").unwrap();
        assert_eq!(lx.lines.len(), 1);
    }

    #[test]
    fn crlf_and_bom() {
        let lx = lex("\u{feff}FROM a\r\nRUN x \\\r\n y\r\n").unwrap();
        assert_eq!(lx.lines[0].text, "FROM a");
        assert_eq!(lx.lines[1].text, "RUN x  y");
    }
}
