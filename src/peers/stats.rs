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
