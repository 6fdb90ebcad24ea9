//! Kubernetes resource quantities (CPU, memory) and percentages as written in the catalogue.
//!
//! Parsing is exact: numbers are kept as a decimal mantissa and scale in `u128` and only
//! converted at the end, so `1.5Gi` is exactly 1610612736 bytes and nothing is rounded
//! silently. Values that do not land on a whole unit (a fraction of a byte or of a millicore)
//! and values beyond `u64` are errors rather than being rounded or wrapped.
//!
//! Errors carry an optional suggestion for the mistakes people actually make (`512MB`, `1gi`,
//! `0.5 cores`, `500M` for millicores), meant to be shown as a "help" line next to the message.

/// A quantity that could not be parsed.
///
/// `Display` prints only `message`; `suggestion` is the corrected spelling, if there is an
/// obvious one, so that diagnostics can show it separately (e.g. as miette help).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QuantityError {
    pub message: String,
    pub suggestion: Option<String>,
}

impl QuantityError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            suggestion: None,
        }
    }

    fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }
}

const CPU_EXPECTED: &str = r#"expected cores ("2", "0.5") or millicores ("500m")"#;
const MEMORY_EXPECTED: &str =
    "expected bytes with an optional binary suffix (Ki, Mi, Gi, Ti, Pi, Ei) \
     or decimal suffix (k, M, G, T, P, E), e.g. \"128Mi\"";

/// Parses a CPU quantity into millicores: `"500m"` is 500, `"0.5"` is 500, `"2"` is 2000.
///
/// Only a plain number of cores or a number with the `m` suffix is accepted. A YAML number
/// (`cpu: 2` or `cpu: 0.5`) must be converted to its text by the caller first, e.g. with
/// `serde_json::Number`'s `to_string()`, which produces the same spelling the user wrote for
/// ordinary values.
pub fn parse_cpu(text: &str) -> Result<u64, QuantityError> {
    parse_cpu_exact(text).map_err(|err| {
        if err.suggestion.is_some() {
            err
        } else {
            let suggestion = suggest_cpu(text);
            err.with_suggestion(suggestion)
        }
    })
}

fn parse_cpu_exact(text: &str) -> Result<u64, QuantityError> {
    precheck(text, "CPU quantity")?;
    let (number, suffix) = split_number(text);
    if number.is_empty() {
        return Err(QuantityError::new(format!(
            "CPU quantity {text:?} is not a number; {CPU_EXPECTED}"
        )));
    }
    let decimal = parse_decimal(number).map_err(|err| err.into_error(text, "CPU quantity"))?;
    let net10 = match suffix {
        "" => 3,
        "m" => 0,
        "M" => {
            return Err(QuantityError::new(format!(
                "CPU quantity {text:?} uses the suffix M (mega), i.e. {number} million cores; \
                 millicores are written with a lowercase m"
            )));
        }
        "k" | "G" | "T" | "P" | "E" => {
            return Err(QuantityError::new(format!(
                "CPU quantity {text:?} uses the decimal multiplier {suffix}, which is never \
                 meant for CPU; {CPU_EXPECTED}"
            )));
        }
        _ => {
            return Err(QuantityError::new(format!(
                "CPU quantity {text:?} has unknown suffix {suffix:?}; {CPU_EXPECTED}"
            )));
        }
    };
    let millis = match scale_exact(decimal, 0, net10 - i64::from(decimal.scale)) {
        Scaled::Value(value) => value,
        Scaled::Fraction { ceil } => {
            return Err(QuantityError::new(format!(
                "CPU quantity {text:?} is finer than the smallest unit, one millicore (1m)"
            ))
            .with_suggestion(ceil.and_then(|c| u64::try_from(c).ok()).map(format_cpu)));
        }
        Scaled::Overflow | Scaled::TooPrecise => return Err(cpu_too_large(text)),
    };
    u64::try_from(millis).map_err(|_| cpu_too_large(text))
}

