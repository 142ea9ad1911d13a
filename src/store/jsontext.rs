//! Reading JSON files as raw text spans, so a rewrite can copy every untouched byte.
//!
//! serde_json validates the document and hands out borrowed raw slices for keys and values;
//! their offsets in the original text let a save splice new content in while keeping the
//! file's own formatting (indentation, escaping, key order) everywhere else.

use std::ops::Range;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::js::JsString;

/// One member of a JSON object: raw key literal and raw value text, both borrowed.
pub type RawMember<'a> = (&'a str, &'a str);

/// One member of a JSON object as byte ranges of the document: (key literal, value).
pub type MemberSpan = (Range<usize>, Range<usize>);

/// The members of the top-level object of `text`, as byte ranges.
pub fn member_spans(text: &str) -> serde_json::Result<Vec<MemberSpan>> {
    Ok(object_members(text)?
        .into_iter()
        .map(|(k, v)| (span(text, k), span(text, v)))
        .collect())
}

/// The members of the JSON object `text`, in order (duplicates included).
pub fn object_members(text: &str) -> serde_json::Result<Vec<RawMember<'_>>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de.deserialize_map(MembersVisitor)?;
    de.end()?;
    Ok(members)
}

/// The elements of the JSON array `text`, in order.
pub fn array_elements(text: &str) -> serde_json::Result<Vec<&str>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let elems = de.deserialize_seq(ElementsVisitor)?;
    de.end()?;
    Ok(elems)
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<RawMember<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<&'de RawValue>()? {
            let v: &'de RawValue = map.next_value()?;
            out.push((k.get(), v.get()));
        }
        Ok(out)
    }
}

struct ElementsVisitor;

impl<'de> Visitor<'de> for ElementsVisitor {
    type Value = Vec<&'de str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<&'de RawValue>()? {
            out.push(v.get());
        }
        Ok(out)
    }
}

/// Decodes a raw key or value that must be a JSON string.
pub fn decode_string(raw: &str) -> Option<JsString> {
    if raw.starts_with('"') {
        JsString::from_json_literal(raw).ok()
    } else {
        None
    }
}

/// What kind of JSON value a raw text is, for error messages.
pub fn kind_of(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The byte range of `part` inside `base` (`part` must be a slice of `base`).
pub fn span(base: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - base.as_ptr() as usize;
    debug_assert!(start + part.len() <= base.len());
    start..start + part.len()
}

/// How a file is formatted, learned from the file so new content matches it.
#[derive(Clone, Debug)]
pub struct Style {
    /// One level of indentation, or `None` for compact output.
    pub unit: Option<String>,
    pub newline: &'static str,
    /// Between a key and its value: `": "` or `":"`.
    pub colon: String,
    /// Non-ASCII written as `\u` escapes (Python's default), else as UTF-8 (JavaScript's).
    pub ascii_only: bool,
}

impl Style {
    pub fn detect(text: &str, first_member: Option<MemberSpan>) -> Style {
        // The first line break tells the file's convention; no need to scan a large file.
        let newline = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        let unit = text.find('\n').and_then(|nl| {
            let rest = &text[nl + 1..];
            let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            (n > 0).then(|| rest[..n].to_owned())
        });
        let colon = match first_member {
            Some((k, v)) => text[k.end..v.start].to_owned(),
            None if unit.is_some() => ": ".to_owned(),
            None => ":".to_owned(),
        };
        let ascii_only = text.is_ascii() && has_non_ascii_escape(text);
        Style {
            unit,
            newline,
            colon,
            ascii_only,
        }
    }

    /// Separators for a container whose opening line is indented by `base`.
    pub fn layout(&self, base: &str) -> Layout {
        match &self.unit {
            None => Layout {
                open: String::new(),
                between: ",".into(),
                close: String::new(),
            },
            Some(u) => {
                let nl = self.newline;
                Layout {
                    open: format!("{nl}{base}{u}"),
                    between: format!(",{nl}{base}{u}"),
                    close: format!("{nl}{base}"),
                }
            }
        }
    }

    pub fn encode(&self, s: &JsString) -> String {
        let mut out = String::new();
        s.write_json(&mut out, self.ascii_only);
        out
    }

    /// One object member `key: value` from already-encoded JSON texts, in this file's style.
    pub fn member(&self, key_json: &str, value_json: &str) -> String {
        format!("{key_json}{}{value_json}", self.colon)
    }

    /// A new object of string members, laid out for a container line indented by `base`.
    pub fn object(&self, base: &str, members: &[(&str, String)]) -> String {
        let items: Vec<String> = members
            .iter()
            .map(|(k, v)| self.member(&format!("\"{k}\""), v))
            .collect();
        self.layout(base).render('{', &items, '}')
    }
}

fn has_non_ascii_escape(text: &str) -> bool {
    // A `\u` escape above 0x7F means the writer escaped non-ASCII text.
    text.match_indices("\\u").any(|(i, _)| {
        text.get(i + 2..i + 6)
            .and_then(|h| u16::from_str_radix(h, 16).ok())
            .is_some_and(|u| u > 0x7F)
    })
}

/// The whitespace around the items of one container.
#[derive(Clone, Debug)]
pub struct Layout {
    pub open: String,
    pub between: String,
    pub close: String,
}

impl Layout {
    /// Learns a container's separators from its text, falling back to `fallback` for what the
    /// container does not show (an empty container has no separators at all).
    pub fn learn(
        text: &str,
        container: Range<usize>,
        items: &[Range<usize>],
        fallback: Layout,
    ) -> Layout {
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            return fallback;
        };
        let between = match items.get(1) {
            Some(second) => text[first.end..second.start].to_owned(),
            None => fallback.between,
        };
        Layout {
            open: text[container.start + 1..first.start].to_owned(),
            between,
            close: text[last.end..container.end - 1].to_owned(),
        }
    }

    /// `render` written piece by piece to `out` (a store is not built a second time in
    /// memory).
    pub fn render_to<S: AsRef<str>>(
        &self,
        open: char,
        items: &[S],
        close: char,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut buf = [0u8; 4];
        out.write_all(open.encode_utf8(&mut buf).as_bytes())?;
        if !items.is_empty() {
            out.write_all(self.open.as_bytes())?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(self.between.as_bytes())?;
                }
                out.write_all(item.as_ref().as_bytes())?;
            }
            out.write_all(self.close.as_bytes())?;
        }
        out.write_all(close.encode_utf8(&mut buf).as_bytes())
    }

    pub fn render<S: AsRef<str>>(&self, open: char, items: &[S], close: char) -> String {
        let len: usize = items.iter().map(|i| i.as_ref().len()).sum::<usize>()
            + items.len() * self.between.len();
        let mut out = String::with_capacity(len + self.open.len() + self.close.len() + 2);
        out.push(open);
        if !items.is_empty() {
            out.push_str(&self.open);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&self.between);
                }
                out.push_str(item.as_ref());
            }
            out.push_str(&self.close);
        }
        out.push(close);
        out
    }
}

