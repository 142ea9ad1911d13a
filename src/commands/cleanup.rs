//! `meshpeers cleanup`: plan, explain, and (unless --dry-run) remove stale peers.

use anyhow::Result;
use clap::ValueEnum;

use super::write::{self, Job};
use crate::cli::CleanupArgs;
use crate::peers::Namespace;
use crate::peers::cleanup::{self, Thresholds};
use crate::settings::Settings;
use crate::store::Store;

pub fn run(settings: &Settings, args: &CleanupArgs) -> Result<u8> {
    write::run(settings, &args.write, |store| plan(settings, args, store))
}

fn plan(settings: &Settings, args: &CleanupArgs, store: &mut Store) -> Result<Job> {
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (peers, problems) = ns.load_peers();
    super::warn_skipped(problems.len());
    let th = Thresholds {
        max_age: args.max_age,
        max_failures: args.max_failures,
        max_peers: args.max_peers,
        keep: args.keep,
        target: args.target,
        never_connected_age: args.never_connected_age,
        low_quality: args.low_quality,
        low_quality_age: args.low_quality_age,
    };
    let plan = cleanup::cleanup(&ns, &peers, args.strategy.into(), &th, settings.now);
    let strategy = args
        .strategy
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned());
    Ok(Job::new(
        format!("cleanup --strategy {strategy}"),
        plan,
        "removed",
    ))
}
