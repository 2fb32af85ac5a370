//! Every error names the 1-based line where the offending instruction starts.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write;

use common::error;
use reagent_containerfile::parse;

fn assert_error(text: &str, line: usize, needle: &str) {
    let e = error(text);
    assert_eq!(e.line, line, "wrong line for `{e}`");
    assert!(
        e.message.contains(needle),
        "`{e}` does not mention `{needle}`"
    );
    assert!(e.to_string().starts_with(&format!("line {line}: ")));
}

#[test]
fn unknown_instruction() {
    assert_error("FROM base\n\nFRUM x\n", 3, "unknown instruction `FRUM`");
}

#[test]
fn instruction_before_from() {
    assert_error(
        "ARG X=1\n# comment\nRUN echo hi\nFROM base\n",
        3,
        "before the first FROM",
    );
}

#[test]
fn no_from_at_all() {
    assert_error("ARG X=1\nARG Y=2\n", 2, "no FROM");
}

#[test]
fn malformed_json_array() {
    assert_error(
        "FROM base\nRUN echo\nCMD [\"a\", \"b\"\n",
        3,
        "malformed JSON array",
    );
    assert_error(
        "FROM base\nCOPY [\"a\" \"b\"] \\\n  \n",
        2,
        "malformed JSON array",
    );
}

#[test]
fn unterminated_heredoc() {
    assert_error(
        "FROM base\nRUN <<EOF cat\nline\nEOFX\n",
        2,
        "unterminated heredoc",
    );
}

#[test]
fn copy_needs_two_arguments() {
    assert_error(
        "FROM base\nCOPY \\\n  onlyone\n",
        2,
        "at least two arguments",
    );
    assert_error("FROM base\nADD --chown=1 x\n", 2, "at least two arguments");
}

#[test]
fn unknown_flag() {
    assert_error(
        "FROM base\nRUN true\nCOPY --frm=x a b\n",
        3,
        "unknown flag `--frm` for COPY",
    );
    assert_error("FROM --plattform=x base\n", 1, "unknown flag `--plattform`");
    assert_error(
        "FROM base\nRUN --mount type=bind true\n",
        2,
        "needs a value",
    );
    assert_error("FROM base\nCOPY --link=maybe a b\n", 2, "true or false");
    assert_error("FROM base\nRUN --network=wifi true\n", 2, "--network=wifi");
    assert_error(
        "FROM base\nRUN --mount=type=nfs,target=/x true\n",
        2,
        "unknown mount type",
    );
    assert_error(
        "FROM base\nRUN --mount=type=bind,source=x true\n",
        2,
        "needs a target",
    );
    assert_error("FROM base\nCOPY --from=a --from=b x y\n", 2, "given twice");
}

#[test]
fn unterminated_substitution() {
    assert_error("FROM base\nCOPY ${SRC /dst\n", 2, "unterminated `${");
    assert_error("ARG A\nFROM ${A:-x\n", 2, "unterminated `${");
    assert_error("FROM base\nENV A=${B\n", 2, "unterminated `${");
    assert_error(
        "FROM base\nRUN --mount=type=bind,source=${X,target=/x true\n",
        2,
        "unterminated",
    );
}

#[test]
fn bad_substitution_modifier() {
    assert_error(
        "FROM base\nCOPY ${SRC%.c} /dst\n",
        2,
        "unsupported modifier",
    );
}

#[test]
fn from_shape_and_empty_image() {
    assert_error("FROM base\nFROM a b\n", 2, "FROM needs an image");
    assert_error("ARG BASE\nFROM $BASE\n", 2, "empty image name");
    assert_error("FROM base AS 1bad\n", 1, "invalid stage name");
    assert_error("FROM base AS a\nFROM base AS A\n", 2, "used twice");
}

#[test]
fn copy_from_not_an_earlier_stage() {
    assert_error(
        "FROM base\nCOPY --from=1 /a /b\n",
        2,
        "not an earlier stage",
    );
    assert_error(
        "FROM base AS one\nCOPY --from=one /a /b\n",
        2,
        "not an earlier stage",
    );
    assert_error(
        "FROM base\nCOPY --from=later /a /b\nFROM base AS later\n",
        2,
        "not an earlier stage",
    );
}

