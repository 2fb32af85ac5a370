//! An error's span covers exactly the word at fault, in the original text.

mod common;

use common::error;

/// The error for `text` must point at line `line` and at the `nth` (0-based) occurrence of
/// `word`, and its message must mention `needle`.
fn assert_span(text: &str, line: usize, word: &str, nth: usize, needle: &str) {
    let e = error(text);
    assert_eq!(e.line, line, "wrong line for `{e}`");
    assert!(e.message().contains(needle), "`{e}` lacks `{needle}`");
    let span = e
        .span
        .clone()
        .unwrap_or_else(|| panic!("`{e}` has no span"));
    assert_eq!(&text[span.clone()], word, "span of `{e}`");
    let start = text.match_indices(word).nth(nth).map_or_else(
        || panic!("`{word}` does not occur {} times", nth + 1),
        |(i, _)| i,
    );
    assert_eq!(span.start, start, "`{e}` points at another `{word}`");
}

#[test]
fn unknown_keyword() {
    assert_span("FROM base\n\nFRUM x\n", 3, "FRUM", 0, "unknown instruction");
    // After a byte-order mark, and in ONBUILD (the message upper-cases the word).
    assert_span("\u{feff}FROM base\nfrum x\n", 2, "frum", 0, "`frum`");
    assert_span(
        "FROM base\nONBUILD frum x\n",
        2,
        "frum",
        0,
        "unknown instruction `FRUM` in ONBUILD",
    );
    assert_span(
        "RUN true\nFROM base\n",
        1,
        "RUN",
        0,
        "before the first FROM",
    );
}

#[test]
fn bad_flags() {
    assert_span(
        "FROM base\nCOPY --frm=x a b\n",
        2,
        "--frm",
        0,
        "unknown flag",
    );
    assert_span(
        "FROM base\nCOPY --from=a --from=b x y\n",
        2,
        "--from",
        1,
        "given twice",
    );
    assert_span(
        "FROM base\nCOPY --link=maybe a b\n",
        2,
        "maybe",
        0,
        "true or false",
    );
    assert_span(
        "FROM base\nRUN --mount type=bind true\n",
        2,
        "--mount",
        0,
        "needs a value",
    );
    assert_span(
        "FROM base\nRUN --network=wifi true\n",
        2,
        "wifi",
        0,
        "expected one of",
    );
    assert_span(
        "FROM base\nRUN --mount=type=nfs,target=/x true\n",
        2,
        "nfs",
        0,
        "unknown mount type",
    );
    assert_span(
        "FROM base\nRUN --mount=type=bind,source=x true\n",
        2,
        "type=bind,source=x",
        0,
        "needs a target",
    );
}

#[test]
fn undefined_variables() {
    assert_span(
        "FROM base\nCOPY ${SRC:?set-SRC} /x\n",
        2,
        "${SRC:?set-SRC}",
        0,
        "SRC: set-SRC",
    );
    assert_span(
        "ARG X=${Y:?need-Y}\nFROM base\n",
        1,
        "${Y:?need-Y}",
        0,
        "Y: need-Y",
    );
    assert_span(
        "FROM base\nENV A=1 B=${C:?unset}\n",
        2,
        "${C:?unset}",
        0,
        "C: unset",
    );
    assert_span(
        "FROM base\nENV LEGACY ${C:?unset} too\n",
        2,
        "${C:?unset} too",
        0,
        "C: unset",
    );
    assert_span(
        "FROM base\nRUN --mount=type=bind,source=${S:?no},target=/s true\n",
        2,
        "${S:?no}",
        0,
        "S: no",
    );
    // A syntax error is found while parsing, before any value is known.
    assert_span("FROM base\nWORKDIR /a ${B\n", 2, "${B", 0, "unterminated");
}

#[test]
fn image_references_and_stage_names() {
    assert_span("ARG BASE\nFROM $BASE\n", 2, "$BASE", 0, "empty image name");
    assert_span(
        "FROM later\nRUN true\nFROM base AS later\n",
        1,
        "later",
        0,
        "comes later",
    );
    assert_span(
        "FROM base AS one\nCOPY --from=one /a /b\n",
        2,
        "one",
        1,
        "not an earlier stage",
    );
    assert_span(
        "FROM base\nRUN --mount=from=${E},target=/e true\n",
        2,
        "${E}",
        0,
        "empty `from=`",
    );
    assert_span("FROM base AS x\nFROM base AS X\n", 2, "X", 0, "used twice");
    assert_span("FROM base AS 1bad\n", 1, "1bad", 0, "invalid stage name");
    assert_span(
        "FROM base\nCOPY https://example.org/x /x\n",
        2,
        "https://example.org/x",
        0,
        "use ADD",
    );
}

#[test]
fn lexer_errors() {
    assert_span(
        "FROM base\nRUN <<EOF cat\nline\n",
        2,
        "<<EOF",
        0,
        "unterminated heredoc",
    );
    assert_span(
        "# escape=x\nFROM base\n",
        1,
        "x",
        0,
        "invalid escape character",
    );
    assert_span(
        "# syntax=a\n#  Syntax = b\nFROM base\n",
        2,
        "Syntax",
        0,
        "given twice",
    );
}

#[test]
fn spans_are_offsets_into_the_whole_text() {
    // The word is on a continuation line, after CRLF line ends: the line stays the
    // instruction's first, the span is where the word really is.
    let text = "FROM base\r\nCOPY a \\\r\n  ${B:?x} /d\r\n";
    assert_span(text, 2, "${B:?x}", 0, "B: x");
    // A JSON array that does not parse is the word at fault.
    assert_span(
        "FROM base\nCMD [\"a\", \"b\"\n",
        2,
        "[\"a\", \"b\"",
        0,
        "malformed JSON array",
    );
}

#[test]
fn no_span_when_no_word_is_at_fault() {
    for text in [
        "ARG X=1\n",
        "FROM base\nCOPY onlyone\n",
        "FROM base\nRUN\n",
        "FROM base\nFROM a b\n",
        // Exec-form words are JSON strings: their bytes are not the text's.
        "FROM base\nCOPY [\"${A\", \"/x\"]\n",
    ] {
        let e = error(text);
        assert_eq!(e.span, None, "`{e}` should have no span");
    }
}

#[test]
fn message_without_the_line() {
    let e = error("FROM base\n\nFRUM x\n");
    assert_eq!(e.message(), "unknown instruction `FRUM`");
    assert_eq!(e.to_string(), format!("line 3: {}", e.message()));
}

#[test]
fn spans_fall_on_character_boundaries() {
    // Non-ASCII words and whitespace around the word at fault.
    for (text, word) in [
        ("FROM base\n\u{2000}ÄRG x\n", "ÄRG"),
        ("FROM base\nCOPY --fröm=x a b\n", "--fröm"),
        ("FROM base\nCOPY \\\n\u{85}${É:?é} /d\n", "${É:?é}"),
        ("FROM bäse AS ü\n", "ü"),
    ] {
        let e = error(text);
        let span = e
            .span
            .clone()
            .unwrap_or_else(|| panic!("`{e}` has no span"));
        assert_eq!(text.get(span), Some(word), "`{e}`");
    }
}
