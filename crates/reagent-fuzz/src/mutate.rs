//! Damaging an input: a seeded generator and the mutations it drives.

use crate::Target;

/// The largest input a mutation makes, in bytes: big enough for a line repeated
/// thousands of times (where cost that grows faster than the input shows), small
/// enough that a linear parser handles it in milliseconds.
pub const MAX_INPUT: usize = 64 << 10;

/// xorshift64*: small, seeded, the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift would stay at 0).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // `n` fits in u64, and the remainder is below `n`, so both conversions hold.
        usize::try_from(self.next_u64() % u64::try_from(n).unwrap_or(u64::MAX)).unwrap_or(0)
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes that mean something to some parser, and some that mean nothing.
const BYTES: &[u8] = b"\n\r\t \\$`{}[]\"'#:=@*?,-/.<>!^0123456789AZaz\x00\x01\x7f\xc3\xa9\xff\x80";

/// Pieces of Containerfile syntax, inserted whole.
const CONTAINERFILE: &[&str] = &[
    "FROM ",
    "FROM base AS b\n",
    " AS ",
    "ARG ",
    "ARG A=",
    "ENV ",
    "COPY ",
    "ADD ",
    "RUN ",
    "ONBUILD ",
    "WORKDIR ",
    "LABEL ",
    "SHELL ",
    "CMD ",
    "HEALTHCHECK ",
    "--from=",
    "--mount=type=bind,",
    "--mount=type=cache,target=/c,from=",
    "source=",
    "target=/t",
    "--platform=",
    "--chown=",
    "--link",
    "--network=none",
    "${",
    "}",
    "$A",
    "${A}",
    "${A:-",
    "${A-",
    "${A:+",
    "${A:?",
    "${A?",
    "$",
    "\"",
    "'",
    "\\\n",
    "\\",
    "`",
    "# escape=`\n",
    "# syntax=x\n",
    "<<EOF\n",
    "\nEOF\n",
    "<<-EOF",
    "<<'EOF'",
    "[\"",
    "\"]",
    "[\"a\", \"b\"]",
    "https://h.example/f",
    "git@h:r.git",
    "*",
    "?",
    "[",
    "\r\n",
    "\u{feff}",
    "\u{85}",
    "\u{2000}",
    "scratch",
    "localhost/",
    ":tag",
    "@sha256:",
    "..",
    "/",
    "\n",
    "#",
    "=",
];

/// Pieces of catalyst spec syntax, inserted whole.
const SPEC: &[&str] = &[
    ":",
    ": ",
    "@TIMESTAMP@",
    "@TREEISH@",
    "@REPO_DIR@",
    "@X@",
    "@",
    "#",
    "\"",
    "target: ",
    "stage1",
    "stage3",
    "stage4",
    "livecd-stage2",
    "snapshot",
    "subarch: ",
    "version_stamp: ",
    "rel_type: ",
    "profile: ",
    "snapshot_treeish: ",
    "snapshot: ",
    "source_subpath: ",
    "compression_mode: ",
    "pixz",
    "lbzip2",
    "stage4/packages:",
    "stage4/use: ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    " ",
    "a/b",
    "none",
];

/// Pieces of TOML and `graph.toml` syntax, inserted whole.
const GRAPH_TOML: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    " = ",
    "=",
    "\n",
    "\r",
    "\r\n",
    "#",
    "\\u0000",
    "\\",
    "\\n",
    "{",
    "}",
    ",",
    ".",
    "[project]\n",
    "[image.app]\n",
    "[image.\"a b\"]\n",
    "[buildah]\n",
    "[stage.s]\n",
    "[portage]\n",
    "[snapshot]\n",
    "[stages]\n",
    "binary",
    "tags",
    "use",
    "args",
    "jobs = ",
    "registry = ",
    "isolation = ",
    "seed = ",
    "sha256 = ",
    "0",
    "-1",
    "1e999",
    "99999999999999999999",
    "true",
    "\u{1}",
    "\u{feff}",
    "[\"a b\"]",
    "{ A = \"1\" }",
    "\"\"",
];

