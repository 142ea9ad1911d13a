//! What every writing command does after it has planned: print the plan, stop on --dry-run,
//! ask for the wholesale ones, write the backup, save atomically, verify, report.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use crate::backup::{self, Backup, Destination};
use crate::cli::WriteArgs;
use crate::error::{MeshError, exit};
use crate::output;
use crate::output::plan::{KeyChanges, Report};
pub use crate::peers::plan::Plan;
use crate::settings::Settings;
use crate::store::{SaveOptions, Store};

/// A domain plan with what the command adds: its words for the backup, its verb for the
/// summary, and where the quarantine goes.
pub struct Job {
    /// The command line words for the backup (`cleanup --strategy stale`).
    pub command: String,
    pub plan: Plan,
    /// Past-tense verb for the summary ("removed", "unblacklisted", "imported").
    pub done: &'static str,
    /// The quarantine file (`repair`): (path, text).
    pub quarantine: Option<(Destination, String)>,
}

impl Job {
    pub fn new(command: impl Into<String>, plan: Plan, done: &'static str) -> Job {
        Job {
            command: command.into(),
            plan,
            done,
            quarantine: None,
        }
    }
}

/// Asks on a terminal, else requires --yes. A dry run needs no confirmation.
pub fn confirm(args: &WriteArgs, question: &str) -> Result<()> {
    if args.yes || args.dry_run {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(MeshError::Refused(format!(
            "refused: {question} needs confirmation; pass --yes (no terminal to ask on)"
        ))
        .into());
    }
    let mut err = std::io::stderr().lock();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(MeshError::Refused("cancelled; nothing was changed".into()).into())
    }
}

/// How many times a writing command plans when the store keeps changing under it.
const ATTEMPTS: usize = 5;

/// Opens the store for writing, plans with `plan` and applies the job. When another program
/// wrote the store between this read and the save (nothing was written), the store is read
/// and the plan made again — from what the store holds now, so the other program's update
/// is kept — up to [`ATTEMPTS`] times.
pub fn run(
    settings: &Settings,
    args: &WriteArgs,
    mut plan: impl FnMut(&mut Store) -> Result<Job>,
) -> Result<u8> {
    let mut attempt = 1;
    loop {
        let mut store = settings.open_store_for_write(args)?;
        let job = plan(&mut store)?;
        match apply(settings, &mut store, args, job) {
            Err(e) if changed_meanwhile(&e) => {
                if attempt == ATTEMPTS {
                    return Err(e.context(format!(
                        "{}: another program kept writing the store while this run planned ({ATTEMPTS} times); run the command again when it has finished",
                        store.location
                    )));
                }
                output::note(&format!(
                    "{}: another program wrote the store while this run planned; nothing was written, planning again from what it holds now",
                    store.location
                ));
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn outcome_unknown(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<MeshError>(),
        Some(
            MeshError::Unreachable {
                outcome_unknown: true,
                ..
            } | MeshError::Interrupted(_)
        )
    )
}

fn changed_meanwhile(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<MeshError>(), Some(MeshError::Changed(_)))
}

/// Applies `plan` to `store` (or only prints it with --dry-run) and prints the report.
fn apply(settings: &Settings, store: &mut Store, args: &WriteArgs, job: Job) -> Result<u8> {
    let Job {
        command,
        plan:
            Plan {
                actions,
                changes,
                warnings,
                ..
            },
        done,
        quarantine,
    } = job;
    let changes = changes.without_noops(&store.area);
    let mut keys = KeyChanges::default();
    for (k, v) in changes.iter() {
        let list = if v.is_some() {
            &mut keys.written
        } else {
            &mut keys.deleted
        };
        list.push(k.to_string_lossy().into_owned());
    }
    let mut report = Report {
        dry_run: args.dry_run,
        actions: actions.into_iter().map(Into::into).collect(),
        backup: None,
        previous_directory: None,
        keys,
        warnings,
        quarantine: None,
    };
    if !args.dry_run && !changes.is_empty() {
        store.check_writable()?;
        if !args.no_backup {
            let dest = match (&args.backup, store.backup_anchor()) {
                (Some(p), _) => Destination::Exact(p.clone()),
                (None, Some(anchor)) => Destination::beside(&anchor, &command),
                (None, None) => unreachable!("checked writable"),
            };
            let path = backup::write_new_with(&dest, &mut |out| {
                Backup::write_namespace(
                    &store.area,
                    &settings.prefix,
                    store.origin.as_deref(),
                    &store.location,
                    &command,
                    out,
                )
            })?;
            report.backup = Some(path.display().to_string());
        }
        if let Some((dest, text)) = &quarantine {
            match backup::write_new(dest, text) {
                Ok(path) => report.quarantine = Some(path.display().to_string()),
                Err(e) => {
                    // Nothing changed: the backup just written is not needed.
                    if let Some(b) = &report.backup {
                        let _ = std::fs::remove_file(b);
                    }
                    return Err(e.context("the store was not changed"));
                }
            }
        }
        let opts = SaveOptions {
            keep_previous: args.keep_previous,
        };
        let kept = match store.save(&changes, &opts) {
            Ok(kept) => kept,
            Err(e) if outcome_unknown(&e) => {
                // A running browser went away while the changes were being applied: they may
                // or may not be there, so the backup stays.
                return Err(match &report.backup {
                    Some(b) => e.context(format!(
                        "whether the changes were applied is not known; read the store again (the backup of what it held is {b})"
                    )),
                    None => e.context("whether the changes were applied is not known; read the store again"),
                });
            }
            Err(e) => {
                // Nothing changed, so the backup just written is not needed: leave no trace.
                for f in [&report.backup, &report.quarantine].into_iter().flatten() {
                    let _ = std::fs::remove_file(f);
                }
                return Err(e.context("the store was not changed"));
            }
        };
        report.previous_directory = kept.map(|p| p.display().to_string());
        // Read back: the store holds exactly the intended map (the area, updated by the save).
        if let Err(e) = store.verify() {
            return Err(match &report.backup {
                Some(b) => e.context(format!(
                    "the changes were saved, but reading them back found a difference (the backup of what the store held before is {b})"
                )),
                None => e,
            });
        }
    }
    for w in &report.warnings {
        eprintln!("meshpeers: warning: {}", output::escape(w));
    }
    if settings.json {
        output::print_json(&report)?;
    } else {
        output::plan::print_report(settings, store, &report, done)?;
    }
    Ok(exit::SUCCESS)
}
