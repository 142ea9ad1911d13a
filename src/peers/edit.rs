//! Changing a namespace the way the app leaves it, touching as few bytes as possible.
//!
//! A `Draft` collects the changes of one command (records removed or rewritten) and then derives
//! what the app would also write: the index without the removed ids (`JSON.stringify` of the
//! filtered array) and the metadata with `totalPeers`/`estimatedSize` recomputed. Records are
//! edited in place: only the values of the named members change, every other byte stays.

use crate::peers::namespace::NsKey;
use std::collections::HashSet;

use serde_json::Value;

use super::Namespace;
use super::namespace::{Index, index_number_id, parse_index};
use crate::js::{JsString, json, number};
use crate::store::ChangeSet;
use crate::store::jsontext::{self, Layout};

/// `raw` (a JSON object text) with members set to new JSON values: a member that exists gets
/// its value replaced where it stands (every occurrence, should the name repeat), a missing one
/// is appended at the end in the object's own layout. `None` when `raw` is not a JSON object.
pub fn set_members(raw: &JsString, updates: &[(&str, String)]) -> Option<JsString> {
    let bytes = raw.as_wtf8();
    let text = placeholder_text(bytes)?;
    let members = jsontext::object_members(&text).ok()?;
    let object = {
        let start = text.len() - text.trim_start().len();
        let end = text.trim_end().len();
        start..end
    };
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut appended = Vec::new();
    for (name, value) in updates {
        let spans: Vec<_> = members
            .iter()
            .filter(|(k, _)| jsontext::decode_string(k).is_some_and(|d| d == JsString::from(*name)))
            .map(|(_, v)| jsontext::span(&text, v))
            .collect();
        if spans.is_empty() {
            appended.push((*name, value.as_str()));
        }
        edits.extend(spans.into_iter().map(|s| (s, value.clone())));
    }
    if !appended.is_empty() {
        let items: Vec<_> = members
            .iter()
            .map(|(k, v)| jsontext::span(&text, k).start..jsontext::span(&text, v).end)
            .collect();
        let first = members
            .first()
            .map(|(k, v)| (jsontext::span(&text, k), jsontext::span(&text, v)));
        let colon = first.map_or(":".to_owned(), |(k, v)| text[k.end..v.start].to_owned());
        let fallback = Layout {
            open: String::new(),
            between: ",".into(),
            close: String::new(),
        };
        let mut layout = Layout::learn(&text, object.clone(), &items, fallback);
        if items.len() == 1 {
            // One member shows no separator; the indentation before it is the one to repeat.
            layout.between = format!(",{}", layout.open);
        }
        let mut insert = String::new();
        for (i, (name, value)) in appended.iter().enumerate() {
            if i > 0 || !items.is_empty() {
                insert.push_str(&layout.between);
            }
            insert.push_str(&JsString::from(*name).to_json());
            insert.push_str(&colon);
            insert.push_str(value);
        }
        let at = items.last().map_or(object.start + 1, |r| r.end);
        edits.push((at..at, insert));
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut last = 0;
    for (range, value) in edits {
        out.extend_from_slice(&bytes[last..range.start]);
        out.extend_from_slice(value.as_bytes());
        last = range.end;
    }
    out.extend_from_slice(&bytes[last..]);
    Some(JsString::from_wtf8(out))
}

/// The text of WTF-8 bytes with every encoded lone surrogate replaced by U+FFFD, which has the
/// same length, so byte offsets into the text are offsets into the original bytes.
fn placeholder_text(bytes: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.into());
    }
    let mut fixed = bytes.to_vec();
    let mut i = 0;
    while i + 2 < fixed.len() {
        if fixed[i] == 0xED && (0xA0..=0xBF).contains(&fixed[i + 1]) {
            fixed[i..i + 3].copy_from_slice("\u{FFFD}".as_bytes());
            i += 3;
        } else {
            i += 1;
        }
    }
    String::from_utf8(fixed).ok().map(Into::into)
}

/// What a command changes in a namespace, plus what the app would write along with it.
pub struct Draft<'n, 'a> {
    ns: &'n Namespace<'a>,
    changes: ChangeSet,
    removed: HashSet<String>,
}

/// When the metadata (`totalPeers`, `estimatedSize`, `lastCleanup`) is recomputed, as the
/// app's `updateMetadata` would leave it — the one rule every writing command follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetadataRule {
    /// The app's writes (savePeer, removePeer, clearExpiredBlacklists, importData): after any
    /// change to the namespace.
    AfterWrite,
    /// The app's cleanupStalePeers: always, with `lastCleanup` = `at`.
    Cleanup { at: f64 },
    /// repair: always (created with the app's defaults when missing).
    Recompute,
    /// The command writes the namespace as a whole (logout, a restore of a whole backup):
    /// the metadata stays as written.
    AsWritten,
}

