//! Parsing and normalizing parameter values, each as Postgres accepts and displays them.

use crate::pg::error::{Error, Result};
use crate::pg::limits::STATEMENT_TIMEOUT_MS_MAX;
use crate::pg::settings::is_valid_time_zone;

pub(super) fn any_text(value: &str, _current: &str) -> Result<String> {
    Ok(value.to_owned())
}

pub(super) fn application_name(value: &str, _current: &str) -> Result<String> {
    // Postgres keeps at most NAMEDATALEN - 1 = 63 bytes.
    let mut end = value.len().min(63);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Ok(value[..end].to_owned())
}

pub(super) fn statement_timeout(value: &str, _current: &str) -> Result<String> {
    let milliseconds = parse_milliseconds(value).ok_or_else(|| Error::InvalidSettingValue {
        name: "statement_timeout".to_owned(),
        value: value.to_owned(),
        reason: String::new(),
    })?;
    if milliseconds > STATEMENT_TIMEOUT_MS_MAX {
        return Err(Error::InvalidSettingValue {
            name: "statement_timeout".to_owned(),
            value: value.to_owned(),
            reason: format!(" (at most {STATEMENT_TIMEOUT_MS_MAX} ms)"),
        });
    }
    Ok(format_milliseconds(milliseconds))
}

fn invalid(name: &str, value: &str) -> Error {
    Error::InvalidSettingValue {
        name: name.to_owned(),
        value: value.to_owned(),
        reason: String::new(),
    }
}

/// `on`/`true`/`yes`/`1` -> `on`. Only `on` is supported: we never treat backslashes in
/// `'...'` literals as escapes, so claiming `off` would mislead the client's quoting.
pub(super) fn normalize_on(value: &str, _current: &str) -> Result<String> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok("on".to_owned()),
        "off" | "false" | "no" | "0" => Err(Error::NotSupported {
            what: "standard_conforming_strings = off".to_owned(),
        }),
        _ => Err(invalid("standard_conforming_strings", value)),
    }
}

/// Only UTF-8 is spoken; the aliases Postgres accepts for it are normalized to `UTF8`.
/// Postgres compares encoding names without case and without any non-alphanumeric
/// character (`clean_encoding_name`), so `'utf-8'` (quotes included, as asyncpg sends it)
/// is UTF8.
pub(super) fn normalize_client_encoding(value: &str, _current: &str) -> Result<String> {
    let cleaned: String = value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match cleaned.as_str() {
        "utf8" | "unicode" => Ok("UTF8".to_owned()),
        _ => Err(Error::NotSupported {
            what: format!("client_encoding \"{value}\""),
        }),
    }
}

pub(super) fn normalize_bytea_output(value: &str, _current: &str) -> Result<String> {
    match value.to_ascii_lowercase().as_str() {
        lower @ ("hex" | "escape") => Ok(lower.to_owned()),
        _ => Err(invalid("bytea_output", value)),
    }
}

pub(super) fn normalize_interval_style(value: &str, _current: &str) -> Result<String> {
    match value.to_ascii_lowercase().as_str() {
        lower @ ("postgres" | "postgres_verbose" | "sql_standard" | "iso_8601") => {
            Ok(lower.to_owned())
        }
        _ => Err(invalid("IntervalStyle", value)),
    }
}

/// Postgres accepts -15..=3.
pub(super) fn normalize_extra_float_digits(value: &str, _current: &str) -> Result<String> {
    match value.trim().parse::<i8>() {
        Ok(digits) if (-15..=3).contains(&digits) => Ok(digits.to_string()),
        _ => Err(invalid("extra_float_digits", value)),
    }
}

/// `DateStyle` is a style and an order; either part may be set alone, keeping the other
/// (`SET DateStyle = 'German'` keeps `MDY`), and each has aliases (`EURO` = `DMY`).
pub(super) fn normalize_date_style(value: &str, current: &str) -> Result<String> {
    let (mut style, mut order) = current.split_once(", ").unwrap_or(("ISO", "MDY"));
    let mut seen_style = false;
    let mut seen_order = false;
    for token in value.split([',', ' ']).filter(|token| !token.is_empty()) {
        let (is_style, canonical) = match token.to_ascii_uppercase().as_str() {
            "ISO" => (true, "ISO"),
            "SQL" => (true, "SQL"),
            "POSTGRES" => (true, "Postgres"),
            "GERMAN" => (true, "German"),
            "MDY" | "US" | "NONEURO" | "NONEUROPEAN" => (false, "MDY"),
            "DMY" | "EURO" | "EUROPEAN" => (false, "DMY"),
            "YMD" => (false, "YMD"),
            _ => return Err(invalid("DateStyle", value)),
        };
        let seen = if is_style {
            &mut seen_style
        } else {
            &mut seen_order
        };
        if *seen {
            // "ISO, SQL" names two styles: Postgres calls that conflicting.
            return Err(invalid("DateStyle", value));
        }
        *seen = true;
        if is_style {
            style = canonical;
        } else {
            order = canonical;
        }
    }
    Ok(format!("{style}, {order}"))
}

/// Time zone names as IANA spells them, fixed offsets (`+05:30`), or a bare number of hours
/// east of UTC (`SET TIME ZONE -7`); `LOCAL`/`DEFAULT` mean the server default, UTC.
pub(super) fn normalize_time_zone(value: &str, _current: &str) -> Result<String> {
    let trimmed = value.trim();
    if ["local", "default", "utc", "gmt", "z", "etc/utc", "zulu"]
        .iter()
        .any(|name| name.eq_ignore_ascii_case(trimmed))
    {
        return Ok("UTC".to_owned());
    }
    if let Ok(hours) = trimmed.parse::<i8>() {
        if (-15..=15).contains(&hours) {
            let sign = if hours < 0 { '-' } else { '+' };
            return Ok(format!("{sign}{:02}:00", hours.unsigned_abs()));
        }
        return Err(invalid("TimeZone", value));
    }
    if is_valid_time_zone(trimmed) {
        Ok(trimmed.to_owned())
    } else {
        Err(invalid("TimeZone", value))
    }
}

/// Milliseconds from `500`, `500ms`, `5s`, `5 s`, `2min`, `1h`, `1d` (Postgres time units).
pub(crate) fn parse_milliseconds(value: &str) -> Option<u64> {
    let trimmed = value.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let multiplier = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// Inverse of `parse_milliseconds`, choosing the largest exact unit as `SHOW` does.
pub(super) fn format_milliseconds(milliseconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "min"),
        (1_000, "s"),
    ];
    if milliseconds == 0 {
        return "0".to_owned();
    }
    for (size, unit) in UNITS {
        if milliseconds.is_multiple_of(size) {
            return format!("{}{unit}", milliseconds / size);
        }
    }
    format!("{milliseconds}ms")
}
