//! Secrets reach a build through `RUN --mount=type=secret` and nowhere else:
//! not the image, its history, reagent's state, or the key.

mod common;

use common::buildah::{tools_missing, BuildahProject};

#[test]
fn a_secret_is_mounted_for_the_build_and_kept_out_of_everything_else() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("[image.app]\nsecrets = { token = \"secret/token\" }\n")
        .with_busybox_base();
    p.write("secret/token", "s3cr3t-value");
    p.write(
        "images/app/Containerfile",
        // The Containerfile names the value only in base64, so finding the
        // plain value anywhere later means it leaked.
        "FROM base\nRUN --mount=type=secret,id=token test \"$(cat /run/secrets/token)\" = \"$(echo czNjcjN0LXZhbHVl | base64 -d)\" && echo checked > /checked\n",
    );
    let key = p.key("app");
    p.ok(&["build", "-R", "all"]);

    let image = format!("localhost/app:{}", p.key16("app"));
    let history = p.storage.buildah(&["inspect", "--type", "image", &image]);
    assert!(history.contains("/checked"), "the RUN step ran");
    assert!(!history.contains("s3cr3t-value"), "{history}");
    for entry in walkdir::WalkDir::new(p.path(".reagent"))
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("s3cr3t-value"),
                "secret in {}",
                entry.path().display()
            );
        }
    }

    // A new secret value does not make a new image.
    p.write("secret/token", "s3cr3t-value rotated\n");
    assert_eq!(p.key("app"), key);

    // A missing secret file is a build error naming it.
    std::fs::remove_file(p.path("secret/token")).unwrap();
    p.write(
        "images/app/Containerfile",
        "FROM base\nRUN --mount=type=secret,id=token true\n",
    );
    let run = p.run(&["build", "-R", "app"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("secret `token` needs this file"),
        "{}",
        run.stderr
    );
}
