//! Checks a LevelDB table's structure before rusty-leveldb trusts it: the footer's block
//! handles, and every handle in the index block, must lie inside the file. rusty-leveldb
//! allocates a block's size before reading it, so a damaged handle (a size of 23 GB) would
//! abort the process instead of failing the read.

use std::fs::File;
use std::os::unix::fs::FileExt;

const FOOTER_LEN: usize = 48;
const TRAILER_LEN: u64 = 5;
const MAGIC: [u8; 8] = 0xdb47_7524_8b80_fb57_u64.to_le_bytes();

fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A block handle: (offset, size).
fn handle(b: &[u8]) -> Option<((u64, u64), usize)> {
    let (offset, a) = varint(b)?;
    let (size, c) = varint(&b[a..])?;
    Some(((offset, size), a + c))
}

/// Whether a handle's block (with its trailer) fits before the footer.
fn fits((offset, size): (u64, u64), len: u64) -> bool {
    offset
        .checked_add(size)
        .and_then(|e| e.checked_add(TRAILER_LEN))
        .is_some_and(|end| end <= len.saturating_sub(FOOTER_LEN as u64))
}

/// Reads and decodes (uncompressed or Snappy) the block at `h`.
fn read_block(file: &File, (offset, size): (u64, u64)) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; size as usize + TRAILER_LEN as usize];
    file.read_exact_at(&mut buf, offset)
        .map_err(|e| format!("the block at offset {offset} cannot be read: {e}"))?;
    let kind = buf[size as usize];
    buf.truncate(size as usize);
    match kind {
        0 => Ok(buf),
        1 => snap::raw::Decoder::new()
            .decompress_vec(&buf)
            .map_err(|e| format!("the block at offset {offset} does not decompress: {e}")),
        k => Err(format!(
            "the block at offset {offset} has an unknown compression {k}"
        )),
    }
}

/// Every block handle in a block's entries (the values of the index and metaindex blocks).
fn handles_in(block: &[u8]) -> Result<Vec<(u64, u64)>, String> {
    let bad = || "an index block entry is damaged".to_owned();
    if block.len() < 4 {
        return Err(bad());
    }
    let restarts = u32::from_le_bytes(block[block.len() - 4..].try_into().map_err(|_| bad())?);
    let data_end = block
        .len()
        .checked_sub(4 + 4 * restarts as usize)
        .ok_or_else(bad)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < data_end {
        let (_shared, a) = varint(&block[i..data_end]).ok_or_else(bad)?;
        let (unshared, b) = varint(&block[i + a..data_end]).ok_or_else(bad)?;
        let (value_len, c) = varint(&block[i + a + b..data_end]).ok_or_else(bad)?;
        let value_start = (i + a + b + c)
            .checked_add(unshared as usize)
            .filter(|v| *v <= data_end)
            .ok_or_else(bad)?;
        let value_end = value_start
            .checked_add(value_len as usize)
            .filter(|v| *v <= data_end)
            .ok_or_else(bad)?;
        out.push(handle(&block[value_start..value_end]).ok_or_else(bad)?.0);
        i = value_end;
    }
    Ok(out)
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
        for inner in handles_in(&read_block(file, h)?)? {
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
