//! Image tests: commands from `org.reagent.test*` labels and `[image.<name>] test`,
//! each run in a fresh container from the image (created, run, removed).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use reagent_backend::{Backend, BackendError, Cancel, RunOutcome};

use crate::junit::{Case, CaseKind, CaseOutcome};

/// The label holding one test command.
pub const LABEL_TEST: &str = "org.reagent.test";

/// One test of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSpec {
    /// `default` for `org.reagent.test`, `<name>` for `org.reagent.test.<name>`,
    /// `graph.toml[N]` for the N-th `test` entry of graph.toml.
    pub name: String,
    /// The shell command, run as `/bin/sh -c COMMAND`.
    pub command: String,
}

/// The tests of an image, from its labels then graph.toml, in a stable order.
pub fn specs(labels: &BTreeMap<String, String>, configured: &[String]) -> Vec<TestSpec> {
    let mut out = Vec::new();
    for (key, command) in labels {
        let name = if key == LABEL_TEST {
            "default".to_string()
        } else if let Some(name) = key.strip_prefix("org.reagent.test.") {
            name.to_string()
        } else {
            continue;
        };
        if !command.trim().is_empty() {
            out.push(TestSpec {
                name,
                command: command.clone(),
            });
        }
    }
    for (i, command) in configured.iter().enumerate() {
        out.push(TestSpec {
            name: format!("graph.toml[{i}]"),
            command: command.clone(),
        });
    }
    out
}

/// Run each test against `image`, appending output to `log`. Stops early only
/// when cancelled ([`BackendError::Interrupted`]).
pub fn run(
    backend: &dyn Backend,
    suite: &str,
    image: &str,
    tests: &[TestSpec],
    timeout: Duration,
    log: &Path,
    cancel: &Cancel,
) -> Result<Vec<Case>, BackendError> {
    let mut cases = Vec::with_capacity(tests.len());
    for test in tests {
        let start = Instant::now();
        let argv = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            test.command.clone(),
        ];
        let outcome = match backend.run(image, &argv, timeout, log, cancel) {
            Ok(RunOutcome::Exited(0)) => CaseOutcome::Passed,
            Ok(RunOutcome::Exited(code)) => {
                CaseOutcome::Failed(format!("`{}` exited with {code}", test.command))
            }
            Ok(RunOutcome::TimedOut) => CaseOutcome::Error(format!(
                "`{}` timed out after {}s",
                test.command,
                timeout.as_secs()
            )),
            Err(BackendError::Interrupted) => return Err(BackendError::Interrupted),
            Err(e) => CaseOutcome::Error(e.to_string()),
        };
        cases.push(Case {
            kind: CaseKind::Test,
            suite: suite.to_string(),
            name: test.name.clone(),
            outcome,
            time: start.elapsed(),
            output: String::new(),
        });
    }
    Ok(cases)
}

/// Whether every case passed.
pub fn all_passed(cases: &[Case]) -> bool {
    cases.iter().all(|c| c.outcome == CaseOutcome::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reagent_backend::fake::FakeBackend;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn specs_come_from_labels_then_config() {
        let l = labels(&[
            ("org.reagent.test", "true"),
            ("org.reagent.test.conf", "test -f /etc/app.conf"),
            ("org.reagent.testing", "not a test label"),
            ("org.reagent.key", "abc"),
        ]);
        let s = specs(&l, &["echo hi".to_string()]);
        let names: Vec<&str> = s.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["default", "conf", "graph.toml[0]"]);
        assert_eq!(s[1].command, "test -f /etc/app.conf");
    }

    #[test]
    fn outcomes_map_to_cases() {
        let fake = FakeBackend::new();
        let dir = tempfile::tempdir().unwrap();
        let id = fake.add_image(&["localhost/app:1"], BTreeMap::new());
        fake.set_run_outcome(&id, RunOutcome::Exited(3));
        let tests = specs(&BTreeMap::new(), &["false".to_string()]);
        let cases = run(
            &fake,
            "app",
            &id,
            &tests,
            Duration::from_secs(5),
            &dir.path().join("log"),
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(
            cases[0].outcome,
            CaseOutcome::Failed("`false` exited with 3".into())
        );
        assert!(!all_passed(&cases));
    }
}
