//! Live stores against real running browsers (`--store cdp://…` on Debian's Chromium,
//! `--store bidi://…` on Firefox ESR, both started with `--remote-debugging-port=0` by
//! `tests/browser/live.mjs`, which keeps "the app's page" open in a tab of the origin): the
//! reads give the same JSON as the flat and on-disk forms, the writes reach the app's page
//! exactly while no request reaches any server, a restore into a fresh profile lands on disk,
//! and the refusals (a remote host, a closed port, a browser that hangs or quits) are clear.
//! `.ci/run` installs both browsers; elsewhere these tests say SKIPPED unless
//! `MESHPEERS_REQUIRE_BROWSER` is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use meshpeers::js::JsString;
use serde_json::Value;

use crate::chromium::{Pairs, sorted};
use crate::firefox::{NOW, flat, pairs_of};
use crate::support::{TestEnv, corpus, meshpeers, repo};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Engine {
    Chromium,
    Firefox,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
        }
    }

    /// Whether this engine (and node's `ws`) is here; a loud skip otherwise.
    fn available(self) -> bool {
        let have_ws = repo().join("tests/browser/node_modules/ws").is_dir();
        let ok = have_ws
            && match self {
                Engine::Chromium => crate::chromium::browser().is_some(),
                Engine::Firefox => crate::firefox::firefox().is_some(),
            };
        if !ok {
            if std::env::var_os("MESHPEERS_REQUIRE_BROWSER").is_some() {
                panic!(
                    "{} or tests/browser/node_modules/ws is missing",
                    self.name()
                );
            }
            eprintln!("SKIPPED: no {} for the live-store tests", self.name());
        }
        ok
    }
}

const ENGINES: [Engine; 2] = [Engine::Chromium, Engine::Firefox];

/// A running browser with the app's page open on `origin` (tests/browser/live.mjs).
pub struct Live {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// `cdp://127.0.0.1:PORT` or `bidi://127.0.0.1:PORT`.
    pub store: String,
    pub profile: PathBuf,
}

impl Live {
    pub fn start(engine: Engine, profile: &Path, origin: &str, pairs: &Pairs) -> Live {
        let plan = profile.with_extension("pairs.json");
        std::fs::write(&plan, pairs_json(pairs)).unwrap();
        let mut child = Command::new("node")
            .arg(repo().join("tests/browser/live.mjs"))
            .args([engine.name(), &profile.display().to_string(), origin])
            .arg(&plan)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let store = line
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("live.mjs did not start {engine:?}: {line:?}"))
            .trim()
            .to_owned();
        Live {
            child,
            stdin,
            stdout,
            store,
            profile: profile.to_path_buf(),
        }
    }

    fn ask(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let mut out = String::new();
        self.stdout.read_line(&mut out).unwrap();
        assert!(!out.is_empty(), "live.mjs ended on {line:?}");
        out
    }

    /// The app page's whole map, sorted.
    pub fn read(&mut self) -> Pairs {
        let text = self.ask("read");
        parse_pairs(&text)
    }

    /// The URLs of the browser's tabs.
    pub fn tabs(&mut self) -> Vec<String> {
        serde_json::from_str(&self.ask("tabs")).unwrap()
    }

    /// The tabs once they are `want`, or as they still are after 3 s (the driver's view of a
    /// tab that was just closed may lag behind the browser's).
    pub fn tabs_settled(&mut self, want: &[String]) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            let tabs = self.tabs();
            if tabs == want || std::time::Instant::now() > deadline {
                return tabs;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn pid(&mut self) -> i32 {
        self.ask("pid").trim().parse().unwrap()
    }

    /// Closes the browser gracefully (its localStorage flushed to disk).
    pub fn quit(mut self) {
        assert_eq!(self.ask("quit").trim(), "closed");
        let _ = self.child.wait();
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // Closing stdin makes live.mjs kill the browser.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pairs_json(pairs: &Pairs) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("[{},{}]", k.to_json(), v.to_json()))
        .collect();
    format!("[{}]", items.join(","))
}

fn parse_pairs(text: &str) -> Pairs {
    let v: Vec<Vec<&serde_json::value::RawValue>> = serde_json::from_str(text.trim()).unwrap();
    v.into_iter()
        .map(|p| {
            (
                JsString::from_json_literal(p[0].get()).unwrap(),
                JsString::from_json_literal(p[1].get()).unwrap(),
            )
        })
        .collect()
}

/// An HTTP origin whose server counts every connection (and answers none usefully): the
/// live backend must never make it see one.
struct CountingServer {
    origin: String,
    hits: Arc<AtomicUsize>,
}

impl CountingServer {
    fn start() -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            // Each connection is closed at once, so that a browser keeps none open to reuse:
            // every connection it makes is counted.
            for s in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                eprintln!(
                    "counting server: a connection at {:?}",
                    std::time::SystemTime::now()
                );
                drop(s);
            }
        });
        CountingServer { origin, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// meshpeers in `dir` (where a live store's backups go); (code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = meshpeers()
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let (code, out, err) = run_in(dir, args, env);
    assert_eq!(code, 0, "meshpeers {args:?}: {err}");
    out
}

