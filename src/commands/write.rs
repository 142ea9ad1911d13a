//! What every writing command does after it has planned: print the plan, stop on --dry-run,
//! ask for the wholesale ones, write the backup, save atomically, verify, report.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;

use crate::backup::{self, Backup};
use crate::cli::WriteArgs;
use crate::error::{MeshError, exit};
use crate::output;
pub use crate::peers::plan::{Action, ActionKind, Plan};
use crate::settings::Settings;
use crate::store::Store;

#[derive(Debug, Default, Serialize)]
pub struct KeyChanges {
    pub written: Vec<String>,
    pub deleted: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub dry_run: bool,
    pub actions: Vec<Action>,
    /// The backup written before the change (null on a dry run, with --no-backup, or when
    /// nothing changed).
    pub backup: Option<String>,
    /// A LevelDB profile's previous directory, kept beside the new one (null otherwise).
    pub previous_directory: Option<String>,
    pub keys: KeyChanges,
    pub warnings: Vec<String>,
    /// `repair`'s quarantine file (unusable entries, importable), when one was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<String>,
}

/// A domain plan with what the command adds: its words for the backup, its verb for the
/// summary, and where the quarantine goes.
pub struct Job {
    /// The command line words for the backup (`cleanup --strategy stale`).
    pub command: String,
    pub plan: Plan,
    /// Past-tense verb for the summary ("removed", "unblacklisted", "imported").
    pub done: &'static str,
    /// The quarantine file (`repair`): (path, text).
    pub quarantine: Option<(std::path::PathBuf, String)>,
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

/// Applies `plan` to `store` (or only prints it with --dry-run) and prints the report.
pub fn apply(settings: &Settings, store: &mut Store, args: &WriteArgs, job: Job) -> Result<u8> {
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
        actions,
        backup: None,
        previous_directory: None,
        keys,
        warnings,
        quarantine: None,
    };
    if !args.dry_run && !changes.is_empty() {
        store.check_writable()?;
        if !args.no_backup {
            let path = match (&args.backup, store.path()) {
                (Some(p), _) => p.clone(),
                (None, Some(store_path)) => backup::default_path(store_path, &command),
                (None, None) => unreachable!("checked writable"),
            };
            let b = Backup::of_namespace(
                &store.area,
                &settings.prefix,
                store.origin.as_deref(),
                &store.location,
                &command,
            );
            backup::write_new(&path, &b.render())?;
            report.backup = Some(path.display().to_string());
        }
        if let Some((path, text)) = &quarantine {
            backup::write_new(path, text)?;
            report.quarantine = Some(path.display().to_string());
        }
        let expected = changes.applied_to(&store.area);
        let kept = match store.save(&changes) {
            Ok(kept) => kept,
            Err(e) => {
                // Nothing changed, so the backup just written is not needed: leave no trace.
                for f in [&report.backup, &report.quarantine].into_iter().flatten() {
                    let _ = std::fs::remove_file(f);
                }
                return Err(e.context("the store was not changed"));
            }
        };
        report.previous_directory = kept.map(|p| p.display().to_string());
        verify(settings, store, &expected)?;
    }
    for w in &report.warnings {
        eprintln!("meshpeers: warning: {}", output::escape(w));
    }
    if settings.json {
        output::print_json(&report)?;
    } else {
        print_human(settings, store, &report, done)?;
    }
    Ok(exit::SUCCESS)
}

/// Reads the saved store back and checks that the origin holds exactly the intended map.
fn verify(settings: &Settings, store: &Store, expected: &crate::store::Area) -> Result<()> {
    let mut again = settings.clone();
    again.origin = store.origin.clone();
    let reread = again.open_store()?;
    if reread.area != *expected {
        anyhow::bail!(
            "{}: after saving, the store does not hold what was written (a bug in meshpeers, or another program wrote to it at the same time)",
            store.location
        );
    }
    Ok(())
}

fn print_human(settings: &Settings, store: &Store, r: &Report, done: &str) -> Result<()> {
    if !r.actions.is_empty() {
        let mut t = output::table(["PEER", "NAME", "ACTION", "RULE", "WHY"]);
        for a in &r.actions {
            t.add_row([
                output::escape(&a.peer_id).into_owned(),
                a.display_name
                    .as_deref()
                    .map_or("-".into(), |n| output::escape(n).into_owned()),
                a.action.name().to_owned(),
                a.rule.name().into_owned(),
                output::escape(&a.reason).into_owned(),
            ]);
        }
        output::print(t)?;
    }
    let n = r.actions.len();
    let peers = format!("{n} peer{}", if n == 1 { "" } else { "s" });
    // Peer records are counted, other keys named.
    let record_prefix = format!("{}peer:", settings.prefix);
    let keys = |ks: &[String]| {
        let records = ks.iter().filter(|k| k.starts_with(&record_prefix)).count();
        let mut named: Vec<String> = ks
            .iter()
            .filter(|k| !k.starts_with(&record_prefix))
            .map(|k| output::escape(k).into_owned())
            .collect();
        if records > 0 {
            named.insert(
                0,
                format!(
                    "{records} peer record{}",
                    if records == 1 { "" } else { "s" }
                ),
            );
        }
        named.join(", ")
    };
    let mut lines = Vec::new();
    let (written, deleted) = (&r.keys.written, &r.keys.deleted);
    if written.is_empty() && deleted.is_empty() {
        lines.push(format!("nothing to change in {}", store.location));
    } else if r.dry_run {
        lines.push(format!(
            "dry run: nothing was written. Would have {done} {peers}."
        ));
        if !written.is_empty() {
            lines.push(format!("would write: {}", keys(written)));
        }
        if !deleted.is_empty() {
            lines.push(format!("would delete: {}", keys(deleted)));
        }
    } else {
        lines.push(format!("{done} {peers} in {}", store.location));
        if !written.is_empty() {
            lines.push(format!("wrote: {}", keys(written)));
        }
        if !deleted.is_empty() {
            lines.push(format!("deleted: {}", keys(deleted)));
        }
        match &r.backup {
            Some(b) => {
                let origin = match &settings.origin {
                    Some(o) => format!(" --origin {}", shell_word(o)),
                    None => String::new(),
                };
                let me = format!("meshpeers --store {}{origin}", shell_word(&store.location));
                let b = shell_word(b);
                lines.push(format!("backup of the namespace before the change: {b}"));
                if r.actions.iter().any(|a| a.action == ActionKind::Remove) {
                    lines.push(format!("bring the removed peers back: {me} import {b}"));
                }
                lines.push(format!(
                    "restore the namespace exactly as it was: {me} import --mode replace {b}"
                ));
            }
            None => lines.push("no backup was written (--no-backup)".into()),
        }
        if let Some(q) = &r.quarantine {
            lines.push(format!(
                "unusable entries were moved to {} (a meshpeers backup: nothing is lost)",
                shell_word(q)
            ));
        }
        if let Some(p) = &r.previous_directory {
            lines.push(format!(
                "the previous database directory is kept at {} (delete it once the browser shows the change)",
                shell_word(p)
            ));
        }
    }
    output::print(lines.join("\n"))?;
    Ok(())
}

/// A word for a shell command line: quoted when it holds anything but plain path characters.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(super::shell_word("a/b.json"), "a/b.json");
        assert_eq!(super::shell_word("my store.json"), "'my store.json'");
        assert_eq!(super::shell_word("it's"), r"'it'\''s'");
    }
}
