//! Checks a LevelDB write-ahead log (`NNNNNN.log`) record by record: 32 KiB blocks of records
//! `masked CRC-32C (4) | length (2) | type (1) | data`. LevelDB drops a record that fails its
//! checksum (and the rest of its block) without a word, so a damaged log reads as a store
//! missing records; meshpeers counts them so it can say so and refuse to write.

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

/// The damage in a log, if any. A record cut short by the end of the file is a write the
/// process did not finish (LevelDB ignores it too), not damage.
pub fn check(log: &[u8]) -> Option<LogDamage> {
    let (mut off, mut bad, mut first) = (0, 0, None);
    while off < log.len() {
        let left = BLOCK - off % BLOCK;
        if left < HEADER || off + HEADER > log.len() {
            off += left;
            continue;
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
            bad += 1;
            first.get_or_insert(off);
            off += left;
            continue;
        }
        let end = off + HEADER + len;
        if end > log.len() {
            break;
        }
        let sum = crc32c::crc32c_append(crc32c::crc32c(&[kind]), &log[off + HEADER..end]);
        if !(1..=4).contains(&kind) || sum != unmask(crc) {
            bad += 1;
            first.get_or_insert(off);
            off += left;
            continue;
        }
        off = end;
    }
    first.map(|first_offset| LogDamage {
        bad_records: bad,
        first_offset,
    })
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
