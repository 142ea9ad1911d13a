//! Writing one origin of a Chromium profile without ever editing it in place: under the
//! browser's own lock, copy the directory, apply the change to the copy in one write batch
//! (canonical encodings, other-encoding twins deleted, META rewritten in Chromium's 1601 epoch),
//! verify the copy, sync it, then swap directories with renames and keep the previous one.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rusty_leveldb::compressor::{CompressorId, SnappyCompressor};
use rusty_leveldb::{DB, LdbIterator, Options, WriteBatch};

use super::meta::{Meta, chromium_time};
use super::{ReadDb, encoding, load_origin, origin_prefix};
use crate::error::MeshError;
use crate::output::progress::Progress;
use crate::store::lock::{self, Target};
use crate::store::{Area, ChangeSet};

/// Applies `changes` to `origin` of the database in `dir`, whose origin held `basis` when it
/// was read. Gives the path where the previous directory is kept.
pub fn save(
    dir: &Path,
    origin: &str,
    basis: &Area,
    changes: &ChangeSet,
    now_ms: f64,
) -> Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let _lock = lock::lock(&dir.join("LOCK"), Target::Profile, &dir)?;
    let location = dir.display().to_string();

    // Under the lock, the origin must still be what the plan was made from.
    {
        let mut db = ReadDb::open(&dir)?;
        if db.read(|db| load_origin(db, origin))? != *basis {
            return Err(MeshError::Changed(format!(
                "{location}: {origin} changed since it was read (another program wrote it meanwhile); nothing was written"
            ))
            .into());
        }
    }

    let parent = dir.parent().context("a database directory has a parent")?;
    let name = dir
        .file_name()
        .context("a database directory has a name")?
        .to_string_lossy()
        .into_owned();
    let work = parent.join(crate::store::debris::work_dir_name(&name));
    let result = crate::error::guard_leveldb(&dir, || {
        write_copy(&dir, &work, origin, basis, changes, now_ms)
    })
    .and_then(|()| swap(&dir, &work, parent, &name));
    if result.is_err() && work.exists() {
        let _ = fs::remove_dir_all(&work);
    }
    result.with_context(|| format!("{location}: nothing was changed"))
}

fn write_copy(
    dir: &Path,
    work: &Path,
    origin: &str,
    basis: &Area,
    changes: &ChangeSet,
    now_ms: f64,
) -> Result<()> {
    if work.exists() {
        fs::remove_dir_all(work).with_context(|| format!("cannot remove {}", work.display()))?;
    }
    copy_dir(dir, work)?;
    let prefix = origin_prefix(origin);
    {
        let opts = Options {
            create_if_missing: false,
            compressor: SnappyCompressor::ID,
            ..Options::default()
        };
        let mut db = DB::open(work, opts)
            .map_err(|e| status_error(e, format!("cannot open the copy {}", work.display())))?;
        // The origin's entries as stored (key bytes after the prefix → value length).
        let mut sizes = std::collections::BTreeMap::new();
        {
            let mut it = db
                .new_iter()
                .map_err(|e| status_error(e, format!("reading the copy {}", work.display())))?;
            it.seek(&prefix);
            while let Some((k, v)) = it.current() {
                let Some(rest) = k.strip_prefix(prefix.as_slice()) else {
                    break;
                };
                sizes.insert(rest.to_vec(), v.len());
                if !it.advance() {
                    break;
                }
            }
        }
        let mut batch = WriteBatch::default();
        for (k, v) in changes.iter() {
            let canonical = encoding::encode(k);
            let twins = [encoding::latin1(k), Some(encoding::utf16(k))];
            for twin in twins.into_iter().flatten() {
                if twin != canonical || v.is_none() {
                    batch.delete(&[prefix.as_slice(), &twin].concat());
                    sizes.remove(&twin);
                }
            }
            if let Some(v) = v {
                let value = encoding::encode(v);
                sizes.insert(canonical.clone(), value.len());
                batch.put(&[prefix.as_slice(), &canonical].concat(), &value);
            }
        }
        let size_bytes = sizes.iter().map(|(k, v)| (k.len() + v) as u64).sum();
        let meta = Meta {
            last_modified: chromium_time(now_ms),
            size_bytes,
        };
        batch.put(format!("META:{origin}").as_bytes(), &meta.encode());
        if db.get(b"VERSION").is_none() {
            batch.put(b"VERSION", b"1");
        }
        db.write(batch, true)
            .map_err(|e| status_error(e, format!("writing the copy {}", work.display())))?;
        db.close()
            .map_err(|e| status_error(e, format!("closing the copy {}", work.display())))?;
    }
    verify(dir, work, origin, &changes.applied_to(basis))?;
    sync_dir(dir, work)
}