/// Something the draft could not do the app's way; the command reports it.
#[derive(Debug, Clone)]
pub struct DraftWarning(pub String);

impl<'n, 'a> Draft<'n, 'a> {
    pub fn new(ns: &'n Namespace<'a>) -> Self {
        Draft {
            ns,
            changes: ChangeSet::default(),
            removed: HashSet::new(),
        }
    }

    /// The value of `key` with the draft's changes applied.
    pub fn get(&self, key: &JsString) -> Option<&JsString> {
        match self.changes.get(key) {
            Some(v) => v,
            None => self.ns.area.get(key),
        }
    }

    /// Removes a peer as the app's `removePeer` does: its record, and every index entry naming it.
    pub fn remove_peer(&mut self, id: &str) {
        self.changes.delete(self.ns.peer_key(id));
        self.removed.insert(id.to_owned());
    }

    pub fn put(&mut self, key: JsString, value: JsString) {
        self.changes.put(key, value);
    }

    pub fn delete(&mut self, key: JsString) {
        self.changes.delete(key);
    }

    /// Finishes the draft: the index without the removed ids, and the metadata as `rule`
    /// says (see `MetadataRule`: the one rule for when the app's `updateMetadata` runs).
    pub fn finish(mut self, rule: MetadataRule, now: f64) -> (ChangeSet, Vec<DraftWarning>) {
        let mut warnings = Vec::new();
        let index_key = self.ns.key(NsKey::Index);
        if !self.removed.is_empty() {
            match self.ns.area.get(&index_key) {
                None => {}
                Some(raw) => match index_without(raw, &self.removed) {
                    Some(new) => self.changes.put(index_key.clone(), new),
                    None => warnings.push(DraftWarning(format!(
                        "{index_key} is not a JSON array; left as it is (`meshpeers inspect` explains)"
                    ))),
                },
            }
        }
        if self.touches_metadata(rule) {
            let stamp = match rule {
                MetadataRule::Cleanup { at } => Some(at),
                _ => None,
            };
            if let Err(w) = self.update_metadata(stamp, now) {
                warnings.push(w);
            }
        }
        (self.changes.without_noops(self.ns.area), warnings)
    }

    /// Whether the metadata is recomputed: only where the namespace exists (an index or
    /// metadata, after the draft), and then as `rule` says.
    fn touches_metadata(&self, rule: MetadataRule) -> bool {
        let present = self.get(&self.ns.key(NsKey::Index)).is_some()
            || self.get(&self.ns.key(NsKey::Metadata)).is_some();
        present
            && match rule {
                MetadataRule::AsWritten => false,
                MetadataRule::AfterWrite => !self.changes.is_empty(),
                MetadataRule::Cleanup { .. } | MetadataRule::Recompute => true,
            }
    }

    fn update_metadata(&mut self, last_cleanup: Option<f64>, now: f64) -> Result<(), DraftWarning> {
        let index_key = self.ns.key(NsKey::Index);
        let ids = match self.get(&index_key).map(parse_index) {
            Some(Index::Ids { ids, .. }) => ids,
            _ => Vec::new(),
        };
        let size: u64 = ids
            .iter()
            .filter_map(|id| self.get(&self.ns.peer_key(id)))
            .map(|raw| 2 * raw.utf16_len() as u64)
            .sum();
        let total = number::to_json(ids.len() as f64);
        let size = number::to_json(size as f64);
        let meta_key = self.ns.key(NsKey::Metadata);
        let new = match self.get(&meta_key) {
            None => {
                let cleanup = number::to_json(last_cleanup.unwrap_or(now));
                JsString::from(format!(
                    "{{\"lastCleanup\":{cleanup},\"totalPeers\":{total},\"estimatedSize\":{size},\"statistics\":{{\"totalReconnections\":0,\"successfulReconnections\":0,\"failedReconnections\":0}}}}"
                ))
            }
            Some(raw) => {
                let readable = json::parse::<Value>(raw).is_ok_and(|v| v.is_object());
                let mut updates = Vec::new();
                if let Some(t) = last_cleanup {
                    updates.push(("lastCleanup", number::to_json(t)));
                }
                updates.push(("totalPeers", total));
                updates.push(("estimatedSize", size));
                match set_members(raw, &updates).filter(|_| readable) {
                    Some(v) => v,
                    None => {
                        return Err(DraftWarning(format!(
                            "{meta_key} is not a JSON object; left as it is (`meshpeers inspect` explains)"
                        )));
                    }
                }
            }
        };
        self.changes.put(meta_key, new);
        Ok(())
    }
}

