//! `[image.x] format` and `[buildah] format`: buildah writes OCI images unless
//! told `docker`, and only Docker's format keeps `HEALTHCHECK`, `ONBUILD` and
//! `SHELL`; a Containerfile using one in OCI format is bad input, never a
//! silent drop.

mod common;

use common::buildah::{tools_missing, BuildahProject};
use serde_json::Value;

/// `buildah inspect`'s view of a built node: its Docker config, `null` fields included.
fn docker_config(p: &BuildahProject, node: &str) -> Value {
    let image = format!("localhost/{node}:{}", p.key16(node));
    let text = p.storage.buildah(&["inspect", "--type", "image", &image]);
    let v: Value = serde_json::from_str(&text).unwrap();
    v["Docker"]["config"].clone()
}

#[test]
fn docker_format_keeps_healthcheck_onbuild_and_shell() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("[image.docker]\nformat = \"docker\"\n").with_busybox_base();
    // `SHELL ["/bin/touch"]` makes `RUN /marker` touch /marker; with the shell
    // ignored it would run `/bin/sh -c /marker` and fail.
    let containerfile = "FROM base\n\
        HEALTHCHECK --interval=30s CMD wget -q --spider http://localhost/ || exit 1\n\
        ONBUILD RUN echo child\n\
        SHELL [\"/bin/touch\"]\n\
        RUN /marker\n\
        SHELL [\"/bin/sh\", \"-c\"]\n\
        RUN test -f /marker\n";
    p.write("images/docker/Containerfile", containerfile);
    p.write("images/oci/Containerfile", "FROM base\nRUN true\n");
    p.build_all();

    let docker = docker_config(&p, "docker");
    assert_eq!(
        docker["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "wget -q --spider http://localhost/ || exit 1"]),
        "{docker:#}"
    );
    assert_eq!(docker["Healthcheck"]["Interval"], 30_000_000_000_u64);
    assert_eq!(docker["OnBuild"], serde_json::json!(["RUN echo child"]));
    assert_eq!(docker["Shell"], serde_json::json!(["/bin/sh", "-c"]));

    // The format is part of what makes the image, and explain says so.
    let explained = p.ok(&["explain", "docker"]);
    assert!(explained.contains("format"), "{explained}");
    assert!(explained.contains("docker"), "{explained}");
    let explained = p.ok(&["explain", "oci"]);
    assert!(!explained.contains("format"), "{explained}");
}

#[test]
fn buildah_format_is_every_images_default() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("format = \"docker\"\n").with_busybox_base();
    p.write(
        "images/app/Containerfile",
        "FROM base\nHEALTHCHECK CMD true\n",
    );
    p.build_all();
    let config = docker_config(&p, "app");
    assert_eq!(
        config["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "true"]),
        "{config:#}"
    );
    let explained = p.ok(&["explain", "app"]);
    assert!(explained.contains("docker"), "{explained}");
}

#[test]
fn an_instruction_the_format_drops_is_bad_input_before_any_build() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("").with_busybox_base();
    p.write(
        "images/app/Containerfile",
        "FROM base\nHEALTHCHECK CMD true\nONBUILD RUN echo child\nSHELL [\"/bin/sh\", \"-c\"]\nRUN true\n",
    );
    for command in [&["check"][..], &["build", "all"][..]] {
        let run = p.run(command);
        assert_eq!(run.code, Some(2), "{command:?}: {}", run.stderr);
        for (line, keyword) in [(2, "HEALTHCHECK"), (3, "ONBUILD"), (4, "SHELL")] {
            assert!(
                run.stderr
                    .contains(&format!("--> images/app/Containerfile:{line}\n")),
                "{command:?}: {}",
                run.stderr
            );
            assert!(
                run.stderr
                    .contains(&format!("{keyword} is dropped by the OCI image format")),
                "{command:?}: {}",
                run.stderr
            );
        }
        assert!(
            run.stderr.contains("[image.app] format = \"docker\""),
            "{}",
            run.stderr
        );
    }
    // Nothing was built, not even the healthy base.
    let images = p.storage.buildah(&["images", "--json"]);
    assert!(!images.contains("localhost/base"), "{images}");
}

#[test]
fn another_format_is_bad_input_at_its_line() {
    let p = BuildahProject::new("[image.app]\nsquash = true\nformat = \"docker-v2\"\n");
    p.write("images/app/Containerfile", "FROM scratch\n");
    let run = p.run(&["check"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let toml = std::fs::read_to_string(p.path("graph.toml")).unwrap();
    let line = toml.lines().position(|l| l.starts_with("format")).unwrap() + 1;
    assert!(
        run.stderr.contains(&format!("--> graph.toml:{line}\n")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("docker-v2"), "{}", run.stderr);
    assert!(
        run.stderr.contains("`oci`") && run.stderr.contains("`docker`"),
        "{}",
        run.stderr
    );
}

#[test]
fn editing_a_file_a_parents_onbuild_trigger_reads_rebuilds_the_child() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("format = \"docker\"\n")
        .with_busybox_base_and("ONBUILD COPY app.conf /etc/app.conf\n");
    p.write("images/app/Containerfile", "FROM base\nRUN true\n");
    p.write("images/app/app.conf", "port=80\n");
    p.build_all();
    assert_eq!(p.file_in("app", "etc/app.conf"), "port=80\n");

    p.write("images/app/app.conf", "port=8080\n");
    p.build_all();
    assert_eq!(p.file_in("app", "etc/app.conf"), "port=8080\n");
}
