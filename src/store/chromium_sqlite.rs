//! Chromium's SQLite DOM storage (`<profile>/LocalStorage`, one SQLite file in WAL mode,
//! `../shared/browsers-localstorage.md` §2): behind `DomStorageSqlite`, and the form a
//! `DomStorageSqliteMigration` leaves after deleting `Local Storage/leveldb`.
//!
//! `maps` has one row per storage key (`origin + "/"`, a BLOB) with its 1601-epoch times and
//! `total_size`; `map_entries (map_id, value_compression_type, key, value)` holds the items,
//! keys and values in Chromium's localStorage string encoding (a `0x01` Latin-1 / `0x00`
//! UTF-16LE byte first), values zstd-compressed when `value_compression_type = 1`.
//!
//! Reads take a private snapshot (`sqlite::with_snapshot`), also while Chromium runs and holds
//! its exclusive lock. Writes refuse while Chromium runs (a live `SingletonLock`, or the
//! database's lock held), keep a copy of the previous database beside it, and apply the change
//! in one transaction that first checks the origin still holds what the plan was made from.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::{Connection, TransactionBehavior, params};

use crate::error::MeshError;
use crate::js::JsString;
use crate::store::leveldb::{encoding, meta};
use crate::store::lock;
use crate::store::sqlite;
use crate::store::{
    Area, Backend, BackendKind, ChangeSet, OriginInfo, SaveOptions, area_bytes, debris,
};

/// The file's name in a profile directory.
pub const FILE_NAME: &str = "LocalStorage";

/// Chromium 156's schema of a new `LocalStorage` database, exactly (§2.2): what the tests and
/// benchmarks build stores from. (meshpeers itself never creates the file: Chromium does.)
pub const SCHEMA: &str = "PRAGMA journal_mode = wal;
CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
INSERT INTO meta VALUES ('mmap_status', '-1'), ('version', '1'), ('last_compatible_version', '1');
CREATE TABLE maps(row_id INTEGER PRIMARY KEY AUTOINCREMENT,storage_key BLOB NOT NULL,last_accessed INTEGER,last_modified INTEGER,total_size INTEGER);
CREATE UNIQUE INDEX maps_by_storage_key ON maps(storage_key);
CREATE TABLE map_entries(map_id INTEGER NOT NULL,value_compression_type INTEGER NOT NULL,key BLOB NOT NULL,value BLOB NOT NULL,PRIMARY KEY(map_id, key)) WITHOUT ROWID;";

/// The newest `meta.last_compatible_version` this meshpeers reads.
const SCHEMA_VERSION: i64 = 1;

/// Where the database of a profile (or Electron userData) directory is, if it has one.
pub fn profile_database(profile: &Path) -> Option<PathBuf> {
    let f = profile.join(FILE_NAME);
    f.is_file().then_some(f)
}

/// The database a directory given as `--store` holds: a profile directory, or a user-data
/// directory's `Default` (or `--profile NAME`) profile.
pub fn resolve_dir(given: &Path, profile: Option<&str>) -> Option<PathBuf> {
    match profile {
        Some(name) => profile_database(&given.join(name)),
        None => profile_database(given).or_else(|| profile_database(&given.join("Default"))),
    }
}

fn invalid(path: &Path, problem: impl Into<String>) -> anyhow::Error {
    MeshError::invalid(path.display(), problem).into()
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> anyhow::Error + '_ {
    move |e| {
        invalid(
            path,
            format!("is not a Chromium localStorage database ({e})"),
        )
    }
}

/// The origin a storage key names: `http://host:port/` without its slash. A key of another
/// shape (a partitioned or opaque storage key) is shown as it is.
fn origin_of(path: &Path, key: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(key).map_err(|_| {
        invalid(
            path,
            format!("has a maps row whose storage_key is not text ({key:02x?})"),
        )
    })?;
    Ok(match text.strip_suffix('/') {
        Some(o)
            if !o.contains('^')
                && o.split_once("://")
                    .is_some_and(|(_, rest)| !rest.contains('/')) =>
        {
            o.to_owned()
        }
        _ => text.to_owned(),
    })
}

