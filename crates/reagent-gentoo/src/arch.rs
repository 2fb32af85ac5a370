//! Gentoo architecture keywords (`amd64`, `arm64`, ...) for Rust target
//! architectures, so an audit can default to the keyword of the machine
//! reagent was built for.

/// The Gentoo keyword for a Rust target architecture name as
/// `std::env::consts::ARCH` spells it (`x86_64` → `amd64`, `aarch64` →
/// `arm64`, `powerpc64` → `ppc64`, ...), or `None` for an architecture
/// this table does not know.
///
/// ```
/// use reagent_gentoo::arch;
/// assert_eq!(arch::keyword_for("x86_64"), Some("amd64"));
/// assert_eq!(arch::keyword_for("wasm32"), None);
/// ```
pub fn keyword_for(rust_arch: &str) -> Option<&'static str> {
    Some(match rust_arch {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc" => "ppc",
        "powerpc64" => "ppc64",
        "riscv64" => "riscv",
        "s390x" => "s390",
        "sparc64" => "sparc",
        "loongarch64" => "loong",
        "mips" | "mips64" => "mips",
        "m68k" => "m68k",
        _ => return None,
    })
}

/// The Gentoo keyword of the architecture this reagent binary was built for
/// ([`keyword_for`] of `std::env::consts::ARCH`), if it has one. This is a
/// compile-time fact: an `x86` build running on an `x86_64` host says `x86`.
pub fn host_keyword() -> Option<&'static str> {
    keyword_for(std::env::consts::ARCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_for_common_hosts() {
        assert_eq!(keyword_for("x86_64"), Some("amd64"));
        assert_eq!(keyword_for("aarch64"), Some("arm64"));
        assert_eq!(keyword_for("powerpc64"), Some("ppc64"));
        assert_eq!(keyword_for("riscv64"), Some("riscv"));
        assert_eq!(keyword_for("s390x"), Some("s390"));
        assert_eq!(keyword_for("loongarch64"), Some("loong"));
        assert_eq!(keyword_for("mips64"), Some("mips"));
    }

    #[test]
    fn unknown_architectures_have_no_keyword() {
        assert_eq!(keyword_for("wasm32"), None);
        assert_eq!(keyword_for(""), None);
        assert_eq!(keyword_for("AMD64"), None, "Rust names, not keywords");
    }

    #[test]
    fn host_keyword_is_the_build_target_keyword() {
        assert_eq!(host_keyword(), keyword_for(std::env::consts::ARCH));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(host_keyword(), Some("amd64"));
        #[cfg(target_arch = "aarch64")]
        assert_eq!(host_keyword(), Some("arm64"));
    }
}
