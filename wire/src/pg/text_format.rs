//! Text output where pgwire's formatting differs from Postgres's in ways clients notice.
//!
//! pgwire prints `1.0`, `inf` and `1e20` for floats and always six fraction digits for
//! timestamps; Postgres prints `1`, `Infinity`, `1e+20` and trims the fraction
//! (`2024-01-01 12:00:00.5`). pgjdbc cannot parse `inf`, and psql output should match what
//! users know, so these two families are formatted here; everything else is arrow-pg's.

use std::fmt::Write;

use chrono::{Datelike, Offset, TimeZone, Timelike};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::arrow::temporal_conversions::as_datetime;

/// Float text as Postgres writes it with `extra_float_digits > 0`: the shortest exact
/// digits, in exponent form (`1e+20`, `1e-05`) outside 1e-4 <= |v| < 10^`digits`.
fn shortest_float_text(scientific: &str, digits: i32) -> String {
    // `scientific` is Rust's shortest `{:e}` form: `-1.25e-7`, `1e20`.
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let significant: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut text = String::with_capacity(24);
    if negative {
        text.push('-');
    }
    if (-4..digits).contains(&exponent) {
        let point = exponent + 1;
        if point <= 0 {
            text.push_str("0.");
            text.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            text.push_str(&significant);
        } else {
            let point = point as usize;
            if significant.len() <= point {
                text.push_str(&significant);
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
        let _ = write!(text, "e{sign}{:02}", exponent.unsigned_abs());
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
        v => shortest_float_text(&format!("{v:e}"), 15),
    }
}

/// `float4` text, with float4's own shortest digits and exponent threshold (FLT_DIG = 6).
pub(crate) fn float4_text(value: f32) -> String {
    match value {
        v if v.is_nan() => "NaN".to_owned(),
        f32::INFINITY => "Infinity".to_owned(),
        f32::NEG_INFINITY => "-Infinity".to_owned(),
        v if v == 0.0 => if v.is_sign_negative() { "-0" } else { "0" }.to_owned(),
        v => shortest_float_text(&format!("{v:e}"), 6),
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
    if !(1..=9999).contains(&local.year()) {
        return None;
    }
    let mut text = local.format("%Y-%m-%d %H:%M:%S").to_string();
    let fraction = local.nanosecond() / 1_000;
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    if time_zone.is_some() {
        let sign = if offset_seconds < 0 { '-' } else { '+' };
        let offset = offset_seconds.unsigned_abs();
        let _ = write!(text, "{sign}{:02}", offset / 3600);
        if !offset.is_multiple_of(3600) {
            let _ = write!(text, ":{:02}", offset % 3600 / 60);
        }
        if !offset.is_multiple_of(60) {
            let _ = write!(text, ":{:02}", offset % 60);
        }
    }
    Some(text)
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
