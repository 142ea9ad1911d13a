//! `meshpeers cleanup`: plan, explain, and (unless --dry-run) remove stale peers.

use anyhow::Result;
use clap::ValueEnum;

use super::write::{self, Action, Plan};
use crate::cli::CleanupArgs;
use crate::peers::Namespace;
use crate::peers::cleanup::{self, Strategy, Thresholds};
use crate::peers::edit::{Draft, MetadataRule};
use crate::peers::plan::{ActionKind, PlanRule};
use crate::settings::Settings;

pub fn run(settings: &Settings, args: &CleanupArgs) -> Result<u8> {
    let mut store = settings.open_store()?;
    let strategy_name = args
        .strategy
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned());
    let plan = {
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
        let strategy: Strategy = args.strategy.into();
        let removals = cleanup::plan(&peers, ns.index_ids(), strategy, &th, settings.now);
        let mut draft = Draft::new(&ns);
        for r in &removals {
            draft.remove_peer(&r.peer.id);
        }
        // The app's cleanupStalePeers always stamps lastCleanup; the guide's strategies only
        // remove peers (removePeer updates totalPeers and estimatedSize).
        let stale = strategy == Strategy::Stale;
        let rule = if stale {
            MetadataRule::Cleanup { at: settings.now }
        } else {
            MetadataRule::AfterWrite
        };
        let finished = draft.finish(rule, settings.now);
        let actions = removals
            .iter()
            .map(|r| Action {
                peer_id: r.peer.id.clone(),
                display_name: r.peer.view.display_name().map(str::to_owned),
                action: ActionKind::Remove,
                rule: PlanRule::Cleanup(r.rule),
                rules: if r.rules.len() > 1 {
                    r.rules.clone()
                } else {
                    Vec::new()
                },
                reason: r.reason.clone(),
            })
            .collect();
        Plan::new(
            format!("cleanup --strategy {strategy_name}"),
            actions,
            finished,
            "removed",
        )
    };
    write::apply(settings, &mut store, &args.write, plan)
}