/// The copy holds exactly the intended map for the origin, and every other key of the
/// database is unchanged (compared in one pass over both, in key order).
fn verify(dir: &Path, work: &Path, origin: &str, expected: &Area) -> Result<()> {
    let mut copy = ReadDb::open(work)?;
    let got = copy.read(|db| load_origin(db, origin))?;
    if got != *expected {
        bail!("the copy does not hold the intended map for {origin} (nothing was swapped in)");
    }
    drop(copy);
    if copy_only_appended(dir, work, origin)? {
        return Ok(());
    }
    let mut copy = ReadDb::open(work)?;
    let mut orig = ReadDb::open(dir)?;
    // Every block of both is read here: damage anywhere in the original stops the write.
    let same = compare_outside(orig.db_mut(), copy.db_mut(), origin);
    orig.check()?;
    copy.check()?;
    same
}

/// Whether the copy provably differs from the original only by what the write appended for
/// `origin`: every table is the original's own file (the same inode, hard-linked), CURRENT
/// names the same MANIFEST, the MANIFEST and the logs only grew, the MANIFEST's new records
/// add or drop no table and keep the log number, and every record appended to a log writes
/// only the origin's keys, its `META:` and `VERSION`. Then no other key can have changed,
/// and the comparison of every key (which reads the whole database) is not needed. Anything
/// else (LevelDB compacted, started a new log) gives `false`.
fn copy_only_appended(dir: &Path, work: &Path, origin: &str) -> Result<bool> {
    use super::logcheck::{batch_keys, edit_log_number, manifest_log_number, records_from};
    use std::os::unix::fs::MetadataExt;
    let names = |d: &Path| -> Result<std::collections::BTreeSet<String>> {
        Ok(fs::read_dir(d)
            .with_context(|| format!("cannot list {}", d.display()))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !matches!(n.as_str(), "LOCK" | "LOG" | "LOG.old"))
            .collect())
    };
    let (a, b) = (names(dir)?, names(work)?);
    if a != b {
        return Ok(false);
    }
    let read = |d: &Path, n: &str| {
        fs::read(d.join(n)).with_context(|| format!("cannot read {}", d.join(n).display()))
    };
    let current = read(dir, "CURRENT")?;
    if read(work, "CURRENT")? != current {
        return Ok(false);
    }
    let manifest_name = String::from_utf8_lossy(&current).trim_end().to_owned();
    let prefix = origin_prefix(origin);
    let meta = format!("META:{origin}").into_bytes();
    let allowed = |k: &[u8]| k.starts_with(&prefix) || k == meta.as_slice() || k == b"VERSION";
    for name in &a {
        let is_table = name.ends_with(".ldb") || name.ends_with(".sst");
        if is_table {
            let (x, y) = (
                fs::metadata(dir.join(name))?,
                fs::metadata(work.join(name))?,
            );
            if (x.dev(), x.ino()) != (y.dev(), y.ino()) {
                return Ok(false);
            }
            continue;
        }
        let is_log = name.ends_with(".log");
        if !is_log && *name != manifest_name {
            continue;
        }
        let (old, new) = (read(dir, name)?, read(work, name)?);
        if !new.starts_with(&old) {
            return Ok(false);
        }
        let Some(appended) = records_from(&new, old.len()) else {
            return Ok(false);
        };
        if is_log {
            for record in &appended {
                match batch_keys(record) {
                    Some(keys) if keys.iter().all(|k| allowed(k)) => {}
                    _ => return Ok(false),
                }
            }
        } else {
            let before = manifest_log_number(&old);
            for record in &appended {
                match edit_log_number(record) {
                    Some(None) => {}
                    Some(log) if log == before => {}
                    _ => return Ok(false),
                }
            }
        }
    }
    Ok(true)
}

fn compare_outside(orig: &mut DB, copy: &mut DB, origin: &str) -> Result<()> {
    let prefix = origin_prefix(origin);
    let meta = format!("META:{origin}").into_bytes();
    let skip = |k: &[u8]| k.starts_with(&prefix) || k == meta.as_slice() || k == b"VERSION";
    let mut a = orig
        .new_iter()
        .map_err(|e| status_error(e, "reading the database".into()))?;
    let mut b = copy
        .new_iter()
        .map_err(|e| status_error(e, "reading the copy".into()))?;
    a.seek_to_first();
    b.seek_to_first();
    loop {
        while a.current().is_some_and(|(k, _)| skip(&k)) && a.advance() {}
        while b.current().is_some_and(|(k, _)| skip(&k)) && b.advance() {}
        let (x, y) = (
            a.current().filter(|(k, _)| !skip(k)),
            b.current().filter(|(k, _)| !skip(k)),
        );
        match (x, y) {
            (None, None) => return Ok(()),
            (Some(x), Some(y)) if x == y => {
                a.advance();
                b.advance();
            }
            (x, y) => bail!(
                "the copy differs outside {origin} (at {:?} / {:?}); nothing was swapped in",
                x.map(|p| String::from_utf8_lossy(&p.0).into_owned()),
                y.map(|p| String::from_utf8_lossy(&p.0).into_owned())
            ),
        }
    }
}

