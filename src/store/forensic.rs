//! The history of an origin as a Chromium LevelDB profile's files hold it (`history`,
//! `recover`): which directory, which origin (also one whose namespace is gone), and every
//! version of its keys. Only reads, and never through the database: nothing is opened for
//! writing.

use std::path::PathBuf;

use anyhow::Result;

use super::leveldb::{self, history::OriginHistory};
use super::origin::{choose_origin, normalize_origin};
use super::{Backend, OpenOptions, StoreSource};
use crate::error::MeshError;

pub struct HistoryView {
    /// The LevelDB directory.
    pub dir: PathBuf,
    pub origin: String,
    pub history: OriginHistory,
    /// What the user should know about the choice of origin.
    pub notes: Vec<String>,
}

/// Opens the history of the origin `opts` names, or of the one that holds (or held) the
/// namespace. Damage in the files fails the read (exit 3, naming file and block) unless
/// `opts.salvage`, which reads around it and reports it.
pub fn open_history(opts: &OpenOptions, command: &str) -> Result<HistoryView> {
    let location = opts.source.to_string();
    let dir = match &opts.source {
        StoreSource::Path(p) if p.is_dir() => leveldb::resolve_dir(p, opts.profile.as_deref()),
        _ => None,
    };
    let Some(dir) = dir else {
        return Err(MeshError::usage(format!(
            "{command} reads the files of a Chromium LevelDB profile (Local Storage/leveldb, or the profile or user-data directory holding it), the only store that keeps older versions and deletions; --store {location} is not one"
        ))
        .into());
    };
    let dir_text = dir.display().to_string();
    let mut notes = Vec::new();
    let origin = match &opts.origin {
        Some(o) => normalize_origin(o).to_owned(),
        None => {
            let now = if opts.salvage {
                None
            } else {
                // The database as it stands settles the common case quickly.
                let mut db = leveldb::LevelDbStore::open(&dir)?;
                let counts = db.namespace_counts(&opts.prefix)?;
                match counts.iter().filter(|(_, n)| *n > 0).count() {
                    0 => None,
                    _ => Some(choose_origin(&dir_text, &mut db, opts)?.origin),
                }
            };
            match now.flatten() {
                Some(o) => o,
                None => {
                    let held = leveldb::history::namespace_origins_in_files(&dir, &opts.prefix)?;
                    match held.as_slice() {
                        [(o, n)] => {
                            if !opts.salvage {
                                notes.push(format!(
                                    "no origin of {dir_text} holds {} keys now; {o} held them ({} in the files' older versions and deletions)",
                                    opts.prefix,
                                    crate::words::count(*n, "key"),
                                ));
                            }
                            o.clone()
                        }
                        [] => {
                            return Err(MeshError::Refused(format!(
                                "{dir_text}: the files hold no version of any {} key, in any origin (name one with --origin ORIGIN to see its history)",
                                opts.prefix
                            ))
                            .into());
                        }
                        many => {
                            let list: String = many
                                .iter()
                                .map(|(o, n)| format!("\n  {o} ({n} {} keys)", opts.prefix))
                                .collect();
                            return Err(MeshError::usage_hint(
                                format!(
                                    "{dir_text}: the files hold {} keys of {} origins:{list}",
                                    opts.prefix,
                                    many.len()
                                ),
                                "choose one with --origin ORIGIN",
                            )
                            .into());
                        }
                    }
                }
            }
        }
    };
    let history = leveldb::history::read(&dir, &origin)?;
    if !opts.salvage {
        if let Some(d) = history.damage.first() {
            return Err(MeshError::invalid_hint(
                dir.join(&d.file).display(),
                d.problem.clone(),
                "the profile is damaged; --salvage reads every intact record around the damage and names each damaged block",
            )
            .into());
        }
    }
    Ok(HistoryView {
        dir,
        origin,
        history,
        notes,
    })
}
