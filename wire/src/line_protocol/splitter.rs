//! Cuts a body into logical lines, skipping blank and comment lines and counting physical
//! lines for error messages.
//!
//! A logical line ends at the first `\n` outside a quoted string field value; like InfluxDB,
//! a string may hold raw newlines (Telegraf and the InfluxDB client libraries send them
//! unescaped). A quote must not let one mistake swallow the rest of the body, so a string
//! that spans lines is only accepted when it is closed and its closing `"` is followed by
//! `,`, a space or the line end; otherwise the logical line is just its first physical line
//! (which the parser then refuses as an unterminated string) and splitting resumes on the
//! next physical line. What remains: a stray quote followed, on a later line, by a `"` that
//! is itself followed by `,`, a space or a line end still joins those lines, which are then
//! refused together (InfluxDB joins them in every case).
//!
//! Lines without any `"` (the common case) take a fast path: one word-at-a-time search for
//! `\n` or `"`. Only lines holding a quote run the state machine below, which follows the
//! grammar closely enough to know where string values open.

/// One logical line: its trimmed bytes and the number of its first physical line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawLine<'a> {
    /// 1-based number of the first physical line.
    pub(crate) number: usize,
    /// The line without leading spaces or tabs, without its `\r\n` or `\n`, and without
    /// trailing spaces or tabs; never empty, never a comment.
    pub(crate) bytes: &'a [u8],
}

/// Iterator over the logical lines of a body.
#[derive(Debug)]
pub(crate) struct Splitter<'a> {
    body: &'a [u8],
    /// Offset of the next physical line.
    position: usize,
    /// Number of the physical line starting at `position`.
    number: usize,
}

impl<'a> Splitter<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            position: 0,
            number: 1,
        }
    }
}

impl<'a> Iterator for Splitter<'a> {
    type Item = RawLine<'a>;

    fn next(&mut self) -> Option<RawLine<'a>> {
        loop {
            let rest = self.body.get(self.position..)?;
            if rest.is_empty() {
                return None;
            }
            let number = self.number;
            let content = rest
                .iter()
                .position(|&byte| byte != b' ' && byte != b'\t')
                .unwrap_or(rest.len());
            let text = rest.get(content..).unwrap_or_default();
            let (length, newlines) = match text.first() {
                Some(b'#') => (physical_line_end(text), 0),
                _ => logical_line_end(text),
            };
            let end = content + length;
            // Step past the `\n` that ended the line, if any.
            self.position += (end + 1).min(rest.len());
            self.number += newlines + 1;
            let line = rest.get(content..end).unwrap_or_default();
            let line = trim_end(line.strip_suffix(b"\r").unwrap_or(line));
            if !line.is_empty() && line.first() != Some(&b'#') {
                return Some(RawLine {
                    number,
                    bytes: line,
                });
            }
        }
    }
}

fn trim_end(line: &[u8]) -> &[u8] {
    let kept = line
        .iter()
        .rposition(|&byte| byte != b' ' && byte != b'\t')
        .map_or(0, |last| last + 1);
    line.get(..kept).unwrap_or_default()
}

/// Offset of the first `\n` in `text`, or its length.
fn physical_line_end(text: &[u8]) -> usize {
    text.iter()
        .position(|&byte| byte == b'\n')
        .unwrap_or(text.len())
}

/// Offset of the `\n` ending the logical line that starts `text` (or its length), and how
/// many `\n` the line holds inside string values.
fn logical_line_end(text: &[u8]) -> (usize, usize) {
    match find_newline_or_quote(text) {
        None => (text.len(), 0),
        Some(offset) if text.get(offset) == Some(&b'\n') => (offset, 0),
        Some(_) => quoted_line_end(text),
    }
}

