//! A small YAML writer: an ordered tree ([`Yaml`]) written in block style.
//!
//! It writes the subset of YAML every CI engine's parser reads the same way,
//! whether it follows YAML 1.1 (`PyYAML`, Go's `yaml.v2`) or 1.2 (`ruamel`, serde):
//! a string stays unquoted only when it is a plain word no parser can take
//! for anything else (`build`, `ubuntu-latest`, `actions/checkout@v4` is
//! quoted); everything else is written as a JSON string, which is a valid
//! YAML double-quoted scalar. Multi-line text (a script) becomes a literal
//! block (`|`) when it can be one exactly. Keys follow the same rule, so a
//! key like `on` (a boolean to YAML 1.1) is quoted.
//!
//! ```
//! use reagent_pipeline::yaml::Yaml;
//!
//! let doc = Yaml::map([
//!     ("on", Yaml::list([Yaml::str("push")])),
//!     ("run", Yaml::str("echo one\necho two\n")),
//! ]);
//! assert_eq!(doc.to_document(), "\"on\":\n  - push\nrun: |\n  echo one\n  echo two\n");
//! ```

/// A YAML value whose maps keep their keys in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// A string.
    Str(String),
    /// Text, such as a script: like [`Yaml::Str`] when it is a plain word,
    /// else a literal block (`|-`, even on one line) when a block holds it
    /// exactly, so a shell line keeps its quotes unescaped.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A sequence.
    List(Vec<Yaml>),
    /// A mapping, in key order as given.
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    /// Text such as a script: a literal block when it can be one.
    pub fn text(s: impl Into<String>) -> Yaml {
        Yaml::Text(s.into())
    }

    /// A sequence of values.
    pub fn list(items: impl IntoIterator<Item = Yaml>) -> Yaml {
        Yaml::List(items.into_iter().collect())
    }

    /// A sequence of strings.
    pub fn strs<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Yaml {
        Yaml::List(items.into_iter().map(|s| Yaml::Str(s.into())).collect())
    }

    /// A mapping with keys in the order given.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The value as a YAML document (block style, two-space indents, ending in a newline).
    pub fn to_document(&self) -> String {
        let mut out = String::new();
        match self {
            Yaml::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0),
            Yaml::List(items) if !items.is_empty() => write_list(&mut out, items, 0),
            scalar => {
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
        out
    }
}

/// Words YAML 1.1 reads as booleans or null.
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// Whether `s` can be written without quotes and read back as this string by
/// every YAML parser: it starts with a letter, `_` or `/` (so it is no number,
/// no `.inf` and no indicator), holds only letters, digits, spaces and
/// `_-./@()+=,`, and `:` where no space follows; no leading or trailing
/// space, and not a word YAML 1.1 reads as a boolean or null.
fn is_plain(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '/'))
        && !s.ends_with([' ', ':'])
        && chars.iter().enumerate().all(|(i, c)| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '_' | '-' | '.' | '/' | '@' | '(' | ')' | '+' | '=' | ',' | ' '
                )
                || (*c == ':' && chars.get(i + 1).is_some_and(|n| *n != ' '))
        })
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

/// A string as a scalar on one line: plain when [`is_plain`], else a JSON string.
fn quoted(s: &str) -> String {
    if is_plain(s) {
        s.to_string()
    } else {
        // A JSON string is a YAML double-quoted scalar; serializing a &str cannot
        // fail. What JSON leaves as it is but YAML 1.1 reads as a break is escaped.
        let json = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        json.chars()
            .map(|c| match c {
                c if breaks_a_block(c) => format!("\\u{:04x}", u32::from(c)),
                c => c.to_string(),
            })
            .collect()
    }
}

/// Whether `s` is multi-line text that a literal block (`|` or `|-`) holds exactly.
fn is_literal_block(s: &str) -> bool {
    s.strip_suffix('\n').unwrap_or(s).contains('\n') && fits_a_block(s)
}

/// Whether a literal block holds `s` exactly: not empty, no leading space on
/// its first line, no trailing spaces or tabs, no control characters, at most
/// one final newline.
fn fits_a_block(s: &str) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    !body.is_empty()
        && !body.starts_with([' ', '\n'])
        && !body.ends_with('\n')
        && body
            .split('\n')
            .all(|line| !line.ends_with([' ', '\t']) && !line.chars().any(breaks_a_block))
}

/// Characters a literal block cannot hold as they are: control characters,
/// and what YAML 1.1 reads as a line break or a byte order mark.
fn breaks_a_block(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{85}')
}

