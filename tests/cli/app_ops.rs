//! The app's operations against its own answers: reconnection candidates, cleanupStalePeers,
//! clearExpiredBlacklists, on every oracle store of the corpus (flat and Playwright forms), at
//! the oracle's `now`. Flags come from each oracle file's `args`, so an unseen oracle store made
//! the same way is checked by the same code.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use serde_json::Value;

use crate::support::{
    TestEnv, column, corpus, json, local_storage, now_of, oracle, oracle_dirs, run, store_forms,
};

/// Decrypts an app ciphertext (base64 of IV ‖ AES-256-GCM ciphertext ‖ tag) with the JWK.
fn decrypt(jwk: &str, b64: &str) -> String {
    let jwk: Value = serde_json::from_str(jwk).unwrap();
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwk["k"].as_str().unwrap())
        .unwrap();
    let data = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let plain = cipher
        .decrypt(Nonce::from_slice(&data[..12]), &data[12..])
        .expect("decrypts");
    String::from_utf8(plain).unwrap()
}

/// Values compared as parsed JSON (strings that are not JSON compared as they are), with
/// `encryptedSecret` compared by decryption.
fn assert_same_store(got: &BTreeMap<String, String>, want: &BTreeMap<String, String>, ctx: &str) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{ctx}: same keys"
    );
    let key_got = got.get("mesh:encryption:key");
    let key_want = want.get("mesh:encryption:key");
    for (k, g) in got {
        let w = &want[k];
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::String(s.into()));
        let (mut g, mut w) = (parse(g), parse(w));
        if let (Some(go), Some(wo)) = (g.as_object_mut(), w.as_object_mut()) {
            let gs = go.remove("encryptedSecret");
            let ws = wo.remove("encryptedSecret");
            match (gs, ws) {
                (Some(Value::String(a)), Some(Value::String(b))) => assert_eq!(
                    decrypt(key_got.unwrap(), &a),
                    decrypt(key_want.unwrap(), &b),
                    "{ctx} {k}: secrets decrypt to the same plaintext"
                ),
                (a, b) => assert_eq!(a, b, "{ctx} {k}: encryptedSecret"),
            }
        }
        assert_eq!(g, w, "{ctx} {k}");
    }
}

