//! WebKit's localStorage (WebKitGTK / WPE, Epiphany, Safari and WKWebView;
//! `../shared/browsers-localstorage.md` §3): one SQLite database per origin, in one of two
//! layouts, both read and written:
//!
//! - unified: `<storage>/<H(top)>/<H(client)>/LocalStorage/localstorage.sqlite3`, with an
//!   `origin` file in the origin directory and the 8-byte `<storage>/salt`; `H(o)` is the
//!   unpadded base64url SHA-256 of the origin's text followed by the salt;
//! - legacy: `<localstorage dir>/<scheme>_<host>_<port>.localstorage`.
//!
//! `ItemTable (key TEXT, value BLOB)`: keys as text, values as UTF-16LE blobs (the empty value a
//! zero-length blob, lone surrogates kept). Reads take a private snapshot; writes refuse while
//! a WebKit process has the database open, keep a copy of the previous database beside it and
//! apply the change in one transaction that first checks what the plan was made from.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::error::MeshError;
use crate::js::JsString;
use crate::store::sqlite;
use crate::store::{
    Area, Backend, BackendKind, ChangeSet, OriginInfo, SaveOptions, area_bytes, debris, lock,
};

/// WebKit's table, exactly: WebKit drops an `ItemTable` whose statement differs.
pub const CREATE_TABLE: &str = "CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB NOT NULL ON CONFLICT FAIL)";
const UNIFIED_FILE: &str = "localstorage.sqlite3";
const LEGACY_SUFFIX: &str = ".localstorage";

/// The directories a WebKit store spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The general storage directory (with `salt`) of the unified layout.
    pub unified: Option<PathBuf>,
    /// The directory of legacy `*.localstorage` files.
    pub legacy: Option<PathBuf>,
    /// One database file given as `--store`, with the origin it holds.
    pub file: Option<PathBuf>,
}

fn is_legacy_dir(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(LEGACY_SUFFIX))
    })
}

fn is_unified_dir(dir: &Path) -> bool {
    dir.join("salt").is_file()
}

/// What a directory given as `--store` is, for WebKit: a website-data directory (with
/// `storage/` and/or `localstorage/`, or Cocoa's `Default/` and `LocalStorage/`), a general
/// storage directory (`salt` in it), or a legacy localstorage directory.
pub fn resolve_dir(given: &Path) -> Option<Scope> {
    let pick = |unified: &[&str], legacy: &[&str]| -> Scope {
        Scope {
            unified: unified
                .iter()
                .map(|d| given.join(d))
                .find(|d| is_unified_dir(d)),
            legacy: legacy
                .iter()
                .map(|d| given.join(d))
                .find(|d| is_legacy_dir(d)),
            file: None,
        }
    };
    let data = pick(&["storage", "Default"], &["localstorage", "LocalStorage"]);
    if data.unified.is_some() || data.legacy.is_some() {
        // A website-data directory whose legacy directory may still be empty: new origins go
        // where WebKit keeps them.
        let mut data = data;
        if data.legacy.is_none() && data.unified.is_none() {
            return None;
        }
        if data.legacy.is_none() {
            let d = given.join("localstorage");
            if d.is_dir()
                && !data
                    .unified
                    .as_ref()
                    .is_some_and(|u| has_unified_origins(u))
            {
                data.legacy = Some(d);
            }
        }
        return Some(data);
    }
    if is_unified_dir(given) {
        return Some(Scope {
            unified: Some(given.to_path_buf()),
            ..Scope::default()
        });
    }
    if is_legacy_dir(given) {
        return Some(Scope {
            legacy: Some(given.to_path_buf()),
            ..Scope::default()
        });
    }
    None
}

fn has_unified_origins(storage: &Path) -> bool {
    unified_databases(storage).is_ok_and(|v| !v.is_empty())
}

/// Whether a file given as `--store` is WebKit's by its name.
pub fn is_database_name(file: &Path) -> bool {
    file.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        n == UNIFIED_FILE || n.ends_with(LEGACY_SUFFIX)
    })
}

fn invalid(path: &Path, problem: impl Into<String>) -> anyhow::Error {
    MeshError::invalid(path.display(), problem).into()
}

