//! The fuzz corpus (`fuzz/corpus/<target>/`: seeds, and every input a fuzzer ever found to
//! crash or hang) replayed through the same entry points the fuzz targets use: each must
//! return without a panic, within a second. `MESHPEERS_BLESS=1 cargo test` writes the seeds.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{TestEnv, repo, run};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 5] = [
    ("store_file", meshpeers::fuzzing::store_file),
    ("backup", meshpeers::fuzzing::backup),
    ("key_record", meshpeers::fuzzing::key_record),
    ("leveldb_log", meshpeers::fuzzing::leveldb_log),
    ("leveldb_table", meshpeers::fuzzing::leveldb_table),
];

/// A tiny profile written by rusty-leveldb: two keys of the namespace, in a table when
/// `compacted`, else only in the log.
fn tiny_profile(dir: &Path, compacted: bool) {
    let mut db = rusty_leveldb::DB::open(
        dir,
        rusty_leveldb::Options {
            create_if_missing: true,
            ..Default::default()
        },
    )
    .unwrap();
    db.put(b"_http://h\0\x01mesh:peers:index", b"\x01[\"a\"]")
        .unwrap();
    db.put(
        b"_http://h\0\x01mesh:peer:a",
        b"\x01{\"peerId\":\"a\",\"lastSeen\":1}",
    )
    .unwrap();
    if compacted {
        db.compact_range(b"\x00", b"\xff").unwrap();
    } else {
        db.flush().unwrap();
    }
    std::mem::forget(db);
}

/// Small seeds: corrupt-store fixtures (four peers each), a Playwright state, a backup and an
/// app export of one, key records, a real log and a real table.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let read = |p: &Path| std::fs::read(p).unwrap();
    let fixture = |name: &str| repo().join("fixtures/corrupt").join(name);
    let mut out = Vec::new();
    match target {
        "store_file" => {
            for name in [
                "attempts-missing.json",
                "index-not-json.json",
                "record-not-object.json",
                "secret-plaintext.json",
            ] {
                out.push((name.into(), read(&fixture(name))));
            }
            out.push((
                "playwright.json".into(),
                br#"{"cookies":[],"origins":[{"origin":"http://h","localStorage":[{"name":"mesh:peers:index","value":"[\"a\"]"},{"name":"mesh:peer:a","value":"{\"peerId\":\"a\",\"lastSeen\":1}"}]}]}"#.to_vec(),
            ));
        }
        "backup" => {
            let s = fixture("attempts-missing.json").display().to_string();
            let (_, text, _) = run(["export", "--store", &s, "--now", "1795176000000"]);
            out.push(("backup.json".into(), text.into_bytes()));
            let (_, text, _) = run(["export", "--app-format", "--store", &s, "--now", "1"]);
            out.push(("app-export.json".into(), text.into_bytes()));
        }
        "key_record" => {
            out.push((
                "jwk.json".into(),
                br#"{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","alg":"A256GCM","ext":true,"key_ops":["encrypt","decrypt"]}"#.to_vec(),
            ));
            out.push((
                "passphrase.json".into(),
                br#"{"meshpeers":"key","version":1,"kind":"passphrase","kdf":{"name":"PBKDF2","hash":"SHA-256","iterations":1000,"salt":"AAAAAAAAAAAAAAAAAAAAAA=="},"check":"AAAA"}"#.to_vec(),
            ));
        }
        "leveldb_log" | "leveldb_table" => {
            let env = TestEnv::new();
            let db = env.path("db");
            let ext = if target == "leveldb_log" {
                "log"
            } else {
                "ldb"
            };
            tiny_profile(&db, ext == "ldb");
            let file = std::fs::read_dir(&db)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    p.extension().is_some_and(|x| x == ext)
                        && std::fs::metadata(p).unwrap().len() > 0
                })
                .unwrap();
            out.push((format!("tiny.{ext}"), read(&file)));
        }
        _ => unreachable!(),
    }
    out
}

#[test]
fn the_fuzz_corpus_replays_without_a_panic() {
    let root = repo().join("fuzz/corpus");
    for (target, run_one) in TARGETS {
        let dir = root.join(target);
        if std::env::var_os("MESHPEERS_BLESS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in seeds(target) {
                std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
            }
        }
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{target}: no corpus");
        for input in inputs {
            let bytes = std::fs::read(&input).unwrap();
            let start = Instant::now();
            let outcome = std::panic::catch_unwind(|| run_one(&bytes));
            assert!(outcome.is_ok(), "{target}: {} panics", input.display());
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{target}: {} takes {:?}",
                input.display(),
                start.elapsed()
            );
        }
    }
}
