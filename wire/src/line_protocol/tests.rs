//! Table-driven tests of the whole parser, through [`parse_lines`].

use std::fmt::Write;

use super::*;

mod property;

/// Every line of `body`, owned-enough to compare.
fn parse_all(body: &[u8]) -> Vec<Result<Line<'_>, LineError>> {
    let mut lines = Vec::new();
    parse_lines(body, |line| lines.push(line.cloned()));
    lines
}

/// One-line rendering: `measurement|tag=value,…|field=value,…|timestamp`, with floats as
/// `{:?}`, integers with `i`, unsigned with `u`, strings as `{:?}` and `-` for no timestamp.
fn render(line: &Line<'_>) -> String {
    let mut out = format!("{}|", line.measurement);
    let tags: Vec<String> = line.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push_str(&tags.join(","));
    out.push('|');
    let fields: Vec<String> = line
        .fields
        .iter()
        .map(|(key, value)| match value {
            FieldValue::Float(v) => format!("{key}={v:?}"),
            FieldValue::Integer(v) => format!("{key}={v}i"),
            FieldValue::Unsigned(v) => format!("{key}={v}u"),
            FieldValue::Boolean(v) => format!("{key}={v}"),
            FieldValue::String(v) => format!("{key}={v:?}"),
        })
        .collect();
    out.push_str(&fields.join(","));
    match line.timestamp {
        Some(timestamp) => write!(out, "|{timestamp}").unwrap(),
        None => out.push_str("|-"),
    }
    out
}

fn parse_one(input: &str) -> Result<String, String> {
    let lines = parse_all(input.as_bytes());
    assert_eq!(lines.len(), 1, "{input:?} gave {lines:?}");
    match &lines[0] {
        Ok(line) => Ok(render(line)),
        Err(error) => Err(error.to_string()),
    }
}

#[test]
fn valid_lines() {
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        ("cpu f=1", "cpu||f=1.0|-"),
        ("cpu,host=a,region=eu f=1 1700000000000000000", "cpu|host=a,region=eu|f=1.0|1700000000000000000"),
        ("cpu f=1.5,g=-2i,h=3u,i=t,j=\"s\"", "cpu||f=1.5,g=-2i,h=3u,i=true,j=\"s\"|-"),
        // Floats.
        ("m f=1.0,g=-1.5e-3,h=1E5,i=1e+5,j=.5,k=5.,l=-.5,n=0.000", "m||f=1.0,g=-0.0015,h=100000.0,i=100000.0,j=0.5,k=5.0,l=-0.5,n=0.0|-"),
        ("m f=1e-400,g=1.7976931348623157e308", "m||f=0.0,g=1.7976931348623157e308|-"),
        // Integers and unsigned at their bounds; leading zeros are fine.
        ("m a=-9223372036854775808i,b=9223372036854775807i,c=007i,d=-0i", "m||a=-9223372036854775808i,b=9223372036854775807i,c=7i,d=0i|-"),
        ("m a=18446744073709551615u,b=0u", "m||a=18446744073709551615u,b=0u|-"),
        // Every boolean spelling.
        ("m a=t,b=T,c=true,d=True,e=TRUE", "m||a=true,b=true,c=true,d=true,e=true|-"),
        ("m a=f,b=F,c=false,d=False,e=FALSE", "m||a=false,b=false,c=false,d=false,e=false|-"),
        // Strings: empty, delimiters inside, escapes, literal backslashes.
        ("m s=\"\"", "m||s=\"\"|-"),
        ("m s=\"a=1,b=2 c\" 5", "m||s=\"a=1,b=2 c\"|5"),
        (r#"m s="say \"hi\"""#, r#"m||s="say \"hi\""|-"#),
        (r#"m s="back\\slash",t="lit\n",u="a\b",v="ends\\""#, r#"m||s="back\\slash",t="lit\\n",u="a\\b",v="ends\\"|-"#),
        ("m s=\"two\nlines\" 5", "m||s=\"two\\nlines\"|5"),
        // Measurement escapes: `,` and space; `=` is ordinary there.
        (r"my\ cpu\,x f=1", "my cpu,x||f=1.0|-"),
        (r"a\=b f=1", r"a\=b||f=1.0|-"),
        ("a=b f=1", "a=b||f=1.0|-"),
        // Tag and field escapes: `,`, `=`, space; `\\` is one backslash; others literal.
        (r"m,ho\ st\=\,=a\ b\,c\=d f\ 1\=\,=1", "m|ho st=,=a b,c=d|f 1=,=1.0|-"),
        (r"m,path=C:\dir\file f=1", r"m|path=C:\dir\file|f=1.0|-"),
        (r"m\\,t=a\\ f\\=1", r"m\|t=a\|f\=1.0|-"),
        (r"m,t=a\\\ b f=1", r"m|t=a\ b|f=1.0|-"),
        // Quotes are ordinary in names.
        ("m,\"t\"=\"v\" \"f\"=1", "m|\"t\"=\"v\"|\"f\"=1.0|-"),
        // Whitespace around and between sections.
        ("  \tcpu f=1 \t", "cpu||f=1.0|-"),
        ("cpu,t=a   f=1   5  ", "cpu|t=a|f=1.0|5"),
        // Timestamps: negative (before 1970) and the i64 bounds.
        ("m f=1 -1", "m||f=1.0|-1"),
        ("m f=1 -9223372036854775808", "m||f=1.0|-9223372036854775808"),
        ("m f=1 9223372036854775807", "m||f=1.0|9223372036854775807"),
        ("m f=1 0", "m||f=1.0|0"),
        // Multi-byte UTF-8 everywhere.
        ("温度,地点=東京 値=1.5,文字=\"こんにちは 🌡\" 5", "温度|地点=東京|値=1.5,文字=\"こんにちは 🌡\"|5"),
        ("🚀\\ x,é\\,=ü f🌡=1i", "🚀 x|é,=ü|f🌡=1i|-"),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parse_one(input).as_deref(),
            Ok(*expected),
            "input {input:?}"
        );
    }
}