/// The live forms of an oracle store, for the parity tests: a Chromium and a Firefox left
/// running for the whole test run with the store's map in a tab of `http://127.0.0.1:3000`.
pub fn live_forms(dir: &Path) -> Vec<PathBuf> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static FORMS: OnceLock<Mutex<HashMap<(&'static str, PathBuf), Live>>> = OnceLock::new();
    let mut forms = FORMS.get_or_init(Default::default).lock().unwrap();
    let mut out = Vec::new();
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let key = (engine.name(), dir.to_path_buf());
        if !forms.contains_key(&key) {
            let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("live-forms")
                .join(std::process::id().to_string());
            std::fs::create_dir_all(&root).unwrap();
            let profile = root.join(format!("{}-{}", engine.name(), forms.len()));
            let pairs = pairs_of(&dir.join("store.json"), None);
            forms.insert(
                key.clone(),
                Live::start(engine, &profile, "http://127.0.0.1:3000", &pairs),
            );
        }
        out.push(PathBuf::from(&forms[&key].store));
    }
    out
}

/// What a read command prints, as JSON, with the fields that name the store itself removed.
fn read_json(store: &str, args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--json", "--now", NOW, "--store", store]);
    let (code, out, err) = crate::support::run(&all);
    assert!(code == 0 || code == 1, "meshpeers {all:?}: {err}");
    let mut v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{all:?}: {e}: {out}"));
    if let Some(o) = v.as_object_mut() {
        for k in [
            "backend",
            "location",
            "origins",
            "notes",
            "createdAt",
            "source",
            "checksum",
        ] {
            o.remove(k);
        }
        // A backup lists the keys in the store's order, which is each browser's own.
        if let Some(Value::Array(entries)) = o.get_mut("entries") {
            entries.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
        }
    }
    v
}

/// Asserts equal JSON, naming only the first place where they differ.
fn assert_same(got: &Value, want: &Value, ctx: &str) {
    fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for k in x.keys().chain(y.keys()) {
                    let (p, q) = (
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    );
                    if let Some(d) = first_difference(p, q, format!("{path}.{k}")) {
                        return Some(d);
                    }
                }
                None
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, format!("{path}[{i}]"))),
            _ if a == b => None,
            _ => {
                let short = |v: &Value| v.to_string().chars().take(200).collect::<String>();
                Some(format!("{path}: {} ≠ {}", short(a), short(b)))
            }
        }
    }
    if let Some(d) = first_difference(got, want, String::new()) {
        panic!("{ctx}: {d}");
    }
}

const READS: &[&[&str]] = &[
    &["list", "--include-blacklisted"],
    &["list", "--sort", "quality"],
    &["score"],
    &["candidates"],
    &["stats"],
    &["validate"],
    &["inspect"],
    &["secrets"],
    &["export"],
];