/// Copies the database directory: the immutable tables are hard-linked (copied when a link
/// cannot be made, e.g. across file systems), so a write on a large profile costs about what a
/// small one does and the kept previous directory almost no disk; CURRENT, the MANIFEST and
/// the logs, which the write changes, are copied.
/// A rusty-leveldb error as meshpeers reports it: an I/O failure (a full disk, a permission)
/// is an I/O error (exit 4), anything else a failure of the write (its message kept).
fn status_error(e: rusty_leveldb::Status, what: String) -> anyhow::Error {
    let error = if e.code == rusty_leveldb::StatusCode::IOError {
        anyhow::Error::new(std::io::Error::other(e.err))
    } else {
        anyhow::anyhow!("{}", e.err)
    };
    error.context(what)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
    set_mode(to, 0o700)?;
    let mut files = Vec::new();
    for e in fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))? {
        let e = e?;
        if e.file_type()?.is_file() {
            files.push((e.path(), e.file_name(), e.metadata()?.len()));
        }
    }
    let progress = Progress::bytes(
        files.iter().map(|f| f.2).sum(),
        format!("copying {}", from.display()),
    );
    for (path, name, len) in files {
        let target = to.join(&name);
        let name = name.to_string_lossy();
        let table = name.ends_with(".ldb") || name.ends_with(".sst");
        if !(table && fs::hard_link(&path, &target).is_ok()) {
            fs::copy(&path, &target).with_context(|| format!("cannot copy {}", path.display()))?;
        }
        progress.inc(len);
    }
    Ok(())
}

fn set_mode(p: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(p, fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {}", p.display()))?;
    }
    Ok(())
}

/// Files 0600 like Chromium's, each synced, then the directory.
/// Files 0600 like Chromium's, each synced, then the directory. A table hard-linked from the
/// original (`orig`) is the original's own file, already on disk: touching its mode or
/// syncing it again would cost a journal commit per table and change nothing.
fn sync_dir(orig: &Path, dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    for e in fs::read_dir(dir)? {
        let e = e?;
        if !e.file_type()?.is_file() {
            continue;
        }
        let shared = fs::metadata(orig.join(e.file_name()))
            .ok()
            .zip(e.metadata().ok())
            .is_some_and(|(a, b)| (a.dev(), a.ino()) == (b.dev(), b.ino()));
        if shared {
            continue;
        }
        set_mode(&e.path(), 0o600)?;
        fs::File::open(e.path())?.sync_all()?;
    }
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Puts the copy in the database's place with no instant at which the profile lacks its
/// database: the two directories are exchanged atomically (`renameat2(RENAME_EXCHANGE)` on
/// Linux), then the previous one, now under the work name, is renamed to its kept name. Where
/// the exchange is not available, two renames (the previous database first moved aside).
fn swap(dir: &Path, work: &Path, parent: &Path, name: &str) -> Result<PathBuf> {
    // Milliseconds: the names sort in the order of the writes, and pruning never frees a
    // name that a later write in the same second would take again.
    let previous = crate::store::atomic::unused_stamped_path(parent, KEPT_STAMP, |stamp| {
        format!("{name}.{KEPT_INFIX}{stamp}")
    });
    if exchange(work, dir)? {
        fs::rename(work, &previous).with_context(|| {
            format!(
                "the new database is in place; the previous one stays at {}",
                work.display()
            )
        })?;
    } else {
        // Two renames, with a marker that the next run uses to finish or undo them.
        super::swap_marker::begin(dir, work, &previous)?;
        fs::rename(dir, &previous)
            .with_context(|| format!("cannot move {} aside", dir.display()))?;
        if let Err(e) = fs::rename(work, dir) {
            // Put the original back where it was.
            let _ = fs::rename(&previous, dir);
            super::swap_marker::end(dir);
            return Err(e)
                .with_context(|| format!("cannot move the new database to {}", dir.display()));
        }
        fs::File::open(parent)?.sync_all()?;
        super::swap_marker::end(dir);
    }
    fs::File::open(parent)?.sync_all()?;
    Ok(previous)
}

/// The name meshpeers gives a kept previous database: `<name>.meshpeers-backup-<UTC time>`.
pub(crate) const KEPT_INFIX: &str = "meshpeers-backup-";
pub(crate) const KEPT_STAMP: &str = "%Y%m%dT%H%M%S%.3fZ";

/// Exchanges two directories atomically; `false` when the system or file system cannot (or,
/// for the tests of the fallback, when `MESHPEERS_TEST_NO_EXCHANGE` is set).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    if std::env::var_os("MESHPEERS_TEST_NO_EXCHANGE").is_some() {
        return Ok(false);
    }
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let (ca, cb) = (
        CString::new(a.as_os_str().as_bytes())?,
        CString::new(b.as_os_str().as_bytes())?,
    );
    // SAFETY: two valid NUL-terminated paths; AT_FDCWD resolves them as given (absolute).
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP) => Ok(false),
        _ => Err(anyhow::Error::new(err).context(format!(
            "cannot put the new database in place at {}",
            b.display()
        ))),
    }
}

