//! Kubler's `kubler.conf` and `build.conf`: bash files that Kubler `source`s to
//! set variables, read here as the subset of bash they are written in.
//!
//! Supported, as bash reads it:
//!
//! - blank lines and `#` comments (a `#` that starts a word starts a comment);
//! - assignments `NAME=value`, several on one line, optionally after `export`;
//!   `export NAME` alone is accepted and does nothing;
//! - values made of unquoted text, `'single quoted'` text, `"double quoted"`
//!   text (with `\"`, `\\`, `\$`, `` \` `` and line-continuation escapes), and
//!   backslash escapes; quotes may span lines, as may a `\` line continuation;
//! - parameter expansions `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`,
//!   `${NAME:=word}`, `${NAME=word}`, `${NAME:+word}` and `${NAME+word}`,
//!   nested in `word` too;
//! - arrays `NAME=(...)`, possibly over several lines: kept as their raw text
//!   (Kubler's array knobs, `BUILDER_MOUNTS` and the like, have no reagent
//!   counterpart; they are only reported).
//!
//! Everything else is a statement this reader does not run: commands
//! (`source`, `if`, `[[ ... ]]`, function definitions), command substitution
//! (`$(...)`, backticks), arithmetic, `;`/`&&`/`|`, other parameter expansions
//! (`${#NAME}`, `${NAME%pattern}`, ...), positional and special parameters and
//! tilde expansion. Each becomes an [`Unsupported`] statement with its line,
//! which the importer reports; a variable such a line assigns is *tainted*
//! ([`Env::taint`]), so a setting that depends on it is known to be unknown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One file's statements, in order.
#[derive(Debug, Clone, Default)]
pub struct ConfFile {
    /// The file, as reports name it (relative to the namespace folder).
    pub path: PathBuf,
    /// Its statements in file order.
    pub statements: Vec<Statement>,
    /// Its text, as read.
    pub text: String,
}

/// One statement of a conf file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `NAME=value`.
    Assign(Assignment),
    /// A line this reader does not run.
    Unsupported(Unsupported),
}

/// `NAME=value`, at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The variable.
    pub name: String,
    /// What it is set to.
    pub value: Value,
    /// The 1-based line the assignment starts on.
    pub line: usize,
}

/// The right-hand side of an assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A scalar: a word, expanded when the file is evaluated.
    Word(Word),
    /// An array `( ... )`, kept as the text between the parentheses.
    Array(String),
}

/// A shell word: literal text and parameter expansions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Word(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Param {
        name: String,
        op: Option<(Op, Word)>,
    },
}

/// The operator of `${NAME<op>word}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `:-` (`colon`) or `-`: the word when unset (or empty).
    Default { colon: bool },
    /// `:=` or `=`: like `Default`, and assign it.
    Assign { colon: bool },
    /// `:+` or `+`: the word when set (and not empty), else nothing.
    Alternative { colon: bool },
}

/// A statement this reader does not run, kept for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The 1-based line it starts on.
    pub line: usize,
    /// The text of that line, trimmed.
    pub text: String,
    /// What in it is outside the supported subset.
    pub reason: String,
    /// The variable the line assigns, when it looks like `NAME=...`.
    pub assigns: Option<String>,
}

impl ConfFile {
    /// Read `text`; `path` is how reports name the file. Never fails: what is
    /// not understood becomes an [`Unsupported`] statement.
    pub fn parse(text: &str, path: &Path) -> ConfFile {
        let mut lexer = Lexer::new(text);
        let mut statements = Vec::new();
        while let Some(result) = lexer.statement() {
            match result {
                Ok(assignments) => {
                    statements.extend(assignments.into_iter().map(Statement::Assign));
                }
                Err(unsupported) => statements.push(Statement::Unsupported(unsupported)),
            }
        }
        ConfFile {
            path: path.to_path_buf(),
            statements,
            text: text.to_string(),
        }
    }
}

/// Where a value came from: a file and a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    /// The conf file, relative to the namespace folder.
    pub file: PathBuf,
    /// The 1-based line.
    pub line: usize,
}

/// Variables as a sequence of conf files leaves them.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    arrays: BTreeMap<String, String>,
    origins: BTreeMap<String, Origin>,
    /// Variables whose value is unknown: set by an unsupported line, or from one.
    tainted: BTreeMap<String, Origin>,
    /// Every variable a `$NAME` expansion read.
    referenced: BTreeSet<String>,
}

