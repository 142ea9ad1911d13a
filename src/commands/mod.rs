//! One module per subcommand; `run` parses the command line and dispatches.

mod candidates;
mod cleanup;
mod completions;
mod diff;
mod export;
mod history;
mod import;
mod inspect;
mod keys;
mod list;
mod locate;
mod maintenance;
mod recover;
mod reencrypt;
mod repair;
mod score;
mod secrets;
mod show;
mod stats;
mod validate;
mod write;

use std::ffi::OsString;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::MeshError;
use crate::error::exit;
use crate::js::JsString;
use crate::output;
use crate::peers::Namespace;
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
    crate::output::color::set(cli.global.color);
    crate::output::set_wide(cli.global.wide);
    let settings = Settings::from_args(&cli.global);
    match cli.command {
        Command::Locate(args) => locate::run(&settings, &args),
        Command::Inspect(args) => inspect::run(&settings, &args),
        Command::List(args) => list::run(&settings, &args),
        Command::Show(args) => show::run(&settings, &args),
        Command::Stats(args) => stats::run(&settings, &args),
        Command::Score(args) => score::run(&settings, &args),
        Command::Candidates(args) => candidates::run(&settings, &args),
        Command::Cleanup(args) => cleanup::run(&settings, &args),
        Command::Remove(args) => maintenance::remove(&settings, &args),
        Command::Clear(args) => maintenance::clear(&settings, &args),
        Command::Unblacklist(args) => maintenance::unblacklist(&settings, &args),
        Command::Export(args) => export::run(&settings, &args),
        Command::Import(args) => import::run(&settings, &args),
        Command::Secrets(args) => secrets::run(&settings, &args),
        Command::Validate(args) => validate::run(&settings, &args),
        Command::Diff(args) => diff::run(&settings, &args),
        Command::History(args) => history::run(&settings, &args),
        Command::Recover(args) => recover::run(&settings, &args),
        Command::Repair(args) => repair::run(&settings, &args),
        Command::ReEncrypt(args) => reencrypt::run(&settings, &args),
        Command::Completions(args) => completions::run(&args),
    }
}

/// The record of `wanted`: an exact id, or a prefix that names exactly one record.
pub(crate) fn find_record<'a>(
    ns: &Namespace<'a>,
    wanted: &str,
    location: &str,
) -> Result<(JsString, &'a JsString)> {
    let records: Vec<(JsString, &JsString)> = ns.records().collect();
    let wanted_js = JsString::from(wanted);
    if let Some((id, raw)) = records.iter().find(|(id, _)| *id == wanted_js) {
        return Ok((id.clone(), raw));
    }
    let matches: Vec<&(JsString, &JsString)> = records
        .iter()
        .filter(|(id, _)| id.starts_with(wanted))
        .collect();
    match matches.as_slice() {
        [(id, raw)] => Ok((id.clone(), raw)),
        [] => Err(MeshError::Refused(format!("{location}: no peer {wanted}")).into()),
        many => Err(MeshError::usage(format!(
            "{wanted} names {} peers: {}",
            many.len(),
            many.iter()
                .map(|(id, _)| output::escape(&id.to_string()).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into()),
    }
}

/// Warns that index entries were skipped because their records are missing or unreadable.
pub(crate) fn warn_skipped(n: usize) {
    if n > 0 {
        eprintln!(
            "meshpeers: warning: {n} index {} skipped (record missing or unreadable); `meshpeers inspect` names them",
            crate::words::plural(n, "entry", "entries")
        );
    }
}

/// Writes a command's output file (`-o FILE`): a new 0600 file, or with `force` a replacement
/// of what is there (replaced atomically as a new file; a symlink is replaced, never followed).
pub(crate) fn write_output_file(path: &std::path::Path, force: bool, text: &str) -> Result<()> {
    use anyhow::Context;
    // `symlink_metadata`: a symlink (dangling or not) is an existing path, never followed.
    if std::fs::symlink_metadata(path).is_ok() {
        if !force {
            return Err(MeshError::usage_hint(
                format!("{} exists; nothing was written", path.display()),
                "pass --force to replace it",
            )
            .into());
        }
        crate::store::atomic::replace_entry(path, text.as_bytes(), 0o600)
            .with_context(|| format!("cannot write {}", path.display()))?;
    } else {
        crate::backup::write_new(&crate::backup::Destination::Exact(path.to_path_buf()), text)?;
    }
    Ok(())
}
