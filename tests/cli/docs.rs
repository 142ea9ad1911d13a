//! Man pages are generated from the clap definitions and checked in; this fails when they are
//! stale (`MESHPEERS_BLESS=1 cargo test` regenerates them). Completions work.

use std::collections::BTreeMap;
use std::fs;

use clap::CommandFactory;

use crate::support::{read_files, repo, run};

fn generated() -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(meshpeers::cli::Cli::command(), dir.path()).unwrap();
    read_files(dir.path())
}

#[test]
fn man_pages_are_current() {
    let man = repo().join("man");
    let want = generated();
    if std::env::var_os("MESHPEERS_BLESS").is_some() {
        let _ = fs::remove_dir_all(&man);
        fs::create_dir_all(&man).unwrap();
        for (name, bytes) in &want {
            fs::write(man.join(name), bytes).unwrap();
        }
        return;
    }
    let have = read_files(&man);
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "man/ is stale: run `MESHPEERS_BLESS=1 cargo test` and commit"
    );
    for (name, bytes) in &want {
        assert!(
            have[name] == *bytes,
            "man/{name} is stale: run `MESHPEERS_BLESS=1 cargo test` and commit"
        );
    }
    let main = String::from_utf8_lossy(&want["meshpeers.1"]);
    assert!(
        main.contains("Exit status") && main.contains("invalid input"),
        "exit codes documented"
    );
    // The finding codes come from the enum: the help and the man page list every one.
    let validate = String::from_utf8_lossy(&want["meshpeers-validate.1"]);
    let (_, help, _) = run(["validate", "--help"]);
    for code in meshpeers::peers::findings::FindingCode::ALL {
        let line = format!("{} ({})", code.name(), code.severity().name());
        assert!(help.contains(&line), "validate --help lacks {line}");
        assert!(
            validate.contains(&line.replace('-', "\\-")),
            "the validate man page lacks {line}"
        );
    }
    let list = String::from_utf8_lossy(&want["meshpeers-list.1"]);
    assert!(
        list.contains("reconnectionAttempts") && list.contains("hasSecret"),
        "JSON contract documented"
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out, err) = run(["completions", shell]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("meshpeers") && out.contains("inspect"),
            "{shell}"
        );
    }
}
