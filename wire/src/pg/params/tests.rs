use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNano, TimeUnit};
use datafusion::common::ScalarValue;
use pgwire::api::Type;

use super::*;

fn text_value(
    pg_type: &Type,
    value: &str,
    target: Option<&DataType>,
) -> Result<ScalarValue, String> {
    decode_parameter(pg_type, false, Some(value.as_bytes()), target)
}

fn binary_value(pg_type: &Type, bytes: &[u8]) -> Result<ScalarValue, String> {
    decode_parameter(pg_type, true, Some(bytes), None)
}

#[test]
fn text_values_decode_by_declared_type() {
    let cases = [
        (Type::BOOL, "yes", ScalarValue::Boolean(Some(true))),
        (Type::BOOL, "f", ScalarValue::Boolean(Some(false))),
        (Type::INT2, "-32768", ScalarValue::Int16(Some(i16::MIN))),
        (Type::INT4, " 42 ", ScalarValue::Int32(Some(42))),
        (
            Type::INT8,
            "9223372036854775807",
            ScalarValue::Int64(Some(i64::MAX)),
        ),
        (
            Type::FLOAT8,
            "-Infinity",
            ScalarValue::Float64(Some(f64::NEG_INFINITY)),
        ),
        (
            Type::NUMERIC,
            "12.340",
            ScalarValue::Decimal128(Some(12_340), 38, 3),
        ),
        (
            Type::TEXT,
            "héllo",
            ScalarValue::Utf8(Some("héllo".to_owned())),
        ),
        (
            Type::BYTEA,
            "\\x00ff",
            ScalarValue::Binary(Some(vec![0, 255])),
        ),
        (Type::DATE, "1969-12-31", ScalarValue::Date32(Some(-1))),
        (
            Type::TIMESTAMP,
            "1999-12-31 23:59:59.5",
            ScalarValue::TimestampMicrosecond(Some(946_684_799_500_000), None),
        ),
    ];
    for (pg_type, input, expected) in cases {
        assert_eq!(
            text_value(&pg_type, input, None).unwrap(),
            expected,
            "{pg_type} {input}"
        );
    }
}

#[test]
fn bad_text_values_are_errors_not_panics() {
    let cases = [
        (Type::INT4, "4x"),
        (Type::INT2, "40000"),
        (Type::BOOL, "maybe"),
        (Type::NUMERIC, "1.2.3"),
        (Type::BYTEA, "\\x0"),
        (Type::DATE, "yesterday-ish"),
    ];
    for (pg_type, input) in cases {
        assert!(
            text_value(&pg_type, input, None).is_err(),
            "{pg_type} {input}"
        );
    }
}

#[test]
fn binary_values_use_the_postgres_epoch() {
    let date = binary_value(&Type::DATE, &0i32.to_be_bytes()).unwrap();
    assert_eq!(date, ScalarValue::Date32(Some(10_957)));
    let before_1970 = binary_value(
        &Type::TIMESTAMP,
        &(-POSTGRES_EPOCH_MICROSECONDS - 1).to_be_bytes(),
    );
    assert_eq!(
        before_1970.unwrap(),
        ScalarValue::TimestampMicrosecond(Some(-1), None)
    );
    let overflow = binary_value(&Type::TIMESTAMP, &i64::MAX.to_be_bytes());
    assert!(overflow.is_err());
    let mut interval_bytes = Vec::new();
    interval_bytes.extend_from_slice(&1_500_000i64.to_be_bytes());
    interval_bytes.extend_from_slice(&2i32.to_be_bytes());
    interval_bytes.extend_from_slice(&3i32.to_be_bytes());
    let interval = binary_value(&Type::INTERVAL, &interval_bytes).unwrap();
    let expected = IntervalMonthDayNano::new(3, 2, 1_500_000_000);
    assert_eq!(interval, ScalarValue::IntervalMonthDayNano(Some(expected)));
}

#[test]
fn binary_values_check_their_length() {
    assert!(binary_value(&Type::INT4, &[0, 0, 1]).is_err());
    assert!(binary_value(&Type::INT8, &[]).is_err());
    assert!(binary_value(&Type::DATE, &[0; 5]).is_err());
    assert_eq!(
        binary_value(&Type::INT4, &7i32.to_be_bytes()).unwrap(),
        ScalarValue::Int32(Some(7))
    );
}

#[test]
fn uuid_binary_is_rendered_as_text() {
    let bytes: [u8; 16] = core::array::from_fn(|index| u8::try_from(index).unwrap());
    let value = binary_value(&Type::UUID, &bytes).unwrap();
    let expected = "00010203-0405-0607-0809-0a0b0c0d0e0f".to_owned();
    assert_eq!(value, ScalarValue::Utf8(Some(expected)));
}

#[test]
fn values_are_cast_to_the_inferred_type() {
    let value = text_value(&Type::INT8, "7", Some(&DataType::Int32)).unwrap();
    assert_eq!(value, ScalarValue::Int32(Some(7)));
    let value = text_value(&Type::TEXT, "2024-01-02", Some(&DataType::Date32)).unwrap();
    assert_eq!(value, ScalarValue::Date32(Some(19_724)));
    let too_big = text_value(&Type::INT8, "3000000000", Some(&DataType::Int32));
    assert!(
        too_big.is_err() || too_big == Ok(ScalarValue::Int32(None)),
        "{too_big:?}"
    );
}

