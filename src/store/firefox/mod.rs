//! Firefox "LSNG" localStorage: one SQLite database per origin,
//! `<profile>/storage/default/<sanitized origin>/ls/data.sqlite`, with Firefox's own value
//! encoding and three usage caches beside it (`../shared/browsers-localstorage.md` §1).
//!
//! `--store` may name a profile directory, the Firefox root holding `profiles.ini` (its
//! default profile, or `--profile NAME`), an origin directory, or an `ls/data.sqlite`. Reads
//! take a private snapshot of each database (`data`) and never change a byte of the profile,
//! also while Firefox runs; writes refuse while Firefox runs and go through `write`.

pub mod data;
pub mod lsvalue;
pub mod metadata;
pub mod profiles;
mod write;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::MeshError;
use crate::store::lock;
use crate::store::{Area, Backend, BackendKind, ChangeSet, OriginInfo, SaveOptions, area_bytes};

/// What `--store` named, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every origin of a profile (`storage/default/*`).
    Profile { profile: PathBuf },
    /// One origin directory; `profile` is the profile it lies in, when it lies in one.
    Origin {
        dir: PathBuf,
        profile: Option<PathBuf>,
    },
    /// A `data.sqlite` outside an origin directory (a copy someone sent).
    Database { file: PathBuf },
}

/// Whether `dir` looks like a Firefox profile: Firefox's own files, not a Chromium one.
fn is_profile(dir: &Path) -> bool {
    ["prefs.js", "times.json", ".parentlock", "storage.sqlite"]
        .iter()
        .any(|f| dir.join(f).is_file())
        || dir.join("storage").join("default").is_dir()
}

/// Whether `dir` is an origin directory (`.metadata-v2` or `ls/` in it).
fn is_origin_dir(dir: &Path) -> bool {
    dir.join(".metadata-v2").is_file() || dir.join("ls").is_dir()
}

/// The profile an origin directory lies in (`<profile>/storage/default/<origin>`).
fn profile_of_origin_dir(dir: &Path) -> Option<PathBuf> {
    let default = dir.parent()?;
    let storage = default.parent()?;
    let profile = storage.parent()?;
    (default.file_name()? == "default" && storage.file_name()? == "storage" && is_profile(profile))
        .then(|| profile.to_path_buf())
}

/// What a directory given as `--store` is, for Firefox: `Ok(None)` when it is not Firefox's.
/// `profile` picks a profile of a Firefox root (by its name or directory name).
pub fn resolve_dir(given: &Path, profile: Option<&str>) -> Result<Option<Scope>> {
    let ini = given.join("profiles.ini");
    if ini.is_file() {
        let text =
            fs::read_to_string(&ini).with_context(|| format!("cannot read {}", ini.display()))?;
        let (all, default) = profiles::parse(given, &text);
        let chosen = match profile {
            Some(name) => profiles::find(&all, name)
                .map(|p| p.path.clone())
                .ok_or_else(|| {
                    let names: Vec<String> = all
                        .iter()
                        .map(|p| format!("{} ({})", p.name, p.path.display()))
                        .collect();
                    MeshError::usage(format!(
                        "--profile {name}: {} lists no such profile; it lists: {}",
                        ini.display(),
                        if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        }
                    ))
                })?,
            None => default.ok_or_else(|| {
                MeshError::usage_hint(
                    format!("{} names no default profile", ini.display()),
                    "choose one with --profile NAME",
                )
            })?,
        };
        return Ok(Some(Scope::Profile { profile: chosen }));
    }
    if profile.is_some() {
        return Ok(None);
    }
    if given.file_name().is_some_and(|n| n == "ls") && given.join("data.sqlite").is_file() {
        let dir = given.parent().unwrap_or(given).to_path_buf();
        let profile = profile_of_origin_dir(&dir);
        return Ok(Some(Scope::Origin { dir, profile }));
    }
    if is_origin_dir(given) {
        let dir = given.to_path_buf();
        let profile = profile_of_origin_dir(&dir);
        return Ok(Some(Scope::Origin { dir, profile }));
    }
    if is_profile(given) {
        return Ok(Some(Scope::Profile {
            profile: given.to_path_buf(),
        }));
    }
    Ok(None)
}

/// The scope of a `data.sqlite` file given as `--store`.
pub fn file_scope(file: &Path) -> Scope {
    let ls = file
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == "ls"));
    match ls.and_then(Path::parent) {
        Some(dir) if file.file_name().is_some_and(|n| n == "data.sqlite") => Scope::Origin {
            dir: dir.to_path_buf(),
            profile: profile_of_origin_dir(dir),
        },
        _ => Scope::Database {
            file: file.to_path_buf(),
        },
    }
}

/// One origin's database and what it holds.
struct Found {
    origin: String,
    db: PathBuf,
}

