//! A localStorage value as Firefox's `LSValue` stores it in a `data` row, and the usage
//! numbers Firefox keeps about an origin.
//!
//! Writing (`LSValue::InitFromString`): a well-formed string is stored as UTF-8 with
//! conversion 1; a string with a lone surrogate as its raw UTF-16LE code units with
//! conversion 0. The bytes are then compressed as a raw snappy block (compression 1) only when
//! there are more than 16 of them and the block is strictly smaller. `utf16_length` is the JS
//! length. An empty value is bound as TEXT `''`, never as a BLOB (which mozStorage would turn
//! into NULL).

use thiserror::Error;

use crate::js::JsString;

/// `conversion_type` 0: the bytes are UTF-16LE code units (the string had a lone surrogate).
pub const CONVERSION_NONE: i64 = 0;
/// `conversion_type` 1: the bytes are UTF-8.
pub const CONVERSION_UTF16_UTF8: i64 = 1;
/// `compression_type` 0: stored as converted.
pub const COMPRESSION_NONE: i64 = 0;
/// `compression_type` 1: a raw snappy block (not the framed format).
pub const COMPRESSION_SNAPPY: i64 = 1;

/// Values this long or shorter are never compressed.
const COMPRESS_OVER: usize = 16;

/// The cookie that starts an `ls/usage` file.
const USAGE_COOKIE: u32 = 0x420a_420a;

/// The columns of a `data` row that hold a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub utf16_length: i64,
    pub conversion: i64,
    pub compression: i64,
    /// Bound as TEXT `''` when empty, as a BLOB otherwise.
    pub bytes: Vec<u8>,
}

/// Why a stored value cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("unknown conversion_type {0} (Firefox writes 0 or 1)")]
    Conversion(i64),
    #[error("unknown compression_type {0} (Firefox writes 0 or 1)")]
    Compression(i64),
    #[error("its snappy data is corrupt ({0}); Firefox would read it as an empty string")]
    Snappy(String),
    #[error("conversion_type 0 needs UTF-16 code units, but it has an odd number of bytes ({0})")]
    OddLength(usize),
    #[error("conversion_type 1 needs UTF-8, but its bytes are not UTF-8")]
    NotUtf8,
}

/// Encodes `value` exactly as Firefox does.
pub fn encode(value: &JsString) -> Encoded {
    let (conversion, converted) = match value.as_str() {
        Some(s) => (CONVERSION_UTF16_UTF8, s.as_bytes().to_vec()),
        None => (
            CONVERSION_NONE,
            value.utf16_units().flat_map(u16::to_le_bytes).collect(),
        ),
    };
    let (compression, bytes) = match compress(&converted) {
        Some(block) => (COMPRESSION_SNAPPY, block),
        None => (COMPRESSION_NONE, converted),
    };
    Encoded {
        utf16_length: i64::try_from(value.utf16_len()).unwrap_or(i64::MAX),
        conversion,
        compression,
        bytes,
    }
}

/// The raw snappy block of `bytes` when Firefox would keep it.
fn compress(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() <= COMPRESS_OVER {
        return None;
    }
    let block = snap::raw::Encoder::new().compress_vec(bytes).ok()?;
    (block.len() < bytes.len()).then_some(block)
}

/// Decodes a stored value (the reader's recipe: snappy if compressed, then UTF-8 or UTF-16LE).
pub fn decode(conversion: i64, compression: i64, bytes: &[u8]) -> Result<JsString, DecodeError> {
    let inflated;
    let converted = match compression {
        COMPRESSION_NONE => bytes,
        COMPRESSION_SNAPPY => {
            inflated = snap::raw::Decoder::new()
                .decompress_vec(bytes)
                .map_err(|e| DecodeError::Snappy(e.to_string()))?;
            &inflated[..]
        }
        other => return Err(DecodeError::Compression(other)),
    };
    match conversion {
        CONVERSION_UTF16_UTF8 => std::str::from_utf8(converted)
            .map(JsString::from)
            .map_err(|_| DecodeError::NotUtf8),
        CONVERSION_NONE => {
            if converted.len() % 2 != 0 {
                return Err(DecodeError::OddLength(converted.len()));
            }
            let units: Vec<u16> = converted
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect();
            Ok(JsString::from_utf16(&units))
        }
        other => Err(DecodeError::Conversion(other)),
    }
}

/// An origin's usage as Firefox counts it: Σ (key length + value length) in UTF-16 units.
pub fn usage<'a>(entries: impl IntoIterator<Item = (&'a JsString, &'a JsString)>) -> u64 {
    entries
        .into_iter()
        .map(|(k, v)| (k.utf16_len() + v.utf16_len()) as u64)
        .sum()
}

