//! Field values and timestamps.
//!
//! Numbers follow InfluxDB's Go parser: a float is `-?` then digits with at most one `.`
//! (`1`, `1.`, `.5`, `-0`) and an optional exponent (`1e5`, `1E+5`, `-1.5e-3`); a leading
//! `+`, `_` separators, hex, `NaN` and `inf` are refused. `…i` is an i64 and `…u` a u64,
//! both plain decimal digits (leading zeros allowed). A float that rounds to infinity is out
//! of range; one that underflows becomes zero or subnormal, as in Go's `ParseFloat`.

use std::borrow::Cow;

use super::FieldValue;
use super::escape::unescape;
use super::line_error::{LineErrorKind, quote_key};
use super::splitter::string_end;

/// Why a run of digits is not a number of the wanted type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberError {
    /// Not the expected syntax.
    Malformed,
    /// Well-formed but outside the type's range.
    OutOfRange,
}

/// Parses the value of field `key` starting at `start`; returns it and the offset after it.
pub(crate) fn parse_field_value<'a>(
    line: &'a str,
    start: usize,
    key: &str,
) -> Result<(FieldValue<'a>, usize), LineErrorKind> {
    let bytes = line.as_bytes();
    match bytes.get(start) {
        None | Some(b',' | b' ') => Err(LineErrorKind::MissingFieldValue {
            key: quote_key(key),
        }),
        Some(b'"') => parse_string(line, start + 1, key),
        Some(_) => {
            let length = bytes
                .get(start..)
                .and_then(|rest| rest.iter().position(|&byte| byte == b',' || byte == b' '))
                .unwrap_or(bytes.len() - start);
            let token = line
                .get(start..start + length)
                .expect("an unquoted value ends at an ASCII byte or the line end");
            Ok((parse_unquoted(token, key)?, start + length))
        }
    }
}

/// Parses a quoted string whose content starts at `start` (just after the `"`).
fn parse_string<'a>(
    line: &'a str,
    start: usize,
    key: &str,
) -> Result<(FieldValue<'a>, usize), LineErrorKind> {
    let Some(string) = string_end(line.as_bytes(), start) else {
        return Err(LineErrorKind::UnterminatedString {
            key: quote_key(key),
        });
    };
    let after = string.close + 1;
    if !matches!(line.as_bytes().get(after), None | Some(b',' | b' ')) {
        return Err(LineErrorKind::CharactersAfterString {
            key: quote_key(key),
        });
    }
    let raw = line
        .get(start..string.close)
        .expect("a string sits between two ASCII quotes");
    let value = if string.escaped {
        Cow::Owned(unescape(raw, |byte| byte == b'"' || byte == b'\\'))
    } else {
        Cow::Borrowed(raw)
    };
    Ok((FieldValue::String(value), after))
}

/// Parses a number or a boolean.
fn parse_unquoted<'a>(token: &str, key: &str) -> Result<FieldValue<'a>, LineErrorKind> {
    match token.as_bytes() {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" => Ok(FieldValue::Boolean(true)),
        b"f" | b"F" | b"false" | b"False" | b"FALSE" => Ok(FieldValue::Boolean(false)),
        _ if is_non_finite(token) => Err(LineErrorKind::NonFiniteFloat {
            key: quote_key(key),
        }),
        [b'0'..=b'9' | b'-' | b'.' | b'+', ..] => parse_number(token, key),
        _ => Err(LineErrorKind::InvalidFieldValue {
            key: quote_key(key),
        }),
    }
}

/// `nan`, `inf` or `infinity` in any case, with an optional sign.
fn is_non_finite(token: &str) -> bool {
    let unsigned = token.strip_prefix(['-', '+']).unwrap_or(token);
    ["nan", "inf", "infinity"]
        .iter()
        .any(|name| unsigned.eq_ignore_ascii_case(name))
}

fn parse_number<'a>(token: &str, key: &str) -> Result<FieldValue<'a>, LineErrorKind> {
    let error = |make: fn(String) -> LineErrorKind| make(quote_key(key));
    let malformed = |key| LineErrorKind::MalformedNumber { key };
    match token.as_bytes().split_last() {
        Some((b'i', digits)) => parse_i64(digits)
            .map(FieldValue::Integer)
            .map_err(|problem| match problem {
                NumberError::Malformed => error(malformed),
                NumberError::OutOfRange => error(|key| LineErrorKind::IntegerOutOfRange { key }),
            }),
        Some((b'u', digits)) => match digits.split_first() {
            Some((b'-', magnitude)) => Err(match parse_u64(magnitude) {
                Err(NumberError::Malformed) => error(malformed),
                _ => error(|key| LineErrorKind::NegativeUnsigned { key }),
            }),
            _ => parse_u64(digits)
                .map(FieldValue::Unsigned)
                .map_err(|problem| match problem {
                    NumberError::Malformed => error(malformed),
                    NumberError::OutOfRange => {
                        error(|key| LineErrorKind::UnsignedOutOfRange { key })
                    }
                }),
        },
        _ => parse_f64(token)
            .map(FieldValue::Float)
            .map_err(|problem| match problem {
                NumberError::Malformed => error(malformed),
                NumberError::OutOfRange => error(|key| LineErrorKind::FloatOutOfRange { key }),
            }),
    }
}

