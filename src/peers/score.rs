//! The app's quality score, reconnection score and reconnection reason, computed with the app's
//! JavaScript semantics and in the app's order of floating-point operations, with every part
//! kept so the tool can explain a score.

use serde::Serialize;

use super::DAY_MS;
use super::record::PeerView;
use crate::js::value::{clamp_0_100, or_zero, to_number, truthy};

/// `calculateQualityScore` and its four parts.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QualityParts {
    pub latency: f64,
    pub success_rate: f64,
    pub connection_type: f64,
    pub uptime: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Quality {
    pub parts: QualityParts,
    /// 0–100; NaN only when a field holds a non-numeric string (the app gets NaN too).
    pub total: f64,
}

impl Quality {
    /// The value the app's sort uses (`_qualityScore || 0`).
    pub fn sort_value(&self) -> f64 {
        if self.total.is_nan() { 0.0 } else { self.total }
    }
}

pub fn quality(p: &PeerView) -> Quality {
    let zero = QualityParts {
        latency: 0.0,
        success_rate: 0.0,
        connection_type: 0.0,
        uptime: 0.0,
    };
    if !truthy(p.connection_quality.as_ref()) {
        return Quality {
            parts: zero,
            total: 0.0,
        };
    }
    let present = |name| p.quality_field(name).filter(|v| !v.is_null());
    let latency = present("latency").map_or(0.0, |v| {
        let l = to_number(Some(v));
        match () {
            _ if l < 50.0 => 40.0,
            _ if l < 100.0 => 35.0,
            _ if l < 200.0 => 25.0,
            _ if l < 500.0 => 15.0,
            _ if l < 1000.0 => 5.0,
            _ => 0.0,
        }
    });
    let success_rate = present("successRate").map_or(0.0, |v| (to_number(Some(v)) * 30.0).floor());
    let connection_type = match p.connection_type() {
        Some("host") => 20.0,
        Some("srflx") => 12.0,
        Some("relay") => 5.0,
        _ => 0.0,
    };
    let uptime = present("avgUptime").map_or(0.0, |v| {
        let u = to_number(Some(v));
        match () {
            _ if u > 600.0 => 10.0,
            _ if u > 300.0 => 7.0,
            _ if u > 60.0 => 4.0,
            _ => 0.0,
        }
    });
    let total = clamp_0_100(0.0 + latency + success_rate + connection_type + uptime);
    Quality {
        parts: QualityParts {
            latency,
            success_rate,
            connection_type,
            uptime,
        },
        total,
    }
}

/// The parts of `calculateReconnectionScore`; they add up to the score before clamping.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReconnectionParts {
    /// quality × 0.4
    pub quality: f64,
    /// +30 / +20 / +10 for last seen under 1 / 3 / 7 days ago
    pub recency: f64,
    /// min(20, 2 × successfulConnections)
    pub connections: f64,
    /// +10 / +5 for a failure rate under 0.1 / 0.3
    pub reliability: f64,
    /// −5 × reconnectionAttempts
    pub penalty: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Reconnection {
    pub parts: ReconnectionParts,
    /// meshpeers' score: a missing `reconnectionAttempts` counts as 0 (the app's default).
    pub total: f64,
    /// True when the app itself computes NaN for this peer (missing or non-numeric
    /// `reconnectionAttempts`), so its candidate order is engine-dependent.
    pub app_nan: bool,
}

impl Reconnection {
    pub fn sort_value(&self) -> f64 {
        if self.total.is_nan() { 0.0 } else { self.total }
    }
}

/// Days since `lastSeen`, as the app computes them (NaN when `lastSeen` is absent).
pub fn days_since_seen(p: &PeerView, now: f64) -> f64 {
    (now - to_number(p.last_seen.as_ref())) / DAY_MS
}

