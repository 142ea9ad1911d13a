//! A full disk during a write: on a small tmpfs, a write whose backup does not fit, and one
//! whose new store does not fit, each exit 4 naming the file, leave the store as it was and
//! leave no half-written file (no partial backup, no temporary file).

use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::support::{TestEnv, repo, run};

/// A tmpfs mounted on a fresh directory (root only), unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    _env: TestEnv,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let env = TestEnv::new();
        let dir = env.path("fs");
        std::fs::create_dir(&dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // SAFETY: geteuid has no preconditions.
            let root = unsafe { libc::geteuid() } == 0;
            if root && std::env::var_os("MESHPEERS_REQUIRE_BROWSER").is_some() {
                panic!("cannot mount a tmpfs as root; the disk-full tests need one");
            }
            eprintln!("SKIPPED: cannot mount a tmpfs; disk-full tests did not run");
            return None;
        }
        Some(Tmpfs { dir, _env: env })
    }

    /// Fills the file system until `bytes` are left free.
    fn leave_free(&self, bytes: u64) {
        let c = CString::new(self.dir.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid path and an out-parameter statvfs.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
        let free = st.f_bavail as u64 * st.f_frsize as u64;
        assert!(free > bytes, "only {free} bytes free");
        std::fs::write(self.dir.join("filler"), vec![0u8; (free - bytes) as usize]).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

fn full_disk_write(free: u64, names_file: &str) {
    let Some(fs) = Tmpfs::mount() else { return };
    let store = fs.dir.join("store.json");
    std::fs::copy(repo().join("fixtures/example/store.json"), &store).unwrap();
    let before = std::fs::read(&store).unwrap();
    fs.leave_free(free);
    let s = store.display().to_string();
    let (code, out, err) = run([
        "remove",
        "3bdbb806-03b6-49cf-8058-085626ab2fdc",
        "--store",
        &s,
    ]);
    assert_eq!(code, 4, "exit {code}\n{out}\n{err}");
    assert!(
        err.contains(names_file),
        "the message names {names_file}: {err}"
    );
    assert!(err.contains("No space left"), "{err}");
    assert!(
        std::fs::read(&store).unwrap() == before,
        "the store changed"
    );
    assert_eq!(
        names(&fs.dir),
        ["filler", "store.json"],
        "a file was left behind"
    );
}

#[test]
fn a_backup_that_does_not_fit_leaves_no_half_file() {
    // 20 KB free: the ~100 KB backup cannot be written.
    full_disk_write(20_000, "meshpeers-backup.json");
}

#[test]
fn a_store_that_does_not_fit_leaves_the_old_one_and_no_backup() {
    // 140 KB free: the backup fits, the new ~94 KB store beside it does not.
    full_disk_write(140_000, "store.json");
}

#[test]
fn a_full_disk_at_any_point_of_a_chromium_write_is_exit_4_with_the_profile_intact() {
    let Some(fs) = Tmpfs::mount() else { return };
    let env = TestEnv::new();
    let original = crate::damaged::table_profile(&env);
    let old = crate::support::local_storage(&original);
    let mut outcomes = std::collections::BTreeSet::new();
    for free_kb in (0..=96).step_by(8) {
        let db = fs.dir.join("leveldb");
        let _ = std::fs::remove_dir_all(&db);
        for e in std::fs::read_dir(&fs.dir).unwrap().flatten() {
            let _ = std::fs::remove_dir_all(e.path()).or_else(|_| std::fs::remove_file(e.path()));
        }
        crate::support::copy_writable(&original, &db);
        fs.leave_free(free_kb * 1024 + 1);
        let s = db.display().to_string();
        let (code, _, err) = run([
            "remove",
            "3bdbb806-03b6-49cf-8058-085626ab2fdc",
            "--store",
            &s,
            "--origin",
            crate::damaged::ORIGIN,
        ]);
        assert!(
            code == 0 || code == 4,
            "{free_kb} KB free: exit {code}: {err}"
        );
        let now = crate::support::local_storage(&db);
        if code == 4 {
            assert!(err.contains("No space left"), "{err}");
            assert!(
                now == old,
                "{free_kb} KB free: a failed write changed the profile"
            );
            let left: Vec<String> = names(&fs.dir)
                .into_iter()
                .filter(|n| n != "filler" && n != "leveldb")
                .collect();
            assert!(left.is_empty(), "{free_kb} KB free: left behind {left:?}");
        } else {
            assert!(!now.contains_key("mesh:peer:3bdbb806-03b6-49cf-8058-085626ab2fdc"));
        }
        outcomes.insert(code);
    }
    assert!(
        outcomes.contains(&4),
        "the disk was never full: {outcomes:?}"
    );
}
