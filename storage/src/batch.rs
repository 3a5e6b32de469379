//! [`PointBatch`]: points packed for writing. Names, tag values and string fields of the
//! whole batch live in one text buffer and the points, tags and fields in three flat vectors
//! of offsets, so packing a batch of any size makes a handful of allocations instead of
//! several per point. The HTTP ingest path packs parsed lines straight into a batch; the
//! engine reads it through borrowed [`PointView`]s.

use crate::error::{Error, Result};
use crate::point::Point;
use crate::schema::{FieldType, FieldValue};

/// A field value borrowed from a batch (or from a [`FieldValue`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldRef<'a> {
    /// A float.
    Float(f64),
    /// A signed integer.
    Integer(i64),
    /// An unsigned integer.
    Unsigned(u64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(&'a str),
}

impl FieldRef<'_> {
    /// The type of this value.
    pub fn field_type(&self) -> FieldType {
        match self {
            Self::Float(_) => FieldType::Float,
            Self::Integer(_) => FieldType::Integer,
            Self::Unsigned(_) => FieldType::Unsigned,
            Self::Boolean(_) => FieldType::Boolean,
            Self::String(_) => FieldType::String,
        }
    }

    /// An owned copy.
    pub fn to_value(&self) -> FieldValue {
        match self {
            Self::Float(v) => FieldValue::Float(*v),
            Self::Integer(v) => FieldValue::Integer(*v),
            Self::Unsigned(v) => FieldValue::Unsigned(*v),
            Self::Boolean(v) => FieldValue::Boolean(*v),
            Self::String(v) => FieldValue::String((*v).to_owned()),
        }
    }
}

impl FieldValue {
    /// This value, borrowed.
    pub fn as_ref(&self) -> FieldRef<'_> {
        match self {
            Self::Float(v) => FieldRef::Float(*v),
            Self::Integer(v) => FieldRef::Integer(*v),
            Self::Unsigned(v) => FieldRef::Unsigned(*v),
            Self::Boolean(v) => FieldRef::Boolean(*v),
            Self::String(v) => FieldRef::String(v),
        }
    }
}

/// A piece of the batch's text: start and end byte offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PackedValue {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    String(Span),
}

/// One point: its measurement and where its tags and fields end in the flat vectors (they
/// start where the previous point's end).
#[derive(Debug, Clone, Copy, PartialEq)]
struct PackedPoint {
    measurement: Span,
    tags_end: u32,
    fields_end: u32,
    timestamp_ns: i64,
}

/// Points packed for writing; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointBatch {
    text: String,
    points: Vec<PackedPoint>,
    tags: Vec<(Span, Span)>,
    fields: Vec<(Span, PackedValue)>,
}

impl PointBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `points` points and `text_bytes` bytes of names and
    /// strings.
    pub fn with_capacity(points: usize, text_bytes: usize) -> Self {
        Self {
            text: String::with_capacity(text_bytes),
            points: Vec::with_capacity(points),
            tags: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Packs the points of a slice.
    pub fn from_points(points: &[Point]) -> Result<Self> {
        let mut batch = Self::new();
        for point in points {
            batch.push(
                &point.measurement,
                point.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                point.fields.iter().map(|(k, v)| (k.as_str(), v.as_ref())),
                point.timestamp_ns,
            )?;
        }
        Ok(batch)
    }

    /// Appends a point. Names and values are checked when the batch is written, not here;
    /// the only error is a batch whose text or point count outgrows 32-bit offsets (4 GiB).
    pub fn push<'a>(
        &mut self,
        measurement: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
        fields: impl IntoIterator<Item = (&'a str, FieldRef<'a>)>,
        timestamp_ns: i64,
    ) -> Result<()> {
        let text_len = self.text.len();
        let tags_len = self.tags.len();
        let fields_len = self.fields.len();
        let packed = self.pack(measurement, tags, fields, timestamp_ns);
        if packed.is_none() {
            // Undo the partial point so the batch stays consistent.
            self.text.truncate(text_len);
            self.tags.truncate(tags_len);
            self.fields.truncate(fields_len);
            return Err(Error::InvalidWrite {
                reason: "write batch exceeds 4 GiB of names and strings".to_owned(),
            });
        }
        Ok(())
    }

    fn pack<'a>(
        &mut self,
        measurement: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
        fields: impl IntoIterator<Item = (&'a str, FieldRef<'a>)>,
        timestamp_ns: i64,
    ) -> Option<()> {
        let measurement = self.add_text(measurement)?;
        for (key, value) in tags {
            let key = self.add_text(key)?;
            let value = self.add_text(value)?;
            self.tags.push((key, value));
        }
        for (name, value) in fields {
            let name = self.add_text(name)?;
            let value = match value {
                FieldRef::Float(v) => PackedValue::Float(v),
                FieldRef::Integer(v) => PackedValue::Integer(v),
                FieldRef::Unsigned(v) => PackedValue::Unsigned(v),
                FieldRef::Boolean(v) => PackedValue::Boolean(v),
                FieldRef::String(v) => PackedValue::String(self.add_text(v)?),
            };
            self.fields.push((name, value));
        }
        self.points.push(PackedPoint {
            measurement,
            tags_end: u32::try_from(self.tags.len()).ok()?,
            fields_end: u32::try_from(self.fields.len()).ok()?,
            timestamp_ns,
        });
        Some(())
    }

    fn add_text(&mut self, text: &str) -> Option<Span> {
        let start = u32::try_from(self.text.len()).ok()?;
        self.text.push_str(text);
        let end = u32::try_from(self.text.len()).ok()?;
        Some(Span { start, end })
    }

    /// Points in the batch.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the batch has no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Point `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<PointView<'_>> {
        (index < self.points.len()).then_some(PointView { batch: self, index })
    }

    /// The points, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = PointView<'_>> {
        (0..self.points.len()).map(|index| PointView { batch: self, index })
    }

    fn text(&self, span: Span) -> &str {
        let range = usize::try_from(span.start).unwrap_or(usize::MAX)
            ..usize::try_from(span.end).unwrap_or(usize::MAX);
        self.text.get(range).unwrap_or_default()
    }
}