/// `H(o)`: the directory name of an origin in the unified layout.
pub fn hashed_name(origin: &str, salt: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(origin.as_bytes());
    h.update(salt);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

/// An origin's parts: scheme, host, port.
fn parts(origin: &str) -> Option<(&str, &str, Option<u16>)> {
    let (scheme, rest) = origin.split_once("://")?;
    if rest.contains('/') {
        return None;
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => match port.parse() {
            Ok(p) => Some((scheme, host, Some(p))),
            Err(_) => Some((scheme, rest, None)),
        },
        _ => Some((scheme, rest, None)),
    }
}

/// The `origin` file of a new first-party origin: top and client, each scheme, host and port
/// (`u32 LE length, 0x01, bytes` per string; `0x01, u16 LE` for a port, `0x00` for none).
pub fn origin_file(origin: &str) -> Option<Vec<u8>> {
    let (scheme, host, port) = parts(origin)?;
    let mut one = Vec::new();
    for s in [scheme, host] {
        one.extend_from_slice(&u32::try_from(s.len()).ok()?.to_le_bytes());
        one.push(1);
        one.extend_from_slice(s.as_bytes());
    }
    match port {
        Some(p) => {
            one.push(1);
            one.extend_from_slice(&p.to_le_bytes());
        }
        None => one.push(0),
    }
    Some([one.clone(), one].concat())
}

/// Reads an `origin` file: (top, client) origins.
pub fn parse_origin_file(bytes: &[u8]) -> Option<(String, String)> {
    fn string(b: &mut &[u8]) -> Option<String> {
        let len = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
        let flag = *b.get(4)?;
        *b = &b[5..];
        let s = if flag == 1 {
            let raw = b.get(..len)?;
            *b = &b[len..];
            raw.iter().map(|c| char::from(*c)).collect()
        } else {
            let raw = b.get(..len * 2)?;
            *b = &b[len * 2..];
            let units: Vec<u16> = raw
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()?
        };
        Some(s)
    }
    fn origin(b: &mut &[u8]) -> Option<String> {
        let scheme = string(b)?;
        let host = string(b)?;
        let has_port = *b.first()?;
        *b = &b[1..];
        let port = if has_port == 1 {
            let p = u16::from_le_bytes(b.get(..2)?.try_into().ok()?);
            *b = &b[2..];
            Some(p)
        } else {
            None
        };
        Some(match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        })
    }
    let mut b = bytes;
    let top = origin(&mut b)?;
    let client = origin(&mut b)?;
    Some((top, client))
}

/// The legacy file name of an origin: `scheme_host_port.localstorage` (port 0 for none,
/// characters a file name cannot hold percent-escaped, as `encodeForFileName` does).
pub fn legacy_name(origin: &str) -> Option<String> {
    let (scheme, host, port) = parts(origin)?;
    if scheme == "file" {
        return Some(format!("file__0{LEGACY_SUFFIX}"));
    }
    let mut enc = String::new();
    for c in host.chars() {
        if matches!(
            c,
            '/' | '\\' | ':' | '<' | '>' | '*' | '?' | '"' | '|' | '%'
        ) {
            enc.push_str(&format!("%{:02X}", c as u32));
        } else {
            enc.push(c);
        }
    }
    Some(format!(
        "{scheme}_{enc}_{}{LEGACY_SUFFIX}",
        port.unwrap_or(0)
    ))
}

/// The origin a legacy file name stands for.
pub fn legacy_origin(name: &str) -> Option<String> {
    let id = name.strip_suffix(LEGACY_SUFFIX)?;
    if id == "file__0" {
        return Some("file://".into());
    }
    let (scheme, rest) = id.split_once('_')?;
    let (host, port) = rest.rsplit_once('_')?;
    let port: u16 = port.parse().ok()?;
    let mut decoded = String::new();
    let mut chars = host.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            decoded.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
        } else {
            decoded.push(c);
        }
    }
    Some(if port == 0 {
        format!("{scheme}://{decoded}")
    } else {
        format!("{scheme}://{decoded}:{port}")
    })
}

/// Every first-party database of a general storage directory: origin → file. (Partitioned
/// ones, whose top origin differs, are named `<client> in <top>`.)
fn unified_databases(storage: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let read = |d: &Path| fs::read_dir(d).with_context(|| format!("cannot read {}", d.display()));
    for top in read(storage)?.flatten() {
        if !top.file_type().is_ok_and(|t| t.is_dir())
            || top.file_name().to_string_lossy().starts_with('.')
        {
            continue;
        }
        for client in read(&top.path())?.flatten() {
            let dir = client.path();
            let db = dir.join("LocalStorage").join(UNIFIED_FILE);
            if !db.is_file() {
                continue;
            }
            let origin_path = dir.join("origin");
            let bytes = fs::read(&origin_path)
                .with_context(|| format!("cannot read {}", origin_path.display()))?;
            let (top, client) = parse_origin_file(&bytes).ok_or_else(|| {
                invalid(
                    &origin_path,
                    "is not a WebKit origin file (two serialized origins)",
                )
            })?;
            let name = if top == client {
                client
            } else {
                format!("{client} in {top}")
            };
            out.insert(name, db);
        }
    }
    Ok(out)
}

