//! Secrets: the app's own ciphertexts decrypt to the plaintexts it stored, on every form of the
//! oracle stores; no secret is ever printed without --reveal.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{json, oracle, oracle_dirs, run, store_forms};

#[test]
fn revealed_secrets_are_the_apps_plaintexts() {
    for dir in oracle_dirs() {
        let o = oracle(&dir, "decrypted-secrets.json");
        let want: BTreeMap<String, Value> = serde_json::from_value(o["result"].clone()).unwrap();
        for form in crate::support::read_forms(&dir) {
            let s = form.display().to_string();
            let rows = json(["secrets", "--reveal", "--store", &s]);
            let got: BTreeMap<String, Value> = rows
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["hasSecret"] == true)
                .map(|r| {
                    assert_eq!(r["decrypts"], true, "{s}: {r}");
                    (
                        r["peerId"].as_str().unwrap().to_owned(),
                        r["secret"].clone(),
                    )
                })
                .collect();
            assert_eq!(got, want, "{s}");
            // Without --reveal no plaintext appears anywhere in the output.
            let (code, out, _) = run(["secrets", "--json", "--store", &s]);
            assert_eq!(code, 0);
            let (_, table, _) = run(["secrets", "--store", &s]);
            for secret in want.values() {
                let secret = secret.as_str().unwrap();
                assert!(
                    !out.contains(secret) && !table.contains(secret),
                    "{s}: leaked"
                );
            }
        }
    }
}

use std::path::Path;

use crate::support::{TestEnv, corpus, local_storage, meshpeers};

const PASS1: &str = "correct horse battery staple";
const PASS2: &str = "Zoë's 2nd pass ✓";

