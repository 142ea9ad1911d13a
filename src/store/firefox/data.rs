//! Reading one origin's `ls/data.sqlite` (browsers-localstorage.md §1.3–§1.5) without changing
//! a byte of the profile, also while Firefox holds the database open.
//!
//! Firefox keeps an open origin's database under an exclusive SQLite lock and writes in
//! rollback-journal mode, so the reader copies `data.sqlite` and any `data.sqlite-journal`
//! into a private directory (retrying while they change under it) and opens the copy:
//! SQLite rolls a hot journal back there, which gives the last committed state.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::lsvalue;
use crate::error::MeshError;
use crate::js::JsString;
use crate::store::Area;

/// The newest schema Firefox writes (`user_version` 80 = 5.0); newer ones are refused.
pub const SCHEMA_VERSION: i64 = 80;

/// One origin's localStorage as its `data.sqlite` holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginData {
    /// `database.origin`.
    pub origin: String,
    /// `database.usage` (advisory: Firefox's cached count).
    pub usage: i64,
    /// The entries in SQLite's row order (what `localStorage.key(i)` shows after a restart).
    pub area: Area,
}

/// Reads `path` (an `ls/data.sqlite`).
pub fn read(path: &Path) -> Result<OriginData> {
    with_snapshot(path, |conn| read_connection(path, conn))
}

/// The origin `path` (an `ls/data.sqlite`) belongs to and its keys, without decoding values.
pub fn read_keys(path: &Path) -> Result<(String, Vec<JsString>)> {
    with_snapshot(path, |conn| {
        let (origin, _) = database_row(path, conn)?;
        let mut stmt = conn.prepare("SELECT key FROM data").map_err(sql(path))?;
        let mut rows = stmt.query([]).map_err(sql(path))?;
        let mut keys = Vec::new();
        while let Some(row) = rows.next().map_err(sql(path))? {
            keys.push(key_of(path, row.get_ref(0).map_err(sql(path))?)?);
        }
        Ok((origin, keys))
    })
}

/// Whether `path` (an `ls/data.sqlite`) may hold a key that starts with `prefix`: `false`
/// only when neither the database's bytes nor its journal's contain the prefix at all, which
/// rules such a key out — keys are stored as UTF-8 text, the first column of every row and of
/// the key index, and their first bytes always lie in the page that holds the cell (overflow
/// pages only take a payload's tail). Without a header it can read, or for an encoding,
/// page size or prefix length where that does not hold, it answers `true` (read it).
pub fn may_hold(path: &Path, finder: &memchr::memmem::Finder<'_>) -> Result<bool> {
    const MAX_PREFIX: usize = 32;
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Some(header) = bytes.get(..100) else {
        return Ok(true);
    };
    // Offset 16: page size (1 means 65536); 56: text encoding (1 = UTF-8).
    let page = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u32::from(n),
    };
    let utf8 = u32::from_be_bytes([header[56], header[57], header[58], header[59]]) == 1;
    if !utf8 || page < 1024 || finder.needle().len() > MAX_PREFIX || finder.needle().is_empty() {
        return Ok(true);
    }
    if finder.find(&bytes).is_some() {
        return Ok(true);
    }
    match fs::read(journal_of(path)) {
        Ok(journal) => Ok(finder.find(&journal).is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", journal_of(path).display())),
    }
}

fn invalid(path: &Path, problem: impl Into<String>) -> anyhow::Error {
    MeshError::invalid(path.display(), problem).into()
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> anyhow::Error + '_ {
    move |e| {
        invalid(
            path,
            format!("is not a Firefox localStorage database ({e})"),
        )
    }
}

/// The path of a database's rollback journal.
pub fn journal_of(path: &Path) -> PathBuf {
    crate::store::sqlite::companion(path, "-journal")
}

fn with_snapshot<T>(path: &Path, read: impl Fn(&Connection) -> Result<T>) -> Result<T> {
    crate::store::sqlite::with_snapshot(path, "a Firefox localStorage database", read)
}

/// The version check and the one `database` row: (origin, usage).
fn database_row(path: &Path, conn: &Connection) -> Result<(String, i64)> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql(path))?;
    if version > SCHEMA_VERSION {
        return Err(invalid(
            path,
            format!(
                "has schema version {version}, newer than the {SCHEMA_VERSION} this meshpeers knows; nothing was read"
            ),
        ));
    }
    let mut stmt = conn
        .prepare("SELECT origin, usage FROM database")
        .map_err(sql(path))?;
    let rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql(path))?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql(path))?;
    <[_; 1]>::try_from(rows).map(|[row]| row).map_err(|rows| {
        invalid(
            path,
            format!(
                "has {} rows in its database table (Firefox keeps exactly one)",
                rows.len()
            ),
        )
    })
}

