//! What the SQLite backends share (Firefox's `data.sqlite`, Chromium's `LocalStorage`,
//! WebKit's `localstorage.sqlite3` / `*.localstorage`): a consistent private snapshot of a
//! database a browser may have open, the sniffing of which browser's schema a file holds, and
//! the copy of the previous state a save keeps.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};

use crate::error::MeshError;
use crate::store::{atomic, debris};

/// The files SQLite keeps beside a database: the rollback journal and the write-ahead log.
const COMPANIONS: [&str; 2] = ["-journal", "-wal"];

/// The path of a database's companion file (`-journal`, `-wal`, `-shm`).
pub fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn invalid(path: &Path, problem: impl Into<String>) -> anyhow::Error {
    MeshError::invalid(path.display(), problem).into()
}

/// Runs `read` on a consistent, private snapshot of the database, never changing a byte of
/// it, also while a browser has it open. Without a journal or write-ahead log holding
/// anything, the file is opened read-only and immutable (only the pages the read needs are
/// read) and the result kept if the file did not change meanwhile. Otherwise the database and
/// its journal / log are copied into a private directory and opened there, where SQLite rolls
/// a hot journal back or replays the log's committed frames: the last committed state. Again
/// while a file changed during the copy, at most 20 times (then `MeshError::Busy`). `what`
/// names the expected format in messages ("a Firefox localStorage database").
pub fn with_snapshot<T>(
    path: &Path,
    what: &str,
    read: impl Fn(&Connection) -> Result<T>,
) -> Result<T> {
    let stamps = || -> Result<Vec<Option<(u64, std::time::SystemTime)>>> {
        std::iter::once(path.to_path_buf())
            .chain(COMPANIONS.iter().map(|s| companion(path, s)))
            .map(|p| stamp(&p))
            .collect()
    };
    let open_error = |e: rusqlite::Error| invalid(path, format!("is not {what} ({e})"));
    for _ in 0..20 {
        let before = stamps()?;
        if before[0].is_none() {
            return Err(invalid(path, "does not exist"));
        }
        if before[1..]
            .iter()
            .all(|s| s.is_none_or(|(len, _)| len == 0))
        {
            // Nothing in a journal or log: the file alone is the database. It is opened
            // read-only and immutable (no lock taken, nothing written, only the pages the
            // read needs are read), and the result kept only if the file is still as it was.
            check_header(path, &head_of(path)?)?;
            let conn = Connection::open_with_flags(
                immutable_uri(path),
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(open_error)?;
            let result = read(&conn);
            drop(conn);
            if stamps()? == before {
                return result;
            }
        } else {
            let dir = tempfile::Builder::new()
                .prefix("meshpeers-sqlite-")
                .tempdir()
                .context("cannot make a private directory for the database copy")?;
            let copy = dir.path().join("db");
            fs::copy(path, &copy).with_context(|| format!("cannot read {}", path.display()))?;
            for suffix in COMPANIONS {
                let from = companion(path, suffix);
                match fs::copy(&from, companion(&copy, suffix)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(e).with_context(|| format!("cannot read {}", from.display()));
                    }
                }
            }
            if stamps()? == before {
                check_header(path, &fs::read(&copy)?)?;
                let conn = Connection::open_with_flags(
                    &copy,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| invalid(path, format!("cannot be opened as SQLite ({e})")))?;
                return read(&conn);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(MeshError::Busy {
        path: path.display().to_string(),
    }
    .into())
}

/// A `file:` URI opening `path` read-only and immutable.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'?' | b'#' | b'%' | 0x00..=0x20 | 0x7f..=0xff => uri.push_str(&format!("%{b:02X}")),
            _ => uri.push(char::from(*b)),
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

/// The first 100 bytes of a file (fewer when it is shorter).
fn head_of(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(100);
    fs::File::open(path)
        .and_then(|f| f.take(100).read_to_end(&mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(head)
}

/// An SQLite database starts with its 16-byte magic and a 100-byte header.
pub fn check_header(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(invalid(path, "is empty, not an SQLite database"));
    }
    if bytes.len() < 100 || !bytes.starts_with(MAGIC) {
        return Err(invalid(
            path,
            "is not an SQLite database (it does not start with \"SQLite format 3\")",
        ));
    }
    Ok(())
}

/// The first 16 bytes of every SQLite database.
pub const MAGIC: &[u8] = b"SQLite format 3\0";

/// Size and modification time, or `None` for a missing file.
fn stamp(path: &Path) -> Result<Option<(u64, std::time::SystemTime)>> {
    match fs::metadata(path) {
        Ok(m) => Ok(Some((m.len(), m.modified()?))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Which browser's localStorage schema an SQLite database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Firefox,
    Chromium,
    Webkit,
}

/// The schema of the SQLite database at `path` by its tables; `None` when it is not SQLite
/// or holds none of them (the caller's default then reports the problem).
pub fn sniff(path: &Path) -> Option<Schema> {
    with_snapshot(path, "an SQLite database", |conn| {
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let has = |t: &str| names.iter().any(|n| n == t);
        Ok(if has("map_entries") && has("maps") {
            Some(Schema::Chromium)
        } else if has("ItemTable") {
            Some(Schema::Webkit)
        } else if has("data") && has("database") {
            Some(Schema::Firefox)
        } else {
            None
        })
    })
    .ok()
    .flatten()
}

/// Copies `files` (those that exist) into a new directory `<base>.meshpeers-backup-<UTC>`
/// beside `base`, built under a work name, synced, then renamed; gives its path.
pub fn keep_copies(base: &Path, files: &[PathBuf]) -> Result<PathBuf> {
    let parent = base.parent().context("a database has a directory")?;
    let name = base
        .file_name()
        .context("a database has a name")?
        .to_string_lossy()
        .into_owned();
    let kept = atomic::unused_stamped_path(parent, crate::store::leveldb::KEPT_STAMP, |stamp| {
        format!("{name}.{}{stamp}", crate::store::leveldb::KEPT_INFIX)
    });
    let work = parent.join(debris::work_dir_name(&name));
    let result = (|| {
        if work.exists() {
            fs::remove_dir_all(&work)?;
        }
        fs::create_dir(&work)?;
        for f in files.iter().filter(|f| f.is_file()) {
            let to = work.join(f.file_name().context("a file has a name")?);
            fs::copy(f, &to)?;
            fs::File::open(&to)?.sync_all()?;
        }
        sync_dir(&work)?;
        fs::rename(&work, &kept)?;
        sync_dir(parent)
    })();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&work);
        return Err(e).with_context(|| {
            format!(
                "cannot keep a copy of the previous state at {}",
                kept.display()
            )
        });
    }
    Ok(kept)
}

/// Gives `path` the owner of `reference` (when meshpeers runs as root on a user's profile,
/// so the browser can still write what meshpeers made); best effort.
pub fn own_like(path: &Path, reference: &Path) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = fs::metadata(reference) {
        let _ = std::os::unix::fs::lchown(path, Some(m.uid()), Some(m.gid()));
    }
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

/// Opens a database to write it: read-write (never created), synchronous FULL, and a write
/// lock that another process holds (the browser, with its exclusive locking) turns into
/// `MeshError::Locked`-like refusal by the caller through `busy`.
pub fn open_for_write(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(2))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// An SQLite error while writing `path`: busy (another process holds it) is
/// `MeshError::Busy`, anything else names the file.
pub fn write_error(path: &Path) -> impl Fn(rusqlite::Error) -> anyhow::Error + '_ {
    move |e| {
        if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) {
            MeshError::Busy {
                path: path.display().to_string(),
            }
            .into()
        } else {
            anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAL database whose last commit is only in the -wal file reads with that commit,
    /// and neither file changes.
    #[test]
    fn a_wal_database_reads_its_last_commit_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LocalStorage");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = wal; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE t(v); INSERT INTO t VALUES (1);",
        )
        .unwrap();
        conn.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let wal = companion(&path, "-wal");
        assert!(fs::metadata(&wal).unwrap().len() > 0);
        let (db, log) = (fs::read(&path).unwrap(), fs::read(&wal).unwrap());
        let read = |c: &Connection| -> Result<i64> {
            Ok(c.query_row("SELECT sum(v) FROM t", [], |r| r.get(0))?)
        };
        assert_eq!(with_snapshot(&path, "x", read).unwrap(), 3);
        assert_eq!(fs::read(&path).unwrap(), db);
        assert_eq!(fs::read(&wal).unwrap(), log);
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        drop(conn);
        // Checkpointed (the header still says WAL): read from memory.
        assert_eq!(with_snapshot(&path, "x", read).unwrap(), 3);
        assert_eq!(sniff(&path), None);
    }
}
