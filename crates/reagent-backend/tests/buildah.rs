//! The real backend against real buildah, skopeo and a loopback registry.
//!
//! Every test uses its own temp store (vfs driver, chroot isolation) and, when
//! it needs one, its own registry. Without the tools the tests print
//! `skipped: ...` and return, except under `CI=true`, where they fail.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use reagent_backend::{
    Backend, BackendError, BuildProgress, BuildRequest, Buildah, BuildahSettings, Cancel,
    OciArtifact, OciBlob, RegistryOp, RunOutcome, LABEL_KEY,
};
use reagent_testkit::{
    busybox_base, busybox_rootfs_tar, require_tools, Registry, SilentRegistry, Storage,
};

const BASE: &str = "localhost/busybox:base";

macro_rules! tools_or_skip {
    () => {
        if !require_tools() {
            eprintln!("skipped: buildah/skopeo/docker-registry/busybox not installed");
            return;
        }
    };
}

fn request(dir: &Path, name: &str, containerfile: &str) -> BuildRequest {
    let ctx = dir.join(name);
    std::fs::create_dir_all(&ctx).unwrap();
    let file = ctx.join("Containerfile");
    std::fs::write(&file, containerfile).unwrap();
    BuildRequest {
        name: name.to_string(),
        containerfile: file,
        context: ctx,
        args: BTreeMap::new(),
        target: None,
        platform: None,
        squash: false,
        format: reagent_backend::ImageFormat::Oci,
        labels: BTreeMap::new(),
        tags: vec![format!("localhost/{name}:test")],
        log: dir.join(format!("{name}.log")),
        secrets: BTreeMap::new(),
        volumes: Vec::new(),
        no_cache: false,
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

#[test]
fn build_with_args_labels_tags_and_progress() {
    tools_or_skip!();
    let storage = Storage::new();
    busybox_base(&storage, BASE);
    let backend = storage.backend();
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(
        dir.path(),
        "app",
        &format!("FROM {BASE}\nARG GREETING\nARG SECRET\nRUN echo \"$GREETING\" > /greeting\nLABEL stage=one\n"),
    );
    req.args.insert("GREETING".into(), "hello-world".into());
    req.args.insert("SECRET".into(), "s3cr3t-value".into());
    req.labels.insert(LABEL_KEY.into(), "key-0123".into());
    req.labels.insert("org.example.other".into(), "x y".into());
    req.tags = strings(&["localhost/app:one", "localhost/app:two"]);
    let mut steps = Vec::new();
    let mut lines = 0;
    let id = backend
        .build(&req, &Cancel::new(), &mut |p| match p {
            BuildProgress::Step { n, of, text } => steps.push((n, of, text)),
            BuildProgress::Line(_) => lines += 1,
        })
        .unwrap();
    assert_eq!(id.len(), 64, "bare hex id, got {id}");
    // buildah 1.28 turns each `--label` into a LABEL step of its own.
    assert_eq!(steps.len(), 7, "{steps:?}");
    assert_eq!(steps[0], (1, 7, format!("FROM {BASE}")));
    assert!(steps[3].2.starts_with("RUN echo"));
    assert!(lines >= 5);
    let log = std::fs::read_to_string(&req.log).unwrap();
    assert!(log.contains("STEP 4/7: RUN"), "{log}");
    assert!(log.contains("--build-arg SECRET=***"), "{log}");
    assert!(
        !log.contains("s3cr3t-value"),
        "secret leaked into the log: {log}"
    );

    let images = backend.images().unwrap();
    let app = images
        .iter()
        .find(|i| i.id == id)
        .expect("built image listed");
    let mut names = app.names.clone();
    names.sort();
    assert_eq!(names, ["localhost/app:one", "localhost/app:two"]);
    assert_eq!(app.labels[LABEL_KEY], "key-0123");
    assert_eq!(app.labels["org.example.other"], "x y");
    assert_eq!(app.labels["stage"], "one");
    // The build arg reached the RUN.
    let log = dir.path().join("cat.log");
    let argv = strings(&["cat", "/greeting"]);
    let out = backend
        .run(
            "localhost/app:one",
            &argv,
            Duration::from_secs(30),
            &log,
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!(out, RunOutcome::Exited(0));
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("hello-world"));

    // tag adds names; images() sees them.
    backend
        .tag(&id, &strings(&["localhost/app:three"]))
        .unwrap();
    let images = backend.images().unwrap();
    let app = images.iter().find(|i| i.id == id).unwrap();
    assert!(app.names.contains(&"localhost/app:three".to_string()));
    assert!(
        storage.containers().is_empty(),
        "{:?}",
        storage.containers()
    );
}

#[test]
fn builder_version_is_what_buildah_version_says() {
    tools_or_skip!();
    let storage = Storage::new();
    let backend = Buildah::new(storage.settings());
    let plain = Command::new("buildah").arg("version").output().unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout);
    let line = plain
        .lines()
        .find_map(|l| l.strip_prefix("Version:"))
        .unwrap()
        .trim();
    let version = backend.builder_version().unwrap();
    assert_eq!(version.to_string(), line);
    // Asked once: the second answer is the first.
    assert_eq!(backend.builder_version().unwrap(), version);
}

#[test]
fn images_finds_the_store_through_buildah_info() {
    tools_or_skip!();
    let storage = Storage::new();
    let id = busybox_base(&storage, BASE);
    // The store given only as raw global flags: the backend must ask
    // `buildah info` where the graph root is to read the labels.
    let settings = BuildahSettings {
        root: None,
        runroot: None,
        storage_driver: None,
        extra_args: storage.global_args(),
        ..storage.settings()
    };
    let backend = Buildah::new(settings);
    let images = backend.images().unwrap();
    let base = images.iter().find(|i| i.id == id).unwrap();
    assert_eq!(base.names, [BASE]);
    assert!(
        base.labels.contains_key("io.buildah.version"),
        "{:?}",
        base.labels
    );
}

#[test]
fn inspect_reads_one_image_and_says_none_for_an_absent_one() {
    tools_or_skip!();
    let storage = Storage::new();
    let id = busybox_base(&storage, BASE);
    let backend = storage.backend();
    backend
        .tag(&id, &strings(&["localhost/busybox:other"]))
        .unwrap();
    let listed = backend
        .images()
        .unwrap()
        .into_iter()
        .find(|i| i.id == id)
        .unwrap();

    // By name and by id: the same image the listing shows, names and labels.
    let by_name = backend.inspect(BASE).unwrap().expect("present by name");
    assert_eq!(by_name, listed);
    let mut names = by_name.names.clone();
    names.sort();
    assert_eq!(names, ["localhost/busybox:base", "localhost/busybox:other"]);
    assert!(
        by_name.labels.contains_key("io.buildah.version"),
        "{:?}",
        by_name.labels
    );
    assert_eq!(backend.inspect(&id).unwrap(), Some(listed));

    // Absent, by name and by id: not an error.
    assert_eq!(backend.inspect("localhost/busybox:absent").unwrap(), None);
    assert_eq!(backend.inspect(&"0".repeat(64)).unwrap(), None);
    // A reference buildah cannot parse is an error, not "absent".
    let err = backend.inspect("Not A Reference").unwrap_err();
    assert!(matches!(err, BackendError::Failed { .. }), "{err:?}");
}

#[test]
fn failing_run_step_is_failed_with_log() {
    tools_or_skip!();
    let storage = Storage::new();
    busybox_base(&storage, BASE);
    let backend = storage.backend();
    let dir = tempfile::tempdir().unwrap();
    let req = request(
        dir.path(),
        "broken",
        &format!("FROM {BASE}\nRUN echo about-to-fail && exit 42\n"),
    );
    let err = backend
        .build(&req, &Cancel::new(), &mut |_| {})
        .unwrap_err();
    match err {
        BackendError::Failed {
            command, stderr, ..
        } => {
            assert!(command.contains("build"), "{command}");
            assert!(
                stderr.contains("exit status 42") || stderr.contains("42"),
                "{stderr}"
            );
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    let log = std::fs::read_to_string(&req.log).unwrap();
    assert!(log.contains("about-to-fail"), "{log}");
    assert!(
        storage.containers().is_empty(),
        "{:?}",
        storage.containers()
    );
}

#[test]
fn cancel_mid_build_interrupts_and_cleans_up() {
    tools_or_skip!();
    let storage = Storage::new();
    busybox_base(&storage, BASE);
    let backend = storage.backend();
    let dir = tempfile::tempdir().unwrap();
    let req = request(
        dir.path(),
        "slow",
        &format!("FROM {BASE}\nRUN echo started && sleep 30\n"),
    );
    let cancel = Cancel::new();
    let result = thread::scope(|s| {
        let c = cancel.clone();
        let log = req.log.clone();
        s.spawn(move || {
            // Cancel once the RUN is really running.
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .contains("started")
                {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            c.cancel();
        });
        backend.build(&req, &cancel, &mut |_| {})
    });
    // Had the cancel not stopped it, the build would have ended Ok after 30 s.
    assert!(
        matches!(result, Err(BackendError::Interrupted)),
        "{result:?}"
    );
    assert!(
        storage.containers().is_empty(),
        "{:?}",
        storage.containers()
    );
}

#[test]
fn push_exists_list_tags_and_pull() {
    tools_or_skip!();
    let storage = Storage::new();
    let id = busybox_base(&storage, BASE);
    let backend = storage.backend();
    let registry = Registry::start();
    let remote = format!("{}/reagent/busybox:v1", registry.host());
    let digest = backend
        .push_with_digest(BASE, &remote, &Cancel::new())
        .unwrap();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert!(backend.remote_exists(&remote).unwrap());
    let missing = format!("{}/reagent/busybox:nope", registry.host());
    assert!(!backend.remote_exists(&missing).unwrap());
    assert!(!backend
        .remote_exists(&format!("{}/reagent/none:v1", registry.host()))
        .unwrap());
    let tags = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false"])
        .arg(format!("docker://{}/reagent/busybox", registry.host()))
        .output()
        .unwrap();
    let tags = String::from_utf8_lossy(&tags.stdout);
    assert!(tags.contains("\"v1\""), "{tags}");
    assert!(!tags.contains("nope"), "{tags}");

    // Pull into an emptied store.
    let fresh = Storage::new();
    let backend2 = fresh.backend();
    assert!(backend2.images().unwrap().is_empty());
    backend2
        .pull(
            &remote,
            &strings(&["localhost/busybox:pulled"]),
            &Cancel::new(),
        )
        .unwrap();
    let images = backend2.images().unwrap();
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0].id, id, "same config, same id");
    assert!(images[0]
        .names
        .contains(&"localhost/busybox:pulled".to_string()));
    let log = fresh.path().join("run.log");
    let out = backend2
        .run(
            "localhost/busybox:pulled",
            &strings(&["true"]),
            Duration::from_secs(30),
            &log,
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!(out, RunOutcome::Exited(0));
}

fn blob(bytes: &[u8]) -> OciBlob {
    use sha2::Digest as _;
    OciBlob {
        digest: format!("{:x}", sha2::Sha256::digest(bytes)),
        bytes: bytes.to_vec(),
    }
}

#[test]
fn artifacts_keep_their_manifest_and_images_say_when_they_were_made() {
    tools_or_skip!();
    let storage = Storage::new();
    busybox_base(&storage, BASE);
    let backend = storage.backend();
    let created = backend.image_created(BASE).unwrap().unwrap();
    assert!(
        created.starts_with("20") && created.contains('T'),
        "{created}"
    );
    assert_eq!(backend.image_created("localhost/none:1").unwrap(), None);

    let registry = Registry::start();
    let doc = blob(b"{\"spdxVersion\":\"SPDX-2.3\"}\n");
    let config = blob(b"{}");
    let manifest = blob(
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:{}","size":2}},"layers":[{{"mediaType":"text/spdx+json","digest":"sha256:{}","size":{}}}]}}"#,
            config.digest,
            doc.digest,
            doc.bytes.len()
        )
        .as_bytes(),
    );
    let artifact = OciArtifact {
        manifest: manifest.clone(),
        blobs: vec![config, doc],
    };
    let remote = format!("{}/reagent/busybox:sha256-abc.sbom", registry.host());
    backend
        .push_artifact(&artifact, &remote, &Cancel::new())
        .unwrap();
    assert!(backend.remote_exists(&remote).unwrap());
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{remote}"))
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(
        raw.stdout, manifest.bytes,
        "the manifest went up byte for byte"
    );
}

#[test]
fn external_images_resolve_to_the_pushed_digest_and_pull_by_it() {
    tools_or_skip!();
    let upstream = Storage::new();
    busybox_base(&upstream, BASE);
    let registry = Registry::start();
    let remote = format!("{}/upstream/busybox:1", registry.host());
    let pushed = upstream
        .backend()
        .push_with_digest(BASE, &remote, &Cancel::new())
        .unwrap();

    let storage = Storage::new();
    let backend = storage.backend();
    assert_eq!(
        backend.remote_digest(&remote, None).unwrap(),
        Some(pushed.clone())
    );
    assert_eq!(
        backend.remote_digest(&remote, Some("linux/arm64")).unwrap(),
        Some(pushed.clone()),
        "a single image is what every platform gets"
    );
    let gone = format!("{}/upstream/busybox:2", registry.host());
    assert_eq!(backend.remote_digest(&gone, None).unwrap(), None);
    let down = backend.remote_digest(&format!("{}/x:1", Registry::down()), None);
    assert!(
        matches!(down, Err(BackendError::Unreachable(_))),
        "{down:?}"
    );

    let pinned = format!("{remote}@{pushed}");
    assert_eq!(backend.local_digest(&pinned).unwrap(), None);
    assert_eq!(backend.local_digest(&remote).unwrap(), None);
    let log = storage.path().join("pull.log");
    backend.pull_base(&pinned, &log, &Cancel::new()).unwrap();
    assert_eq!(backend.local_digest(&pinned).unwrap(), Some(pushed.clone()));
    assert!(backend.inspect(&pinned).unwrap().is_some());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.starts_with("$ buildah"), "{logged}");

    // An image only in local storage has the digest its store gave it.
    let local = upstream.backend().local_digest(BASE).unwrap().unwrap();
    assert!(local.starts_with("sha256:"), "{local}");
    assert_eq!(
        upstream
            .backend()
            .local_digest(&format!("{BASE}@{local}"))
            .unwrap(),
        Some(local)
    );
}

#[test]
fn remote_exists_on_a_down_registry_is_unreachable() {
    tools_or_skip!();
    let storage = Storage::new();
    let backend = storage.backend();
    let r = backend.remote_exists(&format!("{}/reagent/x:1", Registry::down()));
    assert!(matches!(r, Err(BackendError::Unreachable(_))), "{r:?}");
}

/// `err` is the registry timeout of `operation` on `registry`, after 1 s.
fn assert_registry_timeout<T: std::fmt::Debug>(
    r: Result<T, BackendError>,
    operation: RegistryOp,
    registry: &str,
) {
    match r {
        Err(
            ref e @ BackendError::RegistryTimeout {
                operation: op,
                registry: ref host,
                after,
                ..
            },
        ) => {
            assert_eq!(
                (op, host.as_str(), after),
                (operation, registry, Duration::from_secs(1))
            );
            let text = e.to_string();
            assert!(
                text.contains(&format!(
                    "registry {registry} did not answer the {operation}"
                )),
                "{text}"
            );
        }
        other => panic!("expected a {operation} timeout, got {other:?}"),
    }
}

#[test]
fn every_registry_operation_on_a_silent_registry_stops_at_the_timeout() {
    tools_or_skip!();
    // Accepts connections and holds them without a byte of answer.
    let silent = SilentRegistry::start();
    let host = silent.host().to_string();
    let storage = Storage::new();
    busybox_base(&storage, BASE);
    let backend = Buildah::new(BuildahSettings {
        tls_verify: false,
        registry_timeout: Duration::from_secs(1),
        ..storage.settings()
    });
    let remote = format!("{host}/reagent/x:1");
    let cancel = Cancel::new();
    // Without the deadline each of these waits forever (push and pull have no
    // limit of their own; skopeo's is ours).
    assert_registry_timeout(backend.remote_exists(&remote), RegistryOp::Lookup, &host);
    assert_registry_timeout(
        backend.remote_digest(&remote, None),
        RegistryOp::Lookup,
        &host,
    );
    assert_registry_timeout(backend.remote_labels(&remote), RegistryOp::Lookup, &host);
    assert_registry_timeout(
        backend.push(BASE, &remote, &cancel),
        RegistryOp::Push,
        &host,
    );
    assert_registry_timeout(
        backend.pull(&remote, &["localhost/x:1".to_string()], &cancel),
        RegistryOp::Pull,
        &host,
    );
    let log = storage.path().join("pull.log");
    assert_registry_timeout(
        backend.pull_base(&remote, &log, &cancel),
        RegistryOp::Pull,
        &host,
    );
    assert!(silent.held() >= 6, "{} connections held", silent.held());
}

#[test]
fn run_reports_exit_code_and_timeout_and_removes_containers() {
    tools_or_skip!();
    let storage = Storage::new();
    busybox_base(&storage, BASE);
    let backend = storage.backend();
    let log = storage.path().join("run.log");
    let c = Cancel::new();
    let out = backend
        .run(
            BASE,
            &strings(&["sh", "-c", "echo ran-ok; exit 7"]),
            Duration::from_secs(30),
            &log,
            &c,
        )
        .unwrap();
    assert_eq!(out, RunOutcome::Exited(7));
    assert!(std::fs::read_to_string(&log).unwrap().contains("ran-ok"));
    // Had the limit not stopped it, `sleep 30` would have exited 0.
    let out = backend
        .run(
            BASE,
            &strings(&["sleep", "30"]),
            Duration::from_millis(500),
            &log,
            &c,
        )
        .unwrap();
    assert_eq!(out, RunOutcome::TimedOut);
    // Cancel while the command runs.
    let cancel = Cancel::new();
    let r = thread::scope(|s| {
        let c = cancel.clone();
        s.spawn(move || {
            thread::sleep(Duration::from_millis(500));
            c.cancel();
        });
        let argv = strings(&["sleep", "30"]);
        backend.run(BASE, &argv, Duration::from_secs(60), &log, &cancel)
    });
    assert!(matches!(r, Err(BackendError::Interrupted)), "{r:?}");
    assert!(
        storage.containers().is_empty(),
        "{:?}",
        storage.containers()
    );
}

#[test]
fn import_tarball_then_run_in_it() {
    tools_or_skip!();
    let storage = Storage::new();
    let backend = storage.backend();
    let dir = tempfile::tempdir().unwrap();
    let tar = busybox_rootfs_tar(dir.path());
    let labels = BTreeMap::from([(LABEL_KEY.to_string(), "stage-key".to_string())]);
    let tags = strings(&["localhost/stage3:a", "localhost/stage3:b"]);
    let log = dir.path().join("import.log");
    let id = backend
        .import_tarball(&tar, &labels, &tags, &log, &Cancel::new())
        .unwrap();
    let images = backend.images().unwrap();
    let img = images
        .iter()
        .find(|i| i.id == id)
        .expect("imported image listed");
    assert_eq!(img.labels[LABEL_KEY], "stage-key");
    let mut names = img.names.clone();
    names.sort();
    assert_eq!(names, tags);
    let out = backend
        .run(
            "localhost/stage3:b",
            &strings(&["sh", "-c", "echo imported-$((6*7))"]),
            Duration::from_secs(30),
            &log,
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!(out, RunOutcome::Exited(0));
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("imported-42"));
    assert!(
        storage.containers().is_empty(),
        "{:?}",
        storage.containers()
    );
}