/// Runs meshpeers with passphrase variables; gives (code, stdout, stderr).
fn run_env(args: &[&str], current: Option<&str>, new: Option<&str>) -> (i32, String, String) {
    let mut cmd = meshpeers();
    cmd.args(args);
    if let Some(p) = current {
        cmd.env("MESHPEERS_PASSPHRASE", p);
    }
    if let Some(p) = new {
        cmd.env("MESHPEERS_NEW_PASSPHRASE", p);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn revealed(store: &str, pass: Option<&str>) -> BTreeMap<String, Value> {
    let (code, out, err) = run_env(
        &["secrets", "--reveal", "--json", "--store", store],
        pass,
        None,
    );
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["hasSecret"] == true)
        .map(|r| {
            (
                r["peerId"].as_str().unwrap().to_owned(),
                r["secret"].clone(),
            )
        })
        .collect()
}

fn ciphertexts(path: &Path) -> BTreeMap<String, String> {
    local_storage(path)
        .into_iter()
        .filter(|(k, _)| k.starts_with("mesh:peer:"))
        .filter_map(|(k, v)| {
            let v: Value = serde_json::from_str(&v).ok()?;
            Some((k, v["encryptedSecret"].as_str()?.to_owned()))
        })
        .collect()
}

/// The app's plaintexts: peerId → secret.
fn oracle_secrets(dir: &Path) -> BTreeMap<String, Value> {
    serde_json::from_value(oracle(dir, "decrypted-secrets.json")["result"].clone()).unwrap()
}

/// Runs the WebCrypto helper under Node; gives its stdout.
fn webcrypto(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("node")
        .arg(crate::support::repo().join("tests/browser/webcrypto.mjs"))
        .args(args)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// No passphrase in any output or any file below the test directory.
fn assert_never_written(env: &TestEnv, outputs: &[String]) {
    for p in [PASS1, PASS2] {
        for o in outputs {
            assert!(!o.contains(p), "a passphrase was printed");
        }
        for (name, bytes) in env.snapshot() {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(p),
                "a passphrase was written to {name}"
            );
        }
    }
}

#[test]
fn rotation_chain_keeps_every_plaintext_with_fresh_ivs_on_every_form() {
    let Some(c) = corpus() else { return };
    let dir = c.join("app-oracle-r1");
    let want = oracle_secrets(&dir);
    for form in store_forms(&dir) {
        let env = TestEnv::new();
        let name = form.file_name().unwrap().to_str().unwrap().to_owned();
        let store = env.copy(&form, &name);
        let s = store.display().to_string();
        let mut outputs = Vec::new();
        let mut before = ciphertexts(&store);
        let mut current: Option<&str> = None;
        for (to, new) in [
            ("passphrase", Some(PASS1)),
            ("wrapped", Some(PASS2)),
            ("jwk", None),
        ] {
            let (code, out, err) = run_env(
                &[
                    "re-encrypt",
                    "--to",
                    to,
                    "--iterations",
                    "1000",
                    "--store",
                    &s,
                    "--json",
                ],
                current,
                new,
            );
            assert_eq!(code, 0, "{name} --to {to}: {err}");
            outputs.extend([out, err]);
            current = new;
            assert_eq!(revealed(&s, current), want, "{name} after --to {to}");
            let after = ciphertexts(&store);
            assert_eq!(after.len(), want.len());
            for (k, v) in &after {
                assert_ne!(before.get(k), Some(v), "{name} --to {to}: {k} kept its IV");
            }
            before = after;
        }
        assert_never_written(&env, &outputs);
        // WebCrypto, as the app uses it, reads what meshpeers wrote (flat form).
        if name == "store.json" {
            let got: BTreeMap<String, Value> =
                serde_json::from_slice(&webcrypto(&["decrypt", &s])).unwrap();
            assert_eq!(got, want, "WebCrypto decrypts meshpeers' ciphertexts");
        }
    }
}

#[test]
fn a_store_webcrypto_encrypted_under_the_guides_pbkdf2_key_opens_with_its_passphrase() {
    let Some(c) = corpus() else { return };
    let dir = c.join("app-oracle-r1");
    let want = oracle_secrets(&dir);
    // The oracle store with each secret in the clear, for WebCrypto to encrypt.
    let mut store: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("store.json")).unwrap()).unwrap();
    for (id, secret) in &want {
        let k = format!("mesh:peer:{id}");
        let mut rec: serde_json::Map<String, Value> =
            serde_json::from_str(store[&k].as_str().unwrap()).unwrap();
        rec.remove("encryptedSecret");
        rec.insert("sharedSecret".into(), secret.clone());
        store.insert(k, Value::String(Value::Object(rec).to_string()));
    }
    let env = TestEnv::new();
    let input = env.write("plain.json", Value::Object(store).to_string());
    let made = env.path("pbkdf2.json");
    webcrypto(&[
        "pbkdf2-store",
        &input.display().to_string(),
        &made.display().to_string(),
        PASS1,
    ]);
    let s = made.display().to_string();
    assert_eq!(revealed(&s, Some(PASS1)), want);
    // Without the passphrase there is no key; with a wrong one nothing decrypts, and a
    // rotation refuses, naming the peers, with the store untouched.
    let (code, out, _) = run_env(&["secrets", "--json", "--store", &s], None, None);
    assert_eq!(code, 0);
    assert!(out.contains("\"decrypts\": null"));
    let before = env.snapshot();
    let (code, _, err) = run_env(
        &["re-encrypt", "--to", "jwk", "--store", &s],
        Some("wrong"),
        None,
    );
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains("67 secrets do not decrypt") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(env.snapshot(), before);
    // With the right one, --to jwk gives the app a key it can use.
    let (code, _, err) = run_env(
        &["re-encrypt", "--to", "jwk", "--store", &s],
        Some(PASS1),
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(revealed(&s, None), want);
}

