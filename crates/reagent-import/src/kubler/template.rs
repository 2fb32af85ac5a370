//! Kubler's `Dockerfile.template`s: Kubler's variables filled in as Kubler
//! fills them, then image references rewritten to the project's nodes.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::ops::Range;

/// The values Kubler's `generate_dockerfile` puts into a template.
#[derive(Debug, Clone, Default)]
pub struct Substitution {
    /// Every `BOB_*` variable, sorted by name (bash's `${!BOB_*}` order).
    pub bob: Vec<(String, String)>,
    /// `${IMAGE_PARENT}`.
    pub image_parent: String,
    /// `${DEFAULT_BUILDER}`.
    pub default_builder: String,
    /// `${NAMESPACE}`.
    pub namespace: String,
    /// `${TAG}`: `IMAGE_TAG`.
    pub tag: String,
    /// `${MAINTAINER}`: `AUTHOR`.
    pub maintainer: String,
}

impl Substitution {
    /// `text` with Kubler's variables replaced, line by line, exactly as
    /// Kubler's `sed` does: each `${BOB_*}` once per line (its expressions have
    /// no `g`), then `${IMAGE_PARENT}`, `${DEFAULT_BUILDER}`, `${NAMESPACE}`,
    /// `${TAG}` and `${MAINTAINER}` everywhere, in that order, each seeing what
    /// the ones before it wrote. Anything else (`$VAR`, `${OTHER}`) is left for
    /// buildah, as Kubler leaves it for docker.
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let mut line = line.to_string();
            for (name, value) in &self.bob {
                line = line.replacen(&format!("${{{name}}}"), value, 1);
            }
            for (name, value) in [
                ("IMAGE_PARENT", &self.image_parent),
                ("DEFAULT_BUILDER", &self.default_builder),
                ("NAMESPACE", &self.namespace),
                ("TAG", &self.tag),
                ("MAINTAINER", &self.maintainer),
            ] {
                line = line.replace(&format!("${{{name}}}"), value);
            }
            out.push_str(&line);
        }
        out
    }
}

/// One instruction of a Dockerfile: its keyword and where its text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The keyword, upper-cased (`FROM`, `ADD`).
    pub keyword: String,
    /// Its bytes in the text, from the keyword to the end of its last line
    /// (continuations included, the final newline excluded).
    pub span: Range<usize>,
    /// The 1-based line it starts on.
    pub line: usize,
}

/// The instructions of `text`: a line ending in `\` continues on the next;
/// comment lines, blank lines and lines inside a continuation that are
/// comments are skipped, as buildah skips them.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut current: Option<Instruction> = None;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim();
        let continues = trimmed.ends_with('\\');
        if let Some(instruction) = current.as_mut() {
            if trimmed.starts_with('#') {
                continue;
            }
            instruction.span.end = start + line.len();
        } else {
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let lead = line.len() - line.trim_start().len();
            let keyword = trimmed
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            current = Some(Instruction {
                keyword,
                span: start + lead..start + line.len(),
                line: index + 1,
            });
        }
        if !continues {
            if let Some(done) = current.take() {
                out.push(done);
            }
        }
    }
    out.extend(current);
    out
}

/// The whitespace-separated words of `text[span]`, with their offsets in
/// `text`. A `\` that ends a line is a separator, not part of a word, and a
/// comment line inside a continuation has no words (buildah skips it).
pub fn words(text: &str, span: Range<usize>) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut offset = span.start;
    for (index, line) in text[span].split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        if index > 0 && line.trim_start().starts_with('#') {
            continue;
        }
        let body = line.trim_end();
        let body = body.strip_suffix('\\').unwrap_or(body);
        let mut word_start = None;
        for (i, c) in body.char_indices() {
            match (word_start, c.is_whitespace()) {
                (None, false) => word_start = Some(i),
                (Some(s), true) => {
                    out.push((start + s, &body[s..i]));
                    word_start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = word_start {
            out.push((start + s, &body[s..]));
        }
    }
    out
}

/// One replacement in a text: a byte range and what goes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The bytes replaced.
    pub range: Range<usize>,
    /// What replaces them.
    pub with: String,
}

/// `text` with `edits` (non-overlapping) applied.
pub fn apply_edits(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.range, &e.with);
    }
    out
}

/// What translating a template found and changed.
#[derive(Debug, Clone, Default)]
pub struct Translated {
    /// The Dockerfile, references rewritten, `ADD rootfs.tar` replaced.
    pub text: String,
    /// Instructions only Docker's image format keeps: (keyword, line).
    pub docker_only: Vec<(String, usize)>,
    /// Whether an `ADD rootfs.tar` was replaced.
    pub adds_rootfs: bool,
    /// Image references from outside the project, as written in the result,
    /// with their lines.
    pub externals: Vec<(String, usize)>,
    /// Lines that mention `rootfs.tar` in a way that could not be translated.
    pub untranslated_rootfs: Vec<usize>,
    /// Flags an `ADD rootfs.tar` had, carried over to its `COPY`: (flags, line).
    pub rootfs_flags: Vec<(String, usize)>,
}

