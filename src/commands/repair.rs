//! `meshpeers repair`: fix what can be fixed without guessing; quarantine the rest.

use anyhow::Result;

use super::write::{self, Job};
use crate::backup::{self, Backup};
use crate::cli::RepairArgs;
use crate::peers::Namespace;
use crate::peers::repair::{self, RepairOptions};
use crate::settings::Settings;
use crate::store::Area;

pub fn run(settings: &Settings, args: &RepairArgs) -> Result<u8> {
    let mut store = settings.open_store()?;
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
        let path = match (&args.quarantine, store.path()) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => backup::default_path(p, "quarantine"),
            (None, None) => std::path::PathBuf::from("meshpeers-quarantine.json"),
        };
        let area: Area = std::mem::take(&mut plan.quarantine).into_iter().collect();
        let b = Backup::of_namespace(
            &area,
            &settings.prefix,
            store.origin.as_deref(),
            &store.location,
            "repair (quarantine)",
        );
        (path, b.render())
    });
    let mut job = Job::new("repair", plan, "repaired");
    job.quarantine = quarantine;
    write::apply(settings, &mut store, &args.write, job)
}
