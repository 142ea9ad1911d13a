//! `repair`: fix what can be fixed without guessing (index, metadata, missing attempts,
//! names, schema version, plaintext secrets; optionally expired blacklists and IP
//! addresses), and move what cannot be used to a quarantine (the plan's `quarantine`).

use std::collections::{BTreeSet, HashSet};

use anyhow::Result;
use serde_json::Value;

use super::edit::{Draft, MetadataRule, set_members};
use super::findings::{FindingCode, Severity};
use super::namespace::{Index, NsKey, parse_index};
use super::plan::{Action, ActionKind, Plan, PlanRule};
use super::validate::{self, KeyState, NAME_MAX};
use super::{Namespace, PeerView};
use crate::crypto;
use crate::js::JsString;
use crate::js::value::{to_number, truthy};

/// What `repair` does beyond the fixes it always makes.
#[derive(Debug, Clone, Copy)]
pub struct RepairOptions {
    pub anonymize_ips: bool,
    pub clear_expired: bool,
    pub now: f64,
}

/// The repair of `ns`: every fix and quarantine, one plan. `key_state` is the store's key as
/// far as it is known (secrets are checked, and plaintext ones encrypted, with it).
pub fn repair(ns: &Namespace, key_state: KeyState, opts: &RepairOptions) -> Result<Plan> {
    let now = opts.now;
    {
        let findings = validate::validate(ns, now, &key_state);
        let errors_at = |key: &str, wanted: &dyn Fn(FindingCode) -> bool| {
            findings
                .iter()
                .any(|f| f.severity == Severity::Error && f.key == key && wanted(f.code))
        };
        let mut draft = Draft::new(ns);
        let mut actions = Vec::new();
        let mut quarantined: Vec<(JsString, JsString)> = Vec::new();
        let mut act = |id: &str, action: ActionKind, rule: PlanRule, reason: String| {
            actions.push(Action {
                peer_id: id.to_owned(),
                display_name: None,
                action,
                rule,
                rules: Vec::new(),
                reason: reason.into(),
            });
        };

        // The key for plaintext secrets: the store's, or a new JWK as the app would make.
        let mut key = match key_state {
            KeyState::Usable(k) => Some(k),
            _ => None,
        };
        let key_record_unusable = errors_at(&ns.key(NsKey::KeyRecord).to_string(), &|c| {
            c == FindingCode::KeyRecordUnusable
        });
        if key_record_unusable {
            let k = ns.key(NsKey::KeyRecord);
            quarantined.push((k.clone(), ns.area[&k].clone()));
            draft.delete(k.clone());
            act(
                "-",
                ActionKind::Quarantine,
                PlanRule::Finding(FindingCode::KeyRecordUnusable),
                format!("{k} is unusable; moved to the quarantine file"),
            );
        }
        let needs_key = ns
            .records()
            .any(|(_, raw)| PeerView::parse(raw).is_ok_and(|v| truthy(v.shared_secret.as_ref())));
        let mut new_key = false;
        if needs_key && key.is_none() && (ns.key_record().is_none() || key_record_unusable) {
            new_key = true;
            let (k, record) = crypto::new_record(crypto::NewKind::Jwk, b"", 1);
            draft.put(ns.key(NsKey::KeyRecord), JsString::from(record.as_str()));
            act(
                "-",
                ActionKind::CreateKey,
                PlanRule::Finding(FindingCode::SecretPlaintext),
                "a new AES key (JWK) for plaintext secrets, as the app creates one".into(),
            );
            key = Some(k);
        }

        // Records: quarantine the unusable, fix the rest in place.
        let mut usable: HashSet<String> = HashSet::new();
        for (id, raw) in ns.records() {
            let id = id.to_string();
            let rkey = ns.peer_key(&id);
            if errors_at(&rkey.to_string(), &FindingCode::unusable) {
                let why: Vec<String> = findings
                    .iter()
                    .filter(|f| f.key == rkey.to_string() && f.code.unusable())
                    .map(|f| f.message.clone())
                    .collect();
                quarantined.push((rkey.clone(), raw.clone()));
                draft.delete(rkey);
                act(
                    &id,
                    ActionKind::Quarantine,
                    PlanRule::Unusable,
                    why.join("; "),
                );
                continue;
            }
            let Ok(view) = PeerView::parse(raw) else {
                continue;
            };
            usable.insert(id.clone());
            let mut updates: Vec<(&str, String)> = Vec::new();
            let mut why = Vec::new();
            if view.reconnection_attempts.is_none() {
                updates.push(("reconnectionAttempts", "0".into()));
                why.push("reconnectionAttempts missing → 0".to_owned());
            }
            if let Some(name) = view.display_name() {
                let clean = sanitize_name(name);
                if clean != name {
                    updates.push(("displayName", JsString::from(clean).to_json()));
                    why.push("displayName sanitised".to_owned());
                }
            }
            if opts.anonymize_ips {
                if let Some(ip) = view.last_known_ip.as_ref().and_then(Value::as_str) {
                    if let Some(anon) = validate::is_full_ip(ip)
                        .then(|| validate::anonymize_ip(ip))
                        .flatten()
                    {
                        updates.push(("lastKnownIP", JsString::from(anon).to_json()));
                        why.push("lastKnownIP anonymised".to_owned());
                    }
                }
            }
            if opts.clear_expired {
                let bl = view.blacklist_until.as_ref();
                if truthy(bl) && to_number(bl) < now {
                    updates.push(("blacklistUntil", "null".into()));
                    updates.push(("reconnectionAttempts", "0".into()));
                    why.push("expired blacklist cleared".to_owned());
                }
            }
            // Under a newly made key, no existing ciphertext can decrypt.
            let orphaned = new_key
                && view
                    .encrypted_secret
                    .as_ref()
                    .is_some_and(|v| truthy(Some(v)));
            if orphaned
                || errors_at(&rkey.to_string(), &|c| {
                    c == FindingCode::SecretUndecryptable
                })
            {
                quarantined.push((rkey.clone(), raw.clone()));
                updates.push(("encryptedSecret", "null".into()));
                why.push("encryptedSecret does not decrypt: set to null (original in the quarantine file)".to_owned());
            }
            if let (Some(plain), Some(k)) = (
                view.shared_secret
                    .as_ref()
                    .filter(|v| truthy(Some(v)))
                    .and_then(Value::as_str),
                &key,
            ) {
                updates.push((
                    "encryptedSecret",
                    JsString::from(crypto::encrypt(k, plain)).to_json(),
                ));
                updates.push(("sharedSecret", "null".into()));
                why.push("plaintext sharedSecret encrypted".to_owned());
            }
            if updates.is_empty() {
                continue;
            }
            // The last update of a member wins (a cleared blacklist resets attempts).
            let mut seen = BTreeSet::new();
            let mut merged: Vec<(&str, String)> = Vec::new();
            for (name, value) in updates.into_iter().rev() {
                if seen.insert(name) {
                    merged.push((name, value));
                }
            }
            merged.reverse();
            if let Some(new) = set_members(raw, &merged) {
                draft.put(rkey, new);
                act(&id, ActionKind::Fix, PlanRule::Repair, why.join("; "));
            }
        }

        // The index: valid entries in order, once each, then usable records it missed.
        let index_key = ns.key(NsKey::Index);
        let mut ids: Vec<String> = Vec::new();
        let mut listed = HashSet::new();
        if let Index::Ids { ids: old, .. } = &ns.index {
            for id in old {
                if usable.contains(id) && listed.insert(id.clone()) {
                    ids.push(id.clone());
                }
            }
        }
        for (id, _) in ns.records() {
            let id = id.to_string();
            if usable.contains(&id) && listed.insert(id.clone()) {
                ids.push(id);
            }
        }
        let new_index = JsString::from(serde_json::to_string(&ids)?);
        let index_ok = match ns.area.get(&index_key).map(parse_index) {
            Some(Index::Ids {
                ids: old,
                skipped: 0,
            }) => old == ids,
            None => ids.is_empty(),
            _ => false,
        };
        if !index_ok {
            if let Some(raw) = ns.area.get(&index_key) {
                if matches!(ns.index, Index::Unreadable(_)) {
                    quarantined.push((index_key.clone(), raw.clone()));
                }
            }
            draft.put(index_key.clone(), new_index);
            act(
                "-",
                ActionKind::Fix,
                PlanRule::Index,
                format!(
                    "{index_key} rebuilt from the usable records ({} peers)",
                    ids.len()
                ),
            );
        }
        // Metadata: an unreadable one is quarantined and made again.
        let meta_key = ns.key(NsKey::Metadata);
        if let Some(raw) = ns.area.get(&meta_key) {
            if ns.metadata().is_none() {
                quarantined.push((meta_key.clone(), raw.clone()));
                draft.delete(meta_key.clone());
                act(
                    "-",
                    ActionKind::Quarantine,
                    PlanRule::Finding(FindingCode::MetadataUnreadable),
                    format!("{meta_key} is not a JSON object; made again"),
                );
            }
        }
        if ns.schema_version().is_none() && !ids.is_empty() {
            draft.put(
                ns.key(NsKey::SchemaVersion),
                JsString::from(crate::peers::SCHEMA_VERSION),
            );
            act(
                "-",
                ActionKind::Fix,
                PlanRule::Finding(FindingCode::SchemaVersionMissing),
                "schema version written as the app writes it (1.0.0)".into(),
            );
        }
        let mut plan = Plan::new(actions, draft.finish(MetadataRule::Recompute, now));
        plan.quarantine = quarantined;
        Ok(plan)
    }
}

