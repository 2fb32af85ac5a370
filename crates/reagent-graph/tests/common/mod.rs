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

/// The standard family ([`ProjectDir::family`]): base, app, web, tool.
pub fn family() -> Fixture {
    let f = Fixture::new();
    f.family();
    f
}