#[test]
fn live_reads_equal_the_flat_and_the_on_disk_form_of_the_same_store() {
    let Some(c) = corpus() else { return };
    let dir = c.join("app-oracle-r1");
    let flat_store = dir.join("store.json").display().to_string();
    let pairs = pairs_of(&dir.join("store.json"), None);
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let env = TestEnv::new();
        let server = CountingServer::start();
        let mut live = Live::start(engine, &env.path("profile"), &server.origin, &pairs);
        assert_eq!(
            live.read(),
            sorted(pairs.clone()),
            "{engine:?}: the page wrote the map"
        );
        let store = live.store.clone();
        let tabs = live.tabs();
        let mut answers = Vec::new();
        for args in READS {
            let got = read_json(&store, args);
            let mut with_origin = args.to_vec();
            with_origin.extend(["--origin", &server.origin]);
            assert_same(
                &got,
                &read_json(&flat_store, &with_origin),
                &format!("{engine:?} {args:?}"),
            );
            answers.push(got);
        }
        let shown = read_json(&store, &["show", "359d8dff"]);
        assert_eq!(shown["peerId"], "359d8dff-2028-45ec-8ae7-ada1686e8368");
        // Nothing is left behind in the browser: no tab of meshpeers' is still open, and the
        // app's map is as it was.
        assert_eq!(
            live.tabs_settled(&tabs),
            tabs,
            "{engine:?}: meshpeers closed its tabs"
        );
        assert_eq!(live.read(), sorted(pairs.clone()));
        assert_eq!(
            server.hits(),
            0,
            "{engine:?}: no request reached the server"
        );
        live.quit();
        // The same store on disk, as the browser left it, answers the same.
        let on_disk = env.path("profile").display().to_string();
        for (args, want) in READS.iter().zip(&answers) {
            let mut with_origin = args.to_vec();
            with_origin.extend(["--origin", &server.origin]);
            assert_same(
                &read_json(&on_disk, &with_origin),
                want,
                &format!("{engine:?} on disk {args:?}"),
            );
        }
    }
}

/// The backup a write reported, checked to be in the current directory under the live name.
fn reported_backup(dir: &Path, report: &str, origin: &str, word: &str) -> PathBuf {
    let v: Value = serde_json::from_str(report).unwrap();
    let path = PathBuf::from(v["backup"].as_str().expect("a backup was written"));
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    let stem = origin.replace("://", "_").replace(':', "_");
    assert!(
        name.starts_with(&format!("{stem}."))
            && name.ends_with(&format!(".{word}.meshpeers-backup.json")),
        "{name}"
    );
    assert!(
        dir.join(&name).is_file(),
        "{name} is in the current directory"
    );
    dir.join(name)
}

