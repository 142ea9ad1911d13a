//! Where browsers keep localStorage under a home directory: every Chromium-family user-data
//! directory (each of its profiles), every Electron app's userData directory and every
//! Firefox profile listed in a `profiles.ini`, on Linux, macOS and Windows layouts alike (a
//! home copied from another system is searched the same way). `locate` opens each one
//! read-only, as any read does, and reports the origins that hold the namespace.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::firefox::{self, Scope};
use super::leveldb::{self, LevelDbStore};
use super::{Backend, BackendKind, chromium_sqlite, lock, webkit};
use crate::peers::Namespace;

/// Chromium-family user-data directories, relative to the home: (browser, path).
const CHROMIUM_DIRS: &[(&str, &str)] = &[
    // Linux
    ("chrome", ".config/google-chrome"),
    ("chrome", ".config/google-chrome-beta"),
    ("chrome", ".config/google-chrome-unstable"),
    ("chromium", ".config/chromium"),
    ("chromium", "snap/chromium/common/chromium"),
    ("chromium", ".var/app/org.chromium.Chromium/config/chromium"),
    ("edge", ".config/microsoft-edge"),
    ("edge", ".config/microsoft-edge-beta"),
    ("edge", ".config/microsoft-edge-dev"),
    ("brave", ".config/BraveSoftware/Brave-Browser"),
    (
        "brave",
        ".var/app/com.brave.Browser/config/BraveSoftware/Brave-Browser",
    ),
    ("vivaldi", ".config/vivaldi"),
    ("opera", ".config/opera"),
    // macOS
    ("chrome", "Library/Application Support/Google/Chrome"),
    ("chrome", "Library/Application Support/Google/Chrome Beta"),
    ("chromium", "Library/Application Support/Chromium"),
    ("edge", "Library/Application Support/Microsoft Edge"),
    (
        "brave",
        "Library/Application Support/BraveSoftware/Brave-Browser",
    ),
    ("vivaldi", "Library/Application Support/Vivaldi"),
    (
        "opera",
        "Library/Application Support/com.operasoftware.Opera",
    ),
    // Windows
    ("chrome", "AppData/Local/Google/Chrome/User Data"),
    ("chromium", "AppData/Local/Chromium/User Data"),
    ("edge", "AppData/Local/Microsoft/Edge/User Data"),
    (
        "brave",
        "AppData/Local/BraveSoftware/Brave-Browser/User Data",
    ),
    ("vivaldi", "AppData/Local/Vivaldi/User Data"),
    ("opera", "AppData/Roaming/Opera Software/Opera Stable"),
];

/// Where Electron apps keep their userData directories (one per app, named after it).
const ELECTRON_PARENTS: &[&str] = &[".config", "Library/Application Support", "AppData/Roaming"];

/// Firefox roots (the directory holding `profiles.ini`), relative to the home.
const FIREFOX_ROOTS: &[&str] = &[
    ".mozilla/firefox",
    "snap/firefox/common/.mozilla/firefox",
    ".var/app/org.mozilla.firefox/.mozilla/firefox",
    "Library/Application Support/Firefox",
    "AppData/Roaming/Mozilla/Firefox",
];

/// A place that may hold localStorage, found under the home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `chrome`, `chromium`, `edge`, `brave`, `vivaldi`, `opera`, `electron:<App>`, `firefox`.
    pub browser: String,
    /// The profile's directory name (an Electron app's userData directory name).
    pub profile: String,
    /// What `--store` takes for it: the profile directory.
    pub store: PathBuf,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A Chromium `Local Storage/leveldb`; `user_data` holds the `SingletonLock`.
    Leveldb {
        dir: PathBuf,
        user_data: PathBuf,
    },
    /// Chromium's SQLite `LocalStorage` file (the `DomStorageSqlite` form).
    ChromiumSqlite {
        file: PathBuf,
        user_data: PathBuf,
    },
    Firefox,
    Webkit(webkit::Scope),
}

/// WebKit website-data directories, relative to the home: (browser, path); a `*` stands for
/// every directory there (one per app or bundle).
const WEBKIT_DIRS: &[(&str, &str)] = &[
    // WebKitGTK / WPE apps ($XDG_DATA_HOME/<prgname>), Epiphany among them, also in Flatpak.
    ("webkit", ".local/share/*"),
    ("webkit", ".var/app/*/data/*"),
    // Safari and WKWebView apps on macOS.
    (
        "safari",
        "Library/Containers/com.apple.Safari/Data/Library/WebKit/WebsiteData",
    ),
    ("webkit", "Library/WebKit/*/WebsiteData"),
    ("safari", "Library/Safari/LocalStorage"),
];

