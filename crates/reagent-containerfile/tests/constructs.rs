//! One test per Containerfile construct the analyser understands.

mod common;

use std::collections::BTreeMap;

use common::{analyze, analyze_with, paths, refs};
use reagent_containerfile::{parse, ReferenceKind};

#[test]
fn escape_directive_backtick() {
    let text =
        "# syntax=docker/dockerfile:1\n# escape=`\nFROM base\nCOPY C:\\src\\app `\n  C:\\app\\\n";
    let file = parse(text).unwrap();
    assert_eq!(file.escape(), '`');
    let a = file.analyze(&BTreeMap::new()).unwrap();
    assert_eq!(paths(&a), ["C:\\src\\app"]);
    assert_eq!(a.context_sources[0].line, 4);
}

#[test]
fn escape_directive_backslash_and_syntax_ignored() {
    let file = parse("# syntax=docker/dockerfile:1.4\n# escape=\\\nFROM base\n").unwrap();
    assert_eq!(file.escape(), '\\');
    assert_eq!(file.instructions().len(), 1);
}

#[test]
fn directive_after_instruction_is_a_comment() {
    let file = parse("FROM base\n# escape=`\nRUN echo \\\n  hi\n").unwrap();
    assert_eq!(file.escape(), '\\');
    assert_eq!(file.instructions()[1].arguments, "echo   hi");
}

#[test]
fn comments_blank_lines_and_continuations() {
    let text = "\
# leading comment

FROM base
   # indented comment
COPY a \\
# a comment inside the continuation is skipped
\\
     b /dst/
RUN true
";
    let file = parse(text).unwrap();
    let kw: Vec<_> = file
        .instructions()
        .iter()
        .map(|i| (i.keyword.as_str(), i.line))
        .collect();
    assert_eq!(kw, [("FROM", 3), ("COPY", 5), ("RUN", 9)]);
    let a = file.analyze(&BTreeMap::new()).unwrap();
    assert_eq!(paths(&a), ["a", "b"]);
    assert!(a.context_sources.iter().all(|c| c.line == 5));
}

#[test]
fn keywords_are_case_insensitive() {
    let a = analyze("from base AS Build\ncopy x /x\nFrom build\nCoPy --from=0 /x /y\n");
    assert_eq!(refs(&a), ["base"]);
    assert_eq!(paths(&a), ["x"]);
    assert_eq!(a.stages[0].name.as_deref(), Some("build"));
    assert_eq!(a.stages[1].base_stage, Some(0));
}

#[test]
fn exec_form_and_shell_form() {
    let text = r#"FROM base
COPY ["with space.txt", "b*.conf", "/dst/"]
RUN ["/bin/sh", "-c", "echo hi"]
RUN [ -f /etc/os-release ] && echo shell form
CMD ["app", "--flag"]
ENTRYPOINT /bin/app
"#;
    let file = parse(text).unwrap();
    let a = file.analyze(&BTreeMap::new()).unwrap();
    assert_eq!(paths(&a), ["with space.txt", "b*.conf"]);
    assert_eq!(file.instructions().len(), 6);
}

#[test]
fn global_args_in_from_and_build_arg_override() {
    let text = "ARG REPO=docker.io/gentoo\nARG TAG=latest\nFROM ${REPO}/stage3:$TAG\n";
    assert_eq!(refs(&analyze(text)), ["docker.io/gentoo/stage3:latest"]);
    let a = analyze_with(text, &[("TAG", "20240101"), ("UNDECLARED", "x")]);
    assert_eq!(refs(&a), ["docker.io/gentoo/stage3:20240101"]);
    assert_eq!(a.references[0].written, "${REPO}/stage3:$TAG");
    let file = parse(text).unwrap();
    assert_eq!(
        file.global_args(),
        [("REPO", Some("docker.io/gentoo")), ("TAG", Some("latest"))]
    );
}

#[test]
fn build_args_only_override_declared_args() {
    let text = "FROM ${IMG:-fallback}\n";
    assert_eq!(refs(&analyze_with(text, &[("IMG", "other")])), ["fallback"]);
}

#[test]
fn automatic_platform_args_are_global() {
    let text = "FROM base-${TARGETARCH:-none}\n";
    assert_eq!(
        refs(&analyze_with(text, &[("TARGETARCH", "arm64")])),
        ["base-arm64"]
    );
}

