//! `reagent build --only`: a plan of exactly the named nodes, whose parents
//! must already exist (locally, or in the registry, then pulled), the way one
//! CI job per node builds.

mod common;

use std::collections::BTreeMap;

use common::{family, keep_going, Env, REGISTRY};
use reagent_backend::fake::Call;
use reagent_backend::{Cancel, LABEL_KEY};
use reagent_exec::plan::{Action, MissingParent, Place, PlanError, Reason};
use reagent_exec::session::SessionError;

/// Put `name`'s current build in the fake registry under its key tag.
fn in_registry(env: &Env, name: &str) {
    let labels = BTreeMap::from([(LABEL_KEY.to_string(), env.key(name))]);
    env.fake.add_remote(&env.remote_ref(name), labels);
}

/// The fake's Build calls, by node name, in order.
fn builds(env: &Env) -> Vec<String> {
    env.fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Build { name, .. } => Some(name),
            _ => None,
        })
        .collect()
}

#[test]
fn only_builds_the_node_and_pulls_its_registry_parent() {
    let f = family();
    let env = Env::new(&f);
    in_registry(&env, "base");
    let plan = env.plan_only(&["app"], &[], Some(REGISTRY));
    // Exactly app and the parent its build needs: not web, not tool.
    assert_eq!(env.planned(&plan), ["base", "app"]);
    assert_eq!(env.action(&plan, "base"), &Action::Pull);
    assert_eq!(env.action(&plan, "app"), &Action::Build(Reason::NeverBuilt));

    let (summary, _) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    assert_eq!((summary.pulled, summary.built), (1, 1));
    assert_eq!(builds(&env), ["app"]);
    // app went to the registry under its key tag, so app's children can be built elsewhere.
    assert!(env.fake.remote_refs().contains(&env.remote_ref("app")));
}

#[test]
fn only_reports_every_missing_parent_and_builds_nothing() {
    let f = family();
    let env = Env::new(&f);
    let err = env
        .try_plan_only(&["web", "tool"], &[], Some(REGISTRY))
        .unwrap_err();
    let SessionError::Plan(PlanError::MissingParents { missing, registry }) = &err else {
        panic!("{err:?}");
    };
    // web lacks app (its grandparent base is not web's business); tool lacks base.
    assert_eq!(
        missing,
        &[
            MissingParent {
                node: "tool".into(),
                parent: "base".into(),
                key: env.key("base"),
            },
            MissingParent {
                node: "web".into(),
                parent: "app".into(),
                key: env.key("app"),
            },
        ]
    );
    assert_eq!(registry.as_deref(), Some(REGISTRY));
    let text = err.to_string();
    assert!(
        text.contains("cannot build `web` alone: its parent `app`"),
        "{text}"
    );
    assert!(
        text.contains(&format!("neither locally nor in {REGISTRY}")),
        "{text}"
    );
    assert!(text.contains("reagent build --only app"), "{text}");
    assert!(builds(&env).is_empty());
}

#[test]
fn only_without_a_registry_says_it_looked_locally() {
    let f = family();
    let env = Env::new(&f);
    let err = env.try_plan_only(&["app"], &[], None).unwrap_err();
    assert!(
        err.to_string()
            .contains("is built locally (no registry was asked)"),
        "{err}"
    );
}

#[test]
fn only_an_up_to_date_node_needs_no_parent() {
    let f = family();
    let env = Env::new(&f);
    // app is in the registry; base is nowhere, and need not be.
    in_registry(&env, "app");
    let plan = env.plan_only(&["app"], &[], Some(REGISTRY));
    assert_eq!(env.planned(&plan), ["app"]);
    assert_eq!(env.action(&plan, "app"), &Action::UpToDate(Place::Registry));
    let (summary, _) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    assert_eq!(summary.up_to_date, 1);
    assert!(env
        .fake
        .calls()
        .iter()
        .all(|c| !matches!(c, Call::Pull { .. } | Call::Build { .. })));
}

#[test]
fn only_a_parent_and_its_child_builds_both_parent_first() {
    let f = family();
    let env = Env::new(&f);
    let plan = env.plan_only(&["app", "base"], &[], Some(REGISTRY));
    assert_eq!(env.planned(&plan), ["base", "app"]);
    let (summary, rec) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    assert_eq!(builds(&env), ["base", "app"]);
    assert!(rec.finished_at("base") < rec.started_at("app"));
}

#[test]
fn only_uses_a_local_parent_as_it_is_and_does_not_publish_it() {
    let f = family();
    let env = Env::new(&f);
    // base built here without a registry: local, not in the registry.
    let (summary, _) = env.run(&env.plan_only(&["base"], &[], None), 1);
    assert!(summary.ok(), "{summary:?}");
    let plan = env.plan_only(&["app"], &[], Some(REGISTRY));
    assert_eq!(env.action(&plan, "base"), &Action::UpToDate(Place::Local));
    let (summary, _) = env.run_with(&plan, keep_going(2), Some(REGISTRY), &Cancel::new());
    assert!(summary.ok(), "{summary:?}");
    // Only app was published: base is not this job's node.
    let pushed: Vec<String> = env
        .fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Push { remote, .. } => Some(remote),
            _ => None,
        })
        .collect();
    assert!(pushed.iter().all(|r| r.contains("/app:")), "{pushed:?}");
    assert!(!pushed.is_empty());
}

#[test]
fn only_with_force_rebuilds_the_node_alone() {
    let f = family();
    let env = Env::new(&f);
    env.build_all();
    let plan = env.plan_only(&["app"], &["app"], None);
    assert_eq!(env.planned(&plan), ["base", "app"]);
    assert_eq!(env.action(&plan, "app"), &Action::Build(Reason::Forced));
    assert_eq!(env.action(&plan, "base"), &Action::UpToDate(Place::Local));
}
