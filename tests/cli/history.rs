//! `history`, `recover` and `--salvage` against profiles real Chromium wrote over several
//! sessions: the oracle namespace, then 30 peers updated, 20 removed, then everything cleared
//! (the app's logout). The versions `history` lists, the peers `recover --deleted` brings back
//! (byte-identical, seen by page JavaScript after `import`), the namespace `recover --as-of`
//! rebuilds, and what `--salvage` reads around a damaged block.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use meshpeers::js::JsString;
use serde_json::Value;

use crate::chromium::{Pairs, browser, driver, page_read};
use crate::support::{TestEnv, corpus, json, run};

const ORIGIN: &str = "http://127.0.0.1:3000";

/// A driver plan for one origin: a `None` value removes the key.
fn plan(pairs: &[(JsString, Option<JsString>)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "[{},{}]",
                k.to_json(),
                v.as_ref().map_or("null".into(), |v| v.to_json())
            )
        })
        .collect();
    format!(
        "{{{}:[{}]}}",
        JsString::from(ORIGIN).to_json(),
        items.join(",")
    )
}

fn session(
    script: &Path,
    env: &TestEnv,
    profile: &Path,
    n: usize,
    pairs: &[(JsString, Option<JsString>)],
) {
    let file = env.write(&format!("session-{n}.json"), plan(pairs));
    driver(
        script,
        &[
            "write",
            &profile.display().to_string(),
            &file.display().to_string(),
        ],
    );
}

/// The namespace keys of a page read.
fn namespace(p: &Pairs) -> BTreeMap<JsString, JsString> {
    p.iter()
        .filter(|(k, _)| k.starts_with("mesh:"))
        .cloned()
        .collect()
}

/// The entries of a meshpeers backup file.
fn backup_entries(path: &Path) -> BTreeMap<JsString, JsString> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(v["format"], "meshpeers-backup");
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                JsString::from(e[0].as_str().unwrap()),
                JsString::from(e[1].as_str().unwrap()),
            )
        })
        .collect()
}

fn index_ids(v: &JsString) -> Vec<String> {
    serde_json::from_str(v.as_str().unwrap()).unwrap()
}

struct Story {
    env: TestEnv,
    script: PathBuf,
    /// The profile after the updates and removals, and after the logout.
    before_logout: PathBuf,
    after_logout: PathBuf,
    /// What the page held after session 1 and before the logout.
    seeded: BTreeMap<JsString, JsString>,
    last: BTreeMap<JsString, JsString>,
    updated: Vec<String>,
    removed: Vec<String>,
    /// A moment between the last write and the logout (epoch ms).
    between: f64,
}

fn story() -> Option<Story> {
    let script = browser()?;
    let corpus = corpus()?;
    let env = TestEnv::new();
    let profile = env.path("profile");
    let store: BTreeMap<String, String> =
        crate::support::local_storage(&corpus.join("app-oracle-r1/store.json"));
    let seed: Vec<(JsString, Option<JsString>)> = store
        .iter()
        .map(|(k, v)| (JsString::from(k.as_str()), Some(JsString::from(v.as_str()))))
        .collect();
    session(&script, &env, &profile, 1, &seed);
    let seeded = namespace(&page_read(&script, &profile, ORIGIN));
    let ids = index_ids(&seeded[&JsString::from("mesh:peers:index")]);
    assert!(
        ids.len() >= 100,
        "the oracle store indexes {} peers",
        ids.len()
    );
    // Session 2: 30 peers seen again (a new lastSeen and displayName each).
    let updated: Vec<String> = ids[..30].to_vec();
    let updates: Vec<(JsString, Option<JsString>)> = updated
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let key = JsString::from(format!("mesh:peer:{id}"));
            let mut rec: serde_json::Map<String, Value> =
                serde_json::from_str(seeded[&key].as_str().unwrap()).unwrap();
            rec.insert(
                "lastSeen".into(),
                Value::from(1_800_000_000_000u64 + i as u64),
            );
            rec.insert("displayName".into(), Value::from(format!("updated {i}")));
            (
                key,
                Some(JsString::from(serde_json::to_string(&rec).unwrap())),
            )
        })
        .collect();
    session(&script, &env, &profile, 2, &updates);
    // Session 3: 20 other peers removed, as the app's removePeer does (record and index entry).
    let removed: Vec<String> = ids[40..60].to_vec();
    let mut removal: Vec<(JsString, Option<JsString>)> = removed
        .iter()
        .map(|id| (JsString::from(format!("mesh:peer:{id}")), None))
        .collect();
    let kept: Vec<&String> = ids.iter().filter(|id| !removed.contains(id)).collect();
    removal.push((
        "mesh:peers:index".into(),
        Some(JsString::from(serde_json::to_string(&kept).unwrap())),
    ));
    session(&script, &env, &profile, 3, &removal);
    let last = namespace(&page_read(&script, &profile, ORIGIN));
    assert_eq!(last.len(), seeded.len() - 20);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let between = meshpeers_now();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let before_logout = env.copy(&profile, "before-logout");
    // Session 4: the app's logout.
    driver(&script, &["clear", &profile.display().to_string(), ORIGIN]);
    assert!(namespace(&page_read(&script, &profile, ORIGIN)).is_empty());
    Some(Story {
        env,
        script,
        before_logout,
        after_logout: profile,
        seeded,
        last,
        updated,
        removed,
        between,
    })
}

