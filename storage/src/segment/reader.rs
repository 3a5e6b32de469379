//! Reads a segment: the footer once at open (checksum, magic, structure verified), then
//! blocks on demand with positioned reads, each verified against its CRC32, its declared
//! count and, for timestamps, strict time order before its values are used.

use hashbrown::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::format::{BlockRef, Chunk, SegmentFooter, SegmentSeries};
use super::{MAGIC, TRAILER_BYTES, TRAILER_MAGIC};
use crate::binary::ByteReader;
use crate::bloom;
use crate::codec::{self, CodecError};
use crate::error::{Error, Result};
use crate::filter::{ResolvedFilter, passing_rows};
use crate::limits::SEGMENT_FOOTER_BYTES_MAX;
use crate::predicate::TimeRange;
use crate::run::{Column, ColumnValues, Run};
use crate::schema::{FieldIndex, FieldType};
use crate::series::SeriesId;

/// A field a scan wants: its index in the measurement schema, its name and type.
pub(crate) type ProjectedField<'a> = (FieldIndex, &'a str, FieldType);

/// Counts of what a read touched, for `EXPLAIN`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ChunkCounts {
    pub(crate) read: u64,
    pub(crate) skipped: u64,
    /// Chunks skipped because no row could pass the field filters.
    pub(crate) filtered: u64,
}

/// Field filters a read may use to skip whole chunks, and the time spans of the series in
/// the scan's other sources. A chunk whose time span overlaps another source's is never
/// skipped by a filter: its rows may merge with newer ones into rows that pass.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ChunkFilter<'a> {
    pub(crate) filters: &'a [ResolvedFilter],
    pub(crate) other_spans: &'a [(i64, i64)],
}

impl ChunkFilter<'_> {
    fn applies_to(&self, chunk: &Chunk) -> bool {
        !self.filters.is_empty()
            && !self
                .other_spans
                .iter()
                .any(|(min, max)| *min <= chunk.max_ns && chunk.min_ns <= *max)
    }

    /// Whether a filter rules the chunk out by its columns' statistics (a field absent
    /// from the chunk is null in every row).
    fn rules_out(&self, chunk: &Chunk, field_of: impl Fn(&str) -> Option<u32>) -> bool {
        self.filters.iter().any(|filter| {
            let column = field_of(&filter.name)
                .and_then(|field| chunk.columns.iter().find(|c| c.field == field));
            match column {
                Some(column) => filter.rules_out_block(&column.stats, column.present),
                None => true,
            }
        })
    }
}

/// An open, verified segment.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    id: u64,
    path: PathBuf,
    file: File,
    bytes: u64,
    footer: SegmentFooter,
    series_positions: HashMap<SeriesId, usize>,
    /// Per segment measurement: field name → (index in its field list, stored type).
    field_positions: Vec<HashMap<String, (u32, FieldType)>>,
}

