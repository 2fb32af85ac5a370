//! The one error type of this crate: everything that can be wrong with a spec file.

/// Why a spec file could not be parsed.
///
/// Every variant but [`SpecError::MissingKey`] carries `line`, the 1-based line of the spec file
/// where the problem can be fixed ([`SpecError::line`]); the message (`Display`) does not repeat
/// it, so a caller that shows `file:line` next to the message prints the line once. A missing key
/// has no line: it belongs somewhere in the file, and its message says it is missing from the
/// file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A `@NAME@` placeholder that the caller gave no value for.
    #[error("placeholder @{name}@ has no value")]
    UnfilledPlaceholder {
        /// Line of the placeholder.
        line: usize,
        /// The placeholder's name, without the `@` signs.
        name: String,
    },

    /// A placeholder whose value catalyst would misread (it holds `#` or a line break).
    #[error("the value of placeholder @{name}@ contains {what}, which catalyst would misread")]
    BadPlaceholderValue {
        /// Line of the placeholder.
        line: usize,
        /// The placeholder's name, without the `@` signs.
        name: String,
        /// What is wrong with the value (`"'#'"` or `"a line break"`).
        what: &'static str,
    },

    /// The same key set twice.
    #[error("key `{key}` is already set on line {first_line}")]
    DuplicateKey {
        /// Line of the second occurrence.
        line: usize,
        /// Line of the first occurrence.
        first_line: usize,
        /// The key.
        key: String,
    },

    /// A value line with no key line before it.
    #[error("value `{text}` comes before any `key:` line")]
    OrphanValue {
        /// Line of the value.
        line: usize,
        /// The line's text, comment removed.
        text: String,
    },

    /// A `key:` line whose key is empty or holds whitespace.
    #[error("`{key}` is not a valid key (keys are non-empty and hold no whitespace)")]
    InvalidKey {
        /// Line of the key.
        line: usize,
        /// The key as written.
        key: String,
    },

    /// A key that catalyst requires for this target is missing or has no value.
    #[error("required key `{key}` is missing from the file{}", target_note(target.as_deref()))]
    MissingKey {
        /// The missing key.
        key: String,
        /// The target that requires it, when known.
        target: Option<String>,
    },

    /// A key that must hold exactly one value holds several.
    #[error("key `{key}` must hold one value, found {count}")]
    NotSingle {
        /// Line of the key.
        line: usize,
        /// The key.
        key: String,
        /// How many values it holds.
        count: usize,
    },

    /// A `target:` that catalyst has no builder for.
    #[error("unknown target `{target}` (catalyst knows: {})", crate::target::TargetKind::KNOWN.join(", "))]
    UnknownTarget {
        /// Line of the `target:` key.
        line: usize,
        /// The target as written.
        target: String,
    },

    /// A `compression_mode:` that catalyst's compressor does not know.
    #[error("unknown compression_mode `{mode}` (known: {})", crate::compression::KNOWN_MODES.join(", "))]
    UnknownCompressionMode {
        /// Line of the `compression_mode:` key.
        line: usize,
        /// The mode as written.
        mode: String,
    },

    /// A `rename_regexp:` that is not a `sed -E` substitution reagent can apply
    /// (`s<d>regexp<d>replacement<d>` with flags `g` or `I`).
    #[error("rename_regexp `{expr}` is not a sed substitution reagent can apply: {reason}")]
    BadRenameRegexp {
        /// Line of the `rename_regexp:` key.
        line: usize,
        /// The expression as written.
        expr: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn target_note(target: Option<&str>) -> String {
    match target {
        Some(t) => format!(" (target `{t}` requires it)"),
        None => String::new(),
    }
}

impl SpecError {
    /// The 1-based line where the problem can be fixed; `None` for a missing key, which belongs
    /// somewhere in the file.
    pub fn line(&self) -> Option<usize> {
        let line = match self {
            SpecError::MissingKey { .. } => return None,
            SpecError::UnfilledPlaceholder { line, .. }
            | SpecError::BadPlaceholderValue { line, .. }
            | SpecError::DuplicateKey { line, .. }
            | SpecError::OrphanValue { line, .. }
            | SpecError::InvalidKey { line, .. }
            | SpecError::NotSingle { line, .. }
            | SpecError::UnknownTarget { line, .. }
            | SpecError::UnknownCompressionMode { line, .. }
            | SpecError::BadRenameRegexp { line, .. } => *line,
        };
        Some(line)
    }
}
