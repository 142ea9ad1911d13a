//! What the versions of an origin's keys mean for the app: which namespace key each is (a
//! peer's record, the index, …), its state, when it was committed; and the versions `recover`
//! chooses (the last ones of what was deleted, the namespace as of a moment, named versions).

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::namespace::{Index, NsKey, parse_index};
use super::record::PeerView;
use crate::js::JsString;
use crate::js::value::to_number;
use crate::store::leveldb::history::{Commit, KeyVersion};
use crate::store::leveldb::raw::Op;

/// A version's place in its key's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The key's newest version, a value: what the database holds now.
    Live,
    /// Replaced (or deleted) by a newer version.
    Older,
    /// A deletion (tombstone).
    Deleted,
}

/// One row of `history`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub seq: u64,
    pub key: String,
    /// peer, index, metadata, key, schema or other.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<String>,
    pub op: Op,
    pub state: State,
    /// The file the version came from.
    pub file: String,
    /// Bytes of the stored value (format byte included; 0 for a deletion).
    pub bytes: usize,
    /// When the browser committed it (epoch ms), when the files tell: exact when its write
    /// batch's `META` record is in the same log, else the first later commit the files hold
    /// (`timeExact: false`: committed at or before).
    #[serde(serialize_with = "js_number")]
    pub time: Option<f64>,
    pub time_exact: bool,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "js_number")]
    pub last_seen: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The index's length, the schema version's text, … (what fits in a cell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A number as JavaScript prints it (`1800000000000`, not `1800000000000.0`).
fn js_number<S: serde::Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    x.map(crate::js::number::to_json_value).serialize(s)
}

/// Which namespace key `key` is: (kind, peer id).
pub fn classify(key: &JsString, prefix: &str) -> Option<(&'static str, Option<String>)> {
    let rest = key.strip_prefix(prefix)?;
    if let Some(id) = rest.strip_prefix("peer:") {
        return Some(("peer", Some(id.to_string())));
    }
    let rest = rest.to_string();
    Some((
        match rest.as_str() {
            r if r == NsKey::Index.suffix() => "index",
            r if r == NsKey::Metadata.suffix() => "metadata",
            r if r == NsKey::KeyRecord.suffix() => "key",
            r if r == NsKey::SchemaVersion.suffix() => "schema",
            _ => "other",
        },
        None,
    ))
}

/// The commit time of the version at `seq`: the `META` of its own batch (exact), else the
/// first commit the files hold at or after it (an upper bound).
fn commit_time(commits: &[Commit], seq: u64, batch: Option<(u64, u32)>) -> (Option<f64>, bool) {
    let i = commits.partition_point(|c| c.seq < seq);
    match commits.get(i) {
        Some(c) => {
            let exact = batch.is_some_and(|(first, n)| c.seq < first + u64::from(n));
            (Some(c.time_ms), exact)
        }
        None => (None, false),
    }
}

/// The namespace's versions as rows, oldest first; `ids`, when not empty, keeps only the
/// records of peers whose id starts with one of them.
pub fn rows(versions: &[KeyVersion], commits: &[Commit], prefix: &str, ids: &[String]) -> Vec<Row> {
    // The newest version of each key.
    let mut newest: BTreeMap<&JsString, u64> = BTreeMap::new();
    for v in versions {
        newest.insert(&v.key, v.seq);
    }
    versions
        .iter()
        .filter_map(|v| {
            let (kind, peer_id) = classify(&v.key, prefix)?;
            if !ids.is_empty()
                && !peer_id
                    .as_deref()
                    .is_some_and(|p| ids.iter().any(|want| p.starts_with(want.as_str())))
            {
                return None;
            }
            let state = match v.op {
                Op::Delete => State::Deleted,
                Op::Put if newest.get(&v.key) == Some(&v.seq) => State::Live,
                Op::Put => State::Older,
            };
            let (time, time_exact) = commit_time(commits, v.seq, v.batch);
            let (mut last_seen, mut display_name, mut detail) = (None, None, None);
            if let Some(value) = &v.value {
                match kind {
                    "peer" => match PeerView::parse(value) {
                        Ok(view) => {
                            let t = to_number(view.last_seen.as_ref());
                            last_seen = (!t.is_nan()).then_some(t);
                            display_name = view.display_name().map(str::to_owned);
                        }
                        Err(why) => detail = Some(why.to_string()),
                    },
                    "index" => {
                        detail = Some(match parse_index(value) {
                            Index::Ids { ids, .. } => crate::words::count(ids.len(), "peer"),
                            Index::Unreadable(why) => why,
                            Index::Absent => String::new(),
                        });
                    }
                    "schema" => detail = Some(value.to_string()),
                    _ => {}
                }
            }
            Some(Row {
                seq: v.seq,
                key: v.key.to_string(),
                kind,
                peer_id,
                op: v.op,
                state,
                file: v.file.clone(),
                bytes: v.stored_bytes,
                time,
                time_exact,
                last_seen,
                display_name,
                detail,
            })
        })
        .collect()
}

