//! `meshpeers export`: the lossless meshpeers backup, the app's exportData() shape, or peer rows.

use std::io::Write;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::backup::{self, Backup};
use crate::cli::{ExportArgs, RowFormat};
use crate::error::exit;
use crate::js::value::truthy;
use crate::js::{JsString, json};
use crate::peers::edit::set_members;
use crate::peers::{Namespace, PeerView, score};
use crate::settings::Settings;
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

pub fn run(settings: &Settings, args: &ExportArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let area = if args.redact {
        redact(&store.area, &settings.prefix)
    } else {
        store.area.clone()
    };
    let ns = Namespace::new(&area, &settings.prefix);
    let text = if args.peers_only {
        rows(&ns, settings.now, args.format)?
    } else if args.app_format {
        app_format(&ns, settings.now)?
    } else {
        let mut b = Backup::of_namespace(
            &area,
            &settings.prefix,
            store.origin.as_deref(),
            &store.location,
            if args.redact {
                "export --redact"
            } else {
                "export"
            },
        );
        b.redacted = args.redact;
        b.render()
    };
    match &args.output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        Some(path) if path.exists() => {
            crate::store::atomic::replace_file(path, text.as_bytes(), 0o600)
                .with_context(|| format!("cannot write {}", path.display()))?
        }
        Some(path) => backup::write_new(path, &text)?,
    }
    Ok(exit::SUCCESS)
}

/// The namespace without secrets, the key record and addresses (records edited in place).
fn redact(area: &Area, prefix: &str) -> Area {
    let key_record = JsString::from(format!("{prefix}encryption:key"));
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
fn app_format(ns: &Namespace, now: f64) -> Result<String> {
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
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&Value::Object(out))?
    ))
}

/// One row per indexed peer.
fn rows(ns: &Namespace, now: f64, format: RowFormat) -> Result<String> {
    let (peers, _) = ns.load_peers();
    let header = [
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
    let values: Vec<Vec<Value>> = peers
        .iter()
        .map(|p| {
            let v: &PeerView = &p.view;
            let f = |x: &Option<Value>| x.clone().unwrap_or(Value::Null);
            let q = |n: &str| v.quality_field(n).cloned().unwrap_or(Value::Null);
            vec![
                Value::from(p.id.as_str()),
                f(&v.display_name),
                f(&v.last_seen),
                f(&v.last_connected),
                crate::js::number::to_json_value(score::quality(v).total),
                crate::js::number::to_json_value(score::reconnection(v, now).total),
                q("connectionType"),
                q("latency"),
                f(&v.reconnection_attempts),
                f(&v.blacklist_until),
                Value::Bool(v.has_secret()),
            ]
        })
        .collect();
    let objects = || {
        values.iter().map(|row| {
            Value::Object(
                header
                    .iter()
                    .zip(row)
                    .map(|(h, v)| ((*h).to_owned(), v.clone()))
                    .collect(),
            )
        })
    };
    Ok(match format {
        RowFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&objects().collect::<Vec<_>>())?
        ),
        RowFormat::Ndjson => objects().map(|o| format!("{o}\n")).collect(),
        RowFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(header)?;
            for row in &values {
                w.write_record(row.iter().map(|v| match v {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }))?;
            }
            String::from_utf8(w.into_inner()?)?
        }
    })
}