/// The indentation of the line that contains byte `pos`.
pub fn line_indent(text: &str, pos: usize) -> &str {
    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// A readable error for a document that is not JSON.
pub fn describe_parse_error(empty: bool, err: &serde_json::Error) -> String {
    if empty {
        return "the file is empty".into();
    }
    if err.is_eof() {
        return format!("not valid JSON (truncated?): {err}");
    }
    format!("not valid JSON: {err}")
}

/// The text of a JSON file, which must be UTF-8 (validated once, never copied).
pub fn into_text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not a JSON text: invalid UTF-8 at byte {} (binary file?)",
            e.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_point_into_the_text() {
        let text = "{\n  \"a\": \"x\",\n  \"b\": [1, 2]\n}\n";
        let m = object_members(text).unwrap();
        assert_eq!(m, vec![("\"a\"", "\"x\""), ("\"b\"", "[1, 2]")]);
        assert_eq!(&text[span(text, m[1].1)], "[1, 2]");
        let style = Style::detect(text, member_spans(text).unwrap().first().cloned());
        assert_eq!(style.unit.as_deref(), Some("  "));
        assert_eq!(style.colon, ": ");
        assert!(!style.ascii_only);
    }

    #[test]
    fn layout_learned_from_text_renders_it_back() {
        let text = "{\n  \"a\": \"x\",\n  \"b\": \"y\"\n}";
        let m = object_members(text).unwrap();
        let items: Vec<_> = m
            .iter()
            .map(|(k, v)| span(text, k).start..span(text, v).end)
            .collect();
        let style = Style::detect(text, member_spans(text).unwrap().first().cloned());
        let layout = Layout::learn(text, 0..text.len(), &items, style.layout(""));
        let rendered = layout.render(
            '{',
            &items
                .iter()
                .map(|r| text[r.clone()].to_owned())
                .collect::<Vec<_>>(),
            '}',
        );
        assert_eq!(rendered, text);
    }

    #[test]
    fn detects_python_style_ascii_escaping() {
        let text = r#"{"k": "caf\u00e9"}"#;
        assert!(Style::detect(text, member_spans(text).unwrap().first().cloned()).ascii_only);
    }
}
