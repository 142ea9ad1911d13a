//! Damaged Chromium profiles: a block that fails its checksum, a truncated or lengthened table,
//! a table the MANIFEST lists but the directory lacks, a damaged MANIFEST, a CURRENT naming a
//! MANIFEST that is gone. Every read and write command refuses
//! with exit 3, names the damaged file, and changes no byte — a damaged profile never reads
//! as a smaller or empty store.

use std::fs;
use std::path::{Path, PathBuf};

use meshpeers::store::leveldb::encoding;
use rusty_leveldb::{DB, Options};

use crate::support::{TestEnv, local_storage, repo, run};

pub const ORIGIN: &str = "http://127.0.0.1:3000";
/// A second origin that sorts after the app's, with data in blocks of its own.
const OTHER: &str = "http://zz.example";

/// A LevelDB profile whose data lives in table files (not only a log): the example store's
/// namespace in `ORIGIN`, and 60 keys of 2 KB in `OTHER`.
pub fn table_profile(env: &TestEnv) -> PathBuf {
    table_profile_of(env, &repo().join("fixtures/example/store.json"), "leveldb")
}

/// `table_profile` with the namespace of the flat store `source`, in `env/<name>`.
pub fn table_profile_of(env: &TestEnv, source: &Path, name: &str) -> PathBuf {
    let dir = env.path(name);
    let opts = Options {
        create_if_missing: true,
        ..Options::default()
    };
    let mut db = DB::open(&dir, opts).expect("create");
    let put = |db: &mut DB, origin: &str, k: &str, v: &str| {
        let key = [
            b"_".as_slice(),
            origin.as_bytes(),
            b"\0",
            &encoding::encode(&k.into()),
        ]
        .concat();
        db.put(&key, &encoding::encode(&v.into())).unwrap();
    };
    let example = local_storage(source);
    for (k, v) in &example {
        put(&mut db, ORIGIN, k, v);
    }
    for i in 0..60 {
        put(&mut db, OTHER, &format!("k{i:03}"), &"x".repeat(2000));
    }
    db.put(b"VERSION", b"1").unwrap();
    db.compact_range(b"\x00", b"\xff").unwrap();
    db.close().unwrap();
    // The data is in tables now, and the namespace reads back whole.
    assert!(!tables(&dir).is_empty(), "no table was written");
    assert_eq!(local_storage(&dir), example);
    dir
}

pub fn tables(dir: &Path) -> Vec<PathBuf> {
    let mut t: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ldb" || x == "sst"))
        .collect();
    t.sort();
    t
}

/// The one table of the profile (the flush wrote one).
fn table(dir: &Path) -> PathBuf {
    let t = tables(dir);
    assert_eq!(t.len(), 1, "{t:?}");
    t[0].clone()
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at] ^= 0x5a;
    fs::write(path, bytes).unwrap();
}

/// Every command that opens the store, read and write, with what it needs.
fn commands(env: &TestEnv) -> Vec<Vec<String>> {
    let backup = env.write(
        "backup-input.json",
        fs::read(repo().join("fixtures/example/store.json")).unwrap(),
    );
    let backup = backup.display().to_string();
    let peer = "3bdbb806-03b6-49cf-8058-085626ab2fdc";
    let mut out: Vec<Vec<&str>> = vec![
        vec!["inspect"],
        vec!["list"],
        vec!["list", "--sort", "quality"],
        vec!["show", peer],
        vec!["stats"],
        vec!["score"],
        vec!["candidates"],
        vec!["validate"],
        vec!["secrets"],
        vec!["export"],
        vec!["export", "--app-format"],
        vec!["cleanup", "--strategy", "hybrid", "--dry-run"],
        vec!["cleanup", "--strategy", "stale"],
        vec!["remove", peer],
        vec!["clear", "--yes"],
        vec!["unblacklist", "--expired"],
        vec!["import", &backup],
        vec!["repair"],
        vec!["re-encrypt", "--to", "jwk"],
    ];
    // The origin named too: a probe and a load instead of the walk over every origin.
    out.push(vec!["list", "--origin", ORIGIN]);
    out.push(vec!["remove", peer, "--origin", ORIGIN]);
    out.into_iter()
        .map(|c| c.into_iter().map(str::to_owned).collect())
        .collect()
}

/// Runs every command on the damaged profile: exit 3, the file and the problem named, a hint,
/// and not a byte changed anywhere in the test directory.
fn every_command_refuses(env: &TestEnv, db: &Path, file: &Path, problem: &str) {
    let commands = commands(env);
    let before = env.snapshot();
    let store = db.display().to_string();
    for cmd in commands {
        let args: Vec<String> = cmd
            .iter()
            .cloned()
            .chain([
                "--store".into(),
                store.clone(),
                "--now".into(),
                "1795176000000".into(),
            ])
            .collect();
        let (code, out, err) = run(&args);
        assert_eq!(
            code, 3,
            "meshpeers {cmd:?}: exit {code}\nstdout: {out}\nstderr: {err}"
        );
        assert!(
            err.contains(&file.display().to_string()) && err.contains(problem),
            "meshpeers {cmd:?}: the message names neither {} nor '{problem}': {err}",
            file.display()
        );
        assert!(
            err.contains("hint: the database is damaged"),
            "{cmd:?}: {err}"
        );
        assert!(out.is_empty(), "meshpeers {cmd:?} printed: {out}");
        assert!(env.snapshot() == before, "meshpeers {cmd:?} changed files");
    }
}

#[test]
fn a_flipped_byte_in_a_data_block_is_exit_3_naming_the_table_and_block() {
    let env = TestEnv::new();
    let db = table_profile(&env);
    let t = table(&db);
    flip_byte(&t, 100);
    every_command_refuses(&env, &db, &t, "fails its checksum");
}

