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
        for form in store_forms(&dir) {
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