#[test]
fn writes_on_a_running_browser_reach_the_apps_page_exactly_and_nothing_reaches_the_server() {
    let Some(c) = corpus() else { return };
    let dir = c.join("app-oracle-r1");
    let pairs = pairs_of(&dir.join("store.json"), None);
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let env = TestEnv::new();
        let work = env.path("work");
        std::fs::create_dir(&work).unwrap();
        let server = CountingServer::start();
        let o = server.origin.clone();
        let mut live = Live::start(engine, &env.path("profile"), &o, &pairs);
        let tabs = live.tabs();
        let store = live.store.clone();
        // The same commands on a flat copy give the expected maps.
        let copy = flat(&env, "copy.json", &pairs).display().to_string();
        let backup = env.path("oracle-backup.json").display().to_string();
        ok_in(
            &work,
            &["export", "--store", &copy, "--origin", &o, "-o", &backup],
            &[],
        );
        let first_peer = {
            let listed: Value = serde_json::from_str(&ok_in(
                &work,
                &["list", "--json", "--include-blacklisted", "--store", &copy],
                &[],
            ))
            .unwrap();
            listed[0]["peerId"].as_str().unwrap().to_owned()
        };
        let steps: Vec<(&str, Vec<&str>)> = vec![
            (
                "cleanup",
                vec!["cleanup", "--strategy", "stale", "--now", NOW, "--yes"],
            ),
            ("remove", vec!["remove", &first_peer, "--yes"]),
            (
                "import",
                vec!["import", "--mode", "replace", "--yes", &backup],
            ),
        ];
        for (word, args) in &steps {
            let mut on_live = args.clone();
            on_live.extend(["--json", "--store", &store]);
            let report = ok_in(&work, &on_live, &[]);
            let kept = reported_backup(&work, &report, &o, word);
            let mut on_copy = args.clone();
            on_copy.extend(["--json", "--store", &copy, "--origin", &o, "--no-backup"]);
            ok_in(&work, &on_copy, &[]);
            let want = sorted(pairs_of(Path::new(&copy), None));
            assert_eq!(
                live.read(),
                want,
                "{engine:?} {word}: the app's page reads the expected map"
            );
            // The backup holds the namespace as it was, and restores it.
            let (code, _, err) = run_in(
                &work,
                &[
                    "import",
                    "--dry-run",
                    "--json",
                    "--store",
                    &store,
                    kept.to_str().unwrap(),
                ],
                &[],
            );
            assert_eq!(code, 0, "{engine:?} {word}: the backup imports: {err}");
        }
        // Re-encryption: fresh ciphertexts the same passphrase opens, every other key kept.
        let before = live.read();
        let pass = [("MESHPEERS_NEW_PASSPHRASE", "live pass ✓")];
        let report = ok_in(
            &work,
            &[
                "re-encrypt",
                "--to",
                "passphrase",
                "--iterations",
                "1000",
                "--json",
                "--store",
                &store,
            ],
            &pass,
        );
        reported_backup(&work, &report, &o, "re-encrypt");
        let after = live.read();
        let dump = flat(&env, "after.json", &after).display().to_string();
        let reveal = |s: &str, pass: Option<&str>| -> Value {
            let env: Vec<(&str, &str)> = pass
                .map(|p| ("MESHPEERS_PASSPHRASE", p))
                .into_iter()
                .collect();
            let out = ok_in(
                &work,
                &["secrets", "--reveal", "--json", "--store", s],
                &env,
            );
            serde_json::from_str(&out).unwrap()
        };
        let flat_before = flat(&env, "before.json", &before).display().to_string();
        assert_eq!(
            reveal(&dump, Some("live pass ✓")),
            reveal(&flat_before, None),
            "{engine:?}: the same secrets"
        );
        let changed: Vec<String> = after
            .iter()
            .filter(|(k, v)| before.iter().find(|(bk, _)| bk == k).map(|(_, bv)| bv) != Some(v))
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert!(
            changed.contains(&"mesh:encryption:key".to_owned()),
            "{changed:?}"
        );
        assert!(
            changed.iter().all(|k| k.starts_with("mesh:")),
            "{changed:?}"
        );
        assert_eq!(after.len(), before.len());

        assert_eq!(
            live.tabs_settled(&tabs),
            tabs,
            "{engine:?}: meshpeers closed every tab it opened"
        );
        assert_eq!(
            server.hits(),
            0,
            "{engine:?}: no connection reached the origin's server"
        );
    }
}

#[test]
fn a_restore_through_a_running_browser_lands_in_its_profile_on_disk() {
    let Some(c) = corpus() else { return };
    let dir = c.join("app-oracle-r1");
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let env = TestEnv::new();
        let work = env.path("work");
        std::fs::create_dir(&work).unwrap();
        let origin = "http://127.0.0.1:3000";
        let backup = env.path("backup.json").display().to_string();
        let source = dir.join("store.json").display().to_string();
        ok_in(
            &work,
            &[
                "export", "--store", &source, "--origin", origin, "-o", &backup,
            ],
            &[],
        );
        // A fresh profile, the browser showing some other page.
        let live = Live::start(
            engine,
            &env.path("profile"),
            "http://127.0.0.1:3001",
            &Vec::new(),
        );
        let store = live.store.clone();
        let (code, _, err) = run_in(
            &work,
            &[
                "import", "--mode", "replace", "--yes", "--store", &store, "--origin", origin,
                &backup,
            ],
            &[],
        );
        assert_eq!(code, 0, "{engine:?}: {err}");
        assert!(
            err.contains("holds no data for http://127.0.0.1:3000; a write creates it"),
            "{err}"
        );
        live.quit();
        let profile = env.path("profile").display().to_string();
        let exported = env.path("again.json").display().to_string();
        ok_in(
            &work,
            &[
                "export", "--store", &profile, "--origin", origin, "-o", &exported,
            ],
            &[],
        );
        let entries = |p: &str| -> Value {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            let mut e = v["entries"].as_array().unwrap().clone();
            e.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
            Value::Array(e)
        };
        assert_eq!(
            entries(&exported),
            entries(&backup),
            "{engine:?}: the on-disk form holds the restored namespace"
        );
    }
}

