//! `build --sbom` in the executor, over the fake backend: each image pushed
//! gets its SBOM under `sha256-<digest>.sbom`, after its key tag and before
//! its moving tags, once.

mod common;

use common::{family, stop_at_failure, Env, REGISTRY};
use reagent_backend::fake::Call;
use reagent_backend::Cancel;
use reagent_exec::events::Summary;
use reagent_exec::sbom::{self, Format};

/// Every node's current build shows `root` as its root filesystem.
fn with_rootfs(env: &Env, root: &std::path::Path) {
    for node in env.project.graph.nodes() {
        env.fake
            .set_rootfs(&reagent_exec::names::local_ref(node), root);
    }
}

fn run(env: &Env, format: Option<Format>) -> Summary {
    let mut request = env.request(&env.all(), &[], Some(REGISTRY));
    request.sbom = format;
    let mut session = env.session();
    let plan = session.plan(&request).unwrap();
    session
        .run(
            &plan,
            &request,
            &stop_at_failure(2),
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap()
        .summary
}

fn build(env: &Env, format: Option<Format>) -> Summary {
    let summary = run(env, format);
    assert!(summary.ok(), "{summary:?}");
    summary
}

fn at(calls: &[Call], pred: impl Fn(&Call) -> bool) -> usize {
    calls
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no such call in {calls:#?}"))
}

#[test]
fn each_pushed_image_gets_its_sbom_between_key_and_moving_tags() {
    let f = family();
    let env = Env::new(&f);
    let root = tempfile::tempdir().unwrap();
    let pkg = root.path().join("var/db/pkg/sys-libs/zlib-1.3.1");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("LICENSE"), "ZLIB\n").unwrap();
    with_rootfs(&env, root.path());

    build(&env, Some(Format::CycloneDxJson));
    let calls = env.fake.calls();
    for name in ["base", "app", "tool", "web"] {
        let key_tag = env.remote_ref(name);
        let key_push = at(
            &calls,
            |c| matches!(c, Call::Push { remote, .. } if *remote == key_tag),
        );
        let sbom_ref = sbom::attachment_ref(
            REGISTRY,
            name,
            &format!(
                "sha256:{}",
                env.fake
                    .image(&format!("localhost/{name}:{}", env.key16(name)))
                    .unwrap()
                    .id
            ),
        );
        let attached = at(
            &calls,
            |c| matches!(c, Call::PushArtifact { remote, .. } if *remote == sbom_ref),
        );
        let latest = format!("{REGISTRY}/{name}:latest");
        let moving = at(
            &calls,
            |c| matches!(c, Call::Push { remote, .. } if *remote == latest),
        );
        assert!(key_push < attached && attached < moving, "{name}");

        let artifact = env.fake.artifact(&sbom_ref).unwrap();
        let node = env.project.graph.by_name(name).unwrap();
        let doc = sbom::document(&env.fake, node, Format::CycloneDxJson).unwrap();
        assert_eq!(artifact.blobs[1].bytes, doc.as_bytes(), "{name}");
        assert!(doc.contains("pkg:ebuild/sys-libs/zlib@1.3.1"), "{doc}");
    }

    // Nothing changed: nothing is built, pushed or attached.
    let before = env.fake.calls().len();
    let second = build(&env, Some(Format::CycloneDxJson));
    assert_eq!(second.up_to_date, 4, "{second:?}");
    assert!(env.fake.calls()[before..].iter().all(|c| !matches!(
        c,
        Call::Push { .. } | Call::PushArtifact { .. } | Call::Build { .. }
    )));
}

#[test]
fn without_sbom_nothing_is_attached() {
    let f = family();
    let env = Env::new(&f);
    build(&env, None);
    let calls = env.fake.calls();
    assert!(calls.iter().any(|c| matches!(c, Call::Push { .. })));
    assert!(!calls
        .iter()
        .any(|c| matches!(c, Call::PushArtifact { .. } | Call::WithRootfs { .. })));
}

#[test]
fn an_sbom_that_cannot_be_made_fails_the_node_before_its_moving_tags() {
    let f = family();
    let env = Env::new(&f);
    // No root filesystem to read packages from: the document cannot be made.
    let summary = run(&env, Some(Format::SpdxJson));
    assert!(!summary.ok(), "{summary:?}");
    let pushed: Vec<String> = env
        .fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Push { remote, .. } => Some(remote),
            _ => None,
        })
        .collect();
    assert_eq!(pushed, [env.remote_ref("base")], "no moving tag, no child");
}
