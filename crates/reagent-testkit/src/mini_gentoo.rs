//! The mini-Gentoo rootfs: a Debian minbase with Gentoo's real portage in
//! `/opt/portage`, made by `scripts/mini-gentoo` and cached as an OCI archive
//! (see that script for the recipe and the cache location). Tests load it
//! into their [`Storage`] and run `emerge` in it against a [`GentooRepo`]
//! tree bind-mounted at [`TREE_PATH`](crate::gentoo_repo::TREE_PATH).
//!
//! [`GentooRepo`]: crate::GentooRepo

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::storage::Storage;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mini-gentoo")
}

/// The path of the mini-Gentoo OCI archive: `scripts/mini-gentoo` runs once
/// per process (it builds the archive only when its recipe is not cached yet,
/// under a lock, so parallel test binaries build it once). Panics with the
/// script's output if it fails (a broken test machine: no debootstrap, not
/// root, no mirror).
pub fn archive() -> PathBuf {
    static ARCHIVE: OnceLock<PathBuf> = OnceLock::new();
    ARCHIVE
        .get_or_init(|| {
            let out = Command::new("bash")
                .arg(script())
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .expect("run scripts/mini-gentoo");
            assert!(
                out.status.success(),
                "scripts/mini-gentoo failed ({}); see its messages above",
                out.status
            );
            let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            assert!(
                path.is_file(),
                "scripts/mini-gentoo printed {}, which is not a file",
                path.display()
            );
            path
        })
        .clone()
}

/// Pull the mini-Gentoo archive into `storage` and tag it `name` (a full
/// reference such as `localhost/mini-gentoo:latest`). Returns the image id.
pub fn load(storage: &Storage, name: &str) -> String {
    let source = format!("oci-archive:{}", archive().display());
    let pulled = storage.buildah(&["pull", "--quiet", &source]);
    let id = pulled
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("buildah pull printed an image id")
        .trim()
        .to_string();
    storage.buildah(&["tag", &id, name]);
    id
}

/// Whether the mini-Gentoo can be had here: the archive is cached already, or
/// `debootstrap` is installed and this process is root, so the script can
/// build it.
///
/// When it cannot: with `CI=true` this panics (CI must fail, never skip
/// silently); otherwise it prints why to stderr and returns `false`, so the
/// test can return.
pub fn require() -> bool {
    let cached = Command::new("bash")
        .arg("-c")
        .arg(r#"r=$(bash "$0" --recipe) && test -s "${REAGENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reagent}/mini-gentoo-$r.oci.tar""#)
        .arg(script())
        .status()
        .is_ok_and(|s| s.success());
    if cached {
        return true;
    }
    let debootstrap = Command::new("sh")
        .args(["-c", "command -v debootstrap"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if debootstrap && root {
        return true;
    }
    let msg = "mini-Gentoo unavailable: building it needs debootstrap (scripts/setup installs it) and root";
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "{msg}; CI=true, so this is an error, not a skip");
    eprintln!("skipped: {msg}");
    false
}