fn legacy_databases(dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(origin) = legacy_origin(&name) {
            if e.file_type().is_ok_and(|t| t.is_file()) {
                out.insert(origin, e.path());
            }
        }
    }
    Ok(out)
}

/// The origin of one database file: from its unified directory's `origin` file or its
/// legacy name.
fn origin_of_file(file: &Path) -> Result<String> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(o) = legacy_origin(&name) {
        return Ok(o);
    }
    let origin_path = file
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("origin"))
        .filter(|p| p.is_file())
        .ok_or_else(|| {
            invalid(
                file,
                "is a WebKit database whose origin meshpeers cannot tell (neither a <scheme>_<host>_<port>.localstorage name nor an origin file two directories up)",
            )
        })?;
    let bytes =
        fs::read(&origin_path).with_context(|| format!("cannot read {}", origin_path.display()))?;
    let (top, client) = parse_origin_file(&bytes)
        .ok_or_else(|| invalid(&origin_path, "is not a WebKit origin file"))?;
    Ok(if top == client {
        client
    } else {
        format!("{client} in {top}")
    })
}

/// Reads one `ItemTable`.
fn read_items(path: &Path, conn: &Connection) -> Result<Area> {
    let sql =
        |e: rusqlite::Error| invalid(path, format!("is not a WebKit localStorage database ({e})"));
    let mut stmt = conn
        .prepare("SELECT key, value FROM ItemTable")
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut area = Area::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let key = match row.get_ref(0).map_err(sql)? {
            ValueRef::Text(b) | ValueRef::Blob(b) => JsString::from_wtf8(b.to_vec()),
            other => {
                return Err(invalid(
                    path,
                    format!("has a key of SQLite type {}", other.data_type()),
                ));
            }
        };
        let value = match row.get_ref(1).map_err(sql)? {
            ValueRef::Blob(b) if b.len() % 2 == 0 => {
                let units: Vec<u16> = b
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                JsString::from_utf16(&units)
            }
            ValueRef::Blob(_) => {
                return Err(invalid(
                    path,
                    format!(
                        "the value of key {:?} is UTF-16 with an odd number of bytes",
                        key.to_string_lossy()
                    ),
                ));
            }
            ValueRef::Text(b) => JsString::from_wtf8(b.to_vec()),
            other => {
                return Err(invalid(
                    path,
                    format!(
                        "the value of key {:?} is of SQLite type {}, not a BLOB",
                        key.to_string_lossy(),
                        other.data_type()
                    ),
                ));
            }
        };
        area.insert(key, value);
    }
    Ok(area)
}

fn read_file(path: &Path) -> Result<Area> {
    sqlite::with_snapshot(path, "a WebKit localStorage database", |conn| {
        read_items(path, conn)
    })
}

/// A WebKit store opened for reading.
pub struct WebkitStore {
    scope: Scope,
}

impl WebkitStore {
    pub fn open(scope: Scope) -> WebkitStore {
        WebkitStore { scope }
    }

    /// Whether a WebKit process has one of the store's databases open now.
    pub fn running(&self) -> bool {
        self.databases()
            .is_ok_and(|dbs| dbs.values().any(|db| holder(db).is_some()))
    }

    /// The path shown for the store and written at.
    pub fn location(&self) -> PathBuf {
        self.scope
            .file
            .clone()
            .or_else(|| match (&self.scope.unified, &self.scope.legacy) {
                (Some(u), Some(l)) => u
                    .parent()
                    .filter(|p| Some(*p) == l.parent())
                    .map(Path::to_path_buf)
                    .or(Some(u.clone())),
                (Some(u), None) => Some(u.clone()),
                (None, l) => l.clone(),
            })
            .unwrap_or_default()
    }

