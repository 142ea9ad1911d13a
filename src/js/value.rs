//! JavaScript value semantics for the few operations the app applies to record fields.
//!
//! The app's code compares and adds fields with JavaScript's rules (`x || 0`, `a < 50`,
//! `undefined / n` is NaN). To give the app's own answers on messy real records, fields are kept
//! as JSON values with "absent" distinct from `null`, and converted the way JavaScript would.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A record field: `None` when the member is absent (JavaScript `undefined`).
pub type Field = Option<Value>;

/// Deserialises a present member, keeping `null` as `Some(Value::Null)`.
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
    Value::deserialize(d).map(Some)
}

/// JavaScript `ToNumber`.
pub fn to_number(v: Option<&Value>) -> f64 {
    match v {
        None => f64::NAN,
        Some(Value::Null) => 0.0,
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => string_to_number(s),
        Some(Value::Array(a)) => match a.as_slice() {
            [] => 0.0,
            [Value::Null] => 0.0,
            [one @ (Value::Number(_) | Value::String(_))] => to_number(Some(one)),
            _ => f64::NAN,
        },
        Some(Value::Object(_)) => f64::NAN,
    }
}

fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    if t.is_empty() {
        return 0.0;
    }
    let radix = |p: &str, r: u32| {
        t.strip_prefix(p)
            .map(|d| u64::from_str_radix(d, r).map_or(f64::NAN, |n| n as f64))
    };
    if let Some(n) = radix("0x", 16)
        .or_else(|| radix("0X", 16))
        .or_else(|| radix("0o", 8))
        .or_else(|| radix("0b", 2))
    {
        return n;
    }
    match t {
        "Infinity" | "+Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        // Rust accepts "inf"/"nan" spellings JavaScript does not.
        _ if t
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') =>
        {
            f64::NAN
        }
        _ => t.parse::<f64>().unwrap_or(f64::NAN),
    }
}

/// JavaScript truthiness.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

/// `x || 0` used as a number: a falsy value is 0, else `ToNumber(x)`.
pub fn or_zero(v: Option<&Value>) -> f64 {
    if truthy(v) { to_number(v) } else { 0.0 }
}

/// A member of a JSON object value (`undefined` when `v` is not an object or lacks it).
pub fn member<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    v.and_then(|v| v.as_object()).and_then(|o| o.get(name))
}

/// JavaScript's `Math.min(100, Math.max(0, x))` (NaN stays NaN).
pub fn clamp_0_100(x: f64) -> f64 {
    if x.is_nan() { x } else { x.clamp(0.0, 100.0) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn to_number_follows_javascript() {
        assert!(to_number(None).is_nan());
        assert_eq!(to_number(Some(&json!(null))), 0.0);
        assert_eq!(to_number(Some(&json!(" 42 "))), 42.0);
        assert_eq!(to_number(Some(&json!(""))), 0.0);
        assert_eq!(to_number(Some(&json!("0x10"))), 16.0);
        assert!(to_number(Some(&json!("inf"))).is_nan());
        assert_eq!(to_number(Some(&json!("-Infinity"))), f64::NEG_INFINITY);
        assert_eq!(to_number(Some(&json!(true))), 1.0);
        assert_eq!(to_number(Some(&json!([7]))), 7.0);
        assert!(to_number(Some(&json!({}))).is_nan());
    }

    #[test]
    fn truthiness_follows_javascript() {
        assert!(!truthy(Some(&json!(0))));
        assert!(!truthy(Some(&json!(""))));
        assert!(truthy(Some(&json!("0"))));
        assert!(truthy(Some(&json!([]))));
        assert_eq!(or_zero(Some(&json!(null))), 0.0);
        assert_eq!(or_zero(Some(&json!(5))), 5.0);
    }
}
