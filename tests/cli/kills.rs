//! A write killed at every file-changing system call, for every backend and every writing
//! command: strace kills meshpeers at the entry of the Nth call of each of them in turn
//! (N = 1, 2, … until the command runs past the last one). Afterwards the store must read,
//! and hold exactly the old map or exactly the new one; no backup or quarantine file may be
//! half-written under its final name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{TestEnv, copy_writable, local_storage, repo, run};

/// The calls that change files: renames, links, unlinks, directory creation, syncs, and the
/// first writes.
const SYSCALLS: &[&str] = &[
    "rename,renameat,renameat2",
    "link,linkat",
    "unlink,unlinkat",
    "mkdir,mkdirat",
    "fsync,fdatasync",
    "write,pwrite64",
];
/// At most this many calls of one kind are tried (a write of a big store makes many).
const MAX_CALLS: usize = 6;

const ALICE: &str = "3bdbb806-03b6-49cf-8058-085626ab2fdc";

struct Backend {
    name: &'static str,
    /// The store to copy for each trial (a file or a directory).
    template: PathBuf,
    /// The name of the store inside a trial directory.
    file: &'static str,
    extra: Vec<String>,
}

fn commands(backup: &Path) -> Vec<Vec<String>> {
    let b = backup.display().to_string();
    [
        vec!["remove", ALICE],
        vec!["cleanup", "--strategy", "stale"],
        vec!["unblacklist", "--expired"],
        vec!["clear", "--yes"],
        vec!["import", &b, "--mode", "replace", "--yes"],
        vec!["repair"],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(str::to_owned).collect())
    .collect()
}

fn args(cmd: &[String], store: &Path, backend: &Backend) -> Vec<String> {
    let mut a = cmd.to_vec();
    a.extend(["--store".into(), store.display().to_string()]);
    a.extend(["--now".into(), "1795176000000".into()]);
    a.extend(backend.extra.iter().cloned());
    a
}

fn trial_store(env: &TestEnv, backend: &Backend, n: usize) -> PathBuf {
    let dir = env.path(&format!("t{n}"));
    std::fs::create_dir(&dir).unwrap();
    let store = dir.join(backend.file);
    copy_writable(&backend.template, &store);
    store
}

/// Every backup and quarantine file in `dir` is whole.
fn side_files_whole(dir: &Path, ctx: &str) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.ends_with(".meshpeers-backup.json") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "{ctx}: {n} is half-written"
            );
        }
    }
}

fn sweep(backend: Backend) {
    if !crate::leveldb::strace() {
        return;
    }
    let env = TestEnv::new();
    // A backup of another state, for import --mode replace.
    let other = trial_store(&env, &backend, 0);
    let (code, _, err) = run(args(
        &[
            "cleanup".into(),
            "--strategy".into(),
            "age".into(),
            "--max-age".into(),
            "1h".into(),
        ],
        &other,
        &backend,
    ));
    assert_eq!(code, 0, "{err}");
    let backup = env.path("other-state.json");
    let (code, _, err) = run(args(
        &["export".into(), "-o".into(), backup.display().to_string()],
        &other,
        &backend,
    ));
    assert_eq!(code, 0, "{err}");
    let old = local_storage(&backend.template);
    let mut n = 1;
    let mut kills = 0;
    for cmd in commands(&backup) {
        // The map a whole run leaves.
        let whole = trial_store(&env, &backend, n);
        n += 1;
        let (code, _, err) = run(args(&cmd, &whole, &backend));
        assert_eq!(code, 0, "{} {cmd:?}: {err}", backend.name);
        let new: BTreeMap<String, String> = local_storage(&whole);
        for calls in SYSCALLS {
            for when in 1..=MAX_CALLS {
                let store = trial_store(&env, &backend, n);
                n += 1;
                let ctx = format!("{} {cmd:?} killed at {calls} #{when}", backend.name);
                let out = crate::leveldb::killed_run(
                    &format!("{calls}:when={when}"),
                    &args(&cmd, &store, &backend),
                );
                let killed = !out.status.success();
                // Reading is how the user finds out: it must work and show old or new.
                let (code, _, err) =
                    run(["inspect", "--store", &store.display().to_string(), "--json"]);
                assert!(code == 0, "{ctx}: the store does not read: {err}");
                let now = local_storage(&store);
                assert!(
                    now == old || now == new,
                    "{ctx}: neither the old nor the new map"
                );
                side_files_whole(store.parent().unwrap(), &ctx);
                if !killed {
                    assert!(now == new, "{ctx}: a run that finished left the old map");
                    break;
                }
                kills += 1;
            }
        }
    }
    assert!(kills > 20, "{}: only {kills} kills", backend.name);
}

