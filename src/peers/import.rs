//! Restoring into a namespace: a meshpeers backup merged in (newer lastSeen wins) or
//! replacing the namespace, and the app's exportData() file read as its importData() would
//! store it.

use std::collections::HashSet;

use anyhow::Result;

use super::edit::{Draft, MetadataRule};
use super::namespace::{Index, NsKey, parse_index};
use super::plan::{Action, ActionKind, Plan, PlanRule, display_name};
use super::{Namespace, PeerView};
use crate::backup::Backup;
use crate::crypto::Key;
use crate::error::MeshError;
use crate::js::value::to_number;
use crate::js::{JsString, json};
use crate::store::jsontext;

/// The app's exportData() shape: `{version, exportDate, peers: [...]}` (and not a meshpeers
/// backup).
pub fn is_app_export(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        format: Option<serde::de::IgnoredAny>,
        peers: Option<Vec<serde::de::IgnoredAny>>,
    }
    serde_json::from_str::<Probe>(text).is_ok_and(|p| p.format.is_none() && p.peers.is_some())
}

/// The records the app's importData() would store for an exportData() file (storePeer for
/// each peer: a truthy sharedSecret encrypted, dataVersion set, the index in export order), as
/// a backup of the namespace without metadata.
pub fn from_app_export(
    ns: &Namespace,
    file: &str,
    text: &str,
    store_key: impl FnOnce() -> Result<Option<Key>>,
    warnings: &mut Vec<String>,
) -> Result<Backup> {
    use serde_json::{Map, Value};
    #[derive(serde::Deserialize)]
    struct AppExport {
        version: Option<Value>,
        peers: Vec<Value>,
    }
    let data: AppExport = serde_json::from_str(text)
        .map_err(|e| MeshError::invalid(file, format!("not the app's exportData() shape: {e}")))?;
    if data.version.as_ref().and_then(Value::as_str) != Some(crate::peers::SCHEMA_VERSION) {
        warnings.push(format!(
            "{file}: export version {} differs from the app's 1.0.0 (imported anyway, as the app does)",
            data.version.map_or("(none)".into(), |v| v.to_string())
        ));
    }
    let needs_key = data
        .peers
        .iter()
        .any(|p| crate::js::value::truthy(p.get("sharedSecret")));
    let mut new_key_record = None;
    let key = if needs_key {
        match store_key()? {
            Some(k) => Some(k),
            None => {
                // The app creates its master key on the first secret it stores.
                let (k, record) = crate::crypto::new_record(crate::crypto::NewKind::Jwk, b"", 1);
                new_key_record = Some(record);
                Some(k)
            }
        }
    } else {
        None
    };
    let mut entries = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for (i, peer) in data.peers.into_iter().enumerate() {
        let Value::Object(mut rec) = peer else {
            warnings.push(format!("{file}: peers[{i}] is not an object; skipped"));
            continue;
        };
        let Some(id) = rec.get("peerId").and_then(Value::as_str).map(str::to_owned) else {
            warnings.push(format!("{file}: peers[{i}] has no peerId; skipped"));
            continue;
        };
        if crate::js::value::truthy(rec.get("sharedSecret")) {
            let plain = rec
                .get("sharedSecret")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let key = key.as_ref().expect("a key when a secret is present");
            rec.insert(
                "encryptedSecret".into(),
                Value::from(crate::crypto::encrypt(key, &plain)),
            );
            rec.shift_remove("sharedSecret");
        }
        rec.insert(
            "dataVersion".into(),
            Value::from(crate::peers::SCHEMA_VERSION),
        );
        let text = serde_json::to_string(&Value::Object(rec as Map<String, Value>))?;
        entries.push((ns.peer_key(&id), JsString::from(text)));
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    entries.push((
        ns.key(NsKey::Index),
        JsString::from(serde_json::to_string(&ids)?),
    ));
    if let Some(record) = new_key_record {
        entries.push((ns.key(NsKey::KeyRecord), JsString::from(record.as_str())));
    }
    Ok(Backup {
        created_at: String::new(),
        origin: None,
        prefix: ns.prefix.clone(),
        source: file.to_owned(),
        command: "exportData()".into(),
        redacted: false,
        entries,
    })
}

/// The id of a record key of the namespace (`<prefix>peer:<id>`).
fn record_id(ns: &Namespace, key: &JsString) -> Option<String> {
    key.strip_prefix(&format!("{}peer:", ns.prefix))
        .map(|id| id.to_string())
}

/// The namespace becomes the backup's. `whole`: every key of the namespace (a meshpeers
/// backup); else only the peer records and the index, with metadata recomputed (the app's
/// export holds nothing else).
pub fn replace(ns: &Namespace, backup: &Backup, whole: bool, now: f64) -> Plan {
    let mut draft = Draft::new(ns);
    let mut actions = Vec::new();
    let theirs: HashSet<&JsString> = backup.entries.iter().map(|(k, _)| k).collect();
    let replaced = |k: &JsString| whole || record_id(ns, k).is_some() || *k == ns.key(NsKey::Index);
    for (k, v) in ns
        .area
        .iter()
        .filter(|(k, _)| k.starts_with(&ns.prefix) && replaced(k))
    {
        if !theirs.contains(k) {
            draft.delete(k.clone());
            if let Some(id) = record_id(ns, k) {
                actions.push(peer_action(
                    id,
                    Some(v),
                    ActionKind::Remove,
                    "not in the backup",
                ));
            }
        }
    }
    for (k, v) in &backup.entries {
        let ours = ns.area.get(k);
        if ours != Some(v) {
            if let Some(id) = record_id(ns, k) {
                let (action, why) = match ours {
                    None => (ActionKind::Add, "in the backup only"),
                    Some(_) => (ActionKind::Replace, "the backup's record differs"),
                };
                actions.push(peer_action(id, Some(v), action, why));
            }
        }
        draft.put(k.clone(), v.clone());
    }
    Plan::new(
        actions,
        draft.finish(
            if whole {
                MetadataRule::AsWritten
            } else {
                MetadataRule::AfterWrite
            },
            now,
        ),
    )
}

fn peer_action(id: String, raw: Option<&JsString>, action: ActionKind, why: &str) -> Action {
    Action {
        display_name: raw.and_then(display_name),
        peer_id: id,
        action,
        rule: PlanRule::Import(action),
        rules: Vec::new(),
        reason: why.into(),
    }
}

/// lastSeen of a record as the app's sort reads it (unreadable: never seen).
fn last_seen(raw: &JsString) -> f64 {
    PeerView::parse(raw).map_or(f64::NEG_INFINITY, |v| {
        let t = to_number(v.last_seen.as_ref());
        if t.is_nan() { f64::NEG_INFINITY } else { t }
    })
}

pub fn merge(ns: &Namespace, backup: &Backup, location: &str, now: f64) -> Result<Plan> {
    let index_key = ns.key(NsKey::Index);
    if let Index::Unreadable(why) = &ns.index {
        return Err(MeshError::invalid(
            location,
            format!(
                "{index_key}: {why}; a merge needs a readable index (`--mode replace` does not)"
            ),
        )
        .into());
    }
    let mut draft = Draft::new(ns);
    let mut actions = Vec::new();
    let mut imported_secret = false;
    let key_key = ns.key(NsKey::KeyRecord);
    for (k, v) in &backup.entries {
        let ours = ns.area.get(k);
        match record_id(ns, k) {
            Some(id) => match ours {
                None => {
                    imported_secret |= holds_secret(v);
                    draft.put(k.clone(), v.clone());
                    actions.push(peer_action(
                        id,
                        Some(v),
                        ActionKind::Add,
                        "in the backup only",
                    ));
                }
                Some(o) if o == v => {}
                Some(o) => {
                    let (theirs_seen, ours_seen) = (last_seen(v), last_seen(o));
                    if theirs_seen > ours_seen {
                        imported_secret |= holds_secret(v);
                        draft.put(k.clone(), v.clone());
                        actions.push(peer_action(
                            id,
                            Some(v),
                            ActionKind::Replace,
                            "the backup's record was seen more recently",
                        ));
                    } else {
                        actions.push(peer_action(
                            id,
                            Some(o),
                            ActionKind::Keep,
                            "differs from the backup; the store's record was seen as recently or more",
                        ));
                    }
                }
            },
            // Index and metadata are rebuilt below; every other key is added when missing.
            None if *k == index_key => {}
            None if ours.is_none() => draft.put(k.clone(), v.clone()),
            None => {}
        }
    }
    if let (Some(ours), Some((_, theirs))) = (
        ns.area.get(&key_key),
        backup.entries.iter().find(|(k, _)| *k == key_key),
    ) {
        if ours != theirs && imported_secret {
            return Err(MeshError::Refused(format!(
                "{location}: the backup's encryption key ({key_key}) differs from the store's, so the secrets of the peers it brings would not decrypt; nothing was changed (import with --mode replace to take the backup's key with its peers)"
            ))
            .into());
        }
    }
    // The index: the store's entries as they are, then the backup's new peers in its order.
    let ours: Vec<String> = ns.index_ids().to_vec();
    let known: HashSet<&str> = ours.iter().map(String::as_str).collect();
    let theirs = backup
        .entries
        .iter()
        .find(|(k, _)| *k == index_key)
        .map(|(_, v)| match parse_index(v) {
            Index::Ids { ids, .. } => ids,
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let mut added = HashSet::new();
    let new_ids: Vec<&String> = theirs
        .iter()
        .filter(|id| !known.contains(id.as_str()))
        .filter(|id| draft.get(&ns.peer_key(id)).is_some())
        .filter(|id| added.insert(id.as_str()))
        .collect();
    if !new_ids.is_empty() {
        let mut items: Vec<String> = match ns.area.get(&index_key) {
            Some(raw) => {
                let text = json::text(raw);
                jsontext::array_elements(&text)
                    .map(|e| e.iter().map(|s| (*s).to_owned()).collect())
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        items.extend(
            new_ids
                .iter()
                .map(|id| JsString::from(id.as_str()).to_json()),
        );
        draft.put(index_key, JsString::from(format!("[{}]", items.join(","))));
    }
    // Peers listed in the backup's index order (records outside it last).
    let position: std::collections::HashMap<&str, usize> = theirs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    actions.sort_by_key(|a| {
        position
            .get(a.peer_id.as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });
    Ok(Plan::new(
        actions,
        draft.finish(MetadataRule::AfterWrite, now),
    ))
}

fn holds_secret(raw: &JsString) -> bool {
    PeerView::parse(raw).is_ok_and(|v| v.has_secret())
}
