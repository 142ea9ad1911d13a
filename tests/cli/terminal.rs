//! Colour: `--color always|never|auto`, `NO_COLOR`, `CLICOLOR_FORCE`, and that the only escape
//! sequences printed are meshpeers' own (store text is escaped before it is coloured).

use crate::support::{meshpeers, repo};

const NOW: &str = "1795176000000";

/// Runs meshpeers with `env` set (and neither colour variable inherited): (code, stdout, stderr).
fn run_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = meshpeers();
    cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Every escape sequence in `text`, as the bytes after ESC up to its final letter.
fn escapes(text: &str) -> Vec<String> {
    text.split('\u{1b}')
        .skip(1)
        .map(|rest| {
            let end = rest
                .find(|c: char| c.is_ascii_alphabetic())
                .map_or(rest.len(), |i| i + 1);
            rest[..end].to_owned()
        })
        .collect()
}

#[test]
fn colour_follows_the_flag_and_the_environment_and_never_comes_from_the_store() {
    let store = repo().join("fixtures/example/store.json");
    let s = store.to_str().unwrap();
    let list = ["list", "--include-blacklisted", "--store", s, "--now", NOW];
    let with = |extra: &[&str], env: &[(&str, &str)]| {
        let args: Vec<&str> = list.iter().chain(extra).copied().collect();
        let (code, out, err) = run_env(&args, env);
        assert_eq!(code, 0, "{err}");
        out
    };
    // Piped: none by default, with --color never, or with NO_COLOR.
    let plain = with(&[], &[]);
    assert!(escapes(&plain).is_empty(), "{plain}");
    assert_eq!(
        with(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]),
        plain
    );
    assert_eq!(
        with(&[], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]),
        plain
    );
    // --color always (over NO_COLOR too) and CLICOLOR_FORCE colour it.
    let coloured = with(&["--color", "always"], &[("NO_COLOR", "1")]);
    assert_eq!(with(&[], &[("CLICOLOR_FORCE", "1")]), coloured);
    let seqs = escapes(&coloured);
    // Chloé's 12-hour blacklist in red, the middling scores yellow, each reset.
    assert!(seqs.contains(&"[38;5;9m".to_owned()), "{seqs:?}");
    assert!(seqs.contains(&"[38;5;11m".to_owned()), "{seqs:?}");
    let allowed = ["[38;5;9m", "[38;5;10m", "[38;5;11m", "[39m"];
    assert!(
        seqs.iter().all(|q| allowed.contains(&q.as_str())),
        "{seqs:?}"
    );
    // The hostile display name's own escape stays escaped text.
    assert!(coloured.contains("\\u{1b}[31mred\\u{1b}[0m"), "{coloured}");
    // The same text once the colour is taken out.
    let stripped: String = {
        let mut out = coloured.clone();
        for q in allowed {
            out = out.replace(&format!("\u{1b}{q}"), "");
        }
        out
    };
    assert_eq!(stripped, plain);

    // Errors: `error:` red and bold with --color always, plain otherwise; same exit status.
    let bad = ["show", "ffffffff", "--store", s];
    let (code, _, err) = run_env(&[&bad[..], &["--color", "always"]].concat(), &[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("meshpeers: \u{1b}[1m\u{1b}[31merror:\u{1b}[0m "),
        "{err:?}"
    );
    let (code, _, err) = run_env(&bad, &[]);
    assert_eq!(code, 1);
    assert!(err.starts_with("meshpeers: error: "), "{err:?}");
    assert!(escapes(&err).is_empty());
    // A plan's removals in red.
    let (code, out, _) = run_env(
        &[
            "cleanup",
            "--strategy",
            "hybrid",
            "--dry-run",
            "--store",
            s,
            "--now",
            NOW,
            "--color",
            "always",
        ],
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.contains("\u{1b}[38;5;9m remove"), "{out}");
}