fn cpu_too_large(text: &str) -> QuantityError {
    QuantityError::new(format!(
        "CPU quantity {text:?} is too large (at most {} millicores)",
        u64::MAX
    ))
}

/// Reads the common ways people spell CPU (`0.5 cores`, `500M`, `500mc`, `2 vcpu`) and returns
/// the canonical spelling, if the text means something unambiguous.
fn suggest_cpu(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (number, suffix) = split_number(&compact);
    if number.is_empty() {
        return None;
    }
    let decimal = parse_decimal(number).ok()?;
    let net10 = match suffix.to_ascii_lowercase().as_str() {
        "" | "c" | "core" | "cores" | "cpu" | "cpus" | "vcpu" | "vcpus" => 3,
        // An uppercase M (mega) or a stray letter after m is almost always meant as millicores.
        "m" | "mi" | "mc" | "mcpu" | "milli" | "millis" | "millicore" | "millicores"
        | "millicpu" | "millicpus" => 0,
        _ => return None,
    };
    let millis = match scale_exact(decimal, 0, net10 - i64::from(decimal.scale)) {
        Scaled::Value(value) => value,
        Scaled::Fraction { ceil } => ceil?,
        Scaled::Overflow | Scaled::TooPrecise => return None,
    };
    let candidate = format_cpu(u64::try_from(millis).ok()?);
    (candidate != text).then_some(candidate)
}

/// Parses a memory quantity into bytes.
///
/// Accepts plain bytes (`"1048576"`), binary suffixes (`Ki Mi Gi Ti Pi Ei`), decimal suffixes
/// (`k M G T P E`), decimal fractions (`"1.5Gi"`) and exponents (`"1e9"`, `"1.5E3"`). The
/// result must be a whole number of bytes that fits in `u64`. As with [`parse_cpu`], a YAML
/// number must be converted to text by the caller first.
pub fn parse_memory(text: &str) -> Result<u64, QuantityError> {
    parse_memory_exact(text).map_err(|err| {
        if err.suggestion.is_some() {
            err
        } else {
            let suggestion = suggest_memory(text);
            err.with_suggestion(suggestion)
        }
    })
}

fn parse_memory_exact(text: &str) -> Result<u64, QuantityError> {
    precheck(text, "memory quantity")?;
    let (number, suffix) = split_number(text);
    if number.is_empty() {
        return Err(QuantityError::new(format!(
            "memory quantity {text:?} is not a number; {MEMORY_EXPECTED}"
        )));
    }
    let decimal = parse_decimal(number).map_err(|err| err.into_error(text, "memory quantity"))?;
    let (bits, decimal_exp) = match memory_suffix(suffix) {
        Some(multiplier) => multiplier,
        None => return Err(unknown_memory_suffix(text, suffix)),
    };
    let net10 = decimal_exp - i64::from(decimal.scale);
    let bytes = match scale_exact(decimal, bits, net10) {
        Scaled::Value(value) => value,
        Scaled::Fraction { ceil } => {
            return Err(QuantityError::new(format!(
                "memory quantity {text:?} is not a whole number of bytes"
            ))
            .with_suggestion(ceil.and_then(|c| u64::try_from(c).ok()).map(format_memory)));
        }
        Scaled::TooPrecise => {
            return Err(QuantityError::new(format!(
                "memory quantity {text:?} has too many digits to evaluate exactly"
            )));
        }
        Scaled::Overflow => return Err(memory_too_large(text)),
    };
    u64::try_from(bytes).map_err(|_| memory_too_large(text))
}

/// Maps a memory suffix to (power-of-two bits, power-of-ten exponent).
fn memory_suffix(suffix: &str) -> Option<(u32, i64)> {
    let multiplier = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        _ => (0, parse_exponent(suffix)?),
    };
    Some(multiplier)
}

/// Parses `e3`, `E+3`, `e-2`. Exponents are clamped: anything beyond ±10000 already overflows
/// or underflows every representable value, so the exact size no longer matters.
fn parse_exponent(suffix: &str) -> Option<i64> {
    let rest = suffix.strip_prefix(['e', 'E'])?;
    let (negative, digits) = match rest.as_bytes().first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits
        .bytes()
        .fold(0i64, |acc, b| (acc * 10 + i64::from(b - b'0')).min(10_000));
    Some(if negative { -magnitude } else { magnitude })
}