/// The storage key of an origin (the inverse of `origin_of`).
pub fn storage_key(origin: &str) -> Vec<u8> {
    if origin.contains('^') || origin.ends_with('/') {
        origin.as_bytes().to_vec()
    } else {
        format!("{origin}/").into_bytes()
    }
}

/// One `maps` row.
#[derive(Debug, Clone)]
struct MapRow {
    row_id: i64,
    origin: String,
    last_modified: Option<i64>,
}

/// Checks the schema version and gives every `maps` row, in storage-key order.
fn maps(path: &Path, conn: &Connection) -> Result<Vec<MapRow>> {
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'last_compatible_version'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => invalid(
                path,
                "is not a Chromium localStorage database (its meta table has no last_compatible_version)",
            ),
            e => sql(path)(e),
        })?;
    let version: i64 = version.as_deref().unwrap_or("").parse().map_err(|_| {
        invalid(
            path,
            format!("has an unreadable schema version {version:?} in its meta table"),
        )
    })?;
    if version > SCHEMA_VERSION {
        return Err(invalid(
            path,
            format!(
                "has schema version {version}, newer than the {SCHEMA_VERSION} this meshpeers knows; nothing was read"
            ),
        ));
    }
    let mut stmt = conn
        .prepare("SELECT row_id, storage_key, last_modified FROM maps ORDER BY storage_key")
        .map_err(sql(path))?;
    let mut rows = stmt.query([]).map_err(sql(path))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql(path))? {
        let key: Vec<u8> = row.get(1).map_err(sql(path))?;
        out.push(MapRow {
            row_id: row.get(0).map_err(sql(path))?,
            origin: origin_of(path, &key)?,
            last_modified: row.get(2).map_err(sql(path))?,
        });
    }
    Ok(out)
}

/// A stored key or value in Chromium's encoding, strictly: the format byte must be there
/// and UTF-16 must have whole units.
fn decode(path: &Path, what: impl Fn() -> String, bytes: &[u8]) -> Result<JsString> {
    match bytes.split_first() {
        None => Err(invalid(
            path,
            format!("{} has no encoding byte (it is empty)", what()),
        )),
        Some((&encoding::LATIN1, _)) => Ok(encoding::decode(bytes)),
        Some((&encoding::UTF16, rest)) if rest.len() % 2 == 0 => Ok(encoding::decode(bytes)),
        Some((&encoding::UTF16, _)) => Err(invalid(
            path,
            format!("{} is UTF-16 with an odd number of bytes", what()),
        )),
        Some((b, _)) => Err(invalid(
            path,
            format!("{} has an unknown encoding byte 0x{b:02x}", what()),
        )),
    }
}

/// The map of one `maps` row, in key order; a row without entries is refused (Chromium
/// removes the row of a map it empties).
fn read_map(path: &Path, conn: &Connection, map: &MapRow) -> Result<Area> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT key, value_compression_type, value FROM map_entries WHERE map_id = ?1 ORDER BY key",
        )
        .map_err(sql(path))?;
    let mut rows = stmt.query([map.row_id]).map_err(sql(path))?;
    let mut area = Area::new();
    while let Some(row) = rows.next().map_err(sql(path))? {
        let raw_key: Vec<u8> = row.get(0).map_err(sql(path))?;
        let key = decode(
            path,
            || format!("a map_entries key of {}", map.origin),
            &raw_key,
        )?;
        let shown = || {
            format!(
                "the value of key {:?} of {}",
                key.to_string_lossy(),
                map.origin
            )
        };
        let compression: i64 = row.get(1).map_err(sql(path))?;
        let stored = row.get_ref(2).map_err(sql(path))?;
        let stored = stored
            .as_blob_or_null()
            .ok()
            .flatten()
            .ok_or_else(|| invalid(path, format!("{} is not a BLOB", shown())))?;
        let value = match compression {
            0 => decode(path, shown, stored)?,
            1 => {
                let mut plain = Vec::new();
                ruzstd::decoding::StreamingDecoder::new(stored)
                    .map_err(|e| e.to_string())
                    .and_then(|mut d| d.read_to_end(&mut plain).map_err(|e| e.to_string()))
                    .map_err(|e| {
                        invalid(path, format!("{} is not a valid zstd frame ({e})", shown()))
                    })?;
                decode(path, shown, &plain)?
            }
            n => {
                return Err(invalid(
                    path,
                    format!(
                        "{} has value_compression_type {n}, which meshpeers does not know",
                        shown()
                    ),
                ));
            }
        };
        area.insert(key, value);
    }
    if area.is_empty() {
        return Err(invalid(
            path,
            format!(
                "has a maps row for {} (row_id {}) without entries in map_entries",
                map.origin, map.row_id
            ),
        ));
    }
    Ok(area)
}

