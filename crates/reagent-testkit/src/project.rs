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

    /// Write `images/<folder>/Containerfile`.
    pub fn image(&self, folder: &str, containerfile: &str) -> &Self {
        self.write(&format!("images/{folder}/Containerfile"), containerfile)
    }
}
