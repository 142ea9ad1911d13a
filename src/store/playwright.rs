//! Playwright `storageState` files: `{"cookies":[…],"origins":[{"origin","localStorage":[{name,
//! value}]}]}`. Only the chosen origin's `localStorage` array is ever re-rendered; cookies, other
//! origins and any other member are copied byte for byte.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;
use std::path::PathBuf;

use anyhow::Result;

use super::jsontext::{self, Layout, MemberSpan, Style};
use super::{Area, Backend, BackendKind, ChangeSet, OriginInfo, atomic, entry_bytes, read_back};
use crate::error::MeshError;
use crate::js::JsString;

pub struct PlaywrightState {
    location: String,
    path: Option<PathBuf>,
    text: String,
    style: Style,
    origins_span: Range<usize>,
    origin_spans: Vec<Range<usize>>,
    origins: Vec<PwOrigin>,
}

struct PwOrigin {
    name: String,
    /// The `localStorage` array, when the origin object has one.
    array: Option<Range<usize>>,
    entries: Vec<PwEntry>,
    info: OriginInfo,
    area: Option<Area>,
}

struct PwEntry {
    key: JsString,
    span: Range<usize>,
}

impl PlaywrightState {
    pub fn parse(
        location: &str,
        path: Option<PathBuf>,
        text: String,
        members: &[MemberSpan],
    ) -> Result<PlaywrightState> {
        let bad = |problem: String| MeshError::invalid(location, problem);
        let origins_raw = members
            .iter()
            .rev()
            .find(|(k, _)| &text[k.clone()] == "\"origins\"")
            .map(|(_, v)| &text[v.clone()])
            .ok_or_else(|| bad("not a Playwright storage state: no \"origins\" member".into()))?;
        let elements = jsontext::array_elements(origins_raw).map_err(|_| {
            bad(format!(
                "\"origins\" is {}, expected an array",
                jsontext::kind_of(origins_raw)
            ))
        })?;
        let mut origins = Vec::with_capacity(elements.len());
        for (i, elem) in elements.iter().enumerate() {
            origins.push(parse_origin(&text, elem).map_err(|p| bad(format!("origins[{i}]: {p}")))?);
        }
        let origins_span = jsontext::span(&text, origins_raw);
        let origin_spans = elements.iter().map(|e| jsontext::span(&text, e)).collect();
        Ok(PlaywrightState {
            location: location.to_owned(),
            path,
            style: Style::detect(&text, members.first().cloned()),
            text,
            origins_span,
            origin_spans,
            origins,
        })
    }

    pub(super) fn render(&self, origin: &str, changes: &ChangeSet) -> Result<String> {
        let t = &self.text;
        let unit = self.style.unit.clone().unwrap_or_default();
        match self.origins.iter().find(|o| o.name == origin) {
            Some(o) => {
                let Some(array) = o.array.clone() else {
                    return Err(MeshError::invalid(
                        &self.location,
                        format!("origin {origin} has no \"localStorage\" array to write into"),
                    )
                    .into());
                };
                let base = jsontext::line_indent(t, array.start).to_owned();
                let elem_base = format!("{base}{unit}");
                let mut items = Vec::with_capacity(o.entries.len() + changes.len());
                let mut seen = HashSet::with_capacity(o.entries.len());
                for e in &o.entries {
                    seen.insert(&e.key);
                    match changes.get(&e.key) {
                        None => items.push(Cow::Borrowed(&t[e.span.clone()])),
                        Some(None) => {}
                        Some(Some(v)) => {
                            items.push(Cow::Owned(self.entry_object(&elem_base, &e.key, v)))
                        }
                    }
                }
                for (k, v) in changes.iter() {
                    if let (Some(v), false) = (v, seen.contains(k)) {
                        items.push(Cow::Owned(self.entry_object(&elem_base, k, v)));
                    }
                }
                let spans: Vec<_> = o.entries.iter().map(|e| e.span.clone()).collect();
                let layout = Layout::learn(t, array.clone(), &spans, self.style.layout(&base));
                Ok(format!(
                    "{}{}{}",
                    &t[..array.start],
                    layout.render('[', &items, ']'),
                    &t[array.end..]
                ))
            }
            None => {
                // A new origin object at the end of "origins", laid out like Playwright's own.
                let base = jsontext::line_indent(t, self.origins_span.start).to_owned();
                let obj_base = format!("{base}{unit}");
                let member_base = format!("{obj_base}{unit}");
                let entry_base = format!("{member_base}{unit}");
                let items: Vec<String> = changes
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| self.entry_object(&entry_base, k, v)))
                    .collect();
                let array = self.style.layout(&member_base).render('[', &items, ']');
                let object = self.style.object(
                    &obj_base,
                    &[
                        ("origin", self.style.encode(&JsString::from(origin))),
                        ("localStorage", array),
                    ],
                );
                let mut all: Vec<String> = self
                    .origin_spans
                    .iter()
                    .map(|s| t[s.clone()].to_owned())
                    .collect();
                all.push(object);
                let layout = Layout::learn(
                    t,
                    self.origins_span.clone(),
                    &self.origin_spans,
                    self.style.layout(&base),
                );
                let (start, end) = (self.origins_span.start, self.origins_span.end);
                Ok(format!(
                    "{}{}{}",
                    &t[..start],
                    layout.render('[', &all, ']'),
                    &t[end..]
                ))
            }
        }
    }

    fn entry_object(&self, base: &str, key: &JsString, value: &JsString) -> String {
        self.style.object(
            base,
            &[
                ("name", self.style.encode(key)),
                ("value", self.style.encode(value)),
            ],
        )
    }
}

