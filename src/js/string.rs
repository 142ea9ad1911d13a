//! `JsString`: a JavaScript string held losslessly.
//!
//! localStorage keys and values are JavaScript strings, i.e. sequences of UTF-16 code units that
//! need not be valid Unicode: real browsers store lone surrogates (`"\ud800"`) and give them back
//! in `JSON.stringify` output as `\ud800` escapes. Rust's `String` cannot hold those, so values
//! are kept as WTF-8 (UTF-8 extended to encode lone surrogates as three-byte sequences). The
//! overwhelmingly common valid-Unicode case stays a plain `String`, so `as_str` is free.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// A JavaScript string (WTF-16 semantics) stored as WTF-8.
///
/// Invariant: `Repr::Wtf8` holds bytes that are *not* valid UTF-8 (they contain an encoded lone
/// surrogate); every valid string is `Repr::Utf8`. The representation is therefore canonical and
/// the derived `Eq`/`Hash`/`Ord` compare string contents.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsString(Repr);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Utf8(String),
    Wtf8(Vec<u8>),
}

impl JsString {
    /// Builds from WTF-8 bytes, as serde_json produces them for string literals that contain
    /// lone surrogate escapes. Bytes that are not WTF-8 at all (which no reader of meshpeers
    /// produces) are decoded lossily rather than trusted.
    pub fn from_wtf8(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(s) => JsString(Repr::Utf8(s)),
            Err(e) if is_wtf8(e.as_bytes()) => JsString(Repr::Wtf8(e.into_bytes())),
            Err(e) => JsString(Repr::Utf8(
                String::from_utf8_lossy(e.as_bytes()).into_owned(),
            )),
        }
    }

    /// Builds from UTF-16 code units, keeping lone surrogates.
    pub fn from_utf16(units: &[u16]) -> Self {
        let mut out = Vec::with_capacity(units.len());
        let mut i = 0;
        while i < units.len() {
            let u = units[i];
            let cp = if (0xD800..0xDC00).contains(&u)
                && i + 1 < units.len()
                && (0xDC00..0xE000).contains(&units[i + 1])
            {
                i += 1;
                0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(units[i]) - 0xDC00)
            } else {
                u32::from(u)
            };
            push_wtf8(&mut out, cp);
            i += 1;
        }
        Self::from_wtf8(out)
    }

    /// The string when it is valid Unicode (no lone surrogate).
    pub fn as_str(&self) -> Option<&str> {
        match &self.0 {
            Repr::Utf8(s) => Some(s),
            Repr::Wtf8(_) => None,
        }
    }

    pub fn as_wtf8(&self) -> &[u8] {
        match &self.0 {
            Repr::Utf8(s) => s.as_bytes(),
            Repr::Wtf8(b) => b,
        }
    }

    /// The string with each lone surrogate replaced by U+FFFD, for display.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Utf8(s) => Cow::Borrowed(s),
            Repr::Wtf8(_) => Cow::Owned(
                char::decode_utf16(self.utf16_units())
                    .map(|r| r.unwrap_or('\u{FFFD}'))
                    .collect(),
            ),
        }
    }

    /// The UTF-16 code units, as JavaScript sees them.
    pub fn utf16_units(&self) -> Utf16Units<'_> {
        Utf16Units {
            bytes: self.as_wtf8(),
            pos: 0,
            pending: None,
        }
    }

    /// JavaScript's `length`: the number of UTF-16 code units.
    pub fn utf16_len(&self) -> usize {
        let b = self.as_wtf8();
        if b.is_ascii() {
            return b.len();
        }
        // Every UTF-8/WTF-8 sequence is one unit, except a 4-byte one (a surrogate pair): count
        // the bytes that start a sequence, plus one more for each 4-byte leader.
        let starts = b.iter().filter(|&&x| (x as i8) >= -0x40).count();
        let pairs = b.iter().filter(|&&x| x >= 0xF0).count();
        starts + pairs
    }

    pub fn is_empty(&self) -> bool {
        self.as_wtf8().is_empty()
    }

    pub fn starts_with(&self, prefix: &str) -> bool {
        self.as_wtf8().starts_with(prefix.as_bytes())
    }

    /// The rest after `prefix`, if the string starts with it.
    pub fn strip_prefix(&self, prefix: &str) -> Option<JsString> {
        self.as_wtf8()
            .strip_prefix(prefix.as_bytes())
            .map(|rest| JsString::from_wtf8(rest.to_vec()))
    }

    /// Decodes one JSON string literal (with its quotes), keeping lone surrogate escapes.
    pub fn from_json_literal(literal: &str) -> serde_json::Result<Self> {
        let mut de = serde_json::Deserializer::from_str(literal);
        let s = de.deserialize_bytes(WtfVisitor)?;
        de.end()?;
        Ok(s)
    }

    /// Appends this string as a JSON literal the way `JSON.stringify` writes it: `"`, `\` and
    /// control characters escaped (`\b \f \n \r \t`, else `\u00xx`), lone surrogates as `\udxxx`,
    /// everything else as UTF-8. With `ascii_only`, every non-ASCII unit is a `\uxxxx` escape
    /// too (the style of Python's `json.dump`), so a file written that way stays that way.
    pub fn write_json(&self, out: &mut String, ascii_only: bool) {
        out.push('"');
        match (&self.0, ascii_only) {
            (Repr::Utf8(s), false) => {
                for c in s.chars() {
                    push_escaped_char(out, c);
                }
            }
            _ => {
                for r in char::decode_utf16(self.utf16_units()) {
                    match r {
                        Ok(c) if !ascii_only || c.is_ascii() => push_escaped_char(out, c),
                        Ok(c) => {
                            let mut buf = [0u16; 2];
                            for u in c.encode_utf16(&mut buf) {
                                push_unit_escape(out, *u);
                            }
                        }
                        Err(e) => push_unit_escape(out, e.unpaired_surrogate()),
                    }
                }
            }
        }
        out.push('"');
    }

    /// This string as a JSON literal (`JSON.stringify` style).
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(self.as_wtf8().len() + 2);
        self.write_json(&mut s, false);
        s
    }
}