#[test]
fn refused_lines() {
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        ("cpu", "missing field set"),
        ("cpu,host=a", "missing field set"),
        (",host=a f=1", "missing measurement"),
        ("cpu,=a f=1", "empty tag key"),
        ("cpu, f=1", "empty tag key"),
        ("cpu,host f=1", "missing value for tag host"),
        ("cpu,host= f=1", "missing value for tag host"),
        ("cpu,host=a=b f=1", "unescaped '=' in the value of tag host"),
        ("cpu,host=a,host=b f=1", "duplicate tag key host"),
        ("cpu,time=a f=1", "tag key time is reserved for the timestamp"),
        ("cpu f", "missing value for field f"),
        ("cpu f=", "missing value for field f"),
        ("cpu f=,g=1", "missing value for field f"),
        ("cpu f= 5", "missing value for field f"),
        ("cpu =1", "empty field key"),
        ("cpu f=1,", "empty field key"),
        ("cpu f=1,f=2", "duplicate field key f"),
        ("cpu time=1", "field key time is reserved for the timestamp"),
        ("cpu f=abc", "invalid field f: expected a number, a boolean or a quoted string"),
        ("cpu f=tru", "invalid field f: expected a number, a boolean or a quoted string"),
        ("cpu f=1.2.3", "invalid field f: bad number"),
        ("cpu f=1x", "invalid field f: bad number"),
        ("cpu f=1i5", "invalid field f: bad number"),
        ("cpu f=+1", "invalid field f: bad number"),
        ("cpu f=-", "invalid field f: bad number"),
        ("cpu f=.", "invalid field f: bad number"),
        ("cpu f=1e", "invalid field f: bad number"),
        ("cpu f=1.5i", "invalid field f: bad number"),
        ("cpu f=1e5i", "invalid field f: bad number"),
        ("cpu f=0x10", "invalid field f: bad number"),
        ("cpu f=1_000", "invalid field f: bad number"),
        ("cpu f=1\t5", "invalid field f: bad number"),
        ("cpu f=-1.5u", "invalid field f: bad number"),
        ("cpu f=9223372036854775808i", "invalid integer field f: out of range"),
        ("cpu f=-9223372036854775809i", "invalid integer field f: out of range"),
        ("cpu f=18446744073709551616u", "invalid unsigned field f: out of range"),
        ("cpu f=-1u", "invalid unsigned field f: negative"),
        ("cpu f=1e400", "invalid float field f: out of range"),
        ("cpu f=-1e400", "invalid float field f: out of range"),
        ("cpu f=NaN", "invalid float field f: NaN and infinity are not valid float values"),
        ("cpu f=nan", "invalid float field f: NaN and infinity are not valid float values"),
        ("cpu f=inf", "invalid float field f: NaN and infinity are not valid float values"),
        ("cpu f=-Inf", "invalid float field f: NaN and infinity are not valid float values"),
        ("cpu f=+infinity", "invalid float field f: NaN and infinity are not valid float values"),
        ("cpu f=\"abc", "unterminated string field value for field f"),
        (r#"cpu f="abc\""#, "unterminated string field value for field f"),
        ("cpu f=\"a\"b", "unexpected characters after the string value of field f"),
        ("cpu f=1 abc", "invalid timestamp"),
        ("cpu f=1 1.5", "invalid timestamp"),
        ("cpu f=1 +5", "invalid timestamp"),
        ("cpu f=1 -", "invalid timestamp"),
        ("cpu f=1 5x", "invalid timestamp"),
        ("cpu f=1 9223372036854775808", "invalid timestamp: out of range"),
        ("cpu f=1 -9223372036854775809", "invalid timestamp: out of range"),
        ("cpu f=1 5 6", "unexpected characters after the timestamp"),
        ("cpu f=1 5\tx", "unexpected characters after the timestamp"),
    ];
    for (input, reason) in cases {
        let expected = format!("line 1: {reason}: {}", input.trim());
        assert_eq!(parse_one(input), Err(expected), "input {input:?}");
    }
}

