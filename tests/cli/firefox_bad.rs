//! Bad Firefox input, on a profile meshpeers itself created (no Firefox needed): a data.sqlite
//! that is not SQLite, a newer schema, a database whose origin does not match its directory,
//! a corrupt snappy value, an origin directory without `ls/`. Each gets exit 3 naming the file
//! and the problem, from every read and every write, and no file changes.

use std::path::{Path, PathBuf};

use crate::support::{TestEnv, repo, run};

const A: &str = "http://127.0.0.1:3000";
const INVALID: i32 = 3;

/// A Firefox profile holding the example namespace under A, written by `meshpeers import`.
fn profile(env: &TestEnv) -> (PathBuf, PathBuf) {
    let profile = env.path("profile");
    std::fs::create_dir_all(profile.join("storage/default")).unwrap();
    std::fs::write(profile.join("prefs.js"), "").unwrap();
    let example = repo().join("fixtures/example/store.json");
    let backup = env.path("backup.json");
    let (code, _, err) = run([
        "export",
        "--store",
        example.to_str().unwrap(),
        "-o",
        backup.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run([
        "import",
        backup.to_str().unwrap(),
        "--store",
        profile.to_str().unwrap(),
        "--origin",
        A,
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    // Only the new origin and its files: the kept backups of earlier writes are not in the way.
    let db = profile.join("storage/default/http+++127.0.0.1+3000/ls/data.sqlite");
    assert!(db.is_file());
    (profile, db)
}

pub(crate) fn sql(db: &Path, statement: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(statement).unwrap();
}

/// Every read and write on every form of `--store` for the profile is refused with exit 3,
/// naming `file` and `problem`, and nothing changes.
pub(crate) fn refused_everywhere(env: &TestEnv, stores: &[&Path], file: &Path, problem: &str) {
    let before = env.snapshot();
    for store in stores {
        let s = store.display().to_string();
        let commands: [&[&str]; 6] = [
            &["list"],
            &["inspect"],
            &["validate"],
            &["export"],
            &["cleanup", "--strategy", "stale", "--yes"],
            &["clear", "--yes"],
        ];
        for cmd in commands {
            let mut args: Vec<&str> = cmd.to_vec();
            args.extend(["--store", &s, "--origin", A]);
            let (code, out, err) = run(&args);
            assert_eq!(code, INVALID, "{args:?}: {err}");
            assert!(out.is_empty(), "{args:?}: {out}");
            assert!(
                err.contains(&file.display().to_string()) && err.contains(problem),
                "{args:?}: expected {} and {problem:?} in: {err}",
                file.display()
            );
            assert_eq!(err.matches("error:").count(), 1, "{err}");
        }
    }
    assert_eq!(env.snapshot(), before, "a refused command changed files");
}

#[test]
fn a_database_that_is_not_sqlite() {
    let env = TestEnv::new();
    let (profile, db) = profile(&env);
    std::fs::write(&db, b"this is not a database at all, just some text").unwrap();
    let origin_dir = db.parent().unwrap().parent().unwrap();
    refused_everywhere(
        &env,
        &[&profile, origin_dir, &db],
        &db,
        "is not an SQLite database (it does not start with \"SQLite format 3\")",
    );
}

#[test]
fn a_newer_schema_version() {
    let env = TestEnv::new();
    let (profile, db) = profile(&env);
    sql(&db, "PRAGMA user_version = 81");
    refused_everywhere(
        &env,
        &[&profile, &db],
        &db,
        "has schema version 81, newer than the 80 this meshpeers knows",
    );
}

#[test]
fn an_origin_that_does_not_match_its_directory() {
    let env = TestEnv::new();
    let (profile, db) = profile(&env);
    sql(&db, "UPDATE database SET origin = 'http://evil.test'");
    let origin_dir = db.parent().unwrap().parent().unwrap();
    // The database alone (a copy someone sent) has no directory to match: it is read as
    // http://evil.test, so --origin A is unknown there. In the profile it is refused.
    refused_everywhere(
        &env,
        &[&profile, origin_dir],
        &db,
        "holds the localStorage of http://evil.test, whose directory would be http+++evil.test, not http+++127.0.0.1+3000",
    );
}

#[test]
fn a_corrupt_snappy_value() {
    let env = TestEnv::new();
    let (profile, db) = profile(&env);
    sql(
        &db,
        "UPDATE data SET compression_type = 1, value = x'ffffffff0f00112233' WHERE key = 'mesh:peers:index'",
    );
    refused_everywhere(
        &env,
        &[&profile, &db],
        &db,
        "the value of key \"mesh:peers:index\" cannot be read",
    );
}

#[test]
fn an_origin_directory_without_ls() {
    let env = TestEnv::new();
    let (profile, db) = profile(&env);
    let origin_dir = db.parent().unwrap().parent().unwrap().to_path_buf();
    std::fs::remove_dir_all(origin_dir.join("ls")).unwrap();
    // What Firefox leaves of an origin whose localStorage is gone: its metadata.
    std::fs::write(origin_dir.join(".metadata-v2"), [0u8; 16]).unwrap();
    refused_everywhere(
        &env,
        &[&origin_dir],
        &origin_dir,
        "is a Firefox origin directory without an ls/ directory",
    );
    // The profile itself simply has no localStorage for A any more: a read finds nothing
    // there and says so; nothing changes.
    let before = env.snapshot();
    let s = profile.display().to_string();
    let (code, _, err) = run(["list", "--store", &s]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("holds no localStorage of any origin"), "{err}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn without_origin_the_one_holder_is_found_among_many_and_text_in_values_does_not_count() {
    let env = TestEnv::new();
    let profile = env.path("many");
    let area = crate::synth::generate(&crate::synth::SynthOptions {
        peers: 5,
        seed: 3,
        now: 1_795_176_000_000.0,
    });
    crate::synth::firefox_profile(&profile, A, &area, 12, 2_000, 5).unwrap();
    let db = |i: usize| {
        profile.join(format!(
            "storage/default/https+++site{i:04}.example/ls/data.sqlite"
        ))
    };
    // The prefix in a value (not a key) of another origin: read, and not a holder.
    sql(
        &db(3),
        "UPDATE data SET value = CAST('see mesh:peers:index' AS BLOB), compression_type = 0 WHERE key = 'key1'",
    );
    let s = profile.display().to_string();
    let (code, out, err) = run(["list", "--store", &s, "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 5);
    // A second origin with namespace keys but no index: the index holder is still the one.
    sql(
        &db(7),
        "INSERT INTO data (key, utf16_length, conversion_type, compression_type, value) VALUES ('mesh:schema:version', 1, 1, 0, CAST('1' AS BLOB))",
    );
    let (code, out, err) = run(["list", "--store", &s, "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 5);
    // A second index: the choice is the user's, and both origins are named.
    sql(
        &db(7),
        "INSERT INTO data (key, utf16_length, conversion_type, compression_type, value) VALUES ('mesh:peers:index', 2, 1, 0, CAST('[]' AS BLOB))",
    );
    let (code, _, err) = run(["list", "--store", &s]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("holds the mesh: namespace in 2 origins:")
            && err.contains("http://127.0.0.1:3000 (")
            && err.contains("https://site0007.example (2 mesh: keys)"),
        "{err}"
    );
}