/// `total_size` as Chromium counts it: encoded key bytes plus encoded, uncompressed value
/// bytes, format bytes included.
fn total_size(area: &Area) -> i64 {
    area.iter()
        .map(|(k, v)| (encoding::encode(k).len() + encoding::encode(v).len()) as i64)
        .sum()
}

/// A Chromium SQLite localStorage database opened for reading.
pub struct ChromiumSqliteStore {
    file: PathBuf,
    /// The pid of the Chromium using the profile when it was opened.
    running: Option<i32>,
}

/// The directories whose `SingletonLock` says a browser uses the database: its profile
/// directory (an Electron userData dir) and that directory's parent (a user-data dir).
fn singleton_dirs(file: &Path) -> Vec<PathBuf> {
    file.parent()
        .into_iter()
        .flat_map(|p| std::iter::once(p).chain(p.parent()))
        .map(Path::to_path_buf)
        .collect()
}

impl ChromiumSqliteStore {
    pub fn open(file: &Path) -> Result<ChromiumSqliteStore> {
        let running = singleton_dirs(file)
            .iter()
            .find_map(|d| crate::store::locate::singleton_pid(d));
        Ok(ChromiumSqliteStore {
            file: file.to_path_buf(),
            running,
        })
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn running(&self) -> Option<i32> {
        self.running
    }

    /// Every origin's map row and, when `with_maps`, its map.
    fn read_all(&self, with_maps: bool) -> Result<Vec<(MapRow, Option<Area>)>> {
        sqlite::with_snapshot(&self.file, "a Chromium localStorage database", |conn| {
            maps(&self.file, conn)?
                .into_iter()
                .map(|m| {
                    let area = if with_maps {
                        Some(read_map(&self.file, conn, &m)?)
                    } else {
                        None
                    };
                    Ok((m, area))
                })
                .collect()
        })
    }

    /// One origin's row and map (`None`: no row yet).
    fn read_origin(&self, origin: &str) -> Result<Option<(MapRow, Area)>> {
        sqlite::with_snapshot(&self.file, "a Chromium localStorage database", |conn| {
            read_origin_in(&self.file, conn, origin)
        })
    }
}

fn read_origin_in(path: &Path, conn: &Connection, origin: &str) -> Result<Option<(MapRow, Area)>> {
    match maps(path, conn)?.into_iter().find(|m| m.origin == origin) {
        Some(m) => {
            let area = read_map(path, conn, &m)?;
            Ok(Some((m, area)))
        }
        None => Ok(None),
    }
}

fn unix_ms(t: Option<i64>) -> Option<f64> {
    t.filter(|t| *t > 0)
        .map(|t| (t - meta::EPOCH_DELTA_US) as f64 / 1000.0)
}

impl Backend for ChromiumSqliteStore {
    fn kind(&self) -> BackendKind {
        BackendKind::ChromiumSqlite
    }

    fn probes_origins(&self) -> bool {
        true
    }

    fn notes(&self) -> Vec<String> {
        self.running
            .map(|pid| {
                format!(
                    "Chromium is running with this profile (pid {pid}): what was read is its last commit to disk"
                )
            })
            .into_iter()
            .collect()
    }

    fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        Ok(self
            .read_all(true)?
            .into_iter()
            .map(|(m, area)| {
                let area = area.unwrap_or_default();
                OriginInfo {
                    origin: m.origin,
                    keys: area.len(),
                    bytes: area_bytes(&area),
                    last_modified: unix_ms(m.last_modified),
                    firefox_usage: None,
                }
            })
            .collect())
    }

    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>> {
        Ok(self
            .read_all(true)?
            .into_iter()
            .map(|(m, area)| {
                let n = area
                    .iter()
                    .flat_map(|a| a.keys())
                    .filter(|k| k.starts_with(prefix))
                    .count();
                (m.origin, n)
            })
            .collect())
    }