/// A Firefox profile (or one origin of one) opened for reading.
pub struct FirefoxStore {
    scope: Scope,
    /// The pid of the Firefox holding the profile when it was opened.
    running: Option<i32>,
}

impl FirefoxStore {
    pub fn open(scope: Scope) -> Result<FirefoxStore> {
        if let Scope::Origin { dir, .. } = &scope {
            let ls = dir.join("ls");
            if !ls.is_dir() {
                return Err(MeshError::invalid(
                    dir.display(),
                    "is a Firefox origin directory without an ls/ directory, so it holds no localStorage (Firefox keeps it in ls/data.sqlite)",
                )
                .into());
            }
            if !ls.join("data.sqlite").is_file() {
                return Err(MeshError::invalid(
                    ls.display(),
                    "holds no data.sqlite (Firefox's localStorage database of the origin)",
                )
                .into());
            }
        }
        let running = Self::profile_dir(&scope).and_then(|p| lock::holder(&p.join(".parentlock")));
        Ok(FirefoxStore { scope, running })
    }

    /// The pid of the Firefox that held the profile when it was opened.
    pub fn running(&self) -> Option<i32> {
        self.running
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    fn profile_dir(scope: &Scope) -> Option<&Path> {
        match scope {
            Scope::Profile { profile } => Some(profile),
            Scope::Origin { profile, .. } => profile.as_deref(),
            Scope::Database { .. } => None,
        }
    }

    /// The path a store of this scope is written at (the profile, origin dir or file).
    pub fn location(&self) -> PathBuf {
        match &self.scope {
            Scope::Profile { profile } => profile.clone(),
            Scope::Origin { dir, .. } => dir.clone(),
            Scope::Database { file } => file.clone(),
        }
    }

    /// The databases of the scope with the directory names they must match (`None` for a
    /// lone database), in directory-name order.
    fn databases(&self) -> Result<Vec<(PathBuf, Option<String>)>> {
        match &self.scope {
            Scope::Database { file } => Ok(vec![(file.clone(), None)]),
            Scope::Origin { dir, .. } => {
                Ok(vec![(dir.join("ls").join("data.sqlite"), dir_name(dir))])
            }
            Scope::Profile { profile } => {
                let repo = profile.join("storage").join("default");
                let entries = match fs::read_dir(&repo) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => {
                        return Err(e).with_context(|| format!("cannot read {}", repo.display()));
                    }
                };
                let mut out = Vec::new();
                for e in entries {
                    let e = e.with_context(|| format!("cannot read {}", repo.display()))?;
                    let name = e.file_name().to_string_lossy().into_owned();
                    let db = e.path().join("ls").join("data.sqlite");
                    if !name.starts_with('.') && db.is_file() {
                        out.push((db, Some(name)));
                    }
                }
                out.sort();
                Ok(out)
            }
        }
    }

    /// The origin a database holds, checked against its directory's name.
    fn checked_origin(db: &Path, dir: Option<&str>, origin: String) -> Result<String> {
        if let Some(dir) = dir {
            let expected = metadata::sanitized_origin(&origin);
            if expected != dir {
                return Err(MeshError::invalid(
                    db.display(),
                    format!(
                        "holds the localStorage of {origin}, whose directory would be {expected}, not {dir}; Firefox refuses such a database (NS_ERROR_FILE_CORRUPTED), so meshpeers does too"
                    ),
                )
                .into());
            }
        }
        Ok(origin)
    }

    /// The origin a database holds (checked against its directory) and how many of its keys
    /// start with `prefix`.
    fn count(db: &Path, dir: Option<&str>, prefix: &str) -> Result<(String, usize)> {
        let (origin, keys) = data::read_keys(db)?;
        let origin = Self::checked_origin(db, dir, origin)?;
        Ok((
            origin,
            keys.iter().filter(|k| k.starts_with(prefix)).count(),
        ))
    }

    /// Every origin's database, with the origin it holds.
    fn scan(&self) -> Result<Vec<Found>> {
        self.databases()?
            .into_iter()
            .map(|(db, dir)| {
                let (origin, _) = Self::count(&db, dir.as_deref(), "")?;
                Ok(Found { origin, db })
            })
            .collect()
    }

    /// The database of `origin` (which may not exist yet, in a profile).
    fn database_of(&self, origin: &str) -> Result<PathBuf> {
        match &self.scope {
            Scope::Profile { profile } => Ok(profile
                .join("storage")
                .join("default")
                .join(metadata::sanitized_origin(origin))
                .join("ls")
                .join("data.sqlite")),
            _ => {
                let found = self.scan()?;
                match found.into_iter().next() {
                    Some(f) if f.origin == origin => Ok(f.db),
                    Some(f) => Err(MeshError::usage(format!(
                        "--origin {origin}: {} holds only {}; name the profile with --store to work on another origin",
                        self.location().display(),
                        f.origin
                    ))
                    .into()),
                    None => unreachable!("an origin or database scope has one database"),
                }
            }
        }
    }

