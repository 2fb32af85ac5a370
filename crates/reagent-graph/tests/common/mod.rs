//! A throw-away project folder for tests, written file by file.
#![allow(dead_code)]

use reagent_graph::{Project, ProjectErrors};
use reagent_testkit::ProjectDir;

pub struct Fixture {
    pub dir: ProjectDir,
}

impl std::ops::Deref for Fixture {
    type Target = ProjectDir;
    fn deref(&self) -> &ProjectDir {
        &self.dir
    }
}

impl Fixture {
    /// A project with an empty graph.toml.
    pub fn new() -> Fixture {
        Fixture {
            dir: ProjectDir::new(""),
        }
    }

    pub fn load(&self) -> Result<Project, ProjectErrors> {
        Project::load(self.root())
    }

    pub fn key(&self, node: &str) -> String {
        let p = self.load().unwrap_or_else(|e| panic!("{e}"));
        p.graph.by_name(node).unwrap().key.hex()
    }

    pub fn errors(&self) -> Vec<String> {
        match self.load() {
            Ok(_) => panic!("expected errors"),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A small family: base, app (copies a file), tool.
pub fn family() -> Fixture {
    let f = Fixture::new();
    f.image("01-base", "FROM scratch\nCOPY busybox /bin/busybox\n")
        .write("images/01-base/busybox", "not really busybox")
        .image(
            "app",
            "FROM base\nARG FLAVOUR=plain\nCOPY app.conf /etc/app.conf\n",
        )
        .write("images/app/app.conf", "port=80\n")
        .image("tool", "FROM localhost/base:latest\nRUN true\n");
    f
}