    /// Every origin's database; where both layouts hold an origin, the more recently written
    /// (WebKit moves a legacy file into the unified layout on first use).
    fn databases(&self) -> Result<BTreeMap<String, PathBuf>> {
        if let Some(f) = &self.scope.file {
            return Ok(BTreeMap::from([(origin_of_file(f)?, f.clone())]));
        }
        let mut out = match &self.scope.legacy {
            Some(l) => legacy_databases(l)?,
            None => BTreeMap::new(),
        };
        if let Some(u) = &self.scope.unified {
            for (origin, db) in unified_databases(u)? {
                match out.get(&origin) {
                    Some(old) if mtime(old) > mtime(&db) => {}
                    _ => {
                        out.insert(origin, db);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The database of one origin without listing every origin: its hashed path in the
    /// unified layout and its file name in the legacy one (the newer where both exist).
    fn database_of(&self, origin: &str) -> Result<Option<PathBuf>> {
        if self.scope.file.is_some() || origin.contains(" in ") {
            return Ok(self.databases()?.get(origin).cloned());
        }
        let legacy = self
            .scope
            .legacy
            .as_ref()
            .and_then(|l| Some(l.join(legacy_name(origin)?)))
            .filter(|p| p.is_file());
        let unified = match &self.scope.unified {
            Some(u) => {
                let salt_path = u.join("salt");
                let salt = fs::read(&salt_path)
                    .with_context(|| format!("cannot read {}", salt_path.display()))?;
                let h = hashed_name(origin, &salt);
                Some(u.join(&h).join(&h).join("LocalStorage").join(UNIFIED_FILE))
                    .filter(|p| p.is_file())
            }
            None => None,
        };
        Ok(match (legacy, unified) {
            (Some(l), Some(u)) if mtime(&l) > mtime(&u) => Some(l),
            (l, u) => u.or(l),
        })
    }

    /// Where a new origin's database goes.
    fn new_database(&self, origin: &str) -> Result<NewDb> {
        if let Some(f) = &self.scope.file {
            return Err(MeshError::usage(format!(
                "--origin {origin}: {} holds only {}; name the data directory with --store to work on another origin",
                f.display(),
                origin_of_file(f)?
            ))
            .into());
        }
        let bad = || {
            MeshError::usage(format!(
                "--origin {origin}: not an origin WebKit stores (scheme://host[:port])"
            ))
        };
        match (&self.scope.legacy, &self.scope.unified) {
            (Some(l), _) => Ok(NewDb::Legacy(l.join(legacy_name(origin).ok_or_else(bad)?))),
            (None, Some(u)) => {
                let salt_path = u.join("salt");
                let salt = fs::read(&salt_path)
                    .with_context(|| format!("cannot read {}", salt_path.display()))?;
                let h = hashed_name(origin, &salt);
                let file = origin_file(origin).ok_or_else(bad)?;
                Ok(NewDb::Unified {
                    storage: u.clone(),
                    dir: u.join(&h).join(&h),
                    origin_file: file,
                })
            }
            (None, None) => unreachable!("a WebKit scope has a layout"),
        }
    }
}

enum NewDb {
    Legacy(PathBuf),
    Unified {
        storage: PathBuf,
        dir: PathBuf,
        origin_file: Vec<u8>,
    },
}

impl NewDb {
    fn database(&self) -> PathBuf {
        match self {
            NewDb::Legacy(f) => f.clone(),
            NewDb::Unified { dir, .. } => dir.join("LocalStorage").join(UNIFIED_FILE),
        }
    }
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    [p.to_path_buf(), sqlite::companion(p, "-wal")]
        .iter()
        .filter_map(|f| fs::metadata(f).ok()?.modified().ok())
        .max()
}

fn modified_ms(p: &Path) -> Option<f64> {
    let t = mtime(p)?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as f64)
}

impl Backend for WebkitStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Webkit
    }

    fn probes_origins(&self) -> bool {
        self.scope.file.is_none()
    }

    fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        self.databases()?
            .into_iter()
            .map(|(origin, db)| {
                let area = read_file(&db)?;
                Ok(OriginInfo {
                    origin,
                    keys: area.len(),
                    bytes: area_bytes(&area),
                    last_modified: modified_ms(&db),
                    firefox_usage: None,
                })
            })
            .collect()
    }

    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>> {
        self.databases()?
            .into_iter()
            .map(|(origin, db)| {
                let n = read_file(&db)?
                    .keys()
                    .filter(|k| k.starts_with(prefix))
                    .count();
                Ok((origin, n))
            })
            .collect()
    }

    fn has_origin(&mut self, origin: &str) -> Result<bool> {
        Ok(self.database_of(origin)?.is_some())
    }

    fn last_modified(&mut self, origin: &str) -> Result<Option<f64>> {
        Ok(self.database_of(origin)?.and_then(|d| modified_ms(&d)))
    }

    fn load(&mut self, origin: Option<&str>) -> Result<Area> {
        let Some(origin) = origin else {
            return Ok(Area::new());
        };
        match self.database_of(origin)? {
            Some(db) => read_file(&db),
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
        match self.database_of(origin)? {
            Some(db) => {
                let basis = read_file(&db)?;
                update(&db, origin, &basis, changes, opts).map(Some)
            }
            None => {
                create(&self.new_database(origin)?, changes)?;
                Ok(None)
            }
        }
    }

    fn verify(&mut self, origin: Option<&str>, expected: &Area) -> Result<()> {
        let Some(origin) = origin else {
            return Ok(());
        };
        if self.load(Some(origin))? != *expected {
            anyhow::bail!(
                "{}: after saving, {origin} does not hold what was written (a bug in meshpeers, or WebKit wrote at the same time)",
                self.location().display()
            );
        }
        Ok(())
    }
}

/// The process that has the database open, if one does: the holder of the lock every SQLite
/// connection to a WAL database keeps on its `-shm` file, and on Linux any process with the
/// file open.
fn holder(db: &Path) -> Option<(i32, String)> {
    let pid =
        lock::range_holder(&sqlite::companion(db, "-shm"), 120, 16).or_else(|| open_by(db))?;
    let name = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "a WebKit process".into());
    Some((pid, name))
}

/// A process (not this one) with `db` or its log open, from `/proc` (Linux only).
fn open_by(db: &Path) -> Option<i32> {
    let targets: Vec<PathBuf> = [db.to_path_buf(), sqlite::companion(db, "-wal")]
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    if targets.is_empty() {
        return None;
    }
    let me = std::process::id() as i32;
    for proc_entry in fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = proc_entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(proc_entry.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| fs::read_link(fd.path()).is_ok_and(|t| targets.contains(&t)))
        {
            return Some(pid);
        }
    }
    None
}

