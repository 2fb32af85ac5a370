//! The harness itself: registry lifecycle, storage cleanup, busybox base.

use std::net::TcpStream;

use reagent_testkit::{busybox_base, require_tools, Registry, Storage};

#[test]
fn registry_answers_until_stopped() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let mut registry = Registry::start();
    let host = registry.host().to_string();
    assert!(host.starts_with("127.0.0.1:"), "{host}");
    assert!(TcpStream::connect(&host).is_ok());
    registry.stop();
    assert!(TcpStream::connect(&host).is_err());
    assert!(TcpStream::connect(Registry::down()).is_err());
}

#[test]
fn storage_drop_removes_containers_and_read_only_layers() {
    if !require_tools() {
        eprintln!("skipped: container tools missing");
        return;
    }
    let storage = Storage::new();
    let id = busybox_base(&storage, "localhost/busybox:base");
    assert_eq!(id.len(), 64);
    let listed = storage.buildah(&["images", "--noheading", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(listed.contains("localhost/busybox:base"), "{listed}");
    storage.buildah(&["from", "--name", "leftover", "localhost/busybox:base"]);
    // A read-only directory inside the container's root must not stop cleanup.
    let mount = storage.buildah(&["mount", "leftover"]);
    let ro = std::path::Path::new(mount.trim()).join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join("f"), "x").unwrap();
    std::process::Command::new("chmod")
        .arg("0500")
        .arg(&ro)
        .status()
        .unwrap();
    assert_eq!(storage.containers().len(), 1);
    let path = storage.path().to_path_buf();
    drop(storage);
    assert!(!path.exists(), "{} left behind", path.display());
}
