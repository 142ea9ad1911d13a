//! `validate`: every finding of SPEC §6, each with a stable code. Structural findings (index and
//! records in step) come from `findings::structural`; this adds what each record holds: ids,
//! types, impossible values, secrets, names, addresses, metadata and the key record.

use crate::peers::namespace::NsKey;
use serde_json::Value;

use std::collections::HashSet;

use super::findings::{Finding, FindingCode, structural};
use super::namespace::{Index, Namespace, PeerProblem};
use super::record::{PeerView, Unreadable};
use crate::crypto::{self, Key};
use crate::js::value::{member, truthy};

/// Clock skew tolerated before a timestamp counts as in the future.
const FUTURE_SLACK_MS: f64 = 5.0 * 60_000.0;

/// Display names longer than this (UTF-16 units) are not sanitised (the guide's limit).
pub const NAME_MAX: usize = 50;

/// What validate knows about the store's key.
pub enum KeyState {
    Usable(Key),
    /// No key record and no passphrase: secrets cannot be checked.
    Unknown,
    /// A protected record and no passphrase to open it.
    Locked,
}

pub fn validate(ns: &Namespace, now: f64, key: &KeyState) -> Vec<Finding> {
    let (peers, problems) = ns.load_peers();
    let mut out = structural(ns, &problems, &peers);
    // `structural` (inspect's view) calls every unreadable record unreadable; validate
    // names the ones that are JSON but not objects.
    let not_objects: HashSet<String> = problems
        .iter()
        .filter_map(|p| match p {
            PeerProblem::Unreadable {
                id,
                why: Unreadable::NotObject(_),
            } => Some(ns.peer_key(id).to_string()),
            _ => None,
        })
        .collect();
    for f in &mut out {
        if f.code == FindingCode::RecordUnreadable && not_objects.contains(&f.key) {
            f.code = FindingCode::RecordNotObject;
            f.severity = f.code.severity();
        }
    }
    if matches!(ns.index, Index::Absent) && ns.records().next().is_some() {
        out.push(Finding::new(
            FindingCode::IndexMissing,
            ns.key(NsKey::Index).to_string(),
            "peer records exist but there is no index, so the app sees none of them",
        ));
    }
    for (id, raw) in ns.records() {
        let id = id.to_string();
        let record_key = ns.peer_key(&id).to_string();
        match PeerView::parse(raw) {
            Ok(view) => check_record(&mut out, &record_key, &id, &view, now, key),
            Err(why) => {
                // Indexed records were reported by `structural`; report the others here.
                let reported = out.iter().any(|f| {
                    f.key == record_key
                        && matches!(
                            f.code,
                            FindingCode::RecordUnreadable | FindingCode::RecordNotObject
                        )
                });
                if !reported {
                    out.push(Finding::new(
                        if matches!(why, Unreadable::NotObject(_)) {
                            FindingCode::RecordNotObject
                        } else {
                            FindingCode::RecordUnreadable
                        },
                        &record_key,
                        why.to_string(),
                    ));
                }
            }
        }
    }
    check_metadata(&mut out, ns);
    check_key_record(&mut out, ns, key);
    out.sort_by_key(|f| f.severity);
    out
}

fn kind(v: &Value) -> &'static str {
    super::namespace::kind(v)
}

