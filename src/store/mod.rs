//! Stores: one origin's localStorage as an ordered key → value map, read from a backend and
//! written back to it safely.
//!
//! A backend never knows what a peer is: it lists its origins, loads one origin's map and
//! applies a `ChangeSet` (puts and deletes) in one atomic save, carrying every other key,
//! origin and byte through. Every method returns `Result`: a backend that cannot read
//! something says so (`MeshError::InvalidInput` naming the file, exit 3); it never answers
//! "nothing there" instead. Nothing in this module prints: what the user should know travels
//! back as `Store::notes`.
//!
//! - `area`: the `Area` map and the `ChangeSet` of a save.
//! - `open`: detection of what `--store` names, and the open `Store`.
//! - `origin`: the choice of origin (`--origin`, or the only one holding the namespace).
//! - `flat`, `playwright`, `leveldb`, `chromium_sqlite`, `firefox`, `webkit`, `live`: the backends; `atomic` and `jsontext` serve the JSON ones.
//! - `locate`: where browsers keep localStorage under a home directory.
//!
//! Adding a backend: write one module (a file, or a folder for a bigger one) with a type that
//! implements `Backend`, add its `BackendKind` variant (with its display name and serde name),
//! and add one line to the detection in `open` (`Store::open` for files, `Store::open_dir`
//! for directories) that recognises its files by content. Reads must never change a byte of
//! what they read; `save` must be all-or-nothing and leave the previous state readable.

mod area;
pub mod atomic;
pub mod chromium_sqlite;
pub(crate) mod debris;
pub mod firefox;
mod flat;
mod forensic;
pub(crate) mod jsontext;
pub mod leveldb;
pub mod live;
pub mod locate;
pub(crate) mod lock;
mod open;
mod origin;
mod playwright;
pub(crate) mod sqlite;
pub mod webkit;

use std::fmt;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

pub use area::{Area, ChangeSet, QUOTA_BYTES, area_bytes, entry_bytes};
pub use forensic::{HistoryView, open_history};
pub use live::LiveOptions;
pub use open::{OpenOptions, Store, StoreSource, render_flat, render_playwright};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A flat JSON object of key → string (`JSON.stringify(localStorage)`).
    Flat,
    /// A Playwright `storageState` file.
    Playwright,
    /// Chromium's `Local Storage/leveldb` directory (or a profile / user-data dir holding it).
    Leveldb,
    /// Firefox's `storage/default/<origin>/ls/data.sqlite` (a profile, the Firefox root
    /// holding `profiles.ini`, an origin directory, or the database itself).
    Firefox,
    /// Chromium's SQLite DOM storage, `<profile>/LocalStorage` (a profile or user-data dir
    /// holding it, or the file).
    #[serde(rename = "chromium-sqlite")]
    ChromiumSqlite,
    /// WebKit's (Safari, WebKitGTK, WPE, Epiphany): a website-data directory, its unified
    /// `storage` or legacy `localstorage` directory, or one database file.
    Webkit,
    /// A running Chromium-based browser over the DevTools protocol (`cdp://HOST:PORT`).
    Cdp,
    /// A running Firefox over WebDriver BiDi (`bidi://HOST:PORT`).
    Bidi,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Flat => "flat JSON dump",
            BackendKind::Playwright => "Playwright storage state",
            BackendKind::Leveldb => "Chromium LevelDB",
            BackendKind::Firefox => "Firefox",
            BackendKind::ChromiumSqlite => "Chromium SQLite",
            BackendKind::Webkit => "WebKit",
            BackendKind::Cdp => "running browser (DevTools protocol)",
            BackendKind::Bidi => "running browser (WebDriver BiDi)",
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
    /// The origin's usage as Firefox counts it (UTF-16 units of keys and values), from its
    /// own cache in the database (Firefox profiles only).
    #[serde(rename = "firefoxUsage", skip_serializing_if = "Option::is_none")]
    pub firefox_usage: Option<u64>,
}

/// What a backend offers; one implementation per store format.
pub trait Backend {
    fn kind(&self) -> BackendKind;
    /// Every origin of the store with its size (empty for a flat dump, which has no origin).
    fn origins(&mut self) -> Result<Vec<OriginInfo>>;
    /// For each origin, how many keys start with `prefix`. When some origin has such keys, a
    /// backend may leave out the origins that have none (a Firefox profile does not open
    /// databases that cannot hold the prefix); when none has any, every origin is listed.
    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>>;
    /// The origins whose namespace index (`<prefix>peers:index`) exists, which is how an origin
    /// is chosen without `--origin` when exactly one has it. A backend that can find them
    /// without visiting every origin overrides this.
    fn index_holders(&mut self, prefix: &str) -> Result<Vec<String>> {
        let index = format!("{prefix}{}", crate::peers::namespace::NsKey::Index.suffix());
        Ok(self
            .namespace_counts(&index)?
            .into_iter()
            .filter(|(o, n)| *n > 0 && !o.is_empty())
            .map(|(o, _)| o)
            .collect())
    }
    /// Whether the store has data for `origin` (without listing every origin where the
    /// backend can tell directly).
    fn has_origin(&mut self, origin: &str) -> Result<bool> {
        Ok(self.namespace_counts("")?.iter().any(|(o, _)| o == origin))
    }
    /// Whether a named origin is probed directly rather than found among all origins: a
    /// browser profile (possibly with hundreds of origins), where a write creates an origin
    /// that is not there yet.
    fn probes_origins(&self) -> bool {
        false
    }
    /// What the user should know about the store as opened (e.g. "the browser is running").
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Damage the store holds that reads work around but writes must not (a LevelDB log
    /// record that fails its checksum).
    fn damage(&self) -> Vec<StorageDamage> {
        Vec::new()
    }
    /// When the browser last wrote `origin` (epoch ms), where the store records it.
    fn last_modified(&mut self, origin: &str) -> Result<Option<f64>> {
        Ok(self
            .origins()?
            .into_iter()
            .find(|o| o.origin == origin)
            .and_then(|o| o.last_modified))
    }
    /// The map of one origin (`None` for a flat dump).
    fn load(&mut self, origin: Option<&str>) -> Result<Area>;
    /// Applies `changes` to `origin` in one atomic save, creating the origin if needed. Gives
    /// the path where the previous state is kept when the backend keeps one (a LevelDB
    /// directory is swapped, its predecessor kept beside it).
    fn save(
        &mut self,
        origin: Option<&str>,
        changes: &ChangeSet,
        opts: &SaveOptions,
    ) -> Result<Option<PathBuf>>;
    /// Reads back what the last save wrote and checks that `origin` holds exactly `expected`
    /// (without holding a second copy of a large store).
    fn verify(&mut self, origin: Option<&str>, expected: &Area) -> Result<()>;
}

/// The text of a store file a save just wrote, read back from disk.
fn read_back(path: &std::path::Path) -> Result<String> {
    use anyhow::Context;
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read back {}", path.display()))?;
    jsontext::into_text(bytes)
        .map_err(|p| crate::error::MeshError::invalid(path.display(), p).into())
}

/// Damage in a store's files that a read works around (and reports) but a write refuses.
#[derive(Debug, Clone, Serialize)]
pub struct StorageDamage {
    pub file: String,
    pub problem: String,
}

/// How a save may treat what it replaces.
#[derive(Debug, Clone, Copy)]
pub struct SaveOptions {
    /// How many previous databases meshpeers keeps beside a LevelDB profile it wrote (the
    /// oldest beyond that are removed after a successful write).
    pub keep_previous: usize,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions { keep_previous: 3 }
    }
}
