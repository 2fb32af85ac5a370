//! The mini-Gentoo fixture itself: Gentoo's real `emerge`, in the rootfs
//! `scripts/mini-gentoo` makes, resolves, builds and merges packages of the
//! synthetic tree `GentooRepo` writes, and sees the tree's mutations.

use std::path::Path;

use reagent_testkit::{mini_gentoo, require_tools, GentooRepo, Storage, TREE_PATH};

/// A working container of the mini-Gentoo image with `tree` mounted where
/// its `repos.conf` expects `::gentoo`.
struct Container<'a> {
    storage: &'a Storage,
    ctr: String,
    mount: String,
}

impl Container<'_> {
    fn new<'a>(storage: &'a Storage, image: &str, tree: &Path) -> Container<'a> {
        let ctr = storage
            .buildah(&["from", "--isolation", "chroot", image])
            .trim()
            .to_string();
        Container {
            storage,
            ctr,
            mount: format!("{}:{TREE_PATH}:ro", tree.display()),
        }
    }

    /// `sh -c SCRIPT` in the container with the tree mounted: its stdout.
    /// The output goes to a file in the container, read through `buildah
    /// mount`: `buildah run` under chroot isolation can exit before it has
    /// passed all of a command's output on.
    fn sh(&self, script: &str) -> String {
        let wrapped = format!("( {script} ) > /.mini-gentoo-test.out");
        self.storage.buildah(&[
            "run",
            "--isolation",
            "chroot",
            "-v",
            &self.mount,
            &self.ctr,
            "--",
            "sh",
            "-c",
            &wrapped,
        ]);
        let root = self.storage.buildah(&["mount", &self.ctr]);
        let out = std::fs::read_to_string(Path::new(root.trim()).join(".mini-gentoo-test.out"))
            .expect("read the command's output in the container");
        self.storage.buildah(&["umount", &self.ctr]);
        out
    }
}

#[test]
fn emerge_merges_the_synthetic_tree_writes_gpkgs_and_sees_a_bump() {
    if !require_tools() || !mini_gentoo::require() {
        return;
    }
    let storage = Storage::new();
    let id = mini_gentoo::load(&storage, "localhost/mini-gentoo:test");
    assert_eq!(id.len(), 64, "{id}");
    let config = storage.buildah(&[
        "inspect",
        "--type",
        "image",
        "--format",
        "{{.OCIv1.Config.Env}}",
        &id,
    ]);
    assert!(config.contains("PORTAGE_OVERRIDE_EPREFIX=/"), "{config}");
    assert!(config.contains("PATH=/opt/portage/bin:"), "{config}");

    let dir = tempfile::tempdir().expect("temp dir");
    let repo = GentooRepo::create(&dir.path().join("gentoo"));
    let b = Container::new(&storage, &id, repo.root());

    // USE from the environment, as reagent's `ARG USE` passes it.
    let out = b.sh(
        "out=$(USE=greeting emerge --quiet-build=y --nospinner --buildpkg --with-bdeps=y \
         app-misc/hello 2>&1) || { echo \"$out\" >&2; exit 1; }; echo \"$out\"",
    );
    assert!(out.contains(">>> Emerging (1 of 6)"), "{out}");

    let vdb = b.sh("cd /var/db/pkg && ls -d */* && cd app-misc/hello-1.1 && \
         echo \"USE=$(cat USE)\" && echo \"INHERITED=$(cat INHERITED)\" && \
         echo \"SLOT=$(cat SLOT)\" && echo \"REPO=$(cat repository)\"");
    for line in [
        "app-misc/hello-1.1",
        "dev-libs/libmini-1.1",
        "dev-util/mini-make-1.0",
        // The any-of takes its first choice.
        "sys-apps/mini-gawk-5.2",
        "sys-libs/mini-base-1.0",
        "virtual/mini-awk-0",
        "INHERITED=mini-utils mini-c",
        "SLOT=0",
        "REPO=gentoo",
    ] {
        assert!(
            vdb.lines().any(|l| l == line),
            "no line {line:?} in:\n{vdb}"
        );
    }
    let use_line = vdb.lines().find(|l| l.starts_with("USE=")).expect("USE");
    let flags: Vec<&str> = use_line["USE=".len()..].split_whitespace().collect();
    assert!(
        flags.contains(&"greeting") && flags.contains(&"nls"),
        "{use_line}"
    );
    assert!(!vdb.contains("mini-mawk"), "{vdb}");

    // Compiled with gcc against the header libmini installed.
    let hello = b.sh("hello");
    assert!(hello.contains("Greetings from hello 1.1"), "{hello}");
    assert!(hello.contains("built against libmini 1.1"), "{hello}");
    assert_eq!(
        b.sh("cat /usr/share/hello/stamp"),
        "app-misc/hello-1.1\nUSE=nls greeting\n"
    );

    // --buildpkg wrote gpkg binary packages (gzip: no zstd in the rootfs).
    let pkgs = b.sh("cd /var/cache/binpkgs && find . -name '*.gpkg.tar' | sort");
    assert!(
        pkgs.contains("./app-misc/hello/hello-1.1-1.gpkg.tar")
            || pkgs.contains("./app-misc/hello-1.1.gpkg.tar"),
        "{pkgs}"
    );
    assert!(pkgs.lines().count() >= 6, "{pkgs}");
    let listing = b.sh("tar -tf \"$(find /var/cache/binpkgs -name 'hello-1.1*.gpkg.tar')\"");
    assert!(listing.contains(".tar.gz"), "{listing}");

    // A sync that bumps hello: emerge sees the new revision.
    assert_eq!(repo.bump("app-misc/hello"), "app-misc/hello-1.1-r1");
    let pretend = b.sh("emerge --pretend --quiet --update app-misc/hello");
    assert!(pretend.contains("app-misc/hello-1.1-r1"), "{pretend}");
    // A sync that adds an unstable version: stable systems do not take it.
    repo.add_version("app-misc/hello-2.1");
    let pretend = b.sh("emerge --pretend --quiet --update app-misc/hello");
    assert!(!pretend.contains("hello-2.1"), "{pretend}");

    // --depclean removes the build-only dependencies (hello is in @world).
    b.sh("emerge --quiet --with-bdeps=n --depclean >/dev/null");
    let left = b.sh("cd /var/db/pkg && ls -d */*");
    assert!(
        !left.contains("mini-make") && !left.contains("libmini"),
        "{left}"
    );
    assert!(
        left.contains("app-misc/hello-1.1") && left.contains("sys-libs/mini-base-1.0"),
        "{left}"
    );
}

/// Every file below `dir`, relative, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read a folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("below dir");
                out.push((
                    rel.display().to_string(),
                    std::fs::read(&path).expect("read a file"),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_examples_committed_tree_is_the_generators_output() {
    let committed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mini-gentoo/portage-tree");
    let dir = tempfile::tempdir().expect("temp dir");
    GentooRepo::create(dir.path());
    let (want, got) = (files(dir.path()), files(&committed));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&want),
        "regenerate: cargo run -p reagent-testkit --example gentoo-repo -- examples/mini-gentoo/portage-tree"
    );
    for ((name, a), (_, b)) in got.iter().zip(&want) {
        assert!(
            a == b,
            "examples/mini-gentoo/portage-tree/{name} differs from GentooRepo's"
        );
    }
}