    /// Reads `origin`'s map (empty when a profile has no database for it yet).
    fn read_origin(&self, origin: &str) -> Result<Option<data::OriginData>> {
        let db = self.database_of(origin)?;
        if !db.is_file() {
            return Ok(None);
        }
        let read = data::read(&db)?;
        let dir = match &self.scope {
            Scope::Database { .. } => None,
            _ => db.parent().and_then(Path::parent).and_then(dir_name),
        };
        Self::checked_origin(&db, dir.as_deref(), read.origin.clone())?;
        Ok(Some(read))
    }
}

fn dir_name(dir: &Path) -> Option<String> {
    dir.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// A file's modification time in epoch ms.
fn modified_ms(path: &Path) -> Option<f64> {
    let t = fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as f64)
}

impl Backend for FirefoxStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Firefox
    }

    fn probes_origins(&self) -> bool {
        matches!(self.scope, Scope::Profile { .. })
    }

    fn notes(&self) -> Vec<String> {
        self.running
            .map(|pid| {
                format!(
                    "Firefox is running with this profile (pid {pid}): it writes a page's localStorage changes to disk up to 5 s after they are made, so what was read may be up to 5 s old"
                )
            })
            .into_iter()
            .collect()
    }

    fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        self.databases()?
            .into_iter()
            .map(|(db, dir)| {
                let read = data::read(&db)?;
                let origin = Self::checked_origin(&db, dir.as_deref(), read.origin)?;
                Ok(OriginInfo {
                    origin,
                    keys: read.area.len(),
                    bytes: area_bytes(&read.area),
                    last_modified: modified_ms(&db),
                    firefox_usage: u64::try_from(read.usage).ok(),
                })
            })
            .collect()
    }

    /// On a profile, the databases whose bytes do not contain the prefix cannot hold it and
    /// are not opened: when some origin holds the namespace, only the holders are given.
    /// When none does, every origin is read (to list them).
    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>> {
        let databases = self.databases()?;
        let finder = memchr::memmem::Finder::new(prefix.as_bytes());
        // Each database's count, `None` where its bytes rule the prefix out (not opened).
        let mut counts = Vec::with_capacity(databases.len());
        for (db, dir) in &databases {
            let read = databases.len() == 1 || data::may_hold(db, &finder)?;
            counts.push(if read {
                Some(Self::count(db, dir.as_deref(), prefix)?)
            } else {
                None
            });
        }
        if counts.iter().flatten().any(|(_, n)| *n > 0) {
            return Ok(counts
                .into_iter()
                .flatten()
                .filter(|(_, n)| *n > 0)
                .collect());
        }
        counts
            .into_iter()
            .zip(&databases)
            .map(|(count, (db, dir))| match count {
                Some(c) => Ok(c),
                None => Self::count(db, dir.as_deref(), prefix),
            })
            .collect()
    }

    fn has_origin(&mut self, origin: &str) -> Result<bool> {
        Ok(self.database_of(origin)?.is_file())
    }

    fn last_modified(&mut self, origin: &str) -> Result<Option<f64>> {
        Ok(modified_ms(&self.database_of(origin)?))
    }

    fn load(&mut self, origin: Option<&str>) -> Result<Area> {
        match origin {
            Some(o) => Ok(self.read_origin(o)?.map(|d| d.area).unwrap_or_default()),
            None => Ok(Area::new()),
        }
    }

    fn save(
        &mut self,
        origin: Option<&str>,
        changes: &ChangeSet,
        opts: &SaveOptions,
    ) -> Result<Option<PathBuf>> {
        let Some(origin) = origin else {
            return Err(MeshError::usage_hint(
                format!(
                    "{}: no origin chosen to write to",
                    self.location().display()
                ),
                "name it with --origin ORIGIN",
            )
            .into());
        };
        let db = self.database_of(origin)?;
        let basis = self.read_origin(origin)?.map(|d| d.area);
        let target = write::Target::new(&self.scope, &db);
        write::save(&target, origin, basis.as_ref(), changes, opts)
    }

    fn verify(&mut self, origin: Option<&str>, expected: &Area) -> Result<()> {
        let Some(origin) = origin else {
            return Ok(());
        };
        let got = self
            .read_origin(origin)?
            .map(|d| d.area)
            .unwrap_or_default();
        if got != *expected {
            anyhow::bail!(
                "{}: after saving, {origin} does not hold what was written (a bug in meshpeers, or Firefox wrote to the profile at the same time)",
                self.location().display()
            );
        }
        Ok(())
    }
}
