//! What the engine writes into WAL records. A write record carries the series it creates
//! (id and key, so replay restores the same ids even after a resolved hash collision) and its
//! points with field names and typed values; a delete record carries the resolved series and
//! time range.
//!
//! ```text
//! write:  [1][new series: n × (u64 id, key)][field names: n × str][points: n × (u64 series, i64 time, n × (var name index, u8 type, value))]
//! delete: [2][str measurement][i64 min][i64 max][n × u64 series]
//! define: [3][str measurement][n × str tag key][n × (str field, u8 type)]
//! drop:   [4][str measurement][n × u64 series]
//! ```
//!
//! Kinds 5 to 9 are plain-table records, described in `table_record.rs`.
//!
//! A define record (SQL `CREATE TABLE`, `ALTER TABLE … ADD COLUMN`) adds tag keys and typed
//! fields to a measurement's schema, creating it if needed; a drop record (`DROP TABLE`)
//! removes the schema and hides every row of the listed series written before it.

use crate::batch::FieldRef;
use crate::binary::{ByteReader, ByteWriter, DecodeError, DecodeResult};
use crate::predicate::TimeRange;
use crate::schema::{FieldType, FieldValue};
use crate::series::{SeriesId, SeriesKey};
use crate::table_record::{self, TableRecord};

const WRITE: u8 = 1;
const DELETE: u8 = 2;
const DEFINE: u8 = 3;
const DROP: u8 = 4;

/// One point in a write record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WalPoint {
    pub(crate) series: SeriesId,
    pub(crate) timestamp_ns: i64,
    pub(crate) fields: Vec<(String, FieldValue)>,
}

/// A decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WalRecord {
    Write {
        new_series: Vec<(SeriesId, SeriesKey)>,
        points: Vec<WalPoint>,
    },
    Delete {
        measurement: String,
        series: Vec<SeriesId>,
        range: TimeRange,
    },
    Define {
        measurement: String,
        tag_keys: Vec<String>,
        fields: Vec<(String, FieldType)>,
    },
    Drop {
        measurement: String,
        series: Vec<SeriesId>,
    },
    /// A plain-table record (`table_record.rs`).
    Table(TableRecord),
}

/// Encodes a write record without building [`WalPoint`]s first (the hot path).
#[derive(Debug)]
pub(crate) struct WriteRecordEncoder {
    writer: ByteWriter,
    names: Vec<String>,
    name_positions: hashbrown::HashMap<String, u64>,
    points: ByteWriter,
    point_count: usize,
}

impl WriteRecordEncoder {
    pub(crate) fn new(new_series: &[(SeriesId, &SeriesKey)]) -> Self {
        let mut writer = ByteWriter::new();
        writer.u8(WRITE);
        writer.len_var(new_series.len());
        for (id, key) in new_series {
            writer.u64(id.0);
            key.write(&mut writer);
        }
        Self {
            writer,
            names: Vec::new(),
            name_positions: hashbrown::HashMap::new(),
            points: ByteWriter::new(),
            point_count: 0,
        }
    }

    pub(crate) fn point<'a>(
        &mut self,
        series: SeriesId,
        timestamp_ns: i64,
        fields: impl ExactSizeIterator<Item = (&'a str, FieldRef<'a>)>,
    ) {
        self.point_count += 1;
        self.points.u64(series.0);
        self.points.i64(timestamp_ns);
        self.points.len_var(fields.len());
        for (name, value) in fields {
            let next = self.names.len() as u64;
            let position = *self.name_positions.entry_ref(name).or_insert_with(|| {
                self.names.push(name.to_owned());
                next
            });
            self.points.var(position);
            write_value(&mut self.points, value);
        }
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.writer.len_var(self.names.len());
        self.names.iter().for_each(|name| self.writer.str(name));
        self.writer.len_var(self.point_count);
        self.writer.raw(&self.points.into_bytes());
        self.writer.into_bytes()
    }
}

pub(crate) fn encode_delete(measurement: &str, series: &[SeriesId], range: &TimeRange) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(DELETE);
    writer.str(measurement);
    writer.i64(range.min_ns);
    writer.i64(range.max_ns);
    writer.len_var(series.len());
    series.iter().for_each(|id| writer.u64(id.0));
    writer.into_bytes()
}

