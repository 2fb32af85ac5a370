//! Reading image labels straight from containers-storage.
//!
//! `buildah images --json` lists ids and names but no labels, and `buildah
//! inspect` takes one image per process (~30 ms each: 30 s for 1,000 images).
//! An image's id is the digest of its config blob, and containers-storage keeps
//! that blob as `<root>/<driver>-images/<id>/=<base64("sha256:<id>")>`, so the
//! labels of every listed image can be read with one small file read each.
//! When a blob is not where expected (another storage layout), the caller
//! falls back to `buildah inspect` for that image only.
//!
//! This is a deliberate coupling to containers-storage's on-disk layout,
//! which is not a public interface: `<root>/<driver>-images/<id>/` holding the
//! config blob as a file named `=` followed by `base64("sha256:<id>")`. It
//! trades a 30 ms process per image for one file read. Should the layout
//! change, nothing breaks: the blob is not found and every image takes the
//! `buildah inspect` path, only slower. The base64 encoder is written out here
//! (twenty tested lines) rather than pulled in as a dependency for one use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where an image's config blob lives in a containers-storage graph root.
pub(crate) fn config_blob_path(graph_root: &Path, driver: &str, id: &str) -> PathBuf {
    let key = format!("sha256:{id}");
    graph_root
        .join(format!("{driver}-images"))
        .join(id)
        .join(format!("={}", base64(key.as_bytes())))
}

/// The `config.Labels` of an OCI (or Docker) image config, if the blob reads and parses.
pub(crate) fn read_labels(path: &Path) -> Option<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).ok()?;
    labels_from_config(&bytes)
}

/// The `config.Labels` object of an image config document.
pub(crate) fn labels_from_config(bytes: &[u8]) -> Option<BTreeMap<String, String>> {
    #[derive(serde::Deserialize)]
    struct Config {
        #[serde(default)]
        config: Option<Inner>,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        #[serde(default, rename = "Labels")]
        labels: Option<BTreeMap<String, String>>,
    }
    let c: Config = serde_json::from_slice(bytes).ok()?;
    Some(c.config.and_then(|i| i.labels).unwrap_or_default())
}

/// Standard base64 with padding (what Go's `base64.StdEncoding` writes).
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn blob_path_matches_containers_storage_layout() {
        let id = "510aad287c96ed7599c8c3b4ef11ad4242f3226e7312ffb6cdc662a09dd66c9c";
        let p = config_blob_path(Path::new("/r"), "vfs", id);
        assert_eq!(
            p,
            Path::new("/r/vfs-images").join(id).join(
                "=c2hhMjU2OjUxMGFhZDI4N2M5NmVkNzU5OWM4YzNiNGVmMTFhZDQyNDJmMzIyNmU3MzEyZmZiNmNkYzY2MmEwOWRkNjZjOWM="
            )
        );
    }

    #[test]
    fn labels_parse_from_config() {
        let doc =
            br#"{"architecture":"amd64","config":{"Labels":{"a":"b","org.reagent.key":"k"}}}"#;
        let l = labels_from_config(doc).unwrap();
        assert_eq!(l.get("a").map(String::as_str), Some("b"));
        assert_eq!(l.len(), 2);
        assert!(labels_from_config(br#"{"config":{}}"#).unwrap().is_empty());
        assert!(labels_from_config(b"not json").is_none());
    }
}
