//! `gen_tree DIR [FILES]`: writes a deterministic, portage-like tree of FILES (default 150,000)
//! small files: `category/package/{package-version.ebuild, Manifest, metadata.xml, files/*.patch}`,
//! sizes ~200 B to 8 KiB. Used by `benches/snapshot.sh`.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

/// splitmix64: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("less than n, a usize")
    }
}

const WORDS: &[&str] = &[
    "EAPI=8",
    "inherit",
    "cmake",
    "autotools",
    "DESCRIPTION=",
    "HOMEPAGE=",
    "SRC_URI=",
    "LICENSE=",
    "SLOT=\"0\"",
    "KEYWORDS=\"~amd64 ~arm64\"",
    "IUSE=\"+ssl test\"",
    "RDEPEND=",
    "DEPEND=",
    "BDEPEND=",
    "src_configure()",
    "src_install()",
    "econf",
    "emake",
    "einstall",
    "dev-libs/openssl:=",
    "sys-libs/zlib",
    "virtual/pkgconfig",
    "use",
    "ssl",
    "&&",
    "||",
    "{",
    "}",
];

fn text(rng: &mut Rng, size: u64) -> Vec<u8> {
    let size = usize::try_from(size).expect("file sizes are at most 8 KiB");
    let mut out = Vec::with_capacity(size + 32);
    while out.len() < size {
        let word = WORDS[rng.below(WORDS.len())];
        out.extend_from_slice(word.as_bytes());
        out.push(if rng.next() % 8 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(size);
    out
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(root) = args.next().map(PathBuf::from) else {
        eprintln!("usage: gen_tree DIR [FILES]");
        return ExitCode::FAILURE;
    };
    let total: u64 = match args.next().map(|s| s.to_string_lossy().parse()) {
        None => 150_000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("FILES must be a number");
            return ExitCode::FAILURE;
        }
    };
    let mut rng = Rng(0x5eed);
    let mut written = 0u64;
    let mut bytes = 0u64;
    let categories = 160u64;
    let mut write = |path: PathBuf, data: Vec<u8>| -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        bytes += data.len() as u64;
        fs::write(path, data)
    };
    let mut pkg = 0u64;
    while written < total {
        let cat = format!(
            "{}-{}",
            ["app", "dev", "sys", "net", "media", "x11"][(pkg % 6) as usize],
            pkg % categories
        );
        let name = format!("pkg{pkg}");
        let dir = root.join(&cat).join(&name);
        let mut files: Vec<(PathBuf, u64)> = Vec::new();
        for v in 0..rng.range(1, 3) {
            files.push((
                dir.join(format!("{name}-1.{v}.ebuild")),
                rng.range(600, 8192),
            ));
        }
        files.push((dir.join("Manifest"), rng.range(200, 2048)));
        files.push((dir.join("metadata.xml"), rng.range(300, 1200)));
        if rng.next() % 3 == 0 {
            files.push((
                dir.join("files").join(format!("{name}-fix.patch")),
                rng.range(200, 8192),
            ));
        }
        for (path, size) in files {
            if written == total {
                break;
            }
            let data = text(&mut rng, size);
            if let Err(e) = write(path.clone(), data) {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            written += 1;
        }
        pkg += 1;
    }
    println!("files {written}");
    println!("packages {pkg}");
    println!("bytes {bytes}");
    ExitCode::SUCCESS
}
