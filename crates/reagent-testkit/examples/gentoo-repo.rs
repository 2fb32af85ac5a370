//! Write the synthetic `::gentoo` tree ([`reagent_testkit::GentooRepo`]) into a folder:
//!
//! ```text
//! cargo run -p reagent-testkit --example gentoo-repo -- DIR
//! ```
//!
//! `examples/mini-gentoo/portage-tree` is this program's output, committed.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: gentoo-repo DIR");
        return ExitCode::from(2);
    };
    let repo = reagent_testkit::GentooRepo::create(&PathBuf::from(dir));
    println!("{}", repo.root().display());
    ExitCode::SUCCESS
}
