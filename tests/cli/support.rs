//! Shared test helpers: a temp dir with copies of stores, the binary run with a clean
//! environment, and the shared corpus (skipped, loudly, where it is absent).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus`, or `None` (with a message) when this clone has no corpus beside it.
/// CI always has it, and `.ci/run` fails when it is missing.
pub fn corpus() -> Option<PathBuf> {
    let p = repo().join("../shared/corpus");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} not found; corpus tests did not run",
            p.display()
        );
        None
    }
}

/// The meshpeers binary with no `MESHPEERS_*` variable inherited.
pub fn meshpeers() -> Command {
    let mut cmd = Command::cargo_bin("meshpeers").expect("binary built");
    for (k, _) in std::env::vars() {
        if k.starts_with("MESHPEERS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs meshpeers and returns (exit code, stdout, stderr).
pub fn run<I, S>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = meshpeers().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs meshpeers with `--json`, asserts success and parses stdout.
pub fn json<I, S>(args: I) -> serde_json::Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let (code, out, err) = run(args.iter().chain([&"--json".into()]));
    assert_eq!(code, 0, "meshpeers {args:?} failed: {err}");
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("meshpeers {args:?}: not JSON ({e}): {out}"))
}

/// A scratch directory; files copied in are writable.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Copies a file, or a directory with its files (a LevelDB database), writable.
    pub fn copy(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.path(name);
        copy_writable(from, &to);
        to
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let to = self.path(name);
        fs::write(&to, bytes).expect("write");
        to
    }

    /// Every file below the directory with its bytes, to prove a command changed nothing.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(self.dir.path()).unwrap();
                    out.insert(rel.display().to_string(), fs::read(&p).unwrap());
                }
            }
        }
        out
    }
}

pub fn copy_writable(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).expect("mkdir");
        for e in fs::read_dir(from).unwrap().flatten() {
            copy_writable(&e.path(), &to.join(e.file_name()));
        }
        return;
    }
    fs::copy(from, to).expect("copy");
    let mut perm = fs::metadata(to).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    fs::set_permissions(to, perm).unwrap();
}

/// Every file of `dir` (not recursive) by name, with its bytes; empty when `dir` is absent.
pub fn read_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One field of every element of a JSON array (`Null` where absent).
pub fn column<'a>(array: &'a serde_json::Value, field: &str) -> Vec<&'a serde_json::Value> {
    array
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|row| &row[field])
        .collect()
}

