//! One origin's history as a LevelDB directory's files still hold it: every version of its
//! keys (`_<origin>\0…`) and of its `META:<origin>` record, decoded, oldest first.

use std::path::Path;

use anyhow::Result;

use super::raw::{self, Damage, Op, Select};
use super::{encoding, meta, origin_prefix};
use crate::js::JsString;

/// One version of one of the origin's keys.
#[derive(Clone, Debug)]
pub struct KeyVersion {
    pub key: JsString,
    pub seq: u64,
    pub op: Op,
    /// The value as the page would see it (`None` for a deletion).
    pub value: Option<JsString>,
    /// The stored value's size in bytes (format byte included; 0 for a deletion).
    pub stored_bytes: usize,
    pub file: String,
    /// The write batch (first sequence, count) when a log holds the version.
    pub batch: Option<(u64, u32)>,
}

/// A version of `META:<origin>`: when the browser committed, and the origin's size then.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Commit {
    pub seq: u64,
    /// Epoch milliseconds.
    pub time_ms: f64,
    pub size_bytes: u64,
    pub batch: Option<(u64, u32)>,
}

impl PartialEq for KeyVersion {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.seq == other.seq
    }
}

/// What the files hold of one origin.
pub struct OriginHistory {
    /// Every version of every key, ordered by sequence number (oldest first).
    pub versions: Vec<KeyVersion>,
    /// The versions of `META:<origin>` (commits), oldest first.
    pub commits: Vec<Commit>,
    pub damage: Vec<Damage>,
    pub files: Vec<String>,
    /// The newest sequence number any file holds (for any key).
    pub last_seq: u64,
}

/// Reads the origin's history from `dir`, scanning again when a running browser compacts a
/// file away under the read.
pub fn read(dir: &Path, origin: &str) -> Result<OriginHistory> {
    let data = origin_prefix(origin);
    let meta_key = [b"META:".as_slice(), origin.as_bytes()].concat();
    let prefixes = [data.clone(), meta_key.clone()];
    let scan = rescan(dir, &Select::Prefixes(&prefixes))?;
    let mut versions = Vec::new();
    let mut commits = Vec::new();
    for v in &scan.versions {
        if v.key == meta_key {
            if v.op == Op::Put {
                if let Some(m) = meta::Meta::decode(&v.value) {
                    commits.push(Commit {
                        seq: v.seq,
                        time_ms: m.unix_ms(),
                        size_bytes: m.size_bytes,
                        batch: v.batch,
                    });
                }
            }
            continue;
        }
        let Some(key) = v.key.strip_prefix(data.as_slice()) else {
            continue; // `META:<origin>…` of a longer origin
        };
        versions.push(KeyVersion {
            key: encoding::decode(key),
            seq: v.seq,
            op: v.op,
            value: (v.op == Op::Put).then(|| encoding::decode(&v.value)),
            stored_bytes: v.value.len(),
            file: v.file.clone(),
            batch: v.batch,
        });
    }
    versions.sort_by_key(|v| v.seq);
    commits.sort_by_key(|c| c.seq);
    commits.retain(|c| c.seq != 0 || c.time_ms != 0.0);
    let last_seq = scan.versions.iter().map(|v| v.seq).max().unwrap_or(0);
    Ok(OriginHistory {
        versions,
        commits,
        damage: scan.damage,
        files: scan.files,
        last_seq,
    })
}

/// A scan of `dir`, again (a few times) when a file vanished under a running browser.
pub fn rescan(dir: &Path, select: &Select) -> Result<raw::Scan> {
    let mut attempt = 0;
    loop {
        match raw::scan(dir, select) {
            Err(e) if e.is::<raw::Vanished>() && attempt < 4 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
            }
            other => return other,
        }
    }
}

/// The origins whose namespace keys (`prefix`) any version in the files holds, with how many
/// such keys each has (deleted ones included): where the namespace was when no origin holds
/// it any more (after the app's logout).
pub fn namespace_origins_in_files(dir: &Path, prefix: &str) -> Result<Vec<(String, usize)>> {
    let js = JsString::from(prefix);
    let encodings: Vec<Vec<u8>> = std::iter::once(encoding::utf16(&js))
        .chain(encoding::latin1(&js))
        .collect();
    let split = |key: &[u8]| -> Option<(usize, usize)> {
        let rest = key.strip_prefix(b"_")?;
        let end = rest.iter().position(|b| *b == 0)?;
        Some((end, end + 2))
    };
    let test = |key: &[u8]| {
        split(key).is_some_and(|(_, start)| encodings.iter().any(|e| key[start..].starts_with(e)))
    };
    let scan = rescan(dir, &Select::Matching(&test))?;
    let mut counts: std::collections::BTreeMap<String, std::collections::BTreeSet<&[u8]>> =
        std::collections::BTreeMap::new();
    for v in &scan.versions {
        if let Some((end, _)) = split(&v.key) {
            counts
                .entry(String::from_utf8_lossy(&v.key[1..=end]).into_owned())
                .or_default()
                .insert(&v.key);
        }
    }
    Ok(counts
        .into_iter()
        .map(|(o, keys)| (o, keys.len()))
        .collect())
}
