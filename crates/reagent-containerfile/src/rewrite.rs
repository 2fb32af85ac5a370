//! Replacing external image references in place, leaving every other byte alone.

use std::collections::BTreeMap;

use crate::analyze::{analyze, ImageReference};
use crate::error::ParseError;
use crate::Containerfile;

/// See [`Containerfile::rewrite_references`].
pub(crate) fn rewrite(
    cf: &Containerfile,
    text: &str,
    build_args: &BTreeMap<String, String>,
    map: &dyn Fn(&ImageReference) -> Option<String>,
) -> Result<String, ParseError> {
    let reparsed;
    let cf = if cf.source == text {
        cf
    } else {
        reparsed = crate::parse(text)?;
        &reparsed
    };
    let (analysis, spans) = analyze(cf, build_args)?;
    let mut edits: Vec<(usize, usize, String)> = analysis
        .references
        .iter()
        .zip(spans)
        .filter_map(|(r, (a, b))| map(r).map(|new| (a, b, new)))
        .collect();
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (a, b, new) in edits {
        // Spans come from distinct words, so they never overlap; be safe anyway.
        if a < pos || b > text.len() {
            continue;
        }
        out.push_str(&text[pos..a]);
        out.push_str(&new);
        pos = b;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}
