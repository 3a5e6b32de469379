//! The segment footer: what the file holds and where, with statistics per block.

use crate::binary::{ByteReader, ByteWriter, DecodeError, DecodeResult};
use crate::bloom::BloomFilter;
use crate::schema::{FieldSchema, FieldType};
use crate::series::SeriesId;

/// Identity of a segment within the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    /// Start of the time partition the segment belongs to.
    pub(crate) partition_start_ns: i64,
    /// Smallest and largest WAL sequence whose data the segment holds.
    pub(crate) min_sequence: u64,
    pub(crate) max_sequence: u64,
}

/// Where a block lives and its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockRef {
    pub(crate) offset: u64,
    pub(crate) length: u32,
    pub(crate) crc: u32,
}

/// Statistics over the present values of one column block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BlockStats {
    /// NaN values are left out of min and max, not out of the sum.
    Float {
        min: f64,
        max: f64,
        sum: f64,
    },
    Integer {
        min: i64,
        max: i64,
        sum: i128,
    },
    Unsigned {
        min: u64,
        max: u64,
        sum: u128,
    },
    Boolean {
        trues: u32,
    },
    String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnChunk {
    /// Index into the segment measurement's field list.
    pub(crate) field: u32,
    /// Rows with a value.
    pub(crate) present: u32,
    pub(crate) block: BlockRef,
    pub(crate) stats: BlockStats,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chunk {
    pub(crate) rows: u32,
    pub(crate) min_ns: i64,
    pub(crate) max_ns: i64,
    pub(crate) time: BlockRef,
    pub(crate) columns: Vec<ColumnChunk>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SegmentSeries {
    pub(crate) id: SeriesId,
    /// Index into the footer's measurement list.
    pub(crate) measurement: u32,
    pub(crate) chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SegmentMeasurement {
    pub(crate) name: String,
    pub(crate) fields: Vec<FieldSchema>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SegmentFooter {
    pub(crate) header: SegmentHeader,
    pub(crate) rows: u64,
    pub(crate) min_ns: i64,
    pub(crate) max_ns: i64,
    pub(crate) measurements: Vec<SegmentMeasurement>,
    pub(crate) series: Vec<SegmentSeries>,
    pub(crate) bloom: BloomFilter,
}

impl BlockRef {
    fn write(&self, writer: &mut ByteWriter) {
        writer.u64(self.offset);
        writer.u32(self.length);
        writer.u32(self.crc);
    }

    fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        Ok(Self {
            offset: reader.u64()?,
            length: reader.u32()?,
            crc: reader.u32()?,
        })
    }
}

impl BlockStats {
    fn write(&self, writer: &mut ByteWriter) {
        match *self {
            Self::Float { min, max, sum } => {
                writer.u8(0);
                writer.f64(min);
                writer.f64(max);
                writer.f64(sum);
            }
            Self::Integer { min, max, sum } => {
                writer.u8(1);
                writer.i64(min);
                writer.i64(max);
                writer.raw(&sum.to_le_bytes());
            }
            Self::Unsigned { min, max, sum } => {
                writer.u8(2);
                writer.u64(min);
                writer.u64(max);
                writer.raw(&sum.to_le_bytes());
            }
            Self::Boolean { trues } => {
                writer.u8(3);
                writer.u32(trues);
            }
            Self::String => writer.u8(4),
        }
    }

    fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let wide = |reader: &mut ByteReader<'_>| -> DecodeResult<[u8; 16]> {
            Ok(reader.take(16)?.try_into().expect("took 16 bytes"))
        };
        Ok(match reader.u8()? {
            0 => Self::Float {
                min: reader.f64()?,
                max: reader.f64()?,
                sum: reader.f64()?,
            },
            1 => Self::Integer {
                min: reader.i64()?,
                max: reader.i64()?,
                sum: i128::from_le_bytes(wide(reader)?),
            },
            2 => Self::Unsigned {
                min: reader.u64()?,
                max: reader.u64()?,
                sum: u128::from_le_bytes(wide(reader)?),
            },
            3 => Self::Boolean {
                trues: reader.u32()?,
            },
            4 => Self::String,
            tag => return Err(DecodeError(format!("unknown statistics tag {tag}"))),
        })
    }
}

impl Chunk {
    fn write(&self, writer: &mut ByteWriter) {
        writer.u32(self.rows);
        writer.i64(self.min_ns);
        writer.i64(self.max_ns);
        self.time.write(writer);
        writer.len_var(self.columns.len());
        for column in &self.columns {
            writer.u32(column.field);
            writer.u32(column.present);
            column.block.write(writer);
            column.stats.write(writer);
        }
    }

    fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let (rows, min_ns, max_ns) = (reader.u32()?, reader.i64()?, reader.i64()?);
        let time = BlockRef::read(reader)?;
        let count = reader.len_var(25)?;
        let mut columns = Vec::with_capacity(count);
        for _ in 0..count {
            columns.push(ColumnChunk {
                field: reader.u32()?,
                present: reader.u32()?,
                block: BlockRef::read(reader)?,
                stats: BlockStats::read(reader)?,
            });
        }
        Ok(Self {
            rows,
            min_ns,
            max_ns,
            time,
            columns,
        })
    }
}