fn check_record(
    out: &mut Vec<Finding>,
    key: &str,
    id: &str,
    v: &PeerView,
    now: f64,
    key_state: &KeyState,
) {
    let mut push = |code, msg: String| out.push(Finding::new(code, key, msg));
    match v.peer_id.as_ref() {
        None | Some(Value::Null) => push(
            FindingCode::PeerIdMissing,
            "the record has no peerId".into(),
        ),
        Some(Value::String(p)) if p != id => push(
            FindingCode::PeerIdMismatch,
            format!("peerId {p:?} differs from the key's id {id:?}"),
        ),
        Some(Value::String(_)) => {}
        Some(other) => push(
            FindingCode::FieldType,
            format!("peerId is {}, not a string", kind(other)),
        ),
    }
    // Types of the fields the app reads (null allowed where the app writes null).
    let typed: [(&str, &Option<Value>, &[&str]); 11] = [
        ("displayName", &v.display_name, &["string"]),
        ("userId", &v.user_id, &["string"]),
        ("firstSeen", &v.first_seen, &["number"]),
        ("lastSeen", &v.last_seen, &["number"]),
        ("lastConnected", &v.last_connected, &["number", "null"]),
        (
            "connectionQuality",
            &v.connection_quality,
            &["object", "null"],
        ),
        (
            "reconnectionAttempts",
            &v.reconnection_attempts,
            &["number", "null"],
        ),
        ("blacklistUntil", &v.blacklist_until, &["number", "null"]),
        ("encryptedSecret", &v.encrypted_secret, &["string", "null"]),
        ("sharedSecret", &v.shared_secret, &["string", "null"]),
        ("lastKnownIP", &v.last_known_ip, &["string", "null"]),
    ];
    for (name, field, allowed) in typed {
        if let Some(val) = field {
            let t = type_name(val);
            if !allowed.contains(&t) {
                push(
                    FindingCode::FieldType,
                    format!("{name} is {}, expected {}", kind(val), allowed.join(" or ")),
                );
            }
        }
    }
    if v.last_seen.is_none() {
        push(
            FindingCode::FieldMissing,
            "the record has no lastSeen".into(),
        );
    }
    let cq = v.connection_quality.as_ref().filter(|c| c.is_object());
    let num = |name: &str| member(cq, name).and_then(Value::as_f64);
    for name in [
        "totalConnections",
        "successfulConnections",
        "latency",
        "avgUptime",
    ] {
        if let Some(x) = num(name).filter(|x| *x < 0.0) {
            push(
                FindingCode::CountNegative,
                format!("connectionQuality.{name} is negative ({x})"),
            );
        }
        if let Some(val) = member(cq, name).filter(|x| !x.is_null() && !x.is_number()) {
            push(
                FindingCode::FieldType,
                format!(
                    "connectionQuality.{name} is {}, expected a number",
                    kind(val)
                ),
            );
        }
    }
    if let (Some(s), Some(t)) = (num("successfulConnections"), num("totalConnections")) {
        if s > t {
            push(
                FindingCode::SuccessfulExceedsTotal,
                format!("successfulConnections {s} exceeds totalConnections {t}"),
            );
        }
    }
    if let Some(r) = num("successRate").filter(|r| !(0.0..=1.0).contains(r)) {
        push(
            FindingCode::SuccessRateRange,
            format!("connectionQuality.successRate {r} is outside 0..1"),
        );
    }
    if let Some(a) = v
        .reconnection_attempts
        .as_ref()
        .and_then(Value::as_f64)
        .filter(|a| !(0.0..=100.0).contains(a))
    {
        push(
            FindingCode::AttemptsRange,
            format!("reconnectionAttempts {a} is outside 0..100"),
        );
    }
    for (name, field) in [
        ("firstSeen", &v.first_seen),
        ("lastSeen", &v.last_seen),
        ("lastConnected", &v.last_connected),
    ] {
        if let Some(t) = field
            .as_ref()
            .and_then(Value::as_f64)
            .filter(|t| *t > now + FUTURE_SLACK_MS)
        {
            push(
                FindingCode::TimestampFuture,
                format!(
                    "{name} {} is in the future (now {})",
                    crate::time::iso(t),
                    crate::time::iso(now)
                ),
            );
        }
    }
    if truthy(v.shared_secret.as_ref()) {
        push(
            FindingCode::SecretPlaintext,
            "a sharedSecret is stored in the clear (the app encrypts it)".into(),
        );
    }
    if let (Some(enc), KeyState::Usable(k)) = (
        v.encrypted_secret
            .as_ref()
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty()),
        key_state,
    ) {
        if let Err(e) = crypto::decrypt(k, enc) {
            push(
                FindingCode::SecretUndecryptable,
                format!("encryptedSecret {e}"),
            );
        }
    }
    if let Some(name) = v.display_name() {
        if name.contains('<') || name.contains('>') || name.chars().any(char::is_control) {
            push(
                FindingCode::NameUnsanitised,
                "displayName holds markup or control characters (`<`, `>`, escapes)".into(),
            );
        }
        let units = name.encode_utf16().count();
        if units > NAME_MAX {
            push(
                FindingCode::NameTooLong,
                format!("displayName is {units} UTF-16 units long (more than {NAME_MAX})"),
            );
        }
    }
    if let Some(ip) = v.last_known_ip.as_ref().and_then(Value::as_str) {
        if is_full_ip(ip) {
            push(
                FindingCode::IpAddress,
                "lastKnownIP holds a full IP address (privacy; `repair --anonymize-ips`)".into(),
            );
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A full IPv4 (last octet not 0) or IPv6 address (more than 3 non-zero groups).
pub fn is_full_ip(s: &str) -> bool {
    match s.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.octets()[3] != 0,
        Ok(std::net::IpAddr::V6(a)) => a.segments()[3..].iter().any(|g| *g != 0),
        Err(_) => false,
    }
}

/// The address with its host part cleared: IPv4 /24, IPv6 /48.
pub fn anonymize_ip(s: &str) -> Option<String> {
    match s.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => {
            let o = a.octets();
            Some(std::net::Ipv4Addr::new(o[0], o[1], o[2], 0).to_string())
        }
        std::net::IpAddr::V6(a) => {
            let g = a.segments();
            Some(std::net::Ipv6Addr::new(g[0], g[1], g[2], 0, 0, 0, 0, 0).to_string())
        }
    }
}

