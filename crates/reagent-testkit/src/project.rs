//! A reagent project folder in a temp dir, written file by file.

use std::path::{Path, PathBuf};

/// A throw-away project folder; removed when dropped.
#[derive(Debug)]
pub struct ProjectDir {
    /// The temp dir holding the project.
    pub dir: tempfile::TempDir,
}

impl ProjectDir {
    /// A project whose `graph.toml` is `graph_toml`.
    pub fn new(graph_toml: &str) -> ProjectDir {
        let p = ProjectDir {
            dir: tempfile::tempdir().expect("create a temp project dir"),
        };
        p.write("graph.toml", graph_toml);
        p
    }

    /// The project folder.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` inside the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Write `text` to `rel`, creating folders.
    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("a file inside the project"))
            .expect("create folders");
        std::fs::write(p, text).expect("write a project file");
        self
    }

    /// Write `bytes` (which need not be UTF-8) to `rel`, creating folders.
    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("a file inside the project"))
            .expect("create folders");
        std::fs::write(p, bytes).expect("write a project file");
        self
    }

    /// Write `images/<folder>/Containerfile`.
    pub fn image(&self, folder: &str, containerfile: &str) -> &Self {
        self.write(&format!("images/{folder}/Containerfile"), containerfile)
    }

    /// The family every crate's tests start from (`graph.toml` is left alone):
    ///
    /// ```text
    /// base (images/01-base: FROM scratch, COPY busybox)
    /// ├── app  (FROM base, ARG FLAVOUR, COPY app.conf)
    /// │   └── web  (FROM app, RUN)
    /// └── tool (FROM localhost/base:latest, RUN)
    /// ```
    pub fn family(&self) -> &Self {
        self.image("01-base", FAMILY_BASE)
            .write("images/01-base/busybox", "not really busybox")
            .image("app", FAMILY_APP)
            .write("images/app/app.conf", "port=80\n")
            .image("web", "FROM app\nRUN echo web\n")
            .image("tool", "FROM localhost/base:latest\nRUN true\n")
    }
}

/// The family's base image ([`ProjectDir::family`]).
pub const FAMILY_BASE: &str = "FROM scratch\nCOPY busybox /bin/busybox\n";
/// The family's `app` image ([`ProjectDir::family`]).
pub const FAMILY_APP: &str = "FROM base\nARG FLAVOUR=plain\nCOPY app.conf /etc/app.conf\n";

/// A GLSA for tests: `www-servers/nginx` before 1.25.3 is vulnerable (impact `normal`).
pub const GLSA_NGINX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<glsa id="202401-01">
  <title>nginx: multiple vulnerabilities</title>
  <synopsis>s</synopsis>
  <affected>
    <package name="www-servers/nginx" auto="yes" arch="*">
      <unaffected range="ge">1.25.3</unaffected>
      <vulnerable range="lt">1.25.3</vulnerable>
    </package>
  </affected>
  <impact type="normal"/>
</glsa>"#;
