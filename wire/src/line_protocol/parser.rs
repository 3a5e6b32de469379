//! Parses one logical line into a reused [`Line`]: measurement, tags, fields, timestamp.

use std::borrow::Cow;

use super::Line;
use super::escape::{NameKind, scan_name};
use super::line_error::{LineErrorKind, quote_key};
use super::splitter::RawLine;
use super::value::{parse_field_value, parse_timestamp};

/// The column name a tag or field may not take: it is the timestamp column.
const TIME_KEY: &str = "time";

/// Up to this many keys, duplicates are found by comparing every pair (no allocation and
/// fastest for typical lines); above it, by sorting indices, so a line with many thousands
/// of keys costs O(n log n) rather than O(n²).
const PAIRWISE_KEYS_MAX: usize = 32;

/// Parses lines one after another into the same [`Line`], so its tag and field vectors
/// keep their capacity across lines.
#[derive(Debug)]
pub(crate) struct LineParser<'a> {
    pub(crate) line: Line<'a>,
    /// Scratch for duplicate detection.
    key_scratch: KeyScratch,
}

impl<'a> LineParser<'a> {
    pub(crate) fn new() -> Self {
        Self {
            line: Line {
                line_number: 0,
                text: "",
                measurement: Cow::Borrowed(""),
                tags: Vec::with_capacity(PAIRWISE_KEYS_MAX),
                fields: Vec::with_capacity(PAIRWISE_KEYS_MAX),
                timestamp: None,
            },
            key_scratch: KeyScratch::default(),
        }
    }

    /// Parses `raw` into `self.line`; on error `self.line` holds a partial line.
    pub(crate) fn parse(&mut self, raw: RawLine<'a>) -> Result<(), LineErrorKind> {
        let text = std::str::from_utf8(raw.bytes).map_err(|_| LineErrorKind::InvalidUtf8)?;
        let line = &mut self.line;
        line.line_number = raw.number;
        line.text = text;
        line.tags.clear();
        line.fields.clear();
        line.timestamp = None;

        let measurement = scan_name(text, 0, NameKind::Measurement);
        if measurement.value.is_empty() {
            return Err(LineErrorKind::MissingMeasurement);
        }
        line.measurement = measurement.value;
        let mut position = measurement.end;
        if measurement.delimiter == Some(b',') {
            position = self.parse_tags(text, position + 1)?;
        }
        // The series ends at a space (possibly several) or at the end of the line.
        position += count_spaces(text, position);
        if position >= text.len() {
            return Err(LineErrorKind::MissingFieldSet);
        }
        position = self.parse_fields(text, position)?;
        self.line.timestamp = parse_timestamp(text, position)?;
        Ok(())
    }

    /// Parses `key=value[,key=value...]` up to the space or line end after the last tag.
    fn parse_tags(&mut self, text: &'a str, start: usize) -> Result<usize, LineErrorKind> {
        let mut position = start;
        loop {
            let key = scan_name(text, position, NameKind::Key);
            if key.value.is_empty() {
                return Err(LineErrorKind::EmptyTagKey);
            }
            if key.delimiter != Some(b'=') {
                return Err(LineErrorKind::MissingTagValue {
                    key: quote_key(&key.value),
                });
            }
            if key.value == TIME_KEY {
                return Err(LineErrorKind::TimeTagKey);
            }
            let value = scan_name(text, key.end + 1, NameKind::Key);
            if value.delimiter == Some(b'=') {
                return Err(LineErrorKind::UnescapedEqualsInTagValue {
                    key: quote_key(&key.value),
                });
            }
            if value.value.is_empty() {
                return Err(LineErrorKind::MissingTagValue {
                    key: quote_key(&key.value),
                });
            }
            self.line.tags.push((key.value, value.value));
            if value.delimiter != Some(b',') {
                if let Some(key) = duplicate_key(&self.line.tags, &mut self.key_scratch) {
                    return Err(LineErrorKind::DuplicateTagKey {
                        key: quote_key(key),
                    });
                }
                return Ok(value.end);
            }
            position = value.end + 1;
        }
    }

