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

/// Values shorter than this many bytes are not masked (`JOBS = "4"` must not
/// turn every `4` of a log into `***`). Such a value is no secret: its hash,
/// shown by `explain`, gives it away at once.
pub const MIN_LEN: usize = 4;

/// What a masked value is replaced with.
pub const MASK: &str = "***";

/// A set of secret values to mask, longest first (so a value containing
/// another is masked whole). Its `Debug` output shows how many values it
/// holds, never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

impl Secrets {
    /// The values to mask; empty and short ones (see [`MIN_LEN`]) are dropped.
    pub fn new<I, S>(values: I) -> Secrets
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|v| v.as_ref().to_string())
            .filter(|v| v.len() >= MIN_LEN)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets { values }
    }

    /// Add one value (ignored if short).
    pub fn add(&mut self, value: &str) {
        if value.len() >= MIN_LEN && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_string());
            self.values
                .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        }
    }

    /// Add every value of `other`.
    pub fn merge(&mut self, other: &Secrets) {
        for v in &other.values {
            self.add(v);
        }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret value replaced by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.values.iter().any(|v| text.contains(v.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        Cow::Owned(out)
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
    fn short_and_empty_values_are_not_masked() {
        let mut s = Secrets::new(["", "4", "abc"]);
        assert!(s.is_empty());
        s.add("abcd");
        assert_eq!(s.mask("abcde 4"), "***e 4");
    }
}
