//! The app's removePeer, clearAll (logout) and clearExpiredBlacklists, as plans.

use std::collections::HashSet;

use anyhow::Result;

use super::edit::{Draft, MetadataRule, set_members};
use super::namespace::NsKey;
use super::plan::{Action, ActionKind, Plan, PlanRule, display_name};
use super::{Namespace, PeerView};
use crate::error::MeshError;
use crate::js::JsString;
use crate::js::value::{to_number, truthy};
use crate::time::duration_short;

/// Removes the named peers as `removePeer` does: record and every index entry, metadata
/// updated. Each id is exact or a unique prefix (`resolve_ids`); an unknown or ambiguous one
/// refuses the whole plan (with the ids it may have meant).
pub fn remove(ns: &Namespace, ids: &[String], now: f64, location: &str) -> Result<Plan> {
    let indexed: HashSet<&str> = ns.index_ids().iter().map(String::as_str).collect();
    let mut draft = Draft::new(ns);
    let mut actions = Vec::new();
    for id in resolve_ids(ns, ids, location)? {
        let record = ns.area.get(&ns.peer_key(&id));
        let state = match (record.is_some(), indexed.contains(id.as_str())) {
            (true, true) => "record and index entry",
            (true, false) => "record only (it was not in the index)",
            // `resolve_ids` gives only ids with a record or an index entry.
            (false, _) => "index entry only (the record was missing)",
        };
        draft.remove_peer(&id);
        actions.push(Action {
            display_name: record.and_then(display_name),
            peer_id: id,
            action: ActionKind::Remove,
            rule: PlanRule::Requested,
            rules: Vec::new(),
            reason: format!("named on the command line; removes its {state}").into(),
        });
    }
    Ok(Plan::new(
        actions,
        draft.finish(MetadataRule::AfterWrite, now),
    ))
}

/// The app's logout: every peer record (indexed or not), the index, the metadata and the key
/// record go; the schema version and every other key stay.
pub fn clear(ns: &Namespace) -> Plan {
    let indexed: HashSet<&str> = ns.index_ids().iter().map(String::as_str).collect();
    let mut draft = Draft::new(ns);
    let mut actions = Vec::new();
    for (id, raw) in ns.records() {
        let id = id.to_string();
        let listed = indexed.contains(id.as_str());
        draft.delete(ns.peer_key(&id));
        actions.push(Action {
            display_name: display_name(raw),
            action: ActionKind::Remove,
            rule: PlanRule::Clear,
            rules: Vec::new(),
            reason: if listed {
                "logout: every peer goes".into()
            } else {
                "logout: every peer goes (this record was not in the index; the app's clearAll would leave it behind)".into()
            },
            peer_id: id,
        });
    }
    for key in [NsKey::Index, NsKey::Metadata, NsKey::KeyRecord] {
        draft.delete(ns.key(key));
    }
    Plan::new(actions, draft.finish(MetadataRule::AsWritten, 0.0))
}

/// The shortest id prefix a writing command takes for a whole id.
pub const PREFIX_MIN: usize = 4;