fn refuse_if_open(db: &Path) -> Result<()> {
    if let Some((pid, _name)) = holder(db) {
        return Err(MeshError::Locked {
            path: db.display().to_string(),
            browser: Some(("WebKit", pid)),
        }
        .into());
    }
    Ok(())
}

fn update(
    db: &Path,
    origin: &str,
    basis: &Area,
    changes: &ChangeSet,
    opts: &SaveOptions,
) -> Result<PathBuf> {
    let dir = db.parent().context("a database has a directory")?;
    let _lock = lock::lock_dir(dir, db)?;
    refuse_if_open(db)?;
    debris::sweep(dir);
    let kept = sqlite::keep_copies(db, &[db.to_path_buf(), sqlite::companion(db, "-wal")])?;
    let result = (|| -> Result<()> {
        let err = sqlite::write_error(db);
        let mut conn = sqlite::open_for_write(db).map_err(&err)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        if read_items(db, &tx)? != *basis {
            return Err(MeshError::Changed(format!(
                "{}: {origin} changed since it was read (another program wrote it meanwhile); nothing was written",
                db.display()
            ))
            .into());
        }
        apply(&tx, changes).map_err(&err)?;
        tx.commit().map_err(&err)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(&err)?;
        conn.close().map_err(|(_, e)| err(e))?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            crate::store::leveldb::prune_kept(db, opts.keep_previous);
            Ok(kept)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&kept);
            Err(e.context(format!("{}: nothing was changed", db.display())))
        }
    }
}

/// Each put and delete with WebKit's statements: keys as TEXT, values as UTF-16LE BLOBs.
fn apply(conn: &Connection, changes: &ChangeSet) -> rusqlite::Result<()> {
    let mut delete = conn.prepare("DELETE FROM ItemTable WHERE key = ?1")?;
    let mut put = conn.prepare("INSERT INTO ItemTable (key, value) VALUES (?1, ?2)")?;
    for (k, v) in changes.iter() {
        let key = rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Text(k.as_wtf8()));
        match v {
            None => {
                delete.execute([key])?;
            }
            Some(v) => {
                let blob: Vec<u8> = v.utf16_units().flat_map(u16::to_le_bytes).collect();
                put.execute(params![key, blob])?;
            }
        }
    }
    Ok(())
}

