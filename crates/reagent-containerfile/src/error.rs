//! The one error type: a message, the 1-based line where the instruction starts, and,
//! when known, the byte span of the word at fault.

use std::ops::Range;

/// A problem in a Containerfile, located at the line where the offending instruction
/// starts and, when one word is at fault, at that word.
///
/// `Display` prints `line N: message`; callers that show the line themselves (next to
/// the file name, say) print [`ParseError::message`] instead, so the line is not given
/// twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number of the first line of the instruction (or directive) at fault.
    pub line: usize,
    /// What is wrong, in words a user can act on.
    pub message: String,
    /// Byte offsets into the original Containerfile text of the word at fault: the bad
    /// flag, the unknown keyword, the word whose variable is undefined, the image
    /// reference, the duplicate stage name. `None` when no single word is to blame
    /// (a missing argument, a limit reached over the whole file).
    ///
    /// A word continued over several lines spans the continuation characters too.
    pub span: Option<Range<usize>>,
}

impl ParseError {
    /// Build an error at `line`, not pointing at any word.
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
            span: None,
        }
    }

    /// Point the error at the word at `start..end` of the original text (no change when
    /// `span` is `None`).
    pub(crate) fn with_span(mut self, span: impl Into<Option<(usize, usize)>>) -> Self {
        if let Some((start, end)) = span.into() {
            self.span = Some(start..end);
        }
        self
    }

    /// What is wrong, without the `line N: ` prefix that `Display` adds.
    pub fn message(&self) -> &str {
        &self.message
    }
}
