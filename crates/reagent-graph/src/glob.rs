//! `COPY`/`ADD` glob sources, matched the way buildah matches them (Go's
//! `filepath.Match`): `*` is any run of characters but `/`, `?` one character but
//! `/`, `[abc]`, `[a-z]`, `[!a]`/`[^a]` one character of (or not of) a set, `\x`
//! the character `x`. There is no `**` and no `{a,b}`: buildah has neither.
//!
//! Each pattern is matched on its own, in time linear in the pattern and the path
//! for all practical patterns; [`GlobIndex`] finds which patterns can match a path
//! by their literal prefix or suffix, so matching many patterns against many paths
//! costs about one pattern per path instead of every pattern per path.

use std::collections::{BTreeSet, HashMap};

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A byte that must be there.
    Byte(u8),
    /// `?`.
    One,
    /// `*`.
    Star,
    /// `[...]`: character ranges, and whether the set is negated.
    Class {
        negated: bool,
        ranges: Vec<(u32, u32)>,
    },
}

/// A parsed glob.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    tokens: Vec<Token>,
    /// The bytes before the first `*`, `?`, `[` or `\`: every match starts with them.
    prefix: Vec<u8>,
    /// The bytes after the last `*`, `?`, `]` or `\`: every match ends with them.
    suffix: Vec<u8>,
    /// How many `/`-separated components a match has.
    depth: usize,
}

impl Pattern {
    /// Parse `pattern`; an error says what is malformed.
    pub(crate) fn parse(pattern: &[u8]) -> Result<Pattern, String> {
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < pattern.len() {
            let b = pattern[i];
            i += 1;
            match b {
                b'*' => {
                    // `**` matches what `*` matches.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                b'?' => tokens.push(Token::One),
                b'\\' => match pattern.get(i) {
                    Some(&e) => {
                        tokens.push(Token::Byte(e));
                        i += 1;
                    }
                    None => return Err("a trailing `\\` escapes nothing".to_string()),
                },
                b'[' => {
                    let (class, next) = class(pattern, i)?;
                    tokens.push(class);
                    i = next;
                }
                _ => tokens.push(Token::Byte(b)),
            }
        }
        let is_meta = |b: &u8| matches!(b, b'*' | b'?' | b'[' | b'\\');
        let prefix_len = pattern.iter().position(is_meta).unwrap_or(pattern.len());
        let suffix_at = pattern
            .iter()
            .rposition(|b| matches!(b, b'*' | b'?' | b']' | b'\\'))
            .map_or(0, |i| i + 1);
        Ok(Pattern {
            tokens,
            prefix: pattern[..prefix_len].to_vec(),
            suffix: pattern[suffix_at..].to_vec(),
            depth: memchr::memchr_iter(b'/', pattern).count() + 1,
        })
    }

    /// How many `/`-separated components a path that matches has.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// Whether `path` (`/`-separated bytes) matches the whole pattern.
    pub(crate) fn matches(&self, path: &[u8]) -> bool {
        let (mut p, mut t) = (0, 0);
        // The last `*` seen, and where in `path` its match currently ends.
        let mut star: Option<(usize, usize)> = None;
        while t < path.len() {
            if let Some(token) = self.tokens.get(p) {
                if *token == Token::Star {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                if let Some(n) = step(token, &path[t..]) {
                    p += 1;
                    t += n;
                    continue;
                }
            }
            // Let the last `*` take one more character; it never takes a `/`, and
            // an earlier `*` could not either, so there is nothing else to try.
            match star {
                Some((sp, st)) if path[st] != b'/' => {
                    let next = st + char_len(&path[st..]);
                    star = Some((sp, next));
                    p = sp + 1;
                    t = next;
                }
                _ => return false,
            }
        }
        self.tokens[p..].iter().all(|t| *t == Token::Star)
    }
}

/// Parse a `[...]` class whose `[` ends just before `pattern[i]`: the token, and the
/// index just past its `]`.
fn class(pattern: &[u8], mut i: usize) -> Result<(Token, usize), String> {
    let negated = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = match pattern.get(i) {
            None => return Err("unclosed character class: missing `]`".to_string()),
            Some(b']') if !first => return Ok((Token::Class { negated, ranges }, i + 1)),
            _ => {
                let (c, n) = class_char(pattern, i)?;
                i += n;
                c
            }
        };
        first = false;
        let hi = if pattern.get(i) == Some(&b'-')
            && !matches!(pattern.get(i + 1), Some(b']') | None)
        {
            let (hi, n) = class_char(pattern, i + 1)?;
            i += 1 + n;
            if hi < c {
                return Err("invalid character range: its end comes before its start".to_string());
            }
            hi
        } else {
            c
        };
        ranges.push((c, hi));
    }
}

/// The character at `pattern[i]` inside a class (after a `\`, the one it escapes), and
/// how many bytes it took.
fn class_char(pattern: &[u8], i: usize) -> Result<(u32, usize), String> {
    match pattern.get(i) {
        Some(b'\\') => match pattern.get(i + 1..) {
            Some(rest) if !rest.is_empty() => Ok((char_at(rest), 1 + char_len(rest))),
            _ => Err("unclosed character class: missing `]`".to_string()),
        },
        Some(_) => Ok((char_at(&pattern[i..]), char_len(&pattern[i..]))),
        None => Err("unclosed character class: missing `]`".to_string()),
    }
}

/// How many bytes of `rest` (not empty) `token` takes, if it matches there.
fn step(token: &Token, rest: &[u8]) -> Option<usize> {
    match token {
        Token::Byte(b) => (rest[0] == *b).then_some(1),
        Token::One => (rest[0] != b'/').then(|| char_len(rest)),
        Token::Class { negated, ranges } => {
            if rest[0] == b'/' {
                return None;
            }
            let c = char_at(rest);
            let inside = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
            (inside != *negated).then(|| char_len(rest))
        }
        Token::Star => None,
    }
}

/// The length of the UTF-8 character `rest` starts with (1 for a byte that starts none).
fn char_len(rest: &[u8]) -> usize {
    let max = rest.len().min(4);
    (1..=max)
        .find(|n| std::str::from_utf8(&rest[..*n]).is_ok())
        .unwrap_or(1)
}

/// The character `rest` starts with; a byte that starts no UTF-8 character stands for
/// itself, above every character.
fn char_at(rest: &[u8]) -> u32 {
    let n = char_len(rest);
    std::str::from_utf8(&rest[..n])
        .ok()
        .and_then(|s| s.chars().next())
        .map_or(0x11_0000 + u32::from(rest[0]), u32::from)
}

/// Many patterns, indexed by their literal prefix or suffix, so that a path is only
/// matched against the patterns that can match it.
pub(crate) struct GlobIndex {
    patterns: Vec<Pattern>,
    by_prefix: HashMap<Vec<u8>, Vec<usize>>,
    prefix_lens: BTreeSet<usize>,
    by_suffix: HashMap<Vec<u8>, Vec<usize>>,
    suffix_lens: BTreeSet<usize>,
    /// Patterns with neither (`*`, `?x*`): tried on every path.
    rest: Vec<usize>,
}

impl GlobIndex {
    /// Index `patterns`; a pattern's number is its place in the list.
    pub(crate) fn new(patterns: Vec<Pattern>) -> GlobIndex {
        let mut index = GlobIndex {
            patterns: Vec::new(),
            by_prefix: HashMap::new(),
            prefix_lens: BTreeSet::new(),
            by_suffix: HashMap::new(),
            suffix_lens: BTreeSet::new(),
            rest: Vec::new(),
        };
        for (i, p) in patterns.iter().enumerate() {
            if !p.prefix.is_empty() {
                index.prefix_lens.insert(p.prefix.len());
                index.by_prefix.entry(p.prefix.clone()).or_default().push(i);
            } else if !p.suffix.is_empty() {
                index.suffix_lens.insert(p.suffix.len());
                index.by_suffix.entry(p.suffix.clone()).or_default().push(i);
            } else {
                index.rest.push(i);
            }
        }
        index.patterns = patterns;
        index
    }

