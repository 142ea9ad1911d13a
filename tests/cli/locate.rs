//! `meshpeers locate` on a home holding profiles that a real Chromium and a real Firefox wrote:
//! both are found with the origin, the index length and the last write, nothing in them
//! changes, and a browser holding its profile shows as running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::chromium::{Pairs, browser, driver, hold, plan};
use crate::firefox::firefox;
use crate::support::{TestEnv, json, run};

const A: &str = "http://127.0.0.1:3000";
const B: &str = "http://localhost:4000";

fn seed(dir: &str) -> Pairs {
    let store = crate::support::repo().join(dir);
    crate::support::local_storage(&store)
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

fn index_len(pairs: &Pairs) -> usize {
    let (_, index) = pairs
        .iter()
        .find(|(k, _)| k.to_string_lossy() == "mesh:peers:index")
        .expect("the seed has an index");
    serde_json::from_str::<Vec<String>>(&index.to_string_lossy())
        .unwrap()
        .len()
}

/// Every regular file under `dir` (symlinks such as Firefox's `lock` left out), by path.
fn all_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.insert(e.path(), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

fn write_profile(
    script: &Path,
    profile: &Path,
    env: &TestEnv,
    name: &str,
    origins: &[(&str, &Pairs)],
) {
    let plan_file = env.write(name, plan(origins));
    driver(
        script,
        &[
            "write",
            &profile.display().to_string(),
            &plan_file.display().to_string(),
        ],
    );
}

#[test]
fn finds_the_chromium_and_the_firefox_profile_and_which_browser_runs() {
    let (Some(chromium), Some(ff)) = (browser(), firefox()) else {
        return;
    };
    let env = TestEnv::new();
    let home = env.path("home");
    let peers = seed("fixtures/example/store.json");
    let other: Pairs = vec![("theme".into(), "dark".into())];
    // Chromium's user-data dir in the Linux place: its profile `Default` holds A and B.
    let udd = home.join(".config/chromium");
    write_profile(&chromium, &udd, &env, "c.json", &[(A, &peers), (B, &other)]);
    // A Firefox root with two profiles; only the second holds the namespace (under B).
    let root = home.join(".mozilla/firefox");
    let (empty, used) = (root.join("e1.empty"), root.join("u2.work"));
    write_profile(&ff, &empty, &env, "f1.json", &[(A, &other)]);
    let mut few = peers.clone();
    few.retain(|(k, _)| k.to_string_lossy() != "mesh:peers:index");
    let ids: Vec<String> = peers
        .iter()
        .filter_map(|(k, _)| {
            k.to_string_lossy()
                .strip_prefix("mesh:peer:")
                .map(str::to_owned)
        })
        .take(3)
        .collect();
    few.push((
        "mesh:peers:index".into(),
        serde_json::to_string(&ids).unwrap().into(),
    ));
    write_profile(&ff, &used, &env, "f2.json", &[(B, &few)]);
    std::fs::write(
        root.join("profiles.ini"),
        "[Profile1]\nName=work\nIsRelative=1\nPath=u2.work\n\n[Profile0]\nName=empty\nIsRelative=1\nPath=e1.empty\nDefault=1\n",
    )
    .unwrap();
    let before = all_files(&home);

    let h = home.display().to_string();
    let found = json(["locate", "--root", &h]);
    let rows = found.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{found:#}");
    let (c, f) = (&rows[0], &rows[1]);
    assert_eq!(c["browser"], "chromium");
    assert_eq!(c["profile"], "Default");
    assert_eq!(c["backend"], "leveldb");
    assert_eq!(c["origin"], A);
    assert_eq!(c["peerCount"], index_len(&peers));
    assert_eq!(c["store"], udd.join("Default").display().to_string());
    assert_eq!(c["running"], false);
    assert_eq!(f["browser"], "firefox");
    assert_eq!(f["profile"], "u2.work");
    assert_eq!(f["backend"], "firefox");
    assert_eq!(f["origin"], B);
    assert_eq!(f["peerCount"], 3);
    assert_eq!(f["store"], used.display().to_string());
    assert_eq!(f["running"], false);
    let now = meshpeers::time::now_ms();
    for r in rows {
        let t = r["lastModified"].as_f64().unwrap();
        assert!(
            t <= now && now - t < 600_000.0,
            "last write {t} is recent: {r}"
        );
        // `store` is what --store takes, as it is.
        let store = r["store"].as_str().unwrap();
        let origin = r["origin"].as_str().unwrap();
        let listed = json([
            "list",
            "--store",
            store,
            "--origin",
            origin,
            "--include-blacklisted",
        ]);
        assert_eq!(
            listed.as_array().unwrap().len(),
            r["peerCount"].as_u64().unwrap() as usize
        );
    }
    assert_eq!(all_files(&home), before, "locate changed the home");

    // The human table names both; with Firefox holding its profile, it runs.
    let mut held = hold(&ff, &used.display().to_string(), B);
    let (code, out, err) = run(["locate", "--root", &h]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let row = |needle: &str| {
        *lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no row with {needle}:\n{out}"))
    };
    assert!(row("u2.work").contains(" yes "), "{out}");
    assert!(row("Default").contains(" no "), "{out}");
    assert!(out.contains("searched 3 browser profiles under"), "{out}");
    drop(held.stdin.take());
    held.wait().unwrap();
    let mut held = hold(&chromium, &udd.display().to_string(), A);
    let found = json(["locate", "--root", &h]);
    assert_eq!(found[0]["running"], true, "{found:#}");
    assert_eq!(found[1]["running"], false, "{found:#}");
    drop(held.stdin.take());
    held.wait().unwrap();
    // Another prefix: nothing holds it, exit 0 and a clear answer.
    let (code, out, _) = run(["locate", "--root", &h, "--prefix", "nope:"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("No store holds the nope: namespace (searched 3 browser profiles under"),
        "{out}"
    );
}

#[test]
fn a_profile_that_cannot_be_read_is_named_and_skipped_and_the_others_are_listed() {
    let Some(c) = crate::support::corpus() else {
        return;
    };
    let env = TestEnv::new();
    let home = env.path("home");
    let good = home.join(".config/google-chrome/Default/Local Storage/leveldb");
    crate::support::copy_writable(&c.join("app-oracle-r1/leveldb"), &good);
    let bad = home.join(".config/google-chrome/Profile 2/Local Storage/leveldb");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("CURRENT"), "MANIFEST-000009\n").unwrap();
    let before = all_files(&home);
    let h = home.display().to_string();
    let (code, out, err) = run(["locate", "--root", &h, "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows:#}");
    assert_eq!(rows[0]["browser"], "chrome");
    assert_eq!(rows[0]["profile"], "Default");
    assert_eq!(rows[0]["peerCount"], 120);
    assert_eq!(rows[0]["running"], false);
    let warning = format!(
        "meshpeers: warning: {} (chrome profile Profile 2): skipped:",
        home.join(".config/google-chrome/Profile 2").display()
    );
    assert!(err.contains(&warning), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(all_files(&home), before, "locate changed the home");
}

/// A Chromium profile in its SQLite form and an Epiphany (WebKit) data directory, both made by
/// meshpeers' generators, are found with the backend, origin and index length, and `store`
/// is what `--store` takes.
#[test]
fn finds_chromium_sqlite_and_webkit_stores() {
    use crate::synth::{SynthOptions, chromium_sqlite_file, generate, webkit_storage};
    let env = TestEnv::new();
    let home = env.path("home");
    let area = generate(&SynthOptions {
        peers: 12,
        seed: 3,
        now: 1_795_176_000_000.0,
    });
    let profile = home.join(".config/chromium/Default");
    std::fs::create_dir_all(&profile).unwrap();
    chromium_sqlite_file(&profile.join("LocalStorage"), A, &area, 3, 2_000, 1).unwrap();
    let epiphany = home.join(".local/share/epiphany");
    webkit_storage(&epiphany.join("storage"), B, &area, 2, 2_000, 2).unwrap();
    let before = all_files(&home);
    let found = json(["locate", "--root", home.to_str().unwrap()]);
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    let chromium = &found[0];
    assert_eq!(chromium["browser"], "chromium");
    assert_eq!(chromium["backend"], "chromium-sqlite");
    assert_eq!(chromium["origin"], A);
    assert_eq!(chromium["peerCount"], 12);
    assert_eq!(chromium["running"], false);
    let webkit = &found[1];
    assert_eq!(webkit["browser"], "webkit:epiphany");
    assert_eq!(webkit["backend"], "webkit");
    assert_eq!(webkit["origin"], B);
    assert_eq!(webkit["peerCount"], 12);
    for f in found {
        let listed = json([
            "list",
            "--store",
            f["store"].as_str().unwrap(),
            "--include-blacklisted",
        ]);
        assert_eq!(listed.as_array().unwrap().len(), 12, "{f}");
    }
    assert!(all_files(&home) == before, "locate changed files");
}