/// The 12 bytes of an `ls/usage` file: the cookie and the usage, big-endian.
pub fn usage_file(usage: u64) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(&USAGE_COOKIE.to_be_bytes());
    out[4..].copy_from_slice(&usage.to_be_bytes());
    out
}

/// The usage an `ls/usage` file holds; `None` where Firefox would reject the file (any size
/// but 12, a wrong cookie) and fall back to `database.usage`.
pub fn parse_usage_file(bytes: &[u8]) -> Option<u64> {
    let bytes: &[u8; 12] = bytes.try_into().ok()?;
    let (cookie, usage) = bytes.split_at(4);
    (u32::from_be_bytes(cookie.try_into().ok()?) == USAGE_COOKIE)
        .then(|| u64::from_be_bytes(usage.try_into().expect("8 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn js(units: &[u16]) -> JsString {
        JsString::from_utf16(units)
    }

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    /// The rows Firefox ESR 153 wrote (browsers-localstorage.md §1.4): conversion,
    /// compression, stored length and JS length.
    #[test]
    fn values_are_stored_as_firefox_stored_them() {
        let mut lone = utf16("abc");
        lone.push(0xd800);
        lone.extend(utf16("def"));
        lone.extend(utf16(&"z".repeat(40)));
        let cases: Vec<(Vec<u16>, i64, i64, usize, i64)> = vec![
            (utf16("hello world"), 1, 0, 11, 11),
            (utf16("0123456789abcdef"), 1, 0, 16, 16),
            (utf16("0123456789abcdefg"), 1, 0, 17, 17),
            (utf16("café crème brûlée"), 1, 0, 21, 17),
            (utf16("😀🎉👍"), 1, 0, 12, 6),
            (utf16(&"Ünïcödé ".repeat(10)), 1, 1, 20, 80),
            (vec![0xd800], 0, 0, 2, 1),
            (lone, 0, 1, 23, 47),
            (Vec::new(), 1, 0, 0, 0),
            (utf16(&"abcdefghij".repeat(20_000)), 1, 1, 9422, 200_000),
        ];
        for (units, conversion, compression, len, utf16_length) in cases {
            let value = js(&units);
            let e = encode(&value);
            let shown = value.to_string_lossy().chars().take(20).collect::<String>();
            assert_eq!(
                (e.conversion, e.compression, e.bytes.len(), e.utf16_length),
                (conversion, compression, len, utf16_length),
                "{shown:?}"
            );
            assert_eq!(
                decode(e.conversion, e.compression, &e.bytes).unwrap(),
                value
            );
        }
        assert_eq!(encode(&js(&[0xd800])).bytes, [0x00, 0xd8]);
    }

    #[test]
    fn an_uncompressed_long_value_is_read_too() {
        let text = "x".repeat(500);
        assert_eq!(
            decode(1, 0, text.as_bytes()).unwrap(),
            JsString::from(text.as_str())
        );
    }

    #[test]
    fn damaged_values_are_named_not_read_as_empty() {
        assert!(matches!(
            decode(1, 1, b"\xff\xff\xff\xff"),
            Err(DecodeError::Snappy(_))
        ));
        assert_eq!(decode(1, 0, b"\xc3"), Err(DecodeError::NotUtf8));
        assert_eq!(decode(0, 0, b"abc"), Err(DecodeError::OddLength(3)));
        assert_eq!(decode(2, 0, b"ab"), Err(DecodeError::Conversion(2)));
        assert_eq!(decode(1, 7, b"ab"), Err(DecodeError::Compression(7)));
    }

    #[test]
    fn the_usage_file_is_the_cookie_and_the_usage_big_endian() {
        let f = usage_file(400_375);
        assert_eq!(f, [0x42, 0x0a, 0x42, 0x0a, 0, 0, 0, 0, 0, 0x06, 0x1b, 0xf7]);
        assert_eq!(parse_usage_file(&f), Some(400_375));
        assert_eq!(parse_usage_file(&f[..11]), None);
        let mut wrong = f;
        wrong[0] = 0;
        assert_eq!(parse_usage_file(&wrong), None);
    }

    #[test]
    fn usage_counts_utf16_units_of_keys_and_values() {
        let (k1, v1) = (JsString::from("mesh:peer:é"), js(&[0xd800, 0x41]));
        let (k2, v2) = (JsString::from("😀"), JsString::from(""));
        assert_eq!(usage([(&k1, &v1), (&k2, &v2)]), 11 + 2 + 2);
    }
}
