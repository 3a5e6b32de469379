//! A refused line: its number, a truncated copy, and why it was refused.

use std::fmt;

/// Longest copy of a refused line kept in a [`LineError`], in bytes (cut on a char boundary).
pub(crate) const QUOTED_LINE_BYTES_MAX: usize = 256;

/// Longest copy of a key named in a [`LineErrorKind`], in bytes (cut on a char boundary).
pub(crate) const QUOTED_KEY_BYTES_MAX: usize = 64;

/// Appended to a quoted line or key that was cut.
const ELLIPSIS: &str = "…";

/// One line the parser refused; the lines after it are still parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based number of the (first) physical line, counting every `\n` in the body.
    pub line_number: usize,
    /// The line as sent, without its line ending, cut to 256 bytes with `…` when longer;
    /// invalid UTF-8 is replaced by U+FFFD.
    pub line: String,
    /// Why the line was refused.
    pub reason: LineErrorKind,
}

impl LineError {
    pub(crate) fn new(line_number: usize, line: &[u8], reason: LineErrorKind) -> Self {
        Self {
            line_number,
            line: quote_line(line),
            reason,
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "line {}: {}: {}",
            self.line_number, self.reason, self.line
        )
    }
}

impl std::error::Error for LineError {}

/// Why a line was refused. Keys are unescaped and cut to 64 bytes with `…` when longer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineErrorKind {
    /// The line holds bytes that are not UTF-8.
    InvalidUtf8,
    /// The line starts with a comma or the measurement is otherwise empty.
    MissingMeasurement,
    /// No field follows the measurement and tags.
    MissingFieldSet,
    /// A tag has an empty key (`cpu,=a f=1`).
    EmptyTagKey,
    /// A tag key has no `=value`, or an empty value.
    MissingTagValue {
        /// The tag key.
        key: String,
    },
    /// A tag value holds an `=` that is not escaped (`cpu,a=b=c f=1`).
    UnescapedEqualsInTagValue {
        /// The tag key.
        key: String,
    },
    /// Two tags share a key; refused rather than keeping one silently.
    DuplicateTagKey {
        /// The repeated tag key.
        key: String,
    },
    /// A tag is named `time`, the name of the timestamp column.
    TimeTagKey,
    /// A field has an empty key (`cpu f=1,=2`, or a trailing comma).
    EmptyFieldKey,
    /// A field key has no `=value`, or an empty value.
    MissingFieldValue {
        /// The field key.
        key: String,
    },
    /// Two fields share a key; InfluxDB keeps the last, we refuse the line.
    DuplicateFieldKey {
        /// The repeated field key.
        key: String,
    },
    /// A field is named `time`, the name of the timestamp column.
    TimeFieldKey,
    /// A field value is neither a number, a boolean nor a quoted string.
    InvalidFieldValue {
        /// The field key.
        key: String,
    },
    /// A field value starts like a number but is not one (`1.2.3`, `12x`, `1i5`).
    MalformedNumber {
        /// The field key.
        key: String,
    },
    /// An integer (`…i`) field value outside the i64 range.
    IntegerOutOfRange {
        /// The field key.
        key: String,
    },
    /// An unsigned (`…u`) field value above u64::MAX.
    UnsignedOutOfRange {
        /// The field key.
        key: String,
    },
    /// An unsigned (`…u`) field value with a minus sign.
    NegativeUnsigned {
        /// The field key.
        key: String,
    },
    /// A float whose magnitude rounds to infinity (`1e400`).
    FloatOutOfRange {
        /// The field key.
        key: String,
    },
    /// `NaN`, `inf` or `infinity` (any case, any sign) as a field value.
    NonFiniteFloat {
        /// The field key.
        key: String,
    },
    /// A string field value with no closing `"` before the end of the body.
    UnterminatedString {
        /// The field key.
        key: String,
    },
    /// A closing `"` followed by something other than `,`, a space or the line end.
    CharactersAfterString {
        /// The field key.
        key: String,
    },
    /// The timestamp is not an optionally signed decimal integer.
    InvalidTimestamp,
    /// The timestamp is outside the i64 range.
    TimestampOutOfRange,
    /// Something other than whitespace follows the timestamp.
    CharactersAfterTimestamp,
}

