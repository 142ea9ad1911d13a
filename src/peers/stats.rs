//! The app's `getStorageStats` and `needsCleanup`, plus the origin's real size.

use serde::Serialize;
use serde_json::Value;

use super::{DAY_MS, MAX_PEERS, Namespace};
use crate::js::number::to_fixed;
use crate::js::value::to_number;
use crate::store::{QUOTA_BYTES, area_bytes};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageStats {
    /// Entries of `mesh:peers:index` (the app counts the index, not the records).
    pub peer_count: usize,
    /// 2 × the JavaScript length of each indexed record.
    pub estimated_size_bytes: u64,
    /// The app's `toFixed(2)` of the size in MiB, as a number.
    #[serde(rename = "estimatedSizeMB")]
    pub estimated_size_mb: f64,
    pub max_peers: usize,
    /// The app's `toFixed(1)` of peers ÷ 100 × 100, as a number.
    pub utilization_percent: f64,
    /// `mesh:peers:metadata.lastCleanup` as stored (null when there is no metadata).
    pub last_cleanup: Value,
    pub needs_cleanup: bool,
    /// Every key and value of the origin, 2 bytes per UTF-16 unit (what the quota counts).
    pub origin_bytes: u64,
    pub quota_bytes: u64,
}

pub fn storage_stats(ns: &Namespace, now: f64) -> StorageStats {
    let ids = ns.index_ids();
    let estimated_size_bytes: u64 = ids
        .iter()
        .filter_map(|id| ns.area.get(&ns.peer_key(id)))
        .map(|raw| 2 * raw.utf16_len() as u64)
        .sum();
    let peer_count = ids.len();
    let metadata = ns.metadata();
    let last_cleanup = metadata
        .as_ref()
        .and_then(|m| m.get("lastCleanup"))
        .cloned();
    // With no metadata the app would create it with lastCleanup = now: no cleanup due by date.
    let days_since_cleanup = match &last_cleanup {
        Some(v) => (now - to_number(Some(v))) / DAY_MS,
        None if metadata.is_some() => f64::NAN,
        None => 0.0,
    };
    let needs_cleanup = peer_count as f64 >= MAX_PEERS as f64 * 0.8 || days_since_cleanup > 1.0;
    let mb = estimated_size_bytes as f64 / 1024.0 / 1024.0;
    let utilization = (peer_count as f64 / MAX_PEERS as f64) * 100.0;
    StorageStats {
        peer_count,
        estimated_size_bytes,
        estimated_size_mb: to_fixed(mb, 2).parse().unwrap_or(mb),
        max_peers: MAX_PEERS,
        utilization_percent: to_fixed(utilization, 1).parse().unwrap_or(utilization),
        last_cleanup: last_cleanup.unwrap_or(Value::Null),
        needs_cleanup,
        origin_bytes: area_bytes(ns.area),
        quota_bytes: QUOTA_BYTES,
    }
}

/// How the store is spread, for `stats` to draw: peers per 10-point quality bucket, per
/// last-seen age between the cleanup thresholds, and how many each cleanup strategy would
/// remove now with its default thresholds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spread {
    /// Readable peer records.
    pub peers: usize,
    /// `quality[i]`: peers with a quality score in [10i, 10i+10) (the last bucket holds 100).
    pub quality: [usize; 10],
    pub last_seen: Vec<AgeBucket>,
    pub cleanup: Vec<StrategyCount>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgeBucket {
    /// Last seen more than `from_days` and at most `to_days` days ago (`None`: no bound).
    pub from_days: Option<f64>,
    pub to_days: Option<f64>,
    pub peers: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategyCount {
    pub strategy: &'static str,
    pub removes: usize,
}

/// Where the last-seen histogram is cut, in days: the default ages of hybrid's rules (7 never
/// connected, 14 low quality) and of inactivity (30), and 1 and 3 days for the recent end.
pub const AGE_MARKS: [f64; 5] = [1.0, 3.0, 7.0, 14.0, 30.0];

pub fn spread(ns: &Namespace, peers: &[super::Peer], now: f64) -> Spread {
    use super::cleanup::{self, Strategy, Thresholds};
    let mut quality = [0usize; 10];
    for p in peers {
        let q = super::score::quality(&p.view).total;
        let i = if q.is_finite() {
            (q / 10.0).floor().clamp(0.0, 9.0) as usize
        } else {
            0
        };
        quality[i] += 1;
    }
    let bounds: Vec<(Option<f64>, Option<f64>)> = std::iter::once(None)
        .chain(AGE_MARKS.iter().copied().map(Some))
        .zip(
            AGE_MARKS
                .iter()
                .copied()
                .map(Some)
                .chain(std::iter::once(None)),
        )
        .collect();
    let mut last_seen: Vec<AgeBucket> = bounds
        .iter()
        .map(|&(from_days, to_days)| AgeBucket {
            from_days,
            to_days,
            peers: 0,
        })
        .collect();
    for p in peers {
        let days = (now - super::score::last_seen_key(&p.view)) / DAY_MS;
        let i = AGE_MARKS.iter().filter(|&&m| days > m).count();
        last_seen[i].peers += 1;
    }
    let th = Thresholds::default();
    let cleanup = [
        (Strategy::Stale, "stale"),
        (Strategy::Age, "age"),
        (Strategy::Failures, "failures"),
        (Strategy::Lru, "lru"),
        (Strategy::Quality, "quality"),
        (Strategy::Hybrid, "hybrid"),
    ]
    .into_iter()
    .map(|(s, name)| StrategyCount {
        strategy: name,
        removes: cleanup::plan(peers, ns.index_ids(), s, &th, now).len(),
    })
    .collect();
    Spread {
        peers: peers.len(),
        quality,
        last_seen,
        cleanup,
    }
}
