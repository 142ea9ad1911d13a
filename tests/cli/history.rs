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

/// Every peer record rusty-leveldb's own iterator reads in a copy of `dir` (it passes over a
/// table block that fails its checksum): what survives, by an independent reader.
fn peers_rusty_reads(dir: &Path, env: &TestEnv) -> std::collections::BTreeSet<String> {
    let copy = env.copy(dir, "rusty-copy");
    let mut db = rusty_leveldb::DB::open(
        &copy,
        rusty_leveldb::Options {
            create_if_missing: false,
            ..Default::default()
        },
    )
    .unwrap();
    let prefix = format!("_{ORIGIN}\0\u{1}mesh:peer:");
    let mut it = db.new_iter().unwrap();
    use rusty_leveldb::LdbIterator;
    it.seek(prefix.as_bytes());
    let mut out = std::collections::BTreeSet::new();
    while let Some((k, _)) = it.current() {
        let Some(id) = k.strip_prefix(prefix.as_bytes()) else {
            break;
        };
        out.insert(String::from_utf8(id.to_vec()).unwrap());
        if !it.advance() {
            break;
        }
    }
    out
}

#[test]
fn a_flipped_block_fails_reads_and_salvage_reads_around_it() {
    let Some(script) = browser() else { return };
    let Some(corpus) = corpus() else { return };
    let env = TestEnv::new();
    let profile = env.path("profile");
    let store = crate::support::local_storage(&corpus.join("app-oracle-r1/store.json"));
    let seed: Vec<(JsString, Option<JsString>)> = store
        .iter()
        .map(|(k, v)| (JsString::from(k.as_str()), Some(JsString::from(v.as_str()))))
        .collect();
    session(&script, &env, &profile, 1, &seed);
    // A second session: Chromium moves the first one's log into a table when it opens.
    session(
        &script,
        &env,
        &profile,
        2,
        &[("theme".into(), Some("dark".into()))],
    );
    let dir = profile.join("Default/Local Storage/leveldb");
    let table = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "ldb"))
        .expect("Chromium wrote a table");
    let all = json(["export", "--store", &s(&profile)]);
    let peers_before = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e[0].as_str().unwrap().starts_with("mesh:peer:"))
        .count();
    // Flip bytes in the middle of the table: one data block fails its checksum.
    let mut bytes = std::fs::read(&table).unwrap();
    let mid = bytes.len() / 3;
    for b in &mut bytes[mid..mid + 4] {
        *b ^= 0x5a;
    }
    std::fs::write(&table, &bytes).unwrap();
    let files = crate::support::read_files(&dir);
    let name = table.file_name().unwrap().to_str().unwrap();

    // A plain read fails naming the file and the block.
    let (code, _, err) = run(["list", "--store", &s(&profile)]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(name) && err.contains("block at offset"),
        "{err}"
    );
    let (code, _, err) = run(["history", "--store", &s(&profile), "--origin", ORIGIN]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(name) && err.contains("--salvage"), "{err}");

    // --salvage: every record outside the block, as rusty-leveldb's reader finds them, and the
    // block named.
    let survivors = peers_rusty_reads(&dir, &env);
    assert!(
        !survivors.is_empty() && survivors.len() < peers_before,
        "{} of {peers_before}",
        survivors.len()
    );
    let out = crate::support::meshpeers()
        .args(["export", "--salvage", "--store", &s(&profile)])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(name) && err.contains("fails its checksum; --salvage skipped it"),
        "{err}"
    );
    let exported: Value = serde_json::from_slice(&out.stdout).unwrap();
    let salvaged: std::collections::BTreeSet<String> = exported["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e[0].as_str()
                .unwrap()
                .strip_prefix("mesh:peer:")
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(salvaged, survivors);
    // The records it gives are the browser's own.
    for e in exported["entries"].as_array().unwrap() {
        let key = e[0].as_str().unwrap();
        assert_eq!(
            Some(e[1].as_str().unwrap()),
            store.get(key).map(String::as_str),
            "{key}"
        );
    }
    let listed = json([
        "list",
        "--salvage",
        "--include-blacklisted",
        "--store",
        &s(&profile),
    ]);
    for p in listed.as_array().unwrap() {
        assert!(survivors.contains(p["peerId"].as_str().unwrap()));
    }
    let h = json(["history", "--salvage", "--store", &s(&profile)]);
    assert_eq!(h["damage"][0]["file"], name);
    assert!(h["damage"][0]["offset"].as_u64().unwrap() <= mid as u64);
    // Writes never run on a salvaged view; nothing changed on disk.
    let id = survivors.iter().next().unwrap();
    let (code, _, err) = run(["remove", id, "--salvage", "--yes", "--store", &s(&profile)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a write never runs on it"), "{err}");
    assert_eq!(crate::support::read_files(&dir), files);
    // --salvage applies to LevelDB profiles only.
    let flat = env.write("flat.json", "{}");
    let (code, _, err) = run(["list", "--salvage", "--store", &s(&flat)]);
    assert_eq!(code, 2);
    assert!(err.contains("is not one"), "{err}");
}
