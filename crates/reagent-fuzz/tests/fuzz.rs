//! Fuzzing the Containerfile, catalyst spec and `graph.toml` parsers.
//!
//! `cargo test` runs a bounded pass: a fixed seed, a fixed number of inputs (about ten
//! seconds unoptimised). A longer run, with a seed from the clock unless one is given:
//!
//! ```sh
//! REAGENT_FUZZ_SECS=600 cargo test -p reagent-fuzz --release --test fuzz -- --ignored --nocapture
//! REAGENT_FUZZ_SEED=0x1234 REAGENT_FUZZ_SECS=60 cargo test -p reagent-fuzz --release --test fuzz -- --ignored --nocapture
//! ```
//!
//! Findings are written to `target/tmp/fuzz-findings/` (`<target>-NNNN.input` and
//! `.reason`); the input being checked is kept in `target/tmp/fuzz-current`, so an
//! input that kills the process (a stack overflow) is not lost; the slowest input of
//! the run is kept in `target/tmp/fuzz-slowest-<target>`. Every input in
//! `tests/regressions/<target>/` is checked on every run: a fixed finding goes there.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use reagent_fuzz::{check, corpus, run, Budget, Limits, Seed, Target};

/// One fuzz run at a time: each measures the process's peak memory per input.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn seeds() -> Vec<Seed> {
    let seeds = corpus(&root().join("examples")).expect("read the examples");
    for target in Target::ALL {
        assert!(
            seeds
                .iter()
                .any(|s| s.target == target && !s.origin.starts_with("builtin")),
            "no example seeds {}",
            target.name()
        );
    }
    seeds
}

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn fuzz(seed: u64, budget: Budget) {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let findings = tmp().join("fuzz-findings");
    let current = tmp().join("fuzz-current");
    let report = run(
        &seeds(),
        seed,
        budget,
        &Limits::default(),
        Some(&findings),
        Some(&current),
    );
    println!("{report}");
    if let Some((target, _, _)) = report.slowest {
        let _ = std::fs::write(
            tmp().join(format!("fuzz-slowest-{}", target.name())),
            &report.slowest_input,
        );
    }
    assert!(report.findings.is_empty(), "{report}");
    let _ = std::fs::remove_file(current);
}

#[test]
fn every_seed_holds_every_property() {
    for seed in seeds() {
        if let Err(f) = check(seed.target, &seed.bytes) {
            panic!("{}: {f}", seed.origin);
        }
    }
}

#[test]
fn fixed_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for target in Target::ALL {
        let Ok(entries) = std::fs::read_dir(dir.join(target.name())) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("read regressions").path();
            let input = std::fs::read(&path).expect("read a regression");
            if let Err(f) = check(target, &input) {
                panic!("{}: {f}", path.display());
            }
            n += 1;
        }
    }
    assert!(n > 0, "no regression inputs under {}", dir.display());
}

/// The pass CI runs: fixed seed, fixed count, about ten seconds unoptimised.
#[test]
fn fuzz_bounded() {
    fuzz(0x005e_ed0f_f022, Budget::Rounds(1500));
}

/// The long pass: `REAGENT_FUZZ_SECS` (default 60), `REAGENT_FUZZ_SEED` (hex or
/// decimal; default from the clock, printed).
#[test]
#[ignore = "long: run with REAGENT_FUZZ_SECS=N cargo test -p reagent-fuzz --release --test fuzz -- --ignored"]
fn fuzz_long() {
    let secs = std::env::var("REAGENT_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(60);
    let seed = std::env::var("REAGENT_FUZZ_SEED")
        .ok()
        .and_then(|s| match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        })
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| u64::from(d.subsec_nanos()) ^ d.as_secs())
        });
    fuzz(seed, Budget::Time(Duration::from_secs(secs)));
}
