//! The app's `getStorageStats` and `needsCleanup`, plus the origin's real size.

use serde::Serialize;
use serde_json::Value;

use super::jsval::to_number;
use super::{DAY_MS, MAX_PEERS, Namespace};
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

/// JavaScript's `Number.prototype.toFixed`: the exact decimal value of `x`, rounded to `digits`
/// with ties going up (Rust's `{:.2}` rounds ties to even, which differs at e.g. 0.125).
pub fn to_fixed(x: f64, digits: usize) -> String {
    if !x.is_finite() || x.abs() >= 1e21 {
        return format!("{x}");
    }
    // 1100 fractional digits hold every double's exact expansion.
    let exact = format!("{:.1100}", x.abs());
    let (int, frac) = exact.split_once('.').unwrap_or((&exact, ""));
    let mut digits_str: Vec<u8> = int.bytes().chain(frac.bytes().take(digits)).collect();
    if frac.as_bytes().get(digits).is_some_and(|d| *d >= b'5') {
        let mut i = digits_str.len();
        loop {
            if i == 0 {
                digits_str.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits_str[i] == b'9' {
                digits_str[i] = b'0';
            } else {
                digits_str[i] += 1;
                break;
            }
        }
    }
    let split = digits_str.len() - digits;
    let mut s = String::from_utf8(digits_str[..split].to_vec()).unwrap_or_default();
    if digits > 0 {
        s.push('.');
        s.push_str(std::str::from_utf8(&digits_str[split..]).unwrap_or_default());
    }
    if x < 0.0 { format!("-{s}") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_fixed_matches_javascript() {
        assert_eq!(to_fixed(187060.0 / 1024.0 / 1024.0, 2), "0.18");
        assert_eq!(to_fixed(0.125, 2), "0.13");
        assert_eq!(to_fixed(1.005, 2), "1.00"); // 1.005 is really 1.00499999…
        assert_eq!(to_fixed(120.0, 1), "120.0");
        assert_eq!(to_fixed(99.95, 1), "100.0"); // 99.95 is really 99.9500000000000028…
        assert_eq!(to_fixed(0.0, 2), "0.00");
    }
}
