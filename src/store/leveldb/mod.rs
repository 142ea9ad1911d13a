//! Chromium's `Local Storage/leveldb`: every origin's localStorage in one LevelDB database.
//!
//! Keys: `META:<origin>` (protobuf: last modified in µs since 1601, size), `METAACCESS:<origin>`,
//! `VERSION` = "1", and `_<origin>\0<format><key>` → `<format><value>` where the format byte is
//! 0x01 for Latin-1 (one byte per UTF-16 unit, used whenever every unit is ≤ 0xFF) or 0x00 for
//! UTF-16LE. Reading goes through a copy-on-write environment (`cow_env`), so the user's
//! directory is never changed, even while a browser holds it.

mod cow_env;
mod discover;
pub mod encoding;
pub mod history;
mod logcheck;
pub mod meta;
pub mod raw;
mod salvage;
pub(crate) mod swap_marker;
mod table_check;
mod write;

pub(crate) use write::{KEPT_INFIX, KEPT_STAMP, prune_kept};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusty_leveldb::{DB, LdbIterator, Options, StatusCode};

use crate::error::MeshError;
use crate::js::JsString;
use crate::store::{Area, OriginInfo, StorageDamage, entry_bytes};

pub use cow_env::{CowEnv, LogDamages, ReadFault, ReadFaults};
pub use salvage::{SalvageStore, salvage_refusal};

/// Finishes or undoes a write that was interrupted between the two renames of a swap, for
/// every place `--store` may name a database (see `swap_marker`); gives notes for the user.
pub fn recover_interrupted(given: &Path, profile: Option<&str>) -> Vec<String> {
    let ls = |p: &Path| p.join("Local Storage").join("leveldb");
    let candidates = match profile {
        Some(name) => vec![ls(&given.join(name))],
        None => vec![
            given.to_path_buf(),
            ls(given),
            ls(&given.join("Default")),
            given.join("leveldb"),
        ],
    };
    candidates
        .iter()
        .filter_map(|dir| swap_marker::recover(dir))
        .collect()
}

/// Where a browser keeps the database, relative to what `--store` names.
pub fn resolve_dir(given: &Path, profile: Option<&str>) -> Option<PathBuf> {
    let is_db = |p: &Path| p.join("CURRENT").is_file();
    let ls = |p: &Path| p.join("Local Storage").join("leveldb");
    if let Some(name) = profile {
        let p = ls(&given.join(name));
        return is_db(&p).then_some(p);
    }
    [
        given.to_path_buf(),        // the leveldb directory itself
        ls(given),                  // a profile directory or an Electron userData dir
        ls(&given.join("Default")), // a Chrome/Chromium/Edge/Brave user-data dir
        given.join("leveldb"),      // a "Local Storage" directory
    ]
    .into_iter()
    .find(|p| is_db(p))
}

/// The `Local Storage/leveldb` database of a profile (or Electron userData) directory, if it
/// has one.
pub fn profile_database(profile: &Path) -> Option<PathBuf> {
    let dir = profile.join("Local Storage").join("leveldb");
    dir.join("CURRENT").is_file().then_some(dir)
}

