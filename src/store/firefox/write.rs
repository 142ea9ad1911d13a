//! Writing one origin of a Firefox profile the way browsers-localstorage.md §1.12 found safe:
//! only while Firefox is closed (meshpeers holds `.parentlock` itself, so Firefox cannot start
//! meanwhile); the previous `ls/`, `.metadata-v2` and `storage.sqlite` copied aside first and
//! kept; one SQLite transaction that checks the origin still holds what the plan was made
//! from, applies the change with Firefox's own encodings and recomputes `database.usage`; the
//! usage file rewritten under Firefox's own `usage-journal` protocol; and the quota manager
//! made to rescan the origin at its next start (the Accessed bit in `.metadata-v2` and
//! `cache.valid = 0` in `storage.sqlite`, the combination §1.6 found reliable). A new origin
//! is built aside and renamed into `storage/default` whole.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{Scope, data, lsvalue, metadata};
use crate::error::MeshError;
use crate::js::JsString;
use crate::store::lock::{self, FileLock};
use crate::store::sqlite::{self, own_like, sync_dir};
use crate::store::{Area, ChangeSet, SaveOptions, atomic, debris};

/// What a save touches.
pub struct Target {
    /// The origin's `data.sqlite` (may not exist yet).
    db: PathBuf,
    /// The origin directory, when the database is an origin's (`<dir>/ls/data.sqlite`).
    origin_dir: Option<PathBuf>,
    /// The profile holding the origin, when it lies in one.
    profile: Option<PathBuf>,
}

impl Target {
    pub fn new(scope: &Scope, db: &Path) -> Target {
        let origin_dir = match scope {
            Scope::Database { .. } => None,
            _ => db.parent().and_then(Path::parent).map(Path::to_path_buf),
        };
        let profile = match scope {
            Scope::Profile { profile } => Some(profile.clone()),
            Scope::Origin { profile, .. } => profile.clone(),
            Scope::Database { .. } => None,
        };
        Target {
            db: db.to_path_buf(),
            origin_dir,
            profile,
        }
    }

    fn ls(&self) -> Option<PathBuf> {
        self.origin_dir.as_ref().map(|d| d.join("ls"))
    }

    /// Where the previous state is kept: `ls.meshpeers-backup-<time>` in the origin
    /// directory, or `<file>.meshpeers-backup-<time>` beside a lone database.
    fn kept_base(&self) -> PathBuf {
        self.ls().unwrap_or_else(|| self.db.clone())
    }

    /// Takes the lock that keeps Firefox and other meshpeers runs out while this one writes.
    fn lock(&self) -> Result<FileLock> {
        match &self.profile {
            Some(p) => lock::lock(&p.join(".parentlock"), lock::Target::FirefoxProfile, p),
            None => {
                let dir = self.db.parent().context("a database has a directory")?;
                // The origin directory, or the lone database's.
                let dir = self.origin_dir.as_deref().unwrap_or(dir);
                lock::lock_dir(dir, dir)
            }
        }
    }
}

/// Applies `changes` to `origin`, whose map was `basis` when read (`None`: no database yet).
/// Gives where the previous state is kept.
pub fn save(
    target: &Target,
    origin: &str,
    basis: Option<&Area>,
    changes: &ChangeSet,
    opts: &SaveOptions,
) -> Result<Option<PathBuf>> {
    let _lock = target.lock()?;
    for dir in [target.profile.as_deref(), target.origin_dir.as_deref()]
        .into_iter()
        .flatten()
    {
        debris::sweep(dir);
    }
    let location = target.db.display().to_string();
    match basis {
        Some(basis) => {
            let kept = update(target, origin, basis, changes)
                .with_context(|| format!("{location}: nothing was changed"))?;
            crate::store::leveldb::prune_kept(&target.kept_base(), opts.keep_previous);
            Ok(Some(kept))
        }
        None if target.db.exists() => Err(MeshError::Changed(format!(
            "{location}: Firefox created {origin} since it was read; nothing was written"
        ))
        .into()),
        None => {
            create(target, origin, changes)
                .with_context(|| format!("{location}: nothing was changed"))?;
            Ok(None)
        }
    }
}

/// An existing origin: keep, invalidate the caches, one transaction, the usage file.
fn update(target: &Target, origin: &str, basis: &Area, changes: &ChangeSet) -> Result<PathBuf> {
    let kept = keep_previous(target)?;
    let result = (|| {
        invalidate_caches(target)?;
        let journal = target.ls().map(|ls| ls.join("usage-journal"));
        if let Some(j) = &journal {
            fs::File::create(j).with_context(|| format!("cannot create {}", j.display()))?;
        }
        let usage = match transaction(target, origin, basis, changes) {
            Ok(usage) => usage,
            Err(e) => {
                // The database is as it was, and so is the usage file.
                if let Some(j) = &journal {
                    let _ = fs::remove_file(j);
                }
                return Err(e);
            }
        };
        if let Some(ls) = target.ls() {
            write_usage(&ls, usage)?;
        }
        Ok(())
    })();
    if result.is_err() {
        // Nothing was committed: the kept copy is the current state and not needed.
        let _ = fs::remove_dir_all(&kept);
    }
    result.map(|()| kept)
}