/// Parses `-?[0-9]+` into an i64 (`-9223372036854775808` included).
pub(crate) fn parse_i64(digits: &[u8]) -> Result<i64, NumberError> {
    match digits.split_first() {
        Some((b'-', magnitude)) => 0i64
            .checked_sub_unsigned(parse_u64(magnitude)?)
            .ok_or(NumberError::OutOfRange),
        _ => i64::try_from(parse_u64(digits)?).map_err(|_| NumberError::OutOfRange),
    }
}

/// Parses `[0-9]+` into a u64; a non-digit anywhere makes it malformed, even after overflow.
pub(crate) fn parse_u64(digits: &[u8]) -> Result<u64, NumberError> {
    if digits.is_empty() {
        return Err(NumberError::Malformed);
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return Err(NumberError::Malformed);
        }
        match value
            .checked_mul(10)
            .and_then(|tens| tens.checked_add(u64::from(digit)))
        {
            Some(next) => value = next,
            None => overflow = true,
        }
    }
    if overflow {
        Err(NumberError::OutOfRange)
    } else {
        Ok(value)
    }
}

/// Powers of ten that are exact in an f64 (10^22 is the largest).
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Most significant digits the fast path takes: 10^15 < 2^53, so the mantissa is exact.
const FAST_PATH_DIGITS_MAX: usize = 15;

/// Parses a float. Fast path (Clinger's): at most 15 digits, one optional `.` and no
/// exponent make an exact integer mantissa divided by an exact power of ten, which IEEE
/// division rounds correctly. Anything else goes through [`parse_f64_slow`].
fn parse_f64(token: &str) -> Result<f64, NumberError> {
    let bytes = token.as_bytes();
    let (negative, unsigned) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    let mut fraction_digits = 0;
    let mut seen_point = false;
    for &byte in unsigned {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(byte - b'0'));
                digits += 1;
                fraction_digits += usize::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => return parse_f64_slow(token),
        }
    }
    match EXACT_POWERS_OF_TEN.get(fraction_digits) {
        Some(power) if digits > 0 && digits <= FAST_PATH_DIGITS_MAX => {
            // Exact: `mantissa` < 10^15 < 2^53.
            let magnitude = mantissa as f64 / power;
            Ok(if negative { -magnitude } else { magnitude })
        }
        _ => parse_f64_slow(token),
    }
}

/// Parses a float after checking the grammar in the module docs (std's parser alone would
/// also take `+1`, `inf` and `nan`).
fn parse_f64_slow(token: &str) -> Result<f64, NumberError> {
    if !is_float_syntax(token.as_bytes()) {
        return Err(NumberError::Malformed);
    }
    let value: f64 = token.parse().map_err(|_| NumberError::Malformed)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(NumberError::OutOfRange)
    }
}

fn is_float_syntax(token: &[u8]) -> bool {
    let rest = token.strip_prefix(b"-").unwrap_or(token);
    let (integer_digits, rest) = split_digits(rest);
    let (fraction_digits, rest) = match rest.strip_prefix(b".") {
        Some(fraction) => split_digits(fraction),
        None => (0, rest),
    };
    if integer_digits + fraction_digits == 0 {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b'e' | b'E', exponent)) => {
            let exponent = exponent
                .strip_prefix(b"-")
                .or_else(|| exponent.strip_prefix(b"+"))
                .unwrap_or(exponent);
            let (exponent_digits, rest) = split_digits(exponent);
            exponent_digits > 0 && rest.is_empty()
        }
        Some(_) => false,
    }
}

/// Counts the leading ASCII digits; returns the count and what follows them.
fn split_digits(text: &[u8]) -> (usize, &[u8]) {
    let count = text
        .iter()
        .position(|byte| !byte.is_ascii_digit())
        .unwrap_or(text.len());
    (count, text.get(count..).unwrap_or_default())
}

/// Parses the optional timestamp section starting at `start` (after the field set).
pub(crate) fn parse_timestamp(line: &str, start: usize) -> Result<Option<i64>, LineErrorKind> {
    let rest = line.as_bytes().get(start..).unwrap_or_default();
    let rest = rest
        .get(
            rest.iter()
                .position(|&byte| byte != b' ')
                .unwrap_or(rest.len())..,
        )
        .unwrap_or_default();
    if rest.is_empty() {
        return Ok(None);
    }
    let length = rest
        .iter()
        .position(|&byte| byte == b' ' || byte == b'\t')
        .unwrap_or(rest.len());
    let (token, after) = rest.split_at(length);
    let timestamp = parse_i64(token).map_err(|problem| match problem {
        NumberError::Malformed => LineErrorKind::InvalidTimestamp,
        NumberError::OutOfRange => LineErrorKind::TimestampOutOfRange,
    })?;
    // The splitter trimmed trailing whitespace, so anything left is more than whitespace.
    if after.is_empty() {
        Ok(Some(timestamp))
    } else {
        Err(LineErrorKind::CharactersAfterTimestamp)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The fast path agrees with std on the decimals it takes (and on longer ones).
        #[test]
        fn fast_float_path_matches_std(
            negative in any::<bool>(),
            integer in "[0-9]{0,10}",
            fraction in prop::option::of("[0-9]{0,12}"),
        ) {
            let sign = if negative { "-" } else { "" };
            let token = match &fraction {
                Some(fraction) => format!("{sign}{integer}.{fraction}"),
                None => format!("{sign}{integer}"),
            };
            let expected = if integer.is_empty() && fraction.as_deref().unwrap_or("").is_empty() {
                Err(NumberError::Malformed)
            } else {
                Ok(token.parse::<f64>().unwrap().to_bits())
            };
            prop_assert_eq!(parse_f64(&token).map(f64::to_bits), expected);
        }
    }
}
