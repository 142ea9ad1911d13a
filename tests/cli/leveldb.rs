//! The LevelDB backend on the corpus: every `leveldb/` directory reads back equal to its JSON
//! dump, every read command answers the same on both forms, and reading changes no byte.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{corpus, local_storage, read_files, run};

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