    /// The most components any pattern's match has.
    pub(crate) fn max_depth(&self) -> usize {
        self.patterns.iter().map(Pattern::depth).max().unwrap_or(0)
    }

    /// The numbers of the patterns `path` matches, in ascending order, into `hits`
    /// (cleared first).
    pub(crate) fn matches_into(&self, path: &[u8], hits: &mut Vec<usize>) {
        hits.clear();
        let by_prefix = self
            .prefix_lens
            .range(..=path.len())
            .filter_map(|n| self.by_prefix.get(&path[..*n]));
        let by_suffix = self
            .suffix_lens
            .range(..=path.len())
            .filter_map(|n| self.by_suffix.get(&path[path.len() - n..]));
        for group in by_prefix.chain(by_suffix).chain([&self.rest]) {
            hits.extend(
                group
                    .iter()
                    .copied()
                    .filter(|i| self.patterns[*i].matches(path)),
            );
        }
        hits.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Pattern::parse(pattern.as_bytes())
            .unwrap()
            .matches(path.as_bytes())
    }

    #[test]
    fn stars_and_marks_stay_within_one_component() {
        assert!(m("*.conf", "a.conf"));
        assert!(m("*", ".hidden"));
        assert!(!m("*.conf", "d/a.conf"));
        assert!(m("conf/*.conf", "conf/x.conf"));
        assert!(!m("conf/*", "conf/sub/y.conf"));
        assert!(m("*/*", "a/b"));
        assert!(!m("*/*b", "a/c/b"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("f?.t?t", "f1.txt"));
        assert!(!m("?", "/"));
        assert!(m("**", "abc"));
        assert!(!m("a**", "a/b"));
        assert!(m("caf?", "caf\u{e9}"));
    }

    #[test]
    fn classes_ranges_negation_and_escapes() {
        assert!(m("f[0-9].txt", "f7.txt"));
        assert!(!m("f[0-9].txt", "fa.txt"));
        assert!(m("f[!0-9]", "fa"));
        assert!(m("f[^0-9]", "fa"));
        assert!(!m("f[!0-9]", "f1"));
        assert!(m("[]a]", "]"));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("[\\]]", "]"));
        assert!(m("{a,b}*", "{a,b}x"));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for bad in ["[abc", "a\\", "[z-a]", "[", "[!"] {
            assert!(Pattern::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_index_finds_each_match_by_prefix_suffix_or_neither() {
        let patterns = ["f1*", "f12*", "*.conf", "?x", "d/*.c", "f1?"];
        let index = GlobIndex::new(
            patterns
                .iter()
                .map(|p| Pattern::parse(p.as_bytes()).unwrap())
                .collect(),
        );
        let hits = |path: &str| {
            let mut h = Vec::new();
            index.matches_into(path.as_bytes(), &mut h);
            h
        };
        assert_eq!(hits("f123"), [0, 1]);
        assert_eq!(hits("f12"), [0, 1, 5]);
        assert_eq!(hits("a.conf"), [2]);
        assert_eq!(hits("ax"), [3]);
        assert_eq!(hits("d/x.c"), [4]);
        assert!(hits("zzz").is_empty());
        assert_eq!(index.max_depth(), 2);
    }
}