/// The change in one `BEGIN IMMEDIATE … COMMIT`, after checking the origin still holds
/// `basis`; gives the new usage.
fn transaction(target: &Target, origin: &str, basis: &Area, changes: &ChangeSet) -> Result<u64> {
    let db = &target.db;
    let busy = |e: rusqlite::Error| -> anyhow::Error {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
            MeshError::Busy {
                path: db.display().to_string(),
            }
            .into()
        } else {
            anyhow::Error::new(e).context(format!("cannot write {}", db.display()))
        }
    };
    let mut conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(busy)?;
    conn.busy_timeout(std::time::Duration::from_secs(2))
        .map_err(busy)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(busy)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(busy)?;
    let now = data::read_connection(db, &tx)?;
    if now.origin != origin {
        return Err(MeshError::invalid(
            db.display(),
            format!(
                "holds {} now, not {origin}; nothing was written",
                now.origin
            ),
        )
        .into());
    }
    if now.area != *basis {
        return Err(MeshError::Changed(format!(
            "{}: {origin} changed since it was read (another program wrote it meanwhile); nothing was written",
            db.display()
        ))
        .into());
    }
    apply(&tx, changes).map_err(busy)?;
    let usage = lsvalue::usage(&changes.applied_to(basis));
    tx.execute(
        "UPDATE database SET usage = ?1",
        [i64::try_from(usage).unwrap_or(i64::MAX)],
    )
    .map_err(busy)?;
    tx.commit().map_err(busy)?;
    Ok(usage)
}

/// A key bound as TEXT holding its WTF-8 bytes, as Firefox binds it (SQLite converts the
/// UTF-16 string to UTF-8 TEXT; a lone surrogate keeps its 3-byte form).
struct Key<'a>(&'a JsString);

impl rusqlite::ToSql for Key<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0.as_wtf8())))
    }
}

/// Firefox's statements for each put and delete (§1.3), values encoded as `LSValue` does.
fn apply(conn: &Connection, changes: &ChangeSet) -> rusqlite::Result<()> {
    let mut delete = conn.prepare("DELETE FROM data WHERE key = ?1")?;
    let mut put = conn.prepare(
        "INSERT OR REPLACE INTO data (key, utf16_length, conversion_type, compression_type, value) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (k, v) in changes.iter() {
        match v {
            None => {
                delete.execute([Key(k)])?;
            }
            Some(v) => {
                let e = lsvalue::encode(v);
                // mozStorage turns an empty blob into NULL, so Firefox binds '' as TEXT.
                let value = if e.bytes.is_empty() {
                    Value::Text(String::new())
                } else {
                    Value::Blob(e.bytes)
                };
                put.execute(rusqlite::params![
                    Key(k),
                    e.utf16_length,
                    e.conversion,
                    e.compression,
                    value
                ])?;
            }
        }
    }
    Ok(())
}

/// `ls/usage` rewritten (atomically, its mode kept), then `usage-journal` removed: Firefox's
/// own order, so an interruption between the two leaves the journal, and Firefox then takes
/// the usage from the database.
fn write_usage(ls: &Path, usage: u64) -> Result<()> {
    atomic::replace_file(&ls.join("usage"), &lsvalue::usage_file(usage), 0o644)?;
    let journal = ls.join("usage-journal");
    match fs::remove_file(&journal) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", journal.display())),
    }
    sync_dir(ls)
}

/// Makes Firefox's quota manager rescan the origin at its next start: the Initialized and
/// Accessed bits in `.metadata-v2` (its "L2" cache then is not trusted) and `cache.valid = 0`
/// in the profile's `storage.sqlite` (the "L1" cache).
fn invalidate_caches(target: &Target) -> Result<()> {
    if let Some(dir) = &target.origin_dir {
        let path = dir.join(".metadata-v2");
        if path.is_file() {
            let bytes =
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let marked = metadata::with_accessed(&bytes)
                .map_err(|e| MeshError::invalid(path.display(), e.to_string()))?;
            if marked != bytes {
                atomic::replace_file(&path, &marked, 0o644)?;
            }
        }
    }
    invalidate_l1(target)
}

