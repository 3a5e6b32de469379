//! The COPY text and CSV formats, as Postgres reads and writes them.
//!
//! Text: one row per line, columns split by the delimiter (tab), `\N` for NULL, and
//! backslash escapes (`\t`, `\n`, `\\`, octal `\123`, hex `\x41`, …). CSV: columns split by
//! the delimiter (comma), fields optionally quoted with `"` (a quote inside doubled, or
//! preceded by the escape character), records may span lines inside quotes; an unquoted
//! field equal to the NULL string (empty by default) is NULL, a quoted one never is. A line
//! `\.` ends the data in both.

/// Options of one COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyFormat {
    pub(crate) csv: bool,
    pub(crate) delimiter: u8,
    pub(crate) null: String,
    pub(crate) header: bool,
    pub(crate) quote: u8,
    pub(crate) escape: u8,
}

impl CopyFormat {
    pub(crate) fn text() -> Self {
        Self {
            csv: false,
            delimiter: b'\t',
            null: "\\N".to_owned(),
            header: false,
            quote: b'"',
            escape: b'"',
        }
    }

    pub(crate) fn csv() -> Self {
        Self {
            csv: true,
            delimiter: b',',
            null: String::new(),
            ..Self::text()
        }
    }
}

/// One parsed row: its fields (`None` is NULL), or the end-of-data marker.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Record {
    Row(Vec<Option<String>>),
    End,
}

