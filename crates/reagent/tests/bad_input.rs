//! Adversarial input: malformed projects, written into temp folders, run through the real
//! binary. Every case must exit 2, name the file (and line) to fix on stderr, finish (no
//! hang on a FIFO), and never panic. A seeded mutation test over the bundled examples
//! checks that random damage gives exit 0 or 2, never a panic (101) or an abort.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use reagent_testkit::ProjectDir;
use std::time::Duration;

/// What one run printed and returned.
struct Run {
    code: Option<i32>,
    stderr: String,
}

/// Run the binary on `dir` with `args`; a run still going after `limit` is killed and
/// fails the test (reading a FIFO or a loop would hang forever).
fn reagent(dir: &Path, args: &[&str], limit: Duration) -> Run {
    let out = assert_cmd::Command::cargo_bin("reagent")
        .expect("the reagent binary")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .timeout(limit)
        .output()
        .unwrap_or_else(|e| panic!("reagent {args:?} in {} hung: {e}", dir.display()));
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A small valid project: `images/01-base` (FROM scratch, with a `hello` file) and `app`.
fn project() -> ProjectDir {
    let dir = ProjectDir::new("[project]\nname = \"t\"\n");
    dir.image("01-base", "FROM scratch\nCOPY hello /\n")
        .write("images/01-base/hello", "hi\n")
        .image("app", "FROM base\nRUN true\n");
    dir
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

fn remove(root: &Path, rel: &str) {
    let path = root.join(rel);
    if path.is_dir() && !path.is_symlink() {
        std::fs::remove_dir_all(path).expect("rm -r");
    } else {
        std::fs::remove_file(path).expect("rm");
    }
}

fn fifo(root: &Path, rel: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let ok = Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

const SPEC: &str = "subarch: amd64\ntarget: stage3\nversion_stamp: openrc-@T@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: 0123abc\nsource_subpath: 23.0-default/stage3-amd64-openrc-latest\n";

/// One malformed project: how to break the base project, and where the error must point.
struct Case {
    name: &'static str,
    setup: Box<dyn Fn(&Path)>,
    /// `file:line` or `file` as printed after `-->`.
    at: String,
    /// Words the message must contain.
    says: &'static str,
}

fn case(name: &'static str, at: &str, says: &'static str, setup: impl Fn(&Path) + 'static) -> Case {
    Case {
        name,
        setup: Box::new(setup),
        at: at.to_string(),
        says,
    }
}

const BASE_CF: &str = "images/01-base/Containerfile";
const APP_CF: &str = "images/app/Containerfile";

fn cf(text: &'static [u8]) -> impl Fn(&Path) {
    move |p: &Path| write(p, APP_CF, text)
}

fn toml(text: &'static str) -> impl Fn(&Path) {
    move |p: &Path| write(p, "graph.toml", text.as_bytes())
}

// A table of cases, one entry per bad input.
#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let app = |line: usize| format!("{APP_CF}:{line}");
    let gt = |line: usize| format!("graph.toml:{line}");
    vec![
        // Encodings and shapes of the files themselves.
        case(
            "containerfile not UTF-8",
            &app(2),
            "not UTF-8",
            cf(b"FROM base\nRUN echo \xff\xfe\n"),
        ),
        case(
            "containerfile binary",
            &app(1),
            "not UTF-8",
            cf(b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xff\x00\n\x00"),
        ),
        case("graph.toml not UTF-8", &gt(2), "not UTF-8", |p: &Path| {
            write(p, "graph.toml", b"[project]\nname = \"\xc3\x28\"\n");
        }),
        case("graph.toml binary", &gt(1), "not UTF-8", |p: &Path| {
            write(p, "graph.toml", b"\x00\x01\x02\x03\xff\xfe\xfd");
        }),
        case("graph.toml NUL bytes", &gt(1), "", |p: &Path| {
            write(p, "graph.toml", b"\x00\x00\x00\n");
        }),
        case(
            "spec not UTF-8",
            "stages/s.spec:2",
            "not UTF-8",
            |p: &Path| write(p, "stages/s.spec", b"target: stage3\nsubarch: \xff\n"),
        ),
        case("spec binary", "stages/s.spec:1", "not UTF-8", |p: &Path| {
            write(p, "stages/s.spec", b"\x1f\x8b\x08\x00\xff\x00");
        }),
        case("empty containerfile", &app(1), "no FROM", cf(b"")),
        // A missing key belongs somewhere in the file: no line is named.
        case(
            "empty spec",
            "stages/s.spec",
            "`target` is missing from the file",
            |p: &Path| {
                write(p, "stages/s.spec", b"");
            },
        ),
        case(
            "comment-only containerfile",
            &app(1),
            "no FROM",
            cf(b"# syntax=x\n# nothing\n"),
        ),
        case(
            "huge line then error",
            &app(3),
            "does not exist",
            |p: &Path| {
                let mut text = b"FROM base\nRUN ".to_vec();
                text.extend(std::iter::repeat_n(b'x', 4 << 20));
                text.extend(b"\nCOPY nope /\n");
                write(p, APP_CF, &text);
            },
        ),
        case("huge unterminated toml string", &gt(2), "", |p: &Path| {
            let text = format!("[project]\nname = \"{}\n", "y".repeat(2 << 20));
            write(p, "graph.toml", text.as_bytes());
        }),
        case(
            "CRLF containerfile",
            &app(3),
            "does not exist",
            cf(b"FROM base\r\nRUN true\r\nCOPY nope /\r\n"),
        ),
        case(
            "CRLF graph.toml",
            &gt(2),
            "nmae",
            toml("[project]\r\nnmae = \"x\"\r\n"),
        ),
        case("CRLF spec", "stages/s.spec:2", "already set", |p: &Path| {
            write(p, "stages/s.spec", b"target: stage3\r\ntarget: stage1\r\n");
        }),
        case(
            "containerfile is a folder",
            APP_CF,
            "is a folder",
            |p: &Path| {
                remove(p, APP_CF);
                std::fs::create_dir_all(p.join(APP_CF)).unwrap();
            },
        ),
        case(
            "containerfile is a dangling symlink",
            APP_CF,
            "symlink to `nowhere`",
            |p: &Path| {
                remove(p, APP_CF);
                symlink("nowhere", p.join(APP_CF)).unwrap();
            },
        ),
        case("containerfile is a FIFO", &gt(2), "FIFO", |p: &Path| {
            fifo(p, "images/app/Containerfile.fifo");
            write(
                p,
                "graph.toml",
                b"[image.app]\ncontainerfile = \"images/app/Containerfile.fifo\"\n",
            );
        }),
        case("graph.toml is a FIFO", "graph.toml", "FIFO", |p: &Path| {
            remove(p, "graph.toml");
            fifo(p, "graph.toml");
        }),
        case(
            "graph.toml is a folder",
            "graph.toml",
            "folder",
            |p: &Path| {
                remove(p, "graph.toml");
                std::fs::create_dir(p.join("graph.toml")).unwrap();
            },
        ),
        case("spec is a FIFO", "stages/s.spec", "FIFO", |p: &Path| {
            fifo(p, "stages/s.spec");
        }),
        case("spec is a folder", "stages/s.spec", "folder", |p: &Path| {
            std::fs::create_dir_all(p.join("stages/s.spec")).unwrap();
        }),
        case(
            "ignore file is a FIFO",
            "images/01-base/.containerignore",
            "FIFO",
            |p: &Path| {
                fifo(p, "images/01-base/.containerignore");
            },
        ),
        case(
            "ignore file not UTF-8",
            "images/01-base/.containerignore:1",
            "not UTF-8",
            |p: &Path| {
                write(p, "images/01-base/.containerignore", b"hel\xfflo\n");
            },
        ),
        case(
            "image folder is a symlink loop",
            "images/loop",
            "cannot be followed",
            |p: &Path| {
                symlink("loop", p.join("images/loop")).unwrap();
            },
        ),
        case(
            "image folder is a dangling symlink",
            "images/gone",
            "cannot be followed",
            |p: &Path| {
                symlink("../elsewhere", p.join("images/gone")).unwrap();
            },
        ),
        case("images is a file", "images", "not a folder", |p: &Path| {
            remove(p, "images");
            write(p, "images", b"");
        }),
        // Build-context sources.
        case(
            "COPY glob matching nothing",
            &app(2),
            "does not exist",
            cf(b"FROM base\nCOPY *.conf /etc/\n"),
        ),
        case(
            "COPY .. escape",
            &app(2),
            "outside the build context",
            cf(b"FROM base\nCOPY ../01-base/hello /\n"),
        ),
        case(
            "COPY deep .. escape",
            &app(2),
            "outside the build context",
            cf(b"FROM base\nCOPY a/../../../../etc/passwd /\n"),
        ),
        case(
            "COPY absolute path",
            &app(2),
            "does not exist",
            cf(b"FROM base\nCOPY /etc/passwd /\n"),
        ),
        case(
            "COPY symlink pointing outside",
            &app(2),
            "outside the build context",
            |p: &Path| {
                symlink("/etc/passwd", p.join("images/app/pw")).unwrap();
                write(p, APP_CF, b"FROM base\nCOPY pw /\n");
            },
        ),
        case(
            "COPY symlink climbing out",
            &app(3),
            "outside the build context",
            |p: &Path| {
                std::fs::create_dir_all(p.join("images/app/conf")).unwrap();
                symlink("../../01-base/hello", p.join("images/app/conf/h")).unwrap();
                write(p, APP_CF, b"FROM base\nRUN true\nCOPY conf/* /\n");
            },
        ),
        case("COPY of ignored file", &app(2), "excluded", |p: &Path| {
            write(p, "images/app/x.conf", b"x");
            write(p, "images/app/.containerignore", b"*.conf\n");
            write(p, APP_CF, b"FROM base\nCOPY x.conf /\n");
        }),
        case(
            "COPY of URL",
            &app(2),
            "use ADD",
            cf(b"FROM base\nCOPY https://example.org/x /\n"),
        ),
        // Syntax.
        case(
            "unterminated heredoc",
            &app(2),
            "unterminated heredoc",
            cf(b"FROM base\nRUN <<EOF\necho hi\n"),
        ),
        case(
            "unterminated double quote",
            &app(2),
            "double quote",
            cf(b"FROM base\nENV A=\"x\n"),
        ),
        case(
            "unterminated single quote",
            &app(3),
            "single quote",
            cf(b"FROM base\nRUN true\nLABEL a='x\n"),
        ),
        case(
            "unterminated ${",
            &app(2),
            "unterminated",
            cf(b"FROM base\nCOPY ${SRC /x\n"),
        ),
        case(
            "continuation into EOF",
            &app(2),
            "unknown instruction",
            cf(b"FROM base\nBOGUS \\\n"),
        ),
        case(
            "unicode whitespace after continuation",
            &app(3),
            "unterminated heredoc",
            cf(b"FROM base\n\\\n\xc2\x85\xe2\x80\x80RUN <<EOF\n"),
        ),
        case(
            "malformed JSON",
            &app(2),
            "JSON",
            cf(b"FROM base\nCMD [\"a\",\n"),
        ),
        // References and stages.
        case(
            "ARG-expanded FROM to unknown localhost/",
            &app(3),
            "no node `nope`",
            cf(b"ARG B=localhost/nope\nARG A=${B}:1\nFROM ${A}\n"),
        ),
        case(
            "stage name collision",
            &app(3),
            "used twice",
            cf(b"FROM base AS b\nRUN true\nFROM base AS B\n"),
        ),
        case(
            "FROM a later stage",
            &app(1),
            "later in the file",
            cf(b"FROM builder\nRUN true\nFROM base AS builder\n"),
        ),
        case(
            "--from index out of range",
            &app(2),
            "not an earlier stage",
            cf(b"FROM base\nCOPY --from=7 /a /b\n"),
        ),
        case(
            "--from huge index",
            &app(2),
            "not an earlier stage",
            cf(b"FROM base\nCOPY --from=99999999999999999999999 /a /b\n"),
        ),
        case(
            "--from a later stage",
            &app(2),
            "not an earlier stage",
            cf(b"FROM base\nCOPY --from=later /a /b\nFROM base AS later\n"),
        ),
        case("deep ${} nesting", &app(2), "nested", |p: &Path| {
            let text = format!(
                "FROM base\nENV X={}x{}\n",
                "${U:-".repeat(20_000),
                "}".repeat(20_000)
            );
            write(p, APP_CF, text.as_bytes());
        }),
        case(
            "deep ARG chain to an unset value",
            &app(1001),
            "Z: is not set",
            |p: &Path| {
                let mut text = String::from("FROM base\n");
                for i in 1..1000 {
                    writeln!(text, "ARG A{i}=${{A{}}}", i - 1).unwrap();
                }
                text.push_str("COPY ${Z:?} /\n");
                write(p, APP_CF, text.as_bytes());
            },
        ),
        case("doubling ARGs", &app(18), "more than", |p: &Path| {
            let mut text = String::from("ARG A0=0123456789abcdef\n");
            for i in 1..64 {
                writeln!(text, "ARG A{i}=${{A{0}}}${{A{0}}}", i - 1).unwrap();
            }
            text.push_str("FROM base\n");
            write(p, APP_CF, text.as_bytes());
        }),
        case(
            "self reference",
            &app(2),
            "dependency cycle: app -> app",
            cf(b"FROM base\nCOPY --from=app /a /b\n"),
        ),
        case(
            "cycle through COPY --from",
            &format!("{BASE_CF}:3"),
            "dependency cycle: app -> base -> app",
            |p: &Path| {
                write(
                    p,
                    BASE_CF,
                    b"FROM scratch\nCOPY hello /\nCOPY --from=localhost/app:latest /x /y\n",
                );
            },
        ),
        case(
            "cycle through a mount",
            &format!("{BASE_CF}:2"),
            "dependency cycle",
            |p: &Path| {
                write(
                    p,
                    BASE_CF,
                    b"FROM scratch\nRUN --mount=type=bind,from=app,target=/m true\n",
                );
            },
        ),
        // Names.
        case(
            "uppercase image folder",
            "images/App",
            "not a valid node name",
            |p: &Path| {
                write(p, "images/App/Containerfile", b"FROM base\n");
            },
        ),
        case(
            "image folder with a space",
            "images/my app",
            "not a valid node name",
            |p: &Path| {
                write(p, "images/my app/Containerfile", b"FROM base\n");
            },
        ),
        case(
            "image folder not UTF-8",
            "images/",
            "not a valid node name",
            |p: &Path| {
                let name = std::ffi::OsStr::from_bytes(b"bad\xffname");
                let dir = p.join("images").join(name);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("Containerfile"), "FROM base\n").unwrap();
            },
        ),
        case(
            "uppercase spec name",
            "stages/Stage3.spec",
            "not a valid node name",
            |p: &Path| write(p, "stages/Stage3.spec", SPEC.as_bytes()),
        ),
        case(
            "uppercase snapshot name",
            &gt(3),
            "not a valid node name",
            |p: &Path| {
                std::fs::create_dir_all(p.join("tree")).unwrap();
                write(
                    p,
                    "graph.toml",
                    b"[snapshot]\npath = \"tree\"\nname = \"Portage Tree\"\n",
                );
            },
        ),
        case(
            "uppercase [image] table",
            &gt(1),
            "not a valid node name",
            toml("[image.\"My App\"]\ncontainerfile = \"images/app/Containerfile\"\n"),
        ),
        case(
            "stage and image share a name",
            "images/01-base",
            "already defined",
            |p: &Path| {
                write(p, "stages/base.spec", SPEC.as_bytes());
                write(p, "graph.toml", b"[stages]\nvars = { T = \"1\" }\n");
            },
        ),
        // graph.toml values.
        case(
            "duplicated [image.x] table",
            &gt(3),
            "duplicate",
            toml("[image.app]\nsquash = true\n[image.app]\nsquash = false\n"),
        ),
        case(
            "duplicated key",
            &gt(3),
            "duplicate",
            toml("[project]\nname = \"a\"\nname = \"b\"\n"),
        ),
        case(
            "spec placeholder value with a newline",
            "stages/s.spec:3",
            "line break",
            |p: &Path| {
                write(p, "stages/s.spec", SPEC.as_bytes());
                write(
                    p,
                    "graph.toml",
                    b"[stages]\nvars = { T = \"20250101\\nsubarch: x86\" }\n",
                );
            },
        ),
        case(
            "reagent.lock merge conflict",
            "reagent.lock:2",
            "delete reagent.lock",
            |p: &Path| write(p, "reagent.lock", b"version = 1\n<<<<<<< HEAD\n"),
        ),
        case(
            "reagent.lock from a newer reagent",
            "reagent.lock:1",
            "newer reagent",
            |p: &Path| write(p, "reagent.lock", b"version = 9\n"),
        ),
        case(
            "reagent.lock digest malformed",
            "reagent.lock:4",
            "digest `latest`",
            |p: &Path| {
                write(
                    p,
                    "reagent.lock",
                    b"version = 1\n[[image]]\nreference = \"alpine:3.20\"\ndigest = \"latest\"\n",
                );
            },
        ),
        case(
            "spec placeholder with no value",
            "stages/s.spec:3",
            "no value",
            |p: &Path| write(p, "stages/s.spec", SPEC.as_bytes()),
        ),
        case(
            "snapshot path is a file",
            &gt(2),
            "not a folder",
            toml("[snapshot]\npath = \"graph.toml\"\n"),
        ),
        case(
            "snapshot commit file is a FIFO",
            &gt(2),
            "snapshot",
            |p: &Path| {
                fifo(p, "tree/metadata/timestamp.commit");
                write(p, "graph.toml", b"[snapshot]\npath = \"tree\"\n");
            },
        ),
        case("snapshot tree holds a FIFO", &gt(2), "fifo", |p: &Path| {
            fifo(p, "tree/x/pipe");
            write(p, "graph.toml", b"[snapshot]\npath = \"tree\"\n");
        }),
        case(
            "portage config is a file",
            &gt(2),
            "not a folder",
            toml("[portage]\nconfig = \"graph.toml\"\n"),
        ),
        case(
            "bad image tag",
            &gt(3),
            "tag",
            toml("[image.app]\nsquash = true\ntags = [\"has space\"]\n"),
        ),
        case(
            "empty image tag",
            &gt(2),
            "tag",
            toml("[image.app]\ntags = [\"\"]\n"),
        ),
        case(
            "unknown target stage",
            &gt(2),
            "target `nope`",
            toml("[image.app]\ntarget = \"nope\"\n"),
        ),
        case(
            "image table for nothing",
            &gt(1),
            "names no image",
            toml("[image.ghost]\nsquash = true\n"),
        ),
        case(
            "context is not a folder",
            &gt(2),
            "not a folder",
            toml("[image.app]\ncontext = \"images/01-base/hello\"\n"),
        ),
        case(
            "jobs zero",
            &gt(2),
            "at least 1",
            toml("[project]\njobs = 0\n"),
        ),
        case(
            "jobs too large",
            &gt(2),
            "",
            toml("[project]\njobs = 99999999999999999999\n"),
        ),
        case(
            "registry with scheme",
            &gt(2),
            "registry",
            toml("[project]\nregistry = \"https://r.example.com\"\n"),
        ),
        case(
            "bad isolation",
            &gt(2),
            "isolation",
            toml("[buildah]\nisolation = \"vm\"\n"),
        ),
        case(
            "seed without sha",
            &gt(1),
            "sha256",
            toml("[stage.s]\nseed = \"s.tar\"\n"),
        ),
        case(
            "short sha",
            &gt(3),
            "64 hex",
            toml("[stage.s]\nseed = \"s.tar\"\nsha256 = \"abc\"\n"),
        ),
        case(
            "bad USE flag",
            &gt(2),
            "USE flag",
            toml("[portage]\nuse = [\"a b\"]\n"),
        ),
        // Issue 13 §2: each error at the right line, with something to say.
        case(
            "graph.toml with CR-only line endings",
            &gt(1),
            "table header",
            toml("[project]\rnmae = \"x\"\r"),
        ),
        case(
            "control character in a graph.toml comment",
            &gt(2),
            "TOML",
            toml("[project]\n# a \u{1} b\nname = \"x\"\n"),
        ),
        case(
            "single-quoted bad USE flag, its text in a comment first",
            &gt(3),
            "USE flag",
            toml("[portage]\n# use = ['a b']\nuse = ['a b']\n"),
        ),
        case(
            "single-quoted bad tag, its text in a value first",
            &gt(4),
            "tag `x y`",
            toml("[image.app]\nargs = { NOTE = 'x y' }\n# tags = ['x y']\ntags = ['x y']\n"),
        ),
        case(
            "empty buildah binary",
            &gt(2),
            "binary is empty",
            toml("[buildah]\nbinary = \"\"\n"),
        ),
        case(
            "NUL byte in a buildah string",
            &gt(3),
            "NUL byte",
            toml("[buildah]\nroot = \"/r\"\nrunroot = \"a\\u0000b\"\n"),
        ),
        case(
            "ARG named ${",
            &app(2),
            "ARG name `${`",
            cf(b"FROM base\nARG ${\n"),
        ),
        case(
            "unterminated multi-line TOML string",
            &gt(3),
            "multiline",
            toml("[project]\nname = \"\"\"abc\ndef\n"),
        ),
    ]
}

/// `section.key = value` pairs of the wrong type, one per key of every section.
fn wrong_types() -> Vec<(&'static str, &'static str)> {
    vec![
        ("project", "name = 5"),
        ("project", "registry = []"),
        ("project", "jobs = \"2\""),
        ("project", "jobs = 2.5"),
        ("registry", "tls_verify = \"no\""),
        ("snapshot", "path = 3"),
        ("snapshot", "name = true"),
        ("portage", "config = []"),
        ("portage", "use = \"ssl\""),
        ("portage", "use = [1]"),
        ("buildah", "binary = 1"),
        ("buildah", "isolation = 1"),
        ("buildah", "storage_driver = {}"),
        ("buildah", "root = 1"),
        ("buildah", "runroot = 1"),
        ("buildah", "args = \"--x\""),
        ("audit", "glsa = true"),
        ("audit", "arch = 1"),
        ("image.app", "use = \"x\""),
        ("image.app", "args = [\"A=1\"]"),
        ("image.app", "args = { A = 1 }"),
        ("image.app", "tags = \"x\""),
        ("image.app", "squash = \"yes\""),
        ("image.app", "test = \"true\""),
        ("image.app", "context = 1"),
        ("image.app", "containerfile = 1"),
        ("image.app", "platform = 1"),
        ("image.app", "target = 1"),
        ("stages", "vars = []"),
        ("stages", "vars = { T = 1 }"),
        ("stages", "storedir = 1"),
        ("stage.s", "seed = 1"),
        ("stage.s", "sha256 = 1"),
    ]
}

/// Run every command on the broken project; `Err` says what was wrong with the result.
fn check_bad(dir: &Path, name: &str, at: &str, says: &str) -> Result<(), String> {
    for args in [
        &["check"][..],
        &["graph"],
        &["graph", "--json"],
        &["explain", "app"],
        &["build", "-n", "-R", "all"],
    ] {
        let run = reagent(dir, args, Duration::from_secs(30));
        let context = format!("case `{name}`, reagent {args:?}:\n{}", run.stderr);
        if run.stderr.contains("panicked") {
            return Err(format!("panic; {context}"));
        }
        if run.code != Some(2) {
            return Err(format!("exit {:?}, not 2; {context}", run.code));
        }
        let arrow = format!("--> {at}");
        let located = run.stderr.lines().any(|l| {
            let l = l.trim_start();
            l == arrow || (at.ends_with('/') && l.starts_with(&arrow))
        });
        if !located {
            return Err(format!("expected `{arrow}`; {context}"));
        }
        if !run.stderr.contains(says) {
            return Err(format!("expected `{says}`; {context}"));
        }
    }
    Ok(())
}

#[test]
fn malformed_projects_exit_2_with_file_and_line() {
    let mut failures = Vec::new();
    for c in cases() {
        let dir = project();
        (c.setup)(dir.root());
        if let Err(e) = check_bad(dir.root(), c.name, &c.at, c.says) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn wrong_value_types_in_every_section_name_the_line() {
    let mut failures = Vec::new();
    for (section, line) in wrong_types() {
        let dir = project();
        let text = format!("# header\n[{section}]\n{line}\n");
        write(dir.root(), "graph.toml", text.as_bytes());
        let name = format!("[{section}] {line}");
        if let Err(e) = check_bad(dir.root(), &name, "graph.toml:3", "") {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_fifo_in_a_build_context_does_not_hang() {
    let dir = project();
    fifo(dir.root(), "images/app/pipe");
    write(dir.root(), APP_CF, b"FROM base\nCOPY . /\n");
    let run = reagent(dir.root(), &["check"], Duration::from_secs(30));
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// xorshift64*: a small seeded generator, so every run mutates the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).expect("less than n, a usize")
    }
}

/// Bytes that matter to the parsers, plus arbitrary ones.
const INTERESTING: &[u8] = b"\n\r\t \\$`{}[]\"'#:=@*?,-/.<>0123456789AZaz\x00\xc3\xff\x80";

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = bytes.len();
        match rng.below(4) {
            0 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(16.min(len - at));
                bytes.drain(at..at + n);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(64.min(len - at));
                let piece = bytes[at..at + n].to_vec();
                let to = rng.below(len + 1);
                bytes.splice(to..to, piece);
            }
            2 => {
                let to = rng.below(len + 1);
                let piece: Vec<u8> = (0..=rng.below(8))
                    .map(|_| {
                        if rng.below(3) == 0 {
                            // Any byte: the low one.
                            rng.next().to_le_bytes()[0]
                        } else {
                            INTERESTING[rng.below(INTERESTING.len())]
                        }
                    })
                    .collect();
                bytes.splice(to..to, piece);
            }
            _ if len > 0 => {
                let at = rng.below(len);
                bytes[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            _ => bytes.push(b'\n'),
        }
    }
}

/// Copy an example's small files (big binaries become empty files) into `to`.
fn copy_example(from: &Path, to: &Path) -> Vec<PathBuf> {
    let mut mutable = Vec::new();
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".reagent")
    {
        let entry = entry.expect("walk example");
        let rel = entry.path().strip_prefix(from).expect("below example");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else if entry.file_type().is_file() {
            let big = entry.metadata().map_or(true, |m| m.len() > (1 << 20));
            if big {
                std::fs::write(&dest, b"").expect("write");
            } else {
                std::fs::copy(entry.path(), &dest).expect("copy");
            }
            let name = entry.file_name().to_string_lossy();
            if name == "Containerfile" || name == "graph.toml" || name.ends_with(".spec") {
                mutable.push(dest);
            }
        }
    }
    mutable.sort();
    mutable
}

#[test]
fn randomly_damaged_examples_never_panic() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut rng = Rng(0x0005_eed0_f7ea_9e47);
    let mut failures = Vec::new();
    let mut codes = [0usize; 3];
    for example in ["busybox", "gentoo"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = copy_example(&examples.join(example), dir.path());
        assert!(files.len() > 3, "{example}: {files:?}");
        // The undamaged example loads.
        let run = reagent(dir.path(), &["check"], Duration::from_secs(60));
        assert_eq!(run.code, Some(0), "{example} as copied: {}", run.stderr);
        for round in 0..200 {
            let file = &files[rng.below(files.len())];
            let original = std::fs::read(file).expect("read");
            let mut bytes = original.clone();
            mutate(&mut rng, &mut bytes);
            std::fs::write(file, &bytes).expect("write");
            let args: &[&str] = if round % 2 == 0 {
                &["check"]
            } else {
                &["graph", "--json"]
            };
            let run = reagent(dir.path(), args, Duration::from_secs(60));
            match run.code {
                Some(0) => codes[0] += 1,
                Some(2) => codes[2] += 1,
                _ => {}
            }
            if !matches!(run.code, Some(0 | 2)) || run.stderr.contains("panicked") {
                let shown = String::from_utf8_lossy(&bytes);
                failures.push(format!(
                    "{example} round {round}: {} damaged, exit {:?}\n{}\n--- file ---\n{}",
                    file.display(),
                    run.code,
                    run.stderr,
                    shown.chars().take(2000).collect::<String>()
                ));
            }
            if run.code == Some(2) && !run.stderr.contains("-->") {
                failures.push(format!(
                    "{example} round {round}: exit 2 without a location\n{}",
                    run.stderr
                ));
            }
            std::fs::write(file, &original).expect("restore");
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The mutations must reach both outcomes, or they test nothing.
    assert!(codes[0] > 0 && codes[2] > 0, "exit counts {codes:?}");
}

#[test]
fn an_empty_image_folder_is_one_error() {
    let dir = project();
    std::fs::create_dir_all(dir.root().join("images/empty")).expect("mkdir");
    let run = reagent(dir.root(), &["check"], Duration::from_secs(30));
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(
        errors,
        ["error: image folder has no Containerfile or Dockerfile"],
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--> images/empty"), "{}", run.stderr);
}
