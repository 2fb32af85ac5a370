//! Cross-checks reagent-gentoo against Gentoo's own `portage` Python package.
//!
//! Generates thousands of version pairs, package strings and advisories ×
//! package databases from a seeded generator, asks `tests/oracle/oracle.py`
//! (one process per test, JSON over stdin/stdout) and fails on the first
//! disagreements. The interpreter is `$REAGENT_ORACLE_PYTHON`, else
//! `<repo>/target/oracle-venv/bin/python` (made by `tests/oracle/setup.sh`).
//! Without a working interpreter the test fails when `CI=true` and is
//! skipped with a message otherwise.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reagent_gentoo::cpv::split_pf;
use reagent_gentoo::{audit, Cpv, Glsa, Installed, Version};
use serde_json::{json, Value};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn oracle_script() -> PathBuf {
    repo_root().join("tests/oracle/oracle.py")
}

/// The interpreter to use, or `None` after printing why the test is skipped.
fn oracle_python() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("REAGENT_ORACLE_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![repo_root().join("target/oracle-venv/bin/python")],
    };
    let mut problems = Vec::new();
    for python in candidates {
        let out = Command::new(&python)
            .arg(oracle_script())
            .arg("--self-check")
            .output();
        match out {
            Ok(o) if o.status.success() => return Some(python),
            Ok(o) => problems.push(format!(
                "{}: self-check failed: {}",
                python.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => problems.push(format!("{}: {e}", python.display())),
        }
    }
    let why = problems.join("; ");
    let ci = std::env::var("CI").as_deref() == Ok("true");
    assert!(
        !ci,
        "portage oracle unavailable in CI ({why}); run tests/oracle/setup.sh first"
    );
    // Written to the real stderr (not eprintln!, which the harness captures)
    // so the skip is visible in a normal `cargo test` run.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: portage oracle unavailable ({why}); run tests/oracle/setup.sh"
    );
    None
}

fn ask_oracle(python: &Path, request: &Value) -> Value {
    let mut child = Command::new(python)
        .arg(oracle_script())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start oracle");
    let body = serde_json::to_vec(request).expect("encode request");
    child
        .stdin
        .take()
        .expect("oracle stdin")
        .write_all(&body)
        .expect("write request");
    let out = child.wait_with_output().expect("oracle output");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle answered JSON")
}

/// `SplitMix64`: small, seeded, good enough to spread over the grammar.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("less than n, a usize")
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// A number below 256 as a byte.
fn small(n: usize) -> u8 {
    u8::try_from(n).expect("below 256")
}

const NUMBERS: &[&str] = &[
    "0", "1", "2", "3", "9", "10", "01", "00", "010", "1000", "05", "20",
];
const SUFFIXES: &[&str] = &["alpha", "beta", "pre", "rc", "p"];

fn gen_number(rng: &mut Rng) -> String {
    if rng.chance(80) {
        rng.pick(NUMBERS).to_string()
    } else {
        (rng.next() % 100_000).to_string()
    }
}

#[derive(Clone)]
struct Parts {
    components: Vec<String>,
    letter: Option<char>,
    suffixes: Vec<(String, String)>,
    revision: Option<String>,
}

impl Parts {
    fn render(&self) -> String {
        let mut s = self.components.join(".");
        if let Some(l) = self.letter {
            s.push(l);
        }
        for (kind, n) in &self.suffixes {
            s.push('_');
            s.push_str(kind);
            s.push_str(n);
        }
        if let Some(r) = &self.revision {
            s.push_str("-r");
            s.push_str(r);
        }
        s
    }
}

fn gen_parts(rng: &mut Rng) -> Parts {
    let n = 1 + rng.below(4);
    Parts {
        components: (0..n).map(|_| gen_number(rng)).collect(),
        letter: rng
            .chance(20)
            .then(|| (b'a' + small(rng.below(4)) + if rng.chance(10) { 22 } else { 0 }) as char),
        suffixes: (0..[0, 0, 0, 1, 1, 2, 3][rng.below(7)])
            .map(|_| {
                let num = if rng.chance(40) {
                    String::new()
                } else {
                    gen_number(rng)
                };
                (rng.pick(SUFFIXES).to_string(), num)
            })
            .collect(),
        revision: rng.chance(35).then(|| gen_number(rng)),
    }
}

