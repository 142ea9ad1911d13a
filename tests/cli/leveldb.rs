//! The LevelDB backend on the corpus: every `leveldb/` directory reads back equal to its JSON
//! dump, every read command answers the same on both forms, and reading changes no byte.

use std::path::{Path, PathBuf};

use rusty_leveldb::LdbIterator;
use serde_json::Value;

use crate::support::{TestEnv, corpus, json, local_storage, read_files, run};

/// (LevelDB directory, the flat dump of the same origin) for every corpus store that has both.
fn pairs() -> Vec<(PathBuf, PathBuf)> {
    let Some(root) = corpus() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if !p.is_dir() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "leveldb" && dir.join("store.json").is_file() {
                out.push((p, dir.join("store.json")));
            } else if let Some(stem) = name.strip_suffix("-profile-leveldb") {
                let dump = dir.join(format!("{stem}-localstorage.json"));
                if dump.is_file() {
                    out.push((p, dump));
                }
            } else if name != "oracle" {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_database_reads_back_equal_to_its_dump_without_a_byte_changed() {
    let pairs = pairs();
    if corpus().is_some() {
        assert!(
            pairs.len() >= 4,
            "only {} LevelDB stores found",
            pairs.len()
        );
    }
    for (db, dump) in pairs {
        let before = read_files(&db);
        assert_eq!(local_storage(&db), local_storage(&dump), "{}", db.display());
        assert_eq!(
            read_files(&db),
            before,
            "{}: reading changed the directory",
            db.display()
        );
    }
}

#[test]
fn read_commands_answer_the_same_on_both_forms() {
    for (db, dump) in pairs() {
        let now = "1795176000000";
        for args in [
            &["list", "--include-blacklisted"][..],
            &["list", "--sort", "quality"][..],
            &["stats"][..],
            &["score"][..],
            &["candidates"][..],
            &["cleanup", "--strategy", "hybrid", "--dry-run"][..],
            &["inspect"][..],
        ] {
            let out = |store: &Path| -> Value {
                let mut a: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
                a.extend(["--json", "--now", now, "--store"].map(String::from));
                a.push(store.display().to_string());
                let (code, out, err) = run(&a);
                assert_eq!(code, 0, "{a:?}: {err}");
                let mut v: Value = serde_json::from_str(&out).unwrap();
                if args[0] == "inspect" {
                    // Where the data lives differs; what it is must not.
                    for f in ["backend", "origin", "origins", "location"] {
                        v.as_object_mut().unwrap().remove(f);
                    }
                }
                v
            };
            assert_eq!(out(&db), out(&dump), "{} {args:?}", db.display());
        }
    }
}

/// The database opened directly (on disk, no copy-on-write), to look at raw entries.
fn raw_db(dir: &Path) -> rusty_leveldb::DB {
    rusty_leveldb::DB::open(
        dir,
        rusty_leveldb::Options {
            create_if_missing: false,
            ..Default::default()
        },
    )
    .unwrap()
}

/// The copy of the oracle's database, writable, in a fresh directory.
fn oracle_copy(env: &TestEnv) -> Option<PathBuf> {
    let dir = corpus()?.join("app-oracle-r1/leveldb");
    Some(env.copy(&dir, "leveldb"))
}

#[test]
fn a_write_swaps_in_a_verified_copy_and_keeps_the_previous_directory() {
    let env = TestEnv::new();
    let Some(db) = oracle_copy(&env) else { return };
    let original = read_files(&db);
    let s = db.display().to_string();
    let before = local_storage(&db);
    let out = json(["remove", "4u6mjo", "--store", &s, "--now", "1795176000000"]);
    let previous = PathBuf::from(out["previousDirectory"].as_str().expect("kept"));
    assert_eq!(
        read_files(&previous),
        original,
        "the previous directory is untouched"
    );
    let after = local_storage(&db);
    assert!(!after.contains_key("mesh:peer:4u6mjo"));
    for (k, v) in &before {
        if k != "mesh:peer:4u6mjo" && k != "mesh:peers:index" && k != "mesh:peers:metadata" {
            assert_eq!(after.get(k), Some(v), "{k}");
        }
    }
    #[cfg(unix)]
    for (name, _) in read_files(&db) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db.join(&name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    // META: now in Chromium's 1601 epoch, and the exact size of the origin's entries.
    let mut raw = raw_db(&db);
    let meta = raw.get(b"META:http://127.0.0.1:3000").unwrap();
    let m = meshpeers::store::leveldb::meta::Meta::decode(&meta).unwrap();
    let age_ms = meshpeers::time::now_ms() - m.unix_ms();
    assert!(
        (0.0..60_000.0).contains(&age_ms),
        "META time {} ms ago",
        age_ms
    );
    let mut size = 0u64;
    let mut it = raw.new_iter().unwrap();
    let prefix = b"_http://127.0.0.1:3000\0";
    it.seek(prefix);
    while let Some((k, v)) = it.current() {
        if !k.starts_with(prefix) {
            break;
        }
        size += (k.len() - prefix.len() + v.len()) as u64;
        // Canonical encodings: Latin-1 whenever every unit fits.
        let text = meshpeers::store::leveldb::encoding::decode(&v);
        assert_eq!(
            v.to_vec(),
            meshpeers::store::leveldb::encoding::encode(&text)
        );
        it.advance();
    }
    assert_eq!(m.size_bytes, size);
}

#[test]
fn a_held_lock_refuses_writes_with_exit_5_and_reads_still_work() {
    use std::os::fd::AsRawFd;
    let env = TestEnv::new();
    let Some(db) = oracle_copy(&env) else { return };
    // Taken first: closing any descriptor of LOCK (as reading it does) would drop the
    // classic POSIX lock this process takes below, as Chromium takes it.
    let before = env.snapshot();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(db.join("LOCK"))
        .unwrap();
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    assert_eq!(
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLK, &mut fl) },
        0
    );
    let s = db.display().to_string();
    let (code, _, err) = run(["remove", "4u6mjo", "--store", &s]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("close the browser that uses this profile"),
        "{err}"
    );
    let (code, out, err) = run(["list", "--store", &s, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("4u6mjo"));
    drop(f);
    let after = env.snapshot();
    assert!(
        after == before,
        "files changed: {:?}",
        after.keys().collect::<Vec<_>>()
    );
}

#[test]
fn leftover_table_files_from_an_interrupted_compaction_are_ignored() {
    let env = TestEnv::new();
    let Some(db) = oracle_copy(&env) else { return };
    // Not in the MANIFEST: one garbage table, one truncated one, one empty one.
    std::fs::write(db.join("000097.ldb"), b"not a table at all").unwrap();
    let mut partial = vec![0u8; 4096];
    partial[..8].copy_from_slice(b"\x57\xfb\x80\x8b\x24\x75\x47\xdb");
    std::fs::write(db.join("000098.ldb"), &partial[..1000]).unwrap();
    std::fs::write(db.join("000099.ldb"), b"").unwrap();
    let dump = corpus().unwrap().join("app-oracle-r1/store.json");
    let before = read_files(&db);
    assert_eq!(local_storage(&db), local_storage(&dump));
    assert_eq!(read_files(&db), before, "reading changed the directory");
    // A write still works and is verified.
    let s = db.display().to_string();
    let out = json(["remove", "4u6mjo", "--store", &s]);
    assert_eq!(out["actions"][0]["peerId"], "4u6mjo");
    assert!(!local_storage(&db).contains_key("mesh:peer:4u6mjo"));
}

#[test]
fn profile_user_data_and_electron_directories_lead_to_the_database() {
    let Some(c) = corpus() else { return };
    let src = c.join("app-oracle-r1/leveldb");
    let env = TestEnv::new();
    env.copy(&src, "udd/Profile 1/Local Storage/leveldb");
    env.copy(&src, "electron/Local Storage/leveldb");
    env.copy(&src, "chrome/Default/Local Storage/leveldb");
    let count = |args: &[&str]| -> usize {
        let mut a = vec!["list", "--include-blacklisted", "--json"];
        a.extend(args);
        let (code, out, err) = run(&a);
        assert_eq!(code, 0, "{a:?}: {err}");
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let p = |rel: &str| env.path(rel).display().to_string();
    assert_eq!(
        count(&["--store", &p("udd"), "--profile", "Profile 1"]),
        120
    );
    assert_eq!(count(&["--store", &p("udd/Profile 1")]), 120);
    assert_eq!(count(&["--store", &p("electron")]), 120);
    assert_eq!(count(&["--store", &p("chrome")]), 120);
    assert_eq!(count(&["--store", &p("chrome/Default/Local Storage")]), 120);
    let (code, _, err) = run(["list", "--store", &p("udd")]);
    assert_eq!(code, 3, "no Default profile: {err}");
    assert!(
        err.contains("whose Default profile holds no Chromium localStorage database; choose a profile with --profile NAME: Profile 1"),
        "{err}"
    );
    let (code, _, err) = run(["list", "--store", &p("udd"), "--profile", "Nope"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("has no profile Nope"), "{err}");
}

#[test]
fn a_write_deletes_the_other_encoding_twin_of_a_key_it_touches() {
    let env = TestEnv::new();
    let Some(db) = oracle_copy(&env) else { return };
    // Plant a UTF-16 twin of an ASCII key (Chromium shows the Latin-1 entry, sorted later).
    let key = "mesh:peer:4u6mjo";
    let prefix = b"_http://127.0.0.1:3000\0".to_vec();
    let twin = [
        prefix.as_slice(),
        &meshpeers::store::leveldb::encoding::utf16(&key.into()),
    ]
    .concat();
    {
        let mut raw = raw_db(&db);
        let mut b = rusty_leveldb::WriteBatch::default();
        b.put(&twin, &[1, b'{', b'}']);
        raw.write(b, true).unwrap();
        raw.close().unwrap();
    }
    let s = db.display().to_string();
    json(["remove", "4u6mjo", "--store", &s]);
    let mut raw = raw_db(&db);
    assert!(raw.get(&twin).is_none(), "the UTF-16 twin is gone too");
    let latin = [prefix.as_slice(), key.as_bytes()].concat();
    let latin = [&latin[..prefix.len()], &[1u8], &latin[prefix.len()..]].concat();
    assert!(raw.get(&latin).is_none());
}

#[test]
fn a_write_hard_links_the_tables_and_keeps_at_most_n_previous_directories() {
    use std::os::unix::fs::MetadataExt;
    let env = TestEnv::new();
    let db = crate::damaged::table_profile(&env);
    let s = db.display().to_string();
    let ids: Vec<String> = json(["list", "--store", &s])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["peerId"].as_str().unwrap().to_owned())
        .collect();
    let mut previous = Vec::new();
    for id in &ids[..4] {
        let out = json(["remove", id, "--store", &s, "--keep-previous", "2"]);
        previous.push(PathBuf::from(out["previousDirectory"].as_str().unwrap()));
    }
    // The two newest previous directories are kept, the older ones removed.
    let kept: Vec<PathBuf> = previous.iter().filter(|p| p.exists()).cloned().collect();
    assert_eq!(kept, previous[2..], "kept {kept:?} of {previous:?}");
    let siblings = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("leveldb.meshpeers-backup-")
        })
        .count();
    assert_eq!(siblings, 2);
    // The unchanged tables are shared with the last previous directory, not copied.
    let inodes = |dir: &Path| -> std::collections::HashSet<u64> {
        crate::damaged::tables(dir)
            .iter()
            .map(|t| std::fs::metadata(t).unwrap().ino())
            .collect()
    };
    let shared = inodes(&db).intersection(&inodes(&previous[3])).count();
    assert!(
        shared >= 1,
        "no table shared with {}",
        previous[3].display()
    );
    // Each kept directory still reads as the namespace before its write.
    let before_last = local_storage(&previous[3]);
    assert!(before_last.contains_key(&format!("mesh:peer:{}", ids[3])));
    assert!(!local_storage(&db).contains_key(&format!("mesh:peer:{}", ids[3])));
}

/// `remove` of the example store's first peer from the table profile's origin.
fn remove_alice(store: &str) -> [String; 6] {
    [
        "remove",
        "3bdbb806-03b6-49cf-8058-085626ab2fdc",
        "--store",
        store,
        "--origin",
        crate::damaged::ORIGIN,
    ]
    .map(str::to_owned)
}

/// Runs meshpeers with `args` under strace, which kills it at the call `inject` names
/// (`rename,renameat2:when=2`, the part after `inject=` without the signal).
pub fn killed_run<S: AsRef<std::ffi::OsStr>>(inject: &str, args: &[S]) -> std::process::Output {
    killed_run_env(inject, args, &[])
}

/// `killed_run` with environment variables set for meshpeers.
pub fn killed_run_env<S: AsRef<std::ffi::OsStr>>(
    inject: &str,
    args: &[S],
    envs: &[(&str, &str)],
) -> std::process::Output {
    let (calls, when) = inject.split_once(":when=").expect("calls:when=N");
    std::process::Command::new("strace")
        .envs(envs.iter().copied())
        .args(["-f", "-o", "/dev/null", "-e"])
        .arg(format!("inject={calls}:signal=KILL:when={when}"))
        .arg(assert_cmd::cargo::cargo_bin("meshpeers"))
        .args(args)
        .output()
        .expect("strace runs")
}

/// How many `rename` calls the thread that makes the directory exchange (renameat2 with
/// RENAME_EXCHANGE) makes before it, in a traced run of meshpeers with `args`: the number of
/// the first rename after the exchange, less one. strace counts injections per syscall and
/// per thread, and rusty-leveldb renames files in the work copy first (`LOG` to `LOG.old`, a
/// new `CURRENT`) as many times as the profile's state asks, so a kill meant for the rename
/// after the exchange is aimed with this on an identical copy.
pub fn renames_before_exchange<S: AsRef<std::ffi::OsStr>>(args: &[S], trace: &Path) -> usize {
    let out = std::process::Command::new("strace")
        .args(["-f", "-e", "trace=rename,renameat2", "-o"])
        .arg(trace)
        .arg(assert_cmd::cargo::cargo_bin("meshpeers"))
        .args(args)
        .output()
        .expect("strace runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(trace).unwrap();
    // `TID  call(...)`: strace pads the thread id.
    let calls: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(t, c)| (t, c.trim_start())))
        .collect();
    let (at, (tid, _)) = calls
        .iter()
        .enumerate()
        .find(|(_, (_, call))| call.starts_with("renameat2(") && call.contains("RENAME_EXCHANGE"))
        .unwrap_or_else(|| panic!("no exchange in the trace:\n{text}"));
    calls[..at]
        .iter()
        .filter(|(t, call)| t == tid && call.starts_with("rename("))
        .count()
}

