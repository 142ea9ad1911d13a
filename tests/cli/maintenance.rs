//! remove, clear, unblacklist ID and import on the bundled example store (flat and Playwright):
//! what they change, what they refuse, and that their backups bring everything back.

use std::collections::BTreeMap;
use std::fs;

use serde_json::Value;

use crate::support::{TestEnv, json, local_storage, repo, run};

const NOW: &str = "1795176000000";
const DAVE: &str = "76903246-a037-4d56-a223-203097c22820";
const CHLOE: &str = "3e693117-6055-4390-9169-bdc17e5cb1ef"; // blacklisted for 12 more hours
const IVAN: &str = "92e5ad48-ff07-4ea6-8c9d-f113a71e8f38";

fn forms() -> [(&'static str, std::path::PathBuf); 2] {
    [
        ("store.json", repo().join("fixtures/example/store.json")),
        (
            "storage-state.json",
            repo().join("fixtures/example/storage-state.json"),
        ),
    ]
}

fn index(m: &BTreeMap<String, String>) -> Vec<String> {
    serde_json::from_str(&m["mesh:peers:index"]).unwrap()
}

#[test]
fn remove_takes_records_and_index_entries_and_updates_metadata() {
    for (name, src) in forms() {
        let env = TestEnv::new();
        let store = env.copy(&src, name);
        let s = store.display().to_string();
        let before = local_storage(&store);
        let out = json(["remove", DAVE, IVAN, "--store", &s, "--now", NOW]);
        let ids: Vec<&str> = out["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["peerId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [DAVE, IVAN], "{name}");
        let after = local_storage(&store);
        assert!(!after.contains_key(&format!("mesh:peer:{DAVE}")));
        assert!(!after.contains_key(&format!("mesh:peer:{IVAN}")));
        let want: Vec<String> = index(&before)
            .into_iter()
            .filter(|i| i != DAVE && i != IVAN)
            .collect();
        assert_eq!(index(&after), want, "{name}");
        let meta: Value = serde_json::from_str(&after["mesh:peers:metadata"]).unwrap();
        let old: Value = serde_json::from_str(&before["mesh:peers:metadata"]).unwrap();
        assert_eq!(meta["totalPeers"], 18);
        assert_eq!(
            meta["lastCleanup"], old["lastCleanup"],
            "removePeer keeps it"
        );
        let size: usize = want
            .iter()
            .map(|i| 2 * after[&format!("mesh:peer:{i}")].encode_utf16().count())
            .sum();
        assert_eq!(meta["estimatedSize"], size);
        for (k, v) in &before {
            if !k.starts_with("mesh:peer") {
                assert_eq!(after.get(k), Some(v), "{name}: {k} untouched");
            }
        }
        // The backup merged back restores both peers byte for byte.
        let backup = out["backup"].as_str().unwrap().to_owned();
        let merged = json(["import", &backup, "--store", &s, "--now", NOW]);
        assert_eq!(merged["actions"].as_array().unwrap().len(), 2);
        let restored = local_storage(&store);
        for k in [format!("mesh:peer:{DAVE}"), format!("mesh:peer:{IVAN}")] {
            assert_eq!(restored[&k], before[&k], "{name}: {k}");
        }
        assert_eq!(index(&restored).len(), 20);
    }
}

#[test]
fn remove_of_an_unknown_id_changes_nothing_and_suggests_the_full_id() {
    let env = TestEnv::new();
    let (name, src) = &forms()[0];
    let store = env.copy(src, name);
    let s = store.display().to_string();
    let before = env.snapshot();
    // A prefix shorter than 4 characters is never taken for an id, even when it is unique.
    let (code, out, err) = run(["remove", DAVE, "7690", "769", "--store", &s]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("no peer 769 (a prefix needs at least 4 characters"),
        "{err}"
    );
    assert!(err.contains(&format!("did you mean {DAVE}")), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    let (code, _, err) = run(["remove", "zzzzzzzz", "--store", &s]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no peer zzzzzzzz; nothing was changed"),
        "{err}"
    );
    assert_eq!(env.snapshot(), before);
}

/// Ids as a terminal shows them (the shortest unique prefix of at least 8 characters) work
/// for the writing commands; a prefix that names two peers is refused, naming both.
#[test]
fn remove_and_unblacklist_take_a_unique_prefix_and_refuse_an_ambiguous_one() {
    let env = TestEnv::new();
    let (name, src) = &forms()[0];
    let store = env.copy(src, name);
    let s = store.display().to_string();
    // A second peer whose id shares DAVE's first 13 characters.
    let twin = format!("{}ffff-0000-0000-000000000000", &DAVE[..14]);
    let mut m: serde_json::Map<String, Value> =
        serde_json::from_str(&fs::read_to_string(&store).unwrap()).unwrap();
    let record = m[&format!("mesh:peer:{DAVE}")]
        .as_str()
        .unwrap()
        .replace(DAVE, &twin);
    m.insert(format!("mesh:peer:{twin}"), record.into());
    let mut ids = index(&local_storage(&store));
    ids.push(twin.clone());
    m.insert(
        "mesh:peers:index".into(),
        serde_json::to_string(&ids).unwrap().into(),
    );
    fs::write(&store, serde_json::to_string(&m).unwrap()).unwrap();
    let before = env.snapshot();

    let (code, _, err) = run(["remove", &DAVE[..8], "--store", &s]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{} names 2 peers ({DAVE}, {twin})", &DAVE[..8])),
        "{err}"
    );
    assert!(
        err.contains("give more of the id; nothing was changed"),
        "{err}"
    );
    let (code, _, err) = run(["unblacklist", &DAVE[..8], "--store", &s]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(env.snapshot(), before);

    // One more character tells them apart: the plan names the whole id.
    let plan = json([
        "remove",
        &DAVE[..15],
        "--dry-run",
        "--store",
        &s,
        "--now",
        NOW,
    ]);
    let removed: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["peerId"].as_str().unwrap())
        .collect();
    assert_eq!(removed, [DAVE]);
    let plan = json([
        "unblacklist",
        &CHLOE[..8],
        "--dry-run",
        "--store",
        &s,
        "--now",
        NOW,
    ]);
    assert_eq!(plan["actions"][0]["peerId"], CHLOE);
    assert_eq!(env.snapshot(), before);
    let (code, _, err) = run(["remove", &twin[..15], "--store", &s, "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    let after = local_storage(&store);
    assert!(!after.contains_key(&format!("mesh:peer:{twin}")));
    assert!(after.contains_key(&format!("mesh:peer:{DAVE}")));
    assert!(!index(&after).contains(&twin));
}

#[test]
fn clear_is_the_apps_logout_and_asks_first() {
    for (name, src) in forms() {
        let env = TestEnv::new();
        let store = env.copy(&src, name);
        let s = store.display().to_string();
        let before_files = env.snapshot();
        let before = local_storage(&store);

        // No terminal and no --yes: refused, nothing written.
        let (code, _, err) = run(["clear", "--store", &s]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("pass --yes"), "{err}");
        assert_eq!(env.snapshot(), before_files);

        // The dry run lists every peer and needs no confirmation.
        let plan = json(["clear", "--dry-run", "--store", &s]);
        assert_eq!(plan["actions"].as_array().unwrap().len(), 20);
        assert_eq!(env.snapshot(), before_files);

        let done = json(["clear", "--yes", "--store", &s]);
        let after = local_storage(&store);
        let namespace: Vec<&String> = after.keys().filter(|k| k.starts_with("mesh:")).collect();
        assert_eq!(namespace, ["mesh:schema:version"], "{name}");
        for (k, v) in &before {
            if !k.starts_with("mesh:") {
                assert_eq!(after.get(k), Some(v), "{name}: {k}");
            }
        }
        let mut deleted: Vec<&str> = done["keys"]["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        deleted.sort();
        let want: Vec<&str> = before
            .keys()
            .map(String::as_str)
            .filter(|k| k.starts_with("mesh:") && *k != "mesh:schema:version")
            .collect();
        assert_eq!(deleted, want, "{name}: records, index, metadata (and key)");
        assert_eq!(deleted.len(), 22);
        let b = done["backup"].as_str().unwrap().to_owned();
        json(["import", &b, "--mode", "replace", "--yes", "--store", &s]);
        assert_eq!(local_storage(&store), before, "{name}: restored");
    }
}

#[test]
fn unblacklist_by_id_lifts_a_running_blacklist_in_place() {
    let env = TestEnv::new();
    let (name, src) = &forms()[0];
    let store = env.copy(src, name);
    let s = store.display().to_string();
    let before = local_storage(&store);
    let key = format!("mesh:peer:{CHLOE}");
    let out = json(["unblacklist", CHLOE, "--store", &s, "--now", NOW]);
    let a = &out["actions"][0];
    assert_eq!(a["rule"], "requested");
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("the blacklist had 12h"),
        "{a}"
    );
    let after = local_storage(&store);
    let (old, new): (Value, Value) = (
        serde_json::from_str(&before[&key]).unwrap(),
        serde_json::from_str(&after[&key]).unwrap(),
    );
    assert_eq!(new["blacklistUntil"], Value::Null);
    assert_eq!(new["reconnectionAttempts"], 0);
    let strip = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        o.remove("blacklistUntil");
        o.remove("reconnectionAttempts");
        v
    };
    assert_eq!(strip(new), strip(old));
    // Without --expired or ids it is a usage error.
    let (code, _, err) = run(["unblacklist", "--store", &s]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn import_refuses_damaged_foreign_and_unknown_backups() {
    let env = TestEnv::new();
    let (_, src) = &forms()[1];
    let store = env.copy(src, "state.json");
    let s = store.display().to_string();
    let out = json(["remove", DAVE, "--store", &s, "--no-backup"]);
    assert_eq!(out["backup"], Value::Null);
    let backup_path = env.path("b.json");
    let b = backup_path.display().to_string();
    // Take a backup with an explicit path (the removal of IVAN is then undone by it).
    json(["remove", IVAN, "--store", &s, "--backup", &b]);
    let text = fs::read_to_string(&backup_path).unwrap();
    assert!(text.contains("\"origin\": \"http://127.0.0.1:3000\""));

    // An existing --backup file is never overwritten.
    let snapshot = env.snapshot();
    let (code, _, err) = run(["remove", CHLOE, "--store", &s, "--backup", &b]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot write backup"), "{err}");
    assert_eq!(env.snapshot(), snapshot, "the store was not touched");

    let changed = text.replace(r#"\"Ivan\""#, r#"\"Eve\""#);
    assert_ne!(changed, text);
    let tampered = env.write("t.json", changed);
    let truncated = env.write("tr.json", &text[..text.len() / 2]);
    let future = env.write("f.json", text.replace("\"version\": 1", "\"version\": 9"));
    let foreign = env.write(
        "o.json",
        text.replace("http://127.0.0.1:3000", "https://other.example"),
    );
    let cases: [(&std::path::Path, i32, &str); 5] = [
        (&tampered, 3, "checksum mismatch"),
        (&truncated, 3, "truncated"),
        (&future, 3, "unknown meshpeers backup version 9"),
        (&foreign, 2, "is a backup of https://other.example"),
        (src, 3, "not a meshpeers backup"),
    ];
    let snapshot = env.snapshot();
    for (file, want_code, want_msg) in cases {
        let f = file.display().to_string();
        let (code, _, err) = run(["import", &f, "--store", &s]);
        assert_eq!(code, want_code, "{f}: {err}");
        assert!(err.contains(want_msg), "{f}: {err}");
        assert!(err.contains(&f) || want_code == 2, "names the file: {err}");
        assert_eq!(env.snapshot(), snapshot, "{f}: nothing changed");
    }
    // A foreign backup goes in when the origin is named.
    let f = foreign.display().to_string();
    let (code, _, err) = run([
        "import",
        &f,
        "--store",
        &s,
        "--origin",
        "http://127.0.0.1:3000",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(local_storage(&store).contains_key(&format!("mesh:peer:{IVAN}")));
}

#[test]
fn a_store_from_stdin_plans_but_never_writes() {
    let (_, src) = &forms()[0];
    let text = fs::read(src).unwrap();
    let out = crate::support::meshpeers()
        .args([
            "--store",
            "-",
            "cleanup",
            "--dry-run",
            "--json",
            "--now",
            NOW,
        ])
        .write_stdin(text.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["dryRun"], true);
    let out = crate::support::meshpeers()
        .args(["--store", "-", "remove", DAVE])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be written"));
}

/// `cleanup --explain PEER` agrees with the plan for every peer under every strategy: removed
/// exactly when the dry run removes it, with the plan's reason; kept ones name each test.
#[test]
fn cleanup_explain_agrees_with_the_plan_for_every_peer_and_writes_nothing() {
    let store = repo().join("fixtures/example/store.json");
    let before = fs::read(&store).unwrap();
    let s = store.to_str().unwrap();
    let ids: Vec<String> = {
        let (code, out, err) = run(["list", "--include-blacklisted", "--json", "--store", s]);
        assert_eq!(code, 0, "{err}");
        let list: Value = serde_json::from_str(&out).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| p["peerId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids.len() >= 8);
    let mut kept_and_removed = (0, 0);
    for strategy in ["stale", "age", "failures", "lru", "quality", "hybrid"] {
        let base = ["--store", s, "--now", NOW, "--strategy", strategy, "--json"];
        let (code, out, err) = run([
            &["cleanup", "--dry-run", "--keep", "3", "--target", "4"],
            &base[..],
        ]
        .concat());
        assert_eq!(code, 0, "{err}");
        let plan: Value = serde_json::from_str(&out).unwrap();
        let reasons: BTreeMap<String, (String, String)> = plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let id = a["peerId"].as_str().unwrap().to_owned();
                (
                    id,
                    (
                        a["rule"].as_str().unwrap().to_owned(),
                        a["reason"].as_str().unwrap().to_owned(),
                    ),
                )
            })
            .collect();
        for id in &ids {
            let (code, out, err) = run([
                &[
                    "cleanup",
                    "--keep",
                    "3",
                    "--target",
                    "4",
                    "--explain",
                    &id[..8],
                ],
                &base[..],
            ]
            .concat());
            assert_eq!(code, 0, "{strategy} {id}: {err}");
            let e: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(e["peerId"], id.as_str());
            assert_eq!(e["strategy"], strategy);
            let checks: Vec<&str> = e["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            match reasons.get(id) {
                Some((rule, reason)) => {
                    kept_and_removed.1 += 1;
                    assert_eq!(e["removed"], true, "{strategy} {id}");
                    assert_eq!(checks.len(), 1);
                    let head = format!("removed by {rule}");
                    assert!(checks[0].starts_with(&head), "{strategy}: {checks:?}");
                    assert!(
                        checks[0].ends_with(&format!(": {reason}")),
                        "{strategy}: {checks:?} vs {reason}"
                    );
                }
                None => {
                    kept_and_removed.0 += 1;
                    assert_eq!(e["removed"], false, "{strategy} {id}");
                    assert!(
                        checks
                            .iter()
                            .all(|c| c.contains(": no, ") || c.starts_with("kept: blacklisted")),
                        "{strategy}: {checks:?}"
                    );
                    let want = match strategy {
                        "stale" => 3,
                        "hybrid" if !checks[0].starts_with("kept: blacklisted") => 5,
                        _ => 1,
                    };
                    assert_eq!(checks.len(), want, "{strategy}: {checks:?}");
                }
            }
        }
    }
    assert!(
        kept_and_removed.0 > 10 && kept_and_removed.1 > 10,
        "{kept_and_removed:?}"
    );
    // A blacklisted peer: hybrid leaves it out; stale tests it.
    let (_, out, _) = run([
        "cleanup",
        "--strategy",
        "hybrid",
        "--explain",
        CHLOE,
        "--store",
        s,
        "--now",
        NOW,
    ]);
    assert!(
        out.contains("under cleanup --strategy hybrid: kept"),
        "{out}"
    );
    assert!(out.contains("kept: blacklisted for another 12h"), "{out}");
    // In words, on stdout; an unknown peer is exit 1 naming it; nothing was written.
    let (code, _, err) = run([
        "cleanup",
        "--explain",
        "ffffffff",
        "--store",
        s,
        "--now",
        NOW,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no peer ffffffff"), "{err}");
    assert_eq!(fs::read(&store).unwrap(), before);
}

/// `stats --json`'s spread: the quality buckets of `score`, the last-seen buckets of `list`,
/// and for each strategy the number of peers its dry run removes.
#[test]
fn stats_spread_counts_what_score_list_and_each_cleanup_dry_run_say() {
    let store = repo().join("fixtures/example/store.json");
    let s = store.to_str().unwrap();
    let base = ["--store", s, "--now", NOW, "--json"];
    let get = |args: &[&str]| -> Value {
        let (code, out, err) = run([args, &base[..]].concat());
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap()
    };
    let stats = get(&["stats"]);
    let spread = &stats["spread"];
    assert_eq!(stats["peerCount"], 20, "the app's fields stay");
    let scores = get(&["score"]);
    let scores = scores.as_array().unwrap();
    assert_eq!(spread["peers"], scores.len());
    let mut quality = [0u64; 10];
    for r in scores {
        let q = r["quality"].as_f64().unwrap();
        quality[((q / 10.0).floor() as usize).min(9)] += 1;
    }
    let got: Vec<u64> = spread["quality"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(got, quality);
    let list = get(&["list", "--include-blacklisted"]);
    let now: f64 = NOW.parse().unwrap();
    let marks = [1.0, 3.0, 7.0, 14.0, 30.0];
    let mut seen = [0u64; 6];
    for p in list.as_array().unwrap() {
        let days = (now - p["lastSeen"].as_f64().unwrap_or(0.0)) / 86_400_000.0;
        seen[marks.iter().filter(|&&m| days > m).count()] += 1;
    }
    let buckets = spread["lastSeen"].as_array().unwrap();
    let got: Vec<u64> = buckets
        .iter()
        .map(|b| b["peers"].as_u64().unwrap())
        .collect();
    assert_eq!(got, seen);
    assert_eq!(buckets[0]["fromDays"], Value::Null);
    assert_eq!(buckets[5]["fromDays"], 30.0);
    let counts = spread["cleanup"].as_array().unwrap();
    assert_eq!(counts.len(), 6);
    for c in counts {
        let strategy = c["strategy"].as_str().unwrap();
        let plan = get(&["cleanup", "--dry-run", "--strategy", strategy]);
        assert_eq!(
            c["removes"],
            plan["actions"].as_array().unwrap().len(),
            "{strategy}"
        );
    }
    assert!(counts.iter().any(|c| c["removes"].as_u64().unwrap() > 0));
}