/// What to write for one image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The reference to write (the same text keeps it).
    pub text: String,
    /// Whether it names an image from outside the project.
    pub external: bool,
}

/// How references are rewritten.
pub struct Rewrite<'a> {
    /// What to write for a reference as written (after substitution).
    pub map: &'a dyn Fn(&str) -> Mapped,
    /// The builder step whose `/kubler/rootfs` replaces `ADD rootfs.tar`, as
    /// it is written in a `--from=`.
    pub rootfs_from: Option<&'a str>,
}

/// Rewrite the image references of `text` (after substitution) with
/// `rewrite`, replace `ADD rootfs.tar <dest>` and list what only Docker's
/// format keeps.
pub fn translate(text: &str, rewrite: &Rewrite<'_>) -> Translated {
    let mut out = Translated::default();
    let mut edits = Vec::new();
    let mut stages: BTreeSet<String> = BTreeSet::new();
    let keep_ref = |reference: &str, stages: &BTreeSet<String>| {
        reference.contains('$')
            || reference.bytes().all(|b| b.is_ascii_digit())
            || stages.contains(&reference.to_ascii_lowercase())
    };
    for ins in instructions(text) {
        let words = words(text, ins.span.clone());
        match ins.keyword.as_str() {
            "FROM" => {
                let mut rest = words
                    .iter()
                    .skip(1)
                    .skip_while(|(_, w)| w.starts_with("--"));
                if let Some(&(at, image)) = rest.next() {
                    if !keep_ref(image, &stages) {
                        edit_ref(rewrite, at, image, ins.line, &mut edits, &mut out);
                    }
                }
                if let (Some((_, kw)), Some((_, name))) = (rest.next(), rest.next()) {
                    if kw.eq_ignore_ascii_case("as") {
                        stages.insert(name.to_ascii_lowercase());
                    }
                }
            }
            "COPY" | "ADD" => {
                let mut from_given = false;
                for &(at, word) in words.iter().skip(1) {
                    if !word.starts_with("--") {
                        break;
                    }
                    if let Some(value) = word.strip_prefix("--from=") {
                        from_given = true;
                        if !keep_ref(value, &stages) {
                            edit_ref(rewrite, at + 7, value, ins.line, &mut edits, &mut out);
                        }
                    }
                }
                if ins.keyword == "ADD" && !from_given {
                    if let Some(edit) = rootfs_add(&ins, &words, rewrite, &mut out) {
                        edits.push(edit);
                        continue;
                    }
                }
            }
            "RUN" => {
                for &(at, word) in words.iter().skip(1) {
                    if !word.starts_with("--") {
                        break;
                    }
                    let Some(options) = word.strip_prefix("--mount=") else {
                        continue;
                    };
                    let mut offset = at + "--mount=".len();
                    for option in options.split(',') {
                        if let Some(value) = option.strip_prefix("from=") {
                            if !keep_ref(value, &stages) {
                                edit_ref(
                                    rewrite,
                                    offset + 5,
                                    value,
                                    ins.line,
                                    &mut edits,
                                    &mut out,
                                );
                            }
                        }
                        offset += option.len() + 1;
                    }
                }
            }
            "HEALTHCHECK" | "ONBUILD" | "SHELL" => {
                out.docker_only.push((ins.keyword.clone(), ins.line));
            }
            _ => {}
        }
        if text[ins.span.clone()].contains("rootfs.tar") && ins.keyword != "RUN" {
            out.untranslated_rootfs.push(ins.line);
        }
    }
    out.text = apply_edits(text, edits);
    out
}

fn edit_ref(
    rewrite: &Rewrite<'_>,
    at: usize,
    reference: &str,
    line: usize,
    edits: &mut Vec<Edit>,
    out: &mut Translated,
) {
    let mapped = (rewrite.map)(reference);
    if mapped.external {
        out.externals.push((mapped.text.clone(), line));
    }
    if mapped.text != reference {
        edits.push(Edit {
            range: at..at + reference.len(),
            with: mapped.text,
        });
    }
}

