//! Splitting instruction arguments into words, the way the Docker parser does before
//! any variable is expanded. Every word is returned as a byte range of the input so
//! that callers can map it back to the original text.

/// A byte range `start..end` of the string that was split.
pub(crate) type Range = (usize, usize);

/// Split on whitespace only; quotes mean nothing (Docker's `parseStringsWhitespaceDelimited`,
/// used for `FROM` and the shell form of `COPY`/`ADD`).
pub(crate) fn split_plain(s: &str) -> Vec<Range> {
    if s.is_ascii() {
        split_plain_chars(s.len(), s.bytes().map(char::from).enumerate())
    } else {
        split_plain_chars(s.len(), s.char_indices())
    }
}

/// [`split_plain`] over `chars`, the `(byte offset, char)` of a `len`-byte string:
/// ASCII text is walked byte by byte, without decoding UTF-8.
fn split_plain_chars(len: usize, chars: impl Iterator<Item = (usize, char)>) -> Vec<Range> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in chars {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, len));
    }
    out
}

/// Split on whitespace outside quotes; quotes and escapes stay in the words
/// (Docker's `parseWords`, used for `ENV`, `ARG`, `LABEL`, flags and heredoc detection).
/// An unterminated quote simply runs to the end of the input.
pub(crate) fn split_quoted(s: &str, escape: char) -> Vec<Range> {
    if s.is_ascii() {
        QuotedWords::new(s.len(), s.bytes().map(char::from).enumerate(), escape).collect()
    } else {
        QuotedWords::new(s.len(), s.char_indices(), escape).collect()
    }
}

/// [`split_quoted`] one word at a time, for callers that stop early (leading flags):
/// the rest of the text is never scanned.
pub(crate) fn quoted_words(s: &str, escape: char) -> QuotedWords<std::str::CharIndices<'_>> {
    QuotedWords::new(s.len(), s.char_indices(), escape)
}

/// The words of [`split_quoted`] over `chars`, the `(byte offset, char)` of a `len`-byte
/// string (ASCII text can be walked byte by byte, without decoding UTF-8).
pub(crate) struct QuotedWords<I> {
    chars: I,
    len: usize,
    escape: char,
    start: Option<usize>,
    quote: Option<char>,
    escaped: bool,
    done: bool,
}

impl<I: Iterator<Item = (usize, char)>> QuotedWords<I> {
    fn new(len: usize, chars: I, escape: char) -> Self {
        QuotedWords {
            chars,
            len,
            escape,
            start: None,
            quote: None,
            escaped: false,
            done: false,
        }
    }
}

impl<I: Iterator<Item = (usize, char)>> Iterator for QuotedWords<I> {
    type Item = Range;

    fn next(&mut self) -> Option<Range> {
        if self.done {
            return None;
        }
        for (i, c) in self.chars.by_ref() {
            if self.escaped {
                self.escaped = false;
                continue;
            }
            if c == self.escape && self.quote != Some('\'') {
                self.start.get_or_insert(i);
                self.escaped = true;
                continue;
            }
            match self.quote {
                Some(q) => {
                    if c == q {
                        self.quote = None;
                    }
                }
                None => {
                    if c.is_whitespace() {
                        if let Some(st) = self.start.take() {
                            return Some((st, i));
                        }
                    } else {
                        self.start.get_or_insert(i);
                        if c == '"' || c == '\'' {
                            self.quote = Some(c);
                        }
                    }
                }
            }
        }
        self.done = true;
        self.start.take().map(|st| (st, self.len))
    }
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
    fn ascii_text_splits_as_decoded_text_does() {
        // The same words with a non-ASCII character appended take the decoding path;
        // every ASCII whitespace char::is_whitespace knows (vertical tab too) splits.
        for s in [
            "a\tb\x0bc\x0cd\re\nf g",
            r#"x "a b" 'c d' e\ f"#,
            "\x1fa\x1f b",
        ] {
            let wide = format!("{s} \u{e9}");
            let ascii = split_quoted(s, '\\');
            let decoded = split_quoted(&wide, '\\');
            assert_eq!(ascii[..], decoded[..decoded.len() - 1], "{s:?}");
            let lazy: Vec<Range> = quoted_words(s, '\\').collect();
            assert_eq!(ascii, lazy, "{s:?}");
            let ascii = split_plain(s);
            let decoded = split_plain(&wide);
            assert_eq!(ascii[..], decoded[..decoded.len() - 1], "{s:?}");
        }
        assert_eq!(split_plain("a\x0bb").len(), 2);
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