impl Env {
    /// An empty environment (Kubler starts from the user's shell; the importer
    /// deliberately does not, so the same namespace always imports the same way).
    pub fn new() -> Env {
        Env::default()
    }

    /// Run `file`'s assignments in order, as `source` would.
    pub fn source(&mut self, file: &ConfFile) {
        for statement in &file.statements {
            match statement {
                Statement::Assign(a) => {
                    let origin = Origin {
                        file: file.path.clone(),
                        line: a.line,
                    };
                    match &a.value {
                        Value::Word(word) => {
                            let (value, taint) = self.expand(word);
                            self.set(&a.name, value, origin);
                            match taint {
                                Some(t) => {
                                    self.tainted.insert(a.name.clone(), t);
                                }
                                None => {
                                    self.tainted.remove(&a.name);
                                }
                            }
                        }
                        Value::Array(raw) => {
                            self.vars.remove(&a.name);
                            self.arrays.insert(a.name.clone(), raw.clone());
                            self.origins.insert(a.name.clone(), origin);
                            self.tainted.remove(&a.name);
                        }
                    }
                }
                Statement::Unsupported(u) => {
                    if let Some(name) = &u.assigns {
                        let origin = Origin {
                            file: file.path.clone(),
                            line: u.line,
                        };
                        self.vars.remove(name);
                        self.origins.insert(name.clone(), origin.clone());
                        self.tainted.insert(name.clone(), origin);
                    }
                }
            }
        }
    }

    fn set(&mut self, name: &str, value: String, origin: Origin) {
        self.arrays.remove(name);
        self.vars.insert(name.to_string(), value);
        self.origins.insert(name.to_string(), origin);
    }

    /// Forget `name`, as bash's `unset` does.
    pub fn unset(&mut self, name: &str) {
        self.vars.remove(name);
        self.arrays.remove(name);
        self.origins.remove(name);
        self.tainted.remove(name);
    }

    /// Set `name` to `value` from the importer itself (Kubler's own variables,
    /// such as `NAMESPACE`).
    pub fn define(&mut self, name: &str, value: &str) {
        self.arrays.remove(name);
        self.vars.insert(name.to_string(), value.to_string());
        self.origins.remove(name);
        self.tainted.remove(name);
    }

    /// The value of `name`; `None` when unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of `name` when it is set and not empty (how Kubler tests its knobs).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The raw text of array `name`, if it is one.
    pub fn array(&self, name: &str) -> Option<&str> {
        self.arrays.get(name).map(String::as_str)
    }

    /// Where `name` was last assigned, if by a conf file.
    pub fn origin(&self, name: &str) -> Option<&Origin> {
        self.origins.get(name)
    }

    /// When `name`'s value is unknown (it comes from a line this reader does
    /// not run), the line that made it so.
    pub fn taint(&self, name: &str) -> Option<&Origin> {
        self.tainted.get(name)
    }

    /// Whether some expansion read `name`.
    pub fn was_referenced(&self, name: &str) -> bool {
        self.referenced.contains(name)
    }

    /// Every scalar variable, in name order.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every variable assigned (scalar or array), in name order.
    pub fn names(&self) -> BTreeSet<&str> {
        self.vars
            .keys()
            .chain(self.arrays.keys())
            .map(String::as_str)
            .collect()
    }

    /// Expand `word`: its value, and the origin of an unknown value it read.
    fn expand(&mut self, word: &Word) -> (String, Option<Origin>) {
        let mut out = String::new();
        let mut taint = None;
        for part in &word.0 {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Param { name, op } => {
                    self.referenced.insert(name.clone());
                    let current = self.vars.get(name).cloned();
                    let own_taint = self.tainted.get(name).cloned();
                    let (value, t) = match op {
                        None => (current.unwrap_or_default(), own_taint),
                        Some((op, arg)) => self.operate(name, current, own_taint, *op, arg),
                    };
                    out.push_str(&value);
                    if taint.is_none() {
                        taint = t;
                    }
                }
            }
        }
        (out, taint)
    }

    fn operate(
        &mut self,
        name: &str,
        current: Option<String>,
        own_taint: Option<Origin>,
        op: Op,
        arg: &Word,
    ) -> (String, Option<Origin>) {
        let is_set = |colon: bool| current.as_ref().is_some_and(|v| !colon || !v.is_empty());
        match op {
            Op::Default { colon } if is_set(colon) => (current.unwrap_or_default(), own_taint),
            Op::Assign { colon } if is_set(colon) => (current.unwrap_or_default(), own_taint),
            Op::Default { .. } => self.expand(arg),
            Op::Assign { .. } => {
                let (value, taint) = self.expand(arg);
                self.vars.insert(name.to_string(), value.clone());
                (value, taint)
            }
            Op::Alternative { colon } if is_set(colon) => self.expand(arg),
            Op::Alternative { .. } => (String::new(), own_taint),
        }
    }
}