fn parse_origin(text: &str, elem: &str) -> Result<PwOrigin, String> {
    let members = jsontext::object_members(elem)
        .map_err(|_| format!("is {}, expected an object", jsontext::kind_of(elem)))?;
    let name_raw = members
        .iter()
        .rev()
        .find(|(k, _)| *k == "\"origin\"")
        .map(|(_, v)| *v)
        .ok_or("has no \"origin\"")?;
    let name = jsontext::decode_string(name_raw)
        .and_then(|s| s.as_str().map(str::to_owned))
        .ok_or_else(|| {
            format!(
                "\"origin\" is {}, expected a string",
                jsontext::kind_of(name_raw)
            )
        })?;
    let array_raw = members
        .iter()
        .rev()
        .find(|(k, _)| *k == "\"localStorage\"")
        .map(|(_, v)| *v);
    let mut area = Area::new();
    let mut entries: Vec<PwEntry> = Vec::new();
    if let Some(raw) = array_raw {
        let elems = jsontext::array_elements(raw).map_err(|_| {
            format!(
                "\"localStorage\" is {}, expected an array",
                jsontext::kind_of(raw)
            )
        })?;
        for (j, e) in elems.iter().enumerate() {
            let (key, value) = parse_entry(e).map_err(|p| format!("localStorage[{j}]: {p}"))?;
            let span = jsontext::span(text, e);
            match area.get_index_of(&key) {
                Some(i) => {
                    entries[i].span = span;
                    area[i] = value;
                }
                None => {
                    area.insert(key.clone(), value);
                    entries.push(PwEntry { key, span });
                }
            }
        }
    }
    let info = OriginInfo {
        origin: name.clone(),
        keys: area.len(),
        bytes: area.iter().map(|(k, v)| entry_bytes(k, v)).sum(),
        last_modified: None,
        firefox_usage: None,
    };
    Ok(PwOrigin {
        name,
        array: array_raw.map(|r| jsontext::span(text, r)),
        entries,
        info,
        area: Some(area),
    })
}

fn parse_entry(elem: &str) -> Result<(JsString, JsString), String> {
    let members = jsontext::object_members(elem)
        .map_err(|_| format!("is {}, expected an object", jsontext::kind_of(elem)))?;
    let field = |name: &str| -> Result<JsString, String> {
        let quoted = format!("\"{name}\"");
        let raw = members
            .iter()
            .rev()
            .find(|(k, _)| *k == quoted)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("has no \"{name}\""))?;
        jsontext::decode_string(raw).ok_or_else(|| {
            format!(
                "\"{name}\" is {}, expected a string",
                jsontext::kind_of(raw)
            )
        })
    };
    Ok((field("name")?, field("value")?))
}

impl Backend for PlaywrightState {
    fn kind(&self) -> BackendKind {
        BackendKind::Playwright
    }

    fn origins(&mut self) -> Result<Vec<OriginInfo>> {
        Ok(self.origins.iter().map(|o| o.info.clone()).collect())
    }

    fn namespace_counts(&mut self, prefix: &str) -> Result<Vec<(String, usize)>> {
        Ok(self
            .origins
            .iter()
            .map(|o| {
                (
                    o.name.clone(),
                    o.entries
                        .iter()
                        .filter(|e| e.key.starts_with(prefix))
                        .count(),
                )
            })
            .collect())
    }

    fn load(&mut self, origin: Option<&str>) -> Result<Area> {
        let Some(origin) = origin else {
            return Ok(Area::new());
        };
        Ok(self
            .origins
            .iter_mut()
            .find(|o| o.name == origin)
            .and_then(|o| o.area.take())
            .unwrap_or_default())
    }

