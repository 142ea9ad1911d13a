//! In a real terminal (tmux, at 80 and 120 columns), on the 120-peer oracle store: every table
//! keeps to the width with one line per row, peer ids are the shortest unique prefixes of at
//! least 8 characters and `show` takes them back, colour is there on a terminal and gone with
//! `NO_COLOR` or `--color never`. Skipped (loudly) without tmux, unless
//! `MESHPEERS_REQUIRE_BROWSER` is set.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use crate::support::{TestEnv, corpus, json, now_of, oracle, run};

/// A tmux server of its own (socket and config in a scratch directory).
struct Tmux {
    dir: TestEnv,
    /// Sessions so far: each gets a server (socket) of its own, so one that is still
    /// shutting down never meets the next.
    sessions: std::cell::Cell<usize>,
}

impl Tmux {
    fn new() -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            if std::env::var_os("MESHPEERS_REQUIRE_BROWSER").is_some() {
                panic!("tmux is missing; run .ci/run's setup");
            }
            eprintln!("SKIPPED: no tmux; the real-terminal tests did not run");
            return None;
        }
        let dir = TestEnv::new();
        dir.write(
            "tmux.conf",
            "set -g history-limit 100000\nset -g remain-on-exit on\nset -g status off\n",
        );
        Some(Tmux {
            dir,
            sessions: Default::default(),
        })
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S")
            .arg(self.dir.path(&format!("sock{}", self.sessions.get())))
            .arg("-f")
            .arg(self.dir.path("tmux.conf"));
        c
    }

    /// Runs meshpeers with `args` in a `width`-column terminal, `env` set and neither colour
    /// variable inherited: (exit status, the screen's lines with their escape sequences and
    /// wrapped lines joined, stderr).
    fn run(&self, width: u16, args: &[String], env: &[(&str, &str)]) -> (i32, Vec<String>, String) {
        let (status, lines, err, _) = self.session(width, args, env, None);
        (status, lines, err.unwrap())
    }

    /// As `run`, but with stderr on the terminal too when `watch` is given, and whether a line
    /// holding it was on the screen while meshpeers ran.
    fn session(
        &self,
        width: u16,
        args: &[String],
        env: &[(&str, &str)],
        watch: Option<&str>,
    ) -> (i32, Vec<String>, Option<String>, bool) {
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut line = String::from("env -u NO_COLOR -u CLICOLOR_FORCE TERM=xterm-256color");
        for (k, v) in env {
            line.push_str(&format!(" {k}={}", quote(v)));
        }
        line.push(' ');
        line.push_str(&quote(env!("CARGO_BIN_EXE_meshpeers")));
        for a in args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        let err = self.dir.path("stderr");
        // The shell's last line, once meshpeers has exited and its output is on the screen.
        if watch.is_none() {
            line.push_str(&format!(" 2>{}", quote(err.to_str().unwrap())));
        }
        line.push_str(&format!("\nprintf '%s %s\\n' {END} $?\nexec sleep 60\n"));
        let script = self.dir.write("run.sh", line);
        self.sessions.set(self.sessions.get() + 1);
        let ok = self
            .tmux()
            .args([
                "new-session",
                "-d",
                "-x",
                &width.to_string(),
                "-y",
                "50",
                "sh",
            ])
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let start = Instant::now();
        let mut seen = false;
        loop {
            let out = self
                .tmux()
                .args(["capture-pane", "-p", "-J", "-e", "-S", "-", "-E", "-"])
                .output()
                .unwrap();
            let mut lines: Vec<String> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            let end = lines.iter().rposition(|l| l.starts_with(END));
            if let Some(w) = watch {
                seen |= lines[..end.unwrap_or(lines.len())]
                    .iter()
                    .any(|l| l.contains(w));
            }
            if let Some(end) = end {
                let status = lines[end][END.len() + 1..].trim().parse().unwrap();
                lines.truncate(end);
                let _ = self.tmux().arg("kill-server").output();
                let err = watch
                    .is_none()
                    .then(|| std::fs::read_to_string(&err).unwrap());
                return (status, lines, err, seen);
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = self.tmux().arg("kill-server").output();
                panic!("meshpeers did not finish in tmux:\n{}", lines.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(if watch.is_some() { 10 } else { 50 }));
        }
    }
}

/// What the shell prints, with meshpeers' exit status, after meshpeers has exited.
const END: &str = "MESHPEERS-TEST-END";

