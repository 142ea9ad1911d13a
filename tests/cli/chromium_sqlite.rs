//! Round trips with a real Chromium running its SQLite DOM storage
//! (`--enable-features=DomStorageSqlite`, `<profile>/LocalStorage`): Chromium writes and
//! meshpeers reads the same map (a 200 KB value stored zstd-compressed by Chromium included)
//! without changing a byte; meshpeers writes and page JavaScript reads exactly what the same
//! command gives on the flat form; a running Chromium makes writes refused; a restore creates
//! a new origin Chromium reads; a profile Chromium migrated from LevelDB reads as before. The
//! parity tests also run on a Chromium SQLite form of each oracle store.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::chromium::{Pairs, browser, driver_with, hold_with, page_read_with, plan, sorted};
use crate::firefox::{NOW, flat, pairs_of, seed};
use crate::support::{TestEnv, json, repo, run};

const A: &str = "http://127.0.0.1:3000";
const B: &str = "http://other.test:8080";
const SQLITE: &[(&str, &str)] = &[("CHROMIUM_ARGS", "--enable-features=DomStorageSqlite")];

/// A peer of the seed's namespace.
fn some_id() -> &'static str {
    match crate::support::corpus() {
        Some(_) => "47ah2m",
        None => "76903246-a037-4d56-a223-203097c22820",
    }
}