/// A scalar, an empty list or an empty map, on one line.
fn inline(v: &Yaml) -> String {
    match v {
        Yaml::Str(s) | Yaml::Text(s) => quoted(s),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Int(i) => i.to_string(),
        Yaml::List(_) => "[]".into(),
        Yaml::Map(_) => "{}".into(),
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A literal block's header and lines, the lines at `indent`.
fn write_literal(out: &mut String, s: &str, indent: usize) {
    let body = s.strip_suffix('\n');
    out.push_str(if body.is_some() { "|\n" } else { "|-\n" });
    for line in body.unwrap_or(s).split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// After `key:` or `-`: the value on the same line, or below it at `indent`.
fn write_value(out: &mut String, v: &Yaml, indent: usize, under_dash: bool) {
    match v {
        Yaml::Str(s) if is_literal_block(s) => {
            out.push(' ');
            write_literal(out, s, indent);
        }
        Yaml::Text(s) if !is_plain(s) && fits_a_block(s) => {
            out.push(' ');
            write_literal(out, s, indent);
        }
        Yaml::Map(entries) if !entries.is_empty() && under_dash => {
            // `- key: value` with the rest of the map aligned under `key`.
            out.push(' ');
            let mut rest = String::new();
            write_map(&mut rest, entries, indent);
            out.push_str(&rest[indent..]);
        }
        Yaml::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            write_map(out, entries, indent);
        }
        Yaml::List(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, indent);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn write_map(out: &mut String, entries: &[(String, Yaml)], indent: usize) {
    for (key, value) in entries {
        pad(out, indent);
        out.push_str(&quoted(key));
        out.push(':');
        // A list under a key is indented like a map would be.
        write_value(out, value, indent + 2, false);
    }
}

fn write_list(out: &mut String, items: &[Yaml], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        write_value(out, item, indent + 2, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_plain_and_the_rest_is_quoted() {
        for plain in [
            "build",
            "ubuntu-latest",
            "a_b",
            "examples/busybox",
            "v1.2",
            "build app",
            "always()",
            "/tmp/auth.json",
            "actions/checkout@v4",
            "registry.example.com:5000/acme",
            "build:app",
            "a b",
        ] {
            assert_eq!(quoted(plain), plain);
        }
        for (s, q) in [
            ("on", "\"on\""),
            ("No", "\"No\""),
            ("null", "\"null\""),
            ("", "\"\""),
            ("1", "\"1\""),
            ("0123abc", "\"0123abc\""),
            ("${{ secrets.X }}", "\"${{ secrets.X }}\""),
            ("a: b", "\"a: b\""),
            ("a:", "\"a:\""),
            ("a #b", "\"a #b\""),
            ("trailing ", "\"trailing \""),
            ("@x", "\"@x\""),
            ("say \"hi\"\t", "\"say \\\"hi\\\"\\t\""),
            ("-x", "\"-x\""),
            ("a\u{2028}b", "\"a\\u2028b\""),
            ("a\u{7f}b", "\"a\\u007fb\""),
            ("*x", "\"*x\""),
        ] {
            assert_eq!(quoted(s), q, "{s:?}");
        }
    }

    #[test]
    fn nested_maps_and_lists_are_block_style() {
        let doc = Yaml::map([
            ("name", Yaml::str("ci")),
            (
                "jobs",
                Yaml::map([(
                    "a",
                    Yaml::map([
                        ("needs", Yaml::strs(["b", "c"])),
                        ("empty", Yaml::list([])),
                        ("nothing", Yaml::map::<&str>([])),
                        ("n", Yaml::Int(3)),
                        ("on", Yaml::Bool(true)),
                        (
                            "steps",
                            Yaml::list([
                                Yaml::map([
                                    ("uses", Yaml::str("x@v1")),
                                    ("with", Yaml::map([("k", Yaml::str("v"))])),
                                ]),
                                Yaml::text("echo \"$X\""),
                                Yaml::str("plain"),
                                Yaml::strs(["nested"]),
                            ]),
                        ),
                    ]),
                )]),
            ),
        ]);
        assert_eq!(
            doc.to_document(),
            "name: ci\njobs:\n  a:\n    needs:\n      - b\n      - c\n    empty: []\n    nothing: {}\n    \"n\": 3\n    \"on\": true\n    steps:\n      - uses: x@v1\n        with:\n          k: v\n      - |-\n        echo \"$X\"\n      - plain\n      -\n        - nested\n"
        );
    }

    #[test]
    fn scripts_are_literal_blocks_only_when_exact() {
        assert!(is_literal_block("a\nb\n"));
        assert!(is_literal_block("a\nb"));
        assert!(!is_literal_block("one line\n"));
        assert!(!is_literal_block(" a\nb\n"));
        assert!(!is_literal_block("a \nb\n"));
        assert!(!is_literal_block("a\nb\n\n"));
        assert!(!is_literal_block("a\n\u{7}b"));
        let doc = Yaml::map([("run", Yaml::str("a\n\n  b"))]);
        assert_eq!(doc.to_document(), "run: |-\n  a\n\n    b\n");
        let doc = Yaml::list([Yaml::str("x\ny\n")]);
        assert_eq!(doc.to_document(), "- |\n  x\n  y\n");
        // Not exact as a block: written as a JSON string.
        let doc = Yaml::map([("run", Yaml::str("a \nb"))]);
        assert_eq!(doc.to_document(), "run: \"a \\nb\"\n");
        // Text is a block even on one line, unless it is plain or a block cannot hold it.
        let doc = Yaml::map([("run", Yaml::text("make all"))]);
        assert_eq!(doc.to_document(), "run: make all\n");
        let doc = Yaml::map([("run", Yaml::text("echo 'hi' \"$X\""))]);
        assert_eq!(doc.to_document(), "run: |-\n  echo 'hi' \"$X\"\n");
        let doc = Yaml::map([("run", Yaml::text(" x"))]);
        assert_eq!(doc.to_document(), "run: \" x\"\n");
    }
}
