//! Entry points for the fuzz targets (`fuzz/`) and their corpus replay in `cargo test`: each
//! takes arbitrary bytes through one reader of untrusted input the way a command would, and
//! must return (an error is fine) without panicking, hanging or allocating without bound.

use std::path::Path;

use crate::js::JsString;
use crate::store::{OpenOptions, Store, StoreSource};

/// A store file (flat dump or Playwright state): opened, every origin listed, the namespace
/// loaded and validated.
pub fn store_file(bytes: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("store.json");
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    open_and_read(&path);
}

/// A meshpeers backup (or the app's exportData() file, as import reads both).
pub fn backup(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let _ = crate::backup::Backup::parse("fuzz", text);
    let _ = crate::peers::import::is_app_export(text);
}

/// A key record, as inspect summarises it and as a key is read from it.
pub fn key_record(bytes: &[u8]) {
    let text = crate::js::json::text(&JsString::from_wtf8(bytes.to_vec())).into_owned();
    let _ = crate::crypto::summarize_record(&text);
    if let Ok(record) = crate::crypto::parse_record(&text) {
        // Unlocking runs the KDF: keep the fuzzer fast with the record's own bounded count.
        let _ = record.kind();
    }
    let _ = crate::crypto::jwk_key(&text);
}

/// A LevelDB write-ahead log.
pub fn leveldb_log(bytes: &[u8]) {
    let _ = crate::store::leveldb::check_log(bytes);
}

/// A LevelDB table: `bytes` replace the one table of a small generated profile, which is
/// then opened and read as every command reads it.
pub fn leveldb_table(bytes: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let db = dir.path().join("leveldb");
    if crate::store::leveldb::write_fuzz_profile(&db, bytes).is_err() {
        return;
    }
    open_and_read(&db);
}

fn open_and_read(path: &Path) {
    let opts = OpenOptions {
        live: crate::store::LiveOptions::default(),
        source: StoreSource::Path(path.to_path_buf()),
        format: None,
        origin: None,
        prefix: "mesh:".into(),
        profile: None,
        lock_for_write: false,
        salvage: false,
    };
    let Ok(mut store) = Store::open(&opts) else {
        return;
    };
    let _ = store.origins();
    let ns = crate::peers::Namespace::new(&store.area, "mesh:");
    let key = crate::peers::validate::KeyState::Unknown;
    let _ = crate::peers::validate::validate(&ns, 0.0, &key);
    let (peers, _) = ns.load_peers();
    for p in &peers {
        let _ = crate::peers::score::quality(&p.view);
        let _ = crate::peers::score::reconnection(&p.view, 0.0);
    }
}