    fn has_origin(&mut self, origin: &str) -> Result<bool> {
        Ok(self
            .read_all(false)?
            .iter()
            .any(|(m, _)| m.origin == origin))
    }

    fn last_modified(&mut self, origin: &str) -> Result<Option<f64>> {
        Ok(self
            .read_all(false)?
            .into_iter()
            .find(|(m, _)| m.origin == origin)
            .and_then(|(m, _)| unix_ms(m.last_modified)))
    }

    fn load(&mut self, origin: Option<&str>) -> Result<Area> {
        match origin {
            Some(o) => Ok(self.read_origin(o)?.map(|(_, a)| a).unwrap_or_default()),
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
                format!("{}: no origin chosen to write to", self.file.display()),
                "name it with --origin ORIGIN",
            )
            .into());
        };
        let basis = self.read_origin(origin)?.map(|(_, a)| a);
        save(&self.file, origin, basis.as_ref(), changes, opts)
    }

    fn verify(&mut self, origin: Option<&str>, expected: &Area) -> Result<()> {
        let Some(origin) = origin else {
            return Ok(());
        };
        let got = self
            .read_origin(origin)?
            .map(|(_, a)| a)
            .unwrap_or_default();
        if got != *expected {
            anyhow::bail!(
                "{}: after saving, {origin} does not hold what was written (a bug in meshpeers, or Chromium wrote to the profile at the same time)",
                self.file.display()
            );
        }
        Ok(())
    }
}

/// Refuses while a Chromium uses the profile (its `SingletonLock` names a live process).
fn refuse_if_running(file: &Path) -> Result<()> {
    if let Some(pid) = singleton_dirs(file)
        .iter()
        .find_map(|d| crate::store::locate::singleton_pid(d))
    {
        return Err(MeshError::Locked {
            path: file.display().to_string(),
            browser: Some(("Chromium", pid)),
        }
        .into());
    }
    Ok(())
}

/// Applies `changes` to `origin`, whose map was `basis` when read (`None`: no row yet).
fn save(
    file: &Path,
    origin: &str,
    basis: Option<&Area>,
    changes: &ChangeSet,
    opts: &SaveOptions,
) -> Result<Option<PathBuf>> {
    let dir = file.parent().context("a database has a directory")?;
    let _lock = lock::lock_dir(dir, file)?;
    refuse_if_running(file)?;
    debris::sweep(dir);
    let kept = sqlite::keep_copies(file, &[file.to_path_buf(), sqlite::companion(file, "-wal")])?;
    match transaction(file, origin, basis, changes) {
        Ok(()) => {
            crate::store::leveldb::prune_kept(file, opts.keep_previous);
            Ok(Some(kept))
        }
        Err(e) => {
            // Nothing was committed: the kept copy is the current state and not needed.
            let _ = fs::remove_dir_all(&kept);
            Err(e.context(format!("{}: nothing was changed", file.display())))
        }
    }
}

