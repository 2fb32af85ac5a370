//! The Merkle encoding: how files, symlinks and directories become hashes.
//!
//! - a regular file is `blake3(contents)` (the same digest `b3sum` prints);
//! - a symlink is `blake3(target bytes)`; the target is never followed;
//! - a directory is a blake3 in derive-key mode (context [`DIR_CONTEXT`]) over its entries sorted
//!   by name as bytes, each encoded as `u32 LE name length, name, kind byte, exec byte, 32-byte hash`.
//!
//! Nothing else goes in: no mtimes, owners, absolute paths or the tree's own location.

/// blake3 derive-key context for directory hashes; changing the encoding means changing this.
pub const DIR_CONTEXT: &str = "reagent-snapshot 2025 directory entries v1";

/// What kind of entry a directory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file, hashed by content.
    File,
    /// A symbolic link, hashed by its target string.
    Symlink,
    /// A directory, hashed by its entries.
    Dir,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::File => b'f',
            Kind::Symlink => b'l',
            Kind::Dir => b'd',
        }
    }
}

/// One entry of a directory, as it enters the directory's hash.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The entry's name within its directory (bytes; no slash).
    pub name: Vec<u8>,
    /// File, symlink or directory.
    pub kind: Kind,
    /// Whether the file is executable ([`is_executable`]); always false for symlinks and directories.
    pub executable: bool,
    /// Content hash of the file, target hash of the symlink, or the subdirectory's hash.
    pub hash: blake3::Hash,
}

/// The one rule for "executable" in every content hash reagent makes (the snapshot's Merkle
/// tree, build-context files): the owner may execute it (`mode & 0o100`), as git records it.
/// Group and other bits, and the rest of the mode, are not part of any key.
pub fn is_executable(mode: u32) -> bool {
    mode & 0o100 != 0
}

/// Hashes a directory from its entries; sorts them by name bytes first.
pub fn dir_hash(entries: &mut [Entry]) -> blake3::Hash {
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = blake3::Hasher::new_derive_key(DIR_CONTEXT);
    for entry in entries.iter() {
        // Names are at most 255 bytes on Linux; a u32 length never truncates.
        let len = u32::try_from(entry.name.len()).unwrap_or(u32::MAX);
        hasher.update(&len.to_le_bytes());
        hasher.update(&entry.name);
        hasher.update(&[entry.kind.byte(), u8::from(entry.executable)]);
        hasher.update(entry.hash.as_bytes());
    }
    hasher.finalize()
}

/// Hashes a symlink's target string.
pub fn symlink_hash(target: &[u8]) -> blake3::Hash {
    blake3::hash(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: Kind, executable: bool) -> Entry {
        Entry {
            name: name.as_bytes().to_vec(),
            kind,
            executable,
            hash: blake3::hash(name.as_bytes()),
        }
    }

    #[test]
    fn dir_hash_does_not_depend_on_listing_order() {
        let mut a = vec![entry("b", Kind::File, false), entry("a", Kind::Dir, false)];
        let mut b = vec![entry("a", Kind::Dir, false), entry("b", Kind::File, false)];
        assert_eq!(dir_hash(&mut a), dir_hash(&mut b));
    }

    #[test]
    fn kind_and_exec_bit_change_the_hash() {
        let plain = dir_hash(&mut [entry("x", Kind::File, false)]);
        let exec = dir_hash(&mut [entry("x", Kind::File, true)]);
        let link = dir_hash(&mut [entry("x", Kind::Symlink, false)]);
        assert_ne!(plain, exec);
        assert_ne!(plain, link);
        assert_ne!(exec, link);
    }

    #[test]
    fn names_are_length_prefixed() {
        // "ab" + "c" must not collide with "a" + "bc" even with equal hashes.
        let h = blake3::hash(b"same");
        let e = |n: &str| Entry {
            name: n.as_bytes().to_vec(),
            kind: Kind::File,
            executable: false,
            hash: h,
        };
        assert_ne!(
            dir_hash(&mut [e("ab"), e("c")]),
            dir_hash(&mut [e("a"), e("bc")])
        );
    }

    #[test]
    fn empty_directory_has_a_fixed_hash() {
        assert_eq!(
            dir_hash(&mut []),
            blake3::Hasher::new_derive_key(DIR_CONTEXT).finalize()
        );
    }
}
