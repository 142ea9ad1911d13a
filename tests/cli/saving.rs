//! The save path, exercised directly through the library (no command writes yet): changes
//! land exactly, everything else is carried byte for byte, lone surrogates survive, and a
//! Playwright origin is created when missing.

use std::fs;

use meshpeers::js::JsString;
use meshpeers::store::{BackendKind, ChangeSet};

use crate::support::{TestEnv, corpus, open_store as open};

/// The raw JSON text of `key`'s value in a flat dump.
fn raw_value<'a>(text: &'a str, key: &str) -> &'a str {
    let map: std::collections::HashMap<String, &serde_json::value::RawValue> =
        serde_json::from_str(text).unwrap();
    let raw = map[key].get();
    let start = text.find(raw).unwrap();
    &text[start..start + raw.len()]
}

#[test]
fn put_then_delete_gives_back_the_original_bytes_on_every_corpus_store() {
    let Some(c) = corpus() else { return };
    let env = TestEnv::new();
    let files = [
        "serverless-chat/A-localstorage.json",
        "serverless-chat/B-localstorage.json",
        "serverless-chat/A-storage-state.json",
        "app-oracle-r1/store.json",
        "app-oracle-r1/storage-state.json",
        "app-oracle-r1/clean/store.json",
    ];
    for (i, f) in files.iter().enumerate() {
        let path = env.copy(&c.join(f), &format!("{i}.json"));
        let original = fs::read(&path).unwrap();
        let mut store = open(&path, None);
        let before = store.area.clone();

        let mut put = ChangeSet::default();
        put.put(
            "mesh:peer:zz-new",
            "{\"peerId\":\"zz-new\",\"displayName\":\"Zoë \u{1F600}\"}",
        );
        store.save(&put, &Default::default()).unwrap();
        assert_ne!(fs::read(&path).unwrap(), original);
        let reread = open(&path, None);
        assert_eq!(reread.area.len(), before.len() + 1, "{f}");
        assert_eq!(
            reread
                .area
                .get(&JsString::from("mesh:peer:zz-new"))
                .and_then(|v| v.as_str()),
            Some("{\"peerId\":\"zz-new\",\"displayName\":\"Zoë \u{1F600}\"}")
        );

        let mut del = ChangeSet::default();
        del.delete("mesh:peer:zz-new");
        store.save(&del, &Default::default()).unwrap();
        assert_eq!(
            fs::read(&path).unwrap(),
            original,
            "{f}: not byte-identical after put+delete"
        );
        assert_eq!(store.area, before);
    }
}

#[test]
fn a_changed_value_is_the_only_bytes_that_change() {
    let Some(c) = corpus() else { return };
    let env = TestEnv::new();
    let path = env.copy(&c.join("app-oracle-r1/store.json"), "store.json");
    let original = fs::read_to_string(&path).unwrap();
    let mut store = open(&path, None);
    let mut cs = ChangeSet::default();
    cs.put("mesh:peers:metadata", "{\"lastCleanup\":1}");
    store.save(&cs, &Default::default()).unwrap();
    let new = fs::read_to_string(&path).unwrap();
    let old_literal = raw_value(&original, "mesh:peers:metadata");
    assert_eq!(
        new,
        original.replacen(old_literal, "\"{\\\"lastCleanup\\\":1}\"", 1)
    );
}

