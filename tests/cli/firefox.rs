//! Round trips with a real Firefox (Debian's `/usr/bin/firefox-esr`, driven over WebDriver
//! BiDi by puppeteer-core from `tests/browser/firefox.mjs`): Firefox writes and meshpeers reads
//! the same map without changing a byte of the profile; meshpeers writes and page JavaScript
//! reads exactly what the same command gives on the flat form, with the usage Firefox reports
//! matching; a running Firefox makes every write refused; a restore creates the origin in a
//! profile that never had it. `.ci/run` installs Firefox; elsewhere these tests say SKIPPED
//! unless `MESHPEERS_REQUIRE_BROWSER` is set. The parity tests also run on a Firefox form of
//! each oracle store (`firefox_form`).

use std::path::{Path, PathBuf};

use meshpeers::js::JsString;

use crate::chromium::{Pairs, driver, hold, page_read, plan, sorted};
use crate::support::{TestEnv, json, open_store, repo, run};

const A: &str = "http://127.0.0.1:3000";
const B: &str = "http://other.test:8080";
/// The oracle's fixed time.
pub(crate) const NOW: &str = "1795176000000";

/// The driver script, when Firefox and puppeteer-core are here.
pub fn firefox() -> Option<PathBuf> {
    let exe = std::env::var("FIREFOX").unwrap_or_else(|_| "/usr/bin/firefox-esr".into());
    let driver = repo().join("tests/browser");
    if Path::new(&exe).exists() && driver.join("node_modules/puppeteer-core").is_dir() {
        return Some(driver.join("firefox.mjs"));
    }
    if std::env::var_os("MESHPEERS_REQUIRE_BROWSER").is_some() {
        panic!(
            "Firefox ({exe}) or tests/browser/node_modules/puppeteer-core is missing; run .ci/run's setup"
        );
    }
    eprintln!(
        "SKIPPED: no Firefox at {exe} or no puppeteer-core in tests/browser/node_modules; Firefox tests did not run"
    );
    None
}

/// The entries of a store file (any form meshpeers reads), in its order.
pub(crate) fn pairs_of(path: &Path, origin: Option<&str>) -> Pairs {
    open_store(path, origin).area.into_iter().collect()
}

/// A flat dump holding `pairs`, as meshpeers writes one.
pub(crate) fn flat(env: &TestEnv, name: &str, pairs: &Pairs) -> PathBuf {
    let mut area = meshpeers::store::Area::new();
    for (k, v) in pairs {
        area.insert(k.clone(), v.clone());
    }
    env.write(name, meshpeers::store::render_flat(&area))
}

/// A Firefox profile of each oracle store, written by Firefox itself (once per test run;
/// `None` where Firefox is not installed), for the parity tests. Only what meshpeers reads is
/// kept of the profile.
pub fn firefox_form(dir: &Path) -> Option<PathBuf> {
    let script = firefox()?;
    Some(crate::support::browser_form(
        "firefox",
        dir,
        |profile, plan_file| {
            driver(
                &script,
                &[
                    "write",
                    &profile.display().to_string(),
                    &plan_file.display().to_string(),
                ],
            );
            for e in std::fs::read_dir(profile).unwrap().flatten() {
                let name = e.file_name();
                if !["storage", "storage.sqlite", "prefs.js"].contains(&name.to_str().unwrap_or(""))
                {
                    let p = e.path();
                    let _ = if e.file_type().unwrap().is_dir() {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                }
            }
            profile.to_path_buf()
        },
    ))
}

/// Origin A: the oracle's 120-peer namespace (the example's 20 without the corpus) plus a
/// non-ASCII key, emoji, a lone surrogate in a value, a 200 KB value and an empty value;
/// origin B: two keys of its own.
pub(crate) fn seed() -> (Pairs, Pairs) {
    let source = match crate::support::corpus() {
        Some(c) => c.join("app-oracle-r1/store.json"),
        None => repo().join("fixtures/example/store.json"),
    };
    let mut a = pairs_of(&source, None);
    a.push(("Ключ-ü".into(), "value for non-ascii key".into()));
    a.push(("emoji 😀".into(), "Zoë 😀 日本".into()));
    a.push(("lone".into(), JsString::from_utf16(&[0x78, 0xD800, 0x79])));
    // 200 KB that snappy can only partly compress (Firefox stores it compressed).
    let mut x: u32 = 1;
    let big: String = (0..200_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(x >> 16) as usize % 64],
            )
        })
        .collect();
    a.push(("big".into(), big.into()));
    a.push(("empty".into(), "".into()));
    let b: Pairs = vec![("theme".into(), "light".into()), ("ü".into(), "ÿ".into())];
    (a, b)
}

