//! Text output where pgwire's formatting differs from Postgres's in ways clients notice.
//!
//! pgwire prints `1.0`, `inf` and `1e20` for floats and always six fraction digits for
//! timestamps; Postgres prints `1`, `Infinity`, `1e+20` and trims the fraction
//! (`2024-01-01 12:00:00.5`). pgjdbc cannot parse `inf`, and psql output should match what
//! users know, so these two families are formatted here; everything else is arrow-pg's.

use chrono::{Datelike, Offset, TimeZone, Timelike};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::arrow::temporal_conversions::as_datetime;

/// Float text as Postgres writes it with `extra_float_digits > 0`: the shortest exact
/// digits, in exponent form (`1e+20`, `1e-05`) outside 1e-4 <= |v| < 10^`digits`.
/// `shortest` is ryu's rendering of a finite, non-zero value: `95.5`, `1.0`, `0.001`,
/// `1e20`, `-1.2345e-7`; its digits are the shortest that read back as the value.
fn shortest_float_text(shortest: &str, digits: i32) -> String {
    let (negative, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest),
    };
    let (mantissa, exponent) = match unsigned.split_once('e') {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    // The significant digits and the power of ten of the first one.
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut significant: Vec<u8> = Vec::with_capacity(whole.len() + fraction.len());
    significant.extend_from_slice(whole.as_bytes());
    significant.extend_from_slice(fraction.as_bytes());
    let leading = significant.iter().take_while(|d| **d == b'0').count();
    significant.drain(..leading);
    while significant.last() == Some(&b'0') {
        significant.pop();
    }
    if significant.is_empty() {
        significant.push(b'0');
    }
    let exponent = exponent + whole.len() as i32 - 1 - leading as i32;
    let significant = std::str::from_utf8(&significant).unwrap_or("0");
    let mut text = String::with_capacity(24);
    if negative {
        text.push('-');
    }
    if (-4..digits).contains(&exponent) {
        let point = exponent + 1;
        if point <= 0 {
            text.push_str("0.");
            text.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            text.push_str(significant);
        } else {
            let point = point as usize;
            if significant.len() <= point {
                text.push_str(significant);
                text.extend(std::iter::repeat_n('0', point - significant.len()));
            } else {
                text.push_str(&significant[..point]);
                text.push('.');
                text.push_str(&significant[point..]);
            }
        }
    } else {
        text.push_str(&significant[..1]);
        if significant.len() > 1 {
            text.push('.');
            text.push_str(&significant[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let magnitude = exponent.unsigned_abs();
        text.push('e');
        text.push(sign);
        if magnitude < 10 {
            text.push('0');
        }
        text.push_str(itoa::Buffer::new().format(magnitude));
    }
    text
}

/// `float8` text; `NaN`, `Infinity`, `-Infinity` as Postgres spells them.
pub(crate) fn float8_text(value: f64) -> String {
    match value {
        v if v.is_nan() => "NaN".to_owned(),
        f64::INFINITY => "Infinity".to_owned(),
        f64::NEG_INFINITY => "-Infinity".to_owned(),
        v if v == 0.0 => if v.is_sign_negative() { "-0" } else { "0" }.to_owned(),
        v => decimal_text(v)
            .unwrap_or_else(|| shortest_float_text(ryu::Buffer::new().format_finite(v), 15)),
    }
}

/// The text of a value that is the nearest double to a decimal of at most 15 significant
/// digits and at most 6 fraction digits, with 1e-4 <= |v| < 1e15 (measurements such as
/// `95.53` or `1200`): those digits are its shortest form, since no other decimal of 15
/// digits or fewer rounds to the same double, and Postgres prints them without exponent.
/// `None` for other values. The check is exact: IEEE division rounds `i / 10^k` correctly,
/// so it equals `v` exactly when the decimal `i·10^-k` reads back as `v`.
fn decimal_text(value: f64) -> Option<String> {
    const POWERS: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];
    if !(1e-4..1e15).contains(&value.abs()) {
        return None;
    }
    let (scale, integer) = POWERS.iter().enumerate().find_map(|(scale, power)| {
        let integer = (value * power).round();
        (integer.abs() < 1e15 && integer / power == value).then_some((scale, integer))
    })?;
    let mut digits_buffer = itoa::Buffer::new();
    let digits = digits_buffer.format(integer.abs() as u64);
    let mut text = String::with_capacity(digits.len() + 3 + scale);
    if value < 0.0 {
        text.push('-');
    }
    if scale == 0 {
        text.push_str(digits);
    } else if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        text.push_str(whole);
        text.push('.');
        text.push_str(fraction);
    } else {
        text.push_str("0.");
        text.extend(std::iter::repeat_n('0', scale - digits.len()));
        text.push_str(digits);
    }
    Some(text)
}

/// `float4` text, with float4's own shortest digits and exponent threshold (FLT_DIG = 6).
pub(crate) fn float4_text(value: f32) -> String {
    match value {
        v if v.is_nan() => "NaN".to_owned(),
        f32::INFINITY => "Infinity".to_owned(),
        f32::NEG_INFINITY => "-Infinity".to_owned(),
        v if v == 0.0 => if v.is_sign_negative() { "-0" } else { "0" }.to_owned(),
        v => shortest_float_text(ryu::Buffer::new().format_finite(v), 6),
    }
}

/// ISO `timestamp`/`timestamptz` text from microseconds since 1970; `None` for years outside
/// 1..=9999 (BC and five-digit years), which are left to the generic encoder.
pub(crate) fn timestamp_text(microseconds: i64, time_zone: Option<&Tz>) -> Option<String> {
    let utc = as_datetime::<TimestampMicrosecondType>(microseconds)?;
    let offset_seconds = time_zone.map_or(0, |zone| {
        zone.offset_from_utc_datetime(&utc).fix().local_minus_utc()
    });
    let local = utc.checked_add_signed(chrono::Duration::seconds(i64::from(offset_seconds)))?;
    let year = u32::try_from(local.year())
        .ok()
        .filter(|y| (1..=9999).contains(y))?;
    let mut text = String::with_capacity(32);
    push_digits(&mut text, year, 4);
    text.push('-');
    push_digits(&mut text, local.month(), 2);
    text.push('-');
    push_digits(&mut text, local.day(), 2);
    text.push(' ');
    push_digits(&mut text, local.hour(), 2);
    text.push(':');
    push_digits(&mut text, local.minute(), 2);
    text.push(':');
    push_digits(&mut text, local.second(), 2);
    let mut fraction = local.nanosecond() / 1_000;
    if fraction != 0 {
        let mut width = 6;
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        text.push('.');
        push_digits(&mut text, fraction, width);
    }
    if time_zone.is_some() {
        text.push(if offset_seconds < 0 { '-' } else { '+' });
        let offset = offset_seconds.unsigned_abs();
        push_digits(&mut text, offset / 3600, 2);
        if !offset.is_multiple_of(3600) {
            text.push(':');
            push_digits(&mut text, offset % 3600 / 60, 2);
        }
        if !offset.is_multiple_of(60) {
            text.push(':');
            push_digits(&mut text, offset % 60, 2);
        }
    }
    Some(text)
}

/// Appends `value` zero-padded to `width` digits (wider values in full).
fn push_digits(text: &mut String, value: u32, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value);
    text.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
    text.push_str(digits);
}

/// Whether a column of `data_type` gets its text from this module.
pub(crate) fn formats_here(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Float32 | DataType::Float64 | DataType::Timestamp(TimeUnit::Microsecond, _)
    )
}

#[cfg(test)]
mod tests;