/// Word-at-a-time search for `\n` or `"` (the classic "has zero byte" trick on 8 bytes).
fn find_newline_or_quote(text: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    let mut chunks = text.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks_exact yields 8 bytes"));
        let newline = word ^ NEWLINES;
        let quote = word ^ QUOTES;
        // The lowest set bit always marks a true match (borrows only run upwards), and in
        // little-endian order the lowest byte comes first.
        let matches =
            ((newline.wrapping_sub(ONES) & !newline) | (quote.wrapping_sub(ONES) & !quote)) & HIGHS;
        if matches != 0 {
            return Some(offset + (matches.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&byte| byte == b'\n' || byte == b'"')
        .map(|position| offset + position)
}

/// Where the state machine stands; mirrors the parser's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Measurement and tags: quotes are ordinary characters.
    Series,
    /// Spaces between the tags and the first field key.
    FieldSetStart,
    FieldKey,
    /// Just after a field key's `=`: a `"` here opens a string.
    FieldValueStart,
    FieldValue,
    /// Timestamp, or anything the parser will refuse: no string can open any more.
    Rest,
}

/// Slow path of [`logical_line_end`] for lines holding a `"`.
fn quoted_line_end(text: &[u8]) -> (usize, usize) {
    let mut section = Section::Series;
    let mut newlines = 0;
    let mut index = 0;
    while let Some(&byte) = text.get(index) {
        index += 1;
        if section == Section::FieldSetStart && byte != b' ' {
            section = Section::FieldKey;
        }
        section = match (section, byte) {
            (_, b'\n') => return (index - 1, newlines),
            (Section::Series | Section::FieldKey, b'\\') => {
                // An escape never hides a line end outside strings.
                if text.get(index).is_some_and(|&next| next != b'\n') {
                    index += 1;
                }
                section
            }
            (Section::Series | Section::FieldSetStart, b' ') => Section::FieldSetStart,
            (Section::FieldKey, b'=') => Section::FieldValueStart,
            (Section::FieldKey, b' ') => Section::Rest,
            (Section::FieldValueStart, b'"') => match string_end(text, index) {
                Some(string) if string.newlines == 0 || ends_value(text.get(string.close + 1)) => {
                    index = string.close + 1;
                    newlines += string.newlines;
                    Section::FieldValue
                }
                _ => return (physical_line_end(text), 0),
            },
            (Section::FieldValueStart | Section::FieldValue, b',') => Section::FieldKey,
            (Section::FieldValueStart | Section::FieldValue, b' ') => Section::Rest,
            (Section::FieldValueStart, _) => Section::FieldValue,
            (_, _) => section,
        };
    }
    (text.len(), newlines)
}

/// Whether a string value may end before `next` (as in a valid line).
fn ends_value(next: Option<&u8>) -> bool {
    matches!(next, None | Some(b',' | b' ' | b'\t' | b'\r' | b'\n'))
}

/// Where a quoted string ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StringEnd {
    /// Offset of the closing `"`.
    pub(crate) close: usize,
    /// How many `\n` the string holds.
    pub(crate) newlines: usize,
    /// Whether the string holds an escape (`\"` or `\\`) to remove.
    pub(crate) escaped: bool,
}

/// Finds the `"` closing a string whose content starts at `start`; `None` when it is not
/// closed. `\"` and `\\` are escapes; any other backslash is literal.
pub(crate) fn string_end(text: &[u8], start: usize) -> Option<StringEnd> {
    let mut newlines = 0;
    let mut escaped = false;
    let mut index = start;
    loop {
        let rest = text.get(index..)?;
        let offset = rest
            .iter()
            .position(|&byte| matches!(byte, b'"' | b'\\' | b'\n'))?;
        index += offset;
        match text.get(index) {
            Some(b'"') => {
                return Some(StringEnd {
                    close: index,
                    newlines,
                    escaped,
                });
            }
            Some(b'\\') if matches!(text.get(index + 1), Some(b'"' | b'\\')) => {
                escaped = true;
                index += 2;
            }
            Some(b'\n') => {
                newlines += 1;
                index += 1;
            }
            _ => index += 1,
        }
    }
}