/// Splits the next complete record off the front of `buffer`; `None` when it holds no
/// complete record yet. `at_end` (the client sent CopyDone) makes a last line without a
/// newline complete. Returns the record and the bytes it took.
pub(crate) fn next_record(
    buffer: &[u8],
    format: &CopyFormat,
    at_end: bool,
) -> Result<Option<(Record, usize)>, String> {
    let end = if format.csv {
        csv_record_end(buffer, format)
    } else {
        buffer.iter().position(|b| *b == b'\n')
    };
    let (line, taken) = match end {
        Some(end) => (&buffer[..end], end + 1),
        None if at_end && !buffer.is_empty() => (buffer, buffer.len()),
        None => return Ok(None),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line == b"\\." {
        return Ok(Some((Record::End, taken)));
    }
    let line = std::str::from_utf8(line).map_err(|_| "invalid UTF-8 in COPY data".to_owned())?;
    let fields = if format.csv {
        csv_fields(line, format)?
    } else {
        text_fields(line, format)?
    };
    Ok(Some((Record::Row(fields), taken)))
}

/// Where the CSV record at the front of `buffer` ends (its newline outside quotes).
fn csv_record_end(buffer: &[u8], format: &CopyFormat) -> Option<usize> {
    let mut quoted = false;
    let mut index = 0;
    while index < buffer.len() {
        let byte = buffer[index];
        if quoted && byte == format.escape && format.escape != format.quote {
            index += 2; // the escaped character, whatever it is
            continue;
        }
        if byte == format.quote {
            quoted = !quoted;
        } else if byte == b'\n' && !quoted {
            return Some(index);
        }
        index += 1;
    }
    None
}

fn text_fields(line: &str, format: &CopyFormat) -> Result<Vec<Option<String>>, String> {
    let delimiter = char::from(format.delimiter);
    line.split(delimiter)
        .map(|raw| {
            if raw == format.null {
                Ok(None)
            } else {
                unescape_text(raw).map(Some)
            }
        })
        .collect()
}

/// Undoes the text format's backslash escapes.
fn unescape_text(raw: &str) -> Result<String, String> {
    if !raw.contains('\\') {
        return Ok(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        index += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let Some(&next) = bytes.get(index) else {
            out.push(b'\\');
            break;
        };
        index += 1;
        match next {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                for _ in 0..2 {
                    match bytes.get(index) {
                        Some(digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            index += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            b'x' if bytes.get(index).is_some_and(u8::is_ascii_hexdigit) => {
                let mut value = 0u32;
                for _ in 0..2 {
                    match bytes.get(index).and_then(|b| char::from(*b).to_digit(16)) {
                        Some(digit) => {
                            value = value * 16 + digit;
                            index += 1;
                        }
                        None => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| "invalid UTF-8 after unescaping COPY data".to_owned())
}

fn csv_fields(line: &str, format: &CopyFormat) -> Result<Vec<Option<String>>, String> {
    let bytes = line.as_bytes();
    let mut fields = Vec::new();
    let mut index = 0;
    loop {
        let mut value: Vec<u8> = Vec::new();
        let mut was_quoted = false;
        let start = index;
        while index < bytes.len() && bytes[index] != format.delimiter {
            let byte = bytes[index];
            if byte != format.quote {
                value.push(byte);
                index += 1;
                continue;
            }
            was_quoted = true;
            index += 1;
            loop {
                let Some(&inner) = bytes.get(index) else {
                    return Err("unterminated CSV quoted field".to_owned());
                };
                index += 1;
                if inner == format.escape && bytes.get(index) == Some(&format.quote) {
                    value.push(format.quote);
                    index += 1;
                } else if inner == format.escape
                    && format.escape != format.quote
                    && bytes.get(index) == Some(&format.escape)
                {
                    value.push(format.escape);
                    index += 1;
                } else if inner == format.quote {
                    break;
                } else {
                    value.push(inner);
                }
            }
        }
        let raw = &line[start..index];
        let field = if !was_quoted && raw == format.null {
            None
        } else {
            Some(String::from_utf8(value).map_err(|_| "invalid UTF-8 in CSV field".to_owned())?)
        };
        fields.push(field);
        if index >= bytes.len() {
            break;
        }
        index += 1; // the delimiter
    }
    Ok(fields)
}

/// Appends one row in `format` (values in Postgres text form; `None` is NULL) with its
/// newline.
pub(crate) fn write_row(out: &mut Vec<u8>, values: &[Option<&[u8]>], format: &CopyFormat) {
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            out.push(format.delimiter);
        }
        match value {
            None => out.extend_from_slice(format.null.as_bytes()),
            Some(value) if format.csv => write_csv_field(out, value, format),
            Some(value) => write_text_field(out, value, format.delimiter),
        }
    }
    out.push(b'\n');
}

fn write_text_field(out: &mut Vec<u8>, value: &[u8], delimiter: u8) {
    for &byte in value {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' if delimiter == b'\t' => out.extend_from_slice(b"\\t"),
            byte if byte == delimiter => {
                out.push(b'\\');
                out.push(byte);
            }
            byte => out.push(byte),
        }
    }
}

fn write_csv_field(out: &mut Vec<u8>, value: &[u8], format: &CopyFormat) {
    let needs_quotes = value.is_empty() && format.null.is_empty()
        || value == format.null.as_bytes()
        || value == b"\\."
        || value
            .iter()
            .any(|b| *b == format.delimiter || *b == format.quote || *b == b'\n' || *b == b'\r');
    if !needs_quotes {
        out.extend_from_slice(value);
        return;
    }
    out.push(format.quote);
    for &byte in value {
        if byte == format.quote || byte == format.escape {
            out.push(format.escape);
        }
        out.push(byte);
    }
    out.push(format.quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &str, format: &CopyFormat) -> Vec<Record> {
        let mut buffer = input.as_bytes();
        let mut out = Vec::new();
        while let Some((record, taken)) = next_record(buffer, format, true).unwrap() {
            let end = record == Record::End;
            out.push(record);
            if end {
                break; // as the COPY does: what follows `\.` is ignored
            }
            buffer = &buffer[taken..];
        }
        out
    }

    fn row(values: &[Option<&str>]) -> Record {
        Record::Row(values.iter().map(|v| v.map(str::to_owned)).collect())
    }

    #[test]
    fn text_format_splits_unescapes_and_knows_null() {
        let format = CopyFormat::text();
        assert_eq!(
            rows("a\t\\N\tx\\ty\\\\z\\101\\x42\r\n\\.\nignored", &format),
            [row(&[Some("a"), None, Some("x\ty\\zAB")]), Record::End]
        );
        // An incomplete last line waits for more data unless the copy has ended.
        assert_eq!(next_record(b"a\tb", &format, false).unwrap(), None);
    }

    #[test]
    fn csv_quotes_span_lines_and_only_unquoted_empty_is_null() {
        let format = CopyFormat::csv();
        assert_eq!(
            rows("1,,\"\",\"a,\"\"b\"\"\nc\"\n2,x,y", &format),
            [
                row(&[Some("1"), None, Some(""), Some("a,\"b\"\nc")]),
                row(&[Some("2"), Some("x"), Some("y")]),
            ]
        );
        assert_eq!(next_record(b"1,\"open\n", &format, false).unwrap(), None);
        assert!(next_record(b"1,\"open", &format, true).is_err());
    }

    #[test]
    fn written_rows_read_back_the_same() {
        for format in [CopyFormat::text(), CopyFormat::csv()] {
            let values: Vec<Option<&[u8]>> = vec![
                Some(b"plain"),
                None,
                Some(b""),
                Some(b"tab\there, \"quoted\"\nnew \\ line"),
                Some(b"\\."),
            ];
            let mut out = Vec::new();
            write_row(&mut out, &values, &format);
            let parsed = rows(std::str::from_utf8(&out).unwrap(), &format);
            let expected: Vec<Option<&str>> = values
                .iter()
                .map(|v| v.map(|b| std::str::from_utf8(b).unwrap()))
                .collect();
            assert_eq!(parsed, [row(&expected)], "csv: {}", format.csv);
        }
    }
}
