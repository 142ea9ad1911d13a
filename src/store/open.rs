//! Opening a store: what `--store` names is detected by content (a JSON file is a flat dump
//! or a Playwright state; a directory is a browser profile), the backend parses it, an origin
//! is chosen, and its map is loaded into a `Store` that commands read and save back.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::debris;
use super::lock::{self, FileIdentity, FileLock, Target};
use super::origin::{Choice, choose_origin};
use super::{
    Area, Backend, BackendKind, ChangeSet, OriginInfo, SaveOptions, StorageDamage, chromium_sqlite,
    firefox, flat, jsontext, leveldb, live, playwright, sqlite, webkit,
};
use crate::error::MeshError;

/// Where a store is read from.
#[derive(Clone, Debug)]
pub enum StoreSource {
    Path(PathBuf),
    Stdin,
    /// A running browser's debugging endpoint (`cdp://…`, `bidi://…`, `ws://…`).
    Live(String),
}

impl StoreSource {
    pub fn parse(arg: &str) -> StoreSource {
        if arg == "-" {
            StoreSource::Stdin
        } else if live::Endpoint::parse(arg).is_some() {
            StoreSource::Live(arg.to_owned())
        } else {
            StoreSource::Path(PathBuf::from(arg))
        }
    }
}

impl fmt::Display for StoreSource {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            StoreSource::Path(p) => write!(f, "{}", p.display()),
            StoreSource::Stdin => f.write_str("<stdin>"),
            StoreSource::Live(url) => f.write_str(url),
        }
    }
}

/// How to open a store.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    pub source: StoreSource,
    pub format: Option<BackendKind>,
    pub origin: Option<String>,
    pub prefix: String,
    /// The browser profile inside a user-data directory (default: `Default`).
    pub profile: Option<String>,
    /// The store will be written: a store file is locked from this read to the save (a
    /// second writer waits, so no update is lost), and the save goes ahead only if the file
    /// is still the one read. (A browser profile is locked only while it is written: a
    /// browser that starts while its database is locked can lose it.)
    pub lock_for_write: bool,
    /// How a running browser is reached (`--store cdp://…`).
    pub live: live::LiveOptions,
    /// Read a damaged LevelDB profile from its intact parts (`--salvage`); never written.
    pub salvage: bool,
}

/// An open store: the chosen origin's map, ready to read and to save back.
pub struct Store {
    pub location: String,
    pub kind: BackendKind,
    pub origin: Option<String>,
    pub area: Area,
    /// Things the user should know about how the store was opened (e.g. "a write creates
    /// this origin"); the command prints them.
    pub notes: Vec<String>,
    /// Damage reads work around (printed as warnings, reported by inspect and validate);
    /// writes refuse.
    pub damage: Vec<StorageDamage>,
    backend: Box<dyn Backend>,
    /// The store's path (`None` for stdin, which cannot be written).
    path: Option<PathBuf>,
    /// The lock on the store file and what the file was when read (`lock_for_write`).
    guard: Option<(FileLock, FileIdentity)>,
    /// A running browser's store: written through the browser, backed up in the current
    /// directory.
    live: bool,
    /// Read with `--salvage`: never written.
    salvaged: bool,
}

impl Store {
    pub fn open(opts: &OpenOptions) -> Result<Store> {
        // Before anything else: a write interrupted between the two renames of a swap (where
        // the system has no atomic exchange) is finished or undone.
        let recovered = match &opts.source {
            StoreSource::Path(p) => leveldb::recover_interrupted(p, opts.profile.as_deref()),
            StoreSource::Stdin | StoreSource::Live(_) => Vec::new(),
        };
        let mut store = Self::open_source(opts)?;
        store.notes.extend(recovered);
        // Leftovers of killed meshpeers runs beside the store (the LevelDB directory's
        // parent, or the JSON file's directory).
        if let Some(p) = &store.path {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let removed = debris::sweep(&dir);
            if !removed.is_empty() {
                let names: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
                store.notes.push(format!(
                    "removed {} left by interrupted meshpeers runs (never the only copy of anything): {}",
                    crate::words::count(removed.len(), "leftover"),
                    names.join(", ")
                ));
            }
        }
        Ok(store)
    }