/// macOS: `renamex_np(RENAME_SWAP)` (APFS and HFS+ support it; others say ENOTSUP).
#[cfg(target_os = "macos")]
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let (ca, cb) = (
        CString::new(a.as_os_str().as_bytes())?,
        CString::new(b.as_os_str().as_bytes())?,
    );
    // SAFETY: two valid NUL-terminated paths.
    let rc = unsafe { libc::renamex_np(ca.as_ptr(), cb.as_ptr(), libc::RENAME_SWAP) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL | libc::ENOTSUP) => Ok(false),
        _ => Err(anyhow::Error::new(err).context(format!(
            "cannot put the new database in place at {}",
            b.display()
        ))),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn exchange(_: &Path, _: &Path) -> Result<bool> {
    Ok(false)
}

/// Removes the oldest previous databases meshpeers kept beside `dir`, leaving `keep`. Best
/// effort: they are copies of older states, and the write has already succeeded.
pub(crate) fn prune_kept(dir: &Path, keep: usize) -> Vec<PathBuf> {
    let Ok(dir) = dir.canonicalize() else {
        return Vec::new();
    };
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Vec::new();
    };
    let prefix = format!("{}.{KEPT_INFIX}", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut kept: Vec<(String, u32, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let stamp = n.strip_prefix(&prefix)?.to_owned();
            // `<UTC time>` or `<UTC time>-<n>` when two writes fell in one millisecond.
            let (time, count) = match stamp.split_once("Z-") {
                Some((t, c)) => (format!("{t}Z"), c.parse().ok()?),
                None => (stamp, 1),
            };
            Some((time, count, e.path()))
        })
        .collect();
    kept.sort();
    let excess = kept.len().saturating_sub(keep);
    kept.into_iter()
        .take(excess)
        .filter(|(_, _, p)| fs::remove_dir_all(p).is_ok())
        .map(|(_, _, p)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(dir: &Path, key: &[u8]) {
        let mut db = DB::open(dir, Options::default()).unwrap();
        db.put(key, b"\x01v").unwrap();
        db.close().unwrap();
    }

    #[test]
    fn a_copy_that_only_appended_the_origins_keys_is_proven_so_anything_else_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("leveldb");
        let mut db = DB::open(
            &dir,
            Options {
                create_if_missing: true,
                ..Options::default()
            },
        )
        .unwrap();
        for i in 0..50 {
            db.put(format!("_http://a\0\x01k{i}").as_bytes(), &[1u8; 500])
                .unwrap();
            db.put(format!("_http://b\0\x01k{i}").as_bytes(), &[1u8; 500])
                .unwrap();
        }
        db.compact_range(b"\x00", b"\xff").unwrap();
        db.close().unwrap();
        let origin = "http://a";
        let fresh = |name: &str| {
            let work = tmp.path().join(name);
            copy_dir(&dir, &work).unwrap();
            work
        };
        let work = fresh("ok");
        put(&work, b"_http://a\0\x01new");
        put(&work, b"META:http://a");
        assert!(copy_only_appended(&dir, &work, origin).unwrap());
        let work = fresh("foreign");
        put(&work, b"_http://a\0\x01new");
        put(&work, b"_http://b\0\x01sneaky");
        assert!(!copy_only_appended(&dir, &work, origin).unwrap());
        let work = fresh("rewritten");
        put(&work, b"_http://a\0\x01new");
        let mut db = DB::open(&work, Options::default()).unwrap();
        db.compact_range(b"\x00", b"\xff").unwrap();
        db.close().unwrap();
        assert!(!copy_only_appended(&dir, &work, origin).unwrap());
    }
}