#[test]
fn a_remote_host_needs_allow_remote_and_a_closed_port_is_a_clear_error() {
    let env = TestEnv::new();
    let (code, _, err) = run_in(
        env.dir.path(),
        &["list", "--store", "cdp://192.0.2.1:9222"],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("192.0.2.1 is not this machine") && err.contains("--allow-remote"),
        "{err}"
    );
    // Allowed, it is tried (TEST-NET-1 answers nothing: the timeout applies).
    let (code, _, err) = run_in(
        env.dir.path(),
        &[
            "list",
            "--store",
            "bidi://192.0.2.1:9222",
            "--allow-remote",
            "--browser-timeout",
            "0.5",
        ],
        &[],
    );
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("cannot reach the browser at 192.0.2.1:9222"),
        "{err}"
    );
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for scheme in ["cdp", "bidi"] {
        let store = format!("{scheme}://127.0.0.1:{port}");
        let (code, _, err) = run_in(
            env.dir.path(),
            &["cleanup", "--yes", "--store", &store],
            &[],
        );
        assert_eq!(code, 4, "{err}");
        assert!(
            err.contains(&format!("cannot reach the browser at 127.0.0.1:{port}")),
            "{err}"
        );
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }
    for (arg, problem) in [
        ("ws://127.0.0.1:9222/other", "neither a DevTools WebSocket"),
        ("cdp://127.0.0.1:port", "is not a port number"),
        ("wss://127.0.0.1:9222/session", "wss:// is not supported"),
    ] {
        let (code, _, err) = run_in(env.dir.path(), &["list", "--store", arg], &[]);
        assert_eq!(code, 2, "{arg}: {err}");
        assert!(err.contains(problem), "{arg}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(env.dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// meshpeers started in `dir` with stderr captured (for a signal while it runs).
fn spawn_in(dir: &Path, args: &[&str]) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("meshpeers"));
    for (k, _) in std::env::vars() {
        if k.starts_with("MESHPEERS_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(pid: i32, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn a_browser_that_hangs_or_quits_during_a_command_is_reported_and_nothing_is_half_done() {
    let Some(c) = corpus() else { return };
    let pairs = pairs_of(&c.join("app-oracle-r1/store.json"), None);
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let env = TestEnv::new();
        let work = env.path("work");
        std::fs::create_dir(&work).unwrap();
        let server = CountingServer::start();
        let mut live = Live::start(engine, &env.path("profile"), &server.origin, &pairs);
        let store = live.store.clone();
        let pid = live.pid();
        // Hung: every call has a deadline.
        signal(pid, "-STOP");
        let (code, _, err) = run_in(
            &work,
            &["list", "--store", &store, "--browser-timeout", "1"],
            &[],
        );
        signal(pid, "-CONT");
        assert_eq!(code, 4, "{engine:?}: {err}");
        assert!(err.contains("within 1 s"), "{engine:?}: {err}");
        assert_eq!(
            live.read(),
            sorted(pairs.clone()),
            "{engine:?}: nothing changed"
        );
        // Quits while meshpeers waits for it: a clear error, no backup left, nothing written.
        signal(pid, "-STOP");
        let child = spawn_in(
            &work,
            &[
                "cleanup",
                "--strategy",
                "stale",
                "--now",
                NOW,
                "--yes",
                "--store",
                &store,
            ],
        );
        std::thread::sleep(std::time::Duration::from_millis(1500));
        signal(pid, "-KILL");
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{engine:?}: {err}");
        assert!(
            err.contains("closed the connection") || err.contains("cannot reach the browser"),
            "{engine:?}: {err}"
        );
        assert_eq!(
            std::fs::read_dir(&work).unwrap().count(),
            0,
            "{engine:?}: no backup left"
        );
        assert_eq!(server.hits(), 0);
    }
}

/// A stand-in for a browser's DevTools port that behaves as Chromium does until the write
/// script arrives, and then `on_write`: drops the connection (the browser quitting at the
/// worst moment) or never answers it (for a Ctrl-C). Records every method it was sent.
struct FakeBrowser {
    store: String,
    methods: Arc<std::sync::Mutex<Vec<String>>>,
}

#[derive(Clone, Copy)]
enum OnWrite {
    Quit,
    Hang,
}

impl FakeBrowser {
    /// `pages`: the origins of the browser's open tabs, each holding `area`.
    fn start(area: &Pairs, on_write: OnWrite, pages: &[&str]) -> FakeBrowser {
        let pages: Vec<Value> = pages
            .iter()
            .enumerate()
            .map(|(i, o)| serde_json::json!({"targetId": format!("APP{i}"), "type": "page", "url": format!("{o}/app")}))
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let methods = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = methods.clone();
        let mut entries = Vec::new();
        for (k, v) in area {
            entries.push(k.to_json());
            entries.push(v.to_json());
        }
        let entries_json = entries.join(",");
        let namespace = area.iter().filter(|(k, _)| k.starts_with("mesh:")).count();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut head = [0u8; 32];
                let n = stream.peek(&mut head).unwrap_or(0);
                if head[..n].starts_with(b"GET /json/version") {
                    let mut s = stream;
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    let body = format!(
                        "{{\"Browser\":\"Fake/1\",\"webSocketDebuggerUrl\":\"ws://127.0.0.1:{port}/devtools/browser/fake\"}}"
                    );
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: application/json\r\n\r\n{body}",
                        body.len()
                    );
                    continue;
                }
                let Ok(mut ws) = tungstenite::accept(stream) else {
                    continue;
                };
                // The origin meshpeers' tab shows, as Chromium would have it after the
                // redirects meshpeers answers.
                let mut current = String::new();
                let paused = |url: &str| {
                    serde_json::json!({"method": "Fetch.requestPaused", "sessionId": "S",
                    "params": {"requestId": url, "resourceType": "Document", "request": {"url": url}}})
                };
                while let Ok(msg) = ws.read() {
                    let tungstenite::Message::Text(t) = msg else {
                        continue;
                    };
                    let m: Value = serde_json::from_str(t.as_str()).unwrap();
                    let method = m["method"].as_str().unwrap_or_default().to_owned();
                    seen.lock().unwrap().push(method.clone());
                    let expr = m["params"]["expression"].as_str().unwrap_or_default();
                    let value =
                        |v: &str| serde_json::json!({"result": {"type": "string", "value": v}});
                    let result = match method.as_str() {
                        "Target.createTarget" => serde_json::json!({"targetId": "T"}),
                        "Target.attachToTarget" => serde_json::json!({"sessionId": "S"}),
                        "Target.getTargets" => serde_json::json!({"targetInfos": pages}),
                        "Page.navigate" => serde_json::json!({"frameId": "T"}),
                        "Runtime.evaluate" if expr.contains("(basis, changes)") => match on_write {
                            OnWrite::Quit => break,
                            OnWrite::Hang => continue,
                        },
                        "Runtime.evaluate" if expr.contains("namespace") => value(&format!(
                            "{{\"origin\":\"{current}\",\"keys\":{},\"bytes\":0,\"namespace\":{namespace}}}",
                            entries.len() / 2
                        )),
                        "Runtime.evaluate" => value(&format!(
                            "{{\"origin\":\"{current}\",\"entries\":[{entries_json}]}}"
                        )),
                        _ => serde_json::json!({}),
                    };
                    let mut reply = serde_json::json!({"id": m["id"], "result": result});
                    if let Some(s) = m.get("sessionId") {
                        reply["sessionId"] = s.clone();
                    }
                    let _ = ws.send(tungstenite::Message::text(reply.to_string()));
                    let p = &m["params"];
                    if method == "Page.navigate" {
                        let event = paused(p["url"].as_str().unwrap_or_default());
                        let _ = ws.send(tungstenite::Message::text(event.to_string()));
                    }
                    if method == "Fetch.fulfillRequest" {
                        let url = p["requestId"].as_str().unwrap_or_default().to_owned();
                        let location = p["responseHeaders"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|h| h["name"] == "Location")
                            .and_then(|h| h["value"].as_str());
                        let event = match location {
                            Some(to) => paused(to),
                            None => {
                                current = url.trim_end_matches('/').to_owned();
                                serde_json::json!({"method": "Page.loadEventFired", "sessionId": "S", "params": {}})
                            }
                        };
                        let _ = ws.send(tungstenite::Message::text(event.to_string()));
                    }
                }
            }
        });
        FakeBrowser {
            store: format!("cdp://127.0.0.1:{port}"),
            methods,
        }
    }

    fn methods(&self) -> Vec<String> {
        self.methods.lock().unwrap().clone()
    }
}

