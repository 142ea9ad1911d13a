//! Hostile strings in a store (peer ids, names, reasons, other keys) through every command:
//! nothing that can act on a terminal (ESC sequences, OSC 52 clipboard writes, C1 controls,
//! BIDI overrides, NUL, CR, DEL, zero-width characters, line separators) ever reaches stdout
//! or stderr raw, and `--json` carries the exact strings, escaped.

use serde_json::Value;

use crate::support::{TestEnv, run};

/// A name with one of every dangerous kind of character.
const HOSTILE: &str =
    "\u{1b}[2J\u{1b}]52;c;cHduZWQ=\u{7}\u{9b}31m\u{202e}evil\u{0}\r\u{7f}\u{200b}\u{2028}end";

fn dangerous(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A peer id as hostile as a command line allows (no NUL).
const ID: &str = "p\u{1b}]52;c;eA==\u{7}\u{9b}\u{202e}\r\u{7f}\u{2028}x";

fn store(env: &TestEnv) -> String {
    let id = ID;
    let record = serde_json::json!({
        "peerId": id, "displayName": HOSTILE, "lastSeen": 1795170000000u64,
        "reconnectionAttempts": 9, "blacklistUntil": 1795100000000u64,
        "connectionQuality": {"connectionType": HOSTILE, "successfulConnections": 0},
    });
    let mut area = serde_json::Map::new();
    area.insert(
        "mesh:peers:index".into(),
        Value::from(serde_json::to_string(&[&id]).unwrap()),
    );
    area.insert(format!("mesh:peer:{id}"), Value::from(record.to_string()));
    area.insert(format!("other{HOSTILE}"), Value::from(HOSTILE));
    env.write("store.json", Value::Object(area).to_string())
        .display()
        .to_string()
}

#[test]
fn no_command_prints_a_raw_control_character() {
    let env = TestEnv::new();
    let s = store(&env);
    let id = ID.to_owned();
    let commands: Vec<Vec<&str>> = vec![
        vec!["inspect"],
        vec!["list", "--include-blacklisted"],
        vec!["show", &id],
        vec!["stats"],
        vec!["score"],
        vec!["candidates"],
        vec!["validate"],
        vec!["secrets"],
        vec!["cleanup", "--strategy", "hybrid", "--dry-run"],
        vec!["unblacklist", &id, "--dry-run"],
        vec!["remove", &id, "--dry-run"],
        vec!["remove", "nobody", "--dry-run"],
        vec!["repair", "--dry-run"],
        vec!["export"],
        vec!["export", "--app-format"],
        vec!["export", "--peers-only", "--format", "ndjson"],
    ];
    for cmd in &commands {
        for json in [false, true] {
            let mut args: Vec<&str> = cmd.clone();
            args.extend(["--store", &s, "--now", "1795176000000"]);
            if json {
                args.push("--json");
            }
            let (code, out, err) = run(&args);
            assert!(code == 0 || code == 1, "{args:?}: exit {code}: {err}");
            for (what, text) in [("stdout", &out), ("stderr", &err)] {
                let bad: Vec<String> = text
                    .chars()
                    .filter(|c| dangerous(*c))
                    .map(|c| format!("U+{:04X}", c as u32))
                    .collect();
                assert!(bad.is_empty(), "{args:?} {what} holds raw {bad:?}");
            }
            let machine = json || cmd[0] == "export";
            let names_it = [
                "list",
                "show",
                "export",
                "inspect",
                "cleanup",
                "unblacklist",
                "remove",
            ]
            .contains(&cmd[0])
                && !cmd.contains(&"nobody");
            if machine && names_it && code == 0 {
                // Escaped, not lost: the JSON holds the exact hostile string.
                let values: Vec<Value> = if cmd.contains(&"ndjson") {
                    out.lines()
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect()
                } else {
                    vec![serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}"))]
                };
                let all = serde_json::to_string(&values).unwrap();
                let again: Value = serde_json::from_str(&all).unwrap();
                assert!(
                    contains_string(&again, HOSTILE),
                    "{args:?}: the hostile string is not in the JSON"
                );
            }
        }
    }
}

fn contains_string(v: &Value, s: &str) -> bool {
    match v {
        // Stored values are JSON texts themselves (a record in a backup).
        Value::String(x) => {
            x.contains(s)
                || serde_json::from_str::<Value>(x).is_ok_and(|inner| contains_string(&inner, s))
        }
        Value::Array(a) => a.iter().any(|x| contains_string(x, s)),
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| k.contains(s) || contains_string(x, s)),
        _ => false,
    }
}

#[test]
fn csv_rows_on_a_terminal_are_escaped_and_exact_when_piped() {
    let env = TestEnv::new();
    let s = store(&env);
    let bin = assert_cmd::cargo::cargo_bin("meshpeers");
    // Piped: the exact bytes, for scripts.
    let (code, piped, _) = run(["export", "--peers-only", "--format", "csv", "--store", &s]);
    assert_eq!(code, 0);
    assert!(
        piped.contains('\u{9b}'),
        "CSV written to a pipe keeps the value exactly"
    );
    // On a terminal (a pseudo-terminal from `script`): escaped.
    let Ok(out) = std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} export --peers-only --format csv --store {s}",
            bin.display()
        ))
        .arg("/dev/null")
        .output()
    else {
        eprintln!("SKIPPED: no `script` for a pseudo-terminal");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("peerId,displayName"), "{text}");
    let bad: Vec<u32> = text
        .chars()
        .filter(|c| dangerous(*c) && *c != '\r')
        .map(|c| c as u32)
        .collect();
    assert!(bad.is_empty(), "raw on a terminal: {bad:x?}");
    assert!(text.contains("\\u{1b}]52;c;"), "{text}");
}
