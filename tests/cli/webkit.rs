//! Round trips with a real WebKit (Debian's WebKitGTK 2.50 through Python GI under xvfb-run,
//! `tests/browser/webkit.py`), in both layouts: webkitgtk-6.0 keeps unified origin storage
//! (`storage/<H>/<H>/LocalStorage/localstorage.sqlite3`), webkit2gtk-4.1 legacy
//! `localstorage/<scheme>_<host>_<port>.localstorage` files. WebKit writes and meshpeers reads
//! the same map without changing a byte; meshpeers writes and page JavaScript reads exactly
//! what the same command gives on the flat form; a restore creates a new origin WebKit reads;
//! a page holding the database makes writes refused. `.ci/run` installs WebKitGTK; elsewhere
//! these tests say SKIPPED unless `MESHPEERS_REQUIRE_BROWSER` is set.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::chromium::{Pairs, plan, sorted};
use crate::firefox::{NOW, flat, pairs_of, seed};
use crate::support::{TestEnv, json, repo, run};

const A: &str = "http://127.0.0.1:3000";
const B: &str = "http://other.test:8080";
const PYTHON: &str = "/usr/bin/python3";

/// xvfb-run -a picks a display racily: one WebKit at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The driver script, when WebKitGTK (both APIs), Python GI and xvfb-run are here.
pub fn webkit() -> Option<PathBuf> {
    let ok = Command::new(PYTHON)
        .args([
            "-c",
            "import gi; gi.require_version('WebKit', '6.0'); gi.require_version('WebKit2', '4.1')",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && Path::new("/usr/bin/xvfb-run").exists();
    if ok {
        return Some(repo().join("tests/browser/webkit.py"));
    }
    if std::env::var_os("MESHPEERS_REQUIRE_BROWSER").is_some() {
        panic!(
            "WebKitGTK (gir1.2-webkit-6.0, gir1.2-webkit2-4.1), python3-gi or xvfb is missing; run .ci/run's setup"
        );
    }
    eprintln!("SKIPPED: no WebKitGTK with Python GI and xvfb-run; WebKit tests did not run");
    None
}

fn command(script: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("xvfb-run");
    c.args(["-a", PYTHON]).arg(script).args(args);
    c
}

fn driver(script: &Path, args: &[&str]) -> String {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = command(script, args).output().expect("xvfb-run runs");
    assert!(
        out.status.success(),
        "webkit.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn page_read(script: &Path, api: &str, data: &Path, origin: &str) -> Pairs {
    let text = driver(script, &["read", api, &data.display().to_string(), origin]);
    serde_json::from_str(&text).unwrap()
}

/// WebKit's website-data directory under the driver's directory.
fn website_data(dir: &Path) -> PathBuf {
    dir.join("data")
}

fn write(script: &Path, api: &str, dir: &Path, plan_file: &Path) {
    driver(
        script,
        &[
            "write",
            api,
            &dir.display().to_string(),
            &plan_file.display().to_string(),
        ],
    );
}

/// Every file of the website-data directory.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// The WebKit (unified layout) form of an oracle store, written by WebKit itself.
pub fn webkit_form(dir: &Path) -> Option<PathBuf> {
    let script = webkit()?;
    Some(crate::support::browser_form(
        "webkit",
        dir,
        |work, plan_file| {
            write(&script, "6", work, plan_file);
            let _ = std::fs::remove_dir_all(work.join("cache"));
            website_data(work)
        },
    ))
}

fn round_trip(api: &str, layout_file: &str) {
    let Some(script) = webkit() else { return };
    let env = TestEnv::new();
    let (a, b) = seed();
    let dir = env.path("webkit");
    let plan_file = env.write("plan.json", plan(&[(A, &a), (B, &b)]));
    write(&script, api, &dir, &plan_file);
    let data = website_data(&dir);
    let s = data.display().to_string();
    let db: PathBuf = files(&data)
        .keys()
        .filter(|k| k.ends_with(layout_file))
        .map(|k| data.join(k))
        .find(|p| {
            let conn = rusqlite::Connection::open_with_flags(
                p,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            conn.query_row("SELECT count(*) FROM ItemTable", [], |r| r.get::<_, i64>(0))
                .is_ok_and(|n| n as usize == a.len())
        })
        .unwrap_or_else(|| panic!("WebKit wrote a {layout_file} database for {A}"));
    assert_eq!(
        page_read(&script, api, &dir, A),
        sorted(a.clone()),
        "WebKit stored the seed"
    );

    // Reads: the same as on the flat form, from the data dir and the database file, and
    // without changing a byte.
    let before = files(&data);
    assert_eq!(sorted(pairs_of(&data, Some(A))), sorted(a.clone()));
    assert_eq!(sorted(pairs_of(&data, Some(B))), sorted(b.clone()));
    let flat_a = flat(&env, "a.json", &a);
    let f = flat_a.display().to_string();
    for args in [
        vec!["list", "--include-blacklisted"],
        vec!["score"],
        vec!["stats"],
        vec!["validate"],
        vec!["export", "--peers-only"],
        vec!["cleanup", "--strategy", "hybrid", "--dry-run"],
    ] {
        let want = json(args.iter().copied().chain(["--store", &f, "--now", NOW]));
        for store in [s.clone(), db.display().to_string()] {
            let got = json(
                args.iter()
                    .copied()
                    .chain(["--store", &store, "--now", NOW]),
            );
            assert_eq!(got, want, "{args:?} on {store}");
        }
    }
    let inspect = json(["inspect", "--store", &s]);
    assert_eq!(inspect["backend"], "webkit");
    assert_eq!(inspect["origin"], A);
    assert_eq!(inspect["origins"].as_array().unwrap().len(), 2);
    assert!(files(&data) == before, "reading changed the data directory");

    // Writes: the page sees what the flat form holds after the same command.
    let id = match crate::support::corpus() {
        Some(_) => "47ah2m",
        None => "76903246-a037-4d56-a223-203097c22820",
    };
    for step in [
        vec!["cleanup", "--strategy", "stale", "--yes"],
        vec!["remove", id],
    ] {
        let on_webkit = json(step.iter().copied().chain(["--store", &s, "--now", NOW]));
        let on_flat = json(step.iter().copied().chain(["--store", &f, "--now", NOW]));
        assert_eq!(on_webkit["actions"], on_flat["actions"], "{step:?}");
        let kept = on_webkit["previousDirectory"].as_str().unwrap();
        assert!(
            Path::new(kept).join(db.file_name().unwrap()).is_file(),
            "previous database kept: {kept}"
        );
        assert_eq!(
            page_read(&script, api, &dir, A),
            sorted(pairs_of(&flat_a, None)),
            "after {step:?}"
        );
    }
    // The table is still WebKit's own (it drops one whose statement differs) and the empty
    // value a zero-length blob.
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'ItemTable'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sql, meshpeers::store::webkit::CREATE_TABLE);
    let empty: String = conn
        .query_row(
            "SELECT typeof(value) FROM ItemTable WHERE key = 'empty'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(empty, "blob");
    drop(conn);

    // A restore into an origin WebKit never had: its database (and in the unified layout its
    // hash directories and origin file) made by meshpeers, read by WebKit.
    let backup = env.path("backup.json").display().to_string();
    let (code, _, err) = run(["export", "--store", &s, "--origin", A, "-o", &backup]);
    assert_eq!(code, 0, "{err}");
    let c = "http://127.0.0.1:3005";
    let (code, _, err) = run(["import", &backup, "--yes", "--store", &s, "--origin", c]);
    assert_eq!(code, 0, "{err}");
    let ns = |p: Pairs| -> Pairs {
        sorted(
            p.into_iter()
                .filter(|(k, _)| k.starts_with("mesh:"))
                .collect(),
        )
    };
    assert_eq!(
        page_read(&script, api, &dir, c),
        ns(pairs_of(&flat_a, None))
    );
    assert_eq!(page_read(&script, api, &dir, B), sorted(b));
}

#[test]
fn webkit_unified_storage_round_trip() {
    round_trip("6", "LocalStorage/localstorage.sqlite3");
}

#[test]
fn webkit_legacy_localstorage_round_trip() {
    round_trip("4.1", "http_127.0.0.1_3000.localstorage");
}

#[test]
fn a_page_holding_the_webkit_database_makes_writes_refused() {
    let Some(script) = webkit() else { return };
    let env = TestEnv::new();
    let dir = env.path("webkit");
    let pairs = pairs_of(&repo().join("fixtures/example/store.json"), None);
    let plan_file = env.write("plan.json", plan(&[(A, &pairs)]));
    write(&script, "6", &dir, &plan_file);
    let data = website_data(&dir);
    let s = data.display().to_string();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut hold = command(&script, &["hold", "6", &dir.display().to_string(), A])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(hold.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let before = files(&data.join("storage"));
    let (code, _, err) = run([
        "remove",
        "76903246-a037-4d56-a223-203097c22820",
        "--store",
        &s,
    ]);
    let after = files(&data.join("storage"));
    drop(hold.stdin.take());
    hold.wait().unwrap();
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("WebKit") && err.contains("pid"), "{err}");
    let changed: Vec<&String> = after
        .keys()
        .filter(|k| !k.ends_with("-shm") && after.get(*k) != before.get(*k))
        .collect();
    assert!(changed.is_empty(), "files changed: {changed:?}");
    assert_eq!(
        json(["list", "--store", &s, "--include-blacklisted"])
            .as_array()
            .unwrap()
            .len(),
        20
    );
}
