//! Errors in a project's input, each naming the file and line the user can fix,
//! with the offending line as it was read (so nothing reads the file again to show it).

use std::ffi::OsStr;
use std::fmt;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One problem found in a project's input files.
///
/// `file` is relative to the project root where possible, so messages read the
/// same wherever the project lives; `line` is 1-based when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProjectError {
    /// The file to fix (relative to the project root where possible).
    pub file: PathBuf,
    /// The 1-based line within `file`, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong, phrased so the user knows what to change.
    pub message: String,
    /// The line at fault as it was read, and the part of it at fault, when known.
    pub excerpt: Option<Excerpt>,
}

/// The text of the line an error points at, as the loader read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// The line, without its line break.
    pub text: String,
    /// Byte range within `text` of the part at fault (a value, a word), when known.
    pub columns: Option<Range<usize>>,
}

impl ProjectError {
    /// An error at `file:line`, without the line's text (for input that is not text).
    pub fn at(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        ProjectError {
            file: file.into(),
            line: Some(line),
            message: message.into(),
            excerpt: None,
        }
    }

    /// An error at line `line` of `source`, the text of `file` as it was read.
    pub fn at_line(
        file: impl Into<PathBuf>,
        source: &str,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        ProjectError {
            file: file.into(),
            line: Some(line),
            message: message.into(),
            excerpt: line_text(source, line).map(|text| Excerpt {
                text: text.to_string(),
                columns: None,
            }),
        }
    }

    /// An error at bytes `span` of `source`, the text of `file` as it was read: its
    /// line is the line `span` starts on, and the excerpt marks the span (up to the
    /// end of that line). A span at the very end of a text that ends with a line
    /// break (where a parser notices that a string was never closed) is on the last
    /// line, not on the empty line after it.
    pub fn at_span(
        file: impl Into<PathBuf>,
        source: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let mut start = floor_char_boundary(source, span.start.min(source.len()));
        if start == source.len() && source.ends_with('\n') {
            start -= 1;
        }
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let text = source[line_start..line_end].trim_end_matches('\r');
        // The span may start on the line's `\r` or `\n`: then it marks the line's end.
        let from = (start - line_start).min(text.len());
        let to = floor_char_boundary(
            text,
            span.end.saturating_sub(line_start).clamp(from, text.len()),
        );
        ProjectError {
            file: file.into(),
            line: Some(line_of(source, start)),
            message: message.into(),
            excerpt: Some(Excerpt {
                text: text.to_string(),
                columns: Some(from..to.max(from)),
            }),
        }
    }

    /// An error about a whole file (or folder).
    pub fn in_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ProjectError {
            file: file.into(),
            line: None,
            message: message.into(),
            excerpt: None,
        }
    }

    /// The `file:line` location as shown to users.
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{}", self.file.display(), line),
            None => self.file.display().to_string(),
        }
    }
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)
    }
}

/// Every problem found while loading a project; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProjectErrors(pub Vec<ProjectError>);

impl fmt::Display for ProjectErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<ProjectError> for ProjectErrors {
    fn from(e: ProjectError) -> Self {
        ProjectErrors(vec![e])
    }
}

