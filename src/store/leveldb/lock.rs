//! The lock Chromium honours: a POSIX record lock on `LOCK` (fcntl), not flock.
//! On Linux an open-file-description lock (F_OFD_SETLK), so it conflicts with Chromium's
//! process-associated lock yet is tied to our file handle; held until dropped.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};

use crate::error::MeshError;

pub struct ProfileLock {
    _file: File,
}

#[cfg(target_os = "linux")]
const SET_LOCK: libc::c_int = libc::F_OFD_SETLK;
#[cfg(not(target_os = "linux"))]
const SET_LOCK: libc::c_int = libc::F_SETLK;

/// Takes the write lock on `<dir>/LOCK` without waiting; a browser holding it gives
/// `MeshError::Locked`.
pub fn lock(dir: &Path) -> Result<ProfileLock> {
    let path = dir.join("LOCK");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: an all-zero flock is a valid value; the fields that matter are set below.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = 0;
    fl.l_len = 0; // to EOF, as Chromium locks it
    // SAFETY: a valid descriptor and a pointer to an initialised flock.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), SET_LOCK, &mut fl) };
    if rc == -1 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::EAGAIN | libc::EACCES) => Err(MeshError::Locked {
                path: dir.display().to_string(),
            }
            .into()),
            _ => Err(err).with_context(|| format!("cannot lock {}", path.display())),
        };
    }
    Ok(ProfileLock { _file: file })
}
