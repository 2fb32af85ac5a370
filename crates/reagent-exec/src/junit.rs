//! JUnit XML for test and audit results, through `quick-junit` (the
//! serializer cargo-nextest uses), so Jenkins and GitLab read it.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// It passed.
    Passed,
    /// It ran and failed (a test exited non-zero, an advisory matched).
    Failed(String),
    /// It could not run (timeout, backend error).
    Error(String),
}

/// What kind of check a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseKind {
    /// A label test (`org.reagent.test*`, graph.toml `test`) run in the image.
    Test,
    /// An advisory (GLSA) matched against the image's installed packages.
    Audit,
}

/// One test case: a label test of an image, or an advisory checked against an image.
#[derive(Debug, Clone)]
pub struct Case {
    /// A label test or an advisory.
    pub kind: CaseKind,
    /// The suite it belongs to: the image.
    pub suite: String,
    /// The case's name: the test's name, or the advisory id.
    pub name: String,
    /// How it ended.
    pub outcome: CaseOutcome,
    /// How long it took.
    pub time: Duration,
    /// Output to attach (a test's output, an advisory's details).
    pub output: String,
}

/// The XML document for `cases`, one `<testsuite>` per suite in first-seen order.
pub fn to_xml(report_name: &str, cases: &[Case]) -> String {
    let mut report = Report::new(report_name);
    let mut suites: Vec<TestSuite> = Vec::new();
    for case in cases {
        let pos = if let Some(p) = suites.iter().position(|s| s.name.as_str() == case.suite) {
            p
        } else {
            suites.push(TestSuite::new(case.suite.clone()));
            suites.len() - 1
        };
        let status = match &case.outcome {
            CaseOutcome::Passed => TestCaseStatus::success(),
            CaseOutcome::Failed(m) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(m.clone());
                s
            }
            CaseOutcome::Error(m) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(m.clone());
                s
            }
        };
        let mut tc = TestCase::new(case.name.clone(), status);
        tc.set_classname(case.suite.clone());
        tc.set_time(case.time);
        if !case.output.is_empty() {
            tc.set_system_out(case.output.clone());
        }
        suites[pos].add_test_case(tc);
    }
    report.add_test_suites(suites);
    report.to_string().unwrap_or_default()
}

/// Write the XML for `cases` to `path` atomically.
pub fn write(path: &Path, report_name: &str, cases: &[Case]) -> std::io::Result<()> {
    reagent_state::write_atomic(path, to_xml(report_name, cases).as_bytes())
        .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_group_cases_and_failures_are_counted() {
        let cases = vec![
            Case {
                kind: CaseKind::Test,
                suite: "app".into(),
                name: "conf".into(),
                outcome: CaseOutcome::Passed,
                time: Duration::from_millis(120),
                output: String::new(),
            },
            Case {
                kind: CaseKind::Test,
                suite: "app".into(),
                name: "shell".into(),
                outcome: CaseOutcome::Failed("exit 1".into()),
                time: Duration::from_millis(80),
                output: "no such file".into(),
            },
            Case {
                kind: CaseKind::Test,
                suite: "web".into(),
                name: "default".into(),
                outcome: CaseOutcome::Error("timed out".into()),
                time: Duration::from_secs(1),
                output: String::new(),
            },
        ];
        let xml = to_xml("reagent test", &cases);
        assert!(xml.starts_with("<?xml"), "{xml}");
        assert!(xml.contains("<testsuites name=\"reagent test\" tests=\"3\" skipped=\"0\" failures=\"1\" errors=\"1\">"), "{xml}");
        assert!(
            xml.contains(
                "<testsuite name=\"app\" tests=\"2\" skipped=\"0\" errors=\"0\" failures=\"1\">"
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testsuite name=\"web\" tests=\"1\" skipped=\"0\" errors=\"1\" failures=\"0\">"
            ),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"exit 1\"/>"), "{xml}");
        assert!(
            xml.contains("<system-out>no such file</system-out>"),
            "{xml}"
        );
    }
}