/// `text` without its escape sequences.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('\u{1b}') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .find(|c: char| c.is_ascii_alphabetic())
            .map_or(after.len(), |e| e + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn has_escape(lines: &[String]) -> bool {
    lines.iter().any(|l| l.contains('\u{1b}'))
}

/// The oracle store and its `now`, or `None` where the corpus is absent.
fn oracle_store() -> Option<(PathBuf, String)> {
    let dir = corpus()?.join("app-oracle-r1");
    let now = now_of(&oracle(&dir, "queryPeers-default.json"));
    Some((dir.join("store.json"), now))
}

fn args(store: &Path, now: &str, command: &[&str]) -> Vec<String> {
    command
        .iter()
        .map(|s| s.to_string())
        .chain([
            "--store".into(),
            store.display().to_string(),
            "--now".into(),
            now.into(),
        ])
        .collect()
}

/// The peer ids of a table's rows, in order: the first word of each line after the header,
/// `rows` of them (`column` is the word's place).
fn row_ids(lines: &[String], rows: usize, column: usize) -> Vec<String> {
    lines[1..=rows]
        .iter()
        .map(|l| {
            strip(l)
                .split_whitespace()
                .nth(column)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Checks that every shown id is a prefix of its row's whole id, at least 8 characters (or the
/// whole id), that no other id of the store shares it, and that one character fewer would be
/// shared (or under 8).
fn assert_shortest_unique(shown: &[String], whole: &[&str], all: &[String]) {
    assert_eq!(shown.len(), whole.len());
    for (s, w) in shown.iter().zip(whole) {
        assert!(w.starts_with(s.as_str()), "{s} is not a prefix of {w}");
        assert!(s.chars().count() >= 8 || s == w, "{s} is shorter than 8");
        let sharing = all.iter().filter(|i| i.starts_with(s.as_str())).count();
        assert_eq!(sharing, 1, "{s} names {sharing} peers");
        if s.chars().count() > 8 {
            let shorter: String = s.chars().take(s.chars().count() - 1).collect();
            let sharing = all.iter().filter(|i| i.starts_with(&shorter)).count();
            assert!(sharing > 1, "{shorter} would have done for {w}");
        }
    }
}

#[test]
fn fitted_tables_keep_to_80_and_120_columns_one_line_per_row() {
    let Some(tmux) = Tmux::new() else { return };
    let Some((store, now)) = oracle_store() else {
        return;
    };
    let all: Vec<String> = json(args(&store, &now, &["list", "--include-blacklisted"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["peerId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all.len(), 120);
    let ids_of = |v: &Value, field: &str| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r[field].as_str().unwrap().to_owned())
            .collect()
    };
    // (command, rows and their whole ids from --json, the id's column, header's first word)
    let tables: Vec<(Vec<&str>, Vec<String>, usize, &str)> = vec![
        (
            vec!["list"],
            ids_of(&json(args(&store, &now, &["list"])), "peerId"),
            0,
            "PEER",
        ),
        (
            vec!["score"],
            ids_of(&json(args(&store, &now, &["score"])), "peerId"),
            0,
            "PEER",
        ),
        (
            vec!["candidates"],
            ids_of(&json(args(&store, &now, &["candidates"])), "peerId"),
            1,
            "#",
        ),
        (
            vec!["cleanup", "--strategy", "hybrid", "--dry-run"],
            ids_of(
                &json(args(
                    &store,
                    &now,
                    &["cleanup", "--strategy", "hybrid", "--dry-run"],
                ))["actions"],
                "peerId",
            ),
            0,
            "PEER",
        ),
    ];
    for width in [80u16, 120] {
        for (command, whole, column, first) in &tables {
            let (code, lines, err) = tmux.run(width, &args(&store, &now, command), &[]);
            assert_eq!(code, 0, "{command:?}: {err}");
            let context = format!("{command:?} at {width} columns:\n{}", lines.join("\n"));
            assert!(whole.len() > 5, "{context}");
            for l in &lines {
                let w = strip(l).width();
                assert!(
                    w <= usize::from(width),
                    "a line of {w} columns: {l}\n{context}"
                );
            }
            assert!(strip(&lines[0]).starts_with(first), "{context}");
            // One line per row: the row after the last is the summary, not a continuation.
            let shown = row_ids(&lines, whole.len(), *column);
            let whole: Vec<&str> = whole.iter().map(String::as_str).collect();
            assert_shortest_unique(&shown, &whole, &all);
            assert!(
                !all.iter()
                    .any(|i| i.starts_with(row_ids(&lines[whole.len()..], 1, *column)[0].as_str())),
                "{context}"
            );
            // The terminal gets colour; the left-out columns are named on stderr, at 80 only.
            assert!(has_escape(&lines), "{context}");
            if width == 120 {
                assert!(!err.contains("left out"), "{err}\n{context}");
            }
        }
    }
    // `show` takes every id `list` showed at 80 columns back.
    let (_, lines, _) = tmux.run(80, &args(&store, &now, &["list"]), &[]);
    let whole = &tables[0].1;
    for (short, id) in row_ids(&lines, whole.len(), 0).iter().zip(whole) {
        let shown = json(args(&store, &now, &["show", short]));
        assert_eq!(shown["peerId"], id.as_str(), "show {short}");
    }
    // And the writing commands: `remove` plans the whole id (a dry run writes nothing).
    for (short, id) in row_ids(&lines, 10, 0).iter().zip(whole) {
        let plan = json(args(&store, &now, &["remove", short, "--dry-run"]));
        assert_eq!(plan["actions"][0]["peerId"], id.as_str(), "remove {short}");
    }
    // Score at 80 leaves the reconnection parts out and says so; --wide keeps every column,
    // whole ids and longer lines (the terminal wraps them).
    let (_, _, err) = tmux.run(80, &args(&store, &now, &["score"]), &[]);
    assert!(
        err.contains("note: = Q×.4+RECENT+CONN+RELI+PEN left out to fit; --wide shows all"),
        "{err}"
    );
    let (_, wide, _) = tmux.run(80, &args(&store, &now, &["score", "--wide"]), &[]);
    let first = &tables[1].1[0];
    assert!(
        wide.iter().any(|l| strip(l).contains(first.as_str())),
        "{wide:#?}"
    );
    assert!(wide.iter().any(|l| strip(l).width() > 80));
}

#[test]
fn findings_inspect_and_stats_keep_to_80_and_120_columns() {
    let Some(tmux) = Tmux::new() else { return };
    let Some((store, now)) = oracle_store() else {
        return;
    };
    let findings = json(args(&store, &now, &["validate"]))["findings"]
        .as_array()
        .unwrap()
        .len();
    assert!(findings > 50);
    for width in [80u16, 120] {
        for command in [&["validate"][..], &["inspect"], &["stats"]] {
            let (piped_code, piped, _) = run(args(&store, &now, command));
            let (code, lines, err) = tmux.run(width, &args(&store, &now, command), &[]);
            assert_eq!(code, piped_code, "{command:?}: {err}");
            let context = format!("{command:?} at {width} columns:\n{}", lines.join("\n"));
            for l in &lines {
                let w = strip(l).width();
                assert!(
                    w <= usize::from(width),
                    "a line of {w} columns: {l}\n{context}"
                );
            }
            match command[0] {
                "validate" => {
                    // A header, one line per finding, then the summary (wrapped to the
                    // terminal where the store's path makes it long).
                    assert!(strip(&lines[0]).starts_with("SEVERITY  CODE"), "{context}");
                    let severity = |l: &String| {
                        ["error ", "warning ", "info "]
                            .iter()
                            .any(|s| strip(l).starts_with(s))
                    };
                    assert!(lines[1..=findings].iter().all(severity), "{context}");
                    assert!(!severity(&lines[findings + 1]), "{context}");
                    assert!(
                        lines[findings + 1..].join(" ").contains(" info"),
                        "{context}"
                    );
                }
                "inspect" => {
                    let at = lines
                        .iter()
                        .position(|l| strip(l) == "Findings:")
                        .expect(&context);
                    let findings = json(args(&store, &now, &["inspect"]))["findings"]
                        .as_array()
                        .unwrap()
                        .len();
                    assert!(findings > 20);
                    assert_eq!(lines.len(), at + 2 + findings, "{context}");
                }
                _ => {
                    // The same drawing as piped, bars aside.
                    let bars = |text: &str| -> Vec<String> {
                        text.lines().map(|l| l.replace(['█', '░'], "")).collect()
                    };
                    let plain: Vec<String> = lines.iter().map(|l| strip(l)).collect();
                    assert_eq!(bars(&plain.join("\n"))[7..], bars(&piped)[7..], "{context}");
                }
            }
        }
    }
}

#[test]
fn colour_on_a_terminal_and_none_with_no_color_or_never() {
    let Some(tmux) = Tmux::new() else { return };
    let fixture = crate::support::repo().join("fixtures/example/store.json");
    let a = |extra: &[&str]| {
        let mut v = args(
            &fixture,
            "1795176000000",
            &["list", "--include-blacklisted"],
        );
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let (_, coloured, _) = tmux.run(100, &a(&[]), &[]);
    assert!(has_escape(&coloured), "{coloured:#?}");
    let (_, no_color, _) = tmux.run(100, &a(&[]), &[("NO_COLOR", "1")]);
    assert!(!has_escape(&no_color), "{no_color:#?}");
    let (_, never, _) = tmux.run(100, &a(&["--color", "never"]), &[]);
    assert!(!has_escape(&never), "{never:#?}");
    // The same text either way.
    let plain: Vec<String> = coloured.iter().map(|l| strip(l)).collect();
    assert_eq!(plain, no_color);
    assert_eq!(never, no_color);
    // Piped: the tool's stable form (borders, whole ids), not the terminal's.
    let (_, piped, _) = run(a(&[]));
    assert!(piped.starts_with('┌'), "{piped}");
    assert!(!no_color[0].starts_with('┌'));
}

#[test]
fn progress_is_drawn_on_a_terminal_then_cleared_and_never_piped() {
    let Some(tmux) = Tmux::new() else { return };
    let Some((store, now)) = oracle_store() else {
        return;
    };
    let env = TestEnv::new();
    let rotate = |copy: &Path, iterations: u32| {
        let n = iterations.to_string();
        args(
            copy,
            &now,
            &["re-encrypt", "--to", "passphrase", "--iterations", &n],
        )
    };
    // More iterations until the derivation lasts long enough to be seen (a release build
    // derives 100 000 in a few milliseconds, a debug build in a quarter of a second).
    let mut iterations = 200_000u32;
    loop {
        let copy = env.copy(&store, &format!("store-{iterations}.json"));
        let text = format!("deriving the key from the passphrase ({iterations} PBKDF2 iterations)");
        let a = rotate(&copy, iterations);
        let pass = [("MESHPEERS_NEW_PASSPHRASE", "correct horse")];
        let (code, lines, _, seen) = tmux.session(100, &a, &pass, Some(&text));
        assert_eq!(code, 0, "{lines:#?}");
        let screen = lines.join("\n");
        // Whatever was drawn is gone at the end: the spinner line is cleared, not left.
        assert!(!screen.contains("deriving the key"), "{screen}");
        assert!(screen.contains("re-encrypted 67 peers"), "{screen}");
        if seen {
            break;
        }
        assert!(
            iterations < 10_000_000,
            "the spinner never showed:\n{screen}"
        );
        iterations = (iterations * 8).min(10_000_000);
    }
    // Piped, stderr gets the warnings only: no spinner, no carriage return, no escape.
    let copy = env.copy(&store, "piped.json");
    let mut cmd = crate::support::meshpeers();
    cmd.env("MESHPEERS_NEW_PASSPHRASE", "correct horse")
        .args(rotate(&copy, iterations));
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !err.contains("deriving") && !err.contains('\r') && !err.contains('\u{1b}'),
        "{err}"
    );
    assert!(
        err.contains("warning: the app itself reads only a plain JWK"),
        "{err}"
    );
}

/// The session on the README's first screen is what a 100-column terminal shows.
#[test]
fn the_readme_session_is_what_a_100_column_terminal_shows() {
    let Some(tmux) = Tmux::new() else { return };
    let readme = std::fs::read_to_string(crate::support::repo().join("README.md")).unwrap();
    let block = readme
        .split("```console\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("README has a console block");
    let mut commands = 0;
    let mut lines = block.lines().peekable();
    while let Some(line) = lines.next() {
        let command = line.strip_prefix("$ meshpeers ").expect("a command line");
        let mut expected = Vec::new();
        while let Some(l) = lines.next_if(|l| !l.starts_with("$ ")) {
            expected.push(l.to_owned());
        }
        let mut a: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        a.extend(["--color".into(), "never".into()]);
        let dir = crate::support::repo();
        let a: Vec<String> = a
            .into_iter()
            .map(|x| match x.strip_prefix("fixtures/") {
                Some(rest) => dir.join("fixtures").join(rest).display().to_string(),
                None => x,
            })
            .collect();
        let (code, shown, err) = tmux.run(100, &a, &[]);
        assert_eq!(code, 0, "{command}: {err}");
        assert_eq!(shown, expected, "{command}");
        commands += 1;
    }
    assert_eq!(commands, 2);
}
