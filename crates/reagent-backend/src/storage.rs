//! Reading containers-storage's image list and image labels straight from disk.
//!
//! `buildah images --json` is a process of its own (~60 ms) and lists no
//! labels; `buildah inspect` takes one image per process. containers-storage
//! keeps, under its graph root, one folder per driver's images:
//!
//! ```text
//! <root>/<driver>-images/images.json        every image: id, names, big-data names, ...
//! <root>/<driver>-images/<id>/<file>        one file per big-data item of the image
//! ```
//!
//! `images.json` is a JSON array of objects with at least `id` (bare hex) and,
//! when there are any, `names` and `big-data-names`; containers-storage
//! replaces it whole by rename, so a reader sees an old or a new list, never
//! half of one. A big-data item's file name is its key when the key holds only
//! `[a-z0-9.]`, else `=` followed by the standard base64 (with padding) of the
//! key (`makeBigDataBaseName` in containers/storage's `store.go`). An image's
//! config blob is the item keyed by `sha256:<id>`, since the id is the
//! config's digest.
//!
//! This is a deliberate coupling to an on-disk layout that is not a public
//! interface; it trades a process per listing, and one per image whose labels
//! are needed, for a file read. Should the layout change, nothing breaks:
//! [`list_images`] answers `None` for a folder it does not recognise (the
//! caller falls back to `buildah images --json`), and a config blob that is not
//! where expected sends that one image to `buildah inspect`. The base64
//! encoder is written out here (twenty tested lines) rather than pulled in as
//! a dependency for one use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One image as `images.json` records it: the fields reagent reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub(crate) struct StoredImage {
    /// Image id, bare hex (the digest of its config blob).
    pub id: String,
    /// Its names (full references); absent when it has none.
    #[serde(default)]
    pub names: Option<Vec<String>>,
}

/// The images of the store at `graph_root` for `driver`, read from
/// `<root>/<driver>-images/images.json`; `None` when the folder is not laid
/// out as containers-storage lays it out (then only buildah knows).
///
/// A graph root that does not exist holds no image yet; so does an image
/// folder without `images.json` (containers-storage writes it with the first
/// image). Anything else that does not read or parse is an unknown layout.
pub(crate) fn list_images(graph_root: &Path, driver: &str) -> Option<Vec<StoredImage>> {
    read_list(graph_root, driver, "images")
}

/// The ids of the containers (buildah's working containers among them) of the
/// store at `graph_root`, from `<root>/<driver>-containers/containers.json`,
/// read as [`list_images`] reads images.
pub(crate) fn list_containers(graph_root: &Path, driver: &str) -> Option<Vec<String>> {
    let entries: Vec<StoredImage> = read_list(graph_root, driver, "containers")?;
    Some(entries.into_iter().map(|c| c.id).collect())
}

/// The containers of the store, each with its names, as [`list_containers`] reads them.
pub(crate) fn list_named_containers(graph_root: &Path, driver: &str) -> Option<Vec<StoredImage>> {
    read_list(graph_root, driver, "containers")
}

/// The build arguments buildah recorded for a working container of `buildah
/// build` (`Args` in `<root>/<driver>-containers/<id>/userdata/buildah.json`);
/// `None` when there is no such file or it does not parse.
pub(crate) fn container_build_args(
    graph_root: &Path,
    driver: &str,
    id: &str,
) -> Option<BTreeMap<String, String>> {
    #[derive(serde::Deserialize)]
    struct State {
        #[serde(rename = "Args", default)]
        args: Option<BTreeMap<String, String>>,
    }
    let path = graph_root
        .join(format!("{driver}-containers"))
        .join(id)
        .join("userdata")
        .join("buildah.json");
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice::<State>(&bytes).ok()?.args
}

