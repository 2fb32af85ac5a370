//! Variable substitution and quote removal for one word, as Docker's shell lexer does it:
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`,
//! `${VAR:?message}`, `${VAR?message}`, single and double quotes, and the escape character
//! (`\` or the one set by `# escape=`).

/// How deeply `${...}` may nest inside a default or alternative word: far beyond any real
/// file, and shallow enough that a hostile one cannot overflow the stack.
pub(crate) const MAX_NESTING: usize = 64;

/// The longest expansion of one word, in bytes: `ARG B=${A}${A}` repeated would otherwise
/// double with every line. It is checked before every append (inside quotes and
/// `${VAR:-default}` words too), so no partial expansion ever holds more.
pub(crate) const MAX_EXPANSION: usize = 1 << 20;

/// The most bytes that expansion may add to one file in all: what every expanded word
/// holds beyond its length as written, and every build-arg or global value copied into a
/// stage. A long list of `ARG Xn=${BIG}` lines, or of `COPY $BIG ...` sources, would
/// otherwise multiply [`MAX_EXPANSION`] by the line count.
pub(crate) const MAX_TOTAL_EXPANSION: usize = 16 << 20;

/// Looks a variable up; `None` means unset. Values are borrowed, never copied, so a
/// word naming a large value many times costs only what is appended to its expansion.
pub(crate) type Lookup<'v, 'l> = dyn Fn(&str) -> Option<&'v str> + 'l;

/// Why a word could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// A syntax error, or the message of `${VAR?message}`.
    Message(String),
    /// The expansion would be longer than the limit it was given. It is checked before
    /// every append, so nothing longer was ever held.
    TooLong,
}

impl From<String> for ExpandError {
    fn from(message: String) -> Self {
        ExpandError::Message(message)
    }
}

/// Whether `word` has nothing to expand or remove (no `$`, quote or escape
/// character): it then expands to itself, and checking it finds nothing. Most words
/// of a Containerfile are such; they skip the expander and its copy of the word.
fn is_literal(word: &str, escape: char) -> bool {
    // A byte scan when the escape is ASCII (it is `\\` or a backtick): no byte of a
    // multi-byte character is ASCII, so no other byte can match.
    match u8::try_from(escape) {
        Ok(e) if e.is_ascii() => !word
            .bytes()
            .any(|b| matches!(b, b'$' | b'\'' | b'"') || b == e),
        _ => !word.contains(['$', '\'', '"', escape]),
    }
}

/// Expand variables in `word` and remove its quotes; the result, and every partial
/// result on the way to it (inside quotes, in a `${VAR:-default}`), holds at most
/// `limit` bytes. Errors are plain messages; the caller adds the line.
pub(crate) fn expand_word(
    word: &str,
    escape: char,
    lookup: &Lookup<'_, '_>,
    limit: usize,
) -> Result<String, ExpandError> {
    if word.len() <= limit && is_literal(word, escape) {
        return Ok(word.to_string());
    }
    let mut ex = Expander {
        text: word,
        pos: 0,
        escape,
        lookup,
        depth: 0,
        keep: true,
    };
    Ok(ex.process(None, limit)?.text)
}

/// The names of the variables `word` reads, in order, each once (with every one
/// unset, so a `${A:-$B}` reads both).
pub(crate) fn variables(word: &str, escape: char) -> Vec<String> {
    let names = std::cell::RefCell::new(Vec::<String>::new());
    let lookup = |n: &str| {
        let mut names = names.borrow_mut();
        if !names.iter().any(|m| m == n) {
            names.push(n.to_string());
        }
        None
    };
    // Only the names are wanted: an error (`${A?}`) ends the list where it stops.
    let _ = expand_word(word, escape, &lookup, word.len().saturating_mul(2));
    names.into_inner()
}

