//! Stores: one origin's localStorage as an ordered key → value map, read from a backend and
//! written back to it safely.
//!
//! A backend never knows what a peer is: it loads an origin's map and applies a `ChangeSet`
//! (puts and deletes) in one atomic save, carrying every other key, origin and byte through.

pub mod atomic;
mod flat;
pub(crate) mod jsontext;
pub mod leveldb;
mod playwright;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indexmap::IndexMap;
use serde::Serialize;

use crate::error::MeshError;
use crate::jsstring::JsString;

/// One origin's localStorage, in the store's key order.
pub type Area = IndexMap<JsString, JsString>;

/// Chromium's localStorage quota per origin (10 MiB, counted in UTF-16 bytes of keys and
/// values; Chrome, Chromium, Edge and Brave share it).
pub const QUOTA_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A flat JSON object of key → string (`JSON.stringify(localStorage)`).
    Flat,
    /// A Playwright `storageState` file.
    Playwright,
    /// Chromium's `Local Storage/leveldb` directory (or a profile / user-data dir holding it).
    Leveldb,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Flat => "flat JSON dump",
            BackendKind::Playwright => "Playwright storage state",
            BackendKind::Leveldb => "Chromium LevelDB",
        })
    }
}

/// An origin of a store and what it holds.
#[derive(Clone, Debug, Serialize)]
pub struct OriginInfo {
    pub origin: String,
    pub keys: usize,
    /// Bytes that count against the browser quota: 2 per UTF-16 unit of keys and values.
    pub bytes: u64,
    /// When the browser last wrote the origin (epoch ms; LevelDB profiles only).
    #[serde(rename = "lastModified", skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<f64>,
}

/// Bytes of a key/value pair as the browser's quota counts them.
pub fn entry_bytes(key: &JsString, value: &JsString) -> u64 {
    2 * (key.utf16_len() + value.utf16_len()) as u64
}

pub fn area_bytes(area: &Area) -> u64 {
    area.iter().map(|(k, v)| entry_bytes(k, v)).sum()
}

/// Puts (`Some`) and deletes (`None`) for one origin, applied together in one save.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    changes: IndexMap<JsString, Option<JsString>>,
}

impl ChangeSet {
    pub fn put(&mut self, key: impl Into<JsString>, value: impl Into<JsString>) {
        self.changes.insert(key.into(), Some(value.into()));
    }

