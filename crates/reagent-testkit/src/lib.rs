//! Test harness for reagent's container-facing tests.
//!
//! Every test that touches buildah gets its own throwaway [`Storage`] (a temp
//! graph root with the `vfs` driver and `chroot` isolation, so it works in a
//! sandbox and never touches the machine's default store), builds a tiny base
//! image from the host's static busybox with [`busybox_base`] (no network),
//! and talks to a private [`Registry`] on a loopback port. [`SbomValidators`]
//! runs SBOMs through spdx-tools and cyclonedx-python-lib (Python packages).
//! For real `emerge`, [`mini_gentoo`] loads a cached Debian rootfs holding
//! Gentoo's portage, and [`GentooRepo`] writes a synthetic `::gentoo` tree
//! (with the mutations a sync makes) for it to build from.
//!
//! ```no_run
//! use reagent_testkit::{busybox_base, require_tools, Registry, Storage};
//!
//! if !require_tools() {
//!     eprintln!("skipped: container tools missing");
//!     return;
//! }
//! let storage = Storage::new();
//! let id = busybox_base(&storage, "localhost/busybox:base");
//! let registry = Registry::start();
//! println!("{id} can be pushed to {}", registry.host());
//! ```
//!
//! The helpers panic with a clear message when the harness itself cannot be
//! set up: that is a broken test machine, not a test result.

// Panicking on a broken harness is this crate's contract, stated once above;
// a `# Panics` section on every helper would repeat it.
#![allow(clippy::missing_panics_doc)]

mod gentoo_repo;
mod image;
pub mod mini_gentoo;
mod project;
mod registry;
mod storage;
mod tools;
mod validators;

pub use gentoo_repo::{GentooRepo, ECLASSES, GLSA_HELLO, PROFILE, TREE_PATH};
pub use image::{busybox_base, busybox_rootfs_tar};
pub use project::{ProjectDir, FAMILY_APP, FAMILY_BASE, GLSA_NGINX};
pub use registry::Registry;
pub use storage::Storage;
pub use tools::require_tools;
pub use validators::SbomValidators;