#[test]
fn nulls_take_the_inferred_type() {
    let target = DataType::Timestamp(TimeUnit::Microsecond, None);
    let null = decode_parameter(&Type::TIMESTAMP, true, None, Some(&target)).unwrap();
    assert_eq!(null, ScalarValue::TimestampMicrosecond(None, None));
    let untyped = decode_parameter(&Type::TEXT, false, None, None).unwrap();
    assert_eq!(untyped, ScalarValue::Utf8(None));
}

/// PostgreSQL's `array_send` for a one-dimensional array (`None` elements are NULL).
fn array_bytes(element_oid: u32, elements: &[Option<&[u8]>]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&1i32.to_be_bytes());
    bytes.extend_from_slice(&i32::from(elements.iter().any(Option::is_none)).to_be_bytes());
    bytes.extend_from_slice(&element_oid.to_be_bytes());
    bytes.extend_from_slice(&i32::try_from(elements.len()).unwrap().to_be_bytes());
    bytes.extend_from_slice(&1i32.to_be_bytes());
    for element in elements {
        match element {
            Some(value) => {
                bytes.extend_from_slice(&i32::try_from(value.len()).unwrap().to_be_bytes());
                bytes.extend_from_slice(value);
            }
            None => bytes.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    bytes
}

fn int_list(values: &[Option<i64>]) -> ScalarValue {
    let values: Vec<ScalarValue> = values.iter().map(|v| ScalarValue::Int64(*v)).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int64))
}

#[test]
fn binary_arrays_decode_element_by_element() {
    let seven = 7i64.to_be_bytes();
    let minus = (-1i64).to_be_bytes();
    let bytes = array_bytes(20, &[Some(&seven), None, Some(&minus)]);
    assert_eq!(
        binary_value(&Type::INT8_ARRAY, &bytes).unwrap(),
        int_list(&[Some(7), None, Some(-1)])
    );
    // oid[] as asyncpg sends it for `$1::oid[]`: unsigned 32-bit elements.
    let oid = 3_000_000_000u32.to_be_bytes();
    let oids = binary_value(&Type::OID_ARRAY, &array_bytes(26, &[Some(&oid)])).unwrap();
    let expected = ScalarValue::List(ScalarValue::new_list_nullable(
        &[ScalarValue::UInt32(Some(3_000_000_000))],
        &DataType::UInt32,
    ));
    assert_eq!(oids, expected);
    // Zero dimensions: the empty array.
    let mut empty = vec![0; 12];
    empty[11] = 20;
    assert_eq!(
        binary_value(&Type::INT8_ARRAY, &empty).unwrap(),
        int_list(&[])
    );
}

#[test]
fn malformed_binary_arrays_are_errors() {
    let seven = 7i64.to_be_bytes();
    let whole = array_bytes(20, &[Some(&seven)]);
    assert!(binary_value(&Type::INT8_ARRAY, &whole[..whole.len() - 1]).is_err());
    let mut trailing = whole.clone();
    trailing.push(0);
    assert!(binary_value(&Type::INT8_ARRAY, &trailing).is_err());
    let mut two_dimensions = whole;
    two_dimensions[3] = 2;
    let error = binary_value(&Type::INT8_ARRAY, &two_dimensions).unwrap_err();
    assert!(error.contains("2-dimensional"), "{error}");
    // An element of the wrong width for int8.
    let short = array_bytes(20, &[Some(&[0, 1])]);
    assert!(binary_value(&Type::INT8_ARRAY, &short).is_err());
}

#[test]
fn text_arrays_follow_array_in() {
    assert_eq!(
        text_value(&Type::INT8_ARRAY, "{1, NULL ,-3}", None).unwrap(),
        int_list(&[Some(1), None, Some(-3)])
    );
    assert_eq!(
        text_value(&Type::INT8_ARRAY, "{}", None).unwrap(),
        int_list(&[])
    );
    let texts = text_value(
        &Type::TEXT_ARRAY,
        r#"{a,"b, c","NULL",d\,e, "q\"x" }"#,
        None,
    )
    .unwrap();
    let expected: Vec<ScalarValue> = ["a", "b, c", "NULL", "d,e", "q\"x"]
        .iter()
        .map(|text| ScalarValue::Utf8(Some((*text).to_owned())))
        .collect();
    assert_eq!(
        texts,
        ScalarValue::List(ScalarValue::new_list_nullable(&expected, &DataType::Utf8))
    );
    for bad in ["1,2", "{1,2", "{{1},{2}}", r#"{"open}"#, "{1,x}"] {
        assert!(text_value(&Type::INT8_ARRAY, bad, None).is_err(), "{bad}");
    }
}

#[test]
fn declared_array_types_are_lists() {
    assert_eq!(
        declared_data_type(&Type::INT4_ARRAY),
        Some(DataType::new_list(DataType::Int32, true))
    );
    assert_eq!(declared_data_type(&Type::OID), Some(DataType::UInt32));
    assert_eq!(declared_data_type(&Type::NUMERIC_ARRAY), None);
}
