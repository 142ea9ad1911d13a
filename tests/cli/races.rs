//! Two writers at once: `remove A` and `remove B` started together on one store. Neither
//! update may be lost: on a JSON store the second writer waits for the first and both
//! succeed; on a Chromium profile the second either succeeds after the first or refuses
//! because the profile changed since it read it (exit 1), never both succeeding with one
//! removal gone.

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
/// succeeded.
fn race(store: &Path, rounds: usize, origin: Option<&str>) -> usize {
    let all = ids(store);
    let mut both = 0;
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
                Some(1) if err.contains("changed since it was read") => {
                    assert!(
                        left.contains(id),
                        "round {round}: {id} gone after a refusal"
                    )
                }
                other => panic!("round {round}: remove {id} exited {other:?}: {err}"),
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
    both
}

#[test]
fn two_writers_on_a_flat_dump_both_land() {
    let store = repo().join("fixtures/example/store.json");
    assert_eq!(race(&store, 50, None), 50);
}

#[test]
fn two_writers_on_a_playwright_state_both_land() {
    let store = repo().join("fixtures/example/storage-state.json");
    assert_eq!(race(&store, 50, None), 50);
}

#[test]
fn two_writers_on_a_chromium_profile_never_lose_an_update() {
    let env = TestEnv::new();
    let db = crate::damaged::table_profile(&env);
    race(&db, 50, Some(crate::damaged::ORIGIN));
}
