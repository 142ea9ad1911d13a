//! Stores written by the real app in real Chromium (`corpus/serverless-chat`): messy real
//! records (UUID ids, null publicKey, `pending`/`unknown` types, extra fields) read cleanly.

use std::fs;

use serde_json::Value;

use crate::support::{column, corpus, json, run};

fn index_of(dump: &std::path::Path) -> Vec<String> {
    let flat: serde_json::Map<String, Value> =
        serde_json::from_str(&fs::read_to_string(dump).unwrap()).unwrap();
    serde_json::from_str(flat["mesh:peers:index"].as_str().unwrap()).unwrap()
}

/// `show ID` on `store`, minutes after the real-app capture.
fn show_args<'a>(id: &'a str, store: &'a str) -> [&'a str; 6] {
    [
        "show",
        id,
        "--store",
        store,
        "--now",
        "2026-11-21T12:10:00Z",
    ]
}

#[test]
fn inspect_list_and_show_report_the_four_peers() {
    let Some(c) = corpus() else { return };
    let dir = c.join("serverless-chat");
    let cases = [
        ("A-localstorage.json", "A-localstorage.json"),
        ("A-storage-state.json", "A-localstorage.json"),
        ("B-localstorage.json", "B-localstorage.json"),
    ];
    for (file, dump) in cases {
        let store = dir.join(file).display().to_string();
        let ids = index_of(&dir.join(dump));
        assert_eq!(ids.len(), 4);

        let inspect = json(["inspect", "--store", &store]);
        assert_eq!(inspect["peerCount"], 4, "{file}");
        assert_eq!(inspect["indexedCount"], 4, "{file}");
        assert_eq!(inspect["schemaVersion"], "1.0.0");
        let errors: Vec<_> = inspect["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .collect();
        assert!(
            errors.is_empty(),
            "{file}: real app data reported as corrupt: {errors:?}"
        );
        let other: Vec<&str> = column(&inspect["otherKeys"], "key")
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert!(
            other.contains(&"mesh_reconnection_identity") && other.contains(&"theme"),
            "{other:?}"
        );

        // Minutes after the capture, nobody is blacklisted: all four are listed, newest first.
        let list = json([
            "list",
            "--store",
            &store,
            "--now",
            "2026-11-21T12:10:00Z",
            "--include-blacklisted",
        ]);
        let listed: Vec<&str> = column(&list, "peerId")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut sorted = listed.clone();
        sorted.sort();
        let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
        expected.sort();
        assert_eq!(sorted, expected, "{file}");
        let seen: Vec<f64> = column(&list, "lastSeen")
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            seen.windows(2).all(|w| w[0] >= w[1]),
            "{file}: not newest first: {seen:?}"
        );

        for id in &ids {
            let show = json(show_args(id, &store));
            assert_eq!(show["peerId"], id.as_str());
            assert_eq!(
                show["record"]["peerId"],
                id.as_str(),
                "unknown fields kept: {file} {id}"
            );
            assert_eq!(
                show["quality"], 30,
                "{file} {id}: successRate 1 → 30, type unknown → 0"
            );
        }
    }
}

#[test]
fn the_stopped_peer_keeps_its_attempts_and_extra_fields() {
    let Some(c) = corpus() else { return };
    let store = c
        .join("serverless-chat/A-localstorage.json")
        .display()
        .to_string();
    let d = json(show_args("4cb64668", &store));
    assert_eq!(d["record"]["displayName"], "Dave");
    assert_eq!(d["record"]["reconnectionAttempts"], 2);
    assert!(
        d["record"]["lastOffer"]["sdp"]
            .as_str()
            .unwrap()
            .starts_with("v=0")
    );
    assert_eq!(d["appScoreNaN"], false);
    let b = json(show_args("b60a8d9d", &store));
    assert_eq!(
        b["appScoreNaN"], true,
        "B's record has no reconnectionAttempts"
    );

    let (code, out, _) = run(show_args("4cb64668", &store));
    assert_eq!(code, 0);
    assert!(out.contains("\"displayName\": \"Dave\""), "{out}");
    assert!(out.contains("reason: reliable, recently-active"), "{out}");
    assert!(out.contains("penalty -10"), "{out}");
}
