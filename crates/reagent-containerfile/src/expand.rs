//! Variable substitution and quote removal for one word, as Docker's shell lexer does it:
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`,
//! `${VAR:?message}`, `${VAR?message}`, single and double quotes, and the escape character
//! (`\` or the one set by `# escape=`).

/// How deeply `${...}` may nest inside a default or alternative word: far beyond any real
/// file, and shallow enough that a hostile one cannot overflow the stack.
pub(crate) const MAX_NESTING: usize = 64;

/// The longest expansion of one word, in bytes: `ARG B=${A}${A}` repeated would otherwise
/// double with every line.
pub(crate) const MAX_EXPANSION: usize = 1 << 20;

/// The most bytes of expanded `ARG`/`ENV` values one file may hold in all: a long list of
/// `ARG Xn=${BIG}` lines would otherwise multiply [`MAX_EXPANSION`] by the line count.
pub(crate) const MAX_TOTAL_EXPANSION: usize = 16 << 20;

/// Looks a variable up; `None` means unset.
pub(crate) type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Expand variables in `word` and remove its quotes. Errors are plain messages; the caller
/// adds the line.
pub(crate) fn expand_word(word: &str, escape: char, lookup: &Lookup<'_>) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut ex = Expander {
        chars: &chars,
        pos: 0,
        escape,
        lookup,
        depth: 0,
    };
    ex.process(None)
}

/// A lookup under which every variable is set: used to check syntax without knowing values.
pub(crate) fn check_word(word: &str, escape: char) -> Result<(), String> {
    expand_word(word, escape, &|_| Some("x".to_string())).map(|_| ())
}

struct Expander<'a, 'l> {
    chars: &'a [char],
    pos: usize,
    escape: char,
    lookup: &'a Lookup<'l>,
    /// How many `${` the current position is inside.
    depth: usize,
}

impl Expander<'_, '_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Process until the end, or until an unquoted, unescaped `stop` (which is consumed).
    fn process(&mut self, stop: Option<char>) -> Result<String, String> {
        let mut out = String::new();
        while let Some(c) = self.next() {
            if Some(c) == stop {
                return Ok(out);
            }
            if c == self.escape {
                if let Some(n) = self.next() {
                    out.push(n);
                }
            } else if c == '\'' {
                self.single_quoted(&mut out)?;
            } else if c == '"' {
                self.double_quoted(&mut out)?;
            } else if c == '$' {
                self.dollar(&mut out)?;
            } else {
                out.push(c);
            }
            if out.len() > MAX_EXPANSION {
                return Err(format!(
                    "variable substitution expands to more than {} MiB",
                    MAX_EXPANSION >> 20
                ));
            }
        }
        match stop {
            Some(_) => Err("unterminated `${`: missing `}`".to_string()),
            None => Ok(out),
        }
    }

    fn single_quoted(&mut self, out: &mut String) -> Result<(), String> {
        loop {
            match self.next() {
                None => return Err("unterminated single quote".to_string()),
                Some('\'') => return Ok(()),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self, out: &mut String) -> Result<(), String> {
        loop {
            match self.next() {
                None => return Err("unterminated double quote".to_string()),
                Some('"') => return Ok(()),
                Some('$') => self.dollar(out)?,
                Some(c) if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    Some(_) => out.push(c),
                    None => {}
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    /// Called just after a `$`.
    fn dollar(&mut self, out: &mut String) -> Result<(), String> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                self.braced(out)
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                out.push_str(&(self.lookup)(&name).unwrap_or_default());
                Ok(())
            }
            _ => {
                out.push('$');
                Ok(())
            }
        }
    }

    /// Called just after `${`.
    fn braced(&mut self, out: &mut String) -> Result<(), String> {
        let name = self.name();
        if name.is_empty() {
            return match self.peek() {
                None => Err("unterminated `${`: missing `}`".to_string()),
                Some(c) => Err(format!("bad substitution: `${{` followed by `{c}`")),
            };
        }
        let value = (self.lookup)(&name);
        let colon = if self.peek() == Some(':') {
            self.pos += 1;
            true
        } else {
            false
        };
        let op = match self.next() {
            None => return Err(format!("unterminated `${{{name}`: missing `}}`")),
            Some('}') if !colon => {
                out.push_str(&value.unwrap_or_default());
                return Ok(());
            }
            Some(c @ ('-' | '+' | '?')) => c,
            Some(c) => {
                return Err(format!(
                    "unsupported modifier `{}{c}` in `${{{name}...}}`",
                    if colon { ":" } else { "" }
                ))
            }
        };
        if self.depth >= MAX_NESTING {
            return Err(format!(
                "`${{...}}` nested more than {MAX_NESTING} levels deep"
            ));
        }
        self.depth += 1;
        let word = self.process(Some('}'));
        self.depth -= 1;
        let word = word?;
        // With a colon, an empty value counts as unset.
        let set = match &value {
            Some(v) => !(colon && v.is_empty()),
            None => false,
        };
        match op {
            '-' => out.push_str(&if set { value.unwrap_or_default() } else { word }),
            '+' => {
                if set {
                    out.push_str(&word);
                }
            }
            _ => {
                if !set {
                    let msg = if word.is_empty() {
                        "is not set".to_string()
                    } else {
                        word
                    };
                    return Err(format!("{name}: {msg}"));
                }
                out.push_str(&value.unwrap_or_default());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "E" => Some(String::new()),
            "SP" => Some("a b".into()),
            _ => None,
        }
    }

    fn ex(w: &str) -> Result<String, String> {
        expand_word(w, '\\', &env)
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
        assert_eq!(expand_word("`$A", '`', &env).unwrap(), "$A");
        assert_eq!(expand_word(r"C:\dir", '`', &env).unwrap(), r"C:\dir");
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
        let lookup = |_: &str| Some(big.clone());
        assert!(expand_word("$A$A", '\\', &lookup)
            .unwrap_err()
            .contains("more than 1 MiB"));
        assert_eq!(expand_word("$A", '\\', &lookup).unwrap().len(), big.len());
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