/// A point of a [`PointBatch`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct PointView<'a> {
    batch: &'a PointBatch,
    index: usize,
}

impl<'a> PointView<'a> {
    fn packed(&self) -> PackedPoint {
        self.batch
            .points
            .get(self.index)
            .copied()
            .unwrap_or(PackedPoint {
                measurement: Span { start: 0, end: 0 },
                tags_end: 0,
                fields_end: 0,
                timestamp_ns: 0,
            })
    }

    /// Where this point's tags and fields start: where the previous point's end.
    fn starts(&self) -> (usize, usize) {
        let previous = self
            .index
            .checked_sub(1)
            .and_then(|i| self.batch.points.get(i));
        previous.map_or((0, 0), |p| (to_usize(p.tags_end), to_usize(p.fields_end)))
    }

    /// The measurement.
    pub fn measurement(&self) -> &'a str {
        self.batch.text(self.packed().measurement)
    }

    /// The tags, in the order written.
    pub fn tags(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + use<'a> {
        let batch = self.batch;
        let (start, _) = self.starts();
        let end = to_usize(self.packed().tags_end);
        batch
            .tags
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(move |(key, value)| (batch.text(*key), batch.text(*value)))
    }

    /// The fields, in the order written.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&'a str, FieldRef<'a>)> + use<'a> {
        let batch = self.batch;
        let (_, start) = self.starts();
        let end = to_usize(self.packed().fields_end);
        batch
            .fields
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(move |(name, value)| {
                let value = match value {
                    PackedValue::Float(v) => FieldRef::Float(*v),
                    PackedValue::Integer(v) => FieldRef::Integer(*v),
                    PackedValue::Unsigned(v) => FieldRef::Unsigned(*v),
                    PackedValue::Boolean(v) => FieldRef::Boolean(*v),
                    PackedValue::String(span) => FieldRef::String(batch.text(*span)),
                };
                (batch.text(*name), value)
            })
    }

    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub fn timestamp_ns(&self) -> i64 {
        self.packed().timestamp_ns
    }

    /// An owned copy.
    pub fn to_point(&self) -> Point {
        Point {
            measurement: self.measurement().to_owned(),
            tags: self
                .tags()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            fields: self
                .fields()
                .map(|(k, v)| (k.to_owned(), v.to_value()))
                .collect(),
            timestamp_ns: self.timestamp_ns(),
        }
    }
}

fn to_usize(offset: u32) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(measurement: &str, tags: &[(&str, &str)], fields: Vec<(&str, FieldValue)>) -> Point {
        Point {
            measurement: measurement.to_owned(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            timestamp_ns: -5,
        }
    }

    #[test]
    fn points_round_trip_through_a_batch() {
        let points = vec![
            point(
                "cpu",
                &[("host", "a"), ("region", "eu")],
                vec![
                    ("usage", FieldValue::Float(-0.5)),
                    ("note", FieldValue::String("hé \"x\"".into())),
                ],
            ),
            point("mem", &[], vec![("free", FieldValue::Unsigned(u64::MAX))]),
            point(
                "",
                &[("k", "")],
                vec![
                    ("ok", FieldValue::Boolean(true)),
                    ("n", FieldValue::Integer(i64::MIN)),
                ],
            ),
        ];
        let batch = PointBatch::from_points(&points).unwrap();
        assert_eq!(batch.len(), 3);
        let back: Vec<Point> = batch.iter().map(|view| view.to_point()).collect();
        assert_eq!(back, points);
        assert_eq!(batch.get(1).unwrap().measurement(), "mem");
        assert_eq!(batch.get(1).unwrap().tags().len(), 0);
        assert!(batch.get(3).is_none());
    }
}
