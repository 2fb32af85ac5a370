//! Base images and root filesystems made from the host's static busybox.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use reagent_backend::{Backend, BuildRequest, Cancel};

use crate::storage::Storage;
use crate::tools::BUSYBOX;

/// Build a base image in `storage`, tagged `name` (a full reference such as
/// `localhost/busybox:base`), from `FROM scratch`, `COPY busybox /bin/busybox`
/// and `RUN ["/bin/busybox","--install","-s","/bin"]`. No network. Returns
/// the image id; panics with the build log if the build fails.
pub fn busybox_base(storage: &Storage, name: &str) -> String {
    let ctx = tempfile::tempdir().expect("temp build context");
    std::fs::copy(BUSYBOX, ctx.path().join("busybox")).expect("copy /bin/busybox");
    let containerfile = ctx.path().join("Containerfile");
    std::fs::write(
        &containerfile,
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\",\"--install\",\"-s\",\"/bin\"]\n",
    )
    .expect("write Containerfile");
    let log = ctx.path().join("build.log");
    let req = BuildRequest {
        name: "busybox-base".to_string(),
        containerfile,
        context: ctx.path().to_path_buf(),
        args: BTreeMap::new(),
        target: None,
        platform: None,
        squash: false,
        format: reagent_backend::ImageFormat::Oci,
        labels: BTreeMap::new(),
        tags: vec![name.to_string()],
        log: log.clone(),
        secrets: BTreeMap::new(),
        volumes: Vec::new(),
        no_cache: false,
    };
    match storage.backend().build(&req, &Cancel::new(), &mut |_| {}) {
        Ok(id) => id,
        Err(e) => panic!(
            "busybox base build failed: {e}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        ),
    }
}

/// Write `<dir>/rootfs.tar`: a root filesystem with `/bin/busybox` and its
/// applets as symlinks (`/bin/sh`, `/bin/echo`, ...), plus `/etc`, `/tmp`.
/// Returns the tarball's path; panics if it cannot be made.
pub fn busybox_rootfs_tar(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).expect("create rootfs/bin");
    for d in ["etc", "tmp", "root"] {
        std::fs::create_dir_all(root.join(d)).expect("create rootfs dir");
    }
    std::fs::copy(BUSYBOX, bin.join("busybox")).expect("copy /bin/busybox");
    let out = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("run busybox --list");
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let applet = applet.trim();
        if !applet.is_empty() && applet != "busybox" && !applet.contains('/') {
            let _ = symlink("busybox", bin.join(applet));
        }
    }
    let tar = dir.join("rootfs.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(status.success(), "tar of the busybox rootfs failed");
    tar
}