    fn open_source(opts: &OpenOptions) -> Result<Store> {
        let location = opts.source.to_string();
        if opts.salvage {
            return Self::open_salvaged(opts);
        }
        let mut guard = None;
        let (bytes, writable_path) = match &opts.source {
            StoreSource::Stdin => {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .context("reading the store from stdin")?;
                (buf, None)
            }
            StoreSource::Live(url) => return Self::open_live(opts, url),
            StoreSource::Path(p) if p.is_dir() => {
                return Self::open_dir(opts, p);
            }
            StoreSource::Path(p) => match sqlite_file(p, opts.format)? {
                Some(sqlite::Schema::Firefox) => {
                    return Self::open_firefox(opts, firefox::file_scope(p));
                }
                Some(sqlite::Schema::Chromium) => return Self::open_chromium_sqlite(opts, p),
                Some(sqlite::Schema::Webkit) => {
                    let scope = webkit::Scope {
                        file: Some(p.clone()),
                        ..webkit::Scope::default()
                    };
                    return Self::open_webkit(opts, scope);
                }
                None if opts.lock_for_write => {
                    let (bytes, held) = read_locked(p)?;
                    guard = Some(held);
                    (bytes, Some(p.clone()))
                }
                None => (read_store_file(p)?, Some(p.clone())),
            },
        };
        let backend = open_json(&location, writable_path.clone(), bytes, opts.format)?;
        let mut store = Self::with_backend(location, backend, writable_path, opts)?;
        store.guard = guard;
        Ok(store)
    }

    /// Chooses the origin and loads its map.
    fn with_backend(
        location: String,
        mut backend: Box<dyn Backend>,
        path: Option<PathBuf>,
        opts: &OpenOptions,
    ) -> Result<Store> {
        let Choice { origin, note } = choose_origin(&location, backend.as_mut(), opts)?;
        let area = backend.load(origin.as_deref())?;
        Ok(Store {
            location,
            kind: backend.kind(),
            origin,
            area,
            notes: backend.notes().into_iter().chain(note).collect(),
            damage: backend.damage(),
            backend,
            path,
            guard: None,
            live: false,
            salvaged: false,
        })
    }

    /// A damaged Chromium LevelDB profile read from its intact parts (`--salvage`).
    fn open_salvaged(opts: &OpenOptions) -> Result<Store> {
        let location = opts.source.to_string();
        let dir = match &opts.source {
            StoreSource::Path(p) if p.is_dir() => leveldb::resolve_dir(p, opts.profile.as_deref()),
            _ => None,
        };
        let Some(dir) = dir else {
            return Err(MeshError::usage(format!(
                "--salvage reads a damaged Chromium LevelDB profile (Local Storage/leveldb, or the profile or user-data directory holding it); --store {location} is not one"
            ))
            .into());
        };
        let backend = Box::new(leveldb::SalvageStore::open(&dir)?);
        let location = dir.display().to_string();
        let mut store = Self::with_backend(location, backend, Some(dir), opts)?;
        store.salvaged = true;
        Ok(store)
    }

    /// A running browser (`cdp://`, `bidi://`, `ws://`).
    fn open_live(opts: &OpenOptions, url: &str) -> Result<Store> {
        let endpoint = match live::Endpoint::parse(url) {
            Some(Ok(e)) => e,
            Some(Err(problem)) => {
                return Err(MeshError::usage(format!("--store {url}: {problem}")).into());
            }
            None => unreachable!("parsed as a live store"),
        };
        if let Some(kind) = opts.format {
            return Err(MeshError::usage(format!(
                "--store-format {kind} does not apply to a running browser (--store {url})"
            ))
            .into());
        }
        if opts.profile.is_some() {
            return Err(MeshError::usage(format!(
                "--profile does not apply to a running browser (--store {url}): it works on the profile it was started with"
            ))
            .into());
        }
        let mut origin_opts = opts.clone();
        if let Some(o) = &opts.origin {
            let o = live::normalize(o)
                .map_err(|problem| MeshError::usage(format!("--origin {problem}")))?;
            origin_opts.origin = Some(o);
        }
        let store = live::LiveStore::connect(url, endpoint, &opts.live)?;
        let mut store = Self::with_backend(url.to_owned(), Box::new(store), None, &origin_opts)?;
        store.live = true;
        Ok(store)
    }