/// `JSON.stringify(index.filter(id => !removed.has(id)))`, or `None` when the index is not an
/// array.
fn index_without(raw: &JsString, removed: &HashSet<String>) -> Option<JsString> {
    let text = json::text(raw);
    let elements = jsontext::array_elements(&text).ok()?;
    let mut kept = Vec::with_capacity(elements.len());
    for e in elements {
        let value: Value = json::parse_text(e).unwrap_or(Value::Null);
        let id = match &value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(index_number_id(n)),
            _ => None,
        };
        if id.as_ref().is_some_and(|id| removed.contains(id)) {
            continue;
        }
        kept.push(match value {
            Value::String(_) => {
                jsontext::decode_string(e).map_or_else(|| e.to_owned(), |s| s.to_json())
            }
            Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), number::to_json),
            other => serde_json::to_string(&other).unwrap_or_else(|_| "null".into()),
        });
    }
    Some(JsString::from(format!("[{}]", kept.join(","))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Area;

    #[test]
    fn numbers_as_javascript_writes_them() {
        assert_eq!(number::to_json(1795176000000.0), "1795176000000");
        assert_eq!(number::to_json(-0.0), "0");
        assert_eq!(number::to_json(0.5), "0.5");
        assert_eq!(number::to_json(f64::NAN), "null");
        assert_eq!(number::to_json(1e21), "1e+21");
        assert_eq!(number::to_json(1.5e-9), "1.5e-9");
    }

    #[test]
    fn members_replaced_in_place_or_appended() {
        let raw = JsString::from(r#"{"a":1,"blacklistUntil":17,"b":{"x":"\ud800"}}"#);
        let out = set_members(
            &raw,
            &[
                ("blacklistUntil", "null".into()),
                ("reconnectionAttempts", "0".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            out.to_string_lossy(),
            r#"{"a":1,"blacklistUntil":null,"b":{"x":"\ud800"},"reconnectionAttempts":0}"#
        );
        let pretty = JsString::from("{\n  \"a\": 1\n}");
        assert_eq!(
            set_members(&pretty, &[("z", "2".into())])
                .unwrap()
                .to_string_lossy(),
            "{\n  \"a\": 1,\n  \"z\": 2\n}"
        );
        assert_eq!(
            set_members(&JsString::from("{}"), &[("z", "2".into())])
                .unwrap()
                .to_string_lossy(),
            r#"{"z":2}"#
        );
        assert!(set_members(&JsString::from("[1]"), &[("z", "2".into())]).is_none());
    }

    #[test]
    fn lone_surrogates_in_records_survive_an_edit() {
        // A displayName holding a raw lone surrogate (WTF-8), as a browser can store it.
        let mut bytes = br#"{"displayName":"x"#.to_vec();
        bytes.extend_from_slice(&[0xED, 0xA0, 0x80]);
        bytes.extend_from_slice(br#"","reconnectionAttempts":7}"#);
        let raw = JsString::from_wtf8(bytes.clone());
        assert!(raw.as_str().is_none());
        let out = set_members(&raw, &[("reconnectionAttempts", "0".into())]).unwrap();
        let mut want = bytes[..bytes.len() - 2].to_vec();
        want.extend_from_slice(b"0}");
        assert_eq!(out.as_wtf8(), want.as_slice());
    }

    #[test]
    fn draft_rewrites_index_and_metadata_like_the_app() {
        let mut area = Area::new();
        area.insert("mesh:peers:index".into(), r#"["a","b","a",5]"#.into());
        area.insert("mesh:peer:a".into(), r#"{"peerId":"a"}"#.into());
        area.insert("mesh:peer:b".into(), r#"{"peerId":"b"}"#.into());
        area.insert("mesh:peer:5".into(), r#"{"peerId":"5"}"#.into());
        area.insert(
            "mesh:peers:metadata".into(),
            r#"{"lastCleanup":1,"totalPeers":4,"estimatedSize":0,"statistics":{}}"#.into(),
        );
        let ns = Namespace::new(&area, "mesh:");
        let mut d = Draft::new(&ns);
        d.remove_peer("a");
        let (cs, warnings) = d.finish(MetadataRule::Cleanup { at: 1e12 }, 1e12);
        assert!(warnings.is_empty());
        let out = cs.applied_to(&area);
        assert_eq!(
            out[&JsString::from("mesh:peers:index")].to_string_lossy(),
            r#"["b",5]"#
        );
        assert!(!out.contains_key(&JsString::from("mesh:peer:a")));
        // 2 records of 14 UTF-16 units each.
        assert_eq!(
            out[&JsString::from("mesh:peers:metadata")].to_string_lossy(),
            r#"{"lastCleanup":1000000000000,"totalPeers":2,"estimatedSize":56,"statistics":{}}"#
        );
    }
}