/// A key as stored: TEXT holding WTF-8 (a lone surrogate as its 3-byte form).
fn key_of(path: &Path, value: ValueRef<'_>) -> Result<JsString> {
    match value {
        ValueRef::Text(b) | ValueRef::Blob(b) => Ok(JsString::from_wtf8(b.to_vec())),
        other => Err(invalid(
            path,
            format!("has a key of SQLite type {}", other.data_type()),
        )),
    }
}

/// Reads an open database; `path` names it in messages.
pub fn read_connection(path: &Path, conn: &Connection) -> Result<OriginData> {
    let sql = sql(path);
    let (origin, usage) = database_row(path, conn)?;
    let mut stmt = conn
        .prepare("SELECT key, utf16_length, conversion_type, compression_type, value FROM data")
        .map_err(&sql)?;
    let mut rows = stmt.query([]).map_err(&sql)?;
    let mut area = Area::new();
    while let Some(row) = rows.next().map_err(&sql)? {
        let key = key_of(path, row.get_ref(0).map_err(&sql)?)?;
        let (conversion, compression): (i64, i64) =
            (row.get(2).map_err(&sql)?, row.get(3).map_err(&sql)?);
        let bytes = match row.get_ref(4).map_err(&sql)? {
            ValueRef::Blob(b) | ValueRef::Text(b) => b,
            other => {
                return Err(invalid(
                    path,
                    format!(
                        "has a value of SQLite type {} for key {}",
                        other.data_type(),
                        key.to_string_lossy()
                    ),
                ));
            }
        };
        let value = lsvalue::decode(conversion, compression, bytes).map_err(|e| {
            invalid(
                path,
                format!(
                    "the value of key {:?} cannot be read: {e}",
                    key.to_string_lossy()
                ),
            )
        })?;
        area.insert(key, value);
    }
    Ok(OriginData {
        origin,
        usage,
        area,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data.sqlite made with Firefox's own statements (§1.3) and rows encoded by lsvalue.
    fn firefox_db(dir: &Path, entries: &[(&str, JsString)]) -> PathBuf {
        let path = dir.join("data.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA page_size = 1024; PRAGMA auto_vacuum = 2;
             CREATE TABLE database( origin TEXT NOT NULL, usage INTEGER NOT NULL DEFAULT 0,
               last_vacuum_time INTEGER NOT NULL DEFAULT 0, last_analyze_time INTEGER NOT NULL DEFAULT 0,
               last_vacuum_size INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE data( key TEXT PRIMARY KEY, utf16_length INTEGER NOT NULL,
               conversion_type INTEGER NOT NULL, compression_type INTEGER NOT NULL,
               last_access_time INTEGER NOT NULL DEFAULT 0, value BLOB NOT NULL);
             PRAGMA user_version = 80;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO database (origin, usage) VALUES ('http://127.0.0.1:3000', 42)",
            [],
        )
        .unwrap();
        for (k, v) in entries {
            let e = lsvalue::encode(v);
            let value: rusqlite::types::Value = if e.bytes.is_empty() {
                rusqlite::types::Value::Text(String::new())
            } else {
                rusqlite::types::Value::Blob(e.bytes)
            };
            conn.execute(
                "INSERT OR REPLACE INTO data (key, utf16_length, conversion_type, compression_type, value) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![k, e.utf16_length, e.conversion, e.compression, value],
            )
            .unwrap();
        }
        path
    }

    #[test]
    fn a_firefox_database_reads_back_exactly_and_is_not_changed() {
        let dir = tempfile::tempdir().unwrap();
        let lone = JsString::from_utf16(&[0x61, 0xd800, 0x62]);
        let big = JsString::from("abcdefghij".repeat(20_000).as_str());
        let path = firefox_db(
            dir.path(),
            &[
                ("mesh:peers:index", JsString::from("[\"a\"]")),
                (
                    "mesh:peer:a",
                    JsString::from("{\"displayName\":\"Эмма 🌸\"}"),
                ),
                ("lone", lone.clone()),
                ("empty", JsString::from("")),
                ("big", big.clone()),
            ],
        );
        let before = fs::read(&path).unwrap();
        let data = read(&path).unwrap();
        assert_eq!(data.origin, "http://127.0.0.1:3000");
        assert_eq!(data.usage, 42);
        let keys: Vec<String> = data
            .area
            .keys()
            .map(|k| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            keys,
            ["mesh:peers:index", "mesh:peer:a", "lone", "empty", "big"]
        );
        assert_eq!(data.area[&JsString::from("lone")], lone);
        assert_eq!(data.area[&JsString::from("big")], big);
        assert_eq!(data.area[&JsString::from("empty")], JsString::from(""));
        assert_eq!(fs::read(&path).unwrap(), before);
        assert!(!dir.path().join("data.sqlite-journal").exists());
    }

    #[test]
    fn only_a_database_whose_bytes_hold_the_prefix_may_hold_its_keys() {
        let finder = memchr::memmem::Finder::new(b"mesh:");
        let dir = tempfile::tempdir().unwrap();
        // Many rows with long values: the key index and the table span several pages, and
        // every key's first bytes are still found.
        let long = JsString::from("v".repeat(5_000).as_str());
        let mut entries: Vec<(String, JsString)> = (0..50)
            .map(|i| (format!("other{i:02}"), long.clone()))
            .collect();
        entries.push(("mesh:peers:index".into(), long.clone()));
        let refs: Vec<(&str, JsString)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let with = firefox_db(dir.path(), &refs);
        assert!(may_hold(&with, &finder).unwrap());
        assert!(
            read_keys(&with)
                .unwrap()
                .1
                .iter()
                .any(|k| k.starts_with("mesh:"))
        );

        let other = tempfile::tempdir().unwrap();
        let without = firefox_db(other.path(), &refs[..50]);
        assert!(!may_hold(&without, &finder).unwrap());
        // A journal that still holds the prefix (a transaction under way) counts too.
        fs::write(journal_of(&without), b"....mesh:peer:x....").unwrap();
        assert!(may_hold(&without, &finder).unwrap());
        fs::remove_file(journal_of(&without)).unwrap();
        // What it cannot vouch for is read: no header, a long prefix.
        let junk = other.path().join("junk.sqlite");
        fs::write(&junk, b"short").unwrap();
        assert!(may_hold(&junk, &finder).unwrap());
        let long_prefix = "p".repeat(40);
        assert!(
            may_hold(
                &without,
                &memchr::memmem::Finder::new(long_prefix.as_bytes())
            )
            .unwrap()
        );
    }

    #[test]
    fn bad_databases_are_named_with_their_problem() {
        let dir = tempfile::tempdir().unwrap();
        let not_sqlite = dir.path().join("data.sqlite");
        fs::write(
            &not_sqlite,
            b"this is not a database at all, just some text",
        )
        .unwrap();
        let err = format!("{:#}", read(&not_sqlite).unwrap_err());
        assert!(
            err.contains(&not_sqlite.display().to_string())
                && err.contains(
                    "is not an SQLite database (it does not start with \"SQLite format 3\")"
                ),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = firefox_db(dir.path(), &[]);
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 81")
            .unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(
            err.contains("schema version 81, newer than the 80"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = firefox_db(dir.path(), &[]);
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO data (key, utf16_length, conversion_type, compression_type, value) VALUES ('k', 3, 1, 1, x'ffffffff')",
                [],
            )
            .unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(
            err.contains("the value of key \"k\" cannot be read: its snappy data is corrupt"),
            "{err}"
        );
    }

    /// A copy taken while a writer is inside a transaction that has already spilled pages
    /// into data.sqlite reads the last committed state: the copied hot journal is rolled back
    /// in the private copy, and the profile's files stay as they were.
    #[test]
    fn a_copy_taken_mid_transaction_reads_the_committed_state() {
        let dir = tempfile::tempdir().unwrap();
        let old = JsString::from("x".repeat(3000).as_str());
        let entries: Vec<(String, JsString)> =
            (0..200).map(|i| (format!("k{i}"), old.clone())).collect();
        let refs: Vec<(&str, JsString)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let path = firefox_db(dir.path(), &refs);
        let committed = fs::read(&path).unwrap();
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA cache_size = 1; BEGIN IMMEDIATE;
                 UPDATE data SET value = x'00', utf16_length = 1, conversion_type = 0;",
            )
            .unwrap();
        let journal = dir.path().join("data.sqlite-journal");
        assert!(journal.exists(), "the writer holds a journal");
        let (db_before, journal_before) = (fs::read(&path).unwrap(), fs::read(&journal).unwrap());
        assert_ne!(
            db_before, committed,
            "the writer spilled uncommitted pages into the file"
        );
        let data = read(&path).unwrap();
        assert_eq!(data.area.len(), 200);
        assert!(data.area.values().all(|v| *v == old));
        assert_eq!(fs::read(&path).unwrap(), db_before);
        assert_eq!(fs::read(&journal).unwrap(), journal_before);
        writer.execute_batch("ROLLBACK").unwrap();
    }
}
