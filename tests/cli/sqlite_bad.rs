//! Bad Chromium SQLite and WebKit input, on stores meshpeers filled itself (no browser
//! needed): a file that is not SQLite, a wrong or newer schema, a corrupt zstd frame, a `maps`
//! row without entries, a `map_entries` row without its encoding byte, a WebKit value with an
//! odd number of bytes. Each gets exit 3 naming the file and the problem, from every read and
//! every write, and no file changes.

use std::path::{Path, PathBuf};

use crate::firefox_bad::{refused_everywhere, sql};
use crate::support::{TestEnv, repo, run};

const A: &str = "http://127.0.0.1:3000";

/// Fills the store at `store` (whose database is `db`, with an empty map schema) with the
/// example namespace under A through `meshpeers import`.
fn fill(env: &TestEnv, store: &Path) {
    let example = repo().join("fixtures/example/store.json");
    let backup = env.path(&format!(
        "{}.backup.json",
        store.file_name().unwrap().to_string_lossy()
    ));
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
        store.to_str().unwrap(),
        "--origin",
        A,
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
}

/// A Chromium user-data dir whose `Default/LocalStorage` has Chromium's schema (§2.2) and the
/// example namespace.
fn chromium(env: &TestEnv) -> (PathBuf, PathBuf) {
    let profile = env.path("chromium");
    std::fs::create_dir_all(profile.join("Default")).unwrap();
    let db = profile.join("Default/LocalStorage");
    sql(&db, meshpeers::store::chromium_sqlite::SCHEMA);
    fill(env, &profile);
    (profile, db)
}

/// A WebKit legacy localstorage dir with the example namespace in A's database.
fn webkit(env: &TestEnv) -> (PathBuf, PathBuf) {
    let dir = env.path("localstorage");
    std::fs::create_dir_all(&dir).unwrap();
    // Another origin's database makes the directory WebKit's; A's is created by the import.
    sql(
        &dir.join("http_other.test_8080.localstorage"),
        meshpeers::store::webkit::CREATE_TABLE,
    );
    fill(env, &dir);
    (dir.clone(), dir.join("http_127.0.0.1_3000.localstorage"))
}

#[test]
fn files_that_are_not_sqlite() {
    let env = TestEnv::new();
    let (profile, db) = chromium(&env);
    let (wk, wdb) = webkit(&env);
    std::fs::write(&db, b"this is not a database at all, just some text").unwrap();
    let _ = std::fs::remove_file(profile.join("Default/LocalStorage-wal"));
    let not = "is not an SQLite database (it does not start with \"SQLite format 3\")";
    refused_everywhere(&env, &[&profile, &db], &db, not);
    std::fs::write(&wdb, b"this is not a database at all, just some text").unwrap();
    refused_everywhere(&env, &[&wk, &wdb], &wdb, not);
}

#[test]
fn wrong_and_newer_schemas() {
    let env = TestEnv::new();
    let (profile, db) = chromium(&env);
    sql(
        &db,
        "UPDATE meta SET value = '2' WHERE key = 'last_compatible_version'",
    );
    refused_everywhere(
        &env,
        &[&profile, &db],
        &db,
        "has schema version 2, newer than the 1 this meshpeers knows",
    );
    sql(
        &db,
        "UPDATE meta SET value = '1' WHERE key = 'last_compatible_version'; DROP TABLE map_entries",
    );
    // Without the table (and so without its name) the file is not recognised by its tables.
    refused_everywhere(
        &env,
        &[&profile, &db],
        &db,
        "is not a Chromium localStorage database",
    );

    let (wk, wdb) = webkit(&env);
    sql(&wdb, "ALTER TABLE ItemTable RENAME TO Other");
    refused_everywhere(
        &env,
        &[&wk, &wdb],
        &wdb,
        "is not a WebKit localStorage database (no such table: ItemTable",
    );
}

#[test]
fn a_corrupt_zstd_frame() {
    let env = TestEnv::new();
    let (profile, db) = chromium(&env);
    sql(
        &db,
        "UPDATE map_entries SET value_compression_type = 1, value = x'28b52ffd00ff001122' WHERE key = x'016d6573683a70656572733a696e646578'",
    );
    refused_everywhere(
        &env,
        &[&profile, &db],
        &db,
        "the value of key \"mesh:peers:index\" of http://127.0.0.1:3000 is not a valid zstd frame",
    );
}

#[test]
fn a_maps_row_without_entries() {
    let env = TestEnv::new();
    let (profile, db) = chromium(&env);
    sql(&db, "DELETE FROM map_entries");
    refused_everywhere(
        &env,
        &[&profile, &db],
        &db,
        "has a maps row for http://127.0.0.1:3000 (row_id 1) without entries in map_entries",
    );
}

#[test]
fn an_entry_without_its_encoding_byte() {
    let env = TestEnv::new();
    let (profile, db) = chromium(&env);
    sql(&db, "INSERT INTO map_entries VALUES (1, 0, x'', x'0161')");
    refused_everywhere(
        &env,
        &[&profile, &db],
        &db,
        "a map_entries key of http://127.0.0.1:3000 has no encoding byte (it is empty)",
    );
    let env = TestEnv::new();
    let (profile, db) = chromium(&env);
    sql(
        &db,
        "UPDATE map_entries SET value = x'' WHERE key = x'016d6573683a70656572733a696e646578'",
    );
    refused_everywhere(
        &env,
        &[&profile, &db],
        &db,
        "the value of key \"mesh:peers:index\" of http://127.0.0.1:3000 has no encoding byte",
    );
}

#[test]
fn a_webkit_value_with_an_odd_number_of_bytes() {
    let env = TestEnv::new();
    let (wk, wdb) = webkit(&env);
    sql(
        &wdb,
        "UPDATE ItemTable SET value = x'610062' WHERE key = 'mesh:peers:index'",
    );
    refused_everywhere(
        &env,
        &[&wk, &wdb],
        &wdb,
        "the value of key \"mesh:peers:index\" is UTF-16 with an odd number of bytes",
    );
}
