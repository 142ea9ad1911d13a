//! `meshpeers diff`: a store against itself on every backend is equal (exit 0); a store
//! against its backup after each writing command lists exactly the planned actions (exit 1);
//! secrets are never shown.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{TestEnv, corpus, json, read_forms, run};

const NOW: &str = "1795176000000";

fn diff_json(a: &str, b: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["diff", a, b, "--json"];
    args.extend(extra);
    let (code, out, err) = run(&args);
    assert!(code == 0 || code == 1, "diff {a} {b}: {err}");
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")),
    )
}

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["peerId"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_store_diffed_with_itself_across_every_pair_of_backends_is_equal() {
    let Some(c) = corpus() else { return };
    let forms = read_forms(&c.join("app-oracle-r1"));
    assert!(forms.len() >= 3);
    let mut pairs = 0;
    for (i, a) in forms.iter().enumerate() {
        for b in &forms[i..] {
            let (a, b) = (a.display().to_string(), b.display().to_string());
            let (code, v) = diff_json(&a, &b, &["--all-keys"]);
            assert_eq!(
                (code, &v["equal"]),
                (0, &Value::Bool(true)),
                "{a} vs {b}: {v}"
            );
            assert_eq!(v["otherKeys"], Value::Array(vec![]), "{a} vs {b}");
            pairs += 1;
        }
    }
    assert_eq!(pairs, forms.len() * (forms.len() + 1) / 2);
}

#[test]
fn a_store_against_its_backup_after_each_write_lists_exactly_the_planned_actions() {
    let Some(c) = corpus() else { return };
    let env = TestEnv::new();
    let store = env.copy(&c.join("app-oracle-r1/store.json"), "store.json");
    let s = store.display().to_string();
    let original = env.path("original.json").display().to_string();
    let (code, _, err) = run(["export", "--store", &s, "-o", &original]);
    assert_eq!(code, 0, "{err}");

    // cleanup: exactly the removed peers, the index and metadata; nothing else.
    let done = json([
        "cleanup",
        "--strategy",
        "stale",
        "--now",
        NOW,
        "--yes",
        "--store",
        &s,
    ]);
    let backup = done["backup"].as_str().unwrap().to_owned();
    let (code, d) = diff_json(&backup, &s, &[]);
    assert_eq!(code, 1);
    assert_eq!(d["equal"], false);
    assert_eq!(ids(&d["removed"]), ids(&done["actions"]));
    assert!(
        d["added"].as_array().unwrap().is_empty() && d["changed"].as_array().unwrap().is_empty()
    );
    let keys: Vec<&str> = d["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["mesh:peers:index", "mesh:peers:metadata"]);
    let removed_detail = d["keys"][0]["detail"][0].as_str().unwrap();
    assert!(
        removed_detail.starts_with(&format!("{} removed: ", ids(&done["actions"]).len())),
        "{removed_detail}"
    );

    // unblacklist: only blacklistUntil / reconnectionAttempts of the planned peers change.
    let done = json(["unblacklist", "--expired", "--now", NOW, "--store", &s]);
    let backup = done["backup"].as_str().unwrap().to_owned();
    let (_, d) = diff_json(&backup, &s, &[]);
    assert_eq!(ids(&d["changed"]), ids(&done["actions"]));
    for p in d["changed"].as_array().unwrap() {
        for f in p["fields"].as_array().unwrap() {
            let path = f["path"].as_str().unwrap();
            assert!(
                ["blacklistUntil", "reconnectionAttempts"].contains(&path),
                "{p}"
            );
        }
    }

    // Importing the original back (merge) adds exactly the peers cleanup removed.
    let (_, before) = diff_json(&original, &s, &[]);
    let done = json(["import", &original, "--store", &s]);
    let backup = done["backup"].as_str().unwrap().to_owned();
    let (_, d) = diff_json(&backup, &s, &[]);
    assert_eq!(ids(&d["added"]), ids(&before["removed"]));

    // re-encrypt: every changed field is a secret, shown only as changed; the key record too.
    let out = crate::support::meshpeers()
        .args([
            "re-encrypt",
            "--to",
            "passphrase",
            "--iterations",
            "1000",
            "--json",
            "--store",
            &s,
        ])
        .env("MESHPEERS_NEW_PASSPHRASE", "p")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    let backup = done["backup"].as_str().unwrap().to_owned();
    let (_, d) = diff_json(&backup, &s, &[]);
    assert!(!d["changed"].as_array().unwrap().is_empty());
    for p in d["changed"].as_array().unwrap() {
        for f in p["fields"].as_array().unwrap() {
            assert_eq!(f["path"], "encryptedSecret", "{p}");
            assert_eq!(f["secret"], true);
            assert!(f.get("old").is_none() && f.get("new").is_none(), "{f}");
        }
    }
    let key = d["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "mesh:encryption:key")
        .unwrap();
    assert!(
        key.get("old").is_none() && key.get("new").is_none(),
        "{key}"
    );
    // The text form never prints a ciphertext either.
    let (code, text, _) = run(["diff", &backup, &s]);
    assert_eq!(code, 1);
    let old_backup: Value =
        serde_json::from_str(&std::fs::read_to_string(&backup).unwrap()).unwrap();
    for e in old_backup["entries"].as_array().unwrap() {
        let v: Value = serde_json::from_str(e[1].as_str().unwrap()).unwrap_or(Value::Null);
        if let Some(secret) = v["encryptedSecret"].as_str() {
            assert!(!text.contains(&secret[..20]), "a ciphertext was printed");
        }
    }
    assert!(text.contains("encryptedSecret: changed (secret)"), "{text}");
}

#[test]
fn a_side_with_several_origins_needs_its_origin_and_other_keys_are_compared_on_request() {
    let env = TestEnv::new();
    let a = env.write("a.json", r#"{"mesh:peers:index":"[]","theme":"dark"}"#);
    let b = env.write("b.json", r#"{"mesh:peers:index":"[]","theme":"light"}"#);
    let (a, b) = (a.display().to_string(), b.display().to_string());
    let (code, v) = diff_json(&a, &b, &[]);
    assert_eq!(
        (code, &v["equal"]),
        (0, &Value::Bool(true)),
        "outside the namespace: not compared"
    );
    let (code, v) = diff_json(&a, &b, &["--all-keys"]);
    assert_eq!(code, 1);
    assert_eq!(v["otherKeys"][0]["key"], "theme");
    assert_eq!(
        (&v["otherKeys"][0]["old"], &v["otherKeys"][0]["new"]),
        (&Value::from("dark"), &Value::from("light"))
    );
    let state = env.write(
        "state.json",
        r#"{"cookies":[],"origins":[{"origin":"http://a","localStorage":[{"name":"mesh:peers:index","value":"[]"}]},{"origin":"http://b","localStorage":[{"name":"mesh:peers:index","value":"[]"}]}]}"#,
    );
    let st = state.display().to_string();
    let (code, _, err) = run(["diff", &st, &a]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("2 origins"), "{err}");
    let (code, _, err) = run(["diff", &st, &a, "--origin-a", "http://b"]);
    assert_eq!(code, 0, "{err}");
}