/// The profiles of a user-data directory that hold a database (directory names, sorted).
pub fn profiles_in(user_data: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(user_data) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| {
            profile_database(&e.path()).is_some()
                || crate::store::chromium_sqlite::profile_database(&e.path()).is_some()
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A database opened read-only through the copy-on-write environment, whose reads report
/// the damage they meet.
pub struct ReadDb {
    dir: PathBuf,
    db: DB,
    faults: ReadFaults,
    logs: LogDamages,
}

impl ReadDb {
    /// Opens the database read-only (copy-on-write), retrying when a file vanishes under a
    /// running browser's compaction.
    pub fn open(dir: &Path) -> Result<ReadDb> {
        // rusty-leveldb joins and compares paths as given; one canonical absolute path keeps
        // its view of the directory consistent.
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot open {}", dir.display()))?;
        let (mut last, mut last_log, mut last_fault) = (None, String::new(), None);
        for attempt in 0..5 {
            let env = CowEnv::new(&dir);
            let (faults, logs, log) = (env.faults(), env.log_damages(), env.clone());
            let opts = Options {
                env: std::rc::Rc::new(Box::new(env)),
                create_if_missing: false,
                ..Options::default()
            };
            let opened = crate::error::guard_leveldb(&dir, || Ok(DB::open(&dir, opts)))?;
            match opened {
                Ok(db) => {
                    return Ok(ReadDb {
                        dir,
                        db,
                        faults,
                        logs,
                    });
                }
                Err(e)
                    if matches!(
                        e.code,
                        StatusCode::NotFound | StatusCode::Corruption | StatusCode::IOError
                    ) && attempt < 4 =>
                {
                    last = Some(e);
                    std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
                }
                Err(e) => last = Some(e),
            }
            last_log = log.log_text();
            last_fault = log.faults().take().into_iter().next();
        }
        if let Some(fault) = last_fault {
            return Err(fault_error(&dir, &fault).into());
        }
        if let Some(missing) = missing_tables(&last_log).first() {
            return Err(fault_error(
                &dir,
                &ReadFault {
                    file: missing.clone(),
                    problem: "the database lists this table but the file is missing".into(),
                    missing: true,
                },
            )
            .into());
        }
        let e = last.expect("tried at least once");
        Err(open_failure(&dir, &e).into())
    }

    /// Runs `read` on the database; damage met on the way (a block failing its checksum, a
    /// truncated or missing table) is an error naming the file, never a shorter answer.
    pub fn read<T>(&mut self, read: impl FnOnce(&mut DB) -> Result<T>) -> Result<T> {
        let db = &mut self.db;
        let out = crate::error::guard_leveldb(&self.dir, || read(db));
        self.check()?;
        out
    }

    /// Damaged write-ahead logs: what the browser sees may differ from what was read.
    pub fn damage(&self) -> Vec<StorageDamage> {
        self.logs
            .list()
            .into_iter()
            .map(|(file, d)| StorageDamage {
                file: self.dir.join(file).display().to_string(),
                problem: format!(
                    "{} in the write-ahead log {} their checksum (the first at offset {}): LevelDB skips them, so the browser will not see those changes, and meshpeers may not see the same store as the browser",
                    crate::words::count(d.bad_records, "record"),
                    crate::words::plural(d.bad_records, "fails", "fail"),
                    d.first_offset
                ),
            })
            .collect()
    }

    /// The database itself, for reads that need two at once; call `check` afterwards.
    pub fn db_mut(&mut self) -> &mut DB {
        &mut self.db
    }

    /// Fails with the first damage met since the last check.
    pub fn check(&self) -> Result<()> {
        match self.faults.take().into_iter().next() {
            None => Ok(()),
            Some(fault) => Err(anyhow::Error::new(fault_error(&self.dir, &fault))
                .context(if fault.missing { "vanished" } else { "damaged" })),
        }
    }
}

/// Why a database does not open, naming the file at fault where it can be told: `CURRENT`
/// (unreadable, or naming a MANIFEST that is absent) or the MANIFEST itself.
fn open_failure(dir: &Path, e: &rusty_leveldb::Status) -> MeshError {
    let current = dir.join("CURRENT");
    let problem = |what: String| format!("{what}; not a readable LevelDB database");
    let manifest = match std::fs::read_to_string(&current) {
        Err(err) => {
            return MeshError::invalid_hint(
                current.display(),
                problem(format!("cannot be read ({err})")),
                DAMAGED_HINT,
            );
        }
        Ok(text) => text.trim_end().to_owned(),
    };
    let manifest_path = dir.join(&manifest);
    if manifest.is_empty() || manifest.contains('/') || !manifest_path.is_file() {
        return MeshError::invalid_hint(
            current.display(),
            problem(format!(
                "names the MANIFEST {manifest:?}, which does not exist"
            )),
            DAMAGED_HINT,
        );
    }
    if e.code == StatusCode::Corruption {
        return MeshError::invalid_hint(
            manifest_path.display(),
            problem(format!("the MANIFEST cannot be read ({})", e.err)),
            DAMAGED_HINT,
        );
    }
    MeshError::invalid_hint(
        dir.display(),
        format!("not a readable LevelDB database: {}", e.err),
        DAMAGED_HINT,
    )
}

/// What to do about a damaged database.
const DAMAGED_HINT: &str = "the database is damaged; meshpeers reads and writes only an intact one. Keep a copy of the directory; the browser may repair or wipe it when it next opens it";

fn fault_error(dir: &Path, fault: &ReadFault) -> MeshError {
    MeshError::invalid_hint(
        dir.join(&fault.file).display(),
        fault.problem.clone(),
        DAMAGED_HINT,
    )
}

/// The tables a failed open found missing, from rusty-leveldb's log line
/// "Missing at least these files: {5, 7}" (Chromium names tables `NNNNNN.ldb`).
fn missing_tables(log: &str) -> Vec<String> {
    let Some(rest) = log.split("Missing at least these files: {").nth(1) else {
        return Vec::new();
    };
    let list = rest.split('}').next().unwrap_or("");
    list.split(',')
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .map(|n| format!("{n:06}.ldb"))
        .collect()
}

/// True when `err` is a table that vanished under a running browser (worth a fresh open).
fn vanished(err: &anyhow::Error) -> bool {
    err.chain()
        .next()
        .is_some_and(|c| c.to_string() == "vanished")
}

/// Checks a write-ahead log (for the fuzz targets).
pub fn check_log(bytes: &[u8]) -> Option<(usize, usize)> {
    logcheck::check(bytes).map(|d| (d.bad_records, d.first_offset))
}

/// Writes a one-table profile into `dir` whose table's bytes are `table` (for the fuzz
/// targets): a real database is made, then its table file is replaced.
pub fn write_fuzz_profile(dir: &Path, table: &[u8]) -> Result<()> {
    let mut db = DB::open(
        dir,
        Options {
            create_if_missing: true,
            ..Options::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("{}", e.err))?;
    db.put(b"_http://h\0\x01mesh:peers:index", b"\x01[\"a\"]")
        .and_then(|()| db.put(b"_http://h\0\x01mesh:peer:a", b"\x01{\"peerId\":\"a\"}"))
        .and_then(|()| db.compact_range(b"\x00", b"\xff"))
        .map_err(|e| anyhow::anyhow!("{}", e.err))?;
    drop(db);
    let table_file = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "ldb"))
        .context("the profile has a table")?;
    std::fs::write(table_file, table)?;
    Ok(())
}

/// The data-key prefix of an origin: `_<origin>\0`.
pub fn origin_prefix(origin: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(origin.len() + 2);
    p.push(b'_');
    p.extend_from_slice(origin.as_bytes());
    p.push(0);
    p
}

/// Every origin with data, in key order, found by skipping from one origin's range to the
/// next (cost grows with the number of origins, not with their data).
pub fn data_origins(db: &mut DB) -> Result<Vec<String>> {
    Ok(walk_origins(db, &[])?.into_iter().map(|(o, _)| o).collect())
}

/// Every `META:` record: origin → (last modified µs since 1601, size).
pub fn metas(db: &mut DB) -> Result<Vec<(String, meta::Meta)>> {
    let mut it = db.new_iter().context("iterating the database")?;
    let mut out = Vec::new();
    it.seek(b"META:");
    while let Some((k, v)) = it.current() {
        let Some(origin) = k.strip_prefix(b"META:") else {
            break;
        };
        if let Some(m) = meta::Meta::decode(&v) {
            out.push((String::from_utf8_lossy(origin).into_owned(), m));
        }
        if !it.advance() {
            break;
        }
    }
    Ok(out)
}

/// One origin's map, decoded as the page sees it (a key stored in both encodings appears once,
/// with the value of the entry that sorts last, as in Chromium).
pub fn load_origin(db: &mut DB, origin: &str) -> Result<Area> {
    let prefix = origin_prefix(origin);
    let mut it = db.new_iter().context("iterating the database")?;
    let mut area = Area::new();
    it.seek(&prefix);
    while let Some((k, v)) = it.current() {
        let Some(key) = k.strip_prefix(prefix.as_slice()) else {
            break;
        };
        area.insert(encoding::decode(key), encoding::decode(&v));
        if !it.advance() {
            break;
        }
    }
    Ok(area)
}

/// Key count and quota bytes of an origin (a full scan of its range).
pub fn origin_info(db: &mut DB, origin: &str) -> Result<OriginInfo> {
    let area = load_origin(db, origin)?;
    Ok(OriginInfo {
        origin: origin.to_owned(),
        keys: area.len(),
        bytes: area.iter().map(|(k, v)| entry_bytes(k, v)).sum(),
        last_modified: None,
        firefox_usage: None,
    })
}

/// For every origin with data, how many of its keys start with `prefix`: one iterator, about
/// one seek per origin, no origin's data read beyond those keys. With `latin1_only`, only
/// Latin-1 keys are counted (the app's index key always is one), which finds the origin that
/// holds the namespace with half the seeks.
pub fn namespace_counts(
    db: &mut DB,
    prefix: &str,
    latin1_only: bool,
) -> Result<Vec<(String, usize)>> {
    let js = JsString::from(prefix);
    let mut encodings: Vec<Vec<u8>> = Vec::new();
    if !latin1_only {
        encodings.push(encoding::utf16(&js));
    }
    encodings.extend(encoding::latin1(&js));
    walk_origins(db, &encodings)
}

/// Visits every origin with data, counting its keys that start with each of `probes` (encoded
/// key prefixes): about one seek per origin, since a probe that finds nothing usually lands on
/// the next origin's first key.
fn walk_origins(db: &mut DB, probes: &[Vec<u8>]) -> Result<Vec<(String, usize)>> {
    let mut it = db.new_iter().context("iterating the database")?;
    let mut out = Vec::new();
    it.seek(b"_");
    while let Some((k, _)) = it.current() {
        if k.first() != Some(&b'_') {
            break;
        }
        let Some(end) = k.iter().position(|b| *b == 0) else {
            if !it.advance() {
                break;
            }
            continue;
        };
        let origin_key = k[..=end].to_vec(); // `_<origin>\0`
        let mut n = 0;
        for enc in probes {
            let start = [origin_key.as_slice(), enc].concat();
            it.seek(&start);
            while let Some((k, _)) = it.current() {
                if !k.starts_with(&start) {
                    break;
                }
                n += 1;
                if !it.advance() {
                    break;
                }
            }
        }
        out.push((String::from_utf8_lossy(&origin_key[1..end]).into_owned(), n));
        // Usually the probe already stands on the next origin's first key; else skip ahead.
        if it
            .current()
            .is_some_and(|(k, _)| k.starts_with(&origin_key))
        {
            let mut next = origin_key;
            *next.last_mut().expect("non-empty") = 1; // just past every `_<origin>\0…` key
            it.seek(&next);
        }
    }
    Ok(out)
}

/// A Chromium localStorage database opened for reading through the copy-on-write environment.
pub struct LevelDbStore {
    dir: PathBuf,
    db: ReadDb,
    /// The keys that may be the index of `.0`'s namespace, found while the database opened.
    early: Option<(String, Option<BTreeSet<Vec<u8>>>)>,
}

/// The encoded key of the namespace's index.
fn index_key(prefix: &str) -> Vec<u8> {
    let index = JsString::from(format!(
        "{prefix}{}",
        crate::peers::namespace::NsKey::Index.suffix()
    ));
    encoding::encode(&index)
}

impl LevelDbStore {
    pub fn open(dir: &Path) -> Result<LevelDbStore> {
        Self::open_discovering(dir, None)
    }

    /// Opens the database; with `prefix` (no `--origin` given), also looks for the origins
    /// holding that namespace's index on another thread while the database opens: the
    /// files-only part of `index_holders`, which would otherwise run after it.
    pub fn open_discovering(dir: &Path, prefix: Option<&str>) -> Result<LevelDbStore> {
        let key = prefix.map(index_key);
        let (db, found) = std::thread::scope(|scope| {
            let job = key
                .as_deref()
                .map(|key| scope.spawn(move || discover::candidates(dir, key)));
            let db = ReadDb::open(dir);
            (db, job.map(|job| job.join().ok().flatten()))
        });
        Ok(LevelDbStore {
            dir: dir.to_path_buf(),
            db: db?,
            early: prefix.map(str::to_owned).zip(found),
        })
    }

    /// Runs a read; when a table vanished under a running browser's compaction, reopens the
    /// database and reads again (a few times), else the damage is the answer.
    fn read<T>(&mut self, mut read: impl FnMut(&mut DB) -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            match self.db.read(&mut read) {
                Err(e) if vanished(&e) && attempt < 3 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
                    self.db = ReadDb::open(&self.dir)?;
                }
                Err(e) => return Err(strip_marker(e)),
                ok => return ok,
            }
        }
    }
}

