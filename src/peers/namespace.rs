//! Finding the namespace's keys in an origin's map and loading peers the way the app's
//! `getAllPeerIds`/`getPeer` do: index order, missing or unreadable records skipped.

use serde_json::Value;

use super::record::{PeerView, Unreadable};
use crate::js::{JsString, json, number};
use crate::store::{Area, entry_bytes};

/// The namespace's own entries besides the peer records (`<prefix>peer:<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsKey {
    /// `peers:index`: the JSON array of peer ids the app lists.
    Index,
    /// `peers:metadata`: totalPeers, estimatedSize, lastCleanup, statistics.
    Metadata,
    /// `encryption:key`: the key record (the app's JWK, or a meshpeers protected record).
    KeyRecord,
    /// `schema:version`.
    SchemaVersion,
}

impl NsKey {
    /// The storage key after the prefix.
    pub fn suffix(self) -> &'static str {
        match self {
            NsKey::Index => "peers:index",
            NsKey::Metadata => "peers:metadata",
            NsKey::KeyRecord => "encryption:key",
            NsKey::SchemaVersion => "schema:version",
        }
    }
}

/// The namespace of one store under a key prefix (default `mesh:`).
pub struct Namespace<'a> {
    pub prefix: String,
    pub area: &'a Area,
    pub index: Index,
}

/// `mesh:peers:index` as read.
#[derive(Debug, Clone)]
pub enum Index {
    /// No index key (the app then sees no peers).
    Absent,
    /// The ids in index order (duplicates kept, as the app keeps them); `skipped` counts
    /// entries that are not strings or numbers.
    Ids { ids: Vec<String>, skipped: usize },
    /// Present but not a JSON array.
    Unreadable(String),
}

/// A readable peer record in index order.
#[derive(Debug)]
pub struct Peer {
    /// The id as the index names it.
    pub id: String,
    pub view: PeerView,
}

/// An index entry whose record the app cannot use.
#[derive(Debug)]
pub enum PeerProblem {
    Missing { id: String },
    Unreadable { id: String, why: Unreadable },
}

impl<'a> Namespace<'a> {
    pub fn new(area: &'a Area, prefix: &str) -> Namespace<'a> {
        let index_key = JsString::from(format!("{prefix}{}", NsKey::Index.suffix()));
        let index = match area.get(&index_key) {
            None => Index::Absent,
            Some(raw) => parse_index(raw),
        };
        Namespace {
            prefix: prefix.to_owned(),
            area,
            index,
        }
    }

    /// The storage key of one of the namespace's own entries (`mesh:peers:index`, …).
    pub fn key(&self, key: NsKey) -> JsString {
        JsString::from(format!("{}{}", self.prefix, key.suffix()))
    }

    pub fn peer_key(&self, id: &str) -> JsString {
        JsString::from(format!("{}peer:{id}", self.prefix))
    }

    pub fn get(&self, key: NsKey) -> Option<&'a JsString> {
        self.area.get(&self.key(key))
    }

    pub fn index_ids(&self) -> &[String] {
        match &self.index {
            Index::Ids { ids, .. } => ids,
            _ => &[],
        }
    }

    /// Every `<prefix>peer:<id>` record, indexed or not, in id order (UTF-16 code units, as
    /// JavaScript compares strings): the same on every backend, whatever order the browser
    /// keeps its keys in (LevelDB sorts them by their encoded bytes, Firefox by row).
    pub fn records(&self) -> impl Iterator<Item = (JsString, &'a JsString)> + '_ {
        let peer_prefix = format!("{}peer:", self.prefix);
        let mut records: Vec<(JsString, &'a JsString)> = self
            .area
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&peer_prefix).map(|id| (id, v)))
            .collect();
        records.sort_by(|a, b| a.0.utf16_units().cmp(b.0.utf16_units()));
        records.into_iter()
    }

    /// Every peer id the namespace knows, from its records and its index, sorted, each once.
    pub fn known_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .records()
            .map(|(id, _)| id.to_string())
            .chain(self.index_ids().iter().cloned())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The peers the app sees, in index order, and the index entries it cannot use.
    pub fn load_peers(&self) -> (Vec<Peer>, Vec<PeerProblem>) {
        let ids = self.index_ids();
        let mut peers = Vec::with_capacity(ids.len());
        let mut problems = Vec::new();
        for id in ids {
            match self.area.get(&self.peer_key(id)) {
                None => problems.push(PeerProblem::Missing { id: id.clone() }),
                Some(raw) => match PeerView::parse(raw) {
                    Ok(view) => peers.push(Peer {
                        id: id.clone(),
                        view,
                    }),
                    Err(why) => problems.push(PeerProblem::Unreadable {
                        id: id.clone(),
                        why,
                    }),
                },
            }
        }
        (peers, problems)
    }

    /// Parsed `mesh:peers:metadata` (`None` when absent or unreadable).
    pub fn metadata(&self) -> Option<Value> {
        self.get(NsKey::Metadata)
            .and_then(|raw| json::parse::<Value>(raw).ok())
            .filter(Value::is_object)
    }

    pub fn schema_version(&self) -> Option<&'a JsString> {
        self.get(NsKey::SchemaVersion)
    }

    pub fn key_record(&self) -> Option<&'a JsString> {
        self.get(NsKey::KeyRecord)
    }

    /// Bytes of every key under the prefix, as the quota counts them.
    pub fn bytes(&self) -> u64 {
        self.area
            .iter()
            .filter(|(k, _)| k.starts_with(&self.prefix))
            .map(|(k, v)| entry_bytes(k, v))
            .sum()
    }

    /// Keys outside the namespace, with their bytes.
    pub fn other_keys(&self) -> impl Iterator<Item = (&'a JsString, u64)> + '_ {
        self.area
            .iter()
            .filter(|(k, _)| !k.starts_with(&self.prefix))
            .map(|(k, v)| (k, entry_bytes(k, v)))
    }
}

/// The id a number in the index names: the app builds the key as `PREFIX + id`, which writes
/// the number as `String(id)` does (`5`, `1e+21`).
pub(crate) fn index_number_id(n: &serde_json::Number) -> String {
    n.as_f64().map_or_else(|| n.to_string(), number::to_string)
}

pub(crate) fn parse_index(raw: &JsString) -> Index {
    match json::parse::<Value>(raw) {
        Ok(Value::Array(items)) => {
            let mut skipped = 0;
            let ids = items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    // The app builds the key as PREFIX + id, so a number names "mesh:peer:5".
                    Value::Number(n) => Some(index_number_id(&n)),
                    _ => {
                        skipped += 1;
                        None
                    }
                })
                .collect();
            Index::Ids { ids, skipped }
        }
        Ok(other) => Index::Unreadable(format!("the index is {}, not an array", kind(&other))),
        Err(e) => Index::Unreadable(format!("the index is not valid JSON: {e}")),
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