#[test]
fn every_write_killed_anywhere_leaves_a_flat_dump_old_or_new() {
    sweep(Backend {
        name: "flat",
        template: repo().join("fixtures/example/store.json"),
        file: "store.json",
        extra: Vec::new(),
    });
}

#[test]
fn every_write_killed_anywhere_leaves_a_playwright_state_old_or_new() {
    sweep(Backend {
        name: "playwright",
        template: repo().join("fixtures/example/storage-state.json"),
        file: "storage-state.json",
        extra: Vec::new(),
    });
}

#[test]
fn every_write_killed_anywhere_leaves_a_chromium_profile_old_or_new() {
    let env = TestEnv::new();
    let db = crate::damaged::table_profile(&env);
    sweep(Backend {
        name: "leveldb",
        template: db,
        file: "leveldb",
        extra: vec!["--origin".into(), crate::damaged::ORIGIN.into()],
    });
}

/// What a person can see of a store with secrets: its peers and the plaintexts of their
/// secrets (the ciphertexts differ after a rotation; the plaintexts never may).
fn visible(store: &Path, extra: &[&str]) -> (String, String) {
    let s = store.display().to_string();
    let mut list = vec!["list", "--json", "--store", &s, "--now", "1795176000000"];
    list.extend(extra);
    let (code, peers, err) = run(&list);
    assert_eq!(code, 0, "{err}");
    let mut secrets = vec!["secrets", "--reveal", "--json", "--store", &s];
    secrets.extend(extra);
    let (code, secrets, err) = run(&secrets);
    assert_eq!(code, 0, "{err}");
    (peers, secrets)
}

/// A rotation killed at every file-changing call of `template` (a store with secrets, named
/// `file` in each trial directory; `extra` arguments for its origin).
fn rotation_sweep(template: &Path, file: &str, extra: &[&str]) {
    if !crate::leveldb::strace() {
        return;
    }
    let env = TestEnv::new();
    let before = visible(template, extra);
    assert!(before.1.contains("\"secret\""), "the fixture holds secrets");
    let old_key = local_storage(template)["mesh:encryption:key"].clone();
    let mut n = 0;
    let (mut rotated, mut kept) = (0, 0);
    for calls in SYSCALLS {
        for when in 1..=MAX_CALLS {
            n += 1;
            let dir = env.path(&format!("r{n}"));
            std::fs::create_dir(&dir).unwrap();
            let store = dir.join(file);
            copy_writable(template, &store);
            let s = store.display().to_string();
            let mut args = vec!["re-encrypt", "--to", "jwk", "--store", &s];
            args.extend(extra);
            let out = crate::leveldb::killed_run(&format!("{calls}:when={when}"), &args);
            let ctx = format!("{file}: re-encrypt killed at {calls} #{when}");
            assert!(
                visible(&store, extra) == before,
                "{ctx}: peers or plaintexts changed"
            );
            side_files_whole(&dir, &ctx);
            if local_storage(&store)["mesh:encryption:key"] == old_key {
                kept += 1;
            } else {
                rotated += 1;
            }
            if out.status.success() {
                break;
            }
        }
    }
    assert!(kept > 0 && rotated > 0, "kept {kept}, rotated {rotated}");
}

#[test]
fn a_key_rotation_killed_anywhere_keeps_every_secret_readable_in_a_flat_dump() {
    rotation_sweep(
        &repo().join("fixtures/corrupt/attempts-missing.json"),
        "store.json",
        &[],
    );
}

#[test]
fn a_key_rotation_killed_anywhere_keeps_every_secret_readable_in_a_chromium_profile() {
    let env = TestEnv::new();
    let db = crate::damaged::table_profile_of(
        &env,
        &repo().join("fixtures/corrupt/attempts-missing.json"),
        "leveldb",
    );
    rotation_sweep(&db, "leveldb", &["--origin", crate::damaged::ORIGIN]);
}

#[test]
fn a_key_rotation_killed_anywhere_keeps_every_secret_readable_in_a_playwright_state() {
    let env = TestEnv::new();
    let flat = local_storage(&repo().join("fixtures/corrupt/attempts-missing.json"));
    let state = serde_json::json!({
        "cookies": [],
        "origins": [{
            "origin": crate::damaged::ORIGIN,
            "localStorage": flat
                .iter()
                .map(|(k, v)| serde_json::json!({"name": k, "value": v}))
                .collect::<Vec<_>>(),
        }],
    });
    let template = env.write(
        "storage-state.json",
        serde_json::to_string_pretty(&state).unwrap(),
    );
    rotation_sweep(&template, "storage-state.json", &[]);
}