/// A variant of `p` that differs in one place, so pairs are close.
fn mutate(rng: &mut Rng, p: &Parts) -> Parts {
    let mut q = p.clone();
    match rng.below(9) {
        0 => {
            let i = rng.below(q.components.len());
            q.components[i] = gen_number(rng);
        }
        1 => q.components.push(gen_number(rng)),
        2 if q.components.len() > 1 => {
            q.components.pop();
        }
        3 => q.letter = if q.letter.is_some() { None } else { Some('a') },
        4 => {
            let num = if rng.chance(40) {
                String::new()
            } else {
                gen_number(rng)
            };
            q.suffixes.push((rng.pick(SUFFIXES).to_string(), num));
        }
        5 if !q.suffixes.is_empty() => {
            q.suffixes.pop();
        }
        6 => {
            q.revision = if rng.chance(50) {
                None
            } else {
                Some(gen_number(rng))
            }
        }
        7 => {
            let i = rng.below(q.components.len());
            q.components[i] = format!("0{}", q.components[i]);
        }
        _ if !q.suffixes.is_empty() => {
            let i = rng.below(q.suffixes.len());
            q.suffixes[i].1 = if q.suffixes[i].1.is_empty() {
                "0".into()
            } else {
                String::new()
            };
        }
        _ => q.revision = Some("0".into()),
    }
    q
}

/// Strings that are not versions (or barely are), to check both reject alike.
fn gen_invalid(rng: &mut Rng) -> String {
    let base = gen_parts(rng).render();
    let junk = [
        "x", ".", "_", "-", "-r", "_foo", "A", "..", " ", "*", "-r1-r2", "ab",
    ];
    let pos = rng.below(base.len() + 1);
    let mut s = base.clone();
    s.insert_str(pos, rng.pick(&junk));
    s
}

const EDGE_PAIRS: &[(&str, &str)] = &[
    ("1.0", "1.0.0"),
    ("1.01", "1.1"),
    ("1.01", "1.010"),
    ("1.05", "1.1"),
    ("1_pre1", "1"),
    ("1_p1", "1"),
    ("1_p", "1_p0"),
    ("1", "1_p"),
    ("1.0a", "1.0"),
    ("1.0a", "1.0.0"),
    ("12.2.5", "12.2b"),
    ("1.0-r0", "1.0"),
    ("1.0-r00", "1.0-r0"),
    ("1.0-r01", "1.0-r1"),
    ("1.0_alpha", "1.0_beta"),
    ("1.0_beta", "1.0_pre"),
    ("1.0_pre", "1.0_rc"),
    ("1.0_rc", "1.0"),
    ("1.0_rc1_p1", "1.0_rc1"),
    ("1.0_alpha_p", "1.0_alpha"),
    ("1.0_alpha_alpha", "1.0_alpha"),
    ("001", "1"),
    ("1.2.3b_alpha4_pre_p2-r3", "1.2.3b_alpha4_pre_p2-r4"),
    ("99999999999999999999.1", "99999999999999999999.01"),
    ("1-r99999999999999999999", "1-r100000000000000000000"),
    ("1.0", "1.0"),
    ("1..0", "1.0"),
    ("1.0_foo", "1.0"),
    ("", "1"),
];

#[test]
fn versions_and_cpv_splits_agree_with_portage() {
    let Some(python) = oracle_python() else {
        return;
    };
    let mut rng = Rng(0x5EED_0001);
    let pairs = gen_version_pairs(&mut rng);
    let cpvs = gen_cpvs(&mut rng);

    let request = json!({ "vercmp": pairs, "catpkgsplit": cpvs });
    let response = ask_oracle(&python, &request);

    let mut failures = Vec::new();
    check_vercmp(&pairs, &response["vercmp"], &mut failures);
    check_catpkgsplit(&cpvs, &response["catpkgsplit"], &mut failures);
    report(&failures, pairs.len() + cpvs.len());
}

/// The edge pairs, then 6,000 generated ones (some invalid, some swapped).
fn gen_version_pairs(rng: &mut Rng) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = EDGE_PAIRS
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    for i in 0..6000 {
        let a = gen_parts(rng);
        let b = if i % 5 == 0 {
            gen_parts(rng)
        } else {
            mutate(rng, &a)
        };
        let (mut a, mut b) = (a.render(), b.render());
        if i % 20 == 0 {
            a = gen_invalid(rng);
        }
        if i % 2 == 0 {
            std::mem::swap(&mut a, &mut b);
        }
        pairs.push((a, b));
    }
    pairs
}

/// Hand-picked `category/package-version` strings, then 3,000 generated ones.
fn gen_cpvs(rng: &mut Rng) -> Vec<String> {
    let names = [
        "foo",
        "foo-bar",
        "gtk+",
        "x2",
        "foo-1",
        "foo-1.2",
        "perl-5-foo",
        "foo-r1",
        "font-100dpi",
        "a_b",
        "-foo",
        "foo-1-r1",
        "Foo-Bar",
    ];
    let cats = [
        "dev-libs", "app-misc", "x11-libs", "virtual", "-bad", "cat.sub", "a+b",
    ];
    let mut cpvs: Vec<String> = vec![
        "dev-libs/foo-1.2-r1".into(),
        "foo-1.2".into(),
        "dev-libs/foo".into(),
        "dev-libs/foo-".into(),
        "dev-libs/foo-1-2".into(),
        "dev-libs/foo-r1".into(),
        "a/b/c-1".into(),
    ];
    for i in 0..3000 {
        let version = if i % 10 == 0 {
            gen_invalid(rng)
        } else {
            gen_parts(rng).render()
        };
        cpvs.push(format!(
            "{}/{}-{}",
            rng.pick(&cats),
            rng.pick(&names),
            version
        ));
    }
    cpvs
}

