//! Where fuzzing starts: the examples' files, and hand-written seeds.

use std::path::{Path, PathBuf};

use crate::Target;

/// One input of the corpus.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The parser it is for.
    pub target: Target,
    /// Where it came from: a path below the examples, or `builtin:<n>`.
    pub origin: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Seeds for constructs the examples do not use.
const BUILTIN: &[(Target, &str)] = &[
    (
        Target::Containerfile,
        "# escape=`\nARG BASE=localhost/base:1\nFROM ${BASE} AS build\nARG V\nENV A=\"x $V\" B='y'\nCOPY --from=build --chown=1:1 [\"a b\", \"/d\"]\nRUN --mount=type=bind,from=localhost/tools,target=/t `\n    --mount=type=cache,target=/c <<EOF\necho ${V:-none}\nEOF\nFROM scratch\nCOPY --from=0 /x /y\nADD https://h.example/${V}/f.tar /\n",
    ),
    (
        Target::Containerfile,
        "ARG A=1\nARG B=${A}${A}\nFROM base AS one\nONBUILD RUN true\nFROM one\nCOPY *.conf conf/ /etc/\nHEALTHCHECK --interval=5s CMD true\nSHELL [\"/bin/sh\", \"-c\"]\nENV LEGACY value with spaces\nLABEL a=\"b c\" d=e\nRUN <<-A cat <<\"B\"\n\tx\n\tA\ny\nB\n",
    ),
    (
        Target::Spec,
        "subarch: amd64\ntarget: stage4\nversion_stamp: openrc-@TIMESTAMP@\nrel_type: 23.0-default\nprofile: default/linux/amd64/23.0\nsnapshot_treeish: @TREEISH@\nsource_subpath: 23.0-default/stage3-amd64-openrc-@TIMESTAMP@\ncompression_mode: pixz\nstage4/use: bindist ipv6 # comment\nstage4/packages:\n\tapp-admin/sudo\n    net-misc/dhcpcd\nodd: \"quoted value\"\n",
    ),
    (Target::Spec, "target: snapshot\n"),
    (
        Target::GraphToml,
        "[project]\nname = \"acme\"\nregistry = \"registry.example.com/acme\"\njobs = 4\n[registry]\ntls_verify = false\n[snapshot]\npath = \"tree\"\nname = \"portage\"\n[portage]\nconfig = \"portage\"\nuse = ['ssl', \"-X\"]\n[buildah]\nbinary = \"buildah\"\nisolation = \"chroot\"\nargs = [\"--log-level=warn\"]\n[audit]\narch = \"amd64\"\n[image.app]\nuse = [\"http2\"]\nargs = { A = \"1\", TOKEN = \"\"\"multi\nline\"\"\" }\ntags = [\"1.25\", '''x''']\nsquash = true\ntest = [\"true\"]\ntarget = \"b\"\n[stages]\nvars = { TIMESTAMP = \"20260101T000000Z\" }\n[stage.seed3]\nseed = \"s.tar\"\nsha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\n",
    ),
];

/// Every fuzzable file below `examples` (Containerfiles, Dockerfiles, `*.spec`,
/// `graph.toml`), then the built-in seeds. Files over 1 MiB are skipped.
pub fn corpus(examples: &Path) -> std::io::Result<Vec<Seed>> {
    let mut files = Vec::new();
    walk(examples, &mut files)?;
    files.sort();
    let mut seeds = Vec::new();
    for path in files {
        let Some(target) = target_of(&path) else {
            continue;
        };
        if std::fs::metadata(&path)?.len() > 1 << 20 {
            continue;
        }
        seeds.push(Seed {
            target,
            origin: path
                .strip_prefix(examples)
                .unwrap_or(&path)
                .display()
                .to_string(),
            bytes: std::fs::read(&path)?,
        });
    }
    seeds.extend(BUILTIN.iter().enumerate().map(|(i, (target, text))| Seed {
        target: *target,
        origin: format!("builtin:{i}"),
        bytes: text.as_bytes().to_vec(),
    }));
    Ok(seeds)
}

/// The target a file of the examples feeds, by its name.
fn target_of(path: &Path) -> Option<Target> {
    let name = path.file_name()?.to_str()?;
    if name == "Containerfile" || name == "Dockerfile" {
        Some(Target::Containerfile)
    } else if name == "graph.toml" {
        Some(Target::GraphToml)
    } else if path.extension().is_some_and(|e| e == "spec") {
        Some(Target::Spec)
    } else {
        None
    }
}

/// Every regular file below `dir`, not following links, skipping `.reagent` state.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() && entry.file_name() != ".reagent" {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}
