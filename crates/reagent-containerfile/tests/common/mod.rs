//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use reagent_containerfile::{parse, Analysis, ParseError};

/// Build args from pairs.
pub fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Parse and analyse with the given build args, panicking (test only) on error.
pub fn analyze_with(text: &str, pairs: &[(&str, &str)]) -> Analysis {
    parse(text)
        .and_then(|f| f.analyze(&args(pairs)))
        .unwrap_or_else(|e| panic!("unexpected error: {e}\n{text}"))
}

/// Parse and analyse without build args.
pub fn analyze(text: &str) -> Analysis {
    analyze_with(text, &[])
}

/// Resolved external references.
pub fn refs(a: &Analysis) -> Vec<String> {
    a.references.iter().map(|r| r.resolved.clone()).collect()
}

/// Context paths.
pub fn paths(a: &Analysis) -> Vec<String> {
    a.context_sources.iter().map(|c| c.path.clone()).collect()
}

/// The error of parsing, then analysing, `text` without build args.
pub fn error(text: &str) -> ParseError {
    match parse(text).and_then(|f| f.analyze(&BTreeMap::new())) {
        Ok(a) => panic!("expected an error, got {a:?}\n{text}"),
        Err(e) => e,
    }
}