/// A lookup under which every variable is set: used to check syntax without knowing values.
pub(crate) fn check_word(word: &str, escape: char) -> Result<(), String> {
    if is_literal(word, escape) {
        return Ok(());
    }
    // Every variable is one byte long, so the expansion is never longer than the word.
    // Only its length is kept: with every variable set, no message quotes a word.
    let mut ex = Expander {
        text: word,
        pos: 0,
        escape,
        lookup: &|_| Some("x"),
        depth: 0,
        keep: false,
    };
    match ex.process(None, word.len()) {
        Ok(_) => Ok(()),
        Err(ExpandError::Message(m)) => Err(m),
        Err(ExpandError::TooLong) => Err("variable substitution is too long".to_string()),
    }
}

/// An expansion being built, refused as soon as it would pass its limit.
struct Out {
    /// The expansion; left empty when only its length is kept.
    text: String,
    /// Its length in bytes.
    len: usize,
    limit: usize,
    /// Whether `text` is kept; checking syntax needs only `len`.
    keep: bool,
}

impl Out {
    fn new(limit: usize, keep: bool) -> Self {
        Out {
            text: String::new(),
            len: 0,
            limit,
            keep,
        }
    }

    /// How many more bytes fit.
    fn room(&self) -> usize {
        self.limit.saturating_sub(self.len)
    }

    fn push_str(&mut self, s: &str) -> Result<(), ExpandError> {
        if s.len() > self.room() {
            return Err(ExpandError::TooLong);
        }
        self.len += s.len();
        if self.keep {
            self.text.push_str(s);
        }
        Ok(())
    }

    fn push(&mut self, c: char) -> Result<(), ExpandError> {
        self.push_str(c.encode_utf8(&mut [0; 4]))
    }

    /// Append another expansion (a `${VAR:-word}` word).
    fn append(&mut self, other: &Out) -> Result<(), ExpandError> {
        if other.len > self.room() {
            return Err(ExpandError::TooLong);
        }
        self.len += other.len;
        if self.keep {
            self.text.push_str(&other.text);
        }
        Ok(())
    }
}

struct Expander<'a, 'v, 'l> {
    /// The word, read in place: `pos` is a byte offset, always at a character boundary.
    text: &'a str,
    pos: usize,
    escape: char,
    lookup: &'a Lookup<'v, 'l>,
    /// How many `${` the current position is inside.
    depth: usize,
    /// Whether the expansion's text is kept (see [`Out::keep`]).
    keep: bool,
}

