//! Checks a LevelDB write-ahead log (`NNNNNN.log`) record by record: 32 KiB blocks of records
//! `masked CRC-32C (4) | length (2) | type (1) | data`. LevelDB drops a record that fails its
//! checksum (and the rest of its block) without a word, so a damaged log reads as a store
//! missing records; meshpeers counts them so it can say so and refuse to write.

use super::raw::Op;

const BLOCK: usize = 32 * 1024;
const HEADER: usize = 7;

/// Records of a log that fail their checksum or carry an impossible length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDamage {
    pub bad_records: usize,
    /// Where the first one starts.
    pub first_offset: usize,
}

fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(0xa282_ead8).rotate_left(15)
}

/// One physical record of a log, as its blocks hold it.
enum Physical<'a> {
    /// A record whose checksum verifies: its offset, type (1 full, 2 first, 3 middle, 4 last)
    /// and data.
    Good(usize, u8, &'a [u8]),
    /// A record that fails its checksum or has an impossible type or length, at this offset
    /// (LevelDB drops it and the rest of its block).
    Bad(usize),
    /// A record cut short by the end of the file.
    Torn,
}

/// The physical records from byte `start` (a record boundary) on, skipping block padding.
fn physical(log: &[u8], start: usize) -> Vec<Physical<'_>> {
    let mut out = Vec::new();
    let mut off = start;
    while off < log.len() {
        let left = BLOCK - off % BLOCK;
        if left < HEADER {
            off += left;
            continue;
        }
        if off + HEADER > log.len() {
            out.push(Physical::Torn);
            break;
        }
        let h = &log[off..off + HEADER];
        let crc = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let len = usize::from(u16::from_le_bytes([h[4], h[5]]));
        let kind = h[6];
        if kind == 0 && len == 0 && crc == 0 {
            // Zeroed (preallocated) space: the rest of the block is padding.
            off += left;
            continue;
        }
        if HEADER + len > left {
            out.push(Physical::Bad(off));
            off += left;
            continue;
        }
        let end = off + HEADER + len;
        if end > log.len() {
            out.push(Physical::Torn);
            break;
        }
        let data = &log[off + HEADER..end];
        let sum = crc32c::crc32c_append(crc32c::crc32c(&[kind]), data);
        if !(1..=4).contains(&kind) || sum != unmask(crc) {
            out.push(Physical::Bad(off));
            off += left;
            continue;
        }
        out.push(Physical::Good(off, kind, data));
        off = end;
    }
    out
}

/// The damage in a log, if any. A record cut short by the end of the file is a write the
/// process did not finish (LevelDB ignores it too), not damage.
pub fn check(log: &[u8]) -> Option<LogDamage> {
    let bad: Vec<usize> = physical(log, 0)
        .into_iter()
        .filter_map(|p| match p {
            Physical::Bad(off) => Some(off),
            _ => None,
        })
        .collect();
    bad.first().map(|&first_offset| LogDamage {
        bad_records: bad.len(),
        first_offset,
    })
}

/// The logical records of a log from byte `start` (a record boundary) to its end, or `None`
/// when any of them is damaged or cut short.
pub fn records_from(log: &[u8], start: usize) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut partial: Option<Vec<u8>> = None;
    for p in physical(log, start) {
        let Physical::Good(_, kind, data) = p else {
            return None;
        };
        match (kind, partial.take()) {
            (1, None) => out.push(data.to_vec()),
            (2, None) => partial = Some(data.to_vec()),
            (3, Some(mut p)) => {
                p.extend_from_slice(data);
                partial = Some(p);
            }
            (4, Some(mut p)) => {
                p.extend_from_slice(data);
                out.push(p);
            }
            _ => return None,
        }
    }
    partial.is_none().then_some(out)
}

/// The logical records of a whole log that can be read, each with its offset, and the offsets
/// of the damaged physical records (each drops the rest of its block, and the record in
/// progress, as LevelDB does). A record cut short by the end of the file is an unfinished
/// write, not damage.
pub fn records_tolerant(log: &[u8]) -> (Vec<(usize, Vec<u8>)>, Vec<usize>) {
    let (mut out, mut bad) = (Vec::new(), Vec::new());
    let mut partial: Option<(usize, Vec<u8>)> = None;
    for p in physical(log, 0) {
        match p {
            Physical::Good(off, kind, data) => match (kind, partial.take()) {
                (1, _) => out.push((off, data.to_vec())),
                (2, _) => partial = Some((off, data.to_vec())),
                (3, Some((start, mut p))) => {
                    p.extend_from_slice(data);
                    partial = Some((start, p));
                }
                (4, Some((start, mut p))) => {
                    p.extend_from_slice(data);
                    out.push((start, p));
                }
                // A middle or last fragment whose start was lost with a damaged record.
                _ => {}
            },
            Physical::Bad(off) => {
                bad.push(off);
                partial = None;
            }
            Physical::Torn => {}
        }
    }
    (out, bad)
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn length_prefixed<'a>(b: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let len = usize::try_from(varint(b, pos)?).ok()?;
    let s = b.get(*pos..pos.checked_add(len)?)?;
    *pos += len;
    Some(s)
}

/// One entry of a write batch: kind, key, value.
pub type BatchEntry<'a> = (Op, &'a [u8], &'a [u8]);