    fn open_dir(opts: &OpenOptions, given: &Path) -> Result<Store> {
        let location = given.display().to_string();
        if matches!(
            opts.format,
            Some(BackendKind::Flat | BackendKind::Playwright)
        ) {
            return Err(MeshError::invalid(&location, "is a directory, not a JSON file").into());
        }
        let leveldb_dir = match opts.format {
            Some(BackendKind::Firefox | BackendKind::ChromiumSqlite | BackendKind::Webkit) => None,
            _ => leveldb::resolve_dir(given, opts.profile.as_deref()),
        };
        let sqlite_file = match opts.format {
            Some(BackendKind::Firefox | BackendKind::Leveldb | BackendKind::Webkit) => None,
            _ => chromium_sqlite::resolve_dir(given, opts.profile.as_deref()),
        };
        match (leveldb_dir, sqlite_file) {
            (Some(dir), Some(file)) => return Self::open_chromium_pair(opts, dir, file),
            (Some(dir), None) => {
                let discover = opts.origin.is_none().then_some(opts.prefix.as_str());
                let backend: Box<dyn Backend> =
                    Box::new(leveldb::LevelDbStore::open_discovering(&dir, discover)?);
                let location = dir.display().to_string();
                return Self::with_backend(location, backend, Some(dir), opts);
            }
            (None, Some(file)) => return Self::open_chromium_sqlite(opts, &file),
            (None, None) => {}
        }
        if !matches!(
            opts.format,
            Some(BackendKind::Leveldb | BackendKind::ChromiumSqlite | BackendKind::Webkit)
        ) {
            if let Some(scope) = firefox::resolve_dir(given, opts.profile.as_deref())? {
                return Self::open_firefox(opts, scope);
            }
        }
        if matches!(opts.format, None | Some(BackendKind::Webkit)) && opts.profile.is_none() {
            if let Some(scope) = webkit::resolve_dir(given) {
                return Self::open_webkit(opts, scope);
            }
        }
        let what = match (&opts.profile, opts.format) {
            (_, Some(BackendKind::Webkit)) => "is a directory but not a WebKit website-data directory, a storage directory with its salt, or a directory of .localstorage files".into(),
            (_, Some(BackendKind::Firefox)) => "is a directory but not a Firefox profile, a Firefox root with profiles.ini, or an origin directory (storage/default/<origin> with ls/data.sqlite)".into(),
            (Some(p), _) => format!("has no profile {p} with a Local Storage/leveldb database, a LocalStorage file or in its profiles.ini"),
            (None, _) => match leveldb::profiles_in(given).as_slice() {
                [] => "is a directory but holds no browser localStorage (looked for Chromium's Local Storage/leveldb and LocalStorage in it, in Local Storage/ and in Default/, for a Firefox profile, profiles.ini or origin directory, and for WebKit's storage/ or localstorage/)".into(),
                names => format!(
                    "is a Chromium user-data directory whose Default profile holds no Chromium localStorage database; choose a profile with --profile NAME: {}",
                    names.join(", ")
                ),
            },
        };
        Err(MeshError::invalid(&location, what).into())
    }

    /// A profile with both of Chromium's forms (`DomStorageSqlite` turned on without the
    /// migration leaves the LevelDB beside a new SQLite file): the one holding the namespace
    /// (the origin's, with `--origin`), the more recently written when both or neither do,
    /// with a note naming the other.
    fn open_chromium_pair(opts: &OpenOptions, dir: PathBuf, file: PathBuf) -> Result<Store> {
        let mut ldb: Box<dyn Backend> = Box::new(leveldb::LevelDbStore::open(&dir)?);
        let mut sql: Box<dyn Backend> =
            Box::new(chromium_sqlite::ChromiumSqliteStore::open(&file)?);
        let holds = |b: &mut Box<dyn Backend>| -> Result<bool> {
            Ok(b.namespace_counts(&opts.prefix)?.iter().any(|(o, n)| {
                *n > 0
                    && opts
                        .origin
                        .as_deref()
                        .is_none_or(|want| want.trim_end_matches('/') == o)
            }))
        };
        let (in_ldb, in_sql) = (holds(&mut ldb)?, holds(&mut sql)?);
        let (ldb_time, sql_time) = (newest_mtime(&dir), newest_mtime(&file));
        let use_sql = match (in_ldb, in_sql) {
            (true, false) => false,
            (false, true) => true,
            _ => sql_time >= ldb_time,
        };
        let why = match (in_ldb, in_sql) {
            (true, true) => "also holds the namespace but was written less recently",
            (false, false) => "does not hold the namespace either and was written less recently",
            _ => "does not hold the namespace",
        };
        let (backend, path, other, other_kind) = if use_sql {
            (sql, file, dir, BackendKind::Leveldb)
        } else {
            (ldb, dir, file, BackendKind::ChromiumSqlite)
        };
        let location = path.display().to_string();
        let mut store = Self::with_backend(location, backend, Some(path), opts)?;
        store.notes.push(format!(
            "this profile also has a {other_kind} localStorage database, {}, which {why}; it was left alone (name it with --store to use it)",
            other.display()
        ));
        Ok(store)
    }