/// `<`, `>` and control characters removed, then cut to `NAME_MAX` UTF-16 units (never inside
/// a surrogate pair).
pub fn sanitize_name(name: &str) -> String {
    let mut out = String::new();
    let mut units = 0;
    for c in name
        .chars()
        .filter(|c| *c != '<' && *c != '>' && !c.is_control())
    {
        if units + c.len_utf16() > NAME_MAX {
            break;
        }
        units += c.len_utf16();
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Area;

    #[test]
    fn names_are_sanitised_and_cut_between_units() {
        assert_eq!(sanitize_name("<b>Bob</b>\u{7}"), "bBob/b");
        let long = "😀".repeat(30);
        assert_eq!(sanitize_name(&long).encode_utf16().count(), 50);
    }

    #[test]
    fn a_repair_quarantines_the_unusable_rebuilds_the_index_and_is_idempotent() {
        let mut area: Area = [
            ("mesh:peers:index", r#"["a","gone","a"]"#),
            (
                "mesh:peer:a",
                r#"{"peerId":"a","lastSeen":1,"displayName":"<i>A"}"#,
            ),
            ("mesh:peer:b", "[1]"),
        ]
        .into_iter()
        .map(|(k, v)| (JsString::from(k), JsString::from(v)))
        .collect();
        let opts = RepairOptions {
            anonymize_ips: false,
            clear_expired: false,
            now: 10.0,
        };
        let ns = Namespace::new(&area, "mesh:");
        let plan = repair(&ns, KeyState::Unknown, &opts).unwrap();
        let quarantined: Vec<String> = plan.quarantine.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(quarantined, ["mesh:peer:b"]);
        area = plan.changes.applied_to(&area);
        assert_eq!(area[&JsString::from("mesh:peers:index")], r#"["a"]"#.into());
        assert_eq!(
            area[&JsString::from("mesh:peer:a")],
            r#"{"peerId":"a","lastSeen":1,"displayName":"iA","reconnectionAttempts":0}"#.into()
        );
        assert!(area.contains_key(&JsString::from("mesh:peers:metadata")));
        assert_eq!(area[&JsString::from("mesh:schema:version")], "1.0.0".into());
        let ns = Namespace::new(&area, "mesh:");
        let again = repair(&ns, KeyState::Unknown, &opts).unwrap();
        assert!(again.changes.is_empty(), "{:?}", again.changes);
    }
}
