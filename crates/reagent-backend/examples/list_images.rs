//! List a store's images with their labels and time the listing.
//!
//! `cargo run --release -p reagent-backend --example list_images -- --root R --runroot RR --storage-driver vfs`
//! (any arguments are used as buildah's global flags).

use std::time::Instant;

use reagent_backend::{Backend, Buildah, BuildahSettings, LABEL_KEY};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = Buildah::new(BuildahSettings {
        extra_args: std::env::args().skip(1).collect(),
        ..BuildahSettings::default()
    });
    let start = Instant::now();
    let images = backend.images()?;
    let took = start.elapsed();
    let keyed = images
        .iter()
        .filter(|i| i.labels.contains_key(LABEL_KEY))
        .count();
    println!(
        "{} images ({keyed} with {LABEL_KEY}) listed in {took:?}",
        images.len()
    );
    Ok(())
}
