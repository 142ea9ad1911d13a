//! `meshpeers stats`: the app's getStorageStats and needsCleanup, and the origin's real size.

use anyhow::Result;

use crate::cli::StatsArgs;
use crate::error::exit;
use crate::js::number::to_fixed;
use crate::output;
use crate::peers::Namespace;
use crate::peers::stats::storage_stats;
use crate::settings::Settings;

pub fn run(settings: &Settings, _args: &StatsArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let stats = storage_stats(&ns, settings.now);
    if settings.json {
        output::print_json(&stats)?;
        return Ok(exit::SUCCESS);
    }
    let last_cleanup = settings.time(Some(&stats.last_cleanup).filter(|v| !v.is_null()));
    let rows: Vec<(&str, String)> = vec![
        (
            "peers (index entries)",
            format!("{} of {} max", stats.peer_count, stats.max_peers),
        ),
        (
            "utilisation",
            format!("{}%", to_fixed(stats.utilization_percent, 1)),
        ),
        (
            "estimated size",
            format!(
                "{} bytes ({} MB)",
                stats.estimated_size_bytes,
                to_fixed(stats.estimated_size_mb, 2)
            ),
        ),
        ("last cleanup", last_cleanup),
        (
            "needs cleanup",
            if stats.needs_cleanup {
                "yes".into()
            } else {
                "no".into()
            },
        ),
        (
            "origin size",
            format!(
                "{} of {} quota ({}%)",
                output::bytes(stats.origin_bytes),
                output::bytes(stats.quota_bytes),
                to_fixed(
                    stats.origin_bytes as f64 * 100.0 / stats.quota_bytes as f64,
                    2
                )
            ),
        ),
    ];
    output::print(output::kv_table(&rows))?;
    Ok(exit::SUCCESS)
}
