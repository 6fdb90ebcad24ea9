//! Resolution of plain scalars: the YAML 1.2 core schema for shipshape's own files, and YAML 1.1
//! as Kubernetes reads manifests, for files `shipshape lint` reads.
//!
//! The catalogue and environment files use the 1.2 core schema: `yes`, `on` stay strings and
//! `0755` is 755, so what a user writes is what shipshape reads. kubectl and the API server read
//! manifests through sigs.k8s.io/yaml, which is go-yaml v2 (YAML 1.1): there `yes`, `on`, `y`
//! are `true`, `0755` is octal 493, `1_000` is 1000, while `1:30` (sexagesimal) and dates stay
//! strings. Linting a manifest as 1.2 would judge a different resource than the one applied.

use serde_json::{Number, Value};

/// Which rules turn a plain scalar into a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Schema {
    /// YAML 1.2 core schema: shipshape's own files.
    #[default]
    Core,
    /// YAML 1.1 as go-yaml v2 resolves it: manifests, as Kubernetes reads them.
    Kubernetes,
}

pub fn resolve_plain_in(text: &str, schema: Schema) -> Result<Value, String> {
    match schema {
        Schema::Core => resolve_plain(text),
        Schema::Kubernetes => resolve_yaml11(text),
    }
}

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

/// go-yaml v2's resolution of a plain scalar, followed by what JSON makes of it (a float with no
/// fraction is written as an integer, so the API server reads `08` or `1e3` as integers).
fn resolve_yaml11(text: &str) -> Result<Value, String> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Ok(Value::Bool(true)),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Ok(Value::Bool(false)),
        _ => {}
    }
    // Numbers only start with a digit, a sign or a dot; everything else goes the 1.2 way
    // (null, true/false, infinities, strings), where both versions agree.
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return resolve_plain(text);
    }
    if matches!(
        text.strip_prefix(['+', '-']).unwrap_or(text),
        ".inf" | ".Inf" | ".INF"
    ) || matches!(text, ".nan" | ".NaN" | ".NAN")
    {
        return resolve_plain(text);
    }
    let plain = text.replace('_', "");
    if let Some(v) = go_int(&plain) {
        return Ok(v);
    }
    if is_yaml11_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Ok(json_number(f));
        }
    }
    Ok(Value::String(text.to_owned()))
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: a sign, then `0x`, `0o`, `0b` or a
/// leading `0` (octal) select the base.
fn go_int(s: &str) -> Option<Value> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = |p: &str| body.get(..2).is_some_and(|b| b.eq_ignore_ascii_case(p));
    let (digits, radix) = if lower("0x") {
        (&body[2..], 16)
    } else if lower("0o") {
        (&body[2..], 8)
    } else if lower("0b") {
        (&body[2..], 2)
    } else if body.len() > 1 && body.starts_with('0') {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if !negative {
        return Some(Value::Number(magnitude.into()));
    }
    // The most negative i64 has no positive counterpart; anything below it is out of range.
    let value = 0i64.checked_sub_unsigned(magnitude)?;
    Some(Value::Number(value.into()))
}

/// go-yaml v2's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml11_float(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int_part, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        None => !int_part.is_empty() && digits(int_part),
        Some(f) if int_part.is_empty() => !f.is_empty() && digits(f),
        Some(f) => digits(int_part) && digits(f),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// A float as JSON carries it to the API server: without a fraction, an integer.
fn json_number(f: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: integers a float holds exactly.
    if f.fract() == 0.0 && f.abs() <= EXACT {
        return Value::Number((f as i64).into());
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn k8s(text: &str) -> Value {
        resolve_plain_in(text, Schema::Kubernetes).unwrap()
    }

    #[test]
    fn kubernetes_reads_yaml_1_1_scalars() {
        for (text, want) in [
            ("0755", json!(493)),
            ("-0755", json!(-493)),
            ("0x1F", json!(31)),
            ("0o17", json!(15)),
            ("0b101", json!(5)),
            ("1_000", json!(1000)),
            ("08", json!(8)),
            ("1e3", json!(1000)),
            ("1.5", json!(1.5)),
            (".5", json!(0.5)),
            ("0", json!(0)),
            ("+12", json!(12)),
            ("yes", json!(true)),
            ("On", json!(true)),
            ("y", json!(true)),
            ("off", json!(false)),
            ("N", json!(false)),
            ("true", json!(true)),
            ("null", json!(null)),
            ("~", json!(null)),
            ("1:30", json!("1:30")),
            ("2001-12-14", json!("2001-12-14")),
            ("1.10.2", json!("1.10.2")),
            ("0x", json!("0x")),
            ("-", json!("-")),
            ("v1", json!("v1")),
        ] {
            assert_eq!(k8s(text), want, "{text}");
        }
    }

    #[test]
    fn the_core_schema_is_unchanged() {
        assert_eq!(resolve_plain_in("0755", Schema::Core).unwrap(), json!(755));
        assert_eq!(resolve_plain_in("yes", Schema::Core).unwrap(), json!("yes"));
    }

    #[test]
    fn infinities_are_refused_in_both() {
        assert!(resolve_plain_in(".inf", Schema::Kubernetes).is_err());
        assert!(resolve_plain_in("-.inf", Schema::Kubernetes).is_err());
    }
}