/// strace can inject faults here, or the test says why not. Under `.ci/run` (which installs
/// strace) a missing strace fails the test; a machine that forbids ptrace skips, loudly.
pub fn strace() -> bool {
    let probe = std::process::Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .output();
    match probe {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!(
                "SKIPPED: strace cannot trace here ({}); kill-injection tests did not run",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Err(_) if std::env::var_os("MESHPEERS_REQUIRE_BROWSER").is_some() => {
            panic!("strace is missing; run .ci/run's setup")
        }
        Err(_) => {
            eprintln!("SKIPPED: no strace; kill-injection tests did not run");
            false
        }
    }
}

#[test]
fn a_kill_at_any_rename_of_a_write_leaves_the_old_or_the_new_database_in_place() {
    if !strace() {
        return;
    }
    let env = TestEnv::new();
    let original = crate::damaged::table_profile(&env);
    let old = local_storage(&original);
    let args = remove_alice;
    // The map a whole write leaves.
    let whole = env.copy(&original, "whole");
    let (code, _, err) = run(args(&whole.display().to_string()));
    assert_eq!(code, 0, "{err}");
    let new = local_storage(&whole);
    assert_ne!(new, old);
    let mut outcomes = std::collections::BTreeSet::new();
    // Every rename the write makes (rusty-leveldb's own in the copy, the exchange, the rename
    // of the previous directory), killed at its entry in turn (strace counts each call apart).
    for when in 1..=4 {
        let dir = env.path(&format!("trial{when}"));
        std::fs::create_dir(&dir).unwrap();
        let db = env.copy(&original, &format!("trial{when}/leveldb"));
        let s = db.display().to_string();
        let status = killed_run(&format!("rename,renameat,renameat2:when={when}"), &args(&s));
        let killed = std::os::unix::process::ExitStatusExt::signal(&status.status).is_some()
            || status.status.code() == Some(137);
        assert!(
            db.join("CURRENT").is_file(),
            "trial {when}: no database at {s}"
        );
        let now = local_storage(&db);
        let state = if now == old {
            "old"
        } else if now == new {
            "new"
        } else {
            panic!("trial {when}: the database holds neither the old nor the new map")
        };
        outcomes.insert((killed, state));
    }
    // Some trials were killed before the exchange (old), some after (new).
    assert!(outcomes.contains(&(true, "old")), "{outcomes:?}");
    assert!(outcomes.contains(&(true, "new")), "{outcomes:?}");
}

#[test]
fn the_leftovers_of_a_killed_write_are_removed_by_the_next_run_which_says_so() {
    if !strace() {
        return;
    }
    let env = TestEnv::new();
    let db = crate::damaged::table_profile(&env);
    let s = db.display().to_string();
    // Killed at the exchange: the work directory (a whole copy) stays behind.
    let out = killed_run(
        "renameat2:when=1",
        &[
            "remove",
            "3bdbb806-03b6-49cf-8058-085626ab2fdc",
            "--store",
            &s,
            "--origin",
            crate::damaged::ORIGIN,
        ],
    );
    assert!(!out.status.success());
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(env.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".meshpeers-new-") || n.ends_with(".tmp"))
            .collect()
    };
    assert_eq!(leftovers().len(), 1, "{:?}", leftovers());
    // A plain read notices it, removes it, and says so once.
    let (code, _, err) = run(["list", "--store", &s, "--origin", crate::damaged::ORIGIN]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("removed 1 leftover left by interrupted meshpeers runs"),
        "{err}"
    );
    assert!(leftovers().is_empty());
    let (_, _, err) = run(["list", "--store", &s, "--origin", crate::damaged::ORIGIN]);
    assert!(!err.contains("leftover"), "said twice: {err}");
}