#[test]
fn copy_of_url_needs_add() {
    assert_error("FROM base\nCOPY https://example.org/x /x\n", 2, "use ADD");
}

#[test]
fn bad_escape_directive() {
    assert_error("# escape=x\nFROM base\n", 1, "invalid escape character");
}

#[test]
fn env_and_arg_shape() {
    assert_error("FROM base\nENV ONLYNAME\n", 2, "needs a value");
    assert_error("FROM base\nENV A=1 B\n", 2, "has no `=value`");
    assert_error("FROM base\nARG\n", 2, "at least one argument");
}

#[test]
fn required_variable_unset() {
    assert_error("FROM base\nCOPY ${SRC:?set-SRC} /x\n", 2, "SRC: set-SRC");
}

#[test]
fn shell_and_onbuild_shape() {
    assert_error("FROM base\nSHELL /bin/sh -c\n", 2, "JSON array");
    assert_error(
        "FROM base\nONBUILD FROM other\n",
        2,
        "not allowed in ONBUILD",
    );
    assert_error(
        "FROM base\nONBUILD FRUM other\n",
        2,
        "unknown instruction `FRUM` in ONBUILD",
    );
    assert_error(
        "FROM base\nHEALTHCHECK --every=5s CMD true\n",
        2,
        "unknown flag `--every`",
    );
}

#[test]
fn from_a_later_stage_is_an_error() {
    assert_error(
        "FROM later\nRUN true\nFROM base AS later\n",
        1,
        "comes later in the file",
    );
    // Through an ARG, and case-insensitively.
    assert_error(
        "ARG B=Later\nFROM $B\nFROM base AS later\n",
        2,
        "names stage `later`",
    );
    // `FROM x AS x` names image `x`: the stage does not exist yet.
    let file = parse("FROM base AS base\nRUN true\n").unwrap();
    let a = file.analyze(&BTreeMap::new()).unwrap();
    assert_eq!(a.references[0].resolved, "base");
}

#[test]
fn long_arg_chains_resolve() {
    // A → B → C … 2,000 deep: each ARG is expanded once, when declared.
    let mut text = String::from("ARG A0=base\n");
    for i in 1..2000 {
        writeln!(text, "ARG A{i}=${{A{}}}", i - 1).unwrap();
    }
    text.push_str("FROM ${A1999}\n");
    let a = parse(&text).unwrap().analyze(&BTreeMap::new()).unwrap();
    assert_eq!(a.references[0].resolved, "base");
}

#[test]
fn doubling_args_stop_with_an_error() {
    let mut text = String::from("ARG A0=xxxxxxxxxxxxxxxx\n");
    for i in 1..64 {
        writeln!(text, "ARG A{i}=${{A{0}}}${{A{0}}}", i - 1).unwrap();
    }
    text.push_str("FROM base\n");
    let e = parse(&text).unwrap().analyze(&BTreeMap::new()).unwrap_err();
    assert!(e.message.contains("more than"), "{}", e.message);
    assert!(e.line < 64, "{}", e.line);
}

#[test]
fn many_large_args_stop_with_an_error() {
    let big = "x".repeat(60_000);
    let mut text = format!("ARG BIG={big}\n");
    for i in 0..400 {
        writeln!(text, "ARG C{i}=$BIG").unwrap();
    }
    text.push_str("FROM base\n");
    let e = parse(&text).unwrap().analyze(&BTreeMap::new()).unwrap_err();
    assert!(e.message.contains("in all"), "{}", e.message);
}

#[test]
fn deeply_nested_substitution_is_an_error() {
    let text = format!(
        "FROM base\nENV X={}x{}\n",
        "${U:-".repeat(50_000),
        "}".repeat(50_000)
    );
    assert_error(&text, 2, "nested more than");
}

#[test]
fn a_name_that_cannot_be_referenced_is_an_error() {
    assert_error("FROM base\nARG ${\n", 2, "ARG name `${` holds `$`");
    assert_error("FROM base\nRUN true\nARG A=1 B{=2\n", 3, "holds `{`");
    assert_error("FROM base\nENV ${X} y\n", 2, "ENV name `${X}`");
    assert_error("FROM base\nENV \"A\"=1\n", 2, "holds `\"`");
    let text = "FROM base\nARG ${\n";
    let e = common::error(text);
    assert_eq!(&text[e.span.clone().unwrap()], "${");
}