impl SegmentReader {
    pub(crate) fn open(path: &Path, id: u64) -> Result<Self> {
        let file = File::open(path).map_err(Error::io("opening segment", path))?;
        let bytes = file
            .metadata()
            .map_err(Error::io("reading segment metadata", path))?
            .len();
        let corrupt = |offset: u64, reason: String| Error::Corrupt {
            what: "segment",
            path: path.to_owned(),
            offset,
            reason,
        };
        if bytes < MAGIC.len() as u64 + TRAILER_BYTES {
            return Err(corrupt(
                0,
                format!("{bytes} bytes is too short for a segment"),
            ));
        }
        let mut magic = [0u8; 8];
        file.read_exact_at(&mut magic, 0)
            .map_err(Error::io("reading segment", path))?;
        if &magic != MAGIC {
            return Err(corrupt(0, "bad magic".into()));
        }
        let footer_ref = read_trailer(&file, path, bytes)?;
        let footer_bytes = read_block(&file, path, footer_ref, "segment footer")?;
        let footer = SegmentFooter::read(&mut ByteReader::new(&footer_bytes))
            .map_err(|error| corrupt(footer_ref.offset, error.0))?;
        let series_positions = footer
            .series
            .iter()
            .enumerate()
            .map(|(position, s)| (s.id, position))
            .collect();
        let field_positions = footer
            .measurements
            .iter()
            .map(|m| {
                m.fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.name.clone(), (field_u32(i), f.field_type)))
                    .collect()
            })
            .collect();
        Ok(Self {
            id,
            path: path.to_owned(),
            file,
            bytes,
            footer,
            series_positions,
            field_positions,
        })
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn footer(&self) -> &SegmentFooter {
        &self.footer
    }

    pub(crate) fn contains_series(&self, id: SeriesId) -> bool {
        self.series_positions.contains_key(&id)
    }

    pub(crate) fn bloom_may_contain_series(&self, id: SeriesId) -> bool {
        self.footer.bloom.may_contain(&bloom::series_item(id.0))
    }

    pub(crate) fn bloom_may_contain_tag(&self, measurement: &str, key: &str, value: &str) -> bool {
        self.footer
            .bloom
            .may_contain(&bloom::tag_item(measurement, key, value))
    }

    /// The series stored here with their measurement names, in id order.
    pub(crate) fn series(&self) -> impl Iterator<Item = (SeriesId, &str)> {
        self.footer.series.iter().filter_map(|series| {
            let measurement = self
                .footer
                .measurements
                .get(usize::try_from(series.measurement).ok()?)?;
            Some((series.id, measurement.name.as_str()))
        })
    }

    /// Series `id`'s chunks here (metadata only).
    pub(crate) fn series_chunks(&self, id: SeriesId) -> Option<&[Chunk]> {
        let position = self.series_positions.get(&id)?;
        self.footer
            .series
            .get(*position)
            .map(|s| s.chunks.as_slice())
    }

    /// The first timestamps of series `id`'s chunks here, in time order.
    pub(crate) fn chunk_starts(&self, id: SeriesId) -> Option<Vec<i64>> {
        let series = self
            .series_positions
            .get(&id)
            .and_then(|p| self.footer.series.get(*p))?;
        let mut starts: Vec<i64> = series.chunks.iter().map(|c| c.min_ns).collect();
        starts.sort_unstable();
        Some(starts)
    }

    /// The time span (first and last timestamp) of series `id` here.
    pub(crate) fn series_span(&self, id: SeriesId) -> Option<(i64, i64)> {
        let series = self
            .series_positions
            .get(&id)
            .and_then(|p| self.footer.series.get(*p))?;
        let min = series.chunks.iter().map(|c| c.min_ns).min()?;
        let max = series.chunks.iter().map(|c| c.max_ns).max()?;
        Some((min, max))
    }

    /// The rows of series `id` within `range`, with the projected fields. `width` is the
    /// measurement's current field count (the run's column count). Chunks that `filter`
    /// shows no row of could pass are skipped (the rows kept are not filtered: the scan
    /// filters the merged rows).
    pub(crate) fn read_series(
        &self,
        id: SeriesId,
        range: &TimeRange,
        projection: &[ProjectedField<'_>],
        width: usize,
        filter: ChunkFilter<'_>,
        counts: &mut ChunkCounts,
    ) -> Result<Option<Run>> {
        let Some(series) = self
            .series_positions
            .get(&id)
            .and_then(|p| self.footer.series.get(*p))
        else {
            return Ok(None);
        };
        let positions = usize::try_from(series.measurement)
            .ok()
            .and_then(|m| self.field_positions.get(m));
        let field_of = |name: &str| -> Option<u32> {
            positions
                .and_then(|positions| positions.get(name))
                .map(|(field, _)| *field)
        };
        let mut result: Option<Run> = None;
        for chunk in &series.chunks {
            if !range.overlaps(chunk.min_ns, chunk.max_ns) {
                counts.skipped += 1;
                continue;
            }
            let filtered = filter.applies_to(chunk);
            if filtered && filter.rules_out(chunk, field_of) {
                counts.filtered += 1;
                continue;
            }
            counts.read += 1;
            let filters = if filtered { filter.filters } else { &[] };
            let Some(mut run) = self.read_chunk(series, chunk, projection, width, filters)? else {
                counts.filtered += 1;
                continue;
            };
            if chunk.min_ns < range.min_ns || chunk.max_ns > range.max_ns {
                run.retain_rows(|ts| range.contains(ts));
            }
            match result.as_mut() {
                Some(existing) => existing.append(run),
                None => result = Some(run),
            }
        }
        Ok(result.filter(|run| !run.is_empty()))
    }

    /// Decodes a chunk: timestamps, then the projected fields. With `filters`, the filtered
    /// fields are decoded first and `None` is returned, without decoding the rest, when no
    /// row passes them.
    fn read_chunk(
        &self,
        series: &SegmentSeries,
        chunk: &Chunk,
        projection: &[ProjectedField<'_>],
        width: usize,
        filters: &[ResolvedFilter],
    ) -> Result<Option<Run>> {
        let rows = usize::try_from(chunk.rows).expect("u32 fits usize");
        let time_bytes = read_block(&self.file, &self.path, chunk.time, "timestamp block")?;
        let mut timestamps = Vec::with_capacity(rows);
        codec::timestamp::decode(&time_bytes, &mut timestamps)
            .map_err(|source| self.corrupt_block("timestamp", chunk.time, source))?;
        let ordered = timestamps.windows(2).all(|pair| pair.first() < pair.get(1));
        if timestamps.len() != rows || !ordered {
            return Err(self.corrupt(chunk.time.offset, "timestamps miscounted or out of order"));
        }
        let mut run = Run {
            timestamps,
            columns: vec![None; width],
        };
        let is_filtered = |index: FieldIndex| filters.iter().any(|f| f.index == index);
        let (first, rest): (Vec<_>, Vec<_>) = projection
            .iter()
            .partition(|(index, _, _)| is_filtered(*index));
        for field in &first {
            self.read_field(series, chunk, field, &mut run)?;
        }
        if !filters.is_empty() && passing_rows(&run, filters).is_some_and(|r| r.is_empty()) {
            return Ok(None);
        }
        for field in &rest {
            self.read_field(series, chunk, field, &mut run)?;
        }
        Ok(Some(run))
    }

    /// Decodes one projected field of a chunk into its slot of `run`; a field the chunk does
    /// not hold stays `None`.
    fn read_field(
        &self,
        series: &SegmentSeries,
        chunk: &Chunk,
        (index, name, field_type): &ProjectedField<'_>,
        run: &mut Run,
    ) -> Result<()> {
        let rows = usize::try_from(chunk.rows).expect("u32 fits usize");
        let positions = usize::try_from(series.measurement)
            .ok()
            .and_then(|m| self.field_positions.get(m));
        // A field of another type is a column of a dropped measurement whose name came
        // back with a new type: its rows are hidden by the drop's tombstone.
        let Some(field) = positions
            .and_then(|positions| positions.get(*name))
            .filter(|(_, stored)| stored == field_type)
            .map(|(field, _)| field)
        else {
            return Ok(());
        };
        let Some(column) = chunk.columns.iter().find(|c| c.field == *field) else {
            return Ok(());
        };
        let column = self.read_column(column.block, *field_type, rows, column.present, name)?;
        if let Some(slot) = usize::try_from(*index)
            .ok()
            .and_then(|i| run.columns.get_mut(i))
        {
            *slot = Some(column);
        }
        Ok(())
    }

    fn read_column(
        &self,
        block: BlockRef,
        field_type: FieldType,
        rows: usize,
        present: u32,
        name: &str,
    ) -> Result<Column> {
        let bytes = read_block(&self.file, &self.path, block, "column block")?;
        let (flags, rest) = bytes
            .split_first()
            .ok_or_else(|| self.corrupt(block.offset, "empty block"))?;
        let (valid, values) = match flags {
            0 => (vec![true; rows], rest),
            1 => self.split_validity(rest, block)?,
            _ => return Err(self.corrupt(block.offset, "unknown column block flags")),
        };
        let present_count = valid.iter().filter(|v| **v).count();
        if valid.len() != rows || present_count != usize::try_from(present).unwrap_or(usize::MAX) {
            return Err(self.corrupt(block.offset, "validity does not match the footer"));
        }
        let values = decode_values(field_type, values, present_count)
            .map_err(|source| self.corrupt_block(name, block, source))?;
        Ok(expand(values, valid))
    }

    fn split_validity<'b>(&self, rest: &'b [u8], block: BlockRef) -> Result<(Vec<bool>, &'b [u8])> {
        let mut reader = ByteReader::new(rest);
        let length = reader
            .len_var(1)
            .map_err(|e| self.corrupt(block.offset, &e.0))?;
        let bitmap = reader
            .take(length)
            .map_err(|e| self.corrupt(block.offset, &e.0))?;
        let mut valid = Vec::new();
        codec::boolean::decode(bitmap, &mut valid)
            .map_err(|source| self.corrupt_block("validity", block, source))?;
        Ok((valid, rest.get(reader.position()..).unwrap_or_default()))
    }

    fn corrupt(&self, offset: u64, reason: &str) -> Error {
        Error::Corrupt {
            what: "segment block",
            path: self.path.clone(),
            offset,
            reason: reason.into(),
        }
    }

    fn corrupt_block(&self, what: &str, block: BlockRef, source: CodecError) -> Error {
        Error::CorruptBlock {
            what: what.to_owned(),
            path: self.path.clone(),
            offset: block.offset,
            source,
        }
    }
}