/// The database's bytes (with its log) and the names in the profile directory.
fn state(profile: &Path) -> (Vec<u8>, Option<Vec<u8>>, Vec<String>) {
    let db = database(profile);
    let mut names: Vec<String> = std::fs::read_dir(profile.join("Default"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let wal = std::fs::read(profile.join("Default/LocalStorage-wal")).ok();
    (std::fs::read(&db).unwrap(), wal, names)
}

fn database(profile: &Path) -> PathBuf {
    profile.join("Default/LocalStorage")
}

/// A fresh user-data dir written by Chromium with its SQLite storage.
fn seeded_profile(env: &TestEnv, script: &Path) -> (PathBuf, Pairs, Pairs) {
    let (mut a, b) = seed();
    // seed's 200 KB value is random text Chromium stores plain; this one it compresses.
    a.push(("big-zstd".into(), "0123456789".repeat(20_000).into()));
    let profile = env.path("profile");
    let plan_file = env.write("plan.json", plan(&[(A, &a), (B, &b)]));
    driver_with(
        script,
        SQLITE,
        &[
            "write",
            &profile.display().to_string(),
            &plan_file.display().to_string(),
        ],
    );
    assert!(database(&profile).is_file(), "Chromium wrote LocalStorage");
    assert!(
        !profile.join("Default/Local Storage/leveldb").exists(),
        "and no LevelDB"
    );
    (profile, a, b)
}

/// The Chromium SQLite form of an oracle store, written by Chromium itself (`None` where
/// Chromium is not installed): the `LocalStorage` file alone.
pub fn chromium_sqlite_form(dir: &Path) -> Option<PathBuf> {
    let script = browser()?;
    Some(crate::support::browser_form(
        "chromium-sqlite",
        dir,
        |work, plan_file| {
            let profile = work.join("profile");
            driver_with(
                &script,
                SQLITE,
                &[
                    "write",
                    &profile.display().to_string(),
                    &plan_file.display().to_string(),
                ],
            );
            let file = work.join("LocalStorage");
            std::fs::rename(database(&profile), &file).unwrap();
            assert!(!work.join("profile/Default/LocalStorage-wal").exists());
            std::fs::remove_dir_all(&profile).unwrap();
            file
        },
    ))
}

#[test]
fn what_chromium_wrote_in_sqlite_meshpeers_reads_without_changing_a_byte() {
    let Some(script) = browser() else { return };
    let env = TestEnv::new();
    let (profile, a, b) = seeded_profile(&env, &script);
    assert_eq!(
        page_read_with(&script, SQLITE, &profile, A),
        sorted(a.clone()),
        "Chromium stored the seed"
    );
    let db = database(&profile);
    // Chromium compressed the 200 KB value (and the longer records) with zstd.
    let conn =
        Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let compressed: Vec<(Vec<u8>, i64)> = conn
        .prepare("SELECT key, length(value) FROM map_entries WHERE value_compression_type = 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    let big = compressed
        .iter()
        .find(|(k, _)| k == b"\x01big-zstd")
        .expect("big-zstd is compressed");
    assert!(big.1 < 200_000, "{}", big.1);
    let before = state(&profile);

    assert_eq!(sorted(pairs_of(&profile, Some(A))), sorted(a.clone()));
    assert_eq!(sorted(pairs_of(&profile, Some(B))), sorted(b.clone()));
    let s = profile.display().to_string();
    let flat_a = flat(&env, "a.json", &a);
    let f = flat_a.display().to_string();
    for args in [
        vec!["list", "--include-blacklisted"],
        vec!["score"],
        vec!["candidates"],
        vec!["stats"],
        vec!["validate"],
        vec!["export", "--peers-only"],
        vec!["cleanup", "--strategy", "hybrid", "--dry-run"],
    ] {
        let want = json(args.iter().copied().chain(["--store", &f, "--now", NOW]));
        for store in [
            s.clone(),
            profile.join("Default").display().to_string(),
            db.display().to_string(),
        ] {
            let got = json(
                args.iter()
                    .copied()
                    .chain(["--store", &store, "--now", NOW]),
            );
            assert_eq!(got, want, "{args:?} on {store}");
        }
    }
    let inspect = json(["inspect", "--store", &s]);
    assert_eq!(inspect["backend"], "chromium-sqlite");
    assert_eq!(inspect["origin"], A);
    let origins = inspect["origins"].as_array().unwrap();
    assert_eq!(origins.len(), 2);
    let by = |o: &str| origins.iter().find(|x| x["origin"] == o).unwrap().clone();
    assert_eq!(by(A)["keys"], a.len());
    assert_eq!(by(B)["keys"], b.len());
    assert!(by(A)["lastModified"].as_f64().unwrap() > 1.7e12);
    assert!(state(&profile) == before, "reading changed the profile");
}

#[test]
fn what_meshpeers_wrote_in_sqlite_chromium_reads_exactly() {
    let Some(script) = browser() else { return };
    let env = TestEnv::new();
    let (profile, a, b) = seeded_profile(&env, &script);
    let s = profile.display().to_string();
    let flat_a = flat(&env, "a.json", &a);
    let f = flat_a.display().to_string();
    let id = some_id();
    for step in [
        vec!["cleanup", "--strategy", "stale", "--yes"],
        vec!["remove", id],
    ] {
        let on_profile = json(step.iter().copied().chain(["--store", &s, "--now", NOW]));
        let on_flat = json(step.iter().copied().chain(["--store", &f, "--now", NOW]));
        assert_eq!(on_profile["actions"], on_flat["actions"], "{step:?}");
        let kept = on_profile["previousDirectory"].as_str().unwrap();
        assert!(
            Path::new(kept).join("LocalStorage").is_file(),
            "the previous database is kept: {kept}"
        );
        let want = sorted(pairs_of(&flat_a, None));
        assert_eq!(
            page_read_with(&script, SQLITE, &profile, A),
            want,
            "after {step:?}"
        );
        assert_eq!(
            page_read_with(&script, SQLITE, &profile, B),
            sorted(b.clone())
        );
        // total_size is Chromium's own sum of encoded keys and values.
        let conn = Connection::open(database(&profile)).unwrap();
        let total: i64 = conn
            .query_row(
                "SELECT total_size FROM maps WHERE storage_key = CAST(?1 AS BLOB)",
                [format!("{A}/")],
                |r| r.get(0),
            )
            .unwrap();
        let enc =
            |s: &meshpeers::js::JsString| meshpeers::store::leveldb::encoding::encode(s).len();
        let expected: usize = want.iter().map(|(k, v)| enc(k) + enc(v)).sum();
        assert_eq!(total as usize, expected);
    }

    // A replace import from another store's backup, then a restore into a new origin.
    let other = env.copy(&repo().join("fixtures/example/store.json"), "example.json");
    let backup = env.path("example-backup.json").display().to_string();
    json([
        "remove",
        "76903246-a037-4d56-a223-203097c22820",
        "--store",
        &other.display().to_string(),
        "--backup",
        &backup,
    ]);
    let (code, _, err) = run([
        "import", &backup, "--mode", "replace", "--yes", "--store", &s, "--origin", A,
    ]);
    assert_eq!(code, 0, "{err}");
    let ns = |p: Pairs| -> Pairs {
        p.into_iter()
            .filter(|(k, _)| k.starts_with("mesh:"))
            .collect()
    };
    let want_ns = sorted(ns(pairs_of(&other, None)));
    // The backup holds the namespace before the removal: the example's 20 peers.
    let example = sorted(ns(pairs_of(
        &repo().join("fixtures/example/store.json"),
        None,
    )));
    assert_eq!(want_ns.len() + 1, example.len());
    assert_eq!(ns(page_read_with(&script, SQLITE, &profile, A)), example);
    let c = "http://127.0.0.1:3005";
    let (code, _, err) = run(["import", &backup, "--yes", "--store", &s, "--origin", c]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(page_read_with(&script, SQLITE, &profile, c), example);
    assert_eq!(page_read_with(&script, SQLITE, &profile, B), sorted(b));
}

#[test]
fn a_running_chromium_makes_sqlite_writes_refused() {
    let Some(script) = browser() else { return };
    let env = TestEnv::new();
    let (profile, a, _) = seeded_profile(&env, &script);
    let s = profile.display().to_string();
    let mut hold = hold_with(&script, SQLITE, &s, A);
    let before = state(&profile);
    let n = a
        .iter()
        .filter(|(k, _)| k.starts_with("mesh:peer:"))
        .count();
    let (code, _, err) = run(["remove", some_id(), "--store", &s]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("Chromium") && err.contains("pid"), "{err}");
    // Reads still work while Chromium holds its exclusive lock.
    let listed = json(["list", "--store", &s, "--include-blacklisted"]);
    assert!(listed.as_array().unwrap().len() <= n && !listed.as_array().unwrap().is_empty());
    let after = state(&profile);
    drop(hold.stdin.take());
    hold.wait().unwrap();
    assert!(after.0 == before.0, "the database changed");
    assert!(
        !after.2.iter().any(|k| k.contains("meshpeers")),
        "nothing was created beside the database: {:?}",
        after.2
    );
    assert_eq!(page_read_with(&script, SQLITE, &profile, A), sorted(a));
}

/// Chromium with `DomStorageSqlite` alone on a LevelDB profile starts an empty SQLite
/// database beside it (meshpeers keeps reading the LevelDB, and says so); with
/// `DomStorageSqliteMigration` it moves the data into `LocalStorage` and deletes the LevelDB
/// (about a minute after the origin goes idle), and meshpeers reads the same as before.
#[test]
fn a_profile_chromium_migrated_to_sqlite_reads_as_before() {
    let Some(script) = browser() else { return };
    let env = TestEnv::new();
    let (a, b) = seed();
    let profile = env.path("profile");
    let s = profile.display().to_string();
    let plan_file = env.write("plan.json", plan(&[(A, &a), (B, &b)]));
    driver_with(
        &script,
        &[],
        &["write", &s, &plan_file.display().to_string()],
    );
    let leveldb = profile.join("Default/Local Storage/leveldb");
    assert!(leveldb.join("CURRENT").is_file());
    let want: Vec<serde_json::Value> = ["list", "export", "inspect"]
        .iter()
        .map(|c| json([c, "--store", &s, "--now", NOW]))
        .collect();

    // On a copy: the flag alone (no migration, and a profile that has a LocalStorage file is
    // not migrated later).
    let copy = env.path("copy");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&profile)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let c = copy.display().to_string();
    assert_eq!(
        page_read_with(&script, SQLITE, &copy, A),
        vec![],
        "no migration without the flag"
    );
    assert!(database(&copy).is_file());
    let (code, _, err) = run(["list", "--store", &c, "--now", NOW, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("also has a Chromium SQLite localStorage database")
            && err.contains("LocalStorage, which does not hold the namespace"),
        "{err}"
    );
    assert_eq!(json(["list", "--store", &c, "--now", NOW]), want[0]);

    let migrate = [(
        "CHROMIUM_ARGS",
        "--enable-features=DomStorageSqlite,DomStorageSqliteMigration",
    )];
    let mut hold = hold_with(&script, &migrate, &s, A);
    let start = std::time::Instant::now();
    while leveldb.exists() && start.elapsed() < std::time::Duration::from_secs(150) {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    drop(hold.stdin.take());
    hold.wait().unwrap();
    assert!(
        !leveldb.exists(),
        "Chromium migrated and deleted the LevelDB"
    );
    assert_eq!(sorted(pairs_of(&profile, Some(A))), sorted(a.clone()));
    assert_eq!(sorted(pairs_of(&profile, Some(B))), sorted(b));
    let got: Vec<serde_json::Value> = ["list", "export", "inspect"]
        .iter()
        .map(|c| json([c, "--store", &s, "--now", NOW]))
        .collect();
    assert_eq!(got[0], want[0], "list");
    assert_eq!(got[1]["entries"], want[1]["entries"], "export");
    assert_eq!(got[2]["backend"], "chromium-sqlite");
    assert_eq!(got[2]["origins"].as_array().unwrap().len(), 2);
}