pub fn reconnection(p: &PeerView, now: f64) -> Reconnection {
    let q = quality(p).total;
    let cq = p.connection_quality.as_ref().filter(|v| truthy(Some(v)));
    let field = |name| crate::js::value::member(cq, name);

    let days = days_since_seen(p, now);
    let recency = match () {
        _ if days < 1.0 => 30.0,
        _ if days < 3.0 => 20.0,
        _ if days < 7.0 => 10.0,
        _ => 0.0,
    };
    let successful = field("successfulConnections");
    let connections = if truthy(successful) {
        js_min(20.0, to_number(successful) * 2.0)
    } else {
        0.0
    };

    let app_attempts = to_number(p.reconnection_attempts.as_ref());
    let attempts = if app_attempts.is_nan() {
        0.0
    } else {
        app_attempts
    };
    let total_connections = field("totalConnections");
    let divisor = if truthy(total_connections) {
        to_number(total_connections)
    } else {
        1.0
    };

    let score_with = |attempts: f64| -> (ReconnectionParts, f64) {
        let failure_rate = attempts / divisor;
        let reliability = match () {
            _ if failure_rate < 0.1 => 10.0,
            _ if failure_rate < 0.3 => 5.0,
            _ => 0.0,
        };
        let penalty = attempts * 5.0;
        // The app's order: quality × 0.4, + recency, + connections, + reliability, − penalty.
        let mut score = q * 0.4;
        score += recency;
        score += connections;
        score += reliability;
        score -= penalty;
        let parts = ReconnectionParts {
            quality: q * 0.4,
            recency,
            connections,
            reliability,
            penalty: 0.0 - penalty,
        };
        (parts, clamp_0_100(score))
    };
    let (parts, total) = score_with(attempts);
    let (_, app_total) = score_with(app_attempts);
    Reconnection {
        parts,
        total,
        app_nan: app_total.is_nan() && !total.is_nan(),
    }
}

/// `getReconnectionReason`.
pub fn reason(p: &PeerView, now: f64) -> String {
    let latency = p.quality_field("latency");
    let mut reasons = Vec::new();
    if truthy(latency) && to_number(latency) < 100.0 {
        reasons.push("low-latency");
    }
    if p.connection_type() == Some("host") {
        reasons.push("direct-connection");
    }
    if to_number(p.quality_field("successRate")) > 0.8 {
        reasons.push("reliable");
    }
    if days_since_seen(p, now) < 1.0 {
        reasons.push("recently-active");
    }
    if reasons.is_empty() {
        "available".into()
    } else {
        reasons.join(", ")
    }
}

/// JavaScript's `Math.min` for two numbers (NaN wins).
fn js_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// The app's sort key `lastSeen || 0`.
pub fn last_seen_key(p: &PeerView) -> f64 {
    or_zero(p.last_seen.as_ref())
}

/// The app's sort key `lastConnected || 0`.
pub fn last_connected_key(p: &PeerView) -> f64 {
    or_zero(p.last_connected.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js::JsString;

    fn view(json: &str) -> PeerView {
        PeerView::parse(&JsString::from(json)).unwrap()
    }

    #[test]
    fn quality_boundaries() {
        let q = |cq: &str| quality(&view(&format!(r#"{{"connectionQuality":{cq}}}"#))).total;
        assert_eq!(
            q(r#"{"latency":49,"successRate":1,"connectionType":"host","avgUptime":601}"#),
            100.0
        );
        assert_eq!(
            q(r#"{"latency":50,"successRate":0.8,"connectionType":"srflx","avgUptime":600}"#),
            35.0 + 24.0 + 12.0 + 7.0
        );
        assert_eq!(
            q(r#"{"latency":1000,"successRate":null,"connectionType":"prflx","avgUptime":60}"#),
            0.0
        );
        assert_eq!(q("null"), 0.0);
        assert!(q(r#"{"successRate":"abc"}"#).is_nan());
    }

    #[test]
    fn reconnection_float_order_matches_the_app() {
        // quality 30 (host 20 + uptime 10), seen long ago, no attempts: 30 × 0.4 + 10 reliability.
        let p = view(
            r#"{"lastSeen":0,"reconnectionAttempts":0,"connectionQuality":{"latency":null,"successRate":0,"connectionType":"host","totalConnections":1,"successfulConnections":0,"avgUptime":700}}"#,
        );
        let r = reconnection(&p, 1e12);
        assert_eq!(quality(&p).total, 30.0);
        assert_eq!(r.total, 30.0 * 0.4 + 10.0);
    }

    #[test]
    fn missing_attempts_is_zero_and_flagged() {
        let p = view(r#"{"lastSeen":100,"connectionQuality":{"totalConnections":0}}"#);
        let r = reconnection(&p, 100.0);
        assert!(r.app_nan);
        assert_eq!(r.total, 30.0 + 10.0);
        let p = view(r#"{"lastSeen":100,"reconnectionAttempts":null}"#);
        assert!(!reconnection(&p, 100.0).app_nan);
    }

    #[test]
    fn reason_tags() {
        let p = view(
            r#"{"lastSeen":100,"connectionQuality":{"latency":99,"connectionType":"host","successRate":0.8000001}}"#,
        );
        assert_eq!(
            reason(&p, 100.0 + DAY_MS - 1.0),
            "low-latency, direct-connection, reliable, recently-active"
        );
        assert_eq!(
            reason(&p, 100.0 + DAY_MS),
            "low-latency, direct-connection, reliable"
        );
        assert_eq!(reason(&view("{}"), 0.0), "available");
    }
}
