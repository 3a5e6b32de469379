//! Bytes on disk per column, from the segment footers: what the compression report prints
//! and what an operator asks when a measurement grows.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::schema::FieldType;
use crate::segment::SegmentReader;

/// Encoded bytes and value counts of one column of one measurement, over live segments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnUsage {
    /// The field's type; `None` for the `time` column.
    pub field_type: Option<FieldType>,
    /// Values stored (present values for fields, rows for time).
    pub values: u64,
    /// Bytes of the encoded blocks.
    pub bytes: u64,
}

/// Disk usage of the live segments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Total bytes of the segment files.
    pub file_bytes: u64,
    /// Bytes of footers, trailers and headers (indexes, statistics, bloom filters).
    pub overhead_bytes: u64,
    /// Rows stored.
    pub rows: u64,
    /// Per measurement, per column (`time` and each field).
    pub columns: BTreeMap<String, BTreeMap<String, ColumnUsage>>,
}

pub(crate) fn disk_usage(segments: &[Arc<SegmentReader>]) -> DiskUsage {
    let mut usage = DiskUsage::default();
    for segment in segments {
        let footer = segment.footer();
        usage.file_bytes += segment.bytes();
        usage.rows += footer.rows;
        let mut block_bytes = 0u64;
        for series in &footer.series {
            let Some(measurement) = usize::try_from(series.measurement)
                .ok()
                .and_then(|m| footer.measurements.get(m))
            else {
                continue;
            };
            let columns = usage.columns.entry(measurement.name.clone()).or_default();
            for chunk in &series.chunks {
                let time = columns.entry("time".into()).or_default();
                time.values += u64::from(chunk.rows);
                time.bytes += u64::from(chunk.time.length);
                block_bytes += u64::from(chunk.time.length);
                for column in &chunk.columns {
                    let Some(field) = usize::try_from(column.field)
                        .ok()
                        .and_then(|f| measurement.fields.get(f))
                    else {
                        continue;
                    };
                    let entry = columns.entry(field.name.clone()).or_default();
                    entry.field_type = Some(field.field_type);
                    entry.values += u64::from(column.present);
                    entry.bytes += u64::from(column.block.length);
                    block_bytes += u64::from(column.block.length);
                }
            }
        }
        usage.overhead_bytes += segment.bytes().saturating_sub(block_bytes);
    }
    usage
}