    fn open_chromium_sqlite(opts: &OpenOptions, file: &Path) -> Result<Store> {
        let store = chromium_sqlite::ChromiumSqliteStore::open(file)?;
        let location = file.display().to_string();
        Self::with_backend(location, Box::new(store), Some(file.to_path_buf()), opts)
    }

    fn open_webkit(opts: &OpenOptions, scope: webkit::Scope) -> Result<Store> {
        let store = webkit::WebkitStore::open(scope);
        let path = store.location();
        let location = path.display().to_string();
        Self::with_backend(location, Box::new(store), Some(path), opts)
    }

    fn open_firefox(opts: &OpenOptions, scope: firefox::Scope) -> Result<Store> {
        let store = firefox::FirefoxStore::open(scope)?;
        let path = store.location();
        let location = path.display().to_string();
        Self::with_backend(location, Box::new(store), Some(path), opts)
    }

    /// Every origin of the store with what it holds.
    pub fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        self.backend.origins()
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// What a backup's default name is made from: the store's path (the backup goes beside
    /// it), or for a running browser the origin in the current directory.
    pub fn backup_anchor(&self) -> Option<PathBuf> {
        if self.live {
            return Some(live::LiveStore::backup_anchor(self.origin.as_deref()));
        }
        self.path.clone()
    }

    /// Fails when the store cannot be written (read from stdin).
    pub fn check_writable(&self) -> Result<()> {
        if self.salvaged {
            let dir = self.path.clone().unwrap_or_default();
            return Err(leveldb::salvage_refusal(&dir).into());
        }
        if self.path.is_none() && !self.live {
            return Err(MeshError::usage(
                "a store read from stdin cannot be written; pass a file with --store",
            )
            .into());
        }
        Ok(())
    }

    /// Applies `changes` in one atomic save and updates `self.area` to match. Gives where the
    /// previous state is kept, for backends that keep one.
    pub fn save(&mut self, changes: &ChangeSet, opts: &SaveOptions) -> Result<Option<PathBuf>> {
        self.check_writable()?;
        if changes.is_empty() {
            return Ok(None);
        }
        if let Some((_, read)) = &self.guard {
            if !read.unchanged() {
                return Err(MeshError::Changed(format!(
                    "{}: the file changed since it was read (another program wrote it); nothing was written",
                    self.location
                ))
                .into());
            }
        }
        let kept = self.backend.save(self.origin.as_deref(), changes, opts)?;
        // The lock stays with the replaced file; this store is written.
        self.guard = None;
        changes.apply_in_place(&mut self.area);
        Ok(kept)
    }

    /// Reads back what the last save wrote: the origin holds exactly `self.area`.
    pub fn verify(&mut self) -> Result<()> {
        self.backend.verify(self.origin.as_deref(), &self.area)
    }
}

/// The newest modification time of a file (and its `-wal`) or of a directory's files.
fn newest_mtime(path: &Path) -> Option<std::time::SystemTime> {
    let files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .collect()
    } else {
        vec![path.to_path_buf(), sqlite::companion(path, "-wal")]
    };
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok()?.modified().ok())
        .max()
}

/// Locks the store file (the file the path resolves to: a symlink stays a link when saved)
/// and reads it through the locked handle.
fn read_locked(path: &Path) -> Result<(Vec<u8>, (FileLock, FileIdentity))> {
    read_store_file_meta(path)?;
    let target = path
        .canonicalize()
        .with_context(|| format!("cannot open store {}", path.display()))?;
    let held = lock::lock(&target, Target::StoreFile, path)?;
    let identity = FileIdentity::of(&target)
        .with_context(|| format!("cannot read store {}", path.display()))?;
    let mut bytes = Vec::new();
    let mut file = held.file();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read store {}", path.display()))?;
    Ok((bytes, (held, identity)))
}

