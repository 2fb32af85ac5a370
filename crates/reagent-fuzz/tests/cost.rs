//! What hostile input costs, shape by shape (issue 13 §1), at 1×, 10× and 100× a base
//! size: this prints a table, so a reader sees that each cost grows linearly.
//!
//! The shapes are the ones that once cost quadratic time or unbounded memory:
//! one `COPY` with thousands of glob sources; thousands of `FROM … AS` stages; build
//! args masked in a manifest of as many `ADD` URLs; `$VAR`s multiplied inside quotes.
//! Times are printed, not checked (a shared machine makes any time limit flaky): linear
//! code shows about 10× per row, the quadratic code this replaced showed 100×. What is
//! checked holds on any machine: every shape gives the right answer at every size, and
//! the expansion's peak memory does not grow with its input.
//!
//! `cargo test` runs it unoptimised at a tenth of the sizes; the issue's sizes (20,000
//! globs, 100,000 stages, 20,000 args × 20,000 URLs) are the 100× row of a release run:
//!
//! ```sh
//! cargo test -p reagent-fuzz --release --test cost -- --nocapture
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use reagent_backend::redact::Secrets;
use reagent_containerfile::ContextSource;
use reagent_graph::context::Context;

/// How many times larger the base sizes are in an optimised build: unoptimised code is
/// 10 to 20 times slower, and `cargo test` should take seconds.
const SCALE: usize = if cfg!(debug_assertions) { 1 } else { 10 };

/// The best of `runs` timings of `f`.
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Time `shape` at `base`, 10× and 100× (best of 3, of 2 at 100×); print a row each.
fn measure(name: &str, unit: &str, base: usize, shape: &mut dyn FnMut(usize)) {
    let mut times = Vec::new();
    for factor in [1, 10, 100] {
        let n = base * factor;
        let time = best(if factor < 100 { 3 } else { 2 }, || shape(n));
        let per = time.as_secs_f64() * 1e9 / f64::from(u32::try_from(n).unwrap_or(u32::MAX));
        let growth = times
            .last()
            .map(|t: &Duration| format!("{:>6.1}x", time.as_secs_f64() / t.as_secs_f64().max(1e-9)))
            .unwrap_or_default();
        println!(
            "{name:<34} {factor:>4}x {n:>8} {unit:<10} {:>10.2} ms {per:>10.0} ns/{unit} {growth}",
            time.as_secs_f64() * 1000.0
        );
        times.push(time);
    }
}

/// Stages: `FROM scratch AS sN`, each copying from the one before.
fn stages(n: usize) {
    let mut text = String::from("FROM scratch AS s0\n");
    for i in 1..n {
        writeln!(text, "FROM scratch AS s{i}\nCOPY --from=s{} /a /a", i - 1).unwrap();
    }
    let file = reagent_containerfile::parse(&text).expect("parse");
    let analysis = file.analyze(&BTreeMap::new()).expect("analyze");
    assert_eq!(analysis.stages.len(), n);
}

/// Globs: a context of `n` files and one glob source per file.
fn globs(dir: &Path, n: usize) {
    let sources: Vec<ContextSource> = (0..n)
        .map(|i| ContextSource {
            line: 2,
            instruction: "COPY".into(),
            path: format!("f{i}.t?t"),
            exclude: Vec::new(),
        })
        .collect();
    let entries = Context::open(dir)
        .expect("open")
        .entries(&sources)
        .expect("entries");
    assert_eq!(entries.len(), n);
}

/// Masking: `n` build args, and a recorded manifest with `n` `ADD` URLs that carry them.
fn masking(n: usize) {
    let values: Vec<String> = (0..n).map(|i| format!("token-{i:08}")).collect();
    let inputs: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "label": format!("remote:https://h.example/{}/f{i}", values[i]),
                "hash": "0".repeat(64),
                "detail": format!("https://h.example/{}/f{i}", values[i]),
            })
        })
        .collect();
    let mut manifest = serde_json::json!({ "inputs": inputs });
    let secrets = Secrets::new(&values);
    secrets.mask_json(&mut manifest);
    let shown = manifest.to_string();
    assert!(!shown.contains("token-"), "a value was not masked");
}

/// Expansion: the issue's 6 KB file with `$B` repeated `n` times; the peak memory in KiB.
fn expansion(n: usize) -> u64 {
    let text = format!(
        "ARG A={}\nARG B=\"{}\"\nARG C=\"{}\"\nFROM scratch\n",
        "a".repeat(1000),
        "$A".repeat(1000),
        "$B".repeat(n)
    );
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = peak_kib();
    let e = reagent_containerfile::parse(&text)
        .and_then(|f| f.analyze(&BTreeMap::new()))
        .expect_err("C expands past 1 MiB");
    assert_eq!(e.line, 3, "{e}");
    match (reset, before, peak_kib()) {
        (true, Some(b), Some(a)) => a.saturating_sub(b),
        _ => 0,
    }
}

fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether to run `shape`: `REAGENT_COST_SHAPES` (a comma list of `stages`, `globs`,
/// `masking`, `expansion`) picks some; unset, all run.
fn wanted(shape: &str) -> bool {
    std::env::var("REAGENT_COST_SHAPES").map_or(true, |list| list.split(',').any(|s| s == shape))
}

#[test]
fn each_hostile_shape_at_1x_10x_100x() {
    println!(
        "{:<34} {:>5} {:>8} {:<10} {:>13} {:>13}     growth",
        "shape", "scale", "size", "unit", "time", "per unit"
    );
    if wanted("stages") {
        measure(
            "FROM … AS stages, --from each",
            "stages",
            100 * SCALE,
            &mut stages,
        );
    }
    if wanted("globs") {
        // One context per size, written before timing: N files, one glob for each.
        let dir = tempfile::tempdir().expect("tempdir");
        for n in [20 * SCALE, 200 * SCALE, 2000 * SCALE] {
            let context = dir.path().join(n.to_string());
            std::fs::create_dir(&context).expect("mkdir");
            for i in 0..n {
                std::fs::write(context.join(format!("f{i}.txt")), "x").expect("write");
            }
        }
        measure(
            "one COPY of N globs, N files",
            "globs",
            20 * SCALE,
            &mut |n| {
                globs(&dir.path().join(n.to_string()), n);
            },
        );
    }
    if wanted("masking") {
        measure(
            "N args masked in N ADD URLs",
            "args",
            20 * SCALE,
            &mut masking,
        );
    }
    if wanted("expansion") {
        let mut peaks = Vec::new();
        measure("ARG C=\"$B…\" (B = 1 MB), N × $B", "$B", 15, &mut |n| {
            peaks.push(expansion(n));
        });
        println!("  expansion peak memory per run, KiB: {peaks:?}");
        let most = peaks.iter().copied().max().unwrap_or(0);
        assert!(most < 64 << 10, "expansion peak memory grew by {most} KiB");
    }
}
