//! The project's corrupted-store corpus (`fixtures/corrupt/<fault>.json`, made here from a
//! clean four-peer store with one fault each): `validate` reports each fault with its code,
//! `repair` clears every error (and the warnings it fixes), keeps every other record byte for
//! byte, puts unusable entries in the quarantine file, and a second repair changes nothing.
//! `MESHPEERS_BLESS=1 cargo test` regenerates the files.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use meshpeers::js::JsString;
use meshpeers::store::{Area, render_flat};
use serde_json::{Value, json};

use crate::support::{TestEnv, check_or_bless, local_storage, run};

const NOW: f64 = 1_795_176_000_000.0;
const KEY: [u8; 32] = [7; 32];

fn ciphertext(plain: &str, iv: u8) -> String {
    let cipher = Aes256Gcm::new_from_slice(&KEY).unwrap();
    let iv = [iv; 12];
    let mut out = iv.to_vec();
    out.extend(
        cipher
            .encrypt(Nonce::from_slice(&iv), plain.as_bytes())
            .unwrap(),
    );
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// A ciphertext with one base64 character changed: the tag no longer matches.
fn tampered() -> String {
    let mut c = ciphertext("secret-2", 2);
    let ch = if &c[20..21] == "A" { "B" } else { "A" };
    c.replace_range(20..21, ch);
    c
}

fn peer(id: &str, i: i64) -> Value {
    json!({
        "peerId": id, "userId": id, "displayName": format!("Peer {i}"),
        "firstSeen": NOW as i64 - 9_000_000, "lastSeen": NOW as i64 - 1000 * i,
        "lastConnected": NOW as i64 - 2000 * i, "publicKey": null,
        "encryptedSecret": if i % 2 == 0 { Value::from(ciphertext(&format!("secret-{i}"), i as u8)) } else { Value::Null },
        "sharedSecret": null, "lastKnownIP": null, "iceServers": [], "cachedCandidates": [],
        "connectionQuality": {"latency": 40 + i, "successRate": 0.75, "connectionType": "host",
                              "lastMeasured": NOW as i64 - 5000, "totalConnections": 8,
                              "successfulConnections": 6, "avgUptime": 700},
        "reconnectionAttempts": 0, "blacklistUntil": null, "metadata": {}, "dataVersion": "1.0.0"
    })
}

const IDS: [&str; 4] = ["peer-a", "peer-b", "peer-c", "peer-d"];

/// The clean store: four peers, two secrets under a JWK, metadata in step.
fn base() -> Vec<(String, String)> {
    let mut out = vec![("theme".to_owned(), "dark".to_owned())];
    let records: Vec<(String, String)> = IDS
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                format!("mesh:peer:{id}"),
                peer(id, i as i64 + 1).to_string(),
            )
        })
        .collect();
    let size: usize = records
        .iter()
        .map(|(_, v)| 2 * v.encode_utf16().count())
        .sum();
    out.push((
        "mesh:peers:index".into(),
        serde_json::to_string(&IDS).unwrap(),
    ));
    out.extend(records);
    out.push((
        "mesh:peers:metadata".into(),
        json!({"lastCleanup": NOW as i64, "totalPeers": 4, "estimatedSize": size,
               "statistics": {"totalReconnections": 0, "successfulReconnections": 0, "failedReconnections": 0}})
        .to_string(),
    ));
    out.push(("mesh:schema:version".into(), "1.0.0".into()));
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(KEY);
    out.push((
        "mesh:encryption:key".into(),
        format!(r#"{{"alg":"A256GCM","ext":true,"k":"{k}","key_ops":["encrypt","decrypt"],"kty":"oct"}}"#),
    ));
    out
}

type Store = Vec<(String, String)>;

fn set(s: &mut Store, key: &str, value: Option<String>) {
    match (s.iter().position(|(k, _)| k == key), value) {
        (Some(i), Some(v)) => s[i].1 = v,
        (Some(i), None) => {
            s.remove(i);
        }
        (None, Some(v)) => s.push((key.into(), v)),
        (None, None) => {}
    }
}

/// peer-b's record with one member changed (or removed with `Value::Null` + `remove`).
fn edit_b(s: &mut Store, f: impl Fn(&mut serde_json::Map<String, Value>)) {
    let key = "mesh:peer:peer-b";
    // Another fault may have made the record unreadable or removed it: nothing to edit then.
    let Some(Ok(mut rec)) = s
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| serde_json::from_str::<serde_json::Map<String, Value>>(v))
    else {
        return;
    };
    f(&mut rec);
    set(s, key, Some(Value::Object(rec).to_string()));
}

