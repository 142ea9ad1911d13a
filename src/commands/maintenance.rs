//! `meshpeers remove`, `clear` and `unblacklist`: the app's removePeer, clearAll and
//! clearExpiredBlacklists, through the same plan → backup → atomic save path as cleanup.

use crate::peers::namespace::NsKey;
use std::collections::HashSet;

use anyhow::Result;

use super::write::{self, Action, Plan};
use crate::cli::{ClearArgs, RemoveArgs, UnblacklistArgs};
use crate::error::MeshError;
use crate::js::JsString;
use crate::js::value::{to_number, truthy};
use crate::output;
use crate::peers::edit::{Draft, set_members, MetadataRule};
use crate::peers::plan::{ActionKind, PlanRule};
use crate::peers::{Namespace, PeerView};
use crate::settings::Settings;
use crate::time::duration_short;

fn display_name(raw: Option<&JsString>) -> Option<String> {
    raw.and_then(write::display_name)
}

pub fn remove(settings: &Settings, args: &RemoveArgs) -> Result<u8> {
    let mut store = settings.open_store()?;
    let plan = {
        let ns = Namespace::new(&store.area, &settings.prefix);
        let indexed: HashSet<&str> = ns.index_ids().iter().map(String::as_str).collect();
        let mut missing = Vec::new();
        let mut draft = Draft::new(&ns);
        let mut actions = Vec::new();
        let mut seen = HashSet::new();
        for id in &args.ids {
            if !seen.insert(id.as_str()) {
                continue;
            }
            let record = ns.area.get(&ns.peer_key(id));
            let state = match (record.is_some(), indexed.contains(id.as_str())) {
                (true, true) => "record and index entry",
                (true, false) => "record only (it was not in the index)",
                (false, true) => "index entry only (the record was missing)",
                (false, false) => {
                    missing.push(id.as_str());
                    continue;
                }
            };
            draft.remove_peer(id);
            actions.push(Action {
                peer_id: id.clone(),
                display_name: display_name(record),
                action: ActionKind::Remove,
                rule: PlanRule::Requested,
                rules: Vec::new(),
                reason: format!("named on the command line; removes its {state}"),
            });
        }
        if !missing.is_empty() {
            let near: Vec<String> = missing
                .iter()
                .flat_map(|m| {
                    ns.records()
                        .filter(|(id, _)| id.starts_with(m))
                        .map(|(id, _)| output::escape(&id.to_string()).into_owned())
                        .collect::<Vec<_>>()
                })
                .take(5)
                .collect();
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!(" (ids must be exact; did you mean {}?)", near.join(", "))
            };
            return Err(MeshError::Refused(format!(
                "{}: no peer {}{hint}; nothing was changed",
                store.location,
                missing
                    .iter()
                    .map(|m| output::escape(m).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        Plan::new(
            format!("remove {}", args.ids.join(" ")),
            actions,
            draft.finish(MetadataRule::AfterWrite, settings.now),
            "removed",
        )
    };
    write::apply(settings, &mut store, &args.write, plan)
}

pub fn clear(settings: &Settings, args: &ClearArgs) -> Result<u8> {
    let mut store = settings.open_store()?;
    let plan = {
        let ns = Namespace::new(&store.area, &settings.prefix);
        let indexed: HashSet<&str> = ns.index_ids().iter().map(String::as_str).collect();
        let mut draft = Draft::new(&ns);
        let mut actions = Vec::new();
        for (id, raw) in ns.records() {
            let id = id.to_string();
            let listed = indexed.contains(id.as_str());
            draft.delete(ns.peer_key(&id));
            actions.push(Action {
                display_name: display_name(Some(raw)),
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
        let finished = draft.finish(MetadataRule::AsWritten, settings.now);
        if !finished.0.is_empty() {
            write::confirm(
                &args.write,
                &format!(
                    "clear: remove all {} peer records, the index, the metadata and the encryption key from {}",
                    actions.len(),
                    store.location
                ),
            )?;
        }
        Plan::new("clear".into(), actions, finished, "removed")
    };
    write::apply(settings, &mut store, &args.write, plan)
}

pub fn unblacklist(settings: &Settings, args: &UnblacklistArgs) -> Result<u8> {
    let mut store = settings.open_store()?;
    let now = settings.now;
    let plan = {
        let ns = Namespace::new(&store.area, &settings.prefix);
        let mut draft = Draft::new(&ns);
        let mut actions = Vec::new();
        let mut done = HashSet::new();
        // (id, why) in the order the app would visit them.
        let mut targets: Vec<(String, &JsString, PeerView, String)> = Vec::new();
        if args.expired {
            let (peers, problems) = ns.load_peers();
            super::warn_skipped(problems.len());
            for p in peers {
                let bl = p.view.blacklist_until.as_ref();
                let until = to_number(bl);
                if truthy(bl) && until < now && done.insert(p.id.clone()) {
                    let raw = ns
                        .area
                        .get(&ns.peer_key(&p.id))
                        .expect("loaded from the area");
                    let why = format!("blacklist ended {} ago", duration_short(now - until));
                    targets.push((p.id.clone(), raw, p.view, why));
                }
            }
        }
        for id in &args.ids {
            let Some(raw) = ns.area.get(&ns.peer_key(id)) else {
                return Err(MeshError::Refused(format!(
                    "{}: no peer {} (ids must be exact); nothing was changed",
                    store.location,
                    output::escape(id)
                ))
                .into());
            };
            let view = PeerView::parse(raw).map_err(|why| {
                MeshError::invalid(
                    &store.location,
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
                targets.push((id.clone(), raw, view, why));
            }
        }
        for (id, raw, view, why) in targets {
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
                rule: if args.expired && why.starts_with("blacklist ended") {
                    PlanRule::ExpiredBlacklist
                } else {
                    PlanRule::Requested
                },
                rules: Vec::new(),
                reason: format!("{why}; reconnectionAttempts {attempts} → 0"),
            });
        }
        Plan::new(
            if args.expired {
                "unblacklist --expired".into()
            } else {
                format!("unblacklist {}", args.ids.join(" "))
            },
            actions,
            draft.finish(MetadataRule::AfterWrite, now),
            "unblacklisted",
        )
    };
    write::apply(settings, &mut store, &args.write, plan)
}
