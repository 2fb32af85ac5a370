//! The line reader: text in, [`Entry`] list out, with comments dropped and placeholders filled.
//!
//! It reads lines the way catalyst's `SpecParser` does:
//! - everything from a `#` to the end of the line is a comment (catalyst strips `\s*#.*$`,
//!   so a `#` inside a value starts a comment too); blank lines are skipped;
//! - a line holding a `:` is a key line, however it is indented: the key is what comes before
//!   the first `:` (trimmed; catalyst keeps the spaces, which only ever yields a key it rejects),
//!   the value what comes after it, trimmed and with surrounding `"` removed;
//! - any other line, indented or not, continues the previous key, adding its words to that
//!   key's values;
//! - values are split on whitespace.
//!
//! Before a line is classified, its `@NAME@` placeholders (`NAME` is upper-case letters,
//! digits and `_`, as catalyst-auto writes them) are replaced from the caller's map, the way
//! catalyst-auto's `sed` does before catalyst reads the file. Placeholders inside comments are
//! ignored.

use std::collections::BTreeMap;

use crate::error::SpecError;
use crate::spec::Entry;

/// One `@NAME@` placeholder found in a spec's text (outside comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The 1-based line it is on.
    pub line: usize,
    /// Its name, without the `@` signs.
    pub name: String,
}

/// Every `@NAME@` placeholder in `text`, in order, comments excluded: what a caller must put in
/// the map it gives [`crate::parse`].
///
/// ```
/// let found = reagent_catalyst::placeholders("version_stamp: openrc-@TIMESTAMP@\n# @NOT_ME@\n");
/// assert_eq!(found.len(), 1);
/// assert_eq!((found[0].line, found[0].name.as_str()), (1, "TIMESTAMP"));
/// ```
pub fn placeholders(text: &str) -> Vec<Placeholder> {
    let text = strip_bom(text);
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = strip_comment(line);
        while let Some((_, name, after)) = next_placeholder(rest) {
            found.push(Placeholder {
                line: index + 1,
                name: name.to_string(),
            });
            rest = after;
        }
    }
    found
}

/// Read `text` into entries in file order. Only line-level problems are reported here
/// (placeholders, keys, duplicates, orphan values); required keys are checked by the caller.
pub(crate) fn read_entries(
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<Entry>, SpecError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();

    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let content = strip_comment(line).trim();
        if content.is_empty() {
            continue;
        }
        let filled = fill(content, vars, line_no)?;
        let filled = filled.trim();
        if filled.is_empty() {
            continue;
        }

        if let Some((key, value)) = filled.split_once(':') {
            let key = key.trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(SpecError::InvalidKey {
                    line: line_no,
                    key: key.to_string(),
                });
            }
            if let Some(&first_line) = seen.get(key) {
                return Err(SpecError::DuplicateKey {
                    line: line_no,
                    first_line,
                    key: key.to_string(),
                });
            }
            seen.insert(key.to_string(), line_no);
            let value = value.trim().trim_matches('"').trim();
            entries.push(Entry {
                key: key.to_string(),
                values: value.split_whitespace().map(str::to_string).collect(),
                raw: value.to_string(),
                line: line_no,
            });
        } else {
            let Some(entry) = entries.last_mut() else {
                return Err(SpecError::OrphanValue {
                    line: line_no,
                    text: filled.to_string(),
                });
            };
            entry
                .values
                .extend(filled.split_whitespace().map(str::to_string));
            entry.raw.push('\n');
            entry.raw.push_str(filled);
        }
    }
    Ok(entries)
}

/// `text` without a leading byte-order mark (U+FEFF), which editors on Windows write.
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The part of `line` before its first `#`.
fn strip_comment(line: &str) -> &str {
    match line.find('#') {
        Some(at) => &line[..at],
        None => line,
    }
}

/// Whether `name` has the shape of a catalyst-auto placeholder name.
fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Find the first `@NAME@` in `text`: the text before it, the name, and the text after it.
fn next_placeholder(text: &str) -> Option<(&str, &str, &str)> {
    let mut from = 0;
    while let Some(open) = text[from..].find('@').map(|at| at + from) {
        let after_open = &text[open + 1..];
        if let Some(close) = after_open.find('@') {
            let name = &after_open[..close];
            if is_placeholder_name(name) {
                return Some((&text[..open], name, &after_open[close + 1..]));
            }
        }
        from = open + 1;
    }
    None
}

/// Replace every placeholder in `content` from `vars`.
fn fill(content: &str, vars: &BTreeMap<String, String>, line: usize) -> Result<String, SpecError> {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some((before, name, after)) = next_placeholder(rest) {
        let Some(value) = vars.get(name) else {
            return Err(SpecError::UnfilledPlaceholder {
                line,
                name: name.to_string(),
            });
        };
        let bad = if value.contains('#') {
            Some("'#'")
        } else if value.contains(['\n', '\r']) {
            Some("a line break")
        } else {
            None
        };
        if let Some(what) = bad {
            return Err(SpecError::BadPlaceholderValue {
                line,
                name: name.to_string(),
                what,
            });
        }
        out.push_str(before);
        out.push_str(value);
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_vars() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn lowercase_at_words_are_not_placeholders() {
        let entries = read_entries(
            "update_seed_command: --update --newuse @world @system\n",
            &no_vars(),
        )
        .unwrap();
        assert_eq!(
            entries[0].values,
            ["--update", "--newuse", "@world", "@system"]
        );
    }

    #[test]
    fn placeholder_scan_skips_a_lone_at() {
        let (before, name, after) = next_placeholder("a@b @TREEISH@.xz").unwrap();
        assert_eq!((before, name, after), ("a@b ", "TREEISH", ".xz"));
        assert!(next_placeholder("user@host").is_none());
    }

    #[test]
    fn placeholder_names_are_upper_case_words() {
        assert!(is_placeholder_name("REPO_DIR"));
        assert!(is_placeholder_name("T2"));
        assert!(!is_placeholder_name(""));
        assert!(!is_placeholder_name("_X"));
        assert!(!is_placeholder_name("world"));
    }
}
