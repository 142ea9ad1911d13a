//! export: the app's exportData() shape on every oracle store, and lossless backups that
//! round-trip between every pair of backends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{TestEnv, corpus, oracle, oracle_dirs, run, store_forms};

const ORIGIN: &str = "http://127.0.0.1:3000";

fn export(store: &Path, extra: &[&str]) -> String {
    let s = store.display().to_string();
    let mut args = vec!["export", "--store", &s, "--now", "1795176000000"];
    args.extend(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

#[test]
fn app_format_is_the_apps_export_data_apart_from_the_date() {
    for dir in oracle_dirs() {
        let mut want = oracle(&dir, "exportData.json")["result"].clone();
        for form in store_forms(&dir) {
            let mut got: Value = serde_json::from_str(&export(&form, &["--app-format"])).unwrap();
            assert_eq!(got["exportDate"], 1_795_176_000_000u64);
            got.as_object_mut().unwrap().remove("exportDate");
            want.as_object_mut().unwrap().remove("exportDate");
            assert_eq!(got, want, "{}", form.display());
            // Member order as the app writes it, too.
            for (g, w) in got["peers"]
                .as_array()
                .unwrap()
                .iter()
                .zip(want["peers"].as_array().unwrap())
            {
                let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
                assert_eq!(keys(g), keys(w));
            }
        }
    }
}

/// An empty store of each backend, and the flags that target it.
fn empty_stores(env: &TestEnv) -> Vec<(&'static str, PathBuf, Vec<&'static str>)> {
    let flat = env.write("empty-flat.json", "{}\n");
    let pw = env.write(
        "empty-state.json",
        "{\n  \"cookies\": [],\n  \"origins\": []\n}\n",
    );
    let db = env.path("empty-profile/Default/Local Storage/leveldb");
    std::fs::create_dir_all(&db).unwrap();
    {
        let mut raw = rusty_leveldb::DB::open(&db, rusty_leveldb::Options::default()).unwrap();
        let mut b = rusty_leveldb::WriteBatch::default();
        b.put(b"VERSION", b"1");
        raw.write(b, true).unwrap();
        raw.close().unwrap();
    }
    // A Firefox profile that never visited the origin: a write creates it (§1.12).
    let firefox_profile = env.path("empty-firefox");
    std::fs::create_dir_all(firefox_profile.join("storage/default")).unwrap();
    std::fs::write(firefox_profile.join("prefs.js"), "").unwrap();
    vec![
        ("flat", flat, vec![]),
        ("playwright", pw, vec!["--origin", ORIGIN]),
        (
            "leveldb",
            env.path("empty-profile"),
            vec!["--origin", ORIGIN],
        ),
        ("firefox", firefox_profile, vec!["--origin", ORIGIN]),
    ]
}

/// A backup's entries as a sorted map (LevelDB keeps keys sorted, files keep their order).
fn entries(backup: &str) -> BTreeMap<String, String> {
    let v: Value = serde_json::from_str(backup).unwrap();
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e[0].as_str().unwrap().to_owned(),
                e[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn export_then_replace_import_into_an_empty_store_of_every_backend_is_lossless() {
    let Some(c) = corpus() else { return };
    let dir = c.join("app-oracle-r1");
    let mut pairs = 0;
    let forms = store_forms(&dir);
    for source in &forms {
        let backup_text = export(source, &[]);
        let want = entries(&backup_text);
        assert_eq!(want.len(), 124, "every namespace key");
        let env = TestEnv::new();
        let backup = env.write("backup.json", &backup_text);
        let b = backup.display().to_string();
        for (kind, target, flags) in empty_stores(&env) {
            let t = target.display().to_string();
            let mut args = vec!["import", &b, "--mode", "replace", "--yes", "--store", &t];
            args.extend(flags.iter().copied());
            let (code, _, err) = run(&args);
            assert_eq!(code, 0, "{} → {kind}: {err}", source.display());
            let mut exp = vec![];
            exp.extend(flags.iter().copied());
            let again = entries(&export(&target, &exp));
            assert_eq!(again, want, "{} → {kind}", source.display());
            pairs += 1;
        }
    }
    // Every form (a Firefox one where Firefox is installed) into every backend.
    assert!(forms.len() >= 3);
    assert_eq!(pairs, forms.len() * 4, "every form into each of 4 backends");
}

#[test]
fn redacted_exports_hold_no_secret_key_or_address() {
    let Some(c) = corpus() else { return };
    let store = c.join("app-oracle-r1/store.json");
    let text = export(&store, &["--redact"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["redacted"], true);
    let e = entries(&text);
    assert!(!e.contains_key("mesh:encryption:key"));
    for (k, rec) in e.iter().filter(|(k, _)| k.starts_with("mesh:peer:")) {
        let r: Value = serde_json::from_str(rec).unwrap();
        for f in [
            "encryptedSecret",
            "sharedSecret",
            "lastKnownIP",
            "lastOffer",
        ] {
            assert!(r.get(f).is_none_or(Value::is_null), "{k}: {f}");
        }
        assert!(
            r.get("cachedCandidates")
                .is_none_or(|c| c == &Value::Array(vec![])),
            "{k}"
        );
    }
    // The plaintext secrets and the JWK are nowhere in the text.
    let secrets = oracle(&c.join("app-oracle-r1"), "decrypted-secrets.json");
    for s in secrets["result"].as_object().unwrap().values() {
        assert!(!text.contains(s.as_str().unwrap()));
    }
    assert!(!text.contains("eUtz8Ot_gHwgME_2j5S386ODmDMlbvgjTUHKg24fC_0"));
    assert!(!text.contains("198.51.100.50"));
}

#[test]
fn peer_rows_in_json_ndjson_and_csv_agree() {
    let Some(c) = corpus() else { return };
    let store = c.join("app-oracle-r1/store.json");
    let json: Value = serde_json::from_str(&export(&store, &["--peers-only"])).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 120);
    let nd = export(&store, &["--peers-only", "--format", "ndjson"]);
    let nd: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&nd, rows);
    let csv = export(&store, &["--peers-only", "--format", "csv"]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("peerId,displayName,lastSeen")
    );
    assert_eq!(lines.count(), 120);
    // A name with quotes is quoted as CSV wants.
    assert!(csv.contains(r#""Test ""quoted""""#));
}

#[test]
fn export_to_a_file_is_private_and_never_overwrites_or_follows_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let s = crate::support::repo()
        .join("fixtures/example/store.json")
        .display()
        .to_string();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let out = env.path("out.json");
    let o = out.display().to_string();
    let (code, stdout, err) = run(["export", "--store", &s, "-o", &o]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout, "");
    assert_eq!(mode(&out), 0o600);
    let entries = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(p).unwrap()).unwrap()["entries"]
            .clone()
    };
    let first = entries(&out);
    // An existing file is refused without --force and left as it was.
    std::fs::write(&out, b"keep me").unwrap();
    let (code, _, err) = run(["export", "--store", &s, "-o", &o]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    // A world-readable file replaced with --force becomes a new 0600 file.
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (code, _, err) = run(["export", "--store", &s, "-o", &o, "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(entries(&out) == first, "the replaced file is the export");
    assert_eq!(mode(&out), 0o600);
    // A symlink is never followed: refused, and with --force the link itself is replaced.
    let target = env.write("elsewhere.json", b"untouched");
    let link = env.path("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let l = link.display().to_string();
    let (code, _, _) = run(["export", "--store", &s, "-o", &l]);
    assert_eq!(code, 2);
    let (code, _, err) = run(["export", "--store", &s, "-o", &l, "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"untouched");
    assert!(
        !std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode(&link), 0o600);
    // A dangling symlink is an existing path too: nothing is written through it.
    let dangling = env.path("dangling.json");
    std::os::unix::fs::symlink(env.path("nowhere.json"), &dangling).unwrap();
    let (code, _, _) = run([
        "export",
        "--store",
        &s,
        "-o",
        &dangling.display().to_string(),
    ]);
    assert_eq!(code, 2);
    assert!(!env.path("nowhere.json").exists());
}

#[test]
fn the_apps_export_data_imports_back_every_peer() {
    for dir in oracle_dirs() {
        let env = TestEnv::new();
        let result = oracle(&dir, "exportData.json")["result"].clone();
        let file = env.write("export.json", result.to_string());
        let f = file.display().to_string();
        let empty = env.write("empty.json", "{}");
        let e = empty.display().to_string();
        let (code, out, err) = run(["import", &f, "--store", &e, "--json"]);
        assert_eq!(code, 0, "{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["actions"].as_array().unwrap().len(), 120);
        let map = crate::support::local_storage(&empty);
        let ids: Vec<String> = serde_json::from_str(&map["mesh:peers:index"]).unwrap();
        let want: Vec<&str> = result["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["peerId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, want, "index in export order");
        for p in result["peers"].as_array().unwrap() {
            let id = p["peerId"].as_str().unwrap();
            let rec: Value = serde_json::from_str(&map[&format!("mesh:peer:{id}")]).unwrap();
            assert_eq!(&rec, p, "{id}");
        }
        let meta: Value = serde_json::from_str(&map["mesh:peers:metadata"]).unwrap();
        assert_eq!(meta["totalPeers"], 120);
        // Merged into the store it came from, nothing changes: same lastSeen, store kept.
        let store = env.copy(&dir.join("store.json"), "store.json");
        let s = store.display().to_string();
        let before = std::fs::read(&store).unwrap();
        let (code, out, err) = run(["import", &f, "--store", &s, "--json"]);
        assert_eq!(code, 0, "{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        assert!(
            report["actions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["action"] == "keep"),
            "{report}"
        );
        assert_eq!(
            std::fs::read(&store).unwrap(),
            before,
            "nothing was written"
        );
    }
}
