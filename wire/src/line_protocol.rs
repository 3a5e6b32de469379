//! InfluxDB line protocol: parses an HTTP write body into [`Line`]s, one callback per line.
//!
//! Owns the syntax only (what a line says), not what it means to a table: schema and type
//! checks happen at ingest. Spec:
//! <https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/>.
//!
//! ```text
//! measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]
//! ```
//!
//! # Design
//!
//! [`parse_lines`] passes each line to a callback as `Result<&Line, LineError>`. The same
//! [`Line`] is refilled for every line, so its tag and field vectors keep their capacity:
//! a call allocates those two vectors once (more only past 32 tags or fields, when they
//! grow), and a line without escapes allocates nothing at all. Names and string values
//! borrow from the body ([`Cow::Borrowed`]); only a name or string holding an escape is
//! copied. A refused line allocates its [`LineError`] (a copy of at most 256 bytes).
//! The body is read in three cheap passes per line: find the line end (8 bytes at a time),
//! check UTF-8 (std), then one left-to-right parse.
//!
//! # Decisions where the spec is loose (compared with InfluxDB's Go parser)
//!
//! - Lines: `\n` or `\r\n`; blank lines, whitespace-only lines and lines whose first
//!   non-blank character is `#` are skipped. Leading spaces and tabs and trailing spaces and
//!   tabs are ignored; sections are separated by one or more spaces.
//! - Line numbers count physical lines from 1, so they match an editor's, even when a string
//!   value spans lines.
//! - Escapes: see the `escape` module; `\\` is one backslash everywhere, a backslash before
//!   any other character is literal. Strings escape only `"` and `\`.
//! - A string value may hold raw newlines, as in InfluxDB. A string left open to the end of
//!   the body (or closed on a later line but followed by junk) is refused on its own
//!   physical line and parsing resumes on the next one, so a stray quote cannot swallow
//!   the rest of the body (the `splitter` module docs give the one case it still joins).
//! - Numbers: see the `value` module (`.5`, `1.`, `1e5` and `-0` are floats; `+1`, `NaN`,
//!   `inf` are refused; i64 and u64 bounds are exact).
//! - Tag values may not hold an unescaped `=` (InfluxDB 1.x/2.x refuse it too).
//! - Duplicate tag or field keys refuse the line (InfluxDB keeps the last field silently).
//! - `time` is refused as a tag or field key: it is the timestamp column.
//! - The timestamp is any i64 (InfluxDB stops 2 short of each end to keep sentinels; our
//!   storage range is checked at ingest), in the request's precision, not converted here.
//! - Invalid UTF-8 anywhere in a line refuses the whole line.
//!
//! No limit on line length is enforced here: the HTTP layer bounds the body, and a line
//! costs O(n log n) at worst (duplicate detection).

mod escape;
mod line_error;
mod parser;
mod splitter;
mod value;

use std::borrow::Cow;

pub use line_error::{LineError, LineErrorKind, quote_line};

use parser::LineParser;
use splitter::Splitter;

/// One parsed line. Borrows from the body; a name or string is owned only when its escapes
/// had to be removed.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// 1-based number of the line's first physical line in the body.
    pub line_number: usize,
    /// The line as sent, without leading or trailing whitespace and line ending.
    pub text: &'a str,
    /// The measurement (table) name, never empty.
    pub measurement: Cow<'a, str>,
    /// Tags in the order sent: keys non-empty and distinct, values non-empty.
    pub tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Fields in the order sent, at least one; keys non-empty and distinct.
    pub fields: Vec<(Cow<'a, str>, FieldValue<'a>)>,
    /// The timestamp in the request's precision; `None` means the server's clock.
    pub timestamp: Option<i64>,
}

/// A field value, typed by its syntax.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// `1`, `-1.5`, `.5`, `1e5`: always finite.
    Float(f64),
    /// `123i`: the full i64 range.
    Integer(i64),
    /// `123u`: the full u64 range.
    Unsigned(u64),
    /// `t`, `T`, `true`, `True`, `TRUE`, and the same for false.
    Boolean(bool),
    /// `"…"` with `\"` and `\\` unescaped; may hold spaces, commas, `=` and newlines.
    String(Cow<'a, str>),
}

/// Parses a whole body, calling `on_line` for every line that is neither blank nor a
/// comment, in order, with the parsed line or the reason it was refused. A refused line
/// never stops the lines after it. See the module docs for allocation behaviour.
pub fn parse_lines<'a>(body: &'a [u8], mut on_line: impl FnMut(Result<&Line<'a>, LineError>)) {
    let mut parser = LineParser::new();
    for raw in Splitter::new(body) {
        match parser.parse(raw) {
            Ok(()) => on_line(Ok(&parser.line)),
            Err(reason) => on_line(Err(LineError::new(raw.number, raw.bytes, reason))),
        }
    }
}

#[cfg(test)]
mod tests;