#[test]
fn a_browser_that_quits_while_the_changes_are_applied_leaves_the_backup_and_says_so() {
    let Some(c) = corpus() else { return };
    let pairs = pairs_of(&c.join("app-oracle-r1/store.json"), None);
    let fake = FakeBrowser::start(&pairs, OnWrite::Quit, &["http://127.0.0.1:3000"]);
    let env = TestEnv::new();
    let (code, _, err) = run_in(
        env.dir.path(),
        &[
            "cleanup",
            "--strategy",
            "stale",
            "--now",
            NOW,
            "--yes",
            "--store",
            &fake.store,
        ],
        &[],
    );
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains(
            "closed the connection during writing the localStorage of http://127.0.0.1:3000"
        ),
        "{err}"
    );
    assert!(
        err.contains("whether the changes were applied is not known"),
        "{err}"
    );
    let backups: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(backups.len(), 1, "the backup is kept");
    let name = backups[0].file_name().into_string().unwrap();
    assert!(err.contains(&name), "the error names the backup: {err}");
    // The backup is the namespace as it was: it restores every record.
    let text = std::fs::read_to_string(backups[0].path()).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["keys"], 124);
}

#[test]
fn ctrl_c_during_a_command_closes_meshpeers_tab_and_exits_130() {
    let Some(c) = corpus() else { return };
    let pairs = pairs_of(&c.join("app-oracle-r1/store.json"), None);
    let fake = FakeBrowser::start(&pairs, OnWrite::Hang, &["http://127.0.0.1:3000"]);
    let env = TestEnv::new();
    let child = spawn_in(
        env.dir.path(),
        &[
            "cleanup",
            "--strategy",
            "stale",
            "--now",
            NOW,
            "--yes",
            "--store",
            &fake.store,
        ],
    );
    // Wait until the write script was sent, then interrupt.
    let t0 = std::time::Instant::now();
    // (The third evaluation: the count of the namespace, the read, then the write.)
    while fake
        .methods()
        .iter()
        .filter(|m| *m == "Runtime.evaluate")
        .count()
        < 3
    {
        assert!(
            t0.elapsed().as_secs() < 20,
            "the write never came: {:?}",
            fake.methods()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    signal(child.id() as i32, "-INT");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted during writing"), "{err}");
    assert!(
        err.contains("whether the changes were applied is not known"),
        "{err}"
    );
    // After the unanswered write, the tab was closed.
    let methods = fake.methods();
    let write = methods
        .iter()
        .rposition(|m| m == "Runtime.evaluate")
        .unwrap();
    assert!(
        methods[write..].contains(&"Target.closeTarget".to_owned()),
        "the tab was closed: {methods:?}"
    );
    // The backup is kept (the changes may have been applied).
    assert_eq!(std::fs::read_dir(env.dir.path()).unwrap().count(), 1);
}

#[test]
fn without_origin_the_one_tab_origin_holding_the_namespace_is_used_else_they_are_listed() {
    let Some(c) = corpus() else { return };
    let pairs = pairs_of(&c.join("app-oracle-r1/store.json"), None);
    let env = TestEnv::new();
    let two = ["http://127.0.0.1:3000", "https://chat.example"];
    let fake = FakeBrowser::start(&pairs, OnWrite::Quit, &two);
    let (code, _, err) = run_in(env.dir.path(), &["list", "--store", &fake.store], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("holds the mesh: namespace in 2 origins"),
        "{err}"
    );
    assert!(
        err.contains("http://127.0.0.1:3000 (124 mesh: keys)")
            && err.contains("https://chat.example (124"),
        "{err}"
    );
    let out = ok_in(
        env.dir.path(),
        &[
            "inspect",
            "--json",
            "--store",
            &fake.store,
            "--origin",
            "https://chat.example",
        ],
        &[],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["origin"], "https://chat.example");
    assert_eq!(v["origins"].as_array().unwrap().len(), 2, "{v}");
    let one = FakeBrowser::start(&pairs, OnWrite::Quit, &["http://127.0.0.1:3000"]);
    let out = ok_in(
        env.dir.path(),
        &["inspect", "--json", "--store", &one.store],
        &[],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["origin"], "http://127.0.0.1:3000");
}
