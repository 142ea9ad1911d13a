//! Bad input: one clear message naming the file (or flag), a documented exit status, no panic,
//! and every file left as it was.

use crate::support::{TestEnv, corpus, run};

const USAGE: i32 = 2;
const INVALID: i32 = 3;
const IO: i32 = 4;

/// Runs `args`, checks the exit status, that stderr has exactly one error line naming
/// `names`, and that the directory is byte-for-byte unchanged.
fn refused(env: &TestEnv, args: &[&str], code: i32, names: &str) -> String {
    let before = env.snapshot();
    let (got, out, err) = run(args);
    assert_eq!(got, code, "meshpeers {args:?}: stderr: {err}");
    assert!(out.is_empty(), "nothing on stdout: {out}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(names),
        "meshpeers {args:?}: error does not name {names:?}: {err}"
    );
    if code != USAGE || err.starts_with("meshpeers: error:") {
        assert_eq!(
            err.matches("error:").count(),
            1,
            "one error, printed once: {err}"
        );
    }
    assert_eq!(env.snapshot(), before, "meshpeers {args:?} changed files");
    err
}

#[test]
fn broken_json_files_are_refused_with_the_file_named() {
    let env = TestEnv::new();
    let good =
        r#"{"mesh:peers:index":"[\"a\"]","mesh:peer:a":"{\"peerId\":\"a\",\"lastSeen\":1}"}"#;
    let cases: &[(&str, &[u8], &str)] = &[
        ("not-json.json", b"hello world", "not valid JSON"),
        ("truncated.json", &good.as_bytes()[..good.len() / 2], "truncated"),
        ("array.json", b"[{\"a\":\"b\"}]", "is a JSON array"),
        ("number-value.json", br#"{"theme":"dark","mesh:peers:index":5}"#, "\"mesh:peers:index\" is a number"),
        ("empty.json", b"", "the file is empty"),
        ("garbage.bin", &[0xff, 0xfe, 0x00, 0x9c, 0x12, 0x80, 0x00, 0x01], "invalid UTF-8"),
        ("scalar.json", b"\"just a string\"", "single JSON value"),
        ("bad-playwright.json", br#"{"cookies":[],"origins":[{"origin":"http://a","localStorage":[{"name":"k","value":7}]}]}"#, "\"value\" is a number"),
    ];
    for (name, bytes, problem) in cases {
        let path = env.write(name, bytes);
        for cmd in ["list", "inspect", "stats"] {
            let err = refused(
                &env,
                &[cmd, "--store", path.to_str().unwrap()],
                INVALID,
                name,
            );
            assert!(
                err.contains(problem),
                "{name}: expected {problem:?} in: {err}"
            );
        }
    }
}

#[test]
fn a_missing_file_or_a_directory_is_refused() {
    let env = TestEnv::new();
    let missing = env.path("nope.json");
    let err = refused(
        &env,
        &["list", "--store", missing.to_str().unwrap()],
        IO,
        "nope.json",
    );
    assert!(err.contains("No such file"), "{err}");
    refused(
        &env,
        &["inspect", "--store", env.dir.path().to_str().unwrap()],
        INVALID,
        "is a directory",
    );
}

const TWO_ORIGINS: &str = r#"{"cookies":[{"name":"sid","value":"x","domain":"a.test","path":"/","expires":-1,"httpOnly":false,"secure":false,"sameSite":"Lax"}],
"origins":[
 {"origin":"http://a.test","localStorage":[{"name":"mesh:peers:index","value":"[]"},{"name":"mesh:schema:version","value":"1.0.0"}]},
 {"origin":"http://b.test:3000","localStorage":[{"name":"mesh:peers:index","value":"[]"}]},
 {"origin":"http://c.test","localStorage":[{"name":"theme","value":"dark"}]}]}"#;

#[test]
fn several_origins_need_origin_and_an_unknown_origin_is_refused() {
    let env = TestEnv::new();
    let p = env.write("state.json", TWO_ORIGINS);
    let p = p.to_str().unwrap();
    let err = refused(&env, &["list", "--store", p], USAGE, "state.json");
    assert!(
        err.contains("http://a.test (2 mesh: keys)")
            && err.contains("http://b.test:3000 (1 mesh: keys)"),
        "{err}"
    );
    assert!(
        !err.contains("http://c.test"),
        "only origins holding the namespace are candidates: {err}"
    );
    assert!(err.contains("hint: choose one with --origin"), "{err}");

    let err = refused(
        &env,
        &["list", "--store", p, "--origin", "http://nowhere.test"],
        USAGE,
        "--origin http://nowhere.test",
    );
    assert!(
        err.contains("http://c.test (0 mesh: keys)"),
        "lists every origin: {err}"
    );

    // The right origin works, with or without a trailing slash.
    for origin in ["http://b.test:3000", "http://b.test:3000/"] {
        let (code, out, err) = run(["inspect", "--json", "--store", p, "--origin", origin]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["origin"], "http://b.test:3000");
        assert_eq!(v["origins"].as_array().unwrap().len(), 3);
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let p = env.write("s.json", "{}");
    let p = p.to_str().unwrap();
    refused(&env, &["list", "--store", p, "--bogus"], USAGE, "--bogus");
    refused(
        &env,
        &["list", "--store", p, "--now", "yesterday"],
        USAGE,
        "--now",
    );
    refused(
        &env,
        &["list", "--store", p, "--max-age", "7 days"],
        USAGE,
        "--max-age",
    );
    refused(
        &env,
        &["list", "--store", p, "--sort", "name"],
        USAGE,
        "--sort",
    );
    let err = refused(&env, &["list"], USAGE, "no store given");
    assert!(err.contains("hint: pass --store"), "{err}");
    refused(&env, &["frobnicate"], USAGE, "frobnicate");
}

#[test]
fn an_unreadable_record_is_skipped_and_the_others_listed() {
    let env = TestEnv::new();
    let store = r#"{
  "mesh:peers:index": "[\"good\",\"broken\",\"gone\",\"array\"]",
  "mesh:peer:good": "{\"peerId\":\"good\",\"lastSeen\":1000}",
  "mesh:peer:broken": "{\"peerId\":\"broken\",\"lastSe",
  "mesh:peer:array": "[1,2]",
  "mesh:peer:stray": "{\"peerId\":\"stray\",\"lastSeen\":5}"
}"#;
    let p = env.write("s.json", store);
    let p = p.to_str().unwrap();
    let before = env.snapshot();
    let (code, out, err) = run(["list", "--json", "--store", p, "--now", "2000"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["peerId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["good"]);
    assert!(err.contains("3 index entries skipped"), "{err}");

    let inspect: serde_json::Value =
        serde_json::from_str(&run(["inspect", "--json", "--store", p]).1).unwrap();
    let codes: Vec<(&str, &str)> = inspect["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["key"].as_str().unwrap()))
        .collect();
    for expected in [
        ("record-unreadable", "mesh:peer:broken"),
        ("record-missing", "mesh:peer:gone"),
        ("record-unreadable", "mesh:peer:array"),
        ("record-not-indexed", "mesh:peer:stray"),
    ] {
        assert!(codes.contains(&expected), "{expected:?} not in {codes:?}");
    }
    assert_eq!(env.snapshot(), before);
}

#[test]
fn stdin_is_read_and_a_hostile_name_is_escaped() {
    let store = r#"{"mesh:peers:index":"[\"x\"]","mesh:peer:x":"{\"peerId\":\"x\",\"displayName\":\"\\u001b[31mred\\u001b[0m\\u202e\",\"lastSeen\":1}"}"#;
    let out = crate::support::meshpeers()
        .args(["list", "--store", "-", "--now", "2"])
        .write_stdin(store)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "raw control characters printed: {text:?}"
    );
    assert!(text.contains("\\u{1b}[31mred\\u{1b}[0m\\u{202e}"), "{text}");
}

#[test]
fn corpus_files_are_never_touched_by_reads() {
    let Some(c) = corpus() else { return };
    let env = TestEnv::new();
    let p = env.copy(&c.join("app-oracle-r1/storage-state.json"), "s.json");
    let before = env.snapshot();
    for cmd in ["inspect", "list", "stats"] {
        let (code, _, err) = run([cmd, "--store", p.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_closed_pipe_is_a_quiet_success() {
    use std::process::Stdio;
    let env = TestEnv::new();
    let area = crate::synth::generate(&crate::synth::SynthOptions {
        peers: 600,
        seed: 3,
        now: 1e12,
    });
    let p = env.write("big.json", crate::synth::flat_json(&area));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("meshpeers"))
        .args([
            "list",
            "--json",
            "--include-blacklisted",
            "--store",
            p.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end at once, like `| head -0`; the JSON (> 64 KiB) cannot fit the pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