#[test]
fn a_truncated_table_is_exit_3_naming_it() {
    let env = TestEnv::new();
    let db = table_profile(&env);
    let t = table(&db);
    let bytes = fs::read(&t).unwrap();
    fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
    every_command_refuses(&env, &db, &t, "table footer is damaged");
}

#[test]
fn a_byte_appended_to_a_table_is_exit_3_not_a_panic() {
    let env = TestEnv::new();
    let db = table_profile(&env);
    let t = table(&db);
    let mut bytes = fs::read(&t).unwrap();
    bytes.push(0);
    fs::write(&t, bytes).unwrap();
    every_command_refuses(&env, &db, &t, "table footer is damaged");
}

#[test]
fn a_table_the_manifest_lists_but_the_directory_lacks_is_exit_3_naming_it() {
    let env = TestEnv::new();
    let db = table_profile(&env);
    let t = table(&db);
    fs::remove_file(&t).unwrap();
    every_command_refuses(&env, &db, &t, "the file is missing");
}

#[test]
fn damage_outside_the_origin_is_carried_over_untouched_by_a_write_and_still_reported() {
    use std::os::unix::fs::MetadataExt;
    let env = TestEnv::new();
    let db = table_profile(&env);
    let t = table(&db);
    // Near the end of the data blocks, which belong to OTHER (it sorts last).
    let len = fs::metadata(&t).unwrap().len() as usize;
    flip_byte(&t, len * 4 / 5);
    let damaged = fs::read(&t).unwrap();
    let inode = fs::metadata(&t).unwrap().ino();
    let store = db.display().to_string();
    let (code, out, err) = run(["list", "--store", &store, "--origin", ORIGIN, "--json"]);
    assert_eq!(code, 0, "{err}");
    let peers = |out: &str| {
        serde_json::from_str::<serde_json::Value>(out)
            .unwrap()
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(peers(&out), Some(20));
    // A write touches only the origin: the other origin's table is the same file afterwards.
    let (code, _, err) = run([
        "remove",
        "3bdbb806-03b6-49cf-8058-085626ab2fdc",
        "--store",
        &store,
        "--origin",
        ORIGIN,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::metadata(&t).unwrap().ino(),
        inode,
        "the table was rewritten"
    );
    assert!(fs::read(&t).unwrap() == damaged);
    let (code, out, err) = run(["list", "--store", &store, "--origin", ORIGIN, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(peers(&out), Some(19));
    // The damage is still reported where it is read.
    let (code, _, err) = run(["inspect", "--store", &store, "--origin", OTHER]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&t.display().to_string()) && err.contains("fails its checksum"),
        "{err}"
    );
}

#[test]
fn a_damaged_manifest_is_exit_3_naming_it() {
    let env = TestEnv::new();
    let db = table_profile(&env);
    let current = fs::read_to_string(db.join("CURRENT")).unwrap();
    let manifest = db.join(current.trim_end());
    flip_byte(&manifest, 10);
    every_command_refuses(&env, &db, &manifest, "the MANIFEST cannot be read");
}

#[test]
fn a_current_file_naming_a_missing_manifest_is_exit_3_naming_it() {
    let env = TestEnv::new();
    let db = table_profile(&env);
    fs::write(db.join("CURRENT"), "MANIFEST-000999\n").unwrap();
    every_command_refuses(&env, &db, &db.join("CURRENT"), "which does not exist");
}

/// A profile whose data is only in the write-ahead log (as a browser leaves it until its
/// first compaction).
fn log_profile(env: &TestEnv) -> PathBuf {
    let dir = env.path("leveldb");
    let mut db = DB::open(
        &dir,
        Options {
            create_if_missing: true,
            ..Options::default()
        },
    )
    .expect("create");
    let example = local_storage(&repo().join("fixtures/example/store.json"));
    for (k, v) in &example {
        let key = [
            b"_".as_slice(),
            ORIGIN.as_bytes(),
            b"\0",
            &encoding::encode(&k.as_str().into()),
        ]
        .concat();
        db.put(&key, &encoding::encode(&v.as_str().into())).unwrap();
    }
    db.flush().unwrap();
    // Dropped without closing: nothing is compacted into a table.
    std::mem::forget(db);
    assert!(tables(&dir).is_empty());
    dir
}

#[test]
fn a_corrupt_log_record_is_a_finding_a_warning_and_stops_writes() {
    let env = TestEnv::new();
    let db = log_profile(&env);
    let log = fs::read_dir(&db)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .expect("a log");
    let len = fs::metadata(&log).unwrap().len() as usize;
    flip_byte(&log, len / 2);
    let s = db.display().to_string();
    let before = env.snapshot();
    let (code, _, err) = run(["list", "--store", &s]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning") && err.contains("fail") && err.contains("checksum"),
        "{err}"
    );
    let (code, out, _) = run(["validate", "--store", &s, "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"storage-log-corrupt"), "{codes:?}");
    let (_, out, _) = run(["inspect", "--store", &s, "--json"]);
    assert!(out.contains("storage-log-corrupt"));
    let (code, _, err) = run([
        "remove",
        "3bdbb806-03b6-49cf-8058-085626ab2fdc",
        "--store",
        &s,
        "--origin",
        ORIGIN,
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&log.display().to_string()) && err.contains("export"),
        "{err}"
    );
    assert!(env.snapshot() == before, "a refused write changed files");
    // What can be read can be kept.
    let out = env.path("kept.json");
    let (code, _, err) = run(["export", "--store", &s, "-o", &out.display().to_string()]);
    assert_eq!(code, 0, "{err}");
}
