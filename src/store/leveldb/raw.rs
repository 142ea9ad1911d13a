//! Reads a LevelDB directory's files themselves, below the database: every version of every
//! key that a table (`.ldb`/`.sst`) or a write-ahead log (`.log`) still holds — the live one,
//! older ones that compaction has not yet dropped, and deletions (tombstones) — each with its
//! sequence number and the file it came from. Damage is met block by block: a table block that
//! fails its checksum, or a log record that does, is reported and skipped, and everything else
//! is still read (what `history`, `recover` and `--salvage` are built on).
//!
//! Only reads: no file is opened for writing, and a file that vanishes under a running
//! browser's compaction makes the caller scan again.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::output::progress::Progress;
use anyhow::{Context, Result};

pub(super) const FOOTER_LEN: usize = 48;
pub(super) const TRAILER_LEN: u64 = 5;
pub(super) const MAGIC: [u8; 8] = 0xdb47_7524_8b80_fb57_u64.to_le_bytes();

/// A LevelDB varint: (value, bytes used).
pub(super) fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A block handle: ((offset, size), bytes used).
pub(super) fn handle(b: &[u8]) -> Option<((u64, u64), usize)> {
    let (offset, a) = varint(b)?;
    let (size, c) = varint(&b[a..])?;
    Some(((offset, size), a + c))
}

fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(0xa282_ead8).rotate_left(15)
}

/// Reads the block at `h` with its trailer, checks its checksum when `verify`, and decodes it
/// (uncompressed or Snappy).
pub(super) fn read_block(
    file: &File,
    (offset, size): (u64, u64),
    verify: bool,
) -> Result<Vec<u8>, String> {
    let total = usize::try_from(size)
        .ok()
        .and_then(|s| s.checked_add(TRAILER_LEN as usize))
        .ok_or_else(|| format!("the block at offset {offset} has an impossible size {size}"))?;
    let mut buf = vec![0u8; total];
    file.read_exact_at(&mut buf, offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!(
                "truncated: the block at offset {offset} ({size} bytes) ends past the end of the file"
            )
        } else {
            format!("the block at offset {offset} cannot be read: {e}")
        }
    })?;
    decode_block(&buf, (offset, size), verify)
}

/// Decodes the block `h` whose bytes (with their 5-byte trailer) are `buf`.
pub(super) fn decode_block(buf: &[u8], h: (u64, u64), verify: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    decode_block_into(buf, h, verify, &mut out)?;
    Ok(out)
}

/// `decode_block` into `out` (replacing what it held, reusing its memory).
pub(super) fn decode_block_into(
    buf: &[u8],
    (offset, size): (u64, u64),
    verify: bool,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let size = size as usize;
    if buf.len() != size + TRAILER_LEN as usize {
        return Err(format!("the block at offset {offset} is cut short"));
    }
    let kind = buf[size];
    if verify {
        let stored =
            u32::from_le_bytes([buf[size + 1], buf[size + 2], buf[size + 3], buf[size + 4]]);
        if crc32c::crc32c_append(crc32c::crc32c(&buf[..size]), &[kind]) != unmask(stored) {
            return Err(format!(
                "the block at offset {offset} ({size} bytes) fails its checksum"
            ));
        }
    }
    let data = &buf[..size];
    out.clear();
    match kind {
        0 => out.extend_from_slice(data),
        1 => {
            let len = snap::raw::decompress_len(data)
                .map_err(|e| format!("the block at offset {offset} does not decompress: {e}"))?;
            out.resize(len, 0);
            snap::raw::Decoder::new()
                .decompress(data, out)
                .map_err(|e| format!("the block at offset {offset} does not decompress: {e}"))?;
        }
        k => {
            return Err(format!(
                "the block at offset {offset} has an unknown compression {k}"
            ));
        }
    }
    Ok(())
}

/// A block entry: its whole key and its value.
pub(super) type BlockEntry<'a> = (Vec<u8>, &'a [u8]);

/// A block's entries (key, value), prefix compression undone.
pub(super) fn block_entries(block: &[u8]) -> Result<Vec<BlockEntry<'_>>, String> {
    let mut out: Vec<BlockEntry> = Vec::new();
    for_each_entry(block, |k, v| out.push((k.to_vec(), v)))?;
    Ok(out)
}

