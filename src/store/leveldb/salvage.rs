//! `--salvage`: a damaged database read from its files' intact parts. Every log record and
//! table block that verifies is read; the newest version of each key wins, as in the
//! database; each damaged block or record is reported. Such a view may miss records (those in
//! the damaged parts, or an older version may show through where the newer one was lost), so
//! it is never written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::raw::{Op, Select};
use super::{encoding, history, meta};
use crate::error::MeshError;
use crate::js::JsString;
use crate::store::{Area, Backend, BackendKind, OriginInfo, StorageDamage, entry_bytes};

/// A key and its value as stored (format byte included).
type RawEntry = (Vec<u8>, Vec<u8>);

pub struct SalvageStore {
    dir: PathBuf,
    /// The newest intact version of every origin's data keys: origin → (key, value) in key
    /// order.
    origins: BTreeMap<String, Vec<RawEntry>>,
    /// `META:<origin>` → last modified (epoch ms).
    modified: BTreeMap<String, f64>,
    damage: Vec<StorageDamage>,
    records: usize,
    files: usize,
}

impl SalvageStore {
    pub fn open(dir: &Path) -> Result<SalvageStore> {
        let scan = history::rescan(dir, &Select::All)?;
        let mut origins: BTreeMap<String, Vec<RawEntry>> = BTreeMap::new();
        let mut modified = BTreeMap::new();
        let mut records = 0;
        for (key, v) in scan.live() {
            debug_assert_eq!(v.op, Op::Put);
            if let Some(origin) = key.strip_prefix(b"META:") {
                if let Some(m) = meta::Meta::decode(&v.value) {
                    modified.insert(String::from_utf8_lossy(origin).into_owned(), m.unix_ms());
                }
                continue;
            }
            let Some(rest) = key.strip_prefix(b"_") else {
                continue;
            };
            let Some(end) = rest.iter().position(|b| *b == 0) else {
                continue;
            };
            records += 1;
            origins
                .entry(String::from_utf8_lossy(&rest[..end]).into_owned())
                .or_default()
                .push((rest[end + 1..].to_vec(), v.value.clone()));
        }
        let damage = scan
            .damage
            .iter()
            .map(|d| StorageDamage {
                file: dir.join(&d.file).display().to_string(),
                problem: format!("{}; --salvage skipped it", d.problem),
            })
            .collect();
        Ok(SalvageStore {
            dir: dir.to_path_buf(),
            origins,
            modified,
            damage,
            records,
            files: scan.files.len(),
        })
    }
}

impl Backend for SalvageStore {
    fn kind(&self) -> BackendKind {
        BackendKind::Leveldb
    }

    fn notes(&self) -> Vec<String> {
        vec![format!(
            "--salvage: read {} from the intact parts of {} ({} damaged); this view is never written",
            crate::words::count(self.records, "record"),
            crate::words::count(self.files, "file"),
            crate::words::count(self.damage.len(), "part"),
        )]
    }

    fn damage(&self) -> Vec<StorageDamage> {
        self.damage.clone()
    }

    fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        let names: Vec<String> = self.origins.keys().cloned().collect();
        names
            .into_iter()
            .map(|o| {
                let area = self.load(Some(&o))?;
                Ok(OriginInfo {
                    keys: area.len(),
                    bytes: area.iter().map(|(k, v)| entry_bytes(k, v)).sum(),
                    last_modified: self.modified.get(&o).copied(),
                    firefox_usage: None,
                    origin: o,
                })
            })
            .collect()
    }

    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>> {
        let js = JsString::from(prefix);
        let encodings: Vec<Vec<u8>> = std::iter::once(encoding::utf16(&js))
            .chain(encoding::latin1(&js))
            .collect();
        Ok(self
            .origins
            .iter()
            .map(|(o, keys)| {
                let n = keys
                    .iter()
                    .filter(|(k, _)| encodings.iter().any(|e| k.starts_with(e)))
                    .count();
                (o.clone(), n)
            })
            .collect())
    }

    fn last_modified(&mut self, origin: &str) -> Result<Option<f64>> {
        Ok(self.modified.get(origin).copied())
    }

    fn load(&mut self, origin: Option<&str>) -> Result<Area> {
        let mut area = Area::new();
        if let Some(keys) = origin.and_then(|o| self.origins.get(o)) {
            for (k, v) in keys {
                area.insert(encoding::decode(k), encoding::decode(v));
            }
        }
        Ok(area)
    }

    fn save(
        &mut self,
        _origin: Option<&str>,
        _changes: &crate::store::ChangeSet,
        _opts: &crate::store::SaveOptions,
    ) -> Result<Option<PathBuf>> {
        Err(salvage_refusal(&self.dir).into())
    }

    fn verify(&mut self, _origin: Option<&str>, _expected: &Area) -> Result<()> {
        Err(salvage_refusal(&self.dir).into())
    }
}

/// Why a salvaged view is not written.
pub fn salvage_refusal(dir: &Path) -> MeshError {
    MeshError::usage_hint(
        format!(
            "{}: --salvage reads what survives of a damaged profile, and a write never runs on it (it may miss records); nothing was written",
            dir.display()
        ),
        "keep what survives with `meshpeers export --salvage -o FILE` (or `recover --salvage`), then import it into a healthy store",
    )
}