fn check_metadata(out: &mut Vec<Finding>, ns: &Namespace) {
    let key = ns.key(NsKey::Metadata).to_string();
    let Some(raw) = ns.get(NsKey::Metadata) else {
        if !matches!(ns.index, Index::Absent) {
            out.push(Finding::new(
                FindingCode::MetadataMissing,
                &key,
                "no metadata (the app creates it on its next write)",
            ));
        }
        return;
    };
    let Some(meta) = ns.metadata() else {
        out.push(Finding::new(
            FindingCode::MetadataUnreadable,
            &key,
            format!(
                "not a JSON object: {}",
                raw.to_string_lossy().chars().take(60).collect::<String>()
            ),
        ));
        return;
    };
    let stats = super::stats::storage_stats(ns, 0.0);
    let total = meta.get("totalPeers").and_then(Value::as_f64);
    let size = meta.get("estimatedSize").and_then(Value::as_f64);
    if total != Some(stats.peer_count as f64) || size != Some(stats.estimated_size_bytes as f64) {
        out.push(Finding::new(
            FindingCode::MetadataOutOfStep,
            &key,
            format!(
                "totalPeers {} / estimatedSize {} differ from the index ({}) and records ({} bytes)",
                total.map_or("missing".into(), |t| t.to_string()),
                size.map_or("missing".into(), |t| t.to_string()),
                stats.peer_count,
                stats.estimated_size_bytes
            ),
        ));
    }
}

fn check_key_record(out: &mut Vec<Finding>, ns: &Namespace, key: &KeyState) {
    let record_key = ns.key(NsKey::KeyRecord).to_string();
    let Some(raw) = ns.key_record() else {
        return;
    };
    match crypto::parse_record(&crate::js::json::text(raw)) {
        Ok(crypto::KeyRecord::Jwk) => out.push(Finding::new(
            FindingCode::KeyInClear,
            &record_key,
            "the AES key is stored in the clear next to the secrets it protects (`re-encrypt --to passphrase|wrapped`)",
        )),
        Ok(_) if matches!(key, KeyState::Locked) => out.push(Finding::new(
            FindingCode::SecretsNotChecked,
            &record_key,
            "the key is protected and no passphrase was given: secrets were not checked",
        )),
        Ok(_) => {}
        Err(why) => out.push(Finding::new(
            FindingCode::KeyRecordUnusable,
            &record_key,
            why,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses() {
        assert!(is_full_ip("192.0.2.44"));
        assert!(!is_full_ip("192.0.2.0"));
        assert!(is_full_ip("2001:0db8:8111:ac5d:bf94:ba6c:e265:2d0b"));
        assert!(!is_full_ip("2001:db8:8111::"));
        assert!(!is_full_ip("not an ip"));
        assert_eq!(anonymize_ip("192.0.2.44").as_deref(), Some("192.0.2.0"));
        assert_eq!(
            anonymize_ip("2001:0db8:8111:ac5d:bf94:ba6c:e265:2d0b").as_deref(),
            Some("2001:db8:8111::")
        );
    }
}
