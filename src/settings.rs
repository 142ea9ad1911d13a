//! Arguments and environment resolved once: which store, which origin, which `now`, how to
//! print.

use anyhow::Result;
use serde_json::Value;

use crate::cli::GlobalArgs;
use crate::error::MeshError;
use crate::js::value as jsval;
use crate::store::{BackendKind, HistoryView, OpenOptions, Store, StoreSource};

#[derive(Debug, Clone)]
pub struct Settings {
    pub store: Option<StoreSource>,
    pub format: Option<BackendKind>,
    pub origin: Option<String>,
    pub prefix: String,
    pub profile: Option<String>,
    /// Epoch milliseconds.
    pub now: f64,
    pub json: bool,
    pub iso: bool,
    pub live: crate::store::LiveOptions,
    /// `--salvage`: read a damaged LevelDB profile's intact parts.
    pub salvage: bool,
}

impl Settings {
    pub fn from_args(g: &GlobalArgs) -> Settings {
        Settings {
            store: g.store.as_deref().map(StoreSource::parse),
            format: g.store_format.map(Into::into),
            origin: g.origin.clone(),
            prefix: g.prefix.clone(),
            profile: g.profile.clone(),
            now: g.now.unwrap_or_else(crate::time::now_ms),
            json: g.json,
            iso: g.iso,
            live: crate::store::LiveOptions {
                allow_remote: g.allow_remote,
                timeout: std::time::Duration::from_secs_f64(g.browser_timeout),
            },
            salvage: g.salvage,
        }
    }

    pub fn open_store(&self) -> Result<Store> {
        self.open(false)
    }

    /// The store for a writing command: a store file stays locked from this read to the
    /// save unless the run is a dry run.
    pub fn open_store_for_write(&self, args: &crate::cli::WriteArgs) -> Result<Store> {
        self.open(!args.dry_run)
    }

    /// `--store`, which every command but `locate` needs.
    fn source(&self) -> Result<StoreSource> {
        self.store.clone().ok_or_else(|| {
            MeshError::usage_hint(
                "no store given",
                "pass --store PATH (or set MESHPEERS_STORE)",
            )
            .into()
        })
    }

    fn open(&self, lock_for_write: bool) -> Result<Store> {
        let source = self.source()?;
        self.open_source(source, self.origin.clone(), lock_for_write)
    }

    /// Another store than `--store` (a side of `diff`), read-only, with its own origin.
    pub fn open_other(&self, arg: &str, origin: Option<String>) -> Result<Store> {
        self.open_source(StoreSource::parse(arg), origin, false)
    }

    fn options(
        &self,
        source: StoreSource,
        origin: Option<String>,
        lock_for_write: bool,
    ) -> OpenOptions {
        OpenOptions {
            source,
            format: self.format,
            origin,
            prefix: self.prefix.clone(),
            profile: self.profile.clone(),
            lock_for_write,
            live: self.live.clone(),
            salvage: self.salvage,
        }
    }

    fn open_source(
        &self,
        source: StoreSource,
        origin: Option<String>,
        lock_for_write: bool,
    ) -> Result<Store> {
        let store = Store::open(&self.options(source, origin, lock_for_write))?;
        for note in &store.notes {
            crate::output::note(note);
        }
        for d in &store.damage {
            crate::output::warn(&format!("{}: {}", d.file, d.problem));
        }
        Ok(store)
    }

    /// The history `--store` holds (a LevelDB profile's files), for `command`.
    pub fn open_history(&self, command: &str) -> Result<HistoryView> {
        let source = self.source()?;
        let view =
            crate::store::open_history(&self.options(source, self.origin.clone(), false), command)?;
        for note in &view.notes {
            crate::output::note(note);
        }
        for d in &view.history.damage {
            crate::output::warn(&format!(
                "{}: {}; --salvage skipped it",
                view.dir.join(&d.file).display(),
                d.problem
            ));
        }
        Ok(view)
    }

    /// A record timestamp for a table: relative (or ISO with `--iso`), `never` when null or
    /// absent.
    pub fn time(&self, v: Option<&Value>) -> String {
        match v {
            None | Some(Value::Null) => "never".into(),
            Some(v) => {
                let ms = jsval::to_number(Some(v));
                if self.iso {
                    crate::time::iso(ms)
                } else {
                    crate::time::relative(ms, self.now)
                }
            }
        }
    }
}
