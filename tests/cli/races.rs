//! Two writers at once: `remove A` and `remove B` started together on one store. Neither
//! update may be lost and both must land: on a JSON store the second writer waits for the
//! first; on a Chromium profile (locked only while written) a second writer whose plan the
//! first overtook writes nothing, reads the profile again and plans again.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{TestEnv, local_storage, repo};

fn ids(store: &Path) -> Vec<String> {
    let mut ids: Vec<String> = local_storage(store)
        .keys()
        .filter_map(|k| k.strip_prefix("mesh:peer:").map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

fn remove(store: &Path, id: &str, origin: Option<&str>) -> std::process::Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("meshpeers"));
    cmd.args(["remove", id, "--store"])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(o) = origin {
        cmd.args(["--origin", o]);
    }
    cmd.spawn().expect("runs")
}

/// Races `rounds` pairs of removals on fresh copies of `store`; gives how many pairs both
/// succeeded and how many runs planned again.
fn race(store: &Path, rounds: usize, origin: Option<&str>) -> (usize, usize) {
    let all = ids(store);
    let mut both = 0;
    let mut replanned = 0;
    for round in 0..rounds {
        let env = TestEnv::new();
        let name = store.file_name().unwrap().to_string_lossy().into_owned();
        let copy = env.copy(store, &name);
        let (a, b) = (&all[round % all.len()], &all[(round + 7) % all.len()]);
        let (pa, pb) = (remove(&copy, a, origin), remove(&copy, b, origin));
        let (oa, ob) = (
            pa.wait_with_output().unwrap(),
            pb.wait_with_output().unwrap(),
        );
        let left = ids(&copy);
        for (id, out) in [(a, &oa), (b, &ob)] {
            let err = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => assert!(!left.contains(id), "round {round}: {id} came back"),
                other => panic!("round {round}: remove {id} exited {other:?}: {err}"),
            }
            if err.contains("planning again from what it holds now") {
                replanned += 1;
            }
        }
        if oa.status.success() && ob.status.success() {
            both += 1;
        }
        // Every backup has its own name, and each is whole.
        for e in std::fs::read_dir(env.dir.path()).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.ends_with(".meshpeers-backup.json") {
                let text = std::fs::read_to_string(e.path()).unwrap();
                assert!(
                    serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                    "{n} is not whole"
                );
            }
        }
    }
    (both, replanned)
}

#[test]
fn two_writers_on_a_flat_dump_both_land() {
    let store = repo().join("fixtures/example/store.json");
    assert_eq!(race(&store, 50, None), (50, 0));
}

#[test]
fn two_writers_on_a_playwright_state_both_land() {
    let store = repo().join("fixtures/example/storage-state.json");
    assert_eq!(race(&store, 50, None), (50, 0));
}

#[test]
fn two_writers_on_a_chromium_profile_both_land() {
    let env = TestEnv::new();
    let db = crate::damaged::table_profile(&env);
    let (both, replanned) = race(&db, 50, Some(crate::damaged::ORIGIN));
    assert_eq!(both, 50);
    // Reads are not locked, so some second writers must have planned from a stale read.
    eprintln!("{replanned} of 100 runs planned again");
}

/// A writer whose plan another writer overtakes, made certain: strace holds the first
/// `remove` for 3 s at its opening of the profile's `LOCK` (after it read and planned, before
/// it saves) while a second `remove` runs to the end. The first must write nothing from its
/// stale plan, say that it plans again, and land: both peers are gone, every other key kept.
#[test]
fn a_writer_overtaken_on_a_chromium_profile_plans_again_and_keeps_the_other_update() {
    if !crate::leveldb::strace() {
        return;
    }
    let env = TestEnv::new();
    let db = crate::damaged::table_profile(&env).canonicalize().unwrap();
    let before = local_storage(&db);
    let all = ids(&db);
    let (a, b) = (&all[0], &all[1]);
    let slow = Command::new("strace")
        .args(["-f", "-o", "/dev/null", "-P"])
        .arg(db.join("LOCK"))
        .args([
            "-e",
            "trace=openat",
            "-e",
            "inject=openat:delay_enter=3000000:when=1",
        ])
        .arg(assert_cmd::cargo::cargo_bin("meshpeers"))
        .args(["remove", a, "--origin", crate::damaged::ORIGIN, "--store"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace runs");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let fast = remove(&db, b, Some(crate::damaged::ORIGIN))
        .wait_with_output()
        .unwrap();
    assert_eq!(fast.status.code(), Some(0), "{fast:?}");
    let out = slow.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("another program wrote the store while this run planned; nothing was written, planning again from what it holds now"),
        "{err}"
    );
    let after = local_storage(&db);
    assert!(!ids(&db).contains(a) && !ids(&db).contains(b));
    for k in before.keys() {
        let removed = [a, b].iter().any(|id| k == &format!("mesh:peer:{id}"));
        let derived = k == "mesh:peers:index" || k == "mesh:peers:metadata";
        if !removed && !derived {
            assert_eq!(after.get(k), before.get(k), "{k} changed");
        }
    }
    let index: Vec<String> = serde_json::from_str(&after["mesh:peers:index"]).unwrap();
    assert!(!index.contains(a) && !index.contains(b), "{index:?}");
    assert_eq!(index.len(), all.len() - 2);
}
