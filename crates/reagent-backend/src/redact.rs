//! Masking build-arg values in anything reagent writes or shows.
//!
//! Build args may carry secrets (tokens, passwords in URLs). buildah itself
//! prints expanded values in its output and error messages (an `ADD` of
//! `https://user:${TOKEN}@host/f` fails with the expanded URL), so every line
//! of a build that carries args is masked before it reaches a log file, an
//! event or an error message.
//!
//! ```
//! use reagent_backend::redact::Secrets;
//!
//! let secrets = Secrets::new(["hunter2-token", "abc"]);
//! assert_eq!(secrets.mask("GET https://u:hunter2-token@h/f"), "GET https://u:***@h/f");
//! // Values shorter than MIN_LEN are not masked: they would turn every
//! // occurrence of a digit or a short word into `***`.
//! assert_eq!(secrets.mask("abc"), "abc");
//! ```

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// Values shorter than this many bytes are not masked (`JOBS = "4"` must not
/// turn every `4` of a log into `***`). Such a value is no secret: its hash,
/// shown by `explain`, gives it away at once.
pub const MIN_LEN: usize = 4;

/// What a masked value is replaced with.
pub const MASK: &str = "***";

/// A set of secret values to mask. Every byte of a text that lies inside an
/// occurrence of any value is masked, so a value containing another, or two
/// occurrences that overlap, are masked whole, with one [`MASK`] per run of
/// masked bytes. Its `Debug` output shows how many values it holds, never the
/// values.
///
/// Masking costs one pass over the text whatever the number of values (an
/// Aho-Corasick automaton, built on first use and kept until a value is added).
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, then in byte order; no duplicates.
    values: Vec<String>,
    /// The automaton over `values`; `None` inside when it could not be built.
    matcher: OnceLock<Option<AhoCorasick>>,
}

impl PartialEq for Secrets {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl Eq for Secrets {}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

/// Longest first, then in byte order.
fn order(a: &String, b: &String) -> std::cmp::Ordering {
    b.len().cmp(&a.len()).then_with(|| a.cmp(b))
}

impl Secrets {
    /// The values to mask; empty and short ones (see [`MIN_LEN`]) are dropped.
    pub fn new<I, S>(values: I) -> Secrets
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut secrets = Secrets::default();
        secrets.extend(values.into_iter().map(|v| v.as_ref().to_string()));
        secrets
    }

    /// Take in `more` values at once: one sort, however many there are.
    fn extend(&mut self, more: impl IntoIterator<Item = String>) {
        let before = self.values.len();
        self.values
            .extend(more.into_iter().filter(|v| v.len() >= MIN_LEN));
        if self.values.len() != before {
            self.values.sort_by(order);
            self.values.dedup();
            self.matcher = OnceLock::new();
        }
    }

    /// Add one value (ignored if short).
    pub fn add(&mut self, value: &str) {
        if value.len() < MIN_LEN {
            return;
        }
        let value = value.to_string();
        if let Err(at) = self.values.binary_search_by(|v| order(v, &value)) {
            self.values.insert(at, value);
            self.matcher = OnceLock::new();
        }
    }

    /// Add every value of `other`.
    pub fn merge(&mut self, other: &Secrets) {
        self.extend(other.values.iter().cloned());
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The automaton over every value, built once.
    fn matcher(&self) -> Option<&AhoCorasick> {
        self.matcher
            .get_or_init(|| AhoCorasick::new(&self.values).ok())
            .as_ref()
    }

    /// `text` with every byte inside an occurrence of a secret value replaced, one
    /// [`MASK`] per run of such bytes.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.is_empty() {
            return Cow::Borrowed(text);
        }
        let Some(runs) = self.matcher().and_then(|m| masked_runs(m, text)) else {
            return self.mask_one_by_one(text);
        };
        if runs.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for (start, end) in runs {
            out.push_str(&text[pos..start]);
            out.push_str(MASK);
            pos = end;
        }
        out.push_str(&text[pos..]);
        Cow::Owned(out)
    }

    /// What [`Secrets::mask`] does when no automaton could be built: replace each value
    /// in turn, longest first (one pass over the text per value).
    fn mask_one_by_one<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = Cow::Owned(out.replace(v.as_str(), MASK));
            }
        }
        out
    }

    /// Mask every string inside a JSON value (keys and values).
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(s) => {
                if let Cow::Owned(m) = self.mask(s) {
                    *s = m;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            serde_json::Value::Object(map) => {
                let masked: serde_json::Map<String, serde_json::Value> = std::mem::take(map)
                    .into_iter()
                    .map(|(k, mut v)| {
                        self.mask_json(&mut v);
                        (self.mask(&k).into_owned(), v)
                    })
                    .collect();
                *map = masked;
            }
            _ => {}
        }
    }
}