/// Our `Version` order against portage's `vercmp` answers (`null`: invalid).
fn check_vercmp(pairs: &[(String, String)], answers: &Value, failures: &mut Vec<String>) {
    for ((a, b), expected) in pairs.iter().zip(answers.as_array().unwrap()) {
        let ours = match (Version::parse(a), Version::parse(b)) {
            (Ok(x), Ok(y)) => Some(x.cmp(&y) as i64),
            _ => None,
        };
        if ours != expected.as_i64() {
            failures.push(format!(
                "vercmp({a:?}, {b:?}): portage {expected}, ours {ours:?}"
            ));
        }
    }
}

/// Our `Cpv`/`split_pf` against portage's `catpkgsplit` answers.
fn check_catpkgsplit(cpvs: &[String], answers: &Value, failures: &mut Vec<String>) {
    for (text, expected) in cpvs.iter().zip(answers.as_array().unwrap()) {
        // Without a category portage reports the category "null".
        let ours = if text.contains('/') {
            Cpv::parse(text)
                .ok()
                .map(|c| (c.category, c.name, c.version))
        } else {
            split_pf(text)
                .ok()
                .map(|(name, v)| ("null".to_string(), name, v))
        };
        let ours = ours.map(|(category, name, version)| {
            json!([
                category,
                name,
                version.without_revision(),
                format!("r{}", version.revision())
            ])
        });
        let ours = ours.unwrap_or(Value::Null);
        if &ours != expected {
            failures.push(format!(
                "catpkgsplit({text:?}): portage {expected}, ours {ours}"
            ));
        }
    }
}

fn report(failures: &[String], total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} disagreements with portage; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("oracle: {total} checks agree with portage");
}

const CPS: &[&str] = &["dev-libs/foo", "app-misc/bar-baz", "sys-libs/qux2"];
const BASES: &[&str] = &[
    "1.0", "1.0.0", "1.00", "1.01", "1.1", "1.2", "1.2.3", "1.2_p1", "1.2_rc1", "1.2a", "1.2.10",
    "1.20", "2.0", "10.1",
];
const REVS: &[&str] = &["", "", "-r0", "-r1", "-r2", "-r3", "-r10"];
const SLOTS: &[&str] = &["0", "0", "1", "2/2.1", "2/2.0", "1/1.5"];
const ARCHES: &[&str] = &["amd64", "x86", "arm64"];

fn gen_range(rng: &mut Rng, tag: &str, invalid: bool) -> String {
    let ops = ["lt", "le", "eq", "ge", "gt", "rlt", "rle", "rge", "rgt"];
    let op = rng.pick(&ops);
    let mut version = format!("{}{}", rng.pick(BASES), rng.pick(REVS));
    if op == "eq" && rng.chance(35) {
        version.push('*');
    }
    // portage cannot evaluate slotted revision ranges (pkgsplit of the
    // slotted atom fails), so only plain ranges get a slot here.
    let slot_choices = ["", "", "*", "0", "1", "2", "2/2.1"];
    let slot = if op.starts_with('r') {
        ""
    } else {
        rng.pick(&slot_choices)
    };
    let slot_attr = if slot.is_empty() {
        String::new()
    } else {
        format!(" slot=\"{slot}\"")
    };
    let (op, version) = if invalid {
        match rng.below(3) {
            0 => ("lt", format!("{version}*").replace("**", "*")),
            1 => (op, "1.x".to_string()),
            _ => ("approx", version),
        }
    } else {
        (op, version)
    };
    format!("<{tag} range=\"{op}\"{slot_attr}>{version}</{tag}>")
}

