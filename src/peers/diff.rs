//! What changed between two namespaces (`meshpeers diff`): peers added, removed and changed
//! (with the changed fields as dotted paths, secrets only as "changed"), the namespace's other
//! keys (index, metadata, key record, schema version, anything else under the prefix), and on
//! request the origin's keys outside the namespace.

use serde::Serialize;
use serde_json::Value;

use super::namespace::{Namespace, NsKey};
use crate::js::{JsString, json};
use crate::store::Area;

/// Record members whose values are never shown, only that they changed.
const SECRET_FIELDS: &[&str] = &["encryptedSecret", "sharedSecret"];

#[derive(Debug, Default, Serialize)]
pub struct Diff {
    pub added: Vec<PeerRef>,
    pub removed: Vec<PeerRef>,
    pub changed: Vec<ChangedPeer>,
    /// The namespace's keys other than peer records.
    pub keys: Vec<KeyChange>,
    /// Keys outside the namespace (`--all-keys` only).
    #[serde(rename = "otherKeys", skip_serializing_if = "Option::is_none")]
    pub other_keys: Option<Vec<KeyChange>>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.keys.is_empty()
            && self.other_keys.as_ref().is_none_or(Vec::is_empty)
    }
}

#[derive(Debug, Serialize)]
pub struct PeerRef {
    #[serde(rename = "peerId")]
    pub peer_id: String,
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ChangedPeer {
    #[serde(rename = "peerId")]
    pub peer_id: String,
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    pub fields: Vec<FieldChange>,
}

/// One changed member: `old`/`new` are absent when the member was added/removed, and both are
/// left out for a secret (`secret: true`).
#[derive(Debug, Serialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
}

/// A key that is not a peer record: `change` is `added`, `removed` or `changed`; `detail`
/// says what changed where the key has a structure (the index's ids and order, metadata
/// fields); values are left out for the key record.
#[derive(Debug, Serialize)]
pub struct KeyChange {
    pub key: String,
    pub change: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// The differences from `a` to `b` under `prefix`; `all_keys`: the keys outside it too.
pub fn diff(a: &Area, b: &Area, prefix: &str, all_keys: bool) -> Diff {
    let (na, nb) = (Namespace::new(a, prefix), Namespace::new(b, prefix));
    let mut out = Diff::default();
    let ra: Vec<(JsString, &JsString)> = na.records().collect();
    let rb: Vec<(JsString, &JsString)> = nb.records().collect();
    let by_id_a: std::collections::HashMap<&JsString, &JsString> =
        ra.iter().map(|(i, v)| (i, *v)).collect();
    let by_id_b: std::collections::HashMap<&JsString, &JsString> =
        rb.iter().map(|(i, v)| (i, *v)).collect();
    for (id, raw) in &ra {
        match by_id_b.get(id).copied() {
            None => out.removed.push(peer_ref(id, raw)),
            Some(new) if new != *raw => {
                let fields = record_changes(raw, new);
                out.changed.push(ChangedPeer {
                    peer_id: id.to_string_lossy().into_owned(),
                    display_name: display_name(new).or_else(|| display_name(raw)),
                    fields,
                });
            }
            Some(_) => {}
        }
    }
    for (id, raw) in &rb {
        if !by_id_a.contains_key(id) {
            out.added.push(peer_ref(id, raw));
        }
    }
    // The namespace's own keys, then anything else under the prefix.
    let peer_prefix = format!("{prefix}peer:");
    let known = [
        NsKey::Index,
        NsKey::Metadata,
        NsKey::KeyRecord,
        NsKey::SchemaVersion,
    ];
    for k in known {
        let key = na.key(k);
        let (old, new) = (a.get(&key), b.get(&key));
        if old == new {
            continue;
        }
        let mut change = key_change(&key, old, new);
        match k {
            NsKey::Index => change.detail = index_detail(&na, &nb),
            NsKey::Metadata => {
                if let (Some(o), Some(n)) = (old, new) {
                    change.detail = json_detail(o, n);
                }
            }
            NsKey::KeyRecord => {
                change.old = None;
                change.new = None;
                change.detail = vec!["the key record (secret: not shown)".into()];
            }
            NsKey::SchemaVersion => {}
        }
        out.keys.push(change);
    }
    let is_known = |k: &JsString| known.iter().any(|n| *k == na.key(*n));
    let inside =
        |k: &JsString| k.starts_with(prefix) && !k.starts_with(&peer_prefix) && !is_known(k);
    out.keys.extend(other_changes(a, b, &inside));
    if all_keys {
        out.other_keys = Some(other_changes(a, b, &|k: &JsString| !k.starts_with(prefix)));
    }
    out
}

/// Added, removed and changed keys of `a` → `b` that `select` picks, in key order.
fn other_changes(a: &Area, b: &Area, select: &dyn Fn(&JsString) -> bool) -> Vec<KeyChange> {
    let mut keys: Vec<&JsString> = a.keys().chain(b.keys()).filter(|k| select(k)).collect();
    keys.sort_by(|x, y| x.utf16_units().cmp(y.utf16_units()));
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| key_change(k, a.get(k), b.get(k)))
        .collect()
}

fn key_change(key: &JsString, old: Option<&JsString>, new: Option<&JsString>) -> KeyChange {
    let change = match (old, new) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "changed",
    };
    KeyChange {
        key: key.to_string_lossy().into_owned(),
        change,
        detail: Vec::new(),
        old: old.map(|v| v.to_string_lossy().into_owned()),
        new: new.map(|v| v.to_string_lossy().into_owned()),
    }
}

fn peer_ref(id: &JsString, raw: &JsString) -> PeerRef {
    PeerRef {
        peer_id: id.to_string_lossy().into_owned(),
        display_name: display_name(raw),
    }
}