fn oracle_files(dir: &Path, prefix: &str) -> Vec<String> {
    let mut files: Vec<_> = fs::read_dir(dir.join("oracle"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    files.sort();
    files
}

#[test]
fn candidates_are_the_apps_in_order_with_scores_and_reasons() {
    let mut ordered = 0;
    for dir in oracle_dirs() {
        for store in crate::support::read_forms(&dir) {
            let store = store.display().to_string();
            for file in oracle_files(&dir, "reconnectionCandidates") {
                let o = oracle(&dir, &file);
                let now = now_of(&o);
                let mut args = vec!["candidates".to_owned(), "--store".into(), store.clone()];
                args.extend(["--now".into(), now.clone()]);
                for (k, v) in o["args"].as_object().unwrap() {
                    let flag = match k.as_str() {
                        "limit" => "--limit",
                        "maxAge" => "--max-age",
                        "minQuality" => "--min-quality",
                        other => panic!("getReconnectionCandidates option {other}"),
                    };
                    args.extend([flag.to_owned(), v.to_string()]);
                }
                let got = json(&args);
                let got = got.as_array().unwrap();
                let want = o["result"].as_array().unwrap();
                let ctx = format!("{store} {file}");
                let app_nan = want.iter().any(|w| w["score_js"] == "NaN");
                if !app_nan {
                    // The app's order is well defined: it must be ours, tie for tie.
                    let ids = |rows: &[Value]| -> Vec<Value> {
                        rows.iter().map(|r| r["peerId"].clone()).collect()
                    };
                    assert_eq!(ids(got), ids(want), "{ctx}: order");
                    ordered += 1;
                }
                // Every score the app computed (not NaN) is ours, with its reason and parts.
                let ours: HashMap<&str, &Value> = got
                    .iter()
                    .map(|g| (g["peerId"].as_str().unwrap(), g))
                    .collect();
                let all = json(["score", "--store", &store, "--now", &now]);
                let scores: HashMap<&str, &Value> = all
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| (g["peerId"].as_str().unwrap(), g))
                    .collect();
                for w in want {
                    let id = w["peerId"].as_str().unwrap();
                    let s = scores[id];
                    assert_eq!(s["reason"], w["reason"], "{ctx} {id}");
                    match w["score"].as_f64() {
                        Some(app) => {
                            let mine = s["reconnection"].as_f64().unwrap();
                            assert!((mine - app).abs() <= 1e-9, "{ctx} {id}: {mine} vs {app}");
                        }
                        None => assert_eq!(s["appScoreNaN"], true, "{ctx} {id}"),
                    }
                    if let Some(g) = ours.get(id) {
                        assert_eq!(g["score"], s["reconnection"], "{ctx} {id}");
                        assert_eq!(g["parts"], s["reconnectionParts"], "{ctx} {id}");
                    }
                }
            }
        }
    }
    if corpus().is_some() {
        assert!(ordered >= 4, "only {ordered} candidate orders checked");
    }
}

#[test]
fn stale_cleanup_leaves_what_the_app_left_and_its_backup_restores_the_store() {
    let mut checked = 0;
    for dir in oracle_dirs() {
        let o = oracle(&dir, "cleanupStalePeers.json");
        let now = now_of(&o);
        let removed: Vec<&Value> = o["derived"]["removedPeerIds"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        let after = local_storage(&dir.join("oracle/store-after-stale-cleanup.json"));
        let stats_after = oracle(&dir, "getStorageStats-after-stale-cleanup.json");
        for form in store_forms(&dir) {
            let env = TestEnv::new();
            let name = form.file_name().unwrap().to_str().unwrap();
            let store = env.copy(&form, name);
            let s = store.display().to_string();
            let ctx = format!("{} {name}", dir.display());

            // The dry run plans exactly the peers the app removed, and changes no byte.
            let before = env.snapshot();
            let plan = json(["cleanup", "--dry-run", "--store", &s, "--now", &now]);
            assert_eq!(env.snapshot(), before, "{ctx}: a dry run writes nothing");
            assert_eq!(plan["dryRun"], true);
            assert_eq!(plan["backup"], Value::Null);
            let planned = column(&plan["actions"], "peerId");
            assert_eq!(
                planned, removed,
                "{ctx}: the app's removed peers, in index order"
            );
            for a in plan["actions"].as_array().unwrap() {
                assert!(
                    ["inactive", "failed-reconnections", "lru"]
                        .contains(&a["rule"].as_str().unwrap()),
                    "{ctx}: {a}"
                );
                assert!(!a["reason"].as_str().unwrap().is_empty());
            }

            // The real run leaves the app's store; its stats are the app's stats after.
            let done = json(["cleanup", "--store", &s, "--now", &now]);
            assert_eq!(done["dryRun"], false);
            assert_eq!(
                done["actions"], plan["actions"],
                "{ctx}: the plan is what ran"
            );
            let backup = done["backup"]
                .as_str()
                .expect("a backup was written")
                .to_owned();
            let got = local_storage(&store);
            assert_same_store(&got, &after, &ctx);
            if name == "store.json" {
                assert_eq!(
                    fs::read(&store).unwrap(),
                    fs::read(dir.join("oracle/store-after-stale-cleanup.json")).unwrap(),
                    "{ctx}: byte for byte the app's dump"
                );
            }
            let stats = json(["stats", "--store", &s, "--now", &now]);
            let want = &stats_after["result"];
            assert_eq!(stats["peerCount"], want["peerCount"], "{ctx}");
            assert_eq!(
                stats["estimatedSizeBytes"], want["estimatedSizeBytes"],
                "{ctx}"
            );
            assert_eq!(stats["lastCleanup"], want["lastCleanup"], "{ctx}");

            // The backup is 0600 and gives the original store back.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{ctx}: backup mode");
            }
            let (code, _, err) = run(["import", &backup, "--mode", "replace", "--store", &s]);
            assert_eq!(
                code, 1,
                "{ctx}: replace without a terminal needs --yes: {err}"
            );
            assert!(err.contains("pass --yes"), "{err}");
            let restored = json([
                "import", &backup, "--mode", "replace", "--yes", "--store", &s,
            ]);
            assert_eq!(restored["actions"].as_array().unwrap().len(), removed.len());
            assert_eq!(
                local_storage(&store),
                local_storage(&form),
                "{ctx}: restored"
            );
            checked += 1;
        }
    }
    if corpus().is_some() {
        assert!(checked >= 4, "only {checked} cleanup checks ran");
    }
}

#[test]
fn merging_a_cleanup_backup_brings_the_removed_peers_back() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("app-oracle-r1/clean");
    let o = oracle(&dir, "cleanupStalePeers.json");
    let now = now_of(&o);
    let env = TestEnv::new();
    let store = env.copy(&dir.join("store.json"), "store.json");
    let s = store.display().to_string();
    let done = json(["cleanup", "--store", &s, "--now", &now]);
    let backup = done["backup"].as_str().unwrap().to_owned();
    let merged = json(["import", &backup, "--store", &s, "--now", &now]);
    let added: Vec<&Value> = merged["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "add")
        .map(|a| &a["peerId"])
        .collect();
    assert_eq!(
        added,
        o["derived"]["removedPeerIds"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
    );
    let original = local_storage(&dir.join("store.json"));
    let now_store = local_storage(&store);
    // Every record is back byte for byte; the index holds every peer (the store's first).
    for (k, v) in &original {
        if k.starts_with("mesh:peer:") {
            assert_eq!(now_store.get(k), Some(v), "{k}");
        }
    }
    let index: Vec<String> = serde_json::from_str(&now_store["mesh:peers:index"]).unwrap();
    let mut want: Vec<String> = serde_json::from_str(&original["mesh:peers:index"]).unwrap();
    assert_eq!(index.len(), want.len());
    let mut sorted = index.clone();
    sorted.sort();
    want.sort();
    assert_eq!(sorted, want);
    let meta: Value = serde_json::from_str(&now_store["mesh:peers:metadata"]).unwrap();
    assert_eq!(meta["totalPeers"], 120);
    // A second merge finds nothing to do and writes nothing.
    let before = env.snapshot();
    let again = json(["import", &backup, "--store", &s, "--now", &now]);
    assert_eq!(again["keys"]["written"].as_array().unwrap().len(), 0);
    assert_eq!(again["backup"], Value::Null);
    assert_eq!(env.snapshot(), before);
}

/// A record text with `blacklistUntil` set to null and `reconnectionAttempts` to 0 where they
/// stand (appended when absent), every other byte kept: what "in place" means.
fn edited_in_place(record: &str) -> String {
    let mut out = record.to_owned();
    for (name, value) in [("blacklistUntil", "null"), ("reconnectionAttempts", "0")] {
        let key = format!("\"{name}\":");
        match out.find(&key) {
            Some(at) => {
                let start = at + key.len();
                let end = start + out[start..].find([',', '}']).unwrap();
                out.replace_range(start..end, value);
            }
            None => {
                let close = out.rfind('}').unwrap();
                out.insert_str(close, &format!(",{key}{value}"));
            }
        }
    }
    out
}

#[test]
fn unblacklist_expired_is_the_apps_clear_expired_blacklists_in_place() {
    let mut checked = 0;
    for dir in oracle_dirs() {
        let o = oracle(&dir, "clearExpiredBlacklists.json");
        let now = now_of(&o);
        let after = local_storage(&dir.join("oracle/store-after-unblacklist.json"));
        for form in store_forms(&dir) {
            let env = TestEnv::new();
            let name = form.file_name().unwrap().to_str().unwrap();
            let store = env.copy(&form, name);
            let s = store.display().to_string();
            let ctx = format!("{} {name}", dir.display());
            let done = json(["unblacklist", "--expired", "--store", &s, "--now", &now]);
            let changed = column(&done["actions"], "peerId");
            assert_eq!(
                changed,
                o["derived"]["changedPeerIds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .collect::<Vec<_>>(),
                "{ctx}"
            );
            assert_eq!(changed.len() as u64, o["result"].as_u64().unwrap());
            let got = local_storage(&store);
            assert_same_store(&got, &after, &ctx);
            // Only blacklistUntil and reconnectionAttempts changed: the record minus those
            // two members is the original text, byte for byte.
            let original = local_storage(&form);
            for id in &changed {
                let k = format!("mesh:peer:{}", id.as_str().unwrap());
                let strip = |s: &str| {
                    let mut v: serde_json::Map<String, Value> = serde_json::from_str(s).unwrap();
                    v.remove("blacklistUntil");
                    v.remove("reconnectionAttempts");
                    v
                };
                assert_eq!(strip(&got[&k]), strip(&original[&k]), "{ctx} {k}");
                assert_eq!(
                    got[&k],
                    edited_in_place(&original[&k]),
                    "{ctx} {k}: in place"
                );
                let enc =
                    |s: &str| serde_json::from_str::<Value>(s).unwrap()["encryptedSecret"].clone();
                assert_eq!(
                    enc(&got[&k]),
                    enc(&original[&k]),
                    "{ctx} {k}: ciphertext untouched"
                );
            }
            // Running it again changes nothing.
            let before = env.snapshot();
            let again = json(["unblacklist", "--expired", "--store", &s, "--now", &now]);
            assert_eq!(again["actions"].as_array().unwrap().len(), 0);
            assert_eq!(env.snapshot(), before, "{ctx}: idempotent");
            checked += 1;
        }
    }
    if corpus().is_some() {
        assert!(checked >= 4, "only {checked} unblacklist checks ran");
    }
}