fn field_u32(index: usize) -> u32 {
    u32::try_from(index).expect("fields fit u32")
}

fn read_trailer(file: &File, path: &Path, bytes: u64) -> Result<BlockRef> {
    let mut trailer = [0u8; 24];
    let offset = bytes - TRAILER_BYTES;
    file.read_exact_at(&mut trailer, offset)
        .map_err(Error::io("reading segment", path))?;
    let mut reader = ByteReader::new(&trailer);
    let parsed = (reader.u64(), reader.u32(), reader.u32(), reader.take(8));
    let (Ok(footer_offset), Ok(length), Ok(crc), Ok(magic)) = parsed else {
        unreachable!("24 bytes hold the trailer");
    };
    let corrupt = |reason: &str| Error::Corrupt {
        what: "segment trailer",
        path: path.to_owned(),
        offset,
        reason: reason.into(),
    };
    if magic != TRAILER_MAGIC {
        return Err(corrupt("bad trailer magic (incomplete file?)"));
    }
    let end = footer_offset.checked_add(u64::from(length));
    if end != Some(offset) || u64::from(length) > SEGMENT_FOOTER_BYTES_MAX {
        return Err(corrupt("footer location does not fit the file"));
    }
    Ok(BlockRef {
        offset: footer_offset,
        length,
        crc,
    })
}