fn invalidate_l1(target: &Target) -> Result<()> {
    let Some(profile) = &target.profile else {
        return Ok(());
    };
    let path = profile.join("storage.sqlite");
    if !path.is_file() {
        return Ok(());
    }
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(2))?;
    let has_cache: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'cache'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .with_context(|| format!("{} is not Firefox's quota database", path.display()))?;
    if has_cache {
        conn.execute("UPDATE cache SET valid = 0", [])
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Copies the origin's `ls/` files, its `.metadata-v2` and the profile's `storage.sqlite`
/// into a new kept directory; gives its path.
fn keep_previous(target: &Target) -> Result<PathBuf> {
    let mut files: Vec<PathBuf> = match target.ls() {
        Some(ls) => fs::read_dir(&ls)
            .with_context(|| format!("cannot read {}", ls.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect(),
        None => vec![target.db.clone(), data::journal_of(&target.db)],
    };
    if let Some(dir) = &target.origin_dir {
        files.push(dir.join(".metadata-v2"));
    }
    if let Some(p) = &target.profile {
        files.push(p.join("storage.sqlite"));
    }
    sqlite::keep_copies(&target.kept_base(), &files)
}

/// A new origin: its `ls/` (or the whole origin directory) built aside in Firefox's schema
/// and renamed into place; the "L1" cache invalidated first, so Firefox scans it.
fn create(target: &Target, origin: &str, changes: &ChangeSet) -> Result<()> {
    let dir = target
        .origin_dir
        .as_deref()
        .context("a new origin lies in an origin directory")?;
    let area = changes.applied_to(&Area::new());
    invalidate_l1(target)?;
    if dir.exists() {
        // The origin has other data (IndexedDB, caches) but no localStorage yet.
        let ls = dir.join("ls");
        let work = dir.join(debris::work_dir_name("ls"));
        build_in(&work, origin, &area, dir)?;
        rename_in(&work, &ls)?;
        invalidate_caches(target)?;
        sync_dir(dir)
    } else {
        let repo = dir.parent().context("an origin directory has a parent")?;
        let profile = target.profile.as_deref().unwrap_or(repo);
        let name = dir
            .file_name()
            .context("an origin directory has a name")?
            .to_string_lossy()
            .into_owned();
        // Built in the profile directory, not in storage/default, which Firefox scans.
        let work = profile.join(debris::work_dir_name(&name));
        let result = (|| {
            if work.exists() {
                fs::remove_dir_all(&work)?;
            }
            fs::create_dir(&work)?;
            build_in(&work.join("ls"), origin, &area, profile)?;
            own_like(&work, profile);
            fs::create_dir_all(repo)?;
            for d in repo.ancestors().take(2) {
                own_like(d, profile);
            }
            rename_in(&work, dir)?;
            sync_dir(repo)
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&work);
        }
        result
    }
}

/// Renames a built directory into place (an empty directory there is replaced).
fn rename_in(work: &Path, to: &Path) -> Result<()> {
    fs::rename(work, to).with_context(|| {
        let _ = fs::remove_dir_all(work);
        format!(
            "cannot put the new localStorage in place at {}",
            to.display()
        )
    })
}

/// Builds `ls` (the directory) holding a new `data.sqlite` for `origin` with `area`, as
/// Firefox creates one (§1.3, §1.12 step 7), and its usage file.
fn build_in(ls: &Path, origin: &str, area: &Area, owner: &Path) -> Result<()> {
    if ls.exists() {
        fs::remove_dir_all(ls)?;
    }
    fs::create_dir(ls).with_context(|| format!("cannot create {}", ls.display()))?;
    let db = ls.join("data.sqlite");
    let usage = lsvalue::usage(area);
    let result = (|| -> Result<()> {
        let mut conn = Connection::open(&db)?;
        conn.execute_batch(
            "PRAGMA page_size = 1024; PRAGMA auto_vacuum = INCREMENTAL;
             CREATE TABLE database( origin TEXT NOT NULL, usage INTEGER NOT NULL DEFAULT 0,
               last_vacuum_time INTEGER NOT NULL DEFAULT 0, last_analyze_time INTEGER NOT NULL DEFAULT 0,
               last_vacuum_size INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE data( key TEXT PRIMARY KEY, utf16_length INTEGER NOT NULL,
               conversion_type INTEGER NOT NULL, compression_type INTEGER NOT NULL,
               last_access_time INTEGER NOT NULL DEFAULT 0, value BLOB NOT NULL);",
        )?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO database (origin, usage) VALUES (?1, ?2)",
            rusqlite::params![origin, i64::try_from(usage).unwrap_or(i64::MAX)],
        )?;
        let mut changes = ChangeSet::default();
        for (k, v) in area.iter() {
            changes.put(k.clone(), v.clone());
        }
        apply(&tx, &changes)?;
        tx.pragma_update(None, "user_version", data::SCHEMA_VERSION)?;
        tx.commit()?;
        conn.close().map_err(|(_, e)| e)?;
        fs::File::open(&db)?.sync_all()?;
        Ok(())
    })();
    result.with_context(|| format!("cannot create {}", db.display()))?;
    let usage_file = ls.join("usage");
    fs::write(&usage_file, lsvalue::usage_file(usage))
        .and_then(|()| fs::File::open(&usage_file)?.sync_all())
        .with_context(|| format!("cannot write {}", usage_file.display()))?;
    own_like(ls, owner);
    for f in [&db, &usage_file] {
        own_like(f, owner);
    }
    sync_dir(ls)
}