#[test]
fn wrong_passphrases_tampered_or_truncated_ciphertexts_and_bad_jwks_change_nothing() {
    let Some(c) = corpus() else { return };
    let env = TestEnv::new();
    let store = env.copy(&c.join("app-oracle-r1/store.json"), "s.json");
    let s = store.display().to_string();
    // Protect the key first.
    let (code, _, err) = run_env(
        &[
            "re-encrypt",
            "--to",
            "wrapped",
            "--iterations",
            "1000",
            "--store",
            &s,
            "--no-backup",
        ],
        None,
        Some(PASS1),
    );
    assert_eq!(code, 0, "{err}");
    let before = env.snapshot();
    for args in [
        &["secrets", "--store", &s][..],
        &["re-encrypt", "--to", "jwk", "--store", &s][..],
    ] {
        let (code, out, err) = run_env(args, Some(PASS2), None);
        assert_eq!(code, 6, "{args:?}: {err}");
        assert!(
            err.contains("wrong passphrase for mesh:encryption:key"),
            "{err}"
        );
        assert_never_written(&env, &[out, err]);
    }
    let (code, _, err) = run_env(&["secrets", "--store", &s], None, None);
    assert_eq!(code, 2, "no passphrase and no terminal: {err}");
    assert_eq!(env.snapshot(), before, "nothing changed");

    // Back to a JWK, then damage one ciphertext and truncate another.
    run_env(
        &["re-encrypt", "--to", "jwk", "--store", &s, "--no-backup"],
        Some(PASS1),
        None,
    );
    let mut map: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&store).unwrap()).unwrap();
    let targets = [
        "mesh:peer:14207bb1-8325-4c7b-ba8d-e184a6520c0f",
        "mesh:peer:f35f6e41-882e-4836-9630-9cdd23de6d04",
    ];
    for (i, k) in targets.iter().enumerate() {
        let mut rec: serde_json::Map<String, Value> =
            serde_json::from_str(map[*k].as_str().unwrap()).unwrap();
        let ct = rec["encryptedSecret"].as_str().unwrap().to_owned();
        let bad = if i == 0 {
            let mut b = ct.into_bytes();
            b[20] = if b[20] == b'A' { b'B' } else { b'A' };
            String::from_utf8(b).unwrap()
        } else {
            ct[..10].to_owned()
        };
        rec.insert("encryptedSecret".into(), Value::String(bad));
        map.insert(
            (*k).to_owned(),
            Value::String(Value::Object(rec).to_string()),
        );
    }
    std::fs::write(&store, Value::Object(map).to_string()).unwrap();
    let before = env.snapshot();
    let (code, _, err) = run_env(&["re-encrypt", "--to", "jwk", "--store", &s], None, None);
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains("14207bb1-8325-4c7b-ba8d-e184a6520c0f: does not decrypt"),
        "{err}"
    );
    assert!(
        err.contains("f35f6e41-882e-4836-9630-9cdd23de6d04: "),
        "{err}"
    );
    assert_eq!(env.snapshot(), before, "nothing was written");
    // --skip-undecryptable rotates the rest and lists the two.
    let (code, out, err) = run_env(
        &[
            "re-encrypt",
            "--to",
            "jwk",
            "--skip-undecryptable",
            "--store",
            &s,
            "--json",
        ],
        None,
        None,
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let skipped: Vec<&str> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "skip")
        .map(|a| a["peerId"].as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 2);

    // A JWK of the wrong length or algorithm: refused, naming the record.
    for (what, jwk) in [
        (
            "128-bit",
            r#"{"alg":"A256GCM","k":"AAAAAAAAAAAAAAAAAAAAAA","kty":"oct"}"#,
        ),
        (
            "A128GCM",
            r#"{"alg":"A128GCM","k":"eUtz8Ot_gHwgME_2j5S386ODmDMlbvgjTUHKg24fC_0","kty":"oct"}"#,
        ),
    ] {
        let mut map: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(&store).unwrap()).unwrap();
        map.insert("mesh:encryption:key".into(), Value::String(jwk.into()));
        let bad = env.write("bad.json", Value::Object(map).to_string());
        let b = bad.display().to_string();
        let before = env.snapshot();
        let (code, _, err) = run_env(&["re-encrypt", "--to", "jwk", "--store", &b], None, None);
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("mesh:encryption:key") && err.contains(what),
            "{err}"
        );
        assert_eq!(env.snapshot(), before);
    }
}