/// Whether `name` is a shell variable name.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME` when `line` (trimmed, after `export `) starts with `NAME=`.
fn assigned_name(line: &str) -> Option<String> {
    let line = line.trim_start();
    let line = line
        .strip_prefix("export")
        .filter(|rest| rest.starts_with([' ', '\t']))
        .map_or(line, str::trim_start);
    let (name, _) = line.split_once('=')?;
    is_name(name).then(|| name.to_string())
}

/// Where a word ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// An unquoted word: ends at a blank, a newline or an operator.
    Unquoted,
    /// The `word` of `${NAME:-word}`: ends at `}`; blanks are part of it.
    /// `in_dquote` when the expansion itself is inside double quotes (then
    /// single quotes are literal, as in bash).
    Brace { in_dquote: bool },
}

struct Lexer<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            text,
            chars: text.char_indices().collect(),
            pos: 0,
            line: 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, c)| c)
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).map(|&(_, c)| c)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' {
                self.bump();
            } else if c == '\\' && self.peek_at(1) == Some('\n') {
                self.bump();
                self.bump();
            } else {
                break;
            }
        }
    }

    fn skip_to_eol(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    /// The text of line `line` (1-based), trimmed.
    fn line_text(&self, line: usize) -> String {
        self.text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .trim()
            .to_string()
    }

    /// The next statement: `None` at the end, else its assignments or why it is
    /// not supported.
    fn statement(&mut self) -> Option<Result<Vec<Assignment>, Unsupported>> {
        loop {
            self.skip_blanks();
            match self.peek()? {
                '\n' => {
                    self.bump();
                }
                '#' => self.skip_to_eol(),
                _ => break,
            }
        }
        let line = self.line;
        Some(self.assignments(line).map_err(|reason| {
            // Resume at the next line: the rest of this one is not understood.
            let text = self.line_text(line);
            if self.line == line {
                self.skip_to_eol();
            }
            Unsupported {
                line,
                assigns: assigned_name(&text),
                text,
                reason,
            }
        }))
    }

    /// The assignments of one statement, up to its newline.
    fn assignments(&mut self, line: usize) -> Result<Vec<Assignment>, String> {
        let mut out = Vec::new();
        let mut first = true;
        let mut exporting = false;
        loop {
            self.skip_blanks();
            match self.peek() {
                None => break,
                Some('\n') => {
                    self.bump();
                    break;
                }
                Some('#') => {
                    self.skip_to_eol();
                    break;
                }
                Some(c @ (';' | '&' | '|' | '<' | '>' | '(' | ')')) => {
                    return Err(format!("`{c}` (a shell operator)"));
                }
                Some(_) => {}
            }
            if let Some(name) = self.name_before_equals() {
                let value = if self.peek() == Some('(') {
                    Value::Array(self.array()?)
                } else {
                    Value::Word(self.word_until(Mode::Unquoted)?)
                };
                out.push(Assignment { name, value, line });
            } else {
                let word = self.bare_word();
                if first && word == "export" {
                    exporting = true;
                } else if !(exporting && is_name(&word)) {
                    // (`export NAME` marks a variable for export and sets nothing.)
                    return Err(format!("`{word}` is a command"));
                }
            }
            first = false;
        }
        Ok(out)
    }

    /// `NAME` when the input continues `NAME=`; consumes it and the `=`.
    fn name_before_equals(&mut self) -> Option<String> {
        let mut end = self.pos;
        while let Some(&(_, c)) = self.chars.get(end) {
            let ok = if end == self.pos {
                c.is_ascii_alphabetic() || c == '_'
            } else {
                c.is_ascii_alphanumeric() || c == '_'
            };
            if !ok {
                break;
            }
            end += 1;
        }
        if end == self.pos || self.chars.get(end).map(|&(_, c)| c) != Some('=') {
            return None;
        }
        let name: String = self.chars[self.pos..end].iter().map(|&(_, c)| c).collect();
        self.pos = end + 1;
        Some(name)
    }

    /// A word's raw text up to a blank (for messages about commands).
    fn bare_word(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')') {
                break;
            }
            out.push(c);
            self.bump();
        }
        out
    }

    /// `( ... )`: the raw text inside, across lines, honouring quotes.
    fn array(&mut self) -> Result<String, String> {
        self.bump(); // (
        let start = self.pos;
        let mut quote: Option<char> = None;
        loop {
            let Some(c) = self.bump() else {
                return Err("an array `(` is never closed".to_string());
            };
            match (quote, c) {
                (None, ')') => break,
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None | Some('"'), '\\') => {
                    self.bump();
                }
                _ => {}
            }
        }
        let raw: String = self.chars[start..self.pos - 1]
            .iter()
            .map(|&(_, c)| c)
            .collect();
        Ok(raw.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// A word up to where `mode` says it ends.
    fn word_until(&mut self, mode: Mode) -> Result<Word, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        loop {
            let Some(c) = self.peek() else {
                if matches!(mode, Mode::Brace { .. }) {
                    return Err("`${` is never closed".to_string());
                }
                break;
            };
            match (mode, c) {
                (Mode::Unquoted, ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')')
                | (Mode::Brace { .. }, '}') => break,
                (Mode::Unquoted, '~') if literal.is_empty() && parts.is_empty() => {
                    return Err("tilde expansion (`~`)".to_string());
                }
                (Mode::Unquoted | Mode::Brace { in_dquote: false }, '\'') => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err("a `'` quote is never closed".to_string()),
                            Some('\'') => break,
                            Some(c) => literal.push(c),
                        }
                    }
                }
                (Mode::Unquoted | Mode::Brace { .. }, '"') => {
                    self.bump();
                    self.double_quoted(&mut parts, &mut literal)?;
                }
                (Mode::Unquoted | Mode::Brace { .. }, '\\') => {
                    self.bump();
                    match self.bump() {
                        Some('\n') | None => {}
                        Some(c) => literal.push(c),
                    }
                }
                (_, '`') => return Err("command substitution (backticks)".to_string()),
                (_, '$') => self.dollar(&mut parts, &mut literal)?,
                (_, c) => {
                    self.bump();
                    literal.push(c);
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Word(parts))
    }

    /// The inside of `"..."`, after the opening quote, up to and with the closing one.
    fn double_quoted(&mut self, parts: &mut Vec<Part>, literal: &mut String) -> Result<(), String> {
        loop {
            match self.peek() {
                None => return Err("a `\"` quote is never closed".to_string()),
                Some('"') => {
                    self.bump();
                    return Ok(());
                }
                Some('\\') => {
                    self.bump();
                    match self.bump() {
                        Some(c @ ('$' | '`' | '"' | '\\')) => literal.push(c),
                        Some('\n') => {}
                        Some(c) => {
                            literal.push('\\');
                            literal.push(c);
                        }
                        None => return Err("a `\"` quote is never closed".to_string()),
                    }
                }
                Some('`') => return Err("command substitution (backticks)".to_string()),
                Some('$') => self.dollar_in(parts, literal, true)?,
                Some(c) => {
                    self.bump();
                    literal.push(c);
                }
            }
        }
    }

    fn dollar(&mut self, parts: &mut Vec<Part>, literal: &mut String) -> Result<(), String> {
        self.dollar_in(parts, literal, false)
    }

    /// `$...` at the cursor: a parameter expansion, or a literal `$`.
    fn dollar_in(
        &mut self,
        parts: &mut Vec<Part>,
        literal: &mut String,
        in_dquote: bool,
    ) -> Result<(), String> {
        self.bump(); // $
        let flush = |parts: &mut Vec<Part>, literal: &mut String| {
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(literal)));
            }
        };
        match self.peek() {
            Some('{') => {
                self.bump();
                let name = self.name();
                if name.is_empty() {
                    return Err(
                        "an expansion other than `${NAME}`, `${NAME:-word}` and the like".into(),
                    );
                }
                let op = match (self.peek(), self.peek_at(1)) {
                    (Some('}'), _) => None,
                    (Some(':'), Some(c @ ('-' | '=' | '+'))) => {
                        self.bump();
                        self.bump();
                        Some(op_of(c, true))
                    }
                    (Some(c @ ('-' | '=' | '+')), _) => {
                        self.bump();
                        Some(op_of(c, false))
                    }
                    _ => {
                        return Err(format!(
                            "`${{{name}...}}`: only `${{NAME}}`, `:-`, `-`, `:=`, `=`, `:+` and `+` expansions are read"
                        ))
                    }
                };
                let op = match op {
                    None => None,
                    Some(op) => Some((op, self.word_until(Mode::Brace { in_dquote })?)),
                };
                self.bump(); // }
                flush(parts, literal);
                parts.push(Part::Param { name, op });
            }
            Some('(') => return Err("command substitution or arithmetic (`$(`)".to_string()),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                flush(parts, literal);
                parts.push(Part::Param { name, op: None });
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                return Err(format!("the special parameter `${c}`"));
            }
            _ => literal.push('$'),
        }
        Ok(())
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            let ok = if name.is_empty() {
                c.is_ascii_alphabetic() || c == '_'
            } else {
                c.is_ascii_alphanumeric() || c == '_'
            };
            if !ok {
                break;
            }
            name.push(c);
            self.bump();
        }
        name
    }
}

