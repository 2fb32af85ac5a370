//! `[image.x] format`: buildah writes OCI images unless told `docker`, and only
//! Docker's format keeps `HEALTHCHECK` and `ONBUILD`.

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
fn a_healthcheck_survives_with_docker_format_and_is_dropped_without() {
    if tools_missing() {
        return;
    }
    let p = BuildahProject::new("[image.docker]\nformat = \"docker\"\n").with_busybox_base();
    let containerfile =
        "FROM base\nHEALTHCHECK --interval=30s CMD wget -q --spider http://localhost/ || exit 1\nONBUILD RUN echo child\n";
    p.write("images/docker/Containerfile", containerfile);
    p.write("images/oci/Containerfile", containerfile);
    p.build_all();

    let docker = docker_config(&p, "docker");
    assert_eq!(
        docker["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "wget -q --spider http://localhost/ || exit 1"]),
        "{docker:#}"
    );
    assert_eq!(docker["Healthcheck"]["Interval"], 30_000_000_000_u64);
    assert_eq!(docker["OnBuild"], serde_json::json!(["RUN echo child"]));

    let oci = docker_config(&p, "oci");
    assert!(oci["Healthcheck"].is_null(), "{oci:#}");
    assert!(oci["OnBuild"].is_null(), "{oci:#}");

    // The format is part of what makes the image: the two keys differ, and
    // explain says why.
    assert_ne!(p.key("docker"), p.key("oci"));
    let explained = p.ok(&["explain", "docker"]);
    assert!(explained.contains("format"), "{explained}");
    assert!(explained.contains("docker"), "{explained}");
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
