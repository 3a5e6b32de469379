//! Property tests: serialize random valid lines with a correct escaping serializer and parse
//! them back; arbitrary bytes never panic; bad lines among good ones are reported exactly.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// A line to serialize, with owned names and values.
#[derive(Debug, Clone)]
struct Point {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, Value)>,
    timestamp: Option<i64>,
    /// Render floats with `{}` instead of `{:?}` (no exponent).
    plain_floats: bool,
    /// Index into the boolean spellings.
    spelling: usize,
}

#[derive(Debug, Clone)]
enum Value {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    String(String),
}

/// Names mixing plain letters, every character that needs an escape somewhere, quotes,
/// backslashes, tabs, `#` and multi-byte characters.
fn name() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a", "b", "Z", "0", "_", ",", "=", " ", "\\", "\\\\", "\"", "\t", "#", "é", "🌡", "東",
    ]);
    prop::collection::vec(piece, 1..6).prop_map(|pieces| pieces.concat())
}

/// A measurement cannot start with `#` (a comment) or a tab (trimmed as whitespace).
fn measurement() -> impl Strategy<Value = String> {
    name().prop_filter("comment or leading tab", |name| {
        !name.starts_with('#') && !name.starts_with('\t')
    })
}

fn key() -> impl Strategy<Value = String> {
    name().prop_filter("reserved key", |name| name != "time")
}

fn string_value() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "x", " ", ",", "=", "\"", "\\", "\\\"", "\n", "\r\n", "\t", "é", "🌡", "#",
    ]);
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |value| value.is_finite())
            .prop_map(Value::Float),
        any::<i64>().prop_map(Value::Integer),
        any::<u64>().prop_map(Value::Unsigned),
        any::<bool>().prop_map(Value::Boolean),
        string_value().prop_map(Value::String),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    (
        measurement(),
        prop::collection::btree_map(key(), name(), 0..5),
        prop::collection::btree_map(key(), value(), 1..6),
        any::<Option<i64>>(),
        any::<bool>(),
        0..5usize,
    )
        .prop_map(
            |(measurement, tags, fields, timestamp, plain_floats, spelling)| {
                let tags: BTreeMap<_, _> = tags;
                Point {
                    measurement,
                    tags: tags.into_iter().collect(),
                    fields: fields.into_iter().collect(),
                    timestamp,
                    plain_floats,
                    spelling,
                }
            },
        )
}

