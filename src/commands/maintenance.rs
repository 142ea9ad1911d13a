//! `meshpeers remove`, `clear` and `unblacklist`: the app's removePeer, clearAll and
//! clearExpiredBlacklists, through the same plan → backup → atomic save path as cleanup.

use anyhow::Result;

use super::write::{self, Job};
use crate::cli::{ClearArgs, RemoveArgs, UnblacklistArgs};
use crate::peers::{Namespace, maintenance};
use crate::settings::Settings;

pub fn remove(settings: &Settings, args: &RemoveArgs) -> Result<u8> {
    write::run(settings, &args.write, |store| {
        let ns = Namespace::new(&store.area, &settings.prefix);
        let plan = maintenance::remove(&ns, &args.ids, settings.now, &store.location)?;
        Ok(Job::new(
            format!("remove {}", args.ids.join(" ")),
            plan,
            "removed",
        ))
    })
}

pub fn clear(settings: &Settings, args: &ClearArgs) -> Result<u8> {
    write::run(settings, &args.write, |store| {
        let ns = Namespace::new(&store.area, &settings.prefix);
        let plan = maintenance::clear(&ns);
        if !plan.changes.is_empty() {
            write::confirm(
                &args.write,
                &format!(
                    "clear: remove all {} peer records, the index, the metadata and the encryption key from {}",
                    plan.actions.len(),
                    store.location
                ),
            )?;
        }
        Ok(Job::new("clear", plan, "removed"))
    })
}

pub fn unblacklist(settings: &Settings, args: &UnblacklistArgs) -> Result<u8> {
    write::run(settings, &args.write, |store| {
        let ns = Namespace::new(&store.area, &settings.prefix);
        let (plan, skipped) =
            maintenance::unblacklist(&ns, args.expired, &args.ids, settings.now, &store.location)?;
        super::warn_skipped(skipped);
        let command = if args.expired {
            "unblacklist --expired".into()
        } else {
            format!("unblacklist {}", args.ids.join(" "))
        };
        Ok(Job::new(command, plan, "unblacklisted"))
    })
}
