//! Variable substitution is capped while it runs, not after: a small hostile file
//! costs little memory however its `$VAR`s multiply. Peak memory is read from
//! `/proc/self/status` (`VmHWM`, reset through `/proc/self/clear_refs`), so this file
//! holds one test: no other test runs in this process while it measures.

use std::collections::BTreeMap;

use reagent_containerfile::parse;

/// The peak resident memory since the last [`reset_peak`], in KiB.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Start measuring the peak afresh; `false` when the kernel does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// What analysing `text` with `args` costs: the error it gives, and the peak memory in KiB
/// (when it can be measured).
fn cost(text: &str, args: &[(&str, &str)]) -> (reagent_containerfile::ParseError, Option<u64>) {
    let args: BTreeMap<String, String> = args
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let measured = reset_peak();
    let e = parse(text)
        .and_then(|f| f.analyze(&args))
        .expect_err("the file expands past the limit");
    (e, peak_kib().filter(|_| measured))
}

#[test]
fn expansion_stops_at_the_limit_inside_quotes_defaults_and_build_args() {
    let before = {
        reset_peak();
        peak_kib()
    };
    let a = "a".repeat(1000);
    let b = "$A".repeat(1000);
    // The issue's 6 KB file: B is 1 MB, C would be 1.5 GB, held whole before the check ran.
    let issue = format!(
        "ARG A={a}\nARG B=\"{b}\"\nARG C=\"{}\"\nFROM scratch\n",
        "$B".repeat(1500)
    );
    // The same in a default, and with A given as a build arg (`[image.x] args`).
    let default = format!(
        "ARG A={a}\nARG B=\"{b}\"\nARG C=${{U:-{}}}\nFROM scratch\n",
        "$B".repeat(1500)
    );
    let build_arg = format!("ARG A\nARG B=\"{}\"\nFROM scratch\n", "$A".repeat(5000));
    let big = "z".repeat(300_000);
    let cases = [
        ("issue", issue.as_str(), vec![], 3),
        ("default", default.as_str(), vec![], 3),
        (
            "build arg",
            build_arg.as_str(),
            vec![("A", big.as_str())],
            2,
        ),
    ];
    for (name, text, args, line) in cases {
        let (e, peak) = cost(text, &args);
        assert_eq!(e.line, line, "{name}: {e}");
        assert!(e.message.contains("more than 1 MiB"), "{name}: {e}");
        if let (Some(peak), Some(before)) = (peak, before) {
            // The limit is 1 MiB per word; allow the test process its own few MiB.
            let grew = peak.saturating_sub(before);
            assert!(grew < 64 << 10, "{name}: peak grew by {grew} KiB");
        }
    }
}