fn meshpeers_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn what_chromium_kept_history_lists_and_recover_brings_back() {
    let Some(st) = story() else { return };

    // history: the updated peers have two versions (the seed's, older, and the update); the
    // removed ones a value and a deletion; after the logout every key ends in a deletion.
    let h = json(["history", "--store", &s(&st.after_logout)]);
    assert_eq!(h["origin"], ORIGIN);
    let versions = h["versions"].as_array().unwrap();
    let of = |id: &str| -> Vec<&Value> { versions.iter().filter(|v| v["peerId"] == id).collect() };
    let seqs: Vec<u64> = versions
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "oldest first, one version per sequence number"
    );
    for (i, id) in st.updated.iter().enumerate() {
        let vs = of(id);
        let ops: Vec<&str> = vs.iter().map(|v| v["op"].as_str().unwrap()).collect();
        assert_eq!(ops, ["put", "put", "delete"], "{id}: {vs:?}");
        assert_eq!(vs[1]["displayName"], format!("updated {i}"));
        assert_eq!(vs[1]["lastSeen"], 1_800_000_000_000u64 + i as u64);
        assert_eq!(vs[0]["state"], "older");
        assert_eq!(vs[2]["state"], "deleted");
    }
    for id in &st.removed {
        let ops: Vec<&str> = of(id).iter().map(|v| v["op"].as_str().unwrap()).collect();
        assert_eq!(ops, ["put", "delete"], "{id}");
    }
    // Every key's newest version is a deletion; nothing is live.
    assert!(versions.iter().all(|v| v["state"] != "live"));
    // An id filter keeps that peer's versions only; a prefix names it.
    let one = json([
        "history",
        "--store",
        &s(&st.after_logout),
        &st.updated[0][..8],
    ]);
    assert_eq!(one["versions"].as_array().unwrap().len(), 3);
    // The commits the files hold are ordered and carry times.
    let commits = h["commits"].as_array().unwrap();
    assert!(!commits.is_empty());

    // recover --deleted before the logout: the 20 removed peers, byte-identical, with an index
    // listing them; imported, page JavaScript sees them indexed.
    let out = st.env.path("removed.json");
    let (code, stdout, err) = run([
        "recover",
        "--deleted",
        "-o",
        &s(&out),
        "--store",
        &s(&st.before_logout),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("20 peer records"), "{stdout}");
    let got = backup_entries(&out);
    let peers: Vec<&JsString> = got.keys().filter(|k| k.starts_with("mesh:peer:")).collect();
    assert_eq!(peers.len(), 20);
    for id in &st.removed {
        let key = JsString::from(format!("mesh:peer:{id}"));
        assert_eq!(
            got.get(&key),
            st.seeded.get(&key),
            "{id}: the last record, byte for byte"
        );
    }
    let listed = index_ids(&got[&JsString::from("mesh:peers:index")]);
    let mut want = st.removed.clone();
    let mut have = listed.clone();
    want.sort();
    have.sort();
    assert_eq!(have, want, "the backup's index lists the recovered peers");
    let restored = st.env.copy(&st.before_logout, "restored-20");
    let (code, _, err) = run([
        "import",
        &s(&out),
        "--store",
        &s(&restored),
        "--origin",
        ORIGIN,
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    let page = namespace(&page_read(&st.script, &restored, ORIGIN));
    let page_index = index_ids(&page[&JsString::from("mesh:peers:index")]);
    for id in &st.removed {
        let key = JsString::from(format!("mesh:peer:{id}"));
        assert_eq!(page.get(&key), st.seeded.get(&key), "{id} in the page");
        assert!(page_index.contains(id), "{id} is indexed again");
    }
    let last_index = index_ids(&st.last[&JsString::from("mesh:peers:index")]);
    assert_eq!(page_index.len(), last_index.len() + 20);

    // After the logout: every peer (the 20 removed earlier too), the key record, the schema
    // version; imported into the emptied profile, the page sees each peer's last record.
    let all = st.env.path("all.json");
    let (code, _, err) = run([
        "recover",
        "--deleted",
        "-o",
        &s(&all),
        "--store",
        &s(&st.after_logout),
    ]);
    assert_eq!(code, 0, "{err}");
    let got = backup_entries(&all);
    let mut expect = st.last.clone();
    for id in &st.removed {
        let key = JsString::from(format!("mesh:peer:{id}"));
        expect.insert(key.clone(), st.seeded[&key].clone());
    }
    let index_key = JsString::from("mesh:peers:index");
    for (k, v) in &expect {
        if *k == index_key {
            continue;
        }
        assert_eq!(got.get(k), Some(v), "{k}: its last version");
    }
    let listed = index_ids(&got[&index_key]);
    assert_eq!(
        listed[..last_index.len()],
        last_index[..],
        "the last index's order first"
    );
    assert_eq!(listed.len(), last_index.len() + 20);
    let (code, _, err) = run([
        "import",
        &s(&all),
        "--store",
        &s(&st.after_logout),
        "--origin",
        ORIGIN,
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    let page = namespace(&page_read(&st.script, &st.after_logout, ORIGIN));
    for (k, v) in &expect {
        if k.starts_with("mesh:peer:") || k.starts_with("mesh:encryption") {
            assert_eq!(page.get(k), Some(v), "{k} in the page");
        }
    }
    assert_eq!(index_ids(&page[&index_key]).len(), last_index.len() + 20);
}

#[test]
fn recover_as_of_rebuilds_the_namespace_the_page_had() {
    let Some(st) = story() else { return };
    let files = crate::support::read_files(&st.after_logout.join("Default/Local Storage/leveldb"));
    let out = st.env.path("as-of.json");
    let when = st.between.to_string();
    let (code, _, err) = run([
        "recover",
        "--as-of",
        &when,
        "-o",
        &s(&out),
        "--store",
        &s(&st.after_logout),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        backup_entries(&out),
        st.last,
        "the namespace as the page had it before the logout"
    );
    // Reads never change a byte of the profile.
    assert_eq!(
        crate::support::read_files(&st.after_logout.join("Default/Local Storage/leveldb")),
        files
    );
    // A sequence number works the same; before the first commit nothing can be told.
    let h = json(["history", "--store", &s(&st.after_logout)]);
    let first_commit = h["commits"][0]["seq"].as_u64().unwrap();
    let (code, _, err) = run([
        "recover",
        "--as-of",
        "0",
        "-o",
        &s(&st.env.path("never.json")),
        "--store",
        &s(&st.after_logout),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no commit of http://127.0.0.1:3000 at or before"),
        "{err}"
    );
    let seq = json([
        "recover",
        "--as-of",
        &format!("seq:{first_commit}"),
        "-o",
        &s(&st.env.path("first.json")),
        "--store",
        &s(&st.after_logout),
    ]);
    assert!(
        seq["chosen"].as_array().unwrap().len() >= st.seeded.len() - 2,
        "{seq}"
    );
    // ID@SEQ: an older version of an updated peer, exactly the seed's record.
    let id = &st.updated[0];
    let first = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["peerId"] == id.as_str())
        .unwrap()["seq"]
        .as_u64()
        .unwrap();
    let picked = st.env.path("picked.json");
    let (code, _, err) = run([
        "recover",
        &format!("{}@{first}", &id[..8]),
        "-o",
        &s(&picked),
        "--store",
        &s(&st.after_logout),
    ]);
    assert_eq!(code, 0, "{err}");
    let key = JsString::from(format!("mesh:peer:{id}"));
    assert_eq!(backup_entries(&picked).get(&key), st.seeded.get(&key));
    // A version that does not exist is refused with the versions there are.
    let (code, _, err) = run([
        "recover",
        &format!("{id}@1"),
        "-o",
        &s(&st.env.path("none.json")),
        "--store",
        &s(&st.after_logout),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("has no version at or before seq 1; its versions:"),
        "{err}"
    );
    // The output file is never overwritten without --force.
    let (code, _, err) = run([
        "recover",
        "--deleted",
        "-o",
        &s(&picked),
        "--store",
        &s(&st.after_logout),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("exists; nothing was written"), "{err}");
}