/// The error without the internal "vanished"/"damaged" marker context.
fn strip_marker(err: anyhow::Error) -> anyhow::Error {
    match err.downcast::<MeshError>() {
        Ok(e) => e.into(),
        Err(e) => e,
    }
}

impl crate::store::Backend for LevelDbStore {
    fn kind(&self) -> crate::store::BackendKind {
        crate::store::BackendKind::Leveldb
    }

    fn probes_origins(&self) -> bool {
        true
    }

    fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        self.read(|db| {
            let origins = data_origins(db)?;
            let metas: std::collections::HashMap<String, meta::Meta> =
                metas(db)?.into_iter().collect();
            origins
                .iter()
                .map(|o| {
                    let mut info = origin_info(db, o)?;
                    info.last_modified = metas.get(&info.origin).map(|m| m.unix_ms());
                    Ok(info)
                })
                .collect()
        })
    }

    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>> {
        self.read(|db| {
            // The fast pass settles the common case (one origin holds the namespace); the
            // others (none, several) get exact counts for the message.
            let fast = namespace_counts(db, prefix, true)?;
            if fast.iter().filter(|(_, n)| *n > 0).count() == 1 {
                return Ok(fast);
            }
            namespace_counts(db, prefix, false)
        })
    }

    fn index_holders(&mut self, prefix: &str) -> Result<Vec<String>> {
        let key = index_key(prefix);
        let dir = self.dir.clone();
        let early = match self.early.take() {
            Some((p, found)) if p == prefix => found,
            _ => None,
        };
        let r = match early {
            Some(found) => Some(self.read(|db| Ok(discover::confirm(db, &key, found.clone())))?),
            None => self.read(|db| Ok(discover::holders(&dir, db, &key)))?,
        };
        if let Some(found) = r {
            return Ok(found);
        }
        // The files are not as the fast path expects: visit every origin.
        let counts = self.read(|db| walk_origins(db, std::slice::from_ref(&key)))?;
        Ok(counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(o, _)| o)
            .collect())
    }

    fn has_origin(&mut self, origin: &str) -> Result<bool> {
        let prefix = origin_prefix(origin);
        self.read(|db| {
            let mut it = db.new_iter().context("iterating the database")?;
            it.seek(&prefix);
            Ok(it.current().is_some_and(|(k, _)| k.starts_with(&prefix)))
        })
    }

    fn last_modified(&mut self, origin: &str) -> Result<Option<f64>> {
        let key = [b"META:".as_slice(), origin.as_bytes()].concat();
        self.read(|db| {
            Ok(db
                .get(&key)
                .and_then(|v| meta::Meta::decode(&v))
                .map(|m| m.unix_ms()))
        })
    }

    fn load(&mut self, origin: Option<&str>) -> Result<Area> {
        match origin {
            Some(o) => self.read(|db| load_origin(db, o)),
            None => Ok(Area::new()),
        }
    }

    fn damage(&self) -> Vec<StorageDamage> {
        self.db.damage()
    }

    fn verify(&mut self, origin: Option<&str>, expected: &Area) -> Result<()> {
        let Some(origin) = origin else {
            return Ok(());
        };
        let mut db = ReadDb::open(&self.dir)?;
        if db.read(|db| load_origin(db, origin))? != *expected {
            anyhow::bail!(
                "{}: after saving, {origin} does not hold what was written (a bug in meshpeers, or a browser wrote to the profile at the same time)",
                self.dir.display()
            );
        }
        Ok(())
    }

    fn save(
        &mut self,
        origin: Option<&str>,
        changes: &crate::store::ChangeSet,
        opts: &crate::store::SaveOptions,
    ) -> Result<Option<PathBuf>> {
        if let Some(d) = self.db.damage().first() {
            return Err(MeshError::invalid_hint(
                &d.file,
                format!("{}; nothing was written", d.problem),
                "keep what can be read first (`meshpeers export -o FILE`); let the browser open the profile, or restore it from a backup, before writing to it",
            )
            .into());
        }
        let Some(origin) = origin else {
            return Err(MeshError::usage_hint(
                format!("{}: no origin chosen to write to", self.dir.display()),
                "name it with --origin ORIGIN",
            )
            .into());
        };
        let basis = self.read(|db| load_origin(db, origin))?;
        let previous = write::save(&self.dir, origin, &basis, changes, crate::time::now_ms())?;
        // The new database is in place: what follows must not turn into "nothing changed".
        // Read it from now on (the command re-reads and checks it anyway), and prune the
        // oldest kept directories, best effort.
        if let Ok(db) = ReadDb::open(&self.dir) {
            self.db = db;
        }
        write::prune_kept(&self.dir, opts.keep_previous);
        Ok(Some(previous))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(origin_prefix("http://h:1"), b"_http://h:1\0");
    }
}