/// A version `recover` puts in its backup.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chosen {
    pub key: JsString,
    pub seq: u64,
    pub file: String,
    /// Why it was chosen.
    pub why: String,
    #[serde(skip)]
    pub value: JsString,
}

/// A key whose state `recover` could not tell.
#[derive(Clone, Debug, Serialize)]
pub struct Unresolved {
    pub key: String,
    pub problem: String,
}

/// What `recover` writes: the chosen versions (namespace keys, in key order), and what could
/// not be told.
#[derive(Debug, Default)]
pub struct Recovery {
    pub chosen: Vec<Chosen>,
    pub unresolved: Vec<Unresolved>,
}

/// Each key's versions, oldest first, in key order.
fn by_key<'a>(
    versions: &'a [KeyVersion],
    prefix: &str,
) -> BTreeMap<&'a JsString, Vec<&'a KeyVersion>> {
    let mut out: BTreeMap<&JsString, Vec<&KeyVersion>> = BTreeMap::new();
    for v in versions.iter().filter(|v| v.key.starts_with(prefix)) {
        out.entry(&v.key).or_default().push(v);
    }
    out
}

fn chosen(v: &KeyVersion, why: String) -> Chosen {
    Chosen {
        key: v.key.clone(),
        seq: v.seq,
        file: v.file.clone(),
        why,
        value: v.value.clone().unwrap_or_else(|| JsString::from("")),
    }
}

/// `--deleted`: the last version of every namespace key whose newest version is a deletion
/// (every peer record, and the index, metadata, key record and schema version when they are
/// gone too). The backup's index lists every recovered peer — in the order of the newest index
/// versions that listed them, the last index's own bytes when it lists exactly them — so that
/// an `import` (merge) indexes them, also after a logout.
pub fn deleted(versions: &[KeyVersion], prefix: &str) -> Recovery {
    let keys = by_key(versions, prefix);
    let mut r = Recovery::default();
    let mut peers: Vec<String> = Vec::new();
    let mut last_index: Option<&KeyVersion> = None;
    for (key, vs) in &keys {
        let newest = vs.last().expect("a key has a version");
        if newest.op != Op::Delete {
            continue;
        }
        let (kind, peer_id) = classify(key, prefix).unwrap_or(("other", None));
        match vs.iter().rev().find(|v| v.op == Op::Put) {
            Some(last) if kind == "index" => last_index = Some(last),
            Some(last) => {
                r.chosen.push(chosen(
                    last,
                    format!("its last version before the deletion at seq {}", newest.seq),
                ));
                if let Some(id) = peer_id {
                    peers.push(id);
                }
            }
            None => r.unresolved.push(Unresolved {
                key: key.to_string(),
                problem: format!(
                    "deleted at seq {}, and no earlier version is left in the files (compaction dropped it)",
                    newest.seq
                ),
            }),
        }
    }
    let order = index_order(&keys, prefix, &peers);
    let exact = last_index.filter(|v| {
        v.value
            .as_ref()
            .is_some_and(|raw| matches!(parse_index(raw), Index::Ids { ids, .. } if ids == order))
    });
    match (exact, last_index) {
        (Some(v), _) => r
            .chosen
            .push(chosen(v, "its last version before the deletion".into())),
        _ if !peers.is_empty() => r.chosen.push(listing_entry(
            prefix,
            &order,
            "lists the recovered peers, in the order the last indexes that held them gave",
        )),
        (None, Some(v)) => r
            .chosen
            .push(chosen(v, "its last version before the deletion".into())),
        (None, None) => {}
    }
    r.chosen.sort_by(|a, b| a.key.cmp(&b.key));
    r
}