/// Which browser's SQLite database a store file is (`None`: a JSON file): forced with
/// `--store-format`, by its name (`data.sqlite`, `LocalStorage`), or by its tables. An SQLite
/// file whose tables say nothing is taken as Firefox's, whose reader then names the problem.
fn sqlite_file(path: &Path, forced: Option<BackendKind>) -> Result<Option<sqlite::Schema>> {
    match forced {
        Some(BackendKind::Firefox) => return Ok(Some(sqlite::Schema::Firefox)),
        Some(BackendKind::ChromiumSqlite) => return Ok(Some(sqlite::Schema::Chromium)),
        Some(BackendKind::Webkit) => return Ok(Some(sqlite::Schema::Webkit)),
        Some(_) => return Ok(None),
        None => {}
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    match name.as_deref() {
        Some("data.sqlite") => return Ok(Some(sqlite::Schema::Firefox)),
        Some(chromium_sqlite::FILE_NAME) => return Ok(Some(sqlite::Schema::Chromium)),
        _ if webkit::is_database_name(path) => return Ok(Some(sqlite::Schema::Webkit)),
        _ => {}
    }
    let mut head = [0u8; 16];
    let n = match std::fs::File::open(path) {
        Ok(mut f) => f
            .read(&mut head)
            .with_context(|| format!("cannot read store {}", path.display()))?,
        // The usual message for a file that cannot be opened comes later.
        Err(_) => return Ok(None),
    };
    if !head[..n].starts_with(sqlite::MAGIC) {
        return Ok(None);
    }
    Ok(Some(sqlite::sniff(path).unwrap_or(sqlite::Schema::Firefox)))
}

/// Refuses what cannot be a store file (missing, a directory) with the usual messages.
fn read_store_file_meta(path: &Path) -> Result<()> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot open store {}", path.display()))?;
    if meta.is_dir() {
        return Err(MeshError::invalid(
            path.display(),
            "is a directory; expected a JSON dump or a Playwright storage state file",
        )
        .into());
    }
    Ok(())
}

fn read_store_file(path: &Path) -> Result<Vec<u8>> {
    read_store_file_meta(path)?;
    std::fs::read(path).with_context(|| format!("cannot read store {}", path.display()))
}

/// Detects the format from content (or takes the forced one) and parses the file.
fn open_json(
    location: &str,
    path: Option<PathBuf>,
    bytes: Vec<u8>,
    forced: Option<BackendKind>,
) -> Result<Box<dyn Backend>> {
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    let text = jsontext::into_text(bytes).map_err(|p| MeshError::invalid(location, p))?;
    let members = jsontext::member_spans(&text).map_err(|e| {
        let problem = match text.trim_start().as_bytes().first() {
            Some(b'[') if !e.is_eof() && !e.is_syntax() => {
                "is a JSON array; expected a JSON object (a localStorage dump or a Playwright storage state)".into()
            }
            Some(b'"' | b'0'..=b'9' | b'-' | b't' | b'f' | b'n') if !e.is_eof() && !e.is_syntax() => {
                "is a single JSON value; expected a JSON object (a localStorage dump or a Playwright storage state)".into()
            }
            _ => jsontext::describe_parse_error(empty, &e),
        };
        MeshError::invalid(location, problem)
    })?;
    let looks_playwright = members
        .iter()
        .any(|(k, v)| &text[k.clone()] == "\"origins\"" && text[v.clone()].starts_with('['));
    let kind = forced.unwrap_or(if looks_playwright {
        BackendKind::Playwright
    } else {
        BackendKind::Flat
    });
    let backend: Box<dyn Backend> = match kind {
        BackendKind::Flat => Box::new(flat::FlatDump::parse(location, path, text, &members)?),
        BackendKind::Playwright => Box::new(playwright::PlaywrightState::parse(
            location, path, text, &members,
        )?),
        BackendKind::Leveldb => {
            return Err(MeshError::invalid(
                location,
                "is a file; a LevelDB store is a directory (Local Storage/leveldb)",
            )
            .into());
        }
        BackendKind::Firefox | BackendKind::ChromiumSqlite | BackendKind::Webkit => {
            return Err(MeshError::invalid(
                location,
                format!("is not an SQLite database (forced with --store-format {kind})"),
            )
            .into());
        }
        BackendKind::Cdp | BackendKind::Bidi => {
            unreachable!("--store-format has no live formats")
        }
    };
    Ok(backend)
}

/// A new flat dump holding `area`, laid out like `JSON.stringify(obj, null, 2)`.
pub fn render_flat(area: &Area) -> String {
    let style = jsontext::Style {
        unit: Some("  ".into()),
        newline: "\n",
        colon: ": ".into(),
        ascii_only: false,
    };
    let items: Vec<String> = area
        .iter()
        .map(|(k, v)| style.member(&style.encode(k), &style.encode(v)))
        .collect();
    format!("{}\n", style.layout("").render('{', &items, '}'))
}

/// A new Playwright storage state (no cookies) with one origin holding `changes`' puts.
pub fn render_playwright(origin: &str, changes: &ChangeSet) -> String {
    const EMPTY: &str = "{\n  \"cookies\": [],\n  \"origins\": []\n}\n";
    let members = jsontext::member_spans(EMPTY).unwrap_or_default();
    playwright::PlaywrightState::parse("", None, EMPTY.to_owned(), &members)
        .and_then(|s| s.render(origin, changes))
        .unwrap_or_default()
}