/// Calls `f` with each entry of a block (its whole key, its value), in order, reusing one key
/// buffer.
pub(super) fn for_each_entry<'b>(
    block: &'b [u8],
    mut f: impl FnMut(&[u8], &'b [u8]),
) -> Result<(), String> {
    let bad = || "a block entry is damaged".to_owned();
    if block.len() < 4 {
        return Err(bad());
    }
    let restarts = u32::from_le_bytes(block[block.len() - 4..].try_into().map_err(|_| bad())?);
    let data_end = (restarts as usize)
        .checked_mul(4)
        .and_then(|r| block.len().checked_sub(4 + r))
        .ok_or_else(bad)?;
    let mut last: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < data_end {
        let rest = &block[i..data_end];
        let (shared, a) = varint(rest).ok_or_else(bad)?;
        let (unshared, b) = varint(&rest[a..]).ok_or_else(bad)?;
        let (value_len, c) = varint(&rest[a + b..]).ok_or_else(bad)?;
        let key_start = i + a + b + c;
        let key_end = key_start
            .checked_add(unshared as usize)
            .filter(|v| *v <= data_end)
            .ok_or_else(bad)?;
        let value_end = key_end
            .checked_add(value_len as usize)
            .filter(|v| *v <= data_end)
            .ok_or_else(bad)?;
        if shared as usize > last.len() {
            return Err(bad());
        }
        last.truncate(shared as usize);
        last.extend_from_slice(&block[key_start..key_end]);
        f(&last, &block[key_end..value_end]);
        i = value_end;
    }
    Ok(())
}

/// What a version does to its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Put,
    Delete,
}

/// One version of one key, as a file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// The user key (`META:…`, `_<origin>\0<format><key>`, …).
    pub key: Vec<u8>,
    pub seq: u64,
    pub op: Op,
    /// The stored value (empty for a deletion).
    pub value: Vec<u8>,
    /// The file's name inside the directory.
    pub file: String,
    /// For a log record: the write batch's first sequence number and its count (a batch is
    /// one commit of the browser: every key it wrote at one moment).
    pub batch: Option<(u64, u32)>,
}

/// A part of a file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Damage {
    pub file: String,
    /// Where the damaged block or record starts, when it can be told.
    pub offset: Option<u64>,
    pub problem: String,
}

/// Which keys to read: every key, or those under one of some prefixes (a table's blocks whose
/// key range misses every prefix are not read at all).
pub enum Select<'a> {
    All,
    Prefixes(&'a [Vec<u8>]),
    /// Keys this test accepts (every block is read).
    Matching(&'a dyn Fn(&[u8]) -> bool),
}

impl Select<'_> {
    fn wants(&self, key: &[u8]) -> bool {
        match self {
            Select::All => true,
            Select::Prefixes(ps) => ps.iter().any(|p| key.starts_with(p)),
            Select::Matching(test) => test(key),
        }
    }

    /// Whether a block whose user keys lie in `[low, high]` (`low` unknown for the first
    /// block) can hold a wanted key.
    fn block_may_hold(&self, low: Option<&[u8]>, high: &[u8]) -> bool {
        match self {
            Select::All | Select::Matching(_) => true,
            Select::Prefixes(ps) => ps.iter().any(|p| {
                high >= p.as_slice() && low.is_none_or(|l| l <= p.as_slice() || l.starts_with(p))
            }),
        }
    }
}

/// Everything a scan found.
#[derive(Default)]
pub struct Scan {
    /// Every version found, deduplicated by (key, sequence), ordered by key then sequence.
    pub versions: Vec<Version>,
    pub damage: Vec<Damage>,
    /// The files read (tables and logs), by name.
    pub files: Vec<String>,
}

impl Scan {
    /// The newest version of each key: the database as the files hold it (a key whose newest
    /// version is a deletion is absent).
    pub fn live(&self) -> BTreeMap<&[u8], &Version> {
        let mut out: BTreeMap<&[u8], &Version> = BTreeMap::new();
        for v in &self.versions {
            out.insert(&v.key, v); // ordered by sequence within a key: the last one wins
        }
        out.retain(|_, v| v.op == Op::Put);
        out
    }
}

/// A file vanished while it was being read (a running browser compacted it away).
#[derive(Debug, thiserror::Error)]
#[error("{0} vanished while it was read")]
pub struct Vanished(pub String);

/// Reads every table and log of `dir`, keeping the keys `select` wants.
pub fn scan(dir: &Path, select: &Select) -> Result<Scan> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| is_table(n) || n.ends_with(".log"))
        .collect();
    names.sort();
    let mut scan = Scan::default();
    let progress = Progress::items(names.len() as u64, format!("reading {}", dir.display()));
    for name in &names {
        progress.inc(1);
        let path = dir.join(name);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Vanished(name.clone()).into());
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        if is_table(name) {
            read_table(&file, name, select, &mut scan);
        } else {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            read_log(&bytes, name, select, &mut scan);
        }
        scan.files.push(name.clone());
    }
    scan.versions
        .sort_by(|a, b| a.key.cmp(&b.key).then(a.seq.cmp(&b.seq)));
    // The same version in two files (a log not yet deleted after its flush, a table not yet
    // deleted after a compaction): kept once, from the log when one holds it (it names the
    // batch).
    scan.versions.dedup_by(|later, kept| {
        if later.key == kept.key && later.seq == kept.seq {
            if kept.batch.is_none() && later.batch.is_some() {
                std::mem::swap(later, kept);
            }
            true
        } else {
            false
        }
    });
    Ok(scan)
}