/// `<root>/<driver>-<kind>/<kind>.json`, parsed; `None` for an unknown layout.
fn read_list(graph_root: &Path, driver: &str, kind: &str) -> Option<Vec<StoredImage>> {
    if driver.is_empty() || driver.contains('/') {
        return None;
    }
    let folder = graph_root.join(format!("{driver}-{kind}"));
    let file = folder.join(format!("{kind}.json"));
    match std::fs::read(&file) {
        Ok(bytes) => parse_images(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match (graph_root.symlink_metadata(), folder.symlink_metadata()) {
                (Err(root), _) if root.kind() == std::io::ErrorKind::NotFound => Some(Vec::new()),
                (Ok(_), Ok(meta)) if meta.is_dir() => Some(Vec::new()),
                _ => None,
            }
        }
        Err(_) => None,
    }
}

/// The entries of an `images.json` (or `containers.json`) document: objects
/// with a bare 64-hex `id`; `None` when it is not one.
pub(crate) fn parse_images(bytes: &[u8]) -> Option<Vec<StoredImage>> {
    let images: Vec<StoredImage> =
        crate::image_list::scan(bytes).or_else(|| serde_json::from_slice(bytes).ok())?;
    // An id is a bare 64-hex digest; anything else is a layout reagent does not know.
    images
        .iter()
        .all(|i| i.id.len() == 64 && i.id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(images)
}

/// The file name containers-storage gives the big-data item `key`.
pub(crate) fn big_data_file_name(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b == b'.' || b.is_ascii_digit() || b.is_ascii_lowercase())
    {
        key.to_string()
    } else {
        format!("={}", base64(key.as_bytes()))
    }
}

/// Where an image's config blob lives in a containers-storage graph root.
pub(crate) fn config_blob_path(graph_root: &Path, driver: &str, id: &str) -> PathBuf {
    let key = format!("sha256:{id}");
    graph_root
        .join(format!("{driver}-images"))
        .join(id)
        .join(big_data_file_name(&key))
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
    fn big_data_names_are_plain_or_base64_as_containers_storage_writes_them() {
        assert_eq!(big_data_file_name("manifest"), "manifest");
        assert_eq!(big_data_file_name("a.b9"), "a.b9");
        assert_eq!(
            big_data_file_name("signature-1ff5"),
            format!("={}", base64(b"signature-1ff5"))
        );
        assert_eq!(big_data_file_name("Manifest"), "=TWFuaWZlc3Q=");
        assert_eq!(big_data_file_name(""), "=");
    }

    #[test]
    fn images_json_entries_parse_and_odd_documents_are_unknown() {
        let id = "a".repeat(64);
        let doc = format!(
            r#"[{{"id":"{id}","names":["localhost/x:1"],"big-data-names":["sha256:{id}","manifest"],"layer":"l"}},{{"id":"{}"}}]"#,
            "b".repeat(64)
        );
        let images = parse_images(doc.as_bytes()).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(
            images[0].names.as_deref(),
            Some(&["localhost/x:1".to_string()][..])
        );
        assert_eq!(images[1].names, None);
        assert_eq!(parse_images(b"[]").unwrap(), Vec::new());
        assert!(parse_images(br#"{"images":[]}"#).is_none());
        assert!(parse_images(br#"[{"id":"sha256:abc"}]"#).is_none());
        assert!(parse_images(b"[{").is_none());
    }

    #[test]
    fn a_missing_root_holds_nothing_and_a_strange_folder_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            list_images(&dir.path().join("absent"), "vfs"),
            Some(Vec::new())
        );
        // The root exists but has no `<driver>-images` folder: not a layout reagent knows.
        assert_eq!(list_images(dir.path(), "vfs"), None);
        std::fs::create_dir(dir.path().join("vfs-images")).unwrap();
        assert_eq!(list_images(dir.path(), "vfs"), Some(Vec::new()));
        std::fs::write(dir.path().join("vfs-images/images.json"), "not json").unwrap();
        assert_eq!(list_images(dir.path(), "vfs"), None);
        assert_eq!(list_images(dir.path(), "../x"), None);
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
