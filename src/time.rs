//! Instants and durations on the command line, and how times are shown.
//!
//! All time arithmetic uses one `now` in epoch milliseconds (`--now`), as the app uses
//! `Date.now()`.

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses `--now`: RFC 3339 (`2026-11-20T12:00:00Z`) or epoch milliseconds.
pub fn parse_instant(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms as f64);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis() as f64)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time or epoch milliseconds ({e})"))
}

/// Parses a duration: `30d`, `12h`, `90m`, `45s`, `500ms`, or a plain number of milliseconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (try 30d, 12h, 90m, 45s or milliseconds)"))?;
    let factor = match unit {
        "" | "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3_600e3,
        "d" => 86_400e3,
        "w" => 7.0 * 86_400e3,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use d, h, m, s or ms)"
            ));
        }
    };
    Ok(n * factor)
}

pub fn now_ms() -> f64 {
    Utc::now().timestamp_millis() as f64
}

/// ISO 8601 with milliseconds, as JavaScript's `toISOString`.
pub fn iso(ms: f64) -> String {
    if !ms.is_finite() {
        return "invalid".into();
    }
    DateTime::<Utc>::from_timestamp_millis(ms as i64).map_or_else(
        || "invalid".into(),
        |t| t.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// A short relative time: `3h ago`, `in 2d`, `just now`.
pub fn relative(ms: f64, now: f64) -> String {
    if !ms.is_finite() {
        return "invalid".into();
    }
    let diff = now - ms;
    let abs = diff.abs() / 1000.0;
    let amount = match abs {
        a if a < 1.0 => return "just now".into(),
        a if a < 60.0 => format!("{}s", a.floor()),
        a if a < 3600.0 => format!("{}m", (a / 60.0).floor()),
        a if a < 48.0 * 3600.0 => format!("{}h", (a / 3600.0).floor()),
        a => format!("{}d", (a / 86400.0).floor()),
    };
    if diff >= 0.0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// An exact duration for explanations: every non-zero unit, `30d 1ms`, `2d 4h 30m`; `0ms`.
pub fn duration(ms: f64) -> String {
    render_parts(ms, &duration_parts(ms))
}

/// A duration to its two most significant units (`34d 21h`), unless cutting it would hide that
/// it exceeds `limit` (then exact: `30d 1ms`).
pub fn duration_over(ms: f64, limit: f64) -> String {
    let parts = duration_parts(ms);
    let short = &parts[..parts.len().min(2)];
    let shown: f64 = short.iter().map(|(n, _, size)| n * size).sum();
    if ms.abs() > limit && shown <= limit {
        render_parts(ms, &parts)
    } else {
        render_parts(ms, short)
    }
}

/// A duration to its two most significant units.
pub fn duration_short(ms: f64) -> String {
    let parts = duration_parts(ms);
    render_parts(ms, &parts[..parts.len().min(2)])
}

fn duration_parts(ms: f64) -> Vec<(f64, &'static str, f64)> {
    let mut rest = ms.abs();
    let mut parts = Vec::new();
    if !ms.is_finite() {
        return parts;
    }
    for (unit, size) in [
        ("d", 86_400_000.0),
        ("h", 3_600_000.0),
        ("m", 60_000.0),
        ("s", 1000.0),
    ] {
        let n = (rest / size).floor();
        if n > 0.0 {
            parts.push((n, unit, size));
            rest -= n * size;
        }
    }
    if rest > 0.0 || parts.is_empty() {
        // Whole milliseconds print without a fraction; a fractional rest keeps it.
        parts.push(((rest * 1000.0).round() / 1000.0, "ms", 1.0));
    }
    parts
}

fn render_parts(ms: f64, parts: &[(f64, &'static str, f64)]) -> String {
    if !ms.is_finite() {
        return "an unknown time".into();
    }
    let sign = if ms < 0.0 { "-" } else { "" };
    let text: Vec<String> = parts.iter().map(|(n, u, _)| format!("{n}{u}")).collect();
    format!("{sign}{}", text.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_durations() {
        assert_eq!(
            parse_instant("2026-11-20T12:00:00.000Z").unwrap(),
            1_795_176_000_000.0
        );
        assert_eq!(parse_instant("1795176000000").unwrap(), 1_795_176_000_000.0);
        assert!(parse_instant("yesterday").is_err());
        assert_eq!(parse_duration("7d").unwrap(), 604_800_000.0);
        assert_eq!(parse_duration("90m").unwrap(), 5_400_000.0);
        assert_eq!(parse_duration("86400000").unwrap(), 86_400_000.0);
        assert!(parse_duration("7 days").is_err());
    }

    #[test]
    fn relative_times() {
        let now = 1_000_000_000.0;
        assert_eq!(relative(now - 3.0 * 3_600_000.0, now), "3h ago");
        assert_eq!(relative(now + 3.0 * 86_400_000.0, now), "in 3d");
        assert_eq!(relative(now, now), "just now");
        assert_eq!(iso(1_795_176_000_000.0), "2026-11-20T12:00:00.000Z");
    }

    #[test]
    fn exact_durations() {
        assert_eq!(duration(30.0 * 86_400_000.0 + 1.0), "30d 1ms");
        assert_eq!(
            duration(2.0 * 86_400_000.0 + 4.5 * 3_600_000.0),
            "2d 4h 30m"
        );
        assert_eq!(duration(0.0), "0ms");
        assert_eq!(duration(-1500.0), "-1s 500ms");
        let d = 86_400_000.0;
        assert_eq!(duration_over(34.9 * d, 30.0 * d), "34d 21h");
        assert_eq!(duration_over(30.0 * d + 1.0, 30.0 * d), "30d 1ms");
        assert_eq!(duration_over(30.0 * d + 3_600_001.0, 30.0 * d), "30d 1h");
        assert_eq!(duration_short(d + 61_000.0), "1d 1m");
    }
}
