//! Checks a LevelDB table's structure before rusty-leveldb trusts it: the footer's block
//! handles, and every handle in the index block, must lie inside the file. rusty-leveldb
//! allocates a block's size before reading it, so a damaged handle (a size of 23 GB) would
//! abort the process instead of failing the read.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::raw::{FOOTER_LEN, MAGIC, TRAILER_LEN, block_entries, handle, read_block};

/// Whether a handle's block (with its trailer) fits before the footer.
fn fits((offset, size): (u64, u64), len: u64) -> bool {
    offset
        .checked_add(size)
        .and_then(|e| e.checked_add(TRAILER_LEN))
        .is_some_and(|end| end <= len.saturating_sub(FOOTER_LEN as u64))
}

/// Every block handle in a block's entries (the values of the index and metaindex blocks).
fn handles_in(block: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let bad = || "an index block entry is damaged".to_owned();
    block_entries(block)
        .map_err(|_| bad())?
        .into_iter()
        .map(|(_, v)| handle(v).map(|(h, _)| h).ok_or_else(bad))
        .collect()
}

/// Checks the footer, the metaindex and the index of the table in `file` (of `len` bytes).
pub fn check(file: &File, len: u64) -> Result<(), String> {
    if len < FOOTER_LEN as u64 {
        return Err(format!(
            "the table is {len} bytes long, too short to hold its {FOOTER_LEN}-byte footer (truncated)"
        ));
    }
    let mut footer = [0u8; FOOTER_LEN];
    file.read_exact_at(&mut footer, len - FOOTER_LEN as u64)
        .map_err(|e| format!("the footer cannot be read: {e}"))?;
    if footer[FOOTER_LEN - 8..] != MAGIC {
        return Err(format!(
            "the table footer is damaged (no table magic number at the end of its {len} bytes: truncated, or bytes appended)"
        ));
    }
    let damaged = || "the table footer is damaged (its block handles do not decode)".to_owned();
    let (meta, a) = handle(&footer).ok_or_else(damaged)?;
    let (index, _) = handle(&footer[a..]).ok_or_else(damaged)?;
    for (what, h) in [("metaindex", meta), ("index", index)] {
        if !fits(h, len) {
            return Err(format!(
                "the footer's {what} block ({} bytes at offset {}) lies outside the {len}-byte table",
                h.1, h.0
            ));
        }
    }
    for (what, h) in [("metaindex", meta), ("index", index)] {
        for inner in handles_in(&read_block(file, h, false)?)? {
            if !fits(inner, len) {
                return Err(format!(
                    "the {what} block names a block ({} bytes at offset {}) outside the {len}-byte table",
                    inner.1, inner.0
                ));
            }
        }
    }
    Ok(())
}