/// `peers` in the order of the newest index versions that list them (the rest after them).
fn index_order(
    keys: &BTreeMap<&JsString, Vec<&KeyVersion>>,
    prefix: &str,
    peers: &[String],
) -> Vec<String> {
    let index_key = JsString::from(format!("{prefix}{}", NsKey::Index.suffix()));
    let wanted: HashSet<&str> = peers.iter().map(String::as_str).collect();
    let mut order: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for v in keys.get(&index_key).into_iter().flatten().rev() {
        if let Some(value) = &v.value {
            if let Index::Ids { ids, .. } = parse_index(value) {
                for id in ids {
                    if wanted.contains(id.as_str()) && seen.insert(id.clone()) {
                        order.push(id);
                    }
                }
            }
        }
    }
    order.extend(peers.iter().filter(|p| !seen.contains(p.as_str())).cloned());
    order
}

/// An index entry for the backup listing `order`.
fn listing_entry(prefix: &str, order: &[String], why: &str) -> Chosen {
    Chosen {
        key: JsString::from(format!("{prefix}{}", NsKey::Index.suffix())),
        seq: 0,
        file: String::new(),
        why: why.to_owned(),
        value: JsString::from(serde_json::to_string(order).expect("strings serialize")),
    }
}

/// `--as-of`: the namespace as it stood at `seq`, as far as the files tell: each key's newest
/// version at or before it. A key whose every version is newer cannot be told (compaction
/// keeps only a key's newest version).
pub fn as_of(versions: &[KeyVersion], prefix: &str, seq: u64) -> Recovery {
    let mut r = Recovery::default();
    for (key, vs) in by_key(versions, prefix) {
        match vs.iter().rev().find(|v| v.seq <= seq) {
            Some(v) if v.op == Op::Put => {
                r.chosen.push(chosen(v, format!("its newest version at or before seq {seq}")))
            }
            Some(_) => {} // deleted by then
            None => r.unresolved.push(Unresolved {
                key: key.to_string(),
                problem: format!(
                    "its oldest version in the files is seq {} ({}): whether it existed at seq {seq}, and with what value, is not known",
                    vs[0].seq,
                    if vs[0].op == Op::Put { "a value" } else { "a deletion" }
                ),
            }),
        }
    }
    r
}

/// `ID@SEQ`: the version of each named peer's record that stood at SEQ; with an index that
/// lists them so `import` (merge) indexes them. An id may be a unique prefix.
pub fn named(
    versions: &[KeyVersion],
    prefix: &str,
    wanted: &[(String, u64)],
) -> Result<Recovery, String> {
    let keys = by_key(versions, prefix);
    let peer_prefix = format!("{prefix}peer:");
    let mut r = Recovery::default();
    let mut peers = Vec::new();
    for (want, seq) in wanted {
        let matching: Vec<&&JsString> = keys
            .keys()
            .filter(|k| {
                k.strip_prefix(&peer_prefix)
                    .is_some_and(|id| id.starts_with(want.as_str()))
            })
            .collect();
        let exact = JsString::from(format!("{peer_prefix}{want}"));
        let key = match matching.as_slice() {
            _ if keys.contains_key(&exact) => &exact,
            [one] => **one,
            [] => return Err(format!("no version of peer {want} is in the files")),
            many => {
                return Err(format!(
                    "{want} names {} peers: {}",
                    many.len(),
                    many.iter()
                        .map(|k| k
                            .strip_prefix(&peer_prefix)
                            .map(|i| i.to_string())
                            .unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        };
        let vs = &keys[key];
        let listing = || {
            vs.iter()
                .map(|v| {
                    format!(
                        "{} ({})",
                        v.seq,
                        if v.op == Op::Put { "value" } else { "deleted" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let id = key
            .strip_prefix(&peer_prefix)
            .map(|i| i.to_string())
            .unwrap_or_default();
        match vs.iter().rev().find(|v| v.seq <= *seq) {
            Some(v) if v.op == Op::Put => {
                r.chosen
                    .push(chosen(v, format!("the version that stood at seq {seq}")));
                peers.push(id);
            }
            Some(v) => {
                return Err(format!(
                    "peer {id} was deleted at seq {} (at or before {seq}); its versions: {}",
                    v.seq,
                    listing()
                ));
            }
            None => {
                return Err(format!(
                    "peer {id} has no version at or before seq {seq}; its versions: {}",
                    listing()
                ));
            }
        }
    }
    let order = index_order(&keys, prefix, &peers);
    r.chosen
        .push(listing_entry(prefix, &order, "lists the recovered peers"));
    r.chosen.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(r)
}
