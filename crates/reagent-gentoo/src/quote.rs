//! Showing untrusted text (from advisories, an image's package database or
//! the command line) inside error messages.

use std::fmt::{self, Write};

/// Displays text between backticks, with control and other unprintable
/// characters escaped as Rust escapes them (`\n`, `\u{1b}`), so a message
/// stays on one line and cannot drive a terminal. Quotes and backslashes are
/// shown as they are.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

/// `text` for an error message: see [`Quoted`].
pub(crate) fn quoted(text: &str) -> Quoted<'_> {
    Quoted(text)
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('`')?;
        for c in self.0.chars() {
            if matches!(c, '"' | '\'' | '\\') {
                f.write_char(c)?;
            } else {
                write!(f, "{}", c.escape_debug())?;
            }
        }
        f.write_char('`')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_shown_as_is() {
        assert_eq!(quoted("dev-libs/foo").to_string(), "`dev-libs/foo`");
        assert_eq!(quoted("").to_string(), "``");
        assert_eq!(quoted(r#"a"b'c\d"#).to_string(), r#"`a"b'c\d`"#);
        assert_eq!(quoted("größe").to_string(), "`größe`");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(quoted("a\nb").to_string(), r"`a\nb`");
        assert_eq!(quoted("\u{1b}[31m").to_string(), r"`\u{1b}[31m`");
        assert_eq!(quoted("x\u{202e}y").to_string(), r"`x\u{202e}y`");
    }
}
