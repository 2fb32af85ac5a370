//! The `reagent` command line.
fn main() {}