#[test]
fn stage_args_inherit_default_and_override() {
    let text = "\
ARG DIR=global
FROM base
COPY $DIR/a /a
ARG DIR
COPY $DIR/b /b
ARG OTHER=stage-default
COPY $OTHER/c /c
FROM base
COPY ${DIR:-unset}/d /d
";
    assert_eq!(
        paths(&analyze(text)),
        ["/a", "global/b", "stage-default/c", "unset/d"]
    );
    let a = analyze_with(text, &[("OTHER", "given"), ("DIR", "cli")]);
    assert_eq!(paths(&a), ["/a", "cli/b", "given/c", "unset/d"]);
}

#[test]
fn env_both_forms_and_scope() {
    let text = r#"FROM base
ARG WHO=arg
ENV WHO=env A="v 1" B=$A
ENV LEGACY some value
COPY $WHO/${A}/${B:-noB}/$LEGACY /dst
ARG WHO=late
COPY $WHO /dst
FROM base
COPY ${WHO:-none} /dst
"#;
    let a = analyze_with(text, &[("WHO", "cli")]);
    assert_eq!(paths(&a), ["env/v 1/noB/some value", "env", "none"]);
}

#[test]
fn substitution_forms() {
    let text = "\
FROM base
ARG SET=yes
ARG EMPTY=
COPY ${SET:+alt}-${EMPTY:+alt}-${NOPE:-def}-${EMPTY-def}-${EMPTY:-def}-${SET+p}-${NOPE+p} /dst
";
    assert_eq!(paths(&analyze(text)), ["alt--def--def-p-"]);
}

#[test]
fn escaped_dollar_is_literal() {
    let text = "FROM base\nARG X=x\nCOPY \\$X/a$X /dst\n";
    assert_eq!(paths(&analyze(text)), ["$X/ax"]);
}

#[test]
fn from_platform_alias_stage_and_scratch() {
    let text = "\
ARG PLAT=linux/arm64
FROM --platform=$PLAT gentoo/stage3 AS Builder
FROM builder AS second
FROM scratch
COPY --from=second /x /x
FROM later-image
";
    let a = analyze(text);
    assert_eq!(refs(&a), ["gentoo/stage3", "later-image"]);
    assert_eq!(a.references[0].kind, ReferenceKind::From);
    assert_eq!(a.references[1].stage, 3);
    assert_eq!(a.stages.len(), 4);
    assert_eq!(a.stages[0].platform.as_deref(), Some("linux/arm64"));
    assert_eq!(a.stages[0].name.as_deref(), Some("builder"));
    assert_eq!(a.stages[1].base_stage, Some(0));
    assert_eq!(a.stages[2].base_resolved, "scratch");
    assert_eq!(a.stages[2].base_stage, None);
    assert_eq!(a.stages[3].line, 6);
}

#[test]
fn copy_from_stage_index_and_image() {
    let text = "\
FROM base AS build
FROM base
COPY --from=build /a /a
COPY --from=0 /b /b
COPY --from=docker.io/library/busybox:latest /bin/busybox /bin/
ADD --from=registry.local/tools /t /t
";
    let a = analyze(text);
    assert_eq!(
        refs(&a),
        [
            "base",
            "base",
            "docker.io/library/busybox:latest",
            "registry.local/tools"
        ]
    );
    assert_eq!(a.references[2].kind, ReferenceKind::CopyFrom);
    assert_eq!(a.references[2].line, 5);
    assert_eq!(a.references[3].kind, ReferenceKind::CopyFrom);
    assert!(
        a.context_sources.is_empty(),
        "sources of --from are not context files"
    );
}

