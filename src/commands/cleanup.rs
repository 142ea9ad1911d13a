//! `meshpeers cleanup`: plan, explain, and (unless --dry-run) remove stale peers.

use anyhow::Result;
use clap::ValueEnum;

use super::write::{self, Job};
use crate::cli::CleanupArgs;
use crate::error::MeshError;
use crate::output;
use crate::peers::Namespace;
use crate::peers::cleanup::{self, Thresholds};
use crate::settings::Settings;
use crate::store::Store;

pub fn run(settings: &Settings, args: &CleanupArgs) -> Result<u8> {
    if let Some(peer) = &args.explain {
        return explain(settings, args, peer);
    }
    write::run(settings, &args.write, |store| plan(settings, args, store))
}

/// `--explain PEER`: every test the strategy makes of one peer, and its outcome; writes nothing.
fn explain(settings: &Settings, args: &CleanupArgs, wanted: &str) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (id, _) = super::find_record(&ns, wanted, &store.location)?;
    let (peers, _) = ns.load_peers();
    let id = id.to_string();
    let Some(peer) = peers.iter().find(|p| p.id == id) else {
        return Err(MeshError::Refused(format!(
            "the record of {} does not read as a peer, so cleanup leaves it alone (`meshpeers show {}` says why)",
            output::escape(&id),
            output::escape(&id)
        ))
        .into());
    };
    let (th, strategy) = (thresholds(args), args.strategy.into());
    let removals = cleanup::plan(&peers, ns.index_ids(), strategy, &th, settings.now);
    let checks = cleanup::explain(peer, &peers, &removals, strategy, &th, settings.now);
    let name = strategy_name(args);
    let removed = matches!(checks.first(), Some(cleanup::Check::Removed { .. }));
    let lines: Vec<String> = checks.iter().map(output::plan::check).collect();
    if settings.json {
        output::print_json(&serde_json::json!({
            "peerId": id,
            "displayName": peer.view.display_name(),
            "strategy": name,
            "removed": removed,
            "checks": lines,
        }))?;
    } else {
        let shown = peer
            .view
            .display_name()
            .map_or_else(String::new, |n| format!(" ({})", output::escape(n)));
        output::print(format!(
            "{}{shown} under cleanup --strategy {name}: {}",
            output::escape(&id),
            if removed { "removed" } else { "kept" }
        ))?;
        for line in &lines {
            output::print(format!("  {}", output::escape(line)))?;
        }
    }
    Ok(0)
}

fn strategy_name(args: &CleanupArgs) -> String {
    args.strategy
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned())
}

fn thresholds(args: &CleanupArgs) -> Thresholds {
    Thresholds {
        max_age: args.max_age,
        max_failures: args.max_failures,
        max_peers: args.max_peers,
        keep: args.keep,
        target: args.target,
        never_connected_age: args.never_connected_age,
        low_quality: args.low_quality,
        low_quality_age: args.low_quality_age,
    }
}

fn plan(settings: &Settings, args: &CleanupArgs, store: &mut Store) -> Result<Job> {
    let ns = Namespace::new(&store.area, &settings.prefix);
    let (peers, problems) = ns.load_peers();
    super::warn_skipped(problems.len());
    let th = thresholds(args);
    let plan = cleanup::cleanup(&ns, &peers, args.strategy.into(), &th, settings.now);
    let strategy = strategy_name(args);
    Ok(Job::new(
        format!("cleanup --strategy {strategy}"),
        plan,
        "removed",
    ))
}