#[test]
fn invalid_utf8_refuses_the_whole_line() {
    let lines = parse_all(b"cpu f=1\ncpu s=\"\xff\"\ncpu,t=\xc3 f=1\ncpu f=2");
    assert!(lines[0].is_ok());
    assert!(lines[3].is_ok());
    for (index, expected_line) in [(1, "cpu s=\"\u{fffd}\""), (2, "cpu,t=\u{fffd} f=1")] {
        let error = lines[index].as_ref().unwrap_err();
        assert_eq!(error.reason, LineErrorKind::InvalidUtf8);
        assert_eq!(error.line_number, index + 1);
        assert_eq!(error.line, expected_line);
    }
}

#[test]
fn negative_zero_keeps_its_sign() {
    let lines = parse_all(b"m f=-0,g=-0.0");
    let line = lines[0].as_ref().unwrap();
    for (_, value) in &line.fields {
        let FieldValue::Float(value) = value else {
            panic!("float expected")
        };
        assert_eq!(value.to_bits(), (-0.0f64).to_bits());
    }
}

/// The line numbers and renderings of a body, errors as `N: message`.
fn summarize(body: &str) -> Vec<String> {
    parse_all(body.as_bytes())
        .iter()
        .map(|line| match line {
            Ok(line) => format!("{}: {}", line.line_number, render(line)),
            Err(error) => error.to_string(),
        })
        .collect()
}

