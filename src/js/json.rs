//! `JSON.parse` on stored strings, as lenient as the browser's: a JavaScript string may hold a
//! lone surrogate, raw or as a `\udXXX` escape, and `JSON.parse` accepts both; serde_json
//! refuses both. Every reader of a stored JSON value goes through here.

use std::borrow::Cow;
use std::fmt::Write;

use serde::de::DeserializeOwned;

use super::JsString;

/// The JSON text of a stored string in a form Rust can hold: each raw lone surrogate becomes
/// its `\uXXXX` escape (the same string to `JSON.parse` inside a string literal; outside one
/// it is invalid JSON either way). Span-based readers (`store::jsontext`) decode such escapes
/// back into lone surrogates, so text written back from this keeps them.
pub fn text(raw: &JsString) -> Cow<'_, str> {
    if let Some(s) = raw.as_str() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(raw.as_wtf8().len() + 8);
    for c in char::decode_utf16(raw.utf16_units()) {
        match c {
            Ok(c) => out.push(c),
            Err(lone) => {
                let _ = write!(out, "\\u{:04x}", lone.unpaired_surrogate());
            }
        }
    }
    Cow::Owned(out)
}

/// Parses a stored string as `JSON.parse` does. Lone surrogates are read as U+FFFD in the
/// parsed value (a Rust string cannot hold one); the stored string is never rewritten from it.
pub fn parse<T: DeserializeOwned>(raw: &JsString) -> serde_json::Result<T> {
    parse_text(&text(raw))
}

/// `parse` on a text already made by `text`.
pub fn parse_text<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str::<T>(text).or_else(|e| {
        let sanitized = replace_lone_surrogate_escapes(text);
        if sanitized == text {
            return Err(e);
        }
        serde_json::from_str::<T>(&sanitized)
    })
}

/// Rewrites `\udXXX` escapes that are not part of a surrogate pair as `\ufffd`, so serde_json
/// can read a record that JavaScript's `JSON.parse` accepts.
fn replace_lone_surrogate_escapes(text: &str) -> String {
    let b = text.as_bytes();
    let unit_at = |i: usize| -> Option<u16> {
        (b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u'))
            .then(|| {
                text.get(i + 2..i + 6)
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
            })
            .flatten()
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        match unit_at(i) {
            Some(hi @ 0xD800..=0xDBFF) if matches!(unit_at(i + 6), Some(0xDC00..=0xDFFF)) => {
                let _ = hi;
                i += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.push_str(&text[last..i]);
                out.push_str("\\ufffd");
                i += 6;
                last = i;
            }
            Some(_) => i += 6,
            None => i += 2, // any other escape, including `\\`
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn lone_surrogates_raw_or_escaped_parse() {
        let escaped = JsString::from(r#"{"a":"x\ud800y","b":"\\ud800","c":"\ud83d\ude00"}"#);
        let v: Value = parse(&escaped).unwrap();
        assert_eq!(v["a"], "x\u{FFFD}y");
        assert_eq!(v["b"], "\\ud800");
        assert_eq!(v["c"], "😀");
        let raw = JsString::from_utf16(&[
            u16::from(b'['),
            u16::from(b'"'),
            0xDC00,
            u16::from(b'"'),
            u16::from(b']'),
        ]);
        assert_eq!(text(&raw), "[\"\\udc00\"]");
        let v: Vec<String> = parse(&raw).unwrap();
        assert_eq!(v, ["\u{FFFD}"]);
        assert!(parse::<Value>(&JsString::from("{\"a\":")).is_err());
    }
}