pub(super) fn is_table(name: &str) -> bool {
    name.ends_with(".ldb") || name.ends_with(".sst")
}

fn read_table(file: &File, name: &str, select: &Select, scan: &mut Scan) {
    let damage = |scan: &mut Scan, offset: Option<u64>, problem: String| {
        // Every problem names where it is.
        let problem = match offset {
            Some(o) if !problem.contains("offset") => format!("the block at offset {o}: {problem}"),
            _ => problem,
        };
        scan.damage.push(Damage {
            file: name.to_owned(),
            offset,
            problem,
        });
    };
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return damage(scan, None, format!("cannot be read: {e}")),
    };
    if len < FOOTER_LEN as u64 {
        return damage(
            scan,
            None,
            format!(
                "the table is {len} bytes long, too short to hold its {FOOTER_LEN}-byte footer (truncated); none of it could be read"
            ),
        );
    }
    let mut footer = [0u8; FOOTER_LEN];
    if let Err(e) = file.read_exact_at(&mut footer, len - FOOTER_LEN as u64) {
        return damage(scan, None, format!("the footer cannot be read: {e}"));
    }
    let index = (footer[FOOTER_LEN - 8..] == MAGIC)
        .then(|| handle(&footer).and_then(|(_, a)| handle(&footer[a..])))
        .flatten();
    let Some((index, _)) = index else {
        return damage(
            scan,
            Some(len - FOOTER_LEN as u64),
            format!(
                "the table footer (at offset {}) is damaged (truncated, or bytes appended); none of the table could be read",
                len - FOOTER_LEN as u64
            ),
        );
    };
    let index_block = match read_block(file, index, true) {
        Ok(b) => b,
        Err(problem) => {
            return damage(
                scan,
                Some(index.0),
                format!("{problem}: it is the table's index, so none of the table could be read"),
            );
        }
    };
    let entries = match block_entries(&index_block) {
        Ok(e) => e,
        Err(problem) => {
            return damage(
                scan,
                Some(index.0),
                format!("the index block: {problem}; none of the table could be read"),
            );
        }
    };
    let mut low: Option<Vec<u8>> = None;
    for (sep, value) in entries {
        let high = user_key(&sep).to_vec();
        let Some((h, _)) = handle(value) else {
            damage(scan, Some(index.0), "an index entry is damaged".into());
            continue;
        };
        if select.block_may_hold(low.as_deref(), &high) {
            match read_block(file, h, true).and_then(|b| {
                let mut kept = Vec::new();
                for (ikey, v) in block_entries(&b)? {
                    if ikey.len() < 8 {
                        return Err("a block entry is damaged (a key without its sequence)".into());
                    }
                    let ukey = user_key(&ikey);
                    if !select.wants(ukey) {
                        continue;
                    }
                    let tag =
                        u64::from_le_bytes(ikey[ikey.len() - 8..].try_into().expect("8 bytes"));
                    let op = match tag & 0xff {
                        1 => Op::Put,
                        0 => Op::Delete,
                        _ => return Err("a block entry has an unknown kind".into()),
                    };
                    kept.push(Version {
                        key: ukey.to_vec(),
                        seq: tag >> 8,
                        op,
                        value: if op == Op::Put {
                            v.to_vec()
                        } else {
                            Vec::new()
                        },
                        file: name.to_owned(),
                        batch: None,
                    });
                }
                Ok(kept)
            }) {
                Ok(kept) => scan.versions.extend(kept),
                Err(problem) => damage(scan, Some(h.0), problem),
            }
        }
        low = Some(high);
    }
}

/// The user key of an internal key (the key without its 8-byte sequence and kind).
fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len().saturating_sub(8)]
}

fn read_log(bytes: &[u8], name: &str, select: &Select, scan: &mut Scan) {
    let (records, bad) = super::logcheck::records_tolerant(bytes);
    for offset in bad {
        scan.damage.push(Damage {
            file: name.to_owned(),
            offset: Some(offset as u64),
            problem: format!(
                "the log record at offset {offset} fails its checksum (it and the rest of its 32 KiB block are skipped)"
            ),
        });
    }
    for (offset, record) in records {
        let Some((base, entries)) = super::logcheck::batch_entries(&record) else {
            scan.damage.push(Damage {
                file: name.to_owned(),
                offset: Some(offset as u64),
                problem: format!("the log record at offset {offset} is not a write batch"),
            });
            continue;
        };
        let count = entries.len() as u32;
        for (i, (op, key, value)) in entries.into_iter().enumerate() {
            if !select.wants(key) {
                continue;
            }
            scan.versions.push(Version {
                key: key.to_vec(),
                seq: base + i as u64,
                op,
                value: value.to_vec(),
                file: name.to_owned(),
                batch: Some((base, count)),
            });
        }
    }
}
