//! The bundled example store is what the project's own generator makes, and the README's run
//! command works on it. `MESHPEERS_BLESS=1 cargo test` rewrites the fixtures.

use std::fs;

use crate::synth::{self, SynthOptions};

use crate::support::{check_or_bless, json, repo, run};

/// The example's fixed time: 2026-11-20T12:00:00Z.
pub const EXAMPLE_NOW: f64 = 1_795_176_000_000.0;
pub const EXAMPLE_ORIGIN: &str = "http://127.0.0.1:3000";

#[test]
fn example_fixtures_are_what_the_generator_makes() {
    let area = synth::generate(&SynthOptions {
        peers: 20,
        seed: 0x5eed,
        now: EXAMPLE_NOW,
    });
    check_or_bless("fixtures/example/store.json", &synth::flat_json(&area));
    check_or_bless(
        "fixtures/example/storage-state.json",
        &synth::playwright_json(EXAMPLE_ORIGIN, &area),
    );
}

#[test]
fn both_example_forms_give_the_same_answers() {
    let flat = repo()
        .join("fixtures/example/store.json")
        .display()
        .to_string();
    let pw = repo()
        .join("fixtures/example/storage-state.json")
        .display()
        .to_string();
    let now = EXAMPLE_NOW.to_string();
    for args in [
        vec!["list", "--sort", "quality"],
        vec!["stats"],
        vec!["list", "--include-blacklisted", "--order", "asc"],
    ] {
        let a = json(
            args.iter()
                .copied()
                .chain(["--store", flat.as_str(), "--now", now.as_str()]),
        );
        let b = json(
            args.iter()
                .copied()
                .chain(["--store", pw.as_str(), "--now", now.as_str()]),
        );
        assert_eq!(a, b, "{args:?}");
    }
    let inspect = json(["inspect", "--store", pw.as_str()]);
    assert_eq!(inspect["origin"], EXAMPLE_ORIGIN);
    assert_eq!(inspect["peerCount"], 20);
}

#[test]
fn the_example_shows_every_kind_of_peer() {
    let flat = repo()
        .join("fixtures/example/store.json")
        .display()
        .to_string();
    let now = EXAMPLE_NOW.to_string();
    let all = json([
        "list",
        "--include-blacklisted",
        "--store",
        flat.as_str(),
        "--now",
        now.as_str(),
    ]);
    let shown = json(["list", "--store", flat.as_str(), "--now", now.as_str()]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 20);
    let blacklisted = all
        .iter()
        .filter(|p| {
            p["blacklistUntil"]
                .as_f64()
                .is_some_and(|b| b > EXAMPLE_NOW)
        })
        .count();
    assert!(blacklisted >= 2, "{blacklisted}");
    assert_eq!(shown.as_array().unwrap().len(), 20 - blacklisted);
    assert!(
        all.iter().any(|p| p["reconnectionAttempts"].is_null()),
        "a peer without reconnectionAttempts"
    );
    assert!(
        all.iter().any(|p| p["lastConnected"].is_null()),
        "a never-connected peer"
    );
    assert!(
        all.iter()
            .any(|p| p["displayName"] == "\u{1b}[31mred\u{1b}[0m"),
        "a hostile name"
    );
}

/// The README's first screen: the run command and the test command, both present and the run
/// command working.
#[test]
fn readme_commands_are_true() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let run_cmd = "cargo run --release -- list --store fixtures/example/store.json --sort quality";
    assert!(readme.contains(run_cmd), "README lost its run command");
    let ci = fs::read_to_string(repo().join(".ci/run")).unwrap();
    let test_cmd = readme
        .lines()
        .find(|l| l.starts_with("cargo test"))
        .expect("README shows the test command on a line of its own");
    assert!(
        ci.lines().any(|l| l.trim() == test_cmd.trim()),
        ".ci/run must run exactly `{test_cmd}`"
    );

    let store = repo().join("fixtures/example/store.json");
    let (code, out, err) = run([
        "list",
        "--store",
        store.to_str().unwrap(),
        "--sort",
        "quality",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("QUALITY") && out.contains("peers"), "{out}");
}
