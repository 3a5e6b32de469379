//! Writes a segment: series runs in, one immutable file out. The file is written under a
//! temporary name, fsynced, then renamed into place and the directory fsynced, so a crash
//! leaves either no segment or a whole one. Debug builds decode every block they wrote.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::format::{
    BlockRef, BlockStats, Chunk, ColumnChunk, SegmentFooter, SegmentHeader, SegmentMeasurement,
    SegmentSeries,
};
use super::{MAGIC, TRAILER_MAGIC};
use crate::binary::ByteWriter;
use crate::bloom::{self, BloomFilter};
use crate::codec;
use crate::error::{Error, Result};
use crate::limits::BLOCK_ROWS_MAX;
use crate::run::{Column, ColumnValues, Run};
use crate::schema::MeasurementSchema;
use crate::series::{SeriesId, SeriesKey};

/// Builds one segment file.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    temporary_path: PathBuf,
    final_path: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    footer: SegmentFooter,
    measurement_positions: HashMap<String, u32>,
    bloom_items: HashSet<Vec<u8>>,
    last_series: Option<SeriesId>,
}

impl SegmentWriter {
    pub(crate) fn create(final_path: &Path, header: SegmentHeader) -> Result<Self> {
        let temporary_path = final_path.with_extension("seg.tmp");
        let file = File::create(&temporary_path)
            .map_err(Error::io("creating segment", &temporary_path))?;
        let mut writer = Self {
            temporary_path,
            final_path: final_path.to_owned(),
            out: BufWriter::with_capacity(1 << 20, file),
            offset: 0,
            footer: SegmentFooter {
                header,
                rows: 0,
                min_ns: i64::MAX,
                max_ns: i64::MIN,
                measurements: Vec::new(),
                series: Vec::new(),
                bloom: BloomFilter::with_capacity(1),
            },
            measurement_positions: HashMap::new(),
            bloom_items: HashSet::new(),
            last_series: None,
        };
        writer.write_bytes(MAGIC)?;
        Ok(writer)
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<BlockRef> {
        let offset = self.offset;
        self.out
            .write_all(bytes)
            .map_err(Error::io("writing segment", &self.temporary_path))?;
        self.offset += bytes.len() as u64;
        let length = u32::try_from(bytes.len()).map_err(|_| Error::LimitExceeded {
            what: "segment block bytes",
            value: bytes.len() as u64,
            limit: u64::from(u32::MAX),
        })?;
        Ok(BlockRef {
            offset,
            length,
            crc: crc32fast::hash(bytes),
        })
    }

    fn measurement_position(&mut self, schema: &MeasurementSchema) -> u32 {
        if let Some(position) = self.measurement_positions.get(&schema.name) {
            return *position;
        }
        let position = u32::try_from(self.footer.measurements.len()).expect("measurements fit u32");
        self.footer.measurements.push(SegmentMeasurement {
            name: schema.name.clone(),
            fields: schema.fields.clone(),
        });
        self.measurement_positions
            .insert(schema.name.clone(), position);
        position
    }

    /// Adds one series. Series must come in increasing id order; `run.columns` is indexed
    /// like `schema.fields`, and `run` is sorted by time without duplicates.
    pub(crate) fn add_series(
        &mut self,
        schema: &MeasurementSchema,
        id: SeriesId,
        key: &SeriesKey,
        run: &Run,
    ) -> Result<()> {
        assert!(
            self.last_series < Some(id),
            "series must be added in increasing id order"
        );
        debug_assert!(
            run.timestamps
                .windows(2)
                .all(|pair| pair.first() < pair.last())
        );
        if run.is_empty() {
            return Ok(());
        }
        self.last_series = Some(id);
        let measurement = self.measurement_position(schema);
        self.bloom_items.insert(bloom::series_item(id.0).to_vec());
        for (tag_key, tag_value) in &key.tags {
            self.bloom_items
                .insert(bloom::tag_item(&schema.name, tag_key, tag_value));
        }
        let mut chunks = Vec::new();
        for start in (0..run.len()).step_by(BLOCK_ROWS_MAX) {
            let end = (start + BLOCK_ROWS_MAX).min(run.len());
            chunks.push(self.write_chunk(run, start, end)?);
        }
        self.footer.series.push(SegmentSeries {
            id,
            measurement,
            chunks,
        });
        Ok(())
    }

    fn write_chunk(&mut self, run: &Run, start: usize, end: usize) -> Result<Chunk> {
        let timestamps = run.timestamps.get(start..end).expect("chunk within run");
        let mut encoded = Vec::new();
        codec::timestamp::encode(timestamps, &mut encoded);
        debug_assert_decodes_timestamps(&encoded, timestamps);
        let time = self.write_bytes(&encoded)?;
        let (min_ns, max_ns) = (timestamps.first().copied(), timestamps.last().copied());
        let (min_ns, max_ns) = (min_ns.unwrap_or_default(), max_ns.unwrap_or_default());
        self.footer.rows += timestamps.len() as u64;
        self.footer.min_ns = self.footer.min_ns.min(min_ns);
        self.footer.max_ns = self.footer.max_ns.max(max_ns);
        let mut columns = Vec::new();
        for (field, column) in run.columns.iter().enumerate() {
            let Some(column) = column else { continue };
            let Some((bytes, present, stats)) = encode_column(column, start, end) else {
                continue;
            };
            let block = self.write_bytes(&bytes)?;
            let field = u32::try_from(field).expect("fields fit u32");
            columns.push(ColumnChunk {
                field,
                present,
                block,
                stats,
            });
        }
        let rows = u32::try_from(timestamps.len()).expect("chunk rows bounded by BLOCK_ROWS_MAX");
        Ok(Chunk {
            rows,
            min_ns,
            max_ns,
            time,
            columns,
        })
    }

    /// Writes the footer and trailer, fsyncs, renames into place and fsyncs the directory.
    pub(crate) fn finish(mut self) -> Result<SegmentFooter> {
        let mut bloom = BloomFilter::with_capacity(self.bloom_items.len());
        self.bloom_items.iter().for_each(|item| bloom.insert(item));
        self.footer.bloom = bloom;
        let mut footer = ByteWriter::new();
        self.footer.write(&mut footer);
        let footer = footer.into_bytes();
        let footer_ref = self.write_bytes(&footer)?;
        let mut trailer = ByteWriter::new();
        trailer.u64(footer_ref.offset);
        trailer.u32(footer_ref.length);
        trailer.u32(footer_ref.crc);
        trailer.raw(TRAILER_MAGIC);
        self.write_bytes(&trailer.into_bytes())?;
        let path = self.temporary_path.clone();
        let file = self.out.into_inner().map_err(|e| Error::Io {
            operation: "flushing segment",
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all()
            .map_err(Error::io("syncing segment", &path))?;
        std::fs::rename(&path, &self.final_path).map_err(Error::io("renaming segment", &path))?;
        crate::fs::sync_parent(&self.final_path)?;
        Ok(self.footer)
    }
}

/// Encodes rows `start..end` of a column: `[u8 flags][validity?][values]`. Returns `None`
/// when no row has a value. Flags bit 0: a validity bitmap follows (some rows are null).
fn encode_column(column: &Column, start: usize, end: usize) -> Option<(Vec<u8>, u32, BlockStats)> {
    let valid = column.valid.get(start..end)?;
    let present = valid.iter().filter(|v| **v).count();
    if present == 0 {
        return None;
    }
    let mut out = Vec::new();
    if present == valid.len() {
        out.push(0);
    } else {
        out.push(1);
        let mut bitmap = Vec::new();
        codec::boolean::encode(valid, &mut bitmap);
        let mut length = ByteWriter::new();
        length.len_var(bitmap.len());
        out.extend_from_slice(&length.into_bytes());
        out.extend_from_slice(&bitmap);
    }
    let stats = encode_values(&column.values, valid, start, end, &mut out);
    let present = u32::try_from(present).expect("chunk rows bounded by BLOCK_ROWS_MAX");
    Some((out, present, stats))
}

fn present<T: Clone>(values: &[T], valid: &[bool], start: usize, end: usize) -> Vec<T> {
    let values = values.get(start..end).unwrap_or_default();
    values
        .iter()
        .zip(valid)
        .filter(|(_, v)| **v)
        .map(|(value, _)| value.clone())
        .collect()
}

fn encode_values(
    values: &ColumnValues,
    valid: &[bool],
    start: usize,
    end: usize,
    out: &mut Vec<u8>,
) -> BlockStats {
    match values {
        ColumnValues::Float(values) => {
            let values = present(values, valid, start, end);
            codec::float::encode(&values, out);
            let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
            values
                .iter()
                .for_each(|v| (min, max) = (min.min(*v), max.max(*v)));
            BlockStats::Float {
                min,
                max,
                sum: values.iter().sum(),
            }
        }
        ColumnValues::Integer(values) => {
            let values = present(values, valid, start, end);
            codec::integer::encode_i64(&values, out);
            let (min, max) = min_max(&values);
            BlockStats::Integer {
                min,
                max,
                sum: values.iter().map(|v| i128::from(*v)).sum(),
            }
        }
        ColumnValues::Unsigned(values) => {
            let values = present(values, valid, start, end);
            codec::integer::encode_u64(&values, out);
            let (min, max) = min_max(&values);
            BlockStats::Unsigned {
                min,
                max,
                sum: values.iter().map(|v| u128::from(*v)).sum(),
            }
        }
        ColumnValues::Boolean(values) => {
            let values = present(values, valid, start, end);
            codec::boolean::encode(&values, out);
            let trues = values.iter().filter(|v| **v).count();
            BlockStats::Boolean {
                trues: u32::try_from(trues).expect("bounded by block rows"),
            }
        }
        ColumnValues::String(values) => {
            let values = present(values, valid, start, end);
            codec::string::encode(&values, out);
            BlockStats::String
        }
    }
}

fn min_max<T: Copy + Ord + Default>(values: &[T]) -> (T, T) {
    let min = values.iter().min().copied().unwrap_or_default();
    let max = values.iter().max().copied().unwrap_or_default();
    (min, max)
}

fn debug_assert_decodes_timestamps(encoded: &[u8], expected: &[i64]) {
    if cfg!(debug_assertions) {
        let mut decoded = Vec::new();
        let result = codec::timestamp::decode(encoded, &mut decoded);
        debug_assert!(
            result.is_ok() && decoded == expected,
            "timestamp block does not decode"
        );
    }
}
