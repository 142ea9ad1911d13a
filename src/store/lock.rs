//! Advisory write locks, the kind Chromium honours: POSIX `fcntl` record locks (not `flock`,
//! which Chromium's locks do not see). On Linux meshpeers takes open-file-description locks
//! (`F_OFD_SETLK`): they conflict with a browser's process-associated lock, belong to the
//! handle (so two meshpeers runs exclude each other), and are released when the handle
//! closes or the process dies. Who holds a lock tells the two apart: a browser's lock names
//! its pid, an open-file-description lock (another meshpeers) names none.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::error::MeshError;

/// How long a writer waits for another meshpeers to finish with the same store.
const WAIT: Duration = Duration::from_secs(10);

/// A held write lock; released when dropped.
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// The locked file (for reading exactly what was locked).
    pub fn file(&self) -> &File {
        &self.file
    }
}

#[cfg(target_os = "linux")]
const SET_LOCK: libc::c_int = libc::F_OFD_SETLK;
#[cfg(target_os = "linux")]
const GET_LOCK: libc::c_int = libc::F_OFD_GETLK;
#[cfg(not(target_os = "linux"))]
const SET_LOCK: libc::c_int = libc::F_SETLK;
#[cfg(not(target_os = "linux"))]
const GET_LOCK: libc::c_int = libc::F_GETLK;

fn whole_file_write_lock() -> libc::flock {
    // SAFETY: an all-zero flock is a valid value; the fields that matter are set below.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = 0;
    fl.l_len = 0; // to EOF, as Chromium locks it
    fl
}

/// Tries the write lock without waiting: `Ok(false)` when someone else holds it.
fn try_lock(file: &File) -> std::io::Result<bool> {
    let mut fl = whole_file_write_lock();
    // SAFETY: a valid descriptor and a pointer to an initialised flock.
    if unsafe { libc::fcntl(file.as_raw_fd(), SET_LOCK, &mut fl) } == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN | libc::EACCES) => Ok(false),
        _ => Err(err),
    }
}

/// Who holds a conflicting lock: `Some(pid)` for a process lock (a browser), `None` for an
/// open-file-description lock (another meshpeers) or when no one does any more.
fn holder_pid(file: &File) -> Option<i32> {
    let mut fl = whole_file_write_lock();
    // SAFETY: a valid descriptor and a pointer to an initialised flock.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), GET_LOCK, &mut fl) };
    let held = rc == 0 && i64::from(fl.l_type) != i64::from(libc::F_UNLCK) && fl.l_pid > 0;
    held.then_some(fl.l_pid)
}

/// The process holding any lock on bytes `start..start + len` of `path` (a probe that takes
/// no lock: SQLite's connections to a WAL database keep a read lock on their `-shm` file's
/// bytes 120–135 while open).
pub fn range_holder(path: &Path, start: i64, len: i64) -> Option<i32> {
    let file = File::open(path).ok()?;
    let mut fl = whole_file_write_lock();
    fl.l_start = start as _;
    fl.l_len = len as _;
    // SAFETY: a valid descriptor and a pointer to an initialised flock.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), GET_LOCK, &mut fl) };
    let held = rc == 0 && i64::from(fl.l_type) != i64::from(libc::F_UNLCK) && fl.l_pid > 0;
    held.then_some(fl.l_pid)
}

/// Whether the process holding a process lock is another meshpeers. Where open-file-
/// description locks exist (Linux) a meshpeers lock has no process and never comes here.
/// On macOS meshpeers takes process locks like Chromium, so the holder's name tells them
/// apart: another meshpeers is waited for, a browser refused at once.
#[cfg(target_os = "macos")]
fn another_meshpeers(pid: i32) -> bool {
    let mut name = [0u8; 256];
    // SAFETY: the buffer is valid for its length; proc_name writes at most that much.
    let n = unsafe { libc::proc_name(pid, name.as_mut_ptr().cast(), name.len() as u32) };
    let ours = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    n > 0 && ours.is_some_and(|o| name[..n as usize] == *o.as_bytes())
}

#[cfg(not(target_os = "macos"))]
fn another_meshpeers(_: i32) -> bool {
    false
}

/// What is being locked, for the messages.
#[derive(Clone, Copy)]
pub enum Target {
    /// A browser profile's `LOCK` file: a process holding it is the browser.
    Profile,
    /// A Firefox profile's `.parentlock`: a process holding it is Firefox.
    FirefoxProfile,
    /// A store file (JSON dump, Playwright state).
    StoreFile,
}

/// Takes the write lock on `path` (opened read-write, created for a profile's `LOCK`). A
/// browser holding it refuses at once (`MeshError::Locked`); another meshpeers is waited for,
/// up to 10 s, then refused (`MeshError::Busy`). `shown` is the path the messages name.
pub fn lock(path: &Path, target: Target, shown: &Path) -> Result<FileLock> {
    let start = Instant::now();
    loop {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(!matches!(target, Target::StoreFile))
            .truncate(false)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        if try_lock(&file).with_context(|| format!("cannot lock {}", path.display()))? {
            // A store file replaced (renamed over) while we waited is locked again under
            // its new identity: the lock must be on the file the path names now.
            if matches!(target, Target::StoreFile) && !same_file(&file, path) {
                continue;
            }
            return Ok(FileLock { file });
        }
        match (holder_pid(&file), target) {
            (Some(pid), Target::Profile | Target::FirefoxProfile) if !another_meshpeers(pid) => {
                return Err(MeshError::Locked {
                    path: shown.display().to_string(),
                    browser: match target {
                        Target::FirefoxProfile => Some(("Firefox", pid)),
                        _ => None,
                    },
                }
                .into());
            }
            _ if start.elapsed() >= WAIT => {
                return Err(MeshError::Busy {
                    path: shown.display().to_string(),
                }
                .into());
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The process (a browser) holding a write lock on `path` now, if any: a probe that takes no
/// lock and changes nothing (the file is opened read-only, and not created).
pub fn holder(path: &Path) -> Option<i32> {
    let file = File::open(path).ok()?;
    holder_pid(&file).filter(|pid| !another_meshpeers(*pid))
}

/// A lock only meshpeers runs take, on a directory (`flock`, which needs no write access):
/// for stores outside a browser profile, where no browser lock exists to take. Waits for
/// another meshpeers up to 10 s, then refuses (`MeshError::Busy`).
pub fn lock_dir(dir: &Path, shown: &Path) -> Result<FileLock> {
    let start = Instant::now();
    let file = File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    loop {
        // SAFETY: a valid descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(FileLock { file });
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(err).with_context(|| format!("cannot lock {}", dir.display()));
        }
        if start.elapsed() >= WAIT {
            return Err(MeshError::Busy {
                path: shown.display().to_string(),
            }
            .into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// What a store file was when it was read: a save goes ahead only while it still is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIdentity {
    path: PathBuf,
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl FileIdentity {
    pub fn of(path: &Path) -> std::io::Result<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok(FileIdentity {
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        })
    }

    /// Whether the path still names the same, unchanged file.
    pub fn unchanged(&self) -> bool {
        FileIdentity::of(&self.path).is_ok_and(|now| now == *self)
    }
}