#[test]
fn a_json_write_killed_at_its_rename_leaves_the_old_store_and_a_temp_file_the_next_run_removes() {
    if !strace() {
        return;
    }
    let env = TestEnv::new();
    let store = env.copy(
        &crate::support::repo().join("fixtures/example/store.json"),
        "store.json",
    );
    let before = std::fs::read(&store).unwrap();
    let s = store.display().to_string();
    let out = killed_run(
        "rename,renameat,renameat2:when=1",
        &[
            "remove",
            "3bdbb806-03b6-49cf-8058-085626ab2fdc",
            "--store",
            &s,
        ],
    );
    assert!(!out.status.success());
    assert!(
        std::fs::read(&store).unwrap() == before,
        "the store changed"
    );
    let temps = || -> Vec<String> {
        std::fs::read_dir(env.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    };
    assert_eq!(temps().len(), 1, "{:?}", temps());
    let (code, _, err) = run(["list", "--store", &s]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("removed 1 leftover"), "{err}");
    assert!(temps().is_empty());
}

#[test]
fn without_an_atomic_exchange_a_write_killed_between_its_renames_is_finished_by_the_next_run() {
    if !strace() {
        return;
    }
    let env = TestEnv::new();
    let original = crate::damaged::table_profile(&env);
    let old = local_storage(&original);
    let args = remove_alice;
    let no_exchange = [("MESHPEERS_TEST_NO_EXCHANGE", "1")];
    let whole = env.copy(&original, "whole");
    let out = crate::support::meshpeers()
        .args(args(&whole.display().to_string()))
        .envs(no_exchange)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = local_storage(&whole);
    assert_ne!(new, old);
    let mut finished = 0;
    for when in 1..=6 {
        let dir = env.path(&format!("n{when}"));
        std::fs::create_dir(&dir).unwrap();
        let db = env.copy(&original, &format!("n{when}/leveldb"));
        let s = db.display().to_string();
        let out = killed_run_env(
            &format!("rename,renameat,renameat2:when={when}"),
            &args(&s),
            &no_exchange,
        );
        // The next run, before anything else, finishes or undoes the swap.
        let (code, _, err) = run(["list", "--store", &s, "--origin", crate::damaged::ORIGIN]);
        assert_eq!(code, 0, "when={when}: {err}");
        let now = local_storage(&db);
        assert!(now == old || now == new, "when={when}: neither old nor new");
        if err.contains("finished a write that was interrupted") {
            finished += 1;
            assert!(now == new, "when={when}: finished, yet not the new map");
        }
        assert!(
            !dir.join(".leveldb.meshpeers-swap").exists(),
            "when={when}: marker left"
        );
        if out.status.success() {
            break;
        }
    }
    assert!(finished >= 1, "no trial was killed between the two renames");
}

#[test]
fn a_database_made_again_between_the_renames_is_left_alone_and_both_copies_kept() {
    if !strace() {
        return;
    }
    let env = TestEnv::new();
    let original = crate::damaged::table_profile(&env);
    let s = original.display().to_string();
    let no_exchange = [("MESHPEERS_TEST_NO_EXCHANGE", "1")];
    // Find the kill that falls between the two renames: the database is gone afterwards.
    let template_env = TestEnv::new();
    let template = crate::damaged::table_profile(&template_env);
    let mut between = false;
    for when in 1..=6 {
        let _ = std::fs::remove_dir_all(&original);
        crate::support::copy_writable(&template, &original);
        for e in std::fs::read_dir(env.dir.path()).unwrap().flatten() {
            if e.file_name() != "leveldb" {
                let _ =
                    std::fs::remove_dir_all(e.path()).or_else(|_| std::fs::remove_file(e.path()));
            }
        }
        killed_run_env(
            &format!("rename,renameat,renameat2:when={when}"),
            &[
                "remove",
                "3bdbb806-03b6-49cf-8058-085626ab2fdc",
                "--store",
                &s,
                "--origin",
                crate::damaged::ORIGIN,
            ],
            &no_exchange,
        );
        if !original.exists() {
            between = true;
            break;
        }
    }
    assert!(between, "no kill fell between the renames");
    // A browser starts and makes an empty database where the profile's was.
    let mut db = rusty_leveldb::DB::open(
        &original,
        rusty_leveldb::Options {
            create_if_missing: true,
            ..Default::default()
        },
    )
    .unwrap();
    db.close().unwrap();
    let (code, _, err) = run(["list", "--store", &s, "--origin", crate::damaged::ORIGIN]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("was made again since"), "{err}");
    let names: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.contains(".meshpeers-new-")),
        "the copy was swept: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.contains(".meshpeers-backup-")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with(".meshpeers-swap")),
        "{names:?}"
    );
}