pub(crate) fn encode_define(
    measurement: &str,
    tag_keys: &[String],
    fields: &[(String, FieldType)],
) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(DEFINE);
    writer.str(measurement);
    writer.len_var(tag_keys.len());
    tag_keys.iter().for_each(|key| writer.str(key));
    writer.len_var(fields.len());
    for (name, field_type) in fields {
        writer.str(name);
        writer.u8(field_type.code());
    }
    writer.into_bytes()
}

pub(crate) fn encode_drop(measurement: &str, series: &[SeriesId]) -> Vec<u8> {
    let mut writer = ByteWriter::new();
    writer.u8(DROP);
    writer.str(measurement);
    writer.len_var(series.len());
    series.iter().for_each(|id| writer.u64(id.0));
    writer.into_bytes()
}

fn write_value(writer: &mut ByteWriter, value: FieldRef<'_>) {
    writer.u8(value.field_type().code());
    match value {
        FieldRef::Float(v) => writer.f64(v),
        FieldRef::Integer(v) => writer.i64(v),
        FieldRef::Unsigned(v) => writer.u64(v),
        FieldRef::Boolean(v) => writer.u8(u8::from(v)),
        FieldRef::String(v) => writer.str(v),
    }
}

fn read_value(reader: &mut ByteReader<'_>) -> DecodeResult<FieldValue> {
    let code = reader.u8()?;
    let field_type = FieldType::from_code(code)
        .ok_or_else(|| DecodeError(format!("unknown field type code {code}")))?;
    Ok(match field_type {
        FieldType::Float => FieldValue::Float(reader.f64()?),
        FieldType::Integer => FieldValue::Integer(reader.i64()?),
        FieldType::Unsigned => FieldValue::Unsigned(reader.u64()?),
        FieldType::Boolean => FieldValue::Boolean(reader.u8()? != 0),
        FieldType::String => FieldValue::String(reader.string()?),
    })
}

