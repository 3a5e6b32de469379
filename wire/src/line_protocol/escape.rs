//! Names (measurement, tag keys and values, field keys) and their backslash escapes.
//!
//! A backslash escapes the characters that would otherwise end the name (`,` and space in a
//! measurement; `,`, `=` and space elsewhere) and itself (`\\` is one backslash, as in the
//! InfluxDB docs' "Escaping backslashes" table); before any other character it is kept
//! literally. Names without escapes are borrowed; only escaped ones are copied.

use std::borrow::Cow;

/// Which kind of name is scanned: decides the delimiters (and so the escapable characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// Ends at `,` or space.
    Measurement,
    /// Tag key, tag value or field key: ends at `,`, `=` or space.
    Key,
}

impl NameKind {
    fn is_delimiter(self, byte: u8) -> bool {
        match self {
            Self::Measurement => matches!(byte, b',' | b' '),
            Self::Key => matches!(byte, b',' | b'=' | b' '),
        }
    }
}

/// A scanned name and what stopped it.
#[derive(Debug)]
pub(crate) struct Name<'a> {
    /// The name with its escapes removed.
    pub(crate) value: Cow<'a, str>,
    /// Offset just past the name: at the delimiter, or the line's length.
    pub(crate) end: usize,
    /// The delimiter that ended the name; `None` at the end of the line.
    pub(crate) delimiter: Option<u8>,
}

/// Scans the name starting at `start` up to its first unescaped delimiter.
pub(crate) fn scan_name(line: &str, start: usize, kind: NameKind) -> Name<'_> {
    let bytes = line.as_bytes();
    let mut index = start;
    let mut escaped = false;
    let delimiter = loop {
        let found = bytes.get(index..).and_then(|rest| {
            rest.iter()
                .position(|&byte| byte == b'\\' || kind.is_delimiter(byte))
        });
        let Some(offset) = found else {
            index = bytes.len();
            break None;
        };
        index += offset;
        match bytes.get(index) {
            Some(b'\\') => match bytes.get(index + 1) {
                Some(&next) if next == b'\\' || kind.is_delimiter(next) => {
                    escaped = true;
                    index += 2;
                }
                _ => index += 1,
            },
            byte => break byte.copied(),
        }
    };
    let raw = line
        .get(start..index)
        .expect("names start and end next to ASCII bytes, so on char boundaries");
    let value = if escaped {
        Cow::Owned(unescape(raw, |byte| {
            byte == b'\\' || kind.is_delimiter(byte)
        }))
    } else {
        Cow::Borrowed(raw)
    };
    Name {
        value,
        end: index,
        delimiter,
    }
}

/// Removes the backslash before every byte for which `is_escapable` holds.
pub(crate) fn unescape(raw: &str, is_escapable: impl Fn(u8) -> bool) -> String {
    let mut unescaped = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(backslash) = rest.find('\\') {
        let (head, tail) = rest.split_at(backslash);
        unescaped.push_str(head);
        let after = tail.get(1..).unwrap_or_default();
        match after.as_bytes().first() {
            Some(&next) if is_escapable(next) => {
                unescaped.push(char::from(next));
                rest = after.get(1..).unwrap_or_default();
            }
            _ => {
                unescaped.push('\\');
                rest = after;
            }
        }
    }
    unescaped.push_str(rest);
    unescaped
}