fn unknown_memory_suffix(text: &str, suffix: &str) -> QuantityError {
    let message = if suffix == "m" {
        format!(
            "memory quantity {text:?} uses the suffix m (milli), i.e. thousandths of a byte; \
             mebibytes are written Mi"
        )
    } else if suffix == "K" {
        format!(
            "memory quantity {text:?} uses an uppercase K; kilobytes are written k (decimal) \
             or Ki (binary)"
        )
    } else {
        format!("memory quantity {text:?} has unknown suffix {suffix:?}; {MEMORY_EXPECTED}")
    };
    QuantityError::new(message)
}

fn memory_too_large(text: &str) -> QuantityError {
    QuantityError::new(format!(
        "memory quantity {text:?} is too large (at most {} bytes, just under 16Ei)",
        u64::MAX
    ))
}

/// Reads the common ways people spell memory (`512MB`, `1gb`, `1 Gi`, `2Gb`, `512m`, `1KiB`)
/// and returns the canonical binary spelling, if the result parses.
fn suggest_memory(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (number, suffix) = split_number(&compact);
    if number.is_empty() {
        return None;
    }
    let lower = suffix.to_ascii_lowercase();
    let unit = lower
        .strip_suffix("bytes")
        .or_else(|| lower.strip_suffix("byte"))
        .or_else(|| lower.strip_suffix("ib"))
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let canonical = match unit.strip_suffix('i').unwrap_or(unit) {
        "" => "",
        "k" => "Ki",
        "m" => "Mi",
        "g" => "Gi",
        "t" => "Ti",
        "p" => "Pi",
        "e" => "Ei",
        _ => return None,
    };
    let candidate = format!("{number}{canonical}");
    (candidate != text && parse_memory_exact(&candidate).is_ok()).then_some(candidate)
}

/// Parses a percentage such as `"80%"` or `"12.5%"` into a number between 0 and 100.
pub fn parse_percent(text: &str) -> Result<f64, QuantityError> {
    let value = parse_share(text)?;
    if value > 100.0 {
        return Err(QuantityError::new(format!(
            "percentage {text:?} is above 100%"
        )));
    }
    Ok(value)
}

/// Parses a percentage that may exceed 100%, such as how far limits may over-commit a cluster
/// (`"200%"`).
pub fn parse_share(text: &str) -> Result<f64, QuantityError> {
    precheck(text, "percentage").map_err(|err| {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let suggestion = (compact != text && parse_share(&compact).is_ok()).then_some(compact);
        err.with_suggestion(suggestion)
    })?;
    let Some(number) = text.strip_suffix('%') else {
        let suggestion = percent_suggestion(text);
        let hint = if suggestion.is_some() {
            ""
        } else {
            r#" (e.g. "80%")"#
        };
        return Err(
            QuantityError::new(format!("percentage {text:?} must end with %{hint}"))
                .with_suggestion(suggestion),
        );
    };
    if !is_decimal(number) {
        return Err(QuantityError::new(format!(
            "percentage {text:?} is not a number followed by % (e.g. \"80%\")"
        )));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| QuantityError::new(format!("percentage {text:?} is not a valid number")))?;
    if !value.is_finite() {
        return Err(QuantityError::new(format!(
            "percentage {text:?} is too large"
        )));
    }
    Ok(value)
}