/// The change in one `BEGIN IMMEDIATE … COMMIT` after checking that `origin` still holds
/// `basis`; the WAL checkpointed into the database afterwards.
fn transaction(file: &Path, origin: &str, basis: Option<&Area>, changes: &ChangeSet) -> Result<()> {
    let locked = |e: rusqlite::Error| -> anyhow::Error {
        if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) {
            // Chromium keeps its database under an exclusive lock while it runs.
            MeshError::Locked {
                path: file.display().to_string(),
                browser: None,
            }
            .into()
        } else {
            sqlite::write_error(file)(e)
        }
    };
    let mut conn = sqlite::open_for_write(file).map_err(locked)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(locked)?;
    let now = read_origin_in(file, &tx, origin)?;
    if now.as_ref().map(|(_, a)| a) != basis {
        return Err(MeshError::Changed(format!(
            "{}: {origin} changed since it was read (another program wrote it meanwhile); nothing was written",
            file.display()
        ))
        .into());
    }
    let after = changes.applied_to(basis.unwrap_or(&Area::new()));
    let time = meta::chromium_time(crate::time::now_ms());
    let write = |tx: &rusqlite::Transaction| -> rusqlite::Result<()> {
        let map_id = match &now {
            Some((m, _)) => m.row_id,
            None => {
                tx.execute(
                    "INSERT INTO maps (storage_key, last_accessed, last_modified, total_size) VALUES (?1, ?2, ?2, 0)",
                    params![storage_key(origin), time],
                )?;
                tx.last_insert_rowid()
            }
        };
        let mut delete = tx.prepare("DELETE FROM map_entries WHERE map_id = ?1 AND key = ?2")?;
        let mut put = tx.prepare(
            "INSERT OR REPLACE INTO map_entries (map_id, value_compression_type, key, value) VALUES (?1, 0, ?2, ?3)",
        )?;
        for (k, v) in changes.iter() {
            // A key may be stored in the other encoding too (written by another program):
            // both forms go.
            let forms = [encoding::latin1(k), Some(encoding::utf16(k))];
            for form in forms.iter().flatten() {
                delete.execute(params![map_id, form])?;
            }
            if let Some(v) = v {
                put.execute(params![map_id, encoding::encode(k), encoding::encode(v)])?;
            }
        }
        if after.is_empty() {
            // Chromium keeps no row for an empty map.
            tx.execute("DELETE FROM maps WHERE row_id = ?1", [map_id])?;
        } else {
            tx.execute(
                "UPDATE maps SET total_size = ?2, last_modified = ?3 WHERE row_id = ?1",
                params![map_id, total_size(&after), time],
            )?;
        }
        Ok(())
    };
    write(&tx).map_err(locked)?;
    tx.commit().map_err(locked)?;
    // Leave nothing in the log: the database file alone holds the new state.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(locked)?;
    conn.close().map_err(|(_, e)| locked(e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database with Chromium's own schema (§2.2).
    pub(crate) fn chromium_db(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn
    }

    #[test]
    fn storage_keys_and_origins() {
        let p = Path::new("x");
        assert_eq!(
            origin_of(p, b"http://127.0.0.1:3000/").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            storage_key("http://127.0.0.1:3000"),
            b"http://127.0.0.1:3000/"
        );
        let partitioned = "https://a.example/^0https://b.example";
        assert_eq!(origin_of(p, partitioned.as_bytes()).unwrap(), partitioned);
        assert_eq!(storage_key(partitioned), partitioned.as_bytes());
    }

    #[test]
    fn chromiums_examples_read_and_a_save_keeps_total_size_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let conn = chromium_db(&path);
        conn.execute(
            "INSERT INTO maps (storage_key, last_accessed, last_modified, total_size) VALUES (x'687474703a2f2f3132372e302e302e313a333030302f', 13440647448444695, 13440647448444695, 16)",
            [],
        )
        .unwrap();
        for (k, v) in [
            ("016173636969", "01636166e9"),
            ("003a043b044e044704", "00780000d87900"),
        ] {
            conn.execute(
                &format!("INSERT INTO map_entries VALUES (1, 0, x'{k}', x'{v}')"),
                [],
            )
            .unwrap();
        }
        drop(conn);
        let mut store = ChromiumSqliteStore::open(&path).unwrap();
        let area = store.load(Some("http://127.0.0.1:3000")).unwrap();
        assert_eq!(area[&JsString::from("ascii")], JsString::from("café"));
        assert_eq!(
            area[&JsString::from("ключ")],
            JsString::from_utf16(&[0x78, 0xd800, 0x79])
        );
        let ms = store
            .last_modified("http://127.0.0.1:3000")
            .unwrap()
            .unwrap();
        assert_eq!(ms, 1_796_173_848_444.695);

        let mut changes = ChangeSet::default();
        changes.put(JsString::from("new"), JsString::from("ü"));
        changes.delete(JsString::from("ascii"));
        let kept = store
            .save(
                Some("http://127.0.0.1:3000"),
                &changes,
                &SaveOptions::default(),
            )
            .unwrap()
            .unwrap();
        assert!(kept.join(FILE_NAME).is_file());
        let conn = Connection::open(&path).unwrap();
        let total: i64 = conn
            .query_row("SELECT total_size FROM maps WHERE row_id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        // ключ (9 + 7) and new (4 + 2).
        assert_eq!(total, 22);
        let hex: String = conn
            .query_row(
                "SELECT hex(value) FROM map_entries WHERE key = x'016e6577'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hex, "01FC");
    }
}