/// One origin of one store that holds the namespace (`locate --json`'s entries).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Located {
    pub browser: String,
    pub profile: String,
    pub store: String,
    pub backend: BackendKind,
    pub origin: String,
    /// Entries of the namespace's index.
    pub peer_count: usize,
    /// The browser's last write to the origin, epoch ms.
    pub last_modified: Option<f64>,
    /// Whether the browser runs with this profile now.
    pub running: bool,
}

/// Every place under `home` where a browser may keep localStorage, in a stable order
/// (browsers as listed above, profiles by name).
pub fn candidates(home: &Path) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for (browser, rel) in CHROMIUM_DIRS {
        let user_data = home.join(rel);
        if !user_data.is_dir() {
            continue;
        }
        seen.push(user_data.clone());
        // Opera keeps its one profile in the user-data directory itself.
        let mut profiles: Vec<PathBuf> = vec![user_data.clone()];
        profiles.extend(subdirs(&user_data));
        for profile in profiles {
            push_chromium(&mut out, browser, name_of(&profile), &profile, &user_data);
        }
    }
    for parent in ELECTRON_PARENTS {
        for app in subdirs(&home.join(parent)) {
            if seen.iter().any(|s| s.starts_with(&app)) {
                continue; // a browser's directory, listed above (or inside one)
            }
            let name = name_of(&app);
            let mut places = vec![(app.clone(), name.clone())];
            // Electron's session partitions (`session.fromPartition("persist:…")`).
            for part in subdirs(&app.join("Partitions")) {
                let label = format!("{name}/Partitions/{}", name_of(&part));
                places.push((part, label));
            }
            for (place, profile) in places {
                push_chromium(&mut out, &format!("electron:{name}"), profile, &place, &app);
            }
        }
    }
    for rel in FIREFOX_ROOTS {
        let root = home.join(rel);
        let Ok(text) = fs::read_to_string(root.join("profiles.ini")) else {
            continue;
        };
        let (profiles, _) = firefox::profiles::parse(&root, &text);
        for p in profiles {
            if p.path.is_dir() {
                out.push(Candidate {
                    browser: "firefox".into(),
                    profile: name_of(&p.path),
                    store: p.path.clone(),
                    kind: Kind::Firefox,
                });
            }
        }
    }
    for (browser, rel) in WEBKIT_DIRS {
        let mut places = vec![home.to_path_buf()];
        for part in Path::new(rel).components() {
            let part = part.as_os_str();
            places = if part == "*" {
                places.iter().flat_map(|p| subdirs(p)).collect()
            } else {
                places
                    .iter()
                    .map(|p| p.join(part))
                    .filter(|p| p.is_dir())
                    .collect()
            };
        }
        for place in places {
            if seen
                .iter()
                .any(|s| s.starts_with(&place) || place.starts_with(s))
            {
                continue;
            }
            if let Some(scope) = webkit::resolve_dir(&place) {
                let label = match *browser {
                    "webkit" => format!("webkit:{}", name_of(&place)),
                    other => other.to_owned(),
                };
                out.push(Candidate {
                    browser: label,
                    profile: name_of(&place),
                    store: place.clone(),
                    kind: Kind::Webkit(scope),
                });
            }
        }
    }
    out
}

/// The Chromium databases of one profile: its LevelDB and its SQLite file, each a candidate.
fn push_chromium(
    out: &mut Vec<Candidate>,
    browser: &str,
    profile: String,
    dir: &Path,
    user_data: &Path,
) {
    if let Some(db) = leveldb::profile_database(dir) {
        out.push(Candidate {
            browser: browser.to_owned(),
            profile: profile.clone(),
            store: dir.to_path_buf(),
            kind: Kind::Leveldb {
                dir: db,
                user_data: user_data.to_path_buf(),
            },
        });
    }
    if let Some(file) = chromium_sqlite::profile_database(dir) {
        out.push(Candidate {
            browser: browser.to_owned(),
            profile,
            store: file.clone(),
            kind: Kind::ChromiumSqlite {
                file,
                user_data: user_data.to_path_buf(),
            },
        });
    }
}

