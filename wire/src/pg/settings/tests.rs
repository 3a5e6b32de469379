use std::time::Duration;

use super::value::{format_milliseconds, parse_milliseconds};
use super::*;
use crate::pg::limits::STATEMENT_TIMEOUT_MS_MAX;

fn settings() -> Settings {
    Settings::new("15.0", "alice")
}

#[test]
fn defaults_match_what_drivers_expect() {
    let settings = settings();
    assert_eq!(settings.get("server_version").unwrap(), "15.0");
    assert_eq!(settings.get("server_version_num").unwrap(), "150000");
    assert_eq!(settings.get("datestyle").unwrap(), "ISO, MDY");
    assert_eq!(settings.get("TIMEZONE").unwrap(), "UTC");
    assert_eq!(settings.get("time zone").unwrap(), "UTC");
    assert_eq!(settings.get("integer_datetimes").unwrap(), "on");
    assert_eq!(settings.get("session_authorization").unwrap(), "alice");
    assert_eq!(settings.current_schema(), "public");
    assert_eq!(settings.statement_timeout(), None);
}

#[test]
fn unknown_and_read_only_names_are_errors() {
    let mut settings = settings();
    assert!(matches!(
        settings.get("nope"),
        Err(Error::UnknownSetting { .. })
    ));
    assert!(matches!(
        settings.set("nope", "1"),
        Err(Error::UnknownSetting { .. })
    ));
    assert!(matches!(
        settings.set("server_version", "16"),
        Err(Error::ReadOnlySetting { .. })
    ));
}

#[test]
fn reported_parameters_return_a_status_change_only_when_changed() {
    let mut settings = settings();
    let change = settings.set("timezone", "America/New_York").unwrap();
    assert_eq!(
        change,
        Some(("TimeZone".to_owned(), "America/New_York".to_owned()))
    );
    assert_eq!(settings.set("TimeZone", "America/New_York").unwrap(), None);
    assert_eq!(settings.set("extra_float_digits", "3").unwrap(), None);
    assert_eq!(settings.get("extra_float_digits").unwrap(), "3");
}

#[test]
fn reset_restores_connect_time_defaults() {
    let mut settings = settings();
    settings.set("application_name", "psql").unwrap();
    settings.commit_as_defaults();
    settings.set("application_name", "other").unwrap();
    settings.set("statement_timeout", "5s").unwrap();
    assert_eq!(
        settings.reset("application_name").unwrap(),
        Some(("application_name".to_owned(), "psql".to_owned()))
    );
    let reports = settings.reset_all();
    assert!(reports.is_empty(), "{reports:?}");
    assert_eq!(settings.get("statement_timeout").unwrap(), "0");
}

#[test]
fn time_zones_accept_names_offsets_and_hours() {
    let mut settings = settings();
    let cases = [
        ("utc", "UTC"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("+05:30", "+05:30"),
        ("-7", "-07:00"),
        ("DEFAULT", "UTC"),
    ];
    for (input, expected) in cases {
        settings.set("TimeZone", input).unwrap();
        assert_eq!(settings.time_zone(), expected, "{input}");
    }
    for bad in ["Mars/Olympus", "99", ""] {
        assert!(settings.set("TimeZone", bad).is_err(), "{bad}");
    }
}

#[test]
fn date_style_keeps_the_part_not_set() {
    let mut settings = settings();
    settings.set("DateStyle", "German").unwrap();
    assert_eq!(settings.get("DateStyle").unwrap(), "German, MDY");
    settings.set("DateStyle", "euro").unwrap();
    assert_eq!(settings.get("DateStyle").unwrap(), "German, DMY");
    settings.set("DateStyle", "ISO, YMD").unwrap();
    assert_eq!(settings.get("DateStyle").unwrap(), "ISO, YMD");
    assert!(settings.set("DateStyle", "ISO, SQL").is_err());
    assert!(settings.set("DateStyle", "banana").is_err());
}

#[test]
fn statement_timeout_parses_units_and_bounds() {
    let mut settings = settings();
    settings.set("statement_timeout", "1500").unwrap();
    assert_eq!(settings.get("statement_timeout").unwrap(), "1500ms");
    assert_eq!(
        settings.statement_timeout(),
        Some(Duration::from_millis(1500))
    );
    settings.set("statement_timeout", "2min").unwrap();
    assert_eq!(settings.get("statement_timeout").unwrap(), "2min");
    settings.set("statement_timeout", "0").unwrap();
    assert_eq!(settings.statement_timeout(), None);
    let limit = STATEMENT_TIMEOUT_MS_MAX.to_string();
    settings.set("statement_timeout", &limit).unwrap();
    let over = (STATEMENT_TIMEOUT_MS_MAX + 1).to_string();
    assert!(settings.set("statement_timeout", &over).is_err());
    assert!(settings.set("statement_timeout", "-1").is_err());
    assert!(settings.set("statement_timeout", "5 parsecs").is_err());
}

#[test]
fn milliseconds_round_trip() {
    for milliseconds in [
        0,
        1,
        999,
        1_000,
        61_000,
        60_000,
        3_600_000,
        86_400_000,
        u64::from(u32::MAX),
    ] {
        let shown = format_milliseconds(milliseconds);
        assert_eq!(parse_milliseconds(&shown), Some(milliseconds), "{shown}");
    }
    assert_eq!(parse_milliseconds("18446744073709551615d"), None);
}

#[test]
fn encodings_other_than_utf8_are_not_supported() {
    let mut settings = settings();
    settings.set("client_encoding", "utf-8").unwrap();
    assert_eq!(settings.get("client_encoding").unwrap(), "UTF8");
    // asyncpg sends the quotes in its startup packet; Postgres ignores punctuation.
    settings.set("client_encoding", "'utf-8'").unwrap();
    assert_eq!(settings.get("client_encoding").unwrap(), "UTF8");
    assert!(matches!(
        settings.set("client_encoding", "LATIN1"),
        Err(Error::NotSupported { .. })
    ));
}

#[test]
fn application_name_is_truncated_to_63_bytes_on_a_char_boundary() {
    let mut settings = settings();
    let long = "é".repeat(40);
    settings.set("application_name", &long).unwrap();
    let stored = settings.get("application_name").unwrap();
    assert!(stored.len() <= 63);
    assert!(long.starts_with(stored));
}

#[test]
fn search_path_gives_current_schema() {
    let mut settings = settings();
    settings
        .set("search_path", "\"$user\", metrics, public")
        .unwrap();
    assert_eq!(settings.current_schema(), "metrics");
}

#[test]
fn show_all_lists_every_parameter_once() {
    let rows = settings().show_all();
    assert_eq!(rows.len(), SPECS.len());
    assert!(
        rows.iter()
            .any(|[name, value, _]| name == "TimeZone" && value == "UTC")
    );
}