    pub fn delete(&mut self, key: impl Into<JsString>) {
        self.changes.insert(key.into(), None);
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn get(&self, key: &JsString) -> Option<Option<&JsString>> {
        self.changes.get(key).map(Option::as_ref)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&JsString, Option<&JsString>)> {
        self.changes.iter().map(|(k, v)| (k, v.as_ref()))
    }

    /// Drops changes that would not change `area` (a put of the same value, a delete of an
    /// absent key).
    pub fn without_noops(mut self, area: &Area) -> ChangeSet {
        self.changes.retain(|k, v| area.get(k) != v.as_ref());
        self
    }

    /// `area` with the changes applied: existing keys keep their place, new keys go last.
    pub fn applied_to(&self, area: &Area) -> Area {
        let mut out: Area = area
            .iter()
            .filter_map(|(k, v)| match self.get(k) {
                None => Some((k.clone(), v.clone())),
                Some(None) => None,
                Some(Some(new)) => Some((k.clone(), new.clone())),
            })
            .collect();
        for (k, v) in self.iter() {
            if let (Some(v), false) = (v, area.contains_key(k)) {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

/// What a backend offers; one implementation per store format.
pub trait Backend {
    fn kind(&self) -> BackendKind;
    /// Every origin of the store with its size (empty for a flat dump, which has no origin).
    fn origins(&self) -> Vec<OriginInfo>;
    /// For each origin, how many keys start with `prefix`.
    fn namespace_counts(&self, prefix: &str) -> Vec<(String, usize)>;
    /// Whether the store has data for `origin` (without listing every origin where the
    /// backend can tell directly).
    fn has_origin(&self, origin: &str) -> bool {
        self.namespace_counts("").iter().any(|(o, _)| o == origin)
    }
    /// The map of one origin (`None` for a flat dump). Called once per open.
    fn load(&mut self, origin: Option<&str>) -> Result<Area>;
    /// Applies `changes` to `origin` in one atomic save, creating the origin if needed. Gives
    /// the path where the previous state is kept when the backend keeps one (a LevelDB
    /// directory is swapped, its predecessor kept beside it).
    fn save(&mut self, origin: Option<&str>, changes: &ChangeSet) -> Result<Option<PathBuf>>;
}

/// Where a store is read from.
#[derive(Clone, Debug)]
pub enum StoreSource {
    Path(PathBuf),
    Stdin,
}

impl StoreSource {
    pub fn parse(arg: &str) -> StoreSource {
        if arg == "-" {
            StoreSource::Stdin
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
}

/// An open store: the chosen origin's map, ready to read and to save back.
pub struct Store {
    pub location: String,
    pub kind: BackendKind,
    pub origin: Option<String>,
    pub area: Area,
    backend: Box<dyn Backend>,
    /// The store's path (`None` for stdin, which cannot be written).
    path: Option<PathBuf>,
}

impl Store {
    pub fn open(opts: &OpenOptions) -> Result<Store> {
        let location = opts.source.to_string();
        let (bytes, writable_path) = match &opts.source {
            StoreSource::Stdin => {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .context("reading the store from stdin")?;
                (buf, None)
            }
            StoreSource::Path(p) if p.is_dir() => {
                return Self::open_dir(opts, p);
            }
            StoreSource::Path(p) => (read_store_file(p)?, Some(p.clone())),
        };
        let mut backend = open_json(&location, writable_path, bytes, opts.format)?;
        let origin = choose_origin(&location, backend.as_ref(), opts)?;
        let area = backend.load(origin.as_deref())?;
        Ok(Store {
            location,
            kind: backend.kind(),
            origin,
            area,
            backend,
            path: match &opts.source {
                StoreSource::Path(p) => Some(p.clone()),
                StoreSource::Stdin => None,
            },
        })
    }

    fn open_dir(opts: &OpenOptions, given: &Path) -> Result<Store> {
        let location = given.display().to_string();
        if matches!(
            opts.format,
            Some(BackendKind::Flat | BackendKind::Playwright)
        ) {
            return Err(MeshError::invalid(&location, "is a directory, not a JSON file").into());
        }
        let Some(dir) = leveldb::resolve_dir(given, opts.profile.as_deref()) else {
            let what = match &opts.profile {
                Some(p) => format!("has no profile {p} with a Local Storage/leveldb database"),
                None => "is a directory but holds no Chromium localStorage database (looked for CURRENT in it, in Local Storage/leveldb and in Default/Local Storage/leveldb)".into(),
            };
            return Err(MeshError::invalid(&location, what).into());
        };
        let mut backend: Box<dyn Backend> = Box::new(leveldb::LevelDbStore::open(&dir)?);
        let location = dir.display().to_string();
        let origin = choose_origin(&location, backend.as_ref(), opts)?;
        let area = backend.load(origin.as_deref())?;
        Ok(Store {
            location,
            kind: BackendKind::Leveldb,
            origin,
            area,
            backend,
            path: Some(dir),
        })
    }

    pub fn origins(&self) -> Vec<OriginInfo> {
        self.backend.origins()
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Fails when the store cannot be written (read from stdin).
    pub fn check_writable(&self) -> Result<()> {
        if self.path.is_none() {
            return Err(MeshError::usage(
                "a store read from stdin cannot be written; pass a file with --store",
            )
            .into());
        }
        Ok(())
    }

    /// Applies `changes` in one atomic save and updates `self.area` to match. Gives where the
    /// previous state is kept, for backends that keep one.
    pub fn save(&mut self, changes: &ChangeSet) -> Result<Option<PathBuf>> {
        self.check_writable()?;
        if changes.is_empty() {
            return Ok(None);
        }
        let kept = self.backend.save(self.origin.as_deref(), changes)?;
        self.area = changes.applied_to(&self.area);
        Ok(kept)
    }
}

fn read_store_file(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot open store {}", path.display()))?;
    if meta.is_dir() {
        return Err(MeshError::invalid(
            path.display(),
            "is a directory; expected a JSON dump or a Playwright storage state file",
        )
        .into());
    }
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

/// Origins are compared without a trailing slash (`http://h:3000/` names `http://h:3000`).
fn normalize_origin(o: &str) -> &str {
    o.strip_suffix('/').unwrap_or(o)
}

fn choose_origin(
    location: &str,
    backend: &dyn Backend,
    opts: &OpenOptions,
) -> Result<Option<String>> {
    if backend.kind() == BackendKind::Flat {
        // A flat dump has no origin; a given --origin only labels it (e.g. in backups).
        return Ok(opts
            .origin
            .as_deref()
            .map(|o| normalize_origin(o).to_owned()));
    }
    if let (Some(wanted), BackendKind::Leveldb) = (&opts.origin, backend.kind()) {
        // One probe instead of visiting every origin of a large profile. A profile that has
        // never stored anything for the origin gets it on the first write (a restore into a
        // fresh profile).
        let wanted = normalize_origin(wanted);
        if !backend.has_origin(wanted) {
            eprintln!("meshpeers: note: {location} holds no data for {wanted}; a write creates it");
        }
        return Ok(Some(wanted.to_owned()));
    }
    let counts = backend.namespace_counts(&opts.prefix);
    // A browser profile can hold hundreds of origins: the first ones, then a count.
    const SHOWN: usize = 20;
    let listing = |counts: &[(String, usize)]| -> String {
        let mut text: String = counts
            .iter()
            .take(SHOWN)
            .map(|(o, n)| format!("\n  {o} ({n} {} keys)", opts.prefix))
            .collect();
        if counts.len() > SHOWN {
            text.push_str(&format!(
                "\n  … and {} more (`meshpeers inspect --origin ORIGIN` lists them all)",
                counts.len() - SHOWN
            ));
        }
        text
    };
    if let Some(wanted) = &opts.origin {
        let wanted = normalize_origin(wanted);
        return match counts.iter().find(|(o, _)| o == wanted) {
            Some((o, _)) => Ok(Some(o.clone())),
            None if counts.is_empty() => Ok(Some(wanted.to_owned())),
            None => Err(MeshError::usage(format!(
                "--origin {wanted}: {location} has no such origin; it holds:{}",
                listing(&counts)
            ))
            .into()),
        };
    }
    let holders: Vec<_> = counts.iter().filter(|(_, n)| *n > 0).cloned().collect();
    match (holders.len(), counts.len()) {
        (1, _) => Ok(Some(holders[0].0.clone())),
        (0, 0) => Ok(None),
        (0, 1) => Ok(Some(counts[0].0.clone())),
        (0, _) => Err(MeshError::usage_hint(
            format!(
                "{location} holds {} origins and none has {} keys:{}",
                counts.len(),
                opts.prefix,
                listing(&counts)
            ),
            "choose one with --origin ORIGIN",
        )
        .into()),
        _ => Err(MeshError::usage_hint(
            format!(
                "{location} holds the {} namespace in {} origins:{}",
                opts.prefix,
                holders.len(),
                listing(&holders)
            ),
            "choose one with --origin ORIGIN",
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changeset_keeps_positions_and_appends_new_keys() {
        let mut area = Area::new();
        area.insert("a".into(), "1".into());
        area.insert("b".into(), "2".into());
        area.insert("c".into(), "3".into());
        let mut cs = ChangeSet::default();
        cs.put("b", "two");
        cs.delete("a");
        cs.put("d", "4");
        cs.put("c", "3");
        let cs = cs.without_noops(&area);
        assert_eq!(cs.len(), 3);
        let out = cs.applied_to(&area);
        let flat: Vec<_> = out.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(flat, ["b=two", "c=3", "d=4"]);
    }
}