    /// Parses the field set up to the space or line end after the last value.
    fn parse_fields(&mut self, text: &'a str, start: usize) -> Result<usize, LineErrorKind> {
        let mut position = start;
        loop {
            let key = scan_name(text, position, NameKind::Key);
            if key.value.is_empty() {
                return Err(LineErrorKind::EmptyFieldKey);
            }
            if key.delimiter != Some(b'=') {
                return Err(LineErrorKind::MissingFieldValue {
                    key: quote_key(&key.value),
                });
            }
            if key.value == TIME_KEY {
                return Err(LineErrorKind::TimeFieldKey);
            }
            let (value, end) = parse_field_value(text, key.end + 1, &key.value)?;
            self.line.fields.push((key.value, value));
            if text.as_bytes().get(end) != Some(&b',') {
                if let Some(key) = duplicate_key(&self.line.fields, &mut self.key_scratch) {
                    return Err(LineErrorKind::DuplicateFieldKey {
                        key: quote_key(key),
                    });
                }
                return Ok(end);
            }
            position = end + 1;
        }
    }
}

fn count_spaces(text: &str, start: usize) -> usize {
    text.as_bytes()
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&byte| byte == b' ')
        .count()
}

/// Scratch space for duplicate detection on lines with many keys, kept across lines.
#[derive(Debug, Default)]
struct KeyScratch {
    order: Vec<usize>,
}

/// A key of `pairs` that occurs more than once, if any.
fn duplicate_key<'p, V>(
    pairs: &'p [(Cow<'_, str>, V)],
    scratch: &mut KeyScratch,
) -> Option<&'p str> {
    if pairs.len() > PAIRWISE_KEYS_MAX {
        return duplicate_key_sorted(pairs, &mut scratch.order);
    }
    // Comparing fingerprints first avoids a string comparison (often a memcmp call, as keys
    // like `usage_user` and `usage_idle` share a length) for almost every pair.
    let mut fingerprints = [0u64; PAIRWISE_KEYS_MAX];
    for (slot, (key, _)) in fingerprints.iter_mut().zip(pairs) {
        *slot = fingerprint(key);
    }
    let mut later = fingerprints.iter().zip(pairs);
    while let Some((fingerprint, (key, _))) = later.next() {
        let repeated = later.clone().any(|(other_fingerprint, (other, _))| {
            other_fingerprint == fingerprint && other == key
        });
        if repeated {
            return Some(key);
        }
    }
    None
}

/// Length, first 8 and last 8 bytes of `key`, mixed: equal keys have equal fingerprints.
fn fingerprint(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let (head, tail) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
        _ => {
            let short = bytes
                .iter()
                .fold(0u64, |packed, &byte| (packed << 8) | u64::from(byte));
            (short, 0)
        }
    };
    let mixed = head ^ tail.rotate_left(29) ^ bytes.len() as u64;
    mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// [`duplicate_key`] for many keys: sorts indices by key, O(n log n).
fn duplicate_key_sorted<'p, V>(
    pairs: &'p [(Cow<'_, str>, V)],
    order: &mut Vec<usize>,
) -> Option<&'p str> {
    let key_at = |index: usize| pairs.get(index).map_or("", |(key, _)| key.as_ref());
    order.clear();
    order.extend(0..pairs.len());
    order.sort_unstable_by(|&left, &right| key_at(left).cmp(key_at(right)));
    order.windows(2).find_map(|window| match window {
        [left, right] if key_at(*left) == key_at(*right) => Some(key_at(*left)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::FieldValue;
    use super::*;

    #[test]
    fn duplicate_key_finds_repeats_on_both_paths() {
        let mut order = KeyScratch::default();
        let few: Vec<(Cow<'_, str>, ())> = ["a", "b", "a"]
            .into_iter()
            .map(|key| (Cow::Borrowed(key), ()))
            .collect();
        assert_eq!(duplicate_key(&few, &mut order), Some("a"));
        let mut many: Vec<(Cow<'_, str>, ())> = (0..100)
            .map(|index| (Cow::Owned(format!("k{index}")), ()))
            .collect();
        assert_eq!(duplicate_key(&many, &mut order), None);
        many.push((Cow::Borrowed("k42"), ()));
        assert_eq!(duplicate_key(&many, &mut order), Some("k42"));
    }

    #[test]
    fn field_value_type_is_kept() {
        let mut parser = LineParser::new();
        let raw = RawLine {
            number: 7,
            bytes: b"m a=1,b=2i,c=3u,d=t,e=\"x\"",
        };
        parser.parse(raw).expect("valid line");
        let values: Vec<&FieldValue<'_>> = parser.line.fields.iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                &FieldValue::Float(1.0),
                &FieldValue::Integer(2),
                &FieldValue::Unsigned(3),
                &FieldValue::Boolean(true),
                &FieldValue::String(Cow::Borrowed("x")),
            ]
        );
        assert_eq!(parser.line.line_number, 7);
    }
}
