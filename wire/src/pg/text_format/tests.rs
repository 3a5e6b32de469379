use std::str::FromStr;

use super::*;

#[test]
fn float8_text_matches_postgres() {
    let cases = [
        (1.0, "1"),
        (1.5, "1.5"),
        (-2.25, "-2.25"),
        (100.0, "100"),
        (0.1, "0.1"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e15, "1e+15"),
        (123_456_789_012_345.0, "123456789012345"),
        (1.5e300, "1.5e+300"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (0.0, "0"),
        (-0.0, "-0"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ];
    for (value, expected) in cases {
        assert_eq!(float8_text(value), expected, "{value:e}");
    }
}

#[test]
fn float4_text_uses_float4_digits() {
    let cases = [
        (1.5f32, "1.5"),
        (123_456.0, "123456"),
        (1e6, "1e+06"),
        (0.1, "0.1"),
        (f32::INFINITY, "Infinity"),
    ];
    for (value, expected) in cases {
        assert_eq!(float4_text(value), expected, "{value:e}");
    }
}

#[test]
fn timestamps_trim_the_fraction_and_show_offsets() {
    let new_york = Tz::from_str("America/New_York").unwrap();
    let india = Tz::from_str("Asia/Kolkata").unwrap();
    let noon = 1_704_110_400_000_000; // 2024-01-01 12:00:00 UTC
    assert_eq!(timestamp_text(noon, None).unwrap(), "2024-01-01 12:00:00");
    assert_eq!(
        timestamp_text(noon + 500_000, None).unwrap(),
        "2024-01-01 12:00:00.5"
    );
    assert_eq!(
        timestamp_text(noon + 1, None).unwrap(),
        "2024-01-01 12:00:00.000001"
    );
    assert_eq!(
        timestamp_text(noon, Some(&new_york)).unwrap(),
        "2024-01-01 07:00:00-05"
    );
    assert_eq!(
        timestamp_text(noon, Some(&india)).unwrap(),
        "2024-01-01 17:30:00+05:30"
    );
    assert_eq!(
        timestamp_text(-1, None).unwrap(),
        "1969-12-31 23:59:59.999999"
    );
    assert_eq!(timestamp_text(i64::MIN, None), None);
}