fn gen_advisory(rng: &mut Rng, n: usize) -> String {
    let invalid_at = if rng.chance(4) {
        Some(rng.below(3))
    } else {
        None
    };
    let mut packages = String::new();
    for e in 0..=rng.below(3) {
        let name = if rng.chance(8) {
            "net-misc/absent"
        } else {
            rng.pick(CPS)
        };
        let arch = match rng.below(10) {
            0..=5 => "*".to_string(),
            6 if invalid_at == Some(e) => "amd64,x86".to_string(),
            _ => {
                let mut list: Vec<&str> =
                    ARCHES.iter().copied().filter(|_| rng.chance(50)).collect();
                list.push("ppc");
                list.join(" ")
            }
        };
        let mut ranges = String::new();
        for u in 0..rng.below(4) {
            let invalid = invalid_at == Some(e) && u == 0 && rng.chance(50);
            ranges += &gen_range(rng, "unaffected", invalid);
        }
        for v in 0..=rng.below(2) {
            ranges += &gen_range(rng, "vulnerable", invalid_at == Some(e) && v == 0);
        }
        writeln!(
            packages,
            "<package name=\"{name}\" auto=\"yes\" arch=\"{arch}\">{ranges}</package>"
        )
        .unwrap();
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE glsa SYSTEM "http://www.gentoo.org/dtd/glsa-2.dtd">
<glsa id="202401-{n:02}">
  <title>Generated advisory {n}</title>
  <synopsis>Generated.</synopsis>
  <product type="ebuild">generated</product>
  <announced>2024-01-01</announced>
  <revised count="1">2024-01-01</revised>
  <bug>{n}</bug>
  <access>remote</access>
  <affected>
{packages}  </affected>
  <background><p>b</p></background>
  <description><p>d</p></description>
  <impact type="normal"><p>i</p></impact>
  <workaround><p>w</p></workaround>
  <resolution><p>r</p></resolution>
  <references><uri link="https://example.invalid/">ref</uri></references>
</glsa>
"#
    )
}

fn gen_installed(rng: &mut Rng) -> Vec<Installed> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < 4 + rng.below(8) {
        let cpv = format!("{}-{}{}", rng.pick(CPS), rng.pick(BASES), rng.pick(REVS));
        if seen.insert(cpv.clone()) {
            out.push(Installed::new(&cpv, rng.pick(SLOTS)).expect("generated cpv"));
        }
    }
    out
}

#[test]
fn glsa_matching_agrees_with_portage() {
    let Some(python) = oracle_python() else {
        return;
    };
    let mut rng = Rng(0x5EED_0002);
    let mut cases = Vec::new();
    for _ in 0..150 {
        let arch = rng.pick(ARCHES).to_string();
        let installed = gen_installed(&mut rng);
        let advisories: Vec<String> = (0..25).map(|n| gen_advisory(&mut rng, n)).collect();
        cases.push((arch, installed, advisories));
    }
    let request = json!({
        "glsa_cases": cases.iter().map(|(arch, installed, advisories)| json!({
            "arch": arch,
            "installed": installed.iter().map(|p| json!({
                "cpv": p.cpv(),
                "slot": format!("{}/{}", p.slot, p.subslot),
            })).collect::<Vec<_>>(),
            "advisories": advisories,
        })).collect::<Vec<_>>(),
    });
    let response = ask_oracle(&python, &request);

    let mut failures = Vec::new();
    let (mut total, mut affected_total, mut errors) = (0, 0, 0);
    for ((arch, installed, advisories), answers) in
        cases.iter().zip(response["glsa_cases"].as_array().unwrap())
    {
        for (xml, expected) in advisories.iter().zip(answers.as_array().unwrap()) {
            total += 1;
            let ours = Glsa::parse_str(xml, Path::new("generated.xml"));
            let portage_error = expected["error"].as_str();
            let context = || {
                let vdb: Vec<String> = installed.iter().map(ToString::to_string).collect();
                format!("arch {arch}, installed {vdb:?}\n{xml}")
            };
            match (&ours, portage_error) {
                (Err(_), Some(_)) => errors += 1,
                (Err(e), None) => {
                    failures.push(format!("we reject ({e}), portage accepts: {}", context()));
                }
                (Ok(_), Some(err)) => {
                    failures.push(format!("portage rejects ({err}), we accept: {}", context()));
                }
                (Ok(glsa), None) => {
                    let ours: Vec<String> = audit(std::slice::from_ref(glsa), installed, arch)
                        .iter()
                        .map(|f| format!("{}-{}", f.package, f.installed))
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    let theirs: Vec<String> = expected["affected"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect();
                    let vulnerable = expected["vulnerable"].as_bool();
                    affected_total += theirs.len();
                    if ours != theirs || vulnerable != Some(!ours.is_empty()) {
                        failures.push(format!(
                            "affected: portage {theirs:?} (isVulnerable {vulnerable:?}), ours {ours:?}: {}",
                            context()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        affected_total > 200,
        "generator too weak: only {affected_total} affected packages"
    );
    assert!(
        errors > 5,
        "generator should produce some invalid advisories, got {errors}"
    );
    eprintln!(
        "oracle: {total} advisories, {affected_total} affected packages, {errors} invalid advisories"
    );
    report(&failures, total);
}