#[test]
fn without_origin_the_index_holder_is_chosen_and_without_any_index_the_one_holding_keys() {
    const APP: &str = "http://127.0.0.1:3000";
    let env = TestEnv::new();
    let udd = env.path("udd");
    let area = crate::synth::generate(&crate::synth::SynthOptions {
        peers: 5,
        seed: 4,
        now: 1_795_176_000_000.0,
    });
    crate::synth::leveldb_profile(&udd, APP, &area, 40, 2_000, 9).unwrap();
    let dir = udd.join("Default/Local Storage/leveldb");
    let s = udd.display().to_string();
    let chosen = || {
        let (code, out, err) = run(["inspect", "--store", &s, "--json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()["origin"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let key = |o: &str, k: &str| format!("_{o}\0\x01{k}").into_bytes();
    let change = |f: &dyn Fn(&mut rusty_leveldb::DB)| {
        let mut db = raw_db(&dir);
        f(&mut db);
        db.close().unwrap();
    };
    assert_eq!(chosen(), APP);
    let index = raw_db(&dir).get(&key(APP, "mesh:peers:index")).unwrap();
    // No index anywhere: the one origin holding namespace keys.
    change(&|db| db.delete(&key(APP, "mesh:peers:index")).unwrap());
    assert_eq!(chosen(), APP);
    // Another origin with a namespace key and still no index: the user chooses.
    let other = "https://site0003.example";
    change(&|db| {
        db.put(&key(other, "mesh:schema:version"), b"\x011")
            .unwrap()
    });
    let (code, _, err) = run(["list", "--store", &s]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("in 2 origins:") && err.contains(APP) && err.contains(other),
        "{err}"
    );
    // The app's index back: its origin is the one, whatever else holds namespace keys.
    change(&|db| db.put(&key(APP, "mesh:peers:index"), &index).unwrap());
    assert_eq!(chosen(), APP);
    // Two indexes: the user chooses again, and both are named.
    change(&|db| db.put(&key(other, "mesh:peers:index"), b"\x01[]").unwrap());
    let (code, _, err) = run(["list", "--store", &s]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("in 2 origins:") && err.contains(APP) && err.contains(other),
        "{err}"
    );
    let (code, out, err) = run(["list", "--store", &s, "--origin", APP, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        5
    );
}