/// `ADD [flags] rootfs.tar DEST` as `COPY [flags] --from=<step> /kubler/rootfs/ DEST`.
fn rootfs_add(
    ins: &Instruction,
    words: &[(usize, &str)],
    rewrite: &Rewrite<'_>,
    out: &mut Translated,
) -> Option<Edit> {
    let from = rewrite.rootfs_from?;
    let args: Vec<&str> = words.iter().skip(1).map(|&(_, w)| w).collect();
    let (flags, rest): (Vec<&str>, Vec<&str>) = args.iter().partition(|w| w.starts_with("--"));
    let [source, dest] = rest.as_slice() else {
        return None;
    };
    if !matches!(*source, "rootfs.tar" | "./rootfs.tar" | "/rootfs.tar") {
        return None;
    }
    if !flags.is_empty() {
        out.rootfs_flags.push((flags.join(" "), ins.line));
    }
    out.adds_rootfs = true;
    let mut with = "COPY ".to_string();
    for flag in &flags {
        with.push_str(flag);
        with.push(' ');
    }
    let _ = write!(with, "--from={from} /kubler/rootfs/ {dest}");
    Some(Edit {
        range: ins.span.clone(),
        with,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs() -> Substitution {
        Substitution {
            bob: vec![
                ("BOB_CHOST".into(), "x86_64-pc-linux-musl".into()),
                ("BOB_X".into(), "${NAMESPACE}-x".into()),
            ],
            image_parent: "acme/glibc".into(),
            default_builder: "acme/bob".into(),
            namespace: "acme".into(),
            tag: "20250501".into(),
            maintainer: "Jane <j@example.org>".into(),
        }
    }

    #[test]
    fn variables_are_filled_in_as_kubler_s_sed_does() {
        let text = "FROM ${IMAGE_PARENT}\nLABEL maintainer=\"${MAINTAINER}\" t=${TAG}\nRUN echo ${BOB_CHOST} ${BOB_CHOST} ${BOB_X} $BOB_CHOST ${OTHER}\nCOPY --from=${NAMESPACE}/x:${TAG} /a /a\nCMD [\"${DEFAULT_BUILDER}\"]";
        assert_eq!(
            subs().apply(text),
            "FROM acme/glibc\nLABEL maintainer=\"Jane <j@example.org>\" t=20250501\nRUN echo x86_64-pc-linux-musl ${BOB_CHOST} acme-x $BOB_CHOST ${OTHER}\nCOPY --from=acme/x:20250501 /a /a\nCMD [\"acme/bob\"]"
        );
    }

    #[test]
    fn instructions_span_continuations_and_skip_comments() {
        let text =
            "# c\nFROM a\n\nRUN one \\\n# inside\n    two \\\n  three\n  healthcheck CMD x\n";
        let found = instructions(text);
        let kw: Vec<(&str, usize)> = found.iter().map(|i| (i.keyword.as_str(), i.line)).collect();
        assert_eq!(kw, [("FROM", 2), ("RUN", 4), ("HEALTHCHECK", 8)]);
        assert_eq!(
            &text[found[1].span.clone()],
            "RUN one \\\n# inside\n    two \\\n  three"
        );
        let w: Vec<&str> = words(text, found[1].span.clone())
            .into_iter()
            .map(|(_, w)| w)
            .collect();
        assert_eq!(w, ["RUN", "one", "two", "three"]);
    }

    fn map(r: &str) -> Mapped {
        let (text, external) = match r {
            "acme/glibc" | "acme/glibc:1" => ("localhost/glibc".to_string(), false),
            "acme/bob-glibc" => ("localhost/bob-glibc".to_string(), false),
            "scratch" => ("scratch".to_string(), false),
            other => (format!("docker.io/library/{other}"), true),
        };
        Mapped { text, external }
    }

    #[test]
    fn references_are_rewritten_and_rootfs_is_copied_from_the_step() {
        let text = "FROM --platform=linux/amd64 acme/glibc:1 AS base\nFROM base\nADD rootfs.tar /\nCOPY --from=acme/glibc /etc/x /etc/x\nCOPY --from=base /a /b\nCOPY --from=0 /a /b\nRUN --mount=type=bind,from=acme/glibc,source=/x,target=/y \\\n    --mount=type=cache,target=/c true\nFROM alpine:3.20\nCOPY --from=${X} / /\nHEALTHCHECK CMD true\nONBUILD RUN true\n";
        let t = translate(
            text,
            &Rewrite {
                map: &map,
                rootfs_from: Some("localhost/bob-glibc"),
            },
        );
        assert_eq!(
            t.text,
            "FROM --platform=linux/amd64 localhost/glibc AS base\nFROM base\nCOPY --from=localhost/bob-glibc /kubler/rootfs/ /\nCOPY --from=localhost/glibc /etc/x /etc/x\nCOPY --from=base /a /b\nCOPY --from=0 /a /b\nRUN --mount=type=bind,from=localhost/glibc,source=/x,target=/y \\\n    --mount=type=cache,target=/c true\nFROM docker.io/library/alpine:3.20\nCOPY --from=${X} / /\nHEALTHCHECK CMD true\nONBUILD RUN true\n"
        );
        assert!(t.adds_rootfs);
        assert_eq!(
            t.externals,
            [("docker.io/library/alpine:3.20".to_string(), 9)]
        );
        assert_eq!(
            t.docker_only,
            [("HEALTHCHECK".to_string(), 11), ("ONBUILD".to_string(), 12)]
        );
        assert!(t.untranslated_rootfs.is_empty());
    }

    #[test]
    fn an_add_of_rootfs_it_cannot_translate_is_flagged() {
        let t = translate(
            "FROM scratch\nADD [\"rootfs.tar\", \"/\"]\nADD --chown=1:1 rootfs.tar /x\n",
            &Rewrite {
                map: &map,
                rootfs_from: Some("localhost/step"),
            },
        );
        assert_eq!(t.untranslated_rootfs, [2]);
        assert_eq!(t.rootfs_flags, [("--chown=1:1".to_string(), 3)]);
        assert!(
            t.text
                .ends_with("COPY --chown=1:1 --from=localhost/step /kubler/rootfs/ /x\n"),
            "{}",
            t.text
        );
    }
}