#[test]
fn playwright_writes_touch_only_the_chosen_origin() {
    let env = TestEnv::new();
    let state = r#"{
  "cookies": [
    {
      "name": "sid",
      "value": "s3cr\u00e9t",
      "domain": "a.test",
      "path": "/",
      "expires": 1.7953e9,
      "httpOnly": true,
      "secure": false,
      "sameSite": "Lax"
    }
  ],
  "origins": [
    {
      "origin": "http://other.test",
      "localStorage": [
        {
          "name": "mesh:peers:index",
          "value": "[\"o\"]"
        }
      ]
    },
    {
      "origin": "http://app.test",
      "localStorage": [
        {
          "name": "theme",
          "value": "dark"
        },
        {
          "name": "mesh:peers:index",
          "value": "[]"
        }
      ]
    }
  ]
}
"#;
    let path = env.write("state.json", state);
    let mut store = open(&path, Some("http://app.test"));
    assert_eq!(store.kind, BackendKind::Playwright);
    let mut cs = ChangeSet::default();
    cs.put("mesh:peers:index", "[\"p\"]");
    store.save(&cs, &Default::default()).unwrap();
    let new = fs::read_to_string(&path).unwrap();
    let cut = new
        .find("    {\n      \"origin\": \"http://app.test\"")
        .unwrap();
    assert_eq!(
        &new[..cut],
        &state[..cut],
        "cookies and the other origin are byte-identical"
    );
    assert!(new.ends_with(
        "        {\n          \"name\": \"mesh:peers:index\",\n          \"value\": \"[\\\"p\\\"]\"\n        }\n      ]\n    }\n  ]\n}\n"
    ));
    assert_eq!(new.replace("[\\\"p\\\"]", "[]"), state);
}

#[test]
fn a_missing_origin_is_created_in_an_empty_state() {
    let env = TestEnv::new();
    let path = env.write("empty.json", "{\"cookies\":[],\"origins\":[]}");
    let mut store = open(&path, Some("http://127.0.0.1:3000/"));
    assert_eq!(store.origin.as_deref(), Some("http://127.0.0.1:3000"));
    assert!(store.area.is_empty());
    let mut cs = ChangeSet::default();
    cs.put("mesh:schema:version", "1.0.0");
    store.save(&cs, &Default::default()).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        r#"{"cookies":[],"origins":[{"origin":"http://127.0.0.1:3000","localStorage":[{"name":"mesh:schema:version","value":"1.0.0"}]}]}"#
    );
    let reread = open(&path, None);
    assert_eq!(reread.origin.as_deref(), Some("http://127.0.0.1:3000"));
}

#[test]
fn lone_surrogates_and_escapes_survive_a_rewrite() {
    let env = TestEnv::new();
    let text = "{\n  \"p2p_identity\": \"{\\\"displayName\\\":\\\"x\\ud800y\\\"}\",\n  \"raw\": \"a\\ud800b\\udc00\",\n  \"ascii\": \"caf\\u00e9\",\n  \"mesh:peers:index\": \"[]\"\n}";
    let path = env.write("s.json", text);
    let mut store = open(&path, None);
    let raw = store.area.get(&JsString::from("raw")).unwrap();
    assert_eq!(
        raw.utf16_units().collect::<Vec<_>>(),
        [0x61, 0xD800, 0x62, 0xDC00]
    );
    let mut cs = ChangeSet::default();
    cs.put("mesh:peers:index", "[\"a\"]");
    cs.put("mesh:new", JsString::from_utf16(&[0x7A, 0xDBFF]));
    store.save(&cs, &Default::default()).unwrap();
    let new = fs::read_to_string(&path).unwrap();
    assert!(new.contains("\"raw\": \"a\\ud800b\\udc00\""), "{new}");
    assert!(new.contains("\"ascii\": \"caf\\u00e9\""), "{new}");
    assert!(new.contains("\"mesh:new\": \"z\\udbff\""), "{new}");
    let reread = open(&path, None);
    assert_eq!(
        reread
            .area
            .get(&JsString::from("mesh:new"))
            .unwrap()
            .utf16_units()
            .collect::<Vec<_>>(),
        [0x7A, 0xDBFF]
    );
}

#[test]
fn file_mode_is_kept() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let path = env.write("s.json", "{\"k\":\"v\"}");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let mut store = open(&path, None);
    let mut cs = ChangeSet::default();
    cs.delete("k");
    store.save(&cs, &Default::default()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
}
