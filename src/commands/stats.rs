//! `meshpeers stats`: the app's getStorageStats and needsCleanup, and the origin's real size.

use anyhow::Result;

use crate::cli::StatsArgs;
use crate::error::exit;
use crate::js::number::to_fixed;
use crate::output;
use crate::peers::Namespace;
use crate::peers::stats::{AGE_MARKS, Spread, spread, storage_stats};
use crate::settings::Settings;

pub fn run(settings: &Settings, _args: &StatsArgs) -> Result<u8> {
    let store = settings.open_store()?;
    let ns = Namespace::new(&store.area, &settings.prefix);
    let stats = storage_stats(&ns, settings.now);
    let (peers, problems) = ns.load_peers();
    super::warn_skipped(problems.len());
    let spread = spread(&ns, &peers, settings.now);
    if settings.json {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            #[serde(flatten)]
            stats: &'a crate::peers::stats::StorageStats,
            spread: &'a Spread,
        }
        output::print_json(&Report {
            stats: &stats,
            spread: &spread,
        })?;
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
    // Bars of `BAR` cells, narrower on a terminal too narrow for the longest line.
    let width = output::terminal_width().map_or(BAR, |w| {
        (usize::from(w).saturating_sub(LONGEST - BAR)).clamp(BAR_MIN, BAR)
    });
    output::print(format!(
        "\nquota {} {}%",
        bar(stats.origin_bytes as f64 / stats.quota_bytes as f64, width),
        to_fixed(
            stats.origin_bytes as f64 * 100.0 / stats.quota_bytes as f64,
            2
        )
    ))?;
    output::print(draw(&spread, width))?;
    Ok(exit::SUCCESS)
}

/// The width of a full bar.
const BAR: usize = 30;
/// The narrowest bar.
const BAR_MIN: usize = 10;
/// The longest line `draw` makes with bars of `BAR` (the 7-day mark with a 3-digit count).
const LONGEST: usize = 10 + BAR + 4 + 30;

/// A bar of `BAR` cells, `fraction` of them full (any non-zero part shows at least one).
fn bar(fraction: f64, width: usize) -> String {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut full = (f * width as f64).round() as usize;
    if f > 0.0 && full == 0 {
        full = 1;
    }
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

/// The histograms and the cleanup counts, as text.
fn draw(s: &Spread, width: usize) -> String {
    let most = |counts: &mut dyn Iterator<Item = usize>| counts.max().unwrap_or(0).max(1) as f64;
    let mut out = String::new();
    out.push_str(&format!("\nquality ({} peers)\n", s.peers));
    let top = most(&mut s.quality.iter().copied());
    for (i, n) in s.quality.iter().enumerate().rev() {
        let label = if i == 9 {
            "90-100".to_owned()
        } else {
            format!("{}-{}", i * 10, i * 10 + 9)
        };
        out.push_str(&format!(
            "  {label:>6}  {} {n}\n",
            bar(*n as f64 / top, width)
        ));
    }
    out.push_str("\nlast seen\n");
    let top = most(&mut s.last_seen.iter().map(|b| b.peers));
    let rule = |days: f64| {
        if days == 7.0 {
            "  ← 7d: hybrid never-connected"
        } else if days == 14.0 {
            "  ← 14d: hybrid low-quality"
        } else if days == 30.0 {
            "  ← 30d: stale, age, hybrid"
        } else {
            ""
        }
    };
    for b in &s.last_seen {
        let label = match (b.from_days, b.to_days) {
            (None, Some(to)) => format!("≤ {to}d"),
            (Some(from), Some(to)) => format!("{from}-{to}d"),
            (Some(from), None) => format!("> {from}d"),
            (None, None) => "any".into(),
        };
        let mark = b.from_days.map_or("", rule);
        out.push_str(&format!(
            "  {label:>6}  {} {}{mark}\n",
            bar(b.peers as f64 / top, width),
            b.peers
        ));
    }
    debug_assert_eq!(s.last_seen.len(), AGE_MARKS.len() + 1);
    out.push_str("\ncleanup now would remove (default thresholds)\n");
    let line: Vec<String> = s
        .cleanup
        .iter()
        .map(|c| format!("{} {}", c.strategy, c.removes))
        .collect();
    out.push_str(&format!("  {}", line.join(" · ")));
    out
}
