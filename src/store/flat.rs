//! The flat JSON dump: one object of key → string, as `JSON.stringify(localStorage)` gives
//! (pretty or not). Saving splices changed entries into the original text, so untouched entries
//! keep their exact bytes and the file keeps its formatting.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;
use std::path::PathBuf;

use anyhow::Result;

use super::jsontext::{self, Layout, MemberSpan, Style};
use super::{Area, Backend, BackendKind, ChangeSet, OriginInfo, atomic, read_back};
use crate::error::MeshError;
use crate::js::JsString;

pub struct FlatDump {
    location: String,
    path: Option<PathBuf>,
    text: String,
    /// One per distinct key, at the key's first position; a repeated key's last value wins,
    /// as in `JSON.parse`.
    entries: Vec<FlatEntry>,
    layout: Layout,
    style: Style,
    area: Option<Area>,
}

struct FlatEntry {
    key: JsString,
    key_span: Range<usize>,
    value_span: Range<usize>,
}

impl FlatDump {
    pub fn parse(
        location: &str,
        path: Option<PathBuf>,
        text: String,
        members: &[MemberSpan],
    ) -> Result<FlatDump> {
        Self::parse_text(location, path, text, members, true)
    }

    /// Parses the text; the values are decoded into the area only with `with_area` (a file
    /// meshpeers has just written needs only its index).
    fn parse_text(
        location: &str,
        path: Option<PathBuf>,
        text: String,
        members: &[MemberSpan],
        with_area: bool,
    ) -> Result<FlatDump> {
        let mut area = Area::with_capacity(if with_area { members.len() } else { 0 });
        let mut index: std::collections::HashMap<JsString, usize> =
            std::collections::HashMap::new();
        let mut entries: Vec<FlatEntry> = Vec::with_capacity(members.len());
        for (key_span, value_span) in members.iter().cloned() {
            let (raw_key, raw_value) = (&text[key_span.clone()], &text[value_span.clone()]);
            let key = jsontext::decode_string(raw_key).ok_or_else(|| {
                MeshError::invalid(location, format!("key {raw_key} cannot be decoded"))
            })?;
            let value = if with_area {
                jsontext::decode_string(raw_value)
            } else {
                // Only its kind matters here; the text was written by meshpeers.
                raw_value.starts_with('"').then(|| JsString::from(""))
            };
            let Some(value) = value else {
                return Err(MeshError::invalid(
                    location,
                    format!(
                        "the value of key {} is {}; a localStorage dump holds only strings",
                        key.to_json(),
                        jsontext::kind_of(raw_value)
                    ),
                )
                .into());
            };
            match index.get(&key) {
                Some(&i) => {
                    entries[i].key_span = key_span;
                    entries[i].value_span = value_span;
                    if with_area {
                        area[i] = value;
                    }
                }
                None => {
                    index.insert(key.clone(), entries.len());
                    if with_area {
                        area.insert(key.clone(), value);
                    }
                    entries.push(FlatEntry {
                        key,
                        key_span,
                        value_span,
                    });
                }
            }
        }
        let style = Style::detect(&text, members.first().cloned());
        let items: Vec<Range<usize>> = members.iter().map(|(k, v)| k.start..v.end).collect();
        let layout = Layout::learn(&text, container_span(&text), &items, style.layout(""));
        Ok(FlatDump {
            location: location.to_owned(),
            path,
            text,
            entries,
            layout,
            style,
            area: with_area.then_some(area),
        })
    }

    /// The whole file with `changes` applied, written to `out`.
    fn render_to(&self, changes: &ChangeSet, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let t = &self.text;
        let mut items = Vec::with_capacity(self.entries.len() + changes.len());
        let mut seen = HashSet::with_capacity(self.entries.len());
        for e in &self.entries {
            seen.insert(&e.key);
            match changes.get(&e.key) {
                // Untouched entries are borrowed, not copied: a big store is held once.
                None => items.push(Cow::Borrowed(&t[e.key_span.start..e.value_span.end])),
                Some(None) => {}
                Some(Some(v)) => items.push(Cow::Owned(format!(
                    "{}{}",
                    &t[e.key_span.start..e.value_span.start],
                    self.style.encode(v)
                ))),
            }
        }
        for (k, v) in changes.iter() {
            if let (Some(v), false) = (v, seen.contains(k)) {
                items.push(Cow::Owned(
                    self.style
                        .member(&self.style.encode(k), &self.style.encode(v)),
                ));
            }
        }
        let c = container_span(t);
        out.write_all(&t.as_bytes()[..c.start])?;
        self.layout.render_to('{', &items, '}', out)?;
        out.write_all(&t.as_bytes()[c.end..])
    }

