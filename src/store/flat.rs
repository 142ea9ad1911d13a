//! The flat JSON dump: one object of key → string, as `JSON.stringify(localStorage)` gives
//! (pretty or not). Saving splices changed entries into the original text, so untouched entries
//! keep their exact bytes and the file keeps its formatting.

use std::collections::HashSet;
use std::ops::Range;
use std::path::PathBuf;

use anyhow::Result;

use super::jsontext::{self, Layout, MemberSpan, Style};
use super::{Area, Backend, BackendKind, ChangeSet, OriginInfo, atomic};
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
        let mut area = Area::with_capacity(members.len());
        let mut entries: Vec<FlatEntry> = Vec::with_capacity(members.len());
        for (key_span, value_span) in members.iter().cloned() {
            let (raw_key, raw_value) = (&text[key_span.clone()], &text[value_span.clone()]);
            let key = jsontext::decode_string(raw_key).ok_or_else(|| {
                MeshError::invalid(location, format!("key {raw_key} cannot be decoded"))
            })?;
            let Some(value) = jsontext::decode_string(raw_value) else {
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
            match area.get_index_of(&key) {
                Some(i) => {
                    entries[i].key_span = key_span;
                    entries[i].value_span = value_span;
                    area[i] = value;
                }
                None => {
                    area.insert(key.clone(), value);
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
            area: Some(area),
        })
    }

    /// The whole file with `changes` applied.
    fn render(&self, changes: &ChangeSet) -> String {
        let t = &self.text;
        let mut items = Vec::with_capacity(self.entries.len() + changes.len());
        let mut seen = HashSet::with_capacity(self.entries.len());
        for e in &self.entries {
            seen.insert(&e.key);
            match changes.get(&e.key) {
                None => items.push(t[e.key_span.start..e.value_span.end].to_owned()),
                Some(None) => {}
                Some(Some(v)) => items.push(format!(
                    "{}{}",
                    &t[e.key_span.start..e.value_span.start],
                    self.style.encode(v)
                )),
            }
        }
        for (k, v) in changes.iter() {
            if let (Some(v), false) = (v, seen.contains(k)) {
                items.push(
                    self.style
                        .member(&self.style.encode(k), &self.style.encode(v)),
                );
            }
        }
        let c = container_span(t);
        format!(
            "{}{}{}",
            &t[..c.start],
            self.layout.render('{', &items, '}'),
            &t[c.end..]
        )
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
        let new_text = self.render(changes);
        atomic::replace_file(path, new_text.as_bytes(), 0o600)?;
        let members = jsontext::member_spans(&new_text)?;
        let mut reparsed = FlatDump::parse(&self.location, self.path.clone(), new_text, &members)?;
        reparsed.area = None;
        *self = reparsed;
        Ok(None)
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
