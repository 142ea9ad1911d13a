//! Chromium's string encoding in localStorage keys and values: a format byte, then Latin-1
//! (0x01, one byte per UTF-16 unit) or UTF-16LE (0x00, lone surrogates kept).

use crate::js::JsString;

pub const UTF16: u8 = 0x00;
pub const LATIN1: u8 = 0x01;

/// Decodes a stored string as the page sees it: an empty, odd-length UTF-16 or unknown-format
/// string reads as "" (Chromium's behaviour).
pub fn decode(bytes: &[u8]) -> JsString {
    match bytes.split_first() {
        Some((&LATIN1, rest)) => {
            if rest.is_ascii() {
                // ASCII is its own UTF-8.
                JsString::from(String::from_utf8(rest.to_vec()).unwrap_or_default())
            } else {
                JsString::from(rest.iter().map(|b| char::from(*b)).collect::<String>())
            }
        }
        Some((&UTF16, rest)) if rest.len() % 2 == 0 => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            JsString::from_utf16(&units)
        }
        _ => JsString::from(""),
    }
}

/// The Latin-1 form (format byte included), when every unit is ≤ 0xFF.
pub fn latin1(s: &JsString) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.as_wtf8().len() + 1);
    out.push(LATIN1);
    for u in s.utf16_units() {
        out.push(u8::try_from(u).ok()?);
    }
    Some(out)
}

/// The UTF-16LE form (format byte included).
pub fn utf16(s: &JsString) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 * s.utf16_len() + 1);
    out.push(UTF16);
    for u in s.utf16_units() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// Chromium's canonical encoding: Latin-1 when every unit is ≤ 0xFF, else UTF-16LE.
pub fn encode(s: &JsString) -> Vec<u8> {
    latin1(s).unwrap_or_else(|| utf16(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_examples() {
        let zoe = JsString::from("Zoë 😀 日本");
        let bytes = encode(&zoe);
        assert_eq!(
            bytes,
            [
                0x00, 0x5a, 0x00, 0x6f, 0x00, 0xeb, 0x00, 0x20, 0x00, 0x3d, 0xd8, 0x00, 0xde, 0x20,
                0x00, 0xe5, 0x65, 0x2c, 0x67
            ]
        );
        assert_eq!(decode(&bytes), zoe);
        let cafe = JsString::from("café ñ ü ÿ");
        assert_eq!(encode(&cafe)[0], LATIN1);
        assert_eq!(encode(&cafe).len(), 1 + 10);
        assert_eq!(decode(&encode(&cafe)), cafe);
        let lone = JsString::from_utf16(&[0x78, 0xD800, 0x79]);
        assert_eq!(encode(&lone), [0x00, 0x78, 0x00, 0x00, 0xd8, 0x79, 0x00]);
        assert_eq!(decode(&encode(&lone)), lone);
        assert_eq!(encode(&JsString::from("")), [LATIN1]);
        assert_eq!(decode(&[0x00, 0x41]), JsString::from(""));
        assert_eq!(decode(&[0x07, 0x41]), JsString::from(""));
        assert_eq!(decode(&[]), JsString::from(""));
        assert_eq!(decode(&[0x00, 0x41, 0x00]), JsString::from("A"));
    }
}