    /// The whole file with `changes` applied.
    #[cfg(test)]
    fn render(&self, changes: &ChangeSet) -> String {
        let mut out = Vec::new();
        self.render_to(changes, &mut out)
            .expect("writing to memory");
        String::from_utf8(out).expect("rendered from text")
    }
}

/// The span of the top-level object (the text may have whitespace around it).
fn container_span(text: &str) -> Range<usize> {
    let start = text.find('{').unwrap_or(0);
    let end = text.rfind('}').map_or(text.len(), |i| i + 1);
    start..end
}

impl Backend for FlatDump {
    fn kind(&self) -> BackendKind {
        BackendKind::Flat
    }

    fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        Ok(Vec::new())
    }

    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>> {
        Ok(vec![(
            String::new(),
            self.entries
                .iter()
                .filter(|e| e.key.starts_with(prefix))
                .count(),
        )])
    }

    fn load(&mut self, _origin: Option<&str>) -> Result<Area> {
        Ok(self.area.take().unwrap_or_default())
    }

    fn save(
        &mut self,
        _origin: Option<&str>,
        changes: &ChangeSet,
        _opts: &super::SaveOptions,
    ) -> Result<Option<std::path::PathBuf>> {
        let Some(path) = &self.path else {
            return Err(MeshError::usage("a store read from stdin cannot be written").into());
        };
        let path = path.clone();
        // Streamed to the file: a big store is not built a second time in memory.
        atomic::replace_file_with(&path, 0o600, &mut |out| self.render_to(changes, out))?;
        // Read back from disk for the new index (and for `verify`), the old text freed first.
        self.text = String::new();
        self.entries = Vec::new();
        let new_text = read_back(&path)?;
        let members = jsontext::member_spans(&new_text)?;
        *self = FlatDump::parse_text(&self.location, Some(path), new_text, &members, false)?;
        Ok(None)
    }

    fn verify(&mut self, _origin: Option<&str>, expected: &Area) -> Result<()> {
        // `save` read the file back from disk into `text`; check it entry by entry, so no
        // second copy of the store is held.
        let t = &self.text;
        let same = self.entries.len() == expected.len()
            && self.entries.iter().all(|e| {
                jsontext::decode_string(&t[e.value_span.clone()])
                    .is_some_and(|v| expected.get(&e.key) == Some(&v))
            });
        if !same {
            anyhow::bail!(
                "{}: after saving, the file does not hold what was written (a bug in meshpeers)",
                self.location
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FlatDump {
        let members = jsontext::member_spans(text).unwrap();
        FlatDump::parse("t.json", None, text.to_owned(), &members).unwrap()
    }

    #[test]
    fn unchanged_render_is_byte_identical() {
        for text in [
            "{\n  \"a\": \"x\\ud800\",\n  \"b\": \"caf\\u00e9\"\n}\n",
            "{\"a\":\"1\",\"b\":\"2\"}",
            "{}",
            "  {\r\n    \"only\" : \"one\"\r\n  }  ",
        ] {
            assert_eq!(parse(text).render(&ChangeSet::default()), text);
        }
    }

    #[test]
    fn changes_follow_the_file_style() {
        let text = "{\n  \"a\": \"1\",\n  \"b\": \"2\",\n  \"c\": \"3\"\n}\n";
        let mut cs = ChangeSet::default();
        cs.delete("a");
        cs.put("b", "two\u{1b}");
        cs.put("new", "Zoë");
        assert_eq!(
            parse(text).render(&cs),
            "{\n  \"b\": \"two\\u001b\",\n  \"c\": \"3\",\n  \"new\": \"Zoë\"\n}\n"
        );
        let compact = "{\"a\":\"1\"}";
        assert_eq!(
            parse(compact).render(&cs),
            "{\"b\":\"two\\u001b\",\"new\":\"Zoë\"}"
        );
        let mut none = ChangeSet::default();
        none.delete("a");
        assert_eq!(parse(compact).render(&none), "{}");
    }

    #[test]
    fn repeated_key_last_value_wins_at_first_position() {
        let dump = parse(r#"{"a":"1","b":"2","a":"3"}"#);
        let mut d = dump;
        let area = d.load(None).unwrap();
        assert_eq!(area.get(&JsString::from("a")).unwrap().as_str(), Some("3"));
        assert_eq!(d.render(&ChangeSet::default()), r#"{"a":"3","b":"2"}"#);
    }
}