fn escape(text: &str, specials: &[char]) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if character == '\\' || specials.contains(&character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

fn serialize(point: &Point) -> String {
    let key = |text: &str| escape(text, &[',', '=', ' ']);
    let mut line = escape(&point.measurement, &[',', ' ']);
    for (tag_key, tag_value) in &point.tags {
        line.push_str(&format!(",{}={}", key(tag_key), key(tag_value)));
    }
    for (index, (field_key, value)) in point.fields.iter().enumerate() {
        line.push(if index == 0 { ' ' } else { ',' });
        let rendered = match value {
            Value::Float(value) if point.plain_floats => format!("{value}"),
            Value::Float(value) => format!("{value:?}"),
            Value::Integer(value) => format!("{value}i"),
            Value::Unsigned(value) => format!("{value}u"),
            Value::Boolean(true) => ["t", "T", "true", "True", "TRUE"][point.spelling].to_owned(),
            Value::Boolean(false) => {
                ["f", "F", "false", "False", "FALSE"][point.spelling].to_owned()
            }
            Value::String(value) => format!("\"{}\"", escape(value, &['"'])),
        };
        line.push_str(&format!("{}={rendered}", key(field_key)));
    }
    if let Some(timestamp) = point.timestamp {
        line.push_str(&format!(" {timestamp}"));
    }
    line
}

fn assert_matches(parsed: &Line<'_>, point: &Point) {
    assert_eq!(parsed.measurement, point.measurement);
    let tags: Vec<(&str, &str)> = parsed.tags.iter().map(|(k, v)| (&**k, &**v)).collect();
    let expected: Vec<(&str, &str)> = point.tags.iter().map(|(k, v)| (&**k, &**v)).collect();
    assert_eq!(tags, expected);
    assert_eq!(parsed.fields.len(), point.fields.len());
    for ((key, value), (expected_key, expected)) in parsed.fields.iter().zip(&point.fields) {
        assert_eq!(key, expected_key);
        match (value, expected) {
            (FieldValue::Float(value), Value::Float(expected)) => {
                assert_eq!(value.to_bits(), expected.to_bits());
            }
            (FieldValue::Integer(value), Value::Integer(expected)) => assert_eq!(value, expected),
            (FieldValue::Unsigned(value), Value::Unsigned(expected)) => {
                assert_eq!(value, expected);
            }
            (FieldValue::Boolean(value), Value::Boolean(expected)) => assert_eq!(value, expected),
            (FieldValue::String(value), Value::String(expected)) => assert_eq!(value, expected),
            (value, expected) => panic!("{value:?} parsed for {expected:?}"),
        }
    }
    assert_eq!(parsed.timestamp, point.timestamp);
}

/// Lines that are refused on their own line whatever surrounds them.
const BAD_LINES: &[&[u8]] = &[
    b"cpu",
    b",t=1 f=1",
    b"cpu,t f=1",
    b"cpu,t=a=b f=1",
    b"cpu f=1,f=2",
    b"cpu f=NaN",
    b"cpu f=1 x",
    b"cpu f=99999999999999999999i",
    b"cpu time=1",
    b"cpu f=\"a\"b",
    b"cpu f=\xff",
    b"\xc3\x28 f=1",
    b"cpu f=1\\",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serialized_lines_parse_back(
        points in prop::collection::vec(point(), 1..8),
        crlf in any::<bool>(),
        padding in prop::sample::select(vec!["", " ", "\t", " \t "]),
    ) {
        let ending = if crlf { "\r\n" } else { "\n" };
        let mut body = String::new();
        let mut expected_numbers = Vec::new();
        let mut number = 1;
        for point in &points {
            let line = serialize(point);
            expected_numbers.push(number);
            number += 1 + line.matches('\n').count();
            body.push_str(&format!("{padding}{line}{padding}{ending}"));
        }
        let lines = parse_all(body.as_bytes());
        prop_assert_eq!(lines.len(), points.len());
        for ((parsed, point), expected_number) in lines.iter().zip(&points).zip(expected_numbers) {
            let parsed = parsed.as_ref().map_err(|error| TestCaseError::fail(error.to_string()))?;
            assert_matches(parsed, point);
            prop_assert_eq!(parsed.line_number, expected_number);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_numbers(&bytes);
    }

    #[test]
    fn line_protocol_like_bytes_never_panic(
        pieces in prop::collection::vec(
            prop::sample::select(vec![
                "m", "f", "=", ",", " ", "\"", "\\", "\n", "\r", "\t", "#", "1", "-", ".", "e",
                "i", "u", "t", "time", "é", "\u{ff}",
            ]),
            0..64,
        )
    ) {
        check_numbers(pieces.concat().as_bytes());
    }

    #[test]
    fn bad_lines_among_good_ones_are_reported_exactly(
        lines in prop::collection::vec(
            prop_oneof![point().prop_map(Ok), (0..BAD_LINES.len()).prop_map(Err)],
            1..12,
        )
    ) {
        let mut body = Vec::new();
        let mut expected_bad = Vec::new();
        let mut expected_good = Vec::new();
        let mut number = 1;
        for line in &lines {
            match line {
                Ok(point) => {
                    let text = serialize(point);
                    expected_good.push(number);
                    number += 1 + text.matches('\n').count();
                    body.extend_from_slice(text.as_bytes());
                }
                Err(index) => {
                    expected_bad.push(number);
                    number += 1;
                    body.extend_from_slice(BAD_LINES[*index]);
                }
            }
            body.push(b'\n');
        }
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        parse_lines(&body, |line| match line {
            Ok(line) => good.push(line.line_number),
            Err(error) => bad.push(error.line_number),
        });
        prop_assert_eq!(bad, expected_bad);
        prop_assert_eq!(good, expected_good);
    }
}

/// Parses `body` and checks the line numbers rise and stay within the body.
fn check_numbers(body: &[u8]) {
    let physical_lines = 1 + body.iter().filter(|&&byte| byte == b'\n').count();
    let mut last = 0;
    parse_lines(body, |line| {
        let number = match line {
            Ok(line) => line.line_number,
            Err(error) => error.line_number,
        };
        assert!(number > last && number <= physical_lines);
        last = number;
    });
}