/// Every oracle directory in the corpus.
pub fn oracle_dirs() -> Vec<PathBuf> {
    let Some(root) = corpus() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        if dir.join("oracle").is_dir() && dir.join("store.json").is_file() {
            out.push(dir.clone());
        }
        for e in fs::read_dir(&dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir()
                && e.file_name() != "oracle"
                && e.file_name() != "leveldb"
            {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// The store forms of an oracle directory: its files, and a Firefox profile that Firefox
/// wrote from its `store.json` (where Firefox is installed).
pub fn store_forms(dir: &Path) -> Vec<PathBuf> {
    let mut forms: Vec<PathBuf> = ["store.json", "storage-state.json", "leveldb"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .collect();
    forms.extend(crate::firefox::firefox_form(dir));
    forms.extend(crate::chromium_sqlite::chromium_sqlite_form(dir));
    forms.extend(crate::webkit::webkit_form(dir));
    forms
}

/// The forms of an oracle store every read command is checked on: the files of
/// `store_forms`, and the store live in a running Chromium and Firefox (`cdp://`, `bidi://`).
pub fn read_forms(dir: &Path) -> Vec<PathBuf> {
    let mut forms = store_forms(dir);
    forms.extend(crate::live::live_forms(dir));
    forms
}

/// A form of an oracle store written by a real browser, made once per test run: `make`
/// gets a fresh directory and a driver plan holding the store's map in origin
/// `http://127.0.0.1:3000`, and gives the store's path. The form must hold exactly that map
/// (read back through the library): a browser that shut down before committing all of it
/// (Chromium's SQLite storage once kept 65 of 120 peers in CI) makes a form every test
/// using it would blame on meshpeers, so it is made again, at most three times.
pub fn browser_form(
    tag: &str,
    dir: &Path,
    mut make: impl FnMut(&Path, &Path) -> PathBuf,
) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static FORMS: OnceLock<Mutex<HashMap<(String, PathBuf), PathBuf>>> = OnceLock::new();
    let mut forms = FORMS.get_or_init(Default::default).lock().unwrap();
    let key = (tag.to_owned(), dir.to_path_buf());
    if let Some(p) = forms.get(&key) {
        return p.clone();
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{tag}-forms"));
    let mine = root.join(std::process::id().to_string());
    if !forms.keys().any(|(t, _)| t == tag) {
        // Earlier runs' forms.
        let _ = fs::remove_dir_all(&root);
    }
    let n = forms.keys().filter(|(t, _)| t == tag).count();
    fs::create_dir_all(&mine).unwrap();
    let pairs: crate::chromium::Pairs = open_store(&dir.join("store.json"), None)
        .area
        .into_iter()
        .collect();
    let plan_file = mine.join(format!("{n}.plan.json"));
    fs::write(
        &plan_file,
        crate::chromium::plan(&[("http://127.0.0.1:3000", &pairs)]),
    )
    .unwrap();
    let mut want = pairs.clone();
    want.sort();
    for attempt in 1..=3 {
        let work = mine.join(format!("{n}-{attempt}"));
        let form = make(&work, &plan_file);
        let mut got: crate::chromium::Pairs = open_store(&form, Some("http://127.0.0.1:3000"))
            .area
            .into_iter()
            .collect();
        got.sort();
        if got == want {
            forms.insert(key, form.clone());
            return form;
        }
        eprintln!(
            "note: the {tag} form of {} holds {} of its {} keys (attempt {attempt}); the browser did not commit them all, making it again",
            dir.display(),
            got.iter().filter(|p| want.binary_search(p).is_ok()).count(),
            want.len()
        );
    }
    panic!(
        "the browser never wrote the whole {tag} form of {}",
        dir.display()
    );
}

pub fn oracle(dir: &Path, name: &str) -> Value {
    let text = fs::read_to_string(dir.join("oracle").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn now_of(o: &Value) -> String {
    o["now"].as_f64().expect("oracle has now").to_string()
}

/// Compares a generated fixture with the committed file, or rewrites it with
/// `MESHPEERS_BLESS=1`.
pub fn check_or_bless(rel: &str, expected: &str) {
    let path = repo().join(rel);
    if std::env::var_os("MESHPEERS_BLESS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, expected).unwrap();
        return;
    }
    let actual = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{rel} is stale: run `MESHPEERS_BLESS=1 cargo test` and commit the result"
    );
}

/// key → value of a flat dump, of the one origin of a Playwright storage state, or of the
/// origin of a LevelDB database that holds the namespace.
pub fn local_storage(path: &Path) -> BTreeMap<String, String> {
    if path.is_dir() || fs::read(path).unwrap().starts_with(b"SQLite format 3\0") {
        return open_store(path, None)
            .area
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_str().expect("valid text").to_owned()))
            .collect();
    }
    local_storage_of(&fs::read_to_string(path).unwrap())
}

pub fn local_storage_of(text: &str) -> BTreeMap<String, String> {
    let v: Value = serde_json::from_str(text).unwrap();
    let pairs: Vec<(String, String)> = match v.get("origins").and_then(Value::as_array) {
        Some(origins) => {
            assert_eq!(origins.len(), 1, "one origin");
            origins[0]["localStorage"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap().into(),
                        e["value"].as_str().unwrap().into(),
                    )
                })
                .collect()
        }
        None => v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().into()))
            .collect(),
    };
    pairs.into_iter().collect()
}

/// Opens a store through the library, as the commands do.
pub fn open_store(path: &Path, origin: Option<&str>) -> meshpeers::store::Store {
    meshpeers::store::Store::open(&meshpeers::store::OpenOptions {
        source: meshpeers::store::StoreSource::Path(path.to_path_buf()),
        format: None,
        origin: origin.map(str::to_owned),
        prefix: "mesh:".into(),
        profile: None,
        lock_for_write: false,
        salvage: false,
        live: Default::default(),
    })
    .unwrap_or_else(|e| panic!("open {}: {e:#}", path.display()))
}