/// Suggests a percentage for a bare number: ratios below 1 are scaled (`0.8` -> `80%`), numbers
/// from 1 to 100 get the missing sign (`80` -> `80%`).
fn percent_suggestion(number: &str) -> Option<String> {
    if !is_decimal(number) {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    if value < 1.0 {
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        // Shift the decimal point two places on the text itself, so 0.07 becomes exactly 7
        // rather than 7.000000000000001.
        let mut shifted = String::with_capacity(number.len() + 3);
        shifted.push_str(int_part);
        let mut frac = frac_part.chars();
        for _ in 0..2 {
            shifted.push(frac.next().unwrap_or('0'));
        }
        let rest = frac.as_str().trim_end_matches('0');
        let whole = shifted.trim_start_matches('0');
        let mut out = String::with_capacity(number.len() + 3);
        out.push_str(if whole.is_empty() { "0" } else { whole });
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('%');
        Some(out)
    } else if value <= 100.0 {
        Some(format!("{number}%"))
    } else {
        None
    }
}

/// Digits with at most one `.` and at least one digit; rejects the `inf`/`nan`/exponent forms
/// that `f64::from_str` would otherwise accept.
fn is_decimal(number: &str) -> bool {
    let mut dots = 0;
    let mut digits = 0;
    for b in number.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

/// Formats millicores canonically: whole cores as a plain integer (`"2"`), otherwise `"1500m"`.
pub fn format_cpu(millis: u64) -> String {
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

const BINARY_UNITS: [(u32, &str); 6] = [
    (60, "Ei"),
    (50, "Pi"),
    (40, "Ti"),
    (30, "Gi"),
    (20, "Mi"),
    (10, "Ki"),
];

/// Formats bytes with the largest binary suffix that divides them exactly (`"1536Mi"`,
/// `"1Gi"`), or as plain bytes when no suffix does.
pub fn format_memory(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_owned();
    }
    for (bits, suffix) in BINARY_UNITS {
        if bytes % (1u64 << bits) == 0 {
            return format!("{}{suffix}", bytes >> bits);
        }
    }
    bytes.to_string()
}

/// Formats bytes for reports: the largest binary unit not exceeding the value, rounded half up
/// to at most two decimals with trailing zeros dropped (`"5.75Gi"`, `"1.5Mi"`, `"2Gi"`); values
/// under 1Ki are plain bytes.
pub fn format_memory_human(bytes: u64) -> String {
    let Some(index) = BINARY_UNITS
        .iter()
        .position(|&(bits, _)| bytes >= 1u64 << bits)
    else {
        return bytes.to_string();
    };
    let (mut bits, mut suffix) = BINARY_UNITS[index];
    let mut hundredths = rounded_hundredths(bytes, bits);
    // 1023.999Ki rounds to 1024.00Ki, which reads better as the next unit up.
    if hundredths >= 1024 * 100 && index > 0 {
        (bits, suffix) = BINARY_UNITS[index - 1];
        hundredths = rounded_hundredths(bytes, bits);
    }
    let whole = hundredths / 100;
    let frac = hundredths % 100;
    if frac == 0 {
        format!("{whole}{suffix}")
    } else if frac % 10 == 0 {
        format!("{whole}.{}{suffix}", frac / 10)
    } else {
        format!("{whole}.{frac:02}{suffix}")
    }
}

fn rounded_hundredths(bytes: u64, bits: u32) -> u128 {
    let unit = 1u128 << bits;
    (u128::from(bytes) * 100 + unit / 2) / unit
}

/// Rejects what no quantity may contain; `noun` names the kind of value in messages.
fn precheck(text: &str, noun: &str) -> Result<(), QuantityError> {
    if text.is_empty() {
        return Err(QuantityError::new(format!("{noun} is empty")));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(QuantityError::new(format!(
            "{noun} {text:?} contains whitespace"
        )));
    }
    if text.starts_with('-') {
        return Err(QuantityError::new(format!("{noun} {text:?} is negative")));
    }
    Ok(())
}

/// Splits at the first byte that cannot be part of a decimal number.
fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'.'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// An exact decimal: `mantissa / 10^scale`, with no trailing fractional zeros.
#[derive(Debug, Clone, Copy)]
struct Decimal {
    mantissa: u128,
    scale: u32,
}

enum DecimalError {
    Malformed,
    TooManyDigits,
}

impl DecimalError {
    fn into_error(self, text: &str, noun: &str) -> QuantityError {
        match self {
            Self::Malformed => QuantityError::new(format!("{noun} {text:?} is not a valid number")),
            Self::TooManyDigits => {
                QuantityError::new(format!("{noun} {text:?} has too many digits"))
            }
        }
    }
}

/// Parses `[0-9]*(\.[0-9]*)?` with at least one digit; `number` holds only digits and dots.
fn parse_decimal(number: &str) -> Result<Decimal, DecimalError> {
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(DecimalError::Malformed);
    }
    let frac_part = frac_part.trim_end_matches('0');
    let mut mantissa: u128 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(b - b'0')))
            .ok_or(DecimalError::TooManyDigits)?;
    }
    let scale = u32::try_from(frac_part.len()).map_err(|_| DecimalError::TooManyDigits)?;
    Ok(Decimal { mantissa, scale })
}

