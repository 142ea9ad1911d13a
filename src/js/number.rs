//! Numbers as JavaScript writes them. `String(x)` uses the shortest decimal that reads back as
//! `x`, in plain notation for 1e-7 ≤ |x| < 1e21 and exponent notation (`5e-7`, `1e+21`)
//! outside; integers past 2^53 are written with their shortest digits then zeros
//! (`1152921504606847000`), never their exact binary value.

/// `String(x)` / `Number.prototype.toString()`: `NaN`, `Infinity`, `-0` as `0`.
pub fn to_string(x: f64) -> String {
    ryu_js::Buffer::new().format(x).to_owned()
}

/// The text `JSON.stringify` writes for a number: as `String(x)`, but `null` for NaN and the
/// infinities.
pub fn to_json(x: f64) -> String {
    if x.is_finite() {
        to_string(x)
    } else {
        "null".into()
    }
}

/// A number for JSON output, as `JSON.stringify` would write it (NaN and infinities are null;
/// integers have no fraction).
pub fn to_json_value(x: f64) -> serde_json::Value {
    // Without serde_json's arbitrary_precision, an integer text becomes an exact u64/i64
    // (printed as JavaScript printed it) and any other text the same f64.
    serde_json::from_str(&to_json(x)).unwrap_or(serde_json::Value::Null)
}

/// `Number.prototype.toFixed(digits)`: the exact decimal value of `x`, rounded to `digits`
/// with ties going up (Rust's `{:.2}` rounds ties to even, which differs at e.g. 0.125);
/// `String(x)` from 1e21 on.
pub fn to_fixed(x: f64, digits: usize) -> String {
    if !x.is_finite() || x.abs() >= 1e21 {
        return to_string(x);
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
    // JavaScript keeps the sign of a negative number that rounds to zero ("-0.00").
    if x < 0.0 { format!("-{s}") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_string_matches_javascript() {
        assert_eq!(to_string(84.0), "84");
        assert_eq!(to_string(52.599999999999994), "52.599999999999994");
        assert_eq!(to_string(5e-7), "5e-7");
        assert_eq!(to_string(1e21), "1e+21");
        assert_eq!(to_string(1152921504606846976.0), "1152921504606847000");
        assert_eq!(to_string(-0.0), "0");
        assert_eq!(to_string(f64::NAN), "NaN");
        assert_eq!(to_string(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(to_json(f64::NAN), "null");
        assert_eq!(to_json_value(120.0), serde_json::json!(120));
        assert_eq!(
            to_json_value(1152921504606846976.0).to_string(),
            "1152921504606847000"
        );
        assert_eq!(to_json_value(f64::INFINITY), serde_json::Value::Null);
    }

    #[test]
    fn to_fixed_matches_javascript() {
        assert_eq!(to_fixed(187060.0 / 1024.0 / 1024.0, 2), "0.18");
        assert_eq!(to_fixed(0.125, 2), "0.13");
        assert_eq!(to_fixed(1.005, 2), "1.00"); // 1.005 is really 1.00499999…
        assert_eq!(to_fixed(120.0, 1), "120.0");
        assert_eq!(to_fixed(99.95, 1), "100.0"); // 99.95 is really 99.9500000000000028…
        assert_eq!(to_fixed(0.0, 2), "0.00");
        assert_eq!(to_fixed(1e21, 2), "1e+21");
    }
}