/// Pieces of each target's syntax, inserted whole.
fn dictionary(target: Target) -> &'static [&'static str] {
    match target {
        Target::Containerfile => CONTAINERFILE,
        Target::Spec => SPEC,
        Target::GraphToml => GRAPH_TOML,
    }
}

/// Apply one to four random mutations to `input`, drawing from `target`'s syntax and,
/// for splices, from `others` (inputs of the same target). The result is at most
/// `MAX_INPUT` (64 KiB) bytes (more only when `input` was).
pub fn mutate(rng: &mut Rng, target: Target, input: &mut Vec<u8>, others: &[&[u8]]) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        let at = rng.below(len + 1);
        match rng.below(10) {
            // Delete a run of bytes.
            0 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(32.min(len - at));
                input.drain(at..at + n);
            }
            // Repeat a run of bytes somewhere else.
            1 if len > 0 => {
                let from = rng.below(len);
                let n = 1 + rng.below(128.min(len - from));
                let piece = input[from..from + n].to_vec();
                insert(input, at, &piece);
            }
            // Replace a byte.
            2 if len > 0 => {
                let i = rng.below(len);
                input[i] = *rng.pick(BYTES);
            }
            // Insert bytes, some meaningful, some random.
            3 => {
                let piece: Vec<u8> = (0..=rng.below(8))
                    .map(|_| {
                        if rng.below(3) == 0 {
                            rng.next_u64().to_le_bytes()[0]
                        } else {
                            *rng.pick(BYTES)
                        }
                    })
                    .collect();
                insert(input, at, &piece);
            }
            // Splice in a piece of another input.
            4 if !others.is_empty() => {
                let other = *rng.pick(others);
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let n = 1 + rng.below(512.min(other.len() - from));
                    insert(input, at, &other[from..from + n]);
                }
            }
            // Repeat one line many times: where cost grows faster than input, it shows.
            5 if len > 0 => repeat_line(rng, input),
            // Insert a token of the target's syntax (most mutations).
            _ => {
                let token = *rng.pick(dictionary(target));
                insert(input, at, token.as_bytes());
            }
        }
    }
}

/// Insert `piece` at `at` unless the input would pass `MAX_INPUT`.
fn insert(input: &mut Vec<u8>, at: usize, piece: &[u8]) {
    if input.len() + piece.len() <= MAX_INPUT {
        input.splice(at..at, piece.iter().copied());
    }
}

/// Repeat the line around a random byte 2 to 4,000 times, within [`MAX_INPUT`].
fn repeat_line(rng: &mut Rng, input: &mut Vec<u8>) {
    let i = rng.below(input.len());
    let start = input[..i]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let end = input[i..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(input.len(), |p| i + p + 1);
    let line = input[start..end].to_vec();
    if line.is_empty() {
        return;
    }
    let room = MAX_INPUT.saturating_sub(input.len()) / line.len();
    let times = (2 + rng.below(3999)).min(room);
    let mut piece = Vec::with_capacity(line.len() * times);
    for _ in 0..times {
        piece.extend_from_slice(&line);
        if !line.ends_with(b"\n") {
            piece.push(b'\n');
        }
    }
    insert(input, end, &piece);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let run = |seed| {
            let mut rng = Rng::new(seed);
            let mut input = b"FROM base\nRUN true\n".to_vec();
            for _ in 0..50 {
                mutate(&mut rng, Target::Containerfile, &mut input, &[b"ARG A=1\n"]);
            }
            input
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn mutations_stay_within_the_size_limit() {
        let mut rng = Rng::new(1);
        let mut input = b"a line\n".to_vec();
        for _ in 0..2000 {
            mutate(&mut rng, Target::Spec, &mut input, &[]);
            assert!(input.len() <= MAX_INPUT);
        }
    }
}