fn op_of(c: char, colon: bool) -> Op {
    match c {
        '-' => Op::Default { colon },
        '=' => Op::Assign { colon },
        _ => Op::Alternative { colon },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(text: &str) -> (Env, ConfFile) {
        let file = ConfFile::parse(text, Path::new("build.conf"));
        let mut env = Env::new();
        env.source(&file);
        (env, file)
    }

    fn value(text: &str, name: &str) -> String {
        env_of(text).0.get(name).unwrap_or("<unset>").to_string()
    }

    fn unsupported(text: &str) -> Vec<Unsupported> {
        ConfFile::parse(text, Path::new("x"))
            .statements
            .into_iter()
            .filter_map(|s| match s {
                Statement::Unsupported(u) => Some(u),
                Statement::Assign(_) => None,
            })
            .collect()
    }

    #[test]
    fn quoting_as_bash_reads_it() {
        assert_eq!(value("A=plain\n", "A"), "plain");
        assert_eq!(value("A='single $B \"q\"'\n", "A"), "single $B \"q\"");
        assert_eq!(
            value("B=x\nA=\"dq $B ${B}y \\$B \\\" \\\\ \\n\"\n", "A"),
            "dq x xy $B \" \\ \\n"
        );
        assert_eq!(value("A=a\\ b'c'\"d\"\n", "A"), "a bcd");
        assert_eq!(value("A=\"two\nlines\"\n", "A"), "two\nlines");
        assert_eq!(value("A=one\\\ntwo\n", "A"), "onetwo");
        assert_eq!(value("A=x#notacomment # a comment\n", "A"), "x#notacomment");
        assert_eq!(value("A=\n", "A"), "");
        assert_eq!(value("A=cost$\n", "A"), "cost$");
    }

    #[test]
    fn expansions_and_their_defaults() {
        let text = "\
B=\"${B:--mtune=generic -O2 -pipe}\"
C=\"${C:-${B}}\"
D=${UNSET-fallback}
E=\"${EMPTY-kept}\"
EMPTY=
F=\"${EMPTY:-colon}\" G=\"${EMPTY-nocolon}\"
H=${B:+set} I=${UNSET:+set}
J=${K:=assigned}
L=\"${NAMESPACE}/bob\"
";
        let (env, _) = env_of(text);
        assert_eq!(env.get("B"), Some("-mtune=generic -O2 -pipe"));
        assert_eq!(env.get("C"), Some("-mtune=generic -O2 -pipe"));
        assert_eq!(env.get("D"), Some("fallback"));
        assert_eq!(env.get("E"), Some("kept"));
        assert_eq!(env.get("F"), Some("colon"));
        assert_eq!(env.get("G"), Some(""));
        assert_eq!(env.get("H"), Some("set"));
        assert_eq!(env.get("I"), Some(""));
        assert_eq!(env.get("J"), Some("assigned"));
        assert_eq!(env.get("K"), Some("assigned"));
        assert_eq!(env.get("L"), Some("/bob"));
        assert!(env.was_referenced("NAMESPACE"));
    }

    #[test]
    fn a_value_set_before_is_kept_by_a_default() {
        let mut env = Env::new();
        env.source(&ConfFile::parse("X=first\n", Path::new("kubler.conf")));
        env.source(&ConfFile::parse(
            "X=\"${X:-second}\"\n",
            Path::new("build.conf"),
        ));
        assert_eq!(env.get("X"), Some("first"));
        assert_eq!(env.origin("X").unwrap().file, Path::new("build.conf"));
    }

    #[test]
    fn export_comments_and_several_assignments_on_a_line() {
        let (env, file) = env_of("# c\n  export A=1 B=2 # trailing\nexport C\n\n\tD='x' \n");
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("B"), Some("2"));
        assert_eq!(env.get("C"), None);
        assert_eq!(env.get("D"), Some("x"));
        let lines: Vec<usize> = file
            .statements
            .iter()
            .map(|s| match s {
                Statement::Assign(a) => a.line,
                Statement::Unsupported(u) => panic!("{u:?}"),
            })
            .collect();
        assert_eq!(lines, [2, 2, 5]);
    }

    #[test]
    fn arrays_are_kept_raw_over_lines() {
        let (env, file) = env_of(
            "BUILDER_MOUNTS=(\"${A}/x:/y:ro\"\n   '/a:/b' )\nNEXT=1\nBUILDER_DOCKER_ARGS=('--cap-add' 'FOO')\n",
        );
        assert_eq!(
            env.array("BUILDER_MOUNTS"),
            Some("\"${A}/x:/y:ro\" '/a:/b'")
        );
        assert_eq!(env.get("NEXT"), Some("1"));
        assert_eq!(env.array("BUILDER_DOCKER_ARGS"), Some("'--cap-add' 'FOO'"));
        assert!(matches!(&file.statements[1], Statement::Assign(a) if a.line == 3));
    }

    #[test]
    fn what_is_not_read_is_reported_at_its_line() {
        let found = unsupported(
            "A=1\nsource other.conf\nB=$(date +%Y)\nif [[ -n $X ]]; then\nC=`id -u`\nD=${#A}\nE=$1\nF=~/x\nG=1; H=2\nI=ok\n",
        );
        let lines: Vec<usize> = found.iter().map(|u| u.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(found[0].assigns, None);
        assert_eq!(found[0].reason, "`source` is a command");
        assert_eq!(found[1].assigns.as_deref(), Some("B"));
        assert!(found[1].reason.contains("command substitution"));
        assert_eq!(found[1].text, "B=$(date +%Y)");
        assert_eq!(found[4].assigns.as_deref(), Some("D"));
        assert_eq!(found[7].assigns.as_deref(), Some("G"));
        let (env, _) = env_of("G=1; H=2\nI=ok\n");
        assert_eq!(env.get("I"), Some("ok"));
    }

    #[test]
    fn unclosed_quotes_are_unsupported_not_a_panic() {
        for text in [
            "A='x\n",
            "A=\"x\n",
            "A=${B:-x\n",
            "A=(x\n",
            "A=\"${B\"\n",
            "A=\\",
        ] {
            let file = ConfFile::parse(text, Path::new("x"));
            let mut env = Env::new();
            env.source(&file);
        }
        assert_eq!(unsupported("A='x\n")[0].assigns.as_deref(), Some("A"));
    }

    #[test]
    fn unknown_values_taint_what_is_made_of_them() {
        let (env, _) = env_of(
            "MUSL=$(pick builder)\nBUILDER=\"${MUSL}\"\nOTHER=\"${DEFAULT:-x}\"\nMUSL=known\nAGAIN=$MUSL\n",
        );
        let origin = env.taint("BUILDER").expect("tainted");
        assert_eq!(origin.line, 1);
        assert!(env.taint("OTHER").is_none());
        assert!(
            env.taint("MUSL").is_none(),
            "a later assignment is known again"
        );
        assert!(env.taint("AGAIN").is_none());
    }

    #[test]
    fn names() {
        assert!(is_name("BOB_CHOST"));
        assert!(is_name("_x1"));
        assert!(!is_name("1x"));
        assert!(!is_name(""));
        assert!(!is_name("A-B"));
        assert_eq!(assigned_name("export  FOO=$(x)"), Some("FOO".into()));
        assert_eq!(assigned_name("exportFOO=1"), Some("exportFOO".into()));
        assert_eq!(assigned_name("if x"), None);
    }
}
