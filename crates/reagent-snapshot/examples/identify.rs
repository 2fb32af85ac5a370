//! `identify TREE [--cache FILE] [--threads N]`: prints a tree's identity, counts and the
//! elapsed seconds, one `key value` pair per line (the benchmark parses them).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use reagent_snapshot::{identify, Options};

/// The allocator the `reagent` binary uses, so this measures what reagent does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Identify a portage tree (or any directory) by content.
#[derive(Parser)]
struct Args {
    /// The tree to identify.
    tree: PathBuf,
    /// Stat cache file (read, then stored again atomically when it should change).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Hashing threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = Options {
        cache: args.cache.clone(),
        threads: args.threads,
    };
    let start = Instant::now();
    match identify(&args.tree, &opts) {
        Ok(report) => {
            let elapsed = start.elapsed().as_secs_f64();
            println!("identity {}", report.identity.label());
            println!("files {}", report.files);
            println!("dirs {}", report.dirs);
            println!("symlinks {}", report.symlinks);
            println!("bytes_hashed {}", report.bytes_hashed);
            println!("cache_hits {}", report.cache_hits);
            let stored = match (&args.cache, &report.cache_update) {
                (Some(path), Some(bytes)) => match reagent_state::write_atomic(path, bytes) {
                    Ok(()) => true,
                    Err(err) => {
                        eprintln!("warning: {err}");
                        false
                    }
                },
                _ => false,
            };
            println!("cache_written {stored}");
            println!("elapsed {elapsed:.3}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