fn push_escaped_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{08}' => out.push_str("\\b"),
        '\u{0C}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x20 => push_unit_escape(out, c as u16),
        c => out.push(c),
    }
}

fn push_unit_escape(out: &mut String, unit: u16) {
    use std::fmt::Write;
    let _ = write!(out, "\\u{unit:04x}");
}

fn push_wtf8(out: &mut Vec<u8>, cp: u32) {
    // Same bit layout as UTF-8; surrogate code points are allowed here (that is WTF-8).
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

/// Whether `b` is well-formed WTF-8: UTF-8 whose three-byte sequences may also encode
/// surrogates (the code units a JavaScript string can hold alone).
fn is_wtf8(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        let lead = b[i];
        let n = match lead {
            0x00..=0x7F => 1,
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return false,
        };
        let Some(seq) = b.get(i..i + n) else {
            return false;
        };
        if seq[1..].iter().any(|c| c & 0xC0 != 0x80) {
            return false;
        }
        let cp = seq[1..]
            .iter()
            .fold(u32::from(lead) & (0x7F >> n), |cp, c| {
                (cp << 6) | u32::from(c & 0x3F)
            });
        let shortest = match n {
            2 => 0x80,
            3 => 0x800,
            4 => 0x10000,
            _ => 0,
        };
        if cp < shortest || cp > 0x10FFFF {
            return false;
        }
        i += n;
    }
    true
}

/// Iterator over the UTF-16 code units of a WTF-8 byte string.
pub struct Utf16Units<'a> {
    bytes: &'a [u8],
    pos: usize,
    pending: Option<u16>,
}

impl Iterator for Utf16Units<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        if let Some(low) = self.pending.take() {
            return Some(low);
        }
        let b = self.bytes;
        let i = self.pos;
        let first = *b.get(i)?;
        let cont = |k: usize| u32::from(b[i + k] & 0x3F);
        let (cp, len) = match first {
            0x00..=0x7F => (u32::from(first), 1),
            0xC0..=0xDF => ((u32::from(first & 0x1F) << 6) | cont(1), 2),
            0xE0..=0xEF => (
                (u32::from(first & 0x0F) << 12) | (cont(1) << 6) | cont(2),
                3,
            ),
            _ => (
                (u32::from(first & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
                4,
            ),
        };
        self.pos += len;
        if cp >= 0x10000 {
            let v = cp - 0x10000;
            self.pending = Some(0xDC00 | (v & 0x3FF) as u16);
            Some(0xD800 | (v >> 10) as u16)
        } else {
            Some(cp as u16)
        }
    }
}

