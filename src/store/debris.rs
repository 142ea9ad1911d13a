//! Leftovers of meshpeers runs that were killed: a write's work directory beside a browser
//! profile (`.<name>.meshpeers-new-<pid>`, a whole copy of the database) and the temporary
//! files of atomic saves and side files (`.meshpeers-<pid>-….tmp`). Each names the process
//! that made it; once that process is gone the leftover is never the only copy of anything
//! (before the swap it is an unfinished copy, after it the previous state, whose namespace is
//! in the backup and whose other origins are in the live database), so every run removes
//! those beside the store it opens and says so.

use std::path::{Path, PathBuf};

/// The name of a write's work directory for the database `name`, made by this process.
pub fn work_dir_name(name: &str) -> String {
    format!(".{name}.meshpeers-new-{}", std::process::id())
}

/// The prefix of this process's temporary files.
pub fn temp_prefix() -> String {
    format!(".meshpeers-{}-", std::process::id())
}

/// The pid a leftover's name carries, if it is one of meshpeers'.
fn owner(name: &str) -> Option<i32> {
    let pid = if let Some(rest) = name
        .strip_prefix('.')
        .filter(|_| name.contains(".meshpeers-new-"))
    {
        rest.rsplit_once(".meshpeers-new-")?.1
    } else {
        let rest = name.strip_prefix(".meshpeers-")?.strip_suffix(".tmp")?;
        rest.split_once('-')?.0
    };
    pid.parse().ok().filter(|p| *p > 0)
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes the leftovers of dead meshpeers processes in `dir`; gives what was removed.
pub fn sweep(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    // A work directory an interrupted swap still names may be the only copy of a write.
    let needed = super::leveldb::swap_marker::referenced(dir);
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if needed.contains(&name) {
            continue;
        }
        let Some(pid) = owner(&name) else { continue };
        if alive(pid) {
            continue;
        }
        let path = e.path();
        let gone = match e.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path).is_ok(),
            Ok(_) => std::fs::remove_file(&path).is_ok(),
            Err(_) => false,
        };
        if gone {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_pid() {
        assert_eq!(owner(".leveldb.meshpeers-new-4242"), Some(4242));
        assert_eq!(owner(".meshpeers-77-Ab3xY.tmp"), Some(77));
        assert_eq!(owner(".meshpeers-Ab3xY.tmp"), None);
        assert_eq!(owner("leveldb.meshpeers-backup-20261203T070050.123Z"), None);
        assert_eq!(owner("store.json"), None);
        assert!(work_dir_name("leveldb").starts_with(".leveldb.meshpeers-new-"));
    }

    #[test]
    fn only_the_leftovers_of_dead_processes_go() {
        let dir = tempfile::tempdir().unwrap();
        // A pid that cannot run (above any pid_max) and this process's own.
        let dead = dir.path().join(".meshpeers-2147483646-x.tmp");
        let ours = dir.path().join(format!("{}x.tmp", temp_prefix()));
        let work = dir.path().join(".leveldb.meshpeers-new-2147483646");
        std::fs::write(&dead, "x").unwrap();
        std::fs::write(&ours, "x").unwrap();
        std::fs::create_dir(&work).unwrap();
        std::fs::write(work.join("CURRENT"), "x").unwrap();
        std::fs::write(dir.path().join("store.json"), "{}").unwrap();
        assert_eq!(sweep(dir.path()), [work.clone(), dead.clone()]);
        assert!(ours.exists() && dir.path().join("store.json").exists());
    }
}
