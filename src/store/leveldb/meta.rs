//! `META:<origin>` records: protobuf `{ int64 last_modified = 1; uint64 size_bytes = 2; }` with
//! times in microseconds since 1601-01-01 (base::Time's internal value).

/// Microseconds between 1601-01-01 and 1970-01-01.
pub const EPOCH_DELTA_US: i64 = 11_644_473_600_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// µs since 1601-01-01 UTC.
    pub last_modified: i64,
    pub size_bytes: u64,
}

impl Meta {
    pub fn decode(mut b: &[u8]) -> Option<Meta> {
        let (mut time, mut size) = (None, None);
        while let Some((&tag, rest)) = b.split_first() {
            let (v, rest) = varint(rest)?;
            match tag {
                0x08 => time = Some(v as i64),
                0x10 => size = Some(v),
                _ => return None,
            }
            b = rest;
        }
        Some(Meta {
            last_modified: time?,
            size_bytes: size.unwrap_or(0),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0x08];
        put_varint(&mut out, self.last_modified as u64);
        out.push(0x10);
        put_varint(&mut out, self.size_bytes);
        out
    }

    /// Unix epoch milliseconds of `last_modified`.
    pub fn unix_ms(&self) -> f64 {
        (self.last_modified - EPOCH_DELTA_US) as f64 / 1000.0
    }
}

/// Unix epoch milliseconds as Chromium's internal time (µs since 1601).
pub fn chromium_time(unix_ms: f64) -> i64 {
    (unix_ms * 1000.0) as i64 + EPOCH_DELTA_US
}

fn varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, &b[i + 1..]));
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_example() {
        let bytes = [
            0x08, 0xcb, 0xa1, 0xf5, 0xbc, 0xe6, 0xeb, 0xef, 0x17, 0x10, 0xfd, 0xc2, 0x0c,
        ];
        let m = Meta::decode(&bytes).unwrap();
        assert_eq!(m.last_modified, 13_439_736_091_594_955);
        assert_eq!(m.size_bytes, 205_181);
        assert_eq!(m.encode(), bytes);
        // 2026-11-21 12:01:31.594955 UTC
        assert_eq!(crate::time::iso(m.unix_ms()), "2026-11-21T12:01:31.594Z");
        assert_eq!(chromium_time(0.0), EPOCH_DELTA_US);
    }
}