impl WalRecord {
    pub(crate) fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut reader = ByteReader::new(bytes);
        let record = match reader.u8()? {
            WRITE => Self::decode_write(&mut reader)?,
            DELETE => {
                let measurement = reader.string()?;
                let range = TimeRange::new(reader.i64()?, reader.i64()?);
                let count = reader.len_var(8)?;
                let series = (0..count)
                    .map(|_| reader.u64().map(SeriesId))
                    .collect::<DecodeResult<_>>()?;
                Self::Delete {
                    measurement,
                    series,
                    range,
                }
            }
            DEFINE => Self::decode_define(&mut reader)?,
            DROP => {
                let measurement = reader.string()?;
                let count = reader.len_var(8)?;
                let series = (0..count)
                    .map(|_| reader.u64().map(SeriesId))
                    .collect::<DecodeResult<_>>()?;
                Self::Drop {
                    measurement,
                    series,
                }
            }
            kind @ table_record::TABLES..=table_record::TRUNCATE => {
                Self::Table(TableRecord::decode(kind, &mut reader)?)
            }
            kind => return Err(DecodeError(format!("unknown WAL record kind {kind}"))),
        };
        if !reader.is_empty() {
            return Err(DecodeError("trailing bytes in WAL record".into()));
        }
        Ok(record)
    }

    fn decode_define(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let measurement = reader.string()?;
        let tag_count = reader.len_var(1)?;
        let tag_keys = (0..tag_count)
            .map(|_| reader.string())
            .collect::<DecodeResult<_>>()?;
        let field_count = reader.len_var(2)?;
        let mut fields = Vec::with_capacity(field_count);
        for _ in 0..field_count {
            let name = reader.string()?;
            let code = reader.u8()?;
            let field_type = FieldType::from_code(code)
                .ok_or_else(|| DecodeError(format!("unknown field type code {code}")))?;
            fields.push((name, field_type));
        }
        Ok(Self::Define {
            measurement,
            tag_keys,
            fields,
        })
    }

    fn decode_write(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let series_count = reader.len_var(10)?;
        let mut new_series = Vec::with_capacity(series_count);
        for _ in 0..series_count {
            new_series.push((SeriesId(reader.u64()?), SeriesKey::read(reader)?));
        }
        let name_count = reader.len_var(1)?;
        let names = (0..name_count)
            .map(|_| reader.string())
            .collect::<DecodeResult<Vec<_>>>()?;
        let point_count = reader.len_var(17)?;
        let mut points = Vec::with_capacity(point_count);
        for _ in 0..point_count {
            let series = SeriesId(reader.u64()?);
            let timestamp_ns = reader.i64()?;
            let field_count = reader.len_var(2)?;
            let mut fields = Vec::with_capacity(field_count);
            for _ in 0..field_count {
                let position = usize::try_from(reader.var()?).unwrap_or(usize::MAX);
                let name = names
                    .get(position)
                    .ok_or_else(|| DecodeError("bad field name index".into()))?;
                fields.push((name.clone(), read_value(reader)?));
            }
            points.push(WalPoint {
                series,
                timestamp_ns,
                fields,
            });
        }
        Ok(Self::Write { new_series, points })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_delete_records_round_trip() {
        let key = SeriesKey::new("cpu", &[("host".into(), "a".into())]);
        let mut encoder = WriteRecordEncoder::new(&[(SeriesId(5), &key)]);
        let fields = vec![
            (
                "f".to_string(),
                FieldValue::Float(f64::from_bits(0x7ff8_0000_0000_0001)),
            ),
            ("i".to_string(), FieldValue::Integer(i64::MIN)),
            ("u".to_string(), FieldValue::Unsigned(u64::MAX)),
            ("b".to_string(), FieldValue::Boolean(true)),
            ("s".to_string(), FieldValue::String("é".into())),
        ];
        fn refs(
            fields: &[(String, FieldValue)],
        ) -> impl ExactSizeIterator<Item = (&str, FieldRef<'_>)> {
            fields
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_ref()))
        }
        encoder.point(SeriesId(5), -1, refs(&fields));
        encoder.point(SeriesId(5), 2, refs(&fields[1..2]));
        let bytes = encoder.finish();
        let WalRecord::Write { new_series, points } = WalRecord::decode(&bytes).unwrap() else {
            panic!("not a write");
        };
        assert_eq!(new_series, vec![(SeriesId(5), key)]);
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].timestamp_ns, -1);
        assert!(
            points[0]
                .fields
                .iter()
                .zip(fields.iter())
                .all(|(a, b)| a.0 == b.0 && a.1.same_as(&b.1))
        );
        assert_eq!(points[1].fields, fields[1..2].to_vec());
        for cut in 0..bytes.len() {
            assert!(WalRecord::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let delete = encode_delete("cpu", &[SeriesId(1)], &TimeRange::new(3, 4));
        assert_eq!(
            WalRecord::decode(&delete).unwrap(),
            WalRecord::Delete {
                measurement: "cpu".into(),
                series: vec![SeriesId(1)],
                range: TimeRange::new(3, 4),
            }
        );
    }

    #[test]
    fn define_and_drop_records_round_trip_and_refuse_truncation() {
        let fields = vec![
            ("usage".to_string(), FieldType::Float),
            ("note".to_string(), FieldType::String),
        ];
        let define = encode_define("cpu", &["host".to_string()], &fields);
        assert_eq!(
            WalRecord::decode(&define).unwrap(),
            WalRecord::Define {
                measurement: "cpu".into(),
                tag_keys: vec!["host".into()],
                fields,
            }
        );
        let drop = encode_drop("cpu", &[SeriesId(7), SeriesId(9)]);
        assert_eq!(
            WalRecord::decode(&drop).unwrap(),
            WalRecord::Drop {
                measurement: "cpu".into(),
                series: vec![SeriesId(7), SeriesId(9)],
            }
        );
        for bytes in [&define, &drop] {
            for cut in 0..bytes.len() {
                assert!(WalRecord::decode(&bytes[..cut]).is_err(), "cut {cut}");
            }
        }
    }
}