fn display_name(raw: &JsString) -> Option<String> {
    json::parse::<Value>(raw)
        .ok()?
        .get("displayName")?
        .as_str()
        .map(str::to_owned)
}

/// The index's ids that came and went, and whether the order of the ids both hold changed.
fn index_detail(a: &Namespace, b: &Namespace) -> Vec<String> {
    let (ia, ib) = (a.index_ids(), b.index_ids());
    let mut out = Vec::new();
    let gone: Vec<&String> = ia.iter().filter(|i| !ib.contains(i)).collect();
    let came: Vec<&String> = ib.iter().filter(|i| !ia.contains(i)).collect();
    if !came.is_empty() {
        out.push(format!("{} added: {}", came.len(), join(&came)));
    }
    if !gone.is_empty() {
        out.push(format!("{} removed: {}", gone.len(), join(&gone)));
    }
    let kept_a: Vec<&String> = ia.iter().filter(|i| ib.contains(i)).collect();
    let kept_b: Vec<&String> = ib.iter().filter(|i| ia.contains(i)).collect();
    if kept_a != kept_b {
        out.push("the order of the ids in both changed".into());
    }
    if out.is_empty() {
        out.push("the same ids in the same order, written differently".into());
    }
    out
}

fn join(ids: &[&String]) -> String {
    const SHOWN: usize = 5;
    let mut s = ids
        .iter()
        .take(SHOWN)
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        s.push_str(&format!(", … {} more", ids.len() - SHOWN));
    }
    s
}

/// The changed members of two JSON texts as `path: old → new` lines.
fn json_detail(old: &JsString, new: &JsString) -> Vec<String> {
    record_changes(old, new)
        .into_iter()
        .map(|f| {
            let show = |v: &Option<Value>| v.as_ref().map_or("(none)".into(), Value::to_string);
            format!("{}: {} → {}", f.path, show(&f.old), show(&f.new))
        })
        .collect()
}

/// The changed members of two records, as dotted paths (arrays compared whole).
pub fn record_changes(old: &JsString, new: &JsString) -> Vec<FieldChange> {
    let (Ok(o), Ok(n)) = (json::parse::<Value>(old), json::parse::<Value>(new)) else {
        // A record that is not JSON: the whole text changed.
        return vec![FieldChange {
            path: "(record)".into(),
            old: Some(Value::String(old.to_string_lossy().into_owned())),
            new: Some(Value::String(new.to_string_lossy().into_owned())),
            secret: false,
            change: "changed",
        }];
    };
    let mut out = Vec::new();
    walk("", Some(&o), Some(&n), &mut out);
    out
}

fn walk(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    if let (Some(Value::Object(a)), Some(Value::Object(b))) = (old, new) {
        let mut names: Vec<&String> = a.keys().collect();
        names.extend(b.keys().filter(|k| !a.contains_key(*k)));
        for name in names {
            let p = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            walk(&p, a.get(name), b.get(name), out);
        }
        return;
    }
    let secret = SECRET_FIELDS.contains(&path);
    let change = match (old, new) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "changed",
    };
    out.push(FieldChange {
        path: if path.is_empty() {
            "(record)".into()
        } else {
            path.to_owned()
        },
        old: if secret { None } else { old.cloned() },
        new: if secret { None } else { new.cloned() },
        secret,
        change,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(pairs: &[(&str, &str)]) -> Area {
        pairs
            .iter()
            .map(|(k, v)| (JsString::from(*k), JsString::from(*v)))
            .collect()
    }

    #[test]
    fn peers_fields_and_keys_are_told_apart_and_secrets_stay_hidden() {
        let a = area(&[
            ("mesh:peers:index", r#"["p1","p2"]"#),
            (
                "mesh:peer:p1",
                r#"{"displayName":"A","lastSeen":1,"encryptedSecret":"x","connectionQuality":{"latency":5}}"#,
            ),
            ("mesh:peer:p2", r#"{"displayName":"B"}"#),
            ("mesh:encryption:key", "k1"),
            ("theme", "dark"),
        ]);
        let b = area(&[
            ("mesh:peers:index", r#"["p3","p1"]"#),
            (
                "mesh:peer:p1",
                r#"{"displayName":"A","lastSeen":2,"encryptedSecret":"y","connectionQuality":{"latency":7},"new":true}"#,
            ),
            ("mesh:peer:p3", r#"{"displayName":"C"}"#),
            ("mesh:encryption:key", "k2"),
            ("theme", "light"),
        ]);
        let d = diff(&a, &b, "mesh:", false);
        assert_eq!(d.added[0].peer_id, "p3");
        assert_eq!(d.removed[0].display_name.as_deref(), Some("B"));
        let paths: Vec<(&str, &str)> = d.changed[0]
            .fields
            .iter()
            .map(|f| (f.path.as_str(), f.change))
            .collect();
        assert_eq!(
            paths,
            [
                ("lastSeen", "changed"),
                ("encryptedSecret", "changed"),
                ("connectionQuality.latency", "changed"),
                ("new", "added")
            ]
        );
        let secret = &d.changed[0].fields[1];
        assert!(secret.secret && secret.old.is_none() && secret.new.is_none());
        let keys: Vec<&str> = d.keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["mesh:peers:index", "mesh:encryption:key"]);
        assert_eq!(d.keys[0].detail, ["1 added: p3", "1 removed: p2"]);
        assert!(d.keys[1].old.is_none() && d.keys[1].new.is_none());
        assert!(d.other_keys.is_none() && !d.is_empty());
        let all = diff(&a, &b, "mesh:", true);
        assert_eq!(all.other_keys.unwrap()[0].key, "theme");
        assert!(diff(&a, &a, "mesh:", true).is_empty());
    }
}
