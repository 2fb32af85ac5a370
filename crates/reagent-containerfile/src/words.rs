//! Splitting instruction arguments into words, the way the Docker parser does before
//! any variable is expanded. Every word is returned as a byte range of the input so
//! that callers can map it back to the original text.

/// A byte range `start..end` of the string that was split.
pub(crate) type Range = (usize, usize);

/// Split on whitespace only; quotes mean nothing (Docker's `parseStringsWhitespaceDelimited`,
/// used for `FROM` and the shell form of `COPY`/`ADD`).
pub(crate) fn split_plain(s: &str) -> Vec<Range> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

/// Split on whitespace outside quotes; quotes and escapes stay in the words
/// (Docker's `parseWords`, used for `ENV`, `ARG`, `LABEL`, flags and heredoc detection).
/// An unterminated quote simply runs to the end of the input.
pub(crate) fn split_quoted(s: &str, escape: char) -> Vec<Range> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == escape && quote != Some('\'') {
            start.get_or_insert(i);
            escaped = true;
            continue;
        }
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => {
                if c.is_whitespace() {
                    if let Some(st) = start.take() {
                        out.push((st, i));
                    }
                } else {
                    start.get_or_insert(i);
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                    }
                }
            }
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

/// If `word` is a heredoc redirection (`<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, `3<<EOF`),
/// return `(name, strip_tabs, expand)`.
pub(crate) fn heredoc_marker(word: &str) -> Option<(String, bool, bool)> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let (strip, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let quoted = rest.contains(['"', '\'']);
    let name: String = rest.chars().filter(|c| *c != '"' && *c != '\'').collect();
    if name.is_empty() {
        return None;
    }
    Some((name, strip, !quoted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words<'a>(s: &'a str, r: &[Range]) -> Vec<&'a str> {
        r.iter().map(|(a, b)| &s[*a..*b]).collect()
    }

    #[test]
    fn plain_split_ignores_quotes() {
        let s = r#"  "a b"  c "#;
        assert_eq!(words(s, &split_plain(s)), vec!["\"a", "b\"", "c"]);
    }

    #[test]
    fn quoted_split_keeps_quoted_spaces() {
        let s = r#"k="v 2" x='a b' y=c\ d"#;
        assert_eq!(
            words(s, &split_quoted(s, '\\')),
            vec![r#"k="v 2""#, "x='a b'", r"y=c\ d"]
        );
    }

    #[test]
    fn heredoc_markers() {
        assert_eq!(heredoc_marker("<<EOF"), Some(("EOF".into(), false, true)));
        assert_eq!(heredoc_marker("<<-EOT"), Some(("EOT".into(), true, true)));
        assert_eq!(
            heredoc_marker("<<\"EOF\""),
            Some(("EOF".into(), false, false))
        );
        assert_eq!(heredoc_marker("3<<'X'"), Some(("X".into(), false, false)));
        assert_eq!(heredoc_marker("<<<here"), None);
        assert_eq!(heredoc_marker("\"<<EOF\""), None);
        assert_eq!(heredoc_marker("<<"), None);
    }
}
