//! A fluent builder for CLI tests, after `just`'s: write a project into a
//! temp dir, run the real `reagent` binary on it, check status and output.
//! Tests that build with real buildah use [`buildah::BuildahProject`].
#![allow(dead_code)]

pub mod buildah;
pub mod emerge;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use reagent_testkit::ProjectDir;

pub struct Test {
    pub project: ProjectDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    status: i32,
    stdout: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
}

impl Test {
    pub fn new() -> Test {
        Test {
            project: ProjectDir::new(""),
            args: Vec::new(),
            env: Vec::new(),
            status: 0,
            stdout: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.project.root()
    }

    pub fn file(self, rel: &str, text: &str) -> Test {
        self.project.write(rel, text);
        self
    }

    pub fn image(self, folder: &str, containerfile: &str) -> Test {
        self.project.image(folder, containerfile);
        self
    }

    /// The standard family ([`ProjectDir::family`]): base, app, web, tool.
    pub fn family(self) -> Test {
        self.project.family();
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Test {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Test {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout = Some(text.into());
        self
    }

    pub fn stdout_contains(mut self, text: &str) -> Test {
        self.stdout_contains.push(text.into());
        self
    }

    pub fn stderr_contains(mut self, text: &str) -> Test {
        self.stderr_contains.push(text.into());
        self
    }

    pub fn run(self) -> Output {
        let mut cmd = Command::cargo_bin("reagent").unwrap();
        cmd.arg("-C").arg(self.project.root()).args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(self.status),
            "exit status\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
        if let Some(expected) = &self.stdout {
            assert_eq!(&stdout, expected, "stdout\n--- stderr\n{stderr}");
        }
        for s in &self.stdout_contains {
            assert!(
                stdout.contains(s.as_str()),
                "stdout lacks {s:?}\n--- stdout\n{stdout}"
            );
        }
        for s in &self.stderr_contains {
            assert!(
                stderr.contains(s.as_str()),
                "stderr lacks {s:?}\n--- stderr\n{stderr}"
            );
        }
        let dir = self.project.dir.keep();
        Output {
            stdout,
            stderr,
            dir,
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
