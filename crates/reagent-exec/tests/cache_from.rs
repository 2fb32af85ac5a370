//! `[registry] cache_from` in the planner and the run, on the recording fake:
//! caches are asked in order after the registry, a node found there is pulled
//! from the first that has it, and nothing is pushed to any of them.

mod common;

use std::collections::BTreeMap;

use common::{family, keep_going, Env, REGISTRY};
use reagent_backend::fake::Call;
use reagent_backend::{Cancel, LABEL_KEY};
use reagent_exec::plan::{Action, Place, Reason};

const FIRST: &str = "cache-one.example/acme";
const SECOND: &str = "cache-two.example/acme";

/// Put `name`'s current build in the fake under `<prefix>/<name>:<key16>`.
fn cached(env: &Env, prefix: &str, name: &str) -> String {
    let reference = format!("{prefix}/{name}:{}", env.key16(name));
    let labels = BTreeMap::from([(LABEL_KEY.to_string(), env.key(name))]);
    env.fake.add_remote(&reference, labels);
    reference
}

#[test]
fn caches_are_asked_in_order_pulled_from_and_never_pushed_to() {
    let f = family();
    let env = Env::new(&f);
    cached(&env, SECOND, "base");
    let app_first = cached(&env, FIRST, "app");
    cached(&env, SECOND, "app");
    let mut request = env.request(&[env.id("web")], &[], Some(REGISTRY));
    request.cache_from = vec![FIRST.to_string(), SECOND.to_string()];
    let plan = env.session().plan(&request).unwrap();
    // web's build needs app (pulled from the first cache that has it); base is
    // needed by nothing to be built, so it is only noted as in a registry.
    assert_eq!(
        env.action(&plan, "base"),
        &Action::UpToDate(Place::Registry)
    );
    assert_eq!(env.action(&plan, "app"), &Action::Pull);
    assert_eq!(env.action(&plan, "web"), &Action::Build(Reason::NeverBuilt));
    assert_eq!(plan.pull_from.get(&env.id("app")), Some(&app_first));
    // The registry was asked before any cache, and the second cache only about
    // what the first lacked.
    let asked: Vec<String> = env
        .fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::RemoteExists { remote } => Some(remote),
            _ => None,
        })
        .collect();
    let at = |r: &str| asked.iter().position(|a| a == r).unwrap_or(usize::MAX);
    assert!(at(&env.remote_ref("app")) < at(&app_first), "{asked:?}");
    assert!(
        !asked.contains(&format!("{SECOND}/app:{}", env.key16("app"))),
        "{asked:?}"
    );

    let (summary, _) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    assert_eq!((summary.pulled, summary.built), (1, 1));
    let calls = env.fake.calls();
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, Call::Pull { remote, .. } if *remote == app_first)),
        "{calls:?}"
    );
    // web went to the registry; no cache got anything.
    let pushed: Vec<&String> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Push { remote, .. } => Some(remote),
            _ => None,
        })
        .collect();
    assert!(
        pushed
            .iter()
            .any(|r| r.starts_with(&format!("{REGISTRY}/web:"))),
        "{pushed:?}"
    );
    assert!(
        pushed.iter().all(|r| r.starts_with(REGISTRY)),
        "pushed to a cache: {pushed:?}"
    );
}

#[test]
fn caches_work_without_a_registry_of_the_run() {
    let f = family();
    let env = Env::new(&f);
    let base = cached(&env, FIRST, "base");
    let mut request = env.request(&[env.id("app")], &[], None);
    request.cache_from = vec![FIRST.to_string()];
    let plan = env.session().plan(&request).unwrap();
    assert_eq!(env.action(&plan, "base"), &Action::Pull);
    assert_eq!(plan.pull_from.get(&env.id("base")), Some(&base));
    let (summary, _) = env.run_with(&plan, keep_going(2), None, &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    assert_eq!((summary.pulled, summary.built), (1, 1));
    assert!(!env
        .fake
        .calls()
        .iter()
        .any(|c| matches!(c, Call::Push { .. })));
}
