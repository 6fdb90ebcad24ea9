//! YAML 1.2 core-schema resolution of plain scalars.
//!
//! Only the 1.2 core schema is applied: `yes`, `on` and `0755` stay strings (unlike YAML 1.1),
//! which is what Kubernetes' own YAML reader does for these cases in practice with quoting, and
//! what a user writing `version: 1.10` quoted or not should see reported, not silently changed.

use serde_json::{Number, Value};

pub fn resolve_plain(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Err(format!(
                "`{text}` is an infinite or NaN number, which shipshape cannot represent"
            ))
        }
        _ => {}
    }
    if let Some(v) = resolve_int(text) {
        return Ok(v);
    }
    if is_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Ok(Value::Number(n));
            }
        }
        return Err(format!("`{text}` is a number out of range"));
    }
    Ok(Value::String(text.to_owned()))
}

fn resolve_int(text: &str) -> Option<Value> {
    let (digits, radix) = if let Some(h) = text.strip_prefix("0x") {
        (h, 16)
    } else if let Some(o) = text.strip_prefix("0o") {
        (o, 8)
    } else {
        (text, 10)
    };
    let body = if radix == 10 {
        digits.strip_prefix(['-', '+']).unwrap_or(digits)
    } else {
        digits
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    if radix == 10 {
        if let Ok(i) = digits.parse::<i64>() {
            return Some(Value::Number(i.into()));
        }
        if let Ok(u) = digits.trim_start_matches('+').parse::<u64>() {
            return Some(Value::Number(u.into()));
        }
        // Too large for an integer: keep the text rather than lose digits.
        return Some(Value::String(text.to_owned()));
    }
    match u64::from_str_radix(digits, radix) {
        Ok(u) => Some(Value::Number(u.into())),
        Err(_) => Some(Value::String(text.to_owned())),
    }
}

fn is_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int_part = parts.next().unwrap_or("");
    let frac_part = parts.next();
    let int_ok = int_part.chars().all(|c| c.is_ascii_digit());
    let frac_ok = frac_part.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit()));
    let has_digits = !int_part.is_empty() || frac_part.is_some_and(|f| !f.is_empty());
    let exp_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    int_ok && frac_ok && has_digits && exp_ok && (frac_part.is_some() || exponent.is_some())
}
