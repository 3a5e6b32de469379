use std::str::FromStr;

use proptest::prelude::*;

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

/// The text Postgres would print, from Rust's shortest `{:e}` digits: the reference the
/// ryu-based formatting must equal.
fn reference_float_text(value: f64, digits: i32) -> String {
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap();
    let exponent: i32 = exponent.parse().unwrap();
    let negative = mantissa.starts_with('-');
    let significant: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut text = String::new();
    if negative {
        text.push('-');
    }
    if (-4..digits).contains(&exponent) {
        let point = exponent + 1;
        if point <= 0 {
            text.push_str("0.");
            text.push_str(&"0".repeat(point.unsigned_abs() as usize));
            text.push_str(&significant);
        } else if significant.len() <= point as usize {
            text.push_str(&significant);
            text.push_str(&"0".repeat(point as usize - significant.len()));
        } else {
            text.push_str(&significant[..point as usize]);
            text.push('.');
            text.push_str(&significant[point as usize..]);
        }
    } else {
        text.push_str(&significant[..1]);
        if significant.len() > 1 {
            text.push('.');
            text.push_str(&significant[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        text.push_str(&format!("e{sign}{:02}", exponent.unsigned_abs()));
    }
    text
}

/// The significant digits of a float's text (leading and trailing zeros dropped).
fn significant_digits(text: &str) -> String {
    let mantissa = text.split('e').next().unwrap();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_owned()
}

/// `text` is what Postgres prints for `value`: it reads back as `value`, with as few
/// digits as the reference's shortest form, in the same layout. (Where two shortest forms
/// are equally near, Postgres's ryu keeps the even digit and Rust's formatter may not, so
/// the digits themselves are not compared.)
fn check_float_text(text: &str, reads_back: bool, reference: &str) -> Result<(), TestCaseError> {
    prop_assert!(reads_back, "{} does not read back", text);
    prop_assert_eq!(
        significant_digits(text).len(),
        significant_digits(reference).len()
    );
    prop_assert_eq!(
        text.contains('e'),
        reference.contains('e'),
        "{} vs {}",
        text,
        reference
    );
    prop_assert_eq!(text.starts_with('-'), reference.starts_with('-'));
    Ok(())
}

proptest! {
    #[test]
    fn float8_text_is_shortest_and_laid_out_like_postgres(bits in any::<u64>()) {
        let value = f64::from_bits(bits);
        prop_assume!(value.is_finite() && value != 0.0);
        let text = float8_text(value);
        check_float_text(&text, text.parse::<f64>() == Ok(value), &reference_float_text(value, 15))?;
    }

    #[test]
    fn float8_text_of_decimals_equals_the_reference(units in -10_000_000_000_000i64..10_000_000_000_000, scale in 0u32..12) {
        let value = units as f64 / 10f64.powi(scale as i32);
        prop_assume!(value != 0.0);
        let text = float8_text(value);
        let reference = reference_float_text(value, 15);
        if decimal_text(value).is_some() {
            prop_assert_eq!(text, reference);
        } else {
            check_float_text(&text, text.parse::<f64>() == Ok(value), &reference)?;
        }
    }

    #[test]
    fn decimal_fast_path_agrees_with_ryu(bits in any::<u64>()) {
        let value = f64::from_bits(bits);
        if let Some(text) = decimal_text(value) {
            prop_assert_eq!(text, shortest_float_text(ryu::Buffer::new().format_finite(value), 15));
        }
    }

    #[test]
    fn float4_text_is_shortest_and_laid_out_like_postgres(bits in any::<u32>()) {
        let value = f32::from_bits(bits);
        prop_assume!(value.is_finite() && value != 0.0);
        let text = float4_text(value);
        // The f32's shortest digits, laid out by the f64 reference.
        let reference = reference_float_text(format!("{value:e}").parse::<f64>().unwrap(), 6);
        check_float_text(&text, text.parse::<f32>() == Ok(value), &reference)?;
    }

    #[test]
    fn timestamps_equal_chrono_formatting(micros in -62_135_596_800_000_000i64..253_402_300_799_000_000) {
        let utc = as_datetime::<TimestampMicrosecondType>(micros).unwrap();
        let mut expected = utc.format("%Y-%m-%d %H:%M:%S").to_string();
        let fraction = utc.nanosecond() / 1_000;
        if fraction != 0 {
            expected.push('.');
            expected.push_str(format!("{fraction:06}").trim_end_matches('0'));
        }
        prop_assert_eq!(timestamp_text(micros, None).unwrap(), expected);
    }
}

#[test]
fn decimal_fast_path_takes_measurements_and_leaves_the_rest() {
    let cases = [
        (95.53, Some("95.53")),
        (-0.5, Some("-0.5")),
        (1200.0, Some("1200")),
        (0.000123, Some("0.000123")),
        (0.1 + 0.2, None),
        (1e-5, None),
        (1e15, None),
        (123_456_789.123_456_7, None),
    ];
    for (value, expected) in cases {
        assert_eq!(decimal_text(value).as_deref(), expected, "{value}");
        assert_eq!(
            float8_text(value),
            reference_float_text(value, 15),
            "{value}"
        );
    }
}

#[test]
fn ties_keep_the_even_digit_as_postgres_ryu_does() {
    // The float4 -2107966.25 is exactly between the shortest candidates ...62 and ...63.
    let tie = f32::from_bits(3_389_040_889);
    assert_eq!(f64::from(tie), -2_107_966.25);
    assert_eq!(float4_text(tie), "-2.1079662e+06");
}
