//! `meshpeers repair`: fix what can be fixed without guessing; quarantine the rest.

use anyhow::Result;

use super::write::{self, Job};
use crate::backup::{Backup, Destination};
use crate::cli::RepairArgs;
use crate::peers::Namespace;
use crate::peers::repair::{self, RepairOptions};
use crate::settings::Settings;
use crate::store::{Area, Store};

pub fn run(settings: &Settings, args: &RepairArgs) -> Result<u8> {
    write::run(settings, &args.write, |store| plan(settings, args, store))
}

fn plan(settings: &Settings, args: &RepairArgs, store: &mut Store) -> Result<Job> {
    let ns = Namespace::new(&store.area, &settings.prefix);
    let key_state = super::keys::key_state(&ns, &args.key)?;
    let opts = RepairOptions {
        anonymize_ips: args.anonymize_ips,
        clear_expired: args.clear_expired,
        now: settings.now,
    };
    let mut plan = repair::repair(&ns, key_state, &opts)?;
    // The quarantine file: a meshpeers backup of the raw entries, importable.
    let quarantine = (!plan.quarantine.is_empty()).then(|| {
        let dest = match (&args.quarantine, store.backup_anchor()) {
            (Some(p), _) => Destination::Exact(p.clone()),
            (None, Some(p)) => Destination::beside(&p, "quarantine"),
            (None, None) => Destination::Exact("meshpeers-quarantine.json".into()),
        };
        let area: Area = std::mem::take(&mut plan.quarantine).into_iter().collect();
        let b = Backup::of_namespace(
            &area,
            &settings.prefix,
            store.origin.as_deref(),
            &store.location,
            "repair (quarantine)",
        );
        (dest, b.render())
    });
    let mut job = Job::new("repair", plan, "repaired");
    job.quarantine = quarantine;
    Ok(job)
}