#[derive(Debug, PartialEq, Eq)]
enum Scaled {
    Value(u128),
    /// Not a whole number; `ceil` is the next whole number up when it is cheap to know.
    Fraction {
        ceil: Option<u128>,
    },
    Overflow,
    /// Too many digits for exact `u128` arithmetic, and not obviously out of range.
    TooPrecise,
}

/// Computes `mantissa * 2^bits * 10^net10` exactly, where `net10` already accounts for the
/// decimal's scale.
fn scale_exact(decimal: Decimal, bits: u32, net10: i64) -> Scaled {
    let mantissa = decimal.mantissa;
    if mantissa == 0 {
        return Scaled::Value(0);
    }
    let Some(two_pow) = 1u128.checked_shl(bits) else {
        return Scaled::Overflow;
    };
    if net10 >= 0 {
        let Ok(exp) = u32::try_from(net10) else {
            return Scaled::Overflow;
        };
        return match 10u128
            .checked_pow(exp)
            .and_then(|ten_pow| mantissa.checked_mul(ten_pow))
            .and_then(|m| m.checked_mul(two_pow))
        {
            Some(value) => Scaled::Value(value),
            None => Scaled::Overflow,
        };
    }
    // Divide by 10^k = 2^k * 5^k, cancelling the powers of two shared with the binary suffix
    // first so `1.5Ei` stays within u128.
    let Ok(k) = u32::try_from(net10.unsigned_abs()) else {
        return Scaled::Fraction { ceil: None };
    };
    let cancelled = bits.min(k);
    let Some(numerator_factor) = 1u128.checked_shl(bits - cancelled) else {
        return Scaled::Overflow;
    };
    let Some(denominator) = 1u128
        .checked_shl(k - cancelled)
        .zip(5u128.checked_pow(k))
        .and_then(|(two_pow, five_pow)| two_pow.checked_mul(five_pow))
    else {
        // A denominator beyond u128 cannot divide any numerator built from a u128 mantissa
        // (its factors would have to be in the mantissa), so the value is fractional.
        return Scaled::Fraction { ceil: None };
    };
    let quotient = mantissa / denominator;
    let remainder = mantissa % denominator;
    let Some(whole) = quotient.checked_mul(numerator_factor) else {
        return Scaled::Overflow;
    };
    let Some(scaled_remainder) = remainder.checked_mul(numerator_factor) else {
        return Scaled::TooPrecise;
    };
    let Some(value) = whole.checked_add(scaled_remainder / denominator) else {
        return Scaled::Overflow;
    };
    if scaled_remainder % denominator == 0 {
        Scaled::Value(value)
    } else {
        Scaled::Fraction {
            ceil: value.checked_add(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_err(text: &str) -> QuantityError {
        match parse_cpu(text) {
            Ok(value) => panic!("{text:?} parsed as {value}"),
            Err(err) => err,
        }
    }

    fn memory_err(text: &str) -> QuantityError {
        match parse_memory(text) {
            Ok(value) => panic!("{text:?} parsed as {value}"),
            Err(err) => err,
        }
    }

    fn percent_err(text: &str) -> QuantityError {
        match parse_percent(text) {
            Ok(value) => panic!("{text:?} parsed as {value}"),
            Err(err) => err,
        }
    }

    #[test]
    fn cpu_accepts() {
        for (text, millis) in [
            ("500m", 500),
            ("0.5", 500),
            ("2", 2000),
            ("1.5", 1500),
            ("100m", 100),
            ("0", 0),
            ("0m", 0),
            ("1.0", 1000),
            ("0.001", 1),
            ("0.5000", 500),
            (".5", 500),
            ("2.", 2000),
            ("1000m", 1000),
            ("18446744073709551615m", u64::MAX),
        ] {
            assert_eq!(parse_cpu(text), Ok(millis), "{text}");
        }
    }

    #[test]
    fn cpu_rejects_with_messages() {
        let err = cpu_err("");
        assert_eq!(err.message, "CPU quantity is empty");
        assert_eq!(err.suggestion, None);

        let err = cpu_err("-1");
        assert_eq!(err.message, r#"CPU quantity "-1" is negative"#);
        assert_eq!(err.suggestion, None);

        let err = cpu_err("lots");
        assert_eq!(
            err.message,
            r#"CPU quantity "lots" is not a number; expected cores ("2", "0.5") or millicores ("500m")"#
        );
        assert_eq!(err.suggestion, None);

        let err = cpu_err("500mc");
        assert_eq!(
            err.message,
            r#"CPU quantity "500mc" has unknown suffix "mc"; expected cores ("2", "0.5") or millicores ("500m")"#
        );
        assert_eq!(err.suggestion.as_deref(), Some("500m"));

        let err = cpu_err("1.5m");
        assert_eq!(
            err.message,
            r#"CPU quantity "1.5m" is finer than the smallest unit, one millicore (1m)"#
        );
        assert_eq!(err.suggestion.as_deref(), Some("2m"));

        let err = cpu_err("0.0005");
        assert!(err.message.contains("finer than"), "{}", err.message);
        assert_eq!(err.suggestion.as_deref(), Some("1m"));

        let err = cpu_err("1.2.3");
        assert_eq!(err.message, r#"CPU quantity "1.2.3" is not a valid number"#);

        let err = cpu_err("2k");
        assert!(
            err.message.contains("decimal multiplier k"),
            "{}",
            err.message
        );

        let err = cpu_err("18446744073709551616m");
        assert!(err.message.contains("too large"), "{}", err.message);
        let err = cpu_err("99999999999999999999999999999999999999999999");
        assert_eq!(
            err.message,
            r#"CPU quantity "99999999999999999999999999999999999999999999" has too many digits"#
        );
    }

    #[test]
    fn cpu_suggestions() {
        for (text, suggestion) in [
            ("500 m", "500m"),
            ("0.5 cores", "500m"),
            ("2 cores", "2"),
            ("1 core", "1"),
            ("2vcpu", "2"),
            ("500M", "500m"),
            ("250Mi", "250m"),
            ("500 millicores", "500m"),
            (" 1", "1"),
        ] {
            assert_eq!(
                cpu_err(text).suggestion.as_deref(),
                Some(suggestion),
                "{text}"
            );
        }
        let err = cpu_err("500M");
        assert_eq!(
            err.message,
            r#"CPU quantity "500M" uses the suffix M (mega), i.e. 500 million cores; millicores are written with a lowercase m"#
        );
        assert_eq!(
            cpu_err("500 m").message,
            r#"CPU quantity "500 m" contains whitespace"#
        );
    }

    #[test]
    fn memory_accepts() {
        for (text, bytes) in [
            ("0", 0),
            ("1024", 1024),
            ("1Ki", 1024),
            ("128Mi", 128 << 20),
            ("1Gi", 1 << 30),
            ("1.5Gi", 3 << 29),
            ("2Ti", 2 << 40),
            ("1Pi", 1 << 50),
            ("1Ei", 1 << 60),
            ("15.5Ei", 31 << 59),
            ("1k", 1000),
            ("512M", 512_000_000),
            ("1.5G", 1_500_000_000),
            ("1T", 1_000_000_000_000),
            ("1P", 1_000_000_000_000_000),
            ("1E", 1_000_000_000_000_000_000),
            ("1e9", 1_000_000_000),
            ("1E9", 1_000_000_000),
            ("1.5e3", 1500),
            ("1e+3", 1000),
            ("1000e-3", 1),
            ("0.5Ki", 512),
            ("0e99999", 0),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(parse_memory(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn memory_rejects_with_messages() {
        assert_eq!(memory_err("").message, "memory quantity is empty");
        assert_eq!(
            memory_err("-1Gi").message,
            r#"memory quantity "-1Gi" is negative"#
        );
        let err = memory_err("lots");
        assert!(err
            .message
            .starts_with(r#"memory quantity "lots" is not a number; expected"#));
        assert_eq!(err.suggestion, None);

        let err = memory_err("0.3Ki");
        assert_eq!(
            err.message,
            r#"memory quantity "0.3Ki" is not a whole number of bytes"#
        );
        assert_eq!(err.suggestion.as_deref(), Some("308"));
        assert!(memory_err("0.25").message.contains("not a whole number"));
        assert!(memory_err("1e-1").message.contains("not a whole number"));
        assert!(memory_err("1e-99999")
            .message
            .contains("not a whole number"));

        let err = memory_err("512m");
        assert!(err.message.contains("(milli)"), "{}", err.message);
        assert_eq!(err.suggestion.as_deref(), Some("512Mi"));

        let err = memory_err("1K");
        assert!(err.message.contains("uppercase K"), "{}", err.message);
        assert_eq!(err.suggestion.as_deref(), Some("1Ki"));

        let err = memory_err("512MB");
        assert!(
            err.message.contains(r#"unknown suffix "MB""#),
            "{}",
            err.message
        );
        assert_eq!(err.suggestion.as_deref(), Some("512Mi"));

        assert!(memory_err("1e").message.contains(r#"unknown suffix "e""#));
        assert!(memory_err("1Gix")
            .message
            .contains(r#"unknown suffix "Gix""#));
    }

    #[test]
    fn memory_suggestions() {
        for (text, suggestion) in [
            ("512MB", "512Mi"),
            ("1GB", "1Gi"),
            ("1gb", "1Gi"),
            ("1G B", "1Gi"),
            ("512mi", "512Mi"),
            ("1gi", "1Gi"),
            ("2Gb", "2Gi"),
            ("1.5GB", "1.5Gi"),
            ("1 Gi", "1Gi"),
            ("1KiB", "1Ki"),
            ("64kb", "64Ki"),
            ("100 bytes", "100"),
            ("100B", "100"),
            ("2g", "2Gi"),
            ("1TB", "1Ti"),
        ] {
            assert_eq!(
                memory_err(text).suggestion.as_deref(),
                Some(suggestion),
                "{text}"
            );
        }
        assert_eq!(memory_err("1 XB").suggestion, None);
    }

    #[test]
    fn memory_overflow_is_an_error() {
        for text in [
            "99999999999999999999Ei",
            "16Ei",
            "18446744073709551616",
            "18446744073709552k",
            "1e20",
            "1e99999",
        ] {
            let err = memory_err(text);
            assert!(err.message.contains("too large"), "{text}: {}", err.message);
        }
        let err = memory_err("9999999999999999999999999999999999999999999");
        assert!(err.message.contains("too many digits"), "{}", err.message);
    }

    #[test]
    fn exact_scaling_with_many_fraction_digits() {
        // 2^39 bytes written as a fraction of an exbibyte: needs the power-of-two cancellation.
        assert_eq!(parse_memory("0.000000476837158203125Ei"), Ok(1 << 39));
        assert_eq!(
            parse_memory("1.00000000000000000000000000000000Ei"),
            Ok(1 << 60)
        );
        // 1Gi as 2^-30 Ei: the mantissa times 2^60 alone would not fit in u128.
        assert_eq!(
            parse_memory("0.000000000931322574615478515625Ei"),
            Ok(1 << 30)
        );
        assert!(memory_err("1.00000000000000000000000000000001Ei")
            .message
            .contains("not a whole number"));
    }

    #[test]
    fn cpu_format() {
        assert_eq!(format_cpu(0), "0");
        assert_eq!(format_cpu(500), "500m");
        assert_eq!(format_cpu(1500), "1500m");
        assert_eq!(format_cpu(2000), "2");
        assert_eq!(format_cpu(1), "1m");
        for millis in [0, 1, 999, 1000, 1001, 123_456, u64::MAX] {
            assert_eq!(parse_cpu(&format_cpu(millis)), Ok(millis));
        }
    }

    #[test]
    fn memory_format() {
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(format_memory(128 << 20), "128Mi");
        assert_eq!(format_memory(1 << 30), "1Gi");
        assert_eq!(format_memory(1536 << 20), "1536Mi");
        assert_eq!(format_memory(1 << 60), "1Ei");
        assert_eq!(format_memory(u64::MAX), u64::MAX.to_string());
        for bytes in [0, 1, 1023, 1024, 1536 << 20, 15 << 60, u64::MAX] {
            assert_eq!(parse_memory(&format_memory(bytes)), Ok(bytes));
        }
    }

    #[test]
    fn memory_format_human() {
        assert_eq!(format_memory_human(0), "0");
        assert_eq!(format_memory_human(1023), "1023");
        assert_eq!(format_memory_human(1024), "1Ki");
        assert_eq!(format_memory_human(1536), "1.5Ki");
        assert_eq!(format_memory_human((23 << 30) / 4), "5.75Gi");
        assert_eq!(format_memory_human(1 << 30), "1Gi");
        assert_eq!(format_memory_human((1 << 20) + 1), "1Mi");
        assert_eq!(format_memory_human(1_000_000_000), "953.67Mi");
        assert_eq!(format_memory_human((1 << 20) - 1), "1Mi");
        assert_eq!(format_memory_human(u64::MAX), "16Ei");
        assert_eq!(format_memory_human(1 << 61), "2Ei");
    }

    #[test]
    fn percent_accepts() {
        for (text, value) in [
            ("80%", 80.0),
            ("0%", 0.0),
            ("100%", 100.0),
            ("12.5%", 12.5),
            ("100.0%", 100.0),
        ] {
            assert_eq!(parse_percent(text), Ok(value), "{text}");
        }
    }

    #[test]
    fn percent_rejects() {
        let err = percent_err("0.8");
        assert_eq!(err.message, r#"percentage "0.8" must end with %"#);
        assert_eq!(err.suggestion.as_deref(), Some("80%"));
        assert_eq!(percent_err("0.075").suggestion.as_deref(), Some("7.5%"));
        assert_eq!(percent_err("0.07").suggestion.as_deref(), Some("7%"));
        assert_eq!(percent_err(".5").suggestion.as_deref(), Some("50%"));
        assert_eq!(percent_err("0").suggestion.as_deref(), Some("0%"));
        assert_eq!(percent_err("80").suggestion.as_deref(), Some("80%"));
        assert_eq!(percent_err("80 %").suggestion.as_deref(), Some("80%"));

        let err = percent_err("150");
        assert_eq!(
            err.message,
            r#"percentage "150" must end with % (e.g. "80%")"#
        );
        assert_eq!(err.suggestion, None);

        let err = percent_err("-5%");
        assert_eq!(err.message, r#"percentage "-5%" is negative"#);

        let err = percent_err("150%");
        assert_eq!(err.message, r#"percentage "150%" is above 100%"#);
        assert_eq!(err.suggestion, None);

        assert_eq!(percent_err("").message, "percentage is empty");
        assert!(percent_err("inf%").message.contains("is not a number"));
        assert!(percent_err("NaN%").message.contains("is not a number"));
        assert!(percent_err("%").message.contains("is not a number"));
        assert!(percent_err("1.2.3%").message.contains("is not a number"));
    }

    #[test]
    fn error_display_is_the_message() {
        let err = cpu_err("500M");
        assert_eq!(err.to_string(), err.message);
    }
}