/// The entries of a write-ahead log record (a WriteBatch: sequence, count, then puts and
/// deletes): the batch's first sequence number and each entry's kind, key and value (empty for
/// a deletion), or `None` when it does not decode.
pub fn batch_entries(record: &[u8]) -> Option<(u64, Vec<BatchEntry<'_>>)> {
    let seq = u64::from_le_bytes(record.get(..8)?.try_into().ok()?);
    let count = u32::from_le_bytes(record.get(8..12)?.try_into().ok()?);
    let mut pos = 12;
    let mut entries = Vec::with_capacity((count as usize).min(record.len()));
    for _ in 0..count {
        let kind = *record.get(pos)?;
        pos += 1;
        let key = length_prefixed(record, &mut pos)?;
        match kind {
            1 => entries.push((Op::Put, key, length_prefixed(record, &mut pos)?)),
            0 => entries.push((Op::Delete, key, &[][..])),
            _ => return None,
        }
    }
    (pos == record.len()).then_some((seq, entries))
}

/// The keys a write-ahead log record writes, or `None` when it does not decode.
pub fn batch_keys(record: &[u8]) -> Option<Vec<&[u8]>> {
    batch_entries(record).map(|(_, e)| e.into_iter().map(|(_, k, _)| k).collect())
}

/// What a MANIFEST record (a VersionEdit) changes: `Some(log number it sets, if any)` when it
/// only moves counters (log, next file, last sequence), compaction pointers (where the next
/// compaction of a level starts) or whole tables from one level to another (a "trivial
/// move": the same file, unread and unchanged); `None` when it adds or drops a table's data,
/// or does not decode.
pub fn edit_log_number(record: &[u8]) -> Option<Option<u64>> {
    let mut pos = 0;
    let mut log = None;
    let (mut deleted, mut added) = (Vec::new(), Vec::new());
    while pos < record.len() {
        match varint(record, &mut pos)? {
            2 => log = Some(varint(record, &mut pos)?),
            3 | 4 | 9 => {
                varint(record, &mut pos)?;
            }
            1 => {
                length_prefixed(record, &mut pos)?;
            }
            5 => {
                varint(record, &mut pos)?;
                length_prefixed(record, &mut pos)?;
            }
            6 => {
                varint(record, &mut pos)?;
                deleted.push(varint(record, &mut pos)?);
            }
            7 => {
                varint(record, &mut pos)?;
                added.push(varint(record, &mut pos)?);
                varint(record, &mut pos)?;
                length_prefixed(record, &mut pos)?;
                length_prefixed(record, &mut pos)?;
            }
            _ => return None,
        }
    }
    deleted.sort_unstable();
    added.sort_unstable();
    (deleted == added).then_some(log)
}

/// A table as the MANIFEST lists it: level, file number, smallest and largest internal keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMeta {
    pub level: u64,
    pub number: u64,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
}

/// What a whole MANIFEST leaves in place: the live tables and the log number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManifestState {
    pub log_number: Option<u64>,
    pub tables: Vec<TableMeta>,
}

/// Replays every edit of a MANIFEST; `None` when any record is damaged or does not decode.
pub fn manifest_state(manifest: &[u8]) -> Option<ManifestState> {
    let mut log = None;
    let mut tables: std::collections::BTreeMap<(u64, u64), TableMeta> =
        std::collections::BTreeMap::new();
    for record in records_from(manifest, 0)? {
        let mut pos = 0;
        while pos < record.len() {
            match varint(&record, &mut pos)? {
                1 => {
                    length_prefixed(&record, &mut pos)?;
                }
                2 => log = Some(varint(&record, &mut pos)?),
                3 | 4 | 9 => {
                    varint(&record, &mut pos)?;
                }
                5 => {
                    varint(&record, &mut pos)?;
                    length_prefixed(&record, &mut pos)?;
                }
                6 => {
                    let level = varint(&record, &mut pos)?;
                    let number = varint(&record, &mut pos)?;
                    tables.remove(&(level, number));
                }
                7 => {
                    let level = varint(&record, &mut pos)?;
                    let number = varint(&record, &mut pos)?;
                    varint(&record, &mut pos)?; // size
                    let smallest = length_prefixed(&record, &mut pos)?.to_vec();
                    let largest = length_prefixed(&record, &mut pos)?.to_vec();
                    tables.insert(
                        (level, number),
                        TableMeta {
                            level,
                            number,
                            smallest,
                            largest,
                        },
                    );
                }
                _ => return None,
            }
        }
    }
    Some(ManifestState {
        log_number: log,
        tables: tables.into_values().collect(),
    })
}

/// The log number a whole MANIFEST leaves set (the last one any edit sets).
pub fn manifest_log_number(manifest: &[u8]) -> Option<u64> {
    manifest_state(manifest)?.log_number
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u8, data: &[u8]) -> Vec<u8> {
        let crc = crc32c::crc32c_append(crc32c::crc32c(&[kind]), data);
        let masked = crc.rotate_right(15).wrapping_add(0xa282_ead8);
        let mut r = masked.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.push(kind);
        r.extend(data);
        r
    }

    #[test]
    fn a_flipped_byte_is_found_a_torn_tail_is_not() {
        let mut log = [
            record(1, b"first"),
            record(1, b"second"),
            record(1, b"third"),
        ]
        .concat();
        assert_eq!(check(&log), None);
        assert_eq!(check(&log[..log.len() - 2]), None, "a torn last record");
        let second = 7 + 5;
        log[second + 9] ^= 1;
        assert_eq!(
            check(&log),
            Some(LogDamage {
                bad_records: 1,
                first_offset: second
            })
        );
    }
}