#[test]
fn copy_and_add_flags() {
    let text = "\
FROM base
COPY --chown=portage:portage --chmod=0644 --link --parents conf/*.conf /etc/
ADD --chown=1000 --link=false --checksum=sha256:abc archive.tar /opt/
COPY --exclude=*.log --exclude=tmp -- dir/ /dir/
";
    assert_eq!(
        paths(&analyze(text)),
        ["conf/*.conf", "archive.tar", "dir/"]
    );
}

#[test]
fn add_remote_sources() {
    let text = "\
FROM base
ADD https://example.org/x.tar.gz local.txt /opt/
ADD git@github.com:user/repo.git /src
ADD git://host/repo /src2
";
    let a = analyze(text);
    let urls: Vec<_> = a
        .remote_sources
        .iter()
        .map(|r| (r.line, r.url.as_str()))
        .collect();
    assert_eq!(
        urls,
        [
            (2, "https://example.org/x.tar.gz"),
            (3, "git@github.com:user/repo.git"),
            (4, "git://host/repo")
        ]
    );
    assert_eq!(paths(&a), ["local.txt"]);
}

#[test]
fn onbuild_run_heredoc_is_a_heredoc() {
    let text = "\
FROM base
ONBUILD RUN <<EOF
echo built from me
EOF
CMD [\"sh\"]
";
    let file = parse(text).unwrap();
    let kws: Vec<_> = file
        .instructions()
        .iter()
        .map(|i| i.keyword.as_str())
        .collect();
    assert_eq!(kws, ["FROM", "ONBUILD", "CMD"]);
    assert_eq!(
        file.instructions()[1].heredocs[0].body,
        "echo built from me\n"
    );
    assert_eq!(file.instructions()[2].line, 5);
}

#[test]
fn heredoc_run_body_is_not_parsed() {
    let text = "\
FROM base
RUN <<EOF
FROM not-an-image
COPY not a context file
EOF
COPY real /real
";
    let file = parse(text).unwrap();
    assert_eq!(file.instructions().len(), 3);
    assert_eq!(
        file.instructions()[1].heredocs[0].body,
        "FROM not-an-image\nCOPY not a context file\n"
    );
    assert_eq!(file.instructions()[2].line, 6);
    let a = file.analyze(&BTreeMap::new()).unwrap();
    assert_eq!(refs(&a), ["base"]);
    assert_eq!(paths(&a), ["real"]);
}

#[test]
fn heredoc_dash_strips_tabs() {
    let text = "FROM base\nRUN <<-EOT\n\techo one\n\t\techo two\n\tEOT\n";
    let file = parse(text).unwrap();
    let h = &file.instructions()[1].heredocs[0];
    assert!(h.strip_tabs);
    assert_eq!(h.body, "echo one\necho two\n");
}

#[test]
fn heredoc_quoted_delimiter() {
    let file = parse("FROM base\nRUN <<\"EOF\" bash\necho $HOME\nEOF\n").unwrap();
    let h = &file.instructions()[1].heredocs[0];
    assert_eq!(h.name, "EOF");
    assert!(!h.expand);
    assert_eq!(h.body, "echo $HOME\n");
}

#[test]
fn several_heredocs_on_one_line() {
    let text = "FROM base\nRUN <<ONE cat && 3<<'TWO' cat\nfirst\nONE\nsecond\nTWO\nCOPY x /x\n";
    let file = parse(text).unwrap();
    let bodies: Vec<_> = file.instructions()[1]
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.body.as_str()))
        .collect();
    assert_eq!(bodies, [("ONE", "first\n"), ("TWO", "second\n")]);
    assert_eq!(file.instructions()[2].line, 7);
}

#[test]
fn copy_heredoc_is_not_a_context_file() {
    let text = "FROM base\nCOPY <<EOF /etc/portage/make.conf\nFEATURES=\"-sandbox\"\nEOF\nCOPY <<A <<B extra /dst/\na\nA\nb\nB\n";
    let a = analyze(text);
    assert_eq!(paths(&a), ["extra"]);
}

#[test]
fn run_mounts() {
    let text = "\
FROM base AS build
FROM base
RUN --mount=type=bind,source=repos,target=/var/db/repos \\
    --mount=target=/src \\
    --mount=type=bind,from=registry.local/distfiles,target=/distfiles \\
    --mount=type=cache,target=/var/cache/binpkgs,from=build \\
    --mount=type=cache,target=/ccache,from=cache-image,sharing=locked \\
    --mount=type=secret,id=token,target=/run/token \\
    --mount=type=tmpfs,target=/tmp \\
    --network=none --security=sandbox \\
    emerge world
";
    let a = analyze(text);
    let ctx: Vec<_> = a
        .context_sources
        .iter()
        .map(|c| (c.instruction.as_str(), c.path.as_str(), c.line))
        .collect();
    assert_eq!(ctx, [("RUN --mount", "repos", 3), ("RUN --mount", ".", 3)]);
    let mounts: Vec<_> = a
        .references
        .iter()
        .filter(|r| r.kind == ReferenceKind::MountFrom)
        .map(|r| r.resolved.as_str())
        .collect();
    assert_eq!(mounts, ["registry.local/distfiles", "cache-image"]);
}

#[test]
fn arg_substitution_in_copy_from_and_mount_from() {
    let text = "\
ARG TOOLS=registry.local/tools:1
FROM base
ARG TOOLS
COPY --from=${TOOLS} /t /t
RUN --mount=type=bind,from=$TOOLS,target=/t true
";
    let a = analyze(text);
    assert_eq!(
        refs(&a),
        ["base", "registry.local/tools:1", "registry.local/tools:1"]
    );
    assert_eq!(a.references[1].written, "${TOOLS}");
    assert_eq!(a.references[2].written, "$TOOLS");
}

#[test]
fn other_instructions_are_accepted() {
    let text = r#"FROM base
LABEL org.opencontainers.image.title="reagent test" version=1
MAINTAINER someone
EXPOSE 80/tcp 443
VOLUME ["/data"]
VOLUME /cache /logs
USER ${UID:-1000}:${GID:-1000}
WORKDIR /srv/$NAME
STOPSIGNAL SIGTERM
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD curl -f http://localhost/ || exit 1
ONBUILD COPY . /app
CMD --help
"#;
    let file = parse(text).unwrap();
    let kws: Vec<_> = file
        .instructions()
        .iter()
        .map(|i| i.keyword.as_str())
        .collect();
    assert_eq!(
        kws,
        [
            "FROM",
            "LABEL",
            "MAINTAINER",
            "EXPOSE",
            "VOLUME",
            "VOLUME",
            "USER",
            "WORKDIR",
            "STOPSIGNAL",
            "SHELL",
            "HEALTHCHECK",
            "ONBUILD",
            "CMD"
        ]
    );
    // ONBUILD triggers run in a later build: `COPY .` is not read now.
    let a = file.analyze(&BTreeMap::new()).unwrap();
    assert!(a.context_sources.is_empty());
    assert_eq!(file.instructions()[12].arguments, "--help");
}

#[test]
fn nothing_panics_on_truncated_input() {
    let text = include_str!("fixtures/gentoo.Containerfile");
    let total_lines = text.lines().count();
    let mut ok = 0;
    for (i, _) in text.char_indices() {
        match parse(&text[..i]).and_then(|f| f.analyze(&BTreeMap::new())) {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                (1..=total_lines).contains(&e.line),
                "error line {} out of range for prefix {i}: {e}",
                e.line
            ),
        }
    }
    assert!(ok > 0, "some prefixes are complete Containerfiles");
}

#[test]
fn add_remote_source_keeps_the_url_as_written() {
    let text = "\
FROM base
ARG TOKEN
ADD https://${TOKEN}@example.org/x.tar.gz /opt/
ADD [\"https://example.org/$TOKEN/y\", \"/opt/\"]
";
    let a = analyze_with(text, &[("TOKEN", "s3cret")]);
    let urls: Vec<_> = a
        .remote_sources
        .iter()
        .map(|r| (r.url.as_str(), r.written.as_str()))
        .collect();
    assert_eq!(
        urls,
        [
            (
                "https://s3cret@example.org/x.tar.gz",
                "https://${TOKEN}@example.org/x.tar.gz"
            ),
            (
                "https://example.org/s3cret/y",
                "https://example.org/$TOKEN/y"
            )
        ]
    );
    assert!(a
        .remote_sources
        .iter()
        .all(|r| !r.written.contains("s3cret")));
}

#[test]
fn constructs_newer_builders_read_are_listed_with_their_lines() {
    use reagent_containerfile::Construct;
    let text = "FROM base\nRUN <<EOF\necho\nEOF\nCOPY --exclude=*.md . /app\nONBUILD RUN <<X\ntrue\nX\nRUN true\n";
    let file = parse(text).unwrap();
    assert_eq!(
        file.constructs(),
        [
            (Construct::Heredoc, 2),
            (Construct::CopyExclude, 5),
            (Construct::Heredoc, 6)
        ]
    );
    assert!(parse("FROM a\nRUN true\n").unwrap().constructs().is_empty());
}

#[test]
fn onbuild_triggers_of_the_built_stage_and_what_they_read() {
    let text = "FROM a AS build\nONBUILD COPY nope /nope\nFROM b AS runtime\nONBUILD COPY app.conf /etc/app.conf\nONBUILD RUN echo hi\nFROM c AS other\nONBUILD ADD other /o\n";
    let file = parse(text).unwrap();
    let last: Vec<usize> = file.onbuild_triggers(None).iter().map(|t| t.line).collect();
    assert_eq!(last, [7]);
    let runtime = file.onbuild_triggers(Some("Runtime"));
    let lines: Vec<usize> = runtime.iter().map(|t| t.line).collect();
    assert_eq!(lines, [4, 5]);
    assert_eq!(runtime[0].instruction, "COPY app.conf /etc/app.conf");
    let reads = runtime[0].analyze(&BTreeMap::new()).unwrap();
    assert_eq!(paths(&reads), ["app.conf"]);
    assert!(runtime[1]
        .analyze(&BTreeMap::new())
        .unwrap()
        .context_sources
        .is_empty());
    // A heredoc trigger reads its body, not the context.
    let heredoc = parse("FROM a\nONBUILD COPY <<EOF /x\nbody\nEOF\n").unwrap();
    let t = heredoc.onbuild_triggers(None);
    assert!(t[0]
        .analyze(&BTreeMap::new())
        .unwrap()
        .context_sources
        .is_empty());
}
