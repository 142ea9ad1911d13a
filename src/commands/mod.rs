//! One module per subcommand; `run` parses the command line and dispatches.

mod completions;
mod inspect;
mod list;
mod show;
mod stats;

use std::ffi::OsString;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::exit;
use crate::settings::Settings;

/// Runs meshpeers with `args` (the program name first) and gives the exit status.
/// Usage errors are printed here (by clap); other errors are returned for the caller to print.
pub fn run<I, T>(args: I) -> Result<u8>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            e.print()?;
            return Ok(code);
        }
    };
    let settings = Settings::from_args(&cli.global);
    match cli.command {
        Command::Inspect(args) => inspect::run(&settings, &args),
        Command::List(args) => list::run(&settings, &args),
        Command::Show(args) => show::run(&settings, &args),
        Command::Stats(args) => stats::run(&settings, &args),
        Command::Completions(args) => completions::run(&args),
    }
}
