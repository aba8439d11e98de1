//! Generates the data files of the sample packages in `malloy-samples/`.
//!
//! Every row comes from a seeded SplitMix64 generator (`rng.rs`), so each
//! run produces the same rows, and DuckDB only stores them as Parquet. The
//! names of carriers, airports, shops, brands, films and people are made up
//! from word lists in each package's module and copy no real dataset.
//!
//! Each file carries its package's data version in its Parquet key-value
//! metadata. When every file of a package has the expected row count and
//! version, a run writes nothing for it, so `scripts/setup.sh` stays fast.
//! Otherwise it rewrites all of the package's files, and `--force` always
//! does.

mod calendar;
mod ecommerce;
mod faa;
mod movies;
mod parquet;
mod rng;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Writes the generated data files of the sample packages")]
struct Args {
    /// The folder that contains the sample packages; data goes to `<root>/<package>/data/`.
    #[arg(long, default_value = "malloy-samples")]
    root: PathBuf,
    /// Rewrites the files even when they are up to date.
    #[arg(long)]
    force: bool,
}

/// A package folder name and the function that writes its `data/` folder.
type Package = (&'static str, fn(&Path, bool) -> Result<()>);

const PACKAGES: &[Package] = &[
    ("faa", faa::ensure),
    ("ecommerce", ecommerce::ensure),
    ("movies", movies::ensure),
];

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("generate-samples: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    for (name, ensure) in PACKAGES {
        let package = args.root.join(name);
        if !package.join("publisher.json").is_file() {
            bail!(
                "{} is not a sample package folder (no publisher.json); pass --root with the malloy-samples folder",
                package.display()
            );
        }
        ensure(&package.join("data"), args.force)?;
    }
    Ok(())
}