/// The byte ranges of `text` covered by occurrences of the matcher's values, merged
/// where they overlap, in order. `None` if the matcher cannot search overlapping
/// occurrences (it always can: it is built with the standard match kind). Values are
/// whole strings, so every occurrence starts and ends on a character boundary.
fn masked_runs(matcher: &AhoCorasick, text: &str) -> Option<Vec<(usize, usize)>> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    // Occurrences come in order of their end; one may reach back over earlier runs.
    for m in matcher.try_find_overlapping_iter(text).ok()? {
        let mut start = m.start();
        while let Some(&(s, e)) = runs.last() {
            if e <= start {
                break;
            }
            start = start.min(s);
            runs.pop();
        }
        runs.push((start, m.end()));
    }
    Some(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_longest_value_first() {
        let s = Secrets::new(["token", "token-extended"]);
        assert_eq!(s.mask("a token-extended b token"), "a *** b ***");
    }

    #[test]
    fn leaves_text_without_secrets_borrowed() {
        let s = Secrets::new(["secret-value"]);
        assert!(matches!(s.mask("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn masks_inside_json_strings_and_keys() {
        let s = Secrets::new(["s3cr3t-v"]);
        let mut v = serde_json::json!({"remote:https://u:s3cr3t-v@h": ["x s3cr3t-v", 1]});
        s.mask_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"remote:https://u:***@h": ["x ***", 1]})
        );
    }

    #[test]
    fn debug_output_hides_the_values() {
        let mut s = Secrets::new(["hunter2-token"]);
        s.merge(&Secrets::new(["other-secret", "hunter2-token"]));
        assert_eq!(format!("{s:?}"), "Secrets(2 values)");
    }

    #[test]
    fn overlapping_values_are_masked_whole() {
        // Replacing one value after the other left `abcd` of the second in view.
        let s = Secrets::new(["abcd1234", "1234wxyz"]);
        assert_eq!(s.mask("x abcd1234wxyz y"), "x *** y");
        assert_eq!(s.mask("abcd1234 1234wxyz"), "*** ***");
        let nested = Secrets::new(["secret-token", "token-and-more", "cret"]);
        assert_eq!(nested.mask("=secret-token-and-more="), "=***=");
    }

    #[test]
    fn adding_keeps_one_copy_in_order_and_masks_with_the_new_value() {
        let mut s = Secrets::new(["first-value"]);
        assert_eq!(s.mask("first-value second-value"), "*** second-value");
        s.add("second-value");
        s.add("second-value");
        s.merge(&Secrets::new(["first-value", "third-value"]));
        assert_eq!(format!("{s:?}"), "Secrets(3 values)");
        assert_eq!(
            s.mask("first-value second-value third-value"),
            "*** *** ***"
        );
        assert_eq!(
            s,
            Secrets::new(["third-value", "second-value", "first-value"])
        );
    }

    #[test]
    fn non_ascii_text_and_values_mask_on_character_boundaries() {
        let s = Secrets::new(["p\u{e4}ssw\u{f6}rd"]);
        assert_eq!(s.mask("\u{fc}p\u{e4}ssw\u{f6}rd\u{df}"), "\u{fc}***\u{df}");
    }

    #[test]
    fn short_and_empty_values_are_not_masked() {
        let mut s = Secrets::new(["", "4", "abc"]);
        assert!(s.is_empty());
        s.add("abcd");
        assert_eq!(s.mask("abcde 4"), "***e 4");
    }
}