impl From<Vec<ProjectError>> for ProjectErrors {
    fn from(e: Vec<ProjectError>) -> Self {
        ProjectErrors(e)
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    memchr::memchr_iter(b'\n', &text.as_bytes()[..end]).count() + 1
}

/// The text of 1-based line `line` of `text`, without its line break.
fn line_text(text: &str, line: usize) -> Option<&str> {
    text.split('\n')
        .nth(line.checked_sub(1)?)
        .map(|l| l.trim_end_matches('\r'))
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `path` relative to `root` when it lies below it (`.` for `root` itself), else unchanged.
pub fn relative(root: &Path, path: &Path) -> PathBuf {
    if let Some(rest) = plain_rest(root, path) {
        return PathBuf::from(rest);
    }
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

/// What follows `root/` in `path`, when comparing bytes is enough to know it is what
/// [`Path::strip_prefix`] would give: `root` is absolute with no empty, `.` or `..`
/// component and no trailing `/`, and the rest does not begin or end with what
/// `strip_prefix` trims (`/`, a `.` component). `None` sends the caller the slow way.
/// Loading calls [`relative`] a few times per image; parsing components each time
/// cost more than the rest of the image's bookkeeping.
fn plain_rest<'p>(root: &Path, path: &'p Path) -> Option<&'p OsStr> {
    let root = root.as_os_str().as_bytes();
    let path = path.as_os_str().as_bytes();
    let clean = root.len() > 1
        && root[0] == b'/'
        && root[1..]
            .split(|b| *b == b'/')
            .all(|part| !matches!(part, b"" | b"." | b".."));
    let rest = path.strip_prefix(root)?.strip_prefix(b"/")?;
    let plain = clean
        && !rest.is_empty()
        && rest != b"."
        && !rest.starts_with(b"/")
        && !rest.starts_with(b"./")
        && !rest.ends_with(b"/")
        && !rest.ends_with(b"/.");
    plain.then(|| OsStr::from_bytes(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_is_strip_prefix() {
        // What `relative` gave when it always used `strip_prefix`.
        fn slow(root: &Path, path: &Path) -> PathBuf {
            match path.strip_prefix(root) {
                Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
                Ok(rel) => rel.to_path_buf(),
                Err(_) => path.to_path_buf(),
            }
        }
        let roots = [
            "/p", "/p/", "/a/p", "/a//p", "/a/./p", "/a/../p", "/", "p", "/p/.",
        ];
        let rests = [
            "", "/", "/x", "/x/y", "/x/", "/x/.", "/./x", "//x", "/.", "/x/./y", "/x//y", "x",
            "/..", "/../x", "/x/..",
        ];
        for root in roots {
            for prefix in [root, "/p", "/other"] {
                for rest in rests {
                    let path = format!("{prefix}{rest}");
                    let (root, path) = (Path::new(root), Path::new(&path));
                    assert_eq!(relative(root, path), slow(root, path), "{root:?} {path:?}");
                }
            }
        }
    }

    #[test]
    fn a_span_gives_its_line_and_columns() {
        let text = "[image.a]\ntags = [\"ok\", \"not ok\"]\n";
        let at = text.find("\"not ok\"").unwrap();
        let e = ProjectError::at_span("graph.toml", text, at..at + 8, "bad tag");
        assert_eq!(e.line, Some(2));
        let x = e.excerpt.unwrap();
        assert_eq!(x.text, "tags = [\"ok\", \"not ok\"]");
        assert_eq!(&x.text[x.columns.unwrap()], "\"not ok\"");
    }

    #[test]
    fn a_span_past_its_line_stops_at_the_line_end() {
        let text = "a = \"x\ny\"\n";
        let e = ProjectError::at_span("f", text, 4..9, "m");
        let x = e.excerpt.unwrap();
        assert_eq!(x.text, "a = \"x");
        assert_eq!(x.columns, Some(4..6));
        let end = ProjectError::at_span("f", "abc", 10..12, "m");
        assert_eq!(end.line, Some(1));
    }

    #[test]
    fn a_span_at_the_end_is_on_the_last_line() {
        // An unterminated multi-line string is noticed at the end of the file.
        let text = "[project]\nname = \"\"\"abc\ndef\n";
        let e = ProjectError::at_span("f", text, text.len()..text.len(), "m");
        assert_eq!(e.line, Some(3));
        let x = e.excerpt.unwrap();
        assert_eq!((x.text.as_str(), x.columns), ("def", Some(3..3)));
        let crlf = "a = 1\r\nb = '''x\r\n";
        let e = ProjectError::at_span("f", crlf, crlf.len()..crlf.len(), "m");
        assert_eq!(e.line, Some(2));
        assert_eq!(e.excerpt.unwrap().columns, Some(8..8));
    }

    #[test]
    fn a_span_on_a_line_break_marks_the_end_of_the_line() {
        let text = "a = 1\r\nb = 2\r\n";
        for at in [5, 6] {
            let e = ProjectError::at_span("f", text, at..at + 3, "m");
            assert_eq!(e.line, Some(1));
            let x = e.excerpt.unwrap();
            assert_eq!((x.text.as_str(), x.columns), ("a = 1", Some(5..5)));
        }
        let wide = "k = \"\u{e9}\u{e9}\"";
        let e = ProjectError::at_span("f", wide, 5..6, "m");
        assert_eq!(e.excerpt.unwrap().columns, Some(5..5));
    }

    #[test]
    fn a_line_excerpt_is_that_line() {
        let e = ProjectError::at_line("f", "one\r\ntwo\n", 2, "m");
        assert_eq!(e.excerpt.unwrap().text, "two");
        assert!(ProjectError::at_line("f", "one", 5, "m").excerpt.is_none());
    }
}