/// Sets a connectionQuality member (when another fault left connectionQuality an object).
fn set_quality(r: &mut serde_json::Map<String, Value>, name: &str, v: Value) {
    if let Some(cq) = r
        .get_mut("connectionQuality")
        .and_then(Value::as_object_mut)
    {
        cq.insert(name.into(), v);
    }
}

struct Fault {
    name: &'static str,
    code: &'static str,
    severity: &'static str,
    /// The key whose raw value must land in the quarantine file.
    quarantined: Option<&'static str>,
    /// Repair flags this fault needs.
    flags: &'static [&'static str],
    apply: fn(&mut Store),
}

const B: &str = "mesh:peer:peer-b";

fn faults() -> Vec<Fault> {
    fn f(
        name: &'static str,
        code: &'static str,
        severity: &'static str,
        quarantined: Option<&'static str>,
        apply: fn(&mut Store),
    ) -> Fault {
        Fault {
            name,
            code,
            severity,
            quarantined,
            flags: &[],
            apply,
        }
    }
    vec![
        f(
            "index-not-json",
            "index-unreadable",
            "error",
            Some("mesh:peers:index"),
            |s| set(s, "mesh:peers:index", Some("[\"peer-a\",".into())),
        ),
        f(
            "index-not-array",
            "index-unreadable",
            "error",
            Some("mesh:peers:index"),
            |s| set(s, "mesh:peers:index", Some("{\"peer-a\":1}".into())),
        ),
        f("index-missing", "index-missing", "error", None, |s| {
            set(s, "mesh:peers:index", None)
        }),
        f(
            "index-entry-invalid",
            "index-entry-invalid",
            "error",
            None,
            |s| {
                set(
                    s,
                    "mesh:peers:index",
                    Some(r#"["peer-a",null,"peer-b","peer-c",{"x":1},"peer-d"]"#.into()),
                )
            },
        ),
        f("index-duplicate", "index-duplicate", "error", None, |s| {
            set(
                s,
                "mesh:peers:index",
                Some(r#"["peer-a","peer-b","peer-a","peer-c","peer-d"]"#.into()),
            )
        }),
        f("record-missing", "record-missing", "error", None, |s| {
            set(
                s,
                "mesh:peers:index",
                Some(r#"["peer-a","peer-b","peer-c","peer-d","ghost"]"#.into()),
            )
        }),
        f(
            "record-not-indexed",
            "record-not-indexed",
            "error",
            None,
            |s| {
                set(
                    s,
                    "mesh:peers:index",
                    Some(r#"["peer-a","peer-c","peer-d"]"#.into()),
                )
            },
        ),
        f(
            "record-not-json",
            "record-unreadable",
            "error",
            Some(B),
            |s| set(s, B, Some("{\"peerId\":\"peer-b\",".into())),
        ),
        f("record-empty", "record-unreadable", "error", Some(B), |s| {
            set(s, B, Some(String::new()))
        }),
        f(
            "record-not-object",
            "record-not-object",
            "error",
            Some(B),
            |s| set(s, B, Some("[1,2,3]".into())),
        ),
        f(
            "peer-id-missing",
            "peer-id-missing",
            "error",
            Some(B),
            |s| {
                edit_b(s, |r| {
                    r.shift_remove("peerId");
                })
            },
        ),
        f(
            "peer-id-mismatch",
            "peer-id-mismatch",
            "error",
            Some(B),
            |s| {
                edit_b(s, |r| {
                    r.insert("peerId".into(), json!("peer-z"));
                })
            },
        ),
        f("last-seen-text", "field-type", "error", Some(B), |s| {
            edit_b(s, |r| {
                r.insert("lastSeen".into(), json!("yesterday"));
            })
        }),
        f("quality-text", "field-type", "error", Some(B), |s| {
            edit_b(s, |r| {
                r.insert("connectionQuality".into(), json!("good"));
            })
        }),
        f(
            "last-seen-missing",
            "field-missing",
            "error",
            Some(B),
            |s| {
                edit_b(s, |r| {
                    r.shift_remove("lastSeen");
                })
            },
        ),
        f("count-negative", "count-negative", "error", Some(B), |s| {
            edit_b(s, |r| {
                set_quality(r, "totalConnections", json!(-3));
            })
        }),
        f(
            "successful-exceeds-total",
            "successful-exceeds-total",
            "error",
            Some(B),
            |s| {
                edit_b(s, |r| {
                    set_quality(r, "successfulConnections", json!(12));
                })
            },
        ),
        f(
            "success-rate-range",
            "success-rate-range",
            "error",
            Some(B),
            |s| {
                edit_b(s, |r| {
                    set_quality(r, "successRate", json!(1.5));
                })
            },
        ),
        f("attempts-range", "attempts-range", "error", Some(B), |s| {
            edit_b(s, |r| {
                r.insert("reconnectionAttempts".into(), json!(500));
            })
        }),
        f(
            "timestamp-future",
            "timestamp-future",
            "error",
            Some(B),
            |s| {
                edit_b(s, |r| {
                    r.insert("lastSeen".into(), json!(NOW as i64 + 10 * 86_400_000));
                })
            },
        ),
        f("secret-plaintext", "secret-plaintext", "error", None, |s| {
            edit_b(s, |r| {
                r.insert("sharedSecret".into(), json!("in the clear"));
            })
        }),
        f(
            "secret-undecryptable",
            "secret-undecryptable",
            "error",
            Some(B),
            |s| {
                edit_b(s, |r| {
                    r.insert("encryptedSecret".into(), json!(tampered()));
                })
            },
        ),
        f(
            "key-record-unusable",
            "key-record-unusable",
            "error",
            Some("mesh:encryption:key"),
            |s| {
                set(
                    s,
                    "mesh:encryption:key",
                    Some(r#"{"alg":"A256GCM","k":"AAAA","kty":"oct"}"#.into()),
                )
            },
        ),
        f(
            "metadata-unreadable",
            "metadata-unreadable",
            "error",
            Some("mesh:peers:metadata"),
            |s| set(s, "mesh:peers:metadata", Some("oops".into())),
        ),
        f(
            "metadata-out-of-step",
            "metadata-out-of-step",
            "warning",
            None,
            |s| {
                set(
                    s,
                    "mesh:peers:metadata",
                    Some(r#"{"lastCleanup":1,"totalPeers":9,"estimatedSize":0}"#.into()),
                )
            },
        ),
        f(
            "metadata-missing",
            "metadata-missing",
            "warning",
            None,
            |s| set(s, "mesh:peers:metadata", None),
        ),
        f(
            "attempts-missing",
            "attempts-missing",
            "warning",
            None,
            |s| {
                edit_b(s, |r| {
                    r.shift_remove("reconnectionAttempts");
                })
            },
        ),
        f("name-markup", "name-unsanitised", "warning", None, |s| {
            edit_b(s, |r| {
                r.insert("displayName".into(), json!("<img src=x onerror=alert(1)>"));
            })
        }),
        f("name-escape", "name-unsanitised", "warning", None, |s| {
            edit_b(s, |r| {
                r.insert("displayName".into(), json!("\u{1b}[31mred\u{1b}[0m"));
            })
        }),
        f("name-too-long", "name-too-long", "warning", None, |s| {
            edit_b(s, |r| {
                r.insert("displayName".into(), json!("😀".repeat(40)));
            })
        }),
        Fault {
            name: "ip-address",
            code: "ip-address",
            severity: "warning",
            quarantined: None,
            flags: &["--anonymize-ips"],
            apply: |s| {
                edit_b(s, |r| {
                    r.insert(
                        "lastKnownIP".into(),
                        json!("2001:0db8:8111:ac5d:bf94:ba6c:e265:2d0b"),
                    );
                })
            },
        },
        f(
            "schema-version-missing",
            "schema-version-missing",
            "warning",
            None,
            |s| set(s, "mesh:schema:version", None),
        ),
        // Not repaired: a migration cannot be guessed (the warning stays).
        f(
            "schema-version-unknown",
            "schema-version-unknown",
            "warning",
            None,
            |s| set(s, "mesh:schema:version", Some("9.9.9".into())),
        ),
    ]
}

fn render(store: &Store) -> String {
    let area: Area = store
        .iter()
        .map(|(k, v)| (JsString::from(k.as_str()), JsString::from(v.as_str())))
        .collect();
    render_flat(&area)
}

fn codes(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn validate(s: &str) -> (i32, Value) {
    let (code, out, err) = run([
        "validate",
        "--json",
        "--now",
        &NOW.to_string(),
        "--store",
        s,
    ]);
    assert!(code == 0 || code == 1, "{err}");
    (code, serde_json::from_str(&out).unwrap())
}

#[test]
fn the_clean_base_has_no_findings_but_the_key_in_the_clear() {
    let env = TestEnv::new();
    let store = env.write("base.json", render(&base()));
    let (code, report) = validate(&store.display().to_string());
    assert_eq!(code, 0);
    assert_eq!(
        codes(&report),
        [("info".to_owned(), "key-in-clear".to_owned())]
    );
}

/// One named test per fault of `faults()` (a failure names its fault).
macro_rules! fault_tests {
    ($($test:ident = $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_fault($name);
            }
        )*

        /// Every fault has its test, and the corpus covers the codes it should.
        #[test]
        fn every_fault_has_a_named_test() {
            let mut listed = vec![$($name),*];
            let faults = faults();
            let mut names: Vec<&str> = faults.iter().map(|f| f.name).collect();
            listed.sort_unstable();
            names.sort_unstable();
            assert_eq!(names, listed);
            let distinct: std::collections::HashSet<&str> = faults.iter().map(|f| f.code).collect();
            assert!(distinct.len() >= 22, "{} distinct codes", distinct.len());
        }
    };
}

fault_tests! {
    fault_index_not_json = "index-not-json",
    fault_index_not_array = "index-not-array",
    fault_index_missing = "index-missing",
    fault_index_entry_invalid = "index-entry-invalid",
    fault_index_duplicate = "index-duplicate",
    fault_record_missing = "record-missing",
    fault_record_not_indexed = "record-not-indexed",
    fault_record_not_json = "record-not-json",
    fault_record_empty = "record-empty",
    fault_record_not_object = "record-not-object",
    fault_peer_id_missing = "peer-id-missing",
    fault_peer_id_mismatch = "peer-id-mismatch",
    fault_last_seen_text = "last-seen-text",
    fault_quality_text = "quality-text",
    fault_last_seen_missing = "last-seen-missing",
    fault_count_negative = "count-negative",
    fault_successful_exceeds_total = "successful-exceeds-total",
    fault_success_rate_range = "success-rate-range",
    fault_attempts_range = "attempts-range",
    fault_timestamp_future = "timestamp-future",
    fault_secret_plaintext = "secret-plaintext",
    fault_secret_undecryptable = "secret-undecryptable",
    fault_key_record_unusable = "key-record-unusable",
    fault_metadata_unreadable = "metadata-unreadable",
    fault_metadata_out_of_step = "metadata-out-of-step",
    fault_metadata_missing = "metadata-missing",
    fault_attempts_missing = "attempts-missing",
    fault_name_markup = "name-markup",
    fault_name_escape = "name-escape",
    fault_name_too_long = "name-too-long",
    fault_schema_version_missing = "schema-version-missing",
    fault_schema_version_unknown = "schema-version-unknown",
    fault_ip_address = "ip-address",
}

/// The fault is found with its code and severity, repair leaves no error (and removes the
/// code, bar the deliberately kept unknown schema version), keeps every other record
/// byte-identical, quarantines the raw entry when it is unusable, and a second repair writes
/// nothing. The fault's store is also the committed fixture `fixtures/corrupt/<name>.json`.
fn check_fault(name: &str) {
    let faults = faults();
    let fault = faults
        .iter()
        .find(|f| f.name == name)
        .expect("a known fault");
    {
        let mut store = base();
        (fault.apply)(&mut store);
        let text = render(&store);
        check_or_bless(&format!("fixtures/corrupt/{}.json", fault.name), &text);
        let env = TestEnv::new();
        let path = env.write("store.json", &text);
        let s = path.display().to_string();
        let ctx = fault.name;

        let (code, report) = validate(&s);
        assert!(
            codes(&report).contains(&(fault.severity.to_owned(), fault.code.to_owned())),
            "{ctx}: {:?}",
            codes(&report)
        );
        assert_eq!(code, if fault.severity == "error" { 1 } else { 0 }, "{ctx}");

        let before = local_storage(&path);
        let mut args = vec!["repair", "--json", "--now", "1795176000000", "--store", &s];
        args.extend(fault.flags);
        let (rc, out, err) = run(&args);
        assert_eq!(rc, 0, "{ctx}: {err}");
        let done: Value = serde_json::from_str(&out).unwrap();
        let (code, after_report) = validate(&s);
        assert_eq!(code, 0, "{ctx}: errors left {:?}", codes(&after_report));
        let persists = fault.code == "schema-version-unknown";
        assert_eq!(
            codes(&after_report).iter().any(|(_, c)| c == fault.code),
            persists,
            "{ctx}: {} after repair",
            fault.code
        );
        // Every other peer record is byte-identical.
        let after = local_storage(&path);
        for id in IDS.iter().filter(|i| **i != "peer-b") {
            let k = format!("mesh:peer:{id}");
            assert_eq!(after.get(&k), before.get(&k), "{ctx}: {k} changed");
        }
        assert_eq!(after.get("theme"), Some(&"dark".to_owned()), "{ctx}");
        // Unusable entries are in the quarantine file, raw.
        match fault.quarantined {
            Some(k) => {
                let q = done["quarantine"].as_str().expect("a quarantine file");
                let qtext = std::fs::read_to_string(q).unwrap();
                let qv: Value = serde_json::from_str(&qtext).unwrap();
                let entry = qv["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e[0] == k)
                    .unwrap_or_else(|| panic!("{ctx}: {k} not quarantined"));
                assert_eq!(
                    entry[1].as_str(),
                    before.get(k).map(String::as_str),
                    "{ctx}"
                );
            }
            None => assert!(done.get("quarantine").is_none(), "{ctx}: {done}"),
        }
        // A second repair changes nothing.
        let snap = env.snapshot();
        let (rc, out, _) = run(&args);
        assert_eq!(rc, 0);
        let again: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            again["keys"]["written"].as_array().unwrap().len(),
            0,
            "{ctx}: {again}"
        );
        assert_eq!(
            again["keys"]["deleted"].as_array().unwrap().len(),
            0,
            "{ctx}"
        );
        assert_eq!(env.snapshot(), snap, "{ctx}: second repair wrote");
    }
}

#[test]
fn real_app_corpora_show_no_errors_only_justified_warnings() {
    let Some(c) = crate::support::corpus() else {
        return;
    };
    let mut stores = Vec::new();
    for dir in crate::support::oracle_dirs() {
        stores.extend(crate::support::store_forms(&dir));
    }
    for name in [
        "A-localstorage.json",
        "B-localstorage.json",
        "A-storage-state.json",
        "A-profile-leveldb",
        "B-profile-leveldb",
    ] {
        stores.push(c.join("serverless-chat").join(name));
    }
    let justified = [
        "ip-address",
        "attempts-missing",
        "name-unsanitised",
        "name-too-long",
        "metadata-out-of-step",
        "key-in-clear",
    ];
    assert!(stores.len() >= 11);
    for store in stores {
        // No --now: the corpora were written before today.
        let (code, out, err) = run([
            "validate",
            "--json",
            "--store",
            &store.display().to_string(),
        ]);
        assert_eq!(code, 0, "{}: {err}{out}", store.display());
        let report: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["errors"], 0, "{}", store.display());
        for (_, code) in codes(&report) {
            assert!(
                justified.contains(&code.as_str()),
                "{}: {code}",
                store.display()
            );
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn namespace() -> impl Strategy<Value = Vec<(String, String)>> {
        // Keys and values of any text, lone surrogates aside (JSON files cannot carry them
        // through serde_json::Value here), in the namespace.
        proptest::collection::vec(("[a-z0-9:é😀]{1,12}", "\\PC{0,40}"), 0..8).prop_map(|kv| {
            let mut seen = std::collections::HashSet::new();
            kv.into_iter()
                .filter(|(k, _)| seen.insert(k.clone()))
                .map(|(k, v)| (format!("mesh:{k}"), v))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// export → import --mode replace into an empty store → the same namespace.
        #[test]
        fn random_namespaces_survive_export_and_import(ns in namespace()) {
            let env = TestEnv::new();
            let mut store = vec![("other".to_owned(), "kept".to_owned())];
            store.extend(ns.clone());
            let src = env.write("src.json", render(&store));
            let (code, backup, err) = run(["export", "--store", &src.display().to_string()]);
            prop_assert_eq!(code, 0, "{}", err);
            let b = env.write("b.json", backup);
            let dst = env.write("dst.json", "{}");
            let d = dst.display().to_string();
            let (code, _, err) = run(["import", &b.display().to_string(), "--mode", "replace", "--yes", "--store", &d]);
            prop_assert_eq!(code, 0, "{}", err);
            let got = local_storage(&dst);
            let want: std::collections::BTreeMap<String, String> = ns.into_iter().collect();
            prop_assert_eq!(got, want);
        }

        /// Any mix of faults: repair leaves no error, and a second repair changes nothing.
        #[test]
        fn repair_is_idempotent_on_mixed_faults(picks in proptest::collection::vec(0usize..33, 1..5)) {
            let faults = faults();
            let mut store = base();
            for i in &picks {
                (faults[*i % faults.len()].apply)(&mut store);
            }
            let env = TestEnv::new();
            let path = env.write("s.json", render(&store));
            let s = path.display().to_string();
            let args = ["repair", "--anonymize-ips", "--now", "1795176000000", "--store", &s];
            let (code, _, err) = run(args);
            prop_assert_eq!(code, 0, "{}", err);
            let (code, report) = validate(&s);
            prop_assert_eq!(code, 0, "errors left: {:?}", codes(&report));
            let snap = env.snapshot();
            let (code, _, _) = run(args);
            prop_assert_eq!(code, 0);
            prop_assert_eq!(env.snapshot(), snap);
        }
    }
}
