//! The one error type: a message and the 1-based line where the instruction starts.

/// A problem in a Containerfile, located at the line where the offending instruction starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number of the first line of the instruction (or directive) at fault.
    pub line: usize,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl ParseError {
    /// Build an error at `line`.
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}