/// A fresh profile written by Firefox itself.
fn seeded_profile(env: &TestEnv, script: &Path) -> (PathBuf, Pairs, Pairs) {
    let (a, b) = seed();
    let profile = env.path("profile");
    let plan_file = env.write("plan.json", plan(&[(A, &a), (B, &b)]));
    driver(
        script,
        &[
            "write",
            &profile.display().to_string(),
            &plan_file.display().to_string(),
        ],
    );
    (profile, a, b)
}

/// Every file meshpeers may read or write in a Firefox profile (its storage and quota cache).
fn storage_files(profile: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![profile.join("storage")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(profile)
                    .unwrap()
                    .display()
                    .to_string();
                files.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    files.insert(
        "storage.sqlite".into(),
        std::fs::read(profile.join("storage.sqlite")).unwrap(),
    );
    files
}

/// The usage Firefox counts for a map: UTF-16 units of keys and values.
fn usage(pairs: &Pairs) -> u64 {
    pairs
        .iter()
        .map(|(k, v)| (k.utf16_len() + v.utf16_len()) as u64)
        .sum()
}

#[test]
fn what_firefox_wrote_meshpeers_reads_without_changing_a_byte() {
    let Some(script) = firefox() else { return };
    let env = TestEnv::new();
    let (profile, a, b) = seeded_profile(&env, &script);
    assert_eq!(
        page_read(&script, &profile, A),
        sorted(a.clone()),
        "Firefox stored the seed"
    );
    let before = storage_files(&profile);
    assert_eq!(sorted(pairs_of(&profile, Some(A))), sorted(a.clone()));
    assert_eq!(sorted(pairs_of(&profile, Some(B))), sorted(b.clone()));
    let s = profile.display().to_string();
    // Every read command on the profile (which picks the origin holding the namespace), on
    // its origin directory and on its database gives what it gives on the flat form.
    let flat_a = flat(&env, "a.json", &a);
    let f = flat_a.display().to_string();
    let origin_dir = profile.join("storage/default/http+++127.0.0.1+3000");
    let db = origin_dir.join("ls/data.sqlite");
    for args in [
        vec!["list", "--include-blacklisted"],
        vec!["list", "--sort", "quality", "--limit", "7"],
        vec!["score"],
        vec!["candidates"],
        vec!["stats"],
        vec!["validate"],
        vec!["export", "--peers-only"],
        vec!["secrets"],
        vec!["repair", "--dry-run"],
        vec!["cleanup", "--strategy", "hybrid", "--dry-run"],
    ] {
        let want = json(args.iter().copied().chain(["--store", &f, "--now", NOW]));
        for store in [
            s.clone(),
            origin_dir.display().to_string(),
            db.display().to_string(),
        ] {
            let got = json(
                args.iter()
                    .copied()
                    .chain(["--store", &store, "--now", NOW]),
            );
            assert_eq!(got, want, "{args:?} on {store}");
        }
    }
    // A namespace backup holds the same entries (in the store's own order).
    let entries = |store: &str| {
        let mut e = json(["export", "--store", store])["entries"]
            .as_array()
            .unwrap()
            .clone();
        e.sort_by_key(|x| x[0].as_str().unwrap().to_owned());
        e
    };
    assert_eq!(entries(&s), entries(&f));
    let inspect = json(["inspect", "--store", &s]);
    assert_eq!(inspect["backend"], "firefox");
    assert_eq!(inspect["origin"], A);
    let origins = inspect["origins"].as_array().unwrap();
    assert_eq!(origins.len(), 2);
    assert_eq!(origins[0]["origin"], A);
    assert_eq!(origins[0]["keys"], a.len());
    assert_eq!(origins[0]["firefoxUsage"], usage(&a), "Firefox's own count");
    assert_eq!(origins[1]["origin"], B);
    assert_eq!(origins[1]["firefoxUsage"], usage(&b));
    assert!(origins[0]["lastModified"].as_f64().unwrap() > 1.7e12);
    assert_eq!(
        storage_files(&profile),
        before,
        "reading changed the profile"
    );
}

#[test]
fn what_meshpeers_wrote_firefox_reads_exactly_with_the_right_usage() {
    let Some(script) = firefox() else { return };
    let env = TestEnv::new();
    let (profile, a, b) = seeded_profile(&env, &script);
    let s = profile.display().to_string();
    let flat_a = flat(&env, "a.json", &a);
    let f = flat_a.display().to_string();
    let origin_dir = profile.join("storage/default/http+++127.0.0.1+3000");

    // The same command on the Firefox profile and on the flat form: the page sees what the
    // flat form holds after it, and Firefox's usage at its next start matches it.
    let id = match crate::support::corpus() {
        Some(_) => "47ah2m",
        None => "76903246-a037-4d56-a223-203097c22820",
    };
    let steps: Vec<Vec<&str>> = vec![
        vec!["cleanup", "--strategy", "stale", "--yes"],
        vec!["remove", id],
    ];
    for step in &steps {
        let on_profile = json(step.iter().copied().chain(["--store", &s, "--now", NOW]));
        let on_flat = json(step.iter().copied().chain(["--store", &f, "--now", NOW]));
        assert_eq!(on_profile["actions"], on_flat["actions"], "{step:?}");
        let kept = on_profile["previousDirectory"].as_str().unwrap();
        assert!(
            Path::new(kept).starts_with(&origin_dir)
                && Path::new(kept).join("data.sqlite").is_file()
                && Path::new(kept).join(".metadata-v2").is_file()
                && Path::new(kept).join("storage.sqlite").is_file(),
            "the previous ls/ and metadata are kept: {kept}"
        );
        let want = sorted(pairs_of(&flat_a, None));
        assert_eq!(page_read(&script, &profile, A), want, "after {step:?}");
        assert_eq!(page_read(&script, &profile, B), sorted(b.clone()));
        let estimate: u64 = driver(&script, &["estimate", &s, A])
            .trim()
            .parse()
            .unwrap();
        assert_eq!(estimate, usage(&want), "Firefox's usage after {step:?}");
    }

    // A replace import from another store's backup.
    let other = env.copy(&repo().join("fixtures/example/store.json"), "example.json");
    let backup = env.path("example-backup.json").display().to_string();
    json([
        "remove",
        "76903246-a037-4d56-a223-203097c22820",
        "--store",
        &other.display().to_string(),
        "--backup",
        &backup,
    ]);
    for store in [&s, &f] {
        let (code, _, err) = run([
            "import", &backup, "--mode", "replace", "--yes", "--store", store, "--now", NOW,
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let want = sorted(pairs_of(&flat_a, None));
    assert_eq!(page_read(&script, &profile, A), want);
    let estimate: u64 = driver(&script, &["estimate", &s, A])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(estimate, usage(&want));
    assert_eq!(page_read(&script, &profile, B), sorted(b));
    // The files keep Firefox's modes.
    use std::os::unix::fs::PermissionsExt;
    for f in ["ls/data.sqlite", "ls/usage", ".metadata-v2"] {
        let mode = std::fs::metadata(origin_dir.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{f}");
    }
}

#[test]
fn a_running_firefox_makes_every_write_refused_and_reads_still_work() {
    let Some(script) = firefox() else { return };
    let env = TestEnv::new();
    let (profile, a, _) = seeded_profile(&env, &script);
    let s = profile.display().to_string();
    let backup = env.path("ns-backup.json");
    let example = repo().join("fixtures/example/store.json");
    let (code, _, err) = run([
        "export",
        "--store",
        &example.display().to_string(),
        "-o",
        &backup.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let listed = json(["list", "--store", &s, "--include-blacklisted"]);
    let id = listed[0]["peerId"].as_str().unwrap().to_owned();
    let mut hold = hold(&script, &s, A);
    let before = storage_files(&profile);
    let b = backup.display().to_string();
    for args in [
        vec!["remove", &id],
        vec!["cleanup", "--strategy", "stale", "--yes"],
        vec!["clear", "--yes"],
        vec!["unblacklist", "--expired"],
        vec!["import", &b, "--mode", "replace", "--yes"],
        vec!["repair", "--yes"],
    ] {
        let (code, _, err) = run(args.iter().copied().chain(["--store", &s, "--now", NOW]));
        assert_eq!(code, 5, "{args:?}: {err}");
        assert!(
            err.contains("running Firefox (pid") && err.contains("close Firefox"),
            "{err}"
        );
    }
    assert_eq!(
        json(["list", "--store", &s, "--include-blacklisted"]),
        listed,
        "reading still works"
    );
    let (code, _, err) = run(["list", "--store", &s]);
    assert_eq!(code, 0);
    assert!(err.contains("may be up to 5 s old"), "{err}");
    let after = storage_files(&profile);
    drop(hold.stdin.take());
    hold.wait().unwrap();
    assert!(
        after == before,
        "files changed while Firefox held the profile: {:?}",
        after
            .keys()
            .filter(|k| after.get(*k) != before.get(*k))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        page_read(&script, &profile, A),
        sorted(a),
        "Firefox's data is intact"
    );
}

#[test]
fn a_restore_creates_the_origin_in_a_fresh_firefox_profile() {
    let Some(script) = firefox() else { return };
    let env = TestEnv::new();
    // A profile where only another origin ever stored anything.
    let profile = env.path("fresh");
    let plan_file = env.write(
        "plan.json",
        format!("{{{}:[[\"theme\",\"dark\"]]}}", JsString::from(B).to_json()),
    );
    driver(
        &script,
        &[
            "write",
            &profile.display().to_string(),
            &plan_file.display().to_string(),
        ],
    );
    let store = env.copy(&repo().join("fixtures/example/store.json"), "example.json");
    let backup = env.path("example-backup.json").display().to_string();
    json([
        "remove",
        "76903246-a037-4d56-a223-203097c22820",
        "--store",
        &store.display().to_string(),
        "--backup",
        &backup,
    ]);
    let s = profile.display().to_string();
    let (code, _, err) = run([
        "import", &backup, "--mode", "replace", "--yes", "--store", &s, "--origin", A,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("holds no data for"), "{err}");
    let want: Pairs = pairs_of(&repo().join("fixtures/example/store.json"), None)
        .into_iter()
        .filter(|(k, _)| k.starts_with("mesh:"))
        .collect();
    assert_eq!(page_read(&script, &profile, A), sorted(want.clone()));
    assert_eq!(
        page_read(&script, &profile, B),
        vec![("theme".into(), "dark".into())]
    );
    let estimate: u64 = driver(&script, &["estimate", &s, A])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(estimate, usage(&want));
    // Firefox took the new origin in as its own: it wrote the metadata file for it.
    assert!(
        profile
            .join("storage/default/http+++127.0.0.1+3000/.metadata-v2")
            .is_file()
    );
}