/// The peers `wanted` names, each once, in order: an exact id (of a record or an index entry)
/// or a prefix of at least `PREFIX_MIN` characters that starts exactly one of them (as tables
/// on a terminal show ids). Refuses the whole list, so nothing is changed, when one names no
/// peer or several.
pub fn resolve_ids(ns: &Namespace, wanted: &[String], location: &str) -> Result<Vec<String>> {
    let known = ns.known_ids();
    let (mut ids, mut missing, mut ambiguous) = (Vec::new(), Vec::new(), Vec::new());
    for w in wanted {
        let starting: Vec<&String> = known.iter().filter(|k| k.starts_with(w.as_str())).collect();
        let id = if known.binary_search(w).is_ok() {
            w
        } else if w.chars().count() < PREFIX_MIN {
            missing.push((w.as_str(), starting));
            continue;
        } else {
            match starting.as_slice() {
                [one] => *one,
                [] => {
                    missing.push((w.as_str(), starting));
                    continue;
                }
                many => {
                    ambiguous.push(format!(
                        "{w} names {} peers ({}{})",
                        many.len(),
                        many.iter()
                            .take(5)
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        if many.len() > 5 { ", …" } else { "" }
                    ));
                    continue;
                }
            }
        };
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    if !ambiguous.is_empty() {
        return Err(MeshError::Refused(format!(
            "{location}: {}; give more of the id; nothing was changed",
            ambiguous.join("; ")
        ))
        .into());
    }
    if !missing.is_empty() {
        let near: Vec<&str> = missing
            .iter()
            .flat_map(|(_, starting)| starting.iter().map(|s| s.as_str()))
            .take(5)
            .collect();
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!(
                " (a prefix needs at least {PREFIX_MIN} characters; did you mean {}?)",
                near.join(", ")
            )
        };
        return Err(MeshError::Refused(format!(
            "{location}: no peer {}{hint}; nothing was changed",
            missing
                .iter()
                .map(|(w, _)| *w)
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    Ok(ids)
}

/// Lifts blacklists: with `expired`, every blacklist that has ended (the app's
/// clearExpiredBlacklists), and the peers named in `ids` whatever their state. Only
/// `blacklistUntil` (→ null) and `reconnectionAttempts` (→ 0) change, in place. Gives the plan
/// and how many index entries were skipped (record missing or unreadable).
pub fn unblacklist(
    ns: &Namespace,
    expired: bool,
    ids: &[String],
    now: f64,
    location: &str,
) -> Result<(Plan, usize)> {
    let mut done = HashSet::new();
    let mut skipped = 0;
    // (id, raw, view, why, rule) in the order the app would visit them.
    let mut targets: Vec<(String, &JsString, PeerView, String, PlanRule)> = Vec::new();
    if expired {
        let (peers, problems) = ns.load_peers();
        skipped = problems.len();
        for p in peers {
            let bl = p.view.blacklist_until.as_ref();
            let until = to_number(bl);
            if truthy(bl) && until < now && done.insert(p.id.clone()) {
                let raw = &ns.area[&ns.peer_key(&p.id)];
                let why = format!("blacklist ended {} ago", duration_short(now - until));
                targets.push((p.id.clone(), raw, p.view, why, PlanRule::ExpiredBlacklist));
            }
        }
    }
    for id in &resolve_ids(ns, ids, location)? {
        let Some(raw) = ns.area.get(&ns.peer_key(id)) else {
            return Err(MeshError::Refused(format!(
                "{location}: peer {id} is only in the index (it has no record to unblacklist); nothing was changed"
            ))
            .into());
        };
        let view = PeerView::parse(raw).map_err(|why| {
            MeshError::invalid(
                location,
                format!("the record of peer {id} is unreadable: {why}"),
            )
        })?;
        if done.insert(id.clone()) {
            let bl = view.blacklist_until.as_ref();
            let why = if view.is_blacklisted(now) {
                format!(
                    "requested; the blacklist had {} to run",
                    duration_short(to_number(bl) - now)
                )
            } else if truthy(bl) {
                "requested; the blacklist had ended".to_owned()
            } else {
                "requested; no blacklist".to_owned()
            };
            targets.push((id.clone(), raw, view, why, PlanRule::Requested));
        }
    }
    let mut draft = Draft::new(ns);
    let mut actions = Vec::new();
    for (id, raw, view, why, rule) in targets {
        let attempts = view
            .reconnection_attempts
            .as_ref()
            .map_or("none".into(), |a| a.to_string());
        let Some(new) = set_members(
            raw,
            &[
                ("blacklistUntil", "null".into()),
                ("reconnectionAttempts", "0".into()),
            ],
        ) else {
            continue;
        };
        if new == *raw {
            continue;
        }
        draft.put(ns.peer_key(&id), new);
        actions.push(Action {
            display_name: view.display_name().map(str::to_owned),
            peer_id: id,
            action: ActionKind::Unblacklist,
            rule,
            rules: Vec::new(),
            reason: format!("{why}; reconnectionAttempts {attempts} → 0").into(),
        });
    }
    Ok((
        Plan::new(actions, draft.finish(MetadataRule::AfterWrite, now)),
        skipped,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Area;

    fn area(pairs: &[(&str, &str)]) -> Area {
        pairs
            .iter()
            .map(|(k, v)| (JsString::from(*k), JsString::from(*v)))
            .collect()
    }

    fn store() -> Area {
        area(&[
            ("mesh:peers:index", r#"["a","b"]"#),
            (
                "mesh:peer:a",
                r#"{"peerId":"a","blacklistUntil":50,"reconnectionAttempts":5}"#,
            ),
            ("mesh:peer:b", r#"{"peerId":"b","blacklistUntil":500}"#),
            ("mesh:peer:c", r#"{"peerId":"c"}"#),
            (
                "mesh:peers:metadata",
                r#"{"totalPeers":2,"estimatedSize":1}"#,
            ),
            ("mesh:encryption:key", "{}"),
            ("mesh:schema:version", "1.0.0"),
            ("theme", "dark"),
        ])
    }

    fn changed(plan: &Plan, area: &Area) -> Area {
        plan.changes.applied_to(area)
    }

    #[test]
    fn remove_takes_record_and_index_entry_and_updates_metadata() {
        let a = store();
        let ns = Namespace::new(&a, "mesh:");
        let plan = remove(&ns, &["a".into(), "a".into()], 0.0, "s").unwrap();
        assert_eq!(plan.actions.len(), 1);
        let out = changed(&plan, &a);
        assert!(!out.contains_key(&JsString::from("mesh:peer:a")));
        assert_eq!(out[&JsString::from("mesh:peers:index")], r#"["b"]"#.into());
        let meta = out[&JsString::from("mesh:peers:metadata")].to_string();
        assert!(meta.contains(r#""totalPeers":1"#), "{meta}");
        let err = remove(&ns, &["zz".into(), "a".into()], 0.0, "s").unwrap_err();
        assert_eq!(err.to_string(), "s: no peer zz; nothing was changed");
    }

    #[test]
    fn clear_keeps_the_schema_version_and_other_keys() {
        let a = store();
        let ns = Namespace::new(&a, "mesh:");
        let plan = clear(&ns);
        assert_eq!(plan.actions.len(), 3, "the unindexed record goes too");
        let out = changed(&plan, &a);
        let keys: Vec<String> = out.keys().map(ToString::to_string).collect();
        assert_eq!(keys, ["mesh:schema:version", "theme"]);
    }

    #[test]
    fn unblacklist_expired_lifts_only_ended_blacklists_in_place() {
        let a = store();
        let ns = Namespace::new(&a, "mesh:");
        let (plan, skipped) = unblacklist(&ns, true, &[], 100.0, "s").unwrap();
        assert_eq!(skipped, 0);
        let ids: Vec<&str> = plan.actions.iter().map(|a| a.peer_id.as_str()).collect();
        assert_eq!(ids, ["a"]);
        assert_eq!(plan.actions[0].rule, PlanRule::ExpiredBlacklist);
        let out = changed(&plan, &a);
        assert_eq!(
            out[&JsString::from("mesh:peer:a")],
            r#"{"peerId":"a","blacklistUntil":null,"reconnectionAttempts":0}"#.into()
        );
        let (plan, _) = unblacklist(&ns, false, &["b".into()], 100.0, "s").unwrap();
        assert_eq!(plan.actions[0].rule, PlanRule::Requested);
        assert!(matches!(
            &plan.actions[0].reason,
            crate::peers::plan::Reason::Text(t) if t.starts_with("requested; the blacklist had")
        ));
    }
}