    fn save(
        &mut self,
        origin: Option<&str>,
        changes: &ChangeSet,
        _opts: &super::SaveOptions,
    ) -> Result<Option<std::path::PathBuf>> {
        let Some(origin) = origin else {
            return Err(MeshError::usage_hint(
                format!("{} holds no origin to write into", self.location),
                "name the origin to create with --origin ORIGIN",
            )
            .into());
        };
        let Some(path) = &self.path else {
            return Err(MeshError::usage("a store read from stdin cannot be written").into());
        };
        let path = path.clone();
        let new_text = self.render(origin, changes)?;
        atomic::replace_file(&path, new_text.as_bytes(), 0o600)?;
        // Read back from disk for the new index (and for `verify`), the old texts freed
        // first.
        drop(new_text);
        self.text = String::new();
        self.origins = Vec::new();
        let new_text = read_back(&path)?;
        let members = jsontext::member_spans(&new_text)?;
        let mut reparsed =
            PlaywrightState::parse(&self.location, self.path.clone(), new_text, &members)?;
        for o in &mut reparsed.origins {
            o.area = None;
        }
        *self = reparsed;
        Ok(None)
    }

    fn verify(&mut self, origin: Option<&str>, expected: &Area) -> Result<()> {
        // `save` read the file back from disk into `text`.
        let (Some(_), Some(origin)) = (&self.path, origin) else {
            return Ok(());
        };
        let t = &self.text;
        let same = match self.origins.iter().find(|o| o.name == origin) {
            None => expected.is_empty(),
            // Entry by entry, so no second copy of the origin is held.
            Some(o) => {
                o.entries.len() == expected.len()
                    && o.entries.iter().all(|e| {
                        parse_entry(&t[e.span.clone()])
                            .is_ok_and(|(k, v)| k == e.key && expected.get(&k) == Some(&v))
                    })
            }
        };
        if !same {
            anyhow::bail!(
                "{}: after saving, the file does not hold what was written for {origin} (a bug in meshpeers)",
                self.location
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = r#"{
  "cookies": [
    {
      "name": "sid",
      "value": "1",
      "expires": 1e21
    }
  ],
  "origins": [
    {
      "origin": "http://a.test",
      "localStorage": [
        {
          "name": "mesh:peers:index",
          "value": "[]"
        },
        {
          "name": "theme",
          "value": "dark"
        }
      ]
    },
    {
      "origin": "http://b.test",
      "localStorage": []
    }
  ]
}"#;

    fn parse(text: &str) -> PlaywrightState {
        let members = jsontext::member_spans(text).unwrap();
        PlaywrightState::parse("s.json", None, text.to_owned(), &members).unwrap()
    }

    #[test]
    fn unchanged_render_is_byte_identical() {
        let s = parse(STATE);
        assert_eq!(
            s.render("http://a.test", &ChangeSet::default()).unwrap(),
            STATE
        );
        assert_eq!(
            s.render("http://b.test", &ChangeSet::default()).unwrap(),
            STATE
        );
    }

    #[test]
    fn writes_only_the_chosen_origin_in_playwright_layout() {
        let s = parse(STATE);
        let mut cs = ChangeSet::default();
        cs.put("mesh:peers:index", "[\"p1\"]");
        let out = s.render("http://b.test", &cs).unwrap();
        let expected_b = r#"    {
      "origin": "http://b.test",
      "localStorage": [
        {
          "name": "mesh:peers:index",
          "value": "[\"p1\"]"
        }
      ]
    }"#;
        assert!(out.contains(expected_b), "{out}");
        assert!(
            out.starts_with(
                &STATE[..STATE
                    .find("    {\n      \"origin\": \"http://b.test\"")
                    .unwrap()]
            )
        );
        assert!(out.contains("\"expires\": 1e21"));
    }

    #[test]
    fn creates_a_missing_origin() {
        let s = parse("{\n  \"cookies\": [],\n  \"origins\": []\n}\n");
        let mut cs = ChangeSet::default();
        cs.put("k", "v");
        let out = s.render("http://new.test", &cs).unwrap();
        assert_eq!(
            out,
            "{\n  \"cookies\": [],\n  \"origins\": [\n    {\n      \"origin\": \"http://new.test\",\n      \"localStorage\": [\n        {\n          \"name\": \"k\",\n          \"value\": \"v\"\n        }\n      ]\n    }\n  ]\n}\n"
        );
        let reparsed = parse(&out);
        assert_eq!(reparsed.origins[0].info.keys, 1);
    }
}