fn read_block(file: &File, path: &Path, block: BlockRef, what: &'static str) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; usize::try_from(block.length).expect("u32 fits usize")];
    file.read_exact_at(&mut bytes, block.offset)
        .map_err(Error::io("reading segment", path))?;
    if crc32fast::hash(&bytes) != block.crc {
        return Err(Error::Corrupt {
            what,
            path: path.to_owned(),
            offset: block.offset,
            reason: "checksum mismatch".into(),
        });
    }
    Ok(bytes)
}

fn decode_values(
    field_type: FieldType,
    bytes: &[u8],
    expected: usize,
) -> std::result::Result<ColumnValues, CodecError> {
    let values = match field_type {
        FieldType::Float => decode_with(bytes, codec::float::decode).map(ColumnValues::Float),
        FieldType::Integer => {
            decode_with(bytes, codec::integer::decode_i64).map(ColumnValues::Integer)
        }
        FieldType::Unsigned => {
            decode_with(bytes, codec::integer::decode_u64).map(ColumnValues::Unsigned)
        }
        FieldType::Boolean => decode_with(bytes, codec::boolean::decode).map(ColumnValues::Boolean),
        FieldType::String => decode_with(bytes, codec::string::decode).map(ColumnValues::String),
    }?;
    let count = match &values {
        ColumnValues::Float(v) => v.len(),
        ColumnValues::Integer(v) => v.len(),
        ColumnValues::Unsigned(v) => v.len(),
        ColumnValues::Boolean(v) => v.len(),
        ColumnValues::String(v) => v.len(),
    };
    if count != expected {
        return Err(CodecError::Invalid {
            what: "value count",
            detail: format!("{count} values, the footer says {expected}"),
        });
    }
    Ok(values)
}

fn decode_with<T>(
    bytes: &[u8],
    decode: fn(&[u8], &mut Vec<T>) -> std::result::Result<(), CodecError>,
) -> std::result::Result<Vec<T>, CodecError> {
    let mut values = Vec::new();
    decode(bytes, &mut values)?;
    Ok(values)
}

/// Spreads present values over the rows where `valid` is true.
fn expand(values: ColumnValues, valid: Vec<bool>) -> Column {
    fn spread<T: Default>(values: Vec<T>, valid: &[bool]) -> Vec<T> {
        if values.len() == valid.len() {
            return values;
        }
        let mut values = values.into_iter();
        valid
            .iter()
            .map(|v| {
                if *v {
                    values.next().unwrap_or_default()
                } else {
                    T::default()
                }
            })
            .collect()
    }
    let values = match values {
        ColumnValues::Float(v) => ColumnValues::Float(spread(v, &valid)),
        ColumnValues::Integer(v) => ColumnValues::Integer(spread(v, &valid)),
        ColumnValues::Unsigned(v) => ColumnValues::Unsigned(spread(v, &valid)),
        ColumnValues::Boolean(v) => ColumnValues::Boolean(spread(v, &valid)),
        ColumnValues::String(v) => ColumnValues::String(spread(v, &valid)),
    };
    Column { values, valid }
}