struct WtfVisitor;

impl<'de> Visitor<'de> for WtfVisitor {
    type Value = JsString;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsString, E> {
        Ok(JsString(Repr::Utf8(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<JsString, E> {
        Ok(JsString(Repr::Utf8(v)))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<JsString, E> {
        Ok(JsString::from_wtf8(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<JsString, E> {
        Ok(JsString::from_wtf8(v))
    }
}

impl<'de> serde::Deserialize<'de> for JsString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bytes(WtfVisitor)
    }
}

impl serde::Serialize for JsString {
    /// Serialises losslessly through serde_json (lone surrogates become `\udxxx` escapes);
    /// other serializers get the lossy text.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Utf8(v) => s.serialize_str(v),
            Repr::Wtf8(_) => match serde_json::value::RawValue::from_string(self.to_json()) {
                Ok(raw) => raw.serialize(s),
                Err(_) => s.serialize_str(&self.to_string_lossy()),
            },
        }
    }
}

impl From<&str> for JsString {
    fn from(s: &str) -> Self {
        JsString(Repr::Utf8(s.to_owned()))
    }
}

impl From<String> for JsString {
    fn from(s: String) -> Self {
        JsString(Repr::Utf8(s))
    }
}

impl fmt::Display for JsString {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for JsString {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_wtf8_are_decoded_lossily() {
        let lone = JsString::from_utf16(&[0x61, 0xD800]);
        assert_eq!(JsString::from_wtf8(lone.as_wtf8().to_vec()), lone);
        let junk = JsString::from_wtf8(vec![b'a', 0xFF, 0xED, 0xA0]);
        assert_eq!(junk.as_str(), Some("a\u{FFFD}\u{FFFD}\u{FFFD}"));
        assert_eq!(junk.utf16_len(), 4);
    }

    #[test]
    fn lone_surrogate_survives_json_round_trip() {
        let s = JsString::from_json_literal(r#""x\ud800y""#).unwrap();
        assert_eq!(s.as_str(), None);
        assert_eq!(
            s.utf16_units().collect::<Vec<_>>(),
            vec![0x78, 0xD800, 0x79]
        );
        assert_eq!(s.utf16_len(), 3);
        assert_eq!(s.to_json(), r#""x\ud800y""#);
        assert_eq!(s.to_string_lossy(), "x\u{FFFD}y");
    }

    #[test]
    fn surrogate_pairs_are_one_char_and_two_units() {
        let s = JsString::from_json_literal(r#""\ud83d\ude00é""#).unwrap();
        assert_eq!(s.as_str(), Some("😀é"));
        assert_eq!(s.utf16_len(), 3);
        assert_eq!(s.to_json(), "\"😀é\"");
        let mut ascii = String::new();
        s.write_json(&mut ascii, true);
        assert_eq!(ascii, r#""\ud83d\ude00\u00e9""#);
    }

    #[test]
    fn utf16_round_trip_keeps_every_unit() {
        let units = [0x41, 0xDC00, 0xD800, 0xD83D, 0xDE00, 0xFFFF, 0x00, 0xE9];
        let s = JsString::from_utf16(&units);
        assert_eq!(s.utf16_units().collect::<Vec<_>>(), units);
        assert_eq!(s.utf16_len(), units.len());
        let back = JsString::from_json_literal(&s.to_json()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn escapes_like_json_stringify() {
        let s = JsString::from("a\"b\\c\n\u{1b}[31m\u{7f}/");
        assert_eq!(s.to_json(), "\"a\\\"b\\\\c\\n\\u001b[31m\u{7f}/\"");
    }

    #[test]
    fn latin1_detection_follows_code_units() {}
}