impl fmt::Display for LineErrorKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUtf8 => formatter.write_str("invalid UTF-8"),
            Self::MissingMeasurement => formatter.write_str("missing measurement"),
            Self::MissingFieldSet => formatter.write_str("missing field set"),
            Self::EmptyTagKey => formatter.write_str("empty tag key"),
            Self::MissingTagValue { key } => write!(formatter, "missing value for tag {key}"),
            Self::UnescapedEqualsInTagValue { key } => {
                write!(formatter, "unescaped '=' in the value of tag {key}")
            }
            Self::DuplicateTagKey { key } => write!(formatter, "duplicate tag key {key}"),
            Self::TimeTagKey => formatter.write_str("tag key time is reserved for the timestamp"),
            Self::EmptyFieldKey => formatter.write_str("empty field key"),
            Self::MissingFieldValue { key } => write!(formatter, "missing value for field {key}"),
            Self::DuplicateFieldKey { key } => write!(formatter, "duplicate field key {key}"),
            Self::TimeFieldKey => {
                formatter.write_str("field key time is reserved for the timestamp")
            }
            Self::InvalidFieldValue { key } => write!(
                formatter,
                "invalid field {key}: expected a number, a boolean or a quoted string"
            ),
            Self::MalformedNumber { key } => write!(formatter, "invalid field {key}: bad number"),
            Self::IntegerOutOfRange { key } => {
                write!(formatter, "invalid integer field {key}: out of range")
            }
            Self::UnsignedOutOfRange { key } => {
                write!(formatter, "invalid unsigned field {key}: out of range")
            }
            Self::NegativeUnsigned { key } => {
                write!(formatter, "invalid unsigned field {key}: negative")
            }
            Self::FloatOutOfRange { key } => {
                write!(formatter, "invalid float field {key}: out of range")
            }
            Self::NonFiniteFloat { key } => write!(
                formatter,
                "invalid float field {key}: NaN and infinity are not valid float values"
            ),
            Self::UnterminatedString { key } => {
                write!(formatter, "unterminated string field value for field {key}")
            }
            Self::CharactersAfterString { key } => write!(
                formatter,
                "unexpected characters after the string value of field {key}"
            ),
            Self::InvalidTimestamp => formatter.write_str("invalid timestamp"),
            Self::TimestampOutOfRange => formatter.write_str("invalid timestamp: out of range"),
            Self::CharactersAfterTimestamp => {
                formatter.write_str("unexpected characters after the timestamp")
            }
        }
    }
}

/// A line as an error message quotes it: at most 256 bytes, cut on a char boundary with `…`
/// appended when cut, invalid UTF-8 replaced by U+FFFD. Public so that later stages (schema
/// checks during ingest) quote refused lines the same way.
pub fn quote_line(line: &[u8]) -> String {
    quote(line, QUOTED_LINE_BYTES_MAX)
}

/// A key as an error reason names it: at most 64 bytes, cut like [`quote_line`].
pub(crate) fn quote_key(key: &str) -> String {
    quote(key.as_bytes(), QUOTED_KEY_BYTES_MAX)
}

fn quote(text: &[u8], bytes_max: usize) -> String {
    // Decoding at most `bytes_max` + 4 bytes is enough: a char is at most 4 bytes, and a
    // replacement character stands for at least one input byte.
    let window = text.get(..bytes_max.saturating_add(4)).unwrap_or(text);
    let mut quoted = String::from_utf8_lossy(window).into_owned();
    let cut = quoted.len() > bytes_max || window.len() < text.len();
    if cut {
        quoted.truncate(quoted.floor_char_boundary(bytes_max));
        quoted.push_str(ELLIPSIS);
    }
    quoted
}
