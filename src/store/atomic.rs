//! Replacing a file atomically: a temporary file in the same directory, fsync, rename, then an
//! fsync of the directory, so a crash at any instant leaves either the old file or the new one.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Replaces `path` with `bytes`. The file keeps its permission bits and (where allowed) its
/// owner; a symlink is followed so the link stays a link. A new file gets `new_mode`.
pub fn replace_file(path: &Path, bytes: &[u8], new_mode: u32) -> Result<()> {
    replace_file_with(path, new_mode, &mut |w| w.write_all(bytes))
}

/// `replace_file` with the new content written by `write` (through a buffer), so a large
/// store need not be built in memory first.
pub fn replace_file_with(
    path: &Path,
    new_mode: u32,
    write_content: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let target = match fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e).with_context(|| format!("resolving {}", path.display())),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let old = fs::metadata(&target).ok();

    let mut tmp = tempfile::Builder::new()
        .prefix(&crate::store::debris::temp_prefix())
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| {
            format!(
                "cannot write {}: creating a temporary file",
                target.display()
            )
        })?;
    let mut write = |tmp: &mut tempfile::NamedTempFile| -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mode = old.as_ref().map_or(new_mode, |m| m.mode() & 0o7777);
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some(m) = &old {
            // Keeping the owner only works for root or the owner itself; either way is fine.
            let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(m.uid()), Some(m.gid()));
        }
        let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        write_content(&mut out)?;
        out.flush()?;
        drop(out);
        tmp.as_file().sync_all()
    };
    write(&mut tmp).with_context(|| format!("cannot write {}", target.display()))?;
    tmp.persist(&target)
        .with_context(|| format!("replacing {}", target.display()))?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))?;
    Ok(())
}

/// Replaces the directory entry `path` (a file or a symlink, never followed) with a new file
/// of `bytes` and mode `mode`, atomically.
pub fn replace_entry(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&crate::store::debris::temp_prefix())
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write {}: creating a temporary file", path.display()))?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .and_then(|()| tmp.write_all(bytes))
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("replacing {}", path.display()))?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))?;
    Ok(())
}

/// A path in `dir` that does not exist yet, named by `name` from the UTC time of now in
/// `format` (e.g. `20261203T065002Z`), then `…-2`, `…-3` when taken: backups and kept
/// directories.
pub fn unused_stamped_path(dir: &Path, format: &str, name: impl Fn(&str) -> String) -> PathBuf {
    let stamp = chrono::Utc::now().format(format).to_string();
    (1..)
        .map(|n| {
            let stamp = if n == 1 {
                stamp.clone()
            } else {
                format!("{stamp}-{n}")
            };
            dir.join(name(&stamp))
        })
        .find(|p| !p.exists())
        .expect("a free name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keeps_mode_and_symlink_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, b"old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        replace_file(&link, b"new", 0o600).unwrap();

        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }

    #[test]
    fn new_file_gets_requested_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.json");
        replace_file(&p, b"{}", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn failure_leaves_original_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        fs::write(&p, b"keep").unwrap();
        let ro = fs::Permissions::from_mode(0o555);
        fs::set_permissions(dir.path(), ro).unwrap();
        let result = replace_file(&p, b"new", 0o600);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        // root may write into a read-only directory; then the write simply succeeds.
        if result.is_err() {
            assert_eq!(fs::read(&p).unwrap(), b"keep");
        }
    }
}