impl<'a> Expander<'a, '_, '_> {
    fn peek(&self) -> Option<char> {
        let b = *self.text.as_bytes().get(self.pos)?;
        if b.is_ascii() {
            return Some(char::from(b));
        }
        self.text[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if let Some(c) = c {
            self.pos += c.len_utf8();
        }
        c
    }

    /// Process until the end, or until an unquoted, unescaped `stop` (which is consumed),
    /// into at most `limit` bytes.
    fn process(&mut self, stop: Option<char>, limit: usize) -> Result<Out, ExpandError> {
        let mut out = Out::new(limit, self.keep);
        while let Some(c) = self.next() {
            if Some(c) == stop {
                return Ok(out);
            }
            if c == self.escape {
                if let Some(n) = self.next() {
                    out.push(n)?;
                }
            } else if c == '\'' {
                self.single_quoted(&mut out)?;
            } else if c == '"' {
                self.double_quoted(&mut out)?;
            } else if c == '$' {
                self.dollar(&mut out)?;
            } else {
                out.push(c)?;
            }
        }
        match stop {
            Some(_) => Err("unterminated `${`: missing `}`".to_string().into()),
            None => Ok(out),
        }
    }

    fn single_quoted(&mut self, out: &mut Out) -> Result<(), ExpandError> {
        loop {
            match self.next() {
                None => return Err("unterminated single quote".to_string().into()),
                Some('\'') => return Ok(()),
                Some(c) => out.push(c)?,
            }
        }
    }

    fn double_quoted(&mut self, out: &mut Out) -> Result<(), ExpandError> {
        loop {
            match self.next() {
                None => return Err("unterminated double quote".to_string().into()),
                Some('"') => return Ok(()),
                Some('$') => self.dollar(out)?,
                Some(c) if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += n.len_utf8();
                        out.push(n)?;
                    }
                    Some(_) => out.push(c)?,
                    None => {}
                },
                Some(c) => out.push(c)?,
            }
        }
    }

    /// The variable name at the current position (ASCII letters, digits, `_`), possibly
    /// empty; the position moves past it.
    fn name(&mut self) -> &'a str {
        let text = self.text;
        let start = self.pos;
        let len = text.as_bytes()[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        self.pos += len;
        &text[start..self.pos]
    }

    /// Called just after a `$`.
    fn dollar(&mut self, out: &mut Out) -> Result<(), ExpandError> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                self.braced(out)
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                out.push_str((self.lookup)(name).unwrap_or_default())
            }
            _ => out.push('$'),
        }
    }

    /// Called just after `${`.
    fn braced(&mut self, out: &mut Out) -> Result<(), ExpandError> {
        let name = self.name();
        if name.is_empty() {
            return Err(match self.peek() {
                None => "unterminated `${`: missing `}`".to_string(),
                Some(c) => format!("bad substitution: `${{` followed by `{c}`"),
            }
            .into());
        }
        let value = (self.lookup)(name);
        let colon = if self.peek() == Some(':') {
            self.pos += 1;
            true
        } else {
            false
        };
        let op = match self.next() {
            None => return Err(format!("unterminated `${{{name}`: missing `}}`").into()),
            Some('}') if !colon => return out.push_str(value.unwrap_or_default()),
            Some(c @ ('-' | '+' | '?')) => c,
            Some(c) => {
                return Err(format!(
                    "unsupported modifier `{}{c}` in `${{{name}...}}`",
                    if colon { ":" } else { "" }
                )
                .into())
            }
        };
        if self.depth >= MAX_NESTING {
            return Err(format!("`${{...}}` nested more than {MAX_NESTING} levels deep").into());
        }
        self.depth += 1;
        // The word shares this expansion's room: together they never pass the limit.
        let word = self.process(Some('}'), out.room());
        self.depth -= 1;
        let word = word?;
        // With a colon, an empty value counts as unset.
        let set = match value {
            Some(v) => !(colon && v.is_empty()),
            None => false,
        };
        match op {
            '-' if set => out.push_str(value.unwrap_or_default()),
            '-' => out.append(&word),
            '+' if set => out.append(&word),
            '+' => Ok(()),
            _ if set => out.push_str(value.unwrap_or_default()),
            _ => {
                // Unset needs a lookup that leaves variables unset, so the text is kept.
                let msg = if word.text.is_empty() {
                    "is not set".to_string()
                } else {
                    word.text
                };
                Err(format!("{name}: {msg}").into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn env(name: &str) -> Option<&'static str> {
        match name {
            "A" => Some("alpha"),
            "E" => Some(""),
            "SP" => Some("a b"),
            _ => None,
        }
    }

    fn ex(w: &str) -> Result<String, String> {
        expand_with(w, '\\', &env)
    }

    fn expand_with(w: &str, escape: char, lookup: &Lookup<'_, '_>) -> Result<String, String> {
        expand_word(w, escape, lookup, MAX_EXPANSION).map_err(|e| match e {
            ExpandError::Message(m) => m,
            ExpandError::TooLong => "too long".to_string(),
        })
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(ex("x$A/y").unwrap(), "xalpha/y");
        assert_eq!(ex("x${A}y").unwrap(), "xalphay");
        assert_eq!(ex("$UNSET-").unwrap(), "-");
        assert_eq!(ex("cost $5").unwrap(), "cost $5");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(ex("${U:-d}").unwrap(), "d");
        assert_eq!(ex("${E:-d}").unwrap(), "d");
        assert_eq!(ex("${E-d}").unwrap(), "");
        assert_eq!(ex("${U-d}").unwrap(), "d");
        assert_eq!(ex("${A:-d}").unwrap(), "alpha");
        assert_eq!(ex("${A:+alt}").unwrap(), "alt");
        assert_eq!(ex("${E:+alt}").unwrap(), "");
        assert_eq!(ex("${E+alt}").unwrap(), "alt");
        assert_eq!(ex("${U+alt}").unwrap(), "");
        assert_eq!(ex("${U:-${A}-x}").unwrap(), "alpha-x");
    }

    #[test]
    fn required_variable() {
        assert_eq!(ex("${U:?need U}").unwrap_err(), "U: need U");
        assert_eq!(ex("${A:?x}").unwrap(), "alpha");
    }

    #[test]
    fn escapes_and_quotes() {
        assert_eq!(ex(r"\$A").unwrap(), "$A");
        assert_eq!(ex(r#""$A b""#).unwrap(), "alpha b");
        assert_eq!(ex("'$A'").unwrap(), "$A");
        assert_eq!(ex(r#""a\"b\c""#).unwrap(), r#"a"b\c"#);
        assert_eq!(expand_with("`$A", '`', &env).unwrap(), "$A");
        assert_eq!(expand_with(r"C:\dir", '`', &env).unwrap(), r"C:\dir");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}x{}", "${U:-".repeat(100_000), "}".repeat(100_000));
        assert!(ex(&deep).unwrap_err().contains("nested more than 64"));
        let ok = format!(
            "{}x{}",
            "${U:-".repeat(MAX_NESTING),
            "}".repeat(MAX_NESTING)
        );
        assert_eq!(ex(&ok).unwrap(), "x");
    }

    #[test]
    fn huge_expansion_is_an_error() {
        let big = "y".repeat(MAX_EXPANSION / 2 + 1);
        let lookup = |_: &str| Some(big.as_str());
        let too_long = |w: &str| expand_word(w, '\\', &lookup, MAX_EXPANSION);
        assert_eq!(too_long("$A$A"), Err(ExpandError::TooLong));
        assert_eq!(too_long("$A").unwrap().len(), big.len());
    }

    /// Counts lookups: how far an expansion went before it stopped.
    fn counting<'v>(value: &'v str, calls: &'v Cell<usize>) -> impl Fn(&str) -> Option<&'v str> {
        move |_| {
            calls.set(calls.get() + 1);
            Some(value)
        }
    }

    #[test]
    fn the_limit_holds_inside_quotes_and_defaults_not_only_between_words() {
        // The issue's shape: `ARG C="$B$B..."`, B near the limit. Before the limit was
        // checked inside quotes, every `$B` was appended (1.5 GB) before the check ran.
        let b = "b".repeat(1000);
        let repeated = "$B".repeat(1500);
        for word in [
            format!("\"{repeated}\""),
            format!("${{U:-{repeated}}}"),
            format!("\"${{U:-{repeated}}}\""),
            format!("${{B:+\"{repeated}\"}}"),
            format!("'x'\"{repeated}\""),
        ] {
            let calls = Cell::new(0);
            let lookup = counting(&b, &calls);
            let got = expand_word(&word, '\\', &lookup, 10_000);
            assert_eq!(got, Err(ExpandError::TooLong), "{}", &word[..20]);
            // Ten values fit; the eleventh is refused before it is appended.
            assert!(
                calls.get() <= 12,
                "{} lookups for {}",
                calls.get(),
                &word[..20]
            );
        }
    }

    #[test]
    fn a_default_shares_the_room_of_what_holds_it() {
        let lookup = |_: &str| None;
        let word = format!("{}${{U:-{}}}", "a".repeat(60), "b".repeat(60));
        assert_eq!(
            expand_word(&word, '\\', &lookup, 100),
            Err(ExpandError::TooLong)
        );
        assert_eq!(expand_word(&word, '\\', &lookup, 120).unwrap().len(), 120);
    }

    #[test]
    fn checking_never_trips_the_limit() {
        for w in ["$A${B}${C:-$D}\"$E\"'$F'", "${A:+${B:+${C}}}", "\\$x$"] {
            assert_eq!(check_word(w, '\\'), Ok(()), "{w}");
        }
    }

    #[test]
    fn syntax_errors() {
        assert!(ex("${A").unwrap_err().contains("unterminated"));
        assert!(ex("${A:-x").unwrap_err().contains("unterminated"));
        assert!(ex("${").unwrap_err().contains("unterminated"));
        assert!(ex("${A#x}").unwrap_err().contains("unsupported"));
        assert!(ex("'open").unwrap_err().contains("single quote"));
    }
}