/// Opens a candidate read-only and gives the origins that hold the namespace under `prefix`.
pub fn examine(c: &Candidate, prefix: &str) -> Result<Vec<Located>> {
    let (mut backend, running): (Box<dyn Backend>, bool) = match &c.kind {
        Kind::Leveldb { dir, user_data } => {
            let running = lock::holder(&dir.join("LOCK")).is_some() || singleton_alive(user_data);
            (Box::new(LevelDbStore::open(dir)?), running)
        }
        Kind::ChromiumSqlite { file, user_data } => {
            let store = chromium_sqlite::ChromiumSqliteStore::open(file)?;
            let running = store.running().is_some() || singleton_alive(user_data);
            (Box::new(store), running)
        }
        Kind::Webkit(scope) => {
            let store = webkit::WebkitStore::open(scope.clone());
            let running = store.running();
            (Box::new(store), running)
        }
        Kind::Firefox => {
            let store = firefox::FirefoxStore::open(Scope::Profile {
                profile: c.store.clone(),
            })?;
            let running = store.running().is_some();
            (Box::new(store), running)
        }
    };
    let mut out = Vec::new();
    for (origin, n) in backend.namespace_counts(prefix)? {
        if n == 0 {
            continue;
        }
        let area = backend.load(Some(&origin))?;
        let peer_count = Namespace::new(&area, prefix).index_ids().len();
        out.push(Located {
            browser: c.browser.clone(),
            profile: c.profile.clone(),
            store: c.store.display().to_string(),
            backend: backend.kind(),
            last_modified: backend.last_modified(&origin)?,
            origin,
            peer_count,
            running,
        });
    }
    Ok(out)
}

/// The subdirectories of `dir`, by name (none when it cannot be read).
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether a Chromium user-data directory's `SingletonLock` (a symlink to `<host>-<pid>`)
/// names a live process on this host. (It outlives a crashed browser, so a dead pid or
/// another host's name means not running.)
fn singleton_alive(user_data: &Path) -> bool {
    singleton_pid(user_data).is_some()
}

/// The pid of the live browser on this host that `<user_data>/SingletonLock` names.
pub(crate) fn singleton_pid(user_data: &Path) -> Option<i32> {
    let target = fs::read_link(user_data.join("SingletonLock")).ok()?;
    let target = target.to_string_lossy().into_owned();
    let (host, pid) = target.rsplit_once('-')?;
    let pid = pid.parse::<i32>().ok()?;
    if pid <= 0 || host != hostname() {
        return None;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    (rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)).then_some(pid)
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leveldb(dir: &Path) {
        let ls = dir.join("Local Storage").join("leveldb");
        fs::create_dir_all(&ls).unwrap();
        fs::write(ls.join("CURRENT"), "MANIFEST-000001\n").unwrap();
    }

    #[test]
    fn finds_every_kind_of_place() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        leveldb(&h.join(".config/chromium/Default"));
        leveldb(&h.join(".config/chromium/Profile 1"));
        fs::create_dir_all(h.join(".config/chromium/Crashpad")).unwrap();
        leveldb(&h.join(".config/opera"));
        leveldb(&h.join("Library/Application Support/Google/Chrome/Default"));
        leveldb(&h.join(".config/Signal"));
        leveldb(&h.join(".config/Slack/Partitions/work"));
        fs::create_dir_all(h.join(".config/nothing-here")).unwrap();
        let ff = h.join(".mozilla/firefox");
        fs::create_dir_all(ff.join("abc.default-release")).unwrap();
        fs::write(
            ff.join("profiles.ini"),
            "[Profile0]\nName=default-release\nIsRelative=1\nPath=abc.default-release\n\n[Profile1]\nName=gone\nIsRelative=1\nPath=missing\n",
        )
        .unwrap();
        let got: Vec<(String, String)> = candidates(h)
            .into_iter()
            .map(|c| (c.browser, c.profile))
            .collect();
        let want: Vec<(String, String)> = [
            ("chrome", "Default"),
            ("chromium", "Default"),
            ("chromium", "Profile 1"),
            ("opera", "opera"),
            ("electron:Signal", "Signal"),
            ("electron:Slack", "Slack/Partitions/work"),
            ("firefox", "abc.default-release"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        // chromium (Linux) comes before chrome (macOS) in the table's order.
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got_sorted, want_sorted);
        assert_eq!(got[0], ("chromium".into(), "Default".into()));
    }

    #[test]
    fn a_dead_or_foreign_singleton_lock_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("SingletonLock");
        std::os::unix::fs::symlink(format!("{}-{}", hostname(), std::process::id()), &link)
            .unwrap();
        assert!(singleton_alive(dir.path()));
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(format!("other-host-{}", std::process::id()), &link).unwrap();
        assert!(!singleton_alive(dir.path()));
        fs::remove_file(&link).unwrap();
        // pid_max on Linux is at most 2^22: this pid cannot exist.
        std::os::unix::fs::symlink(format!("{}-{}", hostname(), 1 << 23), &link).unwrap();
        assert!(!singleton_alive(dir.path()));
    }
}