#[test]
fn bodies_with_line_structure() {
    #[rustfmt::skip]
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("\n\n\r\n  \n\t\n", &[]),
        ("cpu f=1\r\ncpu f=2\r\n", &["1: cpu||f=1.0|-", "2: cpu||f=2.0|-"]),
        ("# comment\n\n   \n\t\n  # indented \"quote\n#\ncpu f=1\n\r\n", &["7: cpu||f=1.0|-"]),
        ("cpu f=1\nbad\ncpu f=2", &["1: cpu||f=1.0|-", "line 2: missing field set: bad", "3: cpu||f=2.0|-"]),
        // A string may span lines; numbering counts the physical lines.
        ("m s=\"a\nb\" 1\nm f=2", &["1: m||s=\"a\\nb\"|1", "3: m||f=2.0|-"]),
        ("m s=\"a\r\nb\",t=1\r\nm f=2\r\n", &["1: m||s=\"a\\r\\nb\",t=1.0|-", "3: m||f=2.0|-"]),
        // An unterminated string costs only its own line.
        ("m s=\"abc\nm f=1\nm f=2", &["line 1: unterminated string field value for field s: m s=\"abc", "2: m||f=1.0|-", "3: m||f=2.0|-"]),
        // A quote closed on a later line but followed by junk: the same.
        ("m s=\"abc\nm s=\"x\"\nm f=1", &["line 1: unterminated string field value for field s: m s=\"abc", "2: m||s=\"x\"|-", "3: m||f=1.0|-"]),
        // A backslash never hides a line end outside strings.
        ("m\\\nm f=1", &["line 1: missing field set: m\\", "2: m||f=1.0|-"]),
        ("m f=1\\\nm f=2", &["line 1: invalid field f: bad number: m f=1\\", "2: m||f=2.0|-"]),
        // Quotes in the series or timestamp never open a string.
        ("m,t=\"x f=1\nm f=2", &["1: m|t=\"x|f=1.0|-", "2: m||f=2.0|-"]),
        ("m f=1 \"5\nm f=2", &["line 1: invalid timestamp: m f=1 \"5", "2: m||f=2.0|-"]),
        ("m f=\"a\" \"\nm f=2", &["line 1: invalid timestamp: m f=\"a\" \"", "2: m||f=2.0|-"]),
    ];
    for (body, expected) in cases {
        assert_eq!(summarize(body), *expected, "body {body:?}");
    }
}

#[test]
fn long_lines_are_parsed_and_quoted_cut() {
    let value = "v".repeat(100_000);
    let body = format!("m,t={value} f=1");
    let lines = parse_all(body.as_bytes());
    assert_eq!(lines[0].as_ref().unwrap().tags[0].1, value);

    // "mx " is 3 bytes and "é" 2, so the 256-byte cut falls inside a char: 255 bytes are kept.
    let body = format!("mx {}", "é".repeat(300));
    let error = parse_all(body.as_bytes()).remove(0).unwrap_err();
    assert_eq!(error.line.len(), 255 + "…".len());
    assert!(error.line.ends_with("é…"));
    let LineErrorKind::MissingFieldValue { key } = &error.reason else {
        panic!("unexpected {error:?}")
    };
    assert_eq!(key, &format!("{}…", "é".repeat(32)));
    assert_eq!(quote_line(b"short"), "short");
    assert_eq!(quote_line(&[b'a'; 256]), "a".repeat(256));
    assert_eq!(quote_line(&[b'a'; 257]), format!("{}…", "a".repeat(256)));
}

#[test]
fn many_keys_use_the_sorted_duplicate_check() {
    let fields: Vec<String> = (0..1000)
        .map(|index| format!("f{index}={index}i"))
        .collect();
    let tags: Vec<String> = (0..1000).map(|index| format!("t{index}=v")).collect();
    let body = format!("m,{} {}", tags.join(","), fields.join(","));
    let line = parse_all(body.as_bytes()).remove(0).unwrap();
    assert_eq!((line.tags.len(), line.fields.len()), (1000, 1000));

    let body = format!("m {},f500=1", fields.join(","));
    let error = parse_all(body.as_bytes()).remove(0).unwrap_err();
    assert_eq!(
        error.reason,
        LineErrorKind::DuplicateFieldKey { key: "f500".into() }
    );
    let body = format!("m,{},t999=w f=1", tags.join(","));
    let error = parse_all(body.as_bytes()).remove(0).unwrap_err();
    assert_eq!(
        error.reason,
        LineErrorKind::DuplicateTagKey { key: "t999".into() }
    );
}

#[test]
fn names_without_escapes_are_borrowed() {
    let body = br#"m,t=v,e\ k=e\ v f=1,s="x",u="a\"b""#;
    let line = parse_all(body).remove(0).unwrap();
    assert!(matches!(line.measurement, Cow::Borrowed(_)));
    assert!(matches!(line.tags[0], (Cow::Borrowed(_), Cow::Borrowed(_))));
    assert!(matches!(line.tags[1], (Cow::Owned(_), Cow::Owned(_))));
    assert!(matches!(
        line.fields[1].1,
        FieldValue::String(Cow::Borrowed("x"))
    ));
    assert!(matches!(&line.fields[2].1, FieldValue::String(Cow::Owned(s)) if s == "a\"b"));
    assert_eq!(line.text, r#"m,t=v,e\ k=e\ v f=1,s="x",u="a\"b""#);
}
