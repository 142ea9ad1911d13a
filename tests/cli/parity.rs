//! Parity with the app's own answers: every oracle under `../shared/corpus` (a directory with
//! `oracle/` beside `store.json`), on both its flat and Playwright forms, at the oracle's `now`.
//! Query flags are derived from each oracle file's `args`, so an unseen oracle store made the
//! same way is checked by the same code.

use std::fs;

use serde_json::Value;

use crate::support::{column, corpus, json, now_of, oracle, oracle_dirs, read_forms};

/// The `list` flags for a `queryPeers(args)` call.
fn list_flags(args: &Value) -> Vec<String> {
    let mut flags = Vec::new();
    for (k, v) in args.as_object().unwrap() {
        let value = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match k.as_str() {
            "sortBy" => flags.extend(["--sort".into(), value]),
            "order" => flags.extend(["--order".into(), value]),
            "limit" => flags.extend(["--limit".into(), value]),
            "maxAge" => flags.extend(["--max-age".into(), value]),
            "minQuality" => flags.extend(["--min-quality".into(), value]),
            "excludeBlacklisted" if v == &Value::Bool(false) => {
                flags.push("--include-blacklisted".into())
            }
            "excludeBlacklisted" => {}
            other => panic!("queryPeers option {other} has no meshpeers flag"),
        }
    }
    flags
}

/// (peerId, number field) of each row of a result array.
fn id_and_number(rows: &Value, field: &str) -> Vec<(String, f64)> {
    let ids = column(rows, "peerId")
        .into_iter()
        .map(|v| v.as_str().unwrap().to_owned());
    ids.zip(column(rows, field).into_iter().map(|v| v.as_f64().unwrap()))
        .collect()
}

#[test]
fn every_query_gives_the_apps_ids_order_and_quality() {
    let dirs = oracle_dirs();
    let mut checked = 0;
    for dir in &dirs {
        let mut files: Vec<_> = fs::read_dir(dir.join("oracle"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("queryPeers"))
            .collect();
        files.sort();
        assert!(
            !files.is_empty(),
            "{} has no queryPeers oracle",
            dir.display()
        );
        for store in read_forms(dir) {
            for file in &files {
                let o = oracle(dir, file);
                let mut args = vec![
                    "list".to_owned(),
                    "--store".into(),
                    store.display().to_string(),
                ];
                args.extend(["--now".into(), now_of(&o)]);
                args.extend(list_flags(&o["args"]));
                let got = json(&args);
                let want = id_and_number(&o["result"], "_qualityScore");
                let got = id_and_number(&got, "quality");
                assert_eq!(got, want, "{} {file}", store.display());
                checked += 1;
            }
        }
    }
    if corpus().is_some() {
        assert!(checked >= 20, "only {checked} query checks ran");
    }
}

#[test]
fn stats_give_the_apps_storage_stats_and_needs_cleanup() {
    for dir in oracle_dirs() {
        let stats = oracle(&dir, "getStorageStats.json");
        let needs = oracle(&dir, "needsCleanup.json");
        let want = &stats["result"];
        for store in read_forms(&dir) {
            let got = json([
                "stats",
                "--store",
                &store.display().to_string(),
                "--now",
                &now_of(&stats),
            ]);
            let ctx = store.display().to_string();
            assert_eq!(got["peerCount"], want["peerCount"], "{ctx}");
            assert_eq!(
                got["estimatedSizeBytes"], want["estimatedSizeBytes"],
                "{ctx}"
            );
            assert_eq!(got["maxPeers"], want["maxPeers"], "{ctx}");
            assert_eq!(got["lastCleanup"], want["lastCleanup"], "{ctx}");
            // The app returns toFixed strings; meshpeers gives the same figures as numbers.
            for field in ["estimatedSizeMB", "utilizationPercent"] {
                let app: f64 = want[field].as_str().unwrap().parse().unwrap();
                assert_eq!(got[field].as_f64(), Some(app), "{ctx} {field}");
            }
            assert_eq!(got["needsCleanup"], needs["result"], "{ctx}");
            let store_bytes: u64 = {
                let flat: serde_json::Map<String, Value> =
                    serde_json::from_str(&fs::read_to_string(dir.join("store.json")).unwrap())
                        .unwrap();
                flat.iter()
                    .map(|(k, v)| {
                        2 * (k.encode_utf16().count() + v.as_str().unwrap().encode_utf16().count())
                            as u64
                    })
                    .sum()
            };
            assert_eq!(got["originBytes"].as_u64(), Some(store_bytes), "{ctx}");
            assert_eq!(got["quotaBytes"].as_u64(), Some(10 * 1024 * 1024));
        }
    }
}

#[test]
fn every_peer_score_and_reason_matches_the_app() {
    let mut checked = 0;
    for dir in oracle_dirs() {
        let o = oracle(&dir, "peer-scores.json");
        let now = now_of(&o);
        let want = o["result"].as_array().unwrap();
        for store in read_forms(&dir) {
            let store = store.display().to_string();
            let got = json(["score", "--store", &store, "--now", &now]);
            let got = got.as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{store}: one row per indexed peer");
            for (got, want) in got.iter().zip(want) {
                let id = want["peerId"].as_str().unwrap();
                let ctx = format!("{store} {id}");
                assert_eq!(got["peerId"], want["peerId"], "{ctx}: index order");
                assert_eq!(got["quality"].as_f64(), want["quality"].as_f64(), "{ctx}");
                assert_eq!(got["reason"], want["reason"], "{ctx} reason");
                match want["reconnection"].as_f64() {
                    None => {
                        assert_eq!(want["reconnection_js"], "NaN");
                        assert_eq!(got["appScoreNaN"], true, "{ctx}: the app's score is NaN");
                    }
                    Some(app) => {
                        let ours = got["reconnection"].as_f64().unwrap();
                        assert!((ours - app).abs() <= 1e-9, "{ctx}: {ours} vs {app}");
                        assert_eq!(got["appScoreNaN"], false, "{ctx}");
                    }
                }
                let parts = &got["reconnectionParts"];
                let sum: f64 = [
                    "quality",
                    "recency",
                    "connections",
                    "reliability",
                    "penalty",
                ]
                .iter()
                .map(|p| parts[p].as_f64().unwrap())
                .sum();
                let total = got["reconnection"].as_f64().unwrap();
                assert!(
                    (sum.clamp(0.0, 100.0) - total).abs() < 1e-9,
                    "{ctx}: parts {parts} do not add up to {total}"
                );
                let q = &got["qualityParts"];
                let qsum: f64 = ["latency", "successRate", "connectionType", "uptime"]
                    .iter()
                    .map(|p| q[p].as_f64().unwrap())
                    .sum();
                assert_eq!(
                    qsum.clamp(0.0, 100.0),
                    got["quality"].as_f64().unwrap(),
                    "{ctx}"
                );
                checked += 1;
            }
            // `show` explains one peer with the same figures, and `score ID` picks peers.
            let first = want[0]["peerId"].as_str().unwrap();
            let shown = json(["show", first, "--store", &store, "--now", &now]);
            let one = json(["score", first, "--store", &store, "--now", &now]);
            assert_eq!(shown["reconnection"], got[0]["reconnection"]);
            assert_eq!(one.as_array().unwrap().as_slice(), &got[..1]);
        }
    }
    if corpus().is_some() {
        assert!(checked >= 480, "only {checked} peer scores checked");
    }
}
