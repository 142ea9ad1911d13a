//! What leaves a store: the app's exportData() shape, a redacted namespace, and one row per
//! peer (the rows of `list` and `export --peers-only`).

use serde::Serialize;
use serde_json::{Map, Value};

use super::edit::set_members;
use super::namespace::NsKey;
use super::{Namespace, Peer};
use crate::js::value::truthy;
use crate::js::{JsString, json, number};
use crate::store::Area;

/// Record members that carry secrets or network addresses, and what `--redact` leaves.
const REDACTED: &[(&str, &str)] = &[
    ("encryptedSecret", "null"),
    ("sharedSecret", "null"),
    ("lastKnownIP", "null"),
    ("cachedCandidates", "[]"),
    ("lastOffer", "null"),
    ("lastAnswer", "null"),
];

/// The namespace without secrets, the key record and addresses (records edited in place).
pub fn redact(area: &Area, prefix: &str) -> Area {
    let key_record = JsString::from(format!("{prefix}{}", NsKey::KeyRecord.suffix()));
    let record_prefix = format!("{prefix}peer:");
    area.iter()
        .filter(|(k, _)| **k != key_record)
        .map(|(k, v)| {
            if !k.starts_with(&record_prefix) {
                return (k.clone(), v.clone());
            }
            // Only members the record has are replaced; none is added.
            let present: Vec<(&str, String)> = json::parse::<Map<String, Value>>(v)
                .map(|m| {
                    REDACTED
                        .iter()
                        .filter(|(name, _)| m.contains_key(*name))
                        .map(|(name, value)| (*name, (*value).to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let new = set_members(v, &present).unwrap_or_else(|| v.clone());
            (k.clone(), new)
        })
        .collect()
}

/// The app's exportData(): indexed peers in index order, as getPeer gives them minus
/// `sharedSecret` (so peers that had a secret carry neither field).
pub fn app_export(ns: &Namespace, now: f64) -> Value {
    let mut peers = Vec::new();
    for id in ns.index_ids() {
        let Some(raw) = ns.area.get(&ns.peer_key(id)) else {
            continue;
        };
        let Ok(Value::Object(mut rec)) = json::parse::<Value>(raw) else {
            continue;
        };
        if truthy(rec.get("encryptedSecret")) {
            rec.shift_remove("encryptedSecret");
        }
        rec.shift_remove("sharedSecret");
        peers.push(Value::Object(rec));
    }
    let mut out = Map::new();
    out.insert("version".into(), Value::from(crate::peers::SCHEMA_VERSION));
    out.insert("exportDate".into(), crate::js::number::to_json_value(now));
    out.insert("peers".into(), Value::Array(peers));
    Value::Object(out)
}

/// A peer as one row: record fields as stored (null when absent) and its scores.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerRow<'a> {
    pub peer_id: &'a str,
    pub display_name: Value,
    pub last_seen: Value,
    pub last_connected: Value,
    pub quality: Value,
    /// The reconnection score (export rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconnection: Option<Value>,
    pub connection_type: Value,
    pub latency: Value,
    pub reconnection_attempts: Value,
    pub blacklist_until: Value,
    pub has_secret: bool,
}

impl<'a> PeerRow<'a> {
    /// The members of an export row, in order (the CSV header).
    pub const CSV_HEADER: [&'static str; 11] = [
        "peerId",
        "displayName",
        "lastSeen",
        "lastConnected",
        "quality",
        "reconnection",
        "connectionType",
        "latency",
        "reconnectionAttempts",
        "blacklistUntil",
        "hasSecret",
    ];

    pub fn new(peer: &'a Peer, quality: f64, reconnection: Option<f64>) -> PeerRow<'a> {
        let v = &peer.view;
        let or_null = |f: &Option<Value>| f.clone().unwrap_or(Value::Null);
        let q = |name| v.quality_field(name).cloned().unwrap_or(Value::Null);
        PeerRow {
            peer_id: &peer.id,
            display_name: or_null(&v.display_name),
            last_seen: or_null(&v.last_seen),
            last_connected: or_null(&v.last_connected),
            quality: number::to_json_value(quality),
            reconnection: reconnection.map(number::to_json_value),
            connection_type: q("connectionType"),
            latency: q("latency"),
            reconnection_attempts: or_null(&v.reconnection_attempts),
            blacklist_until: or_null(&v.blacklist_until),
            has_secret: v.has_secret(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_export_drops_secrets_and_redact_blanks_only_present_members() {
        let area: Area = [
            ("mesh:peers:index", r#"["a","missing"]"#),
            (
                "mesh:peer:a",
                r#"{"peerId":"a","encryptedSecret":"x","lastKnownIP":"1.2.3.4"}"#,
            ),
            ("mesh:encryption:key", "{}"),
        ]
        .into_iter()
        .map(|(k, v)| (JsString::from(k), JsString::from(v)))
        .collect();
        let ns = Namespace::new(&area, "mesh:");
        let out = app_export(&ns, 5.0);
        assert_eq!(
            out,
            serde_json::json!({"version": "1.0.0", "exportDate": 5, "peers": [{"peerId": "a", "lastKnownIP": "1.2.3.4"}]})
        );
        let red = redact(&area, "mesh:");
        assert!(!red.contains_key(&JsString::from("mesh:encryption:key")));
        assert_eq!(
            red[&JsString::from("mesh:peer:a")],
            r#"{"peerId":"a","encryptedSecret":null,"lastKnownIP":null}"#.into()
        );
    }
}