impl SegmentFooter {
    pub(crate) fn write(&self, writer: &mut ByteWriter) {
        writer.i64(self.header.partition_start_ns);
        writer.u64(self.header.min_sequence);
        writer.u64(self.header.max_sequence);
        writer.u64(self.rows);
        writer.i64(self.min_ns);
        writer.i64(self.max_ns);
        writer.len_var(self.measurements.len());
        for measurement in &self.measurements {
            writer.str(&measurement.name);
            writer.len_var(measurement.fields.len());
            for field in &measurement.fields {
                writer.str(&field.name);
                writer.u8(field.field_type.code());
            }
        }
        writer.len_var(self.series.len());
        for series in &self.series {
            writer.u64(series.id.0);
            writer.u32(series.measurement);
            writer.len_var(series.chunks.len());
            series.chunks.iter().for_each(|chunk| chunk.write(writer));
        }
        self.bloom.write(writer);
    }

    pub(crate) fn read(reader: &mut ByteReader<'_>) -> DecodeResult<Self> {
        let header = SegmentHeader {
            partition_start_ns: reader.i64()?,
            min_sequence: reader.u64()?,
            max_sequence: reader.u64()?,
        };
        let (rows, min_ns, max_ns) = (reader.u64()?, reader.i64()?, reader.i64()?);
        let measurements = read_measurements(reader)?;
        let count = reader.len_var(13)?;
        let mut series = Vec::with_capacity(count);
        for _ in 0..count {
            let id = SeriesId(reader.u64()?);
            let measurement = reader.u32()?;
            if usize::try_from(measurement).map_or(true, |m| m >= measurements.len()) {
                return Err(DecodeError(format!(
                    "series {id} names measurement {measurement}"
                )));
            }
            let chunk_count = reader.len_var(40)?;
            let chunks = (0..chunk_count)
                .map(|_| Chunk::read(reader))
                .collect::<Result<_, _>>()?;
            series.push(SegmentSeries {
                id,
                measurement,
                chunks,
            });
        }
        let bloom = BloomFilter::read(reader)?;
        Ok(Self {
            header,
            rows,
            min_ns,
            max_ns,
            measurements,
            series,
            bloom,
        })
    }
}

fn read_measurements(reader: &mut ByteReader<'_>) -> DecodeResult<Vec<SegmentMeasurement>> {
    let count = reader.len_var(2)?;
    let mut measurements = Vec::with_capacity(count);
    for _ in 0..count {
        let name = reader.string()?;
        let field_count = reader.len_var(2)?;
        let mut fields = Vec::with_capacity(field_count);
        for _ in 0..field_count {
            let field_name = reader.string()?;
            let code = reader.u8()?;
            let field_type = FieldType::from_code(code)
                .ok_or_else(|| DecodeError(format!("unknown field type code {code}")))?;
            fields.push(FieldSchema {
                name: field_name,
                field_type,
            });
        }
        measurements.push(SegmentMeasurement { name, fields });
    }
    Ok(measurements)
}