/// A database for a new origin, built aside and renamed into place (with its hash
/// directories and `origin` file in the unified layout).
fn create(new: &NewDb, changes: &ChangeSet) -> Result<()> {
    let build = |file: &Path| -> Result<()> {
        let mut conn = Connection::open(file)?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.execute_batch(CREATE_TABLE)?;
        let tx = conn.transaction()?;
        apply(&tx, changes)?;
        tx.commit()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        conn.close().map_err(|(_, e)| e)?;
        fs::File::open(file)?.sync_all()?;
        Ok(())
    };
    let target = new.database();
    let shown = target.display().to_string();
    match new {
        NewDb::Legacy(file) => {
            let dir = file.parent().context("a database has a directory")?;
            let _lock = lock::lock_dir(dir, file)?;
            if file.exists() {
                return Err(MeshError::Changed(format!(
                    "{shown}: WebKit created it since it was read; nothing was written"
                ))
                .into());
            }
            let work = dir.join(debris::work_dir_name("new.localstorage"));
            fs::create_dir_all(&work)?;
            let built = work.join("db");
            let result = build(&built)
                .with_context(|| format!("cannot create {shown}"))
                .and_then(|()| {
                    sqlite::own_like(&built, dir);
                    fs::rename(&built, file).with_context(|| format!("cannot put {shown} in place"))
                });
            let _ = fs::remove_dir_all(&work);
            result?;
            sqlite::sync_dir(dir)
        }
        NewDb::Unified {
            storage,
            dir,
            origin_file,
        } => {
            let _lock = lock::lock_dir(storage, storage)?;
            if target.exists() {
                return Err(MeshError::Changed(format!(
                    "{shown}: WebKit created it since it was read; nothing was written"
                ))
                .into());
            }
            let top = dir.parent().context("an origin directory has a parent")?;
            // The whole top directory is built aside when it is new, else the origin's.
            let (work, place, inner) = if top.exists() {
                let name = dir
                    .file_name()
                    .context("a name")?
                    .to_string_lossy()
                    .into_owned();
                (
                    top.join(debris::work_dir_name(&name)),
                    dir.clone(),
                    PathBuf::new(),
                )
            } else {
                let name = top
                    .file_name()
                    .context("a name")?
                    .to_string_lossy()
                    .into_owned();
                (
                    storage.join(debris::work_dir_name(&name)),
                    top.to_path_buf(),
                    PathBuf::from(dir.file_name().context("a name")?),
                )
            };
            let result = (|| -> Result<()> {
                if work.exists() {
                    fs::remove_dir_all(&work)?;
                }
                let origin_dir = work.join(&inner);
                fs::create_dir_all(origin_dir.join("LocalStorage"))?;
                fs::write(origin_dir.join("origin"), origin_file)?;
                let file = origin_dir.join("LocalStorage").join(UNIFIED_FILE);
                build(&file).with_context(|| format!("cannot create {shown}"))?;
                for p in [
                    work.clone(),
                    origin_dir.clone(),
                    origin_dir.join("LocalStorage"),
                    origin_dir.join("origin"),
                    file,
                ] {
                    sqlite::own_like(&p, storage);
                }
                sqlite::sync_dir(&origin_dir)?;
                fs::rename(&work, &place)
                    .with_context(|| format!("cannot put {shown} in place"))?;
                sqlite::sync_dir(place.parent().unwrap_or(storage))
            })();
            if result.is_err() {
                let _ = fs::remove_dir_all(&work);
            }
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webkits_names_and_origin_file() {
        let salt = [0x62, 0x66, 0x55, 0xd0, 0xd6, 0xe2, 0x4e, 0x15];
        assert_eq!(
            hashed_name("http://127.0.0.1:3000", &salt),
            "_RuqG5nKerySOk_j6tq7Q4GcKYiy1ILTEzky_X7kMn8"
        );
        let file = origin_file("http://127.0.0.1:3000").unwrap();
        let one = "04000000016874747009000000013132372e302e302e3101b80b";
        let hex: String = file.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, format!("{one}{one}"));
        assert_eq!(
            parse_origin_file(&file).unwrap(),
            (
                "http://127.0.0.1:3000".into(),
                "http://127.0.0.1:3000".into()
            )
        );
        assert_eq!(
            legacy_name("http://127.0.0.1:3000").unwrap(),
            "http_127.0.0.1_3000.localstorage"
        );
        assert_eq!(
            legacy_origin("http_127.0.0.1_3000.localstorage").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            legacy_origin("https_example.com_0.localstorage").unwrap(),
            "https://example.com"
        );
        assert_eq!(
            legacy_name("https://example.com").unwrap(),
            "https_example.com_0.localstorage"
        );
    }
}
