//! The platform build args buildah predefines: `TARGETPLATFORM`, `TARGETOS`,
//! `TARGETARCH`, `TARGETVARIANT` for the platform built for (`[image.<name>]
//! platform`, else the host's) and `BUILDPLATFORM`, `BUILDOS`, `BUILDARCH`,
//! `BUILDVARIANT` for the host. A Containerfile sees them without declaring
//! them in `FROM` lines (and with `ARG NAME` elsewhere); an image's own
//! `args` win over them.

use std::collections::BTreeMap;
use std::sync::Arc;

/// `os/arch[/variant]` split into its parts, with the arch and variant Go
/// (and so buildah) uses: `linux/amd64`, `linux/arm64`, `linux/arm/v7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, `arm`, ...
    pub arch: String,
    /// `v7`, or empty.
    pub variant: String,
}

impl Platform {
    /// Read `os/arch[/variant]`; `None` when it has not two or three non-empty parts.
    pub fn parse(text: &str) -> Option<Platform> {
        let parts: Vec<&str> = text.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        match parts.as_slice() {
            [os, arch] => Some(Platform {
                os: (*os).to_string(),
                arch: (*arch).to_string(),
                variant: String::new(),
            }),
            [os, arch, variant] => Some(Platform {
                os: (*os).to_string(),
                arch: (*arch).to_string(),
                variant: (*variant).to_string(),
            }),
            _ => None,
        }
    }

    /// The platform reagent runs on, named as Go names it.
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            other => other,
        };
        let variant = if arch == "arm" { "v7" } else { "" };
        Platform {
            os: std::env::consts::OS.to_string(),
            arch: arch.to_string(),
            variant: variant.to_string(),
        }
    }

    /// `os/arch[/variant]`.
    pub fn name(&self) -> String {
        if self.variant.is_empty() {
            format!("{}/{}", self.os, self.arch)
        } else {
            format!("{}/{}/{}", self.os, self.arch, self.variant)
        }
    }

    /// The four args of this platform with `prefix` (`TARGET` or `BUILD`).
    fn args(&self, prefix: &str, out: &mut BTreeMap<String, String>) {
        out.insert(format!("{prefix}PLATFORM"), self.name());
        out.insert(format!("{prefix}OS"), self.os.clone());
        out.insert(format!("{prefix}ARCH"), self.arch.clone());
        out.insert(format!("{prefix}VARIANT"), self.variant.clone());
    }
}

/// The build args a Containerfile sees for `platform` (`[image.<name>] platform`;
/// the host's when `None` or not `os/arch[/variant]`) on `host`, with `args`
/// (the image's own) over them.
pub fn build_args(
    platform: Option<&str>,
    host: &Platform,
    args: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let target = platform
        .and_then(Platform::parse)
        .unwrap_or_else(|| host.clone());
    let mut out = BTreeMap::new();
    target.args("TARGET", &mut out);
    host.args("BUILD", &mut out);
    out.extend(args.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// [`build_args`] for many images on one host: the host's args are made once and
/// copied for each image that does not name another platform.
#[derive(Debug, Clone)]
pub struct HostArgs {
    host: Platform,
    /// `build_args(None, &host, &{})`.
    args: Arc<BTreeMap<String, String>>,
}

impl HostArgs {
    /// The args of `host`.
    pub fn new(host: Platform) -> HostArgs {
        let args = Arc::new(build_args(None, &host, &BTreeMap::new()));
        HostArgs { host, args }
    }

    /// The same as [`build_args`]`(platform, host, args)`; the host's own map, shared,
    /// when there is no platform and no arg to put over it.
    pub fn build_args(
        &self,
        platform: Option<&str>,
        args: &BTreeMap<String, String>,
    ) -> Arc<BTreeMap<String, String>> {
        if platform.and_then(Platform::parse).is_some() {
            return Arc::new(build_args(platform, &self.host, args));
        }
        if args.is_empty() {
            return Arc::clone(&self.args);
        }
        let mut out = BTreeMap::clone(&self.args);
        out.extend(args.iter().map(|(k, v)| (k.clone(), v.clone())));
        Arc::new(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_args_come_from_the_platform_and_build_args_from_the_host() {
        let host = Platform::parse("linux/amd64").unwrap();
        let args = build_args(Some("linux/arm/v7"), &host, &BTreeMap::new());
        assert_eq!(args["TARGETPLATFORM"], "linux/arm/v7");
        assert_eq!(args["TARGETOS"], "linux");
        assert_eq!(args["TARGETARCH"], "arm");
        assert_eq!(args["TARGETVARIANT"], "v7");
        assert_eq!(args["BUILDPLATFORM"], "linux/amd64");
        assert_eq!(args["BUILDARCH"], "amd64");
        assert_eq!(args["BUILDVARIANT"], "");
        let own = BTreeMap::from([("TARGETARCH".to_string(), "riscv64".to_string())]);
        assert_eq!(build_args(None, &host, &own)["TARGETARCH"], "riscv64");
        assert_eq!(build_args(None, &host, &own)["TARGETOS"], "linux");
        assert_eq!(Platform::parse("linux"), None);
        assert_eq!(Platform::parse("linux//v7"), None);
    }

    #[test]
    fn host_args_are_build_args() {
        let host = Platform::parse("linux/amd64").unwrap();
        let made = HostArgs::new(host.clone());
        let own = BTreeMap::from([("TARGETARCH".to_string(), "riscv64".to_string())]);
        for platform in [
            None,
            Some("linux/arm/v7"),
            Some("linux"),
            Some("linux/amd64"),
        ] {
            for args in [&BTreeMap::new(), &own] {
                assert_eq!(
                    *made.build_args(platform, args),
                    build_args(platform, &host, args),
                    "{platform:?} {args:?}"
                );
            }
        }
    }
}
